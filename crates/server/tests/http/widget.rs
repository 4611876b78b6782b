//! The widget's conversation API, as one customer's story and its edge cases, on SQLite
//! and on PostgreSQL.

use frontdesk_core::{ConversationStatus, Reason, StatusChange};
use frontdesk_store::Readers;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{TestServer, ASK_FOR_A_PERSON, CHANGE_PIN, LOST_CARD};

/// Opens a conversation and returns its id and token.
pub(crate) async fn open(server: &TestServer) -> (i64, String) {
    let response = server
        .client
        .post(server.url("/api/v1/widget/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    (body["conversation_id"].as_i64().unwrap(), token)
}

fn messages_path(token: &str) -> String {
    format!("/api/v1/widget/conversations/{token}/messages")
}

pub(crate) async fn say(server: &TestServer, token: &str, text: &str) -> Value {
    let response = server
        .client
        .post(server.url(&messages_path(token)))
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "posting {text:?}");
    response.json().await.unwrap()
}

pub(crate) async fn list(server: &TestServer, token: &str, after: Option<i64>) -> Value {
    let mut url = server.url(&messages_path(token));
    if let Some(after) = after {
        url = format!("{url}?after={after}");
    }
    let response = server.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub(crate) fn authors(messages: &Value) -> Vec<&str> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect()
}

async fn a_customer_is_answered_then_handed_to_a_person(server: TestServer) {
    let (id, token) = open(&server).await;
    assert_eq!(token.len(), 48, "{token}");

    let answered = say(&server, &token, LOST_CARD.0).await;
    assert_eq!(answered["conversation"]["status"], "bot", "{answered}");
    assert_eq!(authors(&answered["messages"]), ["customer", "assistant"]);
    let reply = &answered["messages"][1];
    assert_eq!(
        reply["sources"][0],
        json!({"kind": "faq", "id": LOST_CARD.1, "title": "I've lost my card, what should I do?"})
    );
    // The customer sees the answer and its FAQ, not the decision behind it nor the past
    // tickets (other customers' words) it leaned on.
    assert!(reply.get("decision").is_none(), "{reply}");
    let kinds: Vec<&str> = reply["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|source| source["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"ticket"), "{reply}");
    let stored = server
        .store
        .messages(id, None, Readers::Team)
        .await
        .unwrap();
    let decision = stored[1].decision.as_ref().unwrap();
    assert_eq!(reply["text"], decision.text.as_str());

    let handed_off = say(&server, &token, ASK_FOR_A_PERSON).await;
    assert_eq!(handed_off["conversation"]["status"], "waiting");
    let notice = &handed_off["messages"][1];
    assert_eq!(notice["author"], "assistant", "{notice}");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("member of our team"),
        "the customer is told a person will reply: {notice}"
    );
    let stored = server.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.status, ConversationStatus::Waiting);
    assert_eq!(stored.handoff_reason, Some(Reason::PersonRequested));
    let summary = stored.handoff_summary.unwrap();
    assert!(summary.contains(ASK_FOR_A_PERSON), "{summary}");
    assert!(summary.contains(LOST_CARD.0), "{summary}");

    // Handed off: the assistant stays silent, the message is still kept.
    let waiting = say(&server, &token, "Hello? Is anyone there?").await;
    assert_eq!(waiting["conversation"]["status"], "waiting");
    assert_eq!(authors(&waiting["messages"]), ["customer"]);

    let all = list(&server, &token, None).await;
    assert_eq!(
        authors(&all["messages"]),
        ["customer", "assistant", "customer", "assistant", "customer"]
    );
    let texts: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], LOST_CARD.0);
    assert_eq!(texts[4], "Hello? Is anyone there?");

    let second_id = all["messages"][1]["id"].as_i64().unwrap();
    let newer = list(&server, &token, Some(second_id)).await;
    assert_eq!(
        authors(&newer["messages"]),
        ["customer", "assistant", "customer"]
    );
}

async fn the_assistant_answers_again_once_handed_back_or_reopened(server: TestServer) {
    let (id, token) = open(&server).await;
    say(&server, &token, ASK_FOR_A_PERSON).await;
    let silent = say(&server, &token, LOST_CARD.0).await;
    assert_eq!(authors(&silent["messages"]), ["customer"]);

    server
        .store
        .change_status(id, &StatusChange::HandBack)
        .await
        .unwrap();
    let answered = say(&server, &token, LOST_CARD.0).await;
    assert_eq!(answered["conversation"]["status"], "bot");
    assert_eq!(authors(&answered["messages"]), ["customer", "assistant"]);

    server
        .store
        .change_status(id, &StatusChange::Resolve)
        .await
        .unwrap();
    let reopened = say(&server, &token, CHANGE_PIN.0).await;
    assert_eq!(reopened["conversation"]["status"], "bot", "{reopened}");
    assert_eq!(reopened["messages"][1]["sources"][0]["id"], CHANGE_PIN.1);
    let stored = server.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.resolved_at, None);
}

async fn messages_sent_together_take_turns(server: TestServer) {
    let (_, token) = open(&server).await;
    let questions = [LOST_CARD.0, CHANGE_PIN.0, "hello", LOST_CARD.0];
    let posts = questions.map(|question| say(&server, &token, question));
    let replies = futures_join_all(posts).await;

    // Every post got its own answer, right after its own question.
    for (question, reply) in questions.iter().zip(&replies) {
        assert_eq!(
            authors(&reply["messages"]),
            ["customer", "assistant"],
            "{reply}"
        );
        assert_eq!(reply["messages"][0]["text"], *question);
        let customer_id = reply["messages"][0]["id"].as_i64().unwrap();
        let assistant_id = reply["messages"][1]["id"].as_i64().unwrap();
        assert!(assistant_id > customer_id);
    }
    let all = list(&server, &token, None).await;
    let expected: Vec<&str> = (0..questions.len())
        .flat_map(|_| ["customer", "assistant"])
        .collect();
    assert_eq!(authors(&all["messages"]), expected);
    // Each reply follows its own question: no turn interleaves with another.
    let stored = all["messages"].as_array().unwrap();
    for pair in stored.chunks(2) {
        let question = pair[0]["text"].as_str().unwrap();
        let decision = crate::support::engine().decide(question);
        assert_eq!(pair[1]["text"], decision.text, "{pair:?}");
    }
}

/// Runs every future at once on this task and waits for all of them.
async fn futures_join_all<F: std::future::Future<Output = Value>>(futures: [F; 4]) -> Vec<Value> {
    let [a, b, c, d] = futures;
    let (a, b, c, d) = tokio::join!(a, b, c, d);
    vec![a, b, c, d]
}

async fn unknown_tokens_get_404(server: TestServer) {
    let path = messages_path("no-such-token");
    let posted = server
        .client
        .post(server.url(&path))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    let body: Value = posted.json().await.unwrap();
    assert_eq!(body["error"], "no conversation has this token");

    let listed = server.client.get(server.url(&path)).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::NOT_FOUND);
}

async fn bad_messages_are_refused_and_not_stored(server: TestServer) {
    let (id, token) = open(&server).await;
    let url = server.url(&messages_path(&token));
    for (body, field) in [
        (json!({"text": "   "}), "text"),
        // PostgreSQL cannot store NUL; invisible characters alone are no message.
        (json!({"text": "hello\u{0}world"}), "text"),
        (json!({"text": "\u{200b}\u{202e}\u{feff}"}), "text"),
        (json!({"message": "wrong field"}), "text"),
        (json!({"text": ["not", "text"]}), "text"),
    ] {
        let response = server.client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    let too_long = json!({"text": "a".repeat(5000)});
    let response = server
        .client
        .post(&url)
        .json(&too_long)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(server
        .store
        .messages(id, None, Readers::Team)
        .await
        .unwrap()
        .is_empty());

    let bad_after = server
        .client
        .get(format!("{url}?after=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_after.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad_after.json().await.unwrap();
    assert_eq!(error["field"], "after", "{error}");
}

/// Two messages the fixture is unsure of (confidence just under its 0.5 threshold).
pub(crate) const UNSURE: [&str; 2] = [
    "the plastic thing with my money fell out of my pocket",
    "I left my wallet card on the bus yesterday",
];

/// The first unsure turn asks the customer to say it another way; the second in a row
/// hands off, with both messages in the summary.
async fn two_unsure_turns_in_a_row_hand_off(server: TestServer) {
    let (id, token) = open(&server).await;
    let first = say(&server, &token, UNSURE[0]).await;
    assert_eq!(first["conversation"]["status"], "bot", "{first}");
    let asked = first["messages"][1]["text"].as_str().unwrap();
    assert!(asked.contains("say it another way"), "{asked}");

    let second = say(&server, &token, UNSURE[1]).await;
    assert_eq!(second["conversation"]["status"], "waiting", "{second}");
    let stored = server.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.handoff_reason, Some(Reason::LowConfidence));
    let summary = stored.handoff_summary.unwrap();
    assert!(
        summary.contains(UNSURE[0]) && summary.contains(UNSURE[1]),
        "{summary}"
    );

    // An answer in between starts the count again.
    let (_, token) = open(&server).await;
    say(&server, &token, UNSURE[0]).await;
    say(&server, &token, LOST_CARD.0).await;
    let again = say(&server, &token, UNSURE[1]).await;
    assert_eq!(again["conversation"]["status"], "bot", "{again}");
}

on_both_backends!(
    two_unsure_turns_in_a_row_hand_off,
    a_customer_is_answered_then_handed_to_a_person,
    the_assistant_answers_again_once_handed_back_or_reopened,
    messages_sent_together_take_turns,
    unknown_tokens_get_404,
    bad_messages_are_refused_and_not_stored,
);
