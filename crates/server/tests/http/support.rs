//! A real server on 127.0.0.1, port 0, over a fresh store of either backend, trained on
//! a small Banking77 fixture, and a plain HTTP client to talk to it.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use frontdesk_knowledge::import::{read_faqs, read_products, read_tickets};
use frontdesk_knowledge::rules::default_sensitive_topics;
use frontdesk_knowledge::{Catalog, Engine, EngineSettings, KnowledgeSnapshot};
use frontdesk_server::{Server, ServerSettings, Trainer};
use frontdesk_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const POSTGRES_URL_VAR: &str = "FRONTDESK_TEST_POSTGRES_URL";

/// Below the default 0.90: the fixture holds 40 tickets per FAQ, too few for the
/// calibrated confidence to reach the default threshold reliably, and these tests are
/// about the server, not about how sure the model is.
const TEST_THRESHOLD: f64 = 0.5;

/// Questions the fixture answers, with the FAQ each is answered from.
pub const LOST_CARD: (&str, &str) = ("What can I do if I lost my card?", "lost_or_stolen_card");
pub const CHANGE_PIN: (&str, &str) = ("How can I change the PIN of my card?", "change_pin");
pub const ASK_FOR_A_PERSON: &str = "Can I talk to a human please?";
/// A product of the fixture catalog, `tests/data/products.csv`.
pub const DESK_LAMP: &str = "brass-desk-lamp";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Trained once per test binary: every server in it shares the same engine.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let snapshot = KnowledgeSnapshot {
                faqs: read_faqs(&data("banking_faq.jsonl")).unwrap(),
                tickets: read_tickets(&data("banking_tickets.jsonl")).unwrap(),
                passages: Vec::new(),
                ..Default::default()
            };
            let settings = engine_settings();
            let catalog = Catalog::new(read_products(&data("products.csv")).unwrap());
            let engine = Engine::build(None, snapshot, "fixture", settings, &|_| {}).unwrap();
            Arc::new(engine.with_catalog(catalog.with_currency("£")))
        })
        .clone()
}

fn engine_settings() -> EngineSettings {
    let mut settings = EngineSettings::new(TEST_THRESHOLD, default_sensitive_topics()).unwrap();
    settings.currency = "£".to_string();
    settings
}

/// The fixture's FAQ entries and past tickets, for tests that need them in the store
/// (retraining reads the store, not the files).
pub fn fixture_knowledge() -> (Vec<frontdesk_core::FaqEntry>, Vec<frontdesk_core::Ticket>) {
    (
        read_faqs(&data("banking_faq.jsonl")).unwrap(),
        read_tickets(&data("banking_tickets.jsonl")).unwrap(),
    )
}

/// A running server and what it runs on.
pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub client: reqwest::Client,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The body of `GET path`, which must answer 200.
    pub async fn text(&self, path: &str) -> String {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }
}

/// Runs `body` against a fresh server on `backend` with `settings`, the engine loaded
/// when `with_engine`. Returns without running it when PostgreSQL is asked for but not
/// configured. The server is shut down and its store removed afterwards, even when
/// `body` panics.
pub async fn with_server<F, Fut>(
    backend: Backend,
    settings: ServerSettings,
    with_engine: bool,
    body: F,
) where
    F: FnOnce(TestServer) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let (store, postgres) = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
            (Store::connect(&url).await.unwrap(), None)
        }
        Backend::Postgres => {
            let Some(url) = postgres_url() else { return };
            let schema = Store::unique_schema_name("fd_server_test");
            let store = Store::connect_in_schema(&url, &schema).await.unwrap();
            (store, Some((url, schema)))
        }
    };

    let running = start(&store, settings, with_engine).await;
    let test_server = running.test_server(&store);
    // Spawned so that a panicking body still lets the server and schema go below.
    let outcome = tokio::spawn(body(test_server)).await;

    running.stop().await;
    store.close().await;
    if let Some((url, schema)) = postgres {
        Store::drop_schema(&url, &schema).await.unwrap();
    }
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Two servers on one PostgreSQL schema, each with a store of its own, as two instances
/// behind a load balancer would be.
pub struct TwoInstances {
    pub first: TestServer,
    pub second: TestServer,
    pub postgres_url: String,
    pub schema: String,
}

/// Runs `body` against two fresh instances with `settings` and the engine loaded.
/// Returns without running it when PostgreSQL is not configured.
pub async fn with_two_instances<F, Fut>(settings: ServerSettings, body: F)
where
    F: FnOnce(TwoInstances) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let schema = Store::unique_schema_name("fd_instances_test");
    let first_store = Store::connect_in_schema(&url, &schema).await.unwrap();
    let second_store = Store::connect_in_schema(&url, &schema).await.unwrap();
    let first = start(&first_store, settings.clone(), true).await;
    let second = start(&second_store, settings, true).await;

    let instances = TwoInstances {
        first: first.test_server(&first_store),
        second: second.test_server(&second_store),
        postgres_url: url.clone(),
        schema: schema.clone(),
    };
    let outcome = tokio::spawn(body(instances)).await;

    first.stop().await;
    second.stop().await;
    first_store.close().await;
    second_store.close().await;
    Store::drop_schema(&url, &schema).await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// A server serving on 127.0.0.1, port 0, until stopped.
pub struct Running {
    base: String,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), frontdesk_server::ServerError>>,
}

impl Running {
    pub fn test_server(&self, store: &Store) -> TestServer {
        TestServer {
            base: self.base.clone(),
            store: store.clone(),
            client: reqwest::Client::new(),
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }
}

/// Starts a server over `store`, beside any other already serving it.
pub async fn start(store: &Store, settings: ServerSettings, with_engine: bool) -> Running {
    let server = Server::new(store.clone(), settings).unwrap();
    if with_engine {
        server.set_engine(engine());
    }
    // Retrains in memory, from whatever the test put in the store.
    server.set_trainer(Trainer::new(None, engine_settings()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server.serve(listener, shutdown).await
    });
    Running {
        base,
        stop,
        serving,
    }
}

fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("skipped: {POSTGRES_URL_VAR} not set");
            None
        }
    }
}

/// A server on SQLite with default settings and the engine loaded.
pub async fn with_default_server<F, Fut>(body: F)
where
    F: FnOnce(TestServer) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_server(Backend::Sqlite, ServerSettings::default(), true, body).await;
}

/// Declares each named story as two tests, `sqlite::NAME` and `postgres::NAME`; a story
/// is an `async fn(TestServer)` run on a server with the engine loaded, with default
/// settings or with those `settings = FUNCTION;` returns.
macro_rules! on_both_backends {
    (settings = $settings:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::with_server(
                        crate::support::Backend::Sqlite,
                        $settings(),
                        true,
                        super::$name,
                    )
                    .await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::support::with_server(
                        crate::support::Backend::Postgres,
                        $settings(),
                        true,
                        super::$name,
                    )
                    .await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        on_both_backends!(settings = frontdesk_server::ServerSettings::default; $($name),*);
    };
}

/// A port on 127.0.0.1 that nothing listens on now, for a server a test starts itself.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits up to 20 s for a server the test started to accept connections on `port`.
pub fn wait_until_listening(port: u16, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Says a mail test is skipped because `missing`; fails it instead when
/// FRONTDESK_TEST_MAIL=required, as in CI, where the mail servers must be there.
pub fn skip_mail_test(missing: &str) {
    let required = std::env::var("FRONTDESK_TEST_MAIL").as_deref() == Ok("required");
    assert!(!required, "FRONTDESK_TEST_MAIL=required but {missing}");
    println!("skipped: {missing}");
}
