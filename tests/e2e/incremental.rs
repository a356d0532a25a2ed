//! Incremental builds: a rebuild after editing, adding and removing
//! documents reuses the previous output (build cache) and gives exactly what
//! a clean build of the same sources gives — byte for byte for every file
//! except tantivy's own index files, and the same hits for the same queries.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::{copy_dir, corpus, kb, stderr, stdout};

/// Every file under `dir` (relative path → bytes), leaving out tantivy's
/// files in `index/` (segment names and `meta.json` differ between an
/// updated index and a fresh one) but keeping kb's `index/kb-index.json`.
/// The build cache's `stats` (size, mtime and inode of the files that had
/// settled for two seconds when the build read them) depend on when each
/// build ran, so they are left out of `build-cache.json`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if rel.starts_with("index/") && rel != "index/kb-index.json" {
                continue;
            }
            let mut bytes = fs::read(&p).unwrap();
            if rel == "build-cache.json" {
                let mut cache: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert!(cache.as_object_mut().unwrap().remove("stats").is_some(), "the build cache has stats");
                bytes = serde_json::to_vec(&cache).unwrap();
            }
            out.insert(rel, bytes);
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let ka: Vec<&String> = ta.keys().collect();
    let kb_: Vec<&String> = tb.keys().collect();
    assert_eq!(ka, kb_, "same files");
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs between {} and {}", a.display(), b.display());
    }
    for must in
        ["records.jsonl", "documents.json", "alignment.json", "rules.json", "rules/index.json", "site/sitemap.xml"]
    {
        assert!(ta.contains_key(must), "{must} is compared");
    }
}

/// Runs `kb build --json` (plus `extra` flags) and returns its report.
fn build(corpus: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o =
        kb().arg("build").arg("--json").args(extra).arg("--corpus").arg(corpus).arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "kb build failed: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// Sorted ids of the records `query` finds in `out`.
fn hits(out: &Path, query: &str) -> Vec<String> {
    let o = kb().args(["search", "--json", "--limit", "1000", "--out"]).arg(out).arg(query).output().unwrap();
    if !o.status.success() && stderr(&o).contains("no records match") {
        return Vec::new();
    }
    assert!(o.status.success(), "kb search {query}: {}", stderr(&o));
    let mut ids: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The whole `kb search --json` output of `args` in `out` (rank, score,
/// snippet, counterpart of every hit), or the error it printed.
fn search_output(out: &Path, args: &[&str]) -> String {
    let o = kb().args(["search", "--json", "--limit", "1000", "--out"]).arg(out).args(args).output().unwrap();
    format!("{:?}\n{}{}", o.status.code(), stdout(&o), stderr(&o))
}

fn stage_summary(report: &serde_json::Value, stage: &str) -> String {
    report["stages"].as_array().unwrap().iter().find(|s| s["name"] == stage).unwrap()["summary"]
        .as_str()
        .unwrap()
        .to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    corpus: PathBuf,
    out: PathBuf,
    clean: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    copy_dir(&corpus(), &c);
    let out = dir.path().join("out");
    let clean = dir.path().join("clean");
    Fixture { corpus: c, out, clean, _dir: dir }
}

#[test]
fn edit_add_remove_rebuild_equals_a_clean_build() {
    let f = fixture();
    let first = build(&f.corpus, &f.out, &[]);
    assert!(first["incremental"].is_null(), "the first build has nothing to reuse");
    assert!(f.out.join("build-cache.json").is_file());

    // Edit one document (a number a rule is cut from), add one, remove one.
    let edited = f.corpus.join("zh/tencent-cloud-partner-application.md");
    let text = fs::read_to_string(&edited).unwrap();
    assert!(text.contains("100万"));
    fs::write(&edited, text.replacen("100万", "250万", 1)).unwrap();
    fs::write(
        f.corpus.join("en/zanzibar-reseller-terms.md"),
        "# Zanzibar Reseller Terms\n\n## Requirements\n\n1. Registered capital of at least 5 million CNY.\n2. A quokkaware support team of 10 people or more.\n",
    )
    .unwrap();
    let removed = "en/tencent-cloud-intl-reseller-registration.md";
    let removed_text = fs::read_to_string(f.corpus.join(removed)).unwrap();
    fs::remove_file(f.corpus.join(removed)).unwrap();

    let inc = build(&f.corpus, &f.out, &[]);
    let changes = &inc["incremental"];
    let mut parsed: Vec<&str> = changes["parsed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    parsed.sort();
    assert_eq!(parsed, ["en/zanzibar-reseller-terms.md", "zh/tencent-cloud-partner-application.md"]);
    assert_eq!(changes["reused"], 3);
    assert_eq!(changes["removed"], serde_json::json!([removed]));
    let index = stage_summary(&inc, "index");
    assert!(index.contains("updated: 2 documents re-added"), "{index}");
    let publish = stage_summary(&inc, "publish");
    assert!(publish.contains("reused"), "{publish}");

    let clean = build(&f.corpus, &f.clean, &["--full"]);
    assert!(clean["incremental"].is_null(), "--full ignores the cache");
    assert_same_tree(&f.out, &f.clean);

    // The rule change went through.
    let rules = fs::read_to_string(f.out.join("rules.json")).unwrap();
    assert!(rules.contains("250万") && !rules.contains("注册资本人民币100万"), "edited rule text");

    // The index answers as a fresh one does, the added document is found and
    // the removed one is gone everywhere.
    let gone_word = removed_text
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| w.len() > 6 && !fs::read_to_string(f.out.join("records.jsonl")).unwrap().contains(*w))
        .map(str::to_string);
    let mut queries =
        vec!["注册资本", "partner", "quokkaware", "合作伙伴 AND 技术", "kind:faq", "注册资本人民币250万元"];
    if let Some(w) = &gone_word {
        queries.push(w);
    }
    for q in &queries {
        assert_eq!(hits(&f.out, q), hits(&f.clean, q), "query {q:?}");
    }
    // The same hits in the same order with the same scores: the updated
    // index scores with the statistics of its live records, as a fresh one.
    let more = ["support", "registered capital", "partner support team", "合作伙伴 认证 工程师"];
    for q in queries.iter().chain(&more) {
        for filter in [&[][..], &["--lang", "en"][..], &["--kind", "requirement", "--lang", "zh"][..]] {
            let args: Vec<&str> = filter.iter().copied().chain([*q]).collect();
            let (inc, clean) = (search_output(&f.out, &args), search_output(&f.clean, &args));
            assert_eq!(inc, clean, "kb search {args:?}");
        }
    }
    assert!(search_output(&f.out, &["partner"]).contains("\"score\""), "scores are compared");
    assert_eq!(hits(&f.out, "quokkaware").len(), 1, "added document is indexed");
    assert!(!hits(&f.out, "注册资本").is_empty());
    let removed_id = removed.trim_end_matches(".md");
    let records = fs::read_to_string(f.out.join("records.jsonl")).unwrap();
    assert!(!records.contains(&format!("\"doc\":\"{removed_id}\"")), "removed document's records are gone");
    let site = tree(&f.out.join("site"));
    assert!(site.keys().all(|k| !k.contains("intl-reseller-registration")), "removed document's page is gone");
    assert!(site.keys().any(|k| k.contains("zanzibar")), "added document has a page");
    let o = kb().args(["search", "--json", "--doc", removed_id, "--out"]).arg(&f.out).arg("reseller").output().unwrap();
    assert!(
        !o.status.success() && stderr(&o).contains("no indexed document"),
        "removed document is not searchable: {}",
        stderr(&o)
    );
}

#[test]
fn unchanged_rebuild_reuses_everything_and_changes_nothing() {
    let f = fixture();
    build(&f.corpus, &f.out, &[]);
    let before = tree(&f.out);
    let again = build(&f.corpus, &f.out, &[]);
    assert_eq!(again["incremental"]["reused"], 5);
    assert_eq!(again["incremental"]["parsed"], serde_json::json!([]));
    assert!(stage_summary(&again, "index").contains("updated: 0 documents re-added, 0 deleted"));
    assert!(stage_summary(&again, "publish").contains("0 document pages rendered, 5 reused"));
    assert_eq!(tree(&f.out), before);
}

#[test]
fn corrupt_or_missing_cache_means_a_full_build() {
    let f = fixture();
    build(&f.corpus, &f.out, &[]);
    let edited = f.corpus.join("zh/blueking-partner-overview.md");
    let text = fs::read_to_string(&edited).unwrap();
    fs::write(&edited, format!("{text}\n补充说明：本文档已更新。\n")).unwrap();

    fs::write(f.out.join("build-cache.json"), "{ not json").unwrap();
    let r = build(&f.corpus, &f.out, &[]);
    assert!(r["incremental"].is_null(), "a corrupt cache is not used");
    assert!(
        r["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("unreadable build cache")),
        "{}",
        r["notes"]
    );

    // A cache whose records no longer match it is not trusted either.
    fs::write(f.out.join("records.jsonl"), "").unwrap();
    let r = build(&f.corpus, &f.out, &[]);
    assert!(r["incremental"].is_null(), "mismatched records are not reused");

    fs::remove_file(f.out.join("build-cache.json")).unwrap();
    let r = build(&f.corpus, &f.out, &[]);
    assert!(r["incremental"].is_null());
    build(&f.corpus, &f.clean, &["--full"]);
    assert_same_tree(&f.out, &f.clean);
}
