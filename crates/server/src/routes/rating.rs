//! The one question asked once a conversation is resolved: how satisfied was the customer,
//! from 1 to 5, with a comment if they like. The widget asks it in the chat, reaching the
//! conversation by its customer-side token; a conversation on another channel (email, say)
//! is sent a link to a small page that asks it, whose secret opens that rating and nothing
//! else. Neither can be guessed, and both are on the public side's rate limit. Rating
//! again replaces the rating.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use frontdesk_core::{Conversation, ConversationStatus};
use maud::{html, Markup, DOCTYPE};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::LongJsonBody;
use crate::routes::admin::page_headers;
use crate::routes::widget::find;
use crate::AppState;

/// Longer comments are refused: the rating is one question, not a letter.
const MAX_COMMENT_CHARS: usize = 2_000;
/// Room for the longest comment in any script (up to four bytes a character), escaped.
const RATING_BODY_MAX: usize = 16 * 1024;

/// What the scores mean, as the rating page and the widget label them.
const SCORE_WORDS: [&str; 5] = ["Very poor", "Poor", "All right", "Good", "Very good"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RatingRequest {
    score: i64,
    comment: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Rated {
    conversation_id: i64,
    score: u8,
}

#[derive(Deserialize)]
pub(super) struct ScoreQuery {
    score: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RatingForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/widget/conversations/{token}/rating` with `{"score": 1-5, "comment"}`.
pub(super) async fn rate_from_widget(
    State(state): State<AppState>,
    Path(token): Path<String>,
    LongJsonBody(request): LongJsonBody<RatingRequest, RATING_BODY_MAX>,
) -> Result<Json<Rated>, ApiError> {
    let conversation = find(&state, &token).await?;
    let score = checked_score(request.score).map_err(|m| ApiError::bad_field("score", m))?;
    let comment = checked_comment(request.comment.as_deref().unwrap_or_default())
        .map_err(|m| ApiError::bad_field("comment", m))?;
    rate(&state, &conversation, score, comment).await?;
    Ok(Json(Rated {
        conversation_id: conversation.id,
        score,
    }))
}

/// `GET /rate/{token}?score=N`: the rating page a link in an email opens, with the score
/// the link named chosen. Opening it stores nothing: mail scanners open links too.
pub(super) async fn rating_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    query: Result<Query<ScoreQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    if let Err(refusal) = linked(&state, &token).await? {
        return Ok(refusal);
    }
    // A mangled link still opens the page, with no score chosen.
    let chosen = query
        .ok()
        .and_then(|Query(query)| query.score)
        .and_then(|score| score.parse::<i64>().ok())
        .and_then(|score| checked_score(score).ok());
    Ok(page(StatusCode::OK, rating_form(&token, chosen, None)))
}

/// `POST /rate/{token}`: the rating page's form.
pub(super) async fn rate_from_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<RatingForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let conversation = match linked(&state, &token).await? {
        Ok(conversation) => conversation,
        Err(refusal) => return Ok(refusal),
    };
    let checked = match form {
        Ok(Form(form)) => form
            .score
            .trim()
            .parse::<i64>()
            .map_err(|_| CHOOSE_A_SCORE.to_string())
            .and_then(|score| checked_score(score).map_err(str::to_string))
            .and_then(|score| Ok((score, checked_comment(&form.comment)?.map(str::to_string)))),
        Err(_) => Err("the form was not sent whole: choose a score and send it again".to_string()),
    };
    let (score, comment) = match checked {
        Ok(checked) => checked,
        Err(problem) => {
            let form = rating_form(&token, None, Some(&problem));
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, form));
        }
    };
    rate(&state, &conversation, score, comment.as_deref()).await?;
    let thanks = html! {
        p { "Thank you: your rating (" (score) ", " (SCORE_WORDS[usize::from(score) - 1])
            ") is recorded. You may close this page." }
    };
    Ok(page(StatusCode::OK, thanks))
}

/// The resolved conversation a rating link is for, or the page saying why it cannot be
/// rated: the link is not known, or the conversation is open again.
async fn linked(state: &AppState, token: &str) -> Result<Result<Conversation, Response>, ApiError> {
    let Some(conversation) = state.store.conversation_by_rating_link(token).await? else {
        let unknown = html! {
            p { "This rating link is not known. Check that the whole link was copied." }
        };
        return Ok(Err(page(StatusCode::NOT_FOUND, unknown)));
    };
    if conversation.status != ConversationStatus::Resolved {
        let open = html! {
            p { "This conversation is open again, so it cannot be rated yet: you will be \
                 asked once it is resolved." }
        };
        return Ok(Err(page(StatusCode::CONFLICT, open)));
    }
    Ok(Ok(conversation))
}

async fn rate(
    state: &AppState,
    conversation: &Conversation,
    score: u8,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    if conversation.status != ConversationStatus::Resolved {
        return Err(ApiError::Conflict(
            "the conversation is still open: it can be rated once it is resolved".to_string(),
        ));
    }
    state
        .store
        .rate_conversation(conversation.id, score, comment)
        .await?;
    tracing::info!(
        conversation = conversation.id,
        score,
        commented = comment.is_some(),
        "customer rated the conversation"
    );
    Ok(())
}

const CHOOSE_A_SCORE: &str = "choose a score from 1 to 5";

fn checked_score(score: i64) -> Result<u8, &'static str> {
    u8::try_from(score)
        .ok()
        .filter(|score| (1..=5).contains(score))
        .ok_or(CHOOSE_A_SCORE)
}

/// The comment trimmed, `None` when empty.
fn checked_comment(comment: &str) -> Result<Option<&str>, String> {
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(format!(
            "keep the comment under {MAX_COMMENT_CHARS} characters"
        ));
    }
    if comment.contains('\0') {
        return Err("the comment has a NUL character".to_string());
    }
    Ok(Some(comment).filter(|comment| !comment.is_empty()))
}

/// A rating page: no sign-in, no script, the same headers as the owner's pages (which
/// send no referrer: the page's address is a secret).
fn page(status: StatusCode, content: Markup) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "How did we do?" }
                link rel="stylesheet" href="/admin/admin.css";
            }
            body { main { h1 { "How did we do?" } (content) } }
        }
    };
    (status, page_headers(), body).into_response()
}

fn rating_form(token: &str, chosen: Option<u8>, problem: Option<&str>) -> Markup {
    html! {
        @if let Some(problem) = problem { p.mistakes { (problem) } }
        form.entry method="post" action={ "/rate/" (token) } {
            p { "How satisfied are you with the help you got?" }
            @for (score, words) in (1u8..).zip(SCORE_WORDS) {
                label.inline {
                    input type="radio" name="score" value=(score) required
                        checked[chosen == Some(score)];
                    (score) " – " (words)
                }
            }
            label {
                "Anything you would like to add? (optional)"
                textarea name="comment" rows="4" maxlength=(MAX_COMMENT_CHARS) {}
            }
            button type="submit" { "Send" }
        }
    }
}

/// The link a resolved conversation on another channel than the widget is sent, under
/// the address customers reach the server at.
pub(crate) fn rating_link(public_url: &str, token: &str) -> String {
    format!("{}/rate/{token}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert_eq!(checked_score(1).ok(), Some(1));
        assert_eq!(checked_score(5).ok(), Some(5));
        for bad in [0, 6, -1, 300] {
            assert!(checked_score(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_are_trimmed_and_bounded() {
        assert_eq!(checked_comment("  ").ok(), Some(None));
        assert_eq!(checked_comment(" quick ").ok(), Some(Some("quick")));
        assert!(checked_comment(&"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
        assert!(checked_comment("a\0b").is_err());
    }

    #[test]
    fn links_join_the_public_address() {
        assert_eq!(
            rating_link("https://help.shop.example/", "abc"),
            "https://help.shop.example/rate/abc"
        );
    }
}
