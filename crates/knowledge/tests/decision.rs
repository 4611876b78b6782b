//! Each kind of decision the engine makes, on a small knowledge base built in
//! memory: answers cite their FAQ, and every rule and clarification fires
//! with its reason.

mod common;

use common::faq;
use frontdesk_core::{DecisionKind, Reason, SourceKind, Ticket};
use frontdesk_knowledge::rules::SensitiveTopic;
use frontdesk_knowledge::{Engine, EngineSettings, KnowledgeSnapshot, PreviousTurn};

fn ticket(n: usize, message: &str, faq_id: Option<&str>) -> Ticket {
    Ticket {
        id: format!("t{n}"),
        message: message.into(),
        faq_id: faq_id.map(str::to_string),
        answer: None,
    }
}

fn snapshot() -> KnowledgeSnapshot {
    let phrasings: &[(&str, &[&str])] = &[
        (
            "card_arrival",
            &[
                "my card has not arrived",
                "where is my new card",
                "still waiting for my card to come",
                "the card you sent never showed up",
                "how long until my card is delivered",
                "card not here yet",
            ],
        ),
        (
            "top_up",
            &[
                "how do i top up my account",
                "add money to my balance",
                "can i top up with a bank transfer",
                "ways to put funds in my account",
                "top up using my debit card",
                "load money onto the app",
            ],
        ),
        (
            "change_pin",
            &[
                "how do i change my pin",
                "i want a new pin number",
                "reset the pin on my card",
                "where can i update my pin",
                "forgot my pin and need to change it",
                "pin change at an atm",
            ],
        ),
    ];
    let mut tickets = Vec::new();
    for (faq_id, messages) in phrasings {
        for message in *messages {
            tickets.push(ticket(tickets.len(), message, Some(faq_id)));
        }
    }
    KnowledgeSnapshot {
        faqs: vec![
            faq(
                "card_arrival",
                "Where is my card?",
                "Cards arrive within 5 working days.",
            ),
            faq(
                "top_up",
                "How do I top up?",
                "Top up from the app with a card or transfer.",
            ),
            faq(
                "change_pin",
                "How do I change my PIN?",
                "Change your PIN at any ATM.",
            ),
        ],
        tickets,
        passages: Vec::new(),
        ..Default::default()
    }
}

fn engine(threshold: f64) -> Engine {
    let settings = EngineSettings::new(
        threshold,
        frontdesk_knowledge::rules::default_sensitive_topics(),
    )
    .expect("default rules compile");
    Engine::build(None, snapshot(), "test", settings, &|_| {}).expect("builds in memory")
}

#[test]
fn a_known_question_is_answered_with_its_faq_as_source() {
    let decision = engine(0.0).decide("My card still has not arrived, where is it?");
    assert_eq!(decision.kind, DecisionKind::Answer);
    assert_eq!(decision.faq_id.as_deref(), Some("card_arrival"));
    assert_eq!(decision.text, "Cards arrive within 5 working days.");
    assert_eq!(decision.sources[0].kind, SourceKind::Faq);
    assert_eq!(decision.sources[0].id, "card_arrival");
    assert!((0.0..=1.0).contains(&decision.confidence));
}

#[test]
fn below_the_threshold_it_hands_off_instead_of_guessing() {
    let decision = engine(1.0).decide("My card still has not arrived, where is it?");
    assert_eq!(decision.kind, DecisionKind::Escalate);
    assert_eq!(decision.reason, Some(Reason::LowConfidence));
    assert_eq!(decision.faq_id, None);
    assert!(decision.sources.is_empty());
}

#[test]
fn asking_for_a_person_escalates_even_with_an_easy_question() {
    let engine = engine(0.0);
    for message in [
        "How do I top up? I want to talk to a human",
        "agent please",
        "¿Puedo hablar con una persona?",
        "Je veux parler à un conseiller",
        "Ich möchte mit einem Mitarbeiter sprechen",
        "Quero falar com um atendente",
    ] {
        let decision = engine.decide(message);
        assert_eq!(decision.kind, DecisionKind::Escalate, "{message}");
        assert_eq!(decision.reason, Some(Reason::PersonRequested), "{message}");
    }
}

#[test]
fn sensitive_topics_and_abuse_escalate() {
    let engine = engine(0.0);
    let legal = engine.decide("I will get my lawyer involved if my card does not arrive");
    assert_eq!(legal.reason, Some(Reason::SensitiveTopic));
    let abuse = engine.decide("you are useless, stupid bot");
    assert_eq!(abuse.reason, Some(Reason::AngerOrAbuse));
}

#[test]
fn owner_topics_are_honoured() {
    let topics = vec![SensitiveTopic {
        name: "fraud".into(),
        phrases: vec!["fraud".into()],
    }];
    let settings = EngineSettings::new(0.0, topics).expect("compiles");
    let engine = engine(0.0).with_settings(settings);
    let decision = engine.decide("I think there is fraud on my card top up");
    assert_eq!(decision.reason, Some(Reason::SensitiveTopic));
}

#[test]
fn empty_short_greeting_and_gibberish_messages_are_asked_back() {
    let engine = engine(0.0);
    let cases = [
        ("", Reason::EmptyMessage),
        ("   ?! ", Reason::EmptyMessage),
        ("card", Reason::TooShort),
        ("Hi there!", Reason::Greeting),
        ("asdfgh qwrtzp", Reason::Gibberish),
    ];
    for (message, reason) in cases {
        let decision = engine.decide(message);
        assert_eq!(decision.kind, DecisionKind::Clarify, "{message:?}");
        assert_eq!(decision.reason, Some(reason), "{message:?}");
        assert!(!decision.text.is_empty());
    }
}

#[test]
fn text_in_another_script_goes_to_a_person_instead_of_being_asked_back() {
    let engine = engine(0.9);
    // "My card does not work" in Russian and Arabic, "I lost my card" in Chinese: no
    // knowledge in those languages, so no confident answer, and a request to rephrase
    // would not help either.
    for message in ["Моя карта не работает", "بطاقتي لا تعمل", "我的卡丢了"]
    {
        let decision = engine.decide(message);
        assert_eq!(
            decision.kind,
            DecisionKind::Escalate,
            "{message:?}: {decision:?}"
        );
    }
    // Accented Latin letters are still read as the languages the rules know.
    let decision = engine.decide("qwrtzé asdfgh");
    assert_eq!(decision.reason, Some(Reason::Gibberish), "{decision:?}");
}

#[test]
fn with_no_knowledge_it_escalates() {
    let settings = EngineSettings::default();
    let engine = Engine::build(
        None,
        KnowledgeSnapshot::default(),
        "empty",
        settings,
        &|_| {},
    )
    .expect("an empty knowledge base builds");
    let decision = engine.decide("where is my card?");
    assert_eq!(decision.kind, DecisionKind::Escalate);
    assert_eq!(decision.reason, Some(Reason::NoKnowledge));
}

#[test]
fn saved_index_is_reloaded_and_a_new_revision_is_stale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("index");
    let settings = EngineSettings::default();
    let built = Engine::build(Some(&index), snapshot(), "rev-1", settings.clone(), &|_| {})
        .expect("builds on disk");
    let loaded = Engine::load(&index, "rev-1", settings.clone())
        .expect("readable")
        .expect("same revision loads");
    let message = "how can I add money to my account";
    assert_eq!(built.decide(message), loaded.decide(message));
    assert!(Engine::load(&index, "rev-2", settings)
        .expect("readable")
        .is_none());
}

#[test]
fn a_question_covered_by_a_document_is_answered_from_its_passage() {
    use frontdesk_core::DocPassage;
    let passage = |n: usize, title: &str, text: &str| DocPassage {
        id: format!("policies.md#{n}"),
        document: "policies.md".into(),
        title: title.into(),
        text: text.into(),
    };
    let snapshot = KnowledgeSnapshot {
        faqs: Vec::new(),
        tickets: Vec::new(),
        passages: vec![
            passage(
                1,
                "Returns",
                "You can return any unused item within 30 days for a refund.",
            ),
            passage(
                2,
                "Shipping",
                "Orders ship within two working days from our warehouse.",
            ),
        ],
        ..Default::default()
    };
    let engine = Engine::build(None, snapshot, "docs", EngineSettings::default(), &|_| {})
        .expect("builds from documents alone");

    let decision = engine.decide("Can I return an unused item for a refund?");
    assert_eq!(decision.kind, DecisionKind::Answer, "{decision:?}");
    assert_eq!(decision.faq_id, None);
    assert_eq!(decision.sources[0].kind, SourceKind::Doc);
    assert_eq!(decision.sources[0].id, "policies.md#1");
    assert!(decision.text.contains("30 days"));

    // Words the documents do not have are not answered from them.
    let unrelated = engine.decide("Do you sell gift vouchers for birthdays?");
    assert_eq!(unrelated.kind, DecisionKind::Escalate, "{unrelated:?}");
}

#[test]
fn a_damaged_model_file_is_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("index");
    let settings = EngineSettings::default();
    Engine::build(Some(&index), snapshot(), "rev-1", settings.clone(), &|_| {})
        .expect("builds on disk");

    // Random bytes that decode as absurd lengths must not reach the allocator.
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(index.join("model.bin"), garbage).expect("overwrite");
    let loaded = Engine::load(&index, "rev-1", settings).expect("a damaged file is not an error");
    assert!(loaded.is_none(), "a damaged model means: rebuild");
}

#[test]
fn without_tickets_the_faq_question_itself_is_answered() {
    let mut knowledge = snapshot();
    knowledge.tickets.clear();
    let engine = Engine::build(
        None,
        knowledge,
        "faq-only",
        EngineSettings::default(),
        &|_| {},
    )
    .expect("builds from FAQ entries alone");
    let decision = engine.decide("How do I change my PIN?");
    assert_eq!(decision.kind, DecisionKind::Answer, "{decision:?}");
    assert_eq!(decision.faq_id.as_deref(), Some("change_pin"));
    let unrelated = engine.decide("Do you sell gift vouchers for birthdays?");
    assert_eq!(unrelated.kind, DecisionKind::Escalate, "{unrelated:?}");
}

fn after(customer_text: &str, answered_faq: Option<&str>) -> PreviousTurn {
    PreviousTurn {
        customer_text: customer_text.to_string(),
        answered_faq: answered_faq.map(str::to_string),
    }
}

#[test]
fn a_follow_up_is_read_with_the_message_before_it() {
    let engine = engine(0.9);

    // Alone, "a new one" of what? With the message before it, a PIN.
    let question = "how do I get a new one";
    assert_eq!(engine.decide(question).kind, DecisionKind::Escalate);
    let decision = engine.decide_in_context(question, Some(&after("I lost my PIN", None)));
    assert_eq!(decision.faq_id.as_deref(), Some("change_pin"));

    // "that" is the top-up the customer just described, not whatever the words alone
    // suggest.
    let decision = engine.decide_in_context(
        "and how do I do that",
        Some(&after("I need to put money on my account", None)),
    );
    assert_eq!(decision.faq_id.as_deref(), Some("top_up"));
}

#[test]
fn context_never_overrides_a_rule_or_a_message_that_stands_alone() {
    let engine = engine(0.9);
    let previous = after("where is my new card", Some("card_arrival"));

    let person = engine.decide_in_context("and can I talk to a person", Some(&previous));
    assert_eq!(person.reason, Some(Reason::PersonRequested));

    let standalone = "How do I top up my account with a bank transfer?";
    let decision = engine.decide_in_context(standalone, Some(&previous));
    assert_eq!(decision, engine.decide(standalone));

    let no_history = engine.decide_in_context("and how do I do that", None);
    assert_eq!(no_history, engine.decide("and how do I do that"));
}
