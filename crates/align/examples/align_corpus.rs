//! Times the align stage on a corpus folder: parse it once (kb-parse), then
//! align it `RUNS` times (default 3) without cache and print the best time,
//! the time to write `alignment.json` and the cache, and the time of a
//! rebuild that reuses that cache (nothing changed).
//!
//! `cargo run --release -p kb-align --example align_corpus -- /tmp/gen5k [RUNS [OUT_DIR]]`

#![allow(missing_docs)]

use std::time::Instant;

use kb_align::store::{align_incremental, Cache, CACHE_FILE};

/// The allocator of the `kb` binary, so that times and profiles match a build's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: align_corpus CORPUS [RUNS [OUT_DIR]]");
    let runs: usize = args.next().map(|s| s.parse().expect("RUNS is a number")).unwrap_or(3);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let out = args.next().map(std::path::PathBuf::from).unwrap_or_else(|| tmp.path().to_path_buf());
    let t = Instant::now();
    let corpus = kb_parse::load_corpus(std::path::Path::new(&dir)).expect("corpus parses");
    eprintln!("parsed {} documents in {:.2?}", corpus.documents.len(), t.elapsed());
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let built = align_incremental(&corpus.documents, &corpus.manifest, None);
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        eprintln!("align {s:.3}s");
        last = Some(built);
    }
    let built = last.expect("at least one run");
    let (json, cache) = (out.join(kb_align::ALIGNMENT_FILE), out.join(CACHE_FILE));
    let t = Instant::now();
    built.write(&json, &cache, None).expect("writes");
    eprintln!("write {:.3}s", t.elapsed().as_secs_f64());
    drop(built);
    for _ in 0..runs {
        let t = Instant::now();
        let mut c = Cache::read(&out).expect("the cache just written reads");
        let t1 = t.elapsed().as_secs_f64();
        let built = align_incremental(&corpus.documents, &corpus.manifest, Some(&mut c));
        let t2 = t.elapsed().as_secs_f64();
        let (j2, c2) = (out.join("again.json"), out.join("cache/again.bin"));
        built.write(&j2, &c2, Some(&c)).expect("writes");
        let t3 = t.elapsed().as_secs_f64();
        eprintln!(
            "rebuild {t3:.3}s: read cache {t1:.3}s, align {:.3}s ({} pairs reused), write {:.3}s",
            t2 - t1,
            built.reused_pairs,
            t3 - t2
        );
        assert_eq!(std::fs::read(&j2).unwrap(), std::fs::read(&json).unwrap(), "rebuild differs");
    }
    // One document edited: its pair (and only it) is aligned again.
    let mut docs = corpus.documents.clone();
    let k = docs.iter().position(|d| d.lang == kb_model::Lang::En).expect("an English document");
    if let Some(r) = docs[k].records.last_mut() {
        r.text.push_str(" An added sentence about 42 partners.");
    }
    docs[k].hash.push('+');
    let mut c = Cache::read(&out).expect("the cache reads");
    let t = Instant::now();
    let built = align_incremental(&docs, &corpus.manifest, Some(&mut c));
    let t1 = t.elapsed().as_secs_f64();
    let (j2, c2) = (out.join("edited.json"), out.join("cache/edited.bin"));
    built.write(&j2, &c2, Some(&c)).expect("writes");
    eprintln!(
        "one edit: align {t1:.3}s ({} of {} pairs reused, {} documents profiled), write {:.3}s",
        built.reused_pairs,
        built.alignment.documents.len(),
        built.profiled,
        t.elapsed().as_secs_f64() - t1
    );
    println!("best align {best:.3}s");
}
