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
    purge_all_with(store, clock, batch, |_| {}).await
}

/// [`purge_all`], telling `each_batch` what every batch deleted (`tessera cleartokens` shows
/// progress with it). Every deleted row is counted in `tessera_janitor_rows_deleted_total`.
pub async fn purge_all_with(
    store: &dyn Store,
    clock: &dyn Clock,
    batch: u32,
    mut each_batch: impl FnMut(&Purged),
) -> StoreResult<Purged> {
    let mut total = Purged::default();
    loop {
        let started = std::time::Instant::now();
        let purged = store.purge(clock.now(), batch).await?;
        total.add(purged);
        for (kind, n) in [
            ("grant", purged.grants),
            ("access_token", purged.access_tokens),
            ("refresh_token", purged.refresh_tokens),
            ("other", purged.other),
        ] {
            metrics::counter!("tessera_janitor_rows_deleted_total", "kind" => kind).increment(n);
        }
        each_batch(&purged);
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
        let result = purge_all(&*store, &*clock, batch).await;
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        metrics::counter!("tessera_janitor_runs_total", "outcome" => outcome).increment(1);
        metrics::histogram!("tessera_janitor_run_seconds").record(started.elapsed().as_secs_f64());
        match result {
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
