//! Generated answers, when the owner has set a model: the engine's decision to answer is
//! phrased from the sources it retrieved (see `frontdesk_generate`), streamed to the
//! customer's widget as the guards release it, counted, and its usage stored.

use frontdesk_core::{Author, Decision, Message};
use frontdesk_generate::{phrase_decision, PastTurn};
use frontdesk_knowledge::Engine;
use frontdesk_store::GenerationRecord;

use crate::AppState;

/// A phrased decision and the usage row to store once the reply has its id.
pub(crate) struct Phrasing {
    pub decision: Decision,
    pub usage: Option<GenerationRecord>,
}

/// Phrases the reply to `customer`'s message when a model is set, streaming drafts to
/// the conversation. `history` is what the customer has seen of the conversation; the
/// turns before `customer` go to the model.
pub(crate) async fn phrase(
    state: &AppState,
    engine: &Engine,
    decision: Decision,
    customer: &Message,
    history: &[Message],
) -> Phrasing {
    if state.generator.is_none() {
        return Phrasing {
            decision,
            usage: None,
        };
    }
    let earlier = history
        .iter()
        .filter(|message| message.id < customer.id)
        .map(|message| PastTurn {
            from_customer: message.author == Author::Customer,
            text: message.text.clone(),
        })
        .collect();
    let conversation = Some(customer.conversation_id);
    phrase_with(
        state,
        engine,
        decision,
        &customer.text,
        earlier,
        conversation,
    )
    .await
}

/// Phrases an answer to a message with no conversation (the stateless answer endpoint).
pub(crate) async fn phrase_alone(
    state: &AppState,
    engine: &Engine,
    decision: Decision,
    question: &str,
) -> Phrasing {
    phrase_with(state, engine, decision, question, Vec::new(), None).await
}

/// `conversation_id` is where drafts go, when there is a conversation.
async fn phrase_with(
    state: &AppState,
    engine: &Engine,
    decision: Decision,
    question: &str,
    history: Vec<PastTurn>,
    conversation_id: Option<i64>,
) -> Phrasing {
    let Some(generator) = state.generator.as_ref() else {
        return Phrasing {
            decision,
            usage: None,
        };
    };
    let phrased = match conversation_id {
        Some(id) => {
            // Drafts go through a channel so that a slow listener never holds up the
            // model's stream.
            let (drafts, mut pending) = tokio::sync::mpsc::unbounded_channel::<String>();
            let generate = async move {
                let mut on_release = |text: &str| {
                    // The receiver outlives this future: the send cannot fail.
                    let _ = drafts.send(text.to_string());
                };
                phrase_decision(
                    generator,
                    engine,
                    decision,
                    question,
                    &history,
                    &mut on_release,
                )
                .await
            };
            let forward = async {
                while let Some(text) = pending.recv().await {
                    state.events.draft(id, &text).await;
                }
            };
            tokio::join!(generate, forward).0
        }
        None => {
            let mut quiet = |_: &str| {};
            phrase_decision(generator, engine, decision, question, &history, &mut quiet).await
        }
    };

    let Some(note) = &phrased.note else {
        return Phrasing {
            decision: phrased.decision,
            usage: None,
        };
    };
    state.metrics.count_generation(note);
    if let Some(why) = &phrased.explanation {
        tracing::info!(
            conversation = conversation_id,
            outcome = note.outcome,
            cause = note.cause.as_deref().unwrap_or(""),
            "the generated answer was not used: {why}"
        );
    }
    let usage = GenerationRecord {
        conversation_id,
        message_id: None,
        model: note.model.clone(),
        outcome: note.outcome.clone(),
        cause: note.cause.clone(),
        prompt_tokens: note.prompt_tokens,
        completion_tokens: note.completion_tokens,
        estimated: phrased.usage_estimated,
    };
    Phrasing {
        decision: phrased.decision,
        usage: Some(usage),
    }
}
