//! Connected channels, inbound deduplication and the outbox, checked identically on
//! SQLite and PostgreSQL: every test function below runs once per backend.

#[macro_use]
mod common;

use frontdesk_core::{
    Author, Channel, DeliveryState, Message, NewMessage, Receipt, StatusChange, Visibility,
};
use frontdesk_store::{Inbound, Readers, SentPart, Store, StoreError, WebhookProblem};

use common::{inbound, TELEGRAM_CONFIG as CONFIG};

/// Stores the assistant's public reply in the conversation, which queues it for sending.
async fn assistant_says(store: &Store, conversation_id: i64, text: &str) -> Message {
    let reply = NewMessage {
        conversation_id,
        author: Author::Assistant,
        text: text.to_string(),
        decision: None,
        sources: Vec::new(),
        delivery: DeliveryState::Sent,
        visibility: Visibility::Public,
        user_id: None,
    };
    store.append_message(&reply).await.unwrap()
}

/// A Telegram channel on which customer `chat` has written "hi": the channel and the
/// conversation.
async fn a_customer_wrote(
    store: &Store,
    chat: &str,
) -> (frontdesk_store::StoredChannel, frontdesk_core::Conversation) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    let record = inbound(channel.id, chat, &format!("{chat}:1"), "hi", 1_000);
    let Inbound::New { conversation, .. } = store.store_inbound(&record).await.unwrap() else {
        panic!("stored");
    };
    (channel, *conversation)
}

async fn channel_names_are_unique(store: Store) {
    let added = store
        .add_channel(Channel::Telegram, "support bot", CONFIG)
        .await
        .unwrap();
    assert_eq!(added.kind, Channel::Telegram);
    assert!(
        !format!("{added:?}").contains("1:x"),
        "the config is secret"
    );

    let again = store
        .add_channel(Channel::Telegram, "support bot", CONFIG)
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::ChannelExists { .. }), "{again}");
    let listed = store.channels().await.unwrap();
    assert_eq!(listed.len(), 1);
    let read = store.channel(added.id).await.unwrap().unwrap();
    let config: serde_json::Value = serde_json::from_str(&read.config).unwrap();
    assert_eq!(config["secret_token"], "s");
    assert!(store.channel(added.id + 100).await.unwrap().is_none());
}

async fn a_message_delivered_five_times_at_once_is_stored_once(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    let deliveries = (0..5).map(|_| {
        let store = store.clone();
        let record = inbound(channel.id, "42", "42:7", "where is my order?", 1_000);
        tokio::spawn(async move { store.store_inbound(&record).await.unwrap() })
    });
    let mut new = Vec::new();
    for delivery in deliveries {
        if let Inbound::New {
            conversation,
            message,
        } = delivery.await.unwrap()
        {
            new.push((conversation, message));
        }
    }
    assert_eq!(new.len(), 1, "exactly one delivery stores the message");
    let (conversation, message) = &new[0];
    assert_eq!(message.provider_message_id.as_deref(), Some("42:7"));
    let stored = store.message(message.id).await.unwrap().unwrap();
    assert_eq!(
        &stored, &**message,
        "what store_inbound returns is what it stored"
    );
    assert_eq!(message.author, Author::Customer);
    assert_eq!(conversation.channel, Channel::Telegram);

    // A second message from the same chat joins the same conversation.
    let Inbound::New {
        conversation: same, ..
    } = store
        .store_inbound(&inbound(channel.id, "42", "42:8", "hello?", 2_000))
        .await
        .unwrap()
    else {
        panic!("a new message is stored");
    };
    assert_eq!(same.id, conversation.id);
    let messages = store
        .messages(conversation.id, None, Readers::Team)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2);
}

async fn new_customers_writing_at_once_get_one_conversation_each(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    let writes = (0..6).map(|n| {
        let store = store.clone();
        // Three customers, two different messages each, all at once.
        let key = format!("{}", n % 3);
        let record = inbound(channel.id, &key, &format!("{key}:{n}"), "hi", 1_000);
        tokio::spawn(async move { store.store_inbound(&record).await.unwrap() })
    });
    let mut conversations = std::collections::BTreeSet::new();
    for write in writes {
        match write.await.unwrap() {
            Inbound::New { conversation, .. } => {
                conversations.insert(conversation.id);
            }
            Inbound::Duplicate => panic!("no message was delivered twice"),
        }
    }
    assert_eq!(conversations.len(), 3);
}

async fn messages_read_in_the_order_they_were_sent(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    // The second message arrives first.
    store
        .store_inbound(&inbound(channel.id, "9", "9:2", "second", 2_000))
        .await
        .unwrap();
    let Inbound::New { conversation, .. } = store
        .store_inbound(&inbound(channel.id, "9", "9:1", "first", 1_000))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    let texts: Vec<String> = store
        .messages(conversation.id, None, Readers::Customer)
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.text)
        .collect();
    assert_eq!(texts, ["first", "second"]);
}

async fn replies_go_through_the_outbox_in_order(store: Store) {
    let (_, conversation) = a_customer_wrote(&store, "5").await;
    let first = assistant_says(&store, conversation.id, "one").await;
    let second = assistant_says(&store, conversation.id, "two").await;
    assert_eq!(
        first.delivery,
        DeliveryState::Pending,
        "sent only by the outbox"
    );
    let note = NewMessage::note(conversation.id, 1, "internal".to_string());
    // Notes never leave (user 1 does not exist, but notes need no user row here).
    let _ = store.append_message(&note).await;
    assert_eq!(store.outbox_counts().await.unwrap(), (2, 0, 0));

    // Only the oldest reply to a customer is handed out while it is unsent.
    let claimed = store.claim_outbox(10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let item = &claimed[0];
    assert_eq!((item.message_id, item.reply_to.as_str()), (first.id, "5"));
    assert_eq!(
        (item.attempts, item.parts_sent, item.interrupted),
        (1, 0, false)
    );
    assert!(
        store.claim_outbox(10, 60_000).await.unwrap().is_empty(),
        "leased"
    );

    // A retry keeps the second one waiting behind it until the first is sent.
    store
        .outbox_retry_at(item, 0, "503 from the provider")
        .await
        .unwrap();
    let retried = store.claim_outbox(10, 60_000).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].message_id, retried[0].attempts), (first.id, 2));
    let part = SentPart {
        index: 0,
        provider_message_id: Some("5:1"),
    };
    store
        .outbox_sent(&retried[0], Some(part), Some("5:1"))
        .await
        .unwrap();

    let next = store.claim_outbox(10, 60_000).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].message_id, second.id);

    // Not due yet: a retry in the far future is not handed out.
    store
        .outbox_retry_at(&next[0], i64::MAX, "429, retry later")
        .await
        .unwrap();
    assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty());
}

async fn a_sender_that_stopped_half_way_is_taken_over(store: Store) {
    let (channel, conversation) = a_customer_wrote(&store, "6").await;
    let reply = assistant_says(&store, conversation.id, "a long answer").await;
    // Leased for no time at all: as if its sender died at once.
    let first = store.claim_outbox(10, -1).await.unwrap();
    assert_eq!(first.len(), 1);
    store
        .outbox_part_sent(&first[0], 0, Some("6:100"))
        .await
        .unwrap();

    let taken_over = store.claim_outbox(10, 60_000).await.unwrap();
    assert_eq!(taken_over.len(), 1);
    let item = &taken_over[0];
    assert!(
        item.interrupted,
        "the takeover knows the first attempt may have sent"
    );
    assert_eq!((item.attempts, item.parts_sent), (2, 1));

    let sent = store
        .outbox_sent(item, None, Some("6:100"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.id, reply.id);
    assert_eq!(sent.delivery, DeliveryState::Sent);
    assert_eq!(sent.receipt, Some(Receipt::Sent));
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 1, 0));

    // Receipts find the message by any part's id and only move forward.
    let read = store
        .record_receipt(channel.id, "6:100", Receipt::Read, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.receipt, Some(Receipt::Read));
    let late = store
        .record_receipt(channel.id, "6:100", Receipt::Delivered, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.receipt, Some(Receipt::Read));
    let unknown = store
        .record_receipt(channel.id, "no-such-id", Receipt::Failed, Some("gone"))
        .await
        .unwrap();
    assert!(
        unknown.is_none(),
        "a status for a message we never sent changes nothing"
    );
}

async fn a_refused_reply_is_marked_failed_with_the_reason(store: Store) {
    let (_, conversation) = a_customer_wrote(&store, "8").await;
    assistant_says(&store, conversation.id, "hello").await;
    let item = store.claim_outbox(1, 60_000).await.unwrap().remove(0);
    let failed = store
        .outbox_failed(&item, "chat not found")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.delivery, DeliveryState::Failed);
    assert_eq!(failed.delivery_error.as_deref(), Some("chat not found"));
    assert_eq!(store.outbox_counts().await.unwrap(), (0, 0, 1));
}

async fn edits_and_problems_are_recorded(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    let Inbound::New { conversation, .. } = store
        .store_inbound(&inbound(channel.id, "3", "3:1", "hi there", 1_000))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    let edited = store
        .edit_inbound(channel.id, "3:1", "hi there (edited)", 5_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.text, "hi there (edited)");
    assert_eq!(edited.edited_at, Some(5_000));
    assert!(store
        .edit_inbound(channel.id, "3:999", "never stored", 5_000)
        .await
        .unwrap()
        .is_none());

    store
        .record_webhook_problem(channel.id, WebhookProblem::Unsupported, "a poll", b"{}")
        .await
        .unwrap();
    let count = store
        .webhook_problem_count(channel.id, WebhookProblem::Unsupported)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // A resolved conversation on a channel is still the one its next message joins.
    store
        .change_status(conversation.id, &StatusChange::Resolve)
        .await
        .unwrap();
    let Inbound::New {
        conversation: again,
        ..
    } = store
        .store_inbound(&inbound(channel.id, "3", "3:2", "one more thing", 9_000))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    assert_eq!(again.id, conversation.id);
}

async fn messages_left_unanswered_are_found(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    let Inbound::New { conversation, .. } = store
        .store_inbound(&inbound(channel.id, "1", "1:1", "answered", 1_000))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    assistant_says(&store, conversation.id, "an answer").await;
    let Inbound::New { message: left, .. } = store
        .store_inbound(&inbound(channel.id, "2", "2:1", "left unanswered", 1_000))
        .await
        .unwrap()
    else {
        panic!("stored");
    };
    // Left to the team on purpose, never answered late: a group chat, a photo alone.
    store
        .store_inbound(&inbound(
            channel.id,
            "-100123",
            "-100123:1",
            "hi all",
            1_000,
        ))
        .await
        .unwrap();
    store
        .store_inbound(&inbound(channel.id, "3", "3:1", " ", 1_000))
        .await
        .unwrap();
    let found = store.unanswered_channel_messages(0).await.unwrap();
    let ids: Vec<i64> = found.iter().map(|message| message.id).collect();
    assert_eq!(ids, [left.id]);
    assert_eq!(found[0].text, "left unanswered");
    let later = store.unanswered_channel_messages(i64::MAX).await.unwrap();
    assert!(later.is_empty(), "only those stored after the given time");
}

async fn a_failed_write_among_many_leaves_the_others_stored(store: Store) {
    let channel = store
        .add_channel(Channel::Telegram, "bot", CONFIG)
        .await
        .unwrap();
    // Sent together, so that SQLite's write queue runs them in one batch: the one for a
    // channel that does not exist fails on its foreign key, the others must not.
    let no_such_channel = channel.id + 1000;
    let deliveries: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let channel_id = if n == 7 { no_such_channel } else { channel.id };
            let key = format!("{}", 100 + n);
            let record = inbound(channel_id, &key, &format!("{key}:1"), "hello", 1_000);
            tokio::spawn(async move { store.store_inbound(&record).await })
        })
        .collect();
    let mut stored = 0;
    for (n, delivery) in deliveries.into_iter().enumerate() {
        match delivery.await.unwrap() {
            Ok(Inbound::New { message, .. }) => {
                assert_ne!(n, 7, "the message for no channel is refused");
                let read = store.message(message.id).await.unwrap();
                assert_eq!(read.map(|message| message.text).as_deref(), Some("hello"));
                stored += 1;
            }
            Ok(Inbound::Duplicate) => panic!("delivery {n} is new"),
            Err(err) => {
                assert_eq!(n, 7, "only the message for no channel fails: {err}");
                assert!(matches!(err, StoreError::Write { .. }), "{err}");
            }
        }
    }
    assert_eq!(stored, 19);
    let filter = frontdesk_store::ConversationFilter::default();
    let conversations = store.conversations(&filter).await.unwrap();
    assert_eq!(conversations.len(), 19, "nothing of the failed one is left");

    // The writes after the failure go on as before.
    let later = store
        .store_inbound(&inbound(channel.id, "200", "200:1", "still here", 1_000))
        .await
        .unwrap();
    assert!(matches!(later, Inbound::New { .. }));
}

async fn a_restarted_server_on_sqlite_takes_over_its_sends_at_once(store: Store) {
    let (_, conversation) = a_customer_wrote(&store, "8").await;
    assistant_says(&store, conversation.id, "an answer").await;
    // Claimed for a minute by a sender that then died with its process.
    assert_eq!(store.claim_outbox(10, 60_000).await.unwrap().len(), 1);
    assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty());

    let taken = store.take_over_interrupted_sends().await.unwrap();
    let again = store.claim_outbox(10, 60_000).await.unwrap();
    match store.backend() {
        // One instance serves SQLite: the one starting now.
        "sqlite" => {
            assert_eq!(taken, 1);
            assert_eq!(again.len(), 1);
            assert!(again[0].interrupted, "it may have been sent already");
        }
        // Another instance may be sending it: its lease stands.
        _ => {
            assert_eq!(taken, 0);
            assert!(again.is_empty());
        }
    }
}

on_both_backends!(
    a_restarted_server_on_sqlite_takes_over_its_sends_at_once,
    a_failed_write_among_many_leaves_the_others_stored,
    messages_left_unanswered_are_found,
    channel_names_are_unique,
    a_message_delivered_five_times_at_once_is_stored_once,
    new_customers_writing_at_once_get_one_conversation_each,
    messages_read_in_the_order_they_were_sent,
    replies_go_through_the_outbox_in_order,
    a_sender_that_stopped_half_way_is_taken_over,
    a_refused_reply_is_marked_failed_with_the_reason,
    edits_and_problems_are_recorded,
);
