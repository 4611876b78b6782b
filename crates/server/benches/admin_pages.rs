//! How long the owner's pages and the inbox's reads take with a large store: 100,000
//! conversations and 1,000,000 messages spread over a year, 1,000 FAQ entries and 50
//! canned replies, on SQLite (a file, as `frontdesk serve` uses by default) and, when
//! `FRONTDESK_BENCH_POSTGRES_URL` is set, on PostgreSQL in a schema of its own that is
//! dropped afterwards.
//!
//! `cargo bench -p frontdesk-server --bench admin_pages`
//!
//! Settings from the environment: `FRONTDESK_BENCH_CONVERSATIONS` (100000; each gets ten
//! messages), `FRONTDESK_BENCH_REQUESTS` (20 per page). Each page is fetched over HTTP on
//! loopback with an owner's sign-in cookie, one request at a time, so a request's time is
//! the server's time plus a loopback round trip. Prints the median, 99th percentile and
//! maximum per page.

use std::time::{Duration, Instant};

mod common;

use common::{percentile, setting};
use frontdesk_core::Role;
use frontdesk_server::analytics::{self, Period};
use frontdesk_server::auth::{api_token_hash, hash_password, new_api_token};
use frontdesk_server::{Server, ServerSettings};
use frontdesk_store::Store;
use tokio::net::TcpListener;

const MESSAGES_PER_CONVERSATION: i64 = 10;
const YEAR_MS: i64 = 365 * 24 * 60 * 60 * 1000;
const ROWS_PER_INSERT: usize = 1_000;

const OWNER: &str = "owner@bench.example";

/// FAQ entries in the knowledge base, which the generated answers name in turn.
const FAQ_ENTRIES: i64 = 1_000;
/// Canned replies the team keeps.
const CANNED_REPLIES: usize = 50;

/// The pages measured: the default periods, a quarter, and the whole year.
const PAGES: &[&str] = &[
    "/admin/analytics",
    "/admin/report",
    "/api/v1/report/maturity",
    "/admin/analytics.csv",
    "/api/v1/analytics",
    "/admin/review",
    "/admin/knowledge",
    "/admin/knowledge/faq?id=faq-7",
    "/admin/replies",
    "/inbox",
    "/api/v1/conversations",
    "/api/v1/conversations?status=resolved",
    "/api/v1/conversations?limit=500",
    "/api/v1/conversations/99999",
    "/api/v1/canned-replies?conversation=1",
    "/admin/analytics?from=QUARTER&to=TODAY",
    "/admin/analytics?from=YEAR&to=TODAY",
];

fn main() {
    let conversations = setting("FRONTDESK_BENCH_CONVERSATIONS", 100_000) as i64;
    let requests = setting("FRONTDESK_BENCH_REQUESTS", 20) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");

    let scratch = tempfile::tempdir().expect("a temporary folder");
    // A file of one's choosing is kept afterwards, to look at its query plans.
    let file = std::env::var_os("FRONTDESK_BENCH_SQLITE_FILE")
        .map_or_else(|| scratch.path().join("bench.db"), std::path::PathBuf::from);
    let sqlite = format!("sqlite://{}", file.display());
    runtime.block_on(measure("SQLite", &sqlite, conversations, requests));

    if let Ok(url) = std::env::var("FRONTDESK_BENCH_POSTGRES_URL") {
        runtime.block_on(async {
            let schema = Store::unique_schema_name("fd_bench_admin");
            let store = Store::connect_in_schema(&url, &schema)
                .await
                .expect("a PostgreSQL schema");
            store.close().await;
            let in_schema = Store::postgres_url_in_schema(&url, &schema).expect("a URL");
            measure("PostgreSQL", &in_schema, conversations, requests).await;
            if std::env::var_os("FRONTDESK_BENCH_KEEP_SCHEMA").is_some() {
                println!("PostgreSQL: kept schema {schema}");
            } else {
                Store::drop_schema(&url, &schema)
                    .await
                    .expect("the schema is dropped");
            }
        });
    } else {
        println!("PostgreSQL: skipped (set FRONTDESK_BENCH_POSTGRES_URL to measure it)");
    }
}

async fn measure(backend: &str, url: &str, conversations: i64, requests: usize) {
    let store = Store::connect(url).await.expect("a store");
    let now = jiff::Timestamp::now().as_millisecond();
    let started = Instant::now();
    fill(&store, url, conversations, now).await;
    println!(
        "{backend}: stored {conversations} conversations and {} messages in {:.1?}",
        conversations * MESSAGES_PER_CONVERSATION,
        started.elapsed()
    );

    let hash = hash_password("a bench password").expect("a hash");
    store
        .add_user(OWNER, Role::Owner, &hash)
        .await
        .expect("an owner");
    let token = new_api_token();
    store
        .add_api_token(OWNER, &api_token_hash(&token), Some("bench"), None)
        .await
        .expect("a token");

    store
        .import_faqs(&faq_entries(), &|_| {})
        .await
        .expect("FAQ entries");
    for n in 0..CANNED_REPLIES {
        let body = format!("Hello {{name}}, here is answer number {n}.");
        store
            .save_canned_reply(&format!("Reply {n}"), &body, None)
            .await
            .expect("a canned reply");
    }

    breakdown(backend, &store).await;

    let server = Server::new(store.clone(), ServerSettings::default()).expect("settings");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server.serve(listener, shutdown).await
    });

    let client = reqwest::Client::new();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let back = |days: i64| {
        today
            .checked_sub(jiff::Span::new().days(days))
            .expect("a date")
            .to_string()
    };
    for page in PAGES {
        let path = page
            .replace("QUARTER", &back(90))
            .replace("YEAR", &back(364))
            .replace("TODAY", &today.to_string());
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let sent = Instant::now();
            let response = client
                .get(format!("http://{address}{path}"))
                .header("Cookie", format!("frontdesk_session={token}"))
                .header("X-Frontdesk-Inbox", "1")
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            let body = response.bytes().await.expect("a body");
            times.push(sent.elapsed());
            assert!(status.is_success(), "{path}: {status}");
            bytes = body.len();
        }
        times.sort();
        println!(
            "{backend}: {path:<48} p50 {:>7.1?}  p99 {:>7.1?}  max {:>7.1?}  ({bytes} bytes)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(Duration::ZERO),
        );
    }

    let _ = stop.send(());
    let _ = serving.await;
    store.close().await;
}

/// FAQ entries of a shop, alike enough that the knowledge page's comparison of every
/// pair has work to do.
fn faq_entries() -> Vec<frontdesk_core::FaqEntry> {
    const TOPICS: [&str; 5] = ["delivery", "returns", "payment", "sizes", "warranty"];
    (0..FAQ_ENTRIES)
        .map(|n| {
            let topic = TOPICS[(n % 5) as usize];
            frontdesk_core::FaqEntry {
                id: format!("faq-{n}"),
                question: format!("What about {topic} for order type {n}?"),
                answer: format!("For order type {n}, {topic} works as described on page {n}."),
                tags: vec![topic.to_string()],
                url: None,
            }
        })
        .collect()
}

/// What each of the store's reads costs for the analytics page's default period.
async fn breakdown(backend: &str, store: &Store) {
    let now = jiff::Timestamp::now();
    let period = Period::last_days(now, 28, jiff::tz::TimeZone::UTC);
    let (from, to) = period.bounds_ms();
    let timed = Instant::now();
    let facts = store.conversation_facts(from, to).await.expect("facts");
    let facts_took = timed.elapsed();
    let timed = Instant::now();
    let volume = store
        .customer_message_volume(from, to)
        .await
        .expect("volume");
    let volume_took = timed.elapsed();
    let timed = Instant::now();
    let unanswered = store
        .unanswered_questions(from, to)
        .await
        .expect("questions");
    let unanswered_took = timed.elapsed();
    let timed = Instant::now();
    analytics::gather(store, &period).await.expect("all three");
    let together_took = timed.elapsed();
    let timed = Instant::now();
    let none = frontdesk_server::HandoffSettings::default();
    let figures = analytics::compute(&period, &facts, &volume, &unanswered, &none, now);
    let compute_took = timed.elapsed();
    println!(
        "{backend}: last 28 days: facts of {} conversations {facts_took:.1?}, volume in {} \
         slots {volume_took:.1?}, {} unanswered questions {unanswered_took:.1?}, figures \
         {compute_took:.1?} ({} outcomes); the three reads side by side {together_took:.1?}",
        facts.len(),
        volume.len(),
        unanswered.len(),
        figures.outcomes.decided()
    );
}

/// Writes the conversations straight into the tables, a thousand rows per statement:
/// through the store's own methods a million messages would take most of an hour. The
/// values are numbers and texts made here, written into the statements as literals.
async fn fill(store: &Store, url: &str, conversations: i64, now: i64) {
    let postgres = !url.starts_with("sqlite:");
    let statements = statements(conversations, now, postgres);
    if postgres {
        let pool = sqlx::PgPool::connect(url)
            .await
            .expect("the PostgreSQL schema");
        for statement in &statements {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .expect("rows are stored");
        }
        count_facts(store).await;
        // What autovacuum would have done by the time anyone reads a year of data.
        sqlx::query("VACUUM ANALYZE")
            .execute(&pool)
            .await
            .expect("the tables are vacuumed");
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url)
            .await
            .expect("the SQLite file");
        for statement in &statements {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .expect("rows are stored");
        }
        pool.close().await;
        count_facts(store).await;
    }
}

/// The rows were written around the store, so the facts it keeps on each conversation as
/// it stores a message are counted from the messages, as the server would have kept them.
async fn count_facts(store: &Store) {
    store
        .recount_conversation_facts()
        .await
        .expect("facts are counted");
}

/// One conversation in generated data: who, when, and how it went.
struct Generated {
    id: i64,
    created_at: i64,
    /// 0–74: answered; 75–89: handed off as unsure; 90–99: the customer asked for a person.
    kind: i64,
}

impl Generated {
    fn new(id: i64, conversations: i64, now: i64) -> Self {
        // Spread over the last year, the newest first, leaving the last day empty.
        let created_at = now - 24 * 60 * 60 * 1000 - (id * YEAR_MS) / conversations;
        Self {
            id,
            created_at,
            kind: (id * 37) % 100,
        }
    }

    fn handed_off(&self) -> bool {
        self.kind >= 75
    }

    fn message_at(&self, position: i64) -> i64 {
        self.created_at + position * 30_000
    }
}

/// A text as an SQL literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn optional(value: Option<i64>) -> String {
    value.map_or("NULL".to_string(), |value| value.to_string())
}

fn statements(conversations: i64, now: i64, postgres: bool) -> Vec<String> {
    let generated: Vec<Generated> = (1..=conversations)
        .map(|id| Generated::new(id, conversations, now))
        .collect();
    // PostgreSQL numbers its rows itself unless told that these carry their own ids.
    let own_ids = if postgres {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let mut statements = Vec::new();
    for chunk in generated.chunks(ROWS_PER_INSERT) {
        let contacts: Vec<String> = chunk
            .iter()
            .map(|c| format!("({}, 'Customer {}', {})", c.id, c.id, c.created_at))
            .collect();
        statements.push(format!(
            "INSERT INTO contacts (id, name, created_at) {} VALUES {}",
            own_ids,
            contacts.join(",")
        ));

        let identities: Vec<String> = chunk
            .iter()
            .map(|c| {
                format!(
                    "({}, {}, '{}', 'visitor-{}', {})",
                    c.id,
                    c.id,
                    channel_of(c),
                    c.id,
                    c.created_at
                )
            })
            .collect();
        statements.push(format!(
            "INSERT INTO contact_identities (id, contact_id, channel, external_id, created_at) \
             {} VALUES {}",
            own_ids,
            identities.join(",")
        ));

        let rows: Vec<String> = chunk
            .iter()
            .map(|c| {
                let last = c.message_at(MESSAGES_PER_CONVERSATION - 1);
                let handed = c.handed_off();
                let reason = match c.kind {
                    75..=89 => "'low_confidence'",
                    90.. => "'person_requested'",
                    _ => "NULL",
                };
                format!(
                    "({id}, 'sha256:bench-{id}', '{channel}', {id}, {id}, '{status}', {created}, \
                     {last}, {handed_at}, {replied_at}, {resolved_at}, {reason})",
                    id = c.id,
                    channel = channel_of(c),
                    status = if handed { "resolved" } else { "bot" },
                    created = c.created_at,
                    handed_at = optional(handed.then(|| c.message_at(1))),
                    replied_at = optional(handed.then(|| c.message_at(2))),
                    resolved_at = optional(handed.then_some(last)),
                )
            })
            .collect();
        statements.push(format!(
            "INSERT INTO conversations (id, token, channel, contact_id, identity_id, status, \
             created_at, updated_at, handed_off_at, first_human_reply_at, resolved_at, \
             handoff_reason) {} VALUES {}",
            own_ids,
            rows.join(",")
        ));

        let messages: Vec<String> = chunk
            .iter()
            .flat_map(|c| (0..MESSAGES_PER_CONVERSATION).map(move |position| (c, position)))
            .map(|(c, position)| {
                let (author, text, decision) = message(c, position);
                let decision = match decision {
                    Some(json) if postgres => format!("{}::jsonb", quoted(&json)),
                    Some(json) => quoted(&json),
                    None => "NULL".to_string(),
                };
                // The FAQ entry an answer used, as the store copies it out of the decision.
                let answer_faq = match author == "assistant" && !c.handed_off() {
                    true => quoted(&answer_faq_of(c)),
                    false => "NULL".to_string(),
                };
                format!(
                    "({}, '{author}', {}, {decision}, 'sent', {}, {answer_faq})",
                    c.id,
                    quoted(&text),
                    c.message_at(position)
                )
            })
            .collect();
        for part in messages.chunks(ROWS_PER_INSERT) {
            statements.push(format!(
                "INSERT INTO messages (conversation_id, author, text, decision, delivery, \
                 created_at, answer_faq_id) VALUES {}",
                part.join(",")
            ));
        }
    }
    statements
}

/// The FAQ entry the assistant's answers in `c` name.
fn answer_faq_of(c: &Generated) -> String {
    format!("faq-{}", c.id % FAQ_ENTRIES)
}

fn channel_of(c: &Generated) -> &'static str {
    ["widget", "email", "whatsapp", "telegram"][(c.id % 4) as usize]
}

/// The message at `position`: the customer asks on even positions, the assistant
/// replies on odd ones (a person after a handoff).
fn message(c: &Generated, position: i64) -> (&'static str, String, Option<String>) {
    let topics = [
        "my card has not arrived",
        "can I pay in yen",
        "refund for order",
        "change address",
    ];
    if position % 2 == 0 {
        let topic = topics[((c.id + position) % 4) as usize];
        return (
            "customer",
            format!("{topic}, question {position} of {}", c.id),
            None,
        );
    }
    if c.handed_off() && position > 1 {
        return ("agent", "A person replies.".to_string(), None);
    }
    let (kind, reason) = match (c.handed_off(), c.kind) {
        (false, _) => ("answer", "null"),
        (true, 75..=89) => ("escalate", "\"low_confidence\""),
        (true, _) => ("escalate", "\"person_requested\""),
    };
    let faq = match kind {
        "answer" => format!("\"{}\"", answer_faq_of(c)),
        _ => "null".to_string(),
    };
    let decision = format!(
        "{{\"decision\":\"{kind}\",\"faq_id\":{faq},\"confidence\":0.5,\"text\":\"A reply.\",\
         \"reason\":{reason},\"sources\":[]}}"
    );
    ("assistant", "A reply.".to_string(), Some(decision))
}
