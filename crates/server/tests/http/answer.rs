//! `POST /api/v1/answer`: the decision JSON of `frontdesk answer --batch`, over HTTP.

use std::collections::BTreeSet;

use frontdesk_server::ServerSettings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{engine, with_default_server, with_server, Backend, LOST_CARD};

const DECISION_FIELDS: [&str; 6] = [
    "confidence",
    "decision",
    "faq_id",
    "reason",
    "sources",
    "text",
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn a_known_question_is_answered_with_its_source() {
    with_default_server(|server| async move {
        let response = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({"message": LOST_CARD.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        // Byte for byte what `answer --batch` writes for this message: the same type,
        // serialised the same way.
        let batch_line = serde_json::to_string(&engine().decide(LOST_CARD.0)).unwrap();
        assert_eq!(body, batch_line);

        let decision: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(keys(&decision), BTreeSet::from(DECISION_FIELDS));
        assert_eq!(decision["decision"], "answer", "{decision}");
        assert_eq!(decision["faq_id"], LOST_CARD.1, "{decision}");
        assert_eq!(
            decision["sources"][0],
            json!({"kind": "faq", "id": LOST_CARD.1})
        );
    })
    .await;
}

async fn post_raw(server: &crate::support::TestServer, body: &'static str) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url("/api/v1/answer"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn unreadable_bodies_get_400_naming_what_is_wrong() {
    with_default_server(|server| async move {
        let (status, body) = post_raw(&server, r#"{"message": "unclosed"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("not valid JSON"), "{body}");

        let (status, body) = post_raw(&server, r#"{"text": "wrong field"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "message", "{body}");

        let (status, body) = post_raw(&server, r#"{"message": 42}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["field"], "message", "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    with_default_server(|server| async move {
        let long = "where is my card ".repeat(300);
        let response = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({"message": long}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("4096"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let settings = ServerSettings {
        max_body_bytes: 64,
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, true, |server| async move {
        let response = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({"message": "x".repeat(100)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    })
    .await;
}

#[tokio::test]
async fn a_configured_token_is_required() {
    let settings = ServerSettings {
        api_token: Some("s3cret-token".to_string()),
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, true, |server| async move {
        let ask = |token: Option<&'static str>| {
            let mut request = server
                .client
                .post(server.url("/api/v1/answer"))
                .json(&json!({"message": LOST_CARD.0}));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };

        let missing = ask(None).await.unwrap();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        let body: Value = missing.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");

        let wrong = ask(Some("s3cret-tokem")).await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

        let right = ask(Some("s3cret-token")).await.unwrap();
        assert_eq!(right.status(), StatusCode::OK);

        // Health and metrics stay open to the load balancer and the scraper.
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

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    with_default_server(|server| async move {
        let response = server
            .client
            .get(server.url("/nowhere"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "no such route"}));
    })
    .await;
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_a_json_error() {
    with_default_server(|server| async move {
        let response = server
            .client
            .get(server.url("/api/v1/answer"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "this route does not take that method");
    })
    .await;
}
