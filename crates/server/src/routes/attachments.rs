//! `GET /api/v1/messages/{id}/attachments/{position}`: a file a customer sent, for the
//! team. Whatever it holds, it is served so that nothing in it can run on our origin:
//! always as a download, under a policy that forbids scripts and sandboxes it, and with
//! its declared type only when that is a plain raster image.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::access::ensure_reach;
use crate::error::ApiError;
use crate::extract::TeamMember;
use crate::AppState;

/// Types a browser only ever draws; anything else (HTML, SVG, PDF, scripts) goes out as
/// bytes of no particular type.
const DRAWN_ONLY: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

pub(super) async fn download(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    Path((message_id, position)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let message_id: i64 = message_id
        .parse()
        .map_err(|_| ApiError::bad_field("id", "a message id is a whole number"))?;
    let position: u32 = position.parse().map_err(|_| {
        ApiError::bad_field(
            "position",
            "an attachment's position is a whole number from 0",
        )
    })?;
    let message = state
        .store
        .message(message_id)
        .await?
        .ok_or(ApiError::NotFound("no such attachment is kept"))?;
    ensure_reach(&state, &user, message.conversation_id).await?;
    let file = state
        .store
        .attachment_file(message_id, position)
        .await?
        .ok_or(ApiError::NotFound("no such attachment is kept"))?;

    let content_type: &'static str = DRAWN_ONLY
        .into_iter()
        .find(|drawn| *drawn == file.content_type)
        .unwrap_or("application/octet-stream");
    let name = file.file_name.as_deref().unwrap_or("attachment");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_DISPOSITION, disposition(name)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    Ok((headers, file.bytes).into_response())
}

/// `attachment` with the name twice: plain ASCII for old clients (anything else
/// replaced), and exactly as sent, percent-encoded (RFC 6266).
fn disposition(name: &str) -> HeaderValue {
    let plain: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, NON_ALPHANUMERIC);
    let value = format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_break_out_of_the_header() {
        let value = disposition("invoice\"; filename=evil.html\r\n.pdf");
        let text = value.to_str().expect("ASCII");
        assert!(text.starts_with("attachment; filename=\"invoice_; filename=evil.html__.pdf\""));
        assert!(!text.contains('\r') && !text.contains('\n'));

        let accented = disposition("facture été.pdf");
        let text = accented.to_str().expect("ASCII");
        assert!(
            text.contains("filename*=UTF-8''facture%20%C3%A9t%C3%A9%2Epdf"),
            "{text}"
        );
    }
}
