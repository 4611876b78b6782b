//! The sentence encoder the assistant reads by meaning with, when its model
//! is installed: the embedding crate's model behind the knowledge crate's
//! interface, so that neither crate depends on the other.

use std::path::Path;
use std::sync::Arc;

use frontdesk_embed::{SentenceEmbedder, MODEL_NAME};
use frontdesk_knowledge::{EncoderError, SentenceEncoder, SharedEncoder};

struct InstalledEncoder(SentenceEmbedder);

impl SentenceEncoder for InstalledEncoder {
    fn model_name(&self) -> &str {
        MODEL_NAME
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.0
            .embed(texts)
            .map_err(|err| EncoderError(err.to_string()))
    }
}

/// The encoder in `dir`, or `None` with a warning that says what is missing
/// and how to get it: without it the assistant still answers, from words
/// alone, and less often.
pub fn load(dir: &Path) -> Option<SharedEncoder> {
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
    match SentenceEmbedder::load(dir) {
        Ok(embedder) => Some(Arc::new(InstalledEncoder(embedder))),
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
