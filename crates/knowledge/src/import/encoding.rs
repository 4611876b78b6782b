//! Decoding uploaded bytes into text.
//!
//! Owners export from spreadsheets, help-desk tools and old CMSs, so files arrive as UTF-8
//! (often with a BOM from Excel), UTF-16 (Excel's "Unicode text") or a legacy code page
//! (Windows-1252 from older exports). Byte-order marks are trusted; otherwise valid UTF-8
//! wins, and only then is the legacy code page guessed with `chardetng`, the detector
//! Firefox uses. Files that look binary are refused rather than imported as garbage.

use std::path::Path;

use chardetng::EncodingDetector;
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

use super::ImportError;

const NOT_TEXT: &str = "not valid text (expected UTF-8, UTF-16 with BOM, \
                        or a legacy code page such as Windows-1252)";

/// Decodes a file's bytes into text with LF line endings.
///
/// Accepts UTF-8 with or without a BOM (the BOM is dropped), UTF-16 LE/BE with a BOM, and
/// legacy single- or multi-byte code pages detected from the content. Fails with "not valid
/// text" for binary data: NUL bytes without a UTF-16 BOM, bytes the detected encoding cannot
/// decode, or many control characters. `path` only names the file in errors and logs.
pub fn decode_text(path: &Path, bytes: &[u8]) -> Result<String, ImportError> {
    let (text, encoding) = decode_bytes(bytes).ok_or_else(|| ImportError::file(path, NOT_TEXT))?;
    tracing::debug!(file = %path.display(), encoding, "decoded text file");
    if looks_binary(&text) {
        return Err(ImportError::file(path, NOT_TEXT));
    }
    Ok(normalize_newlines(text))
}

/// The text and the name of the encoding it was read as, or `None` when the bytes are not
/// text in any encoding we accept.
fn decode_bytes(bytes: &[u8]) -> Option<(String, &'static str)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).ok()?;
        return Some((text.to_owned(), "UTF-8 with BOM"));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_strict(UTF_16LE, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_strict(UTF_16BE, rest);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some((text.to_owned(), "UTF-8"));
    }
    // NUL never appears in legacy-code-page text; it marks binary data or BOM-less UTF-16,
    // which cannot be told apart from binary reliably.
    if bytes.contains(&0) {
        return None;
    }
    let mut detector = EncodingDetector::new();
    detector.feed(bytes, true);
    decode_strict(detector.guess(None, false), bytes)
}

/// Decodes without replacement characters: a malformed sequence means the guess is wrong.
fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<(String, &'static str)> {
    let text = encoding.decode_without_bom_handling_and_without_replacement(bytes)?;
    Some((text.into_owned(), encoding.name()))
}

/// True for NUL characters, or for more than a stray few control characters (other than tab,
/// newline, carriage return and form feed), which real text files do not contain.
fn looks_binary(text: &str) -> bool {
    let mut total = 0usize;
    let mut controls = 0usize;
    for c in text.chars() {
        if c == '\0' {
            return true;
        }
        total += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            controls += 1;
        }
    }
    controls > 1 && controls * 50 > total
}

/// Turns CRLF (Windows) and lone CR (old Mac) line endings into LF, so that line numbers
/// and multi-line fields are the same whatever exported the file.
fn normalize_newlines(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_line_endings_become_lf() {
        let text = normalize_newlines("a\r\nb\rc\n".to_owned());
        assert_eq!(text, "a\nb\nc\n");
    }

    #[test]
    fn a_single_control_character_is_tolerated() {
        assert!(!looks_binary("a line\x1a"));
        assert!(looks_binary("\x01\x02\x03abc"));
    }
}
