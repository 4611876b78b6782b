//! Opening a database from its URL: choosing the backend, creating what is missing,
//! tuning the connection and running the embedded migrations.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::StoreError;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a writer waits for another writer before SQLite reports "database is locked".
/// Imports are single transactions, so a second import may wait for a whole first one.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a PostgreSQL pool waits for a connection; an unreachable host fails after it
/// instead of hanging the CLI.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The backend a URL asks for.
pub(crate) enum Target {
    Sqlite,
    Postgres,
}

pub(crate) fn target_of(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Target::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Target::Sqlite)
    } else {
        Err(invalid_url(
            url,
            "it starts with neither sqlite: nor postgres://",
        ))
    }
}

fn invalid_url(url: &str, reason: impl ToString) -> StoreError {
    StoreError::InvalidUrl {
        url: redact(url),
        reason: reason.to_string(),
    }
}

/// `url` with any password replaced, so that it can appear in messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// An SQLite database's connections: `reader` for everything, and `writer`, one
/// connection that every busy write path goes through.
///
/// SQLite lets one connection write at a time. When two of the reader pool's connections
/// both want to write, the loser sleeps in SQLite's busy handler (a millisecond, then
/// longer) and the CPU idles meanwhile. Writers queued on a one-connection pool wait in
/// the order they came and start the moment the one before commits.
pub(crate) struct SqlitePools {
    pub reader: SqlitePool,
    pub writer: SqlitePool,
}

pub(crate) async fn connect_sqlite(url: &str) -> Result<SqlitePools, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| invalid_url(url, e))?;
    let in_memory = is_sqlite_memory(url);
    let target = if in_memory {
        "sqlite::memory:".to_string()
    } else {
        options.get_filename().display().to_string()
    };
    if !in_memory {
        create_parent_dir(options.get_filename())?;
    }
    let pool_options = sqlite_pool_options(in_memory);
    let options = tune_sqlite(options, in_memory);
    let writer_options = options.clone();
    let pool =
        pool_options
            .connect_with(options)
            .await
            .map_err(|cause| StoreError::OpenSqlite {
                path: target.clone(),
                cause,
            })?;
    migrate(&SQLITE_MIGRATOR, &pool, "SQLite", target.clone()).await?;
    if in_memory {
        // The in-memory database has one connection, which writes too.
        return Ok(SqlitePools {
            writer: pool.clone(),
            reader: pool,
        });
    }
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(writer_options)
        .await
        .map_err(|cause| StoreError::OpenSqlite {
            path: target,
            cause,
        })?;
    Ok(SqlitePools {
        reader: pool,
        writer,
    })
}

fn sqlite_pool_options(in_memory: bool) -> SqlitePoolOptions {
    if in_memory {
        // Every connection to `sqlite::memory:` shares one database that lives only while
        // a connection is open, and shared-cache locks ignore busy_timeout: so exactly
        // one connection, kept forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // WAL readers never block, and writers queue on the write lock anyway.
        SqlitePoolOptions::new().max_connections(4)
    }
}

fn is_sqlite_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

fn tune_sqlite(options: SqliteConnectOptions, in_memory: bool) -> SqliteConnectOptions {
    let options = options
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    if in_memory {
        return options;
    }
    // WAL lets the server read while an import writes; NORMAL sync is durable across
    // application crashes under WAL and avoids an fsync per transaction.
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
}

fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|cause| StoreError::CreateDir {
                path: parent.to_path_buf(),
                cause,
            })
        }
        _ => Ok(()),
    }
}

pub(crate) async fn connect_postgres(url: &str) -> Result<PgPool, StoreError> {
    // Without just-in-time compilation: it costs tens of milliseconds on the owner's
    // report queries (planned as "expensive" for their row counts) and pays off only for
    // scans far longer than anything Frontdesk runs.
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| invalid_url(url, e))?
        .options([("jit", "off")]);
    let target = describe_postgres(&options);
    probe_postgres(&options)
        .await
        .map_err(|cause| StoreError::ConnectPostgres {
            target: target.clone(),
            cause,
        })?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    migrate(&POSTGRES_MIGRATOR, &pool, "PostgreSQL", target).await?;
    Ok(pool)
}

/// One direct connection attempt. The pool retries a refused connection until its
/// acquire timeout, so a stopped server or a wrong port would otherwise take that long
/// to report; this reports it at once, or after the timeout for a host that never answers.
async fn probe_postgres(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let conn = tokio::time::timeout(POSTGRES_ACQUIRE_TIMEOUT, options.connect())
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {} seconds",
                    POSTGRES_ACQUIRE_TIMEOUT.as_secs()
                ),
            ))
        })??;
    // The probe's own outcome is known; how it says goodbye does not matter.
    let _ = conn.close().await;
    Ok(())
}

/// `user@host:port/database`: enough to recognise the server, without the password.
fn describe_postgres(options: &PgConnectOptions) -> String {
    let user = options.get_username();
    let database = options.get_database().unwrap_or(user);
    format!(
        "{user}@{}:{}/{database}",
        options.get_host(),
        options.get_port()
    )
}

async fn migrate<DB>(
    migrator: &Migrator,
    pool: &sqlx::Pool<DB>,
    backend: &'static str,
    target: String,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Connection: sqlx::migrate::Migrate,
{
    migrator
        .run(pool)
        .await
        .map_err(|cause| StoreError::Migrate {
            backend,
            target,
            cause,
        })
}

/// Schema names are spliced into SQL and into a connection option, so only plain
/// lowercase identifiers are accepted: they never need quoting or escaping.
pub(crate) fn check_schema_name(name: &str) -> Result<(), StoreError> {
    let valid = (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidSchemaName {
            name: name.to_string(),
        })
    }
}

fn require_postgres(url: &str) -> Result<(), StoreError> {
    match target_of(url)? {
        Target::Postgres => Ok(()),
        Target::Sqlite => Err(StoreError::SchemaNeedsPostgres { url: redact(url) }),
    }
}

pub(crate) fn url_in_schema(url: &str, schema: &str) -> Result<String, StoreError> {
    require_postgres(url)?;
    check_schema_name(schema)?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{url}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// What [`alter_schema`] does to a schema.
#[derive(Clone, Copy)]
pub(crate) enum SchemaChange {
    Create,
    Drop,
}

impl SchemaChange {
    fn verb(self) -> &'static str {
        match self {
            SchemaChange::Create => "create",
            SchemaChange::Drop => "drop",
        }
    }

    fn sql(self, schema: &str) -> String {
        match self {
            SchemaChange::Create => format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
            SchemaChange::Drop => format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        }
    }
}

/// Creates or drops a schema over a connection of its own, outside any pool, since a
/// pool's connections are bound to their schema.
pub(crate) async fn alter_schema(
    url: &str,
    schema: &str,
    change: SchemaChange,
) -> Result<(), StoreError> {
    require_postgres(url)?;
    check_schema_name(schema)?;
    let options = PgConnectOptions::from_str(url).map_err(|e| invalid_url(url, e))?;
    let mut conn = options
        .connect()
        .await
        .map_err(|cause| StoreError::ConnectPostgres {
            target: describe_postgres(&options),
            cause,
        })?;
    let outcome = conn.execute(change.sql(schema).as_str()).await;
    // Closing politely only spares the server a log line; the statement's outcome matters.
    let _ = conn.close().await;
    outcome.map(|_| ()).map_err(|cause| StoreError::Schema {
        action: change.verb(),
        schema: schema.to_string(),
        cause,
    })
}

pub(crate) fn unique_schema_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}_{}_{:x}_{n}",
        prefix.to_ascii_lowercase(),
        std::process::id(),
        nanos & 0xffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x?a=b"),
            "postgres://me:***@db:5432/x?a=b"
        );
        assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
        assert_eq!(redact("sqlite://a/b@c.db"), "sqlite://a/b@c.db");
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(is_sqlite_memory("sqlite://?mode=memory"));
        assert!(!is_sqlite_memory("sqlite://data/memory.db"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("fd_test_1").is_ok());
        assert!(check_schema_name(&unique_schema_name("frontdesk_test")).is_ok());
        for bad in ["", "1abc", "Abc", "a-b", "a;drop", &"a".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn schema_urls_carry_the_search_path() {
        let url = url_in_schema("postgres://u@h/db", "s1").unwrap();
        assert_eq!(url, "postgres://u@h/db?options=-c%20search_path%3Ds1");
        let url = url_in_schema("postgres://u@h/db?sslmode=disable", "s1").unwrap();
        assert!(url.ends_with("&options=-c%20search_path%3Ds1"));
        assert!(url_in_schema("sqlite::memory:", "s1").is_err());
    }
}
