//! `frontdesk answer --batch FILE`: one JSON decision per input line, in order.
//!
//! Output contract (public; keep it stable): each line is either
//! `{"decision","faq_id","confidence","text","reason","sources"}` (plus `"generation"`
//! when a language model phrased it) or, for an input line that could not be read,
//! `{"error": "line N: …"}`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use frontdesk_knowledge::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::commands::phrase::Phraser;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// JSONL file with a "message" field on every line (`-` reads standard input).
    #[arg(long)]
    batch: PathBuf,
    /// Answer threshold for this run, overriding the settings file.
    #[arg(long)]
    threshold: Option<f64>,
    /// Answer with the FAQ's own text even when a language model is set.
    #[arg(long)]
    no_generate: bool,
}

#[derive(Deserialize)]
struct BatchLine {
    message: String,
}

pub async fn run(workspace: &Workspace, args: AnswerArgs) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead> = if args.batch.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        let file = File::open(&args.batch)
            .with_context(|| format!("cannot open {}", args.batch.display()))?;
        Box::new(BufReader::new(file))
    };

    let store = workspace.open_store().await?;
    let settings = workspace.engine_settings(args.threshold)?;
    let engine = workspace.engine(&store, settings).await?;
    store.close().await;

    let phraser = Phraser::new(workspace.generation_settings(args.no_generate)?)?;

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    answer_lines(&engine, &phraser, input, &mut out)
        .await
        .with_context(|| format!("while answering {}", args.batch.display()))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

async fn answer_lines(
    engine: &Engine,
    phraser: &Phraser,
    input: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for (index, line) in input.split(b'\n').enumerate() {
        let number = index + 1;
        let mut line = line?;
        // Editors on Windows start UTF-8 files with a byte-order mark; it is not part
        // of the first line's JSON.
        if number == 1 && line.starts_with(UTF8_BOM) {
            line.drain(..UTF8_BOM.len());
        }
        // The decision is written as its own type so the fields keep the
        // documented order.
        match parse_line(&line) {
            Ok(message) => {
                let decision = engine.decide(&message);
                let phrased = phraser.phrase(engine, decision, &message).await;
                serde_json::to_writer(&mut *out, &phrased.decision)?
            }
            Err(problem) => {
                let error = json!({ "error": format!("line {number}: {problem}") });
                serde_json::to_writer(&mut *out, &error)?
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

fn parse_line(raw: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_string())?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return Err("empty line; expected a JSON object with a \"message\" field".to_string());
    }
    let line: BatchLine = serde_json::from_str(text).map_err(|err| describe(&err))?;
    Ok(line.message)
}

/// serde_json counts lines inside the text it was given, which here is always
/// one line; its column is kept, its "line 1" dropped.
fn describe(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &message[..at], err.column()),
        None => message,
    }
}
