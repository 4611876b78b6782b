//! Connected channels over real HTTP: signed webhook deliveries in, replies out through a
//! provider of our own on loopback; on SQLite and on PostgreSQL.

use std::time::Duration;

use frontdesk_channels::ChannelConfig;
use frontdesk_core::{Author, Channel, DeliveryState, NewMessage, Receipt};
use frontdesk_server::{OutboxSettings, ServerSettings};
use frontdesk_store::{Readers, WebhookProblem};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::provider::{Answer, MockProvider};
use crate::support::{TestServer, LOST_CARD};

const APP_SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "test-verify-token";
pub(crate) const PHONE_NUMBER_ID: &str = "1555000000001";
const TELEGRAM_SECRET: &str = "test-telegram-secret";

/// Quick retries, so that a test sees a reply through several failures in well under a
/// second.
pub(crate) fn quick_outbox() -> ServerSettings {
    ServerSettings {
        outbox: OutboxSettings {
            first_retry: Duration::from_millis(20),
            longest_retry: Duration::from_millis(100),
            poll_interval: Duration::from_millis(20),
            send_timeout: Duration::from_secs(5),
            ..OutboxSettings::default()
        },
        ..ServerSettings::default()
    }
}

pub(crate) fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(crate) async fn add_whatsapp(server: &TestServer, provider: &MockProvider) -> i64 {
    let config = ChannelConfig::Whatsapp {
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        access_token: "test-access-token".into(),
        phone_number_id: PHONE_NUMBER_ID.into(),
        api_base: provider.base.clone(),
    };
    let json = serde_json::to_string(&config).unwrap();
    let channel = server
        .store
        .add_channel(Channel::Whatsapp, "whatsapp", &json);
    channel.await.unwrap().id
}

async fn add_telegram(server: &TestServer, provider: &MockProvider) -> i64 {
    let config = ChannelConfig::Telegram {
        bot_token: "123:test-bot-token".into(),
        secret_token: TELEGRAM_SECRET.into(),
        api_base: provider.base.clone(),
    };
    let json = serde_json::to_string(&config).unwrap();
    let channel = server
        .store
        .add_channel(Channel::Telegram, "telegram", &json);
    channel.await.unwrap().id
}

/// A WhatsApp delivery: one change per (wa_id, name, message id, text) in `messages`,
/// grouped into `entries` entries.
fn whatsapp_body(entries: &[&[(&str, &str, &str, &str)]]) -> Vec<u8> {
    let entry: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(n, messages)| {
            let contacts: Vec<Value> = messages
                .iter()
                .map(|(wa_id, name, _, _)| json!({"profile": {"name": name}, "wa_id": wa_id}))
                .collect();
            let sent: Vec<Value> = messages
                .iter()
                .map(|(wa_id, _, id, text)| {
                    json!({"from": wa_id, "id": id, "timestamp": "1697043223",
                           "type": "text", "text": {"body": text}})
                })
                .collect();
            json!({"id": format!("entry-{n}"), "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "155501000001",
                             "phone_number_id": PHONE_NUMBER_ID},
                "contacts": contacts, "messages": sent}}]})
        })
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": entry})).unwrap()
}

pub(crate) async fn post_whatsapp(server: &TestServer, channel: i64, body: Vec<u8>) -> StatusCode {
    let signature = sign(&body);
    server
        .client
        .post(server.url(&format!("/webhooks/whatsapp/{channel}")))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

pub(crate) async fn post_telegram(server: &TestServer, channel: i64, body: Vec<u8>) -> StatusCode {
    server
        .client
        .post(server.url(&format!("/webhooks/telegram/{channel}")))
        .header("content-type", "application/json")
        .header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn channel_messages(server: &TestServer) -> Vec<frontdesk_core::Message> {
    let mut all = Vec::new();
    let filter = frontdesk_store::ConversationFilter::default();
    for conversation in server.store.conversations(&filter).await.unwrap() {
        let messages = server.store.messages(conversation.id, None, Readers::Team);
        all.extend(messages.await.unwrap());
    }
    all
}

async fn the_same_whatsapp_message_five_times_at_once_is_taken_once(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Test Name", "wamid.in1", LOST_CARD.0)]]);
    let deliveries = (0..5).map(|_| post_whatsapp(&server, channel, body.clone()));
    for status in futures_util::future::join_all(deliveries).await {
        assert_eq!(status, StatusCode::OK);
    }

    let sent = provider.wait_for_accepted(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        provider.accepted().len(),
        1,
        "one answer: {:?}",
        provider.calls()
    );
    let call = &sent[0];
    assert_eq!(call.path, format!("/{PHONE_NUMBER_ID}/messages"));
    assert_eq!(call.bearer.as_deref(), Some("test-access-token"));
    assert_eq!(call.body["to"], "155501000002");

    let messages = channel_messages(&server).await;
    let customer: Vec<_> = messages
        .iter()
        .filter(|m| m.author == Author::Customer)
        .collect();
    assert_eq!(customer.len(), 1, "{messages:?}");
    assert_eq!(customer[0].text, LOST_CARD.0);
    let reply = messages
        .iter()
        .find(|m| m.author == Author::Assistant)
        .unwrap();
    assert_eq!(call.body["text"]["body"], reply.text.as_str());
}

/// Posts a signed WhatsApp delivery and hangs up at once, with a reset, before any
/// answer can come: what a provider timing out under load does.
async fn post_whatsapp_and_hang_up(server: &TestServer, channel: i64, body: &[u8]) {
    use tokio::io::AsyncWriteExt;

    let address = server.base.trim_start_matches("http://");
    let head = format!(
        "POST /webhooks/whatsapp/{channel} HTTP/1.1\r\nhost: {address}\r\n\
         content-type: application/json\r\nx-hub-signature-256: {}\r\n\
         content-length: {}\r\n\r\n",
        sign(body),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    // Deprecated because a lingering close blocks the thread; a zero linger does not
    // linger at all, it resets the connection.
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

async fn a_message_whose_sender_hung_up_is_still_answered(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let customers: Vec<String> = (0..200).map(|n| format!("155502000{n:03}")).collect();
    let bodies: Vec<Vec<u8>> = customers
        .iter()
        .enumerate()
        .map(|(n, customer)| {
            let id = format!("wamid.hangup{n}");
            whatsapp_body(&[&[(customer.as_str(), "Test Name", id.as_str(), LOST_CARD.0)]])
        })
        .collect();
    let hang_ups = bodies
        .iter()
        .map(|body| post_whatsapp_and_hang_up(&server, channel, body));
    futures_util::future::join_all(hang_ups).await;

    // The provider sends each again, as it does when it got no answer. Whether the first
    // delivery was taken or not, each customer is answered once.
    let retries = bodies
        .iter()
        .map(|body| post_whatsapp(&server, channel, body.clone()));
    for status in futures_util::future::join_all(retries).await {
        assert_eq!(status, StatusCode::OK);
    }
    provider.wait_for_accepted(customers.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut answered: Vec<String> = provider
        .accepted()
        .iter()
        .filter_map(|call| call.body["to"].as_str().map(str::to_string))
        .collect();
    answered.sort();
    assert_eq!(answered, customers, "every customer answered once");
}

async fn a_delivery_with_a_bad_signature_stores_nothing(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Test Name", "wamid.x", "hello")]]);
    let url = server.url(&format!("/webhooks/whatsapp/{channel}"));
    let forged = server
        .client
        .post(&url)
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let unsigned = server.client.post(&url).body(body).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let error: Value = unsigned.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("X-Hub-Signature-256"),
        "{error}"
    );
    assert!(channel_messages(&server).await.is_empty());

    // Another kind's route does not reach this channel, nor does an unknown id.
    let elsewhere = server.url(&format!("/webhooks/messenger/{channel}"));
    let response = server
        .client
        .post(elsewhere)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn the_subscription_handshake_echoes_only_for_the_right_token(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let url = |token: &str| {
        server.url(&format!(
            "/webhooks/whatsapp/{channel}?hub.mode=subscribe&hub.verify_token={token}\
             &hub.challenge=1158201444"
        ))
    };
    let right = server.client.get(url(VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(right.text().await.unwrap(), "1158201444");
    let wrong = server.client.get(url("guess")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
}

async fn every_message_of_a_batch_is_taken(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    // Two entries, four messages, three contacts.
    let body = whatsapp_body(&[
        &[
            ("155501000002", "Ana", "wamid.a1", "hello"),
            ("155501000003", "Bo", "wamid.b1", "hi there"),
        ],
        &[
            ("155501000002", "Ana", "wamid.a2", "are you open today?"),
            ("155501000004", "Cy", "wamid.c1", "good morning"),
        ],
    ]);
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    let filter = frontdesk_store::ConversationFilter::default();
    let conversations = server.store.conversations(&filter).await.unwrap();
    assert_eq!(conversations.len(), 3);
    let customer_messages = channel_messages(&server)
        .await
        .into_iter()
        .filter(|m| m.author == Author::Customer)
        .count();
    assert_eq!(customer_messages, 4);
}

async fn statuses_for_unknown_messages_do_not_stop_the_rest(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "e1", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "155501000001", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [
            {"id": "wamid.never-sent-1", "status": "failed", "timestamp": "1698266945",
             "recipient_id": "155501000002",
             "errors": [{"code": 131026, "title": "Message undeliverable"}]},
            {"id": "wamid.never-sent-2", "status": "failed", "timestamp": "1698266946",
             "recipient_id": "155501000002",
             "errors": [{"code": 131026, "title": "Message undeliverable"}]}
        ],
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "155501000002"}],
        "messages": [{"from": "155501000002", "id": "wamid.real", "timestamp": "1698266947",
                      "type": "text", "text": {"body": "still there?"}}]
    }}]}]});
    let body = serde_json::to_vec(&body).unwrap();
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    let messages = channel_messages(&server).await;
    let customer: Vec<_> = messages
        .iter()
        .filter(|m| m.author == Author::Customer)
        .collect();
    assert_eq!(customer.len(), 1);
    assert_eq!(customer[0].text, "still there?");
}

async fn receipts_follow_our_reply(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Ana", "wamid.q", LOST_CARD.0)]]);
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    provider.wait_for_accepted(1).await;
    let reply = wait_for_delivery(&server, DeliveryState::Sent).await;
    let provider_id = reply.provider_message_id.clone().unwrap();
    assert!(provider_id.starts_with("wamid.out"), "{provider_id}");

    for status in ["delivered", "read"] {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "e", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": provider_id, "status": status, "timestamp": "1698266945",
                          "recipient_id": "155501000002"}]}}]}]});
        let body = serde_json::to_vec(&body).unwrap();
        assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    }
    let read = server.store.message(reply.id).await.unwrap().unwrap();
    assert_eq!(read.receipt, Some(Receipt::Read));
}

/// Waits for the assistant's or an agent's reply to reach `state`.
async fn wait_for_delivery(server: &TestServer, state: DeliveryState) -> frontdesk_core::Message {
    for _ in 0..500 {
        let messages = channel_messages(server).await;
        let reply = messages
            .into_iter()
            .find(|m| m.author != Author::Customer && m.delivery == state);
        if let Some(reply) = reply {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no reply reached {state}");
}

async fn a_reply_gets_through_errors_and_rate_limits(server: TestServer) {
    let provider = MockProvider::start().await;
    provider.script(&[
        Answer::Status(503),
        Answer::TooMany { retry_after_s: 1 },
        Answer::Status(500),
    ]);
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Ana", "wamid.r", LOST_CARD.0)]]);
    let started = std::time::Instant::now();
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    provider.wait_for_accepted(1).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let calls = provider.calls();
    assert_eq!(
        calls.len(),
        4,
        "three failures, then the one accepted: {calls:?}"
    );
    wait_for_delivery(&server, DeliveryState::Sent).await;
}

async fn a_refused_reply_shows_as_failed(server: TestServer) {
    let provider = MockProvider::start().await;
    provider.script(&[Answer::Status(400)]);
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Ana", "wamid.f", LOST_CARD.0)]]);
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    let failed = wait_for_delivery(&server, DeliveryState::Failed).await;
    let reason = failed.delivery_error.unwrap();
    assert!(reason.contains("scripted failure"), "{reason}");
    assert_eq!(provider.calls().len(), 1, "a refusal is not retried");
}

async fn no_reply_is_lost_or_doubled_when_a_third_of_sends_fail(server: TestServer) {
    let provider = MockProvider::start().await;
    provider.fail_at_rate(30);
    let channel = add_telegram(&server, &provider).await;
    let (conversation, _) = telegram_conversation(&server, channel, "77").await;
    for n in 0..20 {
        let reply = NewMessage::from_agent(
            conversation,
            agent_id(&server).await,
            format!("reply number {n}"),
        );
        server.store.append_message(&reply).await.unwrap();
    }
    let accepted = provider.wait_for_accepted(21).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let texts: Vec<String> = provider
        .accepted()
        .iter()
        .map(|call| call.body["text"].as_str().unwrap().to_string())
        .filter(|text| text.starts_with("reply number"))
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("reply number {n}")).collect();
    assert_eq!(texts, expected, "each reply once, in order");
    assert!(accepted.len() >= 21);
}

/// Opens a Telegram conversation with a question and returns its id and the answer's
/// text once it is sent.
async fn telegram_conversation(server: &TestServer, channel: i64, chat: &str) -> (i64, String) {
    let hash = frontdesk_server::auth::hash_password("a long enough password").unwrap();
    let agent = server
        .store
        .add_user("agent@shop.example", frontdesk_core::Role::Agent, &hash);
    agent.await.unwrap();
    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 1584984711,
        "from": {"id": 222, "is_bot": false, "first_name": "Mario"},
        "chat": {"id": chat.parse::<i64>().unwrap(), "type": "private", "first_name": "Mario"},
        "text": LOST_CARD.0}});
    assert_eq!(
        post_telegram(server, channel, serde_json::to_vec(&update).unwrap()).await,
        StatusCode::OK
    );
    let reply = wait_for_delivery(server, DeliveryState::Sent).await;
    (reply.conversation_id, reply.text)
}

async fn agent_id(server: &TestServer) -> i64 {
    let agent = server
        .store
        .user_by_email("agent@shop.example")
        .await
        .unwrap();
    agent.unwrap().0.id
}

async fn a_long_reply_reaches_telegram_in_safe_parts(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_telegram(&server, &provider).await;
    let (conversation, _) = telegram_conversation(&server, channel, "12345678").await;
    let before = provider.accepted().len();

    let sentence = "Your parcel is on its way 📦 and should arrive soon; thank you! ";
    let long: String = sentence.repeat(10_000 / sentence.chars().count() + 1);
    let long: String = long.chars().take(10_000).collect();
    let reply = NewMessage::from_agent(conversation, agent_id(&server).await, long.clone());
    server.store.append_message(&reply).await.unwrap();

    let calls = provider.wait_for_accepted(before + 3).await;
    let parts: Vec<&str> = calls[before..]
        .iter()
        .map(|call| call.body["text"].as_str().unwrap())
        .collect();
    assert!(parts.len() >= 3, "{} parts", parts.len());
    for part in &parts {
        assert!(part.encode_utf16().count() <= 4096);
        assert_eq!(calls[before].body["chat_id"], 12345678);
    }
    let squeeze = |text: &str| text.split_whitespace().collect::<String>();
    assert_eq!(
        squeeze(&parts.concat()),
        squeeze(&long),
        "nothing lost or cut inside"
    );
    let sent = wait_for_delivery(&server, DeliveryState::Sent).await;
    assert_eq!(sent.delivery, DeliveryState::Sent);
}

async fn telegram_deliveries_need_the_secret_token(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_telegram(&server, &provider).await;
    let url = server.url(&format!("/webhooks/telegram/{channel}"));
    let update = json!({"update_id": 5, "poll": {"id": "1", "question": "?"}});
    let wrong = server
        .client
        .post(&url)
        .header("x-telegram-bot-api-secret-token", "not-it")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // An update we do not take is answered 200 and kept aside.
    let right = server
        .client
        .post(&url)
        .header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let kept = server
        .store
        .webhook_problem_count(channel, WebhookProblem::Unsupported)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    assert!(channel_messages(&server).await.is_empty());
}

async fn a_pressed_button_is_acknowledged_and_answered(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_telegram(&server, &provider).await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/telegram/"
    );
    let body = std::fs::read(format!("{path}callback_query.json")).unwrap();
    assert_eq!(post_telegram(&server, channel, body).await, StatusCode::OK);
    let calls = provider.wait_for_accepted(2).await;
    let acknowledged = calls
        .iter()
        .find(|call| call.path.ends_with("/answerCallbackQuery"))
        .expect("the button was acknowledged");
    assert_eq!(acknowledged.body["callback_query_id"], "500000000000000001");
    assert!(calls.iter().any(|call| call.path.ends_with("/sendMessage")));
    let messages = channel_messages(&server).await;
    assert_eq!(messages[0].text, "thedata");
}

async fn group_chats_are_stored_but_left_to_the_team(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_telegram(&server, &provider).await;
    let update = json!({"update_id": 9, "message": {"message_id": 3, "date": 1584984711,
        "from": {"id": 222, "is_bot": false, "first_name": "Mario"},
        "chat": {"id": -1001234567890_i64, "type": "supergroup", "title": "Shop fans"},
        "text": LOST_CARD.0}});
    assert_eq!(
        post_telegram(&server, channel, serde_json::to_vec(&update).unwrap()).await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let messages = channel_messages(&server).await;
    assert_eq!(messages.len(), 1, "stored, not answered: {messages:?}");
    assert!(provider.calls().is_empty());
}

async fn a_message_to_another_business_number_is_not_taken(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let body = whatsapp_body(&[&[("155501000002", "Ana", "wamid.elsewhere", "hello")]]);
    let body = String::from_utf8(body)
        .unwrap()
        .replace(PHONE_NUMBER_ID, "1555999999999")
        .into_bytes();
    assert_eq!(post_whatsapp(&server, channel, body).await, StatusCode::OK);
    assert!(channel_messages(&server).await.is_empty());
    let kept = server
        .store
        .webhook_problem_count(channel, WebhookProblem::Unsupported)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        provider.calls().is_empty(),
        "nothing was answered from this number"
    );
}

async fn a_postback_without_a_title_is_stored_as_its_payload(server: TestServer) {
    let provider = MockProvider::start().await;
    let config = ChannelConfig::Messenger {
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        page_access_token: "test-page-token".into(),
        api_base: provider.base.clone(),
    };
    let json = serde_json::to_string(&config).unwrap();
    let channel = server.store.add_channel(Channel::Messenger, "page", &json);
    let channel = channel.await.unwrap().id;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/messenger/"
    );
    let body = std::fs::read(format!("{path}postback.json")).unwrap();
    let response = server
        .client
        .post(server.url(&format!("/webhooks/messenger/{channel}")))
        .header("x-hub-signature-256", sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let messages = channel_messages(&server).await;
    assert_eq!(messages[0].text, "USER_DEFINED_PAYLOAD");
}

async fn refusals_say_what_was_wrong_as_json(server: TestServer) {
    let provider = MockProvider::start().await;
    let channel = add_whatsapp(&server, &provider).await;
    let url = server.url(&format!("/webhooks/whatsapp/{channel}"));
    let huge = vec![b'x'; 1024 * 1024 + 1];
    let response = server.client.post(&url).body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("limit"),
        "{error}"
    );

    let bad_challenge =
        format!("{url}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=a%20b");
    let response = server.client.get(bad_challenge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("hub.challenge"),
        "{error}"
    );

    let twice = format!("{url}?hub.mode=a&hub.mode=b");
    let response = server.client.get(twice).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].is_string(), "{error}");
}

on_both_backends!(
    settings = crate::channels::quick_outbox;
    the_same_whatsapp_message_five_times_at_once_is_taken_once,
    a_message_whose_sender_hung_up_is_still_answered,
    a_delivery_with_a_bad_signature_stores_nothing,
    the_subscription_handshake_echoes_only_for_the_right_token,
    every_message_of_a_batch_is_taken,
    statuses_for_unknown_messages_do_not_stop_the_rest,
    receipts_follow_our_reply,
    a_reply_gets_through_errors_and_rate_limits,
    a_refused_reply_shows_as_failed,
    no_reply_is_lost_or_doubled_when_a_third_of_sends_fail,
    a_long_reply_reaches_telegram_in_safe_parts,
    telegram_deliveries_need_the_secret_token,
    a_message_to_another_business_number_is_not_taken,
    a_pressed_button_is_acknowledged_and_answered,
    group_chats_are_stored_but_left_to_the_team,
    a_postback_without_a_title_is_stored_as_its_payload,
    refusals_say_what_was_wrong_as_json,
);
