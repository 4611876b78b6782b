//! Live events for the team's inbox: every stored message and every conversation that
//! changed, as they happen.
//!
//! Events travel on an in-process broadcast channel, so an agent sees what happens on
//! the instance they are connected to. Known shortcoming: with several instances on one
//! PostgreSQL database, an agent on one does not see a customer on another live (they
//! do on their next fetch). Relaying the events through PostgreSQL LISTEN/NOTIFY would
//! lift it.

use frontdesk_core::{Conversation, Message};
use serde::Serialize;
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it is told it missed some
/// (and should fetch again) rather than holding memory for ever.
const BACKLOG: usize = 1024;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A message was stored, private notes included: this stream is for the team.
    Message { message: Message },
    /// A conversation changed status or assignee.
    Conversation { conversation: Conversation },
}

impl Event {
    /// The SSE event name, for clients that listen per kind.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Event::Message { .. } => "message",
            Event::Conversation { .. } => "conversation",
        }
    }
}

pub(crate) struct Events {
    sender: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Events {
    pub(crate) fn message(&self, message: &Message) {
        self.publish(Event::Message {
            message: message.clone(),
        });
    }

    pub(crate) fn conversation(&self, conversation: &Conversation) {
        self.publish(Event::Conversation {
            conversation: conversation.clone(),
        });
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    fn publish(&self, event: Event) {
        // No subscriber is the common case (nobody has the inbox open), not an error.
        let _ = self.sender.send(event);
    }
}
