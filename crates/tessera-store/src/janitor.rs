//! Background cleanup: deletes expired and revoked rows in bounded batches. Between batches it
//! rests at least as long as the batch took, so it never takes more than about half of the
//! store's write capacity and requests are never queued long behind it. It runs on any
//! [`Store`]; the server starts it, and `tessera cleartokens` runs one pass.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::clock::Clock;

use crate::{Purged, Store, StoreResult};

/// Deletes everything purgeable now, batch by batch; returns the totals. After each batch it
/// rests as long as the batch took (and at least a millisecond).
pub async fn purge_all(store: &dyn Store, clock: &dyn Clock, batch: u32) -> StoreResult<Purged> {
    let mut total = Purged::default();
    loop {
        let started = std::time::Instant::now();
        let purged = store.purge(clock.now(), batch).await?;
        total.add(purged);
        if purged.total() == 0 {
            return Ok(total);
        }
        tokio::time::sleep(started.elapsed().max(Duration::from_millis(1))).await;
    }
}

/// Runs [`purge_all`] every `interval`, the first time one interval after start (a node that
/// starts is busy enough), until the task is dropped.
pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, interval: Duration, batch: u32) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let started = std::time::Instant::now();
        match purge_all(&*store, &*clock, batch).await {
            Ok(p) if p.total() > 0 => tracing::info!(
                grants = p.grants,
                access_tokens = p.access_tokens,
                refresh_tokens = p.refresh_tokens,
                codes_and_sessions = p.other,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "janitor purged expired and revoked rows"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "janitor could not purge"),
        }
    }
}
