//! A small Markdown reader that keeps what matters for answers and passages.
//!
//! It is not a CommonMark renderer: it finds headings (ATX `#` and setext underlines),
//! paragraphs, list items, fenced code and pipe tables, and turns inline syntax (emphasis,
//! links, images, code spans, inline HTML, entities) into readable plain text. That is
//! enough for FAQ pages and help articles, and keeps the importer free of a renderer whose
//! HTML we would only have to strip again.

use super::blocks::{Block, BlockKind};

/// Reads Markdown into plain-text blocks with their source lines.
pub(crate) fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut parser = Parser::default();
    let mut index = front_matter_end(&lines);
    while index < lines.len() {
        let line = lines[index];
        let line_no = index as u64 + 1;
        index += 1;
        if let Some(fence) = fence_marker(line) {
            parser.flush();
            index = parser.code_block(&lines, index, fence, line_no);
        } else if line.trim_start().starts_with("<!--") {
            parser.flush();
            index = skip_comment(&lines, index - 1);
        } else {
            parser.line(line, line_no);
        }
    }
    parser.flush();
    parser.blocks
}

/// Collects consecutive lines into the block being built.
#[derive(Default)]
struct Parser {
    blocks: Vec<Block>,
    /// Raw lines of the open paragraph, list item or table.
    lines: Vec<String>,
    kind: Option<BlockKind>,
    /// "- " or "1. " for an open list item.
    marker: String,
    start_line: u64,
    blank_before: bool,
}

impl Parser {
    fn line(&mut self, line: &str, line_no: u64) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            self.flush();
            self.blank_before = true;
            return;
        }
        let blank_before = std::mem::take(&mut self.blank_before);
        if indent_width(line) < 4 && self.structural_line(trimmed, line_no) {
            return;
        }
        let text = trimmed
            .strip_prefix('>')
            .map_or(line.trim_start(), str::trim_start);
        // A blank line ends a paragraph; a table ends at the first line that is not a row.
        if blank_before || self.kind == Some(BlockKind::Preformatted) {
            self.flush();
        }
        self.push(BlockKind::Paragraph, text, line_no);
    }

    /// Handles headings, rules, list items, table rows and link definitions; false when
    /// the line is ordinary text.
    fn structural_line(&mut self, trimmed: &str, line_no: u64) -> bool {
        if let Some((level, text)) = atx_heading(trimmed) {
            self.flush();
            self.heading(level, text, line_no);
        } else if let Some(level) = setext_level(trimmed).filter(|_| self.in_paragraph()) {
            let text = std::mem::take(&mut self.lines).join(" ");
            let start = self.start_line;
            self.kind = None;
            self.heading(level, &text, start);
        } else if is_rule(trimmed) || is_link_definition(trimmed) {
            self.flush();
        } else if let Some((marker, text)) = list_item(trimmed) {
            self.flush();
            self.marker = marker;
            self.push(BlockKind::ListItem, text, line_no);
        } else if trimmed.starts_with('|') {
            self.table_row(trimmed, line_no);
        } else {
            return false;
        }
        true
    }

    fn in_paragraph(&self) -> bool {
        self.kind == Some(BlockKind::Paragraph) && !self.lines.is_empty()
    }

    fn push(&mut self, kind: BlockKind, text: &str, line_no: u64) {
        if self.kind.is_none() {
            self.kind = Some(kind);
            self.start_line = line_no;
        }
        self.lines.push(text.to_owned());
    }

    fn heading(&mut self, level: u8, text: &str, line_no: u64) {
        let (text, anchor) = split_anchor(text);
        let mut block = Block::new(BlockKind::Heading(level), inline_to_plain(text), line_no);
        block.anchor = anchor;
        self.blocks.push(block);
    }

    /// Pipe-table rows become lines of cells joined by " | "; the `|---|` row is dropped.
    fn table_row(&mut self, trimmed: &str, line_no: u64) {
        if self.kind != Some(BlockKind::Preformatted) {
            self.flush();
        }
        if trimmed
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
        {
            return;
        }
        let inner = trimmed.trim_start_matches('|').trim_end_matches('|');
        let cells: Vec<String> = inner
            .split('|')
            .map(|c| inline_to_plain(c.trim()))
            .collect();
        self.push(BlockKind::Preformatted, &cells.join(" | "), line_no);
    }

    /// Reads a fenced code block whose body starts at `index`; returns the index after it.
    fn code_block(
        &mut self,
        lines: &[&str],
        mut index: usize,
        fence: Fence,
        line_no: u64,
    ) -> usize {
        let mut body = Vec::new();
        while index < lines.len() {
            let line = lines[index];
            index += 1;
            if fence_marker(line).is_some_and(|f| f.0 == fence.0 && f.1 >= fence.1) {
                break;
            }
            body.push(line.trim_end());
        }
        let text = body.join("\n");
        if !text.trim().is_empty() {
            self.blocks
                .push(Block::new(BlockKind::Preformatted, text, line_no));
        }
        index
    }

    /// Ends the open block, turning its raw lines into plain text.
    fn flush(&mut self) {
        let Some(kind) = self.kind.take() else {
            return;
        };
        let lines = std::mem::take(&mut self.lines);
        let text = match kind {
            BlockKind::Preformatted => lines.join("\n"),
            BlockKind::ListItem => {
                let marker = std::mem::take(&mut self.marker);
                format!("{marker}{}", inline_to_plain(&join_soft_lines(&lines)))
            }
            _ => inline_to_plain(&join_soft_lines(&lines)),
        };
        if !text.trim().is_empty() {
            self.blocks.push(Block::new(kind, text, self.start_line));
        }
    }
}

/// Joins wrapped lines with spaces, keeping hard breaks (two trailing spaces or a
/// backslash) as newlines.
fn join_soft_lines(lines: &[String]) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let hard_break = line.ends_with("  ") || line.ends_with('\\');
        out.push_str(line.trim_end().trim_end_matches('\\').trim_end());
        if index + 1 < lines.len() {
            out.push(if hard_break { '\n' } else { ' ' });
        }
    }
    out
}

fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

/// The fence character and length of a ``` or ~~~ line.
type Fence = (char, usize);

fn fence_marker(line: &str) -> Option<Fence> {
    if indent_width(line) >= 4 {
        return None;
    }
    let trimmed = line.trim_start();
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|x| *x == c).count();
    (len >= 3).then_some((c, len))
}

/// Skips an HTML comment starting on line `index`; returns the index after it.
fn skip_comment(lines: &[&str], index: usize) -> usize {
    let mut index = index;
    while index < lines.len() {
        index += 1;
        if lines[index - 1].contains("-->") {
            break;
        }
    }
    index
}

/// The index of the first line after YAML front matter (`---` ... `---` at the very top,
/// as static-site generators write it), or 0 when there is none.
fn front_matter_end(lines: &[&str]) -> usize {
    let opens = lines.first().is_some_and(|l| l.trim_end() == "---");
    let looks_like_yaml = lines.get(1).is_some_and(|l| {
        let key = l.split(':').next().unwrap_or_default();
        l.contains(':') && !key.is_empty() && !key.contains(' ')
    });
    if !opens || !looks_like_yaml {
        return 0;
    }
    let close = lines
        .iter()
        .skip(1)
        .position(|l| matches!(l.trim_end(), "---" | "..."));
    close.map_or(0, |i| i + 2)
}

/// The level and text of an ATX heading (`## Text ##`).
fn atx_heading(trimmed: &str) -> Option<(u8, &str)> {
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim();
    // An optional closing run of #s, when separated from the text by a space.
    let without_close = rest.trim_end_matches('#');
    let text = if without_close.is_empty() || without_close.ends_with([' ', '\t']) {
        without_close.trim_end()
    } else {
        rest
    };
    Some((level as u8, text))
}

/// Level 1 for a `===` underline, 2 for `---`.
fn setext_level(trimmed: &str) -> Option<u8> {
    let first = trimmed.chars().next()?;
    let uniform = trimmed.chars().all(|c| c == first);
    match first {
        '=' if uniform => Some(1),
        '-' if uniform => Some(2),
        _ => None,
    }
}

fn is_rule(trimmed: &str) -> bool {
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(first) = compact.chars().next() else {
        return false;
    };
    matches!(first, '-' | '*' | '_') && compact.len() >= 3 && compact.chars().all(|c| c == first)
}

/// `[label]: https://...` lines, which only serve reference links.
fn is_link_definition(trimmed: &str) -> bool {
    trimmed.starts_with('[') && trimmed.find("]:").is_some_and(|i| i > 1)
}

/// The normalised marker ("- " or "3. ") and the text of a list item line.
fn list_item(trimmed: &str) -> Option<(String, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(text) = trimmed.strip_prefix(bullet) {
            return Some(("- ".to_owned(), text.trim_start()));
        }
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    if !(1..=9).contains(&digits) {
        return None;
    }
    let rest = &trimmed[digits..];
    let text = rest
        .strip_prefix(". ")
        .or_else(|| rest.strip_prefix(") "))?;
    Some((format!("{}. ", &trimmed[..digits]), text.trim_start()))
}

/// Splits a trailing attribute block `{#id .class}` off a heading, returning the id.
fn split_anchor(text: &str) -> (&str, Option<String>) {
    let trimmed = text.trim_end();
    let Some(open) = trimmed.rfind('{').filter(|_| trimmed.ends_with('}')) else {
        return (text, None);
    };
    let inner = &trimmed[open + 1..trimmed.len() - 1];
    let is_attributes = !inner.trim().is_empty()
        && inner
            .split_whitespace()
            .all(|t| t.starts_with(['#', '.']) || t.contains('='));
    if !is_attributes {
        return (text, None);
    }
    let id = inner.split_whitespace().find_map(|t| t.strip_prefix('#'));
    (trimmed[..open].trim_end(), id.map(str::to_owned))
}

// ---- inline syntax -------------------------------------------------------------------------

/// Plain text of one paragraph's inline Markdown.
pub(crate) fn inline_to_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let rest = &text[pos..];
        let previous = text[..pos].chars().next_back();
        let consumed = match c {
            '\\' => escape(rest, &mut out),
            '`' => Some(code_span(rest, &mut out)),
            '!' if rest[1..].starts_with('[') => image(rest, &mut out),
            '[' => link(rest, &mut out),
            '<' => angle(rest, &mut out),
            '*' | '_' | '~' => emphasis(rest, previous, &mut out),
            '&' => entity(rest, &mut out),
            _ => None,
        };
        pos += consumed.unwrap_or_else(|| {
            out.push(c);
            c.len_utf8()
        });
    }
    out
}

/// `\*` is a literal `*`.
fn escape(rest: &str, out: &mut String) -> Option<usize> {
    let next = rest[1..]
        .chars()
        .next()
        .filter(char::is_ascii_punctuation)?;
    out.push(next);
    Some(1 + next.len_utf8())
}

/// `` `code` `` keeps its content verbatim; an unmatched run of backticks stays literal.
fn code_span(rest: &str, out: &mut String) -> usize {
    let n = rest.chars().take_while(|c| *c == '`').count();
    let after = &rest[n..];
    let mut search = 0;
    while let Some(found) = after[search..].find('`') {
        let start = search + found;
        let run = after[start..].chars().take_while(|c| *c == '`').count();
        if run == n {
            out.push_str(after[..start].trim());
            return n + start + n;
        }
        search = start + run;
    }
    out.push_str(&rest[..n]);
    n
}

/// `![alt](src)` becomes its alt text.
fn image(rest: &str, out: &mut String) -> Option<usize> {
    let link = parse_link(&rest[1..])?;
    out.push_str(&inline_to_plain(link.label));
    Some(1 + link.consumed)
}

/// `[text](url)` becomes "text", or "text (url)" for web and mail links, whose address
/// is useful to a customer reading the answer.
fn link(rest: &str, out: &mut String) -> Option<usize> {
    let link = parse_link(rest)?;
    let label = inline_to_plain(link.label);
    let shown = link.target.filter(|t| {
        t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:")
    });
    match shown.map(|t| t.trim_start_matches("mailto:")) {
        Some(target) if label.trim().is_empty() => out.push_str(target),
        Some(target) if !label.contains(target) => out.push_str(&format!("{label} ({target})")),
        _ => out.push_str(&label),
    }
    Some(link.consumed)
}

struct Link<'a> {
    label: &'a str,
    target: Option<&'a str>,
    consumed: usize,
}

/// Parses `[label](target "title")` or `[label][ref]` at the start of `rest`.
fn parse_link(rest: &str) -> Option<Link<'_>> {
    let close = matching(rest, '[', ']')?;
    let label = &rest[1..close];
    let after = &rest[close + 1..];
    if after.starts_with('(') {
        let end = matching(after, '(', ')')?;
        let inner = after[1..end].trim();
        let target = match inner.strip_prefix('<') {
            Some(bracketed) => bracketed.split('>').next(),
            None => inner.split_whitespace().next(),
        };
        return Some(Link {
            label,
            target,
            consumed: close + 1 + end + 1,
        });
    }
    if after.starts_with('[') {
        let end = after.find(']')?;
        return Some(Link {
            label,
            target: None,
            consumed: close + 1 + end + 1,
        });
    }
    None
}

/// The byte index of the bracket closing the one `text` starts with, honouring nesting
/// and backslash escapes.
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(index);
            }
        }
    }
    None
}

/// Autolinks `<https://...>` keep their address; inline HTML tags are dropped; anything
/// else (such as "a < b") stays.
fn angle(rest: &str, out: &mut String) -> Option<usize> {
    let end = rest.find('>')?;
    let inner = &rest[1..end];
    if inner.is_empty() || (inner.contains(char::is_whitespace) && !is_tag(inner)) {
        return None;
    }
    let is_autolink = inner.starts_with("http://")
        || inner.starts_with("https://")
        || inner.starts_with("mailto:")
        || (inner.contains('@') && !inner.starts_with('/'));
    if is_autolink {
        out.push_str(inner.trim_start_matches("mailto:"));
    } else if is_tag(inner) {
        if inner.eq_ignore_ascii_case("br") || inner.starts_with("br ") || inner == "br/" {
            out.push(' ');
        }
    } else {
        return None;
    }
    Some(end + 1)
}

/// `inner` (between `<` and `>`) looks like an HTML tag: `b`, `/b`, `a href=".."`, `!--`.
fn is_tag(inner: &str) -> bool {
    let name = inner.trim_start_matches(['/', '!']);
    let tag_name: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let after = &name[tag_name.len()..];
    let named = !tag_name.is_empty() && (after.is_empty() || after.starts_with([' ', '/', '\t']));
    named || inner.starts_with("!--")
}

/// `*em*`, `**strong**`, `_em_`, `~~strike~~`: the text without the delimiters. An
/// underscore inside a word (snake_case) is not emphasis.
fn emphasis(rest: &str, previous: Option<char>, out: &mut String) -> Option<usize> {
    let c = rest.chars().next()?;
    let n = rest.chars().take_while(|x| *x == c).count();
    let after = &rest[n..];
    let opens = after.chars().next().is_some_and(|x| !x.is_whitespace())
        && !(c == '_' && previous.is_some_and(char::is_alphanumeric))
        && !(c == '~' && n < 2)
        && n <= 3;
    if let Some(close) = opens.then(|| closing_run(after, c, n)).flatten() {
        out.push_str(&inline_to_plain(&after[..close]));
        return Some(n + close + n);
    }
    out.push_str(&rest[..n]);
    Some(n)
}

/// The byte index in `text` of a run of exactly `n` `c`s that can close emphasis.
fn closing_run(text: &str, c: char, n: usize) -> Option<usize> {
    let mut search = 0;
    while let Some(found) = text[search..].find(c) {
        let start = search + found;
        let run = text[start..].chars().take_while(|x| *x == c).count();
        let before = text[..start].chars().next_back();
        let after = text[start + run..].chars().next();
        let closes = run == n
            && before.is_some_and(|b| !b.is_whitespace())
            && !(c == '_' && after.is_some_and(char::is_alphanumeric));
        if closes {
            return Some(start);
        }
        search = start + run;
    }
    None
}

/// The common HTML entities, decimal and hex references.
fn entity(rest: &str, out: &mut String) -> Option<usize> {
    let end = rest.char_indices().take(12).find(|&(_, c)| c == ';')?.0;
    let name = &rest[1..end];
    let decoded = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => name.strip_prefix('#')?.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    out.push(decoded);
    Some(end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_syntax_becomes_plain_text() {
        let cases = [
            ("**Bold** and *em* and _it_", "Bold and em and it"),
            ("snake_case_name stays", "snake_case_name stays"),
            ("see [the guide](/guide) now", "see the guide now"),
            (
                "[our site](https://x.example/a_(b))",
                "our site (https://x.example/a_(b))",
            ),
            (
                "mail [us](mailto:help@x.example)",
                "mail us (help@x.example)",
            ),
            ("![logo](logo.png) `a*b*c` \\*lit\\*", "logo a*b*c *lit*"),
            ("5 * 3 * 2 and a < b", "5 * 3 * 2 and a < b"),
            (
                "<b>Hi</b> <https://x.example> &amp; &#233;",
                "Hi https://x.example & é",
            ),
            ("~~old~~ new", "old new"),
        ];
        for (input, expected) in cases {
            assert_eq!(inline_to_plain(input), expected, "input: {input}");
        }
    }

    #[test]
    fn blocks_keep_lines_and_headings() {
        let text = "---\ntitle: x\n---\n# Title\n\nIntro *text*\nwraps.\n\n- one\n- two\n\n\
                    ## Q {#q-id}\n```\ncode\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n";
        let blocks = parse(text);
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Title",
                "Intro text wraps.",
                "- one",
                "- two",
                "Q",
                "code",
                "a | b\n1 | 2"
            ]
        );
        assert_eq!(blocks[0].kind, BlockKind::Heading(1));
        assert_eq!(blocks[0].line, 4);
        assert_eq!(blocks[4].anchor.as_deref(), Some("q-id"));
    }

    #[test]
    fn setext_headings_are_recognised() {
        let blocks = parse("Title\n=====\n\nSub\n---\ntext\n");
        assert_eq!(blocks[0].kind, BlockKind::Heading(1));
        assert_eq!(blocks[1].kind, BlockKind::Heading(2));
        assert_eq!(blocks[2].text, "text");
    }
}
