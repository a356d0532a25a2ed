//! Benchmarks of alignment on generated bilingual documents: the time to
//! align one translated document pair (sections, records, drift), a whole
//! corpus of synthetic pairs (blocking + scoring + alignment), and a corpus
//! written by `kb-gen` (realistic Markdown with drift) and parsed by
//! `kb-parse`. Corpus throughput is in document pairs, so criterion's
//! "thrpt" is pairs per second and its inverse the time per document pair.
//!
//! `cargo bench -p kb-align`

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kb_align::synth::{self, Edits, Shape};
use kb_model::manifest::Manifest;

fn one_pair(c: &mut Criterion) {
    let mut g = c.benchmark_group("align_one_pair");
    for sections in [6usize, 24, 96] {
        let shape = Shape { sections, items: 6, rows: 5 };
        let edits = Edits { delete_section: Some(1), split_item: Some((2, 1)), swap_rows: Some((3, 0)) };
        let (zh, en) = synth::pair(0, &shape, &edits, 11);
        let records = zh.records.len() + en.records.len();
        let docs = vec![zh, en];
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("records", records), &docs, |b, docs| {
            b.iter(|| kb_align::align(docs, &Manifest::default()))
        });
    }
    g.finish();
}

fn corpus(c: &mut Criterion) {
    let mut g = c.benchmark_group("align_corpus");
    g.sample_size(10);
    for pairs in [50usize, 200] {
        let docs = synth::corpus(pairs, pairs / 10, &Shape { sections: 8, items: 5, rows: 4 }, 3);
        // Throughput in document pairs: criterion reports pairs/s; time per pair is its inverse.
        g.throughput(Throughput::Elements(pairs as u64));
        g.bench_with_input(BenchmarkId::new("pairs", pairs), &docs, |b, docs| {
            b.iter(|| kb_align::align(docs, &Manifest::default()))
        });
    }
    g.finish();
}

fn kb_gen_corpus(c: &mut Criterion) {
    let mut g = c.benchmark_group("align_kb_gen_corpus");
    g.sample_size(10);
    let dir = tempfile::tempdir().expect("temp dir");
    let stats = kb_gen::generate(dir.path(), &kb_gen::Spec { documents: 400, seed: 42 }).expect("kb-gen writes");
    let corpus = kb_parse::load_corpus(dir.path()).expect("kb-parse reads the generated corpus");
    g.throughput(Throughput::Elements(stats.pairs as u64));
    g.bench_with_input(BenchmarkId::new("pairs", stats.pairs), &corpus, |b, corpus| {
        b.iter(|| kb_align::align(&corpus.documents, &corpus.manifest))
    });
    g.finish();
}

criterion_group!(benches, one_pair, corpus, kb_gen_corpus);
criterion_main!(benches);
