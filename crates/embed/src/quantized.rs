//! all-MiniLM-L6-v2's encoder written out by hand, its matrix products on 8-bit weights
//! (see [`crate::int8`]), for one text at a time.
//!
//! Why by hand: a live decision encodes one short question, and at that size the general
//! tensor library spends much of its time outside the arithmetic (allocating a tensor per
//! step, an exact `erf` per activation), while the arithmetic itself runs four times as
//! many multiply-adds per instruction on 8-bit integers as on 32-bit floats. One text at a
//! time also means no padding and no attention mask.
//!
//! Everything apart from the four matrix products of each layer stays in 32-bit floats:
//! the embeddings, attention, layer normalisation and the activation. A question's vector
//! stays within a cosine of 0.995 of the exact model's, a two-word text within 0.98 (the
//! parity test checks this against the reference vectors). They are never mixed with
//! exact ones: the encoder reports its own name, and the knowledge base stores and
//! re-encodes under that name.

use std::collections::HashMap;

use candle_core::{DType, Tensor};

use crate::int8::{Int8Linear, Kernel};
use crate::EmbedError;

/// The shape of a BERT encoder, read from its `config.json`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    pub intermediate: usize,
    pub positions: usize,
    pub layer_norm_eps: f32,
}

impl Shape {
    /// The shape, when `config` describes an encoder this module can run: BERT with the
    /// exact GELU and layers that pack into whole 8-bit tiles.
    pub(crate) fn from_config(config: &serde_json::Value) -> Option<Self> {
        let number = |key: &str| config.get(key)?.as_u64().map(|n| n as usize);
        let shape = Self {
            hidden: number("hidden_size")?,
            heads: number("num_attention_heads")?,
            layers: number("num_hidden_layers")?,
            intermediate: number("intermediate_size")?,
            positions: number("max_position_embeddings")?,
            layer_norm_eps: config.get("layer_norm_eps")?.as_f64()? as f32,
        };
        let gelu = config.get("hidden_act").and_then(|a| a.as_str()) == Some("gelu");
        let packs = Int8Linear::fits(3 * shape.hidden, shape.hidden)
            && Int8Linear::fits(shape.hidden, shape.hidden)
            && Int8Linear::fits(shape.intermediate, shape.hidden)
            && Int8Linear::fits(shape.hidden, shape.intermediate);
        let heads_divide = shape.heads > 0 && shape.hidden.is_multiple_of(shape.heads);
        (gelu && packs && heads_divide).then_some(shape)
    }
}

struct LayerNorm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: their weights stacked, 3 × hidden outputs.
    qkv: Int8Linear,
    attention_output: Int8Linear,
    attention_norm: LayerNorm,
    up: Int8Linear,
    down: Int8Linear,
    output_norm: LayerNorm,
}

pub(crate) struct QuantizedBert {
    shape: Shape,
    /// Which copy of the pass runs: the one whose vector width goes with the kernel.
    kernel: Kernel,
    /// Token embeddings, one row of `hidden` per vocabulary entry.
    words: Vec<f32>,
    positions: Vec<f32>,
    /// The first segment's embedding: every input is one sentence.
    segment: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl QuantizedBert {
    /// Builds the encoder from the model's tensors, quantising every linear layer.
    /// `kernel` must run on this CPU ([`Kernel::runs_here`]).
    pub(crate) fn new(
        shape: Shape,
        tensors: &HashMap<String, Tensor>,
        file: &std::path::Path,
        kernel: Kernel,
    ) -> Result<Self, EmbedError> {
        let weights = Weights {
            tensors,
            file,
            kernel,
        };
        let hidden = shape.hidden;
        let words = weights.matrix("embeddings.word_embeddings.weight", None, hidden)?;
        let positions = weights.matrix(
            "embeddings.position_embeddings.weight",
            Some(shape.positions),
            hidden,
        )?;
        let segments = weights.matrix("embeddings.token_type_embeddings.weight", None, hidden)?;
        let embedding_norm = weights.layer_norm("embeddings.LayerNorm", hidden)?;

        let mut layers = Vec::with_capacity(shape.layers);
        for i in 0..shape.layers {
            let name = |part: &str| format!("encoder.layer.{i}.{part}");
            let mut stacked = Vec::with_capacity(3 * hidden * hidden);
            let mut stacked_bias = Vec::with_capacity(3 * hidden);
            for part in ["query", "key", "value"] {
                let prefix = name(&format!("attention.self.{part}"));
                stacked.extend(weights.matrix(
                    &format!("{prefix}.weight"),
                    Some(hidden),
                    hidden,
                )?);
                stacked_bias.extend(weights.vector(&format!("{prefix}.bias"), hidden)?);
            }
            layers.push(Layer {
                qkv: Int8Linear::new(&stacked, stacked_bias, 3 * hidden, hidden, kernel),
                attention_output: weights.linear(
                    &name("attention.output.dense"),
                    hidden,
                    hidden,
                )?,
                attention_norm: weights.layer_norm(&name("attention.output.LayerNorm"), hidden)?,
                up: weights.linear(&name("intermediate.dense"), shape.intermediate, hidden)?,
                down: weights.linear(&name("output.dense"), hidden, shape.intermediate)?,
                output_norm: weights.layer_norm(&name("output.LayerNorm"), hidden)?,
            });
        }

        Ok(Self {
            shape,
            kernel,
            words,
            positions,
            segment: segments[..hidden].to_vec(),
            embedding_norm,
            layers,
        })
    }

    /// The mean of the last layer's token vectors for one text's token ids, not yet
    /// normalised. Ids beyond the vocabulary or the position table are refused.
    pub(crate) fn pooled(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        // SAFETY (both): the VNNI kernel runs only where AVX-512 F and BW are (and with
        // them AVX2 and FMA), and the AVX2 copy is chosen only where FMA is too.
        #[cfg(target_arch = "x86_64")]
        match self.kernel {
            Kernel::Vnni => return unsafe { self.pooled_avx512(ids) },
            Kernel::Avx2 if std::arch::is_x86_feature_detected!("fma") => {
                return unsafe { self.pooled_avx2(ids) }
            }
            _ => {}
        }
        self.pooled_here(ids)
    }

    /// The same pass compiled for AVX-512, so that the loops outside the matrix products
    /// (attention, normalisation, the activation, quantising inputs) run 16 lanes wide.
    /// Everything it calls is inlined into it for that reason.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw")]
    unsafe fn pooled_avx512(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        self.pooled_here(ids)
    }

    /// The same for AVX2, 8 lanes wide.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pooled_avx2(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        self.pooled_here(ids)
    }

    #[inline(always)]
    fn pooled_here(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        let hidden = self.shape.hidden;
        let tokens = ids.len();
        if tokens == 0 || tokens * hidden > self.positions.len() {
            return Err(EmbedError::Tokenize(format!(
                "{tokens} tokens do not fit the model's {} positions",
                self.shape.positions
            )));
        }

        let mut h = Vec::with_capacity(tokens * hidden);
        for (position, &id) in ids.iter().enumerate() {
            let start = id as usize * hidden;
            let word = self.words.get(start..start + hidden).ok_or_else(|| {
                EmbedError::Tokenize(format!("token id {id} is not in the model's vocabulary"))
            })?;
            let place = &self.positions[position * hidden..(position + 1) * hidden];
            h.extend(
                word.iter()
                    .zip(place)
                    .zip(&self.segment)
                    .map(|((w, p), s)| w + p + s),
            );
        }
        layer_norm(&mut h, &self.embedding_norm, self.shape.layer_norm_eps);

        for layer in &self.layers {
            h = self.layer(layer, h, tokens);
        }

        let mut mean = vec![0.0f32; hidden];
        for row in h.chunks_exact(hidden) {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= tokens as f32);
        Ok(mean)
    }

    #[inline(always)]
    fn layer(&self, layer: &Layer, input: Vec<f32>, tokens: usize) -> Vec<f32> {
        let eps = self.shape.layer_norm_eps;
        let qkv = layer.qkv.forward(&input, tokens);
        let context = self.attention(&qkv, tokens);

        let mut attended = layer.attention_output.forward(&context, tokens);
        attended.iter_mut().zip(&input).for_each(|(a, x)| *a += x);
        layer_norm(&mut attended, &layer.attention_norm, eps);

        let mut expanded = layer.up.forward(&attended, tokens);
        gelu(&mut expanded);
        let mut output = layer.down.forward(&expanded, tokens);
        output.iter_mut().zip(&attended).for_each(|(o, a)| *o += a);
        layer_norm(&mut output, &layer.output_norm, eps);
        output
    }

    /// Scaled dot-product attention of every head, from rows of stacked query, key and
    /// value; returns rows of `hidden` with the heads side by side.
    #[inline(always)]
    fn attention(&self, qkv: &[f32], tokens: usize) -> Vec<f32> {
        let hidden = self.shape.hidden;
        let width = hidden / self.shape.heads;
        let stride = 3 * hidden;
        let scale = 1.0 / (width as f32).sqrt();

        let mut context = vec![0.0f32; tokens * hidden];
        let mut weights = vec![0.0f32; tokens];
        for head in 0..self.shape.heads {
            let offset = head * width;
            for i in 0..tokens {
                let query = &qkv[i * stride + offset..i * stride + offset + width];
                for (j, weight) in weights.iter_mut().enumerate() {
                    let key = &qkv[j * stride + hidden + offset..][..width];
                    *weight = dot(query, key) * scale;
                }
                softmax(&mut weights);
                let out = &mut context[i * hidden + offset..i * hidden + offset + width];
                for (j, weight) in weights.iter().enumerate() {
                    let value = &qkv[j * stride + 2 * hidden + offset..][..width];
                    out.iter_mut()
                        .zip(value)
                        .for_each(|(o, v)| *o += weight * v);
                }
            }
        }
        context
    }
}

/// Reads named tensors out of the model file, checking each one's shape.
struct Weights<'a> {
    tensors: &'a HashMap<String, Tensor>,
    file: &'a std::path::Path,
    kernel: Kernel,
}

impl Weights<'_> {
    fn broken(&self, reason: String) -> EmbedError {
        EmbedError::BrokenFile {
            path: self.file.to_path_buf(),
            reason,
        }
    }

    /// A tensor's values in row-major order, with its shape.
    fn values(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), EmbedError> {
        let tensor = self
            .tensors
            .get(name)
            .or_else(|| self.tensors.get(&format!("bert.{name}")))
            .ok_or_else(|| self.broken(format!("the tensor {name} is missing")))?;
        let read = || -> candle_core::Result<Vec<f32>> {
            tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
        };
        let values = read().map_err(|err| self.broken(format!("{name}: {err}")))?;
        Ok((values, tensor.dims().to_vec()))
    }

    /// A matrix with `columns` columns and `rows` rows (any number when `None`).
    fn matrix(
        &self,
        name: &str,
        rows: Option<usize>,
        columns: usize,
    ) -> Result<Vec<f32>, EmbedError> {
        let (values, dims) = self.values(name)?;
        let fits = dims.len() == 2 && dims[1] == columns && rows.is_none_or(|r| dims[0] == r);
        if !fits || dims[0] == 0 {
            return Err(self.broken(format!(
                "{name} has shape {dims:?}, expected {} × {columns}",
                rows.map_or("n".to_string(), |r| r.to_string())
            )));
        }
        Ok(values)
    }

    fn vector(&self, name: &str, length: usize) -> Result<Vec<f32>, EmbedError> {
        let (values, dims) = self.values(name)?;
        if dims != [length] {
            return Err(self.broken(format!("{name} has shape {dims:?}, expected [{length}]")));
        }
        Ok(values)
    }

    fn linear(
        &self,
        prefix: &str,
        outputs: usize,
        inputs: usize,
    ) -> Result<Int8Linear, EmbedError> {
        let weight = self.matrix(&format!("{prefix}.weight"), Some(outputs), inputs)?;
        let bias = self.vector(&format!("{prefix}.bias"), outputs)?;
        Ok(Int8Linear::new(&weight, bias, outputs, inputs, self.kernel))
    }

    fn layer_norm(&self, prefix: &str, width: usize) -> Result<LayerNorm, EmbedError> {
        Ok(LayerNorm {
            gain: self.vector(&format!("{prefix}.weight"), width)?,
            bias: self.vector(&format!("{prefix}.bias"), width)?,
        })
    }
}

#[inline(always)]
fn layer_norm(rows: &mut [f32], norm: &LayerNorm, eps: f32) {
    let width = norm.gain.len();
    for row in rows.chunks_exact_mut(width) {
        let mean = row.iter().sum::<f32>() / width as f32;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
        let inverse = 1.0 / (variance + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gain).zip(&norm.bias) {
            *v = (*v - mean) * inverse * g + b;
        }
    }
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight running sums let the compiler keep them in vector lanes.
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[inline(always)]
fn softmax(values: &mut [f32]) {
    let largest = values.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    let mut total = 0.0;
    for v in values.iter_mut() {
        *v = exp(*v - largest);
        total += *v;
    }
    values.iter_mut().for_each(|v| *v /= total);
}

/// The exact GELU, `x · Φ(x)`, as the model was trained with.
#[inline(always)]
fn gelu(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The error function to within 1.5e-7 (Abramowitz and Stegun, 7.1.26): plain arithmetic
/// and one exponential, so a loop of it vectorises.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let polynomial = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - polynomial * exp(-a * a)).copysign(x)
}

/// `e^x` to within a few units in the last place for the arguments met here, without a
/// library call: `2^n · 2^f` with the fraction's power from its Taylor series.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let t = x.clamp(-87.0, 88.0) * std::f32::consts::LOG2_E;
    let n = round(t);
    let f = t - n;
    // ln(2)^k / k!, the Taylor series of 2^f = e^(f·ln 2).
    const TAYLOR: [f32; 7] = [
        1.0,
        std::f32::consts::LN_2,
        0.240_226_5,
        0.055_504_11,
        0.009_618_129,
        0.001_333_355_8,
        0.000_154_035_3,
    ];
    let mut power = TAYLOR[6];
    for c in TAYLOR[..6].iter().rev() {
        power = power * f + c;
    }
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    power * scale
}

/// Rounds to the nearest integer (ties to even) for |x| < 2²²: adding and taking away
/// 1.5 · 2²³ leaves no bits for a fraction. Unlike `f32::round`, which the baseline x86-64
/// target calls a library function for, this vectorises.
#[inline(always)]
pub(crate) fn round(x: f32) -> f32 {
    const SHIFTER: f32 = 12_582_912.0;
    (x + SHIFTER) - SHIFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library_over_the_range_used() {
        // Below -80 the results are subnormal, where relative error means little.
        for i in -800..=880 {
            let x = i as f32 / 10.0;
            let relative = (exp(x) - x.exp()).abs() / x.exp();
            // Rounding x·log2(e) to a float costs relative error in proportion to |x|.
            assert!(
                relative < 1e-6 + x.abs() * 1e-7,
                "exp({x}): {} against {}",
                exp(x),
                x.exp()
            );
        }
    }

    #[test]
    fn round_goes_to_the_nearest_integer() {
        for (x, rounded) in [
            (0.4, 0.0),
            (0.6, 1.0),
            (-0.6, -1.0),
            (126.7, 127.0),
            (2.5, 2.0),
        ] {
            assert_eq!(round(x), rounded, "round({x})");
        }
    }

    #[test]
    fn erf_is_close_to_its_known_values() {
        let known = [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
        ];
        for (x, value) in known {
            assert!((erf(x) - value).abs() < 2e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + value).abs() < 2e-7, "erf(-{x}) = {}", erf(-x));
        }
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_scores() {
        let mut values = vec![1000.0, 999.0, -1000.0];
        softmax(&mut values);
        assert!((values.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(values[0] > values[1] && values[2] < 1e-30, "{values:?}");
    }

    #[test]
    fn layer_norm_centres_and_scales_each_row() {
        let norm = LayerNorm {
            gain: vec![1.0; 4],
            bias: vec![0.0; 4],
        };
        let mut rows = vec![1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0];
        layer_norm(&mut rows, &norm, 1e-12);
        let first = &rows[..4];
        assert!(first.iter().sum::<f32>().abs() < 1e-5);
        assert!((first.iter().map(|v| v * v).sum::<f32>() / 4.0 - 1.0).abs() < 1e-4);
        assert!(
            rows[4..].iter().all(|v| *v == 0.0),
            "a constant row becomes zeros"
        );
    }
}
