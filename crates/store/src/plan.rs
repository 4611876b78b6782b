//! What an import writes, decided the same way for both backends: which input rows win
//! when ids repeat, how a document re-import maps old passages to new ones, how counts
//! and revisions are derived. Nothing here touches a database.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use frontdesk_core::{DocPassage, KnowledgeKind, Product, ProductVariant};

use crate::{ImportOutcome, StoreError};

/// Rows per INSERT statement, and so how often progress is reported. Small enough for
/// SQLite's bound-parameter limit (7 columns x 500 rows), large enough that statement
/// round trips do not dominate.
pub(crate) const BATCH_ROWS: usize = 500;

pub(crate) fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The rows of `items` to write when ids repeat within one import: the last occurrence
/// of each id wins, as a row-by-row upsert would have it. Doing it here keeps both
/// backends alike, since PostgreSQL refuses to upsert one row twice in a statement.
pub(crate) fn last_wins<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        last.insert(id(item), index);
    }
    items
        .iter()
        .enumerate()
        .filter(|(index, item)| last.get(id(item)) == Some(index))
        .map(|(_, item)| item)
        .collect()
}

/// A list of strings (tags, option names or values) as the JSON array stored for it.
pub(crate) fn tags_to_json(tags: &[String]) -> String {
    serde_json::Value::from(tags.to_vec()).to_string()
}

pub(crate) fn tags_from_json(id: &str, json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|cause| StoreError::CorruptTags {
        id: id.to_string(),
        cause,
    })
}

/// Counts of an upsert import. The upserts skip rows whose content is unchanged, so
/// `affected` is inserted + really updated; the row counts taken before and after, inside
/// the import's transaction and under its lock, tell the two apart.
pub(crate) fn upsert_outcome(rows_before: i64, rows_after: i64, affected: u64) -> ImportOutcome {
    let inserted = u64::try_from(rows_after - rows_before).unwrap_or_default();
    ImportOutcome {
        inserted,
        updated: affected.saturating_sub(inserted),
        removed: 0,
    }
}

/// A passage as stored, read back before its document is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredPassage {
    pub id: String,
    pub document: String,
    pub position: i64,
    pub title: String,
    pub text: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A passage to insert, with the place and times it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PassageRow<'a> {
    pub passage: &'a DocPassage,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The documents a passage import replaces, each named once, in first-seen order.
pub(crate) fn documents_of<'a>(passages: &[&'a DocPassage]) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    passages
        .iter()
        .map(|p| p.document.as_str())
        .filter(|document| seen.insert(*document))
        .collect()
}

/// Replacing the passages of some documents: `old` holds every stored passage of those
/// documents, `new` the passages that replace them. A passage that comes back unchanged
/// keeps both of its times, so that replacing a document by itself changes nothing.
pub(crate) fn plan_passages<'a>(
    new: &[&'a DocPassage],
    old: Vec<StoredPassage>,
    now: i64,
) -> (Vec<PassageRow<'a>>, ImportOutcome) {
    let mut old: HashMap<String, StoredPassage> =
        old.into_iter().map(|p| (p.id.clone(), p)).collect();
    let mut next_position: HashMap<&str, i64> = HashMap::new();
    let mut outcome = ImportOutcome::default();
    let rows = new
        .iter()
        .map(|passage| {
            let position = next_position.entry(&passage.document).or_insert(0);
            let row = passage_row(
                passage,
                *position,
                old.remove(&passage.id),
                now,
                &mut outcome,
            );
            *position += 1;
            row
        })
        .collect();
    outcome.removed = old.len() as u64;
    (rows, outcome)
}

fn passage_row<'a>(
    passage: &'a DocPassage,
    position: i64,
    stored: Option<StoredPassage>,
    now: i64,
    outcome: &mut ImportOutcome,
) -> PassageRow<'a> {
    let (created_at, updated_at) = match stored {
        None => {
            outcome.inserted += 1;
            (now, now)
        }
        Some(stored) if same_passage(&stored, passage, position) => {
            (stored.created_at, stored.updated_at)
        }
        Some(stored) => {
            outcome.updated += 1;
            (stored.created_at, now)
        }
    };
    PassageRow {
        passage,
        position,
        created_at,
        updated_at,
    }
}

fn same_passage(stored: &StoredPassage, passage: &DocPassage, position: i64) -> bool {
    stored.document == passage.document
        && stored.position == position
        && stored.title == passage.title
        && stored.text == passage.text
}

/// The products of an import that differ from what is stored, and the counts. `stored`
/// holds the stored products among the import's ids, `None` for one that cannot be read
/// (writing it again repairs it). An unchanged product is neither inserted nor updated,
/// and is not written, so that it keeps its `updated_at`.
pub(crate) fn changed_products<'a>(
    new: &[&'a Product],
    stored: &HashMap<String, Option<Product>>,
) -> (HashSet<&'a str>, ImportOutcome) {
    let mut outcome = ImportOutcome::default();
    let mut changed = HashSet::new();
    for product in new {
        match stored.get(&product.id) {
            Some(Some(old)) if old == *product => continue,
            Some(_) => outcome.updated += 1,
            None => outcome.inserted += 1,
        }
        changed.insert(product.id.as_str());
    }
    (changed, outcome)
}

/// The products of `batch` whose ids are in `changed`, in order.
pub(crate) fn only<'a>(batch: &[&'a Product], changed: &HashSet<&str>) -> Vec<&'a Product> {
    batch
        .iter()
        .copied()
        .filter(|p| changed.contains(p.id.as_str()))
        .collect()
}

/// A variant to insert, with its product and its place in the product's list.
pub(crate) struct VariantRow<'a> {
    pub product_id: &'a str,
    pub position: i64,
    pub variant: &'a ProductVariant,
    pub option_values: String,
}

/// The variants of `products`, each with its place, in catalog order.
pub(crate) fn variant_rows<'a>(products: &[&'a Product]) -> Vec<VariantRow<'a>> {
    products
        .iter()
        .flat_map(|product| {
            (0i64..)
                .zip(&product.variants)
                .map(|(position, variant)| VariantRow {
                    product_id: &product.id,
                    position,
                    variant,
                    option_values: tags_to_json(&variant.option_values),
                })
        })
        .collect()
}

/// The opaque knowledge revision: the database's random identity and every kind's
/// change counter, so it differs after any change and across recreated databases.
pub(crate) fn revision_string(instance: &str, counters: &[(KnowledgeKind, i64)]) -> String {
    let counters: Vec<String> = counters
        .iter()
        .map(|(kind, revision)| format!("{kind}{revision}"))
        .collect();
    format!("{instance}-{}", counters.join("."))
}

pub(crate) fn kind_from_str(kind: &str) -> Option<KnowledgeKind> {
    KnowledgeKind::ALL.into_iter().find(|k| k.as_str() == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(document: &str, n: usize, text: &str) -> DocPassage {
        DocPassage {
            id: format!("{document}#{n}"),
            document: document.to_string(),
            title: "T".to_string(),
            text: text.to_string(),
        }
    }

    fn stored(p: &DocPassage, position: i64, at: i64) -> StoredPassage {
        StoredPassage {
            id: p.id.clone(),
            document: p.document.clone(),
            position,
            title: p.title.clone(),
            text: p.text.clone(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn last_occurrence_of_an_id_wins() {
        let items = [("a", 1), ("b", 2), ("a", 3)];
        let kept: Vec<_> = last_wins(&items, |i| i.0).into_iter().copied().collect();
        assert_eq!(kept, vec![("b", 2), ("a", 3)]);
    }

    #[test]
    fn tags_round_trip_as_json() {
        let tags = vec!["a \"quoted\"".to_string(), "b".to_string()];
        let json = tags_to_json(&tags);
        assert_eq!(tags_from_json("x", &json).unwrap(), tags);
        assert!(tags_from_json("x", "{").is_err());
    }

    #[test]
    fn passages_are_positioned_per_document() {
        let (a0, b0, a1) = (
            passage("a", 0, "x"),
            passage("b", 0, "y"),
            passage("a", 1, "z"),
        );
        let (rows, outcome) = plan_passages(&[&a0, &b0, &a1], Vec::new(), 5);
        let positions: Vec<_> = rows
            .iter()
            .map(|r| (r.passage.id.as_str(), r.position))
            .collect();
        assert_eq!(positions, vec![("a#0", 0), ("b#0", 0), ("a#1", 1)]);
        assert_eq!(outcome.inserted, 3);
        assert_eq!(documents_of(&[&a0, &b0, &a1]), vec!["a", "b"]);
    }

    #[test]
    fn replanning_keeps_times_of_unchanged_passages() {
        let (a0, a1, a2) = (
            passage("a", 0, "x"),
            passage("a", 1, "y"),
            passage("a", 2, "w"),
        );
        let old = vec![stored(&a0, 0, 1), stored(&a1, 1, 1), stored(&a2, 2, 1)];
        let a1_new = passage("a", 1, "changed");
        let (rows, outcome) = plan_passages(&[&a0, &a1_new], old, 9);
        assert_eq!(
            outcome,
            ImportOutcome {
                inserted: 0,
                updated: 1,
                removed: 1
            }
        );
        assert_eq!((rows[0].created_at, rows[0].updated_at), (1, 1));
        assert_eq!((rows[1].created_at, rows[1].updated_at), (1, 9));
    }

    #[test]
    fn upsert_counts_split_inserts_from_updates() {
        let outcome = upsert_outcome(10, 13, 5);
        assert_eq!((outcome.inserted, outcome.updated), (3, 2));
    }

    fn product(id: &str, price: &str) -> Product {
        Product {
            id: id.to_string(),
            title: "Tee".to_string(),
            description: String::new(),
            vendor: None,
            product_type: None,
            tags: Vec::new(),
            url: None,
            status: frontdesk_core::ProductStatus::Active,
            options: vec!["Size".to_string()],
            variants: ["S", "M"]
                .map(|size| ProductVariant {
                    sku: None,
                    option_values: vec![size.to_string()],
                    price: Some(price.to_string()),
                    compare_at_price: None,
                    stock: None,
                    barcode: None,
                })
                .to_vec(),
        }
    }

    #[test]
    fn only_new_and_changed_products_are_written() {
        let (same, dearer, new, unreadable) = (
            product("same", "5"),
            product("dearer", "9"),
            product("new", "5"),
            product("unreadable", "5"),
        );
        let stored = HashMap::from([
            ("same".to_string(), Some(product("same", "5"))),
            ("dearer".to_string(), Some(product("dearer", "5"))),
            ("unreadable".to_string(), None),
        ]);
        let (changed, outcome) = changed_products(&[&same, &dearer, &new, &unreadable], &stored);
        assert_eq!(changed, HashSet::from(["dearer", "new", "unreadable"]));
        assert_eq!((outcome.inserted, outcome.updated), (1, 2));
    }

    #[test]
    fn variants_are_placed_per_product() {
        let (a, b) = (product("a", "1"), product("b", "2"));
        let rows = variant_rows(&[&a, &b]);
        let places: Vec<_> = rows.iter().map(|r| (r.product_id, r.position)).collect();
        assert_eq!(places, [("a", 0), ("a", 1), ("b", 0), ("b", 1)]);
        assert_eq!(rows[1].option_values, r#"["M"]"#);
    }

    #[test]
    fn revision_names_every_counter() {
        let counters = [(KnowledgeKind::Faq, 2), (KnowledgeKind::Doc, 0)];
        assert_eq!(revision_string("abc", &counters), "abc-faq2.doc0");
    }
}
