//! Document import: Markdown, HTML and text split into passages, one file or a folder.

// Wrapped in `import` so that `cargo test -p frontdesk-knowledge import` selects these.
mod import {
    use std::path::{Path, PathBuf};

    use frontdesk_knowledge::import::{docs_from_str, read_docs};

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/import")
            .join(name)
    }

    #[test]
    fn markdown_splits_at_headings_up_to_level_three() {
        let passages = read_docs(&data("docs/guide.md")).expect("valid file");
        let summary: Vec<(&str, &str, &str)> = passages
            .iter()
            .map(|p| (p.id.as_str(), p.title.as_str(), p.text.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "guide.md#1",
                    "Getting started",
                    "Welcome to the shop. This guide explains ordering."
                ),
                (
                    "guide.md#2",
                    "Ordering",
                    "1. Pick an item.\n2. Pay at the checkout.\n\nA detail\n\n\
                 Orders are confirmed by e-mail."
                ),
                ("guide.md#3", "Delivery", "We deliver on weekdays."),
            ]
        );
        assert!(passages.iter().all(|p| p.document == "guide.md"));
    }

    #[test]
    fn html_drops_scripts_and_page_chrome() {
        let passages = read_docs(&data("docs/policies/returns.html")).expect("valid file");
        let all_text: String = passages
            .iter()
            .map(|p| format!("{}\n{}\n", p.title, p.text))
            .collect();
        for absent in [
            "secret-tracking-code",
            "Menu item",
            "Home",
            "Copyright",
            "gift cards",
            "color",
        ] {
            assert!(
                !all_text.contains(absent),
                "{absent:?} leaked into {all_text:?}"
            );
        }
        assert_eq!(passages.len(), 2);
        assert_eq!(
            passages[0].title, "Returns policy",
            "text before a heading: <title>"
        );
        assert_eq!(passages[0].text, "Returns are easy.");
        assert_eq!(passages[1].id, "returns.html#2");
        assert_eq!(passages[1].title, "How to return");
        assert_eq!(
            passages[1].text,
            "Bring the item back within 30 days.\n\n- Keep the receipt\n- Use the original box"
        );
    }

    #[test]
    fn folder_of_mixed_documents() {
        let passages = read_docs(&data("docs")).expect("valid folder");
        let ids: Vec<&str> = passages.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "guide.md#1",
                "guide.md#2",
                "guide.md#3",
                "notes.txt#1",
                "policies/returns.html#1",
                "policies/returns.html#2",
            ],
            "sorted by path; hidden, empty and unsupported files skipped"
        );
        let notes = &passages[3];
        assert_eq!(notes.document, "notes.txt");
        assert_eq!(notes.title, "notes");
        assert_eq!(
            notes.text,
            "The shop is run by a small team.\nWe answer e-mail within a day.\n\n\
         Parking is free after 18:00."
        );
        assert_eq!(passages[5].document, "policies/returns.html");
    }

    #[test]
    fn long_sections_are_split_on_boundaries() {
        let paragraph = "This sentence is about returns and refunds. ".repeat(12);
        let text = format!("# Policy\n\n{}", [paragraph.as_str(); 6].join("\n\n"));
        let passages = docs_from_str(Path::new("policy.md"), &text).expect("valid");
        assert!(passages.len() >= 2, "{} passages", passages.len());
        for (index, passage) in passages.iter().enumerate() {
            assert_eq!(passage.id, format!("policy.md#{}", index + 1));
            assert_eq!(passage.title, "Policy");
            assert!(passage.text.chars().count() <= 1_500);
            assert!(
                passage.text.ends_with('.'),
                "cut at a sentence: {:?}",
                passage.text
            );
        }
    }

    #[test]
    fn plain_text_passages_stay_under_1200_characters() {
        let paragraph = "Opening hours vary by season. ".repeat(10);
        let text = [paragraph.trim(); 8].join("\n\n");
        let passages = docs_from_str(Path::new("docs/hours.txt"), &text).expect("valid");
        assert!(passages.len() >= 2);
        assert!(passages.iter().all(|p| p.text.chars().count() <= 1_200));
        assert!(passages
            .iter()
            .all(|p| p.title == "hours" && p.document == "docs/hours.txt"));
    }

    #[test]
    fn preamble_is_titled_by_first_heading_or_file_stem() {
        let with_heading = docs_from_str(Path::new("a.md"), "Intro.\n\n## First\n\nBody.\n");
        let without = docs_from_str(Path::new("refund-policy.md"), "Just text.\n");
        let (with_heading, without) = (with_heading.expect("valid"), without.expect("valid"));
        assert_eq!(with_heading[0].title, "First");
        assert_eq!(with_heading[0].text, "Intro.");
        assert_eq!(without[0].title, "refund-policy");
    }

    #[test]
    fn unsupported_and_empty_documents_fail() {
        let e = read_docs(&data("docs/logo.svg")).expect_err("unsupported");
        assert!(
            e.to_string().ends_with(
                "unsupported file type `.svg` (expected .md, .markdown, .html, .htm or .txt)"
            ),
            "{e}"
        );
        let e = read_docs(&data("docs/empty.md")).expect_err("no text");
        assert!(e.to_string().ends_with("empty.md: no text found"), "{e}");
        let empty = tempfile::tempdir().expect("temp dir");
        let e = read_docs(empty.path()).expect_err("empty folder");
        assert!(e.message.starts_with("no documents found"), "{e}");
    }
}
