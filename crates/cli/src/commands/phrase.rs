//! Answers phrased by a language model for the one-shot commands (`ask`, `answer
//! --batch`, `eval --generate`), when one is set.

use frontdesk_core::Decision;
use frontdesk_generate::{phrase_decision, GenerationSettings, Generator, PhrasedDecision};
use frontdesk_knowledge::Engine;

/// Phrases decisions with the model the settings name, or passes them through.
pub struct Phraser {
    generator: Option<Generator>,
}

impl Phraser {
    pub fn new(settings: Option<GenerationSettings>) -> anyhow::Result<Self> {
        let generator = settings.map(Generator::new).transpose()?;
        Ok(Phraser { generator })
    }

    pub fn is_on(&self) -> bool {
        self.generator.is_some()
    }

    /// `decision` phrased for `question`, a message with no conversation before it.
    pub async fn phrase(
        &self,
        engine: &Engine,
        decision: Decision,
        question: &str,
    ) -> PhrasedDecision {
        match &self.generator {
            Some(generator) => {
                let mut quiet = |_: &str| {};
                phrase_decision(generator, engine, decision, question, &[], &mut quiet).await
            }
            None => PhrasedDecision {
                decision,
                note: None,
                usage_estimated: false,
                explanation: None,
            },
        }
    }
}
