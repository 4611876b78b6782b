//! Customers' satisfaction ratings: one question (1 to 5) asked after a conversation is
//! resolved, by the widget and by email, one rating kept per conversation.

use serde::Serialize;

use frontdesk_core::Conversation;

use crate::conversations::{read_error, token_digest, write_error};
use crate::plan::now_unix_ms;
use crate::{Store, StoreError};

/// Ratings at or below this are low: the review looks at their conversations.
pub const LOW_RATING: u8 = 2;

/// The ratings given in a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Satisfaction {
    /// How many ratings of each score, 1 to 5.
    pub by_score: [u64; 5],
}

impl Satisfaction {
    pub fn ratings(&self) -> u64 {
        self.by_score.iter().sum()
    }

    /// Ratings of 4 or 5.
    pub fn satisfied(&self) -> u64 {
        self.by_score[3] + self.by_score[4]
    }

    /// The mean score; `None` without ratings.
    pub fn mean(&self) -> Option<f64> {
        let ratings = self.ratings();
        let total: u64 = (1..=5u64).zip(self.by_score).map(|(s, n)| s * n).sum();
        (ratings > 0).then(|| total as f64 / ratings as f64)
    }
}

impl Store {
    /// Records the customer's rating of conversation `conversation_id` (score 1 to 5,
    /// checked by the database too), replacing one given before.
    pub async fn rate_conversation(
        &self,
        conversation_id: i64,
        score: u8,
        comment: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO satisfaction_ratings (conversation_id, score, comment, rated_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id) DO UPDATE SET \
                   score = excluded.score, comment = excluded.comment, \
                   rated_at = excluded.rated_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(conversation_id)
            .bind(i16::from(score))
            .bind(comment)
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a satisfaction rating", cause))
    }

    /// Stores a rating link's secret for conversation `conversation_id` (only its digest
    /// is kept). The secret opens that conversation's rating and nothing else.
    pub async fn add_rating_link(
        &self,
        conversation_id: i64,
        token: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO rating_links (token_digest, conversation_id, created_at) \
                   VALUES ($1, $2, $3)";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(token_digest(token))
            .bind(conversation_id)
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a rating link", cause))
    }

    /// The conversation a rating link's secret is for, if any.
    pub async fn conversation_by_rating_link(
        &self,
        token: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let sql = "SELECT conversation_id FROM rating_links WHERE token_digest = $1";
        let id: Option<i64> = on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(token_digest(token))
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a rating link", cause))?;
        match id {
            Some(id) => self.conversation(id).await,
            None => Ok(None),
        }
    }

    /// The rating of one conversation, with its comment.
    pub async fn rating_of(
        &self,
        conversation_id: i64,
    ) -> Result<Option<(u8, Option<String>)>, StoreError> {
        let sql = "SELECT CAST(score AS INTEGER), comment FROM satisfaction_ratings \
                   WHERE conversation_id = $1";
        let row: Option<(i32, Option<String>)> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(conversation_id)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a satisfaction rating", cause))?;
        Ok(row.map(|(score, comment)| (u8::try_from(score).unwrap_or_default(), comment)))
    }

    /// The ratings given from `from` until `to` (Unix ms, `to` excluded).
    pub async fn satisfaction(&self, from: i64, to: i64) -> Result<Satisfaction, StoreError> {
        let sql = "SELECT CAST(score AS INTEGER), COUNT(*) FROM satisfaction_ratings \
                   WHERE rated_at >= $1 AND rated_at < $2 GROUP BY score";
        let rows: Vec<(i32, i64)> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("satisfaction ratings", cause))?;
        let mut satisfaction = Satisfaction::default();
        for (score, count) in rows {
            if let Some(slot) = usize::try_from(score - 1)
                .ok()
                .and_then(|i| satisfaction.by_score.get_mut(i))
            {
                *slot = u64::try_from(count).unwrap_or_default();
            }
        }
        Ok(satisfaction)
    }
}
