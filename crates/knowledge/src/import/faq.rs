//! FAQ entries from JSON Lines, CSV or Markdown.
//!
//! JSON Lines and CSV carry `id`, `question` and `answer` (required), `tags` and `url`
//! (optional). Markdown has one `## ` heading per question with the answer under it; its id
//! is `{#explicit-id}` at the end of the heading or a slug of the question. Ids must be
//! unique within a file, because importing an id again updates that entry: two entries with
//! one id would silently overwrite each other.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use frontdesk_core::FaqEntry;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::blocks::{render, Block, BlockKind};
use super::records::{read_rows, Row, Schema};
use super::{first_problem, format_of, markdown, read_text, Format, ImportError, Problems};

const FORMATS: &[Format] = &[Format::Jsonl, Format::Csv, Format::Markdown];
const EXPECTED: &str = ".jsonl, .csv or .md";
const SCHEMA: Schema = Schema {
    required: &["id", "question", "answer"],
    optional: &["tags", "url"],
    present: &[],
};
/// Slugs longer than this are cut at a word boundary: ids end up in URLs and logs.
const MAX_SLUG_LEN: usize = 60;

/// Reads FAQ entries from a `.jsonl`/`.ndjson`, `.csv` or `.md`/`.markdown` file.
pub fn read_faqs(path: &Path) -> Result<Vec<FaqEntry>, ImportError> {
    // Checked before reading, so a wrong file is refused without decoding it.
    format_of(path, FORMATS, EXPECTED)?;
    let text = read_text(path)?;
    faqs_from_str(path, &text)
}

/// Reads FAQ entries from text; `path` picks the format by extension and names errors.
pub fn faqs_from_str(path: &Path, text: &str) -> Result<Vec<FaqEntry>, ImportError> {
    check_faqs(path, text).map_err(first_problem)
}

/// Reads FAQ entries from text like [`faqs_from_str`], but goes on past a bad entry and
/// returns every problem found (up to [`MAX_LISTED_PROBLEMS`](super::MAX_LISTED_PROBLEMS)).
pub fn check_faqs(path: &Path, text: &str) -> Result<Vec<FaqEntry>, Vec<ImportError>> {
    let format = format_of(path, FORMATS, EXPECTED).map_err(|e| vec![e])?;
    let mut problems = Problems::default();
    let entries = match format {
        Format::Markdown => markdown_entries(path, text, &mut problems),
        format => read_rows(path, text, format, &SCHEMA, &mut problems)
            .map_err(|e| vec![e])?
            .iter()
            .filter_map(|row| match entry_from_row(row) {
                Ok(entry) => Some((row.line, entry)),
                Err(message) => {
                    problems.add(ImportError::at(path, row.line, message));
                    None
                }
            })
            .collect(),
    };
    if entries.is_empty() && problems.is_empty() {
        return Err(vec![ImportError::file(path, "no entries found")]);
    }
    let entries = unique_ids(path, entries, &mut problems);
    problems.or(path, entries)
}

fn entry_from_row(row: &Row) -> Result<FaqEntry, String> {
    Ok(FaqEntry {
        id: row.required_id("id")?,
        question: row.required("question")?,
        answer: row.required("answer")?,
        tags: row.tags("tags")?,
        url: row.optional("url")?,
    })
}

/// Drops the line numbers, adding each repeat of an id to `problems`.
fn unique_ids(
    path: &Path,
    entries: Vec<(u64, FaqEntry)>,
    problems: &mut Problems,
) -> Vec<FaqEntry> {
    let mut first_seen: HashMap<&str, u64> = HashMap::with_capacity(entries.len());
    for (line, entry) in &entries {
        if let Some(&first) = first_seen.get(entry.id.as_str()) {
            let message = format!("duplicate id `{}` (first at line {first})", entry.id);
            problems.add(ImportError::at(path, *line, message));
        } else {
            first_seen.insert(&entry.id, *line);
        }
    }
    entries.into_iter().map(|(_, entry)| entry).collect()
}

// ---- Markdown ------------------------------------------------------------------------------

/// A `## ` question heading and the blocks under it.
struct Question<'a> {
    heading: &'a Block,
    answer: Vec<Block>,
}

fn markdown_entries(path: &Path, text: &str, problems: &mut Problems) -> Vec<(u64, FaqEntry)> {
    let blocks = markdown::parse(text);
    let questions = questions(&blocks);
    let mut used: HashSet<String> = questions
        .iter()
        .filter_map(|q| q.heading.anchor.clone())
        .collect();
    let mut entries = Vec::with_capacity(questions.len());
    for question in &questions {
        let heading = question.heading;
        if heading.text.trim().is_empty() {
            problems.add(ImportError::at(
                path,
                heading.line,
                "field `question` is empty",
            ));
            continue;
        }
        let answer = render(&question.answer);
        if answer.is_empty() {
            let message = format!("field `answer` is empty (no text under `{}`)", heading.text);
            problems.add(ImportError::at(path, heading.line, message));
            continue;
        }
        let id = match &heading.anchor {
            Some(anchor) => anchor.clone(),
            None => unique_slug(&heading.text, &mut used),
        };
        let entry = FaqEntry {
            id,
            question: heading.text.trim().to_owned(),
            answer,
            tags: Vec::new(),
            url: None,
        };
        entries.push((heading.line, entry));
    }
    entries
}

/// Groups blocks under `## ` headings. Text before the first one is an introduction, and a
/// `# ` heading (a page or category title) ends the answer before it without being one.
fn questions(blocks: &[Block]) -> Vec<Question<'_>> {
    let mut questions: Vec<Question> = Vec::new();
    let mut open = false;
    for block in blocks {
        match block.kind {
            BlockKind::Heading(2) => {
                questions.push(Question {
                    heading: block,
                    answer: Vec::new(),
                });
                open = true;
            }
            BlockKind::Heading(1) => open = false,
            _ if open => {
                if let Some(question) = questions.last_mut() {
                    question.answer.push(block.clone());
                }
            }
            _ => {}
        }
    }
    questions
}

/// A slug of `text` not in `used` (then added to it): `-2`, `-3`... on repeats.
fn unique_slug(text: &str, used: &mut HashSet<String>) -> String {
    let base = slug(text);
    let mut candidate = base.clone();
    let mut n = 2;
    while used.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    used.insert(candidate.clone());
    candidate
}

/// Lowercase ASCII letters and digits joined by single dashes; accents are dropped
/// ("Café" gives "cafe") and apostrophes vanish ("Can't" gives "cant").
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if matches!(c, '\'' | '\u{2019}') {
            continue;
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    if out.len() > MAX_SLUG_LEN {
        let cut = out[..MAX_SLUG_LEN].rfind('-').unwrap_or(MAX_SLUG_LEN);
        out.truncate(cut);
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "faq".to_owned()
    } else {
        out.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_and_short() {
        assert_eq!(slug("Can't I pay by card?"), "cant-i-pay-by-card");
        assert_eq!(slug("  Café — naïve "), "cafe-naive");
        assert_eq!(slug("¿?"), "faq");
        assert!(slug(&"word ".repeat(40)).len() <= MAX_SLUG_LEN);
    }

    #[test]
    fn repeated_slugs_get_numbers() {
        let mut used = HashSet::from(["refunds-2".to_owned()]);
        assert_eq!(unique_slug("Refunds", &mut used), "refunds");
        assert_eq!(unique_slug("Refunds!", &mut used), "refunds-3");
    }
}
