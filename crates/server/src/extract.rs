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

/// Like [`JsonBody`], for the few requests whose texts run longer than the server's
/// body limit allows (a canned reply, a rating's comment in any script): up to `LIMIT`
/// bytes, whatever that limit is.
pub(crate) struct LongJsonBody<T, const LIMIT: usize>(pub T);

impl<T: DeserializeOwned, const LIMIT: usize> FromRequest<AppState> for LongJsonBody<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, ApiError> {
        // The body is read here with this limit, not through `Bytes`, which the server's
        // own (smaller) limit governs. Its other failure, a client that hung up half way,
        // leaves nobody to read the answer.
        let bytes = axum::body::to_bytes(request.into_body(), LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge { limit: LIMIT })?;
        parse_json(&bytes).map(LongJsonBody)
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

/// A conversation's id from the path; anything but a whole number is a 400 naming `id`,
/// in the usual JSON, instead of axum's plain-text rejection.
pub(crate) struct ConversationId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ConversationId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| ConversationId(id))
            .map_err(|_| ApiError::bad_field("id", "a conversation id is a whole number"))
    }
}

/// A message's text as written, if it is one: refused with 400 when it holds a control
/// character other than line breaks and tabs (PostgreSQL cannot store NUL, and none
/// belongs in a chat message), or nothing visible at all (only spaces, zero-width or
/// direction marks).
pub(crate) fn message_text(text: String) -> Result<String, ApiError> {
    if let Some(bad) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_field(
            "text",
            format!(
                "the message contains the control character U+{:04X}, which a message \
                 cannot hold",
                bad as u32
            ),
        ));
    }
    let visible = text
        .chars()
        .any(|c| !c.is_whitespace() && !is_invisible_format(c));
    if !visible {
        return Err(ApiError::bad_field("text", "the message has no text"));
    }
    Ok(text)
}

/// Characters that take no space on screen: zero-width spaces and joiners, direction
/// marks, embeddings, overrides and isolates, the word joiner and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
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

/// The sign-in token in the cookie, for pages read with GET and for forms that carry
/// their own token (the owner's pages).
pub(crate) fn session_cookie_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
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
        .and_then(|value| {
            // The scheme is case-insensitive (RFC 9110); the token is not.
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
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
    fn message_text_must_be_visible_and_storable() {
        assert!(message_text("hello 👋 مرحبا".to_string()).is_ok());
        assert!(message_text("line one\nline two\t".to_string()).is_ok());
        for bad in [
            "hello\u{0}world",
            "\u{7}",
            "\u{200b}",
            " \u{202e} ",
            "\u{feff}",
            "  ",
        ] {
            match message_text(bad.to_string()) {
                Err(ApiError::BadRequest { field, .. }) => {
                    assert_eq!(field.as_deref(), Some("text"), "{bad:?}")
                }
                other => panic!("{bad:?} was accepted: {other:?}"),
            }
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
