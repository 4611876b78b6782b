//! Which websites may use the widget's routes, and the CORS answers that let the widget
//! work when it is embedded on the shop's own site, at another origin than this server.
//!
//! Browsers send `Origin` on cross-origin requests and on every WebSocket handshake; a
//! request without it (curl, another server) does not come from a web page and passes.
//! The widget's routes carry no cookie or other credential (a conversation is reached
//! by the token in its path), so the list does not guard a secret: it keeps other sites
//! from embedding the shop's assistant as their own.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Every widget route, and only they, lives under this path.
const WIDGET_ROUTES: &str = "/api/v1/widget/";
/// What a browser may ask a widget route for in a preflight.
const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "content-type";
/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// `origin` as a browser sends it (`scheme://host[:port]`, lower case, no path), or why
/// it is not one.
pub(crate) fn normalize(origin: &str) -> Result<String, String> {
    let trimmed = origin.trim().trim_end_matches('/');
    let parsed: axum::http::Uri = trimmed
        .parse()
        .map_err(|err| format!("the allowed origin {origin:?} is not a URL: {err}"))?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("http" | "https"));
    let bare = parsed
        .path_and_query()
        .is_none_or(|path| path.as_str() == "/");
    if !scheme_ok || parsed.authority().is_none() || !bare {
        return Err(format!(
            "the allowed origin {origin:?} must look like https://shop.example \
             (a scheme and a host, with no path)"
        ));
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// Refuses widget requests from origins not in the settings' list (any origin when the
/// list is empty), answers their CORS preflights, and marks their responses readable
/// by the page that asked.
pub(crate) async fn widget_origins(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with(WIDGET_ROUTES) {
        return next.run(request).await;
    }
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    if !allowed(&state.settings.allowed_origins, &origin) {
        let shown = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        tracing::info!(origin = %shown, "widget request from an origin not allowed");
        return ApiError::OriginRefused(shown).into_response();
    }
    let mut response = if request.method() == Method::OPTIONS {
        preflight()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    // So that the widget can say how long to wait after a 429.
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    // The answer depends on who asked: caches must not hand one origin's to another.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

fn allowed(list: &[String], origin: &HeaderValue) -> bool {
    if list.is_empty() {
        return true;
    }
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    list.iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
}

fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            normalize("https://Shop.Example/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            normalize("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(normalize("shop.example").is_err());
        assert!(normalize("https://shop.example/help").is_err());
        assert!(normalize("ftp://shop.example").is_err());
    }

    #[test]
    fn an_empty_list_allows_any_origin() {
        let origin = HeaderValue::from_static("https://elsewhere.example");
        assert!(allowed(&[], &origin));
        let list = ["https://shop.example".to_string()];
        assert!(!allowed(&list, &origin));
        assert!(allowed(
            &list,
            &HeaderValue::from_static("https://SHOP.example")
        ));
        assert!(!allowed(&list, &HeaderValue::from_static("null")));
    }
}
