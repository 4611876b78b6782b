//! `frontdesk retrain`: rebuilds the assistant from everything in the store, the team's
//! feedback included. The server retrains on its own after feedback; this is the full
//! rebuild for after bulk changes, or to check how long one takes.

use std::process::ExitCode;
use std::time::Instant;

use crate::workspace::{rebuild_index, Workspace};

pub async fn run(workspace: &Workspace) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store = workspace.open_store().await?;
    let revision = store.knowledge_revision().await?;
    let settings = workspace.engine_settings(None)?;
    let engine = rebuild_index(&store, &workspace.index_dir(), &revision, settings).await?;
    let (faqs, tickets) = (store.faqs().await?.len(), store.tickets().await?.len());
    store.close().await;
    if engine.knows_nothing() {
        eprintln!("warning: the knowledge base is empty; import FAQ entries or documents first");
    }
    say!(
        "retrained on {faqs} FAQ entries and {tickets} past tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
