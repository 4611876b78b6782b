//! Ticket import: optional fields, derived ids and merging, and the real Banking77 export.

// Wrapped in `import` so that `cargo test -p frontdesk-knowledge import` selects these.
mod import {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    use frontdesk_knowledge::import::{read_faqs, read_tickets, tickets_from_str};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import")
            .join(name)
    }

    #[test]
    fn jsonl_tickets_merge_repeats_and_keep_explicit_ids() {
        let tickets = read_tickets(&data("tickets.jsonl")).expect("valid file");
        assert_eq!(tickets.len(), 4, "the repeated refund ticket is merged");
        let refund = &tickets[0];
        assert_eq!(refund.message, "Why am I missing my refund");
        assert_eq!(refund.faq_id.as_deref(), Some("returns"));
        assert_eq!(
            refund.answer.as_deref(),
            Some("It is on its way."),
            "the last row wins"
        );
        assert!(
            refund.id.starts_with("t-") && refund.id.len() == 18,
            "{}",
            refund.id
        );
        assert_eq!(tickets[1].faq_id, None, "null");
        assert_eq!(tickets[2].faq_id, None, "empty string");
        assert_eq!(tickets[3].id, "1042");
        assert_eq!(tickets[3].answer.as_deref(), Some("Yes, within the EU."));
    }

    #[test]
    fn derived_ids_are_stable_across_formats() {
        let jsonl = tickets_from_str(Path::new("a.jsonl"), r#"{"message":"Hi","faq_id":"x"}"#);
        let csv = tickets_from_str(Path::new("a.csv"), "message,faq_id\n  Hi  ,x\n");
        let (jsonl, csv) = (jsonl.expect("valid"), csv.expect("valid"));
        assert_eq!(jsonl[0].id, csv[0].id);
    }

    #[test]
    fn csv_tickets_with_optional_columns() {
        let tickets = read_tickets(&data("tickets.csv")).expect("valid file");
        assert_eq!(tickets.len(), 2);
        assert_eq!(tickets[0].id, "T-1");
        assert_eq!(tickets[0].message, "My parcel\nnever arrived");
        assert_eq!(
            tickets[0].faq_id.as_deref(),
            Some("shipping"),
            "`FAQ ID` header matches"
        );
        assert_eq!(tickets[0].answer, None);
        assert!(tickets[1].id.starts_with("t-"));
        assert_eq!(tickets[1].faq_id, None);
        assert_eq!(tickets[1].answer.as_deref(), Some("No, cards only."));
    }

    #[test]
    fn ticket_errors_name_field_and_line() {
        let cases = [
            (
                "t.jsonl",
                "{\"message\":\"a\",\"faq_id\":null}\n{\"faq_id\":\"x\"}\n",
                "t.jsonl:2: missing field `message`",
            ),
            (
                "t.jsonl",
                "{\"message\":\"a\"}\n",
                "t.jsonl:1: missing field `faq_id` (null or empty when no FAQ fits)",
            ),
            (
                "t.jsonl",
                "{\"message\":\"a\\u0000b\",\"faq_id\":null}\n",
                "t.jsonl:1: field `message` contains a NUL character",
            ),
            (
                "t.csv",
                "message,faqid\na,x\n",
                "t.csv:1: missing column `faq_id` (found: message, faqid)",
            ),
            (
                "t.jsonl",
                "{\"message\":\" \",\"faq_id\":null}\n",
                "t.jsonl:1: field `message` is empty",
            ),
            (
                "t.jsonl",
                "{\"message\":\"a\",\"faq_id\":true}\n",
                "t.jsonl:1: field `faq_id` must be a string, found a boolean",
            ),
            (
                "t.csv",
                "faq_id,answer\nx,y\n",
                "t.csv:1: missing column `message` (found: faq_id, answer)",
            ),
            (
                "t.csv",
                "id,message,faq_id\n1,a,\n1,b,\n",
                "t.csv:3: duplicate id `1` (first at line 2)",
            ),
            ("t.csv", "message,faq_id\n", "t.csv: no entries found"),
            (
                "t.txt",
                "message\na\n",
                "t.txt: unsupported file type `.txt` (expected .jsonl or .csv)",
            ),
        ];
        for (label, text, expected) in cases {
            let e = tickets_from_str(Path::new(label), text).expect_err(expected);
            assert_eq!(e.to_string(), expected);
        }
    }

    /// The Banking77 export shipped in `shared/`: 77 FAQs and 9,001 tickets without ids.
    #[test]
    fn banking77_export_imports_whole() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/banking77");
        if !dir.is_dir() {
            println!("skipped: {} is absent", dir.display());
            return;
        }
        let faqs = read_faqs(&dir.join("kb.jsonl")).expect("kb.jsonl imports");
        assert_eq!(faqs.len(), 77);
        let faq_ids: HashSet<&str> = faqs.iter().map(|f| f.id.as_str()).collect();

        let tickets = read_tickets(&dir.join("tickets.jsonl")).expect("tickets.jsonl imports");
        let rows = std::fs::read_to_string(dir.join("tickets.jsonl")).expect("readable");
        assert_eq!(rows.lines().filter(|l| !l.trim().is_empty()).count(), 9_001);
        println!(
            "banking77: 9001 ticket rows, {} unique derived ids",
            tickets.len()
        );
        // Exact repeats of a message with the same intent are the only merges.
        assert!(
            tickets.len() > 8_900 && tickets.len() <= 9_001,
            "{}",
            tickets.len()
        );
        let unique: HashSet<&str> = tickets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(unique.len(), tickets.len());
        for ticket in &tickets {
            let faq_id = ticket.faq_id.as_deref().unwrap_or_default();
            assert!(faq_ids.contains(faq_id), "unknown faq_id {faq_id}");
        }
    }
}
