//! `frontdesk ask "MESSAGE"`: one decision, for a person or as JSON.

use std::process::ExitCode;

use clap::Args;
use frontdesk_core::{Decision, DecisionKind};
use frontdesk_knowledge::Engine;

use crate::commands::phrase::Phraser;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The customer's message.
    message: String,
    /// Print the decision as JSON (the same object as `answer --batch` writes).
    #[arg(long)]
    json: bool,
    /// Answer threshold for this call, overriding the settings file.
    #[arg(long)]
    threshold: Option<f64>,
    /// Answer with the FAQ's own text even when a language model is set.
    #[arg(long)]
    no_generate: bool,
}

pub async fn run(workspace: &Workspace, args: AskArgs) -> anyhow::Result<ExitCode> {
    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(args.threshold)?;
    let engine = workspace.engine(&store, settings).await?;
    store.close().await;

    let phraser = Phraser::new(workspace.generation_settings(args.no_generate)?)?;

    let decision = engine.decide(&args.message);
    let phrased = phraser.phrase(&engine, decision, &args.message).await;
    if args.json {
        say!("{}", serde_json::to_string(&phrased.decision)?);
    } else {
        print_for_person(&engine, &phrased.decision)?;
        if let Some(why) = &phrased.explanation {
            say!();
            say!("  (the generated answer was not used: {why})");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_for_person(engine: &Engine, decision: &Decision) -> anyhow::Result<()> {
    let headline = match decision.kind {
        DecisionKind::Answer => "answer".to_string(),
        DecisionKind::Clarify => "clarify".to_string(),
        DecisionKind::Escalate => {
            let reason = decision.reason.map(|r| r.as_str()).unwrap_or("unknown");
            format!("escalate to a person ({reason})")
        }
    };
    say!("{headline}  confidence {:.2}", decision.confidence);
    say!();
    for line in decision.text.lines() {
        say!("  {line}");
    }
    if !decision.sources.is_empty() {
        say!();
    }
    if let Some(generation) = &decision.generation {
        say!(
            "  {} by {}",
            generation.outcome.replace('_', " "),
            generation.model
        );
    }
    for source in &decision.sources {
        let kind = source.kind.as_str();
        match engine.source_title(source) {
            Some(title) => say!("  from {kind} {}: {title}", source.id),
            None => say!("  from {kind} {}", source.id),
        }
    }
    Ok(())
}
