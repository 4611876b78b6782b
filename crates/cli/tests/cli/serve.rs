//! `frontdesk serve`: the real binary listens, answers over HTTP, keeps its token out of
//! the log and stops cleanly on SIGTERM. The routes themselves are tested in the server
//! crate; this checks the command around them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::Frontdesk;

/// Long enough for a debug build to load the index on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `frontdesk serve` and the log lines it has written so far.
struct Running {
    child: Child,
    address: String,
    /// The lines read up to and including the line saying the assistant is ready.
    seen: Vec<String>,
    log: mpsc::Receiver<String>,
}

fn start(frontdesk: &Frontdesk, env: &[(&str, &str)]) -> Running {
    let mut env = env.to_vec();
    env.push(("RUST_LOG", "info"));
    let mut child = frontdesk.spawn(&["serve", "--listen", "127.0.0.1:0"], &env);
    let stderr = child.stderr.take().unwrap();
    let (lines, log) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Built before the wait, so that a test failing from here on still stops the server.
    let mut running = Running {
        child,
        address: String::new(),
        seen: Vec::new(),
        log,
    };
    // The server listens first and loads the knowledge after; the tests talk to it once
    // it says it can answer.
    let deadline = Instant::now() + START_TIMEOUT;
    let mut ready = false;
    while !ready {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = running.log.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "serve did not say it was ready within {left:?}: {:#?}",
                running.seen
            )
        });
        if let Some(address) = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("address="))
        {
            running.address = address.to_string();
        }
        ready = line.contains("assistant ready to answer");
        running.seen.push(line);
    }
    assert!(!running.address.is_empty(), "{:#?}", running.seen);
    running
}

impl Drop for Running {
    /// Stops a server the test did not stop itself (it failed half-way).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 exchange on a fresh connection; returns the status line and the body.
pub(crate) fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (String, String) {
    try_http(address, method, path, headers, body).unwrap()
}

fn try_http(
    address: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(STOP_TIMEOUT))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_string();
    Ok((status, body.to_string()))
}

fn terminate(running: &mut Running) -> Vec<String> {
    stop_with_sigterm(&mut running.child);
    // The reader thread ends with the pipe; give it a moment to pass the last lines.
    thread::sleep(Duration::from_millis(100));
    let mut log = std::mem::take(&mut running.seen);
    log.extend(running.log.try_iter());
    log
}

/// Sends SIGTERM, as a service manager would, and asserts that the server stops cleanly.
pub(crate) fn stop_with_sigterm(child: &mut Child) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + STOP_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "serve exited with {status}");
}

#[test]
fn serve_answers_over_http_and_stops_on_sigterm() {
    let frontdesk = Frontdesk::shared_banking();
    let mut running = start(&frontdesk, &[]);

    let (status, body) = http(&running.address, "GET", "/healthz", "", "");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "ok");
    let (status, body) = http(
        &running.address,
        "POST",
        "/api/v1/answer",
        "Content-Type: application/json\r\n",
        r#"{"message": "Can I talk to a human please?"}"#,
    );
    assert!(status.contains("200"), "{status} {body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(decision["reason"], "person_requested", "{decision}");

    let log = terminate(&mut running);
    assert!(
        log.iter().any(|line| line.contains("shutting down")),
        "{log:#?}"
    );
}

#[test]
fn listens_while_a_missing_index_is_rebuilt_and_answers_once_ready() {
    let frontdesk = Frontdesk::new();
    frontdesk.import_banking();
    std::fs::remove_dir_all(frontdesk.data_dir().join("index")).unwrap();

    let mut running = start(&frontdesk, &[]);
    let position = |text: &str| running.seen.iter().position(|line| line.contains(text));
    let listening = position("listening").expect("a listening line");
    let rebuilding = position("rebuilding").expect("the index is rebuilt at start-up");
    let ready = position("assistant ready to answer").expect("a ready line");
    assert!(
        listening < rebuilding && rebuilding < ready,
        "{:#?}",
        running.seen
    );

    let (status, body) = http(&running.address, "GET", "/readyz", "", "");
    assert!(status.contains("200"), "{status} {body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(readiness["engine"], "loaded", "{readiness}");
    let (status, body) = http(
        &running.address,
        "POST",
        "/api/v1/answer",
        "Content-Type: application/json\r\n",
        r#"{"message": "my card has not arrived yet"}"#,
    );
    assert!(status.contains("200"), "{status} {body}");
    terminate(&mut running);
}

#[test]
fn the_api_token_is_required_and_never_logged() {
    let frontdesk = Frontdesk::shared_banking();
    let token = "tok-3f9a1c77e0";
    let mut running = start(&frontdesk, &[("FRONTDESK_API_TOKEN", token)]);

    let ask = r#"{"message": "hello"}"#;
    let (status, _) = http(&running.address, "POST", "/api/v1/answer", "", ask);
    assert!(status.contains("401"), "{status}");
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let (status, _) = http(&running.address, "POST", "/api/v1/answer", &bearer, ask);
    assert!(status.contains("200"), "{status}");

    let log = terminate(&mut running);
    assert!(log.iter().all(|line| !line.contains(token)), "{log:#?}");
}

/// Settings come from the file, then the environment, then the flags, later ones winning.
#[test]
fn settings_are_layered_file_then_environment_then_flags() {
    let frontdesk = Frontdesk::new();
    let settings = frontdesk.data_dir().join("frontdesk.toml");
    std::fs::create_dir_all(frontdesk.data_dir()).unwrap();
    // The file's listen address is no use: the flag given by `start` must win over it.
    let file = "[server]\nlisten = \"127.0.0.1:1\"\napi_token = \"tok-from-file\"\n";
    std::fs::write(&settings, file).unwrap();
    // The status line of an answer request, with the token when one is given.
    let ask = |running: &Running, token: Option<&str>| {
        let bearer = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        http(
            &running.address,
            "POST",
            "/api/v1/answer",
            &bearer,
            r#"{"message": "hello"}"#,
        )
        .0
    };

    let mut running = start(&frontdesk, &[]);
    let status = ask(&running, None);
    assert!(status.contains("401"), "the file's token applies: {status}");
    let status = ask(&running, Some("tok-from-file"));
    assert!(status.contains("200"), "{status}");
    terminate(&mut running);

    let mut running = start(&frontdesk, &[("FRONTDESK_API_TOKEN", "tok-from-env")]);
    let status = ask(&running, Some("tok-from-file"));
    assert!(
        status.contains("401"),
        "the environment wins over the file: {status}"
    );
    let status = ask(&running, Some("tok-from-env"));
    assert!(status.contains("200"), "{status}");
    terminate(&mut running);
}

#[test]
fn config_default_prints_every_setting_even_beside_a_broken_file() {
    let frontdesk = Frontdesk::new();
    std::fs::create_dir_all(frontdesk.data_dir()).unwrap();
    std::fs::write(frontdesk.data_dir().join("frontdesk.toml"), "[server\n").unwrap();
    let printed = frontdesk.ok(&["config", "default"]);
    for setting in [
        "database_url",
        "listen = \"127.0.0.1:8080\"",
        "max_body_bytes = 4096",
        "widget_requests_per_minute = 120",
        "messages_per_minute = 20",
        "allowed_origins = []",
        "answer_threshold = 0.9",
        "currency",
        "expected_wait_minutes",
        "[handoff.business_hours]",
        "FRONTDESK_LISTEN",
        "FRONTDESK_API_TOKEN",
    ] {
        assert!(
            printed.contains(setting),
            "{setting} missing from:\n{printed}"
        );
    }

    // Saved as the settings file, it is a valid one.
    std::fs::write(frontdesk.data_dir().join("frontdesk.toml"), &printed).unwrap();
    frontdesk.ok(&["knowledge", "stats"]);
}

#[test]
fn an_empty_api_token_is_refused_rather_than_serving_without_one() {
    let frontdesk = Frontdesk::new();
    let stderr = frontdesk.fails(&["serve", "--listen", "127.0.0.1:0", "--api-token", " "]);
    assert!(stderr.contains("set but empty"), "{stderr}");
}

/// A customer message the server acknowledged (200) is stored for good: kill -9 in the
/// middle of a stream of messages, start again on the same data, and every
/// acknowledged message is there.
#[test]
fn kill_9_loses_no_acknowledged_message() {
    let frontdesk = Frontdesk::new();
    frontdesk.import_banking();
    let generous = [
        ("FRONTDESK_WIDGET_REQUESTS_PER_MINUTE", "100000"),
        ("FRONTDESK_MESSAGES_PER_MINUTE", "100000"),
    ];
    let mut running = start(&frontdesk, &generous);
    let (status, body) = http(
        &running.address,
        "POST",
        "/api/v1/widget/conversations",
        "",
        "",
    );
    assert!(status.contains("201"), "{status} {body}");
    let opened: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = opened["token"].as_str().unwrap().to_string();
    let path = format!("/api/v1/widget/conversations/{token}/messages");

    // One sender streams messages until the server is gone, noting each acknowledged.
    let (acknowledged_tx, acknowledged) = mpsc::channel::<String>();
    let address = running.address.clone();
    let sender_path = path.clone();
    let sender = thread::spawn(move || {
        for n in 0.. {
            let text = format!("message number {n}");
            let body = serde_json::json!({ "text": text }).to_string();
            match try_http(&address, "POST", &sender_path, "", &body) {
                Ok((status, _)) if status.contains("200") => {
                    if acknowledged_tx.send(text).is_err() {
                        return;
                    }
                }
                // Refused, cut off mid-answer or no longer listening: not acknowledged.
                _ => return,
            }
        }
    });

    // Kill once a few have gone through, while the stream is still flowing.
    let mut acked: Vec<String> = Vec::new();
    while acked.len() < 15 {
        let text = acknowledged
            .recv_timeout(START_TIMEOUT)
            .expect("the server acknowledges messages");
        acked.push(text);
    }
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    let _ = sender.join();
    acked.extend(acknowledged.try_iter());

    let running = start(&frontdesk, &generous);
    let (status, body) = http(&running.address, "GET", &path, "", "");
    assert!(status.contains("200"), "{status} {body}");
    let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
    let stored: Vec<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    for text in &acked {
        assert!(
            stored.contains(&text.as_str()),
            "{text} was acknowledged but is lost"
        );
    }
    println!("{} acknowledged, {} stored", acked.len(), stored.len());
}

#[test]
fn allowed_origins_come_from_the_environment_and_are_checked() {
    let frontdesk = Frontdesk::shared_banking();
    let origins = "https://shop.example, https://www.shop.example";
    let mut running = start(&frontdesk, &[("FRONTDESK_ALLOWED_ORIGINS", origins)]);

    let open = |origin: &str| {
        let header = format!("Origin: {origin}\r\n");
        http(
            &running.address,
            "POST",
            "/api/v1/widget/conversations",
            &header,
            "",
        )
        .0
    };
    let status = open("https://elsewhere.example");
    assert!(status.contains("403"), "{status}");
    let status = open("https://www.shop.example");
    assert!(status.contains("201"), "{status}");
    terminate(&mut running);

    let stderr = frontdesk.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allowed-origin",
        "shop.example",
    ]);
    assert!(stderr.contains("allowed origin"), "{stderr}");
}
