//! The team: users who sign in, and the API tokens they act through.
//!
//! The store keeps hashes only and never sees a password or a token in the clear: the
//! caller hashes (see the server's `auth` module), so that what is written here cannot
//! let anyone in if the database is copied.

use frontdesk_core::{Channel, Role, User};

use crate::conversations::{corrupt, read_error, write_error};
use crate::plan::now_unix_ms;
use crate::{Store, StoreError};

const USER_COLUMNS: &str = "id, email, role, created_at";

impl Store {
    /// Adds a member of the team. `email` is stored as [`normalize_email`] gives it;
    /// `password_hash` is an argon2 PHC string made by the caller.
    pub async fn add_user(
        &self,
        email: &str,
        role: Role,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let email = normalize_email(email);
        let sql = format!(
            "INSERT INTO users (email, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
        );
        let now = now_unix_ms();
        let inserted: Result<UserRow, sqlx::Error> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&email)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(now)
            .fetch_one(pool)
            .await);
        match inserted {
            Ok(row) => user(row),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::UserExists { email })
            }
            Err(cause) => Err(write_error("a user", cause)),
        }
    }

    /// The channels the member works, when the owner limited them to some; empty: all.
    pub async fn user_channels(&self, user_id: i64) -> Result<Vec<Channel>, StoreError> {
        let sql = "SELECT channel FROM user_channels WHERE user_id = $1 ORDER BY channel";
        let names: Vec<String> = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("a member's channels", cause))?;
        // A name this version does not know cannot be one of its conversations' channels.
        Ok(names.iter().filter_map(|name| name.parse().ok()).collect())
    }

    /// Limits the member with `email` to `channels`; none lifts the limit. Replaces the
    /// earlier list in one transaction.
    pub async fn set_user_channels(
        &self,
        email: &str,
        channels: &[Channel],
    ) -> Result<User, StoreError> {
        let Some((user, _)) = self.user_by_email(email).await? else {
            return Err(StoreError::UserNotFound {
                email: normalize_email(email),
            });
        };
        let clear = "DELETE FROM user_channels WHERE user_id = $1";
        let add = "INSERT INTO user_channels (user_id, channel) VALUES ($1, $2) \
                   ON CONFLICT (user_id, channel) DO NOTHING";
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(clear).bind(user.id).execute(&mut *tx).await?;
            for channel in channels {
                sqlx::query(add)
                    .bind(user.id)
                    .bind(channel.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(|cause| write_error("a member's channels", cause))?;
        Ok(user)
    }

    /// Every member of the team, in the order they were added.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows: Vec<UserRow> = on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
            .map_err(|cause| read_error("users", cause))?;
        rows.into_iter().map(user).collect()
    }

    /// The user with this email (compared as [`normalize_email`] gives it) and their
    /// password hash, for signing in.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        if cannot_be_stored(email) {
            return Ok(None);
        }
        let email = normalize_email(email);
        let row: Option<UserWithHashRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&email)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a user", cause))?;
        row.map(|row| Ok((user(row.user)?, row.password_hash)))
            .transpose()
    }

    /// Records an API token for the user with `email`, by its hash; it stops working at
    /// `expires_at` (unix milliseconds) when one is given. Returns the token's id.
    pub async fn add_api_token(
        &self,
        email: &str,
        token_hash: &str,
        label: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        let Some((user, _)) = self.user_by_email(email).await? else {
            return Err(StoreError::UserNotFound {
                email: normalize_email(email),
            });
        };
        let sql = "INSERT INTO api_tokens (user_id, token_hash, label, created_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let now = now_unix_ms();
        on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(user.id)
            .bind(token_hash)
            .bind(label)
            .bind(now)
            .bind(expires_at)
            .fetch_one(pool)
            .await)
        .map_err(|cause| write_error("an API token", cause))
    }

    /// The user an API token acts for, when the token (given by its hash) exists, was
    /// not revoked and has not expired.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let sql = "SELECT users.id, users.email, users.role, users.created_at \
                   FROM api_tokens JOIN users ON users.id = api_tokens.user_id \
                   WHERE api_tokens.token_hash = $1 AND api_tokens.revoked_at IS NULL \
                     AND (api_tokens.expires_at IS NULL OR api_tokens.expires_at > $2)";
        let now = now_unix_ms();
        let row: Option<UserRow> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("an API token", cause))?;
        row.map(user).transpose()
    }

    /// The API tokens of the user with `email`, oldest first, revoked and expired ones
    /// included: what `tokens list` shows so that one can be revoked by id.
    pub async fn api_tokens(&self, email: &str) -> Result<Vec<ApiToken>, StoreError> {
        if cannot_be_stored(email) {
            return Ok(Vec::new());
        }
        let sql = "SELECT api_tokens.id, api_tokens.label, api_tokens.created_at, \
                     api_tokens.expires_at, api_tokens.revoked_at \
                   FROM api_tokens JOIN users ON users.id = api_tokens.user_id \
                   WHERE users.email = $1 ORDER BY api_tokens.id";
        let email = normalize_email(email);
        let tokens = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(&email)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("API tokens", cause))?;
        Ok(tokens)
    }

    /// Revokes the API token with this id for good; `false` when there is no such
    /// token or it was revoked already.
    pub async fn revoke_api_token_by_id(&self, id: i64) -> Result<bool, StoreError> {
        let sql = "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        let now = now_unix_ms();
        let revoked = on_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|cause| write_error("a revoked API token", cause))?;
        Ok(revoked == 1)
    }

    /// Revokes the API token with this hash (signing out); revoking an unknown or
    /// already revoked token changes nothing.
    pub async fn revoke_api_token(&self, token_hash: &str) -> Result<(), StoreError> {
        let sql = "UPDATE api_tokens SET revoked_at = $2 \
                   WHERE token_hash = $1 AND revoked_at IS NULL";
        let now = now_unix_ms();
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a revoked API token", cause))?;
        Ok(())
    }
}

/// Whether `text` holds a NUL, which PostgreSQL refuses in text (and so no stored row
/// can hold): a lookup by it finds nothing, on both backends alike, instead of failing.
pub(crate) fn cannot_be_stored(text: &str) -> bool {
    text.contains('\0')
}

/// An email as the store keeps and compares it: trimmed and lowercased. Strictly the
/// part before the `@` may be case-sensitive, but no mail system in use treats it so,
/// and two accounts differing only in capitals would be a trap.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What is kept of an API token besides its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    role: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserWithHashRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

fn user(row: UserRow) -> Result<User, StoreError> {
    let role = row
        .role
        .parse()
        .map_err(|problem| corrupt("user", row.id, problem))?;
    Ok(User {
        id: row.id,
        email: row.email,
        role,
        created_at: row.created_at,
    })
}
