//! A store written before conversations kept their report facts on their own rows
//! (migration 0016) gets those facts filled from its messages when it is opened, and keeps
//! them up to date from then on: the report reads the same figures before and after.

mod common;

use std::borrow::Cow;
use std::path::Path;

use frontdesk_core::NewMessage;
use frontdesk_store::{Store, VOLUME_SLOT_MS};
use sqlx::migrate::Migrator;

/// The last migration before the facts moved onto the conversations.
const BEFORE_FACTS: i64 = 15;

/// One conversation of the old shape, as statements: asked, answered, asked again, handed
/// off as unsure, a private note, a person's reply, and the customer once more.
const OLD_CONVERSATION: &[&str] = &[
    "INSERT INTO contacts (id, name, created_at) VALUES (1, 'Ana', 1000)",
    "INSERT INTO contact_identities (id, contact_id, channel, external_id, created_at) \
     VALUES (1, 1, 'widget', 'visitor-1', 1000)",
    "INSERT INTO conversations (id, token, channel, contact_id, identity_id, status, \
     created_at, updated_at, handed_off_at, first_human_reply_at, handoff_reason) \
     VALUES (1, 'sha256:old-1', 'widget', 1, 1, 'assigned', 1000, 7000, 4000, 6000, \
     'low_confidence')",
    "INSERT INTO messages (conversation_id, author, text, decision, delivery, created_at, \
     visibility) VALUES \
     (1, 'customer', 'where is my card', NULL, 'received', 1000, 'public'), \
     (1, 'assistant', 'On its way.', DECISION_ANSWER, 'sent', 2000, 'public'), \
     (1, 'customer', 'can I pay in yen', NULL, 'received', 3000, 'public'), \
     (1, 'assistant', 'A person will help.', DECISION_UNSURE, 'sent', 4000, 'public'), \
     (1, 'agent', 'Checking the rates.', NULL, 'sent', 5000, 'internal'), \
     (1, 'agent', 'Yes, you can.', NULL, 'sent', 6000, 'public'), \
     (1, 'customer', 'thanks', NULL, 'received', 7000, 'public')",
];

const DECISION_ANSWER: &str = r#"'{"decision": "answer", "faq_id": "card_arrival"}'"#;
const DECISION_UNSURE: &str = r#"'{"decision": "escalate", "reason": "low_confidence"}'"#;

/// The migrations up to [`BEFORE_FACTS`], as an older release embedded them.
async fn older_migrator(backend: &str) -> Migrator {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let all = Migrator::new(folder.as_path()).await.unwrap();
    let older: Vec<_> = all
        .iter()
        .filter(|migration| migration.version <= BEFORE_FACTS)
        .cloned()
        .collect();
    assert_eq!(older.len() as i64, BEFORE_FACTS);
    Migrator {
        migrations: Cow::Owned(older),
        ..Migrator::DEFAULT
    }
}

fn old_statements(postgres: bool) -> Vec<String> {
    let json = |literal: &str| match postgres {
        true => format!("{literal}::jsonb"),
        false => literal.to_string(),
    };
    OLD_CONVERSATION
        .iter()
        .map(|statement| {
            let statement = statement
                .replace("DECISION_ANSWER", &json(DECISION_ANSWER))
                .replace("DECISION_UNSURE", &json(DECISION_UNSURE));
            match postgres && statement.contains("(id,") {
                true => statement.replacen(") VALUES", ") OVERRIDING SYSTEM VALUE VALUES", 1),
                false => statement,
            }
        })
        .collect()
}

/// What the report reads of the old conversation, then of it after one more message.
async fn facts_are_filled_and_kept(store: &Store) {
    let facts = store.conversation_facts(0, i64::MAX).await.unwrap();
    assert_eq!(facts.len(), 1, "{facts:?}");
    let old = &facts[0];
    assert_eq!(
        (
            old.first_customer_at,
            old.last_customer_at,
            old.first_assistant_at,
            old.first_answer_at,
            old.last_answer_at,
        ),
        (Some(1000), Some(7000), Some(2000), Some(2000), Some(2000))
    );
    assert_eq!(old.agent_replies, 1, "the private note is not a reply");
    assert_eq!(old.handoff_replied_at, Some(6000));
    assert_eq!(old.customer_messages_before_handoff, 2);

    let volume = store
        .customer_message_volume(0, VOLUME_SLOT_MS)
        .await
        .unwrap();
    assert_eq!(volume.len(), 1, "{volume:?}");
    assert_eq!(
        (volume[0].channel.as_str(), volume[0].messages),
        ("widget", 3)
    );

    let unanswered = store.unanswered_questions(0, i64::MAX).await.unwrap();
    assert_eq!(unanswered.len(), 1, "{unanswered:?}");
    assert_eq!(unanswered[0].text, "can I pay in yen");

    // A message stored now moves the facts on; the count before the handoff stays.
    let later = NewMessage::from_customer(old.id, "one more thing".into());
    let stored = store.append_message(&later).await.unwrap();
    let facts = store.conversation_facts(0, i64::MAX).await.unwrap();
    assert_eq!(facts[0].last_customer_at, Some(stored.created_at));
    assert_eq!(facts[0].first_customer_at, Some(1000));
    assert_eq!(facts[0].customer_messages_before_handoff, 2);
    let slot = stored.created_at / VOLUME_SLOT_MS * VOLUME_SLOT_MS;
    let volume = store
        .customer_message_volume(slot, slot + VOLUME_SLOT_MS)
        .await
        .unwrap();
    assert_eq!(volume.len(), 1, "{volume:?}");
    assert_eq!(volume[0].messages, 1);
}

#[tokio::test]
async fn sqlite_store_from_before_the_facts_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    older_migrator("sqlite").await.run(&pool).await.unwrap();
    for statement in old_statements(false) {
        sqlx::query(&statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::connect(&url).await.unwrap();
    facts_are_filled_and_kept(&store).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_store_from_before_the_facts_gets_them() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = Store::unique_schema_name("fd_store_upgrade");
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;

    let in_schema = Store::postgres_url_in_schema(&url, &schema).unwrap();
    let filled = async move {
        let pool = sqlx::PgPool::connect(&in_schema).await.unwrap();
        older_migrator("postgres").await.run(&pool).await.unwrap();
        for statement in old_statements(true) {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let store = Store::connect(&in_schema).await.unwrap();
        facts_are_filled_and_kept(&store).await;
        store.close().await;
    };
    // Spawned so that a failing check still lets the schema be dropped below.
    let outcome = tokio::spawn(filled).await;
    Store::drop_schema(&url, &schema).await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
