//! Sending a reply to a customer over a channel's HTTP API.
//!
//! [`request`] builds the one call a message part needs and [`send`] makes it, sorting
//! the provider's answer into sent, worth retrying, refused for good, or (WhatsApp)
//! outside the window in which free-form replies are allowed. Building and sending are
//! apart so that the call can be stored and retried unchanged.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use frontdesk_core::Channel;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::config::ChannelConfig;
use crate::split::split_text;

/// Telegram's limit on a message's text, in UTF-16 code units.
pub const TELEGRAM_MAX_TEXT: usize = 4096;
/// WhatsApp's limit on a text message's body.
pub const WHATSAPP_MAX_TEXT: usize = 4096;
/// Messenger's and Instagram's limit on a message's text.
pub const META_MAX_TEXT: usize = 2000;

/// Error reasons are stored and shown to the team; a provider's whole error page is not.
const MAX_REASON_CHARS: usize = 300;

/// WhatsApp's "re-engagement message" error: more than 24 hours since the customer last
/// wrote, so only an approved template may be sent.
const WHATSAPP_OUTSIDE_WINDOW: i64 = 131047;
/// The same refusal under the older API's numbering.
const WHATSAPP_OUTSIDE_WINDOW_LEGACY: i64 = 470;

/// Graph API error codes that mean "too much, too fast" even when the HTTP status is a
/// plain 400: application, user and page rate limits, WhatsApp throughput, pair rate and
/// spam rate limits, Instagram's rate limit.
const META_THROTTLING_CODES: [i64; 8] = [4, 17, 32, 613, 80007, 130429, 131048, 131056];

/// One HTTP call to a provider. `Debug` hides the bearer token and the bot token that
/// Telegram puts in the URL's path.
#[derive(Clone)]
pub struct SendRequest {
    pub url: String,
    pub bearer: Option<String>,
    pub body: serde_json::Value,
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("url", &url_without_bot_token(&self.url))
            .field("bearer", &self.bearer.as_ref().map(|_| "<secret>"))
            .field("body", &self.body)
            .finish()
    }
}

/// What the provider said about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for the sent message, in the form its receipts use.
    pub provider_message_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: 429, 5xx, 408, connection errors, timeouts.
    #[error("provider unavailable, retry later: {reason}")]
    Retry {
        reason: String,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The provider refused this message for good.
    #[error("provider refused the message: {reason}")]
    Refused { reason: String },
    /// WhatsApp: more than 24 hours since the customer last wrote; only approved
    /// template messages may be sent.
    #[error("outside WhatsApp's 24-hour customer service window: only templates may be sent")]
    OutsideWindow,
    /// The channel does not send this way.
    #[error("{0}")]
    Unsupported(String),
}

/// A reply to send, as callers queue it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundText {
    pub reply_to: String,
    pub text: String,
}

/// The parts a reply is sent in on a channel of `kind`, each within its length limit.
/// Email and the widget take any length, so the text stays one part.
pub fn parts(kind: Channel, text: &str) -> Vec<String> {
    let limit = match kind {
        Channel::Telegram => TELEGRAM_MAX_TEXT,
        Channel::Whatsapp => WHATSAPP_MAX_TEXT,
        Channel::Messenger | Channel::Instagram => META_MAX_TEXT,
        Channel::Email | Channel::Widget => return vec![text.to_string()],
    };
    split_text(text, limit)
}

/// The call that sends the part `text` to `reply_to` (an [`crate::InboundMessage`]'s
/// `reply_to`) over the channel `config` describes.
/// Telegram's acknowledgement of a pressed inline button, without which the customer's
/// button keeps its loading spinner until Telegram gives up. `None` on other channels.
pub fn acknowledge_callback(config: &ChannelConfig, callback_id: &str) -> Option<SendRequest> {
    let ChannelConfig::Telegram {
        bot_token,
        api_base,
        ..
    } = config
    else {
        return None;
    };
    Some(SendRequest {
        url: format!("{}/bot{bot_token}/answerCallbackQuery", base(api_base)),
        bearer: None,
        body: json!({ "callback_query_id": callback_id }),
    })
}

pub fn request(
    config: &ChannelConfig,
    reply_to: &str,
    text: &str,
) -> Result<SendRequest, SendError> {
    if reply_to.trim().is_empty() {
        return Err(SendError::Refused {
            reason: "no recipient to reply to".to_string(),
        });
    }
    match config {
        ChannelConfig::Whatsapp {
            access_token,
            phone_number_id,
            api_base,
            ..
        } => Ok(SendRequest {
            url: format!("{}/{phone_number_id}/messages", base(api_base)),
            bearer: Some(access_token.clone()),
            body: json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": reply_to,
                "type": "text",
                "text": { "preview_url": false, "body": text },
            }),
        }),
        ChannelConfig::Messenger {
            page_access_token,
            api_base,
            ..
        }
        | ChannelConfig::Instagram {
            page_access_token,
            api_base,
            ..
        } => Ok(SendRequest {
            url: format!("{}/me/messages", base(api_base)),
            bearer: Some(page_access_token.clone()),
            body: json!({
                "recipient": { "id": reply_to },
                "messaging_type": "RESPONSE",
                "message": { "text": text },
            }),
        }),
        ChannelConfig::Telegram {
            bot_token,
            api_base,
            ..
        } => {
            // Private and group chats have numeric ids; public channels may be addressed
            // as "@name", which only a string carries.
            let chat_id = match reply_to.parse::<i64>() {
                Ok(number) => json!(number),
                Err(_) => json!(reply_to),
            };
            Ok(SendRequest {
                url: format!("{}/bot{bot_token}/sendMessage", base(api_base)),
                bearer: None,
                body: json!({ "chat_id": chat_id, "text": text }),
            })
        }
        ChannelConfig::Email { .. } => Err(SendError::Unsupported(
            "email replies are sent by mail, not over an HTTP API".to_string(),
        )),
    }
}

/// Makes the call and reads the provider's answer.
///
/// `client`'s timeout decides how long a silent provider is waited for. No error message
/// carries the URL, which may hold Telegram's bot token.
pub async fn send(client: &reqwest::Client, request: &SendRequest) -> Result<Sent, SendError> {
    let mut call = client.post(&request.url).json(&request.body);
    if let Some(token) = &request.bearer {
        call = call.bearer_auth(token);
    }
    let response = call.send().await.map_err(transport_error)?;
    let status = response.status();
    let header_wait = retry_after_header(response.headers(), SystemTime::now());
    let body = match response.bytes().await {
        Ok(bytes) => bytes,
        // The provider has accepted the message; asking again would send it twice.
        Err(_) if status.is_success() => {
            return Ok(Sent {
                provider_message_id: None,
            })
        }
        Err(error) => return Err(transport_error(error)),
    };
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let telegram_refused = json
        .as_ref()
        .is_some_and(|value| value.get("ok") == Some(&Value::Bool(false)));
    if status.is_success() && !telegram_refused {
        let id = json
            .as_ref()
            .and_then(|value| provider_message_id(value, &request.body));
        return Ok(Sent {
            provider_message_id: id,
        });
    }
    Err(classify_failure(status, header_wait, json.as_ref(), &body))
}

/// A failure before any answer arrived: the address could not be reached, the
/// connection broke, or the provider stayed silent. All are passing, except a request
/// that could not even be built.
fn transport_error(error: reqwest::Error) -> SendError {
    let builder_problem = error.is_builder();
    let timed_out = error.is_timeout();
    let error = error.without_url();
    // reqwest's own message is only "error sending request"; the cause is in the chain.
    // Only reqwest's error holds the URL, so the causes are safe to show.
    let mut reason = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        reason.push_str(": ");
        reason.push_str(&inner.to_string());
        cause = inner.source();
    }
    if timed_out && !reason.contains("timed out") {
        reason.push_str(": timed out");
    }
    let reason = truncate(&reason);
    if builder_problem {
        SendError::Refused { reason }
    } else {
        SendError::Retry {
            reason,
            retry_after: None,
        }
    }
}

/// Sorts a refusal into the kinds callers act on differently.
fn classify_failure(
    status: StatusCode,
    header_wait: Option<Duration>,
    json: Option<&Value>,
    raw_body: &[u8],
) -> SendError {
    let meta_error = json.and_then(|value| value.get("error"));
    let meta_code = meta_error
        .and_then(|error| error.get("code"))
        .and_then(Value::as_i64);
    if matches!(
        meta_code,
        Some(WHATSAPP_OUTSIDE_WINDOW | WHATSAPP_OUTSIDE_WINDOW_LEGACY)
    ) {
        return SendError::OutsideWindow;
    }
    let telegram_wait = json
        .and_then(|value| value.pointer("/parameters/retry_after"))
        .and_then(Value::as_u64)
        .map(Duration::from_secs);
    let retry_after = header_wait.or(telegram_wait);

    let provider_message = meta_error
        .and_then(|error| error.get("message"))
        .or_else(|| json.and_then(|value| value.get("description")))
        .and_then(Value::as_str);
    let reason = match provider_message {
        Some(message) => format!("HTTP {}: {message}", status.as_u16()),
        None if raw_body.is_empty() => format!("HTTP {}", status.as_u16()),
        None => format!(
            "HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(raw_body)
        ),
    };
    let reason = truncate(&reason);

    let meta_transient = meta_error
        .and_then(|error| error.get("is_transient"))
        .and_then(Value::as_bool)
        == Some(true);
    let meta_throttled = meta_code.is_some_and(|code| META_THROTTLING_CODES.contains(&code));
    let passing = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
        || telegram_wait.is_some()
        || meta_transient
        || meta_throttled;
    if passing {
        SendError::Retry {
            reason,
            retry_after,
        }
    } else {
        SendError::Refused { reason }
    }
}

/// The sent message's id from a success body, in the form the parsers give receipts:
/// WhatsApp's wamid, Messenger's mid, Telegram's `"{chat_id}:{message_id}"`.
fn provider_message_id(response: &Value, request_body: &Value) -> Option<String> {
    if let Some(id) = response.pointer("/messages/0/id").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    if let Some(id) = response.get("message_id").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    let result = response.get("result")?;
    let message_id = result.get("message_id").and_then(Value::as_i64)?;
    // The answer's chat id is numeric even when the request named the chat "@name".
    let chat_id = match result.pointer("/chat/id").and_then(Value::as_i64) {
        Some(id) => id.to_string(),
        None => match request_body.get("chat_id")? {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
    };
    Some(format!("{chat_id}:{message_id}"))
}

/// How long the `Retry-After` header asks us to wait: delta-seconds, or an HTTP date
/// (IMF-fixdate, the form senders must use) measured from `now`.
fn retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Unix seconds of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(text: &str) -> Option<u64> {
    let (_weekday, rest) = text.split_once(", ")?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = fields.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|name| name == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let clock: Vec<u64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || *hour > 23 || *minute > 59 || *second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm), for years ≥ 1970.
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The API base without a trailing slash, so paths join with exactly one.
fn base(api_base: &str) -> &str {
    api_base.strip_suffix('/').unwrap_or(api_base)
}

/// `url` with a Telegram bot token in its path (`/bot<token>/`) replaced, for logs.
fn url_without_bot_token(url: &str) -> String {
    let Some(at) = url.find("/bot") else {
        return url.to_string();
    };
    let token_start = at + "/bot".len();
    let token_end = url[token_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |offset| token_start + offset);
    format!("{}/bot<secret>{}", &url[..at], &url[token_end..])
}

fn truncate(reason: &str) -> String {
    let mut chars = reason.chars();
    let kept: String = chars.by_ref().take(MAX_REASON_CHARS).collect();
    if chars.next().is_some() {
        format!("{kept}…")
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_META_API_BASE, DEFAULT_TELEGRAM_API_BASE};
    use reqwest::header::HeaderValue;

    #[test]
    fn debug_shows_neither_the_bearer_nor_the_bot_token() {
        let telegram = ChannelConfig::Telegram {
            bot_token: "123456:AAH-bot-token-value".into(),
            secret_token: "hook".into(),
            api_base: DEFAULT_TELEGRAM_API_BASE.into(),
        };
        let call = request(&telegram, "42", "hi").unwrap();
        assert!(call.url.contains("123456:AAH-bot-token-value"));
        let shown = format!("{call:?}");
        assert!(!shown.contains("AAH-bot-token-value"), "{shown}");
        assert!(
            shown.contains("https://api.telegram.org/bot<secret>/sendMessage"),
            "{shown}"
        );

        let whatsapp = ChannelConfig::Whatsapp {
            app_secret: "app".into(),
            verify_token: "verify".into(),
            access_token: "EAAG-access-token".into(),
            phone_number_id: "1555000000001".into(),
            api_base: format!("{DEFAULT_META_API_BASE}/"),
        };
        let call = request(&whatsapp, "155501000002", "hi").unwrap();
        assert_eq!(
            call.url,
            "https://graph.facebook.com/v21.0/1555000000001/messages"
        );
        let shown = format!("{call:?}");
        assert!(!shown.contains("EAAG-access-token"), "{shown}");
        assert!(
            shown.contains("<secret>") && shown.contains("155501000002"),
            "{shown}"
        );
    }

    #[test]
    fn telegram_chat_ids_are_numbers_when_they_can_be() {
        let config = ChannelConfig::Telegram {
            bot_token: "1:x".into(),
            secret_token: "s".into(),
            api_base: DEFAULT_TELEGRAM_API_BASE.into(),
        };
        let call = request(&config, "-1001234567890", "hi").unwrap();
        assert_eq!(call.body["chat_id"], json!(-1001234567890_i64));
        let call = request(&config, "@shopnews", "hi").unwrap();
        assert_eq!(call.body["chat_id"], json!("@shopnews"));
        assert!(matches!(
            request(&config, " ", "hi"),
            Err(SendError::Refused { .. })
        ));
    }

    #[test]
    fn email_does_not_send_over_http() {
        let config = ChannelConfig::Email {
            address: "help@shop.example".into(),
            webhook_secret: "w".into(),
            imap_url: None,
            smtp_url: None,
        };
        assert!(matches!(
            request(&config, "a@b.example", "hi"),
            Err(SendError::Unsupported(_))
        ));
    }

    #[test]
    fn parts_follow_each_channels_limit() {
        let long = "word ".repeat(1000);
        let messenger = parts(Channel::Messenger, &long);
        assert_eq!(messenger.len(), 3);
        assert!(messenger.iter().all(|part| part.len() <= META_MAX_TEXT));
        assert_eq!(parts(Channel::Telegram, &long).len(), 2);
        assert_eq!(parts(Channel::Whatsapp, &long).len(), 2);
        assert_eq!(parts(Channel::Email, &long), vec![long.clone()]);
        assert_eq!(parts(Channel::Widget, &long), vec![long]);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after_header(&headers, now),
            Some(Duration::from_secs(7))
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT"),
        );
        assert_eq!(
            retry_after_header(&headers, now),
            Some(Duration::from_secs(30))
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:00:00 GMT"),
        );
        assert_eq!(retry_after_header(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after_header(&headers, now), None);
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"),
            Some(1_709_208_000)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn long_reasons_are_cut() {
        let reason = truncate(&"é".repeat(1000));
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS + 1);
        assert_eq!(truncate("short"), "short");
    }
}
