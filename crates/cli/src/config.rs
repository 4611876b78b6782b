//! The settings file. Only what the answer engine needs lives here for now;
//! every setting has a default so an absent file is a valid configuration.

use std::path::{Path, PathBuf};

use anyhow::Context;
use frontdesk_knowledge::rules::{default_sensitive_topics, SensitiveTopic};
use frontdesk_knowledge::DEFAULT_ANSWER_THRESHOLD;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub assistant: AssistantConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistantConfig {
    /// Minimum calibrated confidence to answer; below it the assistant hands off.
    #[serde(default = "default_threshold")]
    pub answer_threshold: f64,
    /// Topics a person always handles, in addition to the built-in ones.
    #[serde(default)]
    pub sensitive_topics: Vec<SensitiveTopic>,
    /// Whether the built-in sensitive topics (legal threats, chargebacks) apply.
    /// An owner who lists their own topics keeps these unless they say otherwise.
    #[serde(default = "yes")]
    pub default_sensitive_topics: bool,
    /// Folder holding the sentence-embedding model, instead of `models/all-MiniLM-L6-v2`
    /// in the data dir. A relative path is taken from the settings file's folder.
    #[serde(default)]
    pub embedding_model: Option<PathBuf>,
    /// Written before the catalog's prices when the assistant quotes them, such as `£`
    /// or `EUR `. Unset, prices are quoted as the catalog writes them.
    #[serde(default)]
    pub currency: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_threshold() -> f64 {
    DEFAULT_ANSWER_THRESHOLD
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            answer_threshold: default_threshold(),
            sensitive_topics: Vec::new(),
            default_sensitive_topics: true,
            embedding_model: None,
            currency: None,
        }
    }
}

impl AssistantConfig {
    /// The owner's topics plus, unless switched off, the built-in ones.
    pub fn all_sensitive_topics(&self) -> Vec<SensitiveTopic> {
        let mut topics = if self.default_sensitive_topics {
            default_sensitive_topics()
        } else {
            Vec::new()
        };
        topics.extend(self.sensitive_topics.iter().cloned());
        topics
    }
}

impl Config {
    /// Reads the file when there is one; `required` says whether its absence is an error
    /// (a file named on the command line must exist, the data dir's default need not).
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Config> {
        if !required && !path.exists() {
            return Ok(Config {
                assistant: AssistantConfig::default(),
            });
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the settings file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid settings file", path.display()))?;
        config.validate(path)?;
        // The file names paths as seen from where it lives, so that it means the same
        // whichever folder frontdesk is started from.
        if let (Some(model), Some(folder)) = (&config.assistant.embedding_model, path.parent()) {
            config.assistant.embedding_model = Some(folder.join(model));
        }
        Ok(config)
    }

    fn validate(&self, path: &Path) -> anyhow::Result<()> {
        let threshold = self.assistant.answer_threshold;
        if !(0.0..=1.0).contains(&threshold) {
            anyhow::bail!(
                "{}: assistant.answer_threshold must be between 0 and 1, not {threshold}",
                path.display()
            );
        }
        Ok(())
    }
}
