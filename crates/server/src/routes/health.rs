//! For operators: liveness, readiness and metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::AppState;

/// A database that takes longer than this to answer `SELECT 1` counts as down: a load
/// balancer had better send traffic elsewhere.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up and serving HTTP; says nothing about its dependencies.
pub(super) async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: the database answers and the knowledge is loaded.
pub(super) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(%err, "readiness: the database does not answer");
            "unreachable"
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer in time");
            "timeout"
        }
    };
    let engine = if state.engine().is_some() {
        "loaded"
    } else {
        "loading"
    };
    let ready = database == "ok" && engine == "loaded";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "ready": ready, "database": database, "engine": engine });
    (status, Json(body))
}

pub(super) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state
        .metrics
        .render()
        .map_err(|err| ApiError::Internal(format!("cannot render the metrics: {err}")))?;
    let content_type = [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)];
    Ok((content_type, text))
}
