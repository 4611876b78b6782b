//! SQL text and row conversions that both backends share. Statements here use only
//! syntax that SQLite and PostgreSQL read alike (`$n` placeholders, `CAST`, `count(*)`).

use std::collections::HashMap;

use frontdesk_core::{
    DocPassage, FaqEntry, KnowledgeKind, Product, ProductStatus, ProductVariant, Ticket,
};

use crate::plan::{self, StoredPassage};
use crate::{KindState, StoreError};

pub(crate) const BUMP_REVISION: &str =
    "UPDATE knowledge_revisions SET revision = revision + 1, changed_at = $2 WHERE kind = $1";

pub(crate) const DELETE_FAQ: &str = "DELETE FROM faq_entries WHERE id = $1";

pub(crate) fn count_rows(kind: KnowledgeKind) -> &'static str {
    match kind {
        KnowledgeKind::Faq => "SELECT count(*) FROM faq_entries",
        KnowledgeKind::Ticket => "SELECT count(*) FROM tickets",
        KnowledgeKind::Doc => "SELECT count(*) FROM doc_passages",
        KnowledgeKind::Product => "SELECT count(*) FROM products",
    }
}

// Ids and documents compare bytewise on both backends (COLLATE "C" on PostgreSQL), so
// these orders agree across them.
pub(crate) const SELECT_FAQS: &str =
    "SELECT id, question, answer, CAST(tags AS TEXT), url FROM faq_entries ORDER BY id";
pub(crate) const SELECT_TICKETS: &str =
    "SELECT id, message, faq_id, answer FROM tickets ORDER BY seq";
pub(crate) const SELECT_PASSAGES: &str =
    "SELECT id, document, title, text FROM doc_passages ORDER BY document, position";
pub(crate) const SELECT_INSTANCE: &str = "SELECT instance FROM store_identity";
pub(crate) const SELECT_KIND_STATES: &str = "SELECT kind, revision, changed_at, \
     CASE kind \
       WHEN 'faq' THEN (SELECT count(*) FROM faq_entries) \
       WHEN 'ticket' THEN (SELECT count(*) FROM tickets) \
       WHEN 'doc' THEN (SELECT count(*) FROM doc_passages) \
       WHEN 'product' THEN (SELECT count(*) FROM products) \
       ELSE 0 \
     END \
     FROM knowledge_revisions";

pub(crate) type FaqRow = (String, String, String, String, Option<String>);
pub(crate) type TicketRow = (String, String, Option<String>, Option<String>);
pub(crate) type PassageRow = (String, String, String, String);
pub(crate) type StoredPassageRow = (String, String, i64, String, String, i64, i64);
pub(crate) type KindStateRow = (String, i64, Option<i64>, i64);

/// A product with one of its variants, or with none when it has no variants.
#[derive(sqlx::FromRow)]
pub(crate) struct ProductVariantRow {
    id: String,
    title: String,
    description: String,
    vendor: Option<String>,
    product_type: Option<String>,
    tags: String,
    url: Option<String>,
    status: String,
    options: String,
    // All null for a product without variants (the outer join found none).
    sku: Option<String>,
    option_values: Option<String>,
    price: Option<String>,
    compare_at_price: Option<String>,
    stock: Option<i64>,
    barcode: Option<String>,
}

/// Products with their variants, by id and then catalog order; `filter` (a WHERE
/// clause on `p.id`, or nothing) picks which. One statement, so that a product and its
/// variants are read from the same moment on both backends.
pub(crate) fn select_products(filter: &str) -> String {
    format!(
        "SELECT p.id, p.title, p.description, p.vendor, p.product_type, \
           CAST(p.tags AS TEXT) AS tags, p.url, p.status, CAST(p.options AS TEXT) AS options, \
           v.sku, CAST(v.option_values AS TEXT) AS option_values, v.price, \
           v.compare_at_price, v.stock, v.barcode \
         FROM products p LEFT JOIN product_variants v ON v.product_id = p.id \
         {filter} ORDER BY p.id, v.position"
    )
}

pub(crate) fn read_error(what: &'static str, cause: sqlx::Error) -> StoreError {
    StoreError::Read { what, cause }
}

pub(crate) fn faq_entry((id, question, answer, tags, url): FaqRow) -> Result<FaqEntry, StoreError> {
    let tags = plan::tags_from_json(&id, &tags)?;
    Ok(FaqEntry {
        id,
        question,
        answer,
        tags,
        url,
    })
}

pub(crate) fn ticket((id, message, faq_id, answer): TicketRow) -> Ticket {
    Ticket {
        id,
        message,
        faq_id,
        answer,
    }
}

pub(crate) fn doc_passage((id, document, title, text): PassageRow) -> DocPassage {
    DocPassage {
        id,
        document,
        title,
        text,
    }
}

pub(crate) fn stored_passage(row: StoredPassageRow) -> StoredPassage {
    let (id, document, position, title, text, created_at, updated_at) = row;
    StoredPassage {
        id,
        document,
        position,
        title,
        text,
        created_at,
        updated_at,
    }
}

/// `None` for a kind this version does not know; the migration's CHECK rules that out.
pub(crate) fn kind_state((kind, revision, changed_at, rows): KindStateRow) -> Option<KindState> {
    Some(KindState {
        kind: plan::kind_from_str(&kind)?,
        rows,
        revision,
        changed_at,
    })
}

/// Products from rows of [`select_products`], which come grouped by product.
pub(crate) fn products(rows: Vec<ProductVariantRow>) -> Result<Vec<Product>, StoreError> {
    read_products(rows)
        .into_iter()
        .map(|(_, product)| product)
        .collect()
}

/// Like [`products`], by id, with `None` for a product whose stored form cannot be read:
/// an import then writes it again, which repairs it.
pub(crate) fn stored_products(rows: Vec<ProductVariantRow>) -> HashMap<String, Option<Product>> {
    read_products(rows)
        .into_iter()
        .map(|(id, product)| (id, product.ok()))
        .collect()
}

/// Each product's id and the product, or why it cannot be read.
fn read_products(rows: Vec<ProductVariantRow>) -> Vec<(String, Result<Product, StoreError>)> {
    let mut products: Vec<(String, Result<Product, StoreError>)> = Vec::new();
    for row in rows {
        if products.last().is_none_or(|(id, _)| *id != row.id) {
            products.push((row.id.clone(), product(&row)));
        }
        let Some(option_values) = &row.option_values else {
            continue;
        };
        let variant = string_list(&row.id, "variant option values", option_values);
        if let Some((_, read)) = products.last_mut() {
            match (read, variant) {
                (Ok(product), Ok(option_values)) => product.variants.push(ProductVariant {
                    sku: row.sku,
                    option_values,
                    price: row.price,
                    compare_at_price: row.compare_at_price,
                    stock: row.stock,
                    barcode: row.barcode,
                }),
                (read @ Ok(_), Err(e)) => *read = Err(e),
                // Already unreadable: the first problem found is the one reported.
                (Err(_), _) => {}
            }
        }
    }
    products
}

fn product(row: &ProductVariantRow) -> Result<Product, StoreError> {
    let status =
        ProductStatus::from_name(&row.status).ok_or_else(|| StoreError::CorruptProduct {
            id: row.id.clone(),
            problem: format!("unknown status {:?}", row.status),
        })?;
    Ok(Product {
        id: row.id.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        vendor: row.vendor.clone(),
        product_type: row.product_type.clone(),
        tags: string_list(&row.id, "tags", &row.tags)?,
        url: row.url.clone(),
        status,
        options: string_list(&row.id, "options", &row.options)?,
        variants: Vec::new(),
    })
}

fn string_list(id: &str, what: &str, json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::CorruptProduct {
        id: id.to_string(),
        problem: format!("{what}: {e}"),
    })
}
