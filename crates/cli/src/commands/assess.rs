//! `frontdesk assess`: where the business stands on the customer service maturity model,
//! from its live figures and the owner's answers, or from the five questions alone
//! (`--questionnaire`) for a business with no data yet.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use frontdesk_server::maturity::{self, assess_answers, level_name, Assessment, Basis, Question};

use crate::commands::terminal::printable;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Ask the five questions and place the answers, without reading or writing the
    /// store. On a terminal each question lists its five answers; otherwise one level
    /// number (1-5) per line is read from standard input, in order: channels,
    /// resolution, response time, maintenance, cost.
    #[arg(long, conflicts_with = "answer")]
    questionnaire: bool,
    /// Store the owner's answer to one question before assessing, as QUESTION=LEVEL
    /// (maintenance=4, cost=3; also channels, resolution, response_time). Repeatable.
    #[arg(long, value_name = "QUESTION=LEVEL")]
    answer: Vec<String>,
}

pub async fn run(workspace: &Workspace, args: AssessArgs) -> anyhow::Result<ExitCode> {
    if args.questionnaire {
        let levels = ask_questions()?;
        let assessment = assess_answers(&levels);
        print(&assessment, None, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }

    // Every answer is read before any is stored, so a bad one stores none.
    let answers = args
        .answer
        .iter()
        .map(|text| parse_answer(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = workspace.config().handoff.settings()?;
    // Reading figures from a store made on the spot would only report an empty business:
    // a mistyped --data-dir is far likelier.
    if !workspace.store_exists() {
        bail!(
            "there is no Frontdesk database in {} to assess; check --data-dir, or answer the \
             five questions with `frontdesk assess --questionnaire`",
            workspace.data_dir().display()
        );
    }
    let store = workspace.open_store().await?;
    for (question, level) in &answers {
        store
            .set_maturity_answer(question.key(), *level, None)
            .await
            .with_context(|| format!("cannot store the answer to {question}"))?;
    }
    let report = maturity::report(&store, &settings, jiff::Timestamp::now()).await;
    store.close().await;
    let report = report.context("cannot read the figures the report needs")?;

    let period = format!(
        "{} to {} ({})",
        report.analytics.from, report.analytics.to, report.analytics.time_zone
    );
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report.assessment, Some(&period), false)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_answer(text: &str) -> anyhow::Result<(Question, u8)> {
    let quoted = shown(text);
    let Some((question, level)) = text.split_once('=') else {
        bail!("--answer `{quoted}`: write it as QUESTION=LEVEL, such as cost=3");
    };
    let question: Question = question
        .parse()
        .map_err(|_| {
            anyhow::anyhow!(
                "`{}` is not a maturity question: use channels, resolution, response_time, \
                 maintenance or cost",
                shown(question)
            )
        })
        .with_context(|| format!("--answer `{quoted}`"))?;
    let level = parse_level(level).with_context(|| format!("--answer `{quoted}`"))?;
    Ok((question, level))
}

fn parse_level(text: &str) -> anyhow::Result<u8> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|level| (1..=5).contains(level))
        .with_context(|| format!("`{}` is not a level from 1 to 5", shown(text.trim())))
}

/// The five answers, from a person at a terminal or one per line from a pipe.
fn ask_questions() -> anyhow::Result<Vec<(Question, u8)>> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut lines = stdin.lock().lines();
    let mut levels = Vec::new();
    for (number, question) in Question::ALL.into_iter().enumerate() {
        if interactive {
            let mut err = std::io::stderr().lock();
            writeln!(err, "\n{}. {}", number + 1, question.text())?;
            for (index, option) in question.options().iter().enumerate() {
                writeln!(err, "   {}  {option}", index + 1)?;
            }
        }
        loop {
            if interactive {
                eprint!("Level (1-5): ");
                std::io::stderr().flush()?;
            }
            let Some(line) = lines.next() else {
                bail!(
                    "standard input ended before question {} ({question}); give one level \
                     (1-5) per line for the five questions",
                    number + 1
                );
            };
            let line = line.context("cannot read standard input")?;
            // A file saved by a spreadsheet or Notepad may start with a byte-order mark.
            let line = if number == 0 {
                line.trim_start_matches('\u{feff}').to_string()
            } else {
                line
            };
            match parse_level(&line) {
                Ok(level) => {
                    levels.push((question, level));
                    break;
                }
                Err(err) if interactive => eprintln!("{err}"),
                Err(err) => {
                    return Err(err.context(format!("line {} ({question})", number + 1)));
                }
            }
        }
    }
    if !interactive {
        let extra = lines
            .map_while(Result::ok)
            .find(|line| !line.trim().is_empty());
        if let Some(extra) = extra {
            bail!(
                "standard input holds more than the five answers (next: `{}`); give one \
                 level per line for the five questions and nothing else",
                shown(&extra)
            );
        }
    }
    Ok(levels)
}

/// Text from the input as an error message may quote it: control characters made
/// visible, and at most 40 characters.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(40).collect();
    let more = if text.chars().count() > 40 { "…" } else { "" };
    format!("{}{more}", printable(&cut))
}

fn print(assessment: &Assessment, period: Option<&str>, json: bool) -> anyhow::Result<()> {
    if json {
        say!("{}", serde_json::to_string_pretty(assessment)?);
        return Ok(());
    }
    match assessment.level {
        Some(level) => say!("Level {level}: {}", level_name(level)),
        None => say!("No level yet: no question is answered."),
    }
    if let Some((from, to)) = assessment.in_transition {
        say!("In transition from level {from} to level {to}.");
    }
    if !assessment.unanswered.is_empty() {
        let names: Vec<&str> = assessment.unanswered.iter().map(|q| q.key()).collect();
        say!(
            "Not answered: {} (frontdesk assess --answer QUESTION=LEVEL). The level may be \
             lower once they are.",
            names.join(", ")
        );
    }
    say!();
    for answer in &assessment.answers {
        let level = answer.level.map_or("-".to_string(), |l| l.to_string());
        say!("[{level}] {}", answer.text);
        if let Some(chosen) = answer.answer {
            say!("    {chosen}");
        }
        match &answer.basis {
            Basis::Measured { detail } => say!("    measured: {}", printable(detail)),
            Basis::Owner => say!("    your answer"),
            Basis::Unanswered => say!("    not enough data yet, and no answer given"),
        }
    }
    if !assessment.failure_modes.is_empty() {
        say!();
        say!("What the data shows:");
        for failure in &assessment.failure_modes {
            let mark = if failure.detected {
                "detected"
            } else {
                "not seen"
            };
            say!("  {:<32} {mark:<9} {}", failure.name, failure.detail);
        }
        say!();
        say!("Signals of a real Level 4:");
        for signal in &assessment.signals {
            let mark = if signal.met { "met" } else { "not yet" };
            say!("  {:<32} {mark:<9} {}", signal.name, signal.detail);
        }
    }
    say!();
    say!("Next move: {}", assessment.next_move);
    if let Some(period) = period {
        say!("(live figures from {period})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_question_and_level() {
        assert_eq!(parse_answer("cost=3").unwrap(), (Question::Cost, 3));
        assert_eq!(
            parse_answer("response_time= 5").unwrap(),
            (Question::ResponseTime, 5)
        );
        let err = format!("{:#}", parse_answer("cost=9").unwrap_err());
        assert!(err.contains("`9` is not a level from 1 to 5"), "{err}");
        let err = format!("{:#}", parse_answer("price=2").unwrap_err());
        assert!(err.contains("`price` is not a maturity question"), "{err}");
        assert!(parse_answer("cost").is_err());
    }
}
