//! Row-shaped input shared by the FAQ and ticket importers: JSON Lines and CSV.
//!
//! Both formats are read into [`Row`]s that answer "give me field `x`" the same way, so the
//! FAQ and ticket importers state their rules once and every error message has the same
//! wording whatever the format.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{Format, ImportError, Problems};

/// One record of a JSON Lines or CSV file, with the line it starts on.
pub(crate) struct Row {
    pub line: u64,
    fields: Fields,
}

enum Fields {
    Json(Map<String, Value>),
    /// Values of the known columns present in the header, by normalised column name.
    Csv(HashMap<&'static str, String>),
}

/// The columns an importer reads: `required` must be in a CSV header; both lists are the
/// only CSV columns kept (others are ignored, as are unknown JSON fields).
pub(crate) struct Schema {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Optional values whose column (or JSON key) must still be there: a
    /// misspelt header would otherwise pass silently as "no value" on every row.
    pub present: &'static [&'static str],
}

impl Row {
    /// A field's value, trimmed; `None` when absent or null. JSON strings are taken as they
    /// are; numbers only for `numeric_ok` fields (ids exported by help desks are often
    /// numbers); any other JSON type is an error naming the field.
    fn value(&self, name: &str, numeric_ok: bool) -> Result<Option<String>, String> {
        let value = self.raw_value(name, numeric_ok)?;
        // Databases differ on NUL characters (PostgreSQL refuses them), so they
        // are refused here, where the line number is still known.
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(format!("field `{name}` contains a NUL character"));
        }
        Ok(value)
    }

    /// Whether the field is there at all, even empty or null.
    pub fn has(&self, name: &str) -> bool {
        match &self.fields {
            Fields::Csv(values) => values.contains_key(name),
            Fields::Json(object) => object.contains_key(name),
        }
    }

    fn raw_value(&self, name: &str, numeric_ok: bool) -> Result<Option<String>, String> {
        match &self.fields {
            Fields::Csv(values) => Ok(values.get(name).map(|v| v.trim().to_owned())),
            Fields::Json(object) => match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(Value::Number(n)) if numeric_ok => Ok(Some(n.to_string())),
                Some(other) => Err(wrong_type(name, "a string", other)),
            },
        }
    }

    /// A field that must be present and not blank.
    pub fn required(&self, name: &str) -> Result<String, String> {
        self.required_value(name, false)
    }

    /// Like [`Row::required`], also accepting JSON numbers (for ids).
    pub fn required_id(&self, name: &str) -> Result<String, String> {
        self.required_value(name, true)
    }

    fn required_value(&self, name: &str, numeric_ok: bool) -> Result<String, String> {
        match self.value(name, numeric_ok)? {
            None => Err(format!("missing field `{name}`")),
            Some(v) if v.is_empty() => Err(format!("field `{name}` is empty")),
            Some(v) => Ok(v),
        }
    }

    /// A text field where absent, null and blank all mean "not given".
    pub fn optional(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.value(name, false)?.filter(|v| !v.is_empty()))
    }

    /// Like [`Row::optional`], also accepting JSON numbers (for ids).
    pub fn optional_id(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.value(name, true)?.filter(|v| !v.is_empty()))
    }

    /// A list of tags: a JSON array of strings, or a string (JSON or CSV) split on `;`, `|`
    /// or `,`. Tags are trimmed, blanks dropped and repeats removed, keeping the order.
    pub fn tags(&self, name: &str) -> Result<Vec<String>, String> {
        let raw: Vec<String> = match &self.fields {
            Fields::Json(object) => match object.get(name) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => split_tags(s),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(wrong_type(name, "an array of strings", other)),
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => return Err(wrong_type(name, "an array of strings", other)),
            },
            Fields::Csv(values) => values.get(name).map(|s| split_tags(s)).unwrap_or_default(),
        };
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        Ok(tags)
    }
}

fn split_tags(s: &str) -> Vec<String> {
    s.split([';', '|', ',']).map(str::to_owned).collect()
}

fn wrong_type(name: &str, expected: &str, found: &Value) -> String {
    format!(
        "field `{name}` must be {expected}, found {}",
        type_name(found)
    )
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads all rows of a JSON Lines or CSV file.
/// The readable rows; a row that cannot be read is added to `problems` and left out. The
/// error is for a file that cannot be read at all (a bad header, an unclosed quote).
pub(crate) fn read_rows(
    path: &Path,
    text: &str,
    format: Format,
    schema: &Schema,
    problems: &mut Problems,
) -> Result<Vec<Row>, ImportError> {
    match format {
        Format::Csv => csv_rows(path, text, schema, problems),
        _ => Ok(jsonl_rows(path, text, problems)),
    }
}

// ---- JSON Lines ----------------------------------------------------------------------------

fn jsonl_rows(path: &Path, text: &str, problems: &mut Problems) -> Vec<Row> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                problems.add(ImportError::at(path, line_no, json_error(&e)));
                continue;
            }
        };
        let Value::Object(object) = value else {
            let message = format!("expected a JSON object, found {}", type_name(&value));
            problems.add(ImportError::at(path, line_no, message));
            continue;
        };
        rows.push(Row {
            line: line_no,
            fields: Fields::Json(object),
        });
    }
    rows
}

/// serde_json's message without its "at line 1 column N" (always line 1 here, since each
/// line is parsed alone), keeping the column, which still helps find the mistake.
fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let base = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(b, _)| b);
    format!("invalid JSON: {base} at column {}", e.column())
}

// ---- CSV -----------------------------------------------------------------------------------

fn csv_rows(
    path: &Path,
    text: &str,
    schema: &Schema,
    problems: &mut Problems,
) -> Result<Vec<Row>, ImportError> {
    let delimiter = sniff_delimiter(text);
    // The csv crate reads an unclosed quote to the end of the file without complaint, so a
    // single stray quote would silently swallow every following row; check for it first.
    if let Some(line) = unclosed_quote_line(text, delimiter) {
        let message = "unterminated quoted field (the quote opened on this line is never closed)";
        return Err(ImportError::at(path, line, message));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let header = header.map_err(|e| csv_error(path, &e))?;
    let columns = header_columns(path, &header, schema)?;

    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.add(csv_error(path, &e));
                continue;
            }
        };
        // Spreadsheets export trailing rows of empty cells; they are not entries.
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let values = columns
            .iter()
            .filter_map(|&(name, index)| Some((name, record.get(index)?.to_owned())))
            .collect();
        rows.push(Row {
            line,
            fields: Fields::Csv(values),
        });
    }
    Ok(rows)
}

/// Maps the schema's column names to their positions in the header. Header names are
/// matched trimmed, case-insensitively, with spaces and dashes read as underscores, so
/// "FAQ ID" finds `faq_id`. The first of repeated columns wins.
fn header_columns(
    path: &Path,
    header: &csv::StringRecord,
    schema: &Schema,
) -> Result<Vec<(&'static str, usize)>, ImportError> {
    let normalised: Vec<String> = header.iter().map(column_key).collect();
    let position = |name: &str| normalised.iter().position(|h| h == name);
    let line = header.position().map_or(1, |p| p.line());
    let needed = schema.required.iter().chain(schema.present);
    if let Some(missing) = needed.into_iter().find(|name| position(name).is_none()) {
        let found: Vec<&str> = header.iter().map(str::trim).collect();
        let message = format!("missing column `{missing}` (found: {})", found.join(", "));
        return Err(ImportError::at(path, line, message));
    }
    let known = schema.required.iter().chain(schema.optional);
    Ok(known
        .filter_map(|&name| Some((name, position(name)?)))
        .collect())
}

/// A header name as schemas spell it: trimmed, lowercase, spaces and dashes as underscores.
fn column_key(header: &str) -> String {
    header.trim().to_lowercase().replace([' ', '-'], "_")
}

/// The column names of a CSV file's header row as schemas spell them; empty when the file
/// has no readable header. For importers that choose their schema by the columns present;
/// [`read_rows`] reports what is wrong with a header that cannot be read.
pub(crate) fn csv_column_keys(text: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    match reader.records().next() {
        Some(Ok(header)) => header.iter().map(column_key).collect(),
        _ => Vec::new(),
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header row, found {len}"),
        _ => format!("invalid CSV: {e}"),
    };
    match line {
        Some(line) => ImportError::at(path, line, message),
        None => ImportError::file(path, message),
    }
}

/// Comma unless the header line has none but has semicolons or tabs, as spreadsheets in
/// locales with a decimal comma export.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    if header.contains(',') {
        b','
    } else if header.contains(';') {
        b';'
    } else if header.contains('\t') {
        b'\t'
    } else {
        b','
    }
}

/// The line on which a quoted field opens that is never closed, following the dialect the
/// csv crate reads: a quote opens only at the start of a field and `""` inside is a quote.
fn unclosed_quote_line(text: &str, delimiter: u8) -> Option<u64> {
    let delimiter = char::from(delimiter);
    let (mut line, mut opened_on) = (1u64, 0u64);
    let (mut field_start, mut in_quotes) = (true, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if in_quotes {
            if c == '"' && chars.next_if_eq(&'"').is_none() {
                in_quotes = false;
            }
            continue;
        }
        if c == '"' && field_start {
            in_quotes = true;
            opened_on = line;
        }
        field_start = c == delimiter || c == '\n';
    }
    in_quotes.then_some(opened_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_an_unclosed_quote() {
        assert_eq!(unclosed_quote_line("a,b\n1,\"x\"\"y\"\n", b','), None);
        assert_eq!(
            unclosed_quote_line("a,b\n1,\"two\nlines\"\n2,\"open\n", b','),
            Some(4)
        );
        assert_eq!(unclosed_quote_line("a,b\n1,5\" screen\n", b','), None);
    }

    #[test]
    fn semicolon_exports_are_recognised() {
        assert_eq!(sniff_delimiter("\nid;question;answer\n"), b';');
        assert_eq!(sniff_delimiter("id,question\n"), b',');
    }
}
