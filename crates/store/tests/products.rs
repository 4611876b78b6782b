//! The product catalog in the store, checked identically on SQLite and PostgreSQL (see
//! `on_both_backends!` at the end), and the upgrade of a database made before products.

#[macro_use]
mod common;

use std::path::Path;

use common::{ignore, Recorder};
use frontdesk_core::{KnowledgeKind, Product, ProductStatus, ProductVariant};
use frontdesk_store::{ImportOutcome, Store, StoreError};

fn variant(color: &str, size: &str, price: &str) -> ProductVariant {
    ProductVariant {
        sku: Some(format!("TEE-{color}-{size}")),
        option_values: vec![color.to_string(), size.to_string()],
        price: Some(price.to_string()),
        compare_at_price: Some("30.00".to_string()),
        stock: Some(3),
        barcode: Some("3.65275E+11".to_string()),
    }
}

/// A tee in three sizes, listed S, M, L: not their alphabetical order.
fn tee(id: &str) -> Product {
    Product {
        id: id.to_string(),
        title: "Classic tee".to_string(),
        description: "Soft cotton.\n\nMachine washable.".to_string(),
        vendor: Some("Acme".to_string()),
        product_type: Some("Shirts".to_string()),
        tags: vec!["cotton".to_string(), "summer \"sale\"".to_string()],
        url: Some(format!("https://shop.example/products/{id}")),
        status: ProductStatus::Active,
        options: vec!["Color".to_string(), "Size".to_string()],
        variants: vec![
            variant("Blue", "S", "25"),
            variant("Blue", "M", "25"),
            variant("Blue", "L", "27.50"),
        ],
    }
}

/// A product with nothing but its title: no options, variants or optional fields.
fn bare(id: &str) -> Product {
    Product {
        id: id.to_string(),
        title: "Gift card".to_string(),
        description: String::new(),
        vendor: None,
        product_type: None,
        tags: Vec::new(),
        url: None,
        status: ProductStatus::Draft,
        options: Vec::new(),
        variants: Vec::new(),
    }
}

fn outcome(inserted: u64, updated: u64) -> ImportOutcome {
    ImportOutcome {
        inserted,
        updated,
        removed: 0,
    }
}

fn product_count(stats: &[frontdesk_store::KindStats]) -> u64 {
    let products = stats.iter().find(|s| s.kind == KnowledgeKind::Product);
    products.expect("a product row in the stats").count
}

async fn products_round_trip_in_id_order(store: Store) {
    let mut untracked = bare("b-10");
    untracked.status = ProductStatus::Archived;
    untracked.variants = vec![ProductVariant {
        sku: None,
        option_values: Vec::new(),
        price: None,
        compare_at_price: None,
        stock: None,
        barcode: None,
    }];
    let products = vec![tee("b-9"), untracked, bare("A-1")];
    assert_eq!(
        store.import_products(&products, &ignore).await.unwrap(),
        outcome(3, 0)
    );

    // Bytewise id order on both backends; variants in the order they were imported.
    let expected = vec![
        products[2].clone(),
        products[1].clone(),
        products[0].clone(),
    ];
    assert_eq!(store.products().await.unwrap(), expected);
    assert_eq!(product_count(&store.knowledge_stats().await.unwrap()), 3);
}

async fn reimport_counts_only_changed_products(store: Store) {
    let first = vec![tee("tee"), tee("polo"), bare("card")];
    store.import_products(&first, &ignore).await.unwrap();
    let revision = store.knowledge_revision().await.unwrap();
    let stats = store.knowledge_stats().await.unwrap();

    assert_eq!(
        store.import_products(&first, &ignore).await.unwrap(),
        outcome(0, 0)
    );
    assert_eq!(store.knowledge_revision().await.unwrap(), revision);
    assert_eq!(store.knowledge_stats().await.unwrap(), stats);

    // One variant's price changes, another product loses a variant, one is new.
    let mut second = first.clone();
    second[0].variants[1].price = Some("26".to_string());
    second[1].variants.pop();
    second.push(bare("sticker"));
    assert_eq!(
        store.import_products(&second, &ignore).await.unwrap(),
        outcome(1, 2)
    );
    assert_ne!(store.knowledge_revision().await.unwrap(), revision);
    let mut expected = second.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.products().await.unwrap(), expected);

    // Importing part of the catalog leaves the rest as it is.
    let mut third = vec![second[2].clone()];
    third[0].title = "Gift card, any amount".to_string();
    assert_eq!(
        store.import_products(&third, &ignore).await.unwrap(),
        outcome(0, 1)
    );
    assert_eq!(store.products().await.unwrap().len(), 4);
}

async fn repeated_ids_in_one_import_keep_the_last(store: Store) {
    let mut later = tee("tee");
    later.title = "Classic tee, reworded".to_string();
    let products = vec![tee("tee"), bare("card"), later.clone()];
    assert_eq!(
        store.import_products(&products, &ignore).await.unwrap(),
        outcome(2, 0)
    );
    assert_eq!(store.products().await.unwrap(), vec![bare("card"), later]);
}

async fn failed_import_writes_nothing(store: Store) {
    store.import_products(&[tee("tee")], &ignore).await.unwrap();
    let revision = store.knowledge_revision().await.unwrap();

    let mut changed = tee("tee");
    changed.title = "changed before the failure".to_string();
    let err = store
        .import_products(&[changed.clone(), bare("")], &ignore)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Import {
                kind: KnowledgeKind::Product,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("importing products failed"),
        "{err}"
    );
    assert!(err.to_string().contains("products_id_not_empty"), "{err}");

    // Two variants with the same options pass only when the importer is bypassed.
    let mut repeated = changed;
    repeated.variants.push(variant("Blue", "S", "1"));
    let err = store
        .import_products(&[repeated], &ignore)
        .await
        .unwrap_err();
    // SQLite names the table's columns, PostgreSQL the constraint.
    assert!(err.to_string().contains("product_variants"), "{err}");

    assert_eq!(store.products().await.unwrap(), vec![tee("tee")]);
    assert_eq!(store.knowledge_revision().await.unwrap(), revision);
}

async fn progress_counts_products_per_batch(store: Store) {
    let catalog: Vec<Product> = (0..1200).map(|n| tee(&format!("p{n:04}"))).collect();
    let recorder = Recorder::default();
    let done = store
        .import_products(&catalog, &recorder.callback())
        .await
        .unwrap();
    assert_eq!(done, outcome(1200, 0));
    assert_eq!(recorder.calls(), vec![500, 1000, 1200]);
    assert_eq!(store.products().await.unwrap().len(), 1200);

    // Unchanged products are done too, though nothing is written for them.
    let recorder = Recorder::default();
    store
        .import_products(&catalog, &recorder.callback())
        .await
        .unwrap();
    assert_eq!(recorder.calls(), vec![500, 1000, 1200]);

    let recorder = Recorder::default();
    store
        .import_products(&[], &recorder.callback())
        .await
        .unwrap();
    assert_eq!(recorder.calls(), vec![0]);
}

async fn product_changes_move_only_the_product_revision(store: Store) {
    let stats = store.knowledge_stats().await.unwrap();
    let kinds: Vec<KnowledgeKind> = stats.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, KnowledgeKind::ALL);
    let product_stats = |stats: &[frontdesk_store::KindStats]| {
        *stats
            .iter()
            .find(|s| s.kind == KnowledgeKind::Product)
            .unwrap()
    };
    assert_eq!(product_stats(&stats).last_changed_unix_ms, None);

    store.import_products(&[tee("tee")], &ignore).await.unwrap();
    let after = store.knowledge_stats().await.unwrap();
    assert_eq!(product_stats(&after).count, 1);
    assert!(product_stats(&after).last_changed_unix_ms.is_some());
    let others = |stats: &[frontdesk_store::KindStats]| {
        stats
            .iter()
            .filter(|s| s.kind != KnowledgeKind::Product)
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&after), others(&stats));
}

on_both_backends!(
    products_round_trip_in_id_order,
    reimport_counts_only_changed_products,
    repeated_ids_in_one_import_keep_the_last,
    failed_import_writes_nothing,
    progress_counts_products_per_batch,
    product_changes_move_only_the_product_revision,
);

// ---- upgrading a database made before products ---------------------------------------

/// The migrations of `backend` that came before products, copied to `into`, so that a
/// database can be brought to the schema an earlier version left.
fn earlier_migrations(backend: &str, into: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0004" {
            std::fs::copy(&path, into.join(name)).unwrap();
        }
    }
}

/// Knowledge as an earlier version stored it: one FAQ entry and its revision bump.
const EARLIER_KNOWLEDGE: [&str; 2] = [
    "INSERT INTO faq_entries (id, question, answer, created_at, updated_at) \
     VALUES ('f1', 'q', 'a', 1, 1)",
    "UPDATE knowledge_revisions SET revision = 1, changed_at = 1 WHERE kind = 'faq'",
];

/// After the upgrade the earlier knowledge and its revision are kept, and products can
/// be imported.
async fn check_upgraded(store: Store) {
    let stats = store.knowledge_stats().await.unwrap();
    let faqs = stats.iter().find(|s| s.kind == KnowledgeKind::Faq).unwrap();
    assert_eq!((faqs.count, faqs.last_changed_unix_ms), (1, Some(1)));
    assert_eq!(product_count(&stats), 0);
    let revision = store.knowledge_revision().await.unwrap();
    assert!(
        revision.ends_with("-faq1.ticket0.doc0.product0"),
        "{revision}"
    );

    store.import_products(&[tee("tee")], &ignore).await.unwrap();
    assert_eq!(store.products().await.unwrap(), vec![tee("tee")]);
    store.close().await;
}

#[tokio::test]
async fn sqlite_database_from_before_products_is_upgraded() {
    use sqlx::migrate::Migrator;
    use sqlx::sqlite::SqlitePoolOptions;

    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    earlier_migrations("sqlite", &migrations);
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());

    let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
    Migrator::new(migrations.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for statement in EARLIER_KNOWLEDGE {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    check_upgraded(Store::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_database_from_before_products_is_upgraded() {
    use sqlx::migrate::Migrator;
    use sqlx::postgres::PgPoolOptions;

    let Some(server_url) = common::postgres_url() else {
        return;
    };
    let schema = Store::unique_schema_name("fd_store_upgrade");
    let admin = PgPoolOptions::new().connect(&server_url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = Store::postgres_url_in_schema(&server_url, &schema).unwrap();

    let outcome = tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        earlier_migrations("postgres", dir.path());
        let pool = PgPoolOptions::new().connect(&url).await.unwrap();
        Migrator::new(dir.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for statement in EARLIER_KNOWLEDGE {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
        check_upgraded(Store::connect(&url).await.unwrap()).await;
    })
    .await;
    Store::drop_schema(&server_url, &schema).await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}
