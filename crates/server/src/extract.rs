//! Request extractors that fail with our JSON errors instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use frontdesk_core::User;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::auth::api_token_hash;
use crate::error::ApiError;
use crate::AppState;

/// A JSON request body. Refuses a body over the size limit with 413, and one that does
/// not parse with 400 naming the field at fault. The content type is not checked, so
/// that `curl -d` works as people expect.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(request, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Like [`JsonBody`], for requests whose body is optional: no body at all reads as
/// `T::default()`.
pub(crate) struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

async fn body_bytes(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge {
                    limit: state.settings.max_body_bytes,
                }
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(describe)?;
    deserializer.end().map_err(|err| ApiError::BadRequest {
        message: format!("the request body is not valid JSON: {err}"),
        field: None,
    })?;
    Ok(value)
}

fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::BadRequest {
            message: format!("the request body is not valid JSON: {inner}"),
            field: None,
        };
    }
    let message = without_position(&inner.to_string());
    // A missing field is reported at its parent's path; serde names it in the message.
    let field = if path == "." {
        missing_field(&message)
    } else {
        Some(path)
    };
    ApiError::BadRequest {
        message: match &field {
            Some(field) => format!("the request body's field {field:?} is not valid: {message}"),
            None => format!("the request body is not valid: {message}"),
        },
        field,
    }
}

/// serde_json ends its messages with "at line 1 column N", which means little for a
/// request body; the rest is kept.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn missing_field(message: &str) -> Option<String> {
    let name = message.strip_prefix("missing field `")?;
    Some(name.split('`').next()?.to_string())
}

/// Admits the caller when no API token is configured, or when they present it as
/// `Authorization: Bearer TOKEN`.
pub(crate) struct ApiCaller;

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.settings.api_token.as_deref() else {
            return Ok(ApiCaller);
        };
        // Compared in constant time, so response timing does not reveal the token.
        match bearer_token(parts) {
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(ApiCaller),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// A member of the team, known by the API token they present as
/// `Authorization: Bearer TOKEN`.
pub(crate) struct TeamMember(pub User);

impl FromRequestParts<AppState> for TeamMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = match bearer_token(parts) {
            Some(token) => token,
            None => session_token(&parts.method, &parts.headers)?.ok_or(ApiError::Unauthorized)?,
        };
        // The lookup is by hash, so the token itself never reaches the database, and
        // an equality test on a hash leaks nothing useful through its timing.
        let user = state
            .store
            .user_by_token_hash(&api_token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(TeamMember(user))
    }
}

/// The inbox page's sign-in, from its cookie.
///
/// A browser sends cookies with requests other sites make it send, so a change made
/// with the cookie must also carry [`INBOX_REQUEST_HEADER`]: another site's page cannot
/// add a custom header without the server's consent (CORS, which Frontdesk never
/// gives). The cookie is also `SameSite=Strict`; the header holds where that is not
/// honoured.
pub(crate) fn session_token<'a>(
    method: &Method,
    headers: &'a HeaderMap,
) -> Result<Option<&'a str>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let safe_method = method == Method::GET || method == Method::HEAD;
    if !safe_method && !headers.contains_key(INBOX_REQUEST_HEADER) {
        return Err(ApiError::Forbidden(
            "a change made with the sign-in cookie must carry the X-Frontdesk-Inbox header",
        ));
    }
    Ok(Some(token))
}

/// The cookie that holds an inbox sign-in: an API token that expires.
pub(crate) const SESSION_COOKIE: &str = "frontdesk_session";
pub(crate) const INBOX_REQUEST_HEADER: &str = "x-frontdesk-inbox";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)] // read by serde only
        message: String,
    }

    fn field_of(json: &str) -> Option<String> {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        assert_eq!(field_of("{}"), Some("message".to_string()));
        assert_eq!(field_of(r#"{"message": 5}"#), Some("message".to_string()));
        assert_eq!(field_of("{\"message\": "), None);
        assert_eq!(field_of(r#"{"message": "a"} trailing"#), None);
        assert!(parse_json::<Body>(br#"{"message": "hi", "extra": 1}"#).is_ok());
    }
}
