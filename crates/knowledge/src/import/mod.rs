//! Importers: turn the files an owner uploads into knowledge records.
//!
//! Four kinds of input are read here, with no database involved:
//!
//! - **FAQ entries** ([`read_faqs`]) from JSON Lines, CSV or Markdown (`## ` per question);
//! - **past tickets** ([`read_tickets`]) from JSON Lines or CSV;
//! - **documents** ([`read_docs`]) from Markdown, HTML or plain text, one file or a folder,
//!   split into passages at headings and into bounded lengths;
//! - **product catalogs** ([`read_products`]) from CSV: a shop platform's product export
//!   or Frontdesk's own one-row-per-variant layout.
//!
//! Every file is first decoded by [`decode_text`], which accepts UTF-8 (with or without a
//! BOM), UTF-16 with a BOM and legacy code pages such as Windows-1252, and turns CRLF into LF.
//!
//! A file either imports whole or fails whole: a problem becomes an [`ImportError`] naming
//! the file and, where one applies, the line. Owners fix the file and import it again, which
//! is easier to reason about than a half-imported FAQ. The `read_*` and `*_from_str`
//! functions stop at the first problem; the `check_*` functions of the row-shaped kinds
//! (FAQ entries, tickets, products) go on through the file and list every bad row, for an
//! owner who would rather fix them all in one go.
//!
//! Each `read_*` function has a `*_from_str` twin that takes the text directly; the path is
//! then only a label for errors, for the format (by extension) and for document names.

mod blocks;
mod docs;
mod encoding;
mod faq;
mod html;
mod markdown;
mod products;
mod records;
mod split;
mod tickets;

use std::fmt;
use std::path::{Path, PathBuf};

pub use docs::{docs_from_str, read_docs};
pub use encoding::decode_text;
pub use faq::{check_faqs, faqs_from_str, read_faqs, slug};
pub use products::{check_products, products_from_str, read_products};
pub use tickets::{check_tickets, read_tickets, tickets_from_str};

/// A `check_*` function lists at most this many problems, and counts the rest in one more:
/// a file that is wrong on every row (another kind of export, say) would otherwise list
/// thousands.
pub const MAX_LISTED_PROBLEMS: usize = 100;

/// Why a file could not be imported, with where in the file the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    /// The file as it was given to the importer.
    pub file: PathBuf,
    /// 1-based line number, when the problem sits on one line.
    pub line: Option<u64>,
    /// What is wrong, written for the owner who has to fix the file.
    pub message: String,
}

impl ImportError {
    /// A problem with the file as a whole.
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        ImportError {
            file: path.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }

    /// A problem on one line of the file.
    pub(crate) fn at(path: &Path, line: u64, message: impl Into<String>) -> Self {
        ImportError {
            file: path.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The problems found in one file so far, for the `check_*` functions.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    listed: Vec<ImportError>,
    unlisted: usize,
}

impl Problems {
    pub(crate) fn add(&mut self, problem: ImportError) {
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.unlisted += 1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// `value` when nothing was found; otherwise the problems in line order (those about
    /// the whole file first), with one more counting any left unlisted.
    pub(crate) fn or<T>(self, path: &Path, value: T) -> Result<T, Vec<ImportError>> {
        if self.listed.is_empty() {
            return Ok(value);
        }
        let mut listed = self.listed;
        listed.sort_by_key(|problem| problem.line);
        if self.unlisted > 0 {
            let message = format!("and {} more problems not listed", self.unlisted);
            listed.push(ImportError::file(path, message));
        }
        Err(listed)
    }
}

/// The first of a `check_*` function's problems, for the functions that stop at one.
pub(crate) fn first_problem(mut problems: Vec<ImportError>) -> ImportError {
    problems.swap_remove(0)
}

/// The file formats the importers know, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Jsonl,
    Csv,
    Markdown,
    Html,
    Text,
}

impl Format {
    /// The format for a file extension (without the dot, any case).
    fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }
}

/// The format of `path` when it is one of `allowed`; otherwise an error listing `expected`
/// (for example ".jsonl, .csv or .md").
pub(crate) fn format_of(
    path: &Path,
    allowed: &[Format],
    expected: &str,
) -> Result<Format, ImportError> {
    let ext = path.extension().map(|e| e.to_string_lossy());
    let format = ext.as_deref().and_then(Format::from_extension);
    match (format, ext) {
        (Some(format), _) if allowed.contains(&format) => Ok(format),
        (_, Some(ext)) => Err(ImportError::file(
            path,
            format!("unsupported file type `.{ext}` (expected {expected})"),
        )),
        (_, None) => Err(ImportError::file(
            path,
            format!("unsupported file type: no extension (expected {expected})"),
        )),
    }
}

/// Reads and decodes a whole file.
pub(crate) fn read_text(path: &Path) -> Result<String, ImportError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ImportError::file(path, format!("cannot read file: {e}")))?;
    decode_text(path, &bytes)
}
