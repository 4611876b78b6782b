//! Loading all-MiniLM-L6-v2 and turning texts into unit vectors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::install::{read_tuning_record, TuningRecord};
use crate::int8::Kernel;
use crate::quantized::{QuantizedBert, Shape};
use crate::{EmbedError, DIMENSIONS, MAX_TOKENS, MODEL_NAME};

/// Texts run through the model together. Larger batches amortise the per-call overhead but
/// pad more; 32 is where the CPU time per text stops falling for short questions.
const BATCH_SIZE: usize = 32;

/// How the encoder does its arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats throughout: the reference model's vectors to within 1e-4.
    Exact,
    /// 8-bit weights in the matrix products, by hand-written code that runs one text at a
    /// time, with vectors within a cosine of about 0.995 of the exact ones. About 3.5 times
    /// faster with AVX-512 VNNI, and faster too with AVX2 alone; without AVX2 it is correct
    /// but slow.
    Int8,
}

impl Precision {
    /// [`Precision::Int8`] where the CPU multiplies small integers quickly (AVX-512 VNNI
    /// or AVX2), else exact.
    pub fn fastest_available() -> Self {
        match Kernel::detect() {
            Kernel::Vnni | Kernel::Avx2 => Self::Int8,
            Kernel::Portable => Self::Exact,
        }
    }
}

/// Set to `avx2` or `portable` to run the 8-bit pass with a slower kernel than the CPU
/// offers, to compare them on one machine. Unset, or a kernel the CPU lacks, means the
/// fastest.
const KERNEL_VARIABLE: &str = "FRONTDESK_EMBED_KERNEL";

fn kernel() -> Kernel {
    let asked = match std::env::var(KERNEL_VARIABLE).as_deref() {
        Ok("avx2") => Kernel::Avx2,
        Ok("portable") => Kernel::Portable,
        _ => return Kernel::detect(),
    };
    match asked.runs_here() {
        true => asked,
        false => Kernel::detect(),
    }
}

enum Runtime {
    Exact { model: BertModel, device: Device },
    Int8(QuantizedBert),
}

/// all-MiniLM-L6-v2 on the CPU. Load it once and share it: it is `Send + Sync`, and
/// [`SentenceEmbedder::embed`] takes `&self`, so one instance serves every thread.
pub struct SentenceEmbedder {
    runtime: Runtime,
    tokenizer: Tokenizer,
    /// How the weights were tuned, when they are not the published ones.
    tuning: Option<TuningRecord>,
    /// The model's own workers, so that embedding neither competes for nor waits on the
    /// global rayon pool that training and imports use, and so its width is ours to set.
    workers: rayon::ThreadPool,
}

impl SentenceEmbedder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir`, using as
    /// many threads as this process may run on and the fastest precision this CPU offers.
    /// The files are not checksummed here, as hashing 91 MB would slow every start;
    /// [`crate::verify_model`] does that.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        Self::load_with(dir, Precision::fastest_available())
    }

    /// Like [`SentenceEmbedder::load`], in the given precision.
    pub fn load_with(dir: &Path, precision: Precision) -> Result<Self, EmbedError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::load_with_threads(dir, threads, precision)
    }

    /// Like [`SentenceEmbedder::load_with`], with the number of threads one embedding call
    /// may use. One thread is best when many requests embed at once (each gets a core);
    /// more only shortens a single call, and only for long texts or batches.
    pub fn load_with_threads(
        dir: &Path,
        threads: usize,
        precision: Precision,
    ) -> Result<Self, EmbedError> {
        let config_path = dir.join("config.json");
        let raw_config = read_json(&config_path)?;
        let config: Config =
            serde_json::from_value(raw_config.clone()).map_err(|err| EmbedError::BrokenFile {
                path: config_path.clone(),
                reason: err.to_string(),
            })?;
        let tokenizer = read_tokenizer(&dir.join("tokenizer.json"))?;
        let tuning = read_tuning_record(dir)?;
        let device = Device::Cpu;
        let weights_path = dir.join("model.safetensors");
        let weights = read_file(&weights_path)?;
        let broken = |err: candle_core::Error| EmbedError::BrokenFile {
            path: weights_path.clone(),
            reason: err.to_string(),
        };
        let tensors = candle_core::safetensors::load_buffer(&weights, &device).map_err(broken)?;
        let int8_shape = Shape::from_config(&raw_config);
        let runtime = match (precision, int8_shape) {
            (Precision::Int8, Some(shape)) => Runtime::Int8(QuantizedBert::new(
                shape,
                &tensors,
                &weights_path,
                kernel(),
            )?),
            _ => {
                let tensors = transpose_once(tensors).map_err(broken)?;
                let variables = VarBuilder::from_tensors(tensors, DType::F32, &device);
                let model = BertModel::load(variables, &config).map_err(broken)?;
                Runtime::Exact { model, device }
            }
        };
        let workers = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("embed-{i}"))
            .build()?;
        Ok(Self {
            runtime,
            tokenizer,
            tuning,
            workers,
        })
    }

    /// How this instance does its arithmetic. A model whose layers do not pack into 8-bit
    /// tiles runs exactly even when asked for [`Precision::Int8`].
    pub fn precision(&self) -> Precision {
        match self.runtime {
            Runtime::Exact { .. } => Precision::Exact,
            Runtime::Int8(_) => Precision::Int8,
        }
    }

    /// The name vectors from this instance are stored under: the model's, marked when the
    /// precision makes them differ from the exact model's, so the two are never compared.
    /// Tuned weights have a name of their own ([`TuningRecord::model_name`]).
    pub fn name(&self) -> String {
        let model = self
            .tuning
            .as_ref()
            .map_or_else(|| MODEL_NAME.to_string(), TuningRecord::model_name);
        match self.precision() {
            Precision::Exact => model,
            Precision::Int8 => format!("{model}/int8"),
        }
    }

    /// How the weights were tuned, or `None` for the published model.
    pub fn tuning(&self) -> Option<&TuningRecord> {
        self.tuning.as_ref()
    }

    /// Length of every vector [`SentenceEmbedder::embed`] returns.
    pub fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    /// One unit vector per text, in the order given. Texts longer than [`MAX_TOKENS`]
    /// tokens are embedded from their beginning.
    ///
    /// Known cost (release, one core, Banking77's questions through `frontdesk eval`):
    /// exact, 8–11 ms at the median and 28–36 ms at p99 (the longest questions, roughly
    /// half a millisecond per token); 8-bit with VNNI, 2.1–2.4 ms and 8.4–9.2 ms.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match &self.runtime {
            Runtime::Exact { model, device } => self.embed_exact(model, device, texts),
            Runtime::Int8(model) => self.embed_int8(model, texts),
        }
    }

    /// One text at a time, each on one of the workers: no padding to compute.
    fn embed_int8(
        &self,
        model: &QuantizedBert,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        use rayon::prelude::*;
        self.workers.install(|| {
            texts
                .par_iter()
                .map(|text| {
                    let encoding = self
                        .tokenizer
                        .encode(*text, true)
                        .map_err(|err| EmbedError::Tokenize(err.to_string()))?;
                    let mut vector = model.pooled(encoding.get_ids())?;
                    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                    vector.iter_mut().for_each(|v| *v /= norm);
                    Ok(vector)
                })
                .collect()
        })
    }

    fn embed_exact(
        &self,
        model: &BertModel,
        device: &Device,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Similar lengths share a batch so that little of each batch is padding. Characters
        // stand in for tokens here, which spares tokenizing every text twice.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].chars().count());

        let mut vectors = vec![Vec::new(); texts.len()];
        self.workers.install(|| {
            for batch in order.chunks(BATCH_SIZE) {
                let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
                let batch_vectors = self.embed_batch(model, device, &batch_texts)?;
                for (&i, vector) in batch.iter().zip(batch_vectors) {
                    vectors[i] = vector;
                }
            }
            Ok::<_, EmbedError>(())
        })?;
        Ok(vectors)
    }

    fn embed_batch(
        &self,
        model: &BertModel,
        device: &Device,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (ids, mask) = token_tensors(&self.tokenizer, texts, device)?;
        // One sentence per input, so every token is of the first segment.
        let token_types = ids.zeros_like()?;

        let hidden = model.forward(&ids, &token_types, Some(&mask))?;
        let pooled = mean_over_real_tokens(&hidden, &mask)?;
        let unit = normalise(&pooled)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}

/// The token ids of `texts` and their attention mask, each (texts, longest text's tokens),
/// the shorter texts padded.
pub(crate) fn token_tensors(
    tokenizer: &Tokenizer,
    texts: &[&str],
    device: &Device,
) -> Result<(Tensor, Tensor), EmbedError> {
    let encodings = tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|err| EmbedError::Tokenize(err.to_string()))?;
    let tokens = encodings.first().map_or(0, |e| e.get_ids().len());
    let mut ids = Vec::with_capacity(texts.len() * tokens);
    let mut mask = Vec::with_capacity(texts.len() * tokens);
    for encoding in &encodings {
        ids.extend_from_slice(encoding.get_ids());
        mask.extend_from_slice(encoding.get_attention_mask());
    }
    let shape = (texts.len(), tokens);
    Ok((
        Tensor::from_vec(ids, shape, device)?,
        Tensor::from_vec(mask, shape, device)?,
    ))
}

/// Lays out every weight matrix of a linear layer transposed in memory, seen through a
/// transposed view, so it keeps its (outputs, inputs) shape.
///
/// A linear layer multiplies by its weight's transpose. Stored as shipped, that is a
/// row-major matrix the multiplication kernel repacks on every call, all 10 million
/// weights per text; for a short question the repacking cost more than the arithmetic.
/// Laid out this way, the transpose the layer asks for is already contiguous and is
/// read in place. The numbers are the same; only their order in memory changes.
fn transpose_once(
    tensors: HashMap<String, Tensor>,
) -> candle_core::Result<HashMap<String, Tensor>> {
    tensors
        .into_iter()
        .map(|(name, tensor)| {
            // Embedding tables are looked up by row, so their rows stay contiguous.
            let linear = tensor.rank() == 2 && !name.contains("embeddings");
            let tensor = match linear {
                true => tensor.t()?.contiguous()?.t()?,
                false => tensor,
            };
            Ok((name, tensor))
        })
        .collect()
}

/// The average of each text's token vectors, padding left out: (batch, tokens, dims) and
/// a (batch, tokens) mask of ones and zeros give (batch, dims).
pub(crate) fn mean_over_real_tokens(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // The reference pipeline's floor; every text has at least its two special tokens, so
    // it only guards against a division by zero that cannot otherwise happen.
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)
}

/// Scales each row to length one, with the same floor on the norm as the reference.
pub(crate) fn normalise(vectors: &Tensor) -> candle_core::Result<Tensor> {
    let norms = vectors
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    vectors.broadcast_div(&norms)
}

fn read_file(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => EmbedError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => EmbedError::Read {
            path: path.to_path_buf(),
            source,
        },
    })
}

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, EmbedError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|err| EmbedError::BrokenFile {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })
}

/// The tokenizer as shipped pads every text to 128 tokens and cuts there. Padding to the
/// longest text of each batch gives the same vectors (padding is masked out) for far less
/// work on short questions, and the model handles up to 256 tokens, so it cuts there.
pub(crate) fn read_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
    let bytes = read_file(path)?;
    let broken = |reason: String| EmbedError::BrokenFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(|err| broken(err.to_string()))?;

    let padding = PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..tokenizer.get_padding().cloned().unwrap_or_default()
    };
    let truncation = TruncationParams {
        max_length: MAX_TOKENS,
        ..tokenizer.get_truncation().cloned().unwrap_or_default()
    };
    tokenizer.with_padding(Some(padding));
    tokenizer
        .with_truncation(Some(truncation))
        .map_err(|err| broken(err.to_string()))?;
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedder_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SentenceEmbedder>();
    }

    #[test]
    fn padding_does_not_move_the_mean() {
        let hidden =
            Tensor::new(&[[[1.0f32, 2.0], [3.0, 4.0], [100.0, 100.0]]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).unwrap();
        let mean = mean_over_real_tokens(&hidden, &mask).unwrap();
        assert_eq!(mean.to_vec2::<f32>().unwrap(), vec![vec![2.0, 3.0]]);
    }

    #[test]
    fn normalised_rows_have_length_one() {
        let rows = Tensor::new(&[[3.0f32, 4.0], [0.0, 0.0]], &Device::Cpu).unwrap();
        let unit = normalise(&rows).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(unit[0], vec![0.6, 0.8]);
        assert_eq!(
            unit[1],
            vec![0.0, 0.0],
            "an all-zero row stays zero, not NaN"
        );
    }
}
