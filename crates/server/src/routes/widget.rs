//! The website widget's side of a conversation. A conversation is reached by its token
//! only: ids are sequential and could be guessed, tokens cannot.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use frontdesk_core::{
    Author, Channel, Conversation, ConversationStatus, DeliveryState, Message, NewConversation,
    SourceKind, SourceRef, UnixMillis,
};
use frontdesk_store::Readers;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::inbox::asset;
use crate::conversation::customer_turn;
use crate::error::ApiError;
use crate::extract::{message_text, JsonBody};
use crate::AppState;

const WIDGET_JS: &str = include_str!("../../assets/widget.js");
const DEMO_HTML: &str = include_str!("../../assets/demo.html");

/// Random bytes in a conversation token (hex-encoded, so twice as many characters):
/// 192 bits cannot be guessed.
pub(crate) const TOKEN_BYTES: usize = 24;
/// Random bytes in the id a new widget visitor is known by.
const VISITOR_ID_BYTES: usize = 12;

#[derive(Serialize)]
pub(super) struct Created {
    conversation_id: i64,
    token: String,
}

/// What the widget may see of its conversation: not the summary or the assignee, which
/// are for the team.
#[derive(Serialize)]
pub(super) struct ConversationView {
    id: i64,
    status: ConversationStatus,
}

impl From<&Conversation> for ConversationView {
    fn from(conversation: &Conversation) -> Self {
        ConversationView {
            id: conversation.id,
            status: conversation.status,
        }
    }
}

#[derive(Serialize)]
pub(super) struct Messages {
    conversation: ConversationView,
    messages: Vec<CustomerMessage>,
}

/// A message as the customer may see it: not the assistant's decision (confidence,
/// reasons), not which team member wrote it, and of its sources only the FAQ entries
/// and documents, never the past tickets (other customers' words) behind an answer.
#[derive(Serialize)]
pub(super) struct CustomerMessage {
    id: i64,
    conversation_id: i64,
    author: Author,
    text: String,
    sources: Vec<SourceRef>,
    delivery: DeliveryState,
    created_at: UnixMillis,
}

impl From<&Message> for CustomerMessage {
    fn from(message: &Message) -> Self {
        CustomerMessage {
            id: message.id,
            conversation_id: message.conversation_id,
            author: message.author,
            text: message.text.clone(),
            sources: message
                .sources
                .iter()
                .filter(|source| source.kind != SourceKind::Ticket)
                .cloned()
                .collect(),
            delivery: message.delivery,
            created_at: message.created_at,
        }
    }
}

fn for_customer(messages: &[Message]) -> Vec<CustomerMessage> {
    messages.iter().map(CustomerMessage::from).collect()
}

#[derive(Deserialize)]
pub(super) struct PostedMessage {
    text: String,
}

#[derive(Deserialize)]
pub(super) struct After {
    after: Option<i64>,
}

/// Opens a conversation for a new widget visitor.
pub(super) async fn create_conversation(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let new = NewConversation {
        channel: Channel::Widget,
        external_id: format!("visitor-{}", random_hex(VISITOR_ID_BYTES)),
        token: random_hex(TOKEN_BYTES),
    };
    let conversation = state.store.create_conversation(&new).await?;
    tracing::info!(conversation = conversation.id, "widget conversation opened");
    let created = Created {
        conversation_id: conversation.id,
        token: new.token,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Stores the customer's message, lets the assistant reply when it has the
/// conversation, and returns what was stored: the customer's message, then the reply.
pub(super) async fn post_message(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(posted): JsonBody<PostedMessage>,
) -> Result<Json<Messages>, ApiError> {
    let text = message_text(posted.text)?;
    let conversation = find(&state, &token).await?;
    state.limiters.message_in(conversation.id)?;
    let turn = customer_turn(&state, conversation.id, text).await?;
    let mut messages = vec![turn.customer];
    messages.extend(turn.reply);
    Ok(Json(Messages {
        conversation: ConversationView::from(&turn.conversation),
        messages: for_customer(&messages),
    }))
}

/// The conversation's messages in order; with `?after=ID`, only those stored after that
/// one, which is how the widget catches up after a reload or a dropped connection.
pub(super) async fn list_messages(
    State(state): State<AppState>,
    Path(token): Path<String>,
    after: Result<Query<After>, QueryRejection>,
) -> Result<Json<Messages>, ApiError> {
    let Query(After { after }) = after.map_err(|_| {
        ApiError::bad_field(
            "after",
            "`after` must be the id of a message, a whole number",
        )
    })?;
    let conversation = find(&state, &token).await?;
    let messages = state
        .store
        .messages(conversation.id, after, Readers::Customer)
        .await?;
    Ok(Json(Messages {
        conversation: ConversationView::from(&conversation),
        messages: for_customer(&messages),
    }))
}

/// `GET /widget.js`: the chat widget a shop embeds with one script tag.
pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", WIDGET_JS)
}

/// `GET /demo`: a made-up shop's page with the widget embedded, to try it out.
pub(super) async fn demo() -> Response {
    asset("text/html; charset=utf-8", DEMO_HTML)
}

pub(super) async fn find(state: &AppState, token: &str) -> Result<Conversation, ApiError> {
    state
        .store
        .conversation_by_token(token)
        .await?
        .ok_or(ApiError::NotFound("no conversation has this token"))
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}
