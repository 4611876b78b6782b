//! Conversation statements for PostgreSQL. Transactions are read committed: the status
//! checks live inside the UPDATE statements, which PostgreSQL re-evaluates against the
//! latest row when two of them meet, so no explicit locks are needed.

use frontdesk_core::{Conversation, DeliveryState, Message, NewConversation, StatusChange};
use sqlx::postgres::{PgConnection, PgPool};

use super::{
    change_status_sql, conversation, insert_conversation_sql, message_from_insert, refused,
    write_error, ConversationRow, MessageInsert, StatusUpdate, ENQUEUE_REPLY, INSERT_CONTACT,
    SELECT_IDENTITY, SELECT_STATUS, TOUCH_CONVERSATION,
};
use crate::StoreError;

pub(super) async fn create_conversation(
    pool: &PgPool,
    new: &NewConversation,
    now: i64,
) -> Result<Conversation, StoreError> {
    let written = async {
        let mut tx = pool.begin().await?;
        let (identity_id, contact_id) = find_or_add_identity(&mut tx, new, now).await?;
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

/// The identity for `new`'s channel and external id, added with a new contact when
/// missing. Two requests may add the same person at once: the loser's insert does
/// nothing, waits for the winner to commit, and then finds the winner's identity.
async fn find_or_add_identity(
    conn: &mut PgConnection,
    new: &NewConversation,
    now: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let existing: Option<(i64, i64)> = sqlx::query_as(SELECT_IDENTITY)
        .bind(new.channel.as_str())
        .bind(&new.external_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(found) = existing {
        return Ok(found);
    }
    let contact_id: i64 = sqlx::query_scalar(INSERT_CONTACT)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    let added: Option<i64> = sqlx::query_scalar(
        "INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
    )
    .bind(contact_id)
    .bind(new.channel.as_str())
    .bind(&new.external_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(identity_id) = added {
        return Ok((identity_id, contact_id));
    }
    sqlx::query("DELETE FROM contacts WHERE id = $1")
        .bind(contact_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(SELECT_IDENTITY)
        .bind(new.channel.as_str())
        .bind(&new.external_id)
        .fetch_one(&mut *conn)
        .await
}

pub(super) async fn write_message(
    pool: &PgPool,
    insert: &MessageInsert<'_>,
    change: Option<&StatusChange>,
) -> Result<(Message, Option<Conversation>), StoreError> {
    let id = insert.message.conversation_id;
    let now = crate::plan::now_unix_ms();
    let mut tx = pool
        .begin()
        .await
        .map_err(|cause| write_error("a message", cause))?;
    let changed = match change {
        Some(change) => Some(apply_change(&mut tx, id, change, now).await?),
        None => None,
    };
    let written = async {
        let touched: Option<Option<i64>> = sqlx::query_scalar(TOUCH_CONVERSATION)
            .bind(id)
            .bind(now)
            .bind(insert.is_from_a_person())
            .bind(insert.message.author.as_str())
            .bind(insert.is_an_answer())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(channel_id) = touched else {
            return Ok(None);
        };
        // A reply on a connected channel is only sent once the outbox has sent it.
        let queued = channel_id.is_some() && insert.goes_to_the_customer();
        let delivery = match queued {
            true => DeliveryState::Pending,
            false => insert.message.delivery,
        };
        let message_id: i64 = sqlx::query_scalar(
            "INSERT INTO messages \
               (conversation_id, author, text, decision, sources, delivery, created_at, \
                visibility, user_id, answer_faq_id) \
             VALUES ($1, $2, $3, CAST($4 AS JSONB), CAST($5 AS JSONB), $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(id)
        .bind(insert.message.author.as_str())
        .bind(&insert.message.text)
        .bind(insert.decision.as_deref())
        .bind(&insert.sources)
        .bind(delivery.as_str())
        .bind(now)
        .bind(insert.message.visibility.as_str())
        .bind(insert.message.user_id)
        .bind(insert.answer_faq_id())
        .fetch_one(&mut *tx)
        .await?;
        if queued {
            sqlx::query(ENQUEUE_REPLY)
                .bind(message_id)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        Ok(Some((message_id, delivery)))
    };
    let (message_id, delivery) = written
        .await
        .map_err(|cause| write_error("a message", cause))?
        .ok_or(StoreError::ConversationNotFound { id })?;
    tx.commit()
        .await
        .map_err(|cause| write_error("a message", cause))?;
    let message = Message {
        delivery,
        ..message_from_insert(insert, message_id, now)
    };
    Ok((message, changed))
}

pub(super) async fn change_status(
    pool: &PgPool,
    id: i64,
    change: &StatusChange,
    now: i64,
) -> Result<Conversation, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|cause| write_error("a status change", cause))?;
    let changed = apply_change(&mut tx, id, change, now).await?;
    tx.commit()
        .await
        .map_err(|cause| write_error("a status change", cause))?;
    Ok(changed)
}

async fn apply_change(
    conn: &mut PgConnection,
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
