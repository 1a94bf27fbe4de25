//! `/health` (the process answers) and `/ready` (its dependencies answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use migrations::SchemaStatus;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use gad_core::state::AppState;

pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let mut record = |name: &str, result: Result<(), String>| {
        ready &= result.is_ok();
        let value = match result {
            Ok(()) => json!({ "status": "ok" }),
            Err(error) => json!({ "status": "error", "error": error }),
        };
        checks.insert(name.to_owned(), value);
    };

    let database = state.db.execute_unprepared("SELECT 1").await.map(|_| ()).map_err(|e| {
        tracing::warn!(error = %e, "readiness: database unreachable");
        "database unreachable".to_owned()
    });
    let database_ok = database.is_ok();
    record("database", database);

    if database_ok {
        let migrations = match migrations::schema_status(&state.db).await {
            Ok(SchemaStatus::Current) => Ok(()),
            Ok(SchemaStatus::Pending(p)) => Err(format!("{} pending migrations", p.len())),
            Ok(SchemaStatus::Newer(n)) => Err(format!("{} unknown migrations (newer schema)", n.len())),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: cannot read migrations");
                Err("cannot read migrations".to_owned())
            }
        };
        record("migrations", migrations);
    }

    if let Some(pool) = &state.redis {
        let redis = async {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let pong: String = redis::cmd("PING").query_async(&mut *conn).await.map_err(|e| e.to_string())?;
            (pong == "PONG").then_some(()).ok_or_else(|| "unexpected reply".to_owned())
        }
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness: redis unreachable");
            "redis unreachable".to_owned()
        });
        record("redis", redis);
    }

    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body: Value = json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    (status, Json(body))
}
