//! Re-publishes the site of an existing kb output folder, for profiling the
//! publish stage alone: `cargo run --release -p kb-publish --example
//! publish_out -- OUT SITE_DIR [PREVIOUS_SITE_DIR]` reads OUT's
//! `documents.json`, `records.jsonl`, `alignment.json` and `rules.json`,
//! renders the site into SITE_DIR and prints the time it took (a second run
//! with PREVIOUS_SITE_DIR reuses what it can, as an incremental build does;
//! `KB_EDIT_DOC=<document id>` edits one document first; `KB_REPEAT=n`
//! publishes n more times before the timed run).

use std::io::BufRead;
use std::path::PathBuf;

/// The allocator of the `kb` binary, so that times match a build's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (out, site) = (&args[0], &args[1]);
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        path: String,
        lang: kb_model::Lang,
        title: String,
        hash: String,
        records: usize,
    }
    #[derive(serde::Deserialize)]
    struct Docs {
        documents: Vec<Entry>,
    }
    let t = std::time::Instant::now();
    let docs: Docs = serde_json::from_slice(&std::fs::read(out.join("documents.json")).unwrap()).unwrap();
    let f = std::fs::File::open(out.join("records.jsonl")).unwrap();
    let mut lines = std::io::BufReader::new(f).lines();
    let mut documents = Vec::new();
    for e in docs.documents {
        let records: Vec<kb_model::Record> =
            (0..e.records).map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap()).collect();
        let mut d = kb_model::Document::new(e.id, e.path, e.lang, e.title, records);
        d.hash = e.hash;
        documents.push(d);
    }
    // KB_EDIT_DOC=<id> simulates an edit of that document (its last record's text).
    if let Some(id) = std::env::var_os("KB_EDIT_DOC") {
        let d = documents.iter_mut().find(|d| d.id == id.to_str().unwrap()).expect("KB_EDIT_DOC names a document");
        d.records.last_mut().unwrap().text.push_str(" (edited)");
        d.hash = blake3::hash(d.hash.as_bytes()).to_hex().to_string();
    }
    let alignment = std::fs::read(out.join("alignment.json")).ok().map(|b| serde_json::from_slice(&b).unwrap());
    let rules: Option<kb_model::rules::RuleSet> =
        std::fs::read(out.join("rules.json")).ok().map(|b| serde_json::from_slice(&b).unwrap());
    // Rule digests as a build's rules stage gives them: here, of each document's rules.
    let digests: Option<Vec<Option<[u8; 32]>>> = rules.as_ref().map(|rs| {
        let mut by_doc: std::collections::HashMap<&str, blake3::Hasher> = std::collections::HashMap::new();
        for r in &rs.rules {
            by_doc.entry(r.source.doc.as_str()).or_default().update(&serde_json::to_vec(r).unwrap());
        }
        let empty = blake3::hash(b"");
        documents.iter().map(|d| Some(*by_doc.get(d.id.as_str()).map_or(empty, |h| h.finalize()).as_bytes())).collect()
    });
    let input = kb_publish::Input {
        documents: &documents,
        alignment: alignment.as_ref(),
        rules: rules.as_ref(),
        rule_digests: digests.as_deref(),
    };
    eprintln!("loaded in {:.2?}", t.elapsed());
    let cache_file = site.with_extension("keys.json");
    let prev = args.get(2);
    let keys: std::collections::BTreeMap<String, kb_publish::PageKey> = prev
        .and_then(|p| std::fs::read(p.with_extension("keys.json")).ok())
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default();
    let prev_state = prev.map(|p| p.with_extension("state.json"));
    let reuse = prev.map(|p| kb_publish::PageReuse { site: p, keys: &keys, state: prev_state.as_deref() });
    // KB_REPEAT=n publishes n times first (into the same folder), so that a
    // profile is about the publishing, not the loading.
    let repeat: usize = std::env::var("KB_REPEAT").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    for _ in 0..repeat {
        let _ = std::fs::remove_dir_all(site);
        let opts = kb_publish::SiteOptions::default();
        kb_publish::publish_input(site, &input, &opts, reuse.as_ref()).unwrap();
    }
    let _ = std::fs::remove_dir_all(site);
    let t = std::time::Instant::now();
    let cpu = cpu_seconds();
    let published =
        kb_publish::publish_input(site, &input, &kb_publish::SiteOptions::default(), reuse.as_ref()).unwrap();
    let cpu = cpu_seconds()
        .zip(cpu)
        .map_or(String::new(), |(b, a)| format!(", CPU {:.2} s user + {:.2} s system", b.0 - a.0, b.1 - a.1));
    eprintln!("published in {:.3?}{cpu}: {} ({} reused)", t.elapsed(), published.stats.summary(), published.reused);
    std::fs::write(cache_file, serde_json::to_vec(&published.keys).unwrap()).unwrap();
    std::fs::write(site.with_extension("state.json"), &published.state).unwrap();
}

/// User and system CPU time of this process so far (Linux, from `/proc/self/stat`, in clock ticks of 10 ms).
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some((f.get(11)?.parse::<f64>().ok()? / 100.0, f.get(12)?.parse::<f64>().ok()? / 100.0))
}
