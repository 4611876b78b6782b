//! The routes, one module per area. Paths are written here once, so the whole HTTP
//! surface reads in one place.

mod admin;
mod answer;
mod attachments;
mod canned;
mod feedback;
mod health;
mod inbox;
mod knowledge;
mod knowledge_edit;
mod live;
mod rating;
mod review;
mod team;
mod usage;
mod webhooks;
mod widget;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::error::ApiError;
use crate::limits::{self, AddressLimit};
use crate::AppState;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    // The public side, limited per client address.
    let widget = Router::new()
        .route(
            "/api/v1/widget/conversations",
            post(widget::create_conversation),
        )
        .route(
            "/api/v1/widget/conversations/{token}/messages",
            post(widget::post_message).get(widget::list_messages),
        )
        .route("/api/v1/widget/conversations/{token}/live", get(live::live))
        .route(
            "/api/v1/widget/conversations/{token}/rating",
            post(rating::rate_from_widget),
        )
        // The page a rating link in an email or a chat message opens.
        .route(
            "/rate/{token}",
            get(rating::rating_page)
                .post(rating::rate_from_page)
                .layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route_layer(from_fn_with_state(
            (state.clone(), AddressLimit::Widget),
            limits::by_address,
        ));
    let sessions = Router::new()
        .route(
            "/api/v1/sessions",
            post(inbox::sign_in).delete(inbox::sign_out),
        )
        .route_layer(from_fn_with_state(
            (state.clone(), AddressLimit::SignIn),
            limits::by_address,
        ));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/api/v1/answer",
            post(answer::answer).route_layer(from_fn_with_state(
                (state.clone(), AddressLimit::OpenAnswer),
                limits::by_address,
            )),
        )
        .merge(widget)
        .merge(sessions)
        .merge(webhooks::routes())
        .route("/widget.js", get(widget::script))
        .route("/demo", get(widget::demo))
        .route("/api/v1/me", get(team::me))
        .route("/api/v1/conversations", get(team::list))
        .route("/api/v1/conversations/{id}", get(team::show))
        .route("/api/v1/conversations/{id}/messages", post(team::reply))
        .route("/api/v1/conversations/{id}/notes", post(team::note))
        .route("/api/v1/conversations/{id}/assign", post(team::assign_to))
        .route("/api/v1/conversations/{id}/handback", post(team::hand_back))
        .route("/api/v1/conversations/{id}/resolve", post(team::resolve))
        .route("/api/v1/messages/{id}/feedback", post(feedback::feedback))
        .route(
            "/api/v1/messages/{id}/attachments/{position}",
            get(attachments::download),
        )
        .route(
            "/api/v1/canned-replies",
            get(canned::list).post(canned::save),
        )
        .route("/api/v1/canned-replies/{id}", delete(canned::delete))
        .route("/api/v1/events", get(team::events))
        .route("/api/v1/usage/generation", get(usage::generation))
        .route("/api/openapi.json", get(openapi))
        .route("/admin", get(admin::home))
        .route("/admin/admin.css", get(admin::style))
        .route("/admin/admin.js", get(admin::script))
        .route("/admin/report", get(admin::report_page))
        .route(
            "/admin/report/answers",
            post(admin::save_answers).layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route("/admin/analytics", get(admin::analytics_page))
        .route("/admin/analytics.csv", get(admin::analytics_csv))
        .route("/admin/knowledge", get(knowledge::page))
        .route(
            "/admin/knowledge/upload",
            post(knowledge_edit::upload)
                .layer(DefaultBodyLimit::max(knowledge_edit::UPLOAD_MAX_BYTES)),
        )
        .route(
            "/admin/knowledge/faq",
            get(knowledge_edit::entry_page)
                .post(knowledge_edit::save_entry)
                .layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route(
            "/admin/knowledge/faq/delete",
            post(knowledge_edit::delete_entry).layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route(
            "/admin/replies",
            get(canned::page)
                .post(canned::save_from_page)
                .layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route(
            "/admin/replies/{id}/delete",
            post(canned::delete_from_page).layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route("/admin/review", get(review::page))
        .route("/admin/review/finish", post(review::finish))
        .route(
            "/admin/review/{message_id}",
            post(review::judge).layer(DefaultBodyLimit::max(admin::FORM_MAX_BYTES)),
        )
        .route("/api/v1/analytics", get(admin::analytics_json))
        .route("/api/v1/report/maturity", get(admin::report_json))
        .route("/inbox", get(inbox::page))
        .route("/inbox/inbox.js", get(inbox::script))
        .route("/inbox/inbox.css", get(inbox::style))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A fresh customer-side token for a conversation that a channel opens: unused by the
/// channel's customer, but every conversation has one and none may be guessable.
pub(crate) fn new_conversation_token() -> String {
    widget::random_hex(widget::TOKEN_BYTES)
}

/// The API's description, written by hand beside the routes; a test checks that every
/// path and method it names is served.
const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
