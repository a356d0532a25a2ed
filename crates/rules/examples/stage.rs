//! Times rule extraction on a previous build's output, without the other
//! stages: `cargo run --release -p kb-rules --example stage -- OUT [RUNS] [EXPECTED]`
//! reads `OUT/documents.json`, `OUT/records.jsonl` and `OUT/alignment.json`,
//! then reads the drafts, assembles and serialises the rules `RUNS` times
//! (default 3), printing wall and CPU time of each step (`KB_TRACE=1` for
//! the phases of the join), and, given a rules file `EXPECTED` (say the
//! `rules.json` of an older kb), checks that the rules are the same. Writes
//! nothing.

#![allow(missing_docs)]

use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use kb_model::{Document, Record};

fn load(out: &Path) -> (Vec<Document>, kb_model::alignment::Alignment) {
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        path: String,
        lang: kb_model::Lang,
        title: String,
        records: usize,
    }
    #[derive(serde::Deserialize)]
    struct Docs {
        documents: Vec<Entry>,
    }
    let docs: Docs = serde_json::from_slice(&std::fs::read(out.join("documents.json")).unwrap()).unwrap();
    let f = std::fs::File::open(out.join("records.jsonl")).unwrap();
    let mut lines = std::io::BufReader::new(f).lines();
    let mut documents = Vec::new();
    for e in docs.documents {
        let records: Vec<Record> =
            (0..e.records).map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap()).collect();
        let mut d = Document::new(e.id, e.path, e.lang, e.title, records);
        d.hash = "x".into();
        documents.push(d);
    }
    let alignment = serde_json::from_slice(&std::fs::read(out.join("alignment.json")).unwrap()).unwrap();
    (documents, alignment)
}

/// CPU seconds (user + system) of this process so far.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: stage OUT [RUNS] [EXPECTED-RULES-FILE]");
    let runs: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(3);
    let expected = args.next();
    let t = Instant::now();
    let (docs, alignment) = load(Path::new(&out));
    eprintln!("loaded {} documents in {:.2?}", docs.len(), t.elapsed());
    let x = kb_rules::extractor();
    use rayon::prelude::*;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu());
        let drafts: Vec<_> = docs.par_iter().map(|d| x.document(d)).collect();
        let (td, cd) = (t.elapsed(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let a = x.assemble(&docs, &drafts, Some(&alignment));
        let (ta, ca) = (t.elapsed(), cpu() - c);
        let (t, c) = (Instant::now(), cpu());
        let json = kb_rules::to_json(&a.rules);
        let (tj, cj) = (t.elapsed(), cpu() - c);
        eprintln!(
            "{} rules: drafts {td:.2?} ({cd:.2} s CPU), assemble {ta:.2?} ({ca:.2} s CPU), rules.json {tj:.2?} ({cj:.2} s CPU, {} MB)",
            a.rules.rules.len(),
            json.len() >> 20,
        );
        if let Some(e) = &expected {
            let want = kb_rules::read_rules(Path::new(e)).unwrap();
            let got: kb_model::rules::RuleSet = serde_json::from_str(&json).unwrap();
            assert_eq!(want.rules.len(), got.rules.len(), "rule count");
            for (i, (w, g)) in want.rules.iter().zip(&got.rules).enumerate() {
                assert_eq!(w, g, "rule {i}");
            }
            eprintln!("same rules as {e}");
        }
    }
}
