//! The store's statements for SQLite.
//!
//! Imports write multi-row upserts of [`BATCH_ROWS`] rows inside one `BEGIN IMMEDIATE`
//! transaction: one statement per few hundred rows keeps 9,000 tickets well under a
//! second, and the full batches share one cached prepared statement.

use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, Product, Ticket};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Transaction};

use crate::plan::{self, PassageRow, StoredPassage, VariantRow, BATCH_ROWS};
use crate::sql;
use crate::{ImportOutcome, KindState, Progress, StoreError, Written};

/// Starts an import. IMMEDIATE takes the write lock up front, waiting for other writers
/// under busy_timeout; a deferred transaction that reads first and writes later fails
/// with "database is locked" instead of waiting, and would let counts go stale.
async fn begin_import(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

async fn finish_import(
    mut tx: Transaction<'static, Sqlite>,
    kind: KnowledgeKind,
    outcome: ImportOutcome,
    now: i64,
) -> Result<(), sqlx::Error> {
    if outcome.changed() {
        sqlx::query(sql::BUMP_REVISION)
            .bind(kind.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

async fn count_rows(conn: &mut SqliteConnection, kind: KnowledgeKind) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql::count_rows(kind))
        .fetch_one(conn)
        .await
}

pub(crate) async fn import_faqs(
    pool: &SqlitePool,
    entries: &[FaqEntry],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Faq;
    let entries = plan::last_wins(entries, |e| e.id.as_str());
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool).await?;
        let before = count_rows(&mut tx, kind).await?;
        let mut affected = 0;
        for batch in entries.chunks(BATCH_ROWS) {
            affected += upsert_faqs(&mut tx, batch, now).await?;
            written.add(batch.len());
        }
        let after = count_rows(&mut tx, kind).await?;
        let outcome = plan::upsert_outcome(before, after, affected);
        finish_import(tx, kind, outcome, now).await?;
        Ok(outcome)
    };
    let outcome = result
        .await
        .map_err(|cause| StoreError::Import { kind, cause })?;
    written.finish();
    Ok(outcome)
}

async fn upsert_faqs(
    conn: &mut SqliteConnection,
    batch: &[&FaqEntry],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO faq_entries (id, question, answer, tags, url, created_at, updated_at) ",
    );
    query.push_values(batch, |mut row, entry| {
        row.push_bind(entry.id.as_str())
            .push_bind(entry.question.as_str())
            .push_bind(entry.answer.as_str())
            .push_bind(plan::tags_to_json(&entry.tags))
            .push_bind(entry.url.as_deref())
            .push_bind(now)
            .push_bind(now);
    });
    // `IS NOT` is SQLite's null-safe inequality: the WHERE leaves unchanged rows alone, so
    // they keep their updated_at and do not count as updated.
    query.push(
        " ON CONFLICT (id) DO UPDATE SET question = excluded.question, \
         answer = excluded.answer, tags = excluded.tags, url = excluded.url, \
         updated_at = excluded.updated_at \
         WHERE faq_entries.question IS NOT excluded.question \
         OR faq_entries.answer IS NOT excluded.answer \
         OR faq_entries.tags IS NOT excluded.tags \
         OR faq_entries.url IS NOT excluded.url",
    );
    Ok(query.build().execute(conn).await?.rows_affected())
}

pub(crate) async fn import_tickets(
    pool: &SqlitePool,
    tickets: &[Ticket],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Ticket;
    let tickets = plan::last_wins(tickets, |t| t.id.as_str());
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool).await?;
        let before = count_rows(&mut tx, kind).await?;
        let mut affected = 0;
        for batch in tickets.chunks(BATCH_ROWS) {
            affected += upsert_tickets(&mut tx, batch, now).await?;
            written.add(batch.len());
        }
        let after = count_rows(&mut tx, kind).await?;
        let outcome = plan::upsert_outcome(before, after, affected);
        finish_import(tx, kind, outcome, now).await?;
        Ok(outcome)
    };
    let outcome = result
        .await
        .map_err(|cause| StoreError::Import { kind, cause })?;
    written.finish();
    Ok(outcome)
}

async fn upsert_tickets(
    conn: &mut SqliteConnection,
    batch: &[&Ticket],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO tickets (id, message, faq_id, answer, created_at, updated_at) ",
    );
    query.push_values(batch, |mut row, ticket| {
        row.push_bind(ticket.id.as_str())
            .push_bind(ticket.message.as_str())
            .push_bind(ticket.faq_id.as_deref())
            .push_bind(ticket.answer.as_deref())
            .push_bind(now)
            .push_bind(now);
    });
    query.push(
        " ON CONFLICT (id) DO UPDATE SET message = excluded.message, \
         faq_id = excluded.faq_id, answer = excluded.answer, \
         updated_at = excluded.updated_at \
         WHERE tickets.message IS NOT excluded.message \
         OR tickets.faq_id IS NOT excluded.faq_id \
         OR tickets.answer IS NOT excluded.answer",
    );
    Ok(query.build().execute(conn).await?.rows_affected())
}

pub(crate) async fn import_doc_passages(
    pool: &SqlitePool,
    passages: &[DocPassage],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Doc;
    let passages = plan::last_wins(passages, |p| p.id.as_str());
    // A JSON array bound as one parameter names any number of documents, with
    // `json_each` unpacking it: no placeholder lists to build or to overflow.
    let documents = serde_json::Value::from(plan::documents_of(&passages)).to_string();
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool).await?;
        let old = stored_passages(&mut tx, &documents).await?;
        let (rows, outcome) = plan::plan_passages(&passages, old, now);
        sqlx::query("DELETE FROM doc_passages WHERE document IN (SELECT value FROM json_each($1))")
            .bind(documents.as_str())
            .execute(&mut *tx)
            .await?;
        for batch in rows.chunks(BATCH_ROWS) {
            insert_passages(&mut tx, batch).await?;
            written.add(batch.len());
        }
        finish_import(tx, kind, outcome, now).await?;
        Ok(outcome)
    };
    let outcome = result
        .await
        .map_err(|cause| StoreError::Import { kind, cause })?;
    written.finish();
    Ok(outcome)
}

async fn stored_passages(
    conn: &mut SqliteConnection,
    documents_json: &str,
) -> Result<Vec<StoredPassage>, sqlx::Error> {
    let rows: Vec<sql::StoredPassageRow> = sqlx::query_as(
        "SELECT id, document, position, title, text, created_at, updated_at \
         FROM doc_passages WHERE document IN (SELECT value FROM json_each($1))",
    )
    .bind(documents_json)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(sql::stored_passage).collect())
}

async fn insert_passages(
    conn: &mut SqliteConnection,
    batch: &[PassageRow<'_>],
) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO doc_passages \
         (id, document, position, title, text, created_at, updated_at) ",
    );
    query.push_values(batch, |mut row, p| {
        row.push_bind(p.passage.id.as_str())
            .push_bind(p.passage.document.as_str())
            .push_bind(p.position)
            .push_bind(p.passage.title.as_str())
            .push_bind(p.passage.text.as_str())
            .push_bind(p.created_at)
            .push_bind(p.updated_at);
    });
    query.build().execute(conn).await?;
    Ok(())
}

/// Picks the products named by the JSON array bound as `$1` (see import_doc_passages).
const PRODUCTS_IN_IDS: &str = "WHERE p.id IN (SELECT value FROM json_each($1))";

pub(crate) async fn import_products(
    pool: &SqlitePool,
    products: &[Product],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Product;
    let products = plan::last_wins(products, |p| p.id.as_str());
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let ids = serde_json::Value::from(ids).to_string();
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool).await?;
        let stored: Vec<sql::ProductVariantRow> =
            sqlx::query_as(&sql::select_products(PRODUCTS_IN_IDS))
                .bind(ids.as_str())
                .fetch_all(&mut *tx)
                .await?;
        let (changed, outcome) = plan::changed_products(&products, &sql::stored_products(stored));
        for batch in products.chunks(BATCH_ROWS) {
            write_products(&mut tx, &plan::only(batch, &changed), now).await?;
            written.add(batch.len());
        }
        finish_import(tx, kind, outcome, now).await?;
        Ok(outcome)
    };
    let outcome = result
        .await
        .map_err(|cause| StoreError::Import { kind, cause })?;
    written.finish();
    Ok(outcome)
}

/// Upserts products and replaces their variants.
async fn write_products(
    conn: &mut SqliteConnection,
    products: &[&Product],
    now: i64,
) -> Result<(), sqlx::Error> {
    if products.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    sqlx::query(
        "DELETE FROM product_variants WHERE product_id IN (SELECT value FROM json_each($1))",
    )
    .bind(serde_json::Value::from(ids).to_string())
    .execute(&mut *conn)
    .await?;
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO products (id, title, description, vendor, product_type, tags, url, \
         status, options, created_at, updated_at) ",
    );
    query.push_values(products, |mut row, product| {
        row.push_bind(product.id.as_str())
            .push_bind(product.title.as_str())
            .push_bind(product.description.as_str())
            .push_bind(product.vendor.as_deref())
            .push_bind(product.product_type.as_deref())
            .push_bind(plan::tags_to_json(&product.tags))
            .push_bind(product.url.as_deref())
            .push_bind(product.status.as_str())
            .push_bind(plan::tags_to_json(&product.options))
            .push_bind(now)
            .push_bind(now);
    });
    // Only changed products reach this statement, so every conflict is an update.
    query.push(
        " ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
         description = excluded.description, vendor = excluded.vendor, \
         product_type = excluded.product_type, tags = excluded.tags, url = excluded.url, \
         status = excluded.status, options = excluded.options, \
         updated_at = excluded.updated_at",
    );
    query.build().execute(&mut *conn).await?;
    for batch in plan::variant_rows(products).chunks(BATCH_ROWS) {
        insert_variants(&mut *conn, batch).await?;
    }
    Ok(())
}

async fn insert_variants(
    conn: &mut SqliteConnection,
    batch: &[VariantRow<'_>],
) -> Result<(), sqlx::Error> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO product_variants (product_id, position, sku, option_values, price, \
         compare_at_price, stock, barcode) ",
    );
    query.push_values(batch, |mut row, v| {
        row.push_bind(v.product_id)
            .push_bind(v.position)
            .push_bind(v.variant.sku.as_deref())
            .push_bind(v.option_values.as_str())
            .push_bind(v.variant.price.as_deref())
            .push_bind(v.variant.compare_at_price.as_deref())
            .push_bind(v.variant.stock)
            .push_bind(v.variant.barcode.as_deref());
    });
    query.build().execute(conn).await?;
    Ok(())
}

pub(crate) async fn products(pool: &SqlitePool) -> Result<Vec<Product>, StoreError> {
    let rows: Vec<sql::ProductVariantRow> = sqlx::query_as(&sql::select_products(""))
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("products", cause))?;
    sql::products(rows)
}

pub(crate) async fn delete_faq(pool: &SqlitePool, id: &str) -> Result<bool, StoreError> {
    let kind = KnowledgeKind::Faq;
    let now = plan::now_unix_ms();
    let result = async {
        let mut tx = begin_import(pool).await?;
        let removed = sqlx::query(sql::DELETE_FAQ)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let outcome = ImportOutcome {
            removed,
            ..ImportOutcome::default()
        };
        finish_import(tx, kind, outcome, now).await?;
        Ok(removed > 0)
    };
    result.await.map_err(|cause| StoreError::Write {
        what: "the FAQ entry's removal",
        cause,
    })
}

pub(crate) async fn faqs(pool: &SqlitePool) -> Result<Vec<FaqEntry>, StoreError> {
    let rows: Vec<sql::FaqRow> = sqlx::query_as(sql::SELECT_FAQS)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("FAQ entries", cause))?;
    rows.into_iter().map(sql::faq_entry).collect()
}

pub(crate) async fn tickets(pool: &SqlitePool) -> Result<Vec<Ticket>, StoreError> {
    let rows: Vec<sql::TicketRow> = sqlx::query_as(sql::SELECT_TICKETS)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("tickets", cause))?;
    Ok(rows.into_iter().map(sql::ticket).collect())
}

pub(crate) async fn doc_passages(pool: &SqlitePool) -> Result<Vec<DocPassage>, StoreError> {
    let rows: Vec<sql::PassageRow> = sqlx::query_as(sql::SELECT_PASSAGES)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("document passages", cause))?;
    Ok(rows.into_iter().map(sql::doc_passage).collect())
}

pub(crate) async fn kind_states(pool: &SqlitePool) -> Result<Vec<KindState>, StoreError> {
    let rows: Vec<sql::KindStateRow> = sqlx::query_as(sql::SELECT_KIND_STATES)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("knowledge statistics", cause))?;
    Ok(rows.into_iter().filter_map(sql::kind_state).collect())
}

pub(crate) async fn instance(pool: &SqlitePool) -> Result<String, StoreError> {
    sqlx::query_scalar(sql::SELECT_INSTANCE)
        .fetch_one(pool)
        .await
        .map_err(|cause| sql::read_error("the database identity", cause))
}
