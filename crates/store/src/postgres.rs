//! The store's statements for PostgreSQL.
//!
//! Imports send each batch of [`BATCH_ROWS`] rows as one statement over `UNNEST`ed
//! arrays: a handful of parameters whatever the batch size, and one round trip per batch
//! instead of one per row.

use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, Product, Ticket};
use sqlx::postgres::{PgConnection, PgPool, Postgres};
use sqlx::Transaction;

use crate::plan::{self, PassageRow, StoredPassage, VariantRow, BATCH_ROWS};
use crate::sql;
use crate::{ImportOutcome, KindState, Progress, StoreError, Written};

/// Starts an import holding its kind's revision row. Two imports of one kind then run
/// one after the other, which keeps the row counts they take (and so their
/// inserted/updated figures) exact under PostgreSQL's read-committed isolation.
async fn begin_import(
    pool: &PgPool,
    kind: KnowledgeKind,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT revision FROM knowledge_revisions WHERE kind = $1 FOR UPDATE")
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn finish_import(
    mut tx: Transaction<'static, Postgres>,
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

async fn count_rows(conn: &mut PgConnection, kind: KnowledgeKind) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql::count_rows(kind))
        .fetch_one(conn)
        .await
}

pub(crate) async fn import_faqs(
    pool: &PgPool,
    entries: &[FaqEntry],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Faq;
    let entries = plan::last_wins(entries, |e| e.id.as_str());
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool, kind).await?;
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
    conn: &mut PgConnection,
    batch: &[&FaqEntry],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<&str> = batch.iter().map(|e| e.id.as_str()).collect();
    let questions: Vec<&str> = batch.iter().map(|e| e.question.as_str()).collect();
    let answers: Vec<&str> = batch.iter().map(|e| e.answer.as_str()).collect();
    let tags: Vec<String> = batch.iter().map(|e| plan::tags_to_json(&e.tags)).collect();
    let urls: Vec<Option<&str>> = batch.iter().map(|e| e.url.as_deref()).collect();
    // The WHERE leaves unchanged rows alone, so they keep their updated_at and do not
    // count as updated.
    let done = sqlx::query(
        "INSERT INTO faq_entries (id, question, answer, tags, url, created_at, updated_at) \
         SELECT id, question, answer, tags::jsonb, url, $6::bigint, $6::bigint \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
           AS t(id, question, answer, tags, url) \
         ON CONFLICT (id) DO UPDATE SET question = EXCLUDED.question, \
           answer = EXCLUDED.answer, tags = EXCLUDED.tags, url = EXCLUDED.url, \
           updated_at = EXCLUDED.updated_at \
         WHERE (faq_entries.question, faq_entries.answer, faq_entries.tags, faq_entries.url) \
           IS DISTINCT FROM (EXCLUDED.question, EXCLUDED.answer, EXCLUDED.tags, EXCLUDED.url)",
    )
    .bind(ids)
    .bind(questions)
    .bind(answers)
    .bind(tags)
    .bind(urls)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn import_tickets(
    pool: &PgPool,
    tickets: &[Ticket],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Ticket;
    let tickets = plan::last_wins(tickets, |t| t.id.as_str());
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool, kind).await?;
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
    conn: &mut PgConnection,
    batch: &[&Ticket],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<&str> = batch.iter().map(|t| t.id.as_str()).collect();
    let messages: Vec<&str> = batch.iter().map(|t| t.message.as_str()).collect();
    let faq_ids: Vec<Option<&str>> = batch.iter().map(|t| t.faq_id.as_deref()).collect();
    let answers: Vec<Option<&str>> = batch.iter().map(|t| t.answer.as_deref()).collect();
    // ORDER BY the array position so that new tickets take their seq in import order.
    let done = sqlx::query(
        "INSERT INTO tickets (id, message, faq_id, answer, created_at, updated_at) \
         SELECT id, message, faq_id, answer, $5::bigint, $5::bigint \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
           AS t(id, message, faq_id, answer, n) \
         ORDER BY n \
         ON CONFLICT (id) DO UPDATE SET message = EXCLUDED.message, \
           faq_id = EXCLUDED.faq_id, answer = EXCLUDED.answer, \
           updated_at = EXCLUDED.updated_at \
         WHERE (tickets.message, tickets.faq_id, tickets.answer) \
           IS DISTINCT FROM (EXCLUDED.message, EXCLUDED.faq_id, EXCLUDED.answer)",
    )
    .bind(ids)
    .bind(messages)
    .bind(faq_ids)
    .bind(answers)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn import_doc_passages(
    pool: &PgPool,
    passages: &[DocPassage],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Doc;
    let passages = plan::last_wins(passages, |p| p.id.as_str());
    let documents = plan::documents_of(&passages);
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool, kind).await?;
        let old = stored_passages(&mut tx, &documents).await?;
        let (rows, outcome) = plan::plan_passages(&passages, old, now);
        sqlx::query("DELETE FROM doc_passages WHERE document = ANY($1)")
            .bind(&documents)
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
    conn: &mut PgConnection,
    documents: &[&str],
) -> Result<Vec<StoredPassage>, sqlx::Error> {
    let rows: Vec<sql::StoredPassageRow> = sqlx::query_as(
        "SELECT id, document, position, title, text, created_at, updated_at \
         FROM doc_passages WHERE document = ANY($1)",
    )
    .bind(documents)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(sql::stored_passage).collect())
}

async fn insert_passages(
    conn: &mut PgConnection,
    batch: &[PassageRow<'_>],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = batch.iter().map(|r| r.passage.id.as_str()).collect();
    let documents: Vec<&str> = batch.iter().map(|r| r.passage.document.as_str()).collect();
    let positions: Vec<i64> = batch.iter().map(|r| r.position).collect();
    let titles: Vec<&str> = batch.iter().map(|r| r.passage.title.as_str()).collect();
    let texts: Vec<&str> = batch.iter().map(|r| r.passage.text.as_str()).collect();
    let created: Vec<i64> = batch.iter().map(|r| r.created_at).collect();
    let updated: Vec<i64> = batch.iter().map(|r| r.updated_at).collect();
    sqlx::query(
        "INSERT INTO doc_passages \
           (id, document, position, title, text, created_at, updated_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], \
           $5::text[], $6::bigint[], $7::bigint[])",
    )
    .bind(ids)
    .bind(documents)
    .bind(positions)
    .bind(titles)
    .bind(texts)
    .bind(created)
    .bind(updated)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn import_products(
    pool: &PgPool,
    products: &[Product],
    progress: &Progress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let kind = KnowledgeKind::Product;
    let products = plan::last_wins(products, |p| p.id.as_str());
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let now = plan::now_unix_ms();
    let mut written = Written::new(progress);
    let result = async {
        let mut tx = begin_import(pool, kind).await?;
        let stored: Vec<sql::ProductVariantRow> =
            sqlx::query_as(&sql::select_products("WHERE p.id = ANY($1)"))
                .bind(&ids)
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
    conn: &mut PgConnection,
    products: &[&Product],
    now: i64,
) -> Result<(), sqlx::Error> {
    if products.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    sqlx::query("DELETE FROM product_variants WHERE product_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    let titles: Vec<&str> = products.iter().map(|p| p.title.as_str()).collect();
    let descriptions: Vec<&str> = products.iter().map(|p| p.description.as_str()).collect();
    let vendors: Vec<Option<&str>> = products.iter().map(|p| p.vendor.as_deref()).collect();
    let types: Vec<Option<&str>> = products.iter().map(|p| p.product_type.as_deref()).collect();
    let tags: Vec<String> = products
        .iter()
        .map(|p| plan::tags_to_json(&p.tags))
        .collect();
    let urls: Vec<Option<&str>> = products.iter().map(|p| p.url.as_deref()).collect();
    let statuses: Vec<&str> = products.iter().map(|p| p.status.as_str()).collect();
    let options: Vec<String> = products
        .iter()
        .map(|p| plan::tags_to_json(&p.options))
        .collect();
    // Only changed products reach this statement, so every conflict is an update.
    sqlx::query(
        "INSERT INTO products (id, title, description, vendor, product_type, tags, url, \
           status, options, created_at, updated_at) \
         SELECT id, title, description, vendor, product_type, tags::jsonb, url, status, \
           options::jsonb, $10::bigint, $10::bigint \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
           $6::text[], $7::text[], $8::text[], $9::text[]) \
           AS t(id, title, description, vendor, product_type, tags, url, status, options) \
         ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, \
           description = EXCLUDED.description, vendor = EXCLUDED.vendor, \
           product_type = EXCLUDED.product_type, tags = EXCLUDED.tags, url = EXCLUDED.url, \
           status = EXCLUDED.status, options = EXCLUDED.options, \
           updated_at = EXCLUDED.updated_at",
    )
    .bind(&ids)
    .bind(titles)
    .bind(descriptions)
    .bind(vendors)
    .bind(types)
    .bind(tags)
    .bind(urls)
    .bind(statuses)
    .bind(options)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    for batch in plan::variant_rows(products).chunks(BATCH_ROWS) {
        insert_variants(&mut *conn, batch).await?;
    }
    Ok(())
}

async fn insert_variants(
    conn: &mut PgConnection,
    batch: &[VariantRow<'_>],
) -> Result<(), sqlx::Error> {
    let product_ids: Vec<&str> = batch.iter().map(|r| r.product_id).collect();
    let positions: Vec<i64> = batch.iter().map(|r| r.position).collect();
    let skus: Vec<Option<&str>> = batch.iter().map(|r| r.variant.sku.as_deref()).collect();
    let option_values: Vec<&str> = batch.iter().map(|r| r.option_values.as_str()).collect();
    let prices: Vec<Option<&str>> = batch.iter().map(|r| r.variant.price.as_deref()).collect();
    let compare_at: Vec<Option<&str>> = batch
        .iter()
        .map(|r| r.variant.compare_at_price.as_deref())
        .collect();
    let stock: Vec<Option<i64>> = batch.iter().map(|r| r.variant.stock).collect();
    let barcodes: Vec<Option<&str>> = batch.iter().map(|r| r.variant.barcode.as_deref()).collect();
    sqlx::query(
        "INSERT INTO product_variants (product_id, position, sku, option_values, price, \
           compare_at_price, stock, barcode) \
         SELECT product_id, position, sku, option_values::jsonb, price, compare_at_price, \
           stock, barcode \
         FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
           $6::text[], $7::bigint[], $8::text[]) \
           AS t(product_id, position, sku, option_values, price, compare_at_price, stock, \
             barcode)",
    )
    .bind(product_ids)
    .bind(positions)
    .bind(skus)
    .bind(option_values)
    .bind(prices)
    .bind(compare_at)
    .bind(stock)
    .bind(barcodes)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn products(pool: &PgPool) -> Result<Vec<Product>, StoreError> {
    let rows: Vec<sql::ProductVariantRow> = sqlx::query_as(&sql::select_products(""))
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("products", cause))?;
    sql::products(rows)
}

pub(crate) async fn delete_faq(pool: &PgPool, id: &str) -> Result<bool, StoreError> {
    let kind = KnowledgeKind::Faq;
    let now = plan::now_unix_ms();
    let result = async {
        let mut tx = begin_import(pool, kind).await?;
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

pub(crate) async fn faqs(pool: &PgPool) -> Result<Vec<FaqEntry>, StoreError> {
    let rows: Vec<sql::FaqRow> = sqlx::query_as(sql::SELECT_FAQS)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("FAQ entries", cause))?;
    rows.into_iter().map(sql::faq_entry).collect()
}

pub(crate) async fn tickets(pool: &PgPool) -> Result<Vec<Ticket>, StoreError> {
    let rows: Vec<sql::TicketRow> = sqlx::query_as(sql::SELECT_TICKETS)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("tickets", cause))?;
    Ok(rows.into_iter().map(sql::ticket).collect())
}

pub(crate) async fn doc_passages(pool: &PgPool) -> Result<Vec<DocPassage>, StoreError> {
    let rows: Vec<sql::PassageRow> = sqlx::query_as(sql::SELECT_PASSAGES)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("document passages", cause))?;
    Ok(rows.into_iter().map(sql::doc_passage).collect())
}

pub(crate) async fn kind_states(pool: &PgPool) -> Result<Vec<KindState>, StoreError> {
    let rows: Vec<sql::KindStateRow> = sqlx::query_as(sql::SELECT_KIND_STATES)
        .fetch_all(pool)
        .await
        .map_err(|cause| sql::read_error("knowledge statistics", cause))?;
    Ok(rows.into_iter().filter_map(sql::kind_state).collect())
}

pub(crate) async fn instance(pool: &PgPool) -> Result<String, StoreError> {
    sqlx::query_scalar(sql::SELECT_INSTANCE)
        .fetch_one(pool)
        .await
        .map_err(|cause| sql::read_error("the database identity", cause))
}
