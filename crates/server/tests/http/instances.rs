//! Two server instances on one PostgreSQL database, as behind a load balancer: a
//! customer on one and an agent on the other see each other live, and messages sent to
//! both at once still take turns.

use std::collections::HashMap;
use std::time::Duration;

use frontdesk_core::Role;
use frontdesk_server::ServerSettings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::live::{connect, next_frame, send_json, Socket};
use crate::support::{with_two_instances, TestServer, TwoInstances, CHANGE_PIN, LOST_CARD};
use crate::team::{as_member, member, post_json};
use crate::widget::{authors, list, open, say};

/// Longer than any turn takes on a loaded machine, short enough to fail a stuck test.
const EVENT_WAIT: Duration = Duration::from_secs(20);
/// Rounds of messages sent at once to both instances.
const ROUNDS: usize = 5;

/// A widget socket that is surely hearing events: the socket answers a catch-up only once
/// it listens, and ends it with the status.
async fn connect_listening(server: &TestServer, token: &str) -> Socket {
    let mut socket = connect(server, token).await;
    send_json(&mut socket, json!({ "type": "resume", "after": null })).await;
    let status = next_frame(&mut socket).await;
    assert_eq!(status, json!({ "type": "status", "status": "bot" }));
    socket
}

/// The team's event stream, read one event at a time.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(server: &TestServer, token: &str) -> EventStream {
        let request = as_member(server.client.get(server.url("/api/v1/events")), token);
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data; panics after `EVENT_WAIT`.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                // Keep-alive comments carry no data.
                if !data.is_empty() {
                    return (name, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout(EVENT_WAIT, self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Every message event up to and including the one with `text`, by message id, each
    /// with how often it was heard.
    async fn messages_until(&mut self, text: &str) -> HashMap<i64, (Value, usize)> {
        let mut heard: HashMap<i64, (Value, usize)> = HashMap::new();
        loop {
            let (name, data) = self.next().await;
            assert_ne!(name, "lagged", "nothing should be missed here");
            if name != "message" {
                continue;
            }
            let message = data["message"].clone();
            let id = message["id"].as_i64().unwrap();
            let done = message["text"] == text;
            heard.entry(id).or_insert((message, 0)).1 += 1;
            if done {
                return heard;
            }
        }
    }
}

/// Asserts that every message was heard once, and returns their authors in id order.
fn heard_once(heard: &HashMap<i64, (Value, usize)>) -> Vec<String> {
    let mut ids: Vec<&i64> = heard.keys().collect();
    ids.sort();
    ids.iter()
        .map(|id| {
            let (message, times) = &heard[*id];
            assert_eq!(*times, 1, "message {id} heard {times} times: {message}");
            message["author"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_and_an_agent_on_two_instances_see_each_other_live() {
    with_two_instances(ServerSettings::default(), |instances| async move {
        let TwoInstances { first, second, .. } = instances;
        let agent = member(&first, "agent@shop.example", Role::Agent).await;
        let (id, token) = open(&first).await;
        // The customer is on the first instance, the agent on the second; the first
        // instance's inbox stream shows that nothing is heard twice there either.
        let mut socket = connect_listening(&first, &token).await;
        let mut inbox_on_second = EventStream::open(&second, &agent).await;
        let mut inbox_on_first = EventStream::open(&first, &agent).await;

        say(&first, &token, LOST_CARD.0).await;
        let answer = crate::support::engine().decide(LOST_CARD.0).text;
        let on_second = inbox_on_second.messages_until(&answer).await;
        assert_eq!(heard_once(&on_second), ["customer", "assistant"]);
        let customer = on_second.values().find(|(m, _)| m["author"] == "customer");
        assert_eq!(customer.unwrap().0["text"], LOST_CARD.0);

        let base = format!("/api/v1/conversations/{id}");
        let reply = "I have ordered you a new card.";
        post_json(
            &second,
            &agent,
            &format!("{base}/messages"),
            json!({ "text": reply }),
        )
        .await;

        // The customer, on the first instance, hears the agent join and reply.
        let mut frames = Vec::new();
        while frames
            .last()
            .is_none_or(|f: &Value| f["message"]["text"] != reply)
        {
            frames.push(
                tokio::time::timeout(EVENT_WAIT, next_frame(&mut socket))
                    .await
                    .unwrap(),
            );
        }
        let messages: Vec<&Value> = frames.iter().filter(|f| f["type"] == "message").collect();
        let authors: Vec<&str> = messages
            .iter()
            .map(|f| f["message"]["author"].as_str().unwrap())
            .collect();
        assert_eq!(authors, ["customer", "assistant", "system", "agent"]);
        assert!(frames.contains(&json!({ "type": "status", "status": "assigned" })));

        // Both inboxes heard every message once: the first its own instance's at once,
        // and the second instance's through the database, never both ways.
        let on_first = inbox_on_first.messages_until(reply).await;
        assert_eq!(
            heard_once(&on_first),
            ["customer", "assistant", "system", "agent"]
        );
        let on_second = inbox_on_second.messages_until(reply).await;
        assert_eq!(heard_once(&on_second), ["system", "agent"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_to_two_instances_at_once_take_turns() {
    with_two_instances(ServerSettings::default(), |instances| async move {
        let TwoInstances { first, second, .. } = instances;
        let questions = [LOST_CARD.0, CHANGE_PIN.0, "hello", LOST_CARD.0];
        // A few rounds: a race that one round might miss is unlikely to hide in all.
        for _ in 0..ROUNDS {
            let (_, token) = open(&first).await;
            // Each question goes to both instances, so that turns on the two overlap.
            let posts = questions
                .iter()
                .flat_map(|question| [&first, &second].map(|server| say(server, &token, question)));
            let replies = futures_util::future::join_all(posts).await;
            for reply in &replies {
                assert_eq!(authors(&reply["messages"]), ["customer", "assistant"]);
            }

            let all = list(&second, &token, None).await;
            let expected: Vec<&str> = (0..replies.len())
                .flat_map(|_| ["customer", "assistant"])
                .collect();
            assert_eq!(authors(&all["messages"]), expected);
            // Each reply follows its own question: no turn interleaves with another.
            for pair in all["messages"].as_array().unwrap().chunks(2) {
                let question = pair[0]["text"].as_str().unwrap();
                let decision = crate::support::engine().decide(question);
                assert_eq!(pair[1]["text"], decision.text, "{pair:?}");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_too_large_to_travel_whole_are_read_from_the_store() {
    let settings = ServerSettings {
        max_body_bytes: 64 * 1024,
        ..ServerSettings::default()
    };
    with_two_instances(settings, |instances| async move {
        let TwoInstances { first, second, .. } = instances;
        let agent = member(&first, "agent@shop.example", Role::Agent).await;
        let mut inbox_on_second = EventStream::open(&second, &agent).await;
        let (_, token) = open(&first).await;
        // Over PostgreSQL's 8000-byte limit for a notification, whole.
        let long = format!("{} {}", "my parcel never arrived".repeat(500), LOST_CARD.0);
        say(&first, &token, &long).await;
        let heard = inbox_on_second.messages_until(&long).await;
        let (message, _) = heard
            .values()
            .find(|(m, _)| m["text"] == long.as_str())
            .unwrap();
        assert_eq!(message["author"], "customer");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lost_its_event_connection_says_to_fetch_again() {
    with_two_instances(ServerSettings::default(), |instances| async move {
        let TwoInstances {
            first,
            second,
            postgres_url,
            schema,
        } = instances;
        let agent = member(&first, "agent@shop.example", Role::Agent).await;
        let (_, token) = open(&first).await;
        let mut socket = connect_listening(&first, &token).await;
        let mut inbox_on_second = EventStream::open(&second, &agent).await;

        // As a database restart or a network cut would: both instances lose the
        // connection they hear each other on.
        let cut = cut_listening_connections(&postgres_url, &schema).await;
        assert_eq!(cut, 2, "one listening connection per instance");

        // Once listening again, each tells its streams to fetch again: the inbox gets
        // `lagged`, the widget socket a catch-up (which always ends with the status).
        let (name, data) = inbox_on_second.next().await;
        assert_eq!(name, "lagged");
        assert_eq!(data, json!({ "missed": null }));
        let caught_up = tokio::time::timeout(EVENT_WAIT, next_frame(&mut socket)).await;
        assert_eq!(
            caught_up.unwrap(),
            json!({ "type": "status", "status": "bot" })
        );

        // And they hear each other again.
        say(&first, &token, LOST_CARD.0).await;
        let heard = inbox_on_second.messages_until(LOST_CARD.0).await;
        assert_eq!(heard_once(&heard), ["customer"]);
    })
    .await;
}

/// Terminates the connections the servers on `schema` listen on, and only those; returns
/// how many there were.
async fn cut_listening_connections(url: &str, schema: &str) -> usize {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query = $1",
    )
    .bind(format!("LISTEN \"frontdesk_events.{schema}\""))
    .fetch_all(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    cut.into_iter().filter(|&cut| cut).count()
}
