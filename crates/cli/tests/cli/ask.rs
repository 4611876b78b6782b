//! `frontdesk ask`: the rules that settle a message before any model does, an
//! empty knowledge base, and the owner's settings file.

use crate::support::{arg, assert_clarifies, assert_decision_shape, assert_escalates, Frontdesk};

/// The settings file format owners write, with one topic of their own.
const MEDICAL_CONFIG: &str = r#"[assistant]
answer_threshold = 0.25
[[assistant.sensitive_topics]]
name = "medical"
phrases = ["allergic reaction"]
"#;

const ALLERGY: &str = "I had an allergic reaction to the new card, what is it made of?";

#[test]
fn rules_settle_a_message_whatever_the_knowledge_says() {
    let frontdesk = Frontdesk::shared_banking();

    assert_escalates(&frontdesk.ask("talk to a human"), "person_requested");
    // An answerable question still goes to a person when the customer asks for one.
    let mixed = "What can I do if I lost my card? I want to talk to a human";
    assert_escalates(&frontdesk.ask(mixed), "person_requested");
    assert_escalates(
        &frontdesk.ask("I will contact my lawyer"),
        "sensitive_topic",
    );
    assert_escalates(&frontdesk.ask("I'm filing a chargeback"), "sensitive_topic");
    assert_escalates(
        &frontdesk.ask("you are useless, stupid bot"),
        "anger_or_abuse",
    );
    assert_clarifies(&frontdesk.ask(""), "empty_message");
    assert_clarifies(&frontdesk.ask("   "), "empty_message");
    assert_clarifies(&frontdesk.ask("hello"), "greeting");
    assert_clarifies(&frontdesk.ask("card"), "too_short");

    for settled in [frontdesk.ask("talk to a human"), frontdesk.ask("")] {
        assert_eq!(settled["confidence"], 0.0, "{settled}");
        assert_eq!(settled["sources"].as_array().unwrap().len(), 0, "{settled}");
        assert!(!settled["text"].as_str().unwrap().is_empty(), "{settled}");
    }

    // Without --json the same decision is written for a person.
    let stdout = frontdesk.ok(&["ask", "talk to a human"]);
    assert!(
        stdout.starts_with("escalate to a person (person_requested)"),
        "{stdout}"
    );
}

#[test]
fn an_empty_knowledge_base_hands_off_with_no_knowledge() {
    let frontdesk = Frontdesk::new();
    assert_eq!(frontdesk.counts(), (0, 0, 0));

    let decision = frontdesk.ask("How do I activate the card I just received?");
    assert_escalates(&decision, "no_knowledge");
    assert_eq!(decision["confidence"], 0.0);
    assert_eq!(decision["sources"].as_array().unwrap().len(), 0);

    // The rules still apply before the missing knowledge does.
    assert_escalates(&frontdesk.ask("talk to a human"), "person_requested");
    assert_clarifies(&frontdesk.ask(""), "empty_message");
}

#[test]
fn answers_name_their_faq_and_cite_it() {
    let frontdesk = Frontdesk::shared_banking();

    // Threshold 0 answers whatever the confidence, so this checks the shape of an
    // answer without depending on how sure the model is.
    let decision = frontdesk.json(&[
        "ask",
        "How do I add my card to Google Pay?",
        "--json",
        "--threshold",
        "0",
    ]);
    assert_decision_shape(&decision);
    assert_eq!(decision["decision"], "answer", "{decision}");
    assert_eq!(decision["reason"], serde_json::Value::Null, "{decision}");
    let faq_id = decision["faq_id"]
        .as_str()
        .expect("an answer names its FAQ");
    let first_source = &decision["sources"][0];
    assert_eq!(first_source["kind"], "faq", "{decision}");
    assert_eq!(first_source["id"], faq_id, "{decision}");
    let confidence = decision["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{decision}");
}

#[test]
fn owner_sensitive_topics_come_from_the_settings_file() {
    let frontdesk = Frontdesk::new();
    frontdesk.import_banking();
    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("frontdesk.toml");
    std::fs::write(&config, MEDICAL_CONFIG).unwrap();

    // Without the file the topic is not sensitive, so the file is what decides.
    let plain = frontdesk.ask(ALLERGY);
    assert_ne!(plain["reason"], "sensitive_topic", "{plain}");

    let with_config = frontdesk.json(&["--config", arg(&config), "ask", ALLERGY, "--json"]);
    assert_escalates(&with_config, "sensitive_topic");

    // The data directory's own frontdesk.toml is read when no --config is given.
    std::fs::copy(&config, frontdesk.data_dir().join("frontdesk.toml")).unwrap();
    assert_escalates(&frontdesk.ask(ALLERGY), "sensitive_topic");

    // Its threshold is the one reported, unless --threshold overrides it.
    let cases = crate::support::data("banking_cases.jsonl");
    let report = frontdesk.json(&["eval", "--cases", arg(&cases), "--json"]);
    assert_eq!(report["at_threshold"]["threshold"], 0.25);
    let report = frontdesk.json(&[
        "eval",
        "--cases",
        arg(&cases),
        "--json",
        "--threshold",
        "0.5",
    ]);
    assert_eq!(report["at_threshold"]["threshold"], 0.5);
}

#[test]
fn thresholds_outside_zero_to_one_are_refused() {
    let frontdesk = Frontdesk::new();
    let stderr = frontdesk.fails(&["ask", "where is my card?", "--threshold", "1.5"]);
    assert!(
        stderr.contains("--threshold must be between 0 and 1"),
        "{stderr}"
    );

    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("bad.toml");
    std::fs::write(&config, "[assistant]\nanswer_threshold = 1.5\n").unwrap();
    let stderr = frontdesk.fails(&["--config", arg(&config), "ask", "where is my card?"]);
    assert!(
        stderr.contains("bad.toml: assistant.answer_threshold"),
        "{stderr}"
    );
}
