//! A scriptable OpenAI-compatible model server on loopback, for tests and benches: it
//! answers each chat completion request as a script decides (streamed or whole, slowly,
//! with an error, or never) and records every request it was sent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

use crate::client::ChatMessage;

/// What the mock was asked.
#[derive(Debug, Clone)]
pub struct MockRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    pub authorization: Option<String>,
}

impl MockRequest {
    /// The customer's message: the last message of the request.
    pub fn question(&self) -> &str {
        self.messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }

    /// The instructions, sources included.
    pub fn system(&self) -> &str {
        self.messages
            .first()
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }

    /// The text of the first source in the instructions (under its `[1] title` line).
    pub fn first_source(&self) -> &str {
        self.system()
            .split("\n\n[1] ")
            .nth(1)
            .and_then(|rest| rest.split_once('\n'))
            .map_or("", |(_, text)| text)
    }

    /// The first sentence of the first source, cited, as a faithful model would answer
    /// (`"Cards arrive within a week [1]."`).
    pub fn faithful_answer(&self) -> String {
        let source = self.first_source();
        let sentence = source
            .split(". ")
            .next()
            .unwrap_or("")
            .trim_end_matches('.');
        format!("{sentence} [1].")
    }
}

/// How the mock answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The answer in pieces, `first_after` before the first and `between` between the
    /// others (sent whole when the request did not ask for a stream).
    Text {
        pieces: Vec<String>,
        first_after: Duration,
        between: Duration,
        /// Whether a last chunk carries token counts.
        usage: bool,
    },
    /// The whole completion as one JSON body, even when a stream was asked for, as a
    /// server that cannot stream answers.
    Whole(String),
    /// An HTTP error with this status.
    Status(u16),
    /// An HTTP error with this status and message (a provider quoting the request back).
    StatusSaying(u16, String),
    /// `text` a word at a time, then the model stops at its token limit
    /// (`finish_reason: "length"`).
    CutOff(String),
    /// The response starts, then the server goes quiet for ever.
    Silent,
    /// A stream chunk that is not JSON.
    Garbage,
}

impl Reply {
    /// `text` streamed a word at a time, at once.
    pub fn words(text: &str) -> Reply {
        Reply::Text {
            pieces: split_words(text),
            first_after: Duration::ZERO,
            between: Duration::ZERO,
            usage: true,
        }
    }

    /// `text` streamed a word at a time, `delay` before each word.
    pub fn slow_words(text: &str, delay: Duration) -> Reply {
        Reply::Text {
            pieces: split_words(text),
            first_after: delay,
            between: delay,
            usage: true,
        }
    }
}

/// Pieces that keep the spaces, as a model's tokens do.
fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for ch in text.chars() {
        if ch == ' ' && !piece.is_empty() {
            pieces.push(std::mem::take(&mut piece));
        }
        piece.push(ch);
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

type Script = dyn Fn(&MockRequest) -> Reply + Send + Sync;

#[derive(Clone)]
struct Mock {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<MockRequest>>>,
}

/// A running mock; it stops when the test's runtime does.
pub struct MockModel {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<MockRequest>>>,
}

impl MockModel {
    /// Starts a mock on 127.0.0.1 that answers as `script` says.
    pub async fn start(
        script: impl Fn(&MockRequest) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<MockModel> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let mock = Mock {
            script: Arc::new(script),
            seen: Arc::default(),
        };
        let seen = mock.seen.clone();
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(mock);
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(%err, "the mock model server stopped");
            }
        });
        Ok(MockModel { address, seen })
    }

    /// The base URL to configure: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<MockRequest> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Deserialize)]
struct Incoming {
    model: String,
    messages: Vec<ChatMessage>,
    #[serde(default)]
    stream: bool,
}

async fn complete(
    State(mock): State<Mock>,
    headers: HeaderMap,
    Json(incoming): Json<Incoming>,
) -> Response {
    let request = MockRequest {
        model: incoming.model,
        messages: incoming.messages,
        stream: incoming.stream,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
    };
    let reply = (mock.script)(&request);
    let stream = request.stream;
    mock.seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request);

    match reply {
        Reply::StatusSaying(status, message) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, Json(json!({"error": {"message": message}}))).into_response()
        }
        Reply::CutOff(text) => {
            let mut pieces = split_words(&text);
            pieces.push(String::new());
            event_stream(pieces, Duration::ZERO, Duration::ZERO, false, true)
        }
        Reply::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                Json(json!({"error": {"message": "the mock was told to fail"}})),
            )
                .into_response()
        }
        Reply::Text { pieces, .. } if !stream => whole(&pieces.concat(), pieces.len()),
        Reply::Whole(text) => whole(&text, text.split_whitespace().count()),
        Reply::Text {
            pieces,
            first_after,
            between,
            usage,
        } => event_stream(pieces, first_after, between, usage, false),
        Reply::Silent => {
            let never = futures_util::stream::pending::<Result<Bytes, Infallible>>();
            sse_response(Body::from_stream(never))
        }
        Reply::Garbage => {
            let chunk = Bytes::from_static(b"data: {not json\n\n");
            let once = futures_util::stream::iter([Ok::<_, Infallible>(chunk)]);
            sse_response(Body::from_stream(once))
        }
    }
}

fn event_stream(
    pieces: Vec<String>,
    first_after: Duration,
    between: Duration,
    usage: bool,
    cut_off: bool,
) -> Response {
    let count = pieces.len();
    let mut chunks: Vec<(Duration, String)> = Vec::new();
    chunks.push((
        Duration::ZERO,
        chunk(json!({"role": "assistant", "content": ""})),
    ));
    for (i, piece) in pieces.into_iter().enumerate() {
        let wait = if i == 0 { first_after } else { between };
        chunks.push((wait, chunk(json!({"content": piece}))));
    }
    if cut_off {
        let last = json!({"object": "chat.completion.chunk",
                          "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]});
        chunks.push((Duration::ZERO, format!("data: {last}\n\n")));
    }
    if usage {
        let counts = json!({"choices": [], "usage": {"prompt_tokens": 100,
                                                      "completion_tokens": count}});
        chunks.push((Duration::ZERO, format!("data: {counts}\n\n")));
    }
    chunks.push((Duration::ZERO, "data: [DONE]\n\n".to_string()));

    let stream = futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
        let (wait, text) = rest.next()?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(text)), rest))
    });
    sse_response(Body::from_stream(stream))
}

fn whole(text: &str, completion_tokens: usize) -> Response {
    Json(json!({
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": completion_tokens},
    }))
    .into_response()
}

fn chunk(delta: serde_json::Value) -> String {
    let chunk = json!({"object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
    format!("data: {chunk}\n\n")
}

fn sse_response(body: Body) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
