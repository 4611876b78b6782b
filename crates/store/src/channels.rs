//! Connected channels, the messages that arrive through them, and the outbox that sends
//! replies back.
//!
//! The guarantees the webhooks and the sender build on:
//!
//! - a customer's message is stored once per (channel, provider message id), however many
//!   times and however close together the provider delivers it: the database's unique
//!   index decides, not a check before the insert;
//! - one conversation per (channel, provider conversation key), enforced the same way, so
//!   that two deliveries from a new customer cannot open two conversations;
//! - every reply to a connected channel has its outbox row from the transaction that
//!   stored it (see `conversations`), and leaves that row only as sent or failed;
//! - replies to one customer are handed out for sending in the order they were written,
//!   one at a time, on every instance serving the database.

use std::sync::LazyLock;

use frontdesk_core::{
    Attachment, Author, Channel, Conversation, DeliveryState, Message, Receipt, Visibility,
};

use crate::conversations::{
    conversation, message, read_error, token_digest, write_error, ConversationRow, MessageRow,
    CONVERSATION_COLUMNS, MESSAGE_COLUMNS,
};
use crate::plan::now_unix_ms;
use crate::write_queue::WriteQueue;
use crate::{Pool, Store, StoreError};

/// A connected channel as stored. `config` is the channel's settings as JSON, secrets
/// included; the channel adapters read it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredChannel {
    pub id: i64,
    pub kind: Channel,
    pub name: String,
    pub config: String,
    pub created_at: i64,
}

// By hand, so that the secrets in `config` never reach a log.
impl std::fmt::Debug for StoredChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredChannel")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("config", &"<secret>")
            .finish()
    }
}

/// A customer's message from a connected channel, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRecord {
    pub channel_id: i64,
    pub channel: Channel,
    /// The provider's conversation key, unique within the channel.
    pub conversation_key: String,
    /// Where replies go on the provider's side.
    pub reply_to: String,
    pub sender_name: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub provider_message_id: String,
    /// The provider's time for the message; stored no later than `received_at`.
    pub sent_at: i64,
    /// A fresh unguessable token, used only if this message opens a new conversation.
    pub new_token: String,
    /// Who wrote, when that is not the conversation (email: the sender's address, while
    /// the conversation is one thread). `None`: the conversation key.
    pub contact_key: Option<String>,
    /// Email only: the subject, the whole text as it arrived, the thread's subject key,
    /// and why the mail must not be answered automatically.
    pub subject: Option<String>,
    pub original_text: Option<String>,
    pub subject_key: Option<String>,
    pub automated: Option<String>,
    /// The bytes of those `attachments` that are kept, stored with the message.
    pub files: Vec<AttachmentFile>,
}

/// A kept attachment as read back.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub conversation_id: i64,
    pub content_type: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// The bytes of one attachment, kept with its message.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// Which of the message's attachments, from 0.
    pub position: u32,
    pub content_type: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

// Written by hand: a file's bytes do not belong in a log.
impl std::fmt::Debug for AttachmentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentFile")
            .field("position", &self.position)
            .field("content_type", &self.content_type)
            .field("file_name", &self.file_name)
            .field("size_bytes", &self.bytes.len())
            .finish()
    }
}

/// What storing an inbound message did.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The message is new and now stored, in this conversation.
    New {
        conversation: Box<Conversation>,
        message: Box<Message>,
    },
    /// The provider had delivered it before; nothing was written.
    Duplicate,
}

/// A reply the outbox hands to a sender: everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub message_id: i64,
    pub conversation_id: i64,
    pub channel_id: i64,
    pub reply_to: String,
    pub text: String,
    /// Parts of the text already accepted by the provider.
    pub parts_sent: u32,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// An earlier attempt's sender stopped before recording its outcome (a crash): the
    /// provider may have this part already.
    pub interrupted: bool,
}

type ChannelRow = (i64, String, String, String, i64);

const CHANNEL_COLUMNS: &str = "id, kind, name, CAST(config AS TEXT), created_at";

/// What a customer's message does to a conversation already open on its channel key: it
/// is marked as changed now, and the message noted in the facts the owner's figures read
/// (as `TOUCH_CONVERSATION` does for other messages). A duplicate message rolls the
/// change back.
const CONVERSATION_UPSERT: &str = "ON CONFLICT (channel_key) DO UPDATE SET \
     updated_at = excluded.updated_at, \
     first_customer_at = COALESCE(conversations.first_customer_at, excluded.first_customer_at), \
     last_customer_at = excluded.last_customer_at";

/// The statements of [`Store::store_inbound`] on PostgreSQL.
struct InboundSql {
    insert_message: &'static str,
    upsert_conversation: String,
}

impl InboundSql {
    fn new() -> Self {
        InboundSql {
            insert_message: "INSERT INTO messages (conversation_id, author, text, sources, \
                   delivery, created_at, visibility, channel_id, provider_message_id, \
                   sent_at, attachments, subject, original_text, automated) \
                 VALUES ($1, 'customer', $2, '[]', 'received', $3, 'public', $4, $5, $7, \
                   CAST($6 AS JSONB), $8, $9, $10) \
                 ON CONFLICT (channel_id, provider_message_id) DO NOTHING RETURNING id",
            // Opens the conversation, or marks the existing one as changed now, and reads
            // it back, in one statement.
            upsert_conversation: format!(
                "INSERT INTO conversations \
                   (token, channel, contact_id, identity_id, status, created_at, updated_at, \
                    channel_id, channel_key, reply_to, subject_key, first_customer_at, \
                    last_customer_at) \
                 VALUES ($1, $2, $3, $4, 'bot', $5, $5, $6, $7, $8, $9, $5, $5) \
                 {CONVERSATION_UPSERT} RETURNING {CONVERSATION_COLUMNS}"
            ),
        }
    }
}

/// Stores the kept attachment files of `$record`'s message `$message_id` on the open
/// transaction `$tx`, on either backend.
macro_rules! keep_files {
    ($tx:ident, $record:ident, $message_id:ident) => {
        for file in &$record.files {
            sqlx::query(
                "INSERT INTO attachment_files \
                   (message_id, position, content_type, file_name, size_bytes, bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind($message_id)
            .bind(i32::try_from(file.position).unwrap_or(i32::MAX))
            .bind(&file.content_type)
            .bind(&file.file_name)
            .bind(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))
            .bind(&file.bytes[..])
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// What [`store_inbound_sqlite`] sends in one call, inside a transaction: the contact
/// and their identity when the identity is new, the conversation opened or touched (and
/// read back), and the message. A message the channel delivered before changes nothing
/// and returns no rows; the message's unique index is what refuses it, the checks before
/// only keep the rest unwritten. Parameters: $1 a new conversation's token digest, $2 the
/// channel's kind, $3 the sender's name, $4 the identity's external id, $5 now, $6 the
/// channel's id, $7 the conversation's channel key, $8 where replies go, $9 the subject
/// key, $10 the text, $11 the provider's message id, $12 the attachments, $13 when it was
/// sent, $14 the subject, $15 the original text, $16 why it is automated.
static INBOUND_SQLITE: LazyLock<String> = LazyLock::new(|| {
    let new_message = "NOT EXISTS (SELECT 1 FROM messages \
                         WHERE channel_id = $6 AND provider_message_id = $11)";
    format!(
        "INSERT INTO contacts (name, created_at) SELECT $3, $5 WHERE {new_message} \
           AND NOT EXISTS (SELECT 1 FROM contact_identities \
                           WHERE channel = $2 AND external_id = $4); \
         INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
           SELECT last_insert_rowid(), $2, $4, $5 WHERE changes() = 1; \
         INSERT INTO conversations \
           (token, channel, contact_id, identity_id, status, created_at, updated_at, \
            channel_id, channel_key, reply_to, subject_key, first_customer_at, \
            last_customer_at) \
         SELECT $1, $2, contact_id, id, 'bot', $5, $5, $6, $7, $8, $9, $5, $5 \
           FROM contact_identities WHERE channel = $2 AND external_id = $4 AND {new_message} \
         {CONVERSATION_UPSERT} RETURNING {CONVERSATION_COLUMNS}; \
         INSERT INTO messages (conversation_id, author, text, sources, delivery, \
           created_at, visibility, channel_id, provider_message_id, sent_at, \
           attachments, subject, original_text, automated) \
         SELECT id, 'customer', $10, '[]', 'received', $5, 'public', $6, $11, $13, \
           $12, $14, $15, $16 FROM conversations WHERE channel_key = $7 \
         ON CONFLICT (channel_id, provider_message_id) DO NOTHING RETURNING id"
    )
});

/// A customer's message stored on SQLite, through the write queue: in a transaction with
/// other writes, which keeps anyone else from adding the same identity or message in
/// between.
async fn store_inbound_sqlite(
    queue: &WriteQueue,
    record: &InboundRecord,
    attachments: &str,
    now: i64,
) -> Result<Option<(ConversationRow, i64)>, sqlx::Error> {
    let owned = (record.clone(), attachments.to_string());
    queue
        .write(owned, move |(record, attachments), connection| {
            Box::pin(inbound_on(connection, record, attachments, now))
        })
        .await
}

/// [`INBOUND_SQLITE`] and the message's kept files, on a connection inside a transaction.
async fn inbound_on(
    connection: &mut sqlx::SqliteConnection,
    record: &InboundRecord,
    attachments: &str,
    now: i64,
) -> Result<Option<(ConversationRow, i64)>, sqlx::Error> {
    use sqlx::{FromRow, Row};

    let key = channel_key(record.channel_id, &record.conversation_key);
    let contact_key = record
        .contact_key
        .as_ref()
        .map(|contact| channel_key(record.channel_id, contact));
    let external_id = contact_key.as_deref().unwrap_or(key.as_str());
    let rows = sqlx::query(&INBOUND_SQLITE)
        .bind(token_digest(&record.new_token))
        .bind(record.channel.as_str())
        .bind(&record.sender_name)
        .bind(external_id)
        .bind(now)
        .bind(record.channel_id)
        .bind(&key)
        .bind(&record.reply_to)
        .bind(&record.subject_key)
        .bind(&record.text)
        .bind(&record.provider_message_id)
        .bind(attachments)
        .bind(record.sent_at.min(now))
        .bind(&record.subject)
        .bind(&record.original_text)
        .bind(&record.automated)
        .fetch_all(&mut *connection)
        .await?;
    // The conversation's row, then the message's id: none for a message stored before,
    // and then nothing was written.
    let (Some(conversation_row), Some(inserted)) = (rows.first(), rows.get(1)) else {
        return Ok(None);
    };
    let conversation_row = ConversationRow::from_row(conversation_row)?;
    let message_id: i64 = inserted.try_get(0)?;
    keep_files!(connection, record, message_id);
    Ok(Some((conversation_row, message_id)))
}

/// The body of [`Store::store_inbound`] on an open PostgreSQL transaction. Evaluates to
/// `Ok(None)` for a duplicate.
macro_rules! inbound_in {
    ($tx:ident, $sql:ident, $record:ident, $attachments:expr, $now:ident) => {
        async {
            let mut tx = $tx?;
            let key = channel_key($record.channel_id, &$record.conversation_key);

            // The person, then their conversation: both created at most once, since the
            // losers of a race do nothing on the unique keys and read the winner's rows.
            let contact_key = $record
                .contact_key
                .as_ref()
                .map(|contact| channel_key($record.channel_id, contact));
            let external_id = contact_key.as_deref().unwrap_or(key.as_str());
            let identity: Option<(i64, i64)> = sqlx::query_as(
                "SELECT id, contact_id FROM contact_identities \
                 WHERE channel = $1 AND external_id = $2",
            )
            .bind($record.channel.as_str())
            .bind(external_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (identity_id, contact_id) = match identity {
                Some(found) => found,
                None => {
                    let contact_id: i64 = sqlx::query_scalar(
                        "INSERT INTO contacts (name, created_at) VALUES ($1, $2) RETURNING id",
                    )
                    .bind(&$record.sender_name)
                    .bind($now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let added: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO contact_identities \
                           (contact_id, channel, external_id, created_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
                    )
                    .bind(contact_id)
                    .bind($record.channel.as_str())
                    .bind(external_id)
                    .bind($now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match added {
                        Some(identity_id) => (identity_id, contact_id),
                        None => {
                            sqlx::query("DELETE FROM contacts WHERE id = $1")
                                .bind(contact_id)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query_as(
                                "SELECT id, contact_id FROM contact_identities \
                                 WHERE channel = $1 AND external_id = $2",
                            )
                            .bind($record.channel.as_str())
                            .bind(external_id)
                            .fetch_one(&mut *tx)
                            .await?
                        }
                    }
                }
            };
            let conversation_row: ConversationRow = sqlx::query_as(&$sql.upsert_conversation)
                .bind(token_digest(&$record.new_token))
                .bind($record.channel.as_str())
                .bind(contact_id)
                .bind(identity_id)
                .bind($now)
                .bind($record.channel_id)
                .bind(&key)
                .bind(&$record.reply_to)
                .bind(&$record.subject_key)
                .fetch_one(&mut *tx)
                .await?;
            let conversation_id: i64 = conversation_row.id();

            let message_id: Option<i64> = sqlx::query_scalar(&$sql.insert_message)
                .bind(conversation_id)
                .bind(&$record.text)
                .bind($now)
                .bind($record.channel_id)
                .bind(&$record.provider_message_id)
                .bind($attachments)
                .bind($record.sent_at.min($now))
                .bind(&$record.subject)
                .bind(&$record.original_text)
                .bind(&$record.automated)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(message_id) = message_id else {
                tx.rollback().await?;
                return Ok(None);
            };
            keep_files!(tx, $record, message_id);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some((conversation_row, message_id)))
        }
        .await
    };
}

/// The body of [`Store::claim_outbox`] on an open transaction, for both backends;
/// `$lock` is PostgreSQL's row locking clause, empty on SQLite (whose write lock,
/// taken with the transaction, already keeps other claimers out).
macro_rules! claim_in {
    ($tx:ident, $lock:expr, $now:ident, $lease:ident, $limit:ident) => {
        async {
            let mut tx = $tx?;
            let select = format!(
                "SELECT o.id, o.message_id, m.conversation_id, o.channel_id, o.reply_to, \
                   m.text, o.parts_sent, o.attempts + 1, o.state \
                 FROM outbox o JOIN messages m ON m.id = o.message_id \
                 WHERE ((o.state = 'pending' AND o.next_attempt_at <= $1) \
                     OR (o.state = 'sending' AND o.claimed_until < $1)) \
                   AND NOT EXISTS (SELECT 1 FROM outbox e \
                     WHERE e.channel_id = o.channel_id AND e.reply_to = o.reply_to \
                       AND e.id < o.id AND e.state IN ('pending', 'sending')) \
                 ORDER BY o.id LIMIT $2{}",
                $lock
            );
            let rows: Vec<ClaimRow> = sqlx::query_as(&select)
                .bind($now)
                .bind(i64::from($limit))
                .fetch_all(&mut *tx)
                .await?;
            if !rows.is_empty() {
                // The ids are the database's own integers, so they are written into the
                // text: one statement for the whole claim, whatever its size.
                let ids: Vec<String> = rows.iter().map(|row| row.0.to_string()).collect();
                let claim = format!(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, \
                       claimed_until = $1, updated_at = $2 WHERE id IN ({})",
                    ids.join(", ")
                );
                sqlx::query(&claim)
                    .bind($now + $lease)
                    .bind($now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        }
        .await
    };
}

type ClaimRow = (i64, i64, i64, i64, String, String, i64, i64, String);

/// The parameters of [`FINISH_OUTBOX`], owned, so that a queued write can bind them on
/// every run.
struct FinishParams {
    outbox_id: i64,
    state: &'static str,
    reason: Option<String>,
    now: i64,
    parts_sent: Option<i64>,
    channel_id: i64,
    part_provider_id: Option<String>,
    message_id: i64,
    part_index: Option<i64>,
    provider_message_id: Option<String>,
}

/// What becomes of an outbox row at the end: it is closed as $2 ('sent' or 'failed', $3
/// why) at $4, the last part ($9, when $5 parts are now sent) is remembered by its
/// provider id $7 so that receipts find the message, and the message $8 is marked, known
/// to the provider as $10. Returns the message.
///
/// One statement on PostgreSQL; on SQLite three sent at once, queued (see `write_queue`).
static FINISH_OUTBOX: LazyLock<[String; 2]> = LazyLock::new(|| {
    let close = "UPDATE outbox SET state = $2, last_error = $3, claimed_until = NULL, \
                 updated_at = $4, parts_sent = COALESCE($5, parts_sent) WHERE id = $1";
    let remember = "INSERT INTO outbox_parts (channel_id, provider_message_id, message_id, part) \
                    SELECT $6, $7, $8, $9 WHERE $7 IS NOT NULL \
                    ON CONFLICT (channel_id, provider_message_id) DO NOTHING";
    let mark = format!(
        "UPDATE messages SET delivery = $2, delivery_error = $3, \
           provider_message_id = COALESCE(provider_message_id, $10), \
           receipt = CASE WHEN $2 = 'sent' AND receipt IS NULL THEN 'sent' ELSE receipt END \
         WHERE id = $8 RETURNING {MESSAGE_COLUMNS}"
    );
    [
        format!("{close}; {remember}; {mark}"),
        format!("WITH closed AS ({close}), remembered AS ({remember}) {mark}"),
    ]
});

impl Store {
    /// Connects a channel. Its name must be new.
    pub async fn add_channel(
        &self,
        kind: Channel,
        name: &str,
        config_json: &str,
    ) -> Result<StoredChannel, StoreError> {
        let now = now_unix_ms();
        let insert = match &self.pool {
            Pool::Sqlite(_) => format!(
                "INSERT INTO channels (kind, name, config, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING \
                 RETURNING {CHANNEL_COLUMNS}"
            ),
            Pool::Postgres(_) => format!(
                "INSERT INTO channels (kind, name, config, created_at) \
                 VALUES ($1, $2, CAST($3 AS JSONB), $4) ON CONFLICT (name) DO NOTHING \
                 RETURNING {CHANNEL_COLUMNS}"
            ),
        };
        let row: Option<ChannelRow> = on_pool!(self, |pool| sqlx::query_as(&insert)
            .bind(kind.as_str())
            .bind(name)
            .bind(config_json)
            .bind(now)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| write_error("a channel", cause))?;
        let row = row.ok_or_else(|| StoreError::ChannelExists {
            name: name.to_string(),
        })?;
        stored_channel(row)
    }

    /// Replaces the settings of the channel named `name`, which must be of `kind`: a
    /// rotated secret, a corrected mailbox. Conversations and messages stay as they are.
    pub async fn replace_channel_config(
        &self,
        kind: Channel,
        name: &str,
        config_json: &str,
    ) -> Result<StoredChannel, StoreError> {
        let config = match &self.pool {
            Pool::Sqlite(_) => "$3",
            Pool::Postgres(_) => "CAST($3 AS JSONB)",
        };
        let update = format!(
            "UPDATE channels SET config = {config} WHERE name = $1 AND kind = $2 \
             RETURNING {CHANNEL_COLUMNS}"
        );
        let row: Option<ChannelRow> = on_pool!(self, |pool| sqlx::query_as(&update)
            .bind(name)
            .bind(kind.as_str())
            .bind(config_json)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| write_error("a channel's settings", cause))?;
        let row = row.ok_or_else(|| StoreError::ChannelNotFound {
            name: name.to_string(),
            kind: kind.as_str().to_string(),
        })?;
        stored_channel(row)
    }

    /// Every connected channel, oldest first.
    pub async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id");
        let rows: Vec<ChannelRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
                .map_err(|cause| read_error("channels", cause))?;
        rows.into_iter().map(stored_channel).collect()
    }

    pub async fn channel(&self, id: i64) -> Result<Option<StoredChannel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
        let row: Option<ChannelRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a channel", cause))?;
        row.map(stored_channel).transpose()
    }

    /// Stores a customer's message from a connected channel, with its contact and
    /// conversation when they are new, in one transaction; a message the channel
    /// delivered before is recognised and written nowhere.
    pub async fn store_inbound(&self, record: &InboundRecord) -> Result<Inbound, StoreError> {
        let now = now_unix_ms();
        let attachments =
            serde_json::to_string(&record.attachments).map_err(|cause| StoreError::Corrupt {
                what: "attachments of a message on channel",
                id: record.channel_id,
                problem: cause.to_string(),
            })?;
        let stored = match &self.writer {
            Pool::Sqlite(_) => {
                let queue = self.sqlite_write_queue()?;
                store_inbound_sqlite(queue, record, &attachments, now).await
            }
            Pool::Postgres(pool) => {
                let sql = InboundSql::new();
                let begun = pool.begin().await;
                inbound_in!(begun, sql, record, &attachments, now)
            }
        }
        .map_err(|cause| write_error("a message from a channel", cause))?;
        let Some((conversation_row, message_id)) = stored else {
            return Ok(Inbound::Duplicate);
        };
        // Built from what was just written rather than read back: one query fewer on
        // every delivery.
        let message = Message {
            id: message_id,
            conversation_id: conversation_row.id(),
            author: Author::Customer,
            text: record.text.clone(),
            decision: None,
            sources: Vec::new(),
            delivery: DeliveryState::Received,
            visibility: Visibility::Public,
            user_id: None,
            created_at: now,
            attachments: record.attachments.clone(),
            provider_message_id: Some(record.provider_message_id.clone()),
            sent_at: Some(record.sent_at.min(now)),
            receipt: None,
            delivery_error: None,
            edited_at: None,
            subject: record.subject.clone(),
            original_text: record.original_text.clone(),
            automated: record.automated.clone(),
        };
        Ok(Inbound::New {
            conversation: Box::new(conversation(conversation_row)?),
            message: Box::new(message),
        })
    }

    /// The kept file of the message's attachment at `position`, with the conversation
    /// the message belongs to (whoever asks must be allowed to read that).
    pub async fn attachment_file(
        &self,
        message_id: i64,
        position: u32,
    ) -> Result<Option<StoredFile>, StoreError> {
        let Ok(position) = i32::try_from(position) else {
            return Ok(None);
        };
        let sql = "SELECT m.conversation_id, f.content_type, f.file_name, f.bytes \
                   FROM attachment_files f JOIN messages m ON m.id = f.message_id \
                   WHERE f.message_id = $1 AND f.position = $2";
        let row: Option<(i64, String, Option<String>, Vec<u8>)> =
            on_pool!(self, |pool| sqlx::query_as(sql)
                .bind(message_id)
                .bind(position)
                .fetch_optional(pool)
                .await)
            .map_err(|cause| read_error("an attachment", cause))?;
        Ok(row.map(
            |(conversation_id, content_type, file_name, bytes)| StoredFile {
                conversation_id,
                content_type,
                file_name,
                bytes,
            },
        ))
    }

    /// Replaces the text of a customer's message the customer edited on their side.
    /// `None` when no such message is stored (an edit of something we never received).
    pub async fn edit_inbound(
        &self,
        channel_id: i64,
        provider_message_id: &str,
        text: &str,
        edited_at: i64,
    ) -> Result<Option<Message>, StoreError> {
        let sql = format!(
            "UPDATE messages SET text = $3, edited_at = $4 \
             WHERE channel_id = $1 AND provider_message_id = $2 AND author = 'customer' \
             RETURNING {MESSAGE_COLUMNS}"
        );
        let row: Option<MessageRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(channel_id)
            .bind(provider_message_id)
            .bind(text)
            .bind(edited_at)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| write_error("an edited message", cause))?;
        row.map(message).transpose()
    }

    /// Records what the provider reports about one of our messages, found by the
    /// provider's id of any of its parts. Receipts only move forward (read after
    /// delivered, never back); a failure marks the message failed with the provider's
    /// reason. `None` when the id is not one of ours: a status for a message we do not
    /// know changes nothing.
    pub async fn record_receipt(
        &self,
        channel_id: i64,
        provider_message_id: &str,
        receipt: Receipt,
        error: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        let sql = format!(
            "UPDATE messages SET \
               receipt = CASE WHEN $3 = 'failed' OR receipt IS NULL OR receipt = 'sent' \
                 OR (receipt = 'delivered' AND $3 = 'read') THEN $3 ELSE receipt END, \
               delivery = CASE WHEN $3 = 'failed' THEN 'failed' ELSE delivery END, \
               delivery_error = CASE WHEN $3 = 'failed' THEN $4 ELSE delivery_error END \
             WHERE id = (SELECT message_id FROM outbox_parts \
                         WHERE channel_id = $1 AND provider_message_id = $2) \
             RETURNING {MESSAGE_COLUMNS}"
        );
        let row: Option<MessageRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(channel_id)
            .bind(provider_message_id)
            .bind(receipt.as_str())
            .bind(error)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| write_error("a delivery receipt", cause))?;
        row.map(message).transpose()
    }

    /// Marks every message we sent into `conversation_key` on the channel up to
    /// `watermark` (unix ms) as delivered or read: Messenger's receipts.
    pub async fn record_receipts_up_to(
        &self,
        channel_id: i64,
        conversation_key: &str,
        watermark: i64,
        receipt: Receipt,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "UPDATE messages SET receipt = $4 \
             WHERE conversation_id = (SELECT id FROM conversations WHERE channel_key = $1) \
               AND author <> 'customer' AND delivery = 'sent' AND created_at <= $2 \
               AND (receipt IS NULL OR receipt = 'sent' \
                    OR (receipt = 'delivered' AND $3 = 'read')) \
             RETURNING {MESSAGE_COLUMNS}"
        );
        let key = channel_key(channel_id, conversation_key);
        let rows: Vec<MessageRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(&key)
            .bind(watermark)
            .bind(receipt.as_str())
            .bind(receipt.as_str())
            .fetch_all(pool)
            .await)
        .map_err(|cause| write_error("delivery receipts", cause))?;
        rows.into_iter().map(message).collect()
    }

    /// Keeps a delivery, or the part of one, that was accepted but not taken.
    pub async fn record_webhook_problem(
        &self,
        channel_id: i64,
        outcome: WebhookProblem,
        detail: &str,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO webhook_problems (channel_id, received_at, outcome, detail, body) \
                   VALUES ($1, $2, $3, $4, $5)";
        let now = now_unix_ms();
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(channel_id)
            .bind(now)
            .bind(outcome.as_str())
            .bind(detail)
            .bind(body)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a webhook problem", cause))?;
        Ok(())
    }

    /// How many deliveries of the channel were recorded as `outcome`.
    pub async fn webhook_problem_count(
        &self,
        channel_id: i64,
        outcome: WebhookProblem,
    ) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM webhook_problems WHERE channel_id = $1 AND outcome = $2";
        on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(channel_id)
            .bind(outcome.as_str())
            .fetch_one(pool)
            .await)
        .map_err(|cause| read_error("webhook problems", cause))
    }

    /// Hands out up to `limit` replies that are due, each the oldest unsent reply to its
    /// customer, and leases them for `lease_ms`: another sender takes a reply over only
    /// once its lease runs out.
    pub async fn claim_outbox(
        &self,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let now = now_unix_ms();
        let claimed = match &self.writer {
            Pool::Sqlite(pool) => {
                let begun = pool.begin_with("BEGIN IMMEDIATE").await;
                claim_in!(begun, "", now, lease_ms, limit)
            }
            Pool::Postgres(pool) => {
                let begun = pool.begin().await;
                claim_in!(begun, " FOR UPDATE OF o SKIP LOCKED", now, lease_ms, limit)
            }
        };
        let rows = claimed.map_err(|cause| write_error("the outbox", cause))?;
        Ok(rows
            .into_iter()
            .map(|row| OutboxItem {
                id: row.0,
                message_id: row.1,
                conversation_id: row.2,
                channel_id: row.3,
                reply_to: row.4,
                text: row.5,
                parts_sent: u32::try_from(row.6).unwrap_or_default(),
                attempts: u32::try_from(row.7).unwrap_or_default(),
                interrupted: row.8 == "sending",
            })
            .collect())
    }

    /// Makes the replies a stopped process was sending claimable at once, rather than
    /// when their leases run out (minutes, for a long reply): for a server starting on
    /// SQLite, which one instance serves, so nobody else can be sending them. They are
    /// still marked as interrupted, so the sender warns that the customer may get a part
    /// twice. On PostgreSQL other instances may be sending them: nothing changes.
    /// Returns how many were taken over.
    pub async fn take_over_interrupted_sends(&self) -> Result<u64, StoreError> {
        let Pool::Sqlite(pool) = &self.writer else {
            return Ok(0);
        };
        let sql = "UPDATE outbox SET claimed_until = 0 WHERE state = 'sending'";
        let done = sqlx::query(sql)
            .execute(pool)
            .await
            .map_err(|cause| write_error("the outbox's interrupted sends", cause))?;
        Ok(done.rows_affected())
    }

    /// Records that part `part` (from 0) of an outbox reply was accepted as
    /// `provider_message_id`, so a retry resumes after it.
    pub async fn outbox_part_sent(
        &self,
        item: &OutboxItem,
        part: u32,
        provider_message_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_unix_ms();
        let advance = "UPDATE outbox SET parts_sent = $2, updated_at = $3 WHERE id = $1";
        let remember = "INSERT INTO outbox_parts \
               (channel_id, provider_message_id, message_id, part) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel_id, provider_message_id) DO NOTHING";
        let part = i64::from(part);
        let written: Result<(), sqlx::Error> = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(advance)
                .bind(item.id)
                .bind(part + 1)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if let Some(provider_id) = provider_message_id {
                sqlx::query(remember)
                    .bind(item.channel_id)
                    .bind(provider_id)
                    .bind(item.message_id)
                    .bind(part)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        written.map_err(|cause| write_error("a sent part of a reply", cause))
    }

    /// Every part of the reply is accepted: the outbox row is done and the message sent,
    /// known to the provider as `provider_message_id`. `last_part`, the part whose
    /// acceptance finished it, is recorded in the same transaction (one write, not two, for
    /// the common reply of one part).
    pub async fn outbox_sent(
        &self,
        item: &OutboxItem,
        last_part: Option<SentPart<'_>>,
        provider_message_id: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        self.finish_outbox(item, "sent", None, last_part, provider_message_id)
            .await
    }

    /// The reply will never be sent: the provider refused it, or it ran out of attempts.
    pub async fn outbox_failed(
        &self,
        item: &OutboxItem,
        reason: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.finish_outbox(item, "failed", Some(reason), None, None)
            .await
    }

    /// The attempt failed in a way worth trying again, at `next_attempt_at` (unix ms).
    pub async fn outbox_retry_at(
        &self,
        item: &OutboxItem,
        next_attempt_at: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE outbox SET state = 'pending', next_attempt_at = $2, last_error = $3, \
                   claimed_until = NULL, updated_at = $4 WHERE id = $1 AND state = 'sending'";
        let now = now_unix_ms();
        on_writer!(self, |pool| sqlx::query(sql)
            .bind(item.id)
            .bind(next_attempt_at)
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a retry of a reply", cause))?;
        Ok(())
    }

    /// Outbox rows per state, for metrics and tests: (pending or sending, sent, failed).
    pub async fn outbox_counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let sql = "SELECT \
               COALESCE(SUM(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) FROM outbox";
        let counts: (i64, i64, i64) =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_one(pool).await)
                .map_err(|cause| read_error("the outbox", cause))?;
        Ok(counts)
    }

    /// Customers' messages from connected channels, stored after `since` (unix ms), that
    /// are still the latest public message of a conversation the assistant has: stored by
    /// a webhook whose process stopped before the assistant answered. Oldest first.
    /// Left out, as the webhooks leave them to the team: automated mail, messages with no
    /// text (a photo alone), and Telegram group chats (negative chat ids).
    pub async fn unanswered_channel_messages(
        &self,
        since: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let columns = MESSAGE_COLUMNS
            .split(", ")
            .map(|column| match column.strip_prefix("CAST(") {
                Some(cast) => format!("CAST(m.{cast}"),
                None => format!("m.{column}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.channel_id IS NOT NULL AND c.status IN ('bot', 'resolved') \
               AND m.author = 'customer' AND m.created_at > $1 \
               AND m.automated IS NULL AND TRIM(m.text) <> '' \
               AND NOT (c.channel = 'telegram' AND c.channel_key LIKE '%/-%') \
               AND m.id = (SELECT MAX(x.id) FROM messages x \
                           WHERE x.conversation_id = m.conversation_id \
                             AND x.visibility = 'public') \
             ORDER BY m.id"
        );
        let rows: Vec<MessageRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(since)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("unanswered channel messages", cause))?;
        rows.into_iter().map(message).collect()
    }

    /// The email thread of `sender` that one of `message_ids` belongs to on the channel,
    /// as its conversation key: a message we received, or one of our replies. Tried in
    /// the order given, so the caller puts the likeliest first (In-Reply-To, then
    /// References from the newest). Another sender's thread is never returned: mail
    /// that names a stranger's message must not join, and so be answered into, the
    /// stranger's conversation.
    pub async fn email_thread(
        &self,
        channel_id: i64,
        sender: &str,
        message_ids: &[String],
    ) -> Result<Option<String>, StoreError> {
        let sql = "SELECT c.channel_key FROM conversations c \
                   JOIN contact_identities i ON i.id = c.identity_id \
                   WHERE i.external_id = $3 AND c.id = COALESCE( \
                     (SELECT conversation_id FROM messages \
                      WHERE channel_id = $1 AND provider_message_id = $2), \
                     (SELECT m.conversation_id FROM outbox_parts p \
                      JOIN messages m ON m.id = p.message_id \
                      WHERE p.channel_id = $1 AND p.provider_message_id = $2), \
                     (SELECT m.conversation_id FROM messages m \
                      JOIN conversations o ON o.id = m.conversation_id \
                      WHERE m.id = $4 AND o.channel_id = $1))";
        for id in message_ids {
            // Our replies' ids name the message they carry, so a reply to one is placed
            // even before the SMTP server's acceptance of it has been recorded (an
            // auto-responder can answer within milliseconds).
            let ours: Option<i64> = id
                .strip_prefix("frontdesk.")
                .and_then(|rest| rest.split_once('@'))
                .and_then(|(number, _)| number.parse().ok());
            let key: Option<Option<String>> = on_pool!(self, |pool| sqlx::query_scalar(sql)
                .bind(channel_id)
                .bind(id)
                .bind(channel_key(channel_id, sender))
                .bind(ours)
                .fetch_optional(pool)
                .await)
            .map_err(|cause| read_error("an email thread", cause))?;
            if let Some(key) = key.flatten() {
                return Ok(Some(without_channel(channel_id, &key)));
            }
        }
        Ok(None)
    }

    /// The latest thread of the same sender with the same subject key, changed within
    /// `within_ms`: where mail that names no earlier message belongs, if anywhere. Never
    /// another sender's thread.
    pub async fn email_thread_by_subject(
        &self,
        channel_id: i64,
        sender: &str,
        subject_key: &str,
        within_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        if subject_key.is_empty() {
            return Ok(None);
        }
        let sql = "SELECT c.channel_key FROM conversations c \
                   JOIN contact_identities i ON i.id = c.identity_id \
                   WHERE c.channel_id = $1 AND i.external_id = $2 AND c.subject_key = $3 \
                     AND c.updated_at > $4 \
                   ORDER BY c.updated_at DESC LIMIT 1";
        let since = now_unix_ms().saturating_sub(within_ms);
        let key: Option<Option<String>> = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(channel_id)
            .bind(channel_key(channel_id, sender))
            .bind(subject_key)
            .bind(since)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("an email thread", cause))?;
        Ok(key.flatten().map(|key| without_channel(channel_id, &key)))
    }

    /// When the customer of a conversation last wrote, for channels that only let a
    /// business write freely within a window after that.
    pub async fn last_customer_message_at(
        &self,
        conversation_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MAX(created_at) FROM messages \
                   WHERE conversation_id = $1 AND author = 'customer'";
        let at: Option<i64> = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(conversation_id)
            .fetch_one(pool)
            .await)
        .map_err(|cause| read_error("a conversation's last customer message", cause))?;
        Ok(at)
    }

    async fn finish_outbox(
        &self,
        item: &OutboxItem,
        state: &'static str,
        reason: Option<&str>,
        last_part: Option<SentPart<'_>>,
        provider_message_id: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        let part = last_part.as_ref();
        let params = FinishParams {
            outbox_id: item.id,
            state,
            reason: reason.map(str::to_string),
            now: now_unix_ms(),
            parts_sent: part.map(|part| i64::from(part.index) + 1),
            channel_id: item.channel_id,
            part_provider_id: part.and_then(|part| part.provider_message_id.map(str::to_string)),
            message_id: item.message_id,
            part_index: part.map(|part| i64::from(part.index)),
            provider_message_id: provider_message_id.map(str::to_string),
        };
        // The same parameters on both backends.
        macro_rules! finish {
            ($query:expr, $params:expr) => {
                $query
                    .bind($params.outbox_id)
                    .bind($params.state)
                    .bind($params.reason.as_deref())
                    .bind($params.now)
                    .bind($params.parts_sent)
                    .bind($params.channel_id)
                    .bind($params.part_provider_id.as_deref())
                    .bind($params.message_id)
                    .bind($params.part_index)
                    .bind($params.provider_message_id.as_deref())
            };
        }
        let [for_sqlite, for_postgres] = &*FINISH_OUTBOX;
        let written = match &self.writer {
            Pool::Sqlite(_) => {
                let queue = self.sqlite_write_queue()?;
                let rows = queue
                    .write(params, |params, connection| {
                        Box::pin(finish!(sqlx::query(for_sqlite), params).fetch_all(connection))
                    })
                    .await;
                rows.and_then(|rows| rows.first().map(sqlx::FromRow::from_row).transpose())
            }
            Pool::Postgres(pool) => {
                async {
                    let mut tx = pool.begin().await?;
                    let query = sqlx::query_as::<_, MessageRow>(for_postgres);
                    let row = finish!(query, params).fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(row)
                }
                .await
            }
        };
        let row = written.map_err(|cause| write_error("a reply's delivery", cause))?;
        row.map(message).transpose()
    }
}

/// The part of a reply whose acceptance completes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentPart<'a> {
    /// From 0.
    pub index: u32,
    pub provider_message_id: Option<&'a str>,
}

/// Why a delivery was kept aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookProblem {
    /// Something we do not take (a reaction, a poll, a body of an unknown shape).
    Unsupported,
    /// Taking it failed on our side.
    Failed,
}

impl WebhookProblem {
    fn as_str(self) -> &'static str {
        match self {
            WebhookProblem::Unsupported => "unsupported",
            WebhookProblem::Failed => "failed",
        }
    }
}

/// A conversation key as the channel gave it, from the stored `channel_key`.
fn without_channel(channel_id: i64, stored: &str) -> String {
    let prefix = format!("{channel_id}/");
    stored.strip_prefix(&prefix).unwrap_or(stored).to_string()
}

/// The column that makes one conversation per provider conversation key.
fn channel_key(channel_id: i64, conversation_key: &str) -> String {
    format!("{channel_id}/{conversation_key}")
}

fn stored_channel(row: ChannelRow) -> Result<StoredChannel, StoreError> {
    let (id, kind, name, config, created_at) = row;
    let kind = kind
        .parse()
        .map_err(|err| crate::conversations::corrupt("channel", id, err))?;
    Ok(StoredChannel {
        id,
        kind,
        name,
        config,
        created_at,
    })
}
