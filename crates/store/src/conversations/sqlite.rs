//! Conversation statements for SQLite. Writes take the write lock up front
//! (`BEGIN IMMEDIATE`), as imports do: a transaction that reads before it writes would
//! otherwise fail with "database is locked" instead of waiting its turn.

use frontdesk_core::{Conversation, DeliveryState, Message, NewConversation, StatusChange};
use std::sync::LazyLock;

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Row;

use super::{
    change_status_sql, conversation, insert_conversation_sql, message_from_insert, refused,
    write_error, ConversationRow, MessageInsert, StatusUpdate, INSERT_CONTACT, SELECT_IDENTITY,
    SELECT_STATUS, TOUCH_CONVERSATION,
};
use crate::write_queue::WriteQueue;
use crate::StoreError;

pub(super) async fn create_conversation(
    pool: &SqlitePool,
    new: &NewConversation,
    now: i64,
) -> Result<Conversation, StoreError> {
    let written = async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<(i64, i64)> = sqlx::query_as(SELECT_IDENTITY)
            .bind(new.channel.as_str())
            .bind(&new.external_id)
            .fetch_optional(&mut *tx)
            .await?;
        // The write lock is held, so nobody can add the same identity in between.
        let (identity_id, contact_id) = match existing {
            Some(found) => found,
            None => {
                let contact_id: i64 = sqlx::query_scalar(INSERT_CONTACT)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                let identity_id: i64 = sqlx::query_scalar(
                    "INSERT INTO contact_identities \
                       (contact_id, channel, external_id, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(contact_id)
                .bind(new.channel.as_str())
                .bind(&new.external_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                (identity_id, contact_id)
            }
        };
        let row: ConversationRow = sqlx::query_as(&insert_conversation_sql())
            .bind(super::token_digest(&new.token))
            .bind(new.channel.as_str())
            .bind(contact_id)
            .bind(identity_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    };
    let row = written
        .await
        .map_err(|cause| write_error("a new conversation", cause))?;
    conversation(row)
}

/// What [`write_message`] sends in one go, numbered for every statement alike: the
/// conversation is touched ($1 to $5 as in `TOUCH_CONVERSATION`), the message inserted
/// (pending when it is to go out through the conversation's channel) and, when it goes
/// out, queued in the outbox. Returns the touch's row, then the message's id and delivery.
static WRITE_MESSAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{TOUCH_CONVERSATION}; \
         INSERT INTO messages \
           (conversation_id, author, text, decision, sources, delivery, created_at, \
            visibility, user_id, answer_faq_id) \
         SELECT id, $4, $6, $7, $8, \
           CASE WHEN channel_id IS NOT NULL AND $9 THEN 'pending' ELSE $10 END, \
           $2, $11, $12, $13 \
         FROM conversations WHERE id = $1 RETURNING id, delivery; \
         INSERT INTO outbox \
           (message_id, channel_id, reply_to, next_attempt_at, created_at, updated_at) \
         SELECT last_insert_rowid(), channel_id, reply_to, $2, $2, $2 FROM conversations \
         WHERE id = $1 AND $9 AND channel_id IS NOT NULL AND reply_to IS NOT NULL \
           AND changes() = 1"
    )
});

/// The parameters of [`WRITE_MESSAGE`], owned, so that a queued write can bind them on
/// every run (see `write_queue`).
struct MessageParams {
    conversation_id: i64,
    now: i64,
    from_a_person: bool,
    author: &'static str,
    an_answer: bool,
    text: String,
    decision: Option<String>,
    sources: String,
    goes_to_the_customer: bool,
    delivery: &'static str,
    visibility: &'static str,
    user_id: Option<i64>,
    answer_faq_id: Option<String>,
}

impl MessageParams {
    fn new(insert: &MessageInsert<'_>, now: i64) -> MessageParams {
        MessageParams {
            conversation_id: insert.message.conversation_id,
            now,
            from_a_person: insert.is_from_a_person(),
            author: insert.message.author.as_str(),
            an_answer: insert.is_an_answer(),
            text: insert.message.text.clone(),
            decision: insert.decision.clone(),
            sources: insert.sources.clone(),
            goes_to_the_customer: insert.goes_to_the_customer(),
            delivery: insert.message.delivery.as_str(),
            visibility: insert.message.visibility.as_str(),
            user_id: insert.message.user_id,
            answer_faq_id: insert.answer_faq_id().map(str::to_string),
        }
    }

    /// Runs [`WRITE_MESSAGE`] inside the transaction `connection` is in: the touch's row,
    /// then the message's id and delivery; none when the conversation does not exist (and
    /// then nothing was written).
    async fn write(
        &self,
        connection: &mut SqliteConnection,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        sqlx::query(&WRITE_MESSAGE)
            .bind(self.conversation_id)
            .bind(self.now)
            .bind(self.from_a_person)
            .bind(self.author)
            .bind(self.an_answer)
            .bind(&self.text)
            .bind(self.decision.as_deref())
            .bind(&self.sources)
            .bind(self.goes_to_the_customer)
            .bind(self.delivery)
            .bind(self.visibility)
            .bind(self.user_id)
            .bind(self.answer_faq_id.as_deref())
            .fetch_all(connection)
            .await
    }
}

/// Stores a message: through the write queue when that is all, or in a transaction of
/// its own with the conversation's `change`, which may be refused.
pub(super) async fn write_message(
    pool: &SqlitePool,
    queue: &WriteQueue,
    insert: &MessageInsert<'_>,
    change: Option<&StatusChange>,
) -> Result<(Message, Option<Conversation>), StoreError> {
    let id = insert.message.conversation_id;
    let now = crate::plan::now_unix_ms();
    let failed = |cause| write_error("a message", cause);
    let params = MessageParams::new(insert, now);
    let (rows, changed) = match change {
        None => {
            let written = queue
                .write(params, |params, connection| {
                    Box::pin(params.write(connection))
                })
                .await;
            (written.map_err(failed)?, None)
        }
        Some(change) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
            let changed = apply_change(&mut tx, id, change, now).await?;
            let rows = params.write(&mut tx).await.map_err(failed)?;
            if rows.len() > 1 {
                tx.commit().await.map_err(failed)?;
            }
            (rows, Some(changed))
        }
    };
    let Some(inserted) = rows.get(1) else {
        return Err(StoreError::ConversationNotFound { id });
    };
    let message_id: i64 = inserted.try_get(0).map_err(failed)?;
    let delivery: String = inserted.try_get(1).map_err(failed)?;
    let delivery: DeliveryState = delivery.parse().map_err(|problem| StoreError::Corrupt {
        what: "delivery state of message",
        id: message_id,
        problem: format!("{problem}"),
    })?;
    let message = Message {
        delivery,
        ..message_from_insert(insert, message_id, now)
    };
    Ok((message, changed))
}

pub(super) async fn change_status(
    pool: &SqlitePool,
    id: i64,
    change: &StatusChange,
    now: i64,
) -> Result<Conversation, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|cause| write_error("a status change", cause))?;
    let changed = apply_change(&mut tx, id, change, now).await?;
    tx.commit()
        .await
        .map_err(|cause| write_error("a status change", cause))?;
    Ok(changed)
}

async fn apply_change(
    conn: &mut SqliteConnection,
    id: i64,
    change: &StatusChange,
    now: i64,
) -> Result<Conversation, StoreError> {
    let update = StatusUpdate::new(change, now);
    let row: Option<ConversationRow> = sqlx::query_as(&change_status_sql(change))
        .bind(id)
        .bind(update.status)
        .bind(update.now)
        .bind(update.sets_assignee)
        .bind(update.assignee)
        .bind(update.reason)
        .bind(update.summary)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|cause| write_error("a status change", cause))?;
    match row {
        Some(row) => conversation(row),
        None => {
            let current: Option<String> = sqlx::query_scalar(SELECT_STATUS)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|cause| write_error("a status change", cause))?;
            Err(refused(id, change, current))
        }
    }
}
