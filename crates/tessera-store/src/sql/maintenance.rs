//! The SQL of [`Maintenance`]: readiness and cleanup.

use async_trait::async_trait;
use tessera_core::UnixTime;

use super::{Database, Dialect, Op, SqlConn, op, params};
use crate::{Maintenance, Purged, StoreResult};

/// What one cleanup statement deletes: rows of `table`, keyed by `key`, matching `filter`
/// (on `$1`, the purge's now).
#[derive(Debug, Clone, Copy)]
struct Deletion {
    table: &'static str,
    key: &'static str,
    filter: &'static str,
}

/// Tokens go when revoked (a revoked token answers exactly like an unknown one, so there is
/// nothing to keep) or expired. Each filter is its own statement so it uses its own index.
const TOKEN_DELETIONS: [Deletion; 4] = [
    Deletion {
        table: "access_tokens",
        key: "digest",
        filter: "revoked_at <= $1",
    },
    Deletion {
        table: "access_tokens",
        key: "digest",
        filter: "expires_at <= $1",
    },
    Deletion {
        table: "refresh_tokens",
        key: "digest",
        filter: "revoked_at <= $1",
    },
    Deletion {
        table: "refresh_tokens",
        key: "digest",
        filter: "expires_at <= $1",
    },
];

/// Grants go once revoked or expired and without tokens; codes, device codes, sessions and
/// remembered consents once expired (a used code stays until then, so a replay is still
/// recognised and revokes its grant); retired signing keys once nothing they signed can still
/// be valid.
const OTHER_DELETIONS: [Deletion; 7] = [
    Deletion {
        table: "grants",
        key: "id",
        filter: "revoked_at <= $1 AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.id) AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id)",
    },
    Deletion {
        table: "grants",
        key: "id",
        filter: "expires_at <= $1 AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.grant_id = grants.id) AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id)",
    },
    Deletion {
        table: "authorization_codes",
        key: "digest",
        filter: "expires_at <= $1",
    },
    Deletion {
        table: "sessions",
        key: "digest",
        filter: "expires_at <= $1",
    },
    Deletion {
        table: "consents",
        key: "user_id, client_id",
        filter: "expires_at <= $1",
    },
    Deletion {
        table: "signing_keys",
        key: "kid",
        filter: "publish_until <= $1",
    },
    Deletion {
        table: "device_codes",
        key: "digest",
        filter: "expires_at <= $1",
    },
];

async fn delete_batch(
    c: &mut dyn SqlConn,
    d: Deletion,
    now: UnixTime,
    batch: u32,
) -> StoreResult<u64> {
    // PostgreSQL: SKIP LOCKED lets janitors on several nodes take disjoint batches instead of
    // queueing behind each other. SQLite has one writer and no row locks (nor the syntax).
    let lock = match c.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let Deletion { table, key, filter } = d;
    // A composite key is compared as a row value, which both dialects accept.
    let sql = format!(
        "DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {filter} \
         LIMIT $2{lock})"
    );
    c.execute(&sql, params![now, batch]).await
}

fn deletions(list: &[Deletion], now: UnixTime, batch: u32) -> Vec<Op<u64>> {
    list.iter()
        .map(|&d| op(move |c| Box::pin(delete_batch(c, d, now, batch))))
        .collect()
}

async fn ping(c: &mut dyn SqlConn) -> StoreResult<()> {
    c.query("SELECT 1", params![]).await.map(|_| ())
}

#[async_trait]
impl<D: Database> Maintenance for D {
    async fn ping(&self) -> StoreResult<()> {
        self.read(op(|c| Box::pin(ping(c)))).await
    }

    async fn close(&self) {
        Database::close(self).await;
    }

    async fn purge(&self, now: UnixTime, batch: u32) -> StoreResult<Purged> {
        let tokens = self
            .write_each(deletions(&TOKEN_DELETIONS, now, batch))
            .await?;
        let mut purged = Purged {
            access_tokens: tokens[0] + tokens[1],
            refresh_tokens: tokens[2] + tokens[3],
            ..Purged::default()
        };
        // While tokens are still being deleted, leave grants for later: finding the grants
        // left without tokens scans every expired grant, which only pays off once per cleanup.
        if purged.access_tokens + purged.refresh_tokens >= u64::from(batch) {
            return Ok(purged);
        }
        let other = self
            .write_each(deletions(&OTHER_DELETIONS, now, batch))
            .await?;
        purged.grants = other[0] + other[1];
        purged.other = other[2..].iter().sum();
        Ok(purged)
    }
}
