//! Every channel's parser on the shared real-world fixtures, and on constructed bodies
//! for the cases the fixtures do not cover.

use frontdesk_channels::{
    parse, Attachment, AttachmentKind, InboundEvent, InboundMessage, Interaction, Location,
    ParseError, Receipt,
};
use frontdesk_core::Channel;
use serde_json::json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

fn fixture(channel: Channel, name: &str) -> Vec<InboundEvent> {
    let folder = match channel {
        Channel::Instagram => "messenger",
        other => other.as_str(),
    };
    let path = format!("{FIXTURES}/{folder}/{name}");
    let body = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    parse(channel, &body).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn parsed(channel: Channel, body: serde_json::Value) -> Vec<InboundEvent> {
    parse(channel, &serde_json::to_vec(&body).unwrap()).unwrap()
}

fn only(events: Vec<InboundEvent>) -> InboundEvent {
    assert_eq!(events.len(), 1, "{events:#?}");
    events.into_iter().next().unwrap()
}

fn only_message(events: Vec<InboundEvent>) -> InboundMessage {
    match only(events) {
        InboundEvent::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn messages(events: &[InboundEvent]) -> Vec<&InboundMessage> {
    events
        .iter()
        .filter_map(|event| match event {
            InboundEvent::Message(message) => Some(message),
            _ => None,
        })
        .collect()
}

fn unsupported_what(event: &InboundEvent) -> &str {
    match event {
        InboundEvent::Unsupported { what } => what,
        other => panic!("expected unsupported, got {other:?}"),
    }
}

fn no_extras(attachment: &Attachment) {
    assert_eq!(attachment.file_name, None);
    assert_eq!(attachment.location, None);
}

// ---- WhatsApp fixtures ----

#[test]
fn whatsapp_text() {
    let message = only_message(fixture(Channel::Whatsapp, "text.json"));
    assert_eq!(
        message,
        InboundMessage {
            sender_id: "155501000002".into(),
            sender_name: Some("Test Name".into()),
            conversation_key: "1555000000001:155501000002".into(),
            reply_to: "155501000002".into(),
            text: "Body Text".into(),
            attachments: vec![],
            provider_message_id: "wamid.xyzxyz".into(),
            provider_timestamp: 1_697_043_223_000,
            context_message_id: None,
            forwarded: false,
            interaction: None,
        }
    );
}

#[test]
fn whatsapp_image() {
    let message = only_message(fixture(Channel::Whatsapp, "image.json"));
    assert_eq!(message.text, "");
    assert_eq!(message.provider_timestamp, 1_697_043_379_000);
    assert_eq!(message.sender_name.as_deref(), Some("Test Name"));
    let [image] = message.attachments.as_slice() else {
        panic!("{:?}", message.attachments)
    };
    assert_eq!(image.kind, AttachmentKind::Image);
    assert_eq!(image.media_id.as_deref(), Some("65463453"));
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.sha256.as_deref(), Some("4654+8g="));
    assert_eq!(image.url, None, "the URL must be fetched separately");
    no_extras(image);
}

#[test]
fn whatsapp_interactive_button_reply() {
    let message = only_message(fixture(Channel::Whatsapp, "interactive_button_reply.json"));
    assert_eq!(
        message.interaction,
        Some(Interaction {
            payload: "callback_data".into(),
            title: Some("title".into()),
        })
    );
    assert_eq!(message.text, "title");
    assert_eq!(message.context_message_id.as_deref(), Some("wamid.xyzxyz"));
    assert_eq!(message.provider_timestamp, 1_698_266_730_000);
    assert!(!message.forwarded);
}

#[test]
fn whatsapp_status_delivered() {
    let event = only(fixture(Channel::Whatsapp, "status_delivered.json"));
    assert_eq!(
        event,
        InboundEvent::Status {
            provider_message_id: "wamid.xyzxyz".into(),
            receipt: Receipt::Delivered,
            at: 1_698_266_945_000,
            error: None,
        }
    );
}

#[test]
fn whatsapp_location_forwarded() {
    let message = only_message(fixture(Channel::Whatsapp, "location_forwarded.json"));
    assert!(message.forwarded);
    assert_eq!(message.context_message_id, None);
    assert_eq!(message.provider_timestamp, 1_697_044_557_000);
    let place = Location {
        latitude: 37.4611978,
        longitude: -122.2164385,
        name: Some("Facebook HQ".into()),
        address: Some("1 Hacker Way, Menlo Park, CA 94025".into()),
        url: Some("https://maps.google.com/?cid=2000000000000000000".into()),
    };
    let [pin] = message.attachments.as_slice() else {
        panic!("{:?}", message.attachments)
    };
    assert_eq!(pin.kind, AttachmentKind::Location);
    assert_eq!(pin.location.as_ref(), Some(&place));
    assert_eq!(
        message.text,
        "Location: Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025 (37.4611978, -122.2164385)"
    );
}

// ---- WhatsApp constructed cases ----

fn whatsapp_body(entries: Vec<serde_json::Value>) -> serde_json::Value {
    json!({ "object": "whatsapp_business_account", "entry": entries })
}

fn whatsapp_change(
    phone_number_id: &str,
    contacts: &[(&str, &str)],
    messages: serde_json::Value,
) -> serde_json::Value {
    let contacts: Vec<_> = contacts
        .iter()
        .map(|(wa_id, name)| json!({ "profile": { "name": name }, "wa_id": wa_id }))
        .collect();
    json!({
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "155501000001",
                "phone_number_id": phone_number_id
            },
            "contacts": contacts,
            "messages": messages,
        }
    })
}

fn text_message(from: &str, id: &str, body: &str) -> serde_json::Value {
    json!({
        "from": from, "id": id, "timestamp": "1700000000", "type": "text",
        "text": { "body": body }
    })
}

#[test]
fn whatsapp_takes_every_message_in_every_entry() {
    let body = whatsapp_body(vec![
        json!({ "id": "A", "changes": [
            whatsapp_change("111", &[("15550001", "Ann"), ("15550002", "Bob")], json!([
                text_message("15550001", "wamid.1", "one"),
                text_message("15550002", "wamid.2", "two"),
            ])),
        ]}),
        json!({ "id": "B", "changes": [
            whatsapp_change("222", &[("15550003", "Cy"), ("15550001", "Ann")], json!([
                text_message("15550003", "wamid.3", "three"),
                text_message("15550001", "wamid.4", "four"),
            ])),
        ]}),
    ]);
    let events = parsed(Channel::Whatsapp, body);
    assert_eq!(events.len(), 4);
    let seen: Vec<(&str, &str, &str, Option<&str>, &str)> = messages(&events)
        .iter()
        .map(|m| {
            (
                m.provider_message_id.as_str(),
                m.conversation_key.as_str(),
                m.sender_id.as_str(),
                m.sender_name.as_deref(),
                m.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("wamid.1", "111:15550001", "15550001", Some("Ann"), "one"),
            ("wamid.2", "111:15550002", "15550002", Some("Bob"), "two"),
            ("wamid.3", "222:15550003", "15550003", Some("Cy"), "three"),
            ("wamid.4", "222:15550001", "15550001", Some("Ann"), "four"),
        ]
    );
    assert!(messages(&events)
        .iter()
        .all(|m| m.provider_timestamp == 1_700_000_000_000));
}

#[test]
fn whatsapp_failed_statuses_come_with_the_message_beside_them() {
    let mut change = whatsapp_change(
        "111",
        &[("15550001", "Ann")],
        json!([text_message("15550001", "wamid.in", "hello?")]),
    );
    change["value"]["statuses"] = json!([
        {
            "id": "wamid.unknown1", "status": "failed", "timestamp": "1700000001",
            "recipient_id": "15550009",
            "errors": [{
                "code": 131026, "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": { "details": "Receiver is incapable of receiving this message" }
            }]
        },
        {
            "id": "wamid.unknown2", "status": "failed", "timestamp": "1700000002",
            "recipient_id": "15550009",
            "errors": [{ "code": 131047, "title": "Re-engagement message" }]
        },
        { "id": "wamid.x", "status": "deleted", "timestamp": "1700000003" }
    ]);
    let events = parsed(
        Channel::Whatsapp,
        whatsapp_body(vec![json!({ "changes": [change] })]),
    );
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(messages(&events)[0].text, "hello?");
    assert_eq!(
        events[1],
        InboundEvent::Status {
            provider_message_id: "wamid.unknown1".into(),
            receipt: Receipt::Failed,
            at: 1_700_000_001_000,
            error: Some(
                "Message undeliverable: Receiver is incapable of receiving this message \
                 (code 131026)"
                    .into()
            ),
        }
    );
    assert_eq!(
        events[2],
        InboundEvent::Status {
            provider_message_id: "wamid.unknown2".into(),
            receipt: Receipt::Failed,
            at: 1_700_000_002_000,
            error: Some("Re-engagement message (code 131047)".into()),
        }
    );
    assert_eq!(unsupported_what(&events[3]), "whatsapp status deleted");
}

#[test]
fn a_whatsapp_message_without_an_id_is_unsupported_alone() {
    let mut broken = text_message("15550002", "unused", "lost");
    broken.as_object_mut().unwrap().remove("id");
    let body = whatsapp_body(vec![json!({ "changes": [whatsapp_change(
        "111",
        &[("15550001", "Ann"), ("15550002", "Bob")],
        json!([
            text_message("15550001", "wamid.1", "before"),
            broken,
            { "from": "15550001", "id": "wamid.r", "timestamp": "1700000000", "type": "reaction",
              "reaction": { "message_id": "wamid.out", "emoji": "👍" } },
            text_message("15550002", "wamid.3", "after"),
        ]),
    )]})]);
    let events = parsed(Channel::Whatsapp, body);
    assert_eq!(events.len(), 4);
    let what = unsupported_what(&events[1]);
    assert!(what.contains("missing field `id`"), "{what}");
    assert_eq!(
        unsupported_what(&events[2]),
        "whatsapp message type reaction"
    );
    let texts: Vec<&str> = messages(&events).iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["before", "after"]);
}

#[test]
fn whatsapp_list_replies_template_buttons_documents_and_contacts() {
    let body = whatsapp_body(vec![json!({ "changes": [whatsapp_change(
        "111",
        &[("15550001", "Ann")],
        json!([
            { "from": "15550001", "id": "w1", "timestamp": "1700000000", "type": "interactive",
              "interactive": { "type": "list_reply", "list_reply":
                  { "id": "size_m", "title": "Medium", "description": "Fits most" } } },
            { "from": "15550001", "id": "w2", "timestamp": "1700000000", "type": "button",
              "context": { "from": "111", "id": "wamid.template" },
              "button": { "payload": "STOP_PROMOS", "text": "Stop promotions" } },
            { "from": "15550001", "id": "w3", "timestamp": "1700000000", "type": "document",
              "document": { "id": "doc1", "mime_type": "application/pdf", "sha256": "abc",
                            "filename": "invoice.pdf", "caption": "my invoice" } },
            { "from": "15550001", "id": "w4", "timestamp": "1700000000", "type": "contacts",
              "context": { "frequently_forwarded": true },
              "contacts": [{ "name": { "formatted_name": "Jane Doe", "first_name": "Jane" },
                             "phones": [{ "phone": "+1 555 0100", "wa_id": "15550100" }] }] },
        ]),
    )]})]);
    let events = parsed(Channel::Whatsapp, body);
    let found = messages(&events);
    assert_eq!(found.len(), 4);
    assert_eq!(
        found[0].interaction,
        Some(Interaction {
            payload: "size_m".into(),
            title: Some("Medium".into())
        })
    );
    assert_eq!(found[0].text, "Medium");
    assert_eq!(
        found[1].interaction,
        Some(Interaction {
            payload: "STOP_PROMOS".into(),
            title: Some("Stop promotions".into())
        })
    );
    assert_eq!(
        found[1].context_message_id.as_deref(),
        Some("wamid.template")
    );
    assert_eq!(found[2].text, "my invoice");
    let document = &found[2].attachments[0];
    assert_eq!(document.kind, AttachmentKind::Document);
    assert_eq!(document.media_id.as_deref(), Some("doc1"));
    assert_eq!(document.file_name.as_deref(), Some("invoice.pdf"));
    assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(found[3].text, "Contact: Jane Doe, +1 555 0100");
    assert_eq!(found[3].attachments[0].kind, AttachmentKind::Contact);
    assert_eq!(
        found[3].attachments[0].url.as_deref(),
        Some("tel:+15550100")
    );
    assert!(found[3].forwarded);
}

// ---- Messenger fixtures ----

#[test]
fn messenger_text_message() {
    let message = only_message(fixture(Channel::Messenger, "text_message.json"));
    assert_eq!(
        message,
        InboundMessage {
            sender_id: "USER_ID".into(),
            sender_name: None,
            conversation_key: "PAGE_ID:USER_ID".into(),
            reply_to: "USER_ID".into(),
            text: "hello, world!".into(),
            attachments: vec![],
            provider_message_id: "mid.1457764197618:41d102a3e1ae206a38".into(),
            provider_timestamp: 1_457_764_197_627,
            context_message_id: None,
            forwarded: false,
            interaction: None,
        }
    );
}

#[test]
fn messenger_postback() {
    let message = only_message(fixture(Channel::Messenger, "postback.json"));
    assert_eq!(message.sender_id, "USER_ID");
    assert_eq!(message.reply_to, "USER_ID");
    assert_eq!(message.conversation_key, "PAGE_ID:USER_ID");
    assert_eq!(
        message.interaction,
        Some(Interaction {
            payload: "USER_DEFINED_PAYLOAD".into(),
            title: None
        })
    );
    assert_eq!(message.text, "");
    assert_eq!(
        message.provider_message_id,
        "postback:USER_ID:1458692752478"
    );
    assert_eq!(message.provider_timestamp, 1_458_692_752_478);
}

#[test]
fn messenger_delivery_receipt() {
    let event = only(fixture(Channel::Messenger, "delivery_receipt.json"));
    assert_eq!(
        event,
        InboundEvent::Watermark {
            conversation_key: "PAGE_ID:USER_ID".into(),
            provider_message_ids: vec!["mid.1458668856218:ed81099e15d3f4f233".into()],
            watermark: 1_458_668_856_253,
            receipt: Receipt::Delivered,
        }
    );
}

// ---- Messenger and Instagram constructed cases ----

fn meta_body(object: &str, messaging: serde_json::Value) -> serde_json::Value {
    json!({ "object": object, "entry": [{ "id": "PAGE", "time": 1, "messaging": messaging }] })
}

#[test]
fn instagram_text_and_echo() {
    let body = meta_body(
        "instagram",
        json!([
            { "sender": { "id": "IGSID1" }, "recipient": { "id": "IGACCOUNT" },
              "timestamp": 1_700_000_000_123_i64,
              "message": { "mid": "aWdfZAG1", "text": "is this in stock?",
                           "reply_to": { "mid": "aWdfOUR" } } },
            { "sender": { "id": "IGACCOUNT" }, "recipient": { "id": "IGSID1" },
              "timestamp": 1_700_000_000_500_i64,
              "message": { "mid": "aWdfZAG2", "text": "Yes!", "is_echo": true } },
        ]),
    );
    let events = parsed(Channel::Instagram, body);
    assert_eq!(events.len(), 2);
    let message = messages(&events)[0];
    assert_eq!(message.conversation_key, "IGACCOUNT:IGSID1");
    assert_eq!(message.reply_to, "IGSID1");
    assert_eq!(message.text, "is this in stock?");
    assert_eq!(message.provider_message_id, "aWdfZAG1");
    assert_eq!(message.provider_timestamp, 1_700_000_000_123);
    assert_eq!(message.context_message_id.as_deref(), Some("aWdfOUR"));
    assert_eq!(
        events[1],
        InboundEvent::Echo {
            provider_message_id: "aWdfZAG2".into()
        }
    );
}

#[test]
fn instagram_story_replies_keep_the_story_and_comments_are_unsupported() {
    let body = json!({ "object": "instagram", "entry": [{
        "id": "IGACCOUNT", "time": 1,
        "messaging": [{
            "sender": { "id": "IGSID1" }, "recipient": { "id": "IGACCOUNT" },
            "timestamp": 1_700_000_000_000_i64,
            "message": { "mid": "m1", "text": "love it",
                         "reply_to": {
                             "story": { "url": "https://127.0.0.1/story.jpg", "id": "st1" }
                         } }
        }],
        "changes": [{ "field": "comments", "value": { "id": "c1", "text": "nice" } }]
    }]});
    let events = parsed(Channel::Instagram, body);
    assert_eq!(events.len(), 2);
    let message = messages(&events)[0];
    let [story] = message.attachments.as_slice() else {
        panic!("{:?}", message.attachments)
    };
    assert_eq!(story.kind, AttachmentKind::Other);
    assert_eq!(story.url.as_deref(), Some("https://127.0.0.1/story.jpg"));
    assert_eq!(story.media_id.as_deref(), Some("st1"));
    assert_eq!(message.context_message_id, None);
    assert_eq!(
        unsupported_what(&events[1]),
        "instagram change field comments"
    );
}

#[test]
fn messenger_quick_reply_read_receipt_and_image() {
    let body = meta_body(
        "page",
        json!([
            { "sender": { "id": "PSID" }, "recipient": { "id": "PAGE" }, "timestamp": 1000,
              "message": { "mid": "m_quick", "text": "Track my order",
                           "quick_reply": { "payload": "TRACK_ORDER" } } },
            { "sender": { "id": "PSID" }, "recipient": { "id": "PAGE" }, "timestamp": 2000,
              "read": { "watermark": 1999 } },
            { "sender": { "id": "PSID" }, "recipient": { "id": "PAGE" }, "timestamp": 3000,
              "message": { "mid": "m_image", "attachments": [
                  { "type": "image", "payload": { "url": "https://127.0.0.1/photo.jpg" } } ] } },
            { "sender": { "id": "PSID" }, "recipient": { "id": "PAGE" }, "timestamp": 4000,
              "reaction": { "mid": "m_out", "action": "react", "emoji": "❤" } },
        ]),
    );
    let events = parsed(Channel::Messenger, body);
    assert_eq!(events.len(), 4);
    let quick = messages(&events)[0];
    assert_eq!(quick.text, "Track my order");
    assert_eq!(
        quick.interaction,
        Some(Interaction {
            payload: "TRACK_ORDER".into(),
            title: Some("Track my order".into())
        })
    );
    assert_eq!(
        events[1],
        InboundEvent::Watermark {
            conversation_key: "PAGE:PSID".into(),
            provider_message_ids: vec![],
            watermark: 1999,
            receipt: Receipt::Read,
        }
    );
    let image = messages(&events)[1];
    assert_eq!(image.provider_message_id, "m_image");
    assert_eq!(image.text, "");
    assert_eq!(image.attachments.len(), 1);
    assert_eq!(image.attachments[0].kind, AttachmentKind::Image);
    assert_eq!(
        image.attachments[0].url.as_deref(),
        Some("https://127.0.0.1/photo.jpg")
    );
    assert_eq!(unsupported_what(&events[3]), "messenger event reaction");
}

#[test]
fn a_broken_messenger_item_leaves_the_rest() {
    let body = meta_body(
        "page",
        json!([
            { "recipient": { "id": "PAGE" }, "timestamp": 1000,
              "message": { "mid": "m0", "text": "x" } },
            { "sender": { "id": "PSID" }, "recipient": { "id": "PAGE" }, "timestamp": 1000,
              "message": { "mid": "m1", "text": "still here" } },
        ]),
    );
    let events = parsed(Channel::Messenger, body);
    let what = unsupported_what(&events[0]);
    assert!(what.contains("sender"), "{what}");
    assert_eq!(messages(&events)[0].text, "still here");
}

// ---- Telegram fixtures ----

#[test]
fn telegram_text_private() {
    let message = only_message(fixture(Channel::Telegram, "text_private.json"));
    assert_eq!(
        message,
        InboundMessage {
            sender_id: "12345678".into(),
            sender_name: Some("Mario Bros".into()),
            conversation_key: "12345678".into(),
            reply_to: "12345678".into(),
            text: "aaaaaaaaaa".into(),
            attachments: vec![],
            provider_message_id: "12345678:123456".into(),
            provider_timestamp: 1_631_818_904_000,
            context_message_id: None,
            forwarded: false,
            interaction: None,
        }
    );
}

#[test]
fn telegram_photo_with_caption() {
    let message = only_message(fixture(Channel::Telegram, "photo_with_caption.json"));
    assert_eq!(message.text, "photo description");
    assert_eq!(message.sender_name.as_deref(), Some("Name"));
    assert_eq!(message.provider_message_id, "12345678:12345");
    assert_eq!(message.provider_timestamp, 1_508_825_154_000);
    let [photo] = message.attachments.as_slice() else {
        panic!("{:?}", message.attachments)
    };
    assert_eq!(photo.kind, AttachmentKind::Image);
    assert_eq!(
        photo.media_id.as_deref(),
        Some("PLACEHOLDER_FILE_ID_4_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    );
    assert_eq!(photo.size_bytes, Some(47844));
}

#[test]
fn telegram_callback_query() {
    let message = only_message(fixture(Channel::Telegram, "callback_query.json"));
    assert_eq!(message.provider_message_id, "callback:500000000000000001");
    assert_eq!(
        message.interaction,
        Some(Interaction {
            payload: "thedata".into(),
            title: None
        })
    );
    // No button carries "thedata", so the data stands in; never the bot's own text.
    assert_eq!(message.text, "thedata");
    assert_ne!(message.text, "This is a test");
    assert_eq!(message.sender_id, "222222222");
    assert_eq!(message.sender_name.as_deref(), Some("Mario"));
    assert_eq!(message.conversation_key, "222222222");
    assert_eq!(message.reply_to, "222222222");
    assert_eq!(message.provider_timestamp, 1_584_984_711_000);
    assert_eq!(
        message.context_message_id.as_deref(),
        Some("222222222:69587")
    );
}

#[test]
fn telegram_callback_takes_the_pressed_buttons_title() {
    let path = format!("{FIXTURES}/telegram/callback_query.json");
    let mut body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    body["callback_query"]["data"] = json!("b");
    let message = only_message(parsed(Channel::Telegram, body));
    assert_eq!(
        message.interaction,
        Some(Interaction {
            payload: "b".into(),
            title: Some("dsa".into())
        })
    );
    assert_eq!(message.text, "dsa");
}

#[test]
fn telegram_edited_message() {
    let event = only(fixture(Channel::Telegram, "edited_message.json"));
    assert_eq!(
        event,
        InboundEvent::Edited {
            conversation_key: "12345678".into(),
            provider_message_id: "12345678:12345".into(),
            text: "hi there (edited)".into(),
            edited_at: 1_508_825_379_000,
        }
    );
}

#[test]
fn telegram_forward_origin() {
    let message = only_message(fixture(Channel::Telegram, "forward_origin.json"));
    assert_eq!(message.text, "Ciao");
    assert_eq!(message.sender_id, "456");
    assert_eq!(message.sender_name.as_deref(), Some("Mario"));
    assert!(message.forwarded);
    assert_eq!(message.provider_message_id, "456:123");
    assert_eq!(message.provider_timestamp, 1_684_984_664_000);
}

// ---- Telegram constructed cases ----

#[test]
fn telegram_group_message_belongs_to_the_group() {
    let body = json!({ "update_id": 7, "message": {
        "message_id": 55,
        "from": { "id": 42, "is_bot": false, "username": "nameless" },
        "chat": { "id": -1001234567890_i64, "title": "Shop fans", "type": "supergroup" },
        "date": 1_700_000_000,
        "text": "does it ship to Spain?",
        "reply_to_message": { "message_id": 50, "chat": { "id": -1001234567890_i64 }, "date": 1 }
    }});
    let message = only_message(parsed(Channel::Telegram, body));
    assert_eq!(message.conversation_key, "-1001234567890");
    assert_eq!(message.reply_to, "-1001234567890");
    assert_eq!(message.sender_id, "42");
    assert_eq!(message.sender_name.as_deref(), Some("nameless"));
    assert_eq!(message.provider_message_id, "-1001234567890:55");
    assert_eq!(
        message.context_message_id.as_deref(),
        Some("-1001234567890:50")
    );
}

#[test]
fn telegram_bots_and_unknown_updates_are_unsupported() {
    let from_bot = json!({ "update_id": 8, "message": {
        "message_id": 1, "from": { "id": 9, "is_bot": true, "first_name": "Other bot" },
        "chat": { "id": -100, "type": "group" }, "date": 1_700_000_000, "text": "beep"
    }});
    let event = only(parsed(Channel::Telegram, from_bot));
    assert_eq!(unsupported_what(&event), "telegram message from a bot");
    let member = json!({ "update_id": 9, "my_chat_member": { "chat": { "id": 1 } } });
    let event = only(parsed(Channel::Telegram, member));
    assert_eq!(unsupported_what(&event), "telegram update my_chat_member");
    let post = json!({ "update_id": 10, "channel_post": {
        "message_id": 1, "chat": { "id": -100, "type": "channel" }, "date": 1, "text": "news"
    }});
    let event = only(parsed(Channel::Telegram, post));
    assert_eq!(unsupported_what(&event), "telegram update channel_post");
}

#[test]
fn telegram_documents_locations_and_contacts() {
    let base = |content: serde_json::Value| {
        let mut message = json!({
            "message_id": 3, "from": { "id": 5, "is_bot": false, "first_name": "Ann" },
            "chat": { "id": 5, "type": "private" }, "date": 1_700_000_000
        });
        for (key, value) in content.as_object().unwrap() {
            message[key] = value.clone();
        }
        json!({ "update_id": 1, "message": message })
    };
    let document = only_message(parsed(
        Channel::Telegram,
        base(json!({ "document": {
            "file_id": "DOC", "file_unique_id": "u", "file_name": "receipt.pdf",
            "mime_type": "application/pdf", "file_size": 1234 } })),
    ));
    assert_eq!(document.text, "");
    assert_eq!(document.attachments[0].kind, AttachmentKind::Document);
    assert_eq!(document.attachments[0].media_id.as_deref(), Some("DOC"));
    assert_eq!(
        document.attachments[0].file_name.as_deref(),
        Some("receipt.pdf")
    );
    assert_eq!(document.attachments[0].size_bytes, Some(1234));

    let place = only_message(parsed(
        Channel::Telegram,
        base(json!({ "location": { "latitude": 41.9, "longitude": 12.5 } })),
    ));
    assert_eq!(place.text, "Location: (41.9, 12.5)");
    assert_eq!(
        place.attachments[0].location.as_ref().unwrap().latitude,
        41.9
    );

    let contact = only_message(parsed(
        Channel::Telegram,
        base(json!({ "contact": { "phone_number": "+15550100", "first_name": "Jane" } })),
    ));
    assert_eq!(contact.text, "Contact: Jane, +15550100");
    assert_eq!(contact.attachments[0].kind, AttachmentKind::Contact);

    let voice = only_message(parsed(
        Channel::Telegram,
        base(json!({ "voice": { "file_id": "VOICE", "duration": 3, "mime_type": "audio/ogg" } })),
    ));
    assert_eq!(voice.attachments[0].kind, AttachmentKind::Audio);
    assert_eq!(voice.attachments[0].mime_type.as_deref(), Some("audio/ogg"));
}

// ---- whole-body problems ----

#[test]
fn bodies_that_are_not_the_channels_are_errors_that_say_why() {
    for channel in [Channel::Whatsapp, Channel::Messenger, Channel::Telegram] {
        let error = parse(channel, b"<html>502 Bad Gateway</html>").unwrap_err();
        assert!(matches!(error, ParseError::NotJson(_)), "{error:?}");
        assert!(
            error.to_string().starts_with("the body is not JSON"),
            "{error}"
        );
    }
    let error = parse(Channel::Whatsapp, br#"{"object":"page","entry":[]}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"object: expected "whatsapp_business_account", got "page""#
    );
    let error = parse(
        Channel::Messenger,
        br#"{"object":"whatsapp_business_account"}"#,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"object: expected "page" or "instagram", got "whatsapp_business_account""#
    );
    let error = parse(Channel::Messenger, br#"{"entry":[]}"#).unwrap_err();
    assert_eq!(error.to_string(), "object: missing");
    let error = parse(
        Channel::Whatsapp,
        br#"{"object":"whatsapp_business_account","entry":[{"changes":{"not":"a list"}}]}"#,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("entry[0].changes: invalid type"),
        "{error}"
    );
    let error = parse(Channel::Telegram, br#"{"message":{}}"#).unwrap_err();
    assert_eq!(error.to_string(), "update_id: missing or not an integer");
    let error = parse(Channel::Email, b"{}").unwrap_err();
    assert!(error.to_string().starts_with("channel:"), "{error}");
}
