//! The inbox page for agents, and signing in to it.
//!
//! Signing in makes an API token that expires, kept in an HttpOnly cookie the page's
//! script cannot read; the page then uses the same JSON API and event stream as any
//! other client. The page and its script are files compiled into the binary and served
//! with a Content-Security-Policy that runs no script but our own.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::auth::{api_token_hash, hash_password, new_api_token, verify_password};
use crate::error::ApiError;
use crate::extract::{session_token, JsonBody, SESSION_COOKIE};
use crate::AppState;

/// How long an inbox sign-in lasts: a working day and then some.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

const INBOX_HTML: &str = include_str!("../../assets/inbox.html");
const INBOX_JS: &str = include_str!("../../assets/inbox.js");
const INBOX_CSS: &str = include_str!("../../assets/inbox.css");

/// Scripts and styles from this server only, no inline script, no framing (against
/// clickjacking), nothing sent to other sites.
pub(super) const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

#[derive(Deserialize)]
pub(super) struct SignIn {
    email: String,
    password: String,
}

pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", INBOX_HTML)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", INBOX_JS)
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", INBOX_CSS)
}

/// A file compiled into the binary, with the headers every page and script here gets.
pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `POST /api/v1/sessions`: signs a team member in with email and password and sets the
/// session cookie. A wrong email and a wrong password get the same answer, in about the
/// same time.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    // Another site's page can post a form (text/plain, urlencoded) here without asking,
    // and would sign the visitor in to an account of its choosing; JSON it cannot send
    // without the server's consent.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "signing in takes a JSON body sent as Content-Type: application/json",
        ));
    }
    // Locked accounts are refused before the password is even checked, right or not.
    let account = frontdesk_store::normalize_email(&request.email);
    let lockout = &state.limiters.sign_in_failures;
    lockout.check(&account)?;
    let found = state.store.user_by_email(&request.email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        // Checked against a hash all the same, so the time taken does not tell a
        // stranger whether the email belongs to someone here.
        None => (None, stand_in_hash().to_string()),
    };
    let password = request.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|err| ApiError::Internal(format!("checking a password failed: {err}")))?;
    let user = match (user, matches) {
        (Some(user), true) => user,
        _ => {
            lockout.failed(&account);
            tracing::info!("inbox sign-in refused");
            return Err(ApiError::SignInFailed);
        }
    };
    lockout.succeeded(&account);

    let token = new_api_token();
    let expires_at = unix_ms_in(SESSION_LIFETIME);
    state
        .store
        .add_api_token(
            &user.email,
            &api_token_hash(&token),
            Some("inbox sign-in"),
            Some(expires_at),
        )
        .await?;
    tracing::info!(user = user.id, "signed in to the inbox");
    let secure = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    let cookie = session_cookie(&token, SESSION_LIFETIME.as_secs(), secure);
    Ok(with_cookie(Json(user).into_response(), &cookie))
}

/// `DELETE /api/v1/sessions`: ends the sign-in in the cookie, for good.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&method, &headers)? {
        state.store.revoke_api_token(&api_token_hash(token)).await?;
    }
    let cleared = session_cookie("", 0, false);
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &cleared,
    ))
}

fn session_cookie(token: &str, max_age_s: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    )
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(err) => {
            ApiError::Internal(format!("a session cookie is not a header: {err}")).into_response()
        }
    }
}

fn unix_ms_in(from_now: Duration) -> i64 {
    let at = std::time::SystemTime::now() + from_now;
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// A hash of a password nobody knows, made once per process.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_api_token()).unwrap_or_default())
}
