//! Channel webhooks under load: signed WhatsApp deliveries posted to a real server on
//! 127.0.0.1 (SQLite file, Banking77 knowledge), each verified, parsed and stored before
//! its 200, answered by the assistant (until it hands a conversation to a person), and
//! every reply sent through the outbox to a
//! provider of our own on loopback that fails a share of the sends.
//!
//! `cargo bench -p frontdesk-server --bench webhooks`
//!
//! Settings from the environment: `FRONTDESK_BENCH_DATA` (as the other benches),
//! `FRONTDESK_BENCH_DELIVERIES` (5000), `FRONTDESK_BENCH_CONCURRENCY` (32),
//! `FRONTDESK_BENCH_FAILURES` (failed sends per hundred, 30), `FRONTDESK_BENCH_ANSWER`
//! (0: no assistant, so the intake alone is measured; 1). Prints deliveries per
//! second with their latency, how long the outbox took to drain, and whether every
//! reply went out exactly once; exits non-zero when one was lost or doubled.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
#[path = "../tests/http/provider.rs"]
mod provider;

use common::{data_dir, percentile, questions, setting};
use frontdesk_channels::ChannelConfig;
use frontdesk_core::Channel;
use frontdesk_server::{OutboxSettings, Server, ServerSettings};
use frontdesk_store::Store;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::net::TcpListener;

const APP_SECRET: &str = "bench-app-secret";

/// One delivery: message `n` from one of a few hundred customers.
fn delivery(n: usize, text: &str) -> (Vec<u8>, String) {
    let customer = format!("1555{:07}", n % 400);
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1555000000001"},
        "contacts": [{"profile": {"name": "Bench"}, "wa_id": customer}],
        "messages": [{"from": customer, "id": format!("wamid.bench{n}"),
                      "timestamp": "1697043223", "type": "text", "text": {"body": text}}]
    }}]}]});
    let body = serde_json::to_vec(&body).expect("JSON");
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("a key");
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

fn main() {
    let dir = data_dir();
    let deliveries = setting("FRONTDESK_BENCH_DELIVERIES", 5000) as usize;
    let concurrency = setting("FRONTDESK_BENCH_CONCURRENCY", 32) as usize;
    let failures = setting("FRONTDESK_BENCH_FAILURES", 30);
    let answering = setting("FRONTDESK_BENCH_ANSWER", 1) != 0;
    let engine = common::train(&dir);
    let questions = questions(&dir);

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let database = format!("sqlite://{}", scratch.path().join("bench.db").display());
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (address, store, provider, stop) = server_runtime.block_on(async {
        let provider = provider::MockProvider::start().await;
        provider.fail_at_rate(failures);
        let store = Store::connect(&database).await.expect("an SQLite store");
        let config = ChannelConfig::Whatsapp {
            app_secret: APP_SECRET.into(),
            verify_token: "bench".into(),
            access_token: "bench-access".into(),
            phone_number_id: "1555000000001".into(),
            api_base: provider.base.clone(),
        };
        let config = serde_json::to_string(&config).expect("JSON");
        let channel = store.add_channel(Channel::Whatsapp, "bench", &config).await;
        assert_eq!(channel.expect("a channel").id, 1);
        let settings = ServerSettings {
            outbox: OutboxSettings {
                first_retry: Duration::from_millis(50),
                longest_retry: Duration::from_millis(500),
                poll_interval: Duration::from_millis(50),
                max_attempts: 30,
                ..OutboxSettings::default()
            },
            ..ServerSettings::default()
        };
        let server = Server::new(store.clone(), settings).expect("settings are valid");
        // Without the assistant nothing is answered: what the intake alone sustains.
        if answering {
            server.set_engine(Arc::new(engine));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server.serve(listener, shutdown).await
        });
        (address, store, provider, stop)
    });

    let prepared: Vec<(Vec<u8>, String)> = (0..deliveries)
        .map(|n| delivery(n, &questions[n % questions.len()]))
        .collect();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let url = format!("http://{address}/webhooks/whatsapp/1");
    let started = Instant::now();
    let (latencies, errors) = client_runtime.block_on(post_all(&url, prepared, concurrency));
    let elapsed = started.elapsed();
    report(&latencies, errors, elapsed);

    // The assistant answers every message of a conversation it still has (a handoff
    // leaves the rest to a person): wait until the turns are done and the outbox is empty.
    let (stored, replies, (queued, sent, failed)) = server_runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut last = None;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let counts = counts(&store).await;
            let settled = last == Some(counts) && counts.2 .0 == 0;
            if settled || Instant::now() > deadline {
                return counts;
            }
            last = Some(counts);
        }
    });
    let accepted = provider.accepted().len() as i64;
    let calls = provider.calls().len() as i64;
    println!(
        "{stored} customer messages stored, {replies} replies; outbox drained {:.1?} after \
         the first delivery: {sent} sent, {failed} failed, {queued} still queued; the \
         provider took {calls} calls and refused {} ({failures} per hundred)",
        started.elapsed(),
        calls - accepted
    );
    let _ = stop.send(());
    let exact = stored == deliveries as i64
        && errors == 0
        && queued == 0
        && failed == 0
        && sent == replies
        && accepted == sent;
    println!(
        "every message stored once and every reply sent exactly once: {}",
        if exact { "yes" } else { "NO" }
    );
    if !exact {
        std::process::exit(1);
    }
}

/// Customer messages, replies to send, and the outbox's (queued, sent, failed).
async fn counts(store: &Store) -> (i64, i64, (i64, i64, i64)) {
    let filter = frontdesk_store::ConversationFilter::default();
    let mut stored = 0;
    let mut replies = 0;
    for conversation in store.conversations(&filter).await.expect("conversations") {
        let messages = store.messages(conversation.id, None, frontdesk_store::Readers::Customer);
        for message in messages.await.expect("messages") {
            match message.author {
                frontdesk_core::Author::Customer => stored += 1,
                _ => replies += 1,
            }
        }
    }
    (
        stored,
        replies,
        store.outbox_counts().await.expect("outbox counts"),
    )
}

async fn post_all(
    url: &str,
    prepared: Vec<(Vec<u8>, String)>,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::new();
    let work = Arc::new(tokio::sync::Mutex::new(prepared.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let work = work.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let next = work.lock().await.next();
                let Some((body, signature)) = next else { break };
                let started = Instant::now();
                let response = client
                    .post(&url)
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(started.elapsed())
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut some, failed) = task.await.expect("a load task");
        latencies.append(&mut some);
        errors += failed;
    }
    (latencies, errors)
}

fn report(latencies: &[Duration], errors: usize, elapsed: Duration) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| percentile(&sorted, q);
    println!(
        "webhook deliveries: {} taken in {elapsed:.2?} = {:.0}/s, {errors} errors; \
         latency p50 {:.1?} p99 {:.1?} max {:.1?}",
        sorted.len(),
        sorted.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
