//! Which conversations a member of the team may work. Owners reach every conversation; an
//! agent the owner limited to some channels reaches only those channels' conversations,
//! on every route and in the event stream, whatever the inbox page shows or hides.

use std::collections::HashMap;

use frontdesk_core::{Channel, Conversation, Role, User};

use crate::error::ApiError;
use crate::events::Event;
use crate::AppState;

const OUT_OF_REACH: &str = "this conversation is on a channel you do not work";

/// The conversations one member may work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    All,
    Channels(Vec<Channel>),
}

impl Reach {
    pub(crate) async fn of(state: &AppState, user: &User) -> Result<Reach, ApiError> {
        if user.role == Role::Owner {
            return Ok(Reach::All);
        }
        let channels = state.store.user_channels(user.id).await?;
        Ok(if channels.is_empty() {
            Reach::All
        } else {
            Reach::Channels(channels)
        })
    }

    /// The channels a limited member works; `None` for every channel.
    pub(crate) fn channels(&self) -> Option<&[Channel]> {
        match self {
            Reach::All => None,
            Reach::Channels(channels) => Some(channels),
        }
    }

    pub(crate) fn covers(&self, channel: Channel) -> bool {
        match self {
            Reach::All => true,
            Reach::Channels(channels) => channels.contains(&channel),
        }
    }

    /// Refuses with 403 a conversation out of reach.
    pub(crate) fn check(&self, conversation: &Conversation) -> Result<(), ApiError> {
        if self.covers(conversation.channel) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(OUT_OF_REACH))
        }
    }
}

/// Refuses with 403 (or 404 when it does not exist) conversation `id` when `user` may
/// not work it.
pub(crate) async fn ensure_reach(state: &AppState, user: &User, id: i64) -> Result<(), ApiError> {
    let reach = Reach::of(state, user).await?;
    if reach == Reach::All {
        return Ok(());
    }
    let conversation = state
        .store
        .conversation(id)
        .await?
        .ok_or(ApiError::NotFound("no such conversation"))?;
    reach.check(&conversation)
}

/// Decides, for one event stream, which events its member may see: conversations by
/// their channel, messages and drafts by their conversation's (looked up once each).
pub(crate) struct EventFilter {
    reach: Reach,
    seen: HashMap<i64, bool>,
}

impl EventFilter {
    pub(crate) fn new(reach: Reach) -> Self {
        Self {
            reach,
            seen: HashMap::new(),
        }
    }

    pub(crate) async fn shows(&mut self, state: &AppState, event: &Event) -> bool {
        if self.reach == Reach::All {
            return true;
        }
        let conversation_id = match event {
            Event::Conversation { conversation } => {
                let covered = self.reach.covers(conversation.channel);
                self.seen.insert(conversation.id, covered);
                return covered;
            }
            Event::Message { message } => message.conversation_id,
            Event::Draft {
                conversation_id, ..
            } => *conversation_id,
            Event::Missed => return true,
        };
        if let Some(covered) = self.seen.get(&conversation_id) {
            return *covered;
        }
        // Unknown or unreadable: not shown, since the stream cannot tell.
        let covered = match state.store.conversation(conversation_id).await {
            Ok(Some(conversation)) => self.reach.covers(conversation.channel),
            _ => false,
        };
        self.seen.insert(conversation_id, covered);
        covered
    }
}
