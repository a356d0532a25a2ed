//! Scale and beyond one machine: `kb search` during rebuilds sees the old or
//! the new index, never a broken one; `kb export --format ndjson` writes
//! typed objects with safe ids in the fields of the shipped Quickwit mapping;
//! `kb bench` reports every stage, memory and the baseline ratio.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{built, copy_dir, corpus, kb, repo, stderr, stdout};

fn build(corpus: &Path, out: &Path) {
    let o = kb().args(["build", "--quiet", "--corpus"]).arg(corpus).arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "kb build failed: {}", stderr(&o));
}

#[test]
fn search_during_rebuilds_sees_the_old_or_the_new_index_never_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    // Two corpora whose builds differ (B has one more document), so every
    // rebuild really replaces the index with another one.
    let a = corpus();
    let b = dir.path().join("b");
    copy_dir(&a, &b);
    fs::write(
        b.join("zh/extra-capital.md"),
        "# 补充说明\n\n### 申请条件\n\n1、注册资本不低于人民币500万元；\n2、具备三名以上认证工程师。\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    build(&a, &out);

    let stop = Arc::new(AtomicBool::new(false));
    let rebuilds = Arc::new(AtomicUsize::new(0));
    let builder = {
        let (stop, rebuilds, out, b) = (stop.clone(), rebuilds.clone(), out.clone(), b.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                build(if i.is_multiple_of(2) { &b } else { &a }, &out);
                i += 1;
                rebuilds.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Search until the builder has swapped the output several times (or the
    // time bound is hit); every search must succeed and find the capital rules.
    let t = Instant::now();
    let mut searches = 0usize;
    let mut seen_extra = HashSet::new();
    while (rebuilds.load(Ordering::Relaxed) < 6 || searches < 10) && t.elapsed() < Duration::from_secs(90) {
        let o = kb().args(["search", "注册资本", "--json", "--out"]).arg(&out).output().unwrap();
        let ok = o.status.success();
        let hits: Vec<Value> = stdout(&o).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        if !ok || hits.is_empty() {
            stop.store(true, Ordering::Relaxed);
            panic!(
                "search {searches} during rebuild {} failed (status {:?}): {}\n{}",
                rebuilds.load(Ordering::Relaxed),
                o.status,
                stderr(&o),
                stdout(&o)
            );
        }
        seen_extra.insert(hits.iter().filter(|h| h["path"] == "zh/extra-capital.md").count() > 0);
        searches += 1;
    }
    stop.store(true, Ordering::Relaxed);
    builder.join().expect("the rebuild loop never fails");
    let n = rebuilds.load(Ordering::Relaxed);
    assert!(n >= 2 && searches >= 10, "only {n} rebuilds and {searches} searches in {:?}", t.elapsed());
    crate::assert_no_leftover_folders(dir.path());
    eprintln!("{searches} searches during {n} rebuilds; saw the extra document: {seen_extra:?}");
}

/// Field names of the Quickwit doc mapping shipped in the repository.
fn quickwit_fields() -> HashSet<String> {
    let yaml = fs::read_to_string(repo().join("deploy/quickwit/kb-index.yaml")).unwrap();
    yaml.lines().filter_map(|l| l.trim().strip_prefix("- name:")).map(|n| n.trim().to_string()).collect()
}

#[test]
fn export_ndjson_writes_typed_objects_with_safe_unique_ids_in_the_quickwit_fields() {
    let out = built();
    let o = kb().args(["export", "--format", "ndjson", "--out"]).arg(out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let objects: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();

    let records = fs::read_to_string(out.join("records.jsonl")).unwrap().lines().count();
    let rules: Value = serde_json::from_str(&fs::read_to_string(out.join("rules.json")).unwrap()).unwrap();
    let n_rules = rules["rules"].as_array().unwrap().len();
    let of = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    assert_eq!(of("record"), records);
    assert_eq!(of("rule"), n_rules);
    assert!(n_rules > 0, "the shipped corpus has rules");
    assert_eq!(objects.len(), records + n_rules, "no other types");

    let fields = quickwit_fields();
    let mut ids = HashSet::new();
    for obj in &objects {
        let id = obj["id"].as_str().unwrap();
        assert!(
            !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{id:?} is not a document id Meilisearch accepts"
        );
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        for key in obj.as_object().unwrap().keys() {
            assert!(fields.contains(key), "field {key:?} is not in deploy/quickwit/kb-index.yaml");
        }
        if obj["type"] == "record" {
            let lang = obj["lang"].as_str().unwrap();
            let text = &obj[format!("text_{lang}")];
            let other = &obj[format!("text_{}", if lang == "zh" { "en" } else { "zh" })];
            assert!(text.is_string() && other.is_null(), "{obj}");
            assert_eq!(obj["record"]["id"], obj["kb_id"]);
        }
    }
    // The capital rule of the Tencent Cloud application is there, with its subject.
    assert!(
        objects.iter().any(|o| o["type"] == "rule" && o["subject"][0] == "registered_capital"),
        "no registered_capital rule exported"
    );
    // A record a rule was cut from carries the rule's subject, as in kb's index.
    let cited: HashSet<&str> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subject"].is_string())
        .filter_map(|r| r["source"]["record"].as_str())
        .collect();
    for obj in objects.iter().filter(|o| o["type"] == "record" && cited.contains(o["kb_id"].as_str().unwrap())) {
        assert!(obj["subject"].as_array().is_some_and(|s| !s.is_empty()), "{obj}");
    }
}

#[test]
fn export_to_a_file_replaces_it_whole_and_refuses_a_missing_build() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kb.ndjson");
    fs::write(&file, "stale\n").unwrap();
    let o =
        kb().args(["export", "--format", "ndjson", "--out"]).arg(built()).arg("--output").arg(&file).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("stale") && text.lines().count() > 10);
    assert!(stderr(&o).contains("exported"), "{}", stderr(&o));

    let o = kb().args(["export", "--format", "ndjson", "--out"]).arg(dir.path().join("nothing")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("kb build"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn bench_reports_every_stage_throughput_memory_and_the_baseline_ratio() {
    let before: Vec<(PathBuf, Vec<u8>)> = ["zh", "en"]
        .iter()
        .flat_map(|l| fs::read_dir(corpus().join(l)).unwrap().flatten())
        .map(|e| (e.path(), fs::read(e.path()).unwrap()))
        .collect();
    let o = kb().args(["bench", "--json", "--corpus"]).arg(corpus()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["profile"], if cfg!(debug_assertions) { "debug" } else { "release" });
    let c = &v["corpora"][0];
    let stages: Vec<&str> = c["stages"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(stages, ["parse", "align", "rules", "index", "publish"]);
    assert_eq!(c["documents"], 5);
    let bytes: u64 = ["zh", "en"]
        .iter()
        .flat_map(|l| fs::read_dir(corpus().join(l)).unwrap().flatten())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(c["bytes"], bytes);
    for key in ["build_seconds", "baseline_seconds", "docs_per_second", "mb_per_second", "ratio"] {
        assert!(c[key].as_f64().unwrap() > 0.0, "{key}: {c}");
    }
    let ratio = c["build_seconds"].as_f64().unwrap() / c["baseline_seconds"].as_f64().unwrap();
    assert!((ratio - c["ratio"].as_f64().unwrap()).abs() < 1e-9);
    if cfg!(target_os = "linux") {
        assert!(c["peak_rss_bytes"].as_u64().unwrap() > 1_000_000, "{c}");
        assert!(c["baseline_peak_rss_bytes"].as_u64().unwrap() > 1_000_000, "{c}");
    }
    // The rebuild: one document of a copy edited, built incrementally into the full build's output.
    let rb = &c["rebuild"];
    let edited = rb["edited"].as_str().unwrap();
    assert!(corpus().join(edited).is_file(), "{rb}");
    assert!(rb["edit"].as_str().unwrap().contains("digit"), "{rb}");
    assert_eq!(rb["parsed"], 1, "only the edited document is parsed again: {rb}");
    let rstages: Vec<&str> = rb["stages"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(rstages, stages);
    let share = rb["seconds"].as_f64().unwrap() / c["build_seconds"].as_f64().unwrap();
    assert!((share - rb["share_of_full"].as_f64().unwrap()).abs() < 1e-9, "{rb}");
    assert_eq!(rb["goal_share"], 0.05);
    for (path, bytes) in &before {
        assert!(&fs::read(path).unwrap() == bytes, "kb bench left {} as it was", path.display());
    }

    let o = kb().args(["bench", "--no-rebuild", "--corpus"]).arg(corpus()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("docs/s") && text.contains("peak RSS") && text.contains("baseline"), "{text}");
    assert!(!text.contains("rebuild"), "--no-rebuild: {text}");
    assert_eq!(text.contains("debug build"), cfg!(debug_assertions), "{text}");
}
