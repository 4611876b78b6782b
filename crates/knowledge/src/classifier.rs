//! A multinomial logistic regression over sparse features, trained by
//! stochastic gradient descent. It learns from labelled tickets how customers
//! phrase each need, and gives a probability per FAQ (and per "out of scope").
//!
//! Hand-written because the Rust linear-model crates work on dense matrices,
//! which at hundreds of thousands of n-gram columns would not fit a small
//! machine; the sparse update below is the whole of what is needed.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::features::SparseVector;

/// Training settings. The defaults were chosen on the Banking77 and CLINC150
/// dev questions: ten epochs at a modest rate stop before the scores saturate,
/// which keeps the margin between classes informative for calibration.
#[derive(Debug, Clone, Copy)]
pub struct TrainingOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    /// Gradients smaller than this are not applied: once an example is
    /// learnt, most classes' probabilities are ~0 and updating them is waste.
    pub gradient_floor: f32,
    pub seed: u64,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            epochs: 20,
            learning_rate: 8.0,
            gradient_floor: 1e-4,
            seed: 7,
        }
    }
}

/// Probability of the right class above which an example counts as learnt.
const LEARNT: f32 = 0.999;
const REST_EPOCHS: usize = 4;

/// Known shortcoming: the weights are dense per feature row, so the model
/// grows with features × FAQs (the saved model: Banking77 24 MB, CLINC150 54 MB; a few
/// thousand FAQs with tickets would reach hundreds of MB). Pruning near-zero
/// weights into a sparse row layout when saving would lift it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    classes: usize,
    /// Row-major: the `classes` weights of one feature column are contiguous,
    /// so scoring touches one short row per active feature.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Classifier {
    pub fn train(
        dimensions: usize,
        classes: usize,
        examples: &[(SparseVector, usize)],
        options: TrainingOptions,
    ) -> Self {
        let mut model = Self {
            classes,
            weights: vec![0.0; dimensions * classes],
            bias: vec![0.0; classes],
        };
        if classes == 0 || examples.is_empty() {
            return model;
        }

        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
        let mut gradient = vec![0.0f32; classes];
        // An example the model already gets right with near certainty is
        // rested for a few epochs: it would contribute almost nothing, and
        // most examples are learnt early, so later epochs become cheap.
        let mut rested_until = vec![0usize; examples.len()];
        for epoch in 0..options.epochs {
            order.shuffle(&mut rng);
            let rate = options.learning_rate / (1.0 + 0.5 * epoch as f32);
            for &i in &order {
                if rested_until[i] > epoch {
                    continue;
                }
                let (x, label) = &examples[i];
                model.probabilities_into(x, &mut gradient);
                if gradient[*label] > LEARNT {
                    rested_until[i] = epoch + REST_EPOCHS;
                    continue;
                }
                gradient[*label] -= 1.0;
                model.step(x, &gradient, rate, options.gradient_floor);
            }
        }
        model
    }

    fn step(&mut self, x: &SparseVector, gradient: &[f32], rate: f32, floor: f32) {
        let classes = self.classes;
        for (class, &g) in gradient.iter().enumerate() {
            if g.abs() < floor {
                continue;
            }
            // The bias learns slower than the features: it should not
            // swallow what the words say about the class.
            self.bias[class] -= rate * 0.1 * g;
            for (column, value) in x.iter() {
                self.weights[column * classes + class] -= rate * value * g;
            }
        }
    }

    /// A classifier that has learnt nothing: every class scores zero. Used
    /// when there are no tickets, where one example per FAQ would only make
    /// a large model that knows what the lexical index already knows.
    pub fn untrained(classes: usize) -> Self {
        Self {
            classes,
            weights: Vec::new(),
            bias: vec![0.0; classes],
        }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Raw scores (logits) for each class. Calibration reads these rather than
    /// probabilities: an unregularised softmax saturates near 1, and saturated
    /// probabilities no longer tell a sure answer from a lucky one.
    pub fn scores(&self, x: &SparseVector) -> Vec<f32> {
        let mut out = vec![0.0; self.classes];
        self.scores_into(x, &mut out);
        out
    }

    /// Softmax probabilities for each class.
    pub fn probabilities(&self, x: &SparseVector) -> Vec<f32> {
        let mut out = vec![0.0; self.classes];
        self.probabilities_into(x, &mut out);
        out
    }

    fn probabilities_into(&self, x: &SparseVector, out: &mut [f32]) {
        self.scores_into(x, out);
        softmax(out);
    }

    fn scores_into(&self, x: &SparseVector, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        if self.weights.is_empty() {
            return;
        }
        for (column, value) in x.iter() {
            let row = &self.weights[column * self.classes..(column + 1) * self.classes];
            for (score, weight) in out.iter_mut().zip(row) {
                *score += value * weight;
            }
        }
    }
}

pub fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for score in scores.iter_mut() {
        *score = (*score - max).exp();
        sum += *score;
    }
    if sum > 0.0 {
        scores.iter_mut().for_each(|s| *s /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Vectorizer;

    #[test]
    fn learns_to_separate_phrasings() {
        let texts = [
            ("where is my card", 0),
            ("my card has not arrived", 0),
            ("card still not here", 0),
            ("how do i top up", 1),
            ("add money to my account", 1),
            ("top up with a bank transfer", 1),
        ];
        let raw: Vec<&str> = texts.iter().map(|(t, _)| *t).collect();
        let vectorizer = Vectorizer::fit(&raw, 1);
        let examples: Vec<_> = texts
            .iter()
            .map(|(t, c)| (vectorizer.transform(t), *c))
            .collect();
        let model = Classifier::train(vectorizer.dimensions(), 2, &examples, Default::default());

        let p = model.probabilities(&vectorizer.transform("my new card has not arrived yet"));
        assert!(p[0] > 0.8, "{p:?}");
        let p = model.probabilities(&vectorizer.transform("can i top up by transfer"));
        assert!(p[1] > 0.8, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}
