//! The team's API: a customer's story from the assistant to a person and back, private
//! notes, the live event stream, and who may call it; on SQLite and on PostgreSQL.

use std::time::Duration;

use frontdesk_core::{Channel, NewConversation, Role};
use frontdesk_server::auth::{api_token_hash, hash_password, new_api_token};
use frontdesk_store::Readers;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::support::{TestServer, ASK_FOR_A_PERSON, LOST_CARD};
use crate::widget::{authors, list, open, say};

/// Adds a team member and returns an API token for them.
pub(crate) async fn member(server: &TestServer, email: &str, role: Role) -> String {
    let hash = hash_password("a long enough password").unwrap();
    server.store.add_user(email, role, &hash).await.unwrap();
    let token = new_api_token();
    server
        .store
        .add_api_token(email, &api_token_hash(&token), None, None)
        .await
        .unwrap();
    token
}

pub(crate) fn as_member(request: RequestBuilder, token: &str) -> RequestBuilder {
    request.bearer_auth(token)
}

pub(crate) async fn get_json(server: &TestServer, token: &str, path: &str) -> Value {
    let response = as_member(server.client.get(server.url(path)), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

pub(crate) async fn post_json(server: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let response = as_member(server.client.post(server.url(path)), token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "POST {path}");
    response.json().await.unwrap()
}

fn texts(messages: &Value) -> Vec<&str> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect()
}

async fn a_person_takes_over_replies_and_resolves(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let (id, customer) = open(&server).await;

    let answered = say(&server, &customer, LOST_CARD.0).await;
    assert_eq!(answered["messages"][1]["sources"][0]["id"], LOST_CARD.1);
    let handed_off = say(&server, &customer, ASK_FOR_A_PERSON).await;
    assert_eq!(handed_off["conversation"]["status"], "waiting");

    // The agent finds it among the waiting conversations, with the summary.
    let waiting = get_json(&server, &agent, "/api/v1/conversations?status=waiting").await;
    let found = &waiting["conversations"][0];
    assert_eq!(found["id"], id);
    assert!(found["handoff_summary"]
        .as_str()
        .unwrap()
        .contains(ASK_FOR_A_PERSON));
    assert!(
        found.get("token").is_none(),
        "the customer's token stays hidden"
    );

    let base = format!("/api/v1/conversations/{id}");
    let assigned = post_json(&server, &agent, &format!("{base}/assign"), json!({})).await;
    assert_eq!(assigned["conversation"]["status"], "assigned");
    assert_eq!(assigned["conversation"]["assignee"], "agent@shop.example");
    assert_eq!(authors(&assigned["messages"]), ["system"]);

    post_json(
        &server,
        &agent,
        &format!("{base}/notes"),
        json!({ "text": "card was blocked on Monday" }),
    )
    .await;
    let replied = post_json(
        &server,
        &agent,
        &format!("{base}/messages"),
        json!({ "text": "I have ordered you a new card." }),
    )
    .await;
    assert_eq!(authors(&replied["messages"]), ["agent"]);

    // The customer sees the person join and reply, and never the note.
    let seen = list(&server, &customer, None).await;
    let seen_texts = texts(&seen["messages"]);
    assert!(seen_texts.contains(&"I have ordered you a new card."));
    assert!(!seen_texts.contains(&"card was blocked on Monday"));
    assert_eq!(seen["conversation"]["status"], "assigned");

    // The team sees everything, the note marked internal.
    let full = get_json(&server, &agent, &base).await;
    let note = full["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "card was blocked on Monday")
        .unwrap();
    assert_eq!(note["visibility"], "internal");
    assert!(full["conversation"]["first_human_reply_at"].is_i64());

    let resolved = post_json(&server, &agent, &format!("{base}/resolve"), json!({})).await;
    assert_eq!(resolved["conversation"]["status"], "resolved");
    assert_eq!(resolved["conversation"]["assignee"], "agent@shop.example");
}

async fn replying_takes_a_waiting_conversation(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let (id, customer) = open(&server).await;
    say(&server, &customer, ASK_FOR_A_PERSON).await;

    let replied = post_json(
        &server,
        &agent,
        &format!("/api/v1/conversations/{id}/messages"),
        json!({ "text": "Hello, I am here." }),
    )
    .await;
    assert_eq!(authors(&replied["messages"]), ["system", "agent"]);
    assert_eq!(replied["conversation"]["status"], "assigned");

    // While a person has it, the assistant stays silent.
    let later = say(&server, &customer, LOST_CARD.0).await;
    assert_eq!(authors(&later["messages"]), ["customer"]);

    // Handed back, the assistant answers again.
    let back = post_json(
        &server,
        &agent,
        &format!("/api/v1/conversations/{id}/handback"),
        json!({}),
    )
    .await;
    assert_eq!(back["conversation"]["status"], "bot");
    let answered = say(&server, &customer, LOST_CARD.0).await;
    assert_eq!(authors(&answered["messages"]), ["customer", "assistant"]);
}

async fn an_agent_can_assign_a_colleague(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    member(&server, "agent@shop.example", Role::Agent).await;
    let (id, _) = open(&server).await;

    let path = format!("/api/v1/conversations/{id}/assign");
    let assigned = post_json(
        &server,
        &owner,
        &path,
        json!({ "assignee": "Agent@Shop.example" }),
    )
    .await;
    assert_eq!(assigned["conversation"]["assignee"], "agent@shop.example");

    // Assigning to whoever holds it already is a no-op, with no second notice.
    let again = post_json(
        &server,
        &owner,
        &path,
        json!({ "assignee": "agent@shop.example" }),
    )
    .await;
    assert_eq!(again["messages"], json!([]));

    // Passing it on to another member: the customer already has a person, so they are
    // not told again that one joined.
    let passed = post_json(&server, &owner, &path, json!({})).await;
    assert_eq!(passed["conversation"]["assignee"], "owner@shop.example");
    assert_eq!(passed["messages"], json!([]));
    let seen = get_json(&server, &owner, &format!("/api/v1/conversations/{id}")).await;
    let notices = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["author"] == "system")
        .count();
    assert_eq!(notices, 1, "{seen}");

    let unknown = as_member(server.client.post(server.url(&path)), &owner)
        .json(&json!({ "assignee": "nobody@shop.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["field"], "assignee");

    let mine = get_json(
        &server,
        &owner,
        "/api/v1/conversations?assignee=owner@shop.example&channel=widget",
    )
    .await;
    assert_eq!(mine["conversations"].as_array().unwrap().len(), 1);
}

async fn the_team_api_needs_a_valid_token(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let paths = ["/api/v1/me", "/api/v1/conversations", "/api/v1/events"];
    for path in paths {
        let anonymous = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        let forged = as_member(server.client.get(server.url(path)), "fdt_0000")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // The scheme's capitals do not matter; the token's do.
    let lowercase = server
        .client
        .get(server.url("/api/v1/me"))
        .header("Authorization", format!("bearer {agent}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), StatusCode::OK);
    let me = get_json(&server, &agent, "/api/v1/me").await;
    assert_eq!(me["email"], "agent@shop.example");
    assert_eq!(me["role"], "agent");
    assert!(me.get("password_hash").is_none());
}

async fn bad_requests_name_what_is_wrong(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let bad_status = as_member(
        server
            .client
            .get(server.url("/api/v1/conversations?status=open")),
        &agent,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_status.json().await.unwrap();
    assert_eq!(body["field"], "status");
    assert!(body["error"].as_str().unwrap().contains("\"open\""));

    let not_an_id = as_member(
        server.client.get(server.url("/api/v1/conversations/abc")),
        &agent,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(not_an_id.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_an_id.json().await.unwrap();
    assert_eq!(body["field"], "id");

    let missing = as_member(
        server
            .client
            .post(server.url("/api/v1/conversations/999999/messages")),
        &agent,
    )
    .json(&json!({ "text": "hello?" }))
    .send()
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let (id, _) = open(&server).await;
    let empty = as_member(
        server
            .client
            .post(server.url(&format!("/api/v1/conversations/{id}/notes"))),
        &agent,
    )
    .json(&json!({ "text": "   " }))
    .send()
    .await
    .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);

    // Handing back what the assistant already has is refused, not silently accepted.
    let handback = as_member(
        server
            .client
            .post(server.url(&format!("/api/v1/conversations/{id}/handback"))),
        &agent,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(handback.status(), StatusCode::CONFLICT);
}

async fn the_inbox_hears_customers_live(server: TestServer) {
    let agent = member(&server, "agent@shop.example", Role::Agent).await;
    let mut stream = as_member(server.client.get(server.url("/api/v1/events")), &agent)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );

    let (id, customer) = open(&server).await;
    say(&server, &customer, ASK_FOR_A_PERSON).await;

    // Read until the handoff arrives: the customer's message, the assistant's reply,
    // then the conversation now waiting.
    let mut received = String::new();
    while !received.contains("\"status\":\"waiting\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within ten seconds")
            .unwrap()
            .expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.contains("event: message"));
    assert!(received.contains(ASK_FOR_A_PERSON));
    assert!(received.contains("event: conversation"));
    assert!(received.contains(&format!("\"id\":{id}")));
}

async fn an_agent_works_only_the_channels_given(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let agent = member(&server, "tg@shop.example", Role::Agent).await;
    server
        .store
        .set_user_channels("tg@shop.example", &[Channel::Telegram])
        .await
        .unwrap();
    let mut stream = as_member(server.client.get(server.url("/api/v1/events")), &agent)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    // A widget conversation, answered by the assistant, and a Telegram one.
    let (widget_id, customer) = open(&server).await;
    let answered = say(&server, &customer, LOST_CARD.0).await;
    let reply_id = answered["messages"][1]["id"].as_i64().unwrap();
    let telegram = server
        .store
        .create_conversation(&NewConversation {
            channel: Channel::Telegram,
            external_id: "4242".to_string(),
            token: "telegram-token".to_string(),
        })
        .await
        .unwrap();
    let note_path = format!("/api/v1/conversations/{}/notes", telegram.id);
    post_json(&server, &owner, &note_path, json!({"text": "VIP customer"})).await;

    // The list, and every route on the widget conversation, are closed to the agent.
    let listed = get_json(&server, &agent, "/api/v1/conversations").await;
    assert_eq!(listed_ids(&listed), [telegram.id]);
    let everyone = get_json(&server, &owner, "/api/v1/conversations").await;
    assert_eq!(everyone["conversations"].as_array().unwrap().len(), 2);

    let refused = as_member(
        server
            .client
            .get(server.url(&format!("/api/v1/conversations/{widget_id}"))),
        &agent,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    for (path, body) in [
        ("messages", json!({"text": "hello"})),
        ("notes", json!({"text": "hello"})),
        ("assign", json!({})),
        ("handback", json!({})),
        ("resolve", json!({})),
    ] {
        let url = server.url(&format!("/api/v1/conversations/{widget_id}/{path}"));
        let response = as_member(server.client.post(url), &agent)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let url = server.url(&format!("/api/v1/messages/{reply_id}/feedback"));
    let feedback = as_member(server.client.post(url), &agent)
        .json(&json!({"verdict": "right"}))
        .send()
        .await
        .unwrap();
    assert_eq!(feedback.status(), StatusCode::FORBIDDEN);
    let widget_messages = server
        .store
        .messages(widget_id, None, Readers::Team)
        .await
        .unwrap();
    assert_eq!(widget_messages.len(), 2, "nothing was added");

    // The Telegram conversation is theirs to read.
    let shown = get_json(
        &server,
        &agent,
        &format!("/api/v1/conversations/{}", telegram.id),
    )
    .await;
    assert_eq!(shown["messages"][0]["text"], "VIP customer");

    // Their event stream carried the Telegram note and nothing of the widget's.
    let mut received = String::new();
    while !received.contains("VIP customer") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within ten seconds")
            .unwrap()
            .expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!received.contains(LOST_CARD.0), "{received}");
    assert!(!received.contains(&format!("\"conversation_id\":{widget_id}")));
}

fn listed_ids(list: &Value) -> Vec<i64> {
    list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn the_list_shows_the_latest_active_first_a_page_at_a_time(server: TestServer) {
    let owner = member(&server, "owner@shop.example", Role::Owner).await;
    let mut opened = Vec::new();
    for n in 0..3 {
        let (id, token) = open(&server).await;
        say(&server, &token, &format!("hello, this is customer {n}")).await;
        opened.push((id, token));
    }
    // The first customer writes again: theirs is now the latest activity.
    say(&server, &opened[0].1, "are you there?").await;
    let ids: Vec<i64> = opened.iter().map(|(id, _)| *id).collect();

    let all = get_json(&server, &owner, "/api/v1/conversations").await;
    assert_eq!(listed_ids(&all), [ids[0], ids[2], ids[1]]);
    assert_eq!(all["more"], false);
    let page = get_json(&server, &owner, "/api/v1/conversations?limit=2").await;
    assert_eq!(listed_ids(&page), [ids[0], ids[2]]);
    assert_eq!(page["more"], true);
    let by_email = get_json(&server, &owner, "/api/v1/conversations?channel=email").await;
    assert_eq!(listed_ids(&by_email), Vec::<i64>::new());

    for bad in ["0", "501", "many"] {
        let path = format!("/api/v1/conversations?limit={bad}");
        let response = as_member(server.client.get(server.url(&path)), &owner)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}

on_both_backends!(
    the_list_shows_the_latest_active_first_a_page_at_a_time,
    an_agent_works_only_the_channels_given,
    a_person_takes_over_replies_and_resolves,
    replying_takes_a_waiting_conversation,
    an_agent_can_assign_a_colleague,
    the_team_api_needs_a_valid_token,
    bad_requests_name_what_is_wrong,
    the_inbox_hears_customers_live,
);
