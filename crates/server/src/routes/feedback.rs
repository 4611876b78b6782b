//! `POST /api/v1/messages/{id}/feedback`: the team tells the assistant whether one of its
//! replies was right, and if not, which FAQ was (or writes a new one). The customer's
//! message it replied to becomes a labelled example, learned in the background.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use frontdesk_core::{Author, Decision, FaqEntry, Message, Ticket, User};
use frontdesk_store::Readers;
use serde::{Deserialize, Serialize};

use crate::access::ensure_reach;
use crate::error::ApiError;
use crate::extract::{JsonBody, TeamMember};
use crate::learning::learn;
use crate::AppState;

/// The message id in the path.
pub(crate) struct MessageId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for MessageId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| MessageId(id))
            .map_err(|_| ApiError::bad_field("id", "a message id is a whole number"))
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum Verdict {
    Right,
    Wrong,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedbackRequest {
    pub(super) verdict: Verdict,
    /// With `wrong`: the FAQ that answers the customer's message.
    pub(super) faq_id: Option<String>,
    /// With `wrong`: a new FAQ entry that answers it, when none does yet.
    pub(super) new_faq: Option<NewFaq>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewFaq {
    /// Chosen from the message id when absent.
    pub(super) id: Option<String>,
    pub(super) question: String,
    pub(super) answer: String,
}

#[derive(Serialize)]
pub(super) struct FeedbackResponse {
    pub(super) message_id: i64,
    /// The customer's message that became the example.
    example: String,
    /// The FAQ it is labelled with; `null`: no FAQ fits, a person should handle it.
    faq_id: Option<String>,
    /// Whether the assistant is being retrained on it now (else at the next start or
    /// `frontdesk retrain`).
    retraining: bool,
}

pub(super) async fn feedback(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    MessageId(id): MessageId,
    JsonBody(body): JsonBody<FeedbackRequest>,
) -> Result<(StatusCode, Json<FeedbackResponse>), ApiError> {
    let learned = learn_from_feedback(&state, &user, id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(learned)))
}

/// Turns the team's word on an assistant reply into a labelled example, learned in the
/// background, and records it as the reply's review verdict.
pub(super) async fn learn_from_feedback(
    state: &AppState,
    user: &User,
    id: i64,
    body: FeedbackRequest,
) -> Result<FeedbackResponse, ApiError> {
    let (reply, decision) = assistant_reply(state, id).await?;
    ensure_reach(state, user, reply.conversation_id).await?;
    let asked = customer_message_before(state, &reply).await?;

    let label = match (body.verdict, body.faq_id, body.new_faq) {
        (_, Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "new_faq",
                "give either faq_id or new_faq, not both",
            ))
        }
        (Verdict::Right, None, None) => match &decision.faq_id {
            Some(faq) => Some(faq.clone()),
            None => {
                return Err(ApiError::bad_field(
                    "verdict",
                    "this reply gave no FAQ answer to confirm; mark it wrong and name the \
                     FAQ that answers it",
                ))
            }
        },
        (Verdict::Right, _, _) => {
            return Err(ApiError::bad_field(
                "verdict",
                "faq_id and new_faq go with `wrong`: a right answer's FAQ is already known",
            ))
        }
        (Verdict::Wrong, Some(faq), None) => Some(known_faq(state, faq).await?),
        (Verdict::Wrong, None, Some(new)) => Some(add_faq(state, id, new).await?),
        (Verdict::Wrong, None, None) => None,
    };

    // One example per reply: feedback given again on it replaces the earlier label.
    let example = Ticket {
        id: format!("feedback-{id}"),
        message: asked.text.clone(),
        faq_id: label.clone(),
        answer: None,
    };
    let retraining = learn(state, example).await?;
    let right = body.verdict == Verdict::Right;
    let corrected = if right { None } else { label.as_deref() };
    state
        .store
        .set_review_verdict(id, right, corrected, Some(user.id))
        .await?;
    tracing::info!(
        message = id,
        user = user.id,
        verdict = ?body.verdict,
        faq = label.as_deref().unwrap_or("none"),
        "feedback on an assistant reply stored as an example"
    );
    Ok(FeedbackResponse {
        message_id: id,
        example: asked.text,
        faq_id: label,
        retraining,
    })
}

/// Message `id` with its decision, when it is one of the assistant's replies (the only
/// messages the team judges); 404 or 400 naming the id otherwise.
pub(super) async fn assistant_reply(
    state: &AppState,
    id: i64,
) -> Result<(Message, Decision), ApiError> {
    let reply = state
        .store
        .message(id)
        .await?
        .ok_or(ApiError::NotFound("no such message"))?;
    match reply.decision.clone() {
        Some(decision) if reply.author == Author::Assistant => Ok((reply, decision)),
        _ => Err(ApiError::bad_field(
            "id",
            "only the assistant's replies are judged; this message is not one",
        )),
    }
}

/// The customer's message an assistant reply answered: the latest one before it.
async fn customer_message_before(state: &AppState, reply: &Message) -> Result<Message, ApiError> {
    let history = state
        .store
        .messages(reply.conversation_id, None, Readers::Team)
        .await?;
    history
        .into_iter()
        .rfind(|message| message.id < reply.id && message.author == Author::Customer)
        .ok_or_else(|| ApiError::bad_field("id", "no customer message comes before this reply"))
}

/// `faq` when the knowledge base has it.
pub(super) async fn known_faq(state: &AppState, faq: String) -> Result<String, ApiError> {
    let faqs = state.store.faqs().await?;
    if faqs.iter().any(|entry| entry.id == faq) {
        Ok(faq)
    } else {
        Err(ApiError::bad_field(
            "faq_id",
            format!("no FAQ entry has the id {faq:?}"),
        ))
    }
}

/// Stores a new FAQ entry written by the team and returns its id.
async fn add_faq(state: &AppState, message_id: i64, new: NewFaq) -> Result<String, ApiError> {
    let (question, answer) = (new.question.trim(), new.answer.trim());
    if question.is_empty() {
        return Err(ApiError::bad_field(
            "new_faq.question",
            "the question is empty",
        ));
    }
    if answer.is_empty() {
        return Err(ApiError::bad_field("new_faq.answer", "the answer is empty"));
    }
    let id = match new.id.map(|id| id.trim().to_string()) {
        Some(id) if id.is_empty() => {
            return Err(ApiError::bad_field("new_faq.id", "the id is empty"))
        }
        Some(id) => id,
        None => format!("faq-from-message-{message_id}"),
    };
    let entry = FaqEntry {
        id: id.clone(),
        question: question.to_string(),
        answer: answer.to_string(),
        tags: Vec::new(),
        url: None,
    };
    state.store.import_faqs(&[entry], &|_| {}).await?;
    Ok(id)
}
