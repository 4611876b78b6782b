//! Sending against a scripted provider on loopback: what is sent, and how each kind of
//! answer is sorted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use frontdesk_channels::send::{request, send, SendError, Sent};
use frontdesk_channels::ChannelConfig;
use serde_json::{json, Value};

const BOT_TOKEN: &str = "123456:AAH-secret-bot-token";
const ACCESS_TOKEN: &str = "EAAG-secret-access-token";

/// What the fake provider was asked.
#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// How the fake provider answers every request.
#[derive(Clone)]
struct Script {
    status: StatusCode,
    headers: Vec<(&'static str, &'static str)>,
    body: Value,
    /// Never answer at all.
    hang: bool,
}

impl Script {
    fn answer(status: StatusCode, body: Value) -> Script {
        Script {
            status,
            headers: Vec::new(),
            body,
            hang: false,
        }
    }
}

#[derive(Clone)]
struct Provider {
    script: Script,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

async fn answer(
    State(provider): State<Provider>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .map(|value| value.to_str().unwrap().to_string());
    provider.recorded.lock().unwrap().push(Recorded {
        path: uri.path().to_string(),
        authorization,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let script = provider.script;
    if script.hang {
        std::future::pending::<()>().await;
    }
    let mut response = (script.status, axum::Json(script.body)).into_response();
    for (name, value) in script.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Starts the fake provider on an ephemeral loopback port; returns its base URL and
/// what it records.
async fn start(script: Script) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let provider = Provider {
        script,
        recorded: recorded.clone(),
    };
    let app = Router::new().fallback(answer).with_state(provider);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), recorded)
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

fn whatsapp(api_base: &str) -> ChannelConfig {
    ChannelConfig::Whatsapp {
        app_secret: "app".into(),
        verify_token: "verify".into(),
        access_token: ACCESS_TOKEN.into(),
        phone_number_id: "1555000000001".into(),
        api_base: api_base.into(),
    }
}

fn messenger(api_base: &str) -> ChannelConfig {
    ChannelConfig::Messenger {
        app_secret: "app".into(),
        verify_token: "verify".into(),
        page_access_token: ACCESS_TOKEN.into(),
        api_base: api_base.into(),
    }
}

fn telegram(api_base: &str) -> ChannelConfig {
    ChannelConfig::Telegram {
        bot_token: BOT_TOKEN.into(),
        secret_token: "hook".into(),
        api_base: api_base.into(),
    }
}

async fn send_once(config: &ChannelConfig, script: Script) -> (Result<Sent, SendError>, Recorded) {
    let (base, recorded) = start(script).await;
    let config = match config {
        ChannelConfig::Whatsapp { .. } => whatsapp(&base),
        ChannelConfig::Messenger { .. } => messenger(&base),
        _ => telegram(&base),
    };
    let call = request(&config, "12345678", "Your order has shipped.").unwrap();
    let outcome = send(&client(Duration::from_secs(5)), &call).await;
    let seen = recorded.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    (outcome, seen.into_iter().next().unwrap())
}

#[tokio::test]
async fn whatsapp_success_sends_the_text_with_the_bearer() {
    let script = Script::answer(
        StatusCode::OK,
        json!({ "messaging_product": "whatsapp",
                "contacts": [{ "input": "12345678", "wa_id": "12345678" }],
                "messages": [{ "id": "wamid.HBgLMTU1NTAxMDAwMDAyFQIAERgS" }] }),
    );
    let (outcome, seen) = send_once(&whatsapp(""), script).await;
    assert_eq!(
        outcome.unwrap(),
        Sent {
            provider_message_id: Some("wamid.HBgLMTU1NTAxMDAwMDAyFQIAERgS".into())
        }
    );
    assert_eq!(seen.path, "/1555000000001/messages");
    assert_eq!(seen.authorization, Some(format!("Bearer {ACCESS_TOKEN}")));
    assert_eq!(
        seen.body,
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual",
                "to": "12345678", "type": "text",
                "text": { "preview_url": false, "body": "Your order has shipped." } })
    );
}

#[tokio::test]
async fn messenger_success_with_a_trailing_slash_on_the_base() {
    let (base, recorded) = start(Script::answer(
        StatusCode::OK,
        json!({ "recipient_id": "12345678", "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5j" }),
    ))
    .await;
    let config = messenger(&format!("{base}/"));
    let call = request(&config, "12345678", "Hello").unwrap();
    let sent = send(&client(Duration::from_secs(5)), &call).await.unwrap();
    assert_eq!(
        sent.provider_message_id.as_deref(),
        Some("m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5j")
    );
    let seen = recorded.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/me/messages");
    assert_eq!(seen.authorization, Some(format!("Bearer {ACCESS_TOKEN}")));
    assert_eq!(
        seen.body,
        json!({ "recipient": { "id": "12345678" }, "messaging_type": "RESPONSE",
                "message": { "text": "Hello" } })
    );
}

#[tokio::test]
async fn telegram_success_gives_the_chat_scoped_id() {
    let script = Script::answer(
        StatusCode::OK,
        json!({ "ok": true, "result": { "message_id": 777, "date": 1_700_000_000,
                "chat": { "id": 12345678, "type": "private" },
                "text": "Your order has shipped." } }),
    );
    let (outcome, seen) = send_once(&telegram(""), script).await;
    assert_eq!(
        outcome.unwrap().provider_message_id.as_deref(),
        Some("12345678:777")
    );
    assert_eq!(seen.path, format!("/bot{BOT_TOKEN}/sendMessage"));
    assert_eq!(seen.authorization, None);
    assert_eq!(
        seen.body,
        json!({ "chat_id": 12345678, "text": "Your order has shipped." })
    );
}

#[tokio::test]
async fn too_many_requests_is_retried_after_the_header() {
    let mut script = Script::answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({ "error": { "message": "slow down", "code": 80007 } }),
    );
    script.headers = vec![("retry-after", "7")];
    let (outcome, _) = send_once(&messenger(""), script).await;
    match outcome {
        Err(SendError::Retry {
            reason,
            retry_after,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
            assert_eq!(reason, "HTTP 429: slow down");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn telegram_flood_control_is_retried_after_its_body_says() {
    let script = Script::answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({ "ok": false, "error_code": 429,
                "description": "Too Many Requests: retry after 12",
                "parameters": { "retry_after": 12 } }),
    );
    let (outcome, _) = send_once(&telegram(""), script).await;
    match outcome {
        Err(SendError::Retry {
            reason,
            retry_after,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(12)));
            assert_eq!(reason, "HTTP 429: Too Many Requests: retry after 12");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let script = Script::answer(StatusCode::INTERNAL_SERVER_ERROR, json!({}));
    let (outcome, _) = send_once(&whatsapp(""), script).await;
    match outcome {
        Err(SendError::Retry {
            reason,
            retry_after,
        }) => {
            assert_eq!(retry_after, None);
            assert!(reason.starts_with("HTTP 500"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_bad_request_is_refused_with_the_providers_message() {
    let script = Script::answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "message": "(#100) The parameter recipient is invalid",
                           "type": "OAuthException", "code": 100, "fbtrace_id": "A1" } }),
    );
    let (outcome, _) = send_once(&messenger(""), script).await;
    match outcome {
        Err(SendError::Refused { reason }) => {
            assert_eq!(
                reason,
                "HTTP 400: (#100) The parameter recipient is invalid"
            );
        }
        other => panic!("{other:?}"),
    }
    let script = Script::answer(
        StatusCode::BAD_REQUEST,
        json!({ "ok": false, "error_code": 400, "description": "Bad Request: chat not found" }),
    );
    let (outcome, _) = send_once(&telegram(""), script).await;
    match outcome {
        Err(SendError::Refused { reason }) => {
            assert_eq!(reason, "HTTP 400: Bad Request: chat not found");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn meta_rate_limits_under_a_plain_400_are_retried() {
    let script = Script::answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "message": "(#613) Calls to this api have exceeded the rate limit.",
                           "code": 613 } }),
    );
    let (outcome, _) = send_once(&messenger(""), script).await;
    assert!(
        matches!(outcome, Err(SendError::Retry { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn whatsapp_outside_the_window_is_its_own_refusal() {
    let script = Script::answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "message": "(#131047) Re-engagement message", "type": "OAuthException",
                           "code": 131047,
                           "error_data": { "messaging_product": "whatsapp",
                                           "details": "more than 24 hours have passed" } } }),
    );
    let (outcome, _) = send_once(&whatsapp(""), script).await;
    assert!(
        matches!(outcome, Err(SendError::OutsideWindow)),
        "{outcome:?}"
    );
    let legacy = Script::answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "message": "Message failed to send", "code": 470 } }),
    );
    let (outcome, _) = send_once(&whatsapp(""), legacy).await;
    assert!(
        matches!(outcome, Err(SendError::OutsideWindow)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_silent_provider_times_out_into_a_retry_without_the_token() {
    let mut script = Script::answer(StatusCode::OK, json!({}));
    script.hang = true;
    let (base, recorded) = start(script).await;
    let call = request(&telegram(&base), "12345678", "hi").unwrap();
    let started = std::time::Instant::now();
    let outcome = send(&client(Duration::from_millis(300)), &call).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(recorded.lock().unwrap().len(), 1);
    match outcome {
        Err(error @ SendError::Retry { .. }) => {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("AAH-secret-bot-token"), "{shown}");
            assert!(!shown.contains(&base), "{shown}");
            assert!(shown.contains("timed out"), "{shown}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_retried_without_the_token() {
    // A port that was just free and is no longer listened on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let call = request(&telegram(&base), "12345678", "hi").unwrap();
    let outcome = send(&client(Duration::from_secs(5)), &call).await;
    match outcome {
        Err(error @ SendError::Retry { .. }) => {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("AAH-secret-bot-token"), "{shown}");
            assert!(shown.to_lowercase().contains("connect"), "{shown}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_request_shows_neither_token_when_debugged() {
    let whatsapp_call = request(&whatsapp("http://127.0.0.1:9"), "1555", "hi").unwrap();
    let telegram_call = request(&telegram("http://127.0.0.1:9"), "1555", "hi").unwrap();
    let shown = format!("{whatsapp_call:?} {telegram_call:?}");
    assert!(
        !shown.contains(ACCESS_TOKEN) && !shown.contains("AAH-secret"),
        "{shown}"
    );
    assert!(
        shown.contains("http://127.0.0.1:9/bot<secret>/sendMessage"),
        "{shown}"
    );
}
