//! The OpenAI-compatible chat completions API, streamed: what Ollama, vLLM, llama.cpp's
//! server and the hosted providers all speak. Nothing here knows which one it talks to.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::settings::GenerationSettings;

/// How much of an error body from the model server is kept for the log.
const ERROR_BODY_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the model server address `{url}` is not usable: {why}")]
    BadUrl { url: String, why: String },
    #[error("the API key cannot be sent: it holds a line break or another control character")]
    BadKey,
    #[error("the model server could not be reached: {0}")]
    Request(#[source] reqwest::Error),
    #[error("the model server answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the model server's stream broke off: {0}")]
    Stream(String),
    #[error("the model server sent something that is not a chat completion: {0}")]
    Malformed(String),
    #[error("the model said nothing within {0:?}")]
    FirstTokenTimeout(Duration),
    #[error("the model did not finish within {0:?}")]
    OverBudget(Duration),
}

impl GenerateError {
    /// Short snake_case name for metrics and the stored decision.
    pub fn as_str(&self) -> &'static str {
        match self {
            GenerateError::BadUrl { .. } => "bad_url",
            GenerateError::BadKey => "bad_key",
            GenerateError::Request(_) => "unreachable",
            GenerateError::Status { .. } => "http_error",
            GenerateError::Stream(_) => "stream_broke",
            GenerateError::Malformed(_) => "malformed",
            GenerateError::FirstTokenTimeout(_) => "first_token_timeout",
            GenerateError::OverBudget(_) => "over_budget",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// Tokens read and written by the model for one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    // Some servers leave a count out or send null: a missing count is not worth an answer.
    #[serde(default, deserialize_with = "count_or_zero")]
    pub prompt_tokens: u32,
    #[serde(default, deserialize_with = "count_or_zero")]
    pub completion_tokens: u32,
}

fn count_or_zero<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    Ok(Option::<u32>::deserialize(deserializer)?.unwrap_or_default())
}

/// What a stream of chat completion chunks brings.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More of the answer's text.
    Text(String),
    /// The token counts, which servers send in a last chunk when asked.
    Usage(Usage),
    /// The model stopped because it reached `max_tokens`: its last sentence is unfinished.
    CutOff,
}

/// Talks to one model server.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    endpoint: String,
    settings: GenerationSettings,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    max_tokens: u32,
    temperature: f32,
    stream_options: StreamOptions,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One streamed chunk, or a whole completion from a server that does not stream.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Content>,
    #[serde(default)]
    message: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content: Option<String>,
}

type EventStream = Pin<
    Box<
        dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>>
            + Send,
    >,
>;

/// The answer as it arrives.
pub struct ChatStream {
    source: ChatSource,
}

enum ChatSource {
    Streamed(EventStream),
    /// A server that ignored `stream: true` and sent the whole completion at once.
    Whole(std::vec::IntoIter<StreamEvent>),
}

impl ChatClient {
    pub fn new(settings: &GenerationSettings) -> Result<Self, GenerateError> {
        let bad_url = |why: &str| GenerateError::BadUrl {
            url: settings.base_url.clone(),
            why: why.to_string(),
        };
        let base =
            reqwest::Url::parse(&settings.base_url).map_err(|err| bad_url(&err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad_url("it must start with http:// or https://"));
        }
        // The address is logged; a key written into it would be too.
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad_url(
                "it holds a user name or password; give the key as the API key instead",
            ));
        }
        // Checked now: an HTTP header cannot carry it, and the failure would come at the
        // first answer as an unhelpful "builder error".
        if settings
            .api_key
            .as_deref()
            .is_some_and(|key| key.chars().any(char::is_control))
        {
            return Err(GenerateError::BadKey);
        }
        let endpoint = format!(
            "{}/chat/completions",
            settings.base_url.trim_end_matches('/')
        );
        let http = reqwest::Client::builder()
            .connect_timeout(settings.first_token_timeout)
            .build()
            .map_err(GenerateError::Request)?;
        Ok(ChatClient {
            http,
            endpoint,
            settings: settings.clone(),
        })
    }

    /// Asks for a completion of `messages` and returns as soon as the response starts.
    pub async fn stream(&self, messages: &[ChatMessage]) -> Result<ChatStream, GenerateError> {
        let body = Request {
            model: &self.settings.model,
            messages,
            stream: true,
            max_tokens: self.settings.max_tokens,
            temperature: self.settings.temperature,
            stream_options: StreamOptions {
                include_usage: true,
            },
        };
        let mut request = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(GenerateError::Request)?;

        let status = response.status();
        if !status.is_success() {
            let mut body = response.text().await.unwrap_or_default();
            // Providers quote a rejected key back, and this error is logged.
            if let Some(key) = self.settings.api_key.as_deref().filter(|k| !k.is_empty()) {
                body = body.replace(key, "<the API key>");
            }
            return Err(GenerateError::Status {
                status: status.as_u16(),
                body: body.chars().take(ERROR_BODY_CHARS).collect(),
            });
        }
        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if is_event_stream {
            let events = response.bytes_stream().eventsource();
            return Ok(ChatStream {
                source: ChatSource::Streamed(Box::pin(events)),
            });
        }

        let bytes = response.bytes().await.map_err(GenerateError::Request)?;
        let whole: Chunk = serde_json::from_slice(&bytes)
            .map_err(|err| GenerateError::Malformed(err.to_string()))?;
        Ok(ChatStream {
            source: ChatSource::Whole(events_of(whole, Field::Message).into_iter()),
        })
    }
}

#[derive(Clone, Copy)]
enum Field {
    Delta,
    Message,
}

fn events_of(chunk: Chunk, field: Field) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    // One answer is asked for; of a server's several choices the first is read.
    for choice in chunk.choices.into_iter().take(1) {
        let cut_off = choice.finish_reason.as_deref() == Some("length");
        let content = match field {
            Field::Delta => choice.delta,
            Field::Message => choice.message,
        };
        if let Some(text) = content.and_then(|content| content.content) {
            if !text.is_empty() {
                events.push(StreamEvent::Text(text));
            }
        }
        if cut_off {
            events.push(StreamEvent::CutOff);
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(StreamEvent::Usage(usage));
    }
    events
}

impl ChatStream {
    /// The next pieces of the answer; `None` once the model is done.
    pub async fn next(&mut self) -> Option<Result<Vec<StreamEvent>, GenerateError>> {
        let events = match &mut self.source {
            ChatSource::Whole(events) => return events.next().map(|event| Ok(vec![event])),
            ChatSource::Streamed(events) => events,
        };
        loop {
            let event = match events.next().await? {
                Ok(event) => event,
                Err(err) => return Some(Err(GenerateError::Stream(err.to_string()))),
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                return None;
            }
            // Comments and keep-alives carry no data.
            if data.is_empty() {
                continue;
            }
            return Some(match serde_json::from_str::<Chunk>(data) {
                Ok(chunk) => Ok(events_of(chunk, Field::Delta)),
                Err(err) => Err(GenerateError::Malformed(format!(
                    "{err} in `{}`",
                    shorten(data)
                ))),
            });
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(ERROR_BODY_CHARS).collect()
}
