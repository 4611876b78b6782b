//! What a failed request answers: a status and `{"error": "...", "field": "..."}`.
//!
//! The message is always safe to show a caller. Causes from inside (the database, a
//! panic) are logged here and replaced by a generic sentence.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use frontdesk_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub(crate) enum ApiError {
    /// The request cannot be read; `field` names the part at fault when one is.
    BadRequest {
        message: String,
        field: Option<String>,
    },
    Unauthorized,
    /// A webhook delivery whose signature or secret token did not check out.
    WebhookRefused(String),
    /// An email and password that do not match a member of the team.
    SignInFailed,
    /// Known caller, refused request.
    Forbidden(&'static str),
    UnsupportedMediaType(&'static str),
    /// A widget request from a website the server is not set up to serve.
    OriginRefused(String),
    NotFound(&'static str),
    MethodNotAllowed,
    TooLarge {
        limit: usize,
    },
    /// A rate limit was reached; the caller may try again after this many seconds.
    TooManyRequests {
        retry_after_s: u64,
    },
    /// Something the server needs is not there yet (the knowledge is still loading).
    NotReady(&'static str),
    /// A conversation was moved by someone else in the meantime.
    Conflict(String),
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: None,
        }
    }

    pub(crate) fn bad_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// What the error says, and the field at fault when one is. An internal error's cause
    /// is logged here, where it is turned into words for the caller.
    pub(crate) fn message(&self) -> (String, Option<&str>) {
        match self {
            ApiError::BadRequest { message, field } => (message.clone(), field.as_deref()),
            ApiError::Unauthorized => (
                "this endpoint needs an API token: send Authorization: Bearer TOKEN".to_string(),
                None,
            ),
            // The same words whether the email or the password was wrong: saying which
            // would tell a stranger who works here.
            ApiError::SignInFailed => ("the email or the password is not right".to_string(), None),
            ApiError::Forbidden(why) | ApiError::UnsupportedMediaType(why) => {
                (why.to_string(), None)
            }
            ApiError::OriginRefused(origin) => (
                format!("the widget is not served to pages from the origin {origin:?}"),
                None,
            ),
            ApiError::NotFound(what) => (what.to_string(), None),
            ApiError::MethodNotAllowed => {
                ("this route does not take that method".to_string(), None)
            }
            ApiError::TooLarge { limit } => (
                format!("the request body is larger than the limit of {limit} bytes"),
                None,
            ),
            ApiError::TooManyRequests { retry_after_s } => (
                format!("too many requests; try again in {retry_after_s} s"),
                None,
            ),
            ApiError::NotReady(what) => (what.to_string(), None),
            ApiError::Conflict(message) | ApiError::WebhookRefused(message) => {
                (message.clone(), None)
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    "something went wrong on our side; try again".to_string(),
                    None,
                )
            }
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::SignInFailed | ApiError::WebhookRefused(_) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) | ApiError::OriginRefused(_) => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ConversationNotFound { .. } => ApiError::NotFound("no such conversation"),
            StoreError::StatusChangeRefused { .. } => ApiError::Conflict(err.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, field) = self.message();
        let body = ErrorBody {
            error: &message,
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_s } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A panicking handler becomes a 500 with the usual JSON body; the connection and the
/// server live on.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::Internal(format!("a handler panicked: {detail}")).into_response()
}
