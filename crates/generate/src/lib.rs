//! Generated answers: the assistant's answer phrased by a language model the owner
//! chooses, from any server that speaks the OpenAI-compatible chat completions API
//! (Ollama, vLLM, llama.cpp's server, hosted providers).
//!
//! The answer engine decides whether to answer, ask back or hand off; this crate only
//! phrases an answer it decided to give, from the sources it retrieved. What the model
//! writes reaches the customer only through the guards in [`guard`]: figures and policy
//! words the sources do not state, promises of actions only a person can take, and
//! instructions smuggled into a message or a document all stop it. On any failure the
//! extractive answer (the FAQ's own text) goes instead, within the configured time.

mod client;
mod decision;
mod generator;
pub mod guard;
#[cfg(feature = "mock-server")]
pub mod mock;
mod prompt;
mod settings;

pub use client::{ChatClient, ChatMessage, GenerateError, Role, StreamEvent, Usage};
pub use decision::{phrase_decision, PhrasedDecision, ACTION_NEEDED_TEXT};
pub use generator::{Fallback, Generator, Outcome, Phrased};
pub use prompt::{
    chat_messages, take_citations, Grounding, GroundingSource, PastTurn, RECENT_TURNS,
};
pub use settings::{
    GenerationSettings, TokenPrice, DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE, DEFAULT_TIME_BUDGET,
};
