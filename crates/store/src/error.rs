//! The errors the store reports.
//!
//! Each `Display` is one sentence a person can act on, and it already carries the
//! underlying cause. The cause is therefore kept in a public `cause` field for code that
//! wants to inspect it, but not exposed as `source()`, so that error reporters which
//! print the whole chain (anyhow's `{:#}`) do not print it twice.

use std::path::PathBuf;

use frontdesk_core::{ConversationStatus, KnowledgeKind};

/// What went wrong in the store, worded for the person running Frontdesk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database URL {url} cannot be used ({reason}); use sqlite://PATH, \
         sqlite::memory: or postgres://USER@HOST:PORT/DATABASE"
    )]
    InvalidUrl { url: String, reason: String },

    #[error("cannot create the folder {path} for the SQLite database: {cause}")]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("cannot open the SQLite database at {path}: {cause}")]
    OpenSqlite { path: String, cause: sqlx::Error },

    #[error(
        "cannot connect to PostgreSQL at {target}: {cause}; check that the server is \
         running and that the URL's host, port, user and database are right"
    )]
    ConnectPostgres { target: String, cause: sqlx::Error },

    #[error("cannot bring the {backend} database at {target} up to date: {cause}{}", hint(.cause))]
    Migrate {
        backend: &'static str,
        target: String,
        cause: sqlx::migrate::MigrateError,
    },

    #[error(
        "{name:?} cannot be used as a schema name: use 1 to 63 lowercase ASCII letters, \
         digits and underscores, not starting with a digit"
    )]
    InvalidSchemaName { name: String },

    #[error("schemas need PostgreSQL, and {url} is not a postgres:// URL")]
    SchemaNeedsPostgres { url: String },

    #[error("cannot {action} the PostgreSQL schema {schema}: {cause}")]
    Schema {
        action: &'static str,
        schema: String,
        cause: sqlx::Error,
    },

    #[error("importing {} failed, so nothing from this import was written: {cause}", noun(*.kind))]
    Import {
        kind: KnowledgeKind,
        cause: sqlx::Error,
    },

    #[error("reading {what} from the database failed: {cause}")]
    Read {
        what: &'static str,
        cause: sqlx::Error,
    },

    #[error("writing {what} to the database failed, so none of it was kept: {cause}")]
    Write {
        what: &'static str,
        cause: sqlx::Error,
    },

    #[error(
        "a notification of {bytes} bytes is too large: PostgreSQL takes at most {}",
        crate::MAX_NOTIFICATION_BYTES
    )]
    NotificationTooLarge { bytes: usize },

    #[error("sending a notification through the database failed: {cause}")]
    Notify { cause: sqlx::Error },

    #[error("listening for notifications from the database failed: {cause}")]
    Listen { cause: sqlx::Error },

    #[error(
        "conversation {id} could not be locked in the database (another process may be \
         holding it): {cause}"
    )]
    Lock { id: i64, cause: sqlx::Error },

    #[error("there is no conversation {id}")]
    ConversationNotFound { id: i64 },

    #[error("there is already a user with the email {email}")]
    UserExists { email: String },

    #[error("there is already a channel named {name:?}")]
    ChannelExists { name: String },

    #[error("there is no {kind} channel named {name:?}")]
    ChannelNotFound { name: String, kind: String },

    #[error("there is no user with the email {email}")]
    UserNotFound { email: String },

    #[error("conversation {id} is {status}, and {change} is not allowed from there")]
    StatusChangeRefused {
        id: i64,
        /// The change, as [`frontdesk_core::StatusChange::name`] spells it.
        change: &'static str,
        status: ConversationStatus,
    },

    #[error(
        "the stored {what} {id} cannot be read ({problem}); it was written by another version"
    )]
    Corrupt {
        what: &'static str,
        id: i64,
        problem: String,
    },

    #[error(
        "the stored tags of FAQ entry {id:?} are not a JSON list of strings ({cause}); \
             import the entry again to repair them"
    )]
    CorruptTags {
        id: String,
        cause: serde_json::Error,
    },

    #[error("the stored product {id:?} cannot be read ({problem}); import it again to repair it")]
    CorruptProduct { id: String, problem: String },

    #[error("the database returned {what} in a shape that cannot be read ({problem})")]
    Unreadable { what: &'static str, problem: String },
}

/// How a kind of knowledge is named in a sentence.
pub(crate) fn noun(kind: KnowledgeKind) -> &'static str {
    match kind {
        KnowledgeKind::Faq => "FAQ entries",
        KnowledgeKind::Ticket => "tickets",
        KnowledgeKind::Doc => "document passages",
        KnowledgeKind::Product => "products",
    }
}

/// The likely way out of a failed migration, where there is one.
fn hint(cause: &sqlx::migrate::MigrateError) -> &'static str {
    use sqlx::migrate::MigrateError;
    match cause {
        MigrateError::VersionMissing(_) | MigrateError::VersionTooNew(..) => {
            " (it was probably updated by a newer Frontdesk; run that version instead)"
        }
        MigrateError::VersionMismatch(_) => {
            " (an applied migration was changed after it ran; restore the database from \
             a backup or recreate it)"
        }
        MigrateError::Dirty(_) => {
            " (an earlier migration stopped half-way; restore the database from a backup)"
        }
        _ => "",
    }
}
