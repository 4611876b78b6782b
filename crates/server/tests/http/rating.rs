//! The satisfaction rating asked once a conversation is resolved: in the widget's chat,
//! and by a link to a small page on other channels; what the analytics and the review
//! then show of it.

use frontdesk_core::{Channel, NewConversation, NewMessage, Role};
use frontdesk_server::ServerSettings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::feedback::store_fixture_knowledge;
use crate::inbox::{session_cookie, sign_in};
use crate::support::{TestServer, LOST_CARD};
use crate::team::{get_json, member, post_json};
use crate::widget::{open, say};

/// Where customers reach the server, as the rating links name it; never requested here.
const PUBLIC_URL: &str = "http://127.0.0.1:9";

/// What `team::member` sets every member's password to.
const PASSWORD: &str = "a long enough password";

fn with_public_url() -> ServerSettings {
    ServerSettings {
        public_url: Some(PUBLIC_URL.to_string()),
        ..ServerSettings::default()
    }
}

async fn resolve(server: &TestServer, owner: &str, id: i64) -> Value {
    let path = format!("/api/v1/conversations/{id}/resolve");
    post_json(server, owner, &path, json!({})).await
}

async fn rate_in_widget(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    let path = format!("/api/v1/widget/conversations/{token}/rating");
    server
        .client
        .post(server.url(&path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn the_widget_asks_once_resolved_and_the_owner_sees_it(server: TestServer) {
    store_fixture_knowledge(&server).await;
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let cookie = session_cookie(&sign_in(&server, "owner@shop.example", PASSWORD).await);
    let (id, token) = open(&server).await;
    let answered = say(&server, &token, LOST_CARD.0).await;
    assert_eq!(answered["messages"][1]["author"], "assistant", "{answered}");
    // A sure answer is not worth a look in the review, until the customer rates it low.
    let in_review = format!("conversation {id} ·");
    assert!(!review_page(&server, &cookie).await.contains(&in_review));

    // Not before the conversation is resolved, and only scores from 1 to 5.
    let early = rate_in_widget(&server, &token, json!({ "score": 5 })).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    let resolved = resolve(&server, &owner, id).await;
    assert_eq!(resolved["conversation"]["status"], "resolved", "{resolved}");
    // The widget asks in the chat: its notice carries no link.
    let notice = resolved["messages"][0]["text"].as_str().unwrap();
    assert!(!notice.contains("/rate/"), "{notice}");
    for bad in [
        json!({ "score": 0 }),
        json!({ "score": 6 }),
        json!({ "score": "5" }),
    ] {
        let refused = rate_in_widget(&server, &token, bad.clone()).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let unknown = rate_in_widget(&server, "not-a-token", json!({ "score": 3 })).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Rating again replaces the rating.
    let first = rate_in_widget(&server, &token, json!({ "score": 4 })).await;
    assert_eq!(first.status(), StatusCode::OK);
    let comment = "<script>alert(1)</script> slow to answer";
    // A comment of 2,000 characters in any script fits.
    let long = json!({ "score": 3, "comment": "好".repeat(2_000) });
    assert_eq!(
        rate_in_widget(&server, &token, long).await.status(),
        StatusCode::OK
    );
    let rated = rate_in_widget(&server, &token, json!({ "score": 1, "comment": comment })).await;
    assert_eq!(rated.status(), StatusCode::OK);
    let stored = server.store.rating_of(id).await.unwrap();
    assert_eq!(stored, Some((1, Some(comment.to_string()))));

    let figures = get_json(&server, &owner, "/api/v1/analytics").await;
    let satisfaction = &figures["satisfaction"];
    assert_eq!(satisfaction["ratings"], 1, "{figures}");
    assert_eq!(
        satisfaction["by_score"],
        json!([1, 0, 0, 0, 0]),
        "{figures}"
    );
    assert_eq!(satisfaction["satisfied_rate"], 0.0, "{figures}");

    // A low rating puts the conversation's replies in the review, with the rating shown.
    let review = review_page(&server, &cookie).await;
    assert!(review.contains(&in_review), "{review}");
    assert!(
        review.contains("the customer rated the conversation 1 of 5"),
        "{review}"
    );
    assert!(
        review.contains("&lt;script&gt;alert(1)&lt;/script&gt; slow to answer"),
        "{review}"
    );
}

async fn review_page(server: &TestServer, cookie: &str) -> String {
    server
        .client
        .get(server.url("/admin/review"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn other_channels_get_a_link_to_a_rating_page(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let unused_token = frontdesk_server::auth::new_api_token();
    let conversation = server
        .store
        .create_conversation(&NewConversation {
            channel: Channel::Email,
            external_id: "ana@example.com".to_string(),
            token: unused_token.clone(),
        })
        .await
        .unwrap();
    let id = conversation.id;
    server
        .store
        .append_message(&NewMessage::from_customer(
            id,
            "My parcel never came.".to_string(),
        ))
        .await
        .unwrap();

    let resolved = resolve(&server, &owner, id).await;
    let notice = resolved["messages"][0]["text"].as_str().unwrap();
    let link_start = notice
        .find(PUBLIC_URL)
        .unwrap_or_else(|| panic!("no link: {notice}"));
    let link = &notice[link_start..];
    let token = link
        .strip_prefix(&format!("{PUBLIC_URL}/rate/"))
        .unwrap_or_else(|| panic!("not a rating link: {link}"));
    assert_ne!(token, unused_token);
    // The link's secret opens the rating and nothing else: not the conversation's messages.
    let messages = format!("/api/v1/widget/conversations/{token}/messages");
    let read = server
        .client
        .get(server.url(&messages))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let rated_by_widget = rate_in_widget(&server, token, json!({ "score": 5 })).await;
    assert_eq!(rated_by_widget.status(), StatusCode::NOT_FOUND);

    // Opening the link stores nothing (mail scanners open links); the form does.
    let page = server
        .client
        .get(server.url(&format!("/rate/{token}?score=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("value=\"2\" required checked"), "{page}");
    assert_eq!(server.store.rating_of(id).await.unwrap(), None);

    let path = format!("/rate/{token}");
    let no_score = server
        .client
        .post(server.url(&path))
        .form(&[("comment", "hm")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_score.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent = server
        .client
        .post(server.url(&path))
        .form(&[("score", "2"), ("comment", "  took a week  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(sent.text().await.unwrap().contains("is recorded"));
    let stored = server.store.rating_of(id).await.unwrap();
    assert_eq!(stored, Some((2, Some("took a week".to_string()))));

    // What a customer may meet is a page, not an error for programs.
    let gone = server
        .client
        .get(server.url("/rate/nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(gone
        .text()
        .await
        .unwrap()
        .contains("This rating link is not known"));
    let by_conversation_token = server.url(&format!("/rate/{unused_token}"));
    let refused = server
        .client
        .get(by_conversation_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

on_both_backends!(
    settings = crate::rating::with_public_url;
    the_widget_asks_once_resolved_and_the_owner_sees_it,
    other_channels_get_a_link_to_a_rating_page,
);
