//! Runs one test body against a fresh store of each backend.
//!
//! SQLite stores live in a temporary folder. PostgreSQL stores live in a schema of their
//! own in the database named by `FRONTDESK_TEST_POSTGRES_URL`, so tests can run in
//! parallel; the schema is dropped afterwards, even when the body panics.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::future::Future;
use std::sync::{Arc, Mutex};

use frontdesk_core::Channel;
use frontdesk_store::{InboundRecord, Store};

pub const POSTGRES_URL_VAR: &str = "FRONTDESK_TEST_POSTGRES_URL";

/// The PostgreSQL URL to test against, or `None` after printing why the test is skipped.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("skipped: {POSTGRES_URL_VAR} not set");
            None
        }
    }
}

pub async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    body(store.clone()).await;
    store.close().await;
}

pub async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let schema = Store::unique_schema_name("fd_store_test");
    let store = Store::connect_in_schema(&url, &schema).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    // Spawned so that a panicking body still lets the schema be dropped below.
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    Store::drop_schema(&url, &schema).await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// A Telegram channel's settings, its API on a loopback port nobody listens on.
pub const TELEGRAM_CONFIG: &str =
    r#"{"kind":"telegram","bot_token":"1:x","secret_token":"s","api_base":"http://127.0.0.1:9"}"#;

/// A customer's message delivered on Telegram channel `channel_id`, in chat `key`.
pub fn inbound(
    channel_id: i64,
    key: &str,
    provider_id: &str,
    text: &str,
    sent_at: i64,
) -> InboundRecord {
    InboundRecord {
        channel_id,
        channel: Channel::Telegram,
        conversation_key: key.to_string(),
        reply_to: key.to_string(),
        sender_name: Some("Mario".to_string()),
        text: text.to_string(),
        attachments: Vec::new(),
        provider_message_id: provider_id.to_string(),
        sent_at,
        new_token: format!("token-{provider_id}-{}", rand_suffix()),
        contact_key: None,
        subject: None,
        original_text: None,
        subject_key: None,
        automated: None,
        files: Vec::new(),
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A progress callback that records every call.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<u64>>>);

impl Recorder {
    pub fn callback(&self) -> impl Fn(u64) + Send + Sync + 'static {
        let calls = self.0.clone();
        move |n| calls.lock().unwrap().push(n)
    }

    pub fn calls(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

pub fn ignore(_: u64) {}

/// Declares each named test body as two tests, `sqlite::NAME` and `postgres::NAME`.
#[allow(unused_macros)] // connect.rs has no per-backend tests
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::common::with_sqlite(super::$name).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::common::with_postgres(super::$name).await;
                }
            )*
        }
    };
}
