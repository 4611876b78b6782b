//! Turns the ranking signals for a candidate answer into one probability that
//! the candidate is right (Platt-style logistic regression), fitted on tickets
//! held out of training so that "0.9" means right nine times in ten.

use serde::{Deserialize, Serialize};

/// One held-out example: the signals for the top candidate, whether it was
/// right, and how much the example counts.
#[derive(Debug, Clone)]
pub struct CalibrationExample {
    pub signals: Vec<f64>,
    pub correct: bool,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibrator {
    weights: Vec<f64>,
    bias: f64,
    /// Signals are standardised with these before weighting, so one learning
    /// rate suits all of them.
    means: Vec<f64>,
    scales: Vec<f64>,
}

impl Calibrator {
    /// A calibrator that knows nothing: every candidate gets `prior`.
    pub fn constant(signals: usize, prior: f64) -> Self {
        let prior = prior.clamp(1e-6, 1.0 - 1e-6);
        Self {
            weights: vec![0.0; signals],
            bias: (prior / (1.0 - prior)).ln(),
            means: vec![0.0; signals],
            scales: vec![1.0; signals],
        }
    }

    /// Fits by full-batch gradient descent on the weighted log loss, with a
    /// little L2 so that a signal seen only on a few examples stays modest.
    pub fn fit(examples: &[CalibrationExample], signals: usize) -> Self {
        let total_weight: f64 = examples.iter().map(|e| e.weight).sum();
        if examples.is_empty() || total_weight <= 0.0 {
            return Self::constant(signals, 0.5);
        }
        let (means, scales) = standardisation(examples, signals, total_weight);
        let mut model = Self {
            weights: vec![0.0; signals],
            bias: 0.0,
            means,
            scales,
        };
        let standardised: Vec<Vec<f64>> = examples
            .iter()
            .map(|e| model.standardise(&e.signals))
            .collect();

        const STEPS: usize = 400;
        const RATE: f64 = 0.5;
        const L2: f64 = 1e-3;
        for _ in 0..STEPS {
            let mut grad_w = vec![0.0; signals];
            let mut grad_b = 0.0;
            for (example, x) in examples.iter().zip(&standardised) {
                let error = sigmoid(model.logit(x)) - if example.correct { 1.0 } else { 0.0 };
                let g = error * example.weight / total_weight;
                grad_b += g;
                grad_w.iter_mut().zip(x).for_each(|(gw, xi)| *gw += g * xi);
            }
            for (w, g) in model.weights.iter_mut().zip(&grad_w) {
                *w -= RATE * (g + L2 * *w);
            }
            model.bias -= RATE * grad_b;
        }
        model
    }

    pub fn probability(&self, signals: &[f64]) -> f64 {
        sigmoid(self.logit(&self.standardise(signals)))
    }

    fn standardise(&self, signals: &[f64]) -> Vec<f64> {
        signals
            .iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(s, (mean, scale))| (s - mean) / scale)
            .collect()
    }

    fn logit(&self, x: &[f64]) -> f64 {
        self.bias
            + self
                .weights
                .iter()
                .zip(x)
                .map(|(w, xi)| w * xi)
                .sum::<f64>()
    }
}

fn standardisation(
    examples: &[CalibrationExample],
    signals: usize,
    total_weight: f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut means = vec![0.0; signals];
    for e in examples {
        means
            .iter_mut()
            .zip(&e.signals)
            .for_each(|(m, s)| *m += s * e.weight / total_weight);
    }
    let mut scales = vec![0.0; signals];
    for e in examples {
        for ((v, s), m) in scales.iter_mut().zip(&e.signals).zip(&means) {
            *v += (s - m).powi(2) * e.weight / total_weight;
        }
    }
    // A constant signal gets scale 1 so that it cannot divide by zero.
    let scales = scales
        .into_iter()
        .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    (means, scales)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_that_a_higher_signal_means_more_often_right() {
        // Right with probability equal to the signal.
        let examples: Vec<_> = (0..1000)
            .map(|i| {
                let s = (i % 100) as f64 / 100.0;
                let correct = ((i * 37) % 100) as f64 / 100.0 < s;
                CalibrationExample {
                    signals: vec![s],
                    correct,
                    weight: 1.0,
                }
            })
            .collect();
        let calibrator = Calibrator::fit(&examples, 1);
        let low = calibrator.probability(&[0.1]);
        let high = calibrator.probability(&[0.9]);
        assert!(low < 0.25 && high > 0.75, "low {low}, high {high}");
    }

    #[test]
    fn without_examples_it_is_constant() {
        let calibrator = Calibrator::fit(&[], 2);
        assert!((calibrator.probability(&[5.0, -3.0]) - 0.5).abs() < 1e-9);
    }
}
