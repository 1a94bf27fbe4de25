//! Prometheus metrics at `/metrics`. Names and labels are listed in docs/OPERATIONS.md; alert
//! rules and dashboards use exactly these.
//!
//! HTTP metrics are recorded by [`track`]; domain gauges (open tasks, officers by status,
//! stale positions, open emergencies), the dependency gauges (`gad_db_up`, `gad_redis_up`),
//! the last successful backup and the database pool are refreshed by [`refresh`]: every
//! [`REFRESH_INTERVAL`] in the background ([`spawn_refresher`]) and at each scrape (bounded by
//! [`SCRAPE_REFRESH_TIMEOUT`], so a dead database turns `gad_db_up` to 0 instead of hanging
//! the scrape).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::ConnectionTrait;

use gad_core::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (several applications may run in one test process).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            gauge!("gad_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            process_collector().describe();
            process_collector().collect();
            handle
        })
        .clone()
}

fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// The `route` label: the matched route pattern (`/api/v1/tasks/{id}`), never the raw path.
/// Requests no route matched are `static` when the file fallback served them (assets under
/// `/pkg/` and `/vendor/` keep their folder) and `unmatched` otherwise, so no request can
/// create a series of its own.
pub fn route_label(matched: Option<&str>, path: &str, status: u16) -> String {
    if let Some(pattern) = matched {
        // The bundle's own service matches `/pkg/{*tail}`: one series for it, as before.
        if pattern.starts_with("/pkg/") {
            return "/pkg/*".into();
        }
        return pattern.to_owned();
    }
    if status >= 400 {
        return "unmatched".into();
    }
    match path.split('/').nth(1) {
        Some(folder @ ("pkg" | "vendor")) => format!("/{folder}/*"),
        _ => "static".into(),
    }
}

/// The method as a label: the standard ones by name, anything else (HTTP accepts any token,
/// of any length, as a method) as `other`, so a client cannot mint series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request.
pub async fn track(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let matched = request.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let route = route_label(matched.as_deref(), &path, status);
    counter!("gad_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("gad_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// How often the background task refreshes the gauges read from the database and Redis.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(15);
/// The longest a scrape waits for the refresh before rendering the last known values.
pub const SCRAPE_REFRESH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one dependency probe (`SELECT 1`, `PING`) may take before it counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /metrics`: refreshes the gauges (bounded in time), then renders everything.
pub async fn scrape(State(state): State<AppState>) -> Response {
    if tokio::time::timeout(SCRAPE_REFRESH_TIMEOUT, refresh(&state)).await.is_err() {
        tracing::warn!("metrics: refresh timed out; rendering the last known values");
        counter!("gad_metrics_refresh_errors_total").increment(1);
    }
    let body = install().render();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Refreshes the gauges every [`REFRESH_INTERVAL`] for as long as the process runs, so
/// `gad_db_up`/`gad_redis_up` follow the dependencies even between scrapes.
pub fn spawn_refresher(state: AppState) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(REFRESH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let _ = tokio::time::timeout(REFRESH_INTERVAL, refresh(&state)).await;
        }
    });
}

/// Probes the dependencies and, when the database answers, re-reads the domain gauges.
pub async fn refresh(state: &AppState) {
    // The process's own CPU, memory, threads and file descriptors (`process_*`, as every
    // Prometheus client reports them): the infrastructure dashboard and its alerts.
    process_collector().collect();
    let db_up = probe_database(state).await;
    gauge!("gad_db_up").set(if db_up { 1.0 } else { 0.0 });
    if state.redis.is_some() {
        gauge!("gad_redis_up").set(if probe_redis(state).await { 1.0 } else { 0.0 });
    }
    pool_gauges(state);
    if !db_up {
        return;
    }
    if let Err(error) = domain_gauges(state).await {
        tracing::warn!(%error, "metrics: domain gauges not refreshed");
        counter!("gad_metrics_refresh_errors_total").increment(1);
    }
}

async fn probe_database(state: &AppState) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, state.db.execute_unprepared("SELECT 1")).await, Ok(Ok(_)))
}

async fn probe_redis(state: &AppState) -> bool {
    let Some(pool) = &state.redis else { return false };
    let ping = async {
        let mut conn = pool.get().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut *conn).await.ok()
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Some(pong)) if pong == "PONG")
}

/// Counts one lookup in a cache GAD keeps (today: the idempotency store, see OPERATIONS.md).
pub fn cache_lookup(cache: &'static str, hit: bool) {
    counter!("gad_cache_requests_total", "cache" => cache, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

async fn domain_gauges(state: &AppState) -> Result<(), gad_core::error::AppError> {
    let g = gad_core::services::gauges::read(state).await?;
    for (priority, n) in &g.open_by_priority {
        gauge!("gad_tasks_open_by_priority", "priority" => priority.as_str()).set(*n as f64);
    }
    for (status, n) in &g.officers_by_status {
        gauge!("gad_officers_by_status", "status" => status.as_str()).set(*n as f64);
    }
    gauge!("gad_officers_stale_positions").set(g.stale_positions as f64);
    gauge!("gad_emergencies_open").set(g.emergencies_open as f64);
    gauge!("gad_tasks_overdue").set(g.tasks_overdue as f64);
    gauge!("gad_emergencies_unassigned").set(g.emergencies_unassigned as f64);
    if let Some(t) = g.last_backup_unix {
        gauge!("gad_backup_last_success_timestamp_seconds").set(t as f64);
    }
    if let Some(t) = g.last_good_drill_unix {
        gauge!("gad_backup_last_drill_success_timestamp_seconds").set(t as f64);
    }
    if let Some(t) = g.last_good_audit_verify_unix {
        gauge!("gad_audit_last_verify_success_timestamp_seconds").set(t as f64);
    }
    for (status, n) in &g.feedback_by_status {
        gauge!("gad_feedback_items", "status" => status.as_str()).set(*n as f64);
    }
    for (sentiment, n) in &g.feedback_by_sentiment {
        gauge!("gad_feedback_by_sentiment", "sentiment" => *sentiment).set(*n as f64);
    }
    if let Some(intact) = g.audit_chain_intact {
        gauge!("gad_audit_chain_intact").set(if intact { 1.0 } else { 0.0 });
    }
    for (consumer, waiting, age) in gad_core::events::consumer_lag(&state.db).await? {
        gauge!("gad_outbox_backlog_events", "consumer" => consumer.clone()).set(waiting as f64);
        gauge!("gad_outbox_oldest_pending_seconds", "consumer" => consumer).set(age);
    }
    gauge!("gad_events_head_id").set(state.events.head() as f64);
    Ok(())
}

fn pool_gauges(state: &AppState) {
    let (size, idle, max) = match state.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
    };
    gauge!("gad_db_pool_connections", "state" => "idle").set(f64::from(idle as u32));
    gauge!("gad_db_pool_connections", "state" => "busy").set(f64::from(size.saturating_sub(idle as u32)));
    gauge!("gad_db_pool_max_connections").set(f64::from(max));
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn route_labels_have_low_cardinality() {
        assert_eq!(
            route_label(Some("/api/v1/users/{id}/tokens"), "/api/v1/users/42/tokens", 200),
            "/api/v1/users/{id}/tokens"
        );
        assert_eq!(route_label(None, "/pkg/gad.wasm", 200), "/pkg/*");
        assert_eq!(route_label(Some("/pkg/{*__private__axum_nest_tail_param}"), "/pkg/gad.wasm", 200), "/pkg/*");
        assert_eq!(route_label(None, "/favicon.ico", 200), "static");
        assert_eq!(route_label(None, "/wp-admin/setup.php", 404), "unmatched");
        assert_eq!(route_label(None, "/pkg/../../etc/passwd", 404), "unmatched");
        assert_eq!(route_label(Some("/health"), "/health", 200), "/health");
    }
}
