//! `frontdesk assess`: the maturity report from the store and the owner's answers, and the
//! questionnaire for a business with no data yet.

use crate::support::Frontdesk;

#[test]
fn the_questionnaire_places_piped_answers() {
    let frontdesk = Frontdesk::new();
    let report = frontdesk.ok_with_stdin(&["assess", "--questionnaire"], b"4\n4\n3\n4\n4\n");
    assert!(report.starts_with("Level 3: rule-based bot\n"), "{report}");
    assert!(
        report.contains("In transition from level 3 to level 4."),
        "{report}"
    );
    assert!(report.contains("Next move: Let the assistant give the first response"));

    // It reads no store and writes none.
    assert!(!frontdesk.data_dir().join("frontdesk.db").exists());

    let json =
        frontdesk.ok_with_stdin(&["assess", "--questionnaire", "--json"], b"5\n5\n5\n5\n5\n");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["level"], 5);
    assert_eq!(json["in_transition"], serde_json::Value::Null);
    assert_eq!(json["answers"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_questionnaire_input_names_the_line() {
    let frontdesk = Frontdesk::new();
    let err = frontdesk.fails_with_stdin(&["assess", "--questionnaire"], b"3\n0\n");
    assert!(
        err.contains("line 2 (resolution): `0` is not a level from 1 to 5"),
        "{err}"
    );
    let err = frontdesk.fails_with_stdin(&["assess", "--questionnaire"], b"3\n2\n");
    assert!(
        err.contains("standard input ended before question 3"),
        "{err}"
    );
    let err = frontdesk.fails_with_stdin(&["assess", "--questionnaire"], b"3\n2\n4\n2\n3\n5\n");
    assert!(
        err.contains("more than the five answers (next: `5`)"),
        "{err}"
    );
    // Control characters in what is quoted back are made visible, never sent raw.
    let err = frontdesk.fails_with_stdin(&["assess", "--questionnaire"], b"3\x1b[2J\n");
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn a_byte_order_mark_and_windows_line_ends_are_read() {
    let frontdesk = Frontdesk::new();
    let input = "\u{feff}4\r\n4\r\n4\r\n4\r\n4\r\n";
    let report = frontdesk.ok_with_stdin(&["assess", "--questionnaire"], input.as_bytes());
    assert!(report.starts_with("Level 4:"), "{report}");
}

#[test]
fn the_owners_answers_are_kept_and_the_data_speaks_for_itself() {
    let frontdesk = Frontdesk::new();
    // No database yet (a mistyped --data-dir, most likely): refused, and none is made.
    let err = frontdesk.fails(&["assess"]);
    assert!(err.contains("there is no Frontdesk database"), "{err}");
    assert!(err.contains("--questionnaire"), "{err}");
    assert!(!frontdesk.data_dir().join("frontdesk.db").exists());
    frontdesk.ok(&["knowledge", "stats"]);

    // A bad answer stores none of them.
    let err = frontdesk.fails(&["assess", "--answer", "cost=3", "--answer", "maintenance=9"]);
    assert!(err.contains("`9` is not a level from 1 to 5"), "{err}");
    let report = frontdesk.json(&["assess", "--json"]);
    let answers = report["assessment"]["answers"].as_array().unwrap();
    assert!(
        answers.iter().all(|answer| answer["level"].is_null()),
        "{report}"
    );

    frontdesk.ok(&["assess", "--answer", "cost=3", "--answer", "maintenance=4"]);
    let report = frontdesk.json(&["assess", "--json"]);
    let assessment = &report["assessment"];
    assert_eq!(assessment["level"], 3, "{report}");
    let unanswered: Vec<&str> = assessment["unanswered"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|question| question.as_str())
        .collect();
    assert_eq!(unanswered, ["channels", "resolution", "response_time"]);
    // An empty knowledge base is thin and stale content, and the next move says so.
    let detected: Vec<&str> = assessment["failure_modes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|failure| failure["detected"] == true)
        .filter_map(|failure| failure["name"].as_str())
        .collect();
    assert_eq!(detected, ["stale_content", "thin_content"]);
    assert!(assessment["next_move"]
        .as_str()
        .unwrap()
        .contains("content up to date"));
    assert_eq!(report["analytics"]["outcomes"]["handed_off"], 0);

    frontdesk.import_banking();
    let report = frontdesk.json(&["assess", "--json"]);
    let stale = report["assessment"]["failure_modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|failure| failure["name"] == "stale_content")
        .unwrap()
        .clone();
    assert_eq!(stale["detected"], false, "just imported: {stale}");
}
