//! Memory for many open widget WebSockets: the server's resident memory with 5,000 live
//! connections held at once, against a target of 300 MB.
//!
//! The server runs in a process of its own, so that its resident memory is its alone:
//! this bench starts itself again with `FRONTDESK_BENCH_ROLE=server`, and that copy
//! trains the Banking77 engine (as `frontdesk serve` loads one), serves on 127.0.0.1 with
//! the widget's rate limits raised out of the way, prints its address and serves until
//! its standard input closes. The first copy is the client. It
//!
//! 1. opens the conversations with `POST /api/v1/widget/conversations`;
//! 2. opens one WebSocket per conversation and holds them all;
//! 3. checks `/metrics` counts them all open;
//! 4. on a sample of the sockets sends a `resume` frame and waits for the status frame,
//!    and on a few posts a customer message and waits for it to arrive on the socket;
//!
//! reading the server's VmRSS from `/proc/<pid>/status` before and after, and VmHWM
//! (the peak, reset once the engine is trained so that it covers the sockets only).
//! Exits non-zero when the resident memory with the sockets open is over the target, or
//! when anything failed.
//!
//! `cargo bench -p frontdesk-server --bench socket_memory`
//!
//! Settings from the environment: `FRONTDESK_BENCH_SOCKETS` (5000),
//! `FRONTDESK_BENCH_RSS_LIMIT_MB` (300), `FRONTDESK_BENCH_SAMPLE` (100 sockets asked to
//! resume, a tenth of them also sent a message), `FRONTDESK_BENCH_DATA` (as for
//! `answer_load`). Linux only: it reads `/proc`. Two file descriptors per socket are
//! needed on this machine (one in each process): the bench raises its own open-files
//! limit and stops with a message when the hard limit is too low.

use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU32;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{data_dir, setting};
use frontdesk_server::{RateLimits, Server, ServerSettings};
use frontdesk_store::Store;
use futures_util::{stream, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ROLE_VAR: &str = "FRONTDESK_BENCH_ROLE";
/// What the server copy prints once it listens, followed by its address.
const LISTENING: &str = "listening on ";
/// Requests and handshakes in flight at once while opening.
const OPENING_CONCURRENCY: usize = 32;
/// Longer than any frame takes on a loaded machine; a socket silent this long failed.
const FRAME_WAIT: Duration = Duration::from_secs(30);
/// Lets the server's tasks settle (and the allocator's caches fill) before a reading.
const SETTLE: Duration = Duration::from_secs(2);
/// File descriptors beyond the sockets: the store, the runtime, the pooled HTTP client.
const SPARE_FILES: u64 = 256;
const MIB: f64 = 1024.0 * 1024.0;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() -> ExitCode {
    let sockets = setting("FRONTDESK_BENCH_SOCKETS", 5000) as usize;
    // Raised here, before the server copy starts: it inherits the limit.
    if let Err(message) = raise_open_files(sockets as u64 + SPARE_FILES) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    if std::env::var(ROLE_VAR).as_deref() == Ok("server") {
        serve();
        return ExitCode::SUCCESS;
    }
    client(sockets)
}

/// Raises this process's soft open-files limit to at least `needed`.
fn raise_open_files(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a pointer to a live, writable one.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!(
            "cannot read the open-files limit: {}",
            std::io::Error::last_os_error()
        ));
    }
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    if limit.rlim_max < needed {
        return Err(format!(
            "the hard open-files limit is {}, and {needed} are needed for the sockets: \
             raise it (`ulimit -Hn`, limits.conf or the service's LimitNOFILE) or set \
             FRONTDESK_BENCH_SOCKETS lower",
            limit.rlim_max
        ));
    }
    limit.rlim_cur = needed;
    // SAFETY: setrlimit reads one rlimit through a pointer to a live one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!(
            "cannot raise the open-files limit to {needed}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The server copy: trains, serves, prints its address, and stops when its standard
/// input closes (so it cannot outlive the client, even one that crashed).
fn serve() {
    let dir = data_dir();
    let engine = common::train(&dir);

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let database = format!("sqlite://{}", scratch.path().join("bench.db").display());
    // Both cores' worth of workers, as `frontdesk serve` would have.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = Store::connect(&database).await.expect("an SQLite store");
        // The widget's limits are for customers, not for one address opening thousands.
        let settings = ServerSettings {
            rate_limits: RateLimits {
                widget_requests_per_address: NonZeroU32::MAX,
                messages_per_conversation: NonZeroU32::MAX,
            },
            ..ServerSettings::default()
        };
        let server = Server::new(store.clone(), settings).expect("settings are valid");
        server.set_engine(Arc::new(engine));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("a bound address");
        println!("{LISTENING}{address}");
        std::io::stdout().flush().expect("stdout is writable");
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| {
                let _ = std::io::stdin().read_to_end(&mut Vec::new());
            })
            .await;
        };
        server
            .serve(listener, stdin_closed)
            .await
            .expect("the server runs");
        store.close().await;
    });
}

/// The server copy, stopped when dropped: its standard input closes, and it is killed
/// if it has not gone a while later.
struct ServerProcess {
    child: Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's memory at one moment, from `/proc/<pid>/status`, in bytes.
#[derive(Clone, Copy)]
struct Memory {
    rss: u64,
    peak: u64,
}

fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the server's /proc status is readable");
    let field = |name: &str| -> u64 {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"));
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("a number in {line:?}"));
        kib * 1024
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

fn client(sockets: usize) -> ExitCode {
    let limit_mib = setting("FRONTDESK_BENCH_RSS_LIMIT_MB", 300);
    let sample = (setting("FRONTDESK_BENCH_SAMPLE", 100) as usize).min(sockets);

    let started = Instant::now();
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut child = Command::new(exe)
        .env(ROLE_VAR, "server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server copy starts");
    let stdout = child.stdout.take().expect("the server's stdout");
    let server = ServerProcess { child };
    let pid = server.child.id();
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server's first line");
    let Some(address) = line.trim().strip_prefix(LISTENING) else {
        eprintln!("the server did not start: {line:?}");
        return ExitCode::FAILURE;
    };
    let base = format!("http://{address}");
    println!(
        "server {pid} trained and listening on {address} after {:.1?}",
        started.elapsed()
    );

    // The peak so far is the engine's training; from here it covers serving alone.
    let peak_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    if !peak_reset {
        println!("(the peak could not be reset: it includes the training)");
    }
    std::thread::sleep(SETTLE);
    let idle = memory(pid);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let outcome = runtime.block_on(run(&base, pid, sockets, sample));
    drop(server);

    let rows = [
        ("trained, no connections", idle),
        ("conversations opened", outcome.after_conversations),
        ("sockets open", outcome.open),
        ("after the sample's messages", outcome.after_messages),
    ];
    println!("\n| server process | VmRSS | VmHWM |\n| --- | --- | --- |");
    for (what, memory) in rows {
        println!(
            "| {what} | {:.1} MiB | {:.1} MiB |",
            mib(memory.rss),
            mib(memory.peak)
        );
    }
    let per_socket = outcome
        .open
        .rss
        .saturating_sub(outcome.after_conversations.rss) as f64
        / sockets.max(1) as f64
        / 1024.0;
    println!(
        "\n{} sockets open ({} by /metrics), opened in {:.1?}: {per_socket:.1} KiB each; \
         {}/{} sampled sockets answered a resume, {}/{} carried a posted message",
        outcome.opened,
        outcome
            .counted_open
            .map_or("?".to_string(), |open| open.to_string()),
        outcome.opening_took,
        outcome.resumed,
        sample,
        outcome.messaged,
        outcome.messages_sent,
    );

    let mut failed = false;
    let worst = outcome.open.rss.max(outcome.after_messages.rss);
    if mib(worst) > limit_mib as f64 {
        println!(
            "FAIL: {:.1} MiB resident with the sockets open, over {limit_mib} MB",
            mib(worst)
        );
        failed = true;
    }
    if outcome.opened < sockets
        || outcome.counted_open != Some(sockets as u64)
        || outcome.resumed < sample
        || outcome.messaged < outcome.messages_sent
    {
        println!("FAIL: not every socket opened and answered");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!(
            "OK: {:.1} MiB resident with {sockets} sockets open (target {limit_mib} MB)",
            mib(worst)
        );
        ExitCode::SUCCESS
    }
}

/// What the client side saw.
struct Outcome {
    after_conversations: Memory,
    open: Memory,
    after_messages: Memory,
    opened: usize,
    opening_took: Duration,
    counted_open: Option<u64>,
    resumed: usize,
    messaged: usize,
    messages_sent: usize,
}

async fn run(base: &str, pid: u32, sockets: usize, sample: usize) -> Outcome {
    let client = reqwest::Client::new();
    let tokens: Vec<String> = stream::iter(0..sockets)
        .map(|_| open_conversation(&client, base))
        .buffer_unordered(OPENING_CONCURRENCY)
        .filter_map(|token| async move { token })
        .collect()
        .await;
    println!("{} conversations opened", tokens.len());
    tokio::time::sleep(SETTLE).await;
    let after_conversations = memory(pid);

    let ws_base = base.replacen("http://", "ws://", 1);
    let opening = Instant::now();
    let mut open: Vec<(String, Socket)> = stream::iter(tokens)
        .map(|token| {
            let url = format!("{ws_base}/api/v1/widget/conversations/{token}/live");
            async move { connect(&url).await.map(|socket| (token, socket)) }
        })
        .buffer_unordered(OPENING_CONCURRENCY)
        .filter_map(|socket| async move { socket })
        .collect()
        .await;
    let opening_took = opening.elapsed();
    let opened = open.len();
    println!("{opened} sockets open");
    tokio::time::sleep(SETTLE).await;
    let open_memory = memory(pid);
    let counted_open = open_sockets(&client, base).await;

    // Spread over the whole set, not only the first opened.
    let step = (open.len() / sample.max(1)).max(1);
    let messages_sent = sample.div_ceil(10);
    let mut resumed = 0;
    let mut messaged = 0;
    for (index, (token, socket)) in open.iter_mut().step_by(step).take(sample).enumerate() {
        if resume(socket).await {
            resumed += 1;
        }
        if index < messages_sent && message_arrives(&client, base, token, socket).await {
            messaged += 1;
        }
    }
    tokio::time::sleep(SETTLE).await;
    let after_messages = memory(pid);
    drop(open);

    Outcome {
        after_conversations,
        open: open_memory,
        after_messages,
        opened,
        opening_took,
        counted_open,
        resumed,
        messaged,
        messages_sent,
    }
}

async fn open_conversation(client: &reqwest::Client, base: &str) -> Option<String> {
    let url = format!("{base}/api/v1/widget/conversations");
    let created: serde_json::Value = client.post(url).send().await.ok()?.json().await.ok()?;
    created["token"].as_str().map(str::to_string)
}

async fn connect(url: &str) -> Option<Socket> {
    // Small buffers on this side too: the client's memory is not measured, but 5,000
    // sockets at the library's default 128 KiB each would crowd the machine.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    match tokio_tungstenite::connect_async_with_config(url, Some(config), true).await {
        Ok((socket, _)) => Some(socket),
        Err(err) => {
            eprintln!("a socket did not open: {err}");
            None
        }
    }
}

/// `frontdesk_open_websockets` from `/metrics`.
async fn open_sockets(client: &reqwest::Client, base: &str) -> Option<u64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("frontdesk_open_websockets "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// The next JSON frame of type `kind`, skipping pings and others; None after FRAME_WAIT.
async fn next_of(socket: &mut Socket, kind: &str) -> Option<serde_json::Value> {
    let wait = async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Frame::Text(text) = frame {
                let value: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
                if value["type"] == kind {
                    return Some(value);
                }
            }
        }
        None
    };
    tokio::time::timeout(FRAME_WAIT, wait).await.ok().flatten()
}

/// Asks the socket to catch up; it is live when the status frame comes back.
async fn resume(socket: &mut Socket) -> bool {
    let frame = serde_json::json!({ "type": "resume", "after": null }).to_string();
    if socket.send(Frame::text(frame)).await.is_err() {
        return false;
    }
    next_of(socket, "status").await.is_some()
}

/// Posts a customer message to the conversation and waits for it on its socket.
async fn message_arrives(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    socket: &mut Socket,
) -> bool {
    let url = format!("{base}/api/v1/widget/conversations/{token}/messages");
    let text = "How can I change the PIN of my card?";
    let posted = client
        .post(url)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await;
    if !posted.is_ok_and(|response| response.status().is_success()) {
        return false;
    }
    loop {
        match next_of(socket, "message").await {
            Some(frame) if frame["message"]["text"] == text => return true,
            Some(_) => continue,
            None => return false,
        }
    }
}
