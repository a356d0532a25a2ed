//! Benchmarks of rule extraction and profile checks.
//!
//! `cargo bench -p kb-rules` measures the shipped corpus; set
//! `KB_BENCH_CORPUS=/path/to/corpus` to measure a larger one too (e.g. one of
//! the bilingual corpora of the scale tests).

#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn load(dir: &Path) -> (Vec<kb_model::Document>, kb_model::alignment::Alignment) {
    let corpus = kb_parse::load_corpus(dir).expect("corpus parses");
    let alignment = kb_align::align(&corpus.documents, &corpus.manifest);
    (corpus.documents, alignment)
}

fn bench(c: &mut Criterion) {
    let mut corpora = vec![("shipped".to_string(), Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus"))];
    if let Some(p) = std::env::var_os("KB_BENCH_CORPUS") {
        let p = PathBuf::from(p);
        corpora.push((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), p));
    }
    let mut g = c.benchmark_group("extract");
    for (name, dir) in &corpora {
        let (docs, alignment) = load(dir);
        let records: usize = docs.iter().map(|d| d.records.len()).sum();
        g.throughput(Throughput::Elements(records as u64));
        g.bench_function(name.as_str(), |b| b.iter(|| kb_rules::extract(&docs, Some(&alignment))));
    }
    g.finish();

    let (docs, alignment) = load(&corpora[0].1);
    let rules = kb_rules::extract(&docs, Some(&alignment));
    let profile = kb_rules::Profile::parse(
        r#"{"registered_capital": 2000000, "team_size": 25, "operations_staff": 2, "support_hours_weekly": 56,
            "registered_users": 12000, "customer_cases": 5, "company_age": 3, "industry_experience": 3,
            "certified_engineers": {"automation": 3, "development": 3, "tencent_cloud_senior_ops": 3},
            "service_fee": true, "entity_type": "enterprise", "headcount": 40, "review_time": 5}"#,
        Path::new("bench.json"),
    )
    .unwrap();
    c.bench_function("check/shipped-all-rules", |b| b.iter(|| kb_rules::check(&rules, &profile, None).unwrap()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
