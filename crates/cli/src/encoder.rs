//! The sentence encoder the assistant reads by meaning with, when its model
//! is installed: the embedding crate's model behind the knowledge crate's
//! interface, so that neither crate depends on the other.

use std::path::Path;
use std::sync::Arc;

use frontdesk_embed::{Precision, SentenceEmbedder};
use frontdesk_knowledge::{EncoderError, SentenceEncoder, SharedEncoder};

/// `--embed-precision`: how the sentence model multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmbedPrecision {
    /// 32-bit floats: the reference model's vectors.
    Exact,
    /// 8-bit weights: several times faster where the CPU has AVX2 or AVX-512 VNNI.
    Int8,
}

struct InstalledEncoder {
    embedder: SentenceEmbedder,
    /// The model's name and precision, under which its vectors are stored.
    name: String,
}

impl SentenceEncoder for InstalledEncoder {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn tuned_on_tickets(&self) -> bool {
        self.embedder.tuning().is_some()
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.embedder
            .embed(texts)
            .map_err(|err| EncoderError(err.to_string()))
    }
}

/// The precision asked for, or the fastest this CPU offers.
pub fn precision(asked: Option<EmbedPrecision>) -> Precision {
    match asked {
        Some(EmbedPrecision::Exact) => Precision::Exact,
        Some(EmbedPrecision::Int8) => Precision::Int8,
        None => Precision::fastest_available(),
    }
}

/// The encoder in `dir`, or `None` with a warning that says what is missing
/// and how to get it: without it the assistant still answers, from words
/// alone, and less often.
pub fn load(dir: &Path, precision: Precision) -> Option<SharedEncoder> {
    if !dir.join("model.safetensors").exists() {
        tracing::warn!(
            "the sentence-embedding model is not installed in {}; answering from words \
             alone (run `frontdesk model install` to read questions by meaning too)",
            dir.display()
        );
        return None;
    }
    // A damaged or tampered file would give wrong vectors without failing, so the
    // files are checked against their known hashes first (a fraction of a second).
    if let Err(err) = frontdesk_embed::verify_model(dir) {
        tracing::warn!(
            "the sentence-embedding model in {} failed its check: {err}; answering from \
             words alone (run `frontdesk model install` again)",
            dir.display()
        );
        return None;
    }
    match SentenceEmbedder::load_with(dir, precision) {
        Ok(embedder) => {
            let name = embedder.name();
            tracing::info!(encoder = %name, "sentence encoder loaded");
            Some(Arc::new(InstalledEncoder { embedder, name }))
        }
        Err(err) => {
            tracing::warn!(
                "cannot load the sentence-embedding model in {}: {err}; answering from words \
                 alone (`frontdesk model status` checks the files)",
                dir.display()
            );
            None
        }
    }
}
