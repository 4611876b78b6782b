//! The store's contract, checked identically on SQLite and PostgreSQL: every test
//! function below runs once per backend (see `on_both_backends!` at the end).

#[macro_use]
mod common;

use std::time::Instant;

use common::{ignore, Recorder};
use frontdesk_core::{DocPassage, FaqEntry, KnowledgeKind, SentenceVectors, Ticket, VectorChanges};
use frontdesk_store::{ImportOutcome, KindStats, Store, StoreError};

fn faq(id: &str, question: &str) -> FaqEntry {
    FaqEntry {
        id: id.to_string(),
        question: question.to_string(),
        answer: format!("answer to {question}"),
        tags: vec!["shipping".to_string(), "délai \"express\"".to_string()],
        url: Some(format!("https://shop.example/help/{id}")),
    }
}

fn ticket(n: usize) -> Ticket {
    Ticket {
        id: format!("t-{n:05}"),
        message: format!("where is my order number {n}?"),
        faq_id: (!n.is_multiple_of(3)).then(|| format!("faq-{}", n % 7)),
        answer: n
            .is_multiple_of(2)
            .then(|| "It ships tomorrow.".to_string()),
    }
}

fn tickets(count: usize) -> Vec<Ticket> {
    (0..count).map(ticket).collect()
}

fn passage(document: &str, n: usize, text: &str) -> DocPassage {
    DocPassage {
        id: format!("{document}#{n}"),
        document: document.to_string(),
        title: format!("Section {n}"),
        text: text.to_string(),
    }
}

fn outcome(inserted: u64, updated: u64, removed: u64) -> ImportOutcome {
    ImportOutcome {
        inserted,
        updated,
        removed,
    }
}

fn stats_of(stats: &[KindStats], kind: KnowledgeKind) -> KindStats {
    *stats.iter().find(|s| s.kind == kind).unwrap()
}

async fn faqs_round_trip_in_id_order(store: Store) {
    let mut bare = faq("a-10", "Can I pay by card?");
    bare.tags.clear();
    bare.url = None;
    let entries = vec![
        faq("a-9", "Where is my parcel?"),
        bare,
        faq("B-2", "Do you ship to Canada?"),
    ];
    let done = store.import_faqs(&entries, &ignore).await.unwrap();
    assert_eq!(done, outcome(3, 0, 0));

    // Bytewise id order, whatever the database's locale: uppercase first, "a-10" < "a-9".
    let expected = vec![entries[2].clone(), entries[1].clone(), entries[0].clone()];
    assert_eq!(store.faqs().await.unwrap(), expected);
}

async fn tickets_read_back_in_import_order(store: Store) {
    let first = vec![ticket(7), ticket(2), ticket(5)];
    assert_eq!(
        store.import_tickets(&first, &ignore).await.unwrap(),
        outcome(3, 0, 0)
    );

    // faq_id "faq-0" names no stored FAQ: tickets may arrive before their FAQ.
    let mut changed = ticket(2);
    changed.faq_id = Some("faq-0".to_string());
    let second = vec![ticket(1), changed.clone()];
    assert_eq!(
        store.import_tickets(&second, &ignore).await.unwrap(),
        outcome(1, 1, 0)
    );

    let expected = vec![ticket(7), changed, ticket(5), ticket(1)];
    assert_eq!(store.tickets().await.unwrap(), expected);
}

async fn reimport_updates_instead_of_duplicating(store: Store) {
    let entries = vec![faq("f1", "one"), faq("f2", "two"), faq("f3", "three")];
    store.import_faqs(&entries, &ignore).await.unwrap();
    assert_eq!(
        store.import_faqs(&entries, &ignore).await.unwrap(),
        outcome(0, 0, 0)
    );

    let mut again = entries.clone();
    again[1].answer = "a better answer".to_string();
    again[2].tags.push("new-tag".to_string());
    again.push(faq("f4", "four"));
    assert_eq!(
        store.import_faqs(&again, &ignore).await.unwrap(),
        outcome(1, 2, 0)
    );
    assert_eq!(store.faqs().await.unwrap(), again);

    let all = tickets(50);
    store.import_tickets(&all, &ignore).await.unwrap();
    assert_eq!(
        store.import_tickets(&all, &ignore).await.unwrap(),
        outcome(0, 0, 0)
    );
    assert_eq!(store.tickets().await.unwrap(), all);
}

async fn repeated_ids_in_one_import_keep_the_last(store: Store) {
    let mut later = faq("f1", "one, reworded");
    later.tags = vec!["x".to_string()];
    let entries = vec![faq("f1", "one"), faq("f2", "two"), later.clone()];
    assert_eq!(
        store.import_faqs(&entries, &ignore).await.unwrap(),
        outcome(2, 0, 0)
    );
    assert_eq!(store.faqs().await.unwrap(), vec![later, faq("f2", "two")]);
}

async fn failed_import_writes_nothing(store: Store) {
    store
        .import_faqs(&[faq("f1", "one")], &ignore)
        .await
        .unwrap();
    store.import_tickets(&tickets(10), &ignore).await.unwrap();
    let revision = store.knowledge_revision().await.unwrap();
    let stats = store.knowledge_stats().await.unwrap();

    // The bad row sits in the third batch, after two batches were written.
    let mut batch = tickets(1200);
    batch[3].message = "changed before the failure".to_string();
    batch[1100].id = String::new();
    let recorder = Recorder::default();
    let err = store
        .import_tickets(&batch, &recorder.callback())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Import {
                kind: KnowledgeKind::Ticket,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("importing tickets failed"),
        "{err}"
    );
    assert!(err.to_string().contains("tickets_id_not_empty"), "{err}");
    assert_eq!(
        recorder.calls(),
        vec![500, 1000],
        "rows were written before the failure"
    );

    let mut changed = faq("f1", "one, changed");
    changed.url = None;
    let bad = FaqEntry {
        id: String::new(),
        ..faq("x", "no id")
    };
    assert!(store.import_faqs(&[changed, bad], &ignore).await.is_err());

    assert_eq!(store.tickets().await.unwrap(), tickets(10));
    assert_eq!(store.faqs().await.unwrap(), vec![faq("f1", "one")]);
    assert_eq!(store.knowledge_stats().await.unwrap(), stats);
    assert_eq!(store.knowledge_revision().await.unwrap(), revision);
}

async fn doc_reimport_replaces_its_passages(store: Store) {
    let first = vec![
        passage("guide.md", 0, "intro"),
        passage("returns.md", 0, "thirty days"),
        passage("guide.md", 1, "sizes"),
        passage("guide.md", 2, "care"),
    ];
    assert_eq!(
        store.import_doc_passages(&first, &ignore).await.unwrap(),
        outcome(4, 0, 0)
    );
    let read: Vec<String> = store
        .doc_passages()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        read,
        ["guide.md#0", "guide.md#1", "guide.md#2", "returns.md#0"]
    );

    // guide.md shrinks to two passages, the second reworded; returns.md is not named.
    let second = vec![
        passage("guide.md", 0, "intro"),
        passage("guide.md", 1, "sizes, updated"),
    ];
    assert_eq!(
        store.import_doc_passages(&second, &ignore).await.unwrap(),
        outcome(0, 1, 1)
    );
    let mut expected = second.clone();
    expected.push(passage("returns.md", 0, "thirty days"));
    assert_eq!(store.doc_passages().await.unwrap(), expected);

    let revision = store.knowledge_revision().await.unwrap();
    assert_eq!(
        store.import_doc_passages(&second, &ignore).await.unwrap(),
        outcome(0, 0, 0)
    );
    assert_eq!(store.knowledge_revision().await.unwrap(), revision);

    // Ten passages: "#10" must read after "#9", which an id order would not give.
    let long: Vec<DocPassage> = (0..11).map(|n| passage("long.md", n, "x")).collect();
    store.import_doc_passages(&long, &ignore).await.unwrap();
    let read: Vec<DocPassage> = store.doc_passages().await.unwrap();
    let long_read: Vec<DocPassage> = read
        .into_iter()
        .filter(|p| p.document == "long.md")
        .collect();
    assert_eq!(long_read, long);
}

async fn stats_and_revision_follow_changes(store: Store) {
    let empty = store.knowledge_stats().await.unwrap();
    let kinds: Vec<KnowledgeKind> = empty.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, KnowledgeKind::ALL);
    assert!(empty
        .iter()
        .all(|s| s.count == 0 && s.last_changed_unix_ms.is_none()));
    let rev0 = store.knowledge_revision().await.unwrap();

    store
        .import_faqs(&[faq("f1", "one"), faq("f2", "two")], &ignore)
        .await
        .unwrap();
    let stats = store.knowledge_stats().await.unwrap();
    let faqs = stats_of(&stats, KnowledgeKind::Faq);
    assert_eq!(faqs.count, 2);
    assert!(faqs.last_changed_unix_ms.is_some());
    assert_eq!(stats_of(&stats, KnowledgeKind::Ticket).count, 0);
    let rev1 = store.knowledge_revision().await.unwrap();
    assert_ne!(rev1, rev0);

    store
        .import_faqs(&[faq("f2", "two")], &ignore)
        .await
        .unwrap();
    assert_eq!(store.knowledge_revision().await.unwrap(), rev1);
    assert_eq!(store.knowledge_stats().await.unwrap(), stats);

    store.import_tickets(&tickets(3), &ignore).await.unwrap();
    let rev2 = store.knowledge_revision().await.unwrap();
    assert_ne!(rev2, rev1);
    let docs = vec![passage("a.md", 0, "x"), passage("a.md", 1, "y")];
    store.import_doc_passages(&docs, &ignore).await.unwrap();
    let before_removal = stats_of(&store.knowledge_stats().await.unwrap(), KnowledgeKind::Doc);
    let rev3 = store.knowledge_revision().await.unwrap();

    // A removal alone leaves max(updated_at) where it was but must still count.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let removed = store
        .import_doc_passages(&docs[..1], &ignore)
        .await
        .unwrap();
    assert_eq!(removed, outcome(0, 0, 1));
    let after_removal = stats_of(&store.knowledge_stats().await.unwrap(), KnowledgeKind::Doc);
    assert_eq!(after_removal.count, 1);
    assert!(after_removal.last_changed_unix_ms > before_removal.last_changed_unix_ms);
    assert_ne!(store.knowledge_revision().await.unwrap(), rev3);
}

async fn progress_is_reported_per_batch_and_at_the_end(store: Store) {
    let recorder = Recorder::default();
    store
        .import_tickets(&tickets(1200), &recorder.callback())
        .await
        .unwrap();
    assert_eq!(recorder.calls(), vec![500, 1000, 1200]);

    let recorder = Recorder::default();
    store.import_faqs(&[], &recorder.callback()).await.unwrap();
    assert_eq!(recorder.calls(), vec![0]);
}

async fn nine_thousand_tickets_import_quickly(store: Store) {
    let all = tickets(9000);
    let started = Instant::now();
    let done = store.import_tickets(&all, &ignore).await.unwrap();
    let took = started.elapsed();
    println!("{}: imported 9,000 tickets in {took:?}", store.backend());
    assert_eq!(done, outcome(9000, 0, 0));
    assert!(took.as_secs_f64() < 1.0, "9,000 tickets took {took:?}");

    let started = Instant::now();
    assert_eq!(
        store.import_tickets(&all, &ignore).await.unwrap(),
        outcome(0, 0, 0)
    );
    println!(
        "{}: re-imported them unchanged in {:?}",
        store.backend(),
        started.elapsed()
    );
    assert_eq!(store.tickets().await.unwrap().len(), 9000);
}

async fn concurrent_imports_of_one_kind_count_exactly(store: Store) {
    // Overlapping halves: whichever import runs second finds 300 tickets already there,
    // unchanged, and must count them as neither inserted nor updated.
    let all = tickets(900);
    let (first, second) = (&all[..600], &all[300..]);
    let (a, b) = tokio::join!(
        store.import_tickets(first, &ignore),
        store.import_tickets(second, &ignore)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.inserted + b.inserted, 900, "{a:?} {b:?}");
    assert_eq!(a.updated + b.updated, 0, "{a:?} {b:?}");
    assert_eq!(store.tickets().await.unwrap().len(), 900);
}

/// Vectors come back exactly as kept, per model; keeping one again replaces it, unused
/// ones are forgotten, and a thousand (more than one statement's worth) go in one call.
async fn sentence_vectors_are_kept_per_model_and_replaced(store: Store) {
    let vector =
        |seed: u64| -> Vec<f32> { (0..384).map(|i| (seed * 31 + i) as f32 / 7.0).collect() };
    let encoded = |model: &str, vectors: Vec<(u64, Vec<f32>)>| SentenceVectors {
        model: model.to_string(),
        vectors: vectors.into_iter().collect(),
    };
    let kept = |encoded: SentenceVectors, unused: Vec<u64>| VectorChanges { encoded, unused };
    let many = encoded(
        "minilm",
        (0..1_000u64)
            .map(|n| (n.wrapping_mul(0x9e37_79b9_7f4a_7c15), vector(n)))
            .collect(),
    );
    assert_eq!(
        store.sentence_vectors("minilm").await.unwrap(),
        SentenceVectors::new("minilm")
    );

    store
        .update_sentence_vectors(&kept(many.clone(), Vec::new()))
        .await
        .unwrap();
    let other = encoded("other-model", vec![(7, vec![1.0, 2.0])]);
    store
        .update_sentence_vectors(&kept(other.clone(), Vec::new()))
        .await
        .unwrap();
    assert_eq!(store.sentence_vectors("minilm").await.unwrap(), many);
    assert_eq!(store.sentence_vectors("other-model").await.unwrap(), other);

    // Keys above i64::MAX (half of all hashes) survive the signed column.
    let key = u64::MAX - 3;
    let replaced = encoded("minilm", vec![(key, vec![0.25; 384]), (7, vector(99))]);
    store
        .update_sentence_vectors(&kept(replaced.clone(), Vec::new()))
        .await
        .unwrap();
    let read = store.sentence_vectors("minilm").await.unwrap();
    let added = replaced
        .vectors
        .keys()
        .filter(|k| !many.vectors.contains_key(k))
        .count();
    assert_eq!(read.len(), many.len() + added);
    assert_eq!(read.vectors[&key], vec![0.25f32; 384]);
    assert_eq!(read.vectors[&7], vector(99));

    // Forgetting: every key of the first thousand but one, and a key never stored.
    let mut unused: Vec<u64> = many.vectors.keys().copied().filter(|k| *k != 0).collect();
    unused.push(12_345);
    store
        .update_sentence_vectors(&kept(SentenceVectors::new("minilm"), unused))
        .await
        .unwrap();
    let left = store.sentence_vectors("minilm").await.unwrap();
    let mut keys: Vec<u64> = left.vectors.keys().copied().collect();
    keys.sort_unstable();
    let mut expected = vec![0, 7, key];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(
        store.sentence_vectors("other-model").await.unwrap(),
        other,
        "another model's vectors are left alone"
    );

    // A retired model's vectors go all at once; the others stay.
    let forgotten = store
        .forget_sentence_vectors(|model| model.starts_with("other"))
        .await
        .unwrap();
    assert_eq!(forgotten, ["other-model"]);
    assert!(store
        .sentence_vectors("other-model")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.sentence_vectors("minilm").await.unwrap(), left);
    let nothing = store.forget_sentence_vectors(|_| false).await.unwrap();
    assert!(nothing.is_empty());
}

on_both_backends!(
    sentence_vectors_are_kept_per_model_and_replaced,
    faqs_round_trip_in_id_order,
    tickets_read_back_in_import_order,
    reimport_updates_instead_of_duplicating,
    repeated_ids_in_one_import_keep_the_last,
    failed_import_writes_nothing,
    doc_reimport_replaces_its_passages,
    stats_and_revision_follow_changes,
    progress_is_reported_per_batch_and_at_the_end,
    nine_thousand_tickets_import_quickly,
    concurrent_imports_of_one_kind_count_exactly,
);
