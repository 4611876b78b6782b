//! Evaluation on labelled questions: how often the assistant resolves a
//! question with the right FAQ, how often it answers wrongly, and how fast.
//!
//! Definitions (all rates are over every question):
//! - resolved: answered with the expected FAQ;
//! - wrong: answered with another FAQ, or answered when the expected FAQ is
//!   null (the question should have gone to a person);
//! - escalated / clarify: the share handed off / asked back;
//! - top-candidate accuracy: the best candidate is the expected FAQ, whatever
//!   the threshold, over questions that expect one.

use std::fs;
use std::path::Path;
use std::time::Instant;

use frontdesk_core::DecisionKind;
use serde::{Deserialize, Serialize};

use crate::engine::{Assessment, Engine, Target};
use crate::import::ImportError;

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EvalCase {
    pub message: String,
    /// Read from `faq_id` too, so that a file of past tickets can serve as cases.
    #[serde(alias = "faq_id")]
    pub expected: Option<String>,
    /// What a person answered, to score answer texts against (`answer` in ticket files).
    #[serde(default, alias = "answer")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    pub threshold: f64,
    pub resolution_rate: f64,
    pub wrong_answer_rate: f64,
    pub escalation_rate: f64,
    pub clarify_rate: f64,
    /// Share of out-of-scope questions (expected null) that were not answered.
    pub out_of_scope_escalation_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub questions: usize,
    pub out_of_scope_questions: usize,
    pub top_candidate_accuracy: f64,
    pub at_threshold: Rates,
    pub sweep: Vec<Rates>,
    /// The wrong answers at the threshold, grouped by what was expected and what was
    /// answered, most frequent first: where more tickets or a clearer FAQ would help.
    pub confusions: Vec<Confusion>,
    /// Per decision, everything included.
    pub latency: Latency,
    /// Per encoded question, the sentence encoder alone; `None` without a model. It is
    /// part of `latency`, reported apart because it is most of a decision's cost.
    pub embedding_latency: Option<Latency>,
}

/// One kind of wrong answer and how often it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// The FAQ that answers the question; `None`: it should have been handed off.
    pub expected: Option<String>,
    /// What was answered: an FAQ id, or the source of an answer that is not an FAQ.
    pub answered: String,
    pub count: usize,
}

/// How many confusion pairs a report lists.
const CONFUSIONS_LISTED: usize = 10;

/// Reads `{"message", "expected"}` lines; a bad line fails the whole file with
/// its line number, since a report over part of the cases would mislead.
pub fn read_cases(path: &Path) -> Result<Vec<EvalCase>, ImportError> {
    let bytes = fs::read(path).map_err(|err| ImportError {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot read: {err}"),
    })?;
    let text = crate::import::decode_text(path, &bytes)?;
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: EvalCase = serde_json::from_str(line).map_err(|err| ImportError {
            file: path.to_path_buf(),
            line: Some(i as u64 + 1),
            message: format!("not a case: {err}"),
        })?;
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(ImportError {
            file: path.to_path_buf(),
            line: None,
            message: "no cases found".into(),
        });
    }
    Ok(cases)
}

/// What the engine made of one case, kept so that every threshold of the
/// sweep is scored from the same assessments.
struct Scored<'a> {
    case: &'a EvalCase,
    assessment: Assessment,
}

pub fn evaluate(engine: &Engine, cases: &[EvalCase], progress: &dyn Fn(usize)) -> EvalReport {
    let mut scored = Vec::with_capacity(cases.len());
    let mut latencies_ms = Vec::with_capacity(cases.len());
    let reads_by_meaning = engine.settings().encoder().is_some();
    let mut embedding_ms = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let encoding_before = engine.time_spent_encoding();
        let started = Instant::now();
        let assessment = engine.assess(&case.message);
        // The decision is part of what a caller waits for, so it is timed too.
        let _ = engine.decision(&assessment, engine.settings().answer_threshold);
        latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        // Messages settled by a rule or asked back are never encoded, and are left out
        // of the encoder's figures rather than counted as free.
        let encoding = engine.time_spent_encoding() - encoding_before;
        if !encoding.is_zero() {
            embedding_ms.push(encoding.as_secs_f64() * 1000.0);
        }
        scored.push(Scored { case, assessment });
        if i % 64 == 0 {
            progress(i);
        }
    }
    progress(cases.len());

    let threshold = engine.settings().answer_threshold;
    let sweep = (0..=19)
        .map(|step| step as f64 * 0.05)
        .map(|t| rates(engine, &scored, t))
        .collect();
    EvalReport {
        questions: cases.len(),
        out_of_scope_questions: cases.iter().filter(|c| c.expected.is_none()).count(),
        top_candidate_accuracy: top_candidate_accuracy(engine, &scored),
        at_threshold: rates(engine, &scored, threshold),
        sweep,
        confusions: confusions(engine, &scored, threshold),
        latency: latency(latencies_ms),
        embedding_latency: reads_by_meaning.then(|| latency(embedding_ms)),
    }
}

fn rates(engine: &Engine, scored: &[Scored], threshold: f64) -> Rates {
    let (mut resolved, mut wrong, mut escalated, mut clarified) = (0, 0, 0, 0);
    let (mut oos, mut oos_escalated) = (0, 0);
    for item in scored {
        let decision = engine.decision(&item.assessment, threshold);
        let expected = item.case.expected.as_deref();
        match decision.kind {
            DecisionKind::Answer
                if decision.faq_id.as_deref() == expected && expected.is_some() =>
            {
                resolved += 1
            }
            DecisionKind::Answer => wrong += 1,
            DecisionKind::Escalate => escalated += 1,
            DecisionKind::Clarify => clarified += 1,
        }
        if expected.is_none() {
            oos += 1;
            if decision.kind != DecisionKind::Answer {
                oos_escalated += 1;
            }
        }
    }
    let n = scored.len().max(1) as f64;
    Rates {
        threshold,
        resolution_rate: resolved as f64 / n,
        wrong_answer_rate: wrong as f64 / n,
        escalation_rate: escalated as f64 / n,
        clarify_rate: clarified as f64 / n,
        out_of_scope_escalation_rate: (oos > 0).then(|| oos_escalated as f64 / oos as f64),
    }
}

fn confusions(engine: &Engine, scored: &[Scored], threshold: f64) -> Vec<Confusion> {
    let mut counts: std::collections::BTreeMap<(Option<String>, String), usize> =
        std::collections::BTreeMap::new();
    for item in scored {
        let decision = engine.decision(&item.assessment, threshold);
        let expected = item.case.expected.clone();
        if decision.kind != DecisionKind::Answer || decision.faq_id == expected {
            continue;
        }
        let answered = match (&decision.faq_id, decision.sources.first()) {
            (Some(faq), _) => faq.clone(),
            (None, Some(source)) => format!("{}:{}", source.kind.as_str(), source.id),
            (None, None) => "an answer without a source".to_string(),
        };
        *counts.entry((expected, answered)).or_default() += 1;
    }
    let mut confusions: Vec<Confusion> = counts
        .into_iter()
        .map(|((expected, answered), count)| Confusion {
            expected,
            answered,
            count,
        })
        .collect();
    // Stable: equal counts keep the map's alphabetical order.
    confusions.sort_by_key(|confusion| std::cmp::Reverse(confusion.count));
    confusions.truncate(CONFUSIONS_LISTED);
    confusions
}

fn top_candidate_accuracy(engine: &Engine, scored: &[Scored]) -> f64 {
    let in_scope: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.case.expected.is_some())
        .collect();
    let right = in_scope
        .iter()
        .filter(|s| match &s.assessment {
            Assessment::Candidate(c)
            | Assessment::Catalog {
                candidate: Some(c), ..
            } => {
                engine.faq_id(c.target) == s.case.expected.as_deref()
                    && matches!(c.target, Target::Faq(_))
            }
            Assessment::Settled { .. }
            | Assessment::Catalog {
                candidate: None, ..
            } => false,
        })
        .count();
    right as f64 / in_scope.len().max(1) as f64
}

fn latency(mut ms: Vec<f64>) -> Latency {
    if ms.is_empty() {
        return Latency {
            median_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
        };
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Latency {
        median_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}
