//! Sentence embeddings: the assistant's second way of reading a message, by
//! meaning rather than by shared words ("my card never came" and "the card
//! has not arrived" share one word and mean the same).
//!
//! The neural encoder itself lives in its own crate, so that this crate
//! builds quickly and works without it; here is only what the decision needs
//! of one: an interface, the labelled phrasings as unit vectors with their
//! nearest-neighbour search, and the vectors already computed, which the
//! store keeps so that a rebuild encodes only the texts it has not seen.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use frontdesk_core::{SentenceVectors, VectorChanges};

/// A sentence encoder: texts in, one unit-length vector per text out.
pub trait SentenceEncoder: Send + Sync {
    /// Names the model. Saved with the index, so that installing, removing or
    /// changing the model rebuilds it.
    fn model_name(&self) -> &str;

    /// Whether the encoder was tuned on this knowledge base's tickets, leaving out the
    /// ones [`held_out_from_tuning`] names. Its vectors of the tickets it learnt from are
    /// closer together than a new message's would be, so confidence is calibrated on the
    /// held-out tickets alone.
    fn tuned_on_tickets(&self) -> bool {
        false
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError>;
}

pub type SharedEncoder = Arc<dyn SentenceEncoder>;

#[derive(Debug, thiserror::Error)]
#[error("the sentence encoder failed: {0}")]
pub struct EncoderError(pub String);

/// Texts are encoded in batches of this many, and progress is told per batch.
const BATCH: usize = 64;

/// The vectors a build starts from, and those it encodes, which the caller stores.
pub(crate) struct VectorCache {
    known: SentenceVectors,
    /// The keys `known` held at the start, to tell which of them the build used.
    stored_keys: Vec<u64>,
    used_keys: HashSet<u64>,
    encoded: SentenceVectors,
}

impl VectorCache {
    /// Starts from `known` when it holds this model's vectors, from nothing otherwise.
    pub(crate) fn new(model: &str, known: SentenceVectors) -> Self {
        let known = match known.model == model {
            true => known,
            false => SentenceVectors::new(model),
        };
        Self {
            stored_keys: known.vectors.keys().copied().collect(),
            used_keys: HashSet::new(),
            known,
            encoded: SentenceVectors::new(model),
        }
    }

    /// The vectors of `texts`, in order, encoding only those not known. `progress` is
    /// told how many of the missing texts are done.
    ///
    /// Known vectors come from the store, which anyone can edit, so only those shaped like
    /// what the encoder makes now (as long, every number finite) are used; any other text
    /// is encoded again, and its fresh vector replaces the stored one. One text is
    /// encoded first to learn that shape, a known one when nothing is missing.
    pub(crate) fn encode_all(
        &mut self,
        encoder: &dyn SentenceEncoder,
        texts: &[&str],
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<Vec<f32>>, EncoderError> {
        let missing = |known: &HashMap<u64, Vec<f32>>| {
            let mut missing: Vec<&str> = texts
                .iter()
                .copied()
                .filter(|t| !known.contains_key(&text_key(t)))
                .collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        let Some(probe) = missing(&self.known.vectors)
            .first()
            .or(texts.first())
            .copied()
        else {
            return Ok(Vec::new());
        };
        let probe_vector = encoder.encode(&[probe])?.pop().unwrap_or_default();
        let dimensions = probe_vector.len();
        if dimensions == 0 || probe_vector.iter().any(|x| !x.is_finite()) {
            return Err(EncoderError(format!(
                "the encoder made an unusable vector ({dimensions} numbers) of {probe:?}"
            )));
        }
        let before = self.known.vectors.len();
        self.known
            .vectors
            .retain(|_, v| v.len() == dimensions && v.iter().all(|x| x.is_finite()));
        let damaged = before - self.known.vectors.len();
        if damaged > 0 {
            tracing::warn!(
                damaged,
                dimensions,
                "stored sentence vectors of another length or with non-numbers; \
                 encoding their texts again"
            );
        }
        if !self.known.vectors.contains_key(&text_key(probe)) {
            self.encoded
                .vectors
                .insert(text_key(probe), probe_vector.clone());
        }
        self.known.vectors.insert(text_key(probe), probe_vector);

        let missing = missing(&self.known.vectors);
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
                if vector.len() != dimensions || vector.iter().any(|x| !x.is_finite()) {
                    return Err(EncoderError(format!(
                        "the encoder made an unusable vector ({} numbers, {dimensions} \
                         expected) of {text:?}",
                        vector.len()
                    )));
                }
                self.known.vectors.insert(text_key(text), vector.clone());
                self.encoded.vectors.insert(text_key(text), vector);
            }
        }
        if !missing.is_empty() {
            progress(missing.len(), missing.len());
        }
        self.used_keys.extend(texts.iter().map(|t| text_key(t)));

        Ok(texts
            .iter()
            .map(|t| {
                let vector = self.known.vectors.get(&text_key(t));
                vector.cloned().unwrap_or_default()
            })
            .collect())
    }

    /// What was encoded here, for the store to keep, and which stored vectors went unused,
    /// for it to forget.
    pub(crate) fn into_changes(self) -> VectorChanges {
        let used = &self.used_keys;
        let mut unused: Vec<u64> = self
            .stored_keys
            .into_iter()
            .filter(|key| !used.contains(key))
            .collect();
        unused.sort_unstable();
        VectorChanges {
            encoded: self.encoded,
            unused,
        }
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
        let cosines = dots_with_rows(query, &self.data);
        for ((&cosine, &target), &ticket) in cosines.iter().zip(&self.targets).zip(&self.tickets) {
            if skip_ticket.is_some() && ticket == skip_ticket {
                continue;
            }
            let cosine = cosine as f64;
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

/// The dot product of `query` with each row of `rows`, a matrix of rows as long as the
/// query. This runs over every known phrasing for every message (9,000 of 384 numbers
/// for Banking77), so where the CPU has AVX-512 it runs in a copy compiled for it.
fn dots_with_rows(query: &[f32], rows: &[f32]) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has just reported the one feature the copy is compiled for.
        return unsafe { dots_with_rows_wide(query, rows) };
    }
    dots_with_rows_here(query, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dots_with_rows_wide(query: &[f32], rows: &[f32]) -> Vec<f32> {
    dots_with_rows_here(query, rows)
}

#[inline(always)]
fn dots_with_rows_here(query: &[f32], rows: &[f32]) -> Vec<f32> {
    rows.chunks_exact(query.len().max(1))
        .map(|row| dot(query, row))
        .collect()
}

/// The dot product of two vectors of equal length.
///
/// Summed in 16 independent lanes: a single running sum must add in order, which keeps
/// the compiler from using vector instructions.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut sums = [0.0f32; LANES];
    let (a_blocks, b_blocks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// The key a text's vector is kept under: a hash of its exact bytes, stable across runs
/// and versions (FNV-1a), so vectors stored by one build are found by the next.
pub fn text_key(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Encodes a text as a unit vector of its letter counts: enough to test
    /// the plumbing without a neural model.
    #[derive(Default)]
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

    /// Vectors as the store would hand them over, for the letter encoder.
    fn stored(vectors: Vec<(&str, Vec<f32>)>) -> SentenceVectors {
        SentenceVectors {
            model: "letters".to_string(),
            vectors: vectors.into_iter().map(|(t, v)| (text_key(t), v)).collect(),
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
    fn each_text_is_encoded_once_and_known_vectors_are_reused() {
        let encoder = LetterEncoder::default();
        let mut cache = VectorCache::new("letters", SentenceVectors::default());
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
        let stored = cache.into_changes().encoded;
        assert_eq!(stored.model, "letters");
        assert_eq!(stored.len(), 2);

        let mut next = VectorCache::new("letters", stored.clone());
        let again = next
            .encode_all(&encoder, &["abc", "xyz"], &|_, _| {})
            .expect("encoded");
        assert_eq!(again[0], first[0]);
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            3,
            "only the new text is encoded"
        );
        let changes = next.into_changes();
        let encoded = changes.encoded;
        assert_eq!(encoded.len(), 1, "only what is new goes back to the store");
        assert!(encoded.vectors.contains_key(&text_key("xyz")));
        assert_eq!(changes.unused, [text_key("abd")], "the text no longer used");

        let mut foreign = VectorCache::new("another-model", stored);
        foreign
            .encode_all(&encoder, &["abc"], &|_, _| {})
            .expect("encoded");
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            4,
            "another model's vectors are not reused"
        );
    }

    #[test]
    fn damaged_stored_vectors_are_encoded_again_and_replaced() {
        let encoder = LetterEncoder::default();
        let stored = stored(vec![
            ("abc", letters("abc")),
            ("short", vec![0.5; 8]),
            ("nan", vec![f32::NAN; 26]),
            ("long", vec![0.1; 27]),
        ]);

        let mut cache = VectorCache::new("letters", stored);
        let vectors = cache
            .encode_all(&encoder, &["abc", "short", "nan", "long"], &|_, _| {})
            .expect("encoded");
        assert_eq!(vectors, ["abc", "short", "nan", "long"].map(letters));
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            4,
            "the three damaged ones, and the good one once to learn the shape"
        );
        let repaired = cache.into_changes().encoded;
        assert_eq!(repaired.len(), 3);
        assert!(!repaired.vectors.contains_key(&text_key("abc")));
    }

    #[test]
    fn nothing_missing_costs_one_text_and_reports_no_progress() {
        let encoder = LetterEncoder::default();
        let mut cache = VectorCache::new("letters", stored(vec![("abc", letters("abc"))]));
        let told = AtomicUsize::new(0);
        let progress = |_: usize, _: usize| {
            told.fetch_add(1, Ordering::SeqCst);
        };
        cache
            .encode_all(&encoder, &["abc"], &progress)
            .expect("encoded");
        assert_eq!(
            encoder.calls.load(Ordering::SeqCst),
            1,
            "the shape is checked once"
        );
        assert_eq!(told.load(Ordering::SeqCst), 0);
        assert!(
            cache.into_changes().is_empty(),
            "nothing to store or forget"
        );
    }

    #[test]
    fn dot_sums_every_component_whatever_the_length() {
        for length in [0, 1, 15, 16, 17, 384, 389] {
            let a: Vec<f32> = (0..length).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..length).map(|i| 0.5 - (i % 5) as f32).collect();
            let expected: f64 = a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum();
            let got = dot(&a, &b) as f64;
            assert!(
                (got - expected).abs() < 1e-3,
                "length {length}: {got} != {expected}"
            );
        }
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
