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

pub use frontdesk_core::KnowledgeSnapshot;

pub use catalog::{shows_buying_intent, Catalog, CatalogReply};
pub use embedding::{
    text_key, EncoderError, SentenceEncoder, SentenceVectors, SharedEncoder, VectorChanges,
};
pub use engine::{
    Assessment, Candidate, Engine, EngineError, EngineSettings, PreviousTurn, Target,
    DEFAULT_ANSWER_THRESHOLD,
};
pub use model::{held_out_from_tuning, tuning_set, ModelError, TuningSet};

/// What a build of the assistant is doing, for whoever shows it to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildProgress {
    /// A step has begun, named for a person ("training the classifier").
    Step(&'static str),
    /// Of the phrasings that have no cached sentence vector, `done` of `total` are encoded.
    /// The slow step with a model: thousands of new tickets take minutes, so it is counted.
    Encoding { done: usize, total: usize },
}
