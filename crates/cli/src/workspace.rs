//! Where a command finds its store, its settings and the derived search index.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use frontdesk_generate::GenerationSettings;
use frontdesk_knowledge::{Catalog, Engine, EngineSettings, KnowledgeSnapshot};
use frontdesk_store::Store;

use crate::config::{Config, GenerationEnv};

pub struct Workspace {
    data_dir: PathBuf,
    database_url: String,
    config: Config,
    /// The embedding model folder named by `--embedding-model` or its environment variable;
    /// it wins over the settings file.
    embedding_model_override: Option<PathBuf>,
    /// Set by `--lexical-only`: no sentence encoder even when one is installed.
    lexical_only: bool,
    /// Set by `--embed-precision`; `None` picks the fastest this CPU offers.
    embed_precision: Option<crate::encoder::EmbedPrecision>,
}

impl Workspace {
    pub fn new(
        data_dir: PathBuf,
        database_url: Option<String>,
        config_path: Option<PathBuf>,
        embedding_model_override: Option<PathBuf>,
        lexical_only: bool,
        embed_precision: Option<crate::encoder::EmbedPrecision>,
    ) -> anyhow::Result<Self> {
        let config = match config_path {
            Some(path) => Config::load(&path, true)?,
            None => Config::load(&data_dir.join("frontdesk.toml"), false)?,
        };
        let database_url = database_url
            .or_else(|| config.store.database_url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("frontdesk.db").display()));
        Ok(Self {
            data_dir,
            database_url,
            config,
            embedding_model_override,
            lexical_only,
            embed_precision,
        })
    }

    /// The precision `--embed-precision` asked for, if any.
    pub fn embed_precision(&self) -> Option<crate::encoder::EmbedPrecision> {
        self.embed_precision
    }

    /// Whether the database is there already: always for a server (PostgreSQL), for an
    /// SQLite file when the file exists.
    pub fn store_exists(&self) -> bool {
        match self.database_url.strip_prefix("sqlite://") {
            Some(rest) => {
                let path = rest.split('?').next().unwrap_or(rest);
                path == ":memory:" || Path::new(path).exists()
            }
            None => !self.database_url.starts_with("sqlite:"),
        }
    }

    pub async fn open_store(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                self.data_dir.display()
            )
        })?;
        Store::connect(&self.database_url)
            .await
            .with_context(|| format!("cannot open the database for {}", self.data_dir.display()))
    }

    /// The model that phrases answers, from the settings file and the environment;
    /// `None` when none is set or `no_generate` says not to.
    pub fn generation_settings(
        &self,
        no_generate: bool,
    ) -> anyhow::Result<Option<GenerationSettings>> {
        if no_generate {
            return Ok(None);
        }
        self.config
            .generation
            .settings(GenerationEnv::from_process())
    }

    /// The settings file's contents, defaults filled in.
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The search index and trained model live here; they are derived from the
    /// store and can be deleted at any time.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// The sentence-embedding model the assistant reads with: the folder the owner
    /// named; else the model tuned on this data dir's tickets, once `frontdesk model tune`
    /// has made one; else the published model in the data dir.
    pub fn embedding_model_dir(&self) -> PathBuf {
        if self.reads_with_tuned_model() {
            return self.tuned_model_dir();
        }
        self.published_model_dir()
    }

    /// Where the published model is installed (and tuning starts from): the folder the
    /// owner named, or `models/all-MiniLM-L6-v2` in the data dir.
    pub fn published_model_dir(&self) -> PathBuf {
        self.embedding_model_override
            .clone()
            .or_else(|| self.config.assistant.embedding_model.clone())
            .unwrap_or_else(|| {
                self.data_dir
                    .join("models")
                    .join(frontdesk_embed::MODEL_NAME)
            })
    }

    /// Where `frontdesk model tune` writes the model tuned on this data dir's tickets.
    pub fn tuned_model_dir(&self) -> PathBuf {
        self.data_dir
            .join("models")
            .join(format!("{}-tuned", frontdesk_embed::MODEL_NAME))
    }

    /// A folder named by the owner wins over the tuned model, which wins over the
    /// published one.
    fn reads_with_tuned_model(&self) -> bool {
        self.embedding_model_override.is_none()
            && self.config.assistant.embedding_model.is_none()
            && self
                .tuned_model_dir()
                .join(frontdesk_embed::TUNING_RECORD)
                .exists()
    }

    /// Which setting chose [`Workspace::embedding_model_dir`], for messages about it.
    pub fn embedding_model_origin(&self) -> &'static str {
        if self.reads_with_tuned_model() {
            "tuned on this data dir's tickets by `frontdesk model tune`"
        } else if self.embedding_model_override.is_some() {
            "set by --embedding-model or FRONTDESK_EMBEDDING_MODEL"
        } else if self.config.assistant.embedding_model.is_some() {
            "set by assistant.embedding_model in the settings file"
        } else {
            "the default, in the data dir"
        }
    }

    pub fn engine_settings(
        &self,
        threshold_override: Option<f64>,
    ) -> anyhow::Result<EngineSettings> {
        let assistant = &self.config.assistant;
        let threshold = threshold_override.unwrap_or(assistant.answer_threshold);
        if !(0.0..=1.0).contains(&threshold) {
            anyhow::bail!("--threshold must be between 0 and 1, not {threshold}");
        }
        let mut settings = EngineSettings::new(threshold, assistant.all_sensitive_topics())?;
        settings.currency = assistant.currency.clone().unwrap_or_default();
        if self.lexical_only {
            return Ok(settings);
        }
        let precision = crate::encoder::precision(self.embed_precision);
        Ok(
            match crate::encoder::load(&self.embedding_model_dir(), precision) {
                Some(encoder) => settings.with_encoder(encoder),
                None => settings,
            },
        )
    }

    /// Loads the index built from the store's current knowledge, rebuilding it
    /// first when it is missing or older than the knowledge, with the product catalog.
    pub async fn engine(&self, store: &Store, settings: EngineSettings) -> anyhow::Result<Engine> {
        let catalog = catalog(store, &settings).await?;
        let engine = self
            .load_or_rebuild(store, settings)
            .await?
            .with_catalog(catalog);
        // A mistyped --data-dir opens a fresh, empty store; say so rather than
        // let every answer quietly become a handoff.
        if engine.knows_nothing() {
            eprintln!(
                "warning: the knowledge base at {} is empty, so every question is handed \
                 to a person; import FAQ entries, documents or products first",
                self.data_dir.display()
            );
        }
        Ok(engine)
    }

    async fn load_or_rebuild(
        &self,
        store: &Store,
        settings: EngineSettings,
    ) -> anyhow::Result<Engine> {
        let revision = store.knowledge_revision().await?;
        let index_dir = self.index_dir();
        if let Some(engine) = Engine::load(&index_dir, &revision, settings.clone())
            .with_context(|| format!("cannot read the index in {}", index_dir.display()))?
        {
            return Ok(engine);
        }
        tracing::info!(index = %index_dir.display(), "index missing or stale; rebuilding");
        rebuild_index(store, &index_dir, &revision, settings).await
    }
}

/// Builds the index and model from everything in the store and saves them.
pub async fn rebuild_index(
    store: &Store,
    index_dir: &Path,
    revision: &str,
    settings: EngineSettings,
) -> anyhow::Result<Engine> {
    let started = Instant::now();
    let snapshot = knowledge_snapshot(store, &settings).await?;
    let display = crate::commands::progress::BuildDisplay::new("training the assistant");
    let mut engine = Engine::build(Some(index_dir), snapshot, revision, settings, &|progress| {
        display.show(progress)
    })
    .with_context(|| format!("cannot build the search index in {}", index_dir.display()))?;
    display.finish();
    keep_new_vectors(store, &mut engine).await;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "index rebuilt"
    );
    Ok(engine)
}

/// Trains an assistant on the store's knowledge in memory, leaving the saved index as it
/// is: for comparing settings (such as words alone against the model) without a rebuild.
pub async fn engine_in_memory(store: &Store, settings: EngineSettings) -> anyhow::Result<Engine> {
    let snapshot = knowledge_snapshot(store, &settings).await?;
    let catalog = catalog(store, &settings).await?;
    let revision = store.knowledge_revision().await?;
    let display = crate::commands::progress::BuildDisplay::new("training for comparison");
    let mut engine = Engine::build(None, snapshot, &revision, settings, &|progress| {
        display.show(progress)
    })
    .context("cannot train the assistant in memory")?;
    display.finish();
    keep_new_vectors(store, &mut engine).await;
    Ok(engine.with_catalog(catalog))
}

/// The store's products, priced in the settings' currency.
async fn catalog(store: &Store, settings: &EngineSettings) -> anyhow::Result<Catalog> {
    let products = store.products().await?;
    Ok(Catalog::new(products).with_currency(&settings.currency))
}

/// Everything the assistant learns from, with the vectors stored for the settings' encoder.
async fn knowledge_snapshot(
    store: &Store,
    settings: &EngineSettings,
) -> anyhow::Result<KnowledgeSnapshot> {
    let encoder_model = settings.encoder().map(|encoder| encoder.model_name());
    Ok(store.knowledge_snapshot(encoder_model).await?)
}

/// Stores the vectors a build encoded and forgets those it no longer used. Failing to is
/// only a warning: it costs encoding time on the next build, not a right answer.
async fn keep_new_vectors(store: &Store, engine: &mut Engine) {
    let changes = engine.take_vector_changes();
    if changes.is_empty() {
        return;
    }
    if let Err(err) = store.update_sentence_vectors(&changes).await {
        tracing::warn!(%err, "cannot keep the sentence vectors; the next build encodes them again");
    }
}
