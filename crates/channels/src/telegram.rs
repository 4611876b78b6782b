//! Telegram Bot API webhook bodies: one `Update` object per delivery.
//!
//! Telegram's message ids are unique only within a chat, so every message id given out
//! is `"{chat_id}:{message_id}"`, the same form [`crate::send::send`] returns.

use serde::Deserialize;
use serde_json::Value;

use crate::describe::{
    attachment, contact_attachment, contact_text, json_body, location_text, seconds_to_millis,
    ContactCard,
};
use crate::{
    Attachment, AttachmentKind, InboundEvent, InboundMessage, Interaction, Location, ParseError,
};

/// Reads one Telegram update into its event.
pub fn parse(body: &[u8]) -> Result<Vec<InboundEvent>, ParseError> {
    let json = json_body(body)?;
    let Some(update) = json.as_object() else {
        return Err(ParseError::Field {
            field: "(body)".to_string(),
            problem: "expected a JSON object (a Telegram Update)".to_string(),
        });
    };
    if !update.get("update_id").is_some_and(Value::is_i64) {
        return Err(ParseError::Field {
            field: "update_id".to_string(),
            problem: "missing or not an integer".to_string(),
        });
    }
    // An update carries exactly one optional field besides its id.
    let Some((field, content)) = update.iter().find(|(key, _)| key.as_str() != "update_id") else {
        return Ok(vec![unsupported(
            "telegram update without content".to_string(),
        )]);
    };
    let event = match field.as_str() {
        "message" => read_message(content),
        "edited_message" => read_edit(content),
        "callback_query" => read_callback(content),
        other => Err(format!("telegram update {other}")),
    };
    Ok(vec![event.unwrap_or_else(unsupported)])
}

fn unsupported(what: String) -> InboundEvent {
    InboundEvent::Unsupported { what }
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    date: i64,
    edit_date: Option<i64>,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<PhotoSize>,
    document: Option<File>,
    animation: Option<File>,
    voice: Option<File>,
    audio: Option<File>,
    video: Option<File>,
    video_note: Option<File>,
    sticker: Option<File>,
    location: Option<Place>,
    venue: Option<Venue>,
    contact: Option<Contact>,
    reply_to_message: Option<MessageRef>,
    forward_origin: Option<Value>,
    forward_from: Option<Value>,
    forward_from_chat: Option<Value>,
    forward_sender_name: Option<Value>,
    forward_date: Option<Value>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct MessageRef {
    message_id: i64,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
    #[serde(default)]
    width: u64,
    #[serde(default)]
    height: u64,
    file_size: Option<u64>,
}

/// Any of Telegram's file objects: document, voice, audio, video, sticker…
#[derive(Deserialize)]
struct File {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Place {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct Venue {
    location: Place,
    title: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct Contact {
    phone_number: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

fn deserialize<T: for<'de> Deserialize<'de>>(raw: &Value, what: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(raw)
        .map_err(|error| format!("malformed telegram {what}: {error}"))
}

fn message_key(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

fn millis(seconds: i64, what: &str) -> Result<i64, String> {
    seconds_to_millis(seconds)
        .ok_or_else(|| format!("malformed telegram {what}: date out of range"))
}

/// "First Last", or the username when the person gave no name.
fn display_name(user: &User) -> Option<String> {
    let parts: Vec<&str> = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect();
    if parts.is_empty() {
        user.username.clone()
    } else {
        Some(parts.join(" "))
    }
}

fn read_message(raw: &Value) -> Result<InboundEvent, String> {
    let message: Message = deserialize(raw, "message")?;
    let sender = message
        .from
        .as_ref()
        .ok_or("telegram message without a sender")?;
    // Other bots, and group admins posting anonymously through Telegram's own bot.
    if sender.is_bot {
        return Err("telegram message from a bot".to_string());
    }
    let (text, attachments) = read_content(&message);
    if text.is_empty() && attachments.is_empty() {
        return Err("telegram message without text or media".to_string());
    }
    let chat_id = message.chat.id;
    let forwarded = message.forward_origin.is_some()
        || message.forward_from.is_some()
        || message.forward_from_chat.is_some()
        || message.forward_sender_name.is_some()
        || message.forward_date.is_some();
    Ok(InboundEvent::Message(InboundMessage {
        sender_id: sender.id.to_string(),
        sender_name: display_name(sender),
        conversation_key: chat_id.to_string(),
        reply_to: chat_id.to_string(),
        text,
        attachments,
        provider_message_id: message_key(chat_id, message.message_id),
        provider_timestamp: millis(message.date, "message")?,
        context_message_id: message
            .reply_to_message
            .as_ref()
            .map(|quoted| message_key(chat_id, quoted.message_id)),
        forwarded,
        interaction: None,
    }))
}

/// The message's text (or caption, or a description of a shared place or contact) and
/// its files.
fn read_content(message: &Message) -> (String, Vec<Attachment>) {
    let mut attachments = Vec::new();
    // Photos come in several sizes; the largest is the one worth fetching.
    let largest = message
        .photo
        .iter()
        .max_by_key(|size| (size.width * size.height, size.file_size.unwrap_or(0)));
    if let Some(photo) = largest {
        let mut image = attachment(AttachmentKind::Image);
        image.media_id = Some(photo.file_id.clone());
        image.size_bytes = photo.file_size;
        attachments.push(image);
    }
    // An animation arrives with a `document` copy of itself; take it once, as video.
    let document = if message.animation.is_some() {
        None
    } else {
        message.document.as_ref()
    };
    let files = [
        (AttachmentKind::Document, document),
        (AttachmentKind::Video, message.animation.as_ref()),
        (AttachmentKind::Audio, message.voice.as_ref()),
        (AttachmentKind::Audio, message.audio.as_ref()),
        (AttachmentKind::Video, message.video.as_ref()),
        (AttachmentKind::Video, message.video_note.as_ref()),
        (AttachmentKind::Sticker, message.sticker.as_ref()),
    ];
    for (kind, file) in files {
        if let Some(file) = file {
            let mut item = attachment(kind);
            item.media_id = Some(file.file_id.clone());
            item.file_name = file.file_name.clone();
            item.mime_type = file.mime_type.clone();
            item.size_bytes = file.file_size;
            attachments.push(item);
        }
    }
    let mut description = None;
    // A venue carries its own `location` copy too; the venue says more.
    let place = match (&message.venue, &message.location) {
        (Some(venue), _) => Some(Location {
            latitude: venue.location.latitude,
            longitude: venue.location.longitude,
            name: venue.title.clone(),
            address: venue.address.clone(),
            url: None,
        }),
        (None, Some(place)) => Some(Location {
            latitude: place.latitude,
            longitude: place.longitude,
            name: None,
            address: None,
            url: None,
        }),
        (None, None) => None,
    };
    if let Some(place) = place {
        description = Some(location_text(&place));
        let mut pin = attachment(AttachmentKind::Location);
        pin.location = Some(place);
        attachments.push(pin);
    }
    if let Some(contact) = &message.contact {
        let name: Vec<&str> = [contact.first_name.as_deref(), contact.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let card = ContactCard {
            name: (!name.is_empty()).then(|| name.join(" ")),
            phones: contact.phone_number.iter().cloned().collect(),
        };
        description = Some(contact_text(std::slice::from_ref(&card)));
        attachments.push(contact_attachment(&card));
    }
    let text = message
        .text
        .clone()
        .or_else(|| message.caption.clone())
        .or(description)
        .unwrap_or_default();
    (text, attachments)
}

fn read_edit(raw: &Value) -> Result<InboundEvent, String> {
    let message: Message = deserialize(raw, "edited message")?;
    let chat_id = message.chat.id;
    let edited = message.edit_date.unwrap_or(message.date);
    Ok(InboundEvent::Edited {
        conversation_key: chat_id.to_string(),
        provider_message_id: message_key(chat_id, message.message_id),
        text: message.text.or(message.caption).unwrap_or_default(),
        edited_at: millis(edited, "edited message")?,
    })
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<CallbackMessage>,
    data: Option<String>,
}

/// The bot's own message the pressed button was on.
#[derive(Deserialize)]
struct CallbackMessage {
    message_id: i64,
    chat: Chat,
    date: Option<i64>,
    reply_markup: Option<Markup>,
}

#[derive(Deserialize)]
struct Markup {
    #[serde(default)]
    inline_keyboard: Vec<Vec<Button>>,
}

#[derive(Deserialize)]
struct Button {
    text: String,
    callback_data: Option<String>,
}

fn read_callback(raw: &Value) -> Result<InboundEvent, String> {
    let query: CallbackQuery = deserialize(raw, "callback query")?;
    // Buttons on inline-mode messages come without a chat to answer in.
    let message = query
        .message
        .as_ref()
        .ok_or("telegram callback query without a chat message")?;
    let data = query
        .data
        .clone()
        .ok_or("telegram callback query without data (a game button)")?;
    let title = message
        .reply_markup
        .iter()
        .flat_map(|markup| markup.inline_keyboard.iter().flatten())
        .find(|button| button.callback_data.as_deref() == Some(data.as_str()))
        .map(|button| button.text.clone());
    let chat_id = message.chat.id;
    // A bot message too old to be shown has date 0; a missing one is the same.
    let timestamp = match message.date {
        Some(date) => millis(date, "callback query")?,
        None => 0,
    };
    Ok(InboundEvent::Message(InboundMessage {
        sender_id: query.from.id.to_string(),
        sender_name: display_name(&query.from),
        conversation_key: chat_id.to_string(),
        reply_to: chat_id.to_string(),
        text: title.clone().unwrap_or_else(|| data.clone()),
        attachments: Vec::new(),
        provider_message_id: format!("callback:{}", query.id),
        provider_timestamp: timestamp,
        context_message_id: Some(message_key(chat_id, message.message_id)),
        forwarded: false,
        interaction: Some(Interaction {
            payload: data,
            title,
        }),
    }))
}
