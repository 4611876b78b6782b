//! A channel provider of our own on 127.0.0.1: it takes the calls Frontdesk makes to send
//! replies (WhatsApp's, Messenger's and Telegram's send APIs), records them, and answers
//! as scripted: accepted, an error status, 429 with Retry-After, or now and then a
//! failure at a set rate.

#![allow(dead_code)] // the tests and the bench use different parts

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// One call Frontdesk made, accepted or not.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub bearer: Option<String>,
    pub body: Value,
    pub accepted: bool,
}

/// How the provider answers the next call.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Accept,
    Status(u16),
    TooMany { retry_after_s: u64 },
}

#[derive(Default)]
struct State {
    calls: Mutex<Vec<Call>>,
    script: Mutex<VecDeque<Answer>>,
    /// Out of every 100 calls not scripted, how many fail with 503.
    failures_per_hundred: AtomicU64,
    counter: AtomicU64,
}

pub struct MockProvider {
    pub base: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl MockProvider {
    pub async fn start() -> MockProvider {
        let state = Arc::new(State::default());
        let app = Router::new().fallback({
            let state = state.clone();
            move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(&state, uri, headers, body) }
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockProvider {
            base,
            state,
            server,
        }
    }

    /// The next calls are answered so, in order; later ones are accepted.
    pub fn script(&self, answers: &[Answer]) {
        self.state.script.lock().unwrap().extend(answers);
    }

    pub fn fail_at_rate(&self, per_hundred: u64) {
        self.state
            .failures_per_hundred
            .store(per_hundred, Ordering::SeqCst);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.accepted)
            .collect()
    }

    /// Waits up to ten seconds for at least `count` accepted calls.
    pub async fn wait_for_accepted(&self, count: usize) -> Vec<Call> {
        for _ in 0..500 {
            let accepted = self.accepted();
            if accepted.len() >= count {
                return accepted;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "the provider accepted {} calls, not {count}: {:?}",
            self.accepted().len(),
            self.calls()
        );
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn answer(state: &State, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let n = state.counter.fetch_add(1, Ordering::SeqCst);
    let scripted = state.script.lock().unwrap().pop_front();
    let answer = scripted.unwrap_or_else(|| {
        // Spread evenly and reproducibly rather than at random.
        let rate = state.failures_per_hundred.load(Ordering::SeqCst);
        match (n * 37) % 100 < rate {
            true => Answer::Status(503),
            false => Answer::Accept,
        }
    });
    let path = uri.path().to_string();
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.calls.lock().unwrap().push(Call {
        path: path.clone(),
        bearer,
        body: body.clone(),
        accepted: matches!(answer, Answer::Accept),
    });
    match answer {
        Answer::Accept => accepted_body(&path, &body, n).into_response(),
        Answer::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap();
            let error = json!({"error": {"message": "scripted failure", "code": 2}});
            (status, axum::Json(error)).into_response()
        }
        Answer::TooMany { retry_after_s } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_s.to_string())],
            axum::Json(json!({"error": {"message": "slow down", "code": 4}})),
        )
            .into_response(),
    }
}

/// What each provider answers when it accepts a message.
fn accepted_body(path: &str, body: &Value, n: u64) -> axum::Json<Value> {
    if path.ends_with("/sendMessage") {
        let chat = body["chat_id"].clone();
        return axum::Json(
            json!({"ok": true, "result": {"message_id": 1000 + n, "chat": {"id": chat}}}),
        );
    }
    if path.ends_with("/me/messages") {
        return axum::Json(
            json!({"recipient_id": body["recipient"]["id"], "message_id": format!("m_out{n}")}),
        );
    }
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": body["to"]}],
        "messages": [{"id": format!("wamid.out{n}")}]
    }))
}
