//! `frontdesk eval`: the report's arithmetic, redone by hand from the
//! decisions `answer --batch` prints for the same cases.
//!
//! The cases (`tests/data/banking_cases.jsonl`) are twelve questions: nine from
//! Banking77's dev split, whose FAQ is in the slice, and three that should not
//! be answered (out of scope, a request for a person, a bare "hello").

use std::collections::BTreeSet;

use frontdesk_knowledge::DEFAULT_ANSWER_THRESHOLD;
use serde_json::Value;

use crate::support::{arg, data, keys, read_jsonl, Frontdesk};

const QUESTIONS: usize = 12;
const OUT_OF_SCOPE: usize = 3;

/// Rates as the report defines them, counted by hand.
#[derive(Debug, Default)]
struct Tally {
    resolved: usize,
    wrong: usize,
    escalated: usize,
    clarified: usize,
    out_of_scope: usize,
    out_of_scope_not_answered: usize,
}

impl Tally {
    /// `decisions[i]` is (decision, faq_id) for case `i`.
    fn of(cases: &[Value], decisions: &[(String, Option<String>)]) -> Tally {
        assert_eq!(cases.len(), decisions.len());
        let mut tally = Tally::default();
        for (case, (decision, faq_id)) in cases.iter().zip(decisions) {
            let expected = case["expected"].as_str();
            match decision.as_str() {
                "answer" if expected.is_some() && faq_id.as_deref() == expected => {
                    tally.resolved += 1
                }
                "answer" => tally.wrong += 1,
                "escalate" => tally.escalated += 1,
                "clarify" => tally.clarified += 1,
                other => panic!("unknown decision {other}"),
            }
            if expected.is_none() {
                tally.out_of_scope += 1;
                tally.out_of_scope_not_answered += usize::from(decision != "answer");
            }
        }
        tally
    }

    /// Asserts that a report's rates object says what this tally does.
    fn assert_matches(&self, rates: &Value, threshold: f64) {
        let n = QUESTIONS as f64;
        let rate = |name: &str| {
            rates[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: {rates}"))
        };
        let context = format!("hand count {self:?}, report {rates}");
        assert_close(rates["threshold"].as_f64().unwrap(), threshold, &context);
        assert_close(rate("resolution_rate"), self.resolved as f64 / n, &context);
        assert_close(rate("wrong_answer_rate"), self.wrong as f64 / n, &context);
        assert_close(rate("escalation_rate"), self.escalated as f64 / n, &context);
        assert_close(rate("clarify_rate"), self.clarified as f64 / n, &context);
        let out_of_scope = self.out_of_scope_not_answered as f64 / self.out_of_scope as f64;
        assert_close(rate("out_of_scope_escalation_rate"), out_of_scope, &context);

        let sum: f64 = [
            "resolution_rate",
            "wrong_answer_rate",
            "escalation_rate",
            "clarify_rate",
        ]
        .into_iter()
        .map(rate)
        .sum();
        assert_close(sum, 1.0, &context);
    }
}

/// The report is printed with serde_json and read back, so a rate may differ
/// from the hand count in its last bit; anything more is a real difference.
fn assert_close(actual: f64, expected: f64, context: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} != {expected}: {context}"
    );
}

fn cases() -> Vec<Value> {
    let cases = read_jsonl(&data("banking_cases.jsonl"));
    assert_eq!(cases.len(), QUESTIONS);
    cases
}

fn eval(frontdesk: &Frontdesk, threshold: Option<&str>) -> Value {
    let cases = data("banking_cases.jsonl");
    let mut args = vec!["eval", "--cases", arg(&cases), "--json"];
    args.extend(threshold.iter().flat_map(|t| ["--threshold", t]));
    frontdesk.json(&args)
}

/// (decision, faq_id) per case, from `answer --batch` over the case file itself
/// (it reads "message" and ignores "expected").
fn batch(frontdesk: &Frontdesk, threshold: &str) -> Vec<Value> {
    let cases = data("banking_cases.jsonl");
    frontdesk.json_lines(&["answer", "--batch", arg(&cases), "--threshold", threshold])
}

fn decisions(batch: &[Value]) -> Vec<(String, Option<String>)> {
    batch
        .iter()
        .map(|d| {
            (
                d["decision"].as_str().unwrap().to_string(),
                d["faq_id"].as_str().map(Into::into),
            )
        })
        .collect()
}

/// The decisions at `threshold`, worked out from the decisions at threshold 0,
/// where every candidate is answered and shows its confidence: a candidate is
/// answered at `threshold` when its confidence reaches it, and handed off
/// otherwise; rule and shape decisions do not depend on the threshold.
fn decisions_at(eager: &[Value], threshold: f64) -> Vec<(String, Option<String>)> {
    decisions(eager)
        .into_iter()
        .zip(eager)
        .map(|((decision, faq_id), d)| {
            let confidence = d["confidence"].as_f64().unwrap();
            if decision == "answer" && confidence < threshold {
                ("escalate".to_string(), None)
            } else {
                (decision, faq_id)
            }
        })
        .collect()
}

#[test]
fn report_rates_are_the_batch_decisions_counted() {
    let frontdesk = Frontdesk::shared_banking();
    let cases = cases();

    for (threshold, value) in [
        (None, DEFAULT_ANSWER_THRESHOLD),
        (Some("0.5"), 0.5),
        (Some("0.8"), 0.8),
    ] {
        let report = eval(&frontdesk, threshold);
        assert_eq!(report["questions"], QUESTIONS);
        assert_eq!(report["out_of_scope_questions"], OUT_OF_SCOPE);

        let batch = batch(&frontdesk, &value.to_string());
        let tally = Tally::of(&cases, &decisions(&batch));
        tally.assert_matches(&report["at_threshold"], value);
    }
}

#[test]
fn report_has_the_documented_fields() {
    let frontdesk = Frontdesk::shared_banking();
    let report = eval(&frontdesk, None);

    let top = [
        "at_threshold",
        "configuration",
        "confusions",
        "embedding_latency",
        "encoder",
        "latency",
        "out_of_scope_questions",
        "questions",
        "sweep",
        "top_candidate_accuracy",
    ];
    assert_eq!(keys(&report), BTreeSet::from(top));
    // Without a model there is one configuration and no encoder to time.
    assert_eq!(report["configuration"], "lexical_only");
    assert!(report["embedding_latency"].is_null(), "{report}");
    assert!(report["encoder"].is_null(), "{report}");
    let rates = [
        "clarify_rate",
        "escalation_rate",
        "out_of_scope_escalation_rate",
        "resolution_rate",
        "threshold",
        "wrong_answer_rate",
    ];
    assert_eq!(keys(&report["at_threshold"]), BTreeSet::from(rates));
    for row in report["sweep"].as_array().unwrap() {
        assert_eq!(keys(row), BTreeSet::from(rates));
    }
    assert_eq!(
        keys(&report["latency"]),
        BTreeSet::from(["max_ms", "median_ms", "p99_ms"])
    );

    let latency = |name: &str| report["latency"][name].as_f64().unwrap();
    assert!(0.0 <= latency("median_ms"), "{report}");
    assert!(latency("median_ms") <= latency("p99_ms"), "{report}");
    assert!(latency("p99_ms") <= latency("max_ms"), "{report}");
}

#[test]
fn sweep_and_top_candidate_accuracy_follow_from_the_confidences() {
    let frontdesk = Frontdesk::shared_banking();
    let cases = cases();
    let eager = batch(&frontdesk, "0");
    let report = eval(&frontdesk, None);

    let sweep = report["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 20, "thresholds 0, 0.05, ..., 0.95");
    for (step, row) in sweep.iter().enumerate() {
        let threshold = row["threshold"].as_f64().unwrap();
        assert_close(threshold, step as f64 * 0.05, "sweep thresholds");
        Tally::of(&cases, &decisions_at(&eager, threshold)).assert_matches(row, threshold);
    }

    // At threshold 0 the answer is the top candidate, so accuracy is the share
    // of in-scope questions answered with their FAQ there.
    let in_scope: Vec<(&Value, &Value)> = cases
        .iter()
        .zip(&eager)
        .filter(|(case, _)| !case["expected"].is_null())
        .collect();
    let right = in_scope
        .iter()
        .filter(|(case, d)| d["faq_id"] == case["expected"])
        .count();
    let accuracy = report["top_candidate_accuracy"].as_f64().unwrap();
    assert_close(
        accuracy,
        right as f64 / in_scope.len() as f64,
        &report.to_string(),
    );
}

#[test]
fn threshold_zero_answers_every_candidate_and_one_answers_none() {
    let frontdesk = Frontdesk::shared_banking();
    let n = QUESTIONS as f64;

    // At 0, only the person request is handed off and only "hello" asked back;
    // the other ten are answered, rightly or not.
    let report = eval(&frontdesk, Some("0"));
    let rates = &report["at_threshold"];
    assert_eq!(rates["threshold"], 0.0);
    assert_close(
        rates["escalation_rate"].as_f64().unwrap(),
        1.0 / n,
        &report.to_string(),
    );
    assert_close(
        rates["clarify_rate"].as_f64().unwrap(),
        1.0 / n,
        &report.to_string(),
    );
    let answered =
        rates["resolution_rate"].as_f64().unwrap() + rates["wrong_answer_rate"].as_f64().unwrap();
    assert_close(answered, 10.0 / n, &report.to_string());
    // Resolved at 0 is exactly the in-scope questions whose top candidate is right.
    let in_scope = (QUESTIONS - OUT_OF_SCOPE) as f64;
    let resolved = report["top_candidate_accuracy"].as_f64().unwrap() * in_scope / n;
    assert_close(
        rates["resolution_rate"].as_f64().unwrap(),
        resolved,
        &report.to_string(),
    );
    // Of the three out-of-scope cases, the person request and "hello" are not
    // answered; the football question is.
    let oos = rates["out_of_scope_escalation_rate"].as_f64().unwrap();
    assert_close(oos, 2.0 / 3.0, &report.to_string());
    assert_eq!(
        &report["sweep"][0], rates,
        "the sweep's first row is threshold 0"
    );

    // At 1, no calibrated confidence reaches certainty, so nothing is answered.
    let report = eval(&frontdesk, Some("1"));
    let rates = &report["at_threshold"];
    let expected = [
        ("threshold", 1.0),
        ("resolution_rate", 0.0),
        ("wrong_answer_rate", 0.0),
        ("escalation_rate", 11.0 / n),
        ("clarify_rate", 1.0 / n),
        ("out_of_scope_escalation_rate", 1.0),
    ];
    for (name, value) in expected {
        assert_close(
            rates[name].as_f64().unwrap(),
            value,
            &format!("{name}: {report}"),
        );
    }
}

/// The confusion pairs are the wrong answers of the batch at the threshold, counted; the
/// chart is an SVG document with one point per threshold of the sweep.
#[test]
fn confusions_count_the_wrong_answers_and_the_chart_is_drawn() {
    let frontdesk = Frontdesk::shared_banking();
    let cases = cases();
    let report = eval(&frontdesk, Some("0.5"));
    let decisions = decisions(&batch(&frontdesk, "0.5"));
    let mut wrong = std::collections::BTreeMap::new();
    for (case, (decision, faq)) in cases.iter().zip(&decisions) {
        let expected = case["expected"].as_str().map(str::to_string);
        if decision == "answer" && *faq != expected {
            *wrong.entry((expected, faq.clone().unwrap())).or_insert(0) += 1;
        }
    }
    let listed = report["confusions"].as_array().unwrap();
    assert_eq!(listed.len(), wrong.len().min(10), "{report}");
    for row in listed {
        let key = (
            row["expected"].as_str().map(str::to_string),
            row["answered"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            Some(&row["count"].as_u64().unwrap()),
            wrong.get(&key),
            "{row}"
        );
    }

    let chart = frontdesk.data_dir().join("chart.svg");
    let cases_file = data("banking_cases.jsonl");
    frontdesk.ok(&["eval", "--cases", arg(&cases_file), "--chart", arg(&chart)]);
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert_eq!(
        svg.matches("<circle").count(),
        21,
        "20 thresholds and the chosen one"
    );
    assert!(svg.contains("<polyline"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

/// With the sentence model, the same cases are evaluated twice: with the model (the
/// top-level fields) and from words alone (`lexical_only`), and the encoder's share of
/// the time is reported. Needs the model: FRONTDESK_TEST_MODEL_DIR, as the embedder's
/// tests do.
#[test]
fn with_the_model_both_configurations_are_reported_and_drawn() {
    let Some(model) = std::env::var_os("FRONTDESK_TEST_MODEL_DIR") else {
        eprintln!("skipped: set FRONTDESK_TEST_MODEL_DIR to the installed model's folder");
        return;
    };
    let model = std::path::PathBuf::from(model);
    let frontdesk = Frontdesk::new();
    let run = |args: &[&str]| frontdesk.ok(&[&["--embedding-model", arg(&model)], args].concat());
    run(&["import", "faq", arg(&data("banking_faq.jsonl"))]);
    run(&["import", "tickets", arg(&data("banking_tickets.jsonl"))]);

    let cases = data("banking_cases.jsonl");
    let chart = frontdesk.data_dir().join("both.svg");
    let printed = run(&[
        "eval",
        "--cases",
        arg(&cases),
        "--json",
        "--chart",
        arg(&chart),
    ]);
    let report: Value = serde_json::from_str(&printed).unwrap();

    assert_eq!(report["configuration"], "with_model", "{report}");
    let encoder = report["encoder"].as_str().unwrap_or_default();
    assert!(encoder.starts_with("all-MiniLM-L6-v2"), "{report}");
    let lexical = &report["lexical_only"];
    assert_eq!(lexical["questions"], QUESTIONS, "{report}");
    assert_eq!(lexical["sweep"].as_array().map(Vec::len), Some(20));
    assert!(lexical["embedding_latency"].is_null(), "{lexical}");
    // The lexical figures are those of an assistant that never had the model.
    let alone = eval(&Frontdesk::shared_banking(), None);
    for field in [
        "top_candidate_accuracy",
        "at_threshold",
        "sweep",
        "confusions",
    ] {
        assert_eq!(lexical[field], alone[field], "{field}");
    }

    let encoding = &report["embedding_latency"];
    let encoding_ms = |name: &str| encoding[name].as_f64().unwrap();
    let total_ms = |name: &str| report["latency"][name].as_f64().unwrap();
    assert!(encoding_ms("median_ms") > 0.0, "{report}");
    assert!(
        encoding_ms("median_ms") <= encoding_ms("max_ms"),
        "{report}"
    );
    assert!(
        encoding_ms("max_ms") <= total_ms("max_ms"),
        "encoding is part of a decision: {report}"
    );

    let svg = std::fs::read_to_string(&chart).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2, "one curve each");
    assert!(svg.contains("with the sentence model") && svg.contains("words alone"));

    // Asked for 32-bit floats, the report names the exact encoder, whose vectors are
    // kept apart from the 8-bit ones.
    let exact = run(&[
        "--embed-precision",
        "exact",
        "eval",
        "--cases",
        arg(&cases),
        "--json",
    ]);
    let exact: Value = serde_json::from_str(&exact).unwrap();
    assert_eq!(exact["encoder"], "all-MiniLM-L6-v2", "{exact}");
}

#[test]
fn a_chart_that_cannot_be_written_fails_before_the_evaluation() {
    let frontdesk = Frontdesk::shared_banking();
    let cases = data("banking_cases.jsonl");
    let missing = frontdesk
        .data_dir()
        .join("no-such-folder")
        .join("chart.svg");
    let err = frontdesk.fails(&["eval", "--cases", arg(&cases), "--chart", arg(&missing)]);
    assert!(err.contains("does not exist"), "{err}");
    let folder = frontdesk.data_dir();
    let err = frontdesk.fails(&["eval", "--cases", arg(&cases), "--chart", arg(folder)]);
    assert!(err.contains("is a folder"), "{err}");
}

#[test]
fn cases_expecting_an_unknown_faq_are_warned_of() {
    let frontdesk = Frontdesk::shared_banking();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        "{\"message\": \"my card has not arrived\", \"expected\": \"card_arrival\"}\n\
         {\"message\": \"can I pay in yen?\", \"expected\": \"no_such_faq\"}\n",
    )
    .unwrap();
    let output = frontdesk.run(&["eval", "--cases", arg(&cases), "--json"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 cases expect one of 1 FAQ ids") && stderr.contains("no_such_faq"),
        "{stderr}"
    );
}
