use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One question the business answers, with the answer it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    /// Stable id chosen by the owner; importing the same id again updates the entry.
    pub id: String,
    pub question: String,
    pub answer: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A past customer message and how it was resolved. Tickets are the labelled
/// examples the assistant learns customers' real phrasings from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Given by the import file, or derived from the message text so that
    /// importing the same file twice does not duplicate it.
    pub id: String,
    pub message: String,
    /// The FAQ that answered it; `None` when a person handled it and no FAQ fits.
    pub faq_id: Option<String>,
    /// What the person replied, when the export has it.
    pub answer: Option<String>,
}

/// One section of an uploaded document (a policy, a guide), split at headings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPassage {
    /// `<document>#<n>`: the document's path as imported and the passage's position.
    pub id: String,
    /// The document's path as given to the importer, relative where possible.
    pub document: String,
    /// The heading the passage sits under (the document's title when it has none).
    pub title: String,
    pub text: String,
}

/// The kinds of knowledge the store keeps, as named in stats and sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeKind {
    Faq,
    Ticket,
    Doc,
    Product,
}

impl KnowledgeKind {
    pub const ALL: [KnowledgeKind; 4] = [
        KnowledgeKind::Faq,
        KnowledgeKind::Ticket,
        KnowledgeKind::Doc,
        KnowledgeKind::Product,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeKind::Faq => "faq",
            KnowledgeKind::Ticket => "ticket",
            KnowledgeKind::Doc => "doc",
            KnowledgeKind::Product => "product",
        }
    }
}

impl std::fmt::Display for KnowledgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sentence vectors of texts already encoded, by a hash of the text, all from one model. The
/// store keeps them, so that a rebuild encodes only the texts that are new or changed,
/// and a deleted index, or a second server on the same database, encodes nothing twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentenceVectors {
    /// The encoder's model name: another model's vectors are never reused.
    pub model: String,
    pub vectors: HashMap<u64, Vec<f32>>,
}

impl SentenceVectors {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            vectors: HashMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }
}

/// What a build changes among the stored vectors, for its caller to write back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorChanges {
    /// The vectors the build encoded.
    pub encoded: SentenceVectors,
    /// Keys of stored vectors the build did not use: texts deleted or reworded since.
    pub unused: Vec<u64>,
}

impl VectorChanges {
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty() && self.unused.is_empty()
    }
}

/// Everything the store holds that the assistant learns from.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeSnapshot {
    pub faqs: Vec<FaqEntry>,
    pub tickets: Vec<Ticket>,
    pub passages: Vec<DocPassage>,
    /// Sentence vectors computed before, for the encoder the build uses: only texts
    /// without one are encoded. Empty is always correct, only slower.
    pub sentence_vectors: SentenceVectors,
}
