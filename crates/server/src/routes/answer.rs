//! `POST /api/v1/answer`: one decision for one message, with no conversation, for
//! integrations and load tests.

use axum::extract::State;
use axum::Json;
use frontdesk_core::Decision;
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiCaller, JsonBody};
use crate::phrasing;
use crate::AppState;

#[derive(Deserialize)]
pub(super) struct AnswerRequest {
    message: String,
}

/// Answers with the public decision object, the very type (and so the same JSON) that
/// `frontdesk answer --batch` writes for one line. With a model set, the answer is
/// generated (and `generation` says what became of it); the response waits for it.
pub(super) async fn answer(
    State(state): State<AppState>,
    _caller: ApiCaller,
    JsonBody(request): JsonBody<AnswerRequest>,
) -> Result<Json<Decision>, ApiError> {
    let engine = state.engine().ok_or(ApiError::NotReady(
        "the assistant is still loading its knowledge; try again shortly",
    ))?;
    let decision = engine.decide(&request.message);
    let phrasing = phrasing::phrase_alone(&state, &engine, decision, &request.message).await;
    state.metrics.count_decision(&phrasing.decision);
    if let Some(usage) = &phrasing.usage {
        if let Err(err) = state.store.record_generation(usage).await {
            tracing::warn!(%err, "a generated answer's usage was not stored");
        }
    }
    Ok(Json(phrasing.decision))
}
