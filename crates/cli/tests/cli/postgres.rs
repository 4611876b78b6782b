//! The import and ask story against PostgreSQL. Each run gets a schema of its
//! own in the database named by `FRONTDESK_TEST_POSTGRES_URL`, created and
//! dropped through the store crate's test helpers, so runs can overlap.

use std::future::Future;

use frontdesk_store::Store;

use crate::support::{arg, assert_clarifies, assert_escalates, banking_counts, data, Frontdesk};

const POSTGRES_URL_VAR: &str = "FRONTDESK_TEST_POSTGRES_URL";

fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(future)
}

/// A fresh schema, dropped when the test ends, also when it fails.
struct Schema {
    server_url: String,
    name: String,
    /// The URL the binary gets: the server's, with the schema as search path.
    url: String,
}

impl Schema {
    fn create(server_url: &str) -> Schema {
        let name = Store::unique_schema_name("fd_cli_test");
        block_on(async {
            let store = Store::connect_in_schema(server_url, &name).await.unwrap();
            store.close().await;
        });
        let url = Store::postgres_url_in_schema(server_url, &name).unwrap();
        Schema {
            server_url: server_url.to_string(),
            name,
            url,
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // No panic here: it would abort a test that is already failing.
        if let Err(err) = block_on(Store::drop_schema(&self.server_url, &self.name)) {
            eprintln!("could not drop test schema {}: {err}", self.name);
        }
    }
}

#[test]
fn import_and_ask_on_postgres() {
    let server_url = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            println!("skipped: {POSTGRES_URL_VAR} not set");
            return;
        }
    };
    let schema = Schema::create(&server_url);
    let frontdesk = Frontdesk::with_database(&schema.url);

    frontdesk.import_banking();
    assert_eq!(frontdesk.counts(), banking_counts());
    frontdesk.import_banking();
    assert_eq!(
        frontdesk.counts(),
        banking_counts(),
        "importing again adds nothing"
    );
    let stderr = frontdesk.fails(&["import", "faq", arg(&data("faq_invalid_line3.jsonl"))]);
    assert!(stderr.contains("faq_invalid_line3.jsonl:3:"), "{stderr}");
    assert_eq!(frontdesk.counts(), banking_counts());

    // The rows are in the test's schema, and nothing went to an SQLite file.
    let stats = block_on(async {
        let store = Store::connect(&schema.url).await.unwrap();
        let stats = store.knowledge_stats().await.unwrap();
        store.close().await;
        stats
    });
    let counts: Vec<u64> = stats.iter().map(|s| s.count).collect();
    assert_eq!(counts.iter().sum::<u64>(), 8 + 319, "{stats:?}");
    assert!(!frontdesk.data_dir().join("frontdesk.db").exists());

    assert_escalates(&frontdesk.ask("talk to a human"), "person_requested");
    assert_escalates(
        &frontdesk.ask("I will contact my lawyer"),
        "sensitive_topic",
    );
    assert_clarifies(&frontdesk.ask(""), "empty_message");

    // The same knowledge gives the same decisions on either backend.
    let sqlite = Frontdesk::shared_banking();
    let cases = data("banking_cases.jsonl");
    let batch = ["answer", "--batch", arg(&cases), "--threshold", "0"];
    assert_eq!(frontdesk.ok(&batch), sqlite.ok(&batch));
}
