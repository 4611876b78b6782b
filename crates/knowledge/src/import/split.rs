//! Splitting long text into passages of bounded length.
//!
//! Retrieval ranks passages, and an answer quotes one, so a passage should hold one idea
//! and fit on a screen. Text is cut at the largest boundary that makes the pieces fit:
//! paragraphs, then lines, then sentences, then words, and as a last resort characters.
//! Pieces are then packed greedily back together up to the limit, so passages are as
//! long as allowed rather than one per paragraph.

/// Separators from the largest unit to the smallest; sentences are handled apart.
const PARAGRAPH: &str = "\n\n";
const LINE: &str = "\n";
const SPACE: &str = " ";

/// Splits `text` into trimmed, non-empty pieces of at most `max` characters each.
pub(crate) fn split_text(text: &str, max: usize) -> Vec<String> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if char_len(text) <= max {
        return vec![text.to_owned()];
    }
    let mut atoms = Vec::new();
    atomize(text, max, 0, "", &mut atoms);
    pack(atoms, max)
}

fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Breaks `text` into pieces of at most `max` characters, each with the separator that
/// came before it, going one unit smaller (`level`) for pieces still too long.
fn atomize<'a>(
    text: &'a str,
    max: usize,
    level: usize,
    separator: &'static str,
    out: &mut Vec<(&'static str, &'a str)>,
) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if char_len(text) <= max {
        out.push((separator, text));
        return;
    }
    let (parts, inner): (Vec<&str>, &'static str) = match level {
        0 => (text.split(PARAGRAPH).collect(), PARAGRAPH),
        1 => (text.split(LINE).collect(), LINE),
        2 => (sentences(text), SPACE),
        3 => (text.split(char::is_whitespace).collect(), SPACE),
        _ => (hard_cut(text, max), ""),
    };
    for (index, part) in parts.into_iter().enumerate() {
        let separator = if index == 0 { separator } else { inner };
        if level >= 4 {
            out.push((separator, part));
        } else {
            atomize(part, max, level + 1, separator, out);
        }
    }
}

/// Sentences, each ending in its `.`, `!` or `?`, cut where whitespace follows them.
fn sentences(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut previous = ' ';
    for (index, c) in text.char_indices() {
        if c.is_whitespace() && matches!(previous, '.' | '!' | '?') {
            parts.push(&text[start..index]);
            start = index;
        }
        previous = c;
    }
    parts.push(&text[start..]);
    parts
}

/// Cuts a single over-long word (a URL, a base64 blob) every `max` characters.
fn hard_cut(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut taken = 0;
    for (index, _) in text.char_indices() {
        if taken == max {
            parts.push(&text[start..index]);
            start = index;
            taken = 0;
        }
        taken += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// Joins consecutive pieces with their separators while they fit in `max` characters.
fn pack(atoms: Vec<(&str, &str)>, max: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for (separator, atom) in atoms {
        let atom_len = char_len(atom);
        let joined_len = current_len + char_len(separator) + atom_len;
        if !current.is_empty() && joined_len <= max {
            current.push_str(separator);
            current.push_str(atom);
            current_len = joined_len;
        } else {
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            current.push_str(atom);
            current_len = atom_len;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_text("  hello \n", 10), ["hello"]);
        assert!(split_text(" \n ", 10).is_empty());
    }

    #[test]
    fn paragraphs_are_packed_up_to_the_limit() {
        let text = "aaaa\n\nbbbb\n\ncccc";
        assert_eq!(split_text(text, 10), ["aaaa\n\nbbbb", "cccc"]);
    }

    #[test]
    fn long_paragraphs_split_at_sentences_then_words() {
        let text = "One two three. Four five six! Seven eight nine?";
        assert_eq!(
            split_text(text, 20),
            ["One two three.", "Four five six!", "Seven eight nine?"]
        );
        let pieces = split_text(&"word ".repeat(50), 22);
        assert!(pieces.iter().all(|p| p.chars().count() <= 22), "{pieces:?}");
        assert_eq!(pieces.concat().matches("word").count(), 50);
    }

    #[test]
    fn a_huge_word_is_cut() {
        let pieces = split_text(&"é".repeat(25), 10);
        assert_eq!(
            pieces.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [10, 10, 5]
        );
    }
}
