//! `frontdesk model tune` and `frontdesk model untune`: the sentence model tuned on this
//! knowledge base's labelled tickets, and the way back to the published one.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use frontdesk_embed::{tune, verify_model, TuningOptions, MODEL_NAME};
use frontdesk_knowledge::tuning_set;

use crate::commands::progress;
use crate::workspace::{rebuild_index, Workspace};

/// Below this many labelled tickets there is too little to tune on: the published model
/// with the classifier does as well.
const MIN_TICKETS: usize = 50;

pub async fn run(
    workspace: &Workspace,
    epochs: usize,
    learning_rate: f64,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let base = workspace.published_model_dir();
    let installed = verify_model(&base).with_context(|| {
        format!(
            "the published model in {} is needed to tune from; run `frontdesk model install`",
            base.display()
        )
    })?;
    if installed.tuning.is_some() {
        anyhow::bail!(
            "{} holds a tuned model; tuning starts from the published one",
            base.display()
        );
    }

    let store = workspace.open_store().await?;
    let faqs = store.faqs().await?;
    let tickets = store.tickets().await?;

    let set = tuning_set(&faqs, &tickets);
    let (held_out, learnt_from) = (set.held_out, set.tickets);
    if learnt_from < MIN_TICKETS {
        anyhow::bail!(
            "tuning needs past tickets labelled with FAQ ids, at least {MIN_TICKETS} beyond \
             the third kept for calibration ({learnt_from} now); import some with \
             `frontdesk import tickets FILE`"
        );
    }

    let options = TuningOptions {
        epochs,
        learning_rate,
        ..TuningOptions::default()
    };
    let steps = epochs * set.texts.len().div_ceil(options.batch_size);
    let bar = progress::bar(steps as u64, "tuning");
    let tuned = tune(&base, &set.texts, &set.classes, options, &|step| {
        bar.set_position(step.step as u64);
        bar.set_message(format!("loss {:.3}", step.mean_loss));
    });
    bar.finish_and_clear();
    let tuned =
        tuned.with_context(|| format!("cannot tune {MODEL_NAME} from {}", base.display()))?;

    let dir = workspace.tuned_model_dir();
    let record = tuned
        .save(&base, &dir)
        .with_context(|| format!("cannot save the tuned model in {}", dir.display()))?;
    say!(
        "tuned {MODEL_NAME} on {} FAQ questions and {learnt_from} tickets ({held_out} kept \
         out to calibrate confidence) in {:.1} min; training loss {:.3} → {:.3}",
        faqs.len(),
        started.elapsed().as_secs_f64() / 60.0,
        record.first_epoch_loss,
        record.last_epoch_loss
    );
    say!("saved in {}", dir.display());
    // Vectors of an earlier tuning are never read again.
    let current = record.model_name();
    store
        .forget_sentence_vectors(|model| is_tuned(model) && model_of(model) != current)
        .await?;

    if workspace.embedding_model_dir() != dir {
        say!(
            "note: the assistant reads with {} (named by a setting) until that setting is \
             removed or points here",
            workspace.embedding_model_dir().display()
        );
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    // The index holds vectors of the previous model; rebuilding now spares the next
    // question the wait.
    let revision = store.knowledge_revision().await?;
    let settings = workspace.engine_settings(None)?;
    rebuild_index(&store, &workspace.index_dir(), &revision, settings).await?;
    store.close().await;
    say!("the assistant now reads with the tuned model (`frontdesk model untune` goes back)");
    Ok(ExitCode::SUCCESS)
}

/// Whether vectors stored under `name` came from a tuned model.
fn is_tuned(name: &str) -> bool {
    name.contains("+tuned-")
}

/// The model part of a vector store name, without its precision (`…/int8`).
fn model_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

pub async fn remove(workspace: &Workspace) -> anyhow::Result<ExitCode> {
    let dir = workspace.tuned_model_dir();
    let store = workspace.open_store().await?;
    store.forget_sentence_vectors(is_tuned).await?;
    store.close().await;
    if !dir.exists() {
        say!(
            "no tuned model in {}; the assistant reads with the published one",
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    say!(
        "removed the tuned model from {}; the index is rebuilt with the published model \
         on the next command",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
