//! The assistant learns from the team: an answer marked wrong with the right FAQ (or a
//! new one), an answer confirmed right, or a handed-off conversation resolved with an
//! FAQ becomes a labelled example, and the assistant is retrained on it in the
//! background and swapped in whole, without a restart.
//!
//! Retraining is a full rebuild from the store (a few seconds for thousands of tickets,
//! longer with the sentence encoder), run on a blocking thread. Requests that arrive
//! while one runs are folded into a single rebuild after it, so a burst of corrections
//! costs two rebuilds, not one each. An incremental update (adding the example to the
//! classifier and the index without refitting the rest) would make each correction
//! count within milliseconds; the rebuild is the simpler honest step until that lands.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use frontdesk_core::Ticket;
use frontdesk_knowledge::{Catalog, Engine, EngineSettings};
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::AppState;

/// What the server needs to rebuild the assistant: where its index lives (none: kept in
/// memory only) and the settings it was built with.
#[derive(Debug, Clone)]
pub struct Trainer {
    index_dir: Option<PathBuf>,
    settings: EngineSettings,
}

impl Trainer {
    pub fn new(index_dir: Option<PathBuf>, settings: EngineSettings) -> Self {
        Self {
            index_dir,
            settings,
        }
    }
}

/// The background retraining's state, shared by the handlers that ask for it.
#[derive(Default)]
pub(crate) struct Learning {
    trainer: RwLock<Option<Arc<Trainer>>>,
    /// Woken by this instance's handlers and by other instances' notices.
    wanted: Arc<Notify>,
}

impl Learning {
    /// What other instances' "knowledge changed" notices wake.
    pub(crate) fn wanted(&self) -> Arc<Notify> {
        self.wanted.clone()
    }

    pub(crate) fn set_trainer(&self, trainer: Trainer) {
        *self.trainer.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(trainer));
    }

    /// Whether examples stored now will be learned without a restart.
    pub(crate) fn retrains(&self) -> bool {
        self.trainer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn trainer(&self) -> Option<Arc<Trainer>> {
        self.trainer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Stores `example` as a labelled past ticket (replacing one of the same id) and asks
/// for a retrain. Returns whether the example will be learned without a restart.
pub(crate) async fn learn(state: &AppState, example: Ticket) -> Result<bool, ApiError> {
    state.store.import_tickets(&[example], &|_| {}).await?;
    Ok(knowledge_changed(state).await)
}

/// Asks for a retrain after the stored knowledge changed (an example learned, a file
/// uploaded, an entry edited or deleted). Returns whether the change will be learned
/// without a restart.
pub(crate) async fn knowledge_changed(state: &AppState) -> bool {
    state.learning.wanted.notify_one();
    // Several instances on one database all answer customers: all of them learn it.
    state.events.knowledge_changed().await;
    state.learning.retrains()
}

/// Runs for the life of the server: rebuilds the assistant each time it is asked to.
pub(crate) async fn retrain_when_asked(state: AppState) {
    loop {
        state.learning.wanted.notified().await;
        let Some(trainer) = state.learning.trainer() else {
            continue;
        };
        let started = Instant::now();
        match retrain(&state, &trainer).await {
            Ok(engine) => {
                state.set_engine(Arc::new(engine));
                state.metrics.count_retrain(true);
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "assistant retrained on the team's feedback"
                );
            }
            Err(err) => {
                state.metrics.count_retrain(false);
                tracing::error!(%err, "retraining failed; the assistant keeps its knowledge");
            }
        }
    }
}

async fn retrain(state: &AppState, trainer: &Trainer) -> Result<Engine, String> {
    let store = &state.store;
    let revision = store
        .knowledge_revision()
        .await
        .map_err(|e| e.to_string())?;
    let encoder_model = trainer.settings.encoder().map(|e| e.model_name());
    let snapshot = store
        .knowledge_snapshot(encoder_model)
        .await
        .map_err(|e| e.to_string())?;
    let products = store.products().await.map_err(|e| e.to_string())?;
    let catalog = Catalog::new(products).with_currency(&trainer.settings.currency);
    let (dir, settings) = (trainer.index_dir.clone(), trainer.settings.clone());
    let mut built = tokio::task::spawn_blocking(move || {
        Engine::build(dir.as_deref(), snapshot, &revision, settings, &|_| {})
    })
    .await
    .map_err(|e| format!("the training task failed: {e}"))?
    .map_err(|e| e.to_string())?;

    // Only the corrected messages are new; keeping their vectors spares the next
    // rebuild, here or on another server, from encoding them again.
    let changes = built.take_vector_changes();
    if !changes.is_empty() {
        if let Err(err) = store.update_sentence_vectors(&changes).await {
            tracing::warn!(%err, "cannot keep the sentence vectors; they will be encoded again");
        }
    }
    Ok(built.with_catalog(catalog))
}
