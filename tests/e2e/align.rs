//! Align stage, end to end: `alignment.json` of the shipped corpus (the
//! BlueKing translation pair, the unpaired marketplace FAQ, the loose Tencent
//! Cloud counterparts, the `4.` vs `1.` numbering drift), `kb align` output,
//! kb.toml overrides, byte-identical rebuilds, the one-pairing-a-line layout,
//! incremental re-alignment of only the edited pair.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::{built, copy_dir, corpus, kb, records, run, stderr, stdout};

const BK_ZH: &str = "zh/blueking-partner-overview";
const BK_EN: &str = "en/blueking-partner-overview";

fn alignment() -> Value {
    serde_json::from_str(&fs::read_to_string(built().join("alignment.json")).unwrap()).unwrap()
}

fn doc_pair<'a>(a: &'a Value, zh: &str) -> Option<&'a Value> {
    a["documents"].as_array().unwrap().iter().find(|d| d["zh"] == zh)
}

fn doc_of(id: &str) -> &str {
    id.split_once('#').unwrap().0
}

/// Record pairings touching the zh document `zh` or the en document `en`.
fn record_pairs<'a>(a: &'a Value, zh: &str, en: &str) -> Vec<&'a Value> {
    a["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["zh"].as_str().is_some_and(|z| doc_of(z) == zh) || p["en"].as_str().is_some_and(|e| doc_of(e) == en)
        })
        .collect()
}

#[test]
fn blueking_overviews_pair_with_high_confidence_and_nearly_every_record_has_its_counterpart() {
    let a = alignment();
    let d = doc_pair(&a, BK_ZH).expect("the BlueKing overviews pair");
    assert_eq!(d["en"], BK_EN);
    let conf = d["confidence"].as_f64().unwrap();
    assert!(conf >= 0.8, "confidence {conf}: {d}");
    assert!(!d["evidence"].as_array().unwrap().is_empty());

    let rs = records();
    let zh_records = rs.iter().filter(|r| r["doc"] == BK_ZH).count();
    let pairs = record_pairs(&a, BK_ZH, BK_EN);
    let paired_zh: usize = pairs
        .iter()
        .filter(|p| !p["en"].is_null() && !p["zh"].is_null())
        .map(|p| p["zh_all"].as_array().map_or(1, |v| v.len()))
        .sum();
    assert!(paired_zh * 100 >= zh_records * 90, "only {paired_zh} of {zh_records} zh records have a counterpart");
    // Every record appears in exactly one pairing.
    let mut seen = HashMap::new();
    for p in &pairs {
        for side in ["zh", "en"] {
            let ids: Vec<&str> = match p[format!("{side}_all")].as_array() {
                Some(all) => all.iter().map(|v| v.as_str().unwrap()).collect(),
                None => p[side].as_str().into_iter().collect(),
            };
            for id in ids {
                *seen.entry(id.to_string()).or_insert(0) += 1;
            }
        }
    }
    assert!(seen.values().all(|&n| n == 1), "a record is in two pairings");
    let expected = rs.iter().filter(|r| r["doc"] == BK_ZH || r["doc"] == BK_EN).count();
    assert_eq!(seen.len(), expected, "every record of the pair is accounted for");
}

#[test]
fn blueking_table_rows_pair_row_by_row() {
    let a = alignment();
    let rs = records();
    let by_id: HashMap<&str, &Value> = rs.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
    // Position of each row within its table.
    let mut pos: HashMap<&str, (u64, usize)> = HashMap::new();
    for doc in [BK_ZH, BK_EN] {
        let mut counters: HashMap<u64, usize> = HashMap::new();
        for r in rs.iter().filter(|r| r["doc"] == doc && r["kind"] == "table_row") {
            let t = r["table"].as_u64().unwrap();
            let n = counters.entry(t).or_default();
            pos.insert(r["id"].as_str().unwrap(), (t, *n));
            *n += 1;
        }
    }
    let zh_rows = pos.keys().filter(|id| doc_of(id) == BK_ZH).count();
    assert!(zh_rows >= 10, "the BlueKing tables have rows ({zh_rows})");
    let mut checked = 0;
    for p in record_pairs(&a, BK_ZH, BK_EN) {
        let (Some(z), Some(e)) = (p["zh"].as_str(), p["en"].as_str()) else {
            continue;
        };
        if by_id[z]["kind"] != "table_row" {
            continue;
        }
        assert_eq!(by_id[e]["kind"], "table_row", "{z} ↔ {e}");
        assert_eq!(pos[z], pos[e], "row {z} paired with a different row {e}");
        assert!(p["evidence"].as_array().unwrap().iter().any(|ev| ev["signal"] == "cells"), "{p}");
        checked += 1;
    }
    assert_eq!(checked, zh_rows, "every zh row is paired with a row");
}

#[test]
fn marketplace_faq_has_no_counterpart() {
    let a = alignment();
    let unpaired: Vec<&str> = a["unpaired_documents"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(unpaired.contains(&"zh/tencent-cloud-marketplace-provider-faq"), "{unpaired:?}");
    assert!(doc_pair(&a, "zh/tencent-cloud-marketplace-provider-faq").is_none());
}

#[test]
fn tencent_application_and_intl_registration_are_not_passed_off_as_a_translation() {
    let a = alignment();
    let zh = "zh/tencent-cloud-partner-application";
    let en = "en/tencent-cloud-intl-reseller-registration";
    match doc_pair(&a, zh) {
        None => {
            let unpaired = a["unpaired_documents"].as_array().unwrap();
            assert!(unpaired.iter().any(|v| v == zh) && unpaired.iter().any(|v| v == en), "{unpaired:?}");
        }
        Some(d) => {
            assert_eq!(d["en"], en);
            let conf = d["confidence"].as_f64().unwrap();
            assert!(conf < 0.6, "a loose counterpart, not a translation: {conf}");
            let rs = records();
            let smaller = [zh, en].iter().map(|doc| rs.iter().filter(|r| r["doc"] == *doc).count()).min().unwrap();
            let pairs = record_pairs(&a, zh, en);
            let two_sided: Vec<&&Value> = pairs.iter().filter(|p| !p["zh"].is_null() && !p["en"].is_null()).collect();
            assert!(two_sided.len() * 2 <= smaller, "{} of {smaller} records forced into pairs", two_sided.len());
            // Each record pairing there rests on shared content, not on position.
            for p in two_sided {
                let anchored = p["evidence"].as_array().unwrap().iter().any(|ev| {
                    ["numbers", "urls", "lexicon", "image", "cells"].contains(&ev["signal"].as_str().unwrap())
                        && ev["score"].as_f64().unwrap() >= 0.5
                });
                assert!(anchored, "unanchored record pairing {p}");
            }
        }
    }
}

#[test]
fn numbering_drift_four_versus_one_is_reported() {
    let a = alignment();
    let rs = records();
    let by_id: HashMap<&str, &Value> = rs.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
    let hit = a["drift"].as_array().unwrap().iter().find(|d| {
        d["kind"] == "numbering"
            && d["zh"]
                .as_str()
                .is_some_and(|z| by_id[z]["text"].as_str().unwrap().starts_with("加入腾讯蓝鲸合作伙伴后"))
    });
    let d = hit.expect("the 4. vs 1. numbering drift");
    let (z, e) = (by_id[d["zh"].as_str().unwrap()], by_id[d["en"].as_str().unwrap()]);
    assert_eq!(z["number"], 4);
    assert_eq!(e["number"], 1);
    assert!(e["text"].as_str().unwrap().starts_with("After joining Tencent BlueKing Partner"));
    assert!(d["detail"].as_str().unwrap().contains("4."), "{d}");
}

#[test]
fn kb_align_prints_pairs_and_drift_side_by_side_with_source_lines() {
    let o = run(&["align", "--out", built().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("zh/blueking-partner-overview ↔ en/blueking-partner-overview  confidence"), "{s}");
    assert!(s.contains("zh/tencent-cloud-marketplace-provider-faq"), "{s}");
    let line = s.lines().position(|l| l.contains("[numbering]")).expect("a numbering drift item");
    let block: Vec<&str> = s.lines().skip(line).take(4).collect();
    assert!(
        block[1].contains("zh/blueking-partner-overview.md:82")
            && block[1].contains("en/blueking-partner-overview.md:80"),
        "{block:?}"
    );
    assert!(block[2].contains("4. 加入腾讯蓝鲸") && block[2].contains("│ 1. After joining"), "{block:?}");
}

#[test]
fn kb_align_json_prints_the_alignment_file() {
    let o = run(&["align", "--json", "--out", built().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), fs::read_to_string(built().join("alignment.json")).unwrap());
}

#[test]
fn kb_align_without_a_build_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["align", "--out", dir.path().join("nope").to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("kb build") && e.contains("alignment.json"), "{e}");
}

fn build(corpus: &Path, out: &Path) -> std::process::Output {
    kb().args(["build", "--quiet", "--corpus"]).arg(corpus).arg("--out").arg(out).output().unwrap()
}

fn copy_corpus(to: &Path, docs: &[&str], manifest: &str) {
    for d in docs {
        let dest = to.join(d);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(corpus().join(d), dest).unwrap();
    }
    fs::write(to.join("kb.toml"), manifest).unwrap();
}

#[test]
fn kb_toml_forbids_and_forces_pairings() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    copy_corpus(
        &c,
        &["zh/blueking-partner-overview.md", "en/blueking-partner-overview.md", "zh/tencent-cloud-marketplace-provider-faq.md"],
        "[[forbid]]\nzh = \"zh/blueking-partner-overview\"\nen = \"en/blueking-partner-overview\"\n\n[[pair]]\nzh = \"zh/tencent-cloud-marketplace-provider-faq\"\nen = \"en/blueking-partner-overview\"\n",
    );
    let out = dir.path().join("out");
    let o = build(&c, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let a: Value = serde_json::from_str(&fs::read_to_string(out.join("alignment.json")).unwrap()).unwrap();
    let docs = a["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["zh"], "zh/tencent-cloud-marketplace-provider-faq");
    assert_eq!(docs[0]["evidence"][0]["signal"], "manifest");
    assert!(docs[0]["confidence"].as_f64().unwrap() < 0.6, "forced, not faked");
    assert_eq!(a["unpaired_documents"], serde_json::json!([BK_ZH]));
}

#[test]
fn kb_toml_naming_a_missing_document_fails_the_build_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    copy_corpus(
        &c,
        &["zh/blueking-partner-overview.md", "en/blueking-partner-overview.md"],
        "[[pair]]\nzh = \"zh/blueking-overview\"\nen = \"en/blueking-partner-overview\"\n",
    );
    let o = build(&c, &dir.path().join("out"));
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("zh/blueking-overview") && e.contains("kb.toml"), "{e}");
    assert!(!dir.path().join("out").exists(), "a failed build writes no output");
}

#[test]
fn rebuilding_gives_a_byte_identical_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = build(&corpus(), &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(out.join("alignment.json")).unwrap(),
        fs::read(built().join("alignment.json")).unwrap(),
        "alignment.json differs between two builds"
    );
}

#[test]
fn alignment_json_has_one_pairing_a_line() {
    let text = fs::read_to_string(built().join("alignment.json")).unwrap();
    let a = alignment();
    let lines: Vec<&str> = text.lines().collect();
    for key in ["documents", "sections", "records", "unpaired_documents", "drift"] {
        let n = a[key].as_array().unwrap().len();
        let at = lines.iter().position(|l| l.starts_with(&format!("\"{key}\": ["))).expect(key);
        // Each item is a line of its own, then the closing bracket.
        for (k, line) in lines[at + 1..at + 1 + n].iter().enumerate() {
            let item = line.strip_suffix(',').unwrap_or(line);
            let v: Value = serde_json::from_str(item).unwrap_or_else(|e| panic!("{key} line {k}: {e}: {line}"));
            assert_eq!(v, a[key][k]);
        }
        assert!(lines[at + 1 + n].starts_with(']'), "{key}: {}", lines[at + 1 + n]);
    }
    // So grep finds a record's pairing on one line.
    let hit = lines.iter().filter(|l| l.contains(&format!("\"zh\":\"{BK_ZH}#"))).count();
    assert!(hit > 10, "{hit}");
}

fn build_json(corpus: &Path, out: &Path, full: bool) -> Value {
    let mut cmd = kb();
    cmd.args(["build", "--json", "--corpus"]).arg(corpus).arg("--out").arg(out);
    if full {
        cmd.arg("--full");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn align_summary(report: &Value) -> String {
    let stages = report["stages"].as_array().unwrap();
    stages.iter().find(|s| s["name"] == "align").unwrap()["summary"].as_str().unwrap().to_string()
}

#[test]
fn an_incremental_build_realigns_only_the_edited_pair_and_matches_a_full_build() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    copy_dir(&corpus(), &c);
    let (inc, full) = (dir.path().join("inc"), dir.path().join("full"));
    build_json(&c, &inc, false);
    // Nothing changed: every pair reused, no document profiled.
    let s = align_summary(&build_json(&c, &inc, false));
    assert!(s.contains("2 of 2 document pairs reused, 0 documents profiled"), "{s}");
    // Edit the English BlueKing overview: only its pair is aligned again.
    let en = c.join("en/blueking-partner-overview.md");
    let text = fs::read_to_string(&en).unwrap();
    fs::write(&en, format!("{text}\n5. A new closing item about 12 certified engineers.\n")).unwrap();
    let s = align_summary(&build_json(&c, &inc, false));
    assert!(s.contains("1 of 2 document pairs reused, 2 documents profiled"), "{s}");
    build_json(&c, &full, true);
    for f in ["alignment.json", "cache/align.bin"] {
        assert!(fs::read(inc.join(f)).unwrap() == fs::read(full.join(f)).unwrap(), "{f} differs from a full build");
    }
    // A broken cache is no reason to fail: the next build aligns everything and agrees.
    fs::write(inc.join("cache/align.bin"), b"not a cache").unwrap();
    let s = align_summary(&build_json(&c, &inc, false));
    assert!(!s.contains("reused"), "{s}");
    assert!(fs::read(inc.join("alignment.json")).unwrap() == fs::read(full.join("alignment.json")).unwrap());
}
