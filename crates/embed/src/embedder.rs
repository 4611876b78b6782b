//! Loading all-MiniLM-L6-v2 and turning texts into unit vectors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{EmbedError, DIMENSIONS, MAX_TOKENS};

/// Texts run through the model together. Larger batches amortise the per-call overhead but
/// pad more; 32 is where the CPU time per text stops falling for short questions.
const BATCH_SIZE: usize = 32;

/// all-MiniLM-L6-v2 on the CPU. Load it once and share it: it is `Send + Sync`, and
/// [`SentenceEmbedder::embed`] takes `&self`, so one instance serves every thread.
pub struct SentenceEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    /// The model's own workers, so that embedding neither competes for nor waits on the
    /// global rayon pool that training and imports use, and so its width is ours to set.
    workers: rayon::ThreadPool,
}

impl SentenceEmbedder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir`, using as
    /// many threads as this process may run on. The files are not checksummed here, as
    /// hashing 91 MB would slow every start; [`crate::verify_model`] does that.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::load_with_threads(dir, threads)
    }

    /// Like [`SentenceEmbedder::load`], with the number of threads one embedding call may
    /// use. One thread is best when many requests embed at once (each gets a core); more
    /// only shortens a single call, and only for long texts or batches.
    pub fn load_with_threads(dir: &Path, threads: usize) -> Result<Self, EmbedError> {
        let config = read_config(&dir.join("config.json"))?;
        let tokenizer = read_tokenizer(&dir.join("tokenizer.json"))?;
        let device = Device::Cpu;
        let weights_path = dir.join("model.safetensors");
        let weights = read_file(&weights_path)?;
        let broken = |err: candle_core::Error| EmbedError::BrokenFile {
            path: weights_path.clone(),
            reason: err.to_string(),
        };
        let tensors = candle_core::safetensors::load_buffer(&weights, &device).map_err(broken)?;
        let tensors = transpose_once(tensors).map_err(broken)?;
        let variables = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(variables, &config).map_err(broken)?;
        let workers = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("embed-{i}"))
            .build()?;
        Ok(Self {
            model,
            tokenizer,
            device,
            workers,
        })
    }

    /// Length of every vector [`SentenceEmbedder::embed`] returns.
    pub fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    /// One unit vector per text, in the order given. Texts longer than [`MAX_TOKENS`]
    /// tokens are embedded from their beginning.
    ///
    /// Known cost (release, one core, Banking77's questions through `frontdesk eval`):
    /// 8–10 ms at the median and 28–32 ms at p99, the longest questions, roughly half a
    /// millisecond per token. The matrix products dominate; 8-bit or bfloat16 weights
    /// are the way to go lower.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Similar lengths share a batch so that little of each batch is padding. Characters
        // stand in for tokens here, which spares tokenizing every text twice.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].chars().count());

        let mut vectors = vec![Vec::new(); texts.len()];
        self.workers.install(|| {
            for batch in order.chunks(BATCH_SIZE) {
                let batch_texts: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
                let batch_vectors = self.embed_batch(&batch_texts)?;
                for (&i, vector) in batch.iter().zip(batch_vectors) {
                    vectors[i] = vector;
                }
            }
            Ok::<_, EmbedError>(())
        })?;
        Ok(vectors)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
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
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        // One sentence per input, so every token is of the first segment.
        let token_types = ids.zeros_like()?;

        let hidden = self.model.forward(&ids, &token_types, Some(&mask))?;
        let pooled = mean_over_real_tokens(&hidden, &mask)?;
        let unit = normalise(&pooled)?;
        Ok(unit.to_vec2::<f32>()?)
    }
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
fn mean_over_real_tokens(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // The reference pipeline's floor; every text has at least its two special tokens, so
    // it only guards against a division by zero that cannot otherwise happen.
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)
}

/// Scales each row to length one, with the same floor on the norm as the reference.
fn normalise(vectors: &Tensor) -> candle_core::Result<Tensor> {
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

fn read_config(path: &Path) -> Result<Config, EmbedError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|err| EmbedError::BrokenFile {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })
}

/// The tokenizer as shipped pads every text to 128 tokens and cuts there. Padding to the
/// longest text of each batch gives the same vectors (padding is masked out) for far less
/// work on short questions, and the model handles up to 256 tokens, so it cuts there.
fn read_tokenizer(path: &Path) -> Result<Tokenizer, EmbedError> {
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
