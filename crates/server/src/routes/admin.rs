//! The owner's pages: the maturity report and the analytics, rendered on the server, and
//! the same figures as JSON and CSV.
//!
//! The pages read the inbox's sign-in cookie; without one they send the browser to the
//! inbox to sign in, and an agent is refused (these figures are the owner's). The one
//! form, the owner's answers to the maturity questions, carries a token derived from the
//! sign-in, so another site cannot submit it on the owner's behalf. Everything shown
//! goes through maud, which escapes every value it interpolates: customers' questions
//! appear on these pages as text.

use std::collections::BTreeSet;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use frontdesk_core::{Role, User};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::analytics::{self, definition, Analytics, Period, SatisfactionFigures, Waits};
use crate::auth::api_token_hash;
use crate::error::ApiError;
use crate::extract::{session_cookie_token, TeamMember};
use crate::maturity::{self, duration, level_name, percent, Assessment, Basis, Question, Report};
use crate::AppState;

use super::inbox::asset;

const ADMIN_CSS: &str = include_str!("../../assets/admin.css");
const ADMIN_JS: &str = include_str!("../../assets/admin.js");

/// The analytics page shows the last this many days unless asked for others.
const DEFAULT_DAYS: i32 = 28;

/// Colours of the channels in the charts, in the order channels are first seen.
const PALETTE: [&str; 6] = [
    "#2f6f9f", "#d08c2c", "#4f9a5b", "#9a4f8f", "#b8473d", "#6b6b6b",
];

#[derive(Deserialize)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct AnswersForm {
    form_token: String,
    maintenance: Option<String>,
    cost: Option<String>,
    channels: Option<String>,
    resolution: Option<String>,
    response_time: Option<String>,
}

/// The owner signed in through the inbox's cookie, with the session token the page's
/// form token is derived from.
pub(super) struct Owner {
    pub(super) user: User,
    session: String,
}

/// What a page request without a usable sign-in gets.
pub(super) enum PageRefusal {
    SignIn,
    NotOwner,
    Failed(ApiError),
}

impl IntoResponse for PageRefusal {
    fn into_response(self) -> Response {
        match self {
            PageRefusal::SignIn => Redirect::to("/inbox").into_response(),
            PageRefusal::NotOwner => {
                let body = layout(
                    "Owners only",
                    None,
                    html! {
                        p { "These pages are for the business's owner. Your account is an agent's: "
                            a href="/inbox" { "open the inbox" } "." }
                    },
                );
                (StatusCode::FORBIDDEN, page_headers(), body).into_response()
            }
            // A person sent this from a page: the answer is a page too, saying what was
            // wrong in the API's own words.
            PageRefusal::Failed(err) => {
                let status = err.status();
                let (message, field) = err.message();
                let body = layout(
                    "That did not work",
                    None,
                    html! {
                        p.mistakes { (message) }
                        @if let Some(field) = field { p.note { "The field at fault: " code { (field) } } }
                        p { a href="/admin" { "Back to the owner's pages" } }
                    },
                );
                (status, page_headers(), body).into_response()
            }
        }
    }
}

impl From<ApiError> for PageRefusal {
    fn from(err: ApiError) -> Self {
        PageRefusal::Failed(err)
    }
}

pub(super) async fn owner(state: &AppState, headers: &HeaderMap) -> Result<Owner, PageRefusal> {
    let Some(session) = session_cookie_token(headers) else {
        return Err(PageRefusal::SignIn);
    };
    let user = state
        .store
        .user_by_token_hash(&api_token_hash(session))
        .await
        .map_err(ApiError::from)?
        .ok_or(PageRefusal::SignIn)?;
    if user.role != Role::Owner {
        return Err(PageRefusal::NotOwner);
    }
    Ok(Owner {
        user,
        session: session.to_string(),
    })
}

/// What a form sent with another sign-in's token (another site's form, or a page left open
/// across a sign-out) is told.
pub(super) const FORM_OUT_OF_DATE: &str =
    "the form is out of date: reload the page and send it again";

/// The owner who sent one of the owner's forms, or the refusal: not signed in, not an
/// owner, or a form token from another sign-in (another site's form).
pub(super) async fn form_sender(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<Owner, PageRefusal> {
    let owner = owner(state, headers).await?;
    if owner.sent_the_form(token) {
        Ok(owner)
    } else {
        Err(ApiError::Forbidden(FORM_OUT_OF_DATE).into())
    }
}

impl Owner {
    /// Whether `token` is the one this owner's forms carry (compared in constant time).
    pub(super) fn sent_the_form(&self, token: &str) -> bool {
        let expected = form_token(&self.session);
        bool::from(token.as_bytes().ct_eq(expected.as_bytes()))
    }

    pub(super) fn form_token(&self) -> String {
        form_token(&self.session)
    }
}

/// The largest form the owner's pages take: room for a new FAQ entry's answer of a few
/// pages.
pub(super) const FORM_MAX_BYTES: usize = 64 * 1024;

/// What an unreadable form answers: 413 when it was too large, else 400 naming why.
pub(super) fn form_refused(err: FormRejection) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge {
            limit: FORM_MAX_BYTES,
        }
    } else {
        ApiError::bad_request(err.body_text())
    }
}

/// The token the owner's forms carry: only someone holding the sign-in cookie (which
/// scripts cannot read) can compute it.
fn form_token(session: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"frontdesk admin form\0");
    hasher.update(session.as_bytes());
    hex::encode(hasher.finalize())
}

fn now() -> Timestamp {
    Timestamp::now()
}

pub(super) fn business_zone(state: &AppState) -> TimeZone {
    state.settings.handoff.zone()
}

fn period_from(state: &AppState, query: &PeriodQuery) -> Result<Period, ApiError> {
    let (from, to) = (query.from.as_deref(), query.to.as_deref());
    Period::from_query(from, to, DEFAULT_DAYS, business_zone(state))
        .map_err(|err| ApiError::bad_field(err.field(), err.to_string()))
}

async fn report_of(state: &AppState) -> Result<Report, ApiError> {
    Ok(maturity::report(&state.store, &state.settings.handoff, now()).await?)
}

async fn analytics_of(state: &AppState, period: &Period) -> Result<Analytics, ApiError> {
    Ok(analytics::analytics(&state.store, period, &state.settings.handoff, now()).await?)
}

/// `GET /admin`: the report is the owner's front page.
pub(super) async fn home() -> Redirect {
    Redirect::to("/admin/report")
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", ADMIN_CSS)
}

/// `GET /admin/admin.js`: shows the pages' times in the viewer's zone as well.
pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", ADMIN_JS)
}

/// `GET /admin/report`
pub(super) async fn report_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let report = report_of(&state).await?;
    let body = layout(
        "Maturity report",
        Some(&owner),
        report_body(&report, &form_token(&owner.session)),
    );
    Ok((page_headers(), body).into_response())
}

/// `POST /admin/report/answers`: the owner's answers to the questions the data cannot
/// answer (and to the others, for when the data is too thin).
pub(super) async fn save_answers(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<AnswersForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    let given = [
        (Question::Channels, &form.channels),
        (Question::Resolution, &form.resolution),
        (Question::ResponseTime, &form.response_time),
        (Question::Maintenance, &form.maintenance),
        (Question::Cost, &form.cost),
    ];
    // Every answer is checked before any is stored: a bad one stores none.
    let mut levels = Vec::new();
    for (question, value) in given {
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let level = value
            .parse::<u8>()
            .ok()
            .filter(|level| (1..=5).contains(level))
            .ok_or_else(|| {
                ApiError::bad_field(
                    question.key(),
                    format!("`{value}` is not a level from 1 to 5"),
                )
            })?;
        levels.push((question, level));
    }
    for (question, level) in &levels {
        state
            .store
            .set_maturity_answer(question.key(), *level, Some(owner.user.id))
            .await
            .map_err(ApiError::from)?;
    }
    tracing::info!(
        owner = owner.user.id,
        answers = levels.len(),
        "maturity answers saved"
    );
    Ok(Redirect::to("/admin/report").into_response())
}

/// `GET /admin/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD`
pub(super) async fn analytics_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let period = period_from(&state, &query)?;
    let figures = analytics_of(&state, &period).await?;
    let body = layout("Analytics", Some(&owner), analytics_body(&figures));
    Ok((page_headers(), body).into_response())
}

/// `GET /admin/analytics.csv?from&to`: the page's figures, one row per figure, then one
/// row per day and channel.
pub(super) async fn analytics_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, PageRefusal> {
    owner(&state, &headers).await?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let period = period_from(&state, &query)?;
    let figures = analytics_of(&state, &period).await?;
    let text = csv_of(&figures).map_err(|err| ApiError::Internal(err.to_string()))?;
    let name = format!(
        "attachment; filename=\"frontdesk-analytics-{}-{}.csv\"",
        figures.from, figures.to
    );
    let mut response = text.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        response_headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /api/v1/analytics?from&to`: the figures as JSON, for owners.
pub(super) async fn analytics_json(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Json<Analytics>, ApiError> {
    require_owner(&user)?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let period = period_from(&state, &query)?;
    Ok(Json(analytics_of(&state, &period).await?))
}

/// `GET /api/v1/report/maturity`: the maturity report as JSON, for owners.
pub(super) async fn report_json(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
) -> Result<Json<Report>, ApiError> {
    require_owner(&user)?;
    Ok(Json(report_of(&state).await?))
}

pub(super) fn require_owner(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Owner {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only an owner may do this"))
    }
}

pub(super) fn page_headers() -> [(header::HeaderName, &'static str); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, super::inbox::PAGE_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        // Ids and rating links in these pages' addresses stay on this site.
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

pub(super) fn layout(title: &str, owner: Option<&Owner>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Frontdesk" }
                link rel="stylesheet" href="/admin/admin.css";
                script src="/admin/admin.js" defer {}
            }
            body {
                header {
                    strong { "Frontdesk" }
                    nav {
                        a href="/admin/report" { "Maturity report" }
                        a href="/admin/analytics" { "Analytics" }
                        a href="/admin/review" { "Weekly review" }
                        a href="/admin/knowledge" { "Knowledge" }
                        a href="/admin/replies" { "Canned replies" }
                        a href="/inbox" { "Inbox" }
                    }
                    @if let Some(owner) = owner {
                        span.who { (owner.user.email) }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

fn report_body(report: &Report, token: &str) -> Markup {
    let assessment = &report.assessment;
    html! {
        section.level {
            @match assessment.level {
                Some(level) => {
                    p.big { "Level " (level) ": " (level_name(level)) }
                    @if let Some((from, to)) = assessment.in_transition {
                        p { "In transition from level " (from) " to level " (to) "." }
                    }
                },
                None => p.big { "No level yet: answer the questions below." },
            }
            @if !assessment.unanswered.is_empty() {
                p.note {
                    "Not answered yet: "
                    (assessment.unanswered.iter().map(|q| q.key()).collect::<Vec<_>>().join(", "))
                    ". The level may be lower once they are."
                }
            }
            p.next { strong { "Next move: " } (assessment.next_move) }
        }
        section {
            h2 { "The five questions" }
            (PreEscaped(levels_chart(assessment)))
            table {
                thead { tr { th { "Question" } th { "Answer" } th { "Level" } th { "From" } } }
                tbody {
                    @for answer in &assessment.answers {
                        tr {
                            td { (answer.text) }
                            td { (answer.answer.unwrap_or("—")) }
                            td { (answer.level.map_or("—".to_string(), |l| l.to_string())) }
                            td {
                                @match &answer.basis {
                                    Basis::Measured { detail } => { "measured: " (detail) },
                                    Basis::Owner => "your answer",
                                    Basis::Unanswered => "not enough data yet; answer below",
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "What the data shows" }
            ul.checks {
                @for failure in &assessment.failure_modes {
                    li class=(if failure.detected { "bad" } else { "good" }) {
                        strong { (failure.name.replace('_', " ")) }
                        ": " (if failure.detected { "detected" } else { "not seen" })
                        " (" (failure.detail) ")"
                    }
                }
            }
            h2 { "Signals of a real Level 4" }
            ul.checks {
                @for signal in &assessment.signals {
                    li class=(if signal.met { "good" } else { "bad" }) {
                        strong { (signal.name.replace('_', " ")) }
                        ": " (if signal.met { "met" } else { "not yet" })
                        " (" (signal.detail) ")"
                    }
                }
            }
            p.note {
                "Read from the last " (maturity::REPORT_DAYS) " days ("
                (report.analytics.from) " to " (report.analytics.to) ", "
                (report.analytics.time_zone) "). "
                a href="/admin/analytics" { "See the analytics" } "."
            }
        }
        section {
            h2 { "Your answers" }
            p { "Live figures answer the first three questions once there are enough \
                 conversations; until then, and for the last two, your answer counts." }
            form method="post" action="/admin/report/answers" {
                input type="hidden" name="form_token" value=(token);
                @for question in Question::ALL {
                    @let given = owners_answer(assessment, question);
                    label {
                        span { (question.text()) }
                        select name=(question.key()) {
                            option value="" { "(no answer: keep the one stored, if any)" }
                            @for (index, option) in question.options().iter().enumerate() {
                                @let level = index as u8 + 1;
                                option value=(level) selected[given == Some(level)] {
                                    (level) ". " (option)
                                }
                            }
                        }
                    }
                }
                button type="submit" { "Save answers" }
            }
        }
    }
}

/// The level the owner gave `question`, when the report rests on it.
fn owners_answer(assessment: &Assessment, question: Question) -> Option<u8> {
    assessment
        .answers
        .iter()
        .find(|answer| answer.question == question && answer.basis == Basis::Owner)
        .and_then(|answer| answer.level)
}

/// "12 ratings, mean 4.2 of 5", or that there are none.
fn satisfaction_detail(figures: &SatisfactionFigures) -> String {
    match figures.mean {
        Some(mean) => format!("{} ratings, mean {mean:.1} of 5", figures.ratings),
        None => "no ratings in this period".to_string(),
    }
}

fn analytics_body(figures: &Analytics) -> Markup {
    let outcomes = &figures.outcomes;
    let rate = |rate: Option<f64>| rate.map_or("—".to_string(), percent);
    let query = format!("from={}&to={}", figures.from, figures.to);
    html! {
        form.period method="get" action="/admin/analytics" {
            label { "From " input type="date" name="from" value=(figures.from); }
            label { "to " input type="date" name="to" value=(figures.to); }
            button type="submit" { "Show" }
            " " a href={ "/admin/analytics.csv?" (query) } { "Download CSV" }
            span.note { " Days in " (figures.time_zone) "." }
        }
        section.figures {
            (figure("Resolved without a person", &rate(figures.resolution_rate),
                &format!("{} of {} conversations", outcomes.resolved_without_person, outcomes.decided()),
                definition("resolved_without_person")))
            (figure("Escalation rate", &rate(figures.escalation_rate),
                &format!("{} handed off", outcomes.handed_off), definition("escalation_rate")))
            (figure("First response, assistant", &waits(&figures.first_response_assistant),
                &format!("{} conversations", figures.first_response_assistant.count),
                definition("first_response_assistant")))
            (figure("First response, person", &waits(&figures.first_response_human),
                &format!("{} handoffs answered, {} waiting", figures.first_response_human.count, figures.handoffs_waiting),
                definition("first_response_human")))
            (figure("Asked for a person early", &figures.asked_for_person_early.to_string(),
                "conversations", definition("asked_for_person_early")))
            (figure("Satisfied customers", &rate(figures.satisfaction.satisfied_rate),
                &satisfaction_detail(&figures.satisfaction), definition("satisfaction")))
        }
        section {
            h2 { "Outcomes" }
            (PreEscaped(outcomes_chart(figures)))
            p.note { (definition("resolution_rate")) }
            p.note {
                (outcomes.resolved_by_team) " conversations were resolved by the team in the \
                 period; " (outcomes.open) " are still open."
            }
            p.note { (definition("open")) }
        }
        section {
            h2 { "Customer messages by day" }
            (PreEscaped(volume_chart(figures)))
            p.note { (definition("volume")) }
            table {
                thead { tr { th { "Channel" } th { "Messages" } } }
                tbody {
                    @for (channel, messages) in &figures.volume_by_channel {
                        tr { td { (channel) } td { (messages) } }
                    }
                }
            }
        }
        section {
            h2 { "Questions the assistant could not answer" }
            p.note { (definition("unanswered")) }
            @if figures.unanswered.is_empty() {
                p { "None in this period." }
            } @else {
                table {
                    thead { tr { th { "Times" } th { "Asked as" } } }
                    tbody {
                        @for group in &figures.unanswered {
                            tr {
                                td { (group.count) }
                                td { ul { @for example in &group.examples { li { (example) } } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn figure(title: &str, value: &str, detail: &str, meaning: &str) -> Markup {
    html! {
        div.figure {
            h3 { (title) }
            p.value { (value) }
            p.detail { (detail) }
            p.meaning { (meaning) }
        }
    }
}

fn waits(waits: &Waits) -> String {
    match (waits.median_seconds, waits.p90_seconds) {
        (Some(median), Some(p90)) => format!("{} (90 %: {})", duration(median), duration(p90)),
        _ => "—".to_string(),
    }
}

/// Escapes text for SVG built as a string (channel names come from the store).
fn svg_text(text: &str) -> String {
    maud::html! { (text) }.into_string()
}

/// Customer messages per day as bars stacked by channel, with a legend.
fn volume_chart(figures: &Analytics) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 30.0;
    let channels: BTreeSet<&String> = figures.volume_by_channel.keys().collect();
    let colour = |channel: &str| {
        let index = channels
            .iter()
            .position(|c| c.as_str() == channel)
            .unwrap_or(0);
        PALETTE[index % PALETTE.len()]
    };
    let days = &figures.volume_by_day;
    let most = days.iter().map(|day| day.total()).max().unwrap_or(0).max(1) as f64;
    let slot = (WIDTH - LEFT) / days.len().max(1) as f64;
    let plot_height = HEIGHT - BOTTOM - 10.0;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>Customer messages per day</title>\
         <text x=\"0\" y=\"16\" font-size=\"11\">{most}</text>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{WIDTH}\" y2=\"{}\" stroke=\"#999\"/>",
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM
    );
    let label_every = (days.len() / 8).max(1);
    for (index, day) in days.iter().enumerate() {
        let x = LEFT + index as f64 * slot;
        let mut top = HEIGHT - BOTTOM;
        for (channel, messages) in &day.channels {
            let height = *messages as f64 / most * plot_height;
            top -= height;
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{height:.1}\" \
                 fill=\"{}\"><title>{} {}: {messages}</title></rect>",
                x + 1.0,
                (slot - 2.0).max(1.0),
                colour(channel),
                day.day,
                svg_text(channel),
            ));
        }
        if index % label_every == 0 {
            svg.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
                HEIGHT - 12.0,
                &day.day[5..]
            ));
        }
    }
    for (index, channel) in channels.iter().enumerate() {
        svg.push_str(&format!(
            "<rect x=\"{}\" y=\"2\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"11\" font-size=\"11\">{}</text>",
            LEFT + 10.0 + index as f64 * 110.0,
            colour(channel),
            LEFT + 24.0 + index as f64 * 110.0,
            svg_text(channel)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The period's outcomes as one bar split by kind.
fn outcomes_chart(figures: &Analytics) -> String {
    let outcomes = &figures.outcomes;
    let parts = [
        (
            "resolved without a person",
            outcomes.resolved_without_person,
            "#4f9a5b",
        ),
        ("handed off", outcomes.handed_off, "#d08c2c"),
        (
            "taken over by a person",
            outcomes.taken_over_by_person,
            "#2f6f9f",
        ),
        (
            "left without an answer",
            outcomes.left_without_answer,
            "#b8473d",
        ),
    ];
    let total = outcomes.decided().max(1) as f64;
    let mut svg = String::from(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 720 70\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>Outcomes of the period</title>",
    );
    let mut x = 0.0;
    for (index, (name, count, colour)) in parts.iter().enumerate() {
        let width = *count as f64 / total * 720.0;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"30\" fill=\"{colour}\">\
             <title>{name}: {count}</title></rect>\
             <rect x=\"{}\" y=\"44\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"53\" font-size=\"11\">{name}: {count}</text>",
            index as f64 * 180.0,
            index as f64 * 180.0 + 14.0,
        ));
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

/// Each question's level as a bar out of five, with the overall level marked.
fn levels_chart(assessment: &Assessment) -> String {
    const ROW: f64 = 26.0;
    const LEFT: f64 = 130.0;
    const STEP: f64 = 100.0;
    let height = ROW * assessment.answers.len() as f64 + 24.0;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>Level per question</title>",
        LEFT + 5.0 * STEP + 10.0
    );
    for level in 1..=5 {
        let x = LEFT + f64::from(level) * STEP;
        svg.push_str(&format!(
            "<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\">{level}</text>",
            height - 20.0,
            x - 4.0,
            height - 6.0
        ));
    }
    for (row, answer) in assessment.answers.iter().enumerate() {
        let y = row as f64 * ROW + 4.0;
        let level = answer.level.unwrap_or(0);
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>\
             <rect x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"16\" fill=\"{}\">\
             <title>{}: level {}</title></rect>",
            y + 12.0,
            answer.question.key().replace('_', " "),
            f64::from(level) * STEP,
            if Some(level) == assessment.level {
                "#d08c2c"
            } else {
                "#2f6f9f"
            },
            answer.question.key(),
            answer
                .level
                .map_or("not answered".to_string(), |l| l.to_string()),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Which definition a CSV row's figure goes by.
fn csv_definition(row: &str) -> &str {
    match row {
        "resolved_without_person" => "resolved_without_person",
        "resolution_rate" | "left_without_answer" | "taken_over_by_person" => "resolution_rate",
        "escalation_rate" | "handed_off" => "escalation_rate",
        "first_response_assistant_median_seconds" | "first_response_assistant_p90_seconds" => {
            "first_response_assistant"
        }
        "first_response_human_median_seconds"
        | "first_response_human_p90_seconds"
        | "handoffs_waiting" => "first_response_human",
        "satisfaction_ratings" | "satisfaction_mean" | "satisfaction_satisfied_rate" => {
            "satisfaction"
        }
        other => other,
    }
}

fn csv_of(figures: &Analytics) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["figure", "value", "from", "to", "definition"])?;
    let outcomes = &figures.outcomes;
    let number = |value: Option<f64>| value.map_or(String::new(), |v| format!("{v:.4}"));
    let rows = [
        ("resolution_rate", number(figures.resolution_rate)),
        ("escalation_rate", number(figures.escalation_rate)),
        (
            "resolved_without_person",
            outcomes.resolved_without_person.to_string(),
        ),
        ("handed_off", outcomes.handed_off.to_string()),
        (
            "taken_over_by_person",
            outcomes.taken_over_by_person.to_string(),
        ),
        (
            "left_without_answer",
            outcomes.left_without_answer.to_string(),
        ),
        ("resolved_by_team", outcomes.resolved_by_team.to_string()),
        (
            "first_response_assistant_median_seconds",
            number(figures.first_response_assistant.median_seconds),
        ),
        (
            "first_response_assistant_p90_seconds",
            number(figures.first_response_assistant.p90_seconds),
        ),
        (
            "first_response_human_median_seconds",
            number(figures.first_response_human.median_seconds),
        ),
        (
            "first_response_human_p90_seconds",
            number(figures.first_response_human.p90_seconds),
        ),
        ("handoffs_waiting", figures.handoffs_waiting.to_string()),
        (
            "asked_for_person_early",
            figures.asked_for_person_early.to_string(),
        ),
        (
            "satisfaction_ratings",
            figures.satisfaction.ratings.to_string(),
        ),
        ("satisfaction_mean", number(figures.satisfaction.mean)),
        (
            "satisfaction_satisfied_rate",
            number(figures.satisfaction.satisfied_rate),
        ),
    ];
    for (name, value) in rows {
        let meaning = definition(csv_definition(name));
        writer.write_record([
            name,
            value.as_str(),
            figures.from.as_str(),
            figures.to.as_str(),
            meaning,
        ])?;
    }
    writer.write_record(["day", "channel", "customer_messages", "", ""])?;
    for day in &figures.volume_by_day {
        for (channel, messages) in &day.channels {
            let count = messages.to_string();
            writer.write_record([day.day.as_str(), channel.as_str(), count.as_str(), "", ""])?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
