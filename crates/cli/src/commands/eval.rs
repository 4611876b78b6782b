//! `frontdesk eval --cases FILE`: resolution, wrong answers, escalations and
//! latency on labelled questions, at the configured threshold and over a sweep.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use frontdesk_core::{Decision, DecisionKind};
use frontdesk_knowledge::eval::{self, EvalCase, EvalReport, Rates};
use frontdesk_knowledge::Engine;
use serde::Serialize;

use super::chart::{coverage_risk_svg, Curve};
use super::phrase::Phraser;
use super::progress;
use crate::workspace::{engine_in_memory, Workspace};

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
    /// Also phrase the answered questions with the language model and compare the texts
    /// with the extractive ones (and with the cases' reference answers, when they have
    /// them). The default when a model is set; an error when none is.
    #[arg(long, conflicts_with = "no_generate")]
    generate: bool,
    /// Evaluate the extractive answers only, even when a model is set.
    #[arg(long)]
    no_generate: bool,
    /// Phrase at most this many answered questions: a local model takes seconds for each.
    #[arg(long, value_name = "N", default_value_t = 200)]
    generate_limit: usize,
}

pub async fn run(workspace: &Workspace, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let cases = eval::read_cases(&args.cases)?;
    if let Some(path) = &args.chart {
        check_writable_file(path)?;
    }

    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(args.threshold)?;
    let encoder = settings.encoder().map(|e| e.model_name().to_string());
    let with_model = encoder.is_some();
    let engine = workspace.engine(&store, settings.clone()).await?;
    // With a model, the same questions are put to the assistant reading words alone too,
    // so the report shows what the model adds and what is left when it is missing.
    let lexical_engine = match with_model {
        true => Some(engine_in_memory(&store, settings.without_encoder()).await?),
        false => None,
    };
    store.close().await;

    warn_of_unknown_faqs(&engine, &cases);

    let configuration = match with_model {
        true => WITH_MODEL,
        false => LEXICAL_ONLY,
    };
    let report = evaluate_with_progress(&engine, &cases, configuration);
    let lexical_report = lexical_engine
        .as_ref()
        .map(|engine| evaluate_with_progress(engine, &cases, LEXICAL_ONLY));

    if let Some(path) = &args.chart {
        let title = format!(
            "{} questions from {}",
            report.questions,
            args.cases.display()
        );
        let mut curves = vec![Curve {
            name: configuration.label,
            report: &report,
        }];
        if let Some(lexical) = &lexical_report {
            curves.push(Curve {
                name: LEXICAL_ONLY.label,
                report: lexical,
            });
        }
        std::fs::write(path, coverage_risk_svg(&curves, &title))
            .with_context(|| format!("cannot write the chart to {}", path.display()))?;
    }

    let phraser = Phraser::new(workspace.generation_settings(args.no_generate)?)?;
    if args.generate && !phraser.is_on() {
        anyhow::bail!(
            "--generate needs a language model: set generation.base_url and generation.model \
             in the settings file, or FRONTDESK_LLM_BASE_URL and FRONTDESK_LLM_MODEL"
        );
    }
    let generation = match phraser.is_on() {
        true => Some(compare_generated(&engine, &phraser, &cases, args.generate_limit).await),
        false => None,
    };

    if args.json {
        let output = Output {
            configuration: configuration.key,
            encoder: encoder.as_deref(),
            report: &report,
            lexical_only: lexical_report.as_ref(),
            generation: generation.as_ref(),
        };
        say!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        if lexical_report.is_some() {
            match &encoder {
                Some(name) => say!("== {} ({name})", configuration.label),
                None => say!("== {}", configuration.label),
            }
        }
        print_report(&report)?;
        if let Some(lexical) = &lexical_report {
            say!();
            say!("== {}", LEXICAL_ONLY.label);
            print_report(lexical)?;
        }
        if let Some(generation) = &generation {
            print_generation(generation)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails before the evaluation, not after it, when the chart could not be written: its
/// folder is missing or the path is a folder.
fn check_writable_file(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!("--chart {} is a folder; give a file name", path.display());
    }
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        anyhow::bail!(
            "--chart {}: the folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    Ok(())
}

/// Cases that expect an FAQ the knowledge base lacks can only count as wrong or handed
/// off, which usually means the wrong case file or data dir: say so before the figures.
fn warn_of_unknown_faqs(engine: &Engine, cases: &[EvalCase]) {
    let unknown: BTreeMap<&str, usize> = cases
        .iter()
        .filter_map(|case| case.expected.as_deref())
        .filter(|id| !engine.has_faq(id))
        .fold(BTreeMap::new(), |mut counts, id| {
            *counts.entry(id).or_default() += 1;
            counts
        });
    if unknown.is_empty() {
        return;
    }
    let cases_affected: usize = unknown.values().sum();
    let examples: Vec<&str> = unknown.keys().take(3).copied().collect();
    eprintln!(
        "warning: {cases_affected} cases expect one of {} FAQ ids this knowledge base does not \
         have ({}{}); they can only count as wrong answers or handoffs",
        unknown.len(),
        examples.join(", "),
        if unknown.len() > examples.len() {
            ", …"
        } else {
            ""
        }
    );
}

/// An assistant set up one way, as JSON names it and as the text report prints it.
#[derive(Clone, Copy)]
struct Configuration {
    key: &'static str,
    label: &'static str,
}

const WITH_MODEL: Configuration = Configuration {
    key: "with_model",
    label: "with the sentence model",
};
const LEXICAL_ONLY: Configuration = Configuration {
    key: "lexical_only",
    label: "words alone",
};

fn evaluate_with_progress(
    engine: &Engine,
    cases: &[EvalCase],
    configuration: Configuration,
) -> EvalReport {
    let bar = progress::bar(cases.len() as u64, configuration.label);
    let report = eval::evaluate(engine, cases, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    report
}

/// The JSON report: the extractive evaluation's fields for the configured assistant,
/// `lexical_only` with the same fields when a model was used (the assistant reading words
/// alone, on the same questions), and `generation` when a language model phrased the
/// answers.
#[derive(Serialize)]
struct Output<'a> {
    /// Which assistant the top-level fields describe: `with_model` or `lexical_only`.
    configuration: &'static str,
    /// The sentence encoder's name and precision (`all-MiniLM-L6-v2/int8`); null without.
    encoder: Option<&'a str>,
    #[serde(flatten)]
    report: &'a EvalReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    lexical_only: Option<&'a EvalReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<&'a GenerationComparison>,
}

/// Extractive and generated answers on the same questions.
#[derive(Debug, Default, Serialize)]
struct GenerationComparison {
    model: String,
    /// Answered questions the model was asked to phrase.
    phrased: usize,
    /// Of those: the customer got the model's text, the extractive one, or a person.
    generated: usize,
    fell_back: usize,
    handed_off: usize,
    /// Why the model's text was not used, most frequent first.
    causes: Vec<(String, usize)>,
    /// Phrased questions with a reference answer, which the overlaps are measured on.
    with_reference: usize,
    /// Mean word-overlap F1 with the reference answer: of the FAQ's own text, of what
    /// the customer got with generation on, and of the generated texts alone.
    overlap_extractive: Option<f64>,
    overlap_sent: Option<f64>,
    overlap_generated: Option<f64>,
    latency_median_ms: f64,
    latency_p99_ms: f64,
    first_token_median_ms: Option<f64>,
    prompt_tokens: u64,
    completion_tokens: u64,
}

async fn compare_generated(
    engine: &Engine,
    phraser: &Phraser,
    cases: &[EvalCase],
    limit: usize,
) -> GenerationComparison {
    let answered: Vec<(&EvalCase, Decision)> = cases
        .iter()
        .map(|case| (case, engine.decide(&case.message)))
        .filter(|(_, decision)| decision.kind == DecisionKind::Answer)
        .take(limit)
        .collect();
    let bar = progress::bar(answered.len() as u64, "answers phrased");
    let mut comparison = GenerationComparison::default();
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut first_tokens = Vec::new();
    let (mut extractive, mut sent, mut generated) = (Vec::new(), Vec::new(), Vec::new());

    for (case, decision) in answered {
        let faq_text = decision.text.clone();
        let phrased = phraser.phrase(engine, decision, &case.message).await;
        bar.inc(1);
        let Some(note) = phrased.note else { continue };
        comparison.model = note.model.clone();
        comparison.phrased += 1;
        match note.outcome.as_str() {
            "generated" => comparison.generated += 1,
            "handed_off" => comparison.handed_off += 1,
            _ => comparison.fell_back += 1,
        }
        if let Some(cause) = &note.cause {
            *causes.entry(cause.clone()).or_default() += 1;
        }
        latencies.push(note.elapsed_ms as f64);
        first_tokens.extend(note.first_token_ms.map(|ms| ms as f64));
        comparison.prompt_tokens += u64::from(note.prompt_tokens);
        comparison.completion_tokens += u64::from(note.completion_tokens);
        if let Some(reference) = &case.reference {
            comparison.with_reference += 1;
            extractive.push(overlap(&faq_text, reference));
            sent.push(overlap(&phrased.decision.text, reference));
            if note.outcome == "generated" {
                generated.push(overlap(&phrased.decision.text, reference));
            }
        }
    }
    bar.finish_and_clear();

    let mut causes: Vec<(String, usize)> = causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    comparison.causes = causes;
    comparison.overlap_extractive = mean(&extractive);
    comparison.overlap_sent = mean(&sent);
    comparison.overlap_generated = mean(&generated);
    latencies.sort_by(f64::total_cmp);
    first_tokens.sort_by(f64::total_cmp);
    comparison.latency_median_ms = quantile(&latencies, 0.5).unwrap_or(0.0);
    comparison.latency_p99_ms = quantile(&latencies, 0.99).unwrap_or(0.0);
    comparison.first_token_median_ms = quantile(&first_tokens, 0.5);
    comparison
}

/// Word-overlap F1 between two texts: a plain measure of how much of the reference an
/// answer says, and how much of the answer is in the reference.
fn overlap(answer: &str, reference: &str) -> f64 {
    let words = |text: &str| -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
        {
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
        counts
    };
    let (answer, reference) = (words(answer), words(reference));
    let shared: usize = answer
        .iter()
        .map(|(word, count)| (*count).min(reference.get(word).copied().unwrap_or(0)))
        .sum();
    let (said, expected): (usize, usize) = (answer.values().sum(), reference.values().sum());
    if shared == 0 {
        return 0.0;
    }
    let precision = shared as f64 / said as f64;
    let recall = shared as f64 / expected as f64;
    2.0 * precision * recall / (precision + recall)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The value at quantile `q` of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((last as f64) * q).round() as usize])
}

fn print_generation(generation: &GenerationComparison) -> anyhow::Result<()> {
    let share = |n: usize| pct(n as f64 / generation.phrased.max(1) as f64);
    say!();
    say!(
        "phrased by {}: {} answered questions",
        generation.model,
        generation.phrased
    );
    say!("  generated text sent {:.1} %", share(generation.generated));
    say!("  fell back to FAQ    {:.1} %", share(generation.fell_back));
    say!(
        "  handed off          {:.1} %",
        share(generation.handed_off)
    );
    for (cause, count) in &generation.causes {
        say!("    {count:>4}  {cause}");
    }
    if generation.with_reference > 0 {
        let show = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.3}"));
        say!(
            "  overlap with the {} reference answers (word F1): FAQ text {}, as sent {}, \
             generated alone {}",
            generation.with_reference,
            show(generation.overlap_extractive),
            show(generation.overlap_sent),
            show(generation.overlap_generated)
        );
    }
    say!(
        "  latency per answer: median {:.0} ms, p99 {:.0} ms; first token median {}",
        generation.latency_median_ms,
        generation.latency_p99_ms,
        generation
            .first_token_median_ms
            .map_or("-".to_string(), |ms| format!("{ms:.0} ms"))
    );
    say!(
        "  tokens: {} in, {} out",
        generation.prompt_tokens,
        generation.completion_tokens
    );
    Ok(())
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
    if let Some(embedding) = &report.embedding_latency {
        say!(
            "  of which encoding:  median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            embedding.median_ms,
            embedding.p99_ms,
            embedding.max_ms
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_word_f1() {
        assert_eq!(
            overlap("return it within 30 days", "return it within 30 days"),
            1.0
        );
        assert_eq!(overlap("hello", "goodbye"), 0.0);
        // Two of three words shared each way.
        let score = overlap("Return it today", "return it tomorrow");
        assert!((score - 2.0 / 3.0).abs() < 1e-9, "{score}");
    }

    #[test]
    fn quantiles_of_sorted_values() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&values, 0.5), Some(3.0));
        assert_eq!(quantile(&values, 0.99), Some(5.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
