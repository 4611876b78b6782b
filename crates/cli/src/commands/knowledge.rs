//! `frontdesk knowledge stats`.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::commands::time::format_time;
use crate::workspace::Workspace;

#[derive(Debug, Subcommand)]
pub enum KnowledgeCommand {
    /// Counts per kind of knowledge and when each was last changed.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(workspace: &Workspace, command: KnowledgeCommand) -> anyhow::Result<ExitCode> {
    let KnowledgeCommand::Stats { json } = command;
    let store = workspace.open_store().await?;
    let stats = store.knowledge_stats().await?;
    store.close().await;

    if json {
        let rows: Vec<_> = stats
            .iter()
            .map(|s| {
                json!({
                    "kind": s.kind.as_str(),
                    "count": s.count,
                    "last_changed": s.last_changed_unix_ms.map(format_time),
                })
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }

    say!("{:<8} {:>8}  last changed", "kind", "count");
    for s in &stats {
        let changed = s
            .last_changed_unix_ms
            .map(format_time)
            .unwrap_or_else(|| "never".into());
        say!("{:<8} {:>8}  {changed}", s.kind.as_str(), s.count);
    }
    Ok(ExitCode::SUCCESS)
}
