//! Contacts, conversations and messages.
//!
//! The guarantees the server builds on:
//!
//! - a message is durable once [`Store::append_message`] returns, and its id is larger
//!   than that of every message stored before it in the same conversation;
//! - a status change only applies from the statuses [`StatusChange::allowed_from`]
//!   names, checked and applied in one statement, so two people moving one conversation
//!   at once cannot undo each other's move unnoticed;
//! - a message and the status change it causes (the assistant's handoff notice and the
//!   handoff) are written in one transaction: both or neither.
//!
//! The SQL text lives here when both backends read it alike; `sqlite.rs` and
//! `postgres.rs` hold what differs (transactions, JSON columns, identity races).

mod postgres;
mod sqlite;

use frontdesk_core::{
    Channel, Conversation, ConversationStatus, Decision, Message, NewConversation, NewMessage,
    Receipt, SourceRef, StatusChange,
};

use crate::plan::now_unix_ms;
use crate::{Pool, Store, StoreError};

impl Store {
    /// Opens a conversation for the person behind `new.channel` and `new.external_id`,
    /// creating their contact and identity when they are new, all in one transaction.
    pub async fn create_conversation(
        &self,
        new: &NewConversation,
    ) -> Result<Conversation, StoreError> {
        let now = now_unix_ms();
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::create_conversation(pool, new, now).await,
            Pool::Postgres(pool) => postgres::create_conversation(pool, new, now).await,
        }
    }

    pub async fn conversation(&self, id: i64) -> Result<Option<Conversation>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let row: Option<ConversationRow> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await,
            Pool::Postgres(pool) => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await,
        }
        .map_err(|cause| read_error("a conversation", cause))?;
        row.map(conversation).transpose()
    }

    /// The conversation a customer-side token opens, if any.
    pub async fn conversation_by_token(
        &self,
        token: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE token = $1");
        let digest = token_digest(token);
        let row: Option<ConversationRow> = match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as(&sql)
                    .bind(&digest)
                    .fetch_optional(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(&sql)
                    .bind(&digest)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(|cause| read_error("a conversation", cause))?;
        row.map(conversation).transpose()
    }

    /// The conversations that match every part of `filter` that is set: oldest first, or
    /// the latest active first when the filter sets `latest`.
    pub async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>, StoreError> {
        if filter
            .assignee
            .as_deref()
            .is_some_and(crate::team::cannot_be_stored)
        {
            return Ok(Vec::new());
        }
        // `$1 IS NULL` keeps one statement for every combination; the CAST tells
        // PostgreSQL the parameter's type, which it cannot infer from IS NULL alone. The
        // channel list travels as ",widget,email," so both backends test it alike.
        let order = match filter.latest {
            Some(_) => "ORDER BY updated_at DESC, id DESC LIMIT $5",
            None => "ORDER BY id",
        };
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations \
             WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
               AND (CAST($2 AS TEXT) IS NULL OR channel = $2) \
               AND (CAST($3 AS TEXT) IS NULL OR assignee = $3) \
               AND (CAST($4 AS TEXT) IS NULL OR $4 LIKE '%,' || channel || ',%') \
             {order}"
        );
        let status = filter.status.map(ConversationStatus::as_str);
        let channel = filter.channel.map(Channel::as_str);
        let assignee = filter.assignee.as_deref();
        let channels = filter.channels.as_ref().map(|channels| {
            let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
            format!(",{},", names.join(","))
        });
        // PostgreSQL refuses a parameter the statement does not use: $5 only with a limit.
        let latest = filter.latest.map(i64::from);
        let rows: Vec<ConversationRow> = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut query = sqlx::query_as(&sql)
                    .bind(status)
                    .bind(channel)
                    .bind(assignee)
                    .bind(channels.as_deref());
                if let Some(latest) = latest {
                    query = query.bind(latest);
                }
                query.fetch_all(pool).await
            }
            Pool::Postgres(pool) => {
                let mut query = sqlx::query_as(&sql)
                    .bind(status)
                    .bind(channel)
                    .bind(assignee)
                    .bind(channels.as_deref());
                if let Some(latest) = latest {
                    query = query.bind(latest);
                }
                query.fetch_all(pool).await
            }
        }
        .map_err(|cause| read_error("conversations", cause))?;
        rows.into_iter().map(conversation).collect()
    }

    /// How long customers waited for a person's first reply after a handoff, in
    /// milliseconds, over the `limit` latest handoffs that got one: the wait a new
    /// handoff can expect.
    pub async fn recent_first_reply_waits(&self, limit: u32) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT handoff_replied_at - handed_off_at FROM conversations \
             WHERE handed_off_at IS NOT NULL AND handoff_replied_at IS NOT NULL \
             ORDER BY handed_off_at DESC LIMIT $1";
        let limit = i64::from(limit);
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar(sql).bind(limit).fetch_all(pool).await,
            Pool::Postgres(pool) => sqlx::query_scalar(sql).bind(limit).fetch_all(pool).await,
        }
        .map_err(|cause| read_error("recent reply waits", cause))
    }

    /// Replaces every customer-side token stored in plain text (by a version that kept
    /// them so) with its digest, so that the tokens customers hold keep working and a copy
    /// of the database opens no conversation. Runs at every start; a no-op once done.
    pub(crate) async fn digest_plain_tokens(&self) -> Result<(), StoreError> {
        let select = "SELECT id, token FROM conversations WHERE token NOT LIKE 'sha256:%'";
        let update = "UPDATE conversations SET token = $2 WHERE id = $1";
        let plain: Vec<(i64, String)> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(select).fetch_all(pool).await,
            Pool::Postgres(pool) => sqlx::query_as(select).fetch_all(pool).await,
        }
        .map_err(|cause| read_error("plain conversation tokens", cause))?;
        if plain.is_empty() {
            return Ok(());
        }
        for (id, token) in &plain {
            let digest = token_digest(token);
            let written = match &self.pool {
                Pool::Sqlite(pool) => {
                    let query = sqlx::query(update).bind(id).bind(digest);
                    query.execute(pool).await.map(|_| ())
                }
                Pool::Postgres(pool) => {
                    let query = sqlx::query(update).bind(id).bind(digest);
                    query.execute(pool).await.map(|_| ())
                }
            };
            written.map_err(|cause| write_error("a conversation token's digest", cause))?;
        }
        tracing::info!(conversations = plain.len(), "conversation tokens digested");
        Ok(())
    }

    /// Notes that the conversation's customer showed they were thinking of buying. Only
    /// the first time counts: returns the conversation when this call marked it, `None`
    /// when it was marked before or does not exist.
    pub async fn mark_buying_intent(&self, id: i64) -> Result<Option<Conversation>, StoreError> {
        let sql = format!(
            "UPDATE conversations SET buying_intent_at = $2 \
             WHERE id = $1 AND buying_intent_at IS NULL RETURNING {CONVERSATION_COLUMNS}"
        );
        let now = now_unix_ms();
        let row: Option<ConversationRow> = match &self.writer {
            Pool::Sqlite(pool) => {
                sqlx::query_as(&sql)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(&sql)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(|cause| write_error("a conversation's buying intent", cause))?;
        row.map(conversation).transpose()
    }

    /// Stores a message durably and returns it with its id and time.
    pub async fn append_message(&self, message: &NewMessage) -> Result<Message, StoreError> {
        let (message, _) = self.write_message(message, None).await?;
        Ok(message)
    }

    /// Stores a message and applies `change` to its conversation in one transaction:
    /// when the change is refused, the message is not stored either.
    pub async fn append_message_with_change(
        &self,
        message: &NewMessage,
        change: &StatusChange,
    ) -> Result<(Message, Conversation), StoreError> {
        let (message, conversation) = self.write_message(message, Some(change)).await?;
        let conversation = conversation.ok_or(StoreError::ConversationNotFound {
            id: message.conversation_id,
        })?;
        Ok((message, conversation))
    }

    /// The messages of a conversation that `readers` may see, in the order they were
    /// stored, only those with an id above `after` when it is given.
    pub async fn messages(
        &self,
        conversation_id: i64,
        after: Option<i64>,
        readers: Readers,
    ) -> Result<Vec<Message>, StoreError> {
        let after = after.unwrap_or(0);
        let with_internal = readers == Readers::Team;
        let rows: Vec<MessageRow> = match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as(&select_messages_sql())
                    .bind(conversation_id)
                    .bind(after)
                    .bind(with_internal)
                    .fetch_all(pool)
                    .await
            }
            Pool::Postgres(pool) => {
                sqlx::query_as(&select_messages_sql())
                    .bind(conversation_id)
                    .bind(after)
                    .bind(with_internal)
                    .fetch_all(pool)
                    .await
            }
        }
        .map_err(|cause| read_error("messages", cause))?;
        rows.into_iter().map(message).collect()
    }

    /// One message by its id, private notes included.
    pub async fn message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let row: Option<MessageRow> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await,
            Pool::Postgres(pool) => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await,
        }
        .map_err(|cause| read_error("a message", cause))?;
        row.map(message).transpose()
    }

    /// Moves a conversation, if `change` is allowed from its status now.
    pub async fn change_status(
        &self,
        conversation_id: i64,
        change: &StatusChange,
    ) -> Result<Conversation, StoreError> {
        let now = now_unix_ms();
        match &self.writer {
            Pool::Sqlite(pool) => sqlite::change_status(pool, conversation_id, change, now).await,
            Pool::Postgres(pool) => {
                postgres::change_status(pool, conversation_id, change, now).await
            }
        }
    }

    /// Whether the database answers a query now; for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let answered: Result<i32, sqlx::Error> = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar("SELECT 1").fetch_one(pool).await,
            Pool::Postgres(pool) => sqlx::query_scalar("SELECT 1").fetch_one(pool).await,
        };
        answered.map_err(|cause| read_error("a test query", cause))?;
        Ok(())
    }

    async fn write_message(
        &self,
        message: &NewMessage,
        change: Option<&StatusChange>,
    ) -> Result<(Message, Option<Conversation>), StoreError> {
        let row = MessageInsert::new(message)?;
        match &self.writer {
            Pool::Sqlite(pool) => {
                let queue = self.sqlite_write_queue()?;
                sqlite::write_message(pool, queue, &row, change).await
            }
            Pool::Postgres(pool) => postgres::write_message(pool, &row, change).await,
        }
    }
}

/// Which conversations [`Store::conversations`] lists; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub channel: Option<Channel>,
    /// The assignee's email.
    pub assignee: Option<String>,
    /// Only conversations on these channels (an agent limited to some), when given.
    pub channels: Option<Vec<Channel>>,
    /// At most this many, those with the latest activity first. `None`: every one that
    /// matches, oldest first.
    pub latest: Option<u32>,
}

/// Who is reading a conversation's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// The customer: public messages only.
    Customer,
    /// The team: private notes too.
    Team,
}

/// What the `token` column holds for a customer-side token: its SHA-256, marked so that a
/// token written before tokens were digested can be told apart and digested in place
/// (see [`Store::digest_plain_tokens`]). A token is 24 random bytes, so no salt or slow
/// hash is needed: there is nothing to guess.
pub(crate) fn token_digest(token: &str) -> String {
    use sha2::Digest as _;
    format!(
        "{DIGEST_MARK}{}",
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    )
}

const DIGEST_MARK: &str = "sha256:";

pub(crate) const CONVERSATION_COLUMNS: &str = "id, channel, contact_id, identity_id, \
     status, assignee, created_at, updated_at, handed_off_at, first_human_reply_at, \
     resolved_at, handoff_reason, handoff_summary, buying_intent_at";

// JSON columns are read as text on both backends (jsonb on PostgreSQL).
pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, author, text, \
     CAST(decision AS TEXT) AS decision, CAST(sources AS TEXT) AS sources, delivery, \
     visibility, user_id, created_at, CAST(attachments AS TEXT) AS attachments, \
     provider_message_id, sent_at, receipt, delivery_error, edited_at, subject, original_text, \
     automated";

/// A conversation's messages in the order they were sent: a channel's message by its
/// provider's time, so that deliveries that arrive out of order read in order; ours and
/// the widget's by when they were stored. Ties go by id.
fn select_messages_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE conversation_id = $1 AND id > $2 AND ($3 OR visibility = 'public') \
         ORDER BY COALESCE(sent_at, created_at), id"
    )
}

pub(crate) const SELECT_IDENTITY: &str =
    "SELECT id, contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2";
pub(crate) const INSERT_CONTACT: &str =
    "INSERT INTO contacts (created_at) VALUES ($1) RETURNING id";

pub(crate) fn insert_conversation_sql() -> String {
    format!(
        "INSERT INTO conversations \
           (token, channel, contact_id, identity_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'bot', $5, $5) RETURNING {CONVERSATION_COLUMNS}"
    )
}

/// Marks a conversation as changed by a new message stored at $2, and keeps the facts the
/// owner's figures read from its row: $3 whether the message is a person's reply to the
/// customer, $4 its author, $5 whether it is an answer of the assistant's. Touches no row
/// when the conversation does not exist, which is how a message for an unknown
/// conversation is recognised before its insert fails on the foreign key. Returns the
/// connected channel the conversation is on, if any.
///
/// Customer messages from connected channels keep the same facts in
/// `channels::InboundSql`, and `Store::recount_conversation_facts` counts them afresh.
pub(crate) const TOUCH_CONVERSATION: &str = "UPDATE conversations SET updated_at = $2, \
     first_human_reply_at = CASE WHEN $3 AND first_human_reply_at IS NULL THEN $2 \
       ELSE first_human_reply_at END, \
     handoff_replied_at = CASE WHEN $3 AND handed_off_at IS NOT NULL \
       AND handoff_replied_at IS NULL THEN $2 ELSE handoff_replied_at END, \
     agent_replies = agent_replies + CASE WHEN $3 THEN 1 ELSE 0 END, \
     first_customer_at = CASE WHEN $4 = 'customer' AND first_customer_at IS NULL THEN $2 \
       ELSE first_customer_at END, \
     last_customer_at = CASE WHEN $4 = 'customer' THEN $2 ELSE last_customer_at END, \
     first_assistant_at = CASE WHEN $4 = 'assistant' AND first_assistant_at IS NULL THEN $2 \
       ELSE first_assistant_at END, \
     first_answer_at = CASE WHEN $5 AND first_answer_at IS NULL THEN $2 \
       ELSE first_answer_at END, \
     last_answer_at = CASE WHEN $5 THEN $2 ELSE last_answer_at END \
     WHERE id = $1 RETURNING channel_id";

/// Queues message $1 of conversation $2 for sending through the conversation's channel,
/// due at once ($3 is now).
pub(crate) const ENQUEUE_REPLY: &str = "INSERT INTO outbox \
       (message_id, channel_id, reply_to, next_attempt_at, created_at, updated_at) \
     SELECT $1, channel_id, reply_to, $3, $3, $3 FROM conversations \
     WHERE id = $2 AND channel_id IS NOT NULL AND reply_to IS NOT NULL";

/// One statement for every [`StatusChange`], so both backends bind the same parameters:
/// $1 id, $2 the new status, $3 now, $4 whether to set the assignee, $5 the assignee,
/// $6 handoff reason, $7 handoff summary. The WHERE clause checks the current status in
/// the same statement that changes it.
pub(crate) fn change_status_sql(change: &StatusChange) -> String {
    // The allowed statuses are our own enum's spellings, never input, so they are
    // written into the text; that also keeps SQLite and PostgreSQL on one statement.
    let allowed: Vec<String> = change
        .allowed_from()
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    format!(
        "UPDATE conversations SET status = $2, updated_at = $3, \
           assignee = CASE WHEN $4 THEN $5 ELSE assignee END, \
           handed_off_at = CASE WHEN $2 = 'waiting' THEN $3 ELSE handed_off_at END, \
           handoff_reason = CASE WHEN $2 = 'waiting' THEN $6 ELSE handoff_reason END, \
           handoff_summary = CASE WHEN $2 = 'waiting' THEN $7 ELSE handoff_summary END, \
           handoff_replied_at = CASE WHEN $2 = 'waiting' THEN NULL \
             ELSE handoff_replied_at END, \
           customer_messages_to_handoff = CASE WHEN $2 = 'waiting' THEN \
             (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = $1 \
               AND m.author = 'customer') \
             ELSE customer_messages_to_handoff END, \
           resolved_at = CASE WHEN $2 = 'resolved' THEN $3 \
             WHEN $2 = 'bot' THEN NULL ELSE resolved_at END \
         WHERE id = $1 AND status IN ({}) RETURNING {CONVERSATION_COLUMNS}",
        allowed.join(", ")
    )
}

/// The parameters of [`change_status_sql`] after the id.
pub(crate) struct StatusUpdate {
    pub status: &'static str,
    pub now: i64,
    pub sets_assignee: bool,
    pub assignee: Option<String>,
    pub reason: Option<&'static str>,
    pub summary: Option<String>,
}

impl StatusUpdate {
    pub(crate) fn new(change: &StatusChange, now: i64) -> Self {
        let mut update = StatusUpdate {
            status: change.target().as_str(),
            now,
            // Resolving keeps the assignee: who resolved it is worth knowing.
            sets_assignee: !matches!(change, StatusChange::Resolve),
            assignee: None,
            reason: None,
            summary: None,
        };
        match change {
            StatusChange::HandOff { reason, summary } => {
                update.reason = Some(reason.as_str());
                update.summary = Some(summary.clone());
            }
            StatusChange::Assign { assignee } => update.assignee = Some(assignee.clone()),
            StatusChange::Resolve | StatusChange::HandBack | StatusChange::Reopen => {}
        }
        update
    }
}

/// Why a status change touched no row: no such conversation, or a status it is not
/// allowed from.
pub(crate) fn refused(id: i64, change: &StatusChange, current: Option<String>) -> StoreError {
    let Some(current) = current else {
        return StoreError::ConversationNotFound { id };
    };
    match current.parse::<ConversationStatus>() {
        Ok(status) => StoreError::StatusChangeRefused {
            id,
            change: change.name(),
            status,
        },
        Err(problem) => corrupt("conversation", id, problem),
    }
}

pub(crate) const SELECT_STATUS: &str = "SELECT status FROM conversations WHERE id = $1";

/// A message ready to bind: JSON columns already serialised.
pub(crate) struct MessageInsert<'a> {
    pub message: &'a NewMessage,
    pub decision: Option<String>,
    pub sources: String,
}

impl MessageInsert<'_> {
    /// The decision, when it is an answer (not a question back or a handoff).
    fn answer(&self) -> Option<&frontdesk_core::Decision> {
        let decision = self.message.decision.as_ref()?;
        (decision.kind == frontdesk_core::DecisionKind::Answer).then_some(decision)
    }

    /// The FAQ entry the assistant answered with, kept in a column of its own so that
    /// counting each entry's uses reads an index instead of every decision's JSON.
    pub(crate) fn answer_faq_id(&self) -> Option<&str> {
        self.answer()?.faq_id.as_deref()
    }
}

impl<'a> MessageInsert<'a> {
    fn new(message: &'a NewMessage) -> Result<Self, StoreError> {
        let to_json = |cause| StoreError::Corrupt {
            what: "message for conversation",
            id: message.conversation_id,
            problem: format!("it cannot be written as JSON: {cause}"),
        };
        let decision = message
            .decision
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(to_json)?;
        let sources = serde_json::to_string(&message.sources).map_err(to_json)?;
        Ok(MessageInsert {
            message,
            decision,
            sources,
        })
    }

    /// Whether the customer is meant to receive this: a public message that is not
    /// their own.
    pub(crate) fn goes_to_the_customer(&self) -> bool {
        self.message.author != frontdesk_core::Author::Customer
            && self.message.visibility == frontdesk_core::Visibility::Public
    }

    /// Whether this is the assistant answering (not asking back or handing off).
    pub(crate) fn is_an_answer(&self) -> bool {
        self.message.author == frontdesk_core::Author::Assistant && self.answer().is_some()
    }

    /// Whether this is a person's reply to the customer: what "first human reply"
    /// measures. A private note is not one.
    pub(crate) fn is_from_a_person(&self) -> bool {
        self.message.author == frontdesk_core::Author::Agent
            && self.message.visibility == frontdesk_core::Visibility::Public
    }
}

pub(crate) fn message_from_insert(insert: &MessageInsert<'_>, id: i64, now: i64) -> Message {
    let message = insert.message;
    Message {
        id,
        conversation_id: message.conversation_id,
        author: message.author,
        text: message.text.clone(),
        decision: message.decision.clone(),
        sources: message.sources.clone(),
        delivery: message.delivery,
        visibility: message.visibility,
        user_id: message.user_id,
        created_at: now,
        attachments: Vec::new(),
        provider_message_id: None,
        sent_at: None,
        receipt: None,
        delivery_error: None,
        edited_at: None,
        subject: None,
        original_text: None,
        automated: None,
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    id: i64,
    channel: String,
    contact_id: i64,
    identity_id: i64,
    status: String,
    assignee: Option<String>,
    created_at: i64,
    updated_at: i64,
    handed_off_at: Option<i64>,
    first_human_reply_at: Option<i64>,
    resolved_at: Option<i64>,
    handoff_reason: Option<String>,
    handoff_summary: Option<String>,
    buying_intent_at: Option<i64>,
}

impl ConversationRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: i64,
    conversation_id: i64,
    author: String,
    text: String,
    decision: Option<String>,
    sources: String,
    delivery: String,
    visibility: String,
    user_id: Option<i64>,
    created_at: i64,
    attachments: String,
    provider_message_id: Option<String>,
    sent_at: Option<i64>,
    receipt: Option<String>,
    delivery_error: Option<String>,
    edited_at: Option<i64>,
    subject: Option<String>,
    original_text: Option<String>,
    automated: Option<String>,
}

pub(crate) fn conversation(row: ConversationRow) -> Result<Conversation, StoreError> {
    let id = row.id;
    let bad = |problem: String| corrupt("conversation", id, problem);
    Ok(Conversation {
        id,
        channel: row.channel.parse().map_err(|e| bad(format!("{e}")))?,
        contact_id: row.contact_id,
        identity_id: row.identity_id,
        status: row.status.parse().map_err(|e| bad(format!("{e}")))?,
        assignee: row.assignee,
        created_at: row.created_at,
        updated_at: row.updated_at,
        handed_off_at: row.handed_off_at,
        first_human_reply_at: row.first_human_reply_at,
        resolved_at: row.resolved_at,
        handoff_reason: row
            .handoff_reason
            .map(|reason| reason.parse())
            .transpose()
            .map_err(|e| bad(format!("{e}")))?,
        handoff_summary: row.handoff_summary,
        buying_intent_at: row.buying_intent_at,
    })
}

pub(crate) fn message(row: MessageRow) -> Result<Message, StoreError> {
    let id = row.id;
    let bad = |problem: String| corrupt("message", id, problem);
    let decision: Option<Decision> = row
        .decision
        .map(|json| serde_json::from_str(&json))
        .transpose()
        .map_err(|e| bad(format!("its decision: {e}")))?;
    let sources: Vec<SourceRef> =
        serde_json::from_str(&row.sources).map_err(|e| bad(format!("its sources: {e}")))?;
    Ok(Message {
        id,
        conversation_id: row.conversation_id,
        author: row.author.parse().map_err(|e| bad(format!("{e}")))?,
        text: row.text,
        decision,
        sources,
        delivery: row.delivery.parse().map_err(|e| bad(format!("{e}")))?,
        visibility: row.visibility.parse().map_err(|e| bad(format!("{e}")))?,
        user_id: row.user_id,
        created_at: row.created_at,
        attachments: serde_json::from_str(&row.attachments)
            .map_err(|e| bad(format!("its attachments: {e}")))?,
        provider_message_id: row.provider_message_id,
        sent_at: row.sent_at,
        receipt: row.receipt.as_deref().and_then(Receipt::from_name),
        delivery_error: row.delivery_error,
        edited_at: row.edited_at,
        subject: row.subject,
        original_text: row.original_text,
        automated: row.automated,
    })
}

pub(crate) fn corrupt(what: &'static str, id: i64, problem: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        id,
        problem: problem.to_string(),
    }
}

pub(crate) fn read_error(what: &'static str, cause: sqlx::Error) -> StoreError {
    StoreError::Read { what, cause }
}

pub(crate) fn write_error(what: &'static str, cause: sqlx::Error) -> StoreError {
    StoreError::Write { what, cause }
}
