//! Live events for the team's inbox and the widget: every stored message and every
//! conversation that changed, as they happen, on whichever instance they happened.
//!
//! Subscribers listen on an in-process broadcast. What happens on this instance goes
//! on it at once; it is also sent through the store ([`Store::notify`]: PostgreSQL
//! `NOTIFY` when several instances share one database), and [`Events::relay`] puts what
//! other instances sent on the broadcast too. Each notification names the instance it
//! came from, and an instance skips its own: a subscriber hears every event once.
//!
//! A notification carries the whole event when it fits PostgreSQL's payload limit
//! (almost always: a message is at most a few kilobytes), so other instances need not
//! read the store for it; a larger one carries the ids only, and the receiving instance
//! reads the row. When notifications may have been lost (the database connection
//! dropped, or a subscriber fell behind), subscribers get [`Event::Missed`] and fetch
//! again.

use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::{Conversation, Message};
use frontdesk_store::{Listener, Notice, Readers, Store, MAX_NOTIFICATION_BYTES};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot, Notify};
use tokio_util::sync::CancellationToken;

/// How many events a slow subscriber may fall behind before it is told it missed some
/// (and should fetch again) rather than holding memory for ever.
const BACKLOG: usize = 1024;

/// Waits between attempts to listen again after the database went away: short at first,
/// doubling up to the longest.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_LONGEST: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A message was stored, private notes included: this stream is for the team.
    Message { message: Box<Message> },
    /// A conversation changed status or assignee.
    Conversation { conversation: Conversation },
    /// The text of an answer being generated, as far as the guards have released it.
    /// Superseded by the stored reply, which may differ (a fallback) and is what counts.
    Draft { conversation_id: i64, text: String },
    /// Events may have been lost on the way from another instance: read the store again.
    #[serde(skip)]
    Missed,
}

impl Event {
    /// The SSE event name, for clients that listen per kind.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Event::Message { .. } => "message",
            Event::Conversation { .. } => "conversation",
            Event::Draft { .. } => "draft",
            Event::Missed => "lagged",
        }
    }
}

/// An event as it travels between instances.
#[derive(Serialize, Deserialize)]
struct Wire {
    /// The instance that published it.
    origin: String,
    event: Body,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Body {
    Message {
        message: Box<Message>,
    },
    Conversation {
        conversation: Conversation,
    },
    /// A message too large to travel whole: the receiver reads it from the store.
    MessageId {
        conversation_id: i64,
        message_id: i64,
    },
    /// A conversation too large to travel whole (a very long handoff summary).
    ConversationId {
        conversation_id: i64,
    },
    /// The team taught the assistant something: every instance retrains.
    KnowledgeChanged,
    Draft {
        conversation_id: i64,
        text: String,
    },
}

pub(crate) struct Events {
    sender: broadcast::Sender<Event>,
    /// Woken when another instance says the knowledge changed; the retraining task
    /// waits on it.
    knowledge_changed: Arc<Notify>,
    store: Store,
    /// Tells this instance's notifications from the others'.
    origin: String,
    /// Woken when a reply waits in the outbox, so the sender need not wait for its poll.
    outbox_queued: Notify,
}

impl Events {
    pub(crate) fn new(store: Store, knowledge_changed: Arc<Notify>) -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            knowledge_changed,
            store,
            origin: format!("{:016x}", rand::random::<u64>()),
            outbox_queued: Notify::new(),
        }
    }

    pub(crate) async fn message(&self, message: &Message) {
        self.local(Event::Message {
            message: Box::new(message.clone()),
        });
        let whole = Body::Message {
            message: Box::new(message.clone()),
        };
        let by_id = Body::MessageId {
            conversation_id: message.conversation_id,
            message_id: message.id,
        };
        self.share(whole, by_id).await;
    }

    pub(crate) async fn conversation(&self, conversation: &Conversation) {
        self.local(Event::Conversation {
            conversation: conversation.clone(),
        });
        let whole = Body::Conversation {
            conversation: conversation.clone(),
        };
        let by_id = Body::ConversationId {
            conversation_id: conversation.id,
        };
        self.share(whole, by_id).await;
    }

    /// A generated answer's text so far, for the customer's open widget wherever it is
    /// connected. Drafts are never stored; one too large to notify is not shared.
    pub(crate) async fn draft(&self, conversation_id: i64, text: &str) {
        self.local(Event::Draft {
            conversation_id,
            text: text.to_string(),
        });
        let body = || Body::Draft {
            conversation_id,
            text: text.to_string(),
        };
        if let Some(payload) = self.payload(body()) {
            if payload.len() <= MAX_NOTIFICATION_BYTES {
                if let Err(err) = self.store.notify(&payload).await {
                    tracing::debug!(%err, "other instances will not hear of a draft");
                }
            }
        }
    }

    /// Tells the other instances to retrain: this one has been asked already.
    pub(crate) async fn knowledge_changed(&self) {
        self.share(Body::KnowledgeChanged, Body::KnowledgeChanged)
            .await;
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// Completes when a reply was queued for a channel since the last call.
    pub(crate) async fn outbox_queued(&self) {
        self.outbox_queued.notified().await;
    }

    fn local(&self, event: Event) {
        if let Event::Message { message } = &event {
            if message.delivery == frontdesk_core::DeliveryState::Pending {
                self.outbox_queued.notify_one();
            }
        }
        // No subscriber is the common case (nobody has the inbox open), not an error.
        let _ = self.sender.send(event);
    }

    /// Sends the event to the other instances: whole when it fits, by id otherwise.
    async fn share(&self, whole: Body, by_id: Body) {
        let mut payload = self.payload(whole);
        if payload
            .as_ref()
            .is_some_and(|p| p.len() > MAX_NOTIFICATION_BYTES)
        {
            payload = self.payload(by_id);
        }
        let Some(payload) = payload else { return };
        // The row is stored, and the instance's own subscribers have heard of it; the
        // others will see it on their next fetch.
        if let Err(err) = self.store.notify(&payload).await {
            tracing::warn!(%err, "other instances will not hear of an event live");
        }
    }

    fn payload(&self, body: Body) -> Option<String> {
        let wire = Wire {
            origin: self.origin.clone(),
            event: body,
        };
        match serde_json::to_string(&wire) {
            Ok(payload) => Some(payload),
            Err(err) => {
                tracing::error!(%err, "an event cannot be written as JSON");
                None
            }
        }
    }

    /// Puts what other instances publish on this instance's broadcast until `stop` is
    /// cancelled. `ready` is told once the first attempt to listen is over (whether it
    /// succeeded or not), so that the server can start serving only then.
    pub(crate) async fn relay(&self, stop: CancellationToken, ready: oneshot::Sender<()>) {
        let mut ready = Some(ready);
        let mut retry = RETRY_FIRST;
        let mut listener = loop {
            let attempt = tokio::select! {
                () = stop.cancelled() => return,
                attempt = self.store.listen() => attempt,
            };
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            match attempt {
                Ok(listener) => break listener,
                Err(err) => {
                    tracing::warn!(
                        %err,
                        retry_ms = retry.as_millis() as u64,
                        "cannot hear other instances' events yet; trying again"
                    );
                    if wait_or_stop(&stop, &mut retry).await {
                        return;
                    }
                }
            }
        };
        if retry != RETRY_FIRST {
            tracing::info!("hearing other instances' events again");
            // Whatever happened before the listener opened was not heard.
            self.local(Event::Missed);
            retry = RETRY_FIRST;
        }
        self.hear(&mut listener, &stop, &mut retry).await;
        listener.close().await;
    }

    async fn hear(&self, listener: &mut Listener, stop: &CancellationToken, retry: &mut Duration) {
        loop {
            let notice = tokio::select! {
                () = stop.cancelled() => return,
                notice = listener.recv() => notice,
            };
            match notice {
                Ok(Notice::Payload(payload)) => {
                    *retry = RETRY_FIRST;
                    self.deliver(&payload).await;
                }
                Ok(Notice::Missed) => {
                    *retry = RETRY_FIRST;
                    tracing::info!(
                        "events from other instances may have been missed; \
                         telling subscribers to fetch again"
                    );
                    self.local(Event::Missed);
                }
                Err(err) => {
                    tracing::warn!(
                        %err,
                        retry_ms = retry.as_millis() as u64,
                        "lost the connection that hears other instances' events; reconnecting"
                    );
                    if wait_or_stop(stop, retry).await {
                        return;
                    }
                }
            }
        }
    }

    /// Puts one notification on the broadcast, unless this instance sent it.
    async fn deliver(&self, payload: &str) {
        let wire: Wire = match serde_json::from_str(payload) {
            Ok(wire) => wire,
            Err(err) => {
                // Another version of Frontdesk on the same database, most likely.
                tracing::warn!(%err, bytes = payload.len(), "an event from another instance \
                    cannot be read; telling subscribers to fetch again");
                self.local(Event::Missed);
                return;
            }
        };
        if wire.origin == self.origin {
            return;
        }
        if let Body::KnowledgeChanged = wire.event {
            self.knowledge_changed.notify_one();
            return;
        }
        match self.resolve(wire.event).await {
            Ok(Some(event)) => self.local(event),
            // Deleted in the meantime: nothing to tell.
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "an event from another instance cannot be read from \
                    the store; telling subscribers to fetch again");
                self.local(Event::Missed);
            }
        }
    }

    async fn resolve(&self, body: Body) -> Result<Option<Event>, frontdesk_store::StoreError> {
        Ok(match body {
            Body::Message { message } => Some(Event::Message { message }),
            Body::Conversation { conversation } => Some(Event::Conversation { conversation }),
            Body::MessageId {
                conversation_id,
                message_id,
            } => self
                .store
                .messages(
                    conversation_id,
                    Some(message_id.saturating_sub(1)),
                    Readers::Team,
                )
                .await?
                .into_iter()
                .find(|message| message.id == message_id)
                .map(|message| Event::Message {
                    message: Box::new(message),
                }),
            Body::ConversationId { conversation_id } => self
                .store
                .conversation(conversation_id)
                .await?
                .map(|conversation| Event::Conversation { conversation }),
            Body::Draft {
                conversation_id,
                text,
            } => Some(Event::Draft {
                conversation_id,
                text,
            }),
            // Handled before anything is read: it is not for subscribers.
            Body::KnowledgeChanged => None,
        })
    }
}

/// Waits out `retry` (doubling it for next time); true when `stop` came first.
async fn wait_or_stop(stop: &CancellationToken, retry: &mut Duration) -> bool {
    let wait = *retry;
    *retry = (*retry * 2).min(RETRY_LONGEST);
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(wait) => false,
    }
}
