//! `frontdesk import`: a file imports whole or not at all, and importing the
//! same file again changes nothing.

use crate::support::{arg, banking_counts, data, Frontdesk};

/// A bad file after good knowledge: the command fails naming the file and
/// line, and the knowledge base is as it was, without the bad file's good rows.
fn assert_refused_whole(file: &str, at: &str) {
    let frontdesk = Frontdesk::new();
    frontdesk.ok(&["import", "faq", arg(&data("banking_faq.jsonl"))]);
    let before = frontdesk.counts();
    assert_eq!(before, (8, 0, 0));

    let stderr = frontdesk.fails(&["import", "faq", arg(&data(file))]);
    assert!(stderr.contains(&format!("{file}:{at}")), "{stderr}");
    assert_eq!(frontdesk.counts(), before, "nothing of {file} is stored");
}

#[test]
fn csv_with_broken_quoting_is_refused_whole() {
    assert_refused_whole("faq_broken_quote.csv", "3: unterminated quoted field");
}

#[test]
fn jsonl_with_invalid_json_is_refused_whole() {
    assert_refused_whole("faq_invalid_line3.jsonl", "3: invalid JSON");
}

#[test]
fn importing_the_same_files_again_changes_nothing() {
    let frontdesk = Frontdesk::new();
    frontdesk.import_banking();
    assert_eq!(frontdesk.counts(), banking_counts());
    let cases = data("banking_cases.jsonl");
    let decisions = frontdesk.ok(&["answer", "--batch", arg(&cases)]);

    let faq = data("banking_faq.jsonl");
    let stdout = frontdesk.ok(&["import", "faq", arg(&faq)]);
    assert!(stdout.contains(": 0 new, 0 updated"), "{stdout}");
    let tickets = data("banking_tickets.jsonl");
    let stdout = frontdesk.ok(&["import", "tickets", arg(&tickets)]);
    assert!(stdout.contains(": 0 new, 0 updated"), "{stdout}");
    // Two files in one command, the same one twice, are no different.
    frontdesk.ok(&["import", "faq", arg(&faq), arg(&faq)]);

    assert_eq!(frontdesk.counts(), banking_counts());
    let again = frontdesk.ok(&["answer", "--batch", arg(&cases)]);
    assert_eq!(
        again, decisions,
        "unchanged knowledge gives unchanged decisions"
    );
}

#[test]
fn first_import_reports_what_it_read_and_stored() {
    let frontdesk = Frontdesk::new();
    let faq = data("banking_faq.jsonl");
    let stdout = frontdesk.ok(&["import", "faq", arg(&faq)]);
    assert_eq!(
        stdout,
        format!("faq: 8 read from {}: 8 new, 0 updated\n", faq.display())
    );

    // The ticket file has 320 lines, one of them repeated word for word.
    // The warning says why fewer were read than the file has lines.
    let tickets = data("banking_tickets.jsonl");
    let output = frontdesk.run(&["import", "tickets", arg(&tickets)]);
    assert!(output.status.success());
    let expected = format!(
        "ticket: 319 read from {}: 319 new, 0 updated\n",
        tickets.display()
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("merged into it") && stderr.contains("rows=1"),
        "{stderr}"
    );
    assert_eq!(frontdesk.counts(), banking_counts());
    assert_eq!(banking_counts(), (8, 319, 0));
}
