//! A decision of the answer engine, phrased: the bridge between the engine, which decides
//! and retrieves, and the generator, which only words the answer.

use std::time::Duration;

use frontdesk_core::{Decision, DecisionKind, GenerationNote, Reason, SourceKind};
use frontdesk_knowledge::Engine;

use crate::generator::{Generator, Outcome, Phrased};
use crate::prompt::{Grounding, GroundingSource, PastTurn, RECENT_TURNS};

/// What the customer is told when the model's answer would have promised something only
/// a person can do; a server adds who replies, and when.
pub const ACTION_NEEDED_TEXT: &str = "That needs a person on our team to look at it.";

/// A decision after phrasing, and what the phrasing cost.
pub struct PhrasedDecision {
    pub decision: Decision,
    /// Set when the model was asked (the note is also in `decision.generation`).
    pub note: Option<GenerationNote>,
    /// The server sent no token counts; the note's are estimated from the text.
    pub usage_estimated: bool,
    /// Why the generated text was not used, in a sentence, when it was not.
    pub explanation: Option<String>,
}

impl PhrasedDecision {
    fn unchanged(decision: Decision) -> Self {
        PhrasedDecision {
            decision,
            note: None,
            usage_estimated: false,
            explanation: None,
        }
    }
}

/// Phrases `decision` when it is an answer with sources; anything else is returned as
/// it is. `history` is the conversation before `question`, oldest first. `on_release`
/// hears the text released so far, sentence by sentence.
pub async fn phrase_decision(
    generator: &Generator,
    engine: &Engine,
    decision: Decision,
    question: &str,
    history: &[PastTurn],
    on_release: &mut (dyn FnMut(&str) + Send),
) -> PhrasedDecision {
    if decision.kind != DecisionKind::Answer || decision.sources.is_empty() {
        return PhrasedDecision::unchanged(decision);
    }
    let grounding = grounding(engine, &decision, question, history);
    let phrased = generator.phrase(&grounding, on_release).await;
    let note = note(generator, &phrased);
    let explanation = phrased.explanation();
    let usage_estimated = phrased.usage_estimated;

    let decision = match phrased.outcome {
        Outcome::Generated { text, sources } => Decision {
            text,
            sources: engine.titled(&sources),
            generation: Some(note.clone()),
            ..decision
        },
        Outcome::FellBack(_) => Decision {
            generation: Some(note.clone()),
            ..decision
        },
        Outcome::HandOff(_) => Decision {
            kind: DecisionKind::Escalate,
            reason: Some(Reason::ActionNeeded),
            text: ACTION_NEEDED_TEXT.to_string(),
            generation: Some(note.clone()),
            ..decision
        },
    };
    PhrasedDecision {
        decision,
        note: Some(note),
        usage_estimated,
        explanation,
    }
}

/// The sources the model may use: what each of the decision's sources says. Past tickets
/// are other customers' words and stay out; a product's facts are the catalog's reply
/// itself, which the decision carries.
fn grounding(
    engine: &Engine,
    decision: &Decision,
    question: &str,
    history: &[PastTurn],
) -> Grounding {
    let sources = decision
        .sources
        .iter()
        .filter(|source| source.kind != SourceKind::Ticket)
        .map(|source| GroundingSource {
            reference: source.clone(),
            title: engine
                .source_title(source)
                .unwrap_or_else(|| source.id.clone()),
            text: engine
                .source_text(source)
                .unwrap_or_else(|| decision.text.clone()),
        })
        .collect();
    let skip = history.len().saturating_sub(RECENT_TURNS);
    Grounding {
        question: question.to_string(),
        recent_turns: history[skip..].to_vec(),
        sources,
    }
}

fn note(generator: &Generator, phrased: &Phrased) -> GenerationNote {
    GenerationNote {
        model: generator.settings().model.clone(),
        outcome: phrased.outcome_name().to_string(),
        cause: phrased.cause().map(str::to_string),
        prompt_tokens: phrased.usage.prompt_tokens,
        completion_tokens: phrased.usage.completion_tokens,
        first_token_ms: phrased.first_token.map(millis),
        elapsed_ms: millis(phrased.elapsed),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
