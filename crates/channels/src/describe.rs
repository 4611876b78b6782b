//! Pieces every channel's parser shares: reading the body, times, and the plain text
//! that stands in for a shared place or contact, so that the assistant and the team see
//! something readable where the customer typed nothing.

use frontdesk_core::UnixMillis;
use serde_json::Value;

use crate::{Attachment, AttachmentKind, Location, ParseError};

/// The body as JSON, or why it is not.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(body).map_err(|error| ParseError::NotJson(error.to_string()))
}

/// Checks the body's `object` field is one of `expected` and returns it.
pub(crate) fn object_kind<'a>(body: &'a Value, expected: &[&str]) -> Result<&'a str, ParseError> {
    let problem = |problem: String| ParseError::Field {
        field: "object".to_string(),
        problem,
    };
    let Some(object) = body.as_object() else {
        return Err(ParseError::Field {
            field: "(body)".to_string(),
            problem: "expected a JSON object".to_string(),
        });
    };
    match object.get("object") {
        None => Err(problem("missing".to_string())),
        Some(Value::String(kind)) if expected.contains(&kind.as_str()) => Ok(kind),
        Some(other) => Err(problem(format!(
            "expected {}, got {other}",
            quoted(expected)
        ))),
    }
}

fn quoted(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    names.join(" or ")
}

/// Unix seconds to milliseconds; `None` for a time no provider could have sent.
pub(crate) fn seconds_to_millis(seconds: i64) -> Option<UnixMillis> {
    seconds.checked_mul(1000).filter(|millis| *millis >= 0)
}

/// An attachment with nothing known but its kind.
pub(crate) fn attachment(kind: AttachmentKind) -> Attachment {
    Attachment {
        kind,
        media_id: None,
        url: None,
        mime_type: None,
        sha256: None,
        file_name: None,
        size_bytes: None,
        location: None,
        kept: false,
    }
}

/// "Location: NAME, ADDRESS (lat, lon)", with whichever of name and address are known.
pub(crate) fn location_text(location: &Location) -> String {
    let label: Vec<&str> = [location.name.as_deref(), location.address.as_deref()]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect();
    let coordinates = format!("({}, {})", location.latitude, location.longitude);
    if label.is_empty() {
        format!("Location: {coordinates}")
    } else {
        format!("Location: {} {coordinates}", label.join(", "))
    }
}

/// A shared contact card: its name and phone numbers.
pub(crate) struct ContactCard {
    pub name: Option<String>,
    pub phones: Vec<String>,
}

/// "Contact: NAME, PHONE, PHONE" for each card, one per line.
pub(crate) fn contact_text(cards: &[ContactCard]) -> String {
    let lines: Vec<String> = cards
        .iter()
        .map(|card| {
            let mut pieces: Vec<&str> = Vec::new();
            pieces.extend(card.name.as_deref().filter(|name| !name.trim().is_empty()));
            pieces.extend(card.phones.iter().map(String::as_str));
            if pieces.is_empty() {
                "Contact: (no name or phone)".to_string()
            } else {
                format!("Contact: {}", pieces.join(", "))
            }
        })
        .collect();
    lines.join("\n")
}

/// The attachment for one shared contact: a `tel:` link to its first phone number.
pub(crate) fn contact_attachment(card: &ContactCard) -> Attachment {
    let mut contact = attachment(AttachmentKind::Contact);
    contact.url = card
        .phones
        .first()
        .map(|phone| format!("tel:{}", phone.replace([' ', '-', '(', ')'], "")));
    contact
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_contacts_read_plainly() {
        let mut place = Location {
            latitude: 51.5,
            longitude: -0.12,
            name: Some("Shop".into()),
            address: Some("1 High St".into()),
            url: None,
        };
        assert_eq!(
            location_text(&place),
            "Location: Shop, 1 High St (51.5, -0.12)"
        );
        place.name = None;
        place.address = None;
        assert_eq!(location_text(&place), "Location: (51.5, -0.12)");
        let cards = [
            ContactCard {
                name: Some("Jane Doe".into()),
                phones: vec!["+1 555-0100".into()],
            },
            ContactCard {
                name: None,
                phones: vec![],
            },
        ];
        assert_eq!(
            contact_text(&cards),
            "Contact: Jane Doe, +1 555-0100\nContact: (no name or phone)"
        );
        assert_eq!(
            contact_attachment(&cards[0]).url.as_deref(),
            Some("tel:+15550100")
        );
    }

    #[test]
    fn the_object_field_is_named_when_wrong() {
        let body = serde_json::json!({"object": "page"});
        let error = object_kind(&body, &["instagram"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"object: expected "instagram", got "page""#
        );
        let error = object_kind(&serde_json::json!([1]), &["page"]).unwrap_err();
        assert_eq!(error.to_string(), "(body): expected a JSON object");
        assert_eq!(seconds_to_millis(1_697_043_223), Some(1_697_043_223_000));
        assert_eq!(seconds_to_millis(i64::MAX), None);
    }
}
