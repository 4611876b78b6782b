//! Messenger (`object: page`) and Instagram (`object: instagram`) webhook bodies.
//!
//! Both use the Messenger Platform's shape: `entry[].messaging[]`, each item with a
//! `sender`, a `recipient` and one of `message`, `postback`, `delivery`, `read` and
//! others. Instagram also sends `entry[].changes[]` for comments and mentions, which are
//! not conversations and are recorded as unsupported.
//!
//! The conversation key is always `"{page}:{customer}"`: for a customer's message and
//! for a customer's receipt alike the customer is the sender and the page the recipient.

use frontdesk_core::UnixMillis;
use serde::Deserialize;
use serde_json::Value;

use crate::describe::{attachment, json_body, location_text, object_kind};
use crate::{
    Attachment, AttachmentKind, InboundEvent, InboundMessage, Interaction, Location, ParseError,
    Receipt,
};

/// Reads one Messenger or Instagram webhook body into its events, in order.
pub fn parse(body: &[u8]) -> Result<Vec<InboundEvent>, ParseError> {
    let json = json_body(body)?;
    let platform = object_kind(&json, &["page", "instagram"])?;
    let platform = if platform == "page" {
        "messenger"
    } else {
        "instagram"
    };
    let envelope: Envelope =
        serde_path_to_error::deserialize(&json).map_err(|error| ParseError::Field {
            field: error.path().to_string(),
            problem: error.inner().to_string(),
        })?;
    let mut events = Vec::new();
    for entry in &envelope.entry {
        for item in &entry.messaging {
            events.push(read_item(item, platform).unwrap_or_else(unsupported));
        }
        for change in &entry.changes {
            let field = change
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            events.push(unsupported(format!("{platform} change field {field}")));
        }
        // Items another app owns under the handover protocol: not ours to answer.
        for _ in &entry.standby {
            events.push(unsupported(format!("{platform} standby event")));
        }
    }
    Ok(events)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    messaging: Vec<Value>,
    #[serde(default)]
    changes: Vec<Value>,
    #[serde(default)]
    standby: Vec<Value>,
}

fn unsupported(what: String) -> InboundEvent {
    InboundEvent::Unsupported { what }
}

#[derive(Deserialize)]
struct Item {
    sender: Party,
    recipient: Party,
    /// Receipts may come without one; nothing else does.
    timestamp: Option<UnixMillis>,
    message: Option<Message>,
    postback: Option<Postback>,
    delivery: Option<Delivery>,
    read: Option<Read>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Message {
    mid: Option<String>,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    quick_reply: Option<QuickReply>,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
    reply_to: Option<ReplyTo>,
}

#[derive(Deserialize)]
struct QuickReply {
    payload: String,
}

#[derive(Deserialize)]
struct RawAttachment {
    #[serde(rename = "type")]
    kind: String,
    /// Location pins and shared links carry their title and address here, not in the
    /// payload.
    title: Option<String>,
    url: Option<String>,
    #[serde(default)]
    payload: Value,
}

#[derive(Deserialize)]
struct ReplyTo {
    mid: Option<String>,
    story: Option<Story>,
}

/// An Instagram story the customer replied to.
#[derive(Deserialize)]
struct Story {
    id: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    title: Option<String>,
    payload: String,
    mid: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    watermark: UnixMillis,
}

#[derive(Deserialize)]
struct Read {
    watermark: Option<UnixMillis>,
    /// Instagram names the message read instead of giving a watermark.
    mid: Option<String>,
}

/// One `messaging[]` item, or what it was when it cannot be used.
fn read_item(raw: &Value, platform: &str) -> Result<InboundEvent, String> {
    let item: Item = serde_path_to_error::deserialize(raw)
        .map_err(|error| format!("malformed {platform} event: {error}"))?;
    let conversation_key = format!("{}:{}", item.recipient.id, item.sender.id);
    if let Some(message) = &item.message {
        return read_message(&item, message, platform, conversation_key);
    }
    if let Some(postback) = &item.postback {
        let timestamp = item
            .timestamp
            .ok_or_else(|| format!("{platform} postback without timestamp"))?;
        let provider_message_id = postback
            .mid
            .clone()
            .unwrap_or_else(|| format!("postback:{}:{timestamp}", item.sender.id));
        return Ok(InboundEvent::Message(InboundMessage {
            sender_id: item.sender.id.clone(),
            sender_name: None,
            conversation_key,
            reply_to: item.sender.id.clone(),
            text: postback.title.clone().unwrap_or_default(),
            attachments: Vec::new(),
            provider_message_id,
            provider_timestamp: timestamp,
            context_message_id: None,
            forwarded: false,
            interaction: Some(Interaction {
                payload: postback.payload.clone(),
                title: postback.title.clone(),
            }),
        }));
    }
    if let Some(delivery) = &item.delivery {
        return Ok(InboundEvent::Watermark {
            conversation_key,
            provider_message_ids: delivery.mids.clone(),
            watermark: delivery.watermark,
            receipt: Receipt::Delivered,
        });
    }
    if let Some(read) = &item.read {
        if read.watermark.is_none() && read.mid.is_none() {
            return Err(format!(
                "malformed {platform} read receipt: no watermark or mid"
            ));
        }
        return Ok(InboundEvent::Watermark {
            conversation_key,
            provider_message_ids: read.mid.iter().cloned().collect(),
            // No watermark: only the named message is known to be read.
            watermark: read.watermark.unwrap_or(0),
            receipt: Receipt::Read,
        });
    }
    Err(format!("{platform} event {}", event_name(raw)))
}

/// The field that says what an unknown `messaging[]` item is (`reaction`, `optin`…).
fn event_name(raw: &Value) -> &str {
    let known = ["sender", "recipient", "timestamp"];
    raw.as_object()
        .and_then(|item| item.keys().find(|key| !known.contains(&key.as_str())))
        .map_or("without content", String::as_str)
}

fn read_message(
    item: &Item,
    message: &Message,
    platform: &str,
    conversation_key: String,
) -> Result<InboundEvent, String> {
    let mid = message
        .mid
        .clone()
        .filter(|mid| !mid.is_empty())
        .ok_or_else(|| format!("malformed {platform} message: no mid"))?;
    if message.is_echo {
        return Ok(InboundEvent::Echo {
            provider_message_id: mid,
        });
    }
    if message.is_deleted {
        return Err(format!("{platform} message deleted"));
    }
    if message.is_unsupported {
        return Err(format!("{platform} message the platform does not pass on"));
    }
    let timestamp = item
        .timestamp
        .ok_or_else(|| format!("malformed {platform} message: no timestamp"))?;
    let mut text = message.text.clone().unwrap_or_default();
    let mut attachments: Vec<Attachment> =
        message.attachments.iter().map(read_attachment).collect();
    if text.is_empty() {
        if let Some(place) = attachments.iter().find_map(|file| file.location.as_ref()) {
            text = location_text(place);
        }
    }
    let reply_to = message.reply_to.as_ref();
    if let Some(story) = reply_to.and_then(|reply| reply.story.as_ref()) {
        let mut story_attachment = attachment(AttachmentKind::Other);
        story_attachment.media_id = story.id.clone();
        story_attachment.url = story.url.clone();
        attachments.push(story_attachment);
    }
    if text.is_empty() && attachments.is_empty() {
        return Err(format!("{platform} message without text or attachments"));
    }
    Ok(InboundEvent::Message(InboundMessage {
        sender_id: item.sender.id.clone(),
        sender_name: None,
        conversation_key,
        reply_to: item.sender.id.clone(),
        interaction: message.quick_reply.as_ref().map(|quick| Interaction {
            payload: quick.payload.clone(),
            title: message.text.clone(),
        }),
        text,
        attachments,
        provider_message_id: mid,
        provider_timestamp: timestamp,
        context_message_id: reply_to.and_then(|reply| reply.mid.clone()),
        forwarded: false,
    }))
}

fn read_attachment(raw: &RawAttachment) -> Attachment {
    let payload = &raw.payload;
    let text_at = |pointer: &str| {
        payload
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(String::from)
    };
    // Messenger sends stickers as images carrying a sticker id.
    let is_sticker = payload.get("sticker_id").is_some();
    let kind = match raw.kind.as_str() {
        "image" if is_sticker => AttachmentKind::Sticker,
        "image" | "animated_image" => AttachmentKind::Image,
        "video" | "ig_reel" | "reel" => AttachmentKind::Video,
        "audio" => AttachmentKind::Audio,
        "file" => AttachmentKind::Document,
        "location" => AttachmentKind::Location,
        _ => AttachmentKind::Other,
    };
    let mut file = attachment(kind);
    file.url = text_at("/url").or_else(|| raw.url.clone());
    file.media_id = text_at("/reel_video_id").or_else(|| text_at("/id"));
    if kind == AttachmentKind::Location {
        let latitude = payload.pointer("/coordinates/lat").and_then(Value::as_f64);
        let longitude = payload.pointer("/coordinates/long").and_then(Value::as_f64);
        if let (Some(latitude), Some(longitude)) = (latitude, longitude) {
            file.location = Some(Location {
                latitude,
                longitude,
                name: raw.title.clone().or_else(|| text_at("/title")),
                address: None,
                url: file.url.clone(),
            });
        }
    }
    file
}
