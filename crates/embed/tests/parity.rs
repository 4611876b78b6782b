//! The embedder against vectors computed independently from the same model files, and the
//! properties the knowledge base relies on: a text's vector does not depend on what it is
//! batched with, and long texts are cut rather than refused.
//!
//! Needs the installed model: set FRONTDESK_TEST_MODEL_DIR to a folder holding its three
//! files (`frontdesk model install` puts them in `<data-dir>/models/all-MiniLM-L6-v2`).

use std::path::{Path, PathBuf};

use frontdesk_embed::{EmbedError, Precision, SentenceEmbedder, DIMENSIONS};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/reference_vectors.json"
);

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FRONTDESK_TEST_MODEL_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!(
            "skipped: set FRONTDESK_TEST_MODEL_DIR to a folder with all-MiniLM-L6-v2's \
             model.safetensors, tokenizer.json and config.json (`frontdesk model install` \
             or scripts/install-model.sh installs them) to run the model tests"
        );
    }
    dir
}

fn load(dir: &Path, precision: Precision) -> SentenceEmbedder {
    let embedder = SentenceEmbedder::load_with(dir, precision)
        .unwrap_or_else(|err| panic!("FRONTDESK_TEST_MODEL_DIR is set but: {err}"));
    assert_eq!(
        embedder.precision(),
        precision,
        "all-MiniLM-L6-v2 runs in both precisions"
    );
    embedder
}

const BOTH: [Precision; 2] = [Precision::Exact, Precision::Int8];

struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(REFERENCE).expect("the reference vectors are test data");
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference is JSON");
    assert_eq!(json["model"], "all-MiniLM-L6-v2");
    let sentences = serde_json::from_value(json["sentences"].clone()).expect("sentences");
    let vectors = serde_json::from_value(json["vectors"].clone()).expect("vectors");
    Reference { sentences, vectors }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn vectors_match_the_reference_implementation() {
    let Some(dir) = model_dir() else { return };
    let embedder = load(&dir, Precision::Exact);
    let reference = reference();
    let sentences: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();

    let vectors = embedder.embed(&sentences).expect("embedding works");

    assert_eq!(vectors.len(), reference.vectors.len());
    let (mut worst_cosine, mut worst_diff) = (1.0f64, 0.0f32);
    for ((sentence, ours), theirs) in sentences.iter().zip(&vectors).zip(&reference.vectors) {
        assert_eq!(ours.len(), DIMENSIONS);
        let similarity = cosine(ours, theirs);
        let diff = max_abs_diff(ours, theirs);
        assert!(
            similarity >= 0.9999 && diff <= 1e-4,
            "{sentence:?}: cosine {similarity:.6}, largest difference {diff:e}"
        );
        worst_cosine = worst_cosine.min(similarity);
        worst_diff = worst_diff.max(diff);
    }
    eprintln!("parity: lowest cosine {worst_cosine:.7}, largest difference {worst_diff:e}");
}

#[test]
fn int8_vectors_stay_close_to_the_reference() {
    let Some(dir) = model_dir() else { return };
    let embedder = load(&dir, Precision::Int8);
    assert_eq!(embedder.name(), "all-MiniLM-L6-v2/int8");
    let reference = reference();
    let sentences: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();

    let vectors = embedder.embed(&sentences).expect("embedding works");

    let mut worst = 1.0f64;
    for ((sentence, ours), theirs) in sentences.iter().zip(&vectors).zip(&reference.vectors) {
        let similarity = cosine(ours, theirs);
        // Rounding weights and activations to 8 bits moves each vector a little; what
        // matters is that it stays far nearer its exact self than any other sentence is.
        // Measured lowest: 0.982, on "ok", where three tokens leave little to average
        // the rounding out; full questions stay above 0.995.
        assert!(similarity >= 0.98, "{sentence:?}: cosine {similarity:.5}");
        worst = worst.min(similarity);
    }
    eprintln!("int8: lowest cosine to the reference {worst:.5}");
}

#[test]
fn a_text_gets_the_same_vector_alone_and_in_a_batch() {
    let Some(dir) = model_dir() else { return };
    let reference = reference();
    let sentences: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    for precision in BOTH {
        let embedder = load(&dir, precision);
        let together = embedder.embed(&sentences).expect("batch");
        for (sentence, batched) in sentences.iter().zip(&together) {
            let alone = embedder.embed(&[sentence]).expect("single");
            // Padding is masked out, so only the order of float additions may differ
            // between a padded batch and a text alone.
            let diff = max_abs_diff(&alone[0], batched);
            assert!(
                diff <= 1e-5,
                "{precision:?}: {sentence:?} moved by {diff:e} when batched"
            );
        }
    }
}

#[test]
fn texts_longer_than_the_model_reads_are_cut_at_256_tokens() {
    let Some(dir) = model_dir() else { return };
    // About 400 tokens; only the first 256 (with the two special ones) are read, so adding
    // more words at the end must not change the vector.
    let long = "my card payment was declined twice at the shop today ".repeat(40);
    let longer = format!("{long} and the cashier asked me to pay in cash instead");
    for precision in BOTH {
        let embedder = load(&dir, precision);
        let vectors = embedder.embed(&[&long, &longer]).expect("long texts embed");

        let norm: f32 = vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "{precision:?}: unit length, got {norm}"
        );
        assert!(
            max_abs_diff(&vectors[0], &vectors[1]) <= 1e-5,
            "{precision:?}"
        );
    }
}

#[test]
fn many_texts_come_back_in_the_order_given() {
    let Some(dir) = model_dir() else { return };
    // More than one batch, with lengths out of order, so sorting inside is exercised.
    let texts: Vec<String> = (0..70)
        .map(|i| format!("question {i} {}", "about my account ".repeat(i % 7)))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    for precision in BOTH {
        let embedder = load(&dir, precision);
        let together = embedder.embed(&texts).expect("embedding works");

        for i in [0, 33, 69] {
            let alone = embedder.embed(&[texts[i]]).expect("single");
            assert!(
                max_abs_diff(&alone[0], &together[i]) <= 1e-5,
                "{precision:?}: text {i} out of place"
            );
        }
        assert!(embedder.embed(&[]).expect("nothing to embed").is_empty());
    }
}

#[test]
fn loading_from_an_empty_folder_names_the_missing_file() {
    let empty = tempfile::tempdir().expect("temp dir");
    let err = SentenceEmbedder::load(empty.path())
        .err()
        .expect("nothing to load");
    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn a_broken_config_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.json"), "{ not json").expect("write");
    let err = SentenceEmbedder::load(dir.path())
        .err()
        .expect("cannot load");
    assert!(matches!(err, EmbedError::BrokenFile { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");
}
