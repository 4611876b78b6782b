//! SQL text and row conversions that both backends share. Statements here use only
//! syntax that SQLite and PostgreSQL read alike (`$n` placeholders, `CAST`, `count(*)`).

use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, Ticket};

use crate::plan::{self, StoredPassage};
use crate::{KindState, StoreError};

pub(crate) const BUMP_REVISION: &str =
    "UPDATE knowledge_revisions SET revision = revision + 1, changed_at = $2 WHERE kind = $1";

pub(crate) fn count_rows(kind: KnowledgeKind) -> &'static str {
    match kind {
        KnowledgeKind::Faq => "SELECT count(*) FROM faq_entries",
        KnowledgeKind::Ticket => "SELECT count(*) FROM tickets",
        KnowledgeKind::Doc => "SELECT count(*) FROM doc_passages",
    }
}

// Ids and documents compare bytewise on both backends (COLLATE "C" on PostgreSQL), so
// these orders agree across them.
pub(crate) const SELECT_FAQS: &str =
    "SELECT id, question, answer, CAST(tags AS TEXT), url FROM faq_entries ORDER BY id";
pub(crate) const SELECT_TICKETS: &str =
    "SELECT id, message, faq_id, answer FROM tickets ORDER BY seq";
pub(crate) const SELECT_PASSAGES: &str =
    "SELECT id, document, title, text FROM doc_passages ORDER BY document, position";
pub(crate) const SELECT_INSTANCE: &str = "SELECT instance FROM store_identity";
pub(crate) const SELECT_KIND_STATES: &str = "SELECT kind, revision, changed_at, \
     CASE kind \
       WHEN 'faq' THEN (SELECT count(*) FROM faq_entries) \
       WHEN 'ticket' THEN (SELECT count(*) FROM tickets) \
       ELSE (SELECT count(*) FROM doc_passages) \
     END \
     FROM knowledge_revisions";

pub(crate) type FaqRow = (String, String, String, String, Option<String>);
pub(crate) type TicketRow = (String, String, Option<String>, Option<String>);
pub(crate) type PassageRow = (String, String, String, String);
pub(crate) type StoredPassageRow = (String, String, i64, String, String, i64, i64);
pub(crate) type KindStateRow = (String, i64, Option<i64>, i64);

pub(crate) fn read_error(what: &'static str, cause: sqlx::Error) -> StoreError {
    StoreError::Read { what, cause }
}

pub(crate) fn faq_entry((id, question, answer, tags, url): FaqRow) -> Result<FaqEntry, StoreError> {
    let tags = plan::tags_from_json(&id, &tags)?;
    Ok(FaqEntry {
        id,
        question,
        answer,
        tags,
        url,
    })
}

pub(crate) fn ticket((id, message, faq_id, answer): TicketRow) -> Ticket {
    Ticket {
        id,
        message,
        faq_id,
        answer,
    }
}

pub(crate) fn doc_passage((id, document, title, text): PassageRow) -> DocPassage {
    DocPassage {
        id,
        document,
        title,
        text,
    }
}

pub(crate) fn stored_passage(row: StoredPassageRow) -> StoredPassage {
    let (id, document, position, title, text, created_at, updated_at) = row;
    StoredPassage {
        id,
        document,
        position,
        title,
        text,
        created_at,
        updated_at,
    }
}

/// `None` for a kind this version does not know; the migration's CHECK rules that out.
pub(crate) fn kind_state((kind, revision, changed_at, rows): KindStateRow) -> Option<KindState> {
    Some(KindState {
        kind: plan::kind_from_str(&kind)?,
        rows,
        revision,
        changed_at,
    })
}
