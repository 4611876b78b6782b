//! The weekly review: the assistant replies of a period worth a second look, what the team
//! said of each, and each review finished.

use frontdesk_core::Decision;

use crate::conversations::{read_error, write_error};
use crate::plan::now_unix_ms;
use crate::satisfaction::LOW_RATING;
use crate::{Pool, Store, StoreError};

/// The most replies one review lists.
const QUEUE_LIMIT: i64 = 500;

/// An assistant reply in the review queue, with the customer message it replied to.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    pub message_id: i64,
    pub conversation_id: i64,
    pub created_at: i64,
    /// `None` only for a decision stored in a shape this version cannot read.
    pub decision: Option<Decision>,
    pub reply: String,
    /// The customer's message before the reply.
    pub question: Option<String>,
    /// Customer messages in the conversation up to the question, itself included.
    pub customer_messages: i64,
    /// `right` or `wrong`, once the team said.
    pub verdict: Option<String>,
    /// With `wrong`: the FAQ that should have answered.
    pub verdict_faq: Option<String>,
    /// The customer's satisfaction rating of the conversation (1 to 5), if given.
    pub rating: Option<i32>,
    /// What the customer added to their rating.
    pub rating_comment: Option<String>,
}

type ItemRow = (
    i64,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
);

impl Store {
    /// The assistant's replies from `from` until `to` (unix milliseconds) worth a look:
    /// answers given with a confidence below `answers_below`, handoffs, questions asked
    /// back for being unsure, and every reply the team already gave a verdict on. Those
    /// without a verdict first, each part oldest first; at most 500 (see
    /// [`Store::review_counts`] for all of them).
    pub async fn review_queue(
        &self,
        from: i64,
        to: i64,
        answers_below: f64,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let (kind, reason, confidence) = decision_fields(&self.pool);
        let decision = match &self.pool {
            Pool::Sqlite(_) => "m.decision",
            Pool::Postgres(_) => "CAST(m.decision AS TEXT)",
        };
        let worth_a_look = worth_a_look(kind, reason, confidence);
        let sql = format!(
            "SELECT m.id, m.conversation_id, m.created_at, {decision}, m.text, q.text, \
             (SELECT COUNT(*) FROM messages p WHERE p.conversation_id = m.conversation_id \
                 AND p.author = 'customer' AND p.id < m.id), \
             v.verdict, v.faq_id, CAST(r.score AS INTEGER), r.comment \
             FROM messages m \
             LEFT JOIN messages q ON q.id = (SELECT MAX(p.id) FROM messages p \
                 WHERE p.conversation_id = m.conversation_id AND p.author = 'customer' \
                 AND p.id < m.id) \
             LEFT JOIN review_verdicts v ON v.message_id = m.id \
             LEFT JOIN satisfaction_ratings r ON r.conversation_id = m.conversation_id \
             WHERE {worth_a_look} \
             ORDER BY CASE WHEN v.message_id IS NULL THEN 0 ELSE 1 END, m.id LIMIT $4"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(answers_below)
            .bind(QUEUE_LIMIT)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("the review queue", cause))?;
        Ok(rows
            .into_iter()
            .map(|row| ReviewItem {
                message_id: row.0,
                conversation_id: row.1,
                created_at: row.2,
                decision: row.3.and_then(|json| serde_json::from_str(&json).ok()),
                reply: row.4,
                question: row.5,
                customer_messages: row.6,
                verdict: row.7,
                verdict_faq: row.8,
                rating: row.9,
                rating_comment: row.10,
            })
            .collect())
    }

    /// How many replies from `from` until `to` are worth a look (as in
    /// [`Store::review_queue`], without its limit), and how many of them have no verdict.
    pub async fn review_counts(
        &self,
        from: i64,
        to: i64,
        answers_below: f64,
    ) -> Result<(i64, i64), StoreError> {
        let (kind, reason, confidence) = decision_fields(&self.pool);
        let worth_a_look = worth_a_look(kind, reason, confidence);
        // PostgreSQL sums to NUMERIC: cast back so both backends give 64-bit integers.
        let sql = format!(
            "SELECT COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN v.message_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM messages m LEFT JOIN review_verdicts v ON v.message_id = m.id \
             WHERE {worth_a_look}"
        );
        let counts: (i64, i64) = on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(answers_below)
            .fetch_one(pool)
            .await)
        .map_err(|cause| read_error("the review queue's size", cause))?;
        Ok(counts)
    }

    /// Records what the team said of an assistant reply, replacing an earlier verdict.
    pub async fn set_review_verdict(
        &self,
        message_id: i64,
        right: bool,
        faq_id: Option<&str>,
        user_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO review_verdicts (message_id, verdict, faq_id, user_id, reviewed_at) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO UPDATE SET \
                   verdict = excluded.verdict, faq_id = excluded.faq_id, \
                   user_id = excluded.user_id, reviewed_at = excluded.reviewed_at";
        let verdict = if right { "right" } else { "wrong" };
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(message_id)
            .bind(verdict)
            .bind(faq_id)
            .bind(user_id)
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a review verdict", cause))
    }

    /// Records a finished review of the days `from_day` to `to_day` (YYYY-MM-DD).
    pub async fn record_review(
        &self,
        from_day: &str,
        to_day: &str,
        user_id: Option<i64>,
        items: i64,
        marked_wrong: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO reviews (from_day, to_day, user_id, items, marked_wrong, \
                   finished_at) VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(from_day)
            .bind(to_day)
            .bind(user_id)
            .bind(items)
            .bind(marked_wrong)
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a finished review", cause))
    }

    /// When a review was last finished, if one ever was.
    pub async fn last_review_at(&self) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT MAX(finished_at) FROM reviews";
        on_pool!(self, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
            .map_err(|cause| read_error("the latest review", cause))
    }
}

/// How each backend reads a stored decision's kind, reason and confidence.
fn decision_fields(pool: &Pool) -> (&'static str, &'static str, &'static str) {
    match pool {
        Pool::Sqlite(_) => (
            "json_extract(m.decision, '$.decision')",
            "json_extract(m.decision, '$.reason')",
            "json_extract(m.decision, '$.confidence')",
        ),
        Pool::Postgres(_) => (
            "(m.decision ->> 'decision')",
            "(m.decision ->> 'reason')",
            "CAST(m.decision ->> 'confidence' AS DOUBLE PRECISION)",
        ),
    }
}

/// The condition on `m` (an assistant message) and `v` (its verdict) that puts a reply in
/// the review: $1 and $2 bound the period, $3 is the confidence an answer must reach. A
/// reply in a conversation the customer rated low is in it too.
fn worth_a_look(kind: &str, reason: &str, confidence: &str) -> String {
    format!(
        "m.author = 'assistant' AND m.created_at >= $1 AND m.created_at < $2 \
         AND (({kind} = 'answer' AND {confidence} < $3) OR {kind} = 'escalate' \
             OR ({kind} = 'clarify' AND {reason} = 'low_confidence') \
             OR v.message_id IS NOT NULL \
             OR m.conversation_id IN (SELECT conversation_id FROM satisfaction_ratings \
                 WHERE score <= {LOW_RATING}))"
    )
}
