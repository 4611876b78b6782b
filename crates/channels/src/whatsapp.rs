//! WhatsApp Cloud API webhook bodies.
//!
//! `object: whatsapp_business_account` → `entry[]` → `changes[]` → `value`, where a
//! `messages` change carries customers' `messages[]` (with their senders in
//! `contacts[]`) and receipts for ours in `statuses[]`. One POST may batch several of
//! each; every one is read, and one that cannot be becomes `Unsupported` alone.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::describe::{
    attachment, contact_attachment, contact_text, json_body, location_text, object_kind,
    seconds_to_millis, ContactCard,
};
use crate::{
    AttachmentKind, InboundEvent, InboundMessage, Interaction, Location, ParseError, Receipt,
};

const OBJECT: &str = "whatsapp_business_account";

/// Reads one WhatsApp webhook body into its events, in the order they came.
pub fn parse(body: &[u8]) -> Result<Vec<InboundEvent>, ParseError> {
    let json = json_body(body)?;
    object_kind(&json, &[OBJECT])?;
    let envelope: Envelope =
        serde_path_to_error::deserialize(&json).map_err(|error| ParseError::Field {
            field: error.path().to_string(),
            problem: error.inner().to_string(),
        })?;
    let mut events = Vec::new();
    for change in envelope.entry.iter().flat_map(|entry| &entry.changes) {
        read_change(change, &mut events);
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
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: Option<String>,
    #[serde(default)]
    value: Value,
}

fn read_change(change: &Change, events: &mut Vec<InboundEvent>) {
    let field = change.field.as_deref().unwrap_or("messages");
    if field != "messages" {
        events.push(unsupported(format!("whatsapp change field {field}")));
        return;
    }
    let value = &change.value;
    let phone_number_id = value
        .pointer("/metadata/phone_number_id")
        .and_then(Value::as_str);
    let names = contact_names(value);
    let messages = value.get("messages").and_then(Value::as_array);
    let statuses = value.get("statuses").and_then(Value::as_array);
    for message in messages.into_iter().flatten() {
        events.push(match read_message(message, phone_number_id, &names) {
            Ok(event) => event,
            Err(what) => unsupported(what),
        });
    }
    for status in statuses.into_iter().flatten() {
        events.push(read_status(status).unwrap_or_else(unsupported));
    }
    if value.get("errors").is_some() {
        events.push(unsupported("whatsapp error notification".to_string()));
    } else if messages.is_none() && statuses.is_none() {
        events.push(unsupported(
            "whatsapp messages change without messages or statuses".to_string(),
        ));
    }
}

/// The profile name of each sender in `contacts[]`, by `wa_id`.
fn contact_names(value: &Value) -> Vec<(&str, &str)> {
    let contacts = value.get("contacts").and_then(Value::as_array);
    contacts
        .into_iter()
        .flatten()
        .filter_map(|contact| {
            let wa_id = contact.get("wa_id")?.as_str()?;
            let name = contact.pointer("/profile/name")?.as_str()?;
            Some((wa_id, name))
        })
        .collect()
}

fn unsupported(what: String) -> InboundEvent {
    InboundEvent::Unsupported { what }
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(deserialize_with = "unix_seconds")]
    timestamp: i64,
    #[serde(rename = "type")]
    kind: String,
    context: Option<Context>,
    text: Option<Text>,
    image: Option<Media>,
    video: Option<Media>,
    audio: Option<Media>,
    document: Option<Media>,
    sticker: Option<Media>,
    interactive: Option<Interactive>,
    button: Option<Button>,
    location: Option<Place>,
    contacts: Option<Vec<Card>>,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
    #[serde(default)]
    forwarded: bool,
    #[serde(default)]
    frequently_forwarded: bool,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Media {
    id: Option<String>,
    mime_type: Option<String>,
    sha256: Option<String>,
    filename: Option<String>,
    caption: Option<String>,
    url: Option<String>,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(rename = "type")]
    kind: String,
    button_reply: Option<Choice>,
    list_reply: Option<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    id: String,
    title: String,
}

/// A quick-reply button on a template message.
#[derive(Deserialize)]
struct Button {
    payload: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct Place {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Card {
    name: Option<CardName>,
    #[serde(default)]
    phones: Vec<CardPhone>,
}

#[derive(Deserialize)]
struct CardName {
    formatted_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct CardPhone {
    phone: Option<String>,
    wa_id: Option<String>,
}

/// WhatsApp sends times as strings of unix seconds; a number is taken too.
fn unix_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(i64),
        Text(String),
    }
    match Seconds::deserialize(deserializer)? {
        Seconds::Number(seconds) => Ok(seconds),
        Seconds::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not unix seconds"))),
    }
}

/// One customer message, or what it was when it cannot be used.
fn read_message(
    raw: &Value,
    phone_number_id: Option<&str>,
    names: &[(&str, &str)],
) -> Result<InboundEvent, String> {
    let message: Message = serde_path_to_error::deserialize(raw)
        .map_err(|error| format!("malformed whatsapp message: {error}"))?;
    if message.id.is_empty() || message.from.is_empty() {
        return Err("malformed whatsapp message: empty id or from".to_string());
    }
    let phone_number_id =
        phone_number_id.ok_or("whatsapp message without metadata.phone_number_id")?;
    let provider_timestamp = seconds_to_millis(message.timestamp)
        .ok_or("malformed whatsapp message: timestamp out of range")?;
    let (text, attachments, interaction) = read_content(&message)?;
    let context = message.context.as_ref();
    Ok(InboundEvent::Message(InboundMessage {
        sender_name: names
            .iter()
            .find(|(wa_id, _)| *wa_id == message.from)
            .map(|(_, name)| name.to_string()),
        conversation_key: format!("{phone_number_id}:{}", message.from),
        reply_to: message.from.clone(),
        text,
        attachments,
        provider_message_id: message.id,
        provider_timestamp,
        context_message_id: context.and_then(|context| context.id.clone()),
        forwarded: context.is_some_and(|context| context.forwarded || context.frequently_forwarded),
        interaction,
        sender_id: message.from,
    }))
}

type Content = (String, Vec<crate::Attachment>, Option<Interaction>);

/// The text, attachments and choice a message of each type carries.
fn read_content(message: &Message) -> Result<Content, String> {
    let missing = || {
        format!(
            "malformed whatsapp message: type {} without its content",
            message.kind
        )
    };
    let media_kind = match message.kind.as_str() {
        "image" => Some((AttachmentKind::Image, &message.image)),
        "video" => Some((AttachmentKind::Video, &message.video)),
        "audio" => Some((AttachmentKind::Audio, &message.audio)),
        "document" => Some((AttachmentKind::Document, &message.document)),
        "sticker" => Some((AttachmentKind::Sticker, &message.sticker)),
        _ => None,
    };
    if let Some((kind, media)) = media_kind {
        let media = media.as_ref().ok_or_else(missing)?;
        let mut file = attachment(kind);
        file.media_id = media.id.clone();
        file.url = media.url.clone();
        file.mime_type = media.mime_type.clone();
        file.sha256 = media.sha256.clone();
        file.file_name = media.filename.clone();
        file.size_bytes = media.file_size;
        let caption = media.caption.clone().unwrap_or_default();
        return Ok((caption, vec![file], None));
    }
    match message.kind.as_str() {
        "text" => {
            let text = message.text.as_ref().ok_or_else(missing)?;
            Ok((text.body.clone(), Vec::new(), None))
        }
        "interactive" => {
            let interactive = message.interactive.as_ref().ok_or_else(missing)?;
            let choice = match interactive.kind.as_str() {
                "button_reply" => interactive.button_reply.as_ref(),
                "list_reply" => interactive.list_reply.as_ref(),
                other => return Err(format!("whatsapp interactive type {other}")),
            };
            let choice = choice.ok_or_else(missing)?;
            let interaction = Interaction {
                payload: choice.id.clone(),
                title: Some(choice.title.clone()),
            };
            Ok((choice.title.clone(), Vec::new(), Some(interaction)))
        }
        "button" => {
            let button = message.button.as_ref().ok_or_else(missing)?;
            let interaction = Interaction {
                payload: button
                    .payload
                    .clone()
                    .unwrap_or_else(|| button.text.clone()),
                title: Some(button.text.clone()),
            };
            Ok((button.text.clone(), Vec::new(), Some(interaction)))
        }
        "location" => {
            let place = message.location.as_ref().ok_or_else(missing)?;
            let location = Location {
                latitude: place.latitude,
                longitude: place.longitude,
                name: place.name.clone(),
                address: place.address.clone(),
                url: place.url.clone(),
            };
            let text = location_text(&location);
            let mut pin = attachment(AttachmentKind::Location);
            pin.url = place.url.clone();
            pin.location = Some(location);
            Ok((text, vec![pin], None))
        }
        "contacts" => {
            let cards: Vec<ContactCard> = message
                .contacts
                .as_ref()
                .filter(|cards| !cards.is_empty())
                .ok_or_else(missing)?
                .iter()
                .map(contact_card)
                .collect();
            let attachments = cards.iter().map(contact_attachment).collect();
            Ok((contact_text(&cards), attachments, None))
        }
        other => Err(format!("whatsapp message type {other}")),
    }
}

fn contact_card(card: &Card) -> ContactCard {
    let name = card.name.as_ref().and_then(|name| {
        name.formatted_name.clone().or_else(|| {
            let parts: Vec<&str> = [name.first_name.as_deref(), name.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
    });
    let phones = card
        .phones
        .iter()
        .filter_map(|phone| phone.phone.clone().or_else(|| phone.wa_id.clone()))
        .collect();
    ContactCard { name, phones }
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(deserialize_with = "unix_seconds")]
    timestamp: i64,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// A receipt for one of our messages, or what it was when it cannot be used.
fn read_status(raw: &Value) -> Result<InboundEvent, String> {
    let status: Status = serde_path_to_error::deserialize(raw)
        .map_err(|error| format!("malformed whatsapp status: {error}"))?;
    if status.id.is_empty() {
        return Err("malformed whatsapp status: empty id".to_string());
    }
    let receipt = match status.status.as_str() {
        "sent" => Receipt::Sent,
        "delivered" => Receipt::Delivered,
        "read" => Receipt::Read,
        // A voice message was listened to, which it cannot be without being opened.
        "played" => Receipt::Read,
        "failed" => Receipt::Failed,
        other => return Err(format!("whatsapp status {other}")),
    };
    let at = seconds_to_millis(status.timestamp)
        .ok_or("malformed whatsapp status: timestamp out of range")?;
    Ok(InboundEvent::Status {
        provider_message_id: status.id,
        receipt,
        at,
        error: status.errors.first().map(error_reason),
    })
}

/// "title: message: details (code N)", leaving out pieces that are absent or repeat.
fn error_reason(error: &StatusError) -> String {
    let details = error
        .error_data
        .as_ref()
        .and_then(|data| data.details.as_deref());
    let mut pieces: Vec<&str> = Vec::new();
    for piece in [error.title.as_deref(), error.message.as_deref(), details]
        .into_iter()
        .flatten()
    {
        if !piece.trim().is_empty() && !pieces.contains(&piece) {
            pieces.push(piece);
        }
    }
    let mut reason = if pieces.is_empty() {
        "failed without a reason".to_string()
    } else {
        pieces.join(": ")
    };
    if let Some(code) = error.code {
        reason.push_str(&format!(" (code {code})"));
    }
    reason
}
