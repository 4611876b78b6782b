//! Past tickets from JSON Lines or CSV.
//!
//! Each ticket has a `message` (required), the `faq_id` that resolved it (the field must be
//! there; null or empty when a person handled it without an FAQ), optionally the
//! `answer` a person gave and an `id`. Exports often have no id, so one is derived from the
//! content: importing the same file twice then updates rather than duplicates. Rows whose
//! derived ids coincide are the same ticket exported twice and are merged (the last wins);
//! a repeated explicit id is an error, as for FAQ entries.

use std::collections::HashMap;
use std::path::Path;

use frontdesk_core::Ticket;
use sha2::{Digest, Sha256};

use super::records::{read_rows, Row, Schema};
use super::{first_problem, format_of, read_text, Format, ImportError, Problems};

const FORMATS: &[Format] = &[Format::Jsonl, Format::Csv];
const EXPECTED: &str = ".jsonl or .csv";
const SCHEMA: Schema = Schema {
    required: &["message"],
    optional: &["faq_id", "answer", "id"],
    present: &["faq_id"],
};

/// Reads past tickets from a `.jsonl`/`.ndjson` or `.csv` file.
pub fn read_tickets(path: &Path) -> Result<Vec<Ticket>, ImportError> {
    format_of(path, FORMATS, EXPECTED)?;
    let text = read_text(path)?;
    tickets_from_str(path, &text)
}

/// Reads past tickets from text; `path` picks the format by extension and names errors.
pub fn tickets_from_str(path: &Path, text: &str) -> Result<Vec<Ticket>, ImportError> {
    check_tickets(path, text).map_err(first_problem)
}

/// Reads past tickets from text like [`tickets_from_str`], but goes on past a bad row and
/// returns every problem found (up to [`MAX_LISTED_PROBLEMS`](super::MAX_LISTED_PROBLEMS)).
pub fn check_tickets(path: &Path, text: &str) -> Result<Vec<Ticket>, Vec<ImportError>> {
    let format = format_of(path, FORMATS, EXPECTED).map_err(|e| vec![e])?;
    let mut problems = Problems::default();
    let rows = read_rows(path, text, format, &SCHEMA, &mut problems).map_err(|e| vec![e])?;
    if rows.is_empty() && problems.is_empty() {
        return Err(vec![ImportError::file(path, "no entries found")]);
    }
    let mut tickets = Tickets::default();
    for row in &rows {
        let added = ticket_from_row(row)
            .and_then(|(ticket, derived)| tickets.add(ticket, derived, row.line));
        if let Err(message) = added {
            problems.add(ImportError::at(path, row.line, message));
        }
    }
    if tickets.merged > 0 {
        // Not an error (exports often repeat a row), but the count read is then lower than
        // the file's rows, and the owner should know why.
        tracing::warn!(
            file = %path.display(),
            rows = tickets.merged,
            "rows repeating an earlier row's message and FAQ were merged into it"
        );
    }
    problems.or(path, tickets.list)
}

/// The ticket, and whether its id was derived from the content.
fn ticket_from_row(row: &Row) -> Result<(Ticket, bool), String> {
    let message = row.required("message")?;
    if !row.has("faq_id") {
        return Err("missing field `faq_id` (null or empty when no FAQ fits)".to_string());
    }
    let faq_id = row.optional_id("faq_id")?;
    let answer = row.optional("answer")?;
    let given_id = row.optional_id("id")?;
    let derived = given_id.is_none();
    let id = given_id.unwrap_or_else(|| derived_id(&message, faq_id.as_deref()));
    let ticket = Ticket {
        id,
        message,
        faq_id,
        answer,
    };
    Ok((ticket, derived))
}

/// "t-" and the first 16 hex digits of SHA-256 over the message, a unit separator and the
/// FAQ id: the same message resolved by another FAQ is another example, so it gets its own
/// id.
pub(crate) fn derived_id(message: &str, faq_id: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(message.as_bytes());
    hasher.update("\u{1f}".as_bytes());
    hasher.update(faq_id.unwrap_or_default().as_bytes());
    let digest = hex::encode(hasher.finalize());
    format!("t-{}", &digest[..16])
}

/// Tickets in file order, merging repeats of derived ids.
#[derive(Default)]
struct Tickets {
    list: Vec<Ticket>,
    /// Position in `list`, first line and whether the id was derived, by id.
    seen: HashMap<String, (usize, u64, bool)>,
    /// Rows merged into an earlier one with the same derived id.
    merged: usize,
}

impl Tickets {
    fn add(&mut self, ticket: Ticket, derived: bool, line: u64) -> Result<(), String> {
        match self.seen.get(&ticket.id) {
            Some(&(index, _, true)) if derived => {
                self.list[index] = ticket;
                self.merged += 1;
                Ok(())
            }
            Some(&(_, first, _)) => Err(format!(
                "duplicate id `{}` (first at line {first})",
                ticket.id
            )),
            None => {
                self.seen
                    .insert(ticket.id.clone(), (self.list.len(), line, derived));
                self.list.push(ticket);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_depend_on_message_and_faq() {
        let a = derived_id("Where is my card?", Some("card_arrival"));
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("t-"));
        assert_eq!(a, derived_id("Where is my card?", Some("card_arrival")));
        assert_ne!(a, derived_id("Where is my card?", None));
        // No FAQ and an empty FAQ id are the same thing.
        assert_eq!(derived_id("x", None), derived_id("x", Some("")));
    }
}
