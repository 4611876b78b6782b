//! Contacts, conversations and messages, and the rules for moving a conversation
//! between the assistant and people.
//!
//! A contact is a person; a contact identity is that person on one channel (a widget
//! visitor, an email address, a phone number). They are kept apart so that one person
//! who writes from two channels can later be recognised as one contact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Attachment, Decision, Reason, Receipt, SourceRef};

/// Times are unix milliseconds throughout, as the store keeps them.
pub type UnixMillis = i64;

/// Declares a string-valued enum: its serde names, `as_str`, `Display` and `FromStr` all
/// use the same spelling, which is also what the store writes.
macro_rules! named_enum {
    (
        $(#[$meta:meta])* $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| UnknownName { what: $what, name: text.to_string() })
            }
        }
    };
}

/// A name that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a known {what}")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

named_enum!(
    /// Where a conversation takes place.
    Channel, "channel" {
        Widget => "widget",
        Email => "email",
        Whatsapp => "whatsapp",
        Telegram => "telegram",
        Messenger => "messenger",
        Instagram => "instagram",
    }
);

named_enum!(
    /// Who is answering a conversation now.
    ConversationStatus, "conversation status" {
        /// The assistant answers.
        Bot => "bot",
        /// Handed off; no person has taken it yet. The assistant stays silent.
        Waiting => "waiting",
        /// A person has taken it. The assistant stays silent.
        Assigned => "assigned",
        /// Done. A new customer message reopens it with the assistant.
        Resolved => "resolved",
    }
);

named_enum!(
    /// Who wrote a message.
    Author, "message author" {
        Customer => "customer",
        Assistant => "assistant",
        Agent => "agent",
        /// Frontdesk itself: notices such as "a person has joined".
        System => "system",
    }
);

named_enum!(
    /// How far a message has travelled.
    DeliveryState, "delivery state" {
        /// Came in from the customer and is stored.
        Received => "received",
        /// Going out, not yet accepted by the channel.
        Pending => "pending",
        /// The channel accepted it (for the widget: it is stored where the widget reads).
        Sent => "sent",
        /// The channel refused it for good.
        Failed => "failed",
    }
);

named_enum!(
    /// Who may read a message.
    Visibility, "message visibility" {
        /// The customer and the team.
        Public => "public",
        /// A private note among the team; never sent to the customer.
        Internal => "internal",
    }
);

named_enum!(
    /// What a member of the team may do.
    Role, "role" {
        /// Runs the business's Frontdesk: everything an agent does, and the settings.
        Owner => "owner",
        /// Works the inbox.
        Agent => "agent",
    }
);

/// A member of the team who signs in: an owner or an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// Stored lowercased and trimmed; also what a conversation's assignee names.
    pub email: String,
    pub role: Role,
    pub created_at: UnixMillis,
}

/// A person who wrote to the business, on whatever channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub name: Option<String>,
    pub created_at: UnixMillis,
}

/// A contact as known on one channel; (channel, external_id) is unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactIdentity {
    pub id: i64,
    pub contact_id: i64,
    pub channel: Channel,
    /// The channel's own id for the person: a widget visitor id, an email address…
    pub external_id: String,
    pub created_at: UnixMillis,
}

/// A conversation to open for the person behind `(channel, external_id)`; the store
/// creates the contact and identity when that person is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    pub channel: Channel,
    pub external_id: String,
    /// The secret the customer's side uses to reach the conversation (the widget keeps
    /// it in the browser). Chosen by the caller, unguessable, unique; the store keeps only
    /// its digest, so a copy of the database opens no conversation.
    pub token: String,
}

/// One conversation, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: i64,
    pub channel: Channel,
    pub contact_id: i64,
    pub identity_id: i64,
    pub status: ConversationStatus,
    /// The agent who holds it, while assigned.
    pub assignee: Option<String>,
    pub created_at: UnixMillis,
    /// When anything about it last changed: a message or a status change.
    pub updated_at: UnixMillis,
    pub handed_off_at: Option<UnixMillis>,
    pub first_human_reply_at: Option<UnixMillis>,
    pub resolved_at: Option<UnixMillis>,
    pub handoff_reason: Option<Reason>,
    /// A few lines for the agent: what the customer wants.
    pub handoff_summary: Option<String>,
    /// When the customer first showed they were thinking of buying.
    pub buying_intent_at: Option<UnixMillis>,
}

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub conversation_id: i64,
    pub author: Author,
    pub text: String,
    /// The assistant's decision, for assistant messages.
    pub decision: Option<Decision>,
    pub sources: Vec<SourceRef>,
    pub delivery: DeliveryState,
    pub visibility: Visibility,
    /// The team member who wrote it, for agent messages and notes.
    pub user_id: Option<i64>,
}

impl NewMessage {
    /// A message from the customer, as it arrived.
    pub fn from_customer(conversation_id: i64, text: String) -> Self {
        NewMessage {
            conversation_id,
            author: Author::Customer,
            text,
            decision: None,
            sources: Vec::new(),
            delivery: DeliveryState::Received,
            visibility: Visibility::Public,
            user_id: None,
        }
    }

    /// A reply from a member of the team to the customer.
    pub fn from_agent(conversation_id: i64, user_id: i64, text: String) -> Self {
        NewMessage {
            conversation_id,
            author: Author::Agent,
            text,
            decision: None,
            sources: Vec::new(),
            delivery: DeliveryState::Sent,
            visibility: Visibility::Public,
            user_id: Some(user_id),
        }
    }

    /// A private note from a member of the team; the customer never sees it.
    pub fn note(conversation_id: i64, user_id: i64, text: String) -> Self {
        NewMessage {
            visibility: Visibility::Internal,
            ..NewMessage::from_agent(conversation_id, user_id, text)
        }
    }
}

/// One message, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Grows with every message stored, so "messages after id N" finds what is new.
    pub id: i64,
    pub conversation_id: i64,
    pub author: Author,
    pub text: String,
    pub decision: Option<Decision>,
    pub sources: Vec<SourceRef>,
    pub delivery: DeliveryState,
    pub visibility: Visibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    pub created_at: UnixMillis,
    /// What came with it from a channel: images, documents, a shared location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The channel provider's id for it, on channels other than the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// When the customer's side sent it, by the provider's clock (never later than we
    /// received it); conversations are shown in this order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<UnixMillis>,
    /// The furthest the provider reported one of our messages got (delivered, read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Why the channel refused it, once its delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
    /// When the customer last changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<UnixMillis>,
    /// An email's subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The whole text as it arrived, when `text` is only its new part (an email reply
    /// without the quoted history and signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    /// Why this is mail no one should answer automatically (an auto-reply, a bounce, a
    /// mailing list); the assistant leaves it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<String>,
}

/// A move of a conversation between the assistant and people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// The assistant hands off: the conversation waits for a person.
    HandOff { reason: Reason, summary: String },
    /// A person takes it (or another person takes it over).
    Assign { assignee: String },
    /// Done.
    Resolve,
    /// A person gives it back to the assistant.
    HandBack,
    /// The customer wrote again after it was resolved: the assistant answers again.
    Reopen,
}

impl StatusChange {
    /// The statuses this change may start from; anything else is refused, so that a
    /// stale request (resolving twice, handing back what the assistant already has)
    /// cannot silently undo someone else's move.
    pub fn allowed_from(&self) -> &'static [ConversationStatus] {
        use ConversationStatus::*;
        match self {
            StatusChange::HandOff { .. } => &[Bot],
            StatusChange::Assign { .. } => &[Bot, Waiting, Assigned],
            StatusChange::Resolve => &[Bot, Waiting, Assigned],
            StatusChange::HandBack => &[Waiting, Assigned],
            StatusChange::Reopen => &[Resolved],
        }
    }

    /// The status the conversation has afterwards.
    pub fn target(&self) -> ConversationStatus {
        match self {
            StatusChange::HandOff { .. } => ConversationStatus::Waiting,
            StatusChange::Assign { .. } => ConversationStatus::Assigned,
            StatusChange::Resolve => ConversationStatus::Resolved,
            StatusChange::HandBack | StatusChange::Reopen => ConversationStatus::Bot,
        }
    }

    /// `"hand_off"`, `"assign"`…: how the change is named in errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            StatusChange::HandOff { .. } => "hand_off",
            StatusChange::Assign { .. } => "assign",
            StatusChange::Resolve => "resolve",
            StatusChange::HandBack => "hand_back",
            StatusChange::Reopen => "reopen",
        }
    }

    pub fn is_allowed_from(&self, status: ConversationStatus) -> bool {
        self.allowed_from().contains(&status)
    }
}

impl ConversationStatus {
    /// Whether the assistant replies to customer messages in this status.
    pub fn assistant_replies(self) -> bool {
        matches!(self, ConversationStatus::Bot | ConversationStatus::Resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for status in ConversationStatus::ALL {
            assert_eq!(status.as_str().parse::<ConversationStatus>(), Ok(*status));
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(reason));
            assert_eq!(
                serde_json::to_string(&reason).unwrap(),
                format!("\"{reason}\"")
            );
        }
        assert_eq!("assistant".parse::<Author>(), Ok(Author::Assistant));
        let err = "robot".parse::<Author>().unwrap_err();
        assert_eq!(err.to_string(), "\"robot\" is not a known message author");
    }

    #[test]
    fn a_handed_off_conversation_cannot_be_handed_off_again() {
        let hand_off = StatusChange::HandOff {
            reason: Reason::PersonRequested,
            summary: String::new(),
        };
        assert!(hand_off.is_allowed_from(ConversationStatus::Bot));
        assert!(!hand_off.is_allowed_from(ConversationStatus::Waiting));
        assert!(!StatusChange::HandBack.is_allowed_from(ConversationStatus::Bot));
        assert!(!StatusChange::Resolve.is_allowed_from(ConversationStatus::Resolved));
        assert_eq!(StatusChange::Reopen.target(), ConversationStatus::Bot);
    }

    #[test]
    fn the_assistant_is_silent_while_a_person_has_the_conversation() {
        assert!(ConversationStatus::Bot.assistant_replies());
        assert!(!ConversationStatus::Waiting.assistant_replies());
        assert!(!ConversationStatus::Assigned.assistant_replies());
    }
}
