//! Tuning the encoder on labelled phrasings: it learns, it saves a model folder the
//! embedder loads under a name of its own, and that folder is checked like the published
//! one.
//!
//! Needs the installed model: set FRONTDESK_TEST_MODEL_DIR to a folder holding its three
//! files (`frontdesk model install` puts them in `<data-dir>/models/all-MiniLM-L6-v2`).

use std::path::PathBuf;

use frontdesk_embed::{
    tune, verify_model, EmbedError, Precision, SentenceEmbedder, TuningOptions, MODEL_NAME,
    TUNING_RECORD,
};

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FRONTDESK_TEST_MODEL_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!(
            "skipped: set FRONTDESK_TEST_MODEL_DIR to a folder with all-MiniLM-L6-v2's \
             files (`frontdesk model install` installs them) to run the tuning tests"
        );
    }
    dir
}

/// Three needs, four phrasings each. The first two share most of their words, which is
/// where the published model is least sure.
const PHRASINGS: [(&str, usize); 12] = [
    ("my card payment was declined", 0),
    ("why was my card declined at the shop", 0),
    ("the terminal refused my card", 0),
    ("card payment did not go through", 0),
    ("my card has not arrived yet", 1),
    ("when will my new card be delivered", 1),
    ("still waiting for the card you sent", 1),
    ("where is the card I ordered", 1),
    ("how do I reset my password", 2),
    ("I forgot my password", 2),
    ("cannot log in, password is wrong", 2),
    ("change the password of my account", 2),
];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Mean cosine between phrasings of the same need, minus the mean between phrasings of
/// different needs: how far apart the model holds the needs.
fn separation(embedder: &SentenceEmbedder) -> f32 {
    let texts: Vec<&str> = PHRASINGS.iter().map(|(text, _)| *text).collect();
    let vectors = embedder.embed(&texts).expect("embedding works");
    let (mut same, mut same_count, mut other, mut other_count) = (0.0, 0, 0.0, 0);
    for (i, (_, a)) in PHRASINGS.iter().enumerate() {
        for (j, (_, b)) in PHRASINGS.iter().enumerate().skip(i + 1) {
            let similarity = cosine(&vectors[i], &vectors[j]);
            if a == b {
                same += similarity;
                same_count += 1;
            } else {
                other += similarity;
                other_count += 1;
            }
        }
    }
    same / same_count as f32 - other / other_count as f32
}

fn texts_and_classes() -> (Vec<&'static str>, Vec<usize>) {
    PHRASINGS.iter().copied().unzip()
}

#[test]
fn tuning_holds_needs_further_apart_and_saves_a_checked_model() {
    let Some(base) = model_dir() else { return };
    let (texts, classes) = texts_and_classes();
    let options = TuningOptions {
        epochs: 4,
        learning_rate: 1e-4,
        batch_size: 4,
        seed: 1,
    };
    let steps = std::cell::Cell::new(0);
    let tuned = tune(&base, &texts, &classes, options, &|progress| {
        assert_eq!(progress.steps, 12, "4 epochs of 3 batches");
        steps.set(progress.step);
    })
    .expect("tuning works");
    assert_eq!(steps.get(), 12, "progress reaches the last step");
    assert!(
        tuned.last_epoch_loss < tuned.first_epoch_loss,
        "the loss falls: {} → {}",
        tuned.first_epoch_loss,
        tuned.last_epoch_loss
    );

    let scratch = tempfile::tempdir().expect("temp dir");
    let folder = scratch.path().join("tuned");
    let record = tuned.save(&base, &folder).expect("saving works");
    assert_eq!(record.examples, 12);
    assert_eq!(record.epochs, 4);

    let checked = verify_model(&folder).expect("the saved folder passes its check");
    let checked_record = checked.tuning.expect("the check reads the tuning record");
    assert_eq!(checked_record.model_sha256, record.model_sha256);

    let published = SentenceEmbedder::load_with(&base, Precision::Exact).expect("base loads");
    let retrained = SentenceEmbedder::load_with(&folder, Precision::Exact).expect("tuned loads");
    assert!(retrained
        .name()
        .starts_with(&format!("{MODEL_NAME}+tuned-")));
    assert_eq!(retrained.name(), record.model_name());
    assert_eq!(retrained.tuning().map(|t| t.examples), Some(12));
    assert!(published.tuning().is_none());
    let (before, after) = (separation(&published), separation(&retrained));
    assert!(
        after > before + 0.05,
        "the tuned model separates the needs more: {before:.3} → {after:.3}"
    );

    // Once saved, the weights are the record's: a changed byte fails the check.
    let weights = folder.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).expect("read weights");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, bytes).expect("write weights");
    assert!(matches!(
        verify_model(&folder),
        Err(EmbedError::ChecksumMismatch { .. })
    ));
    std::fs::write(folder.join(TUNING_RECORD), "{not json").expect("write record");
    assert!(matches!(
        verify_model(&folder),
        Err(EmbedError::BrokenFile { .. })
    ));
}

#[test]
fn the_trainable_pass_computes_the_published_vectors() {
    let Some(base) = model_dir() else { return };
    let (texts, classes) = texts_and_classes();
    // A learning rate of zero leaves every weight as it was, so the saved model is the
    // published one passed through the trainer's layout and back.
    let options = TuningOptions {
        epochs: 1,
        learning_rate: 0.0,
        batch_size: 6,
        seed: 1,
    };
    let tuned = tune(&base, &texts, &classes, options, &|_| {}).expect("tuning works");
    let scratch = tempfile::tempdir().expect("temp dir");
    let folder = scratch.path().join("unchanged");
    tuned.save(&base, &folder).expect("saving works");

    let published = SentenceEmbedder::load_with(&base, Precision::Exact).expect("base loads");
    let copy = SentenceEmbedder::load_with(&folder, Precision::Exact).expect("copy loads");
    let expected = published.embed(&texts).expect("embedding works");
    let actual = copy.embed(&texts).expect("embedding works");
    for ((text, a), b) in texts.iter().zip(&expected).zip(&actual) {
        assert!(cosine(a, b) > 0.99999, "{text}: {}", cosine(a, b));
    }
}

#[test]
fn tuning_refuses_labels_that_do_not_match_the_texts() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let options = TuningOptions::default();
    let refused = tune(scratch.path(), &["one", "two"], &[0], options, &|_| {});
    assert!(matches!(refused, Err(EmbedError::Tuning(message)) if message.contains("2 texts")));
    let refused = tune(scratch.path(), &[], &[], options, &|_| {});
    assert!(matches!(refused, Err(EmbedError::Tuning(_))));
    let zero_epochs = TuningOptions {
        epochs: 0,
        ..options
    };
    let refused = tune(scratch.path(), &["one"], &[0], zero_epochs, &|_| {});
    assert!(matches!(refused, Err(EmbedError::Tuning(message)) if message.contains("epoch")));
    let backwards = TuningOptions {
        learning_rate: -1e-4,
        ..options
    };
    let refused = tune(scratch.path(), &["one"], &[0], backwards, &|_| {});
    assert!(matches!(refused, Err(EmbedError::Tuning(message)) if message.contains("learning")));
}
