//! The owner's knowledge page: what the assistant answers from, how often each FAQ entry
//! was used and judged wrong, and the entries worth a look: stale ones, unused ones, and
//! near-duplicates whose answers disagree.
//!
//! Uploading files and writing, editing and deleting entries live in `knowledge_edit`; this
//! page links to them and says what the last change was.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use frontdesk_core::FaqEntry;
use frontdesk_store::{FaqUsage, KindStats};
use jiff::Timestamp;
use maud::{html, Markup};
use serde::Deserialize;

use crate::analytics::overlap;
use crate::error::ApiError;
use crate::routes::admin::{layout, owner, page_headers, PageRefusal};
use crate::routes::knowledge_edit::{entry_link, upload_form};
use crate::AppState;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Uses are counted over this many days, and an entry none of them used is unused.
const USAGE_DAYS: i64 = 90;
/// An entry not changed for this long is stale, unless the page is asked for another.
const DEFAULT_STALE_DAYS: i64 = 180;
/// Two questions this alike ask the same thing...
const SAME_QUESTION: f64 = 0.6;
/// ...and two answers less alike than this say different things.
const DIFFERENT_ANSWER: f64 = 0.3;
/// Beyond this many entries the pairwise comparison is skipped (it grows with the
/// square); grouping by meaning with the sentence encoder would scale further.
const MAX_ENTRIES_COMPARED: usize = 3_000;
/// Answers are cut to this many characters in the list.
const ANSWER_CHARS: usize = 240;

#[derive(Deserialize)]
pub(super) struct KnowledgeQuery {
    /// Words to look for in ids, questions and answers.
    q: Option<String>,
    stale_days: Option<i64>,
    /// The entry just saved or deleted, to say so at the top.
    saved: Option<String>,
    deleted: Option<String>,
}

/// An entry with what the page says of it.
struct Row<'a> {
    faq: &'a FaqEntry,
    usage: Option<&'a FaqUsage>,
    stale: bool,
    unused: bool,
    conflicts_with: Vec<&'a str>,
}

/// `GET /admin/knowledge?q=WORDS&stale_days=N`
pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<KnowledgeQuery>, QueryRejection>,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let stale_days = query.stale_days.unwrap_or(DEFAULT_STALE_DAYS);
    if !(1..=3650).contains(&stale_days) {
        return Err(
            ApiError::bad_field("stale_days", "give a number of days from 1 to 3650").into(),
        );
    }
    let now = Timestamp::now().as_millisecond();
    let stats = state
        .store
        .knowledge_stats()
        .await
        .map_err(ApiError::from)?;
    let faqs = state.store.faqs().await.map_err(ApiError::from)?;
    let usage = state
        .store
        .faq_usage(now - USAGE_DAYS * DAY_MS)
        .await
        .map_err(ApiError::from)?;

    let usage: HashMap<&str, &FaqUsage> = usage.iter().map(|u| (u.id.as_str(), u)).collect();
    let conflicts = conflicting_pairs(&faqs);
    let words = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows: Vec<Row<'_>> = faqs
        .iter()
        .filter(|faq| words.is_none_or(|words| mentions(faq, words)))
        .map(|faq| {
            let used = usage.get(faq.id.as_str()).copied();
            Row {
                faq,
                usage: used,
                stale: used.is_some_and(|u| now - u.updated_at > stale_days * DAY_MS),
                unused: used.is_none_or(|u| u.uses == 0),
                conflicts_with: conflicts.get(faq.id.as_str()).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let compared = faqs.len() <= MAX_ENTRIES_COMPARED;
    let done = match (query.saved.as_deref(), query.deleted.as_deref()) {
        (Some(id), _) => Some(("Saved", id)),
        (None, Some(id)) => Some(("Deleted", id)),
        (None, None) => None,
    };
    let listing = Listing {
        rows: &rows,
        words,
        stale_days,
        total: faqs.len(),
        compared,
    };
    let content = html! {
        @if let Some((what, id)) = done {
            p.done { (what) " the entry " code { (id) } ". "
                @if state.learning.retrains() {
                    "The assistant is being rebuilt and answers from the change within seconds."
                } @else {
                    "The assistant answers from the change after the next start or "
                    code { "frontdesk retrain" } "."
                }
            }
        }
        (knowledge_body(&stats, &owner.form_token(), &listing))
    };
    let body = layout("Knowledge", Some(&owner), content);
    Ok((page_headers(), body).into_response())
}

/// Whether every word of `words` appears in the entry's id, question or answer.
fn mentions(faq: &FaqEntry, words: &str) -> bool {
    let text = format!("{} {} {}", faq.id, faq.question, faq.answer).to_lowercase();
    words
        .to_lowercase()
        .split_whitespace()
        .all(|word| text.contains(word))
}

/// For each entry, the others that ask nearly the same question with a different
/// answer: the assistant may give either, and at least one of them is out of date.
fn conflicting_pairs(faqs: &[FaqEntry]) -> HashMap<&str, Vec<&str>> {
    let mut conflicts: HashMap<&str, Vec<&str>> = HashMap::new();
    if faqs.len() > MAX_ENTRIES_COMPARED {
        return conflicts;
    }
    // Words become numbers first: the pairs grow with the square of the entries, and
    // comparing numbers is what keeps a thousand entries (half a million pairs) quick.
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut word_numbers = |text: &str| -> Vec<u32> {
        let mut set: Vec<u32> = word_set(text)
            .into_iter()
            .map(|word| {
                let next = u32::try_from(numbers.len()).unwrap_or(u32::MAX);
                *numbers.entry(word).or_insert(next)
            })
            .collect();
        set.sort_unstable();
        set
    };
    let words: Vec<(Vec<u32>, Vec<u32>)> = faqs
        .iter()
        .map(|faq| (word_numbers(&faq.question), word_numbers(&faq.answer)))
        .collect();
    for (i, first) in faqs.iter().enumerate() {
        for (j, second) in faqs.iter().enumerate().skip(i + 1) {
            let (a, b) = (words[i].0.len(), words[j].0.len());
            // Sets this different in size cannot share enough of their words.
            if (a.min(b) as f64) < SAME_QUESTION * a.max(b) as f64 {
                continue;
            }
            let same_question = overlap(&words[i].0, &words[j].0) >= SAME_QUESTION;
            if same_question && overlap(&words[i].1, &words[j].1) < DIFFERENT_ANSWER {
                conflicts.entry(&first.id).or_default().push(&second.id);
                conflicts.entry(&second.id).or_default().push(&first.id);
            }
        }
    }
    conflicts
}

/// Lowercased words, sorted, without repeats.
fn word_set(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// The entries the page lists, and how they were chosen.
struct Listing<'a> {
    rows: &'a [Row<'a>],
    words: Option<&'a str>,
    stale_days: i64,
    /// Entries stored, listed or not.
    total: usize,
    /// Whether near-duplicates were looked for.
    compared: bool,
}

fn knowledge_body(stats: &[KindStats], form_token: &str, listing: &Listing<'_>) -> Markup {
    let Listing {
        rows,
        words,
        stale_days,
        total,
        compared,
    } = *listing;
    let flagged = |row: &Row<'_>| row.stale || row.unused || !row.conflicts_with.is_empty();
    html! {
        table {
            thead { tr { th { "Kind" } th { "Entries" } th { "Last changed" } } }
            tbody {
                @for kind in stats {
                    tr {
                        td { (kind.kind.as_str()) }
                        td { (kind.count) }
                        td { (kind.last_changed_unix_ms.map_or("never".to_string(), day)) }
                    }
                }
            }
        }
        section {
            h2 { "Upload" }
            (upload_form(form_token))
            p.note {
                "Files of any size also import with "
                code { "frontdesk import faq|tickets|docs|products FILE" } "."
            }
        }
        h2 { "FAQ entries" }
        p { a.button href="/admin/knowledge/faq" { "New FAQ entry" } }
        form.period method="get" action="/admin/knowledge" {
            label { "Search " input type="search" name="q" value=(words.unwrap_or("")); }
            label { "Stale after (days) " input type="number" name="stale_days" min="1" max="3650" value=(stale_days); }
            button type="submit" { "Show" }
        }
        p {
            (rows.len()) " of " (total) " FAQ entries"
            @if words.is_some() { " matching the search" }
            "; " (rows.iter().filter(|row| flagged(row)).count()) " flagged. Uses are the \
              assistant's answers over the last " (USAGE_DAYS) " days."
            @if !compared { " Too many entries to look for near-duplicates." }
        }
        table {
            thead {
                tr {
                    th { "Entry" } th { "Answer" } th { "Uses" } th { "Judged wrong" }
                    th { "Changed" } th { "Flags" }
                }
            }
            tbody {
                @for row in rows {
                    tr {
                        td {
                            a href=(entry_link(&row.faq.id)) { strong { (row.faq.id) } }
                            br; (row.faq.question)
                        }
                        td { (cut(&row.faq.answer)) }
                        td { (row.usage.map_or(0, |u| u.uses)) }
                        td { (row.usage.map_or(0, |u| u.marked_wrong)) }
                        td { (row.usage.map_or("—".to_string(), |u| day(u.updated_at))) }
                        td {
                            @if row.stale { span.flag { "stale" } " " }
                            @if row.unused { span.flag { "unused" } " " }
                            @if !row.conflicts_with.is_empty() {
                                span.flag { "conflicts with " (row.conflicts_with.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= ANSWER_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(ANSWER_CHARS - 1).collect();
    format!("{kept}…")
}

fn day(unix_ms: i64) -> String {
    frontdesk_store::utc_day(unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faq(id: &str, question: &str, answer: &str) -> FaqEntry {
        FaqEntry {
            id: id.to_string(),
            question: question.to_string(),
            answer: answer.to_string(),
            tags: Vec::new(),
            url: None,
        }
    }

    #[test]
    fn near_duplicates_with_different_answers_are_paired() {
        let faqs = [
            faq(
                "returns",
                "How long do I have to return an item?",
                "30 days from delivery.",
            ),
            faq(
                "returns-old",
                "How long do I have to return an item",
                "You may send it back within two weeks, unused.",
            ),
            faq(
                "returns-copy",
                "How long do I have to return an item?",
                "30 days from delivery.",
            ),
            faq(
                "shipping",
                "How long does shipping take?",
                "Three to five working days.",
            ),
        ];
        let conflicts = conflicting_pairs(&faqs);
        assert_eq!(conflicts["returns"], ["returns-old"]);
        assert_eq!(conflicts["returns-old"], ["returns", "returns-copy"]);
        assert!(!conflicts.contains_key("shipping"));
    }

    #[test]
    fn a_search_needs_every_word() {
        let entry = faq(
            "card_arrival",
            "When will my card arrive?",
            "Within a week.",
        );
        assert!(mentions(&entry, "CARD week"));
        assert!(mentions(&entry, "card_arrival"));
        assert!(!mentions(&entry, "card refund"));
    }
}
