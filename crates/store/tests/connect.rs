//! Opening databases: what connect creates, and the sentences its failures produce.

mod common;

use common::ignore;
use frontdesk_core::FaqEntry;
use frontdesk_store::{Store, StoreError};

fn faq(id: &str) -> FaqEntry {
    FaqEntry {
        id: id.to_string(),
        question: "q".to_string(),
        answer: "a".to_string(),
        tags: Vec::new(),
        url: None,
    }
}

#[tokio::test]
async fn sqlite_file_and_folders_are_created_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/frontdesk.db");
    let url = format!("sqlite://{}", path.display());

    let store = Store::connect(&url).await.unwrap();
    store.import_faqs(&[faq("f1")], &ignore).await.unwrap();
    let wal = dir.path().join("nested/deeper/frontdesk.db-wal");
    assert!(wal.exists(), "the database should be in WAL mode");
    let revision = store.knowledge_revision().await.unwrap();
    store.close().await;

    // Reconnecting runs the migrations again, which must find nothing to do.
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.faqs().await.unwrap(), vec![faq("f1")]);
    assert_eq!(store.knowledge_revision().await.unwrap(), revision);
    store.close().await;
}

#[tokio::test]
async fn sqlite_in_memory_keeps_its_data_while_open() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.import_faqs(&[faq("f1")], &ignore).await.unwrap();
    assert_eq!(store.faqs().await.unwrap(), vec![faq("f1")]);
    store.close().await;
}

#[tokio::test]
async fn two_databases_never_share_a_revision() {
    let first = Store::connect("sqlite::memory:").await.unwrap();
    let second = Store::connect("sqlite::memory:").await.unwrap();
    assert_ne!(
        first.knowledge_revision().await.unwrap(),
        second.knowledge_revision().await.unwrap()
    );
}

#[tokio::test]
async fn unknown_url_is_refused_with_the_accepted_forms() {
    let err = Store::connect("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("sqlite://PATH"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn sqlite_path_under_a_file_names_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let url = format!("sqlite://{}/frontdesk.db", blocker.display());
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-folder"), "{err}");
}

#[tokio::test]
async fn sqlite_path_that_is_a_folder_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().display());
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::OpenSqlite { .. }), "{err:?}");
    let expected = format!(
        "cannot open the SQLite database at {}: ",
        dir.path().display()
    );
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[tokio::test]
async fn database_from_a_newer_version_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.close().await;
    mark_as_migrated_by_a_newer_version(&dir.path().join("frontdesk.db")).await;

    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migrate { .. }), "{err:?}");
    assert!(err.to_string().contains("newer Frontdesk"), "{err}");
}

async fn mark_as_migrated_by_a_newer_version(path: &std::path::Path) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn postgres_that_refuses_is_named_without_its_password() {
    // Port 1 on the loopback address: nothing listens there, so the refusal is immediate.
    let err = Store::connect("postgres://frontdesk:hunter2@127.0.0.1:1/kb")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConnectPostgres { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("cannot connect to PostgreSQL at frontdesk@127.0.0.1:1/kb"));
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn schemas_need_postgres_and_plain_names() {
    let err = Store::connect_in_schema("sqlite::memory:", "s1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaNeedsPostgres { .. }),
        "{err:?}"
    );
    let err = Store::postgres_url_in_schema("postgres://u@h/db", "x; DROP").unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidSchemaName { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn postgres_schema_url_reaches_the_same_schema() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = Store::unique_schema_name("fd_store_test");
    let store = Store::connect_in_schema(&url, &schema).await.unwrap();
    store.import_faqs(&[faq("f1")], &ignore).await.unwrap();
    store.close().await;

    // What a test hands to the `frontdesk` binary, which only takes a URL.
    let schema_url = Store::postgres_url_in_schema(&url, &schema).unwrap();
    let reopened = Store::connect(&schema_url).await.unwrap();
    let faqs = reopened.faqs().await;
    reopened.close().await;

    let elsewhere = Store::unique_schema_name("fd_store_test");
    let other = Store::connect_in_schema(&url, &elsewhere).await.unwrap();
    let other_faqs = other.faqs().await;
    other.close().await;

    Store::drop_schema(&url, &schema).await.unwrap();
    Store::drop_schema(&url, &elsewhere).await.unwrap();
    assert_eq!(faqs.unwrap(), vec![faq("f1")]);
    assert_eq!(other_faqs.unwrap(), Vec::new());
}
