//! Canned replies: the owner keeps them, a title and a text with `{name}` where the
//! customer's name goes, and every agent picks from them in the inbox, filled in for the
//! conversation open there. The API serves the inbox and scripts; the owner's page
//! `/admin/replies` writes and removes them.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use frontdesk_store::CannedReply;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use crate::access::Reach;
use crate::error::ApiError;
use crate::extract::{LongJsonBody, TeamMember};
use crate::routes::admin::{
    form_refused, form_sender, layout, owner, page_headers, require_owner, PageRefusal,
};
use crate::AppState;

/// What `{name}` becomes when the customer's channel gave no name: "Hello {name}" reads
/// "Hello there".
const NO_NAME: &str = "there";
const MAX_TITLE_CHARS: usize = 80;
const MAX_BODY_CHARS: usize = 5_000;
/// Room for the longest text in any script (up to four bytes a character), escaped.
const CANNED_BODY_MAX: usize = 32 * 1024;

#[derive(Deserialize)]
pub(super) struct ForConversation {
    conversation: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCannedReply {
    title: String,
    body: String,
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    form_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    form_token: String,
}

/// A canned reply as the inbox gets it: stored, and filled in.
#[derive(Serialize)]
pub(super) struct Filled {
    #[serde(flatten)]
    reply: CannedReply,
    /// The text with `{name}` filled in for the conversation asked about.
    text: String,
}

#[derive(Serialize)]
pub(super) struct CannedReplies {
    replies: Vec<Filled>,
}

/// `GET /api/v1/canned-replies?conversation=ID`: every canned reply, filled in with the
/// name of that conversation's customer.
pub(super) async fn list(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    query: Result<Query<ForConversation>, QueryRejection>,
) -> Result<Json<CannedReplies>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::bad_field(
            "conversation",
            "give the id of a conversation, a whole number",
        )
    })?;
    let name = match query.conversation {
        None => None,
        Some(id) => {
            let conversation = state
                .store
                .conversation(id)
                .await?
                .ok_or(ApiError::NotFound("no such conversation"))?;
            Reach::of(&state, &user).await?.check(&conversation)?;
            state.store.contact_name(id).await?
        }
    };
    let replies = state.store.canned_replies().await?;
    let replies = replies
        .into_iter()
        .map(|reply| Filled {
            text: fill(&reply.body, name.as_deref()),
            reply,
        })
        .collect();
    Ok(Json(CannedReplies { replies }))
}

/// `POST /api/v1/canned-replies` `{"title", "body"}`, owners only: stores one, replacing
/// the text of one with the same title.
pub(super) async fn save(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    LongJsonBody(new): LongJsonBody<NewCannedReply, CANNED_BODY_MAX>,
) -> Result<(StatusCode, Json<CannedReply>), ApiError> {
    require_owner(&user)?;
    let (title, body) = checked(&new.title, &new.body)
        .map_err(|(field, message)| ApiError::bad_field(field, message))?;
    let saved = state
        .store
        .save_canned_reply(title, body, Some(user.id))
        .await?;
    tracing::info!(user = user.id, reply = saved.id, "canned reply saved");
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `DELETE /api/v1/canned-replies/{id}`, owners only.
pub(super) async fn delete(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_owner(&user)?;
    let id = reply_id(&id)?;
    if !state.store.delete_canned_reply(id).await? {
        return Err(ApiError::NotFound("no canned reply has this id"));
    }
    tracing::info!(user = user.id, reply = id, "canned reply deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn reply_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_field("id", "a canned reply's id is a whole number"))
}

/// `body` with every `{name}` replaced by the customer's name.
fn fill(body: &str, name: Option<&str>) -> String {
    body.replace("{name}", name.unwrap_or(NO_NAME))
}

/// The title and body trimmed, or the field at fault and why.
fn checked<'a>(
    title: &'a str,
    body: &'a str,
) -> Result<(&'a str, &'a str), (&'static str, String)> {
    let (title, body) = (title.trim(), body.trim());
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err((
            "title",
            format!("give a title of 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err((
            "body",
            format!("give a text of 1 to {MAX_BODY_CHARS} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err((
            "title",
            "write the title on one line, without control characters".into(),
        ));
    }
    if body.contains('\0') {
        return Err(("body", "remove the NUL character".to_string()));
    }
    Ok((title, body))
}

// ---- the owner's page ----------------------------------------------------------------------

/// `GET /admin/replies`
pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let replies = state.store.canned_replies().await.map_err(ApiError::from)?;
    let body = layout(
        "Canned replies",
        Some(&owner),
        page_body(&replies, &owner.form_token(), None),
    );
    Ok((page_headers(), body).into_response())
}

/// `POST /admin/replies`: the page's form for a new reply (or new text for a title).
pub(super) async fn save_from_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ReplyForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    match checked(&form.title, &form.body) {
        Ok((title, body)) => {
            state
                .store
                .save_canned_reply(title, body, Some(owner.user.id))
                .await
                .map_err(ApiError::from)?;
            Ok(Redirect::to("/admin/replies").into_response())
        }
        Err((_, problem)) => {
            let replies = state.store.canned_replies().await.map_err(ApiError::from)?;
            let token = owner.form_token();
            let content = page_body(&replies, &token, Some((&form, &problem)));
            let body = layout("Canned replies", Some(&owner), content);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page_headers(), body).into_response())
        }
    }
}

/// `POST /admin/replies/{id}/delete`
pub(super) async fn delete_from_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let id = reply_id(&id)?;
    let Form(form) = form.map_err(form_refused)?;
    form_sender(&state, &headers, &form.form_token).await?;
    if !state
        .store
        .delete_canned_reply(id)
        .await
        .map_err(ApiError::from)?
    {
        return Err(ApiError::NotFound("no canned reply has this id").into());
    }
    Ok(Redirect::to("/admin/replies").into_response())
}

fn page_body(replies: &[CannedReply], token: &str, refused: Option<(&ReplyForm, &str)>) -> Markup {
    let (title, body) = refused.map_or(("", ""), |(form, _)| (&form.title, &form.body));
    html! {
        p.note {
            "Agents pick these in the inbox instead of typing. Write " code { "{name}" }
            " where the customer's name goes; it reads \"" (NO_NAME) "\" when their channel \
             gave no name."
        }
        @if replies.is_empty() {
            p { "No canned replies yet." }
        } @else {
            table {
                thead { tr { th { "Title" } th { "Text" } th {} } }
                tbody {
                    @for reply in replies {
                        tr {
                            td { (reply.title) }
                            td.text { (reply.body) }
                            td {
                                form method="post" action={ "/admin/replies/" (reply.id) "/delete" } {
                                    input type="hidden" name="form_token" value=(token);
                                    button type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "New canned reply" }
        @if let Some((_, problem)) = refused { p.mistakes { "Not saved: " (problem) "." } }
        form.entry method="post" action="/admin/replies" {
            input type="hidden" name="form_token" value=(token);
            label { "Title (a reply with the same title is replaced)"
                input type="text" name="title" value=(title) maxlength=(MAX_TITLE_CHARS) required; }
            label { "Text" textarea name="body" rows="5" required { (body) } }
            button type="submit" { "Save" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_filled_in_or_reads_there() {
        let body = "Hello {name}, your parcel left today. Thanks, {name}!";
        assert_eq!(
            fill(body, Some("Ana")),
            "Hello Ana, your parcel left today. Thanks, Ana!"
        );
        assert_eq!(fill("Hello {name},", None), "Hello there,");
    }

    #[test]
    fn titles_and_texts_are_bounded() {
        assert_eq!(
            checked(" Late parcel ", " Sorry! ").ok(),
            Some(("Late parcel", "Sorry!"))
        );
        assert_eq!(checked(" ", "x").err().map(|e| e.0), Some("title"));
        assert_eq!(checked("a\0b", "x").err().map(|e| e.0), Some("title"));
        assert_eq!(checked("two\nlines", "x").err().map(|e| e.0), Some("title"));
        assert_eq!(checked("t", "").err().map(|e| e.0), Some("body"));
        let long = "x".repeat(MAX_BODY_CHARS + 1);
        assert_eq!(checked("t", &long).err().map(|e| e.0), Some("body"));
    }
}
