//! The settings file. Every setting has a default, so an absent file is a valid
//! configuration; a setting is taken from, later ones winning: its default, this file,
//! its `FRONTDESK_*` environment variable, its command-line flag. `frontdesk config
//! default` prints the file with every setting at its default (see [`default_file`]).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::Context;
use frontdesk_core::Channel;
use frontdesk_generate::{
    GenerationSettings, TokenPrice, DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE, DEFAULT_TIME_BUDGET,
};
use frontdesk_knowledge::rules::{default_sensitive_topics, SensitiveTopic};
use frontdesk_knowledge::DEFAULT_ANSWER_THRESHOLD;
use frontdesk_server::hours::HoursError;
use frontdesk_server::{
    BusinessHours, HandoffSettings, RateLimits, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS,
};
use serde::Deserialize;

/// Where `frontdesk serve` listens unless told otherwise: loopback, for a reverse proxy
/// in front or a deliberate choice of a public address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub assistant: AssistantConfig,
    #[serde(default)]
    pub handoff: HandoffConfig,
    #[serde(default)]
    pub generation: GenerationConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://FILE` or `postgres://…`; unset, an SQLite file in the data dir.
    #[serde(default)]
    pub database_url: Option<String>,
}

#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub public_url: Option<String>,
    pub api_token: Option<String>,
    pub max_body_bytes: usize,
    pub widget_requests_per_minute: NonZeroU32,
    pub messages_per_minute: NonZeroU32,
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Written like `10s` or `1m 30s`.
    pub header_read_timeout: Timeout,
    pub max_connections: usize,
}

/// A duration written for people (`10s`, `2m`), as the flags take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeout(pub std::time::Duration);

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(Timeout)
            .map_err(|err| serde::de::Error::custom(format!("`{text}` is not a duration: {err}")))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = RateLimits::default();
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            public_url: None,
            api_token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            widget_requests_per_minute: limits.widget_requests_per_address,
            messages_per_minute: limits.messages_per_conversation,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            header_read_timeout: Timeout(DEFAULT_HEADER_READ_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

// By hand, so that the API token never reaches a log or an error through `{:?}`.
impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "<set>"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field(
                "widget_requests_per_minute",
                &self.widget_requests_per_minute,
            )
            .field("messages_per_minute", &self.messages_per_minute)
            .field("allowed_origins", &self.allowed_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffConfig {
    /// The wait quoted to a customer handed to a person while the team is in; unset,
    /// it is measured from recent handoffs.
    #[serde(default)]
    pub expected_wait_minutes: Option<u32>,
    /// Unset: the team is taken to be in at all hours.
    #[serde(default)]
    pub business_hours: Option<BusinessHoursConfig>,
    /// Channels whose inbox keeps other hours, by channel name.
    #[serde(default)]
    pub channel_hours: BTreeMap<String, BusinessHoursConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursConfig {
    pub timezone: String,
    #[serde(default = "closed")]
    pub monday: String,
    #[serde(default = "closed")]
    pub tuesday: String,
    #[serde(default = "closed")]
    pub wednesday: String,
    #[serde(default = "closed")]
    pub thursday: String,
    #[serde(default = "closed")]
    pub friday: String,
    #[serde(default = "closed")]
    pub saturday: String,
    #[serde(default = "closed")]
    pub sunday: String,
}

fn closed() -> String {
    "closed".to_string()
}

impl BusinessHoursConfig {
    fn business_hours(&self) -> Result<BusinessHours, HoursError> {
        let days = [
            self.monday.as_str(),
            self.tuesday.as_str(),
            self.wednesday.as_str(),
            self.thursday.as_str(),
            self.friday.as_str(),
            self.saturday.as_str(),
            self.sunday.as_str(),
        ];
        BusinessHours::new(&self.timezone, days)
    }
}

impl HandoffConfig {
    /// The server's handoff settings; fails naming the setting that is wrong.
    pub fn settings(&self) -> anyhow::Result<HandoffSettings> {
        let business_hours = match &self.business_hours {
            Some(hours) => Some(
                hours
                    .business_hours()
                    .context("handoff.business_hours is not usable")?,
            ),
            None => None,
        };
        let mut channel_hours = Vec::with_capacity(self.channel_hours.len());
        for (name, hours) in &self.channel_hours {
            let setting = format!("handoff.channel_hours.{name}");
            let channel: Channel = name
                .parse()
                .map_err(|err| anyhow::anyhow!("{setting} names no channel: {err}"))?;
            let hours = hours
                .business_hours()
                .with_context(|| format!("{setting} is not usable"))?;
            channel_hours.push((channel, hours));
        }
        let expected_wait = self
            .expected_wait_minutes
            .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60));
        Ok(HandoffSettings {
            business_hours,
            channel_hours,
            expected_wait,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// Answers phrased by a language model. Unset `base_url`: extractive answers only.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationConfig {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<String>,
    /// A file holding the API key (its first line), kept out of the settings file.
    pub api_key_file: Option<PathBuf>,
    pub time_budget: Timeout,
    pub first_token_timeout: Timeout,
    pub max_tokens: u32,
    pub temperature: f32,
    pub tone: String,
    /// What the provider charges per million tokens read and written, in the owner's
    /// currency; both or neither.
    pub prompt_price_per_million: Option<f64>,
    pub completion_price_per_million: Option<f64>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            base_url: None,
            model: None,
            api_key: None,
            api_key_file: None,
            time_budget: Timeout(DEFAULT_TIME_BUDGET),
            first_token_timeout: Timeout(DEFAULT_FIRST_TOKEN_TIMEOUT),
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: DEFAULT_TEMPERATURE,
            tone: String::new(),
            prompt_price_per_million: None,
            completion_price_per_million: None,
        }
    }
}

// By hand, so that the API key never reaches a log or an error through `{:?}`.
impl std::fmt::Debug for GenerationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("api_key_file", &self.api_key_file)
            .field("time_budget", &self.time_budget)
            .field("first_token_timeout", &self.first_token_timeout)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("tone", &self.tone)
            .field("prompt_price_per_million", &self.prompt_price_per_million)
            .field(
                "completion_price_per_million",
                &self.completion_price_per_million,
            )
            .finish()
    }
}

/// The generation settings' environment variables, read once by the caller so that
/// tests can pass their own.
#[derive(Default)]
pub struct GenerationEnv {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<String>,
}

impl GenerationEnv {
    pub fn from_process() -> Self {
        let read = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        GenerationEnv {
            base_url: read("FRONTDESK_LLM_BASE_URL"),
            model: read("FRONTDESK_LLM_MODEL"),
            api_key: read("FRONTDESK_LLM_API_KEY"),
        }
    }
}

impl GenerationConfig {
    /// The settings for the generator, the environment winning over the file; `None`
    /// when no base URL is set anywhere. Fails naming the setting that is wrong.
    pub fn settings(&self, env: GenerationEnv) -> anyhow::Result<Option<GenerationSettings>> {
        let Some(base_url) = env.base_url.or_else(|| self.base_url.clone()) else {
            return Ok(None);
        };
        let model = env.model.or_else(|| self.model.clone()).context(
            "generation.model (env FRONTDESK_LLM_MODEL) must name the model when a base URL \
             is set",
        )?;
        let api_key = match (env.api_key, &self.api_key, &self.api_key_file) {
            (Some(key), _, _) => Some(key),
            (None, Some(key), _) => Some(key.clone()),
            (None, None, Some(file)) => Some(read_key_file(file)?),
            (None, None, None) => None,
        };
        if !(0.0..=2.0).contains(&self.temperature) {
            anyhow::bail!(
                "generation.temperature must be between 0 and 2, not {}",
                self.temperature
            );
        }
        if self.max_tokens == 0 {
            anyhow::bail!("generation.max_tokens must be at least 1");
        }
        if self.time_budget.0.is_zero() || self.first_token_timeout.0.is_zero() {
            anyhow::bail!("generation.time_budget and first_token_timeout must be above zero");
        }
        // A customer waits this long at most: more than ten minutes is a typing mistake.
        let longest = std::time::Duration::from_secs(600);
        if self.time_budget.0 > longest || self.first_token_timeout.0 > longest {
            anyhow::bail!(
                "generation.time_budget and first_token_timeout must be ten minutes at most"
            );
        }
        if model.trim().is_empty() {
            anyhow::bail!("generation.model (env FRONTDESK_LLM_MODEL) is empty");
        }
        let price = match (
            self.prompt_price_per_million,
            self.completion_price_per_million,
        ) {
            (None, None) => None,
            (Some(prompt), Some(completion)) if prompt >= 0.0 && completion >= 0.0 => {
                Some(TokenPrice {
                    prompt_per_million: prompt,
                    completion_per_million: completion,
                })
            }
            (Some(_), Some(_)) => {
                anyhow::bail!("generation's prices per million tokens cannot be negative")
            }
            _ => anyhow::bail!(
                "generation.prompt_price_per_million and completion_price_per_million go \
                 together: set both or neither"
            ),
        };
        let mut settings = GenerationSettings::new(base_url, model);
        settings.api_key = api_key;
        settings.time_budget = self.time_budget.0;
        settings.first_token_timeout = self.first_token_timeout.0;
        settings.max_tokens = self.max_tokens;
        settings.temperature = self.temperature;
        settings.tone = self.tone.clone();
        settings.price = price;
        // Fails here, naming the address, rather than at the first answer.
        frontdesk_generate::ChatClient::new(&settings)
            .context("generation.base_url (env FRONTDESK_LLM_BASE_URL) is not usable")?;
        Ok(Some(settings))
    }
}

fn read_key_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read generation.api_key_file {}", path.display()))?;
    let key = text.lines().next().unwrap_or("").trim().to_string();
    if key.is_empty() {
        anyhow::bail!("generation.api_key_file {} is empty", path.display());
    }
    Ok(key)
}

impl Config {
    /// Reads the file when there is one; `required` says whether its absence is an error
    /// (a file named on the command line must exist, the data dir's default need not).
    pub fn load(path: &Path, required: bool) -> anyhow::Result<Config> {
        if !required && !path.exists() {
            return Ok(Config::default());
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
        if let (Some(file), Some(folder)) = (&config.generation.api_key_file, path.parent()) {
            config.generation.api_key_file = Some(folder.join(file));
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
        self.handoff
            .settings()
            .with_context(|| format!("{} has unusable handoff settings", path.display()))?;
        Ok(())
    }
}

/// The settings file with every setting at its default and what it means, as
/// `frontdesk config default` prints it. Settings without a default are shown commented
/// out, with an example value.
pub fn default_file() -> String {
    let server = ServerConfig::default();
    format!(
        r#"# Frontdesk settings: <data-dir>/frontdesk.toml, or the file --config names
# (env FRONTDESK_CONFIG). Each setting is taken from, later ones winning: its default
# (shown here), this file, its environment variable, its command-line flag.

[store]
# The database: sqlite://FILE or postgres://USER@HOST:PORT/DB. Unset: frontdesk.db in
# the data dir. Env DATABASE_URL, flag --database-url.
# database_url = "postgres://frontdesk@127.0.0.1:5432/frontdesk"

[server]
# Address and port `frontdesk serve` listens on. Loopback by default: put a reverse
# proxy in front, or name a public address on purpose. Env FRONTDESK_LISTEN, --listen.
listen = "{listen}"
# The address customers reach the server at, when it differs from the listen address.
# Env FRONTDESK_PUBLIC_URL, --public-url.
# public_url = "https://help.shop.example"
# Require `Authorization: Bearer TOKEN` on POST /api/v1/answer. Prefer the environment
# (FRONTDESK_API_TOKEN) to keep it out of files; flag --api-token.
# api_token = "a long random string"
# Largest request body accepted, in bytes; larger ones get 413.
# Env FRONTDESK_MAX_BODY_BYTES, --max-body-bytes.
max_body_bytes = {max_body_bytes}
# Widget requests per minute from one client address before 429.
# Env FRONTDESK_WIDGET_REQUESTS_PER_MINUTE, --widget-requests-per-minute.
widget_requests_per_minute = {widget}
# Customer messages per minute in one conversation before 429.
# Env FRONTDESK_MESSAGES_PER_MINUTE, --messages-per-minute.
messages_per_minute = {messages}
# Websites whose pages may use the chat widget; empty: any website may.
# Env FRONTDESK_ALLOWED_ORIGINS (comma-separated), --allowed-origin (repeated).
allowed_origins = []
# Reverse proxies (IP addresses) whose X-Forwarded-For header names the client for the
# rate limits; empty: the TCP peer is the client, and the header is ignored.
# Env FRONTDESK_TRUSTED_PROXIES (comma-separated), --trusted-proxy (repeated).
trusted_proxies = []
# A connection that has not sent a whole request line and headers this long after it
# opened (or after its last response) is closed: slow clients cannot hold connections.
# Env FRONTDESK_HEADER_READ_TIMEOUT, --header-read-timeout.
header_read_timeout = "{header_timeout}"
# Connections open at once, WebSockets included; more wait to be accepted. Keep the
# open-files limit (ulimit -n) above it. Env FRONTDESK_MAX_CONNECTIONS, --max-connections.
max_connections = {max_connections}

[assistant]
# Minimum calibrated confidence to answer; below it the assistant hands off.
answer_threshold = {threshold}
# Whether the built-in sensitive topics (legal threats, chargebacks) go to a person.
default_sensitive_topics = true
# Folder of the sentence-embedding model, relative to this file. Unset:
# models/all-MiniLM-L6-v2 in the data dir. Env FRONTDESK_EMBEDDING_MODEL,
# --embedding-model.
# embedding_model = "models/all-MiniLM-L6-v2"
# Written before catalog prices in answers. Unset: prices as the catalog writes them.
# currency = "£"
# Topics a person always handles, added to the built-in ones; one table each.
# [[assistant.sensitive_topics]]
# name = "medical"
# phrases = ["allergic reaction", "hospital"]

[handoff]
# The wait quoted to a customer handed to a person while the team is in. Unset: the
# middle of the last 50 handoffs' waits for a first reply, once there are 5.
# expected_wait_minutes = 30
# When the team is in, in its own time zone; outside these hours a customer handed to
# a person is told when the team is back. Unset: the team is taken to be in at all
# hours. Each day is HH:MM-HH:MM or "closed"; a day left out is closed.
# [handoff.business_hours]
# timezone = "Europe/London"
# monday = "09:00-17:30"
# tuesday = "09:00-17:30"
# wednesday = "09:00-17:30"
# thursday = "09:00-17:30"
# friday = "09:00-17:30"
# saturday = "closed"
# sunday = "closed"
# A channel whose inbox keeps other hours (widget, email, whatsapp, telegram, messenger,
# instagram): customers there are told its own, and its handoffs' waits are counted in
# them. The same fields as business_hours.
# [handoff.channel_hours.whatsapp]
# timezone = "Europe/London"
# monday = "08:00-20:00"

[generation]
# Answers phrased by a language model from the sources the assistant found, through any
# OpenAI-compatible API (Ollama, vLLM, llama.cpp's server, hosted providers). Unset
# base_url: the FAQ's own text is the answer. Whether to answer stays the assistant's
# decision; `--no-generate` turns phrasing off for one command.
# Env FRONTDESK_LLM_BASE_URL, FRONTDESK_LLM_MODEL.
# base_url = "http://127.0.0.1:11434/v1"
# model = "llama3.2:3b"
# The API key, sent as a bearer token and never logged. Prefer the environment
# (FRONTDESK_LLM_API_KEY) or a file to keep it out of this one.
# api_key_file = "llm-api-key"
# The whole answer must arrive within time_budget and its first token within
# first_token_timeout, or the FAQ's own text goes instead.
time_budget = "{time_budget}"
first_token_timeout = "{first_token}"
max_tokens = {max_tokens}
temperature = {temperature}
# The business's tone and rules, added to the model's instructions.
tone = ""
# What the provider charges per million tokens read and written, in your currency: with
# both set, GET /api/v1/usage/generation gives costs and a monthly estimate.
# prompt_price_per_million = 0.15
# completion_price_per_million = 0.60
"#,
        listen = server.listen,
        max_body_bytes = server.max_body_bytes,
        widget = server.widget_requests_per_minute,
        messages = server.messages_per_minute,
        threshold = DEFAULT_ANSWER_THRESHOLD,
        header_timeout = humantime::format_duration(server.header_read_timeout.0),
        max_connections = server.max_connections,
        time_budget = humantime::format_duration(DEFAULT_TIME_BUDGET),
        first_token = humantime::format_duration(DEFAULT_FIRST_TOKEN_TIMEOUT),
        max_tokens = DEFAULT_MAX_TOKENS,
        temperature = DEFAULT_TEMPERATURE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_reads_back_as_the_defaults() {
        let parsed: Config = toml::from_str(&default_file()).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn the_commented_examples_are_valid_settings_too() {
        // Uncommenting every example must give a file that loads: the examples are
        // what owners copy.
        let uncommented: String = default_file()
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config = toml::from_str(&uncommented).unwrap();
        assert!(parsed.server.api_token.is_some());
        assert_eq!(parsed.handoff.expected_wait_minutes, Some(30));
        let handoff = parsed.handoff.settings().unwrap();
        assert!(handoff.business_hours.is_some());
        assert_eq!(parsed.assistant.sensitive_topics.len(), 1);
        // The example's key file does not exist here; that it is read is tested below.
        assert!(parsed.generation.api_key_file.is_some());
        let mut generation = parsed.generation.clone();
        generation.api_key_file = None;
        let generation = generation
            .settings(GenerationEnv::default())
            .unwrap()
            .unwrap();
        assert_eq!(generation.model, "llama3.2:3b");
    }

    #[test]
    fn the_environment_wins_over_the_file_for_generation() {
        let file: Config = toml::from_str(
            "[generation]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"from-file\"\n",
        )
        .unwrap();
        let env = GenerationEnv {
            base_url: Some("http://127.0.0.1:2/v1".to_string()),
            model: None,
            api_key: Some("sk-env".to_string()),
        };
        let settings = file.generation.settings(env).unwrap().unwrap();
        assert_eq!(settings.base_url, "http://127.0.0.1:2/v1");
        assert_eq!(settings.model, "from-file");
        assert_eq!(settings.api_key.as_deref(), Some("sk-env"));

        // No base URL anywhere: no generation. A base URL without a model: an error.
        let none = Config::default()
            .generation
            .settings(GenerationEnv::default());
        assert!(none.unwrap().is_none());
        let env = GenerationEnv {
            base_url: Some("http://127.0.0.1:2/v1".to_string()),
            ..GenerationEnv::default()
        };
        let err = Config::default().generation.settings(env).unwrap_err();
        assert!(err.to_string().contains("FRONTDESK_LLM_MODEL"), "{err}");
    }

    #[test]
    fn the_api_key_can_come_from_a_file_beside_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "sk-from-file\n").unwrap();
        let settings_path = dir.path().join("frontdesk.toml");
        std::fs::write(
            &settings_path,
            "[generation]\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n\
             api_key_file = \"key\"\n",
        )
        .unwrap();
        let config = Config::load(&settings_path, true).unwrap();
        let settings = config
            .generation
            .settings(GenerationEnv::default())
            .unwrap()
            .unwrap();
        assert_eq!(settings.api_key.as_deref(), Some("sk-from-file"));
        // The key never shows in the settings' debug output.
        assert!(!format!("{config:?}").contains("sk-from-file"));
        assert!(!format!("{settings:?}").contains("sk-from-file"));
    }
}
