//! Notifications and the conversation lock that several processes on one database share.

#[macro_use]
mod common;

use std::time::Duration;

use frontdesk_store::{Listener, Notice, Store, StoreError, MAX_NOTIFICATION_BYTES};

/// Long enough for a notification to cross a loaded machine; a wait that ends here failed.
const PATIENCE: Duration = Duration::from_secs(10);

async fn next(listener: &mut Listener) -> Notice {
    tokio::time::timeout(PATIENCE, listener.recv())
        .await
        .expect("no notification arrived")
        .unwrap()
}

fn payload(text: &str) -> Notice {
    Notice::Payload(text.to_string())
}

async fn every_listener_hears_every_notification_in_order(store: Store) {
    let mut first = store.listen().await.unwrap();
    let mut second = store.listen().await.unwrap();
    store.notify("one").await.unwrap();
    store.notify("two").await.unwrap();
    for listener in [&mut first, &mut second] {
        assert_eq!(next(listener).await, payload("one"));
        assert_eq!(next(listener).await, payload("two"));
    }
    first.close().await;
    second.close().await;
}

async fn oversized_notifications_are_refused(store: Store) {
    let mut listener = store.listen().await.unwrap();
    let largest = "x".repeat(MAX_NOTIFICATION_BYTES);
    store.notify(&largest).await.unwrap();
    let refused = store.notify(&format!("{largest}x")).await;
    assert!(
        matches!(refused, Err(StoreError::NotificationTooLarge { .. })),
        "{refused:?}"
    );
    assert_eq!(next(&mut listener).await, Notice::Payload(largest));
    listener.close().await;
}

async fn a_conversation_lock_can_be_taken_again_once_released(store: Store) {
    let lock = store.lock_conversation(1).await.unwrap();
    lock.release().await;
    let dropped = store.lock_conversation(1).await.unwrap();
    drop(dropped);
    let again = tokio::time::timeout(PATIENCE, store.lock_conversation(1)).await;
    again.expect("a dropped lock was not released").unwrap();
}

on_both_backends!(
    every_listener_hears_every_notification_in_order,
    oversized_notifications_are_refused,
    a_conversation_lock_can_be_taken_again_once_released,
);

/// Two stores on one schema, as two server processes would have, and one on another.
struct Stores {
    url: String,
    schemas: [String; 2],
    first: Store,
    second: Store,
    elsewhere: Store,
}

impl Stores {
    async fn open() -> Option<Stores> {
        let url = common::postgres_url()?;
        let schemas = [
            Store::unique_schema_name("fd_live_test"),
            Store::unique_schema_name("fd_live_test"),
        ];
        Some(Stores {
            first: Store::connect_in_schema(&url, &schemas[0]).await.unwrap(),
            second: Store::connect_in_schema(&url, &schemas[0]).await.unwrap(),
            elsewhere: Store::connect_in_schema(&url, &schemas[1]).await.unwrap(),
            url,
            schemas,
        })
    }

    async fn close(self) {
        for store in [&self.first, &self.second, &self.elsewhere] {
            store.close().await;
        }
        for schema in &self.schemas {
            Store::drop_schema(&self.url, schema).await.unwrap();
        }
    }
}

#[tokio::test]
async fn stores_on_one_schema_hear_each_other_and_no_other_schema() {
    let Some(stores) = Stores::open().await else {
        return;
    };
    let mut second = stores.second.listen().await.unwrap();
    let mut elsewhere = stores.elsewhere.listen().await.unwrap();
    stores.first.notify("from the first").await.unwrap();
    assert_eq!(next(&mut second).await, payload("from the first"));
    // Sent after the first store's notification: had that reached the other schema, it
    // would arrive before this one.
    stores.elsewhere.notify("own schema").await.unwrap();
    assert_eq!(next(&mut elsewhere).await, payload("own schema"));
    second.close().await;
    elsewhere.close().await;
    stores.close().await;
}

#[tokio::test]
async fn a_conversation_lock_holds_across_stores_of_one_schema() {
    let Some(stores) = Stores::open().await else {
        return;
    };
    let held = stores.first.lock_conversation(7).await.unwrap();
    // Other conversations, and the same id in another schema, are not held up.
    let other = stores.second.lock_conversation(8).await.unwrap();
    let elsewhere = stores.elsewhere.lock_conversation(7).await.unwrap();
    other.release().await;
    elsewhere.release().await;

    let second = stores.second.clone();
    let mut waiting = tokio::spawn(async move { second.lock_conversation(7).await.unwrap() });
    // A negative check needs some wait: long enough to show the lock is not taken.
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "the lock was taken twice");
    held.release().await;
    let taken = tokio::time::timeout(PATIENCE, waiting).await;
    taken
        .expect("released, but not handed on")
        .unwrap()
        .release()
        .await;
    stores.close().await;
}

#[tokio::test]
async fn a_listener_reports_a_lost_connection_and_hears_again() {
    let Some(stores) = Stores::open().await else {
        return;
    };
    let mut listener = stores.second.listen().await.unwrap();
    stores.first.notify("before").await.unwrap();
    assert_eq!(next(&mut listener).await, payload("before"));

    // Ends every listening connection of this schema's channel, as a database restart
    // or a network cut would.
    let channel = format!("frontdesk_events.{}", stores.schemas[0]);
    let terminated: Vec<bool> = terminate_listeners(&stores.url, &channel).await;
    assert!(!terminated.is_empty(), "no listening connection found");

    loop {
        match tokio::time::timeout(PATIENCE, listener.recv())
            .await
            .unwrap()
        {
            Ok(Notice::Missed) => break,
            Ok(other) => panic!("unexpected {other:?}"),
            // The loss may surface as an error first; the next call reconnects.
            Err(_) => continue,
        }
    }
    stores.first.notify("after").await.unwrap();
    assert_eq!(next(&mut listener).await, payload("after"));
    listener.close().await;
    stores.close().await;
}

/// Terminates the connections listening on `channel` (the last statement of a listening
/// connection is its `LISTEN`), over a connection of its own.
async fn terminate_listeners(url: &str, channel: &str) -> Vec<bool> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let terminated = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND query = $1",
    )
    .bind(format!("LISTEN \"{channel}\""))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    terminated
}
