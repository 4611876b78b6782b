//! Sentence vectors the embedding model computed for FAQ questions and tickets, kept so
//! that rebuilding the assistant encodes only the texts that are new or changed, whichever
//! server or command rebuilds it.

use std::collections::HashMap;

use frontdesk_core::{KnowledgeSnapshot, SentenceVectors, VectorChanges};

use crate::conversations::{read_error, write_error};
use crate::{Store, StoreError};

/// Rows written or keys deleted per statement, well under SQLite's parameter limit.
const ROWS_PER_INSERT: usize = 500;

impl Store {
    /// Everything the assistant learns from, with the sentence vectors kept for
    /// `encoder_model` (none without one), so that a build encodes only new texts.
    pub async fn knowledge_snapshot(
        &self,
        encoder_model: Option<&str>,
    ) -> Result<KnowledgeSnapshot, StoreError> {
        // Vectors first, then the texts: a vector another build stored belongs to texts
        // already committed, so this build cannot take a newer text's vector for unused.
        let sentence_vectors = match encoder_model {
            Some(model) => self.sentence_vectors(model).await?,
            None => SentenceVectors::default(),
        };
        Ok(KnowledgeSnapshot {
            faqs: self.faqs().await?,
            tickets: self.tickets().await?,
            passages: self.doc_passages().await?,
            sentence_vectors,
        })
    }

    /// Every vector kept for `model`, by the key of its text. A row that is not a whole
    /// number of 32-bit floats is left out with a warning; one of the wrong length or with
    /// non-numbers is left to the build, which checks every vector against its encoder.
    /// Either way the text is encoded again.
    pub async fn sentence_vectors(&self, model: &str) -> Result<SentenceVectors, StoreError> {
        let sql = "SELECT text_key, vector FROM sentence_vectors WHERE model = $1";
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(model)
            .fetch_all(pool)
            .await)
        .map_err(|cause| read_error("sentence vectors", cause))?;

        let mut vectors = HashMap::with_capacity(rows.len());
        for (key, bytes) in rows {
            match floats(&bytes) {
                Some(vector) => {
                    vectors.insert(key as u64, vector);
                }
                None => tracing::warn!(
                    model,
                    text_key = key,
                    bytes = bytes.len(),
                    "a stored sentence vector is damaged; its text will be encoded again"
                ),
            }
        }
        Ok(SentenceVectors {
            model: model.to_string(),
            vectors,
        })
    }

    /// Writes back what a build changed, for the model that encoded: forgets the vectors
    /// it no longer used (texts deleted or reworded), then keeps those it encoded,
    /// replacing any under the same key, all in one transaction.
    pub async fn update_sentence_vectors(&self, changes: &VectorChanges) -> Result<(), StoreError> {
        let model = changes.encoded.model.as_str();
        let rows: Vec<(i64, Vec<u8>)> = changes
            .encoded
            .vectors
            .iter()
            .map(|(key, vector)| (*key as i64, bytes(vector)))
            .collect();
        let unused: Vec<i64> = changes.unused.iter().map(|key| *key as i64).collect();
        on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            for chunk in unused.chunks(ROWS_PER_INSERT) {
                let mut delete =
                    sqlx::QueryBuilder::new("DELETE FROM sentence_vectors WHERE model = ");
                delete.push_bind(model).push(" AND text_key IN (");
                let mut keys = delete.separated(", ");
                for key in chunk {
                    keys.push_bind(*key);
                }
                delete.push(")");
                delete.build().execute(&mut *tx).await?;
            }
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO sentence_vectors (model, text_key, vector) ",
                );
                insert.push_values(chunk, |mut row, (key, vector)| {
                    row.push_bind(model).push_bind(key).push_bind(vector);
                });
                insert
                    .push(" ON CONFLICT (model, text_key) DO UPDATE SET vector = excluded.vector");
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(|cause| write_error("sentence vectors", cause))
    }
}

impl Store {
    /// Forgets every vector kept for a model that `retired` picks, such as an encoder
    /// tuned again or removed, whose vectors no build will ask for; all in one
    /// transaction. Returns the names of the models forgotten.
    pub async fn forget_sentence_vectors(
        &self,
        retired: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT model FROM sentence_vectors";
        let models: Vec<(String,)> =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await)
                .map_err(|cause| read_error("sentence vectors", cause))?;
        let mut forgotten: Vec<String> = models
            .into_iter()
            .map(|(model,)| model)
            .filter(|model| retired(model))
            .collect();
        forgotten.sort();
        on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            for model in &forgotten {
                sqlx::query("DELETE FROM sentence_vectors WHERE model = $1")
                    .bind(model)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)
        .map_err(|cause| write_error("sentence vectors", cause))?;
        Ok(forgotten)
    }
}

fn bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn floats(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let floats = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    Some(floats.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_go_to_bytes_and_back_unchanged() {
        let vector = vec![0.5f32, -1.25, f32::MIN_POSITIVE, 3.0e7];
        assert_eq!(floats(&bytes(&vector)), Some(vector));
        assert_eq!(floats(&[1, 2, 3]), None, "not whole floats");
        assert_eq!(floats(&[]), Some(Vec::new()));
    }
}
