//! Frontdesk persistence: the knowledge base (FAQ entries, past tickets, document
//! passages, products) in SQLite by default, or in PostgreSQL when the URL says so.
//!
//! One [`Store`] serves both backends behind the same methods; the URL picks the backend
//! and [`Store::connect`] runs the migrations embedded from `migrations/<backend>`.
//!
//! The guarantees the rest of Frontdesk builds on:
//!
//! - every import is one transaction: all of its rows are written or none are;
//! - imports upsert by id, so importing a file again updates rather than duplicates, and
//!   an unchanged row keeps its `updated_at` and is not counted as updated;
//! - every import that changed something bumps its kind's revision in the same
//!   transaction, and [`Store::knowledge_revision`] is derived from those revisions, so
//!   the search index and trained model stored beside the database can tell when they
//!   are stale.
//!
//! Within one import, rows that repeat an id are written once: the last one wins.
//!
//! Conversations (contacts, their identities per channel, conversations and messages)
//! live in the same database; their methods and guarantees are in `conversations`. So
//! does the team (users and their API tokens, by hash only), in `team`.
//!
//! Several processes may share one PostgreSQL database: [`Store::notify`] and
//! [`Store::listen`] carry notifications between them, and [`Store::lock_conversation`]
//! keeps two of them from working on one conversation at once (see `live`).

/// Runs the same code on whichever pool the store holds. The body is written once and
/// compiled once per backend, since the two pools' query types differ: for statements
/// that read alike on SQLite and PostgreSQL.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// As `on_pool!`, on the connections that write: the same pool on PostgreSQL, SQLite's
/// one writing connection (see `connect::SqlitePools`).
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.writer {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

mod analytics;
mod canned;
mod channels;
mod connect;
mod conversations;
mod error;
mod live;
mod mailbox;
mod plan;
mod postgres;
mod review;
mod satisfaction;
mod sql;
mod sqlite;
mod team;
mod usage;
mod vectors;
mod write_queue;

use std::fmt;
use std::time::Instant;

use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, Product, Ticket};
use serde::Serialize;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

pub use crate::analytics::{
    ConversationFacts, FaqUsage, MaturityAnswer, UnansweredQuestion, VolumeSlot, VOLUME_SLOT_MS,
};
pub use crate::canned::CannedReply;
pub use crate::channels::{
    AttachmentFile, Inbound, InboundRecord, OutboxItem, SentPart, StoredChannel, StoredFile,
    WebhookProblem,
};
use crate::connect::{SchemaChange, Target};
pub use crate::conversations::{ConversationFilter, Readers};
pub use crate::error::StoreError;
use crate::live::Live;
pub use crate::live::{ConversationLock, Listener, Notice, MAX_NOTIFICATION_BYTES};
pub use crate::mailbox::MailboxPosition;
pub use crate::review::ReviewItem;
pub use crate::satisfaction::{Satisfaction, LOW_RATING};
pub use crate::team::{normalize_email, ApiToken};
pub use crate::usage::{utc_day, ConversationUsage, DayUsage, GenerationRecord};

/// The progress callback of the imports: called with the number of rows written so far.
/// Spelt out in the public signatures; the lifetime keeps it from defaulting to 'static.
pub(crate) type Progress<'a> = dyn Fn(u64) + Send + Sync + 'a;

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Rows whose id was not stored before.
    pub inserted: u64,
    /// Rows whose id was stored with different content.
    pub updated: u64,
    /// Rows deleted and not written back (document passages only).
    pub removed: u64,
}

impl ImportOutcome {
    /// Whether the import changed anything, and so moved the knowledge revision.
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.removed > 0
    }
}

/// How much of one kind of knowledge is stored, and when it last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindStats {
    pub kind: KnowledgeKind,
    pub count: u64,
    /// When an import last inserted, updated or removed knowledge of this kind; `None`
    /// if none ever did.
    pub last_changed_unix_ms: Option<i64>,
}

/// One kind's row counts and revision, as both backends read them.
pub(crate) struct KindState {
    pub kind: KnowledgeKind,
    pub rows: i64,
    pub revision: i64,
    pub changed_at: Option<i64>,
}

/// Reports rows written to a progress callback as batches complete.
pub(crate) struct Written<'p> {
    progress: &'p Progress<'p>,
    rows: u64,
}

impl<'p> Written<'p> {
    pub(crate) fn new(progress: &'p Progress<'p>) -> Self {
        Written { progress, rows: 0 }
    }

    pub(crate) fn add(&mut self, rows: usize) {
        self.rows += rows as u64;
        (self.progress)(self.rows);
    }

    /// The last batch already reported the final count; only an import with nothing to
    /// write still owes its caller the closing call.
    pub(crate) fn finish(self) {
        if self.rows == 0 {
            (self.progress)(0);
        }
    }
}

/// The knowledge base, in SQLite or PostgreSQL. Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Where writes go: `pool` itself on PostgreSQL, one connection of its own on SQLite.
    writer: Pool,
    /// SQLite's busiest writes, run in batches on `writer` (see `write_queue`).
    sqlite_writes: Option<write_queue::WriteQueue>,
    /// Notifications and the conversation lock shared by every process on the database.
    live: Live,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

// Written by hand: the pools' own Debug output includes their connect options.
impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// `url` is `sqlite://PATH` (the file and its parent folders are created if missing),
    /// `sqlite::memory:`, or `postgres://...` / `postgresql://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let store = match connect::target_of(url)? {
            Target::Sqlite => {
                let pools = connect::connect_sqlite(url).await?;
                Store {
                    pool: Pool::Sqlite(pools.reader),
                    sqlite_writes: Some(write_queue::WriteQueue::start(pools.writer.clone())),
                    writer: Pool::Sqlite(pools.writer),
                    live: Live::in_process(),
                }
            }
            Target::Postgres => {
                let pool = connect::connect_postgres(url).await?;
                let live = Live::postgres(&pool).await?;
                Store {
                    pool: Pool::Postgres(pool.clone()),
                    writer: Pool::Postgres(pool),
                    sqlite_writes: None,
                    live,
                }
            }
        };
        store.digest_plain_tokens().await?;
        tracing::debug!(
            backend = store.backend(),
            "knowledge store open and migrated"
        );
        Ok(store)
    }

    /// Test and isolation helper: opens the PostgreSQL database at `url` with every table
    /// in the schema `schema`, creating the schema if missing and migrating it.
    ///
    /// Tests that run in parallel against one database each take a fresh schema (see
    /// [`Store::unique_schema_name`]) and remove it with [`Store::drop_schema`]. `schema`
    /// must be 1 to 63 lowercase ASCII letters, digits or underscores.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Store, StoreError> {
        connect::alter_schema(url, schema, SchemaChange::Create).await?;
        Store::connect(&Store::postgres_url_in_schema(url, schema)?).await
    }

    /// Test and isolation helper: the PostgreSQL `url` changed so that its connections
    /// use `schema`, for handing to a process (such as the `frontdesk` binary) that only
    /// takes a URL. The schema must exist: create it with [`Store::connect_in_schema`].
    pub fn postgres_url_in_schema(url: &str, schema: &str) -> Result<String, StoreError> {
        connect::url_in_schema(url, schema)
    }

    /// Test and isolation helper: drops the PostgreSQL schema `schema` and everything in
    /// it. Dropping a schema that does not exist is not an error.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        connect::alter_schema(url, schema, SchemaChange::Drop).await
    }

    /// Test and isolation helper: a schema name no other test process or call has used,
    /// `prefix` followed by the process id, a clock reading and a counter. Keep `prefix`
    /// short (under 30 characters) and lowercase.
    pub fn unique_schema_name(prefix: &str) -> String {
        connect::unique_schema_name(prefix)
    }

    /// SQLite's write queue; an error on PostgreSQL, which has none.
    pub(crate) fn sqlite_write_queue(&self) -> Result<&write_queue::WriteQueue, StoreError> {
        self.sqlite_writes.as_ref().ok_or(StoreError::Write {
            what: "a queued write",
            cause: sqlx::Error::Configuration("only an SQLite store queues its writes".into()),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Upserts FAQ entries by id, in one transaction. `progress` gets the number of rows
    /// written so far, after every few hundred rows and at the end.
    pub async fn import_faqs(
        &self,
        entries: &[FaqEntry],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportOutcome, StoreError> {
        let started = Instant::now();
        let outcome = match &self.pool {
            Pool::Sqlite(pool) => sqlite::import_faqs(pool, entries, progress).await,
            Pool::Postgres(pool) => postgres::import_faqs(pool, entries, progress).await,
        };
        log_import(KnowledgeKind::Faq, entries.len(), &outcome, started);
        outcome
    }

    /// Upserts tickets by id, in one transaction; new tickets are appended to the
    /// reading order, updated ones keep their place. `progress` as for
    /// [`Store::import_faqs`].
    pub async fn import_tickets(
        &self,
        tickets: &[Ticket],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportOutcome, StoreError> {
        let started = Instant::now();
        let outcome = match &self.pool {
            Pool::Sqlite(pool) => sqlite::import_tickets(pool, tickets, progress).await,
            Pool::Postgres(pool) => postgres::import_tickets(pool, tickets, progress).await,
        };
        log_import(KnowledgeKind::Ticket, tickets.len(), &outcome, started);
        outcome
    }

    /// Replaces every passage of each document named in `passages`, in one transaction.
    /// A passage's position is its place among its document's passages in `passages`.
    /// `removed` counts old passages whose id did not come back; a passage that comes
    /// back unchanged, at the same position, counts as neither inserted nor updated.
    /// `progress` as for [`Store::import_faqs`].
    pub async fn import_doc_passages(
        &self,
        passages: &[DocPassage],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportOutcome, StoreError> {
        let started = Instant::now();
        let outcome = match &self.pool {
            Pool::Sqlite(pool) => sqlite::import_doc_passages(pool, passages, progress).await,
            Pool::Postgres(pool) => postgres::import_doc_passages(pool, passages, progress).await,
        };
        log_import(KnowledgeKind::Doc, passages.len(), &outcome, started);
        outcome
    }

    /// Upserts products by id, in one transaction, each with all of its variants: a
    /// stored product's variants are replaced by the imported ones. A product that comes
    /// back identical, variants included, counts as neither inserted nor updated.
    /// `progress` gets the number of products done so far, as for
    /// [`Store::import_faqs`].
    pub async fn import_products(
        &self,
        products: &[Product],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportOutcome, StoreError> {
        let started = Instant::now();
        let outcome = match &self.pool {
            Pool::Sqlite(pool) => sqlite::import_products(pool, products, progress).await,
            Pool::Postgres(pool) => postgres::import_products(pool, products, progress).await,
        };
        log_import(KnowledgeKind::Product, products.len(), &outcome, started);
        outcome
    }

    /// Removes the FAQ entry `id`, moving the knowledge revision so that the assistant is
    /// rebuilt without it. Returns whether there was such an entry. Tickets that name it
    /// are kept: they teach nothing until an entry of that id comes back.
    pub async fn delete_faq(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = match &self.pool {
            Pool::Sqlite(pool) => sqlite::delete_faq(pool, id).await,
            Pool::Postgres(pool) => postgres::delete_faq(pool, id).await,
        };
        if let Ok(true) = deleted {
            tracing::info!(faq = id, "FAQ entry deleted");
        }
        deleted
    }

    /// Every FAQ entry, ordered by id (bytewise).
    pub async fn faqs(&self) -> Result<Vec<FaqEntry>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::faqs(pool).await,
            Pool::Postgres(pool) => postgres::faqs(pool).await,
        }
    }

    /// Every ticket, in the order they were first imported.
    pub async fn tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::tickets(pool).await,
            Pool::Postgres(pool) => postgres::tickets(pool).await,
        }
    }

    /// Every document passage, ordered by document (bytewise), then position.
    pub async fn doc_passages(&self) -> Result<Vec<DocPassage>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::doc_passages(pool).await,
            Pool::Postgres(pool) => postgres::doc_passages(pool).await,
        }
    }

    /// Every product, ordered by id (bytewise), each with its variants in catalog order.
    pub async fn products(&self) -> Result<Vec<Product>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::products(pool).await,
            Pool::Postgres(pool) => postgres::products(pool).await,
        }
    }

    /// One entry per [`KnowledgeKind`], in [`KnowledgeKind::ALL`] order, empty kinds
    /// included.
    pub async fn knowledge_stats(&self) -> Result<Vec<KindStats>, StoreError> {
        let states = self.kind_states().await?;
        Ok(KnowledgeKind::ALL
            .into_iter()
            .map(|kind| {
                let state = states.iter().find(|s| s.kind == kind);
                KindStats {
                    kind,
                    count: state.map_or(0, |s| u64::try_from(s.rows).unwrap_or_default()),
                    last_changed_unix_ms: state.and_then(|s| s.changed_at),
                }
            })
            .collect())
    }

    /// An opaque string that changes whenever an import changes any knowledge, and
    /// differs between two databases. Record it beside anything built from the
    /// knowledge; a different value later means that thing is stale.
    pub async fn knowledge_revision(&self) -> Result<String, StoreError> {
        let instance = match &self.pool {
            Pool::Sqlite(pool) => sqlite::instance(pool).await?,
            Pool::Postgres(pool) => postgres::instance(pool).await?,
        };
        let states = self.kind_states().await?;
        let counters: Vec<(KnowledgeKind, i64)> = KnowledgeKind::ALL
            .into_iter()
            .map(|kind| {
                let revision = states
                    .iter()
                    .find(|s| s.kind == kind)
                    .map_or(0, |s| s.revision);
                (kind, revision)
            })
            .collect();
        Ok(plan::revision_string(&instance, &counters))
    }

    /// Closes every connection, waiting for those in use to be returned. Listeners have
    /// connections of their own: close them with [`Listener::close`].
    pub async fn close(&self) {
        for pool in [&self.writer, &self.pool] {
            match pool {
                Pool::Sqlite(pool) => pool.close().await,
                Pool::Postgres(pool) => pool.close().await,
            }
        }
        self.live.close().await;
    }

    async fn kind_states(&self) -> Result<Vec<KindState>, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::kind_states(pool).await,
            Pool::Postgres(pool) => postgres::kind_states(pool).await,
        }
    }
}

fn log_import(
    kind: KnowledgeKind,
    rows: usize,
    outcome: &Result<ImportOutcome, StoreError>,
    started: Instant,
) {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(done) => tracing::debug!(
            %kind, rows, done.inserted, done.updated, done.removed, elapsed_ms,
            "knowledge imported"
        ),
        Err(err) => tracing::debug!(%kind, rows, elapsed_ms, %err, "knowledge import failed"),
    }
}
