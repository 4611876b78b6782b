//! `frontdesk eval --cases FILE`: resolution, wrong answers, escalations and
//! latency on labelled questions, at the configured threshold and over a sweep.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use frontdesk_knowledge::eval::{self, EvalReport, Rates};

use super::progress;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// JSONL file of `{"message", "expected"}`; `expected` is an FAQ id, or null when
    /// the right move is to hand off.
    #[arg(long)]
    cases: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Answer threshold to report on, overriding the settings file.
    #[arg(long)]
    threshold: Option<f64>,
    /// Also draw the coverage/risk curve (resolved against wrong answers, one point per
    /// threshold of the sweep) as an SVG chart in this file.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
}

pub async fn run(workspace: &Workspace, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let cases = eval::read_cases(&args.cases)?;

    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(args.threshold)?;
    let engine = workspace.engine(&store, settings).await?;
    store.close().await;

    let bar = progress::bar(cases.len() as u64, "questions");
    let report = eval::evaluate(&engine, &cases, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();

    if let Some(path) = &args.chart {
        let title = format!(
            "{} questions from {}",
            report.questions,
            args.cases.display()
        );
        std::fs::write(path, super::chart::coverage_risk_svg(&report, &title))
            .with_context(|| format!("cannot write the chart to {}", path.display()))?;
    }

    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &EvalReport) -> anyhow::Result<()> {
    say!("questions             {}", report.questions);
    say!("  out of scope        {}", report.out_of_scope_questions);
    say!(
        "top-candidate accuracy {:.1} %",
        pct(report.top_candidate_accuracy)
    );
    say!();
    say!("at threshold {:.2}:", report.at_threshold.threshold);
    print_rates(&report.at_threshold)?;
    say!();
    say!("threshold  resolved  wrong  escalated  clarify  oos escalated");
    for rates in &report.sweep {
        say!(
            "{:>9.2}  {:>7.1}%  {:>4.1}%  {:>8.1}%  {:>6.1}%  {:>12}",
            rates.threshold,
            pct(rates.resolution_rate),
            pct(rates.wrong_answer_rate),
            pct(rates.escalation_rate),
            pct(rates.clarify_rate),
            rates
                .out_of_scope_escalation_rate
                .map(|r| format!("{:.1}%", pct(r)))
                .unwrap_or("-".into()),
        );
    }
    if !report.confusions.is_empty() {
        say!();
        say!(
            "wrong answers at {:.2}, most frequent first:",
            report.at_threshold.threshold
        );
        for confusion in &report.confusions {
            let expected = confusion.expected.as_deref().unwrap_or("(hand off)");
            say!(
                "  {:>4}  expected {expected}, answered {}",
                confusion.count,
                confusion.answered
            );
        }
    }
    say!();
    let latency = &report.latency;
    say!(
        "latency per question: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        latency.median_ms,
        latency.p99_ms,
        latency.max_ms
    );
    Ok(())
}

fn print_rates(rates: &Rates) -> anyhow::Result<()> {
    say!("  resolution rate     {:.1} %", pct(rates.resolution_rate));
    say!(
        "  wrong-answer rate   {:.1} %",
        pct(rates.wrong_answer_rate)
    );
    say!("  escalation rate     {:.1} %", pct(rates.escalation_rate));
    say!("  clarify rate        {:.1} %", pct(rates.clarify_rate));
    if let Some(rate) = rates.out_of_scope_escalation_rate {
        say!("  out of scope escalated {:.1} %", pct(rate));
    }
    Ok(())
}

fn pct(rate: f64) -> f64 {
    rate * 100.0
}
