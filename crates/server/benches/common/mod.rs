//! What the server's benches share: their settings from the environment, the Banking77
//! knowledge they serve and the questions they ask, and how latencies are summed up.

#![allow(dead_code)] // each bench uses its own part of this module

use std::path::PathBuf;

use frontdesk_knowledge::import::{read_faqs, read_tickets};
use frontdesk_knowledge::rules::default_sensitive_topics;
use frontdesk_knowledge::{Engine, EngineSettings, KnowledgeSnapshot};

/// A whole-number setting from the environment, or `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The knowledge to serve: `FRONTDESK_BENCH_DATA`, or Banking77 from the shared data.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("FRONTDESK_BENCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/banking77"),
    }
}

/// The engine trained on the FAQ and tickets in `dir`, from words alone, at the default
/// threshold.
pub fn train(dir: &std::path::Path) -> Engine {
    let snapshot = KnowledgeSnapshot {
        faqs: read_faqs(&dir.join("kb.jsonl")).expect("kb.jsonl imports"),
        tickets: read_tickets(&dir.join("tickets.jsonl")).expect("tickets.jsonl imports"),
        passages: Vec::new(),
        ..Default::default()
    };
    let settings = EngineSettings::new(0.9, default_sensitive_topics()).expect("rules compile");
    Engine::build(None, snapshot, "bench", settings, &|_| {}).expect("trains")
}

/// The customer messages of the dev questions in `dir`, to send as load.
pub fn questions(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("dev.jsonl")).expect("dev.jsonl is readable");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|row| row["message"].as_str().map(str::to_string))
        .collect()
}

/// The latency at quantile `q` (0 to 1) of latencies sorted fastest first.
pub fn percentile(sorted: &[std::time::Duration], q: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank]
}
