//! `frontdesk import faq|tickets|docs|products`: each file is parsed whole, then stored
//! in one transaction, so a bad row leaves the knowledge base as it was.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, Product, Ticket};
use frontdesk_knowledge::import;
use frontdesk_store::{ImportOutcome, Store};

use super::progress;
use crate::workspace::{rebuild_index, Workspace};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// FAQ entries: JSONL {"id","question","answer"}, CSV with id,question,answer, or Markdown.
    Faq {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Past resolved tickets: JSONL or CSV with "message", "faq_id" and optional "answer".
    Tickets {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Documents: Markdown, HTML or text files, or folders of them (recursive).
    Docs {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Product catalogs: a shop's product export CSV, or CSV with id,title,price,options,...
    Products {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub async fn run(workspace: &Workspace, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    match command {
        ImportCommand::Faq { files } => {
            for file in &files {
                import_faq_file(&store, file).await?;
            }
        }
        ImportCommand::Tickets { files } => {
            let known_faqs: HashSet<String> =
                store.faqs().await?.into_iter().map(|faq| faq.id).collect();
            for file in &files {
                import_ticket_file(&store, file, &known_faqs).await?;
            }
        }
        ImportCommand::Docs { paths } => {
            for path in &paths {
                import_docs(&store, path).await?;
            }
        }
        ImportCommand::Products { files } => {
            for file in &files {
                import_product_file(&store, file).await?;
            }
        }
    }

    // The index is rebuilt now rather than at the next question, so that the
    // first customer after an import does not wait for training.
    let revision = store.knowledge_revision().await?;
    let settings = workspace.engine_settings(None)?;
    rebuild_index(&store, &workspace.index_dir(), &revision, settings).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn import_faq_file(store: &Store, file: &Path) -> anyhow::Result<()> {
    store_faqs(store, file, &import::read_faqs(file)?).await
}

/// Stores FAQ entries read from `file`, with a progress bar, and reports what changed.
pub async fn store_faqs(store: &Store, file: &Path, entries: &[FaqEntry]) -> anyhow::Result<()> {
    let bar = progress::bar(entries.len() as u64, "faq");
    let outcome = store
        .import_faqs(entries, &|done| bar.set_position(done))
        .await
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    bar.finish_and_clear();
    report(KnowledgeKind::Faq, file, entries.len(), &outcome)?;
    Ok(())
}

async fn import_ticket_file(
    store: &Store,
    file: &Path,
    known_faqs: &HashSet<String>,
) -> anyhow::Result<()> {
    store_tickets(store, file, &import::read_tickets(file)?, known_faqs).await
}

/// Stores tickets read from `file` like [`store_faqs`], and warns about the ones that name
/// an FAQ not in `known_faqs`.
pub async fn store_tickets(
    store: &Store,
    file: &Path,
    tickets: &[Ticket],
    known_faqs: &HashSet<String>,
) -> anyhow::Result<()> {
    let bar = progress::bar(tickets.len() as u64, "tickets");
    let outcome = store
        .import_tickets(tickets, &|done| bar.set_position(done))
        .await
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    bar.finish_and_clear();
    report(KnowledgeKind::Ticket, file, tickets.len(), &outcome)?;

    // Tickets may arrive before their FAQ, so an unknown id is kept, but the
    // owner should know the assistant cannot answer with it yet.
    let unknown: Vec<&str> = tickets
        .iter()
        .filter_map(|t| t.faq_id.as_deref())
        .filter(|id| !known_faqs.contains(*id))
        .collect();
    if let Some(first) = unknown.first() {
        eprintln!(
            "warning: {} tickets name an FAQ id that is not in the knowledge base \
             (e.g. `{first}`); they teach nothing until that FAQ is imported",
            unknown.len()
        );
    }
    Ok(())
}

async fn import_docs(store: &Store, path: &Path) -> anyhow::Result<()> {
    let passages = import::read_docs(path)?;
    if passages.is_empty() {
        anyhow::bail!(
            "{}: no Markdown, HTML or text documents with content found",
            path.display()
        );
    }
    store_doc_passages(store, path, &passages).await
}

/// Stores the passages of the documents at `path` like [`store_faqs`].
pub async fn store_doc_passages(
    store: &Store,
    path: &Path,
    passages: &[DocPassage],
) -> anyhow::Result<()> {
    let bar = progress::bar(passages.len() as u64, "passages");
    let outcome = store
        .import_doc_passages(passages, &|done| bar.set_position(done))
        .await
        .with_context(|| format!("{}: nothing was imported", path.display()))?;
    bar.finish_and_clear();
    report(KnowledgeKind::Doc, path, passages.len(), &outcome)?;
    Ok(())
}

async fn import_product_file(store: &Store, file: &Path) -> anyhow::Result<()> {
    store_products(store, file, &import::read_products(file)?).await
}

/// Stores products read from `file` like [`store_faqs`].
pub async fn store_products(
    store: &Store,
    file: &Path,
    products: &[Product],
) -> anyhow::Result<()> {
    let bar = progress::bar(products.len() as u64, "products");
    let outcome = store
        .import_products(products, &|done| bar.set_position(done))
        .await
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    bar.finish_and_clear();
    let variants: usize = products.iter().map(|p| p.variants.len()).sum();
    let read = format!("{} products ({variants} variants)", products.len());
    report(KnowledgeKind::Product, file, read, &outcome)?;
    Ok(())
}

/// Prints what an import read from `file` (a count, or a phrase such as
/// "3 products (15 variants)") and what it changed.
fn report(
    kind: KnowledgeKind,
    file: &Path,
    read: impl std::fmt::Display,
    outcome: &ImportOutcome,
) -> anyhow::Result<()> {
    let mut line = format!(
        "{kind}: {read} read from {}: {} new, {} updated",
        file.display(),
        outcome.inserted,
        outcome.updated
    );
    if outcome.removed > 0 {
        line.push_str(&format!(", {} removed", outcome.removed));
    }
    say!("{line}");
    Ok(())
}
