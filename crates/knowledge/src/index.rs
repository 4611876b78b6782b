//! Lexical retrieval with tantivy: BM25 over FAQ questions and answers, the
//! ticket phrasings linked to each FAQ, and document passages.
//!
//! The index is derived data: it is rebuilt from the store whenever the
//! knowledge changes, so it holds only what ranking needs. Each tantivy
//! document carries a `slot`, the position of its [`Entry`] in a table kept
//! beside the index, which says what the hit points at.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{doc, Index, IndexReader, ReloadPolicy, Term};

const TOKENIZER: &str = "en_stem";
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// What one indexed text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    FaqQuestion,
    FaqAnswer,
    Ticket,
    Passage,
}

/// One indexed text: `target` is the FAQ's position for FAQ texts and labelled
/// tickets, the passage's position for passages, and `None` for tickets a
/// person handled without an FAQ (they teach what is out of scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub target: Option<u32>,
    /// The ticket's position, for tickets; used to cite the phrasing matched.
    pub item: u32,
    /// This entry's own position in the entry table.
    pub slot: u32,
}

/// A retrieved entry with its BM25 score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub entry: Entry,
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("cannot open the index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("the search index has no `{0}` field; it was written by another version")]
    MissingField(&'static str),
}

pub struct LexicalIndex {
    reader: IndexReader,
    text: Field,
    analyzer: TextAnalyzer,
    entries: Vec<Entry>,
}

struct Fields {
    text: Field,
    slot: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqs);
    let text = builder.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(indexing),
    );
    let slot = builder.add_u64_field("slot", NumericOptions::default().set_fast());
    (builder.build(), Fields { text, slot })
}

impl LexicalIndex {
    /// Writes a fresh index of `texts` into `dir` (emptied first), or into
    /// memory when `dir` is `None`.
    pub fn build(dir: Option<&Path>, texts: Vec<(Entry, String)>) -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => Index::create(MmapDirectory::open(dir)?, schema, Default::default())?,
            None => Index::create_in_ram(schema),
        };

        // One indexing thread: the corpus is small, and a single segment keeps
        // queries on one posting list per term.
        let mut writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?;
        let mut entries = Vec::with_capacity(texts.len());
        for (slot, (entry, text)) in texts.into_iter().enumerate() {
            writer.add_document(doc!(fields.text => text, fields.slot => slot as u64))?;
            entries.push(entry);
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Self::open_index(index, entries)
    }

    /// Opens an index written by [`LexicalIndex::build`], with its entry table.
    pub fn open(dir: &Path, entries: Vec<Entry>) -> Result<Self, IndexError> {
        let index = Index::open(MmapDirectory::open(dir)?)?;
        Self::open_index(index, entries)
    }

    fn open_index(index: Index, entries: Vec<Entry>) -> Result<Self, IndexError> {
        let schema = index.schema();
        let text = schema
            .get_field("text")
            .map_err(|_| IndexError::MissingField("text"))?;
        let analyzer = index.tokenizer_for_field(text)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            reader,
            text,
            analyzer,
            entries,
        })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The `limit` best entries for the (normalised) query, best first.
    pub fn search(&self, normalized: &str, limit: usize) -> Result<Vec<Hit>, IndexError> {
        let query = match self.query(normalized) {
            Some(query) => query,
            None => return Ok(Vec::new()),
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit))?;

        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let segment = searcher.segment_reader(address.segment_ord);
            let slots = segment.fast_fields().u64("slot")?;
            let Some(slot) = slots.first(address.doc_id) else {
                continue;
            };
            if let Some(entry) = self.entries.get(slot as usize) {
                hits.push(Hit {
                    entry: *entry,
                    score,
                });
            }
        }
        Ok(hits)
    }

    /// A disjunction of the query's analysed terms. Each term counts once:
    /// "card card card" should not outweigh the rest of the question.
    fn query(&self, normalized: &str) -> Option<BooleanQuery> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(normalized);
        let mut terms: Vec<Term> = Vec::new();
        while let Some(token) = stream.next() {
            let term = Term::from_field_text(self.text, &token.text);
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        if terms.is_empty() {
            return None;
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .into_iter()
            .map(|term| {
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        Some(BooleanQuery::new(clauses))
    }
}
