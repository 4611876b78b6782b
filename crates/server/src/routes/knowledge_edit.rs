//! Changing the knowledge from the owner's pages: uploading a file through the same
//! importers as `frontdesk import`, and writing, editing and deleting single FAQ entries.
//!
//! An upload is read whole before anything is stored: a file with bad rows lists every one
//! of them (line and problem) and stores nothing, so the owner fixes the file and sends it
//! again. Every change moves the knowledge revision and asks for a retrain, so the
//! assistant answers from it within seconds, without a restart.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use frontdesk_core::{DocPassage, FaqEntry, Product, Ticket};
use frontdesk_knowledge::import::{self, ImportError};
use frontdesk_store::ImportOutcome;
use maud::{html, Markup};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::error::ApiError;
use crate::learning::knowledge_changed;
use crate::routes::admin::{
    form_refused, form_sender, layout, owner, page_headers, Owner, PageRefusal, FORM_OUT_OF_DATE,
};
use crate::AppState;

/// The largest file the upload form takes: a catalog or a ticket export of a few tens of
/// thousands of rows. Larger ones go through `frontdesk import`, which shows progress.
pub(super) const UPLOAD_MAX_BYTES: usize = 20 * 1024 * 1024;

/// Longer ids are refused: they end up in links and logs.
const MAX_ID_CHARS: usize = 120;
/// A question is a sentence or two; longer text belongs in the answer.
const MAX_QUESTION_CHARS: usize = 1_000;

/// The kinds of file the upload form takes, as its `kind` field names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UploadKind {
    Faq,
    Tickets,
    Docs,
    Products,
}

impl UploadKind {
    const ALL: [UploadKind; 4] = [
        UploadKind::Faq,
        UploadKind::Tickets,
        UploadKind::Docs,
        UploadKind::Products,
    ];

    fn key(self) -> &'static str {
        match self {
            UploadKind::Faq => "faq",
            UploadKind::Tickets => "tickets",
            UploadKind::Docs => "docs",
            UploadKind::Products => "products",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            UploadKind::Faq => "FAQ entries (.jsonl, .csv or .md)",
            UploadKind::Tickets => "past tickets (.jsonl or .csv)",
            UploadKind::Docs => "a document (.md, .html or .txt)",
            UploadKind::Products => "a product catalog (.csv)",
        }
    }

    fn parse(key: &str) -> Option<UploadKind> {
        UploadKind::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// The file's records, or every problem found in it.
    fn read(self, path: &Path, text: &str) -> Result<Records, Vec<ImportError>> {
        match self {
            UploadKind::Faq => import::check_faqs(path, text).map(Records::Faqs),
            UploadKind::Tickets => import::check_tickets(path, text).map(Records::Tickets),
            UploadKind::Products => import::check_products(path, text).map(Records::Products),
            UploadKind::Docs => match import::docs_from_str(path, text) {
                Ok(passages) if passages.is_empty() => Err(vec![ImportError {
                    file: path.to_path_buf(),
                    line: None,
                    message: "the document has no text".to_string(),
                }]),
                Ok(passages) => Ok(Records::Docs(passages)),
                Err(err) => Err(vec![err]),
            },
        }
    }
}

enum Records {
    Faqs(Vec<FaqEntry>),
    Tickets(Vec<Ticket>),
    Docs(Vec<DocPassage>),
    Products(Vec<Product>),
}

/// The upload form's fields, read from its multipart body.
#[derive(Default)]
struct Upload {
    form_token: String,
    kind: String,
    file_name: String,
    file: Bytes,
}

/// The owner's knowledge-upload form, shown on the knowledge page.
pub(super) fn upload_form(token: &str) -> Markup {
    html! {
        form.upload method="post" action="/admin/knowledge/upload" enctype="multipart/form-data" {
            input type="hidden" name="form_token" value=(token);
            label {
                "Kind of content "
                select name="kind" {
                    @for kind in UploadKind::ALL {
                        option value=(kind.key()) { (kind.describe()) }
                    }
                }
            }
            label { "File " input type="file" name="file" required; }
            button type="submit" { "Upload" }
            p.note {
                "A file is stored only when every row of it is good; otherwise each bad row is \
                 listed and nothing changes. An entry with an id already stored is replaced."
            }
        }
    }
}

/// `POST /admin/knowledge/upload` (multipart: `form_token`, `kind`, `file`).
pub(super) async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageRefusal> {
    // Who is asking is settled before the body is read; the form token travels in it.
    let owner = owner(&state, &headers).await?;
    let multipart = multipart.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let upload = read_upload(multipart).await?;
    if !owner.sent_the_form(&upload.form_token) {
        return Err(ApiError::Forbidden(FORM_OUT_OF_DATE).into());
    }
    let Some(kind) = UploadKind::parse(&upload.kind) else {
        let message = format!(
            "`{}` is not a kind: choose faq, tickets, docs or products",
            upload.kind
        );
        return Err(ApiError::bad_field("kind", message).into());
    };
    let file_name = plain_file_name(&upload.file_name)?;

    let path = PathBuf::from(&file_name);
    let read = import::decode_text(&path, &upload.file)
        .map_err(|err| vec![err])
        .and_then(|text| kind.read(&path, &text));
    let records = match read {
        Ok(records) => records,
        Err(problems) => {
            tracing::info!(
                owner = owner.user.id,
                file = %file_name,
                problems = problems.len(),
                "upload refused: the file has problems"
            );
            let body = layout(
                "Upload refused",
                Some(&owner),
                problems_body(&file_name, kind, &problems),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page_headers(), body).into_response());
        }
    };

    let stored = store(&state, &records).await?;
    let learns = if stored.outcome.changed() {
        knowledge_changed(&state).await
    } else {
        true
    };
    tracing::info!(
        owner = owner.user.id,
        file = %file_name,
        kind = kind.key(),
        inserted = stored.outcome.inserted,
        updated = stored.outcome.updated,
        removed = stored.outcome.removed,
        "knowledge uploaded"
    );
    let body = layout(
        "Upload stored",
        Some(&owner),
        stored_body(&file_name, kind, &stored, learns),
    );
    Ok((page_headers(), body).into_response())
}

/// What an upload stored, for the page that reports it.
struct Stored {
    read: String,
    outcome: ImportOutcome,
    /// Tickets naming an FAQ id that is not stored: they teach nothing yet.
    unknown_faqs: Vec<String>,
}

async fn store(state: &AppState, records: &Records) -> Result<Stored, ApiError> {
    let store = &state.store;
    let none = &|_| {};
    let mut unknown_faqs = Vec::new();
    let (read, outcome) = match records {
        Records::Faqs(entries) => (
            format!("{} FAQ entries", entries.len()),
            store.import_faqs(entries, none).await?,
        ),
        Records::Tickets(tickets) => {
            let known: HashSet<String> = store.faqs().await?.into_iter().map(|f| f.id).collect();
            let mut unknown: Vec<String> = tickets
                .iter()
                .filter_map(|t| t.faq_id.clone())
                .filter(|id| !known.contains(id))
                .collect();
            unknown.sort();
            unknown.dedup();
            unknown_faqs = unknown;
            (
                format!("{} tickets", tickets.len()),
                store.import_tickets(tickets, none).await?,
            )
        }
        Records::Docs(passages) => (
            format!("{} passages", passages.len()),
            store.import_doc_passages(passages, none).await?,
        ),
        Records::Products(products) => {
            let variants: usize = products.iter().map(|p| p.variants.len()).sum();
            (
                format!("{} products ({variants} variants)", products.len()),
                store.import_products(products, none).await?,
            )
        }
    };
    Ok(Stored {
        read,
        outcome,
        unknown_faqs,
    })
}

/// Reads the upload form's fields; unknown fields are refused, so a mistyped form fails
/// loudly instead of storing nothing.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let mut has_file = false;
    let mut seen = HashSet::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_refused)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            // One of each: a second would silently replace the first.
            "form_token" | "kind" | "file" if !seen.insert(name.clone()) => {
                return Err(ApiError::bad_field(
                    &name,
                    "the upload form has this field twice: send one file at a time",
                ))
            }
            "form_token" => upload.form_token = field.text().await.map_err(multipart_refused)?,
            "kind" => upload.kind = field.text().await.map_err(multipart_refused)?,
            "file" => {
                upload.file_name = field.file_name().unwrap_or_default().to_string();
                upload.file = field.bytes().await.map_err(multipart_refused)?;
                has_file = true;
            }
            other => {
                return Err(ApiError::bad_field(
                    other,
                    "the upload form has no such field: send form_token, kind and file",
                ))
            }
        }
    }
    if !has_file || upload.file_name.is_empty() {
        return Err(ApiError::bad_field("file", "choose a file to upload"));
    }
    Ok(upload)
}

fn multipart_refused(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge {
            limit: UPLOAD_MAX_BYTES,
        }
    } else {
        ApiError::bad_request(err.body_text())
    }
}

/// The last part of the name the browser sent (some send a whole path), which picks the
/// importer by its extension and names a document.
fn plain_file_name(sent: &str) -> Result<String, ApiError> {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if last.is_empty() || last.chars().any(is_unsafe_char) {
        return Err(ApiError::bad_field(
            "file",
            "the file name is empty or has control or direction characters: rename the file",
        ));
    }
    Ok(last.to_string())
}

fn problems_body(file_name: &str, kind: UploadKind, problems: &[ImportError]) -> Markup {
    html! {
        p {
            "Nothing from " strong { (file_name) } " was stored: it was read as "
            (kind.describe()) " and has " (problems.len()) " "
            (if problems.len() == 1 { "problem" } else { "problems" })
            ". Fix them and upload the file again."
        }
        table.problems {
            thead { tr { th { "Line" } th { "Problem" } } }
            tbody {
                @for problem in problems {
                    tr {
                        td { (problem.line.map_or("—".to_string(), |line| line.to_string())) }
                        td { (problem.message) }
                    }
                }
            }
        }
        p { a href="/admin/knowledge" { "Back to the knowledge page" } }
    }
}

fn stored_body(file_name: &str, kind: UploadKind, stored: &Stored, learns: bool) -> Markup {
    let outcome = &stored.outcome;
    html! {
        p {
            "Read " (stored.read) " from " strong { (file_name) } " (" (kind.describe()) "): "
            (outcome.inserted) " new, " (outcome.updated) " updated"
            @if outcome.removed > 0 { ", " (outcome.removed) " removed" }
            "."
        }
        (learning_note(outcome.changed(), learns))
        @if !stored.unknown_faqs.is_empty() {
            p.note {
                (stored.unknown_faqs.len()) " FAQ ids named by these tickets are not in the \
                 knowledge base (" (stored.unknown_faqs.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
                @if stored.unknown_faqs.len() > 5 { ", …" }
                "): those tickets teach nothing until the entries are added."
            }
        }
        p { a href="/admin/knowledge" { "Back to the knowledge page" } }
    }
}

/// What the owner is told about when the assistant answers from a change.
fn learning_note(changed: bool, learns: bool) -> Markup {
    html! {
        p.note {
            @if !changed {
                "Nothing changed: everything in it was already stored as it is."
            } @else if learns {
                "The assistant is being rebuilt with it and answers from it within seconds."
            } @else {
                "The assistant answers from it after the next start or "
                code { "frontdesk retrain" } "."
            }
        }
    }
}

// ---- single FAQ entries --------------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct EntryQuery {
    /// The entry to edit; none for a new one.
    id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct EntryForm {
    form_token: String,
    /// The entry being edited; empty for a new one.
    #[serde(default)]
    existing: String,
    /// A new entry's id; empty to make one from the question.
    #[serde(default)]
    id: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    url: String,
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    form_token: String,
    id: String,
}

/// A link to the knowledge page or to an entry, with the id made safe for a URL.
pub(super) fn entry_link(id: &str) -> String {
    format!(
        "/admin/knowledge/faq?id={}",
        utf8_percent_encode(id, NON_ALPHANUMERIC)
    )
}

fn knowledge_link(key: &str, id: &str) -> String {
    format!(
        "/admin/knowledge?{key}={}",
        utf8_percent_encode(id, NON_ALPHANUMERIC)
    )
}

/// `GET /admin/knowledge/faq?id=ID`: the form to edit an entry, or a new one without `id`.
pub(super) async fn entry_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EntryQuery>, QueryRejection>,
) -> Result<Response, PageRefusal> {
    let owner = owner(&state, &headers).await?;
    let Query(query) = query.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let form = match query.id {
        None => EntryForm::blank(),
        Some(id) => {
            let faqs = state.store.faqs().await.map_err(ApiError::from)?;
            let entry = faqs
                .into_iter()
                .find(|faq| faq.id == id)
                .ok_or(ApiError::NotFound("no FAQ entry has this id"))?;
            EntryForm::of(&entry)
        }
    };
    Ok(entry_response(&owner, &form, &[], StatusCode::OK))
}

/// `POST /admin/knowledge/faq`: saves a new or edited entry, then back to the list. A form
/// with mistakes comes back with them named and what was typed kept.
pub(super) async fn save_entry(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<EntryForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    let faqs = state.store.faqs().await.map_err(ApiError::from)?;
    let existing = form.existing.trim();
    let is_new = existing.is_empty();
    if !is_new && !faqs.iter().any(|faq| faq.id == existing) {
        return Err(
            ApiError::NotFound("no FAQ entry has this id: it may have been deleted").into(),
        );
    }

    let entry = match form.entry(&faqs) {
        Ok(entry) => entry,
        Err(mistakes) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(entry_response(&owner, &form, &mistakes, status));
        }
    };
    let outcome = state
        .store
        .import_faqs(std::slice::from_ref(&entry), &|_| {})
        .await
        .map_err(ApiError::from)?;
    if outcome.changed() {
        knowledge_changed(&state).await;
    }
    tracing::info!(
        owner = owner.user.id,
        faq = %entry.id,
        new = is_new,
        changed = outcome.changed(),
        "FAQ entry saved from the knowledge page"
    );
    Ok(Redirect::to(&knowledge_link("saved", &entry.id)).into_response())
}

/// `POST /admin/knowledge/faq/delete`: removes an entry, then back to the list.
pub(super) async fn delete_entry(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, PageRefusal> {
    let Form(form) = form.map_err(form_refused)?;
    let owner = form_sender(&state, &headers, &form.form_token).await?;
    if !state
        .store
        .delete_faq(&form.id)
        .await
        .map_err(ApiError::from)?
    {
        return Err(
            ApiError::NotFound("no FAQ entry has this id: it may have been deleted").into(),
        );
    }
    knowledge_changed(&state).await;
    tracing::info!(owner = owner.user.id, faq = %form.id, "FAQ entry deleted from the knowledge page");
    Ok(Redirect::to(&knowledge_link("deleted", &form.id)).into_response())
}

/// A form field and what is wrong with it.
type Mistake = (&'static str, String);

impl EntryForm {
    fn blank() -> Self {
        EntryForm {
            form_token: String::new(),
            existing: String::new(),
            id: String::new(),
            question: String::new(),
            answer: String::new(),
            tags: String::new(),
            url: String::new(),
        }
    }

    fn of(entry: &FaqEntry) -> Self {
        EntryForm {
            form_token: String::new(),
            existing: entry.id.clone(),
            id: entry.id.clone(),
            question: entry.question.clone(),
            answer: entry.answer.clone(),
            tags: entry.tags.join(", "),
            url: entry.url.clone().unwrap_or_default(),
        }
    }

    /// The entry the form describes, or every mistake in it. `faqs` are the stored
    /// entries, which a new entry's id must not repeat.
    fn entry(&self, faqs: &[FaqEntry]) -> Result<FaqEntry, Vec<Mistake>> {
        let mut mistakes: Vec<Mistake> = Vec::new();
        let question = self.question.trim();
        let answer = self.answer.trim();
        if question.is_empty() {
            mistakes.push((
                "question",
                "write the question as a customer would ask it".into(),
            ));
        } else if question.chars().count() > MAX_QUESTION_CHARS {
            let message = format!("keep the question under {MAX_QUESTION_CHARS} characters");
            mistakes.push(("question", message));
        }
        if answer.is_empty() {
            mistakes.push((
                "answer",
                "write the answer the assistant should give".into(),
            ));
        }
        for (field, value) in [
            ("question", question),
            ("answer", answer),
            ("tags", &self.tags),
        ] {
            if value.contains('\0') {
                mistakes.push((field, "remove the NUL character".into()));
            }
        }

        let existing = self.existing.trim();
        let id = if existing.is_empty() {
            let given = self.id.trim();
            let id = if given.is_empty() {
                import::slug(question)
            } else {
                given.to_string()
            };
            if id.chars().count() > MAX_ID_CHARS || id.chars().any(is_unsafe_char) {
                let message = format!(
                    "use at most {MAX_ID_CHARS} characters, none of them control or direction \
                     characters"
                );
                mistakes.push(("id", message));
            } else if faqs.iter().any(|faq| faq.id == id) {
                mistakes.push((
                    "id",
                    format!("an entry `{id}` exists already: edit it instead"),
                ));
            }
            id
        } else {
            existing.to_string()
        };

        let url = self.url.trim();
        if !url.is_empty() && !is_web_address(url) {
            mistakes.push((
                "url",
                "give a web address starting with https:// or http://".into(),
            ));
        }
        if !mistakes.is_empty() {
            return Err(mistakes);
        }
        Ok(FaqEntry {
            id,
            question: question.to_string(),
            answer: answer.to_string(),
            tags: tags(&self.tags),
            url: Some(url.to_string()).filter(|url| !url.is_empty()),
        })
    }
}

/// Control characters, and the marks that reverse the direction of the text after them:
/// in a file name or an id they would make it read as something else ("txt.exe" shown as
/// "exe.txt").
fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether customers may be sent to `text`: an http(s) address with a host. Anything else
/// (a `javascript:` link, say) is refused, since the address is shown to them as a link.
fn is_web_address(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// Tags as the importers split them: on commas, semicolons or bars, trimmed, blanks and
/// repeats dropped.
fn tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text
        .split([',', ';', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags
}

fn entry_response(
    owner: &Owner,
    form: &EntryForm,
    mistakes: &[Mistake],
    status: StatusCode,
) -> Response {
    let is_new = form.existing.trim().is_empty();
    let title = if is_new {
        "New FAQ entry"
    } else {
        "Edit FAQ entry"
    };
    let body = layout(title, Some(owner), entry_body(owner, form, mistakes));
    (status, page_headers(), body).into_response()
}

fn entry_body(owner: &Owner, form: &EntryForm, mistakes: &[Mistake]) -> Markup {
    let token = owner.form_token();
    let is_new = form.existing.trim().is_empty();
    let mistake = |field: &str| -> Option<&str> {
        mistakes
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    };
    html! {
        @if !mistakes.is_empty() {
            p.mistakes { "The entry was not saved: " (mistakes.len()) " "
                (if mistakes.len() == 1 { "field needs" } else { "fields need" }) " a change." }
        }
        form.entry method="post" action="/admin/knowledge/faq" {
            input type="hidden" name="form_token" value=(token);
            input type="hidden" name="existing" value=(form.existing);
            @if is_new {
                label {
                    "Id (leave empty to make one from the question)"
                    input type="text" name="id" value=(form.id) maxlength=(MAX_ID_CHARS);
                    @if let Some(m) = mistake("id") { span.mistake { (m) } }
                }
            } @else {
                p { "Id: " code { (form.existing) } }
            }
            label {
                "Question"
                input type="text" name="question" value=(form.question) required;
                @if let Some(m) = mistake("question") { span.mistake { (m) } }
            }
            label {
                "Answer"
                textarea name="answer" rows="8" required { (form.answer) }
                @if let Some(m) = mistake("answer") { span.mistake { (m) } }
            }
            label {
                "Tags (separated by commas)"
                input type="text" name="tags" value=(form.tags);
                @if let Some(m) = mistake("tags") { span.mistake { (m) } }
            }
            label {
                "Page with more (optional)"
                input type="url" name="url" value=(form.url);
                @if let Some(m) = mistake("url") { span.mistake { (m) } }
            }
            button type="submit" { "Save" }
        }
        @if !is_new {
            form.delete method="post" action="/admin/knowledge/faq/delete" {
                input type="hidden" name="form_token" value=(token);
                input type="hidden" name="id" value=(form.existing);
                button type="submit" { "Delete this entry" }
                span.note { " Past tickets labelled with it are kept but teach nothing until an \
                    entry of this id comes back." }
            }
        }
        p { a href="/admin/knowledge" { "Back to the knowledge page" } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(question: &str, answer: &str) -> EntryForm {
        EntryForm {
            question: question.to_string(),
            answer: answer.to_string(),
            ..EntryForm::blank()
        }
    }

    #[test]
    fn a_new_entry_gets_an_id_from_its_question_and_tags_split_like_imports() {
        let mut new = form("  Do you ship to Norway? ", "Yes, in 5 days.");
        new.tags = "shipping; abroad,shipping | ".to_string();
        let entry = new.entry(&[]).expect("a good entry");
        assert_eq!(entry.id, "do-you-ship-to-norway");
        assert_eq!(entry.question, "Do you ship to Norway?");
        assert_eq!(entry.tags, ["shipping", "abroad"]);
        assert_eq!(entry.url, None);
    }

    #[test]
    fn every_mistake_is_named_with_its_field() {
        let mut bad = form(" ", "");
        bad.url = "javascript:alert(1)".to_string();
        bad.id = "x\u{7}".to_string();
        let mistakes = bad.entry(&[]).expect_err("mistakes");
        let fields: Vec<&str> = mistakes.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, ["question", "answer", "id", "url"]);
    }

    #[test]
    fn a_new_entry_may_not_take_a_stored_id() {
        let stored = FaqEntry {
            id: "returns".to_string(),
            question: "Can I return it?".to_string(),
            answer: "Within 30 days.".to_string(),
            tags: Vec::new(),
            url: None,
        };
        let mut new = form("How do returns work?", "Send it back.");
        new.id = "returns".to_string();
        let mistakes = new
            .entry(std::slice::from_ref(&stored))
            .expect_err("a repeat");
        assert_eq!(mistakes[0].0, "id");

        // Editing the stored entry keeps its id, whatever the id field says.
        let mut edit = EntryForm::of(&stored);
        edit.id = "something-else".to_string();
        edit.answer = "Within 60 days.".to_string();
        let entry = edit.entry(std::slice::from_ref(&stored)).expect("an edit");
        assert_eq!(
            (entry.id.as_str(), entry.answer.as_str()),
            ("returns", "Within 60 days.")
        );
    }

    #[test]
    fn browsers_sending_whole_paths_give_the_last_part() {
        assert_eq!(
            plain_file_name(r"C:\Users\me\faq.csv").ok().as_deref(),
            Some("faq.csv")
        );
        assert_eq!(
            plain_file_name("dir/faq.md").ok().as_deref(),
            Some("faq.md")
        );
        assert!(plain_file_name("dir/").is_err());
        assert!(plain_file_name("a\nb.csv").is_err());
        assert!(plain_file_name("\u{202e}vsc.exe").is_err());
    }

    #[test]
    fn only_web_addresses_are_links() {
        assert!(is_web_address("https://shop.example/returns"));
        assert!(!is_web_address("javascript:alert(1)"));
        assert!(!is_web_address("data:text/html,hi"));
        assert!(!is_web_address("returns page"));
    }
}
