//! Sparse text features for the intent classifier: word unigrams and bigrams
//! plus character n-grams inside word boundaries, TF-IDF weighted and
//! L2-normalised.
//!
//! Features are hashed first (so extraction allocates no strings), then mapped
//! to dense columns for the hashes seen in training; anything unseen at
//! training time carries no weight and is dropped.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use crate::normalize::words;

/// Character n-gram lengths, over each word padded with a space on both sides
/// so that prefixes and suffixes ("un…", "…ing") are features of their own.
const CHAR_NGRAMS: std::ops::RangeInclusive<usize> = 2..=5;

/// A sparse vector: parallel column indices and values, indices ascending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    pub fn iter(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.indices
            .iter()
            .map(|&i| i as usize)
            .zip(self.values.iter().copied())
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Dot product by merging the two ascending index lists; for unit vectors
    /// this is the cosine similarity.
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

/// Word features and character features are weighted as two blocks of equal
/// norm: there are many more character n-grams than words, and without this
/// they would drown out what the words say.
const WORD_BLOCK: u64 = 0;
const CHAR_BLOCK: u64 = 1;

/// The block a hashed feature belongs to is kept in its lowest bit.
fn block_of(hash: u64) -> u64 {
    hash & 1
}

/// The hashed features of normalised text, with their counts.
pub fn hashed_features(normalized: &str) -> FxHashMap<u64, f32> {
    let mut counts = FxHashMap::default();
    let tokens: Vec<&str> = words(normalized).collect();

    for (i, word) in tokens.iter().enumerate() {
        *counts.entry(hash_of(0, &[word])).or_insert(0.0) += 1.0;
        if let Some(next) = tokens.get(i + 1) {
            *counts.entry(hash_of(1, &[word, next])).or_insert(0.0) += 1.0;
        }
        add_char_ngrams(word, &mut counts);
    }
    counts
}

fn add_char_ngrams(word: &str, counts: &mut FxHashMap<u64, f32>) {
    let padded: Vec<char> = std::iter::once(' ')
        .chain(word.chars())
        .chain(std::iter::once(' '))
        .collect();
    for n in CHAR_NGRAMS {
        for gram in padded.windows(n) {
            let mut hasher = FxHasher::default();
            (2u8, n as u8).hash(&mut hasher);
            gram.hash(&mut hasher);
            *counts
                .entry(hasher.finish() & !1 | CHAR_BLOCK)
                .or_insert(0.0) += 1.0;
        }
    }
}

fn hash_of(kind: u8, parts: &[&str]) -> u64 {
    let mut hasher = FxHasher::default();
    kind.hash(&mut hasher);
    parts.hash(&mut hasher);
    hasher.finish() & !1 | WORD_BLOCK
}

/// Maps hashed features to columns and weights them by inverse document
/// frequency, both learnt from the training texts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vectorizer {
    columns: FxHashMap<u64, u32>,
    idf: Vec<f32>,
}

impl Vectorizer {
    /// Learns columns from features that occur in at least `min_df` texts.
    pub fn fit(texts: &[&str], min_df: u32) -> Self {
        let mut document_frequency: FxHashMap<u64, u32> = FxHashMap::default();
        for text in texts {
            for hash in hashed_features(text).into_keys() {
                *document_frequency.entry(hash).or_insert(0) += 1;
            }
        }

        // Sorted so that the same texts always give the same columns.
        let mut kept: Vec<(u64, u32)> = document_frequency
            .into_iter()
            .filter(|&(_, df)| df >= min_df)
            .collect();
        kept.sort_unstable();

        let n = texts.len() as f32;
        let mut columns = FxHashMap::default();
        let mut idf = Vec::with_capacity(kept.len());
        for (column, (hash, df)) in kept.into_iter().enumerate() {
            columns.insert(hash, column as u32);
            // Smoothed IDF, as if one extra text contained every feature.
            idf.push(((1.0 + n) / (1.0 + df as f32)).ln() + 1.0);
        }
        Self { columns, idf }
    }

    pub fn dimensions(&self) -> usize {
        self.idf.len()
    }

    /// Sublinear TF times IDF; each block L2-normalised, then the whole.
    pub fn transform(&self, normalized: &str) -> SparseVector {
        let mut norms = [0.0f32; 2];
        let mut pairs: Vec<(u32, f32, usize)> = hashed_features(normalized)
            .into_iter()
            .filter_map(|(hash, count)| {
                let column = *self.columns.get(&hash)?;
                let value = (1.0 + count.ln()) * self.idf[column as usize];
                let block = block_of(hash) as usize;
                norms[block] += value * value;
                Some((column, value, block))
            })
            .collect();
        pairs.sort_unstable_by_key(|&(column, _, _)| column);

        let blocks_present = norms.iter().filter(|&&n| n > 0.0).count().max(1) as f32;
        let scales = norms.map(|n| {
            if n > 0.0 {
                1.0 / (n.sqrt() * blocks_present.sqrt())
            } else {
                0.0
            }
        });
        SparseVector {
            indices: pairs.iter().map(|&(c, _, _)| c).collect(),
            values: pairs
                .iter()
                .map(|&(_, v, block)| v * scales[block])
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_words_make_similar_vectors() {
        let texts = [
            "where is my card",
            "my card has not arrived",
            "how do i top up",
        ];
        let vectorizer = Vectorizer::fit(&texts, 1);
        let a = vectorizer.transform("where is my new card");
        let b = vectorizer.transform("where is my card");
        let c = vectorizer.transform("how do i top up");
        assert!(dot(&a, &b) > 0.7, "close phrasings score high");
        assert!(dot(&a, &c) < dot(&a, &b));
        assert!(
            (a.dot(&b) - dot(&a, &b)).abs() < 1e-6,
            "merge dot agrees with map dot"
        );
    }

    #[test]
    fn vectors_are_unit_length_and_unseen_text_is_empty() {
        let vectorizer = Vectorizer::fit(&["top up my account"], 1);
        let v = vectorizer.transform("top up");
        assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
        assert!(vectorizer.transform("zzq").is_empty());
        assert!(vectorizer.transform("").is_empty());
    }

    fn dot(a: &SparseVector, b: &SparseVector) -> f32 {
        let b: FxHashMap<usize, f32> = b.iter().collect();
        a.iter()
            .map(|(i, v)| v * b.get(&i).copied().unwrap_or(0.0))
            .sum()
    }
}
