//! The engine with a sentence encoder: it reads by meaning where words
//! differ, remembers which encoder built its index, encodes each text once
//! across rebuilds, and hands off when the encoder fails.
//!
//! The encoder here maps words to a few concepts by a fixed table, so that
//! "parcel" and "card" mean the same to it; the real neural encoder is
//! tested in its own crate.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

mod common;

use common::faq;
use frontdesk_core::{DecisionKind, Reason, Ticket};
use frontdesk_knowledge::{
    text_key, EncoderError, Engine, EngineSettings, KnowledgeSnapshot, SentenceEncoder,
    SharedEncoder,
};

const CONCEPTS: &[&[&str]] = &[
    &["card", "parcel", "plastic"],
    &["arrived", "came", "delivered", "showed", "here"],
    &["top", "money", "funds", "balance", "load"],
    &["pin", "code", "number"],
    &["weather", "rain", "sunny"],
];

struct ConceptEncoder {
    name: &'static str,
    encoded: AtomicUsize,
    broken: AtomicBool,
}

impl ConceptEncoder {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            encoded: AtomicUsize::new(0),
            broken: AtomicBool::new(false),
        })
    }
}

impl SentenceEncoder for ConceptEncoder {
    fn model_name(&self) -> &str {
        self.name
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(EncoderError("the model file is gone".into()));
        }
        self.encoded.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts.iter().map(|t| concepts(t)).collect())
    }
}

fn concepts(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0f32; CONCEPTS.len() + 1];
    for word in text.to_lowercase().split(|c: char| !c.is_alphanumeric()) {
        match CONCEPTS.iter().position(|words| words.contains(&word)) {
            Some(concept) => vector[concept] += 1.0,
            None if !word.is_empty() => vector[CONCEPTS.len()] += 0.1,
            None => {}
        }
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    vector.iter().map(|x| x / norm).collect()
}

fn snapshot() -> KnowledgeSnapshot {
    let phrasings: &[(Option<&str>, &[&str])] = &[
        (
            Some("card_arrival"),
            &[
                "my card has not arrived",
                "where is my new card",
                "card not delivered yet",
                "the card never showed up",
            ],
        ),
        (
            Some("top_up"),
            &[
                "how do i top up my account",
                "add money to my balance",
                "top up with a transfer",
                "put funds in the app",
            ],
        ),
        (
            Some("change_pin"),
            &[
                "how do i change my pin",
                "i want a new pin",
                "reset the pin of my card",
                "update my pin",
            ],
        ),
        (
            None,
            &["what is the weather today", "will it rain tomorrow"],
        ),
    ];
    let mut tickets = Vec::new();
    for (faq_id, messages) in phrasings {
        for message in *messages {
            tickets.push(Ticket {
                id: format!("t{}", tickets.len()),
                message: (*message).into(),
                faq_id: faq_id.map(str::to_string),
                answer: None,
            });
        }
    }
    KnowledgeSnapshot {
        faqs: vec![
            faq(
                "card_arrival",
                "Where is my card?",
                "Cards arrive within 5 days.",
            ),
            faq("top_up", "How do I top up?", "Top up from the app."),
            faq("change_pin", "How do I change my PIN?", "At any ATM."),
        ],
        tickets,
        passages: Vec::new(),
        ..Default::default()
    }
}

fn settings(encoder: Option<SharedEncoder>) -> EngineSettings {
    let settings = EngineSettings::new(0.0, frontdesk_knowledge::rules::default_sensitive_topics())
        .expect("default rules compile");
    match encoder {
        Some(encoder) => settings.with_encoder(encoder),
        None => settings,
    }
}

/// The engine trained in memory on [`snapshot`], reading with `encoder`.
fn in_memory(encoder: &Arc<ConceptEncoder>) -> Engine {
    let encoder: SharedEncoder = encoder.clone();
    Engine::build(None, snapshot(), "r1", settings(Some(encoder)), &|_| {})
        .expect("builds in memory")
}

#[test]
fn a_paraphrase_without_shared_words_is_answered_by_meaning() {
    let encoder = ConceptEncoder::new("concepts");
    let engine = in_memory(&encoder);

    let decision = engine.decide("the parcel plastic never came");
    assert_eq!(decision.kind, DecisionKind::Answer);
    assert_eq!(decision.faq_id.as_deref(), Some("card_arrival"));
}

#[test]
fn the_index_remembers_its_encoder_and_encodes_each_text_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("index");
    let encoder = ConceptEncoder::new("concepts");
    let shared: SharedEncoder = encoder.clone();

    let mut built = Engine::build(
        Some(&index),
        snapshot(),
        "r1",
        settings(Some(shared.clone())),
        &|_| {},
    )
    .expect("builds");
    let first_build = encoder.encoded.load(Ordering::SeqCst);
    assert_eq!(first_build, 3 + 14, "every FAQ question and ticket once");
    // What the store keeps between builds.
    let changes = built.take_vector_changes();
    assert!(changes.unused.is_empty());
    let stored = changes.encoded;
    assert_eq!(stored.model, "concepts");
    assert_eq!(stored.len(), 3 + 14);
    assert!(built.take_vector_changes().is_empty(), "taken once");

    let same = Engine::load(&index, "r1", settings(Some(shared.clone()))).expect("loads");
    assert!(same.is_some(), "the same encoder reuses the index");
    let without = Engine::load(&index, "r1", settings(None)).expect("loads");
    assert!(
        without.is_none(),
        "an index built with an encoder is rebuilt without one"
    );
    let other: SharedEncoder = ConceptEncoder::new("other-model");
    let changed = Engine::load(&index, "r1", settings(Some(other))).expect("loads");
    assert!(changed.is_none(), "another encoder rebuilds the index");

    let mut grown = snapshot();
    grown.tickets.push(Ticket {
        id: "t-new".into(),
        message: "my code does not work".into(),
        faq_id: Some("change_pin".into()),
        answer: None,
    });
    grown.sentence_vectors = stored.clone();
    let grown_again = grown.clone();
    let before = encoder.encoded.load(Ordering::SeqCst);
    let mut rebuilt = Engine::build(
        Some(&index),
        grown,
        "r2",
        settings(Some(shared.clone())),
        &|_| {},
    )
    .expect("rebuilds");
    assert_eq!(
        encoder.encoded.load(Ordering::SeqCst) - before,
        1,
        "a rebuild encodes only the new ticket"
    );
    let changes = rebuilt.take_vector_changes();
    assert_eq!(
        changes.encoded.len(),
        1,
        "only the new ticket's vector goes to the store"
    );
    let new_key = text_key("my code does not work");
    assert!(changes.encoded.vectors.contains_key(&new_key));
    assert!(changes.unused.is_empty());

    // The ticket reworded: its old vector is no longer used, and the store is told so.
    let mut reworded = grown_again;
    let last = reworded.tickets.last_mut().expect("the new ticket");
    last.message = "my code stopped working".into();
    let vectors = &mut reworded.sentence_vectors.vectors;
    vectors.extend(changes.encoded.vectors);
    let mut rebuilt = Engine::build(
        None,
        reworded,
        "r3",
        settings(Some(shared.clone())),
        &|_| {},
    )
    .expect("rebuilds");
    let changes = rebuilt.take_vector_changes();
    assert_eq!(changes.unused, [new_key]);
    assert_eq!(changes.encoded.len(), 1);

    // Vectors of another model are never used: everything is encoded again.
    let other = ConceptEncoder::new("other-model");
    let mut foreign = snapshot();
    foreign.sentence_vectors = stored;
    Engine::build(None, foreign, "r3", settings(Some(other.clone())), &|_| {}).expect("builds");
    assert_eq!(other.encoded.load(Ordering::SeqCst), 3 + 14);
}

#[test]
fn an_encoder_failing_at_question_time_hands_off() {
    let encoder = ConceptEncoder::new("concepts");
    let engine = in_memory(&encoder);
    encoder.broken.store(true, Ordering::SeqCst);

    // Any threshold above zero: the confidence of an unreadable message is 0.
    let assessment = engine.assess("my card has not arrived");
    let decision = engine.decision(&assessment, 0.01);
    assert_eq!(decision.kind, DecisionKind::Escalate);
    assert_eq!(decision.reason, Some(Reason::LowConfidence));
}

#[test]
fn an_evaluation_times_the_encoder_apart_from_the_whole_decision() {
    let cases = [
        ("my parcel came", Some("card_arrival")),
        ("hello", None),
        ("talk to a human", None),
    ]
    .map(|(message, expected)| frontdesk_knowledge::eval::EvalCase {
        message: message.to_string(),
        expected: expected.map(str::to_string),
        reference: None,
    });

    let encoder = ConceptEncoder::new("concepts");
    let engine = in_memory(&encoder);
    let before = encoder.encoded.load(Ordering::SeqCst);
    let report = frontdesk_knowledge::eval::evaluate(&engine, &cases, &|_| {});
    assert_eq!(
        encoder.encoded.load(Ordering::SeqCst) - before,
        1,
        "only the question is encoded; the greeting and the request for a person are settled"
    );
    let encoding = report.embedding_latency.expect("timed with an encoder");
    assert!(encoding.median_ms > 0.0);
    assert!(encoding.max_ms <= report.latency.max_ms);

    let lexical = Engine::build(None, snapshot(), "r1", settings(None), &|_| {}).expect("builds");
    let report = frontdesk_knowledge::eval::evaluate(&lexical, &cases, &|_| {});
    assert!(report.embedding_latency.is_none());
}
