//! Printing what others wrote on a terminal without letting it act there.

/// `text` safe to print on a terminal: control characters (escape sequences among
/// them) and the invisible characters that reorder text are shown as `\u{…}` instead
/// of acting.
pub fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            shown.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The Unicode bidirectional formatting characters: embeddings, overrides and
/// isolates, and the marks.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that act on a terminal or on the order of the text around them instead of
/// showing: control characters (escape sequences start with one) and the bidirectional
/// formatting characters.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_reordering_are_shown_not_obeyed() {
        assert_eq!(printable("plain text ✓ مرحبا"), "plain text ✓ مرحبا");
        assert_eq!(printable("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(printable("bell\u{7}"), "bell\\u{7}");
    }
}
