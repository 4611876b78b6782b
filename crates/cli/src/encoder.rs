//! The sentence encoder the assistant reads by meaning with, when its model
//! is installed: the embedding crate's model behind the knowledge crate's
//! interface, so that neither crate depends on the other.

use std::path::Path;
use std::sync::Arc;

use frontdesk_embed::{Precision, SentenceEmbedder};
use frontdesk_knowledge::{EncoderError, SentenceEncoder, SharedEncoder};

/// Set to `exact` to run the model in 32-bit floats on a CPU where 8-bit is faster (to
/// compare the two, or to match vectors computed elsewhere); `int8` forces 8-bit.
pub const PRECISION_VARIABLE: &str = "FRONTDESK_EMBED_PRECISION";

struct InstalledEncoder {
    embedder: SentenceEmbedder,
    /// The model's name and precision, under which its vectors are stored.
    name: String,
}

impl SentenceEncoder for InstalledEncoder {
    fn model_name(&self) -> &str {
        &self.name
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        self.embedder
            .embed(texts)
            .map_err(|err| EncoderError(err.to_string()))
    }
}

/// The precision [`PRECISION_VARIABLE`] asks for, or the fastest this CPU offers.
fn precision() -> Precision {
    match std::env::var(PRECISION_VARIABLE).as_deref() {
        Ok("exact") => Precision::Exact,
        Ok("int8") => Precision::Int8,
        Ok(other) => {
            tracing::warn!(
                "{PRECISION_VARIABLE}={other:?} is neither `exact` nor `int8`; using the \
                 fastest precision this CPU offers"
            );
            Precision::fastest_available()
        }
        Err(_) => Precision::fastest_available(),
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
    match SentenceEmbedder::load_with(dir, precision()) {
        Ok(embedder) => {
            let name = embedder.name();
            tracing::debug!(encoder = %name, "sentence encoder loaded");
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
