//! What the language model that phrases answers was asked and what it cost: one row per
//! generated answer, totalled per day and per conversation.

use serde::Serialize;

use crate::conversations::{read_error, write_error};
use crate::plan::now_unix_ms;
use crate::{Store, StoreError};

/// One answer a model was asked to phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationRecord {
    /// `None` for the stateless answer endpoint and the command line.
    pub conversation_id: Option<i64>,
    /// The assistant's reply it became part of.
    pub message_id: Option<i64>,
    pub model: String,
    /// `generated`, `fell_back` or `handed_off`.
    pub outcome: String,
    /// Why the generated text was not used (a guard or a failure), when it was not.
    pub cause: Option<String>,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// The server sent no counts: they were estimated from the text.
    pub estimated: bool,
}

/// The generated answers of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayUsage {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Answers the model was asked for.
    pub requests: i64,
    /// Of those, how many reached the customer as generated.
    pub generated: i64,
    pub fell_back: i64,
    pub handed_off: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// The tokens one conversation cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConversationUsage {
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

type DayRow = (String, i64, i64, i64, i64, i64, i64);

impl Store {
    pub async fn record_generation(&self, record: &GenerationRecord) -> Result<(), StoreError> {
        let now = now_unix_ms();
        let day = utc_day(now);
        let sql = "INSERT INTO generation_usage (conversation_id, message_id, model, outcome, \
                   cause, prompt_tokens, completion_tokens, estimated, day, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(record.conversation_id)
            .bind(record.message_id)
            .bind(&record.model)
            .bind(&record.outcome)
            .bind(&record.cause)
            .bind(i64::from(record.prompt_tokens))
            .bind(i64::from(record.completion_tokens))
            .bind(record.estimated)
            .bind(&day)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a generated answer's usage", cause))?;
        Ok(())
    }

    /// Totals per UTC day from `from` to `to` (both `YYYY-MM-DD`, both included), oldest
    /// first; days without generated answers are left out.
    pub async fn generation_usage_by_day(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<DayUsage>, StoreError> {
        // PostgreSQL sums BIGINT columns to NUMERIC; the casts keep both backends at
        // 64-bit integers.
        let sql = "SELECT day, COUNT(*), \
                   CAST(SUM(CASE WHEN outcome = 'generated' THEN 1 ELSE 0 END) AS BIGINT), \
                   CAST(SUM(CASE WHEN outcome = 'fell_back' THEN 1 ELSE 0 END) AS BIGINT), \
                   CAST(SUM(CASE WHEN outcome = 'handed_off' THEN 1 ELSE 0 END) AS BIGINT), \
                   CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT) \
                   FROM generation_usage WHERE day >= $1 AND day <= $2 \
                   GROUP BY day ORDER BY day";
        let rows: Vec<DayRow> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("the generated answers' usage", cause))?;
        Ok(rows
            .into_iter()
            .map(|row| DayUsage {
                day: row.0,
                requests: row.1,
                generated: row.2,
                fell_back: row.3,
                handed_off: row.4,
                prompt_tokens: row.5,
                completion_tokens: row.6,
            })
            .collect())
    }

    pub async fn conversation_generation_usage(
        &self,
        conversation_id: i64,
    ) -> Result<ConversationUsage, StoreError> {
        let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) \
                   FROM generation_usage WHERE conversation_id = $1";
        let (requests, prompt_tokens, completion_tokens): (i64, i64, i64) =
            on_pool!(self, |pool| sqlx::query_as(sql)
                .bind(conversation_id)
                .fetch_one(pool)
                .await)
            .map_err(|cause| read_error("a conversation's generated answers", cause))?;
        Ok(ConversationUsage {
            requests,
            prompt_tokens,
            completion_tokens,
        })
    }
}

/// The UTC date of a Unix time in milliseconds, as `YYYY-MM-DD`.
pub fn utc_day(unix_ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(unix_ms) {
        Ok(time) => time.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        // Outside jiff's range (years beyond ±9999): not a clock this runs under.
        Err(_) => "0000-01-01".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::utc_day;

    #[test]
    fn unix_milliseconds_become_utc_dates() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(86_399_999), "1970-01-01");
        assert_eq!(utc_day(86_400_000), "1970-01-02");
        assert_eq!(utc_day(1_709_164_800_000), "2024-02-29");
        assert_eq!(utc_day(-1), "1969-12-31");
    }
}
