//! Prometheus metrics: one recorder per process (the `metrics` facade's global), rendered in
//! the text format at `/metrics`, on the main listener or, with `metrics_bind`, on one of its
//! own.
//!
//! What is measured, and where: requests by route, method and status and their latency
//! (`request_log`); tokens issued by grant type (`handlers::token`, `handlers::authorize`);
//! revocations by outcome (`handlers::revoke`, `operator`); introspections by answer
//! (`handlers::introspect`); failed client authentications and sign-ins (`client_auth`);
//! rate-limit refusals (`ratelimit`); store latency and errors (each backend's `Database`),
//! SQLite group-commit sizes and PostgreSQL pool use (the backends); janitor runs and rows
//! (`tessera_store::janitor`).

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: a store read takes tens of microseconds, an Argon2 check tens
/// of milliseconds, a slow database seconds.
const SECONDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// How many writes share one SQLite commit.
const GROUP_SIZES: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process's recorder once (later calls return the same handle). `None` when
/// another recorder was installed first, which only an embedding program could do.
///
/// The recorder keeps every histogram sample until they are folded into buckets, which a
/// scrape or an upkeep does; `install_recorder` leaves the upkeep to its caller. Without it a
/// node nobody scrapes grew by two samples per request (peak RSS 200 MiB after 5 million
/// requests in `bench/run.sh`), so a thread of its own does it every few seconds.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("tessera_sqlite_group_commit_size".into()),
                        &GROUP_SIZES,
                    )
                })
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => {
                    describe();
                    let upkeep = handle.clone();
                    let spawned = std::thread::Builder::new()
                        .name("tessera-metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(UPKEEP);
                                upkeep.run_upkeep();
                            }
                        });
                    if let Err(e) = spawned {
                        tracing::warn!(error = %e, "no metrics upkeep thread: histograms grow until scraped");
                    }
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics are off: another recorder is installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The help text Prometheus shows for each metric.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests answered, by route, method and status"
    );
    describe_histogram!(
        "tessera_http_request_duration_seconds",
        "Time from a request's headers to its answer, by route"
    );
    describe_counter!(
        "tessera_tokens_issued_total",
        "Access tokens issued, by grant type"
    );
    describe_counter!(
        "tessera_revocations_total",
        "Revocation requests by outcome (revoked, already_revoked, not_owner, unknown); operator revocations count grants"
    );
    describe_counter!(
        "tessera_introspections_total",
        "Introspection answers: active or inactive"
    );
    describe_counter!(
        "tessera_client_authentication_failures_total",
        "Failed client authentications"
    );
    describe_counter!(
        "tessera_sign_in_failures_total",
        "Failed sign-ins (pages and the password grant)"
    );
    describe_counter!(
        "tessera_rate_limited_total",
        "Attempts refused with 429 before any credential was checked, by what was limited"
    );
    describe_histogram!(
        "tessera_store_operation_seconds",
        "Store operations' latency, by backend and kind (read or write)"
    );
    describe_counter!("tessera_store_errors_total", "Store operations that failed");
    describe_histogram!(
        "tessera_sqlite_group_commit_size",
        "Writes committed together by one SQLite fsync"
    );
    describe_gauge!(
        "tessera_store_pool_connections",
        "PostgreSQL connections of this node's pool: open, in_use"
    );
    describe_gauge!(
        "tessera_store_pool_waiting",
        "Operations waiting for a PostgreSQL connection"
    );
    describe_gauge!(
        "tessera_store_pool_max_size",
        "The PostgreSQL pool's size limit"
    );
    describe_counter!(
        "tessera_janitor_runs_total",
        "Background cleanup runs, by outcome"
    );
    describe_histogram!(
        "tessera_janitor_run_seconds",
        "Background cleanup runs' duration"
    );
    describe_counter!(
        "tessera_janitor_rows_deleted_total",
        "Rows deleted by cleanup (janitor and cleartokens), by kind"
    );
}

/// An access token was issued: counted by grant type and recorded for the audit (never the
/// token itself).
pub fn token_issued(client_id: &str, grant_type: &'static str, scope: &str) {
    metrics::counter!("tessera_tokens_issued_total", "grant_type" => grant_type).increment(1);
    tracing::info!(
        target: "tessera::audit",
        event = "token_issued",
        client_id = %client_id,
        grant_type,
        scope = %scope,
    );
}

/// The metrics in Prometheus' text format.
pub fn render() -> Option<String> {
    install().map(|h| {
        h.run_upkeep();
        h.render()
    })
}

/// `GET /metrics`.
pub async fn endpoint() -> Response {
    match render() {
        Some(text) => (
            StatusCode::OK,
            [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are off\n").into_response(),
    }
}
