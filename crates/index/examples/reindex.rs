//! Re-runs the index stage on a finished build output folder, for profiling:
//! reads `documents.json`, `records.jsonl`, `alignment.json` and `rules.json`
//! (not timed), then times [`kb_index::update_index`] — a full build into a
//! temporary folder, and (`inc`, `both`) three incremental ones from it with
//! one document marked as edited. As in `kb build`, the index is handed
//! where each line of `records.jsonl` starts and its fingerprint (`SCAN=1`:
//! not, so it reads the file itself), and mimalloc allocates.
//!
//! ```sh
//! cargo run --release -p kb-index --example reindex -- OUT [full|inc|both]
//! ```

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::{Document, Record, RecordsLayout};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(args.get(1).expect("usage: reindex OUT [full|inc|both]"));
    let what = args.get(2).map(String::as_str).unwrap_or("both");
    // As `kb build` does: the dictionary loads while the inputs are read.
    kb_index::load_jieba_in_background();
    let t = Instant::now();
    let docs = read_documents(out);
    let alignment: Option<Alignment> =
        std::fs::read(out.join("alignment.json")).ok().map(|b| serde_json::from_slice(&b).expect("alignment.json"));
    let rules: Option<RuleSet> =
        std::fs::read(out.join("rules.json")).ok().map(|b| serde_json::from_slice(&b).expect("rules.json"));
    eprintln!(
        "read {} documents, {} records in {:.2}s",
        docs.len(),
        docs.iter().map(|d| d.records.len()).sum::<usize>(),
        t.elapsed().as_secs_f64()
    );
    // In a build, parsing and aligning take longer than loading jieba: wait for it.
    while !kb_index::jieba_loaded() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let tmp = std::env::temp_dir().join(format!("kb-reindex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp folder");
    // The index reads records.jsonl beside it: link the build's.
    let records = tmp.join("records.jsonl");
    std::fs::hard_link(out.join("records.jsonl"), &records)
        .or_else(|_| std::fs::copy(out.join("records.jsonl"), &records).map(|_| ()))
        .expect("records.jsonl");
    // What the parse stage hands over, having written the file.
    let bytes = std::fs::read(&records).expect("records.jsonl");
    let mut starts = vec![0u64];
    starts.extend(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64 + 1));
    let layout = RecordsLayout { starts, fingerprint: kb_index::fingerprint(&bytes) };
    drop(bytes);
    let layout = std::env::var_os("SCAN").is_none().then_some(&layout);
    let source = kb_index::RecordsSource::new(&records, layout);
    let first = tmp.join("full");
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let u =
        kb_index::update_index(&first, source, &docs, alignment.as_ref(), rules.as_ref(), None, None).expect("full");
    eprintln!(
        "full: {:.3}s wall, {:.2}s cpu ({} records)",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu0,
        u.meta.records
    );
    if what != "full" {
        // One document "edited": its key changes, so it is deleted and added again.
        let mut docs = docs;
        let n = docs.len() / 2;
        docs[n].hash = format!("{}-edited", docs[n].hash);
        let reuse = kb_index::IndexReuse { dir: &first, keys: &u.keys };
        let rounds = if what == "inc" { 20 } else { 3 };
        for round in 0..rounds {
            let second = tmp.join(format!("inc{round}"));
            let _ = std::fs::remove_dir_all(tmp.join(format!("inc{}", round.max(1) - 1)));
            let cpu0 = cpu_seconds();
            let t = Instant::now();
            let u2 =
                kb_index::update_index(&second, source, &docs, alignment.as_ref(), rules.as_ref(), None, Some(&reuse))
                    .expect("incremental");
            eprintln!(
                "incremental: {:.3}s wall, {:.2}s cpu ({} added, {} deleted)",
                t.elapsed().as_secs_f64(),
                cpu_seconds() - cpu0,
                u2.added_documents,
                u2.deleted_documents
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn read_documents(out: &Path) -> Vec<Document> {
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        path: String,
        lang: kb_model::Lang,
        lang_source: kb_model::LangSource,
        title: String,
        encoding: String,
        hash: String,
        lines: u32,
        bytes: u64,
    }
    #[derive(serde::Deserialize)]
    struct Docs {
        documents: Vec<Entry>,
    }
    let docs: Docs = serde_json::from_slice(&std::fs::read(out.join("documents.json")).expect("documents.json"))
        .expect("documents.json");
    let mut by_id: HashMap<String, Vec<Record>> = HashMap::new();
    let f = std::fs::File::open(out.join("records.jsonl")).expect("records.jsonl");
    for line in std::io::BufReader::new(f).lines() {
        let r: Record = serde_json::from_str(&line.expect("records.jsonl")).expect("a record");
        by_id.entry(r.doc.clone()).or_default().push(r);
    }
    docs.documents
        .into_iter()
        .map(|e| Document {
            records: by_id.remove(&e.id).unwrap_or_default(),
            id: e.id,
            path: e.path,
            lang: e.lang,
            lang_source: e.lang_source,
            title: e.title,
            encoding: e.encoding,
            hash: e.hash,
            line_count: e.lines,
            bytes: e.bytes,
        })
        .collect()
}
