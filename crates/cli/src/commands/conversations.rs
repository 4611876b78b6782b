//! `frontdesk conversations list|show`: the inbox from the terminal.
//!
//! Everything here was written by customers, so it is printed through `printable`:
//! a message must not be able to move the cursor, recolour or rewrite the agent's
//! terminal, or reverse the text around it.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use frontdesk_core::{Author, Channel, ConversationStatus, Message, Visibility};
use frontdesk_store::{ConversationFilter, Readers};
use serde_json::json;

use crate::commands::terminal::printable;
use crate::commands::time::format_time;
use crate::workspace::Workspace;

/// How much of a handoff summary fits on a line of `conversations list`.
const SUMMARY_PREVIEW_CHARS: usize = 60;

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// Conversations, oldest first.
    List {
        /// Only those with this status: bot, waiting, assigned or resolved.
        #[arg(long)]
        status: Option<ConversationStatus>,
        /// Only those on this channel (widget, email, whatsapp, …).
        #[arg(long)]
        channel: Option<Channel>,
        /// Only those assigned to this email.
        #[arg(long)]
        assignee: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One conversation with its messages: author, text, the assistant's decision and
    /// sources, delivery state, and private notes.
    Show {
        /// The conversation's id, as `list` shows it.
        id: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(workspace: &Workspace, command: ConversationsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConversationsCommand::List {
            status,
            channel,
            assignee,
            json,
        } => {
            let filter = ConversationFilter {
                status,
                channel,
                assignee: assignee.map(|email| frontdesk_store::normalize_email(&email)),
                // The command lists every match, oldest first, for scripts to page through.
                ..ConversationFilter::default()
            };
            list(workspace, &filter, json).await
        }
        ConversationsCommand::Show { id, json } => show(workspace, id, json).await,
    }
}

async fn list(
    workspace: &Workspace,
    filter: &ConversationFilter,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let conversations = store.conversations(filter).await;
    store.close().await;
    let conversations = conversations?;
    if json {
        say!("{}", serde_json::to_string_pretty(&conversations)?);
        return Ok(ExitCode::SUCCESS);
    }
    if conversations.is_empty() {
        say!("no conversations match");
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{:>6}  {:<9}  {:<8}  {:<20}  {:<24}  summary",
        "id",
        "channel",
        "status",
        "updated",
        "assignee"
    );
    for conversation in &conversations {
        let summary = conversation
            .handoff_summary
            .as_deref()
            .map(|summary| preview(summary, SUMMARY_PREVIEW_CHARS))
            .unwrap_or_default();
        say!(
            "{:>6}  {:<9}  {:<8}  {:<20}  {:<24}  {}",
            conversation.id,
            conversation.channel,
            conversation.status,
            format_time(conversation.updated_at),
            printable(conversation.assignee.as_deref().unwrap_or("-")),
            printable(&summary)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(workspace: &Workspace, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let found = async {
        let conversation = store.conversation(id).await?;
        let messages = store.messages(id, None, Readers::Team).await?;
        anyhow::Ok(conversation.map(|conversation| (conversation, messages)))
    }
    .await;
    store.close().await;
    let (conversation, messages) = found
        .with_context(|| format!("cannot read conversation {id}"))?
        .with_context(|| format!("there is no conversation {id}"))?;

    if json {
        let shown = json!({ "conversation": conversation, "messages": messages });
        say!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(ExitCode::SUCCESS);
    }

    say!(
        "conversation {} · {} · {} · assignee {}",
        conversation.id,
        conversation.channel,
        conversation.status,
        printable(conversation.assignee.as_deref().unwrap_or("-"))
    );
    say!("opened {}", format_time(conversation.created_at));
    if let Some(at) = conversation.buying_intent_at {
        say!("showed buying intent {}", format_time(at));
    }
    if let Some(handed_off) = conversation.handed_off_at {
        let reason = conversation
            .handoff_reason
            .map_or("unknown", |reason| reason.as_str());
        say!("handed off {} ({reason})", format_time(handed_off));
    }
    if let Some(summary) = &conversation.handoff_summary {
        for line in summary.lines() {
            say!("  {}", printable(line));
        }
    }
    for message in &messages {
        say!();
        say!("{}", heading(message));
        for line in message.text.lines() {
            say!("  {}", printable(line));
        }
        if let Some(decision) = &message.decision {
            say!(
                "  [{} · confidence {:.2}{}]",
                decision.kind.as_str(),
                decision.confidence,
                decision
                    .reason
                    .map(|reason| format!(" · {reason}"))
                    .unwrap_or_default()
            );
        }
        if !message.sources.is_empty() {
            let sources: Vec<String> = message
                .sources
                .iter()
                .map(|source| format!("{}:{}", source.kind.as_str(), printable(&source.id)))
                .collect();
            say!("  sources: {}", sources.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `#12 2026-12-04T10:00:00Z assistant (sent)`, with notes marked as such.
fn heading(message: &Message) -> String {
    let who = match (message.author, message.visibility) {
        (Author::Agent, Visibility::Internal) => "note".to_string(),
        (author, _) => author.to_string(),
    };
    format!(
        "#{} {} {who} ({})",
        message.id,
        format_time(message.created_at),
        message.delivery
    )
}

fn preview(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_cut_on_characters() {
        assert_eq!(preview("ä ö\nü", 10), "ä ö ü");
        assert_eq!(preview("ääää", 2), "ää…");
    }
}
