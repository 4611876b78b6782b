//! Load on `POST /api/v1/answer`: a real server on 127.0.0.1 with the Banking77
//! knowledge, and a bounded load generator in the same process (its own runtime)
//! keeping a fixed number of requests in flight for a fixed time.
//!
//! `cargo bench -p frontdesk-server --bench answer_load`
//!
//! Settings from the environment: `FRONTDESK_BENCH_DATA` (a folder with `kb.jsonl`,
//! `tickets.jsonl` and `dev.jsonl`; default `../shared/data/banking77` beside the
//! repository), `FRONTDESK_BENCH_CONCURRENCY` (32), `FRONTDESK_BENCH_SECONDS` (10).
//! Prints requests per second and the latency percentiles a client saw.
//!
//! On a two-core machine the generator takes CPU from the server, so the figures are a
//! floor for what the server does with a load generator elsewhere.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk_knowledge::import::{read_faqs, read_tickets};
use frontdesk_knowledge::rules::default_sensitive_topics;
use frontdesk_knowledge::{Engine, EngineSettings, KnowledgeSnapshot};
use frontdesk_server::{Server, ServerSettings};
use frontdesk_store::Store;
use tokio::net::TcpListener;

const BENCH_TOKEN: &str = "bench-token";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn data_dir() -> PathBuf {
    match std::env::var_os("FRONTDESK_BENCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/banking77"),
    }
}

fn questions(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("dev.jsonl")).expect("dev.jsonl is readable");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|row| row["message"].as_str().map(str::to_string))
        .collect()
}

fn main() {
    let dir = data_dir();
    let concurrency = setting("FRONTDESK_BENCH_CONCURRENCY", 32) as usize;
    let seconds = setting("FRONTDESK_BENCH_SECONDS", 10);

    let started = Instant::now();
    let snapshot = KnowledgeSnapshot {
        faqs: read_faqs(&dir.join("kb.jsonl")).expect("kb.jsonl imports"),
        tickets: read_tickets(&dir.join("tickets.jsonl")).expect("tickets.jsonl imports"),
        passages: Vec::new(),
    };
    let settings = EngineSettings::new(0.9, default_sensitive_topics()).expect("rules compile");
    let engine = Engine::build(None, snapshot, "bench", settings, &|_| {}).expect("trains");
    println!("trained on {} in {:.1?}", dir.display(), started.elapsed());
    let messages = Arc::new(questions(&dir));

    // The server gets a runtime of its own with both cores' worth of workers, as
    // `frontdesk serve` would.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (address, stop) = server_runtime.block_on(async {
        let store = Store::connect("sqlite::memory:")
            .await
            .expect("an in-memory store");
        // With a token the answer endpoint is not rate-limited per address: this is
        // the integration the limit trusts.
        let settings = ServerSettings {
            api_token: Some(BENCH_TOKEN.to_string()),
            ..ServerSettings::default()
        };
        let server = Server::new(store, settings).expect("settings are valid");
        server.set_engine(Arc::new(engine));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server.serve(listener, shutdown).await
        });
        (address, stop)
    });

    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let url = format!("http://{address}/api/v1/answer");
    let (latencies, errors, elapsed) = client_runtime.block_on(load(
        url,
        messages,
        concurrency,
        Duration::from_secs(seconds),
    ));
    let _ = stop.send(());

    report(latencies, errors, elapsed, concurrency);
}

/// Keeps `concurrency` requests in flight until `duration` has passed; returns every
/// successful request's latency, the number of failures and the time taken.
async fn load(
    url: String,
    messages: Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
) -> (Vec<Duration>, usize, Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let messages = messages.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut next = worker;
            while Instant::now() < deadline {
                let body = serde_json::json!({ "message": messages[next % messages.len()] });
                next += concurrency;
                let sent = Instant::now();
                let request = client.post(&url).bearer_auth(BENCH_TOKEN).json(&body);
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut done, failed) = worker.await.expect("a load worker finishes");
        latencies.append(&mut done);
        errors += failed;
    }
    (latencies, errors, started.elapsed())
}

fn report(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration, concurrency: usize) {
    latencies.sort();
    let percentile = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[rank]
    };
    println!(
        "POST /api/v1/answer, concurrency {concurrency}, {:.1} s: {} ok, {errors} failed, \
         {:.0} requests/s; latency p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
        elapsed.as_secs_f64(),
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
    );
}
