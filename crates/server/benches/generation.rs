//! What phrasing answers with a language model costs the server, measured against a model
//! server of our own on loopback that answers at once (so that only our side is timed):
//!
//! 1. overhead per answer: `POST /api/v1/answer` one request at a time, on a server
//!    without a model and on one with the instant model, for the same answered questions;
//!    the difference of the two latency distributions is what generation adds (prompt,
//!    HTTP to the model, reading the stream, the guards, the usage row);
//! 2. first text to the widget: a model that waits `FIRST_TOKEN_DELAY` before its first
//!    token; the time from posting a customer message to the widget's first `draft` frame,
//!    less that delay, is how long our side takes to pass the model's first sentence on.
//!
//! `cargo bench -p frontdesk-server --bench generation`
//!
//! Settings from the environment: `FRONTDESK_BENCH_DATA` (default: Banking77 from the
//! shared data), `FRONTDESK_BENCH_REQUESTS` (2,000 per server), `FRONTDESK_BENCH_TURNS`
//! (200). The mock runs in the same process, so its own work counts as overhead: the
//! figures are an upper bound.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{data_dir, setting};
use frontdesk_core::DecisionKind;
use frontdesk_generate::mock::{MockModel, MockRequest, Reply};
use frontdesk_generate::GenerationSettings;
use frontdesk_knowledge::Engine;
use frontdesk_server::{RateLimits, Server, ServerSettings};
use frontdesk_store::Store;
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Frame;

const TOKEN: &str = "bench-token";
/// How long the slow model waits before its first token.
const FIRST_TOKEN_DELAY: Duration = Duration::from_millis(100);

/// The first sentence of the first source, cited, and one more: a faithful answer.
fn faithful(request: &MockRequest) -> Vec<String> {
    vec![
        format!("{} ", request.faithful_answer()),
        "I hope that helps.".to_string(),
    ]
}

fn instant(request: &MockRequest) -> Reply {
    Reply::Text {
        pieces: faithful(request),
        first_after: Duration::ZERO,
        between: Duration::ZERO,
        usage: true,
    }
}

fn delayed(request: &MockRequest) -> Reply {
    Reply::Text {
        pieces: faithful(request),
        first_after: FIRST_TOKEN_DELAY,
        between: Duration::ZERO,
        usage: true,
    }
}

fn main() {
    let dir = data_dir();
    let requests = setting("FRONTDESK_BENCH_REQUESTS", 2_000) as usize;
    let turns = setting("FRONTDESK_BENCH_TURNS", 200) as usize;
    let engine = Arc::new(common::train(&dir));
    let questions = answered_questions(&engine, &dir);
    println!(
        "{} answered questions from {}",
        questions.len(),
        dir.display()
    );

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let instant_model = MockModel::start(instant).await.expect("a mock model");
        let delayed_model = MockModel::start(delayed).await.expect("a mock model");
        let plain = start(&scratch, "plain", &engine, None).await;
        let phrased = start(&scratch, "phrased", &engine, Some(&instant_model)).await;
        let slow = start(&scratch, "slow", &engine, Some(&delayed_model)).await;

        let client = reqwest::Client::new();
        // Warm both servers' connections and code paths before timing.
        answer_latencies(&client, plain, &questions, 50).await;
        answer_latencies(&client, phrased, &questions, 50).await;
        let without = answer_latencies(&client, plain, &questions, requests).await;
        let with = answer_latencies(&client, phrased, &questions, requests).await;
        report("POST /api/v1/answer, no model", &without);
        report("POST /api/v1/answer, instant model", &with);
        println!(
            "overhead of generation: p50 {:.2} ms, p99 {:.2} ms",
            ms(percentile(&with, 0.5)) - ms(percentile(&without, 0.5)),
            ms(percentile(&with, 0.99)) - ms(percentile(&without, 0.99)),
        );

        let first_text = first_drafts(&client, slow, &questions, turns).await;
        report(
            "model's first token to the widget's first draft (less the model's delay)",
            &first_text,
        );
    });
}

/// Questions the engine answers (the ones a model is asked to phrase).
fn answered_questions(engine: &Engine, dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("dev.jsonl")).expect("dev.jsonl is readable");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|row| row["message"].as_str().map(str::to_string))
        .filter(|message| engine.decide(message).kind == DecisionKind::Answer)
        .collect()
}

async fn start(
    scratch: &tempfile::TempDir,
    name: &str,
    engine: &Arc<Engine>,
    model: Option<&MockModel>,
) -> SocketAddr {
    let database = format!(
        "sqlite://{}",
        scratch.path().join(format!("{name}.db")).display()
    );
    let store = Store::connect(&database).await.expect("an SQLite store");
    let generation = model.map(|model| GenerationSettings::new(model.base_url(), "mock-model"));
    let settings = ServerSettings {
        api_token: Some(TOKEN.to_string()),
        rate_limits: RateLimits {
            widget_requests_per_address: NonZeroU32::MAX,
            messages_per_conversation: NonZeroU32::MAX,
        },
        generation,
        ..ServerSettings::default()
    };
    let server = Server::new(store, settings).expect("settings are valid");
    server.set_engine(engine.clone());
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });
    address
}

async fn answer_latencies(
    client: &reqwest::Client,
    server: SocketAddr,
    questions: &[String],
    count: usize,
) -> Vec<Duration> {
    let url = format!("http://{server}/api/v1/answer");
    let mut latencies = Vec::with_capacity(count);
    for question in questions.iter().cycle().take(count) {
        let started = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "message": question }))
            .send()
            .await
            .expect("the server answers");
        assert!(response.status().is_success(), "{}", response.status());
        let _ = response.bytes().await;
        latencies.push(started.elapsed());
    }
    latencies
}

/// Posts `count` answered questions to one widget conversation, each time timing the
/// first draft frame on its socket.
async fn first_drafts(
    client: &reqwest::Client,
    server: SocketAddr,
    questions: &[String],
    count: usize,
) -> Vec<Duration> {
    let created: serde_json::Value = client
        .post(format!("http://{server}/api/v1/widget/conversations"))
        .send()
        .await
        .expect("a conversation")
        .json()
        .await
        .expect("JSON");
    let token = created["token"].as_str().expect("a token").to_string();
    let live = format!("ws://{server}/api/v1/widget/conversations/{token}/live");
    let (mut socket, _) = tokio_tungstenite::connect_async(live)
        .await
        .expect("a socket");
    let messages = format!("http://{server}/api/v1/widget/conversations/{token}/messages");

    let mut latencies = Vec::with_capacity(count);
    for question in questions.iter().cycle().take(count) {
        let started = Instant::now();
        let post = client
            .post(&messages)
            .json(&serde_json::json!({ "text": question }))
            .send();
        let first_draft = async {
            loop {
                let frame = socket.next().await.expect("the socket stays open");
                if let Ok(Frame::Text(text)) = frame {
                    if text.as_str().contains(r#""type":"draft""#) {
                        return started.elapsed();
                    }
                }
            }
        };
        let (posted, seen) = tokio::join!(post, first_draft);
        let _ = posted.expect("the message is posted").bytes().await;
        latencies.push(seen.saturating_sub(FIRST_TOKEN_DELAY));
        // Drain the rest of the turn's frames (further drafts, the stored messages).
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(20), socket.next()).await
        {
        }
    }
    let _ = socket.close(None).await;
    latencies
}

fn percentile(latencies: &[Duration], q: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn report(what: &str, latencies: &[Duration]) {
    println!(
        "{what}: {} samples, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.9)),
        ms(percentile(latencies, 0.99)),
        ms(percentile(latencies, 1.0)),
    );
}
