//! The weekly review: one queue of the assistant replies of the last days worth a second
//! look (unsure answers, handoffs, questions asked back, replies in conversations the
//! customer rated low, anything already judged), where
//! the owner marks each right or wrong, names the FAQ that should have answered or writes
//! it, and finishes the review. A wrong reply corrected here teaches the assistant the
//! same way as the feedback API (it is that API's code); finishing is what the maturity
//! report counts as a review that happened.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use frontdesk_core::{DecisionKind, FaqEntry, Reason};
use frontdesk_store::ReviewItem;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use maud::{html, Markup};
use serde::Deserialize;

use crate::analytics::{zone_name, Period};
use crate::error::ApiError;
use crate::routes::admin::{
    business_zone, form_refused, form_sender, layout, owner, page_headers, Owner, PageRefusal,
};
use crate::routes::feedback::{
    assistant_reply, learn_from_feedback, FeedbackRequest, MessageId, NewFaq, Verdict,
};
use crate::AppState;

/// Answers given with less confidence than this are worth a look.
pub const REVIEW_ANSWERS_BELOW: f64 = 0.95;

/// The review covers the last this many days unless asked for others.
const REVIEW_DAYS: i32 = 7;

/// Longer FAQ questions are cut in the list to pick from.
const FAQ_CHOICE_CHARS: usize = 90;

#[derive(Deserialize)]
pub(super) struct ReviewQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct VerdictForm {
    form_token: String,
    from: String,
    to: String,
    verdict: String,
    #[serde(default)]
    faq_id: String,
    #[serde(default)]
    new_question: String,
    #[serde(default)]
    new_answer: String,
}

#[derive(Deserialize)]
pub(super) struct FinishForm {
    form_token: String,
    from: String,
    to: String,
}

fn period(state: &AppState, from: Option<&str>, to: Option<&str>) -> Result<Period, ApiError> {
    Period::from_query(from, to, REVIEW_DAYS, business_zone(state))
        .map_err(|err| ApiError::bad_field(err.field(), err.to_string()))
}

async fn queue(state: &AppState, period: &Period) -> Result<Vec<ReviewItem>, ApiError> {
    let (from, to) = period.bounds_ms();
    Ok(state
        .store
        .review_queue(from, to, REVIEW_ANSWERS_BELOW)
        .await?)
}

fn back_to(period: &Period, anchor: Option<i64>) -> Redirect {
    let anchor = anchor.map_or(String::new(), |id| format!("#reply-{id}"));
    Redirect::to(&format!(
        "/admin/review?from={}&to={}{anchor}",
        period.from, period.to
    ))
}

/// `GET /admin/review?from=YYYY-MM-DD&to=YYYY-MM-DD`
pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let period = period(&state, query.from.as_deref(), query.to.as_deref())?;
    let items = queue(&state, &period).await?;
    let (from, to) = period.bounds_ms();
    let (replies, waiting) = state
        .store
        .review_counts(from, to, REVIEW_ANSWERS_BELOW)
        .await
        .map_err(ApiError::from)?;
    let faqs = state.store.faqs().await.map_err(ApiError::from)?;
    let last_review = state.store.last_review_at().await.map_err(ApiError::from)?;
    let shown = Queue {
        items: &items,
        replies,
        waiting,
    };
    let body = layout(
        "Weekly review",
        Some(&owner),
        review_body(&owner, &period, &shown, &faqs, last_review),
    );
    Ok((page_headers(), body).into_response())
}

/// `POST /admin/review/{message_id}`: the owner's verdict on one reply.
pub(super) async fn judge(
    State(state): State<AppState>,
    headers: HeaderMap,
    MessageId(message_id): MessageId,
    form: Result<Form<VerdictForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    let period = period(&state, Some(&form.from), Some(&form.to))?;
    let (_, decision) = assistant_reply(&state, message_id).await?;
    let answered = decision.kind == DecisionKind::Answer;

    let faq_id = Some(form.faq_id.trim().to_string()).filter(|faq| !faq.is_empty());
    let new_faq = match (form.new_question.trim(), form.new_answer.trim()) {
        ("", "") => None,
        (question, answer) => Some(NewFaq {
            id: None,
            question: question.to_string(),
            answer: answer.to_string(),
        }),
    };
    let verdict = match form.verdict.as_str() {
        "right" => Verdict::Right,
        "wrong" => Verdict::Wrong,
        other => {
            return Err(ApiError::bad_field(
                "verdict",
                format!("`{other}` is not a verdict: choose right or wrong"),
            )
            .into())
        }
    };

    match (verdict, answered) {
        (Verdict::Right, _) if faq_id.is_some() || new_faq.is_some() => {
            return Err(ApiError::bad_field(
                "verdict",
                "an FAQ goes with `wrong`: a right reply needs none",
            )
            .into());
        }
        // A handoff or a question asked back that was right teaches nothing new: the
        // verdict is recorded for the review alone.
        (Verdict::Right, false) => {
            state
                .store
                .set_review_verdict(message_id, true, None, Some(owner.user.id))
                .await
                .map_err(ApiError::from)?;
        }
        (Verdict::Wrong, false) if faq_id.is_none() && new_faq.is_none() => {
            return Err(ApiError::bad_field(
                "faq_id",
                "a handoff or a question asked back was wrong only if an FAQ should have \
                 answered: pick it, or write it",
            )
            .into());
        }
        (Verdict::Right, true) => {
            let request = FeedbackRequest {
                verdict,
                faq_id: None,
                new_faq: None,
            };
            learn_from_feedback(&state, &owner.user, message_id, request).await?;
        }
        (Verdict::Wrong, _) => {
            let request = FeedbackRequest {
                verdict,
                faq_id,
                new_faq,
            };
            learn_from_feedback(&state, &owner.user, message_id, request).await?;
        }
    }
    Ok(back_to(&period, Some(message_id)).into_response())
}

/// `POST /admin/review/finish`: records the review, once every reply has a verdict.
pub(super) async fn finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<FinishForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    let period = period(&state, Some(&form.from), Some(&form.to))?;
    // The period asked for, and the last week whatever was asked: a review of some quiet
    // days long ago must not pass for this week's.
    let this_week = Period::last_days(Timestamp::now(), REVIEW_DAYS, period.zone().clone());
    for days in [&period, &this_week] {
        let (from, to) = days.bounds_ms();
        let (_, waiting) = state
            .store
            .review_counts(from, to, REVIEW_ANSWERS_BELOW)
            .await
            .map_err(ApiError::from)?;
        if waiting > 0 {
            return Err(ApiError::bad_request(format!(
                "{waiting} replies from {} to {} still have no verdict: mark each right \
                 or wrong first",
                days.from, days.to
            ))
            .into());
        }
    }
    let (from, to) = period.bounds_ms();
    let (replies, _) = state
        .store
        .review_counts(from, to, REVIEW_ANSWERS_BELOW)
        .await
        .map_err(ApiError::from)?;
    let items = queue(&state, &period).await?;
    let wrong = items
        .iter()
        .filter(|item| item.verdict.as_deref() == Some("wrong"))
        .count();
    state
        .store
        .record_review(
            &period.from.to_string(),
            &period.to.to_string(),
            Some(owner.user.id),
            replies,
            wrong as i64,
        )
        .await
        .map_err(ApiError::from)?;
    tracing::info!(
        owner = owner.user.id,
        replies,
        wrong,
        "weekly review finished"
    );
    Ok(back_to(&period, None).into_response())
}

/// The part of the queue a page shows, and the whole queue's size.
struct Queue<'a> {
    items: &'a [ReviewItem],
    replies: i64,
    waiting: i64,
}

fn review_body(
    owner: &Owner,
    period: &Period,
    queue: &Queue<'_>,
    faqs: &[FaqEntry],
    last_review: Option<i64>,
) -> Markup {
    let token = owner.form_token();
    let items = queue.items;
    let (from, to) = (period.from.to_string(), period.to.to_string());
    html! {
        form.period method="get" action="/admin/review" {
            label { "From " input type="date" name="from" value=(from); }
            label { "to " input type="date" name="to" value=(to); }
            button type="submit" { "Show" }
            span.note { " Days in " (zone_name(period.zone())) "." }
        }
        p {
            (queue.replies) " replies worth a look: answers below "
            (format!("{:.0} %", REVIEW_ANSWERS_BELOW * 100.0))
            " confidence, handoffs, questions asked back, and replies already judged. "
            (queue.waiting) " without a verdict."
            @if (items.len() as i64) < queue.replies {
                " Showing the first " (items.len()) ", those without a verdict first: \
                  judge them and reload for the rest."
            }
        }
        datalist #faq-ids {
            @for faq in faqs {
                option value=(faq.id) { (cut(&faq.question)) }
            }
        }
        @if let Some(at) = last_review {
            p.note { "Last review finished " (shown_time(at, period.zone())) "." }
        } @else {
            p.note { "No review finished yet." }
        }
        @for item in items {
            (review_item(item, &token, period))
        }
        form method="post" action="/admin/review/finish" {
            input type="hidden" name="form_token" value=(token);
            input type="hidden" name="from" value=(from);
            input type="hidden" name="to" value=(to);
            button type="submit" { "Finish the review" }
            span.note { " Once every reply above has a verdict." }
        }
    }
}

fn review_item(item: &ReviewItem, token: &str, period: &Period) -> Markup {
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let decision = item.decision.as_ref();
    let kind = decision.map(|d| d.kind);
    let early_request = decision.and_then(|d| d.reason) == Some(Reason::PersonRequested)
        && item.customer_messages <= 3;
    let what = match decision {
        Some(d) if d.kind == DecisionKind::Answer => format!(
            "answered with {} at {:.2}",
            d.faq_id.as_deref().unwrap_or("a passage"),
            d.confidence
        ),
        Some(d) => format!(
            "{} ({})",
            if d.kind == DecisionKind::Escalate {
                "handed off"
            } else {
                "asked back"
            },
            d.reason.map_or("no reason", Reason::as_str)
        ),
        None => "a reply".to_string(),
    };
    let action = format!("/admin/review/{}", item.message_id);
    html! {
        article.review id={ "reply-" (item.message_id) } {
            p.meta {
                (shown_time(item.created_at, period.zone())) " · conversation " (item.conversation_id)
                " · " (what)
                @if early_request { " · asked for a person within three messages" }
                @if let Some(rating) = item.rating {
                    " · the customer rated the conversation " (rating) " of 5"
                }
            }
            p { strong { "Customer: " } span.text { (item.question.as_deref().unwrap_or("—")) } }
            @if let Some(comment) = &item.rating_comment {
                p { strong { "With the rating: " } span.text { (comment) } }
            }
            p { strong { "Assistant: " } span.text { (item.reply) } }
            @match item.verdict.as_deref() {
                Some("right") => p.verdict.good { "Judged right." },
                Some(_) => p.verdict.bad {
                    "Judged wrong" @if let Some(faq) = &item.verdict_faq { "; should have answered with " (faq) } "."
                },
                None => p.verdict { "No verdict yet." },
            }
            form method="post" action=(action) {
                input type="hidden" name="form_token" value=(token);
                input type="hidden" name="from" value=(from);
                input type="hidden" name="to" value=(to);
                label.inline { input type="radio" name="verdict" value="right" required; " Right" }
                label.inline { input type="radio" name="verdict" value="wrong"; " Wrong" }
                label {
                    span {
                        "The FAQ that should have answered (its id) "
                        (if kind == Some(DecisionKind::Answer) {
                            "— leave it empty when a person should handle such questions"
                        } else {
                            ""
                        })
                    }
                    input type="text" name="faq_id" list="faq-ids" autocomplete="off";
                }
                details {
                    summary { "Or write a new FAQ entry" }
                    label { span { "Question" } input type="text" name="new_question"; }
                    label { span { "Answer" } textarea name="new_answer" rows="3" {} }
                }
                button type="submit" { "Save verdict" }
            }
        }
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= FAQ_CHOICE_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(FAQ_CHOICE_CHARS - 1).collect();
    format!("{kept}…")
}

/// A time as the business reads it, in its own time zone.
/// A moment as the page shows it: in the business's time zone, marked up with the UTC
/// instant so that the page's script can show it in the viewer's zone too.
fn shown_time(unix_ms: i64, zone: &TimeZone) -> Markup {
    let Ok(time) = Timestamp::from_millisecond(unix_ms) else {
        return html! {};
    };
    let shown = time
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    html! { time datetime=(time.to_string()) { (shown) } }
}
