//! What lets several server processes share one database: notifications that every
//! process using the store hears, and a per-conversation lock that holds across them.
//!
//! On PostgreSQL, notifications are `NOTIFY` on a channel named after the store's schema
//! (two schemas on one database never hear each other), and the lock is a
//! transaction-scoped advisory lock. On SQLite, which one process serves, notifications
//! travel on an in-process broadcast shared by the clones of a [`Store`], and the lock
//! is left to the caller's in-process one.
//!
//! The payloads are the caller's: this module moves strings, at most
//! [`MAX_NOTIFICATION_BYTES`] long, and promises nothing about delivery beyond telling a
//! listener when it may have missed some ([`Notice::Missed`]).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::{Store, StoreError};

/// The longest payload [`Store::notify`] takes: PostgreSQL refuses 8000 bytes and more.
pub const MAX_NOTIFICATION_BYTES: usize = 7999;

/// How many notifications an in-process listener may fall behind before it is told it
/// missed some.
const IN_PROCESS_BACKLOG: usize = 1024;

/// PostgreSQL cuts identifiers (channel names among them) at 63 bytes.
const MAX_CHANNEL_BYTES: usize = 63;
const CHANNEL_PREFIX: &str = "frontdesk_events.";

/// How long a turn waits for another process to finish its turn of the same conversation
/// before giving up with an error: a turn takes milliseconds, so this only ends waits on a
/// process that stopped answering.
const LOCK_WAIT: &str = "30s";
/// A lock holder that stops talking to the database for this long loses its session, and
/// with it the lock, so a hung process cannot keep a conversation locked for ever.
const LOCK_HOLDER_SILENCE: &str = "60s";
/// Lock connections are only held for a turn each; more turns at once than this on one
/// process queue for a connection (up to the same wait as for the lock itself).
const LOCK_CONNECTIONS: u32 = 8;
const LOCK_CONNECTION_WAIT: Duration = Duration::from_secs(30);
/// How long [`Store::listen`] tries to open its connection before reporting the failure.
const LISTEN_CONNECT_WAIT: Duration = Duration::from_secs(5);

/// The store's side of notifications and locks, by backend.
#[derive(Clone)]
pub(crate) enum Live {
    InProcess(broadcast::Sender<String>),
    Postgres(Arc<PgLive>),
}

pub(crate) struct PgLive {
    /// The store's own pool (a clone: pools are shared handles).
    pool: PgPool,
    /// The schema the store's tables are in: what makes its channel and lock keys its own.
    scope: String,
    channel: String,
    /// Separate from the store's pool, so that turns waiting for the lock never take the
    /// connections that the turn holding it needs for its queries.
    locks: PgPool,
}

impl Live {
    pub(crate) fn in_process() -> Live {
        Live::InProcess(broadcast::channel(IN_PROCESS_BACKLOG).0)
    }

    pub(crate) async fn postgres(pool: &PgPool) -> Result<Live, StoreError> {
        let scope: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(pool)
            .await
            .map_err(|cause| StoreError::Read {
                what: "the current schema",
                cause,
            })?;
        let scope = scope.unwrap_or_default();
        let options = (*pool.connect_options()).clone().options([
            ("lock_timeout", LOCK_WAIT),
            ("idle_in_transaction_session_timeout", LOCK_HOLDER_SILENCE),
        ]);
        let locks = PgPoolOptions::new()
            .max_connections(LOCK_CONNECTIONS)
            .acquire_timeout(LOCK_CONNECTION_WAIT)
            .connect_lazy_with(options);
        Ok(Live::Postgres(Arc::new(PgLive {
            pool: pool.clone(),
            channel: channel_name(&scope),
            scope,
            locks,
        })))
    }

    pub(crate) async fn close(&self) {
        if let Live::Postgres(live) = self {
            live.locks.close().await;
        }
    }
}

/// What a [`Listener`] heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A payload given to [`Store::notify`], by this process or another.
    Payload(String),
    /// Notifications may have been lost (the connection dropped and was opened again, or
    /// the listener fell behind): whatever depends on them should read the store again.
    Missed,
}

/// Hears the notifications of every process using the same store; see [`Store::listen`].
pub struct Listener {
    inner: Listening,
}

enum Listening {
    InProcess(broadcast::Receiver<String>),
    Postgres {
        /// Its own single connection, kept outside the store's pool for as long as the
        /// listener lives.
        pool: PgPool,
        channel: String,
        /// `None` after a failure: the next [`Listener::recv`] connects again.
        listener: Option<PgListener>,
    },
}

/// Held for the length of a turn; see [`Store::lock_conversation`].
pub struct ConversationLock {
    /// `None` on SQLite. Dropping the transaction rolls it back, which releases the lock.
    transaction: Option<Transaction<'static, Postgres>>,
}

impl ConversationLock {
    /// Releases the lock now. Dropping the lock releases it too, a moment later (when its
    /// connection goes back to the pool).
    pub async fn release(mut self) {
        if let Some(transaction) = self.transaction.take() {
            // The transaction wrote nothing: a failed commit still ends it, and with it
            // the lock, when the connection is closed or returned.
            if let Err(err) = transaction.commit().await {
                tracing::warn!(%err, "releasing a conversation lock failed");
            }
        }
    }
}

impl Store {
    /// Sends `payload` to every [`Listener`] of this store, in this process and in every
    /// other process connected to the same database and schema. On PostgreSQL it goes
    /// out when the call returns (it is its own transaction).
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if payload.len() > MAX_NOTIFICATION_BYTES {
            return Err(StoreError::NotificationTooLarge {
                bytes: payload.len(),
            });
        }
        match &self.live {
            Live::Postgres(live) => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(&live.channel)
                    .bind(payload)
                    .execute(&live.pool)
                    .await
                    .map_err(|cause| StoreError::Notify { cause })?;
            }
            Live::InProcess(sender) => {
                // Nobody listening is not an error: notifications are for those who are.
                let _ = sender.send(payload.to_string());
            }
        }
        Ok(())
    }

    /// Starts hearing notifications: those sent after this returns are all heard, or a
    /// [`Notice::Missed`] says some were not.
    pub async fn listen(&self) -> Result<Listener, StoreError> {
        let inner = match &self.live {
            Live::InProcess(sender) => Listening::InProcess(sender.subscribe()),
            Live::Postgres(live) => {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(LISTEN_CONNECT_WAIT)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_lazy_with((*live.pool.connect_options()).clone());
                let channel = live.channel.clone();
                let listener = match open_listener(&pool, &channel).await {
                    Ok(listener) => listener,
                    Err(err) => {
                        pool.close().await;
                        return Err(err);
                    }
                };
                Listening::Postgres {
                    pool,
                    channel,
                    listener: Some(listener),
                }
            }
        };
        Ok(Listener { inner })
    }

    /// Waits until no other turn of conversation `id`, in any process on this database,
    /// holds the lock, then holds it until the returned lock is released or dropped.
    ///
    /// On PostgreSQL this is a transaction-scoped advisory lock, on a connection of its
    /// own held for the turn (milliseconds): if the process dies, the database releases
    /// it. A wait longer than 30 seconds ends in an error. On SQLite, which one process
    /// serves, it returns at once: the caller's in-process lock is the lock.
    pub async fn lock_conversation(&self, id: i64) -> Result<ConversationLock, StoreError> {
        let Live::Postgres(live) = &self.live else {
            return Ok(ConversationLock { transaction: None });
        };
        let lock_error = |cause| StoreError::Lock { id, cause };
        let mut transaction = live.locks.begin().await.map_err(lock_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(&live.scope, id))
            .execute(&mut *transaction)
            .await
            .map_err(lock_error)?;
        Ok(ConversationLock {
            transaction: Some(transaction),
        })
    }
}

impl Listener {
    /// The next notice. After an error (the database went away), call again: the next
    /// call connects again and, once it has, returns [`Notice::Missed`].
    pub async fn recv(&mut self) -> Result<Notice, StoreError> {
        match &mut self.inner {
            Listening::InProcess(receiver) => match receiver.recv().await {
                Ok(payload) => Ok(Notice::Payload(payload)),
                Err(RecvError::Lagged(_)) => Ok(Notice::Missed),
                // The store holds the sender, and this listener's owner the store: the
                // channel only closes when nothing can send on it any more.
                Err(RecvError::Closed) => std::future::pending().await,
            },
            Listening::Postgres {
                pool,
                channel,
                listener,
            } => {
                let Some(open) = listener else {
                    *listener = Some(open_listener(pool, channel).await?);
                    return Ok(Notice::Missed);
                };
                match open.try_recv().await {
                    Ok(Some(notification)) => Ok(Notice::Payload(notification.payload().into())),
                    // The connection dropped and the listener has already opened another
                    // and listens again: anything sent in between is lost.
                    Ok(None) => Ok(Notice::Missed),
                    Err(cause) => {
                        *listener = None;
                        Err(StoreError::Listen { cause })
                    }
                }
            }
        }
    }

    /// Stops listening and closes the listener's connection.
    pub async fn close(self) {
        if let Listening::Postgres { pool, listener, .. } = self.inner {
            drop(listener);
            pool.close().await;
        }
    }
}

async fn open_listener(pool: &PgPool, channel: &str) -> Result<PgListener, StoreError> {
    let listen_error = |cause| StoreError::Listen { cause };
    let mut listener = PgListener::connect_with(pool).await.map_err(listen_error)?;
    listener.listen(channel).await.map_err(listen_error)?;
    Ok(listener)
}

/// `frontdesk_events.SCHEMA`, or, for a schema name too long for that, its start and a
/// hash of the whole name.
fn channel_name(scope: &str) -> String {
    let plain = format!("{CHANNEL_PREFIX}{scope}");
    if plain.len() <= MAX_CHANNEL_BYTES {
        return plain;
    }
    let hash = format!("{:016x}", fnv1a(scope.as_bytes()));
    let room = MAX_CHANNEL_BYTES - CHANNEL_PREFIX.len() - hash.len() - 1;
    let mut start = room;
    while !scope.is_char_boundary(start) {
        start -= 1;
    }
    format!("{CHANNEL_PREFIX}{}_{hash}", &scope[..start])
}

/// Advisory lock keys are shared by every schema of a database: the key mixes in the
/// schema so that two stores on one database do not wait for each other. A collision
/// would only make two unrelated turns wait for each other, never run two at once.
fn lock_key(scope: &str, id: i64) -> i64 {
    let mut bytes = Vec::with_capacity(scope.len() + 9);
    bytes.extend_from_slice(scope.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&id.to_le_bytes());
    fnv1a(&bytes) as i64
}

/// FNV-1a, 64 bits: stable across processes and versions, unlike the standard hasher,
/// since every process on a database must derive the same channel and keys.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_fit_in_an_identifier_and_stay_distinct() {
        assert_eq!(channel_name("public"), "frontdesk_events.public");
        let long_a = format!("{}a", "s".repeat(62));
        let long_b = format!("{}b", "s".repeat(62));
        let (a, b) = (channel_name(&long_a), channel_name(&long_b));
        assert!(a.len() <= MAX_CHANNEL_BYTES && b.len() <= MAX_CHANNEL_BYTES);
        assert_ne!(a, b);
        assert!(channel_name(&"é".repeat(40)).len() <= MAX_CHANNEL_BYTES);
    }

    #[test]
    fn lock_keys_depend_on_schema_and_conversation() {
        assert_eq!(lock_key("public", 1), lock_key("public", 1));
        assert_ne!(lock_key("public", 1), lock_key("public", 2));
        assert_ne!(lock_key("public", 1), lock_key("other", 1));
    }
}
