//! Sentence embeddings: the assistant's second way of reading a message, by
//! meaning rather than by shared words ("my card never came" and "the card
//! has not arrived" share one word and mean the same).
//!
//! The neural encoder itself lives in its own crate, so that this crate
//! builds quickly and works without it; here is only what the decision needs
//! of one: an interface, the labelled phrasings as unit vectors with their
//! nearest-neighbour search, and a cache so that a rebuild encodes only the
//! texts it has not seen.

use std::fs;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use bincode::Options;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// A sentence encoder: texts in, one unit-length vector per text out.
pub trait SentenceEncoder: Send + Sync {
    /// Names the model. Saved with the index, so that installing, removing or
    /// changing the model rebuilds it.
    fn model_name(&self) -> &str;

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError>;
}

pub type SharedEncoder = Arc<dyn SentenceEncoder>;

#[derive(Debug, thiserror::Error)]
#[error("the sentence encoder failed: {0}")]
pub struct EncoderError(pub String);

/// Texts are encoded in batches of this many, and progress is told per batch.
const BATCH: usize = 64;

/// The vector cache file kept in the index folder.
const CACHE_FILE: &str = "vectors.bin";

/// Vectors of texts already encoded, by a hash of the text, for one model.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct VectorCache {
    model: String,
    vectors: FxHashMap<u64, Vec<f32>>,
}

impl VectorCache {
    /// The cache in `dir` if it was written by the same model; an empty one
    /// otherwise (a damaged or foreign cache only costs encoding time).
    pub(crate) fn empty(model: &str) -> Self {
        Self {
            model: model.to_string(),
            vectors: FxHashMap::default(),
        }
    }

    pub(crate) fn load(dir: &Path, model: &str) -> Self {
        let empty = || Self::empty(model);
        let path = dir.join(CACHE_FILE);
        let Ok(file) = fs::File::open(&path) else {
            return empty();
        };
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        let decoded: Result<Self, _> = bincode_options()
            .with_limit(length)
            .deserialize_from(BufReader::new(file));
        match decoded {
            Ok(cache) if cache.model == model => cache,
            Ok(_) => empty(),
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "unreadable vector cache; re-encoding");
                empty()
            }
        }
    }

    /// Copies the cache file of the index in `from`, if any, into `to`.
    pub(crate) fn carry_over(from: &Path, to: &Path) -> std::io::Result<()> {
        let source = from.join(CACHE_FILE);
        if !source.exists() {
            return Ok(());
        }
        fs::copy(source, to.join(CACHE_FILE)).map(|_| ())
    }

    pub(crate) fn save(&self, dir: &Path) -> std::io::Result<()> {
        let file = fs::File::create(dir.join(CACHE_FILE))?;
        bincode_options()
            .serialize_into(BufWriter::new(file), self)
            .map_err(std::io::Error::other)
    }

    /// The vectors of `texts`, in order, encoding only those not cached.
    /// `progress` is told how many of the missing texts are done.
    pub(crate) fn encode_all(
        &mut self,
        encoder: &dyn SentenceEncoder,
        texts: &[&str],
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<Vec<f32>>, EncoderError> {
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.vectors.contains_key(&text_key(t)))
            .collect();
        missing.sort_unstable();
        missing.dedup();

        for (done, batch) in missing.chunks(BATCH).enumerate() {
            progress(done * BATCH, missing.len());
            let vectors = encoder.encode(batch)?;
            if vectors.len() != batch.len() {
                return Err(EncoderError(format!(
                    "asked for {} vectors, got {}",
                    batch.len(),
                    vectors.len()
                )));
            }
            for (text, vector) in batch.iter().zip(vectors) {
                self.vectors.insert(text_key(text), vector);
            }
        }
        progress(missing.len(), missing.len());

        // Only what this knowledge base uses is kept, so the cache does not
        // grow with every text ever deleted.
        let keys: Vec<u64> = texts.iter().map(|t| text_key(t)).collect();
        let vectors = keys
            .iter()
            .map(|k| self.vectors.get(k).cloned().unwrap_or_default())
            .collect();
        let used: FxHashSet<u64> = keys.into_iter().collect();
        self.vectors.retain(|k, _| used.contains(k));
        Ok(vectors)
    }
}

/// The labelled phrasings (FAQ questions and tickets) as rows of unit
/// vectors, each with the FAQ it is labelled with (`None`: out of scope) and
/// the ticket it came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PhrasingVectors {
    pub dimensions: usize,
    data: Vec<f32>,
    targets: Vec<Option<u32>>,
    tickets: Vec<Option<u32>>,
}

/// How close a message is, by meaning, to the phrasings of each FAQ.
#[derive(Debug, Clone, Default)]
pub(crate) struct Closeness {
    /// Per FAQ, the cosine to its nearest phrasing (0 when it has none).
    pub per_faq: Vec<f64>,
    /// The cosine to the nearest out-of-scope phrasing.
    pub out_of_scope: f64,
    /// The nearest phrasing of all, and its label.
    pub nearest: f64,
    pub nearest_target: Option<Option<u32>>,
}

impl PhrasingVectors {
    pub fn new(dimensions: usize) -> Self {
        Self {
            dimensions,
            ..Self::default()
        }
    }

    pub fn push(&mut self, vector: &[f32], target: Option<u32>, ticket: Option<u32>) {
        if vector.len() != self.dimensions {
            return;
        }
        self.data.extend_from_slice(vector);
        self.targets.push(target);
        self.tickets.push(ticket);
    }

    /// Brute force over every phrasing: a few thousand dot products of a few
    /// hundred dimensions take well under a millisecond, and an approximate
    /// index would cost recall where it matters most, among near neighbours.
    pub fn closeness(&self, query: &[f32], faqs: usize, skip_ticket: Option<u32>) -> Closeness {
        let mut found = Closeness {
            per_faq: vec![0.0; faqs],
            ..Closeness::default()
        };
        if query.len() != self.dimensions || self.dimensions == 0 {
            return found;
        }
        let rows = self.data.chunks_exact(self.dimensions);
        for ((row, &target), &ticket) in rows.zip(&self.targets).zip(&self.tickets) {
            if skip_ticket.is_some() && ticket == skip_ticket {
                continue;
            }
            let cosine = dot(query, row) as f64;
            match target {
                Some(faq) => {
                    let best = &mut found.per_faq[faq as usize];
                    *best = best.max(cosine);
                }
                None => found.out_of_scope = found.out_of_scope.max(cosine),
            }
            if cosine > found.nearest {
                found.nearest = cosine;
                found.nearest_target = Some(target);
            }
        }
        found
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn text_key(text: &str) -> u64 {
    // FNV-1a: stable across runs, unlike the std hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn bincode_options() -> impl bincode::Options {
    bincode::DefaultOptions::new().with_fixint_encoding()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Encodes a text as a unit vector of its letter counts: enough to test
    /// the plumbing without a neural model.
    struct LetterEncoder {
        calls: AtomicUsize,
    }

    impl SentenceEncoder for LetterEncoder {
        fn model_name(&self) -> &str {
            "letters"
        }

        fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
            self.calls.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| letters(t)).collect())
        }
    }

    fn letters(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; 26];
        for b in text.bytes().filter(u8::is_ascii_lowercase) {
            v[(b - b'a') as usize] += 1.0;
        }
        let norm = dot(&v, &v).sqrt().max(1e-6);
        v.iter().map(|x| x / norm).collect()
    }

    #[test]
    fn the_cache_encodes_each_text_once_and_survives_a_reload() {
        let dir = tempfile::tempdir().expect("temp dir");
        let encoder = LetterEncoder {
            calls: AtomicUsize::new(0),
        };
        let mut cache = VectorCache::load(dir.path(), "letters");
        let first = cache
            .encode_all(&encoder, &["abc", "abd", "abc"], &|_, _| {})
            .expect("encoded");
        assert_eq!(first.len(), 3);
        assert_eq!(first[0], first[2]);
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            2,
            "a repeated text is encoded once"
        );
        cache.save(dir.path()).expect("saved");

        let mut reloaded = VectorCache::load(dir.path(), "letters");
        reloaded
            .encode_all(&encoder, &["abc", "xyz"], &|_, _| {})
            .expect("encoded");
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            3,
            "only the new text is encoded"
        );

        let foreign = VectorCache::load(dir.path(), "another-model");
        assert!(
            foreign.vectors.is_empty(),
            "another model's vectors are not reused"
        );
    }

    #[test]
    fn closeness_finds_the_nearest_phrasing_per_faq_and_skips_the_held_out_ticket() {
        let mut phrasings = PhrasingVectors::new(26);
        phrasings.push(&letters("card arrived"), Some(0), None);
        phrasings.push(&letters("card arrival"), Some(0), Some(0));
        phrasings.push(&letters("top up"), Some(1), Some(1));
        phrasings.push(&letters("weather"), None, Some(2));

        let query = letters("card arrival");
        let near = phrasings.closeness(&query, 2, None);
        assert!((near.per_faq[0] - 1.0).abs() < 1e-5);
        assert!(near.per_faq[1] < near.per_faq[0]);
        assert_eq!(near.nearest_target, Some(Some(0)));
        assert!(near.out_of_scope > 0.0);

        let held_out = phrasings.closeness(&query, 2, Some(0));
        assert!(
            held_out.per_faq[0] < 1.0 - 1e-3,
            "its own ticket is not its neighbour"
        );
    }
}
