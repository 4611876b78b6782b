//! One turn of a conversation: the customer's message in, the assistant's reply out.
//!
//! A turn stores the customer's message before anything else, so nothing the customer
//! was told had arrived can be lost. The turns of one conversation are serialised by a
//! per-conversation lock, so two messages sent together get two complete turns in
//! order, never two assistant replies computed side by side, even when they arrive at
//! two instances serving one PostgreSQL database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use frontdesk_core::{
    Author, Channel, Conversation, ConversationStatus, Decision, DecisionKind, DeliveryState,
    Message, NewMessage, Reason, StatusChange, Visibility,
};
use frontdesk_knowledge::{shows_buying_intent, PreviousTurn};
use frontdesk_store::{ConversationLock, GenerationRecord, Readers, Store};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::error::ApiError;
use crate::hours::{handoff_notice, typical_wait};
use crate::phrasing;
use crate::AppState;

/// How many of the customer's latest messages the handoff summary quotes, and how
/// long each quote may be: enough for an agent to see the request at a glance.
const SUMMARY_MESSAGES: usize = 3;
const SUMMARY_CHARS_PER_MESSAGE: usize = 160;

/// How many of the latest answered handoffs the quoted wait is measured over.
const RECENT_HANDOFFS: u32 = 50;

/// A message sent longer than this after the one before it is read on its own: a
/// customer coming back the next day starts a new question.
const FOLLOW_UP_WINDOW_MS: i64 = 30 * 60 * 1000;

/// What a turn produced.
pub(crate) struct Turn {
    pub conversation: Conversation,
    pub customer: Message,
    /// `None` while a person has the conversation: the assistant stays silent.
    pub reply: Option<Message>,
}

/// One async lock per conversation that has a turn running or waiting. Entries are
/// weak, so a conversation nobody is writing to costs nothing once its turns end.
///
/// A turn holds this process's lock first, then the store's lock on the conversation
/// (a PostgreSQL advisory lock, which holds across the instances serving one
/// database). The in-process lock keeps the turns waiting on one instance in arrival
/// order and lets only one of them at a time wait on the database.
#[derive(Default)]
pub(crate) struct TurnLocks {
    locks: Mutex<HashMap<i64, Weak<AsyncMutex<()>>>>,
}

/// Both locks on one conversation; dropping it releases them.
pub(crate) struct TurnGuard {
    // Fields drop in order: the database lock goes before the next waiter here wakes.
    shared: ConversationLock,
    _local: OwnedMutexGuard<()>,
}

impl TurnGuard {
    /// Releases both locks now, rather than when the database connection goes back to
    /// its pool.
    pub(crate) async fn release(self) {
        self.shared.release().await;
    }
}

impl TurnLocks {
    /// Waits for the turns of `conversation_id` before this one, on this instance and on
    /// any other serving the same database.
    pub(crate) async fn lock(
        &self,
        store: &Store,
        conversation_id: i64,
    ) -> Result<TurnGuard, ApiError> {
        // Tokio's mutex is fair: waiting turns run in the order their messages arrived.
        let local = self.lock_for(conversation_id).lock_owned().await;
        let shared = store.lock_conversation(conversation_id).await?;
        Ok(TurnGuard {
            shared,
            _local: local,
        })
    }

    fn lock_for(&self, conversation_id: i64) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lock) = locks.get(&conversation_id).and_then(Weak::upgrade) {
            return lock;
        }
        // Dropping dead entries only when adding keeps the map as small as the number
        // of conversations with a turn in progress, at a cost paid once per new turn.
        locks.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(AsyncMutex::new(()));
        locks.insert(conversation_id, Arc::downgrade(&lock));
        lock
    }
}

/// Runs a customer turn to its end even if the customer disconnects half-way: the turn
/// is its own task, so a dropped request cannot leave a stored question unanswered.
pub(crate) async fn customer_turn(
    state: &AppState,
    conversation_id: i64,
    text: String,
) -> Result<Turn, ApiError> {
    let state = state.clone();
    let tasks = state.tasks.clone();
    let task = tasks.spawn(async move { run_turn(&state, conversation_id, text).await });
    task.await
        .map_err(|err| ApiError::Internal(format!("a conversation turn failed: {err}")))?
}

async fn run_turn(state: &AppState, conversation_id: i64, text: String) -> Result<Turn, ApiError> {
    let turn = state.turns.lock(&state.store, conversation_id).await?;
    let outcome = locked_turn(state, conversation_id, text).await;
    turn.release().await;
    outcome
}

async fn locked_turn(
    state: &AppState,
    conversation_id: i64,
    text: String,
) -> Result<Turn, ApiError> {
    // Checked before storing, so a message the assistant cannot take yet is refused
    // whole and the widget can send it again, rather than stored and left unanswered.
    let (conversation, engine) = conversation_and_engine(
        state,
        conversation_id,
        "the assistant is still loading its knowledge; send the message again shortly",
    )
    .await?;

    let customer = state
        .store
        .append_message(&NewMessage::from_customer(conversation_id, text))
        .await?;
    state.events.message(&customer).await;
    respond(state, conversation, customer, engine, None).await
}

/// Answers a customer message that a channel's webhook has already stored, in its turn
/// after the conversation's earlier messages. Runs as a task of its own, like a widget
/// turn, so the webhook can answer the provider at once.
pub(crate) fn answer_stored(state: &AppState, customer: Message) {
    let state = state.clone();
    let tasks = state.tasks.clone();
    tasks.spawn(async move {
        let conversation_id = customer.conversation_id;
        let outcome = async {
            let turn = state.turns.lock(&state.store, conversation_id).await?;
            let outcome = async {
                // Answered already (by another instance recovering the same message after
                // a restart): nothing to do. The history is read once, for this and for
                // the answer.
                let history = state
                    .store
                    .messages(conversation_id, None, Readers::Customer)
                    .await?;
                let answered = history
                    .iter()
                    .any(|message| message.id > customer.id && message.author != Author::Customer);
                if answered {
                    return Ok(None);
                }
                let (conversation, engine) = conversation_and_engine(
                    &state,
                    conversation_id,
                    "the assistant was still loading its knowledge",
                )
                .await?;
                respond(&state, conversation, customer, engine, Some(history))
                    .await
                    .map(Some)
            }
            .await;
            turn.release().await;
            outcome
        }
        .await;
        if let Err(err) = outcome {
            // The message is stored and shows in the inbox; only the assistant's reply
            // is missing, which a person can give.
            tracing::warn!(err = ?err, conversation = conversation_id, "a channel message was not answered");
        }
    });
}

/// The conversation as it is now, read inside the turn's lock (the turn before may have
/// handed off), and the engine when the assistant is to answer in it; `not_ready` when
/// it is to answer but its knowledge is not loaded yet.
async fn conversation_and_engine(
    state: &AppState,
    conversation_id: i64,
    not_ready: &'static str,
) -> Result<(Conversation, Option<Arc<frontdesk_knowledge::Engine>>), ApiError> {
    let conversation = state
        .store
        .conversation(conversation_id)
        .await?
        .ok_or(ApiError::NotFound("no such conversation"))?;
    let engine = match conversation.status.assistant_replies() {
        true => Some(state.engine().ok_or(ApiError::NotReady(not_ready))?),
        false => None,
    };
    Ok((conversation, engine))
}

/// The assistant's part of a turn, once the customer's message is stored: notes buying
/// intent, then answers unless a person has the conversation (`engine` is `None`).
/// `history`: the conversation as the customer sees it, when the caller has read it
/// inside the turn's lock already.
async fn respond(
    state: &AppState,
    mut conversation: Conversation,
    customer: Message,
    engine: Option<Arc<frontdesk_knowledge::Engine>>,
    history: Option<Vec<Message>>,
) -> Result<Turn, ApiError> {
    let conversation_id = conversation.id;
    if shows_buying_intent(&customer.text) {
        if let Some(marked) = state.store.mark_buying_intent(conversation_id).await? {
            state.metrics.count_buying_intent();
            state.events.conversation(&marked).await;
            tracing::info!(
                conversation = conversation_id,
                "customer showed buying intent"
            );
            conversation = marked;
        }
    }
    let Some(engine) = engine else {
        return Ok(Turn {
            conversation,
            customer,
            reply: None,
        });
    };
    if conversation.status == ConversationStatus::Resolved {
        conversation = state
            .store
            .change_status(conversation_id, &StatusChange::Reopen)
            .await?;
        state.events.conversation(&conversation).await;
    }

    // A follow-up ("and how long does that take?") is read with the turn before it.
    let history = match history {
        Some(history) => history,
        None => {
            state
                .store
                .messages(conversation_id, None, Readers::Customer)
                .await?
        }
    };
    let previous = previous_turn(&history, &customer);
    // A decision takes about a millisecond from words alone, so it runs here rather
    // than on a blocking thread.
    let decision = engine.decide_in_context(&customer.text, previous.as_ref());
    let decision = second_chance(decision, &history, &customer);
    let decision = Decision {
        sources: engine.titled(&decision.sources),
        ..decision
    };
    let phrasing = phrasing::phrase(state, &engine, decision, &customer, &history).await;
    state.metrics.count_decision(&phrasing.decision);
    let (reply, conversation) =
        reply_with(state, conversation, phrasing.decision, &history).await?;
    if let Some(usage) = phrasing.usage {
        let usage = GenerationRecord {
            message_id: Some(reply.id),
            ..usage
        };
        // The reply is stored; a lost usage row costs a figure, not the conversation.
        if let Err(err) = state.store.record_generation(&usage).await {
            tracing::warn!(%err, conversation = conversation_id, "a generated answer's usage was not stored");
        }
    }
    Ok(Turn {
        conversation,
        customer,
        reply: Some(reply),
    })
}

/// Stores the assistant's reply; on a handoff, moves the conversation to `waiting` in
/// the same transaction, with the reason and a summary for the agent.
/// `history` is the conversation as the customer sees it, their latest message included:
/// read once per turn, for the follow-up and for the handoff summary.
async fn reply_with(
    state: &AppState,
    conversation: Conversation,
    decision: Decision,
    history: &[Message],
) -> Result<(Message, Conversation), ApiError> {
    let reply = NewMessage {
        conversation_id: conversation.id,
        author: Author::Assistant,
        text: decision.text.clone(),
        sources: decision.sources.clone(),
        decision: Some(decision.clone()),
        delivery: DeliveryState::Sent,
        visibility: Visibility::Public,
        user_id: None,
    };
    if decision.kind != DecisionKind::Escalate {
        let stored = state.store.append_message(&reply).await?;
        state.events.message(&stored).await;
        return Ok((stored, conversation));
    }

    // The engine gives every handoff a reason; low confidence is the honest default.
    let reason = decision.reason.unwrap_or(Reason::LowConfidence);
    let mut reply = reply;
    if let Some(notice) = what_happens_next(state, conversation.channel).await {
        reply.text = format!("{} {notice}", reply.text);
    }
    let change = StatusChange::HandOff {
        reason,
        summary: handoff_summary(history),
    };
    let (stored, conversation) = state
        .store
        .append_message_with_change(&reply, &change)
        .await?;
    state.events.message(&stored).await;
    state.events.conversation(&conversation).await;
    tracing::info!(
        conversation = conversation.id,
        %reason,
        "handed off to a person"
    );
    Ok((stored, conversation))
}

/// When a person will reply on `channel`, as far as its business hours and recent
/// handoffs tell. A failed look at recent waits leaves the wait unsaid rather than
/// failing the handoff.
async fn what_happens_next(state: &AppState, channel: Channel) -> Option<String> {
    let handoff = &state.settings.handoff;
    let measured = match handoff.expected_wait {
        Some(_) => None,
        None => match state.store.recent_first_reply_waits(RECENT_HANDOFFS).await {
            Ok(waits) => typical_wait(waits),
            Err(err) => {
                tracing::warn!(%err, "cannot read recent reply waits; quoting none");
                None
            }
        },
    };
    handoff_notice(handoff, channel, measured, jiff::Timestamp::now())
}

/// A first unsure turn asks the customer to say it another way; the second unsure turn in
/// a row hands off. One rephrasing often gives the words the assistant knows, and costs
/// the customer less than a wait for a person; two in a row mean the assistant cannot
/// help. Rules (a person asked for, a sensitive topic) still hand off at once.
fn second_chance(decision: Decision, history: &[Message], current: &Message) -> Decision {
    let unsure = |decision: &Decision| decision.reason == Some(Reason::LowConfidence);
    if decision.kind != DecisionKind::Escalate || !unsure(&decision) {
        return decision;
    }
    let last_reply = history
        .iter()
        .rfind(|message| message.id < current.id && message.author == Author::Assistant);
    let asked_already = last_reply
        .and_then(|message| message.decision.as_ref())
        .is_some_and(|previous| previous.kind == DecisionKind::Clarify && unsure(previous));
    if asked_already {
        return decision;
    }
    Decision {
        kind: DecisionKind::Clarify,
        text: REPHRASE_TEXT.to_string(),
        ..decision
    }
}

/// What the assistant says on a first unsure turn.
const REPHRASE_TEXT: &str = "I'm not sure I understood that. Could you say it another way, \
     perhaps with a detail or two? If I still can't help, I'll pass you to a person.";

/// The customer's message before `current` and what the assistant answered it with,
/// when it was recent enough for `current` to be leaning on it.
fn previous_turn(history: &[Message], current: &Message) -> Option<PreviousTurn> {
    let earlier: Vec<&Message> = history.iter().filter(|m| m.id < current.id).collect();
    let position = earlier
        .iter()
        .rposition(|message| message.author == Author::Customer)?;
    let asked = earlier[position];
    if current.created_at - asked.created_at > FOLLOW_UP_WINDOW_MS {
        return None;
    }
    let answered_faq = earlier[position + 1..]
        .iter()
        .filter(|message| message.author == Author::Assistant)
        .find_map(|message| message.decision.as_ref()?.faq_id.clone());
    Some(PreviousTurn {
        customer_text: asked.text.clone(),
        answered_faq,
    })
}

/// The customer's latest messages, one per line and shortened, oldest first: what an
/// agent reads first when taking the conversation.
pub(crate) fn handoff_summary(history: &[Message]) -> String {
    let mut latest: Vec<String> = history
        .iter()
        .rev()
        .filter(|message| message.author == Author::Customer)
        .take(SUMMARY_MESSAGES)
        .map(|message| format!("Customer: {}", shorten(&message.text)))
        .collect();
    latest.reverse();
    latest.join("\n")
}

fn shorten(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(SUMMARY_CHARS_PER_MESSAGE) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, author: Author, text: &str) -> Message {
        Message {
            id,
            conversation_id: 1,
            author,
            text: text.to_string(),
            decision: None,
            sources: Vec::new(),
            delivery: DeliveryState::Sent,
            visibility: Visibility::Public,
            user_id: None,
            created_at: 0,
            attachments: Vec::new(),
            provider_message_id: None,
            sent_at: None,
            receipt: None,
            delivery_error: None,
            edited_at: None,
            subject: None,
            original_text: None,
            automated: None,
        }
    }

    #[test]
    fn the_previous_turn_is_the_customers_last_message_and_its_answer() {
        let mut answer = message(2, Author::Assistant, "Change it at any ATM.");
        answer.decision = Some(Decision {
            kind: DecisionKind::Answer,
            faq_id: Some("change_pin".to_string()),
            confidence: 0.97,
            text: answer.text.clone(),
            reason: None,
            sources: Vec::new(),
            generation: None,
        });
        let current = message(3, Author::Customer, "and how long does that take");
        let history = vec![
            message(1, Author::Customer, "how do I change my PIN"),
            answer,
            current.clone(),
        ];
        let previous = previous_turn(&history, &current).unwrap();
        assert_eq!(previous.customer_text, "how do I change my PIN");
        assert_eq!(previous.answered_faq.as_deref(), Some("change_pin"));

        // The first message has nothing before it; a message a day later starts afresh.
        assert_eq!(previous_turn(&history[..1], &history[0]), None);
        let mut next_day = current;
        next_day.created_at = 24 * 60 * 60 * 1000;
        assert_eq!(previous_turn(&history, &next_day), None);
    }

    #[test]
    fn the_summary_quotes_the_customers_latest_messages_in_order() {
        let history = vec![
            message(1, Author::Customer, "hi"),
            message(2, Author::Assistant, "Hello!"),
            message(3, Author::Customer, "my card\n never   came"),
            message(4, Author::Customer, "it's been two weeks"),
            message(5, Author::Customer, "can I talk to a person"),
        ];
        assert_eq!(
            handoff_summary(&history),
            "Customer: my card never came\nCustomer: it's been two weeks\n\
             Customer: can I talk to a person"
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(500);
        let summary = handoff_summary(&[message(1, Author::Customer, &long)]);
        assert_eq!(
            summary.chars().count(),
            "Customer: ".len() + SUMMARY_CHARS_PER_MESSAGE + 1
        );
    }

    #[test]
    fn one_lock_per_conversation_while_in_use() {
        let locks = TurnLocks::default();
        let first = locks.lock_for(7);
        assert!(Arc::ptr_eq(&first, &locks.lock_for(7)));
        assert!(!Arc::ptr_eq(&first, &locks.lock_for(8)));
        drop(first);
        let _other = locks.lock_for(9);
        let map = locks.locks.lock().unwrap();
        assert!(!map.contains_key(&7), "unused locks are dropped");
    }
}
