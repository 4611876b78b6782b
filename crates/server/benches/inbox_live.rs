//! The inbox with many agents at once: each of `FRONTDESK_BENCH_AGENTS` (50) members holds
//! the live event stream open (`GET /api/v1/events`), as the inbox page does, and reloads
//! the conversation list on every event, as the page does. Customers then write through
//! the widget, one message after another (`FRONTDESK_BENCH_MESSAGES`, 200, ten to a
//! conversation), each answered by the assistant (Banking77 knowledge, SQLite file),
//! everything over HTTP on loopback.
//!
//! `cargo bench -p frontdesk-server --bench inbox_live`
//!
//! Prints how long after a customer's message was accepted every agent had heard of it
//! (median, 99th percentile, worst), how long the list reloads took under that load, and
//! whether any agent missed a message; exits non-zero when one did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{data_dir, percentile, questions, setting};
use frontdesk_core::Role;
use frontdesk_server::auth::{api_token_hash, hash_password, new_api_token};
use frontdesk_server::{RateLimits, Server, ServerSettings};
use frontdesk_store::Store;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// How long one message may take to reach every agent before it counts as missed.
const PATIENCE: Duration = Duration::from_secs(10);
const MESSAGES_PER_CONVERSATION: usize = 10;

/// When each agent first heard of each message, by the message's marker.
type Heard = Arc<Mutex<HashMap<usize, Vec<Instant>>>>;

fn main() {
    let agents = setting("FRONTDESK_BENCH_AGENTS", 50) as usize;
    let messages = setting("FRONTDESK_BENCH_MESSAGES", 200) as usize;
    let dir = data_dir();
    let engine = common::train(&dir);
    let questions = questions(&dir);

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let database = format!("sqlite://{}", scratch.path().join("bench.db").display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let store = Store::connect(&database).await.expect("an SQLite store");
        let hash = hash_password("a bench password").expect("a hash");
        let mut tokens = Vec::with_capacity(agents);
        for n in 0..agents {
            let email = format!("agent{n}@bench.example");
            store
                .add_user(&email, Role::Agent, &hash)
                .await
                .expect("an agent");
            let token = new_api_token();
            let hashed = api_token_hash(&token);
            store
                .add_api_token(&email, &hashed, None, None)
                .await
                .expect("a token");
            tokens.push(token);
        }

        // Every request comes from 127.0.0.1: the per-address limit would stop the load.
        let generous = std::num::NonZeroU32::new(1_000_000).expect("not zero");
        let settings = ServerSettings {
            rate_limits: RateLimits {
                widget_requests_per_address: generous,
                messages_per_conversation: generous,
            },
            ..ServerSettings::default()
        };
        let server = Server::new(store.clone(), settings).expect("settings are valid");
        server.set_engine(Arc::new(engine));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server.serve(listener, shutdown).await
        });

        let heard: Heard = Arc::default();
        let reloads: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let mut listening = Vec::with_capacity(agents);
        for token in &tokens {
            listening.push(tokio::spawn(listen(
                base.clone(),
                token.clone(),
                heard.clone(),
                reloads.clone(),
            )));
        }
        // Every stream open before the first message.
        tokio::time::sleep(Duration::from_secs(1)).await;

        let client = reqwest::Client::new();
        let mut all_heard = Vec::with_capacity(messages);
        let mut missed = 0;
        let mut token = String::new();
        let started = Instant::now();
        for n in 0..messages {
            if n % MESSAGES_PER_CONVERSATION == 0 {
                token = open(&client, &base).await;
            }
            let text = format!("{} [bench {n}]", questions[n % questions.len()]);
            let path = format!("{base}/api/v1/widget/conversations/{token}/messages");
            let sent = Instant::now();
            let response = client
                .post(path)
                .json(&json!({ "text": text }))
                .send()
                .await
                .expect("the server answers");
            assert!(response.status().is_success(), "{}", response.status());
            match every_agent_heard(&heard, n, agents, sent).await {
                Some(latest) => all_heard.push(latest.duration_since(sent)),
                None => missed += 1,
            }
        }
        let elapsed = started.elapsed();

        for task in listening {
            task.abort();
        }
        let _ = stop.send(());
        let _ = serving.await;
        store.close().await;

        all_heard.sort();
        let mut reloads = reloads.lock().expect("not poisoned").clone();
        reloads.sort();
        println!(
            "{agents} agents, {messages} customer messages in {elapsed:.1?}, each answered by \
             the assistant"
        );
        println!(
            "every agent heard a message: p50 {:.1?}  p99 {:.1?}  max {:.1?}",
            percentile(&all_heard, 0.5),
            percentile(&all_heard, 0.99),
            all_heard.last().copied().unwrap_or_default(),
        );
        println!(
            "{} list reloads under that load: p50 {:.1?}  p99 {:.1?}  max {:.1?}",
            reloads.len(),
            percentile(&reloads, 0.5),
            percentile(&reloads, 0.99),
            reloads.last().copied().unwrap_or_default(),
        );
        println!("messages some agent missed within {PATIENCE:?}: {missed}");
        if missed > 0 {
            std::process::exit(1);
        }
    });
}

/// Opens a widget conversation and returns its token.
async fn open(client: &reqwest::Client, base: &str) -> String {
    let created: Value = client
        .post(format!("{base}/api/v1/widget/conversations"))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON");
    created["token"].as_str().expect("a token").to_string()
}

/// One agent's inbox: the event stream, noting each bench message heard, and a list
/// reload after every event, as the page does.
async fn listen(base: String, token: String, heard: Heard, reloads: Arc<Mutex<Vec<Duration>>>) {
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the event stream opens");
    assert!(response.status().is_success(), "{}", response.status());
    let mut stream = response.bytes_stream();
    let mut pending = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        // Events end with a blank line; a chunk may hold several or part of one.
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if let Some(n) = marker(&event) {
                let at = Instant::now();
                heard
                    .lock()
                    .expect("not poisoned")
                    .entry(n)
                    .or_default()
                    .push(at);
            }
            if event.contains("event: message") || event.contains("event: conversation") {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                let reloads = reloads.clone();
                tokio::spawn(async move {
                    let asked = Instant::now();
                    let listed = client
                        .get(format!("{base}/api/v1/conversations?status=bot"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    if let Ok(response) = listed {
                        if response.bytes().await.is_ok() {
                            reloads.lock().expect("not poisoned").push(asked.elapsed());
                        }
                    }
                });
            }
        }
    }
}

/// The bench number in a customer's message event: "[bench N]".
fn marker(event: &str) -> Option<usize> {
    if !event.contains("event: message") || !event.contains("\"author\":\"customer\"") {
        return None;
    }
    let start = event.find("[bench ")? + "[bench ".len();
    let digits: String = event[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// When the last of `agents` heard message `n`, once all have; `None` if some had not
/// within [`PATIENCE`].
async fn every_agent_heard(
    heard: &Heard,
    n: usize,
    agents: usize,
    sent: Instant,
) -> Option<Instant> {
    loop {
        {
            let heard = heard.lock().expect("not poisoned");
            if let Some(times) = heard.get(&n).filter(|times| times.len() >= agents) {
                return times.iter().max().copied();
            }
        }
        if sent.elapsed() > PATIENCE {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
