//! The block structure Markdown and HTML are both reduced to: headings, paragraphs, list
//! items and pre-formatted text, already in plain text. FAQ answers and document passages
//! are rendered from blocks, so the two markup formats come out looking alike.

/// What a block is; only headings carry structure, the rest is rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// A heading of level 1 to 6.
    Heading(u8),
    Paragraph,
    /// One list item, its marker ("- " or "1. ") included in the text.
    ListItem,
    /// One row of an HTML table, its cells joined by " | ".
    TableRow,
    /// Code or a Markdown table, with its line breaks kept.
    Preformatted,
}

/// One block of plain text, with the 1-based source line it starts on (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub kind: BlockKind,
    pub text: String,
    pub line: u64,
    /// An explicit heading id (`{#id}` in Markdown).
    pub anchor: Option<String>,
}

impl Block {
    pub fn new(kind: BlockKind, text: String, line: u64) -> Self {
        Block {
            kind,
            text,
            line,
            anchor: None,
        }
    }

    pub fn heading_level(&self) -> Option<u8> {
        match self.kind {
            BlockKind::Heading(level) => Some(level),
            _ => None,
        }
    }
}

/// Plain text of blocks: one block per paragraph, separated by a blank line, except that
/// consecutive list items (or table rows) sit on consecutive lines as they would on a page.
pub(crate) fn render(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut previous: Option<BlockKind> = None;
    for block in blocks.iter().filter(|b| !b.text.trim().is_empty()) {
        if let Some(previous) = previous {
            let same_run = previous == block.kind
                && matches!(block.kind, BlockKind::ListItem | BlockKind::TableRow);
            out.push_str(if same_run { "\n" } else { "\n\n" });
        }
        out.push_str(block.text.trim());
        previous = Some(block.kind);
    }
    out
}

/// A run of text under one heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub title: String,
    pub text: String,
}

/// Splits blocks into sections at headings of level `max_level` or higher (lower number);
/// deeper headings stay in the text. Text before the first such heading gets
/// `preamble_title`.
pub(crate) fn sections(blocks: &[Block], max_level: u8, preamble_title: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut title = preamble_title.to_owned();
    let mut start = 0;
    for (index, block) in blocks.iter().enumerate() {
        if block
            .heading_level()
            .is_some_and(|level| level <= max_level)
        {
            sections.push(Section {
                title: std::mem::replace(&mut title, block.text.clone()),
                text: render(&blocks[start..index]),
            });
            start = index + 1;
        }
    }
    sections.push(Section {
        title,
        text: render(&blocks[start..]),
    });
    sections.retain(|s| !s.text.is_empty());
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: BlockKind, text: &str) -> Block {
        Block::new(kind, text.to_owned(), 0)
    }

    #[test]
    fn list_items_stay_on_consecutive_lines() {
        let blocks = [
            block(BlockKind::Paragraph, "Steps:"),
            block(BlockKind::ListItem, "- one"),
            block(BlockKind::ListItem, "- two"),
            block(BlockKind::Paragraph, "Done."),
        ];
        assert_eq!(render(&blocks), "Steps:\n\n- one\n- two\n\nDone.");
    }

    #[test]
    fn sections_split_at_shallow_headings_only() {
        let blocks = [
            block(BlockKind::Paragraph, "intro"),
            block(BlockKind::Heading(2), "A"),
            block(BlockKind::Paragraph, "a"),
            block(BlockKind::Heading(4), "A.1"),
            block(BlockKind::Paragraph, "a1"),
            block(BlockKind::Heading(3), "Empty"),
        ];
        let sections = sections(&blocks, 3, "Doc");
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].title, "Doc");
        assert_eq!(sections[1].title, "A");
        assert_eq!(sections[1].text, "a\n\nA.1\n\na1");
    }
}
