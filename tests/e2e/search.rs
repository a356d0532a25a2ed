//! `kb search` over the shipped corpus (and a small fixture corpus): Chinese
//! and English queries, counterparts, filters, syntax, errors, exit codes.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::{built, corpus, kb, records, stderr, stdout};

/// Runs `kb search --out <built> ARGS…`.
fn search(args: &[&str]) -> std::process::Output {
    kb().arg("search").args(args).arg("--out").arg(built()).output().expect("kb runs")
}

/// The hits of a `--json` search (status must be 0).
fn hits(args: &[&str]) -> Vec<Value> {
    let mut a = args.to_vec();
    a.extend(["--json", "--limit", "100"]);
    let o = search(&a);
    assert_eq!(o.status.code(), Some(0), "kb search {args:?}: {}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect()
}

fn at(h: &Value) -> (String, u64) {
    (h["path"].as_str().unwrap().to_string(), h["lines"][0].as_u64().unwrap())
}

/// Lines (1-based) of a corpus file that contain `needle`.
fn lines_with(rel: &str, needle: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(corpus().join(rel)).unwrap();
    text.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i as u64 + 1).collect()
}

#[test]
fn chinese_capital_query_finds_the_capital_requirements_of_both_tencent_cloud_docs() {
    let found: BTreeSet<(String, u64)> = hits(&["注册资本"]).iter().map(at).collect();
    for doc in ["zh/tencent-cloud-partner-application.md", "zh/tencent-cloud-marketplace-provider-faq.md"] {
        let lines = lines_with(doc, "注册资本");
        assert!(!lines.is_empty(), "the corpus states a capital requirement in {doc}");
        for line in lines {
            assert!(found.contains(&(doc.to_string(), line)), "{doc}:{line} not found; got {found:?}");
        }
    }
    assert!(found.contains(&("zh/tencent-cloud-partner-application.md".to_string(), 8)));
}

#[test]
fn search_mode_segmentation_lets_a_part_of_a_compound_match() {
    // 资本 is indexed inside 注册资本; the snippet marks just the part.
    let h = hits(&["资本"]);
    assert!(h.iter().any(|h| at(h) == ("zh/tencent-cloud-partner-application.md".to_string(), 8)));
    let o = search(&["资本", "--color", "never"]);
    assert!(stdout(&o).contains("注册**资本**"), "{}", stdout(&o));
}

#[test]
fn hits_show_location_heading_path_and_a_marked_snippet() {
    let o = search(&["注册资本", "--doc", "tencent-cloud-partner-application"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let first: Vec<&str> = out.lines().take(2).collect();
    assert!(first[0].starts_with("1. zh/tencent-cloud-partner-application.md:8 "), "{out}");
    assert!(first[0].contains("合作伙伴的申请条件"), "heading path shown: {out}");
    assert!(first[1].contains("**注册资本**人民币100万元以上"), "marked snippet when not a terminal: {out}");
    assert!(!out.contains('\x1b'), "no escape codes when not a terminal");
    let o = search(&["注册资本", "--color", "always"]);
    assert!(stdout(&o).contains("\x1b[1;31m注册资本\x1b[0m"), "{}", stdout(&o));
}

#[test]
fn english_capital_query_reaches_the_chinese_capital_rules_through_their_subject() {
    // The English corpus never mentions capital: check that, so this test
    // changes when the corpus does.
    for doc in ["en/tencent-cloud-intl-reseller-registration.md", "en/blueking-partner-overview.md"] {
        assert!(lines_with(doc, "apital").is_empty(), "{doc} now mentions capital; test English hits directly");
    }
    let h = hits(&["registered capital"]);
    assert!(!h.is_empty());
    for hit in &h {
        let subjects: Vec<&str> = hit["subjects"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        assert!(subjects.contains(&"registered_capital"), "matched through the rule subject: {hit}");
    }
    assert!(h.iter().any(|h| at(h) == ("zh/tencent-cloud-partner-application.md".to_string(), 8)));
    // With --lang en it says plainly that only Chinese records match.
    let o = search(&["registered capital", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no English records match \"registered capital\""), "{}", stderr(&o));
    assert!(stderr(&o).contains("Chinese records do"), "{}", stderr(&o));
}

#[test]
fn english_capital_query_finds_english_records_that_say_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    std::fs::create_dir_all(c.join("en")).unwrap();
    std::fs::create_dir_all(c.join("zh")).unwrap();
    std::fs::write(
        c.join("en/reseller.md"),
        "### Reseller requirements\n\n1. The company must have a Registered Capital of at least USD 150,000.\n2. The company must employ 10 people.\n",
    )
    .unwrap();
    std::fs::write(
        c.join("zh/reseller.md"),
        "### 经销商条件\n\n1. 公司注册资本不少于15万美元。\n2. 公司员工10人以上。\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = kb().args(["build", "--quiet", "--corpus"]).arg(&c).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Stemmed: "registering capitals" still matches "Registered Capital".
    for q in ["registered capital", "registering capitals"] {
        let o = kb().args(["search", q, "--lang", "en", "--json", "--out"]).arg(&out).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{q}: {}", stderr(&o));
        let h: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(h[0]["path"], "en/reseller.md", "{q}");
        assert_eq!(h[0]["lines"][0], 3, "{q}");
        let s = &h[0]["snippet"];
        let text: Vec<char> = s["text"].as_str().unwrap().chars().collect();
        let marked: Vec<String> = s["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| text[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize].iter().collect())
            .collect();
        assert_eq!(marked, ["Registered", "Capital"], "{q}");
    }
}

/// The rows of the BlueKing qualification table (certified-engineer counts) in `lang`.
fn qualification_rows(lang: &str) -> Vec<(String, u64)> {
    let header = if lang == "zh" { "工程师人数" } else { "Engineers" };
    let cert = if lang == "zh" { "认证" } else { "Certification" };
    let rows: Vec<(String, u64)> = records()
        .iter()
        .filter(|r| r["kind"] == "table_row" && r["doc"] == format!("{lang}/blueking-partner-overview"))
        .filter(|r| r["cells"].as_array().unwrap().iter().any(|c| c["header"].as_str().unwrap().contains(header)))
        .filter(|r| r["text"].as_str().unwrap().contains(cert))
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["lines"][0].as_u64().unwrap()))
        .collect();
    assert!(rows.len() >= 4, "the corpus has the qualification table in {lang}: {rows:?}");
    rows
}

#[test]
fn certified_engineer_queries_find_the_qualification_rows_with_their_counterparts() {
    for (query, lang) in [("认证工程师", "zh"), ("certified engineers", "en")] {
        let h = hits(&[query]);
        for row in qualification_rows(lang) {
            let hit = h.iter().find(|h| at(h) == row).unwrap_or_else(|| panic!("{query}: row {row:?} not found"));
            let c = &hit["counterpart"];
            assert!(c.is_object(), "{query}: {row:?} shows its counterpart: {hit}");
            assert_ne!(c["lang"], lang, "the counterpart is in the other language");
            assert_eq!(c["kind"], "table_row");
            assert!(c["doc"].as_str().unwrap().ends_with("/blueking-partner-overview"));
        }
    }
    // In text output the counterpart sits under its hit.
    let o = search(&["认证工程师", "--kind", "table_row", "--limit", "3"]);
    let out = stdout(&o);
    assert!(out.contains("↳ en/blueking-partner-overview.md:"), "{out}");
}

#[test]
fn quoted_chinese_is_a_phrase_unquoted_is_all_of_its_words() {
    let phrase = hits(&["\"认证工程师\""]);
    assert!(!phrase.is_empty());
    for h in &phrase {
        assert!(h["text"].as_str().unwrap().contains("认证工程师"), "phrase hits hold the phrase: {h}");
    }
    let words = hits(&["认证工程师"]);
    assert!(words.len() > phrase.len(), "unquoted finds rows where the words are apart");
    // The records holding the phrase rank first.
    for h in &words[..phrase.len()] {
        assert!(h["text"].as_str().unwrap().contains("认证工程师"), "{h}");
    }
}

#[test]
fn kind_filter_keeps_only_faq_entries() {
    let all = hits(&["审核"]);
    assert!(all.iter().any(|h| h["kind"] != "faq"), "审核 also occurs outside FAQ entries");
    let faq = hits(&["审核", "--kind", "faq"]);
    assert!(!faq.is_empty());
    assert!(faq.iter().all(|h| h["kind"] == "faq"), "{faq:?}");
    let field = hits(&["kind:faq AND 审核"]);
    assert_eq!(field.len(), faq.len(), "kind:faq in the query does the same");
}

#[test]
fn lang_and_doc_filters_restrict_hits() {
    let en = hits(&["partner", "--lang", "en"]);
    assert!(!en.is_empty() && en.iter().all(|h| h["lang"] == "en"));
    let doc = hits(&["partner", "--doc", "en/blueking-partner-overview"]);
    assert!(!doc.is_empty() && doc.iter().all(|h| h["doc"] == "en/blueking-partner-overview"));
    let o = search(&["partner", "--doc", "no-such-doc"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no indexed document matches"), "{}", stderr(&o));
}

#[test]
fn subject_field_finds_records_by_rule_subject() {
    let h = hits(&["subject:registered_capital"]);
    assert!(!h.is_empty());
    for hit in &h {
        assert!(hit["subjects"].as_array().unwrap().iter().any(|s| s == "registered_capital"), "{hit}");
    }
}

#[test]
fn a_query_that_matches_nothing_says_so_and_exits_1() {
    let o = search(&["blockchain"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert_eq!(stderr(&o).trim(), "no records match \"blockchain\"");
    let o = search(&["区块链", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "no JSON objects when nothing matches");
    let o = search(&["注册资本", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("no English records match \"注册资本\""), "{}", stderr(&o));
}

#[test]
fn a_bad_query_is_a_one_line_error_and_exits_2() {
    for (q, says) in [
        ("foo:bar", "unknown field `foo`"),
        ("\"注册资本", "syntax error"),
        ("title:", "syntax error"),
        ("-资本", "only excluded terms"),
    ] {
        let o = kb().args(["search", "--out"]).arg(built()).arg("--").arg(q).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{q}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{q}: {err}");
        assert!(err.starts_with("kb: invalid query") && err.contains(says), "{q}: {err}");
        assert!(!err.contains("panicked"));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_stale_or_missing_index_is_refused_with_the_command_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    copy_dir(built(), &out);
    let run = |out: &Path| kb().args(["search", "注册资本", "--out"]).arg(out).output().unwrap();
    assert_eq!(run(&out).status.code(), Some(0), "a copy of a build still searches");

    let records = out.join("records.jsonl");
    let mut text = std::fs::read_to_string(&records).unwrap();
    text = text.replacen("注册资本", "注册资金", 1);
    std::fs::write(&records, text).unwrap();
    let o = run(&out);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("out of date") && err.contains("run `kb build"), "{err}");

    std::fs::remove_dir_all(out.join("index")).unwrap();
    let o = run(&out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no search index") && stderr(&o).contains("kb build"), "{}", stderr(&o));
    assert!(!out.join("index").exists(), "searching never builds");
}

#[test]
fn english_queries_do_not_load_the_chinese_dictionary() {
    let o = search(&["certified engineers", "--stats"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("jieba dictionary not loaded"), "{}", stderr(&o));
    // SaaS occurs in Chinese records: highlighting it does not cut their Han text.
    let o = search(&["SaaS", "--lang", "zh", "--stats", "--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("**SaaS**"), "{}", stdout(&o));
    assert!(stderr(&o).contains("jieba dictionary not loaded"), "{}", stderr(&o));
    let o = search(&["认证", "--stats"]);
    assert!(stderr(&o).contains("jieba dictionary loaded"), "{}", stderr(&o));
}

#[test]
fn json_prints_one_object_a_hit() {
    let o = search(&["partner", "--json", "--limit", "3"]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["rank"], i + 1);
        for k in
            ["id", "doc", "path", "lines", "lang", "kind", "heading_path", "text", "snippet", "subjects", "counterpart"]
        {
            assert!(v.get(k).is_some(), "{k} missing from {v}");
        }
    }
}
