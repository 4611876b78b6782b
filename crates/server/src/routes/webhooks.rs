//! Webhook routes for connected channels: Meta's subscription handshake and signed
//! deliveries (WhatsApp, Messenger, Instagram) and Telegram's updates. What a delivery
//! goes through is in `channels.rs`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use frontdesk_core::Channel;
use serde::Deserialize;

use crate::channels::{handshake, take_delivery};
use crate::error::ApiError;
use crate::AppState;

/// A provider's batch of messages and statuses is far larger than a widget message;
/// WhatsApp's documented ceiling for one delivery is well under this.
const WEBHOOK_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The webhook routes. Shortcoming: unlike the widget's, they are not limited per client
/// address, since providers deliver from a few addresses of their own; a forged delivery
/// costs one HMAC over at most the body limit before its 401. A limit per channel, set
/// above the provider's own sending rate, would bound a leaked secret's damage too.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/whatsapp/{channel_id}",
            get(whatsapp_handshake).post(whatsapp),
        )
        .route(
            "/webhooks/messenger/{channel_id}",
            get(messenger_handshake).post(messenger),
        )
        .route(
            "/webhooks/instagram/{channel_id}",
            get(instagram_handshake).post(instagram),
        )
        .route("/webhooks/telegram/{channel_id}", post(telegram))
        .route_layer(DefaultBodyLimit::max(WEBHOOK_MAX_BODY_BYTES))
        .merge(
            Router::new()
                .route("/webhooks/email/{channel_id}", post(email))
                .route_layer(DefaultBodyLimit::max(EMAIL_MAX_BODY_BYTES)),
        )
}

/// A raw message with its attachments: the size most mail services accept.
const EMAIL_MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

async fn email(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body_or_error(body, EMAIL_MAX_BODY_BYTES)?;
    let id = channel_id_from(&channel_id)?;
    to_the_end(&state, async move |state: AppState| {
        crate::channels::take_email(&state, id, &headers, &body).await
    })
    .await?;
    Ok(StatusCode::OK)
}

/// Runs the taking of a delivery as a task of its own, so that it goes to its end even
/// when the provider hangs up first (hyper drops a request's handler then). Dropped
/// half-way, a message could be stored with nothing else done: no answer, no event, and
/// the provider's retry recognised as a duplicate and left alone.
async fn to_the_end<F>(state: &AppState, take: impl FnOnce(AppState) -> F) -> Result<(), ApiError>
where
    F: std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
{
    let task = state.tasks.spawn(take(state.clone()));
    task.await
        .map_err(|err| ApiError::Internal(format!("taking a delivery failed: {err}")))?
}

/// Meta's handshake parameters, named as Meta sends them.
#[derive(Deserialize)]
pub(super) struct Hub {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn answer_handshake(
    state: &AppState,
    kind: Channel,
    channel_id: &str,
    hub: &Hub,
) -> Result<String, ApiError> {
    handshake(
        state,
        kind,
        channel_id_from(channel_id)?,
        hub.mode.as_deref(),
        hub.verify_token.as_deref(),
        hub.challenge.as_deref(),
    )
    .await
}

async fn deliver(
    state: &AppState,
    kind: Channel,
    channel_id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let body = body_or_error(body, WEBHOOK_MAX_BODY_BYTES)?;
    let id = channel_id_from(channel_id)?;
    let headers = headers.clone();
    to_the_end(state, async move |state: AppState| {
        take_delivery(&state, kind, id, &headers, &body).await
    })
    .await?;
    Ok(StatusCode::OK)
}

/// The body, or the API's own JSON error for one that could not be read (too large).
fn body_or_error(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit },
        _ => ApiError::bad_request(format!("the request body could not be read: {rejection}")),
    })
}

/// The handshake's parameters, or a JSON error naming what was wrong with them.
fn hub_or_error(hub: Result<Query<Hub>, QueryRejection>) -> Result<Hub, ApiError> {
    hub.map(|Query(hub)| hub).map_err(|rejection| {
        ApiError::bad_request(format!(
            "the handshake's parameters cannot be read: {rejection}"
        ))
    })
}

/// A channel id from the path; anything that is not one names no channel.
fn channel_id_from(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound("no such channel"))
}

async fn whatsapp_handshake(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    hub: Result<Query<Hub>, QueryRejection>,
) -> Result<String, ApiError> {
    let hub = hub_or_error(hub)?;
    answer_handshake(&state, Channel::Whatsapp, &channel_id, &hub).await
}

async fn messenger_handshake(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    hub: Result<Query<Hub>, QueryRejection>,
) -> Result<String, ApiError> {
    let hub = hub_or_error(hub)?;
    answer_handshake(&state, Channel::Messenger, &channel_id, &hub).await
}

async fn instagram_handshake(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    hub: Result<Query<Hub>, QueryRejection>,
) -> Result<String, ApiError> {
    let hub = hub_or_error(hub)?;
    answer_handshake(&state, Channel::Instagram, &channel_id, &hub).await
}

async fn whatsapp(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    deliver(&state, Channel::Whatsapp, &channel_id, &headers, body).await
}

async fn messenger(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    deliver(&state, Channel::Messenger, &channel_id, &headers, body).await
}

async fn instagram(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    deliver(&state, Channel::Instagram, &channel_id, &headers, body).await
}

async fn telegram(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    deliver(&state, Channel::Telegram, &channel_id, &headers, body).await
}
