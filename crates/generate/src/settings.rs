//! What the owner chooses about generated answers: which model server, which model, and
//! how long a customer may wait on it.

use std::time::Duration;

/// How long a whole generated answer may take before the extractive one is sent instead.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(8);

/// How long the model may take to say its first word. A local model on a busy CPU needs a
/// second or two for a few hundred tokens of sources; a dead endpoint fails this first.
pub const DEFAULT_FIRST_TOKEN_TIMEOUT: Duration = Duration::from_secs(4);

/// An answer a customer reads in a chat window: a few sentences.
pub const DEFAULT_MAX_TOKENS: u32 = 300;

/// Low, so that the model keeps to the sources' wording.
pub const DEFAULT_TEMPERATURE: f32 = 0.2;

/// How to reach the model and what to ask of it.
#[derive(Clone, PartialEq)]
pub struct GenerationSettings {
    /// The OpenAI-compatible API's base, up to and including `/v1`
    /// (`http://127.0.0.1:11434/v1` for Ollama on the same machine).
    pub base_url: String,
    /// The model name the server knows (`llama3.2:3b`, `gpt-4o-mini`, …).
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set. Never logged.
    pub api_key: Option<String>,
    /// The whole answer, first token to last, must arrive within this.
    pub time_budget: Duration,
    /// The first token must arrive within this (and within the budget).
    pub first_token_timeout: Duration,
    pub max_tokens: u32,
    pub temperature: f32,
    /// The owner's tone and rules, in their words ("Friendly, short, British spelling;
    /// never mention competitors"). Added to the instructions the model is given.
    pub tone: String,
    /// What the model's provider charges, when the owner says: for the cost figures.
    pub price: Option<TokenPrice>,
}

/// A provider's price for a million tokens read and written, in the owner's currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenPrice {
    pub prompt_per_million: f64,
    pub completion_per_million: f64,
}

impl TokenPrice {
    /// What `prompt_tokens` read and `completion_tokens` written cost.
    pub fn cost(&self, prompt_tokens: i64, completion_tokens: i64) -> f64 {
        (prompt_tokens as f64 * self.prompt_per_million
            + completion_tokens as f64 * self.completion_per_million)
            / 1_000_000.0
    }
}

impl GenerationSettings {
    /// Settings for a model at `base_url`, every other setting at its default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        GenerationSettings {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            time_budget: DEFAULT_TIME_BUDGET,
            first_token_timeout: DEFAULT_FIRST_TOKEN_TIMEOUT,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: DEFAULT_TEMPERATURE,
            tone: String::new(),
            price: None,
        }
    }
}

// By hand, so that the API key never reaches a log or an error through `{:?}`.
impl std::fmt::Debug for GenerationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("time_budget", &self.time_budget)
            .field("first_token_timeout", &self.first_token_timeout)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("tone", &self.tone)
            .field("price", &self.price)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_per_million_tokens_gives_a_cost() {
        let price = TokenPrice {
            prompt_per_million: 0.15,
            completion_per_million: 0.60,
        };
        let cost = price.cost(2_000_000, 500_000);
        assert!((cost - 0.60).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let mut settings = GenerationSettings::new("http://127.0.0.1:9/v1", "small");
        settings.api_key = Some("sk-very-secret".to_string());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("<set>"), "{shown}");
    }
}
