//! The widget's WebSocket, the websites allowed to use the widget, and the widget's
//! script and demo page; on SQLite and on PostgreSQL.

use std::time::Duration;

use frontdesk_core::Role;
use frontdesk_server::ServerSettings;
use futures_util::{SinkExt, StreamExt};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{with_server, Backend, TestServer, CHANGE_PIN, LOST_CARD};
use crate::team::{member, post_json};
use crate::widget::{list, open, say};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longer than any turn takes on a loaded machine, short enough to fail a stuck test.
const FRAME_WAIT: Duration = Duration::from_secs(20);
/// How long to listen for a frame that must not come.
const QUIET_WAIT: Duration = Duration::from_millis(300);

fn live_url(server: &TestServer, token: &str) -> String {
    let base = server.base.replacen("http://", "ws://", 1);
    format!("{base}/api/v1/widget/conversations/{token}/live")
}

/// Connects to a conversation's live socket, with `origin` as a browser would send it.
async fn try_connect(
    server: &TestServer,
    token: &str,
    origin: Option<&str>,
) -> Result<Socket, WsError> {
    let mut request = live_url(server, token).into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

pub(crate) async fn connect(server: &TestServer, token: &str) -> Socket {
    try_connect(server, token, None).await.unwrap()
}

/// The next JSON frame, skipping pings; panics after `FRAME_WAIT`.
pub(crate) async fn next_frame(socket: &mut Socket) -> Value {
    tokio::time::timeout(FRAME_WAIT, read_json(socket))
        .await
        .expect("a frame in time")
}

async fn read_json(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await.expect("the socket is open").unwrap() {
            Frame::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Frame::Ping(_) | Frame::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Asserts that nothing arrives for a moment.
async fn assert_quiet(socket: &mut Socket) {
    if let Ok(frame) = tokio::time::timeout(QUIET_WAIT, read_json(socket)).await {
        panic!("no frame expected, got {frame}");
    }
}

/// The next `count` message frames' messages, skipping status frames.
pub(crate) async fn next_messages(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut messages = Vec::new();
    while messages.len() < count {
        let frame = next_frame(socket).await;
        if frame["type"] == "message" {
            messages.push(frame["message"].clone());
        }
    }
    messages
}

pub(crate) async fn send_json(socket: &mut Socket, frame: Value) {
    socket.send(Frame::text(frame.to_string())).await.unwrap();
}

fn field<'a>(messages: &'a [Value], name: &str) -> Vec<&'a str> {
    messages.iter().map(|m| m[name].as_str().unwrap()).collect()
}

async fn the_customer_hears_replies_but_never_notes(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let (id, token) = open(&server).await;
    let (_, other) = open(&server).await;
    let mut socket = connect(&server, &token).await;

    say(&server, &token, LOST_CARD.0).await;
    let turn = next_messages(&mut socket, 2).await;
    assert_eq!(field(&turn, "author"), ["customer", "assistant"]);
    assert_eq!(turn[0]["text"], LOST_CARD.0);
    assert_eq!(turn[1]["sources"][0]["id"], LOST_CARD.1);

    // Another conversation's turn and a private note stay off this socket.
    say(&server, &other, CHANGE_PIN.0).await;
    let base = format!("/api/v1/conversations/{id}");
    let note = json!({ "text": "card was blocked on Monday" });
    post_json(&server, &agent, &format!("{base}/notes"), note).await;
    let reply = json!({ "text": "I have ordered you a new card." });
    post_json(&server, &agent, &format!("{base}/messages"), reply).await;

    assert_eq!(next_frame(&mut socket).await["message"]["author"], "system");
    let status = next_frame(&mut socket).await;
    assert_eq!(status, json!({ "type": "status", "status": "assigned" }));
    let agents = next_frame(&mut socket).await;
    assert_eq!(agents["message"]["author"], "agent");
    assert_eq!(agents["message"]["text"], "I have ordered you a new card.");
    assert_quiet(&mut socket).await;
}

async fn status_frames_follow_assign_and_hand_back(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let (id, token) = open(&server).await;
    let mut socket = connect(&server, &token).await;
    let base = format!("/api/v1/conversations/{id}");

    post_json(&server, &agent, &format!("{base}/assign"), json!({})).await;
    let joined = next_messages(&mut socket, 1).await;
    assert_eq!(field(&joined, "author"), ["system"]);
    let assigned = next_frame(&mut socket).await;
    assert_eq!(assigned, json!({ "type": "status", "status": "assigned" }));

    post_json(&server, &agent, &format!("{base}/handback"), json!({})).await;
    next_messages(&mut socket, 1).await;
    let handed_back = next_frame(&mut socket).await;
    assert_eq!(handed_back, json!({ "type": "status", "status": "bot" }));
}

async fn resume_replays_only_what_came_after(server: TestServer) {
    let (_, token) = open(&server).await;
    say(&server, &token, LOST_CARD.0).await;
    say(&server, &token, CHANGE_PIN.0).await;
    let stored = list(&server, &token, None).await["messages"].clone();
    let stored = stored.as_array().unwrap();
    assert_eq!(stored.len(), 4);
    let seen = stored[1]["id"].as_i64().unwrap();

    let mut socket = connect(&server, &token).await;
    send_json(&mut socket, json!({ "type": "resume", "after": seen })).await;
    let replayed = next_messages(&mut socket, 2).await;
    assert_eq!(replayed[0]["id"], stored[2]["id"]);
    assert_eq!(replayed[1]["id"], stored[3]["id"]);
    let status = next_frame(&mut socket).await;
    assert_eq!(status, json!({ "type": "status", "status": "bot" }));

    // Asking again sends nothing twice: only where things stand.
    send_json(&mut socket, json!({ "type": "resume", "after": seen })).await;
    assert_eq!(next_frame(&mut socket).await["type"], "status");
    assert_quiet(&mut socket).await;

    // Without `after`, everything not sent yet.
    send_json(&mut socket, json!({ "type": "resume" })).await;
    let rest = next_messages(&mut socket, 2).await;
    assert_eq!(rest[0]["id"], stored[0]["id"]);
    assert_eq!(rest[1]["id"], stored[1]["id"]);
}

async fn bad_frames_get_errors_and_the_socket_lives_on(server: TestServer) {
    let (_, token) = open(&server).await;
    let mut socket = connect(&server, &token).await;

    let bad = [
        Frame::text("not json"),
        Frame::text(r#"{"type":"resume","after":"yesterday"}"#),
        Frame::text(r#"{"type":"shout"}"#),
        Frame::text("[]"),
        Frame::binary(vec![0, 159, 146, 150]),
    ];
    for frame in bad {
        let shown = format!("{frame:?}");
        socket.send(frame).await.unwrap();
        let answer = next_frame(&mut socket).await;
        assert_eq!(answer["type"], "error", "{shown}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    say(&server, &token, LOST_CARD.0).await;
    let turn = next_messages(&mut socket, 2).await;
    assert_eq!(field(&turn, "author"), ["customer", "assistant"]);

    // A frame past the size limit breaks the protocol: the socket closes, saying why.
    socket
        .send(Frame::text("x".repeat(64 * 1024)))
        .await
        .unwrap();
    let closing = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(Frame::Close(close)) => return close,
                Ok(_) => continue,
                Err(err) => panic!("the socket broke without a close frame: {err}"),
            }
        }
        panic!("the socket ended without a close frame");
    })
    .await
    .expect("a close frame within 10 s");
    let close = closing.expect("the close frame has a code");
    assert_eq!(u16::from(close.code), 1002, "{close:?}");
    assert!(close.reason.contains("could not be read"), "{close:?}");
}

async fn an_unknown_token_is_404_before_the_upgrade(server: TestServer) {
    let path = "/api/v1/widget/conversations/not-a-token/live";
    let response = server.client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("token"));

    match try_connect(&server, "not-a-token", None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {:?}", other.map(|_| "a socket")),
    }

    // A known token without an upgrade is a bad request, not a hanging one.
    let (_, token) = open(&server).await;
    let path = format!("/api/v1/widget/conversations/{token}/live");
    let response = server.client.get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn open_sockets_are_counted(server: TestServer) {
    let (_, token) = open(&server).await;
    let socket = connect(&server, &token).await;
    // The server counts the socket in its own task, just after the handshake.
    wait_for_open_sockets(&server, 1).await;
    drop(socket);
    // And notices that it closed on its next read.
    wait_for_open_sockets(&server, 0).await;
}

async fn wait_for_open_sockets(server: &TestServer, expected: i64) {
    let mut counted = open_sockets(server).await;
    for _ in 0..100 {
        if counted == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        counted = open_sockets(server).await;
    }
    panic!("{counted} open sockets counted, expected {expected}");
}

async fn open_sockets(server: &TestServer) -> i64 {
    let text = server.text("/metrics").await;
    let line = text
        .lines()
        .find(|line| line.starts_with("frontdesk_open_websockets "))
        .expect("the gauge is exported");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

on_both_backends!(
    the_customer_hears_replies_but_never_notes,
    status_frames_follow_assign_and_hand_back,
    resume_replays_only_what_came_after,
    bad_frames_get_errors_and_the_socket_lives_on,
    an_unknown_token_is_404_before_the_upgrade,
    open_sockets_are_counted,
);

const SHOP: &str = "https://shop.example";
const STRANGER: &str = "https://elsewhere.example";

async fn only_allowed_origins_reach_the_widget(server: TestServer) {
    let create = |origin: Option<&'static str>| {
        let mut request = server
            .client
            .post(server.url("/api/v1/widget/conversations"));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };

    let refused = create(Some(STRANGER)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains(STRANGER), "{body}");

    let allowed = create(Some(SHOP)).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::CREATED);
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], SHOP);
    let token = allowed.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Without Origin the caller is no web page: curl, another server.
    assert_eq!(create(None).await.unwrap().status(), StatusCode::CREATED);

    let messages = server.url(&format!("/api/v1/widget/conversations/{token}/messages"));
    let refused = server
        .client
        .get(&messages)
        .header(header::ORIGIN, STRANGER)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let posted = server
        .client
        .post(&messages)
        .header(header::ORIGIN, SHOP)
        .json(&json!({ "text": LOST_CARD.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);

    // The browser's preflight before a JSON POST from the shop's page.
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, &messages)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .send()
    };
    let answered = preflight(SHOP).await.unwrap();
    assert_eq!(answered.status(), StatusCode::NO_CONTENT);
    let headers = answered.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], SHOP);
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let allowed_headers = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(allowed_headers.contains("content-type"));
    assert_eq!(
        preflight(STRANGER).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    match try_connect(&server, &token, Some(STRANGER)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|_| "a socket")),
    }
    let mut socket = try_connect(&server, &token, Some(SHOP)).await.unwrap();
    send_json(&mut socket, json!({ "type": "resume" })).await;
    assert_eq!(next_messages(&mut socket, 2).await.len(), 2);

    // Other routes are none of the list's business.
    let health = server
        .client
        .get(server.url("/healthz"))
        .header(header::ORIGIN, STRANGER)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

async fn with_allowed_origins(backend: Backend) {
    let settings = ServerSettings {
        allowed_origins: vec![format!("{SHOP}/")],
        ..ServerSettings::default()
    };
    with_server(
        backend,
        settings,
        true,
        only_allowed_origins_reach_the_widget,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_origins_reach_the_widget_on_sqlite() {
    with_allowed_origins(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_origins_reach_the_widget_on_postgres() {
    with_allowed_origins(Backend::Postgres).await;
}

#[tokio::test]
async fn any_origin_is_welcome_by_default() {
    with_server(
        Backend::Sqlite,
        ServerSettings::default(),
        true,
        |server| async move {
            let response = server
                .client
                .post(server.url("/api/v1/widget/conversations"))
                .header(header::ORIGIN, STRANGER)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            assert_eq!(
                response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
                STRANGER
            );
        },
    )
    .await;
}

#[tokio::test]
async fn origins_that_are_not_origins_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let store = frontdesk_store::Store::connect(&url).await.unwrap();
    for wrong in ["shop.example", "https://shop.example/help"] {
        let settings = ServerSettings {
            allowed_origins: vec![wrong.to_string()],
            ..ServerSettings::default()
        };
        assert!(frontdesk_server::Server::new(store.clone(), settings).is_err());
    }
    store.close().await;
}

async fn get_asset(server: &TestServer, path: &str) -> (String, String) {
    let response = server.client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let content_type = headers[header::CONTENT_TYPE].to_str().unwrap().to_string();
    (content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn the_widget_script_and_demo_page_are_served() {
    crate::support::with_default_server(|server| async move {
        let (content_type, script) = get_asset(&server, "/widget.js").await;
        assert!(
            content_type.starts_with("text/javascript"),
            "{content_type}"
        );
        // Text from customers, the assistant and agents only ever goes in as text.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!script.contains(sink), "widget.js uses {sink}");
        }
        assert!(script.contains("attachShadow"));

        let response = server.client.get(server.url("/demo")).send().await.unwrap();
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        let (content_type, page) = get_asset(&server, "/demo").await;
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(page.contains(r#"src="/widget.js""#));
        assert!(page.contains(r#"href="/inbox""#));
    })
    .await;
}

/// Shutting down closes open sockets with "going away" at once, rather than leaving
/// them to hold the process for the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let store = frontdesk_store::Store::connect(&url).await.unwrap();
    let server = frontdesk_server::Server::new(store.clone(), ServerSettings::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let test_server = TestServer {
        base: format!("http://{}", listener.local_addr().unwrap()),
        store: store.clone(),
        client: reqwest::Client::new(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server.serve(listener, shutdown).await
    });

    let (_, token) = open(&test_server).await;
    let mut socket = connect(&test_server, &token).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    let closed = tokio::time::timeout(FRAME_WAIT, socket.next())
        .await
        .expect("a close frame in time");
    match closed {
        Some(Ok(Frame::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    drop(socket);
    serving.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    store.close().await;
}
