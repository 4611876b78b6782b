//! Documents (Markdown, HTML, plain text) split into passages.
//!
//! A passage is the text under one heading, further split when long, so that retrieval
//! can point at the part of a policy that answers a question. Passage ids are
//! `{document}#{n}` with `document` the path relative to the folder imported, so that the
//! same folder imported again yields the same ids.

use std::path::{Component, Path, PathBuf};

use frontdesk_core::DocPassage;

use super::blocks::{sections, Section};
use super::split::split_text;
use super::{format_of, html, markdown, read_text, Format, ImportError};

const FORMATS: &[Format] = &[Format::Markdown, Format::Html, Format::Text];
const EXPECTED: &str = ".md, .markdown, .html, .htm or .txt";
/// Longest passage cut from a section, in characters: about a screen of text.
const MAX_SECTION_PASSAGE: usize = 1_500;
/// Plain text has no headings to hint at topics, so its passages are kept a bit shorter.
const MAX_TEXT_PASSAGE: usize = 1_200;
/// Headings up to this level start a passage; deeper ones stay inside it.
const PASSAGE_HEADING_LEVEL: u8 = 3;

/// Reads one document, or every document in a folder and its sub-folders.
///
/// In a folder, files are taken in order of their relative paths; hidden files and
/// folders, files of other types and symbolic links to folders are skipped, and so are
/// documents with no text. A single file must be of a supported type and have text.
pub fn read_docs(path: &Path) -> Result<Vec<DocPassage>, ImportError> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
    if !metadata.is_dir() {
        let format = format_of(path, FORMATS, EXPECTED)?;
        // Known shortcoming: a single file is named by its file name, a file
        // found in a folder by its path inside that folder, so `help.md` from
        // two folders collide and one file imported both ways is stored twice.
        // A stable name needs a document root setting (or the owner naming
        // documents); until then, import a folder the same way each time.
        let document = path.file_name().map_or_else(
            || document_name(path),
            |name| name.to_string_lossy().into_owned(),
        );
        let passages = passages_of(&document, path, format, &read_text(path)?);
        if passages.is_empty() {
            return Err(ImportError::file(path, "no text found"));
        }
        return Ok(passages);
    }
    let mut files = Vec::new();
    collect_files(path, Path::new(""), &mut files)?;
    if files.is_empty() {
        let message = format!("no documents found (expected {EXPECTED} files)");
        return Err(ImportError::file(path, message));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut passages = Vec::new();
    for (document, relative) in &files {
        let file = path.join(relative);
        let text = read_text(&file)?;
        let format = format_of(&file, FORMATS, EXPECTED)?;
        passages.extend(passages_of(document, &file, format, &text));
    }
    if passages.is_empty() {
        return Err(ImportError::file(path, "no text found in any document"));
    }
    Ok(passages)
}

/// Passages of one document given as text. The document is named by `path` as given
/// (with `/` separators), which also picks the format by its extension.
pub fn docs_from_str(path: &Path, text: &str) -> Result<Vec<DocPassage>, ImportError> {
    let format = format_of(path, FORMATS, EXPECTED)?;
    Ok(passages_of(&document_name(path), path, format, text))
}

/// Finds supported files under `dir`, as (document name, path relative to the root).
fn collect_files(
    root: &Path,
    relative: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), ImportError> {
    let dir = root.join(relative);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| ImportError::file(&dir, format!("cannot read folder: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::file(&dir, format!("cannot read: {e}")))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let child = relative.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|e| ImportError::file(&entry.path(), format!("cannot read: {e}")))?;
        if file_type.is_dir() {
            collect_files(root, &child, out)?;
        } else if is_document(&entry.path()) {
            out.push((document_name(&child), child));
        } else {
            tracing::debug!(file = %entry.path().display(), "skipping: not a document");
        }
    }
    Ok(())
}

/// A regular file (or a link to one) with a supported extension. Links to folders are
/// not followed, so a link cycle cannot make the walk endless.
fn is_document(path: &Path) -> bool {
    let is_file = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    is_file && format_of(path, FORMATS, EXPECTED).is_ok()
}

/// A path with `/` separators whatever the platform, as ids must be portable.
fn document_name(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::CurDir => None,
            Component::RootDir => Some(String::new()),
            other => Some(other.as_os_str().to_string_lossy().into_owned()),
        })
        .collect();
    parts.join("/")
}

fn passages_of(document: &str, path: &Path, format: Format, text: &str) -> Vec<DocPassage> {
    let stem = path
        .file_stem()
        .map_or_else(|| document.to_owned(), |s| s.to_string_lossy().into_owned());
    let sections = match format {
        Format::Html => html_sections(text, &stem),
        Format::Markdown => markdown_sections(text, &stem),
        _ => vec![Section {
            title: stem,
            text: tidy_plain_text(text),
        }],
    };
    let max = if format == Format::Text {
        MAX_TEXT_PASSAGE
    } else {
        MAX_SECTION_PASSAGE
    };
    number_passages(document, &sections, max)
}

/// Trailing spaces dropped and runs of blank lines made one, so that paragraphs are
/// separated by exactly one blank line, as the splitter expects.
fn tidy_plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank_run = 0;
    }
    out
}

/// Text before the first heading is titled by the document's first heading, or by the
/// file name when it has none.
fn markdown_sections(text: &str, stem: &str) -> Vec<Section> {
    let blocks = markdown::parse(text);
    let first_heading = blocks.iter().find(|b| b.heading_level().is_some());
    let title = first_heading.map_or(stem, |b| b.text.as_str());
    sections(&blocks, PASSAGE_HEADING_LEVEL, title)
}

/// Text before the first heading is titled by `<title>`, else as for Markdown.
fn html_sections(text: &str, stem: &str) -> Vec<Section> {
    let page = html::parse(text);
    let first_heading = page.blocks.iter().find(|b| b.heading_level().is_some());
    let title = page
        .title
        .as_deref()
        .or(first_heading.map(|b| b.text.as_str()))
        .unwrap_or(stem);
    sections(&page.blocks, PASSAGE_HEADING_LEVEL, title)
}

/// Cuts sections to `max` characters and numbers the non-empty pieces from 1.
fn number_passages(document: &str, sections: &[Section], max: usize) -> Vec<DocPassage> {
    let pieces = sections
        .iter()
        .flat_map(|s| split_text(&s.text, max).into_iter().map(move |t| (s, t)));
    pieces
        .enumerate()
        .map(|(index, (section, text))| DocPassage {
            id: format!("{document}#{}", index + 1),
            document: document.to_owned(),
            title: section.title.clone(),
            text,
        })
        .collect()
}
