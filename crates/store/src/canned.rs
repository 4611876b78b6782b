//! The team's canned replies: text an agent picks instead of typing, kept by title.

use serde::Serialize;

use crate::conversations::{read_error, write_error};
use crate::plan::now_unix_ms;
use crate::{Store, StoreError};

/// One canned reply as stored, with `{name}` where the customer's name goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CannedReply {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub updated_at: i64,
}

impl Store {
    /// Every canned reply, by title.
    pub async fn canned_replies(&self) -> Result<Vec<CannedReply>, StoreError> {
        let sql = "SELECT id, title, body, updated_at FROM canned_replies ORDER BY title";
        on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await)
            .map_err(|cause| read_error("canned replies", cause))
    }

    /// Stores a canned reply under `title`, replacing the text of one of that title.
    pub async fn save_canned_reply(
        &self,
        title: &str,
        body: &str,
        user_id: Option<i64>,
    ) -> Result<CannedReply, StoreError> {
        let sql = "INSERT INTO canned_replies (title, body, updated_by, updated_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (title) DO UPDATE SET \
                   body = excluded.body, updated_by = excluded.updated_by, \
                   updated_at = excluded.updated_at \
                   RETURNING id, title, body, updated_at";
        on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(title)
            .bind(body)
            .bind(user_id)
            .bind(now_unix_ms())
            .fetch_one(pool)
            .await)
        .map_err(|cause| write_error("a canned reply", cause))
    }

    /// Removes canned reply `id`; returns whether there was one.
    pub async fn delete_canned_reply(&self, id: i64) -> Result<bool, StoreError> {
        let sql = "DELETE FROM canned_replies WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0))
        .map_err(|cause| write_error("a canned reply's removal", cause))
    }

    /// The name of the customer in conversation `conversation_id`, when their channel
    /// gave one.
    pub async fn contact_name(&self, conversation_id: i64) -> Result<Option<String>, StoreError> {
        let sql = "SELECT c.name FROM conversations v JOIN contacts c ON c.id = v.contact_id \
                   WHERE v.id = $1";
        let name: Option<Option<String>> = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(conversation_id)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a contact's name", cause))?;
        Ok(name.flatten().filter(|name| !name.trim().is_empty()))
    }
}
