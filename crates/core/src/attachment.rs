//! What comes with a message besides its text, and what a provider reports about the
//! messages we sent.

use serde::{Deserialize, Serialize};

/// A file or place that came with a message. Messaging channels' media are referenced,
/// not downloaded: the provider's id is what fetching it later needs. An email's files
/// come inside the message and are kept (see `kept`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    /// The provider's media id (a WhatsApp media id, a Telegram `file_id`).
    pub media_id: Option<String>,
    pub url: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<u64>,
    pub location: Option<Location>,
    /// Whether its bytes are stored with the message (email attachments up to a size
    /// limit), so the team can open them; otherwise only what is listed here is known.
    #[serde(default)]
    pub kept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
    Location,
    Contact,
    Other,
}

/// A place a customer shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

/// How far one of our messages has got, as its channel's provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Receipt {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl Receipt {
    pub fn as_str(self) -> &'static str {
        match self {
            Receipt::Sent => "sent",
            Receipt::Delivered => "delivered",
            Receipt::Read => "read",
            Receipt::Failed => "failed",
        }
    }

    /// Reads what [`Receipt::as_str`] wrote; anything else is no receipt.
    pub fn from_name(name: &str) -> Option<Receipt> {
        [
            Receipt::Sent,
            Receipt::Delivered,
            Receipt::Read,
            Receipt::Failed,
        ]
        .into_iter()
        .find(|receipt| receipt.as_str() == name)
    }
}
