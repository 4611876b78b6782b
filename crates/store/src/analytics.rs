//! What the owner's analytics and maturity report are computed from: one row of facts per
//! conversation, customer messages counted per quarter hour and channel, the questions
//! the assistant could not answer, and the owner's own answers to the maturity questions.
//!
//! The store only gathers; the definitions (what counts as resolved, business hours,
//! periods in the business's time zone) live with the report, so that they are written
//! once for both backends.

use crate::conversations::{read_error, write_error};
use crate::plan::now_unix_ms;
use crate::{Pool, Store, StoreError};

/// Customer messages are counted in slots this long, so that the report can place them
/// in days of any time zone (every zone's offset is a multiple of 15 minutes). Migration
/// 0016 writes it out as 900000 in the statements that count them.
pub const VOLUME_SLOT_MS: i64 = 15 * 60 * 1000;

/// The most unanswered questions one report reads.
const UNANSWERED_LIMIT: i64 = 2_000;

/// What one conversation's outcome and response times are computed from. Times are unix
/// milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationFacts {
    pub id: i64,
    pub channel: String,
    pub created_at: i64,
    pub handed_off_at: Option<i64>,
    pub handoff_reason: Option<String>,
    pub first_human_reply_at: Option<i64>,
    /// A person's first reply to the customer since the latest handoff.
    pub handoff_replied_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub first_customer_at: Option<i64>,
    pub last_customer_at: Option<i64>,
    /// The assistant's first message of any kind (answer, question back, handoff notice).
    pub first_assistant_at: Option<i64>,
    /// The assistant's first and last messages that answered (decision `answer`).
    pub first_answer_at: Option<i64>,
    pub last_answer_at: Option<i64>,
    /// Messages a person on the team sent the customer (private notes not counted).
    pub agent_replies: i64,
    /// Customer messages up to the latest handoff; 0 without a handoff.
    pub customer_messages_before_handoff: i64,
}

/// Customer messages of one channel in one [`VOLUME_SLOT_MS`] slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSlot {
    pub channel: String,
    /// Unix milliseconds of the slot's start.
    pub slot_start: i64,
    pub messages: i64,
}

/// A customer message the assistant handed off or asked back for being unsure of the
/// answer, or for having nothing to answer from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnansweredQuestion {
    pub conversation_id: i64,
    pub text: String,
    pub asked_at: i64,
}

/// The owner's answer to one maturity question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaturityAnswer {
    pub question: String,
    pub level: u8,
    pub answered_at: i64,
}

type FactsRow = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

impl Store {
    /// Facts of every conversation that changed at or after `from` and began before `to`
    /// (unix milliseconds): every conversation whose outcome or first response can fall in
    /// that period.
    pub async fn conversation_facts(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ConversationFacts>, StoreError> {
        // The message facts are kept on each conversation's row as its messages are
        // stored (`TOUCH_CONVERSATION`), so a period reads one row per conversation.
        let columns = "id, channel, created_at, handed_off_at, handoff_reason, \
                       first_human_reply_at, resolved_at, first_customer_at, last_customer_at, \
                       first_assistant_at, last_answer_at, agent_replies, \
                       CASE WHEN handed_off_at IS NULL THEN 0 \
                            ELSE customer_messages_to_handoff END, \
                       first_answer_at, handoff_replied_at";
        let source = "FROM conversations WHERE updated_at >= $1 AND created_at < $2";
        let what = "conversation facts for the report";
        let mut rows: Vec<FactsRow> = self.rows_in_period(columns, source, from, to, what).await?;
        rows.sort_unstable_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|row| ConversationFacts {
                id: row.0,
                channel: row.1,
                created_at: row.2,
                handed_off_at: row.3,
                handoff_reason: row.4,
                first_human_reply_at: row.5,
                resolved_at: row.6,
                first_customer_at: row.7,
                last_customer_at: row.8,
                first_assistant_at: row.9,
                last_answer_at: row.10,
                agent_replies: row.11,
                customer_messages_before_handoff: row.12,
                first_answer_at: row.13,
                handoff_replied_at: row.14,
            })
            .collect())
    }

    /// Counts every conversation's facts afresh from its messages, for rows written
    /// straight into the tables rather than through the store (which keeps them as it
    /// stores each message). Returns how many conversations were counted.
    pub async fn recount_conversation_facts(&self) -> Result<u64, StoreError> {
        let decision = match &self.pool {
            Pool::Sqlite(_) => "json_extract(m.decision, '$.decision')",
            Pool::Postgres(_) => "(m.decision ->> 'decision')",
        };
        let sql = format!(
            "UPDATE conversations SET (first_customer_at, last_customer_at, \
               first_assistant_at, first_answer_at, last_answer_at, agent_replies, \
               customer_messages_to_handoff, handoff_replied_at) = ( \
             SELECT MIN(CASE WHEN m.author = 'customer' THEN m.created_at END), \
               MAX(CASE WHEN m.author = 'customer' THEN m.created_at END), \
               MIN(CASE WHEN m.author = 'assistant' THEN m.created_at END), \
               MIN(CASE WHEN m.author = 'assistant' AND {decision} = 'answer' \
                 THEN m.created_at END), \
               MAX(CASE WHEN m.author = 'assistant' AND {decision} = 'answer' \
                 THEN m.created_at END), \
               CAST(COALESCE(SUM(CASE WHEN m.author = 'agent' AND m.visibility = 'public' \
                 THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN m.author = 'customer' \
                 AND (conversations.handed_off_at IS NULL \
                   OR m.created_at <= conversations.handed_off_at) \
                 THEN 1 ELSE 0 END), 0) AS BIGINT), \
               MIN(CASE WHEN m.author = 'agent' AND m.visibility = 'public' \
                 AND m.created_at >= conversations.handed_off_at THEN m.created_at END) \
             FROM messages m WHERE m.conversation_id = conversations.id)"
        );
        on_pool!(self, |pool| sqlx::query(&sql)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|cause| write_error("conversation facts", cause))
    }

    /// Customer messages per channel in the [`VOLUME_SLOT_MS`] slots that start from
    /// `from` until `to`, oldest slot first. Bounds on a quarter hour, as every day's
    /// bounds in every time zone are, count exactly the messages sent between them.
    pub async fn customer_message_volume(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<VolumeSlot>, StoreError> {
        // Counted by a trigger as each customer message is stored (migration 0016).
        let columns = "channel, slot_start, messages";
        let source = "FROM customer_volume WHERE slot_start >= $1 AND slot_start < $2";
        let what = "customer message volume";
        let mut rows: Vec<(String, i64, i64)> =
            self.rows_in_period(columns, source, from, to, what).await?;
        rows.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(rows
            .into_iter()
            .map(|(channel, slot_start, messages)| VolumeSlot {
                channel,
                slot_start,
                messages,
            })
            .collect())
    }

    /// The customer messages the assistant could not answer from `from` until `to`: each
    /// one its reply handed off or asked back for low confidence or missing knowledge.
    /// The latest first, at most a couple of thousand.
    pub async fn unanswered_questions(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<UnansweredQuestion>, StoreError> {
        let reason = match &self.pool {
            Pool::Sqlite(_) => "json_extract(m.decision, '$.reason')",
            Pool::Postgres(_) => "(m.decision ->> 'reason')",
        };
        let sql = format!(
            "SELECT m.conversation_id, q.text, q.created_at \
             FROM messages m JOIN messages q ON q.id = ( \
                 SELECT MAX(p.id) FROM messages p WHERE p.conversation_id = m.conversation_id \
                 AND p.author = 'customer' AND p.id < m.id) \
             WHERE m.author = 'assistant' AND m.created_at >= $1 AND m.created_at < $2 \
             AND {reason} IN ('low_confidence', 'no_knowledge') \
             ORDER BY m.id DESC LIMIT $3"
        );
        let rows: Vec<(i64, String, i64)> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(UNANSWERED_LIMIT)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("unanswered questions", cause))?;
        Ok(rows
            .into_iter()
            .map(|(conversation_id, text, asked_at)| UnansweredQuestion {
                conversation_id,
                text,
                asked_at,
            })
            .collect())
    }

    /// The `columns` of the rows `source` (a FROM clause and its conditions) reads for the
    /// period `from`..`to`, bound as $1 and $2; in no particular order.
    ///
    /// On SQLite they come folded into one JSON array: handing thousands of rows over
    /// one by one costs sqlx's SQLite driver as much again as the query itself.
    async fn rows_in_period<Row>(
        &self,
        columns: &str,
        source: &str,
        from: i64,
        to: i64,
        what: &'static str,
    ) -> Result<Vec<Row>, StoreError>
    where
        Row: serde::de::DeserializeOwned
            + Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let folded = format!("SELECT json_group_array(json_array({columns})) {source}");
                let json: String = sqlx::query_scalar(&folded)
                    .bind(from)
                    .bind(to)
                    .fetch_one(pool)
                    .await
                    .map_err(|cause| read_error(what, cause))?;
                serde_json::from_str(&json).map_err(|cause| StoreError::Unreadable {
                    what,
                    problem: cause.to_string(),
                })
            }
            Pool::Postgres(pool) => sqlx::query_as(&format!("SELECT {columns} {source}"))
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await
                .map_err(|cause| read_error(what, cause)),
        }
    }

    /// When the team last corrected or confirmed an assistant answer (feedback on a
    /// message), if it ever did.
    pub async fn last_feedback_at(&self) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MAX(updated_at) FROM tickets WHERE id LIKE 'feedback-%'";
        on_pool!(self, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
            .map_err(|cause| read_error("the latest feedback", cause))
    }

    /// The owner's stored answers to the maturity questions, by question.
    pub async fn maturity_answers(&self) -> Result<Vec<MaturityAnswer>, StoreError> {
        let sql = "SELECT question, level, answered_at FROM maturity_answers ORDER BY question";
        let rows: Vec<(String, i32, i64)> =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await)
                .map_err(|cause| read_error("maturity answers", cause))?;
        Ok(rows
            .into_iter()
            .filter_map(|(question, level, answered_at)| {
                Some(MaturityAnswer {
                    question,
                    level: u8::try_from(level).ok()?,
                    answered_at,
                })
            })
            .collect())
    }

    /// Records the owner's answer to one maturity question, replacing an earlier one.
    /// `level` must be 1 to 5: the database refuses anything else.
    pub async fn set_maturity_answer(
        &self,
        question: &str,
        level: u8,
        answered_by: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO maturity_answers (question, level, answered_by, answered_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (question) DO UPDATE SET \
                   level = excluded.level, answered_by = excluded.answered_by, \
                   answered_at = excluded.answered_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(question)
            .bind(i32::from(level))
            .bind(answered_by)
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a maturity answer", cause))
    }
}

/// One FAQ entry as the owner's knowledge page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqUsage {
    pub id: String,
    pub updated_at: i64,
    /// Answers that gave it since the period's start.
    pub uses: i64,
    pub last_used_at: Option<i64>,
    /// Of those, the ones the team judged wrong.
    pub marked_wrong: i64,
}

impl Store {
    /// Every FAQ entry, by id, with how often the assistant answered with it since
    /// `since` (unix milliseconds) and how often such an answer was judged wrong.
    pub async fn faq_usage(&self, since: i64) -> Result<Vec<FaqUsage>, StoreError> {
        // Uses and wrong verdicts are counted apart: the uses come from an index alone,
        // and the verdicts are few.
        let sql = "SELECT f.id, f.updated_at, COALESCE(u.uses, 0), u.last_used, \
                   COALESCE(w.wrong, 0) \
             FROM faq_entries f \
             LEFT JOIN (SELECT answer_faq_id AS faq_id, COUNT(*) AS uses, \
                        MAX(created_at) AS last_used \
                 FROM messages WHERE answer_faq_id IS NOT NULL AND created_at >= $1 \
                 GROUP BY answer_faq_id) u ON u.faq_id = f.id \
             LEFT JOIN (SELECT m.answer_faq_id AS faq_id, COUNT(*) AS wrong \
                 FROM review_verdicts v JOIN messages m ON m.id = v.message_id \
                 WHERE v.verdict = 'wrong' AND m.answer_faq_id IS NOT NULL \
                 AND m.created_at >= $1 \
                 GROUP BY m.answer_faq_id) w ON w.faq_id = f.id \
             ORDER BY f.id";
        let rows: Vec<(String, i64, i64, Option<i64>, i64)> =
            on_pool!(self, |pool| sqlx::query_as(sql)
                .bind(since)
                .fetch_all(pool)
                .await)
            .map_err(|cause| read_error("FAQ usage", cause))?;
        Ok(rows
            .into_iter()
            .map(
                |(id, updated_at, uses, last_used_at, marked_wrong)| FaqUsage {
                    id,
                    updated_at,
                    uses,
                    last_used_at,
                    marked_wrong,
                },
            )
            .collect())
    }
}
