//! HTML pages reduced to plain-text blocks.
//!
//! Saved help-center pages carry menus, banners, cookie forms and scripts around the
//! article. Those elements are dropped whole; what remains is walked once, in document
//! order, collapsing whitespace inside paragraphs and keeping block boundaries, list items
//! and line breaks. The walk is iterative, so deeply nested markup cannot exhaust the stack.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::blocks::{Block, BlockKind};

/// Elements whose content is never part of the article.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg",
    "iframe", "object", "embed", "canvas", "button", "select", "textarea",
];

/// Elements that end the paragraph before them and start a new one.
const BLOCK_LEVEL: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
];

/// The text content of a page: its `<title>` and its blocks.
pub(crate) struct HtmlText {
    pub title: Option<String>,
    pub blocks: Vec<Block>,
}

/// Reads an HTML document. Headings h1–h3 become heading blocks; h4–h6 stay as
/// paragraphs, since they are too fine-grained to title a passage.
pub(crate) fn parse(text: &str) -> HtmlText {
    let document = Html::parse_document(text);
    let mut walker = Walker::default();
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => walker.open(node.value()),
            Edge::Close(node) => walker.close(node.value()),
        }
    }
    walker.flush();
    let title = collapse(&walker.title);
    HtmlText {
        title: (!title.is_empty()).then_some(title),
        blocks: walker.blocks,
    }
}

/// State of the walk through the tree.
#[derive(Default)]
struct Walker {
    blocks: Vec<Block>,
    /// Text of the paragraph (or heading) being built.
    buffer: String,
    pending_space: bool,
    /// Marker ("- " or "2. ") for the list item whose text has not started yet.
    item_marker: Option<String>,
    /// Open lists: `None` for `ul`, the last number used for `ol`.
    lists: Vec<Option<u32>>,
    heading: Option<u8>,
    /// Depth inside dropped elements; their content is ignored while above zero.
    dropped: usize,
    /// Depth inside `pre`, where whitespace is kept.
    preformatted: usize,
    in_title: bool,
    title: String,
}

impl Walker {
    fn open(&mut self, node: &Node) {
        match node {
            Node::Element(element) if self.dropped > 0 || DROPPED.contains(&element.name()) => {
                self.dropped += 1;
            }
            Node::Element(element) => self.open_element(element.name()),
            Node::Text(text) if self.dropped == 0 => self.text(text),
            _ => {}
        }
    }

    fn close(&mut self, node: &Node) {
        match node {
            Node::Element(_) if self.dropped > 0 => self.dropped -= 1,
            Node::Element(element) => self.close_element(element.name()),
            _ => {}
        }
    }

    fn open_element(&mut self, name: &str) {
        match name {
            "title" => self.in_title = true,
            "br" => {
                self.buffer.push('\n');
                self.pending_space = false;
            }
            "td" | "th" if !self.buffer.is_empty() => {
                self.buffer.push_str(" | ");
                self.pending_space = false;
            }
            "ul" | "ol" => {
                self.flush();
                self.lists.push((name == "ol").then_some(0));
            }
            "li" => {
                self.flush();
                self.item_marker = Some(self.next_marker());
            }
            "pre" => {
                self.flush();
                self.preformatted += 1;
            }
            _ => {
                if let Some(level) = heading_level(name) {
                    self.flush();
                    self.heading = Some(level);
                } else if self.heading.is_none() && BLOCK_LEVEL.contains(&name) {
                    self.flush();
                }
            }
        }
    }

    fn close_element(&mut self, name: &str) {
        match name {
            "title" => self.in_title = false,
            "ul" | "ol" => {
                self.flush();
                self.lists.pop();
            }
            "pre" => {
                self.flush_as(BlockKind::Preformatted);
                self.preformatted = self.preformatted.saturating_sub(1);
            }
            "tr" if self.heading.is_none() => self.flush_as(BlockKind::TableRow),
            _ if heading_level(name).is_some() => self.flush(),
            _ if self.heading.is_none() && BLOCK_LEVEL.contains(&name) => self.flush(),
            _ => {}
        }
    }

    fn next_marker(&mut self) -> String {
        match self.lists.last_mut() {
            Some(Some(number)) => {
                *number += 1;
                format!("{number}. ")
            }
            _ => "- ".to_owned(),
        }
    }

    /// Appends text, collapsing whitespace runs to one space outside `pre`.
    fn text(&mut self, text: &str) {
        if self.in_title {
            self.title.push_str(text);
            return;
        }
        if self.preformatted > 0 {
            self.buffer.push_str(text);
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.buffer.is_empty() && !self.buffer.ends_with([' ', '\n'])
            {
                self.buffer.push(' ');
            }
            self.pending_space = false;
            self.buffer.push(c);
        }
    }

    fn flush(&mut self) {
        let kind = match self.heading {
            Some(level) if level <= 3 => BlockKind::Heading(level),
            _ if self.item_marker.is_some() => BlockKind::ListItem,
            _ => BlockKind::Paragraph,
        };
        self.flush_as(kind);
    }

    /// Ends the current block. Empty text produces nothing, and a list item's marker waits
    /// for the item's first text (`<li><p>text</p></li>` is one item, not an empty one).
    fn flush_as(&mut self, kind: BlockKind) {
        self.heading = None;
        self.pending_space = false;
        let buffer = std::mem::take(&mut self.buffer);
        let text = if kind == BlockKind::Preformatted {
            buffer.trim_matches('\n').trim_end().to_owned()
        } else {
            buffer
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned()
        };
        if text.is_empty() {
            return;
        }
        let text = match (kind, self.item_marker.take()) {
            (BlockKind::ListItem, Some(marker)) => format!("{marker}{text}"),
            (_, marker) => {
                self.item_marker = marker;
                text
            }
        };
        self.blocks.push(Block::new(kind, text, 0));
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::blocks::render;

    #[test]
    fn lists_and_paragraphs_keep_their_shape() {
        let page = parse(
            "<html><head><title> Help \n</title></head><body><p>Hello\n  <b>big</b>\
             world</p><ol><li><p>First</p></li><li>Second<br>line</li></ol>\
             <script>var x = 1;</script><h2>Next</h2><pre>a\n  b</pre></body></html>",
        );
        assert_eq!(page.title.as_deref(), Some("Help"));
        let texts: Vec<&str> = page.blocks.iter().map(|b| b.text.as_str()).collect();
        let expected = [
            "Hello bigworld",
            "1. First",
            "2. Second\nline",
            "Next",
            "a\n  b",
        ];
        assert_eq!(texts, expected);
        assert_eq!(page.blocks[1].kind, BlockKind::ListItem);
        assert_eq!(page.blocks[3].kind, BlockKind::Heading(2));
    }

    #[test]
    fn table_rows_are_lines_of_cells() {
        let page = parse(
            "<table><tr><th>Plan</th><th>Price</th></tr>\
             <tr><td>Basic</td><td> 5 </td></tr></table><p>After</p>",
        );
        assert_eq!(render(&page.blocks), "Plan | Price\nBasic | 5\n\nAfter");
    }
}
