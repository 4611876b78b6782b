//! Channel adapters: for each messaging channel, how to tell that a webhook delivery is
//! genuine, how to read it into Frontdesk's one inbound shape, and how to send a reply.
//!
//! Nothing here touches the store: the server verifies a delivery with [`verify`], stores
//! the raw body, reads it with [`parse`] into [`InboundEvent`]s, and later hands each
//! outbound message to [`send`]. Keeping the adapters free of storage lets every
//! provider's quirks be tested on its real payloads alone.
//!
//! One delivery may carry many events (WhatsApp batches several entries, changes and
//! messages in one POST). An event that cannot be used becomes
//! [`InboundEvent::Unsupported`] with what it was, never an error for the whole delivery,
//! so one odd item cannot make the provider resend the others forever.

pub mod config;
mod describe;
pub mod email;
pub mod imap;
pub mod meta;
pub mod send;
pub mod smtp;
pub mod split;
pub mod telegram;
pub mod verify;
pub mod whatsapp;

pub use frontdesk_core::{Attachment, AttachmentKind, Location, Receipt};
use frontdesk_core::{Channel, UnixMillis};
use serde::{Deserialize, Serialize};

pub use crate::config::{ChannelConfig, DEFAULT_META_API_BASE, DEFAULT_TELEGRAM_API_BASE};
pub use crate::send::{send, OutboundText, SendError, SendRequest, Sent};
pub use crate::split::split_text;
pub use crate::verify::{hub_challenge, verify_hub_signature, verify_secret_token, VerifyError};

/// A message a customer sent, as every channel is read into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The person on this channel: a WhatsApp `wa_id`, a page-scoped id, a Telegram
    /// user id. Replies go to the conversation, not to this.
    pub sender_id: String,
    pub sender_name: Option<String>,
    /// Which conversation the message belongs to, unique within one connected channel:
    /// WhatsApp's business number id and the customer's `wa_id`, a Telegram chat id, a
    /// page id and the customer's page-scoped id.
    pub conversation_key: String,
    /// Where replies go on the provider's side: a `wa_id`, a chat id, a page-scoped id.
    pub reply_to: String,
    /// What the customer wrote, a caption, a pressed button's title, or a plain
    /// description of a location or shared contact. May be empty (a photo alone).
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The provider's id for the message; unique per connected channel, which is what
    /// makes a redelivery recognisable.
    pub provider_message_id: String,
    /// When the provider says it was sent.
    pub provider_timestamp: UnixMillis,
    /// The business message this one answers, when the provider says (a reply button's
    /// context, a quoted message).
    pub context_message_id: Option<String>,
    /// The customer forwarded this from elsewhere rather than writing it.
    pub forwarded: bool,
    /// A button or list choice, a postback, a callback: what was chosen.
    pub interaction: Option<Interaction>,
}

/// Something a customer chose rather than typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// The id or payload the business gave the choice.
    pub payload: String,
    /// What the customer saw on it, when the provider says.
    pub title: Option<String>,
}

/// One thing a webhook delivery told us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A customer wrote.
    Message(InboundMessage),
    /// A customer changed a message they sent before.
    Edited {
        conversation_key: String,
        provider_message_id: String,
        text: String,
        edited_at: UnixMillis,
    },
    /// One of our messages was sent, delivered, read or refused.
    Status {
        provider_message_id: String,
        receipt: Receipt,
        at: UnixMillis,
        /// The provider's explanation, for a refusal.
        error: Option<String>,
    },
    /// Everything we sent in this conversation up to `watermark` was delivered or read
    /// (Messenger's receipts), plus the messages named.
    Watermark {
        conversation_key: String,
        provider_message_ids: Vec<String>,
        watermark: UnixMillis,
        receipt: Receipt,
    },
    /// A copy of a message our own page sent: recognised so that it is never answered.
    Echo { provider_message_id: String },
    /// Something we do not take: named, so it can be recorded.
    Unsupported { what: String },
}

/// A delivery's body was not what the channel sends.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("{field}: {problem}")]
    Field { field: String, problem: String },
}

/// Reads one webhook body from a channel of `kind`. Signatures are checked before this.
pub fn parse(kind: Channel, body: &[u8]) -> Result<Vec<InboundEvent>, ParseError> {
    match kind {
        Channel::Whatsapp => whatsapp::parse(body),
        Channel::Messenger | Channel::Instagram => meta::parse(body),
        Channel::Telegram => telegram::parse(body),
        Channel::Widget | Channel::Email => Err(ParseError::Field {
            field: "channel".to_string(),
            problem: format!("{kind} deliveries are not webhook JSON"),
        }),
    }
}
