//! What embedding costs per customer question: one short and one long question alone (what
//! a live decision pays) and a batch of 32 (what an import pays per text), in each precision, with
//! one thread and with every thread the process may use.
//!
//! `FRONTDESK_TEST_MODEL_DIR=<folder with the model> cargo bench -p frontdesk-embed`;
//! without that variable it says so and measures nothing.

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput};
use frontdesk_embed::{Precision, SentenceEmbedder};

const QUESTION: &str = "I still haven't received my new card, when will it arrive?";

/// A long message, as the slowest questions of a day are: the cost grows with the tokens,
/// and the 99th percentile of a decision belongs to messages like this one.
const LONG_QUESTION: &str = "I ordered a new card to replace the one that expired last month \
     and the app said it would arrive within a week, but it has now been almost three weeks \
     and nothing has come. I have checked with my neighbours and the post office. Can you \
     tell me whether it was sent to my old address, and if so how I cancel it and order \
     another one to the right place?";

const QUESTIONS: [&str; 8] = [
    "How do I reset my password?",
    "My top-up failed but the money left my account",
    "Can I change the PIN of my card at an ATM?",
    "Why was I charged a fee for a transfer abroad?",
    "where is my card",
    "The exchange rate you gave me looks wrong, can you explain how it is calculated?",
    "Is there a limit on how much I can top up in a day?",
    "I want to close my account and get my remaining balance back",
];

fn bench(c: &mut Criterion, dir: &Path) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut widths = vec![1];
    if threads > 1 {
        widths.push(threads);
    }
    let batch: Vec<&str> = QUESTIONS.iter().cycle().take(32).copied().collect();

    for width in widths {
        for precision in [Precision::Exact, Precision::Int8] {
            let embedder = match SentenceEmbedder::load_with_threads(dir, width, precision) {
                Ok(embedder) => embedder,
                Err(err) => panic!("FRONTDESK_TEST_MODEL_DIR is set but: {err}"),
            };
            let label = format!(
                "{precision:?}, {width} thread{}",
                if width == 1 { "" } else { "s" }
            );

            let mut group = c.benchmark_group("one question");
            group.throughput(Throughput::Elements(1));
            group.bench_function(BenchmarkId::from_parameter(&label), |b| {
                b.iter(|| embedder.embed(&[QUESTION]).map(|v| v.len()))
            });
            group.finish();

            let mut group = c.benchmark_group("long question");
            group.throughput(Throughput::Elements(1));
            group.bench_function(BenchmarkId::from_parameter(&label), |b| {
                b.iter(|| embedder.embed(&[LONG_QUESTION]).map(|v| v.len()))
            });
            group.finish();

            let mut group = c.benchmark_group("batch of 32");
            group.throughput(Throughput::Elements(batch.len() as u64));
            group.sample_size(20);
            group.bench_function(BenchmarkId::from_parameter(&label), |b| {
                b.iter(|| embedder.embed(&batch).map(|v| v.len()))
            });
            group.finish();
        }
    }
}

fn main() {
    let Some(dir) = std::env::var_os("FRONTDESK_TEST_MODEL_DIR").map(PathBuf::from) else {
        eprintln!(
            "skipped: set FRONTDESK_TEST_MODEL_DIR to a folder with all-MiniLM-L6-v2 \
             (`frontdesk model install` puts it in <data-dir>/models/all-MiniLM-L6-v2)"
        );
        return;
    };
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &dir);
    criterion.final_summary();
}
