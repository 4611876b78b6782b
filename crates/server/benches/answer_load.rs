//! Load on a real server on 127.0.0.1 with the Banking77 knowledge, from a bounded load
//! generator in the same process (its own runtime) keeping a fixed number of requests in
//! flight for a fixed time, in two rounds:
//!
//! 1. `POST /api/v1/answer`, the stateless endpoint;
//! 2. the widget's round trip: each client opens a conversation and posts customer
//!    messages to it one after another; a post returns once the message is stored and
//!    the assistant's reply is stored too, so its latency is message-in to reply-out
//!    (an SQLite file on disk, as `frontdesk serve` uses by default).
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

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{data_dir, percentile, questions, setting};
use frontdesk_server::{RateLimits, Server, ServerSettings};
use frontdesk_store::Store;
use tokio::net::TcpListener;

const BENCH_TOKEN: &str = "bench-token";

fn main() {
    let dir = data_dir();
    let concurrency = setting("FRONTDESK_BENCH_CONCURRENCY", 32) as usize;
    let seconds = setting("FRONTDESK_BENCH_SECONDS", 10);

    let started = Instant::now();
    let engine = common::train(&dir);
    println!("trained on {} in {:.1?}", dir.display(), started.elapsed());
    let messages = Arc::new(questions(&dir));

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let database = format!("sqlite://{}", scratch.path().join("bench.db").display());
    // The server gets a runtime of its own with both cores' worth of workers, as
    // `frontdesk serve` would.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (address, stop) = server_runtime.block_on(async {
        let store = Store::connect(&database).await.expect("an SQLite store");
        // With a token the answer endpoint is not rate-limited per address (the token
        // marks a trusted integration), and the widget's limits are raised out of the
        // way: they are for customers, not for a load generator.
        let settings = ServerSettings {
            api_token: Some(BENCH_TOKEN.to_string()),
            rate_limits: RateLimits {
                widget_requests_per_address: NonZeroU32::MAX,
                messages_per_conversation: NonZeroU32::MAX,
            },
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
    let duration = Duration::from_secs(seconds);
    let base = format!("http://{address}");
    let answers =
        client_runtime.block_on(load(&base, &messages, concurrency, duration, Round::Answer));
    report("POST /api/v1/answer", answers, concurrency);
    let widget =
        client_runtime.block_on(load(&base, &messages, concurrency, duration, Round::Widget));
    report("widget message to stored reply", widget, concurrency);
    let _ = stop.send(());
}

#[derive(Clone, Copy)]
enum Round {
    Answer,
    Widget,
}

/// What one round measured.
struct Measured {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

/// Opens a widget conversation and returns the path its messages are posted to.
async fn open_conversation(client: &reqwest::Client, base: &str) -> Option<String> {
    let url = format!("{base}/api/v1/widget/conversations");
    let created: serde_json::Value = client.post(url).send().await.ok()?.json().await.ok()?;
    let token = created["token"].as_str()?;
    Some(format!(
        "{base}/api/v1/widget/conversations/{token}/messages"
    ))
}

/// Keeps `concurrency` requests in flight until `duration` has passed; returns every
/// successful request's latency, the number of failures and the time taken.
async fn load(
    base: &str,
    messages: &Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
    round: Round,
) -> Measured {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let base = base.to_string();
        let messages = messages.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut next = worker;
            let url = match round {
                Round::Answer => format!("{base}/api/v1/answer"),
                Round::Widget => match open_conversation(&client, &base).await {
                    Some(url) => url,
                    None => return (latencies, 1),
                },
            };
            while Instant::now() < deadline {
                let text = &messages[next % messages.len()];
                let body = match round {
                    Round::Answer => serde_json::json!({ "message": text }),
                    Round::Widget => serde_json::json!({ "text": text }),
                };
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
    Measured {
        latencies,
        errors,
        elapsed: started.elapsed(),
    }
}

fn report(what: &str, measured: Measured, concurrency: usize) {
    let Measured {
        mut latencies,
        errors,
        elapsed,
    } = measured;
    latencies.sort();
    let percentile = |q: f64| percentile(&latencies, q);
    println!(
        "{what}, concurrency {concurrency}, {:.1} s: {} ok, {errors} failed, \
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
