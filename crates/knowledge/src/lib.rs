//! Frontdesk's knowledge: importers, normalisation, lexical retrieval, the
//! intent classifier, confidence calibration and the answer decision.

pub mod calibrate;
pub mod catalog;
pub mod classifier;
pub mod embedding;
mod engine;
pub mod eval;
pub mod features;
pub mod import;
pub mod index;
mod model;
pub mod normalize;
pub mod rules;
mod text;

use frontdesk_core::{DocPassage, FaqEntry, Ticket};

pub use catalog::{shows_buying_intent, Catalog, CatalogReply};
pub use embedding::{EncoderError, SentenceEncoder, SharedEncoder};
pub use engine::{
    Assessment, Candidate, Engine, EngineError, EngineSettings, PreviousTurn, Target,
    DEFAULT_ANSWER_THRESHOLD,
};
pub use model::ModelError;

/// Everything the store holds that the assistant learns from.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeSnapshot {
    pub faqs: Vec<FaqEntry>,
    pub tickets: Vec<Ticket>,
    pub passages: Vec<DocPassage>,
}
