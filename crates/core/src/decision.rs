use serde::{Deserialize, Serialize};

/// What the assistant does with one customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Reply with an answer from the knowledge base.
    Answer,
    /// Hand the conversation to a person.
    Escalate,
    /// Ask the customer a short question back.
    Clarify,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Answer => "answer",
            DecisionKind::Escalate => "escalate",
            DecisionKind::Clarify => "clarify",
        }
    }
}

/// Why the assistant escalated or asked back. Serialised in snake_case; these
/// names are part of the public JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The best candidate's confidence is below the answer threshold.
    LowConfidence,
    /// The knowledge base is empty, or nothing in it resembles the message.
    NoKnowledge,
    /// The customer asked for a person.
    PersonRequested,
    /// The customer is angry or abusive.
    AngerOrAbuse,
    /// The message touches a topic on the owner's sensitive list.
    SensitiveTopic,
    /// The message was empty.
    EmptyMessage,
    /// The message is too short to act on (a single word).
    TooShort,
    /// The message does not look like language.
    Gibberish,
    /// The message is only a greeting or thanks.
    Greeting,
    /// The answer would have promised what only a person can do (a refund, a
    /// cancellation): found by the guards of a generated answer.
    ActionNeeded,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::LowConfidence => "low_confidence",
            Reason::NoKnowledge => "no_knowledge",
            Reason::PersonRequested => "person_requested",
            Reason::AngerOrAbuse => "anger_or_abuse",
            Reason::SensitiveTopic => "sensitive_topic",
            Reason::EmptyMessage => "empty_message",
            Reason::TooShort => "too_short",
            Reason::Gibberish => "gibberish",
            Reason::Greeting => "greeting",
            Reason::ActionNeeded => "action_needed",
        }
    }

    pub const ALL: [Reason; 10] = [
        Reason::LowConfidence,
        Reason::NoKnowledge,
        Reason::PersonRequested,
        Reason::AngerOrAbuse,
        Reason::SensitiveTopic,
        Reason::EmptyMessage,
        Reason::TooShort,
        Reason::Gibberish,
        Reason::Greeting,
        Reason::ActionNeeded,
    ];
}

impl std::str::FromStr for Reason {
    type Err = crate::UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| crate::UnknownName {
                what: "reason",
                name: text.to_string(),
            })
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of knowledge a source points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Faq,
    Doc,
    Ticket,
    /// A product of the catalog, by its id (handle).
    Product,
}

impl SourceKind {
    /// The name used in JSON: `faq`, `doc`, `ticket`, `product`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Faq => "faq",
            SourceKind::Doc => "doc",
            SourceKind::Ticket => "ticket",
            SourceKind::Product => "product",
        }
    }
}

/// A piece of knowledge an answer was drawn from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    pub kind: SourceKind,
    pub id: String,
    /// What a customer or an agent reads for it: the FAQ's question, the passage's
    /// heading, the product's title. Filled in for the replies of a conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where the customer can read more, when the owner gave an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl SourceRef {
    /// A reference by kind and id alone, untitled.
    pub fn new(kind: SourceKind, id: impl Into<String>) -> Self {
        SourceRef {
            kind,
            id: id.into(),
            title: None,
            url: None,
        }
    }
}

/// The assistant's decision for one message.
///
/// Its JSON form is the public output of `frontdesk answer --batch` and of the
/// answer endpoint: `decision`, `faq_id`, `confidence`, `text`, `reason`, `sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(rename = "decision")]
    pub kind: DecisionKind,
    pub faq_id: Option<String>,
    /// Calibrated probability that the best candidate is the right answer.
    pub confidence: f64,
    /// The answer, the clarifying question, or what the customer is told on handoff.
    pub text: String,
    pub reason: Option<Reason>,
    pub sources: Vec<SourceRef>,
    /// Set when a language model was asked to phrase the answer: what became of it.
    /// Absent from the JSON otherwise, so extractive decisions read as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<GenerationNote>,
}

/// What became of a generated answer, kept with the decision for the inbox and the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationNote {
    pub model: String,
    /// `generated` (the customer got the model's text), `fell_back` (the extractive answer
    /// went instead) or `handed_off` (the answer would have promised an action).
    pub outcome: String,
    /// The guard or failure that stopped the generated text, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// From asking the model to its first token, when it said anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_ms: Option<u64>,
    pub elapsed_ms: u64,
}
