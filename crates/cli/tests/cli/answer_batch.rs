//! `frontdesk answer --batch`: one JSON line out per line in, in order, with
//! unreadable lines reported in place rather than stopping the run.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{
    arg, assert_clarifies, assert_decision_shape, assert_escalates, keys, parse_lines, Frontdesk,
};

/// Messages whose decisions differ from each other, so that a line out of
/// place shows, and two lines that are not batch lines.
const BATCH: &[&str] = &[
    r#"{"message": "Can I talk to a human please?"}"#,
    r#"{"message": "What can I do if I lost my card?"}"#,
    r#"{"message": "the quote is never closed}"#,
    r#"{"message": ""}"#,
    r#"{"text": "no message field here"}"#,
    r#"{"message": "I will contact my lawyer about this"}"#,
    r#"{"message": "hello", "expected": null}"#,
    r#"{"message": "How old do I need to be to open an account?"}"#,
];

/// The 1-based numbers of the lines above that cannot be read.
const BAD_LINES: [usize; 2] = [3, 5];

fn batch_file() -> String {
    BATCH.iter().map(|line| format!("{line}\n")).collect()
}

#[test]
fn batch_keeps_order_and_reports_bad_lines_in_place() {
    let frontdesk = Frontdesk::shared_banking();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("batch.jsonl");
    std::fs::write(&input, batch_file()).unwrap();

    let out = frontdesk.json_lines(&["answer", "--batch", arg(&input)]);
    assert_eq!(out.len(), BATCH.len(), "one output line per input line");

    for (number, (line, reply)) in (1..).zip(BATCH.iter().zip(&out)) {
        if BAD_LINES.contains(&number) {
            assert_eq!(
                keys(reply),
                BTreeSet::from(["error"]),
                "line {number}: {reply}"
            );
            let error = reply["error"].as_str().unwrap();
            assert!(error.starts_with(&format!("line {number}: ")), "{error}");
            continue;
        }
        // Each line's decision is the one `ask` gives for that line's message,
        // which is what keeping the order means.
        let message = serde_json::from_str::<Value>(line).unwrap()["message"].clone();
        assert_decision_shape(reply);
        assert_eq!(
            reply,
            &frontdesk.ask(message.as_str().unwrap()),
            "line {number}: {line}"
        );
    }
    assert_escalates(&out[0], "person_requested");
    assert_clarifies(&out[3], "empty_message");
    assert_escalates(&out[5], "sensitive_topic");
    assert_clarifies(&out[6], "greeting");
}

#[test]
fn batch_reads_standard_input_and_honours_the_threshold() {
    let frontdesk = Frontdesk::shared_banking();
    let input = batch_file();

    let from_stdin = frontdesk.ok_with_stdin(&["answer", "--batch", "-"], input.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch.jsonl");
    std::fs::write(&file, &input).unwrap();
    assert_eq!(from_stdin, frontdesk.ok(&["answer", "--batch", arg(&file)]));

    // At threshold 1 nothing is sure enough to answer; at 0 every candidate is.
    let strict = parse_lines(&frontdesk.ok(&["answer", "--batch", arg(&file), "--threshold", "1"]));
    let eager = parse_lines(&frontdesk.ok(&["answer", "--batch", arg(&file), "--threshold", "0"]));
    for (strict, eager) in strict.iter().zip(&eager) {
        if eager["decision"] == "answer" {
            assert_escalates(strict, "low_confidence");
            assert_eq!(
                strict["confidence"], eager["confidence"],
                "{strict} / {eager}"
            );
        } else {
            assert_eq!(
                strict, eager,
                "settled lines do not depend on the threshold"
            );
        }
    }
    let answered = eager.iter().filter(|d| d["decision"] == "answer").count();
    assert_eq!(
        answered, 2,
        "the two FAQ questions are answered at threshold 0: {eager:?}"
    );
}

#[test]
fn a_byte_order_mark_before_the_first_line_is_not_part_of_it() {
    let frontdesk = Frontdesk::shared_banking();
    let plain = batch_file();
    let with_mark = format!("\u{feff}{plain}");

    let marked = frontdesk.ok_with_stdin(&["answer", "--batch", "-"], with_mark.as_bytes());

    assert_eq!(
        marked,
        frontdesk.ok_with_stdin(&["answer", "--batch", "-"], plain.as_bytes())
    );
    assert_escalates(&parse_lines(&marked)[0], "person_requested");
}
