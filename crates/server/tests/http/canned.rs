//! Canned replies: the owner keeps them, agents get them filled in with the customer's
//! name for the conversation they have open, and nobody else may change them.

use frontdesk_core::{Channel, Role};
use frontdesk_store::{Inbound, InboundRecord};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestServer;
use crate::team::{as_member, get_json, member};

/// A Telegram conversation opened by a customer whose channel gave their name.
async fn conversation_from(server: &TestServer, name: &str) -> i64 {
    let channel = server
        .store
        .add_channel(Channel::Telegram, "telegram", "{}")
        .await
        .unwrap();
    let record = InboundRecord {
        channel_id: channel.id,
        channel: Channel::Telegram,
        conversation_key: "4242".to_string(),
        reply_to: "4242".to_string(),
        sender_name: Some(name.to_string()),
        text: "Where is my parcel?".to_string(),
        attachments: Vec::new(),
        provider_message_id: "1".to_string(),
        sent_at: 1_000,
        new_token: frontdesk_server::auth::new_api_token(),
        contact_key: None,
        subject: None,
        original_text: None,
        subject_key: None,
        automated: None,
        files: Vec::new(),
    };
    match server.store.store_inbound(&record).await.unwrap() {
        Inbound::New { conversation, .. } => conversation.id,
        Inbound::Duplicate => panic!("a new message was taken for a duplicate"),
    }
}

async fn post(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    as_member(
        server.client.post(server.url("/api/v1/canned-replies")),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn agents_get_canned_replies_with_the_customers_name(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let agent = member(&server, "ana@shop.example", Role::Agent).await;
    let late = json!({ "title": "Late parcel", "body": "Hello {name}, sorry: it left today." });
    let created = post(&server, &owner, late).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();

    // Only the owner changes them; a blank text is refused by field.
    let by_agent = post(&server, &agent, json!({ "title": "Mine", "body": "Hi" })).await;
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
    let blank = post(&server, &owner, json!({ "title": "Empty", "body": "  " })).await;
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);
    let blank: Value = blank.json().await.unwrap();
    assert_eq!(blank["field"], "body", "{blank}");

    let nul_title = post(&server, &owner, json!({ "title": "a\u{0}b", "body": "Hi" })).await;
    let nul_title: Value = nul_title.json().await.unwrap();
    assert_eq!(nul_title["field"], "title", "{nul_title}");
    // A text of 5,000 characters in any script fits.
    let long = json!({ "title": "Long", "body": "好".repeat(5_000) });
    let long: Value = post(&server, &owner, long).await.json().await.unwrap();
    let long_id = long["id"].as_i64().unwrap_or_else(|| panic!("{long}"));
    server.store.delete_canned_reply(long_id).await.unwrap();

    // Saving a title again replaces its text.
    let again = json!({ "title": "Late parcel", "body": "Hi {name}, it left today. {name}?" });
    let replaced: Value = post(&server, &owner, again).await.json().await.unwrap();
    assert_eq!(replaced["id"], created["id"]);

    let id = conversation_from(&server, "Mario <b>").await;
    let path = format!("/api/v1/canned-replies?conversation={id}");
    let filled = get_json(&server, &agent, &path).await;
    let replies = filled["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{filled}");
    assert_eq!(
        replies[0]["text"],
        "Hi Mario <b>, it left today. Mario <b>?"
    );
    assert_eq!(replies[0]["body"], "Hi {name}, it left today. {name}?");
    let unnamed = get_json(&server, &agent, "/api/v1/canned-replies").await;
    assert_eq!(
        unnamed["replies"][0]["text"],
        "Hi there, it left today. there?"
    );

    // An agent kept to the widget cannot read a Telegram customer's name through them.
    server
        .store
        .set_user_channels("ana@shop.example", &[Channel::Widget])
        .await
        .unwrap();
    let refused = as_member(server.client.get(server.url(&path)), &agent)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let missing = as_member(
        server
            .client
            .get(server.url("/api/v1/canned-replies?conversation=999999")),
        &owner,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let reply = created["id"].as_i64().unwrap();
    let delete_path = format!("/api/v1/canned-replies/{reply}");
    let by_agent = as_member(server.client.delete(server.url(&delete_path)), &agent)
        .send()
        .await
        .unwrap();
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
    let deleted = as_member(server.client.delete(server.url(&delete_path)), &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = as_member(server.client.delete(server.url(&delete_path)), &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(server.store.canned_replies().await.unwrap().is_empty());
}

on_both_backends!(agents_get_canned_replies_with_the_customers_name);
