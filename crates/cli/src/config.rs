//! The settings file. Only what the answer engine needs lives here for now;
//! every setting has a default so an absent file is a valid configuration.

use std::path::Path;

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
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid settings file", path.display()))?;
        config.validate(path)?;
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
