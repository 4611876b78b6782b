//! Cutting a reply that is too long for one provider message into several.
//!
//! Limits are counted in UTF-16 code units because that is how Telegram (and Meta's
//! platforms) count them: an emoji outside the basic plane costs two, a family emoji
//! joined with zero-width joiners costs eight or more. Cuts fall only between grapheme
//! clusters, so no part begins with a stray skin tone or combining accent.

use unicode_segmentation::UnicodeSegmentation;

/// Where a part may end, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    Paragraph,
    Line,
    Sentence,
    Space,
}

const BREAKS_BEST_FIRST: [Break; 4] =
    [Break::Paragraph, Break::Line, Break::Sentence, Break::Space];

/// A cut: the part ends at `end`, the next part resumes at `resume` (the whitespace
/// between them is dropped).
#[derive(Debug, Clone, Copy)]
struct Cut {
    end: usize,
    resume: usize,
}

/// Splits `text` into parts of at most `max_utf16_units` UTF-16 code units each.
///
/// Each part ends at the last paragraph break that fits, else the last line break, else
/// the last sentence end, else the last whitespace, else the last grapheme boundary.
/// Whitespace at a cut and at either end of the text is dropped; inner text is kept as
/// it is. Text that is empty or only whitespace gives no parts.
///
/// A single grapheme cluster longer than the limit (hundreds of stacked combining marks)
/// cannot be sent whole anywhere, so only such a cluster is cut between code points.
/// Limits below 2 are taken as 2, the most one code point needs.
pub fn split_text(text: &str, max_utf16_units: usize) -> Vec<String> {
    let max = max_utf16_units.max(2);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if utf16_len(rest) <= max {
            parts.push(rest.to_string());
            break;
        }
        let cut = best_cut(rest, max);
        parts.push(rest[..cut.end].to_string());
        rest = rest[cut.resume..].trim_start();
    }
    parts
}

/// The number of UTF-16 code units `text` takes.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Where to end the first part of `text`, which starts with non-whitespace and is longer
/// than `max` units.
fn best_cut(text: &str, max: usize) -> Cut {
    let mut used = 0;
    let mut window_end = 0;
    // The latest cut of each kind that keeps the part within the limit.
    let mut latest: [Option<Cut>; 4] = [None; 4];
    let mut previous: Option<&str> = None;
    for (start, grapheme) in text.grapheme_indices(true) {
        let fits = used + utf16_len(grapheme) <= max;
        // A whitespace run that begins right after the window still allows a cut at the
        // window's end, so it is looked at before stopping.
        if is_whitespace(grapheme) && !previous.is_some_and(is_whitespace) {
            if let Some(before) = previous {
                let (kind, run_len) = classify_run(&text[start..], before);
                latest[kind as usize] = Some(Cut {
                    end: start,
                    resume: start + run_len,
                });
            }
        }
        if !fits {
            break;
        }
        used += utf16_len(grapheme);
        window_end = start + grapheme.len();
        if is_closing_full_stop(grapheme) {
            latest[Break::Sentence as usize] = Some(Cut {
                end: window_end,
                resume: window_end,
            });
        }
        previous = Some(grapheme);
    }
    if window_end == 0 {
        return cut_oversized_cluster(text, max);
    }
    BREAKS_BEST_FIRST
        .iter()
        .find_map(|kind| latest[*kind as usize])
        .unwrap_or(Cut {
            end: window_end,
            resume: window_end,
        })
}

/// What kind of break the whitespace run at the start of `run` is, and its length in
/// bytes. `before` is the grapheme just before the run.
fn classify_run(run: &str, before: &str) -> (Break, usize) {
    let mut newlines = 0;
    let mut len = 0;
    for grapheme in run.graphemes(true).take_while(|g| is_whitespace(g)) {
        newlines += grapheme.chars().filter(|c| *c == '\n').count();
        len += grapheme.len();
    }
    let kind = match newlines {
        0 if before.ends_with(['.', '!', '?']) => Break::Sentence,
        0 => Break::Space,
        1 => Break::Line,
        _ => Break::Paragraph,
    };
    (kind, len)
}

fn is_whitespace(grapheme: &str) -> bool {
    grapheme.chars().all(char::is_whitespace)
}

/// Punctuation that ends a sentence with no space after it (Chinese and Japanese).
fn is_closing_full_stop(grapheme: &str) -> bool {
    matches!(grapheme, "。" | "！" | "？")
}

/// Cuts inside a grapheme cluster that alone exceeds the limit, between code points.
fn cut_oversized_cluster(text: &str, max: usize) -> Cut {
    let mut used = 0;
    let mut end = 0;
    for (start, ch) in text.char_indices() {
        if used + ch.len_utf16() > max {
            break;
        }
        used += ch.len_utf16();
        end = start + ch.len_utf8();
    }
    Cut { end, resume: end }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte offsets of every grapheme boundary in `text`, ends included.
    fn boundaries(text: &str) -> std::collections::BTreeSet<usize> {
        let mut set: std::collections::BTreeSet<usize> =
            text.grapheme_indices(true).map(|(at, _)| at).collect();
        set.insert(text.len());
        set
    }

    fn without_whitespace(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Checks the promises every split keeps, and returns the parts.
    fn split_checked(text: &str, max: usize) -> Vec<String> {
        let parts = split_text(text, max);
        let allowed = boundaries(text);
        let mut cursor = 0;
        for part in &parts {
            assert!(!part.is_empty());
            assert!(utf16_len(part) <= max, "{} > {max}", utf16_len(part));
            assert_eq!(part.trim(), part, "a part keeps whitespace at a cut");
            let at = cursor
                + text[cursor..]
                    .find(part.as_str())
                    .expect("part is in the text");
            assert!(
                text[cursor..at].trim().is_empty(),
                "only whitespace is dropped"
            );
            assert!(
                allowed.contains(&at),
                "part starts inside a grapheme at {at}"
            );
            assert!(
                allowed.contains(&(at + part.len())),
                "part ends inside a grapheme"
            );
            cursor = at + part.len();
        }
        assert!(text[cursor..].trim().is_empty());
        assert_eq!(
            without_whitespace(&parts.concat()),
            without_whitespace(text)
        );
        parts
    }

    #[test]
    fn text_that_fits_is_one_part() {
        assert_eq!(
            split_text("  Hello there.\n\nBye  ", 4096),
            vec!["Hello there.\n\nBye"]
        );
        assert_eq!(split_text("exactly", 7), vec!["exactly"]);
        assert!(split_text(" \n\t ", 10).is_empty());
        assert!(split_text("", 10).is_empty());
    }

    #[test]
    fn a_long_mixed_reply_splits_within_telegrams_limit() {
        let words = [
            "order",
            "café",
            "naïve",
            "👍🏽",
            "délivré",
            "👨‍👩‍👧",
            "thanks.",
            "Größe",
            "ok!",
            "e\u{301}",
            "🇫🇷",
            "refund?",
        ];
        let mut text = String::new();
        let mut index = 0;
        while text.chars().count() < 10_000 {
            text.push_str(words[index % words.len()]);
            text.push(if index % 97 == 96 { '\n' } else { ' ' });
            index += 1;
        }
        let parts = split_checked(&text, 4096);
        assert!(parts.len() >= 3, "{}", parts.len());
        // split_checked proved every cut is a grapheme boundary; spot-check the emoji.
        let family = "👨‍👩‍👧";
        let whole_families: usize = parts.iter().map(|part| part.matches(family).count()).sum();
        assert_eq!(whole_families, text.matches(family).count());
        for part in &parts {
            assert!(!part.starts_with(['\u{1F3FD}', '\u{301}', '\u{200D}']));
        }
    }

    #[test]
    fn text_without_spaces_splits_between_graphemes() {
        let text = "e\u{301}".repeat(9000);
        let parts = split_checked(&text, 4096);
        assert_eq!(parts.len(), 5);
        assert_eq!(utf16_len(&parts[0]), 4096);
        for part in &parts {
            assert!(part.starts_with('e') && part.ends_with('\u{301}'));
        }
        // Surrogate pairs: an odd limit must not cut one in half.
        let emoji = "😀".repeat(10);
        let parts = split_checked(&emoji, 5);
        assert!(parts.iter().all(|part| part == "😀😀"));
    }

    #[test]
    fn cuts_prefer_paragraphs_then_lines_then_sentences_then_spaces() {
        let text = "First paragraph here.\n\nSecond line one.\nSecond line two. More words here";
        let parts = split_checked(text, 50);
        assert_eq!(parts[0], "First paragraph here.");
        let text = "Line one is here.\nLine two. Still line two";
        let parts = split_checked(text, 30);
        assert_eq!(parts, vec!["Line one is here.", "Line two. Still line two"]);
        let text = "One sentence. Another one goes on and on";
        let parts = split_checked(text, 30);
        assert_eq!(parts, vec!["One sentence.", "Another one goes on and on"]);
        let text = "no sentence ends here at all really";
        let parts = split_checked(text, 20);
        assert_eq!(parts[0], "no sentence ends");
        let text = "これは文です。これも文です。もう一つ";
        let parts = split_checked(text, 10);
        assert_eq!(parts[0], "これは文です。");
    }

    #[test]
    fn whitespace_just_past_the_limit_is_a_clean_cut() {
        let parts = split_checked("abcde fgh", 5);
        assert_eq!(parts, vec!["abcde", "fgh"]);
        let parts = split_checked("abcde\n\nfgh", 5);
        assert_eq!(parts, vec!["abcde", "fgh"]);
    }

    #[test]
    fn a_cluster_longer_than_the_limit_is_cut_between_code_points() {
        let zalgo = format!("a{}", "\u{301}".repeat(20));
        let parts = split_text(&zalgo, 8);
        assert!(parts.iter().all(|part| utf16_len(part) <= 8));
        assert_eq!(parts.concat(), zalgo);
    }
}
