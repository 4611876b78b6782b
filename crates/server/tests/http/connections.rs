//! Connections that hold the server without using it: a client trickling a request is
//! disconnected after the header read timeout, and connections past the cap wait until
//! one closes.

use std::time::{Duration, Instant};

use frontdesk_server::ServerSettings;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{with_server, Backend, TestServer};

/// Short, so that the test is quick; the default is ten seconds.
const HEADER_TIMEOUT: Duration = Duration::from_millis(300);
/// Far longer than the timeout, short enough to fail a server that never closes.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (an end of stream or a reset); returns
/// what it sent first, if anything.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_mid_request_is_disconnected() {
    let settings = ServerSettings {
        header_read_timeout: HEADER_TIMEOUT,
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, false, |server| async move {
        let mut stream = connect(&server).await;
        let started = Instant::now();
        stream.write_all(b"GET /healthz HT").await.unwrap();
        let received = tokio::time::timeout(CLOSE_WAIT, read_until_closed(&mut stream))
            .await
            .expect("the server closes the connection");
        let waited = started.elapsed();
        assert!(
            waited >= HEADER_TIMEOUT - Duration::from_millis(50),
            "closed after {waited:?}, before the timeout"
        );
        assert!(
            !String::from_utf8_lossy(&received).contains(" 200 "),
            "half a request was answered"
        );

        // A whole request sent at once is answered as usual.
        let mut stream = connect(&server).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let received = tokio::time::timeout(CLOSE_WAIT, read_until_closed(&mut stream))
            .await
            .expect("the server answers and closes");
        let received = String::from_utf8_lossy(&received);
        assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let settings = ServerSettings {
        max_connections: 1,
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, false, |server| async move {
        let holder = connect(&server).await;
        let client = server.client.clone();
        let url = server.url("/healthz");
        let waiting = tokio::spawn(async move { client.get(url).send().await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "a connection past the cap was served"
        );

        drop(holder);
        let response = tokio::time::timeout(CLOSE_WAIT, waiting)
            .await
            .expect("served once the first connection closed")
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    })
    .await;
}
