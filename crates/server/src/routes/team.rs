//! The team's side of conversations: list them, read one, reply, write a private note,
//! assign, hand back to the assistant, resolve; and the live event stream for the inbox.
//!
//! Every route needs a team member's API token. A change to a conversation runs under
//! the same per-conversation lock as customer turns, so an agent's reply and an
//! assistant turn never interleave, and every stored message and change is published to
//! the event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use frontdesk_core::{
    Author, Channel, Conversation, ConversationStatus, DeliveryState, Message, NewMessage,
    StatusChange, User, Visibility,
};
use frontdesk_store::{ConversationFilter, ConversationUsage, Readers};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use crate::access::{ensure_reach, EventFilter, Reach};
use crate::error::ApiError;
use crate::events::Event;
use crate::extract::{message_text, ConversationId, JsonBody, OptionalJsonBody, TeamMember};
use crate::learning::learn;
use crate::AppState;

/// What the customer is told when a person joins, hands back or resolves. Deliberately
/// without the agent's email: that is the team's business.
const JOINED: &str = "A person from the team has joined the conversation.";
const HANDED_BACK: &str = "You are chatting with the assistant again.";
const RESOLVED: &str = "This conversation has been marked as resolved. Write again any time.";

/// How often an idle event stream sends a comment line, so proxies keep it open.
const EVENT_KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    channel: Option<String>,
    assignee: Option<String>,
    limit: Option<u32>,
}

/// Conversations listed unless the request asks for another number.
const LIST_DEFAULT: u32 = 100;
/// The most one request lists: the inbox shows a page, not the whole history.
const LIST_MAX: u32 = 500;

#[derive(Serialize)]
pub(super) struct ConversationList {
    conversations: Vec<Conversation>,
    /// Whether more conversations match than were listed.
    more: bool,
}

/// A conversation with messages: all of them when read, the new ones after a change.
#[derive(Serialize)]
pub(super) struct ConversationWithMessages {
    conversation: Conversation,
    messages: Vec<Message>,
}

/// A conversation as an agent opens it: with what its generated answers cost.
#[derive(Serialize)]
pub(super) struct ConversationShown {
    conversation: Conversation,
    messages: Vec<Message>,
    generation: ConversationUsage,
}

#[derive(Deserialize)]
pub(super) struct Text {
    text: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveRequest {
    /// The FAQ that answered the customer's need, when one did: the message the
    /// assistant handed off becomes an example of it.
    faq_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct AssignRequest {
    /// The email of the team member to assign; the caller when absent.
    assignee: Option<String>,
}

pub(super) async fn me(TeamMember(user): TeamMember) -> Json<User> {
    Json(user)
}

/// `GET /api/v1/conversations?status=&channel=&assignee=&limit=`: the latest active
/// first, `limit` of them (100 unless asked, at most 500), on the caller's channels.
pub(super) async fn list(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ConversationList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(LIST_DEFAULT);
    if !(1..=LIST_MAX).contains(&limit) {
        let message = format!("list from 1 to {LIST_MAX} conversations at a time");
        return Err(ApiError::bad_field("limit", message));
    }
    let reach = Reach::of(&state, &user).await?;
    let filter = ConversationFilter {
        status: parse_param("status", query.status.as_deref())?,
        channel: parse_param::<Channel>("channel", query.channel.as_deref())?,
        // Empty means "anyone", as an empty status or channel means any.
        assignee: query
            .assignee
            .filter(|email| !email.trim().is_empty())
            .map(|email| frontdesk_store::normalize_email(&email)),
        channels: reach.channels().map(<[Channel]>::to_vec),
        // One more than listed tells whether there are more.
        latest: Some(limit + 1),
    };
    let mut conversations = state.store.conversations(&filter).await?;
    let more = conversations.len() > limit as usize;
    conversations.truncate(limit as usize);
    Ok(Json(ConversationList {
        conversations,
        more,
    }))
}

/// One conversation and every message in it, private notes included.
pub(super) async fn show(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
) -> Result<Json<ConversationShown>, ApiError> {
    let conversation = find(&state, id).await?;
    Reach::of(&state, &user).await?.check(&conversation)?;
    let messages = state.store.messages(id, None, Readers::Team).await?;
    let generation = state.store.conversation_generation_usage(id).await?;
    Ok(Json(ConversationShown {
        conversation,
        messages,
        generation,
    }))
}

/// A reply to the customer. Replying to a conversation nobody holds takes it: the
/// customer is told a person has joined, and the assistant falls silent.
pub(super) async fn reply(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
    JsonBody(body): JsonBody<Text>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let text = message_text(body.text)?;
    ensure_reach(&state, &user, id).await?;
    let _turn = state.turns.lock(&state.store, id).await?;

    let mut conversation = find(&state, id).await?;
    check_reply_window(&state, &conversation).await?;
    let mut messages = Vec::new();
    if matches!(
        conversation.status,
        ConversationStatus::Bot | ConversationStatus::Waiting
    ) {
        let (joined, assigned) =
            change_with_notice(&state, &user, id, assign(&user), JOINED).await?;
        messages.push(joined);
        conversation = assigned;
    }
    if conversation.status == ConversationStatus::Resolved {
        return Err(ApiError::Conflict(format!(
            "conversation {id} is resolved; a new message from the customer reopens it"
        )));
    }
    let reply = state
        .store
        .append_message(&NewMessage::from_agent(id, user.id, text))
        .await?;
    state.events.message(&reply).await;
    tracing::info!(conversation = id, user = user.id, "agent replied");
    messages.push(reply);
    Ok(Json(ConversationWithMessages {
        conversation,
        messages,
    }))
}

/// Refuses an agent's reply that the conversation's channel would refuse for being too
/// late, before anything is stored: WhatsApp delivers a business's free-form message only
/// within 24 hours of the customer's last one.
async fn check_reply_window(state: &AppState, conversation: &Conversation) -> Result<(), ApiError> {
    if conversation.channel != Channel::Whatsapp {
        return Ok(());
    }
    let Some(last) = state
        .store
        .last_customer_message_at(conversation.id)
        .await?
    else {
        return Ok(());
    };
    let closed_at = last.saturating_add(crate::channels::WHATSAPP_WINDOW_MS);
    if jiff::Timestamp::now().as_millisecond() < closed_at {
        return Ok(());
    }
    let closed = jiff::Timestamp::from_millisecond(closed_at)
        .map(|at| at.to_string())
        .unwrap_or_else(|_| "long ago".to_string());
    Err(ApiError::Conflict(format!(
        "WhatsApp's 24-hour window for this conversation closed at {closed}: WhatsApp only \
         delivers approved template messages until the customer writes again, so this \
         reply was not sent"
    )))
}

/// A private note: kept with the conversation, shown to the team, never to the customer.
pub(super) async fn note(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
    JsonBody(body): JsonBody<Text>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    let text = message_text(body.text)?;
    ensure_reach(&state, &user, id).await?;
    let _turn = state.turns.lock(&state.store, id).await?;

    let conversation = find(&state, id).await?;
    let note = state
        .store
        .append_message(&NewMessage::note(id, user.id, text))
        .await?;
    state.events.message(&note).await;
    Ok(Json(ConversationWithMessages {
        conversation,
        messages: vec![note],
    }))
}

/// Gives the conversation to a team member (the caller unless the body names one).
pub(super) async fn assign_to(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
    OptionalJsonBody(body): OptionalJsonBody<AssignRequest>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    ensure_reach(&state, &user, id).await?;
    let assignee = match body.assignee {
        None => user.clone(),
        Some(email) => match state.store.user_by_email(&email).await? {
            Some((found, _)) => found,
            None => {
                return Err(ApiError::bad_field(
                    "assignee",
                    format!("no team member has the email {email:?}"),
                ))
            }
        },
    };
    let _turn = state.turns.lock(&state.store, id).await?;

    let conversation = find(&state, id).await?;
    // Assigning to whoever already holds it changes nothing and tells nobody.
    if conversation.status == ConversationStatus::Assigned
        && conversation.assignee.as_deref() == Some(assignee.email.as_str())
    {
        return Ok(Json(ConversationWithMessages {
            conversation,
            messages: Vec::new(),
        }));
    }
    // Passing it from one team member to another: the customer already has a person,
    // and hearing again that one joined would only puzzle them.
    if conversation.status == ConversationStatus::Assigned {
        let conversation = state.store.change_status(id, &assign(&assignee)).await?;
        state.events.conversation(&conversation).await;
        tracing::info!(
            conversation = id,
            user = user.id,
            assignee = assignee.id,
            "passed to another team member"
        );
        return Ok(Json(ConversationWithMessages {
            conversation,
            messages: Vec::new(),
        }));
    }
    let (joined, conversation) =
        change_with_notice(&state, &user, id, assign(&assignee), JOINED).await?;
    Ok(Json(ConversationWithMessages {
        conversation,
        messages: vec![joined],
    }))
}

/// Gives the conversation back to the assistant.
pub(super) async fn hand_back(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    move_with_notice(&state, &user, id, StatusChange::HandBack, HANDED_BACK).await
}

pub(super) async fn resolve(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    ConversationId(id): ConversationId,
    OptionalJsonBody(body): OptionalJsonBody<ResolveRequest>,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    // Checked before anything moves: a mistyped FAQ id refuses the whole request.
    let faq = match body.faq_id {
        Some(faq) => Some(super::feedback::known_faq(&state, faq).await?),
        None => None,
    };
    let notice = resolved_notice(&state, id).await?;
    let resolved = move_with_notice(&state, &user, id, StatusChange::Resolve, &notice).await?;
    if let Some(faq) = faq {
        learn_from_resolution(&state, id, faq).await?;
    }
    Ok(resolved)
}

/// What the customer is told when their conversation is resolved. On a channel other than
/// the widget (which asks in the chat), the notice asks for a rating with a link to the
/// rating page, when the server knows the address customers reach it at.
async fn resolved_notice(state: &AppState, id: i64) -> Result<String, ApiError> {
    let conversation = state
        .store
        .conversation(id)
        .await?
        .ok_or(ApiError::NotFound("no such conversation"))?;
    let public_url = state.settings.public_url.as_deref();
    let Some(url) = public_url.filter(|_| conversation.channel != Channel::Widget) else {
        return Ok(RESOLVED.to_string());
    };
    // A secret of its own: the conversation's token would open its messages too, and a
    // link in an email is forwarded and opened by mail scanners.
    let token = super::new_conversation_token();
    state.store.add_rating_link(id, &token).await?;
    Ok(format!(
        "{RESOLVED} How did we do? Rate this conversation from 1 to 5: {}",
        super::rating::rating_link(url, &token)
    ))
}

/// A handed-off conversation resolved with an FAQ teaches the assistant: the customer's
/// question before the handoff becomes an example of that FAQ. Messages a rule settled
/// ("can I talk to a person?", a greeting) say nothing about the FAQ and are passed
/// over for the question before them.
async fn learn_from_resolution(state: &AppState, id: i64, faq: String) -> Result<(), ApiError> {
    use frontdesk_core::{DecisionKind, Reason};

    let history = state.store.messages(id, None, Readers::Team).await?;
    let decision_of = |message: &Message| message.decision.clone();
    let handoff = history.iter().rposition(|message| {
        message.author == Author::Assistant
            && decision_of(message).is_some_and(|d| d.kind == DecisionKind::Escalate)
    });
    let before_handoff = &history[..handoff.map_or(history.len(), |i| i + 1)];
    let asked = before_handoff
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, message)| message.author == Author::Customer)
        .find(|(i, _)| {
            let reply = before_handoff[i + 1..]
                .iter()
                .find(|message| message.author == Author::Assistant)
                .and_then(decision_of);
            let reason = reply.and_then(|decision| decision.reason);
            matches!(
                reason,
                None | Some(Reason::LowConfidence | Reason::NoKnowledge)
            )
        })
        .map(|(_, message)| message);
    let Some(asked) = asked else {
        return Ok(());
    };
    let example = frontdesk_core::Ticket {
        id: format!("resolved-{id}"),
        message: asked.text.clone(),
        faq_id: Some(faq.clone()),
        answer: None,
    };
    learn(state, example).await?;
    tracing::info!(conversation = id, faq, "resolution stored as an example");
    Ok(())
}

/// `GET /api/v1/events`: Server-Sent Events, one per stored message (`message`) and per
/// conversation change (`conversation`), each with the JSON the API returns for it. A
/// client that falls too far behind, or that may have missed events from another
/// instance, gets a `lagged` event and should fetch again. The stream ends when the
/// server shuts down.
pub(super) async fn events(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let receiver = state.events.subscribe();
    let filter = EventFilter::new(Reach::of(&state, &user).await?);
    let shutdown = state.shutdown.clone();
    let stream =
        futures_util::stream::unfold((receiver, filter), move |(mut receiver, mut filter)| {
            let shutdown = shutdown.clone();
            let state = state.clone();
            async move {
                let received = loop {
                    let received = tokio::select! {
                        received = receiver.recv() => received,
                        () = shutdown.cancelled() => return None,
                    };
                    match &received {
                        Ok(event) if !filter.shows(&state, event).await => continue,
                        _ => break received,
                    }
                };
                let event = match received {
                    // Another instance's events may have been lost: the count is unknown.
                    Ok(Event::Missed) => SseEvent::default()
                        .event("lagged")
                        .data("{\"missed\":null}"),
                    Ok(event) => to_sse(&event),
                    Err(RecvError::Lagged(missed)) => SseEvent::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{missed}}}")),
                    Err(RecvError::Closed) => return None,
                };
                Some((Ok(event), (receiver, filter)))
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(EVENT_KEEP_ALIVE)))
}

fn to_sse(event: &Event) -> SseEvent {
    let named = SseEvent::default().event(event.name());
    match serde_json::to_string(event) {
        Ok(json) => named.data(json),
        Err(err) => {
            tracing::error!(%err, "an event cannot be written as JSON");
            named.data("{}")
        }
    }
}

async fn move_with_notice(
    state: &AppState,
    user: &User,
    id: i64,
    change: StatusChange,
    notice: &str,
) -> Result<Json<ConversationWithMessages>, ApiError> {
    ensure_reach(state, user, id).await?;
    let _turn = state.turns.lock(&state.store, id).await?;

    let (message, conversation) = change_with_notice(state, user, id, change, notice).await?;
    Ok(Json(ConversationWithMessages {
        conversation,
        messages: vec![message],
    }))
}

/// Applies `change` and stores `notice` for the customer in one transaction, then
/// publishes both. The caller holds the conversation's lock.
async fn change_with_notice(
    state: &AppState,
    user: &User,
    id: i64,
    change: StatusChange,
    notice: &str,
) -> Result<(Message, Conversation), ApiError> {
    let message = NewMessage {
        conversation_id: id,
        author: Author::System,
        text: notice.to_string(),
        decision: None,
        sources: Vec::new(),
        delivery: DeliveryState::Sent,
        visibility: Visibility::Public,
        user_id: Some(user.id),
    };
    let (message, conversation) = state
        .store
        .append_message_with_change(&message, &change)
        .await?;
    state.events.message(&message).await;
    state.events.conversation(&conversation).await;
    tracing::info!(
        conversation = id,
        user = user.id,
        change = change.name(),
        status = %conversation.status,
        "conversation moved by the team"
    );
    Ok((message, conversation))
}

fn assign(user: &User) -> StatusChange {
    StatusChange::Assign {
        assignee: user.email.clone(),
    }
}

async fn find(state: &AppState, id: i64) -> Result<Conversation, ApiError> {
    state
        .store
        .conversation(id)
        .await?
        .ok_or(ApiError::NotFound("no such conversation"))
}

fn parse_param<T>(name: &str, value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value
        .filter(|value| !value.is_empty())
        .map(|value| value.parse::<T>())
        .transpose()
        .map_err(|err| ApiError::bad_field(name, err.to_string()))
}
