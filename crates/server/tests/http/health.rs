//! Liveness, readiness and metrics.

use frontdesk_server::ServerSettings;
use frontdesk_store::Readers;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{with_default_server, with_server, Backend, LOST_CARD};

#[tokio::test]
async fn healthz_says_ok() {
    with_default_server(|server| async move {
        let response = server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok");
    })
    .await;
}

#[tokio::test]
async fn ready_when_the_database_answers_and_the_engine_is_loaded() {
    with_default_server(|server| async move {
        let response = server
            .client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"ready": true, "database": "ok", "engine": "loaded"})
        );
    })
    .await;
}

#[tokio::test]
async fn not_ready_while_the_engine_is_loading() {
    let settings = ServerSettings::default();
    with_server(Backend::Sqlite, settings, false, |server| async move {
        let response = server
            .client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["engine"], "loading", "{body}");
        assert_eq!(body["database"], "ok", "{body}");

        // Nothing is answered meanwhile, and nothing of a widget message is stored.
        let answer = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({"message": LOST_CARD.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        let created: Value = server
            .client
            .post(server.url("/api/v1/widget/conversations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().unwrap();
        let path = format!("/api/v1/widget/conversations/{token}/messages");
        let posted = server
            .client
            .post(server.url(&path))
            .json(&json!({"text": LOST_CARD.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::SERVICE_UNAVAILABLE);
        let id = created["conversation_id"].as_i64().unwrap();
        assert!(server
            .store
            .messages(id, None, Readers::Team)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn not_ready_when_the_database_is_gone() {
    with_default_server(|server| async move {
        server.store.close().await;
        let response = server
            .client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["database"], "unreachable", "{body}");
    })
    .await;
}

#[tokio::test]
async fn metrics_count_by_route_template_never_by_raw_path() {
    with_default_server(|server| async move {
        let answered = server
            .client
            .post(server.url("/api/v1/answer"))
            .json(&json!({"message": LOST_CARD.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        let secret = "0123456789abcdef-not-a-real-token";
        let unknown = format!("/api/v1/widget/conversations/{secret}/messages");
        let missing = server
            .client
            .get(server.url(&unknown))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let invented = reqwest::Method::from_bytes(b"INVENTED").unwrap();
        let odd = server
            .client
            .request(invented, server.url("/nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(odd.status(), StatusCode::NOT_FOUND);

        let response = server
            .client
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let text = response.text().await.unwrap();

        for expected in [
            r#"frontdesk_http_requests_total{method="POST",route="/api/v1/answer",status="200"} 1"#,
            r#"route="/api/v1/widget/conversations/{token}/messages",status="404"} 1"#,
            r#"frontdesk_assistant_decisions_total{decision="answer",reason="none"} 1"#,
            r#"_duration_seconds_bucket{method="POST",route="/api/v1/answer""#,
        ] {
            assert!(text.contains(expected), "no {expected} in:\n{text}");
        }
        assert!(
            !text.contains(secret),
            "a raw path reached the metrics:\n{text}"
        );
        assert!(
            !text.contains("INVENTED") && text.contains(r#"method="other""#),
            "an invented method got a label of its own:\n{text}"
        );
    })
    .await;
}

/// Every path and method the OpenAPI document names is served: none answers "no such
/// route" or 405. (The reverse, every route documented, is kept by review.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    with_default_server(|server| async move {
        let response = server
            .client
            .get(server.url("/api/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let paths = document["paths"].as_object().unwrap();
        assert!(paths.len() >= 15, "{} paths", paths.len());
        for (path, operations) in paths {
            let concrete = path
                .replace("{id}", "1")
                .replace("{token}", "no-such-token");
            for method in operations.as_object().unwrap().keys() {
                let method = match method.as_str() {
                    "get" => reqwest::Method::GET,
                    "post" => reqwest::Method::POST,
                    "delete" => reqwest::Method::DELETE,
                    "parameters" => continue,
                    other => panic!("{path}: unexpected method {other}"),
                };
                // Sent without a token: the team's routes answer 401, which still shows
                // the route exists (and the endless event stream is not opened).
                let response = server
                    .client
                    .request(method.clone(), server.url(&concrete))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                if status == StatusCode::NOT_FOUND {
                    let body: Value = response.json().await.unwrap();
                    assert_ne!(body["error"], "no such route", "{method} {path}");
                }
            }
        }
    })
    .await;
}
