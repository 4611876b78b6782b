//! Domain types shared by every Frontdesk crate. Nothing here does I/O.
//!
//! The words used here are the words used everywhere else: an [`FaqEntry`] is one
//! question the business answers, a [`Ticket`] is a past customer message and the
//! FAQ that resolved it, a [`DocPassage`] is one section of an uploaded document,
//! and a [`Decision`] is what the assistant does with one customer message. A
//! [`Conversation`] is a thread of [`Message`]s with one contact on one channel, and
//! [`StatusChange`] holds the rules for moving it between the assistant and people.

mod attachment;
mod conversation;
mod decision;
mod knowledge;
mod product;

pub use attachment::{Attachment, AttachmentKind, Location, Receipt};
pub use conversation::{
    Author, Channel, Contact, ContactIdentity, Conversation, ConversationStatus, DeliveryState,
    Message, NewConversation, NewMessage, Role, StatusChange, UnixMillis, UnknownName, User,
    Visibility,
};
pub use decision::{Decision, DecisionKind, GenerationNote, Reason, SourceKind, SourceRef};
pub use knowledge::{
    DocPassage, FaqEntry, KnowledgeKind, KnowledgeSnapshot, SentenceVectors, Ticket, VectorChanges,
};
pub use product::{Product, ProductStatus, ProductVariant};
