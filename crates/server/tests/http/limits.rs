//! The public side's rate limits: 429 with Retry-After, and nothing of a refused
//! message stored. The limits live in memory, so one backend shows them.

use std::num::NonZeroU32;

use frontdesk_server::{RateLimits, ServerSettings};
use frontdesk_store::Readers;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::support::{with_server, Backend};
use crate::widget::open;

fn limited(per_address: u32, per_conversation: u32) -> ServerSettings {
    ServerSettings {
        rate_limits: RateLimits {
            widget_requests_per_address: NonZeroU32::new(per_address).unwrap(),
            messages_per_conversation: NonZeroU32::new(per_conversation).unwrap(),
        },
        ..ServerSettings::default()
    }
}

fn assert_limited(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_429_past_its_widget_limit() {
    with_server(Backend::Sqlite, limited(3, 20), true, |server| async move {
        for _ in 0..3 {
            open(&server).await;
        }
        let refused = server
            .client
            .post(server.url("/api/v1/widget/conversations"))
            .send()
            .await
            .unwrap();
        assert_limited(&refused);
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("too many requests"));

        // The team's side and health are not the public side's limit.
        let health = server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_gets_429_past_its_message_limit_and_keeps_nothing() {
    with_server(
        Backend::Sqlite,
        limited(100, 2),
        true,
        |server| async move {
            let (id, token) = open(&server).await;
            let path = format!("/api/v1/widget/conversations/{token}/messages");
            for n in 0..2 {
                let sent = server
                    .client
                    .post(server.url(&path))
                    .json(&json!({ "text": format!("message {n}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(sent.status(), StatusCode::OK);
            }
            let refused = server
                .client
                .post(server.url(&path))
                .json(&json!({ "text": "one too many" }))
                .send()
                .await
                .unwrap();
            assert_limited(&refused);
            let stored = server
                .store
                .messages(id, None, Readers::Team)
                .await
                .unwrap();
            assert!(stored.iter().all(|message| message.text != "one too many"));

            // Another conversation has its own allowance.
            let (_, other) = open(&server).await;
            let elsewhere = server
                .client
                .post(server.url(&format!("/api/v1/widget/conversations/{other}/messages")))
                .json(&json!({ "text": "hello" }))
                .send()
                .await
                .unwrap();
            assert_eq!(elsewhere.status(), StatusCode::OK);
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_answer_endpoint_is_limited_and_a_token_lifts_it() {
    let ask = |server: &crate::support::TestServer, token: Option<&str>| {
        let mut request = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({ "message": "How can I change my PIN?" }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    with_server(Backend::Sqlite, limited(3, 20), true, |server| async move {
        for _ in 0..3 {
            assert_eq!(ask(&server, None).await.unwrap().status(), StatusCode::OK);
        }
        assert_limited(&ask(&server, None).await.unwrap());
    })
    .await;
    let with_token = ServerSettings {
        api_token: Some("integration-token".to_string()),
        ..limited(3, 20)
    };
    with_server(Backend::Sqlite, with_token, true, |server| async move {
        for _ in 0..6 {
            let answered = ask(&server, Some("integration-token")).await.unwrap();
            assert_eq!(answered.status(), StatusCode::OK);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_limited_per_address() {
    with_server(
        Backend::Sqlite,
        ServerSettings::default(),
        false,
        |server| async move {
            // A new email each time, so that no account's own lock comes into it.
            let attempt = |n: u32| {
                let email = format!("who{n}@shop.example");
                server
                    .client
                    .post(server.url("/api/v1/sessions"))
                    .json(&json!({ "email": email, "password": "guess guess" }))
                    .send()
            };
            for n in 0..10 {
                assert_eq!(attempt(n).await.unwrap().status(), StatusCode::UNAUTHORIZED);
            }
            assert_limited(&attempt(10).await.unwrap());
        },
    )
    .await;
}

/// Behind a trusted proxy each forwarded client has its own allowance; from anyone else
/// the header is ignored, so changing it buys nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let open_from = |server: &crate::support::TestServer, client: &str| {
        server
            .client
            .post(server.url("/api/v1/widget/conversations"))
            .header("X-Forwarded-For", client)
            .send()
    };

    let behind_proxy = ServerSettings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..limited(2, 20)
    };
    with_server(
        Backend::Sqlite,
        behind_proxy,
        true,
        move |server| async move {
            for _ in 0..2 {
                let opened = open_from(&server, "198.51.100.7").await.unwrap();
                assert_eq!(opened.status(), StatusCode::CREATED);
            }
            assert_limited(&open_from(&server, "198.51.100.7").await.unwrap());
            let other = open_from(&server, "198.51.100.8").await.unwrap();
            assert_eq!(
                other.status(),
                StatusCode::CREATED,
                "another client, another bucket"
            );
        },
    )
    .await;

    with_server(
        Backend::Sqlite,
        limited(2, 20),
        true,
        move |server| async move {
            for client in ["198.51.100.7", "198.51.100.8"] {
                let opened = open_from(&server, client).await.unwrap();
                assert_eq!(opened.status(), StatusCode::CREATED);
            }
            assert_limited(&open_from(&server, "198.51.100.9").await.unwrap());
        },
    )
    .await;
}
