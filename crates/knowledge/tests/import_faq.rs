//! FAQ import: good files of each format, and each kind of bad file the owner may upload.

// Wrapped in `import` so that `cargo test -p frontdesk-knowledge import` selects these.
mod import {
    use std::path::{Path, PathBuf};

    use frontdesk_knowledge::import::{faqs_from_str, read_faqs, ImportError};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import")
            .join(name)
    }

    /// The error for `text` read as a file called `label`, which must fail.
    fn error(label: &str, text: &str) -> ImportError {
        match faqs_from_str(Path::new(label), text) {
            Ok(entries) => panic!("expected an error for {label}, got {entries:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn jsonl_file_reads_all_fields() {
        let faqs = read_faqs(&data("faq.jsonl")).expect("valid file");
        assert_eq!(faqs.len(), 3);
        assert_eq!(faqs[0].id, "opening_hours");
        assert_eq!(faqs[0].tags, ["hours", "shop"]);
        assert_eq!(faqs[0].url.as_deref(), Some("https://shop.example/hours"));
        assert_eq!(faqs[1].question, "Can I return an item?", "trimmed");
        assert_eq!(faqs[1].answer, "Yes, within 30 days.\nKeep the receipt.");
        assert!(faqs[1].tags.is_empty());
        assert_eq!(faqs[2].url, None);
    }

    #[test]
    fn csv_file_with_reordered_headers_and_multiline_fields() {
        let faqs = read_faqs(&data("faq.csv")).expect("valid file");
        assert_eq!(faqs.len(), 2, "the row of empty cells is skipped");
        assert_eq!(faqs[0].id, "returns");
        assert_eq!(faqs[0].answer, "Yes, within 30 days.\nKeep the receipt.");
        assert_eq!(faqs[0].tags, ["returns", "refunds", "policy"]);
        assert_eq!(faqs[0].url, None);
        assert_eq!(faqs[1].answer, "Two to four working days, \"usually\" two.");
        assert_eq!(
            faqs[1].url.as_deref(),
            Some("https://shop.example/shipping")
        );
    }

    #[test]
    fn markdown_file_with_explicit_and_derived_ids() {
        let faqs = read_faqs(&data("faq.md")).expect("valid file");
        let ids: Vec<&str> = faqs.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "opening-hours",
                "can-i-return-an-item",
                "can-i-return-an-item-2",
                "cards"
            ]
        );
        assert_eq!(faqs[0].question, "When are you open?");
        assert_eq!(
            faqs[0].answer,
            "We are open Monday to Friday, 9:00 to 17:00. \
         Closed on public holidays (https://shop.example/holidays)."
        );
        assert_eq!(
            faqs[1].answer,
            "Yes, within 30 days:\n\n- keep the receipt\n- bring the item in its box"
        );
        assert_eq!(
            faqs[3].answer, "Visa and Mastercard.",
            "the `# Payments` title is not kept"
        );
    }

    #[test]
    fn markdown_repeated_explicit_id_is_a_duplicate() {
        let e = error("faq.md", "## A {#x}\n\nOne.\n\n## B {#x}\n\nTwo.\n");
        assert_eq!(
            e.to_string(),
            "faq.md:5: duplicate id `x` (first at line 1)"
        );
    }

    #[test]
    fn markdown_question_without_answer_fails() {
        let e = error("faq.md", "## A\n\nOne.\n\n## B\n\n## C\n\nThree.\n");
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("`answer` is empty"), "{e}");
    }

    #[test]
    fn invalid_json_names_the_line() {
        let text = concat!(
            r#"{"id":"a","question":"q","answer":"x"}"#,
            "\n\n",
            r#"{"id": "b", "question": }"#,
            "\n"
        );
        let e = error("kb.jsonl", text);
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string().starts_with("kb.jsonl:3: invalid JSON: "),
            "{e}"
        );
    }

    #[test]
    fn missing_empty_and_mistyped_fields_are_named() {
        let cases = [
            (
                r#"{"id":"a","question":"q"}"#,
                "kb.jsonl:1: missing field `answer`",
            ),
            (
                r#"{"id":"a","question":"  ","answer":"x"}"#,
                "kb.jsonl:1: field `question` is empty",
            ),
            (
                r#"{"id":"a","question":"q","answer":["x"]}"#,
                "kb.jsonl:1: field `answer` must be a string, found an array",
            ),
            (
                r#"{"id":"a","question":"q","answer":"x","tags":[1]}"#,
                "kb.jsonl:1: field `tags` must be an array of strings, found a number",
            ),
            (
                r#"["a","q","x"]"#,
                "kb.jsonl:1: expected a JSON object, found an array",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(error("kb.jsonl", line).to_string(), expected);
        }
    }

    #[test]
    fn numeric_ids_are_accepted() {
        let faqs = faqs_from_str(
            Path::new("kb.ndjson"),
            r#"{"id":7,"question":"q","answer":"a"}"#,
        )
        .expect("valid");
        assert_eq!(faqs[0].id, "7");
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let text = "id,question,answer\na,q1,x\nb,q2,y\na,q3,z\n";
        let e = error("faq.csv", text);
        assert_eq!(
            e.to_string(),
            "faq.csv:4: duplicate id `a` (first at line 2)"
        );
    }

    #[test]
    fn csv_missing_column_lists_the_header() {
        let e = error("faq.csv", "ID, Question\n1,q\n");
        assert_eq!(
            e.to_string(),
            "faq.csv:1: missing column `answer` (found: ID, Question)"
        );
    }

    #[test]
    fn csv_broken_quoting_names_the_line() {
        let text = "id,question,answer\na,q1,x\nb,\"q2 never closed,y\nc,q3,z\n";
        let e = error("faq.csv", text);
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unterminated quoted field"), "{e}");
    }

    #[test]
    fn csv_unequal_record_length_names_the_line() {
        let text = "id,question,answer\na,q1,x\n\"b\",\"q2\nspans\",y,extra\n";
        let e = error("faq.csv", text);
        assert_eq!(
            e.to_string(),
            "faq.csv:3: expected 3 fields like the header row, found 4"
        );
    }

    #[test]
    fn csv_empty_cell_names_field_and_line() {
        let e = error("faq.csv", "id,question,answer\na,q1,x\nb,,y\n");
        assert_eq!(e.to_string(), "faq.csv:3: field `question` is empty");
    }

    #[test]
    fn semicolon_separated_csv_is_read() {
        let faqs = faqs_from_str(
            Path::new("faq.csv"),
            "id;question;answer\na;q, really?;yes\n",
        )
        .expect("valid");
        assert_eq!(faqs[0].question, "q, really?");
    }

    #[test]
    fn empty_files_have_no_entries() {
        for (label, text) in [
            ("kb.jsonl", ""),
            ("kb.jsonl", "\n  \n"),
            ("faq.csv", "id,question,answer\n"),
            ("faq.csv", ""),
            ("faq.md", "# Just a title\n\nNo questions here.\n"),
        ] {
            assert_eq!(
                error(label, text).to_string(),
                format!("{label}: no entries found")
            );
        }
    }

    #[test]
    fn unknown_extension_is_refused_before_reading() {
        let e = read_faqs(Path::new("/nonexistent/faq.xlsx")).expect_err("unsupported");
        assert_eq!(
            e.to_string(),
            "/nonexistent/faq.xlsx: unsupported file type `.xlsx` (expected .jsonl, .csv or .md)"
        );
    }

    #[test]
    fn unreadable_file_is_named() {
        let e = read_faqs(Path::new("/nonexistent/faq.jsonl")).expect_err("missing file");
        assert!(
            e.to_string()
                .starts_with("/nonexistent/faq.jsonl: cannot read file: "),
            "{e}"
        );
    }

    #[test]
    fn a_check_lists_every_bad_row_in_line_order() {
        let text = "id,question,answer\n\
                    a,Is it open?,\n\
                    b,Is it shut?,Yes.\n\
                    ,Who runs it?,Ana.\n\
                    b,Is it shut now?,No.\n";
        let problems =
            frontdesk_knowledge::import::check_faqs(Path::new("faq.csv"), text).unwrap_err();
        let found: Vec<(Option<u64>, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(2), "field `answer` is empty"),
                (Some(4), "field `id` is empty"),
                (Some(5), "duplicate id `b` (first at line 3)"),
            ]
        );

        // The functions that stop at one report the first.
        let first = faqs_from_str(Path::new("faq.csv"), text).unwrap_err();
        assert_eq!(first.line, Some(2));
    }

    #[test]
    fn a_check_goes_past_lines_that_are_not_json() {
        let text = "{\"id\": \"a\", \"question\": \"Q?\", \"answer\": \"A.\"}\n\
                    {\"id\": \"b\", \"question\": \n\
                    [1, 2]\n\
                    {\"id\": \"c\", \"question\": \"R?\", \"answer\": \"\"}\n";
        let problems =
            frontdesk_knowledge::import::check_faqs(Path::new("faq.jsonl"), text).unwrap_err();
        let lines: Vec<Option<u64>> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4)], "{problems:?}");
        assert!(problems[1].message.contains("expected a JSON object"));
    }

    #[test]
    fn a_file_wrong_throughout_lists_a_hundred_problems_and_counts_the_rest() {
        let mut text = String::from("id,question,answer\n");
        for n in 0..150 {
            text.push_str(&format!("q{n},Question {n}?,\n"));
        }
        let problems =
            frontdesk_knowledge::import::check_faqs(Path::new("faq.csv"), &text).unwrap_err();
        assert_eq!(
            problems.len(),
            frontdesk_knowledge::import::MAX_LISTED_PROBLEMS + 1
        );
        let last = problems.last().unwrap();
        assert_eq!(last.line, None);
        assert_eq!(last.message, "and 50 more problems not listed");
    }
}
