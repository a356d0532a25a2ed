//! Building and searching an index of hand-made records, alignment and rules.

use kb_index::{build_index, fingerprint, BuildMeta, Error, SearchIndex, SearchOptions};
use kb_model::alignment::{Alignment, RecordPair};
use kb_model::rules::{Rule, RuleSet};
use kb_model::{Cell, Lang, Record, RecordKind};

fn rec(doc: &str, lang: Lang, kind: RecordKind, line: u32, text: &str) -> Record {
    let mut r = Record::new(doc, format!("{doc}.md"), lang, kind, text, [line, line]);
    r.id = format!("{doc}#{line}");
    r.heading_path = vec![if lang == Lang::Zh { "申请条件".into() } else { "Requirements".into() }];
    r
}

fn corpus() -> (Vec<Record>, Alignment, RuleSet) {
    let mut row = rec("en/a", Lang::En, RecordKind::TableRow, 9, "Gold | 5 (Service Certification)");
    row.cells = vec![
        Cell { header: "Tier".into(), text: "Gold".into(), spanned: false },
        Cell { header: "Engineers".into(), text: "5 (Service Certification)".into(), spanned: false },
    ];
    let records = vec![
        rec("zh/a", Lang::Zh, RecordKind::Requirement, 3, "注册资本人民币100万元以上；"),
        rec("zh/a", Lang::Zh, RecordKind::Requirement, 4, "公司人员规模20人以上。"),
        rec("en/a", Lang::En, RecordKind::Requirement, 3, "A registered capital of at least CNY 1 million."),
        rec("en/a", Lang::En, RecordKind::Requirement, 4, "At least 20 employees."),
        row,
    ];
    let pair = |z: &str, e: &str| RecordPair {
        zh: Some(z.into()),
        en: Some(e.into()),
        zh_all: Vec::new(),
        en_all: Vec::new(),
        confidence: 0.9,
        evidence: Vec::new(),
    };
    let alignment =
        Alignment { records: vec![pair("zh/a#3", "en/a#3"), pair("zh/a#4", "en/a#4")], ..Alignment::default() };
    // Built from JSON so that fields the rules crate adds later (with
    // defaults) do not break this test.
    let rule: Rule = serde_json::from_value(serde_json::json!({
        "id": "r1", "scope": "代理合作伙伴", "subject": "headcount", "op": null, "value": null,
        "unit": null, "kind": "quantitative", "confidence": 0.9,
        "source": { "doc": "zh/a", "record": "zh/a#4", "path": "zh/a.md", "lines": [4, 4] },
        "text": { "zh": null, "en": null },
    }))
    .unwrap();
    (records, alignment, RuleSet { version: 1, rules: vec![rule] })
}

fn built() -> (tempfile::TempDir, SearchIndex) {
    let (records, alignment, rules) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("index");
    let meta = build_index(&idx, &records, Some(&alignment), Some(&rules), &BuildMeta::default()).unwrap();
    assert_eq!((meta.records, meta.zh_records, meta.en_records), (5, 2, 3));
    assert_eq!(meta.with_counterpart, 4);
    assert_eq!(meta.with_subject, 2, "the rule's subject also goes to the counterpart");
    let index = SearchIndex::open_dir(&idx).unwrap();
    (dir, index)
}

fn ids(index: &SearchIndex, opts: SearchOptions) -> Vec<String> {
    index.search(&opts).unwrap().hits.into_iter().map(|h| h.record.id).collect()
}

#[test]
fn a_pair_that_both_match_is_listed_once_with_the_counterpart_marked() {
    let (_d, index) = built();
    // "20" is in both records of the pair.
    let found = index.search(&SearchOptions::new("20")).unwrap();
    assert_eq!(found.total, 2);
    assert_eq!(found.hits.len(), 1);
    let c = found.hits[0].counterpart.as_ref().expect("counterpart shown");
    assert!(c.matched);
    assert_eq!(c.confidence, 0.9);
    assert_ne!(c.record.lang, found.hits[0].record.lang);
}

#[test]
fn counterparts_come_from_the_alignment() {
    let (_d, index) = built();
    let found = index.search(&SearchOptions::new("资本")).unwrap();
    assert_eq!(found.hits.len(), 1);
    let c = found.hits[0].counterpart.as_ref().unwrap();
    assert_eq!(c.record.id, "en/a#3");
    assert!(!c.matched);
    assert_eq!(found.hits[0].snippet.marked("[", "]"), "注册[资本]人民币100万元以上；");
}

#[test]
fn subjects_and_scopes_are_searchable_and_shown() {
    let (_d, index) = built();
    let found = index.search(&SearchOptions::new("subject:headcount")).unwrap();
    assert_eq!(found.total, 2, "the rule's record and its counterpart");
    assert_eq!(found.hits.len(), 1, "the pair is listed once");
    let mut pair = [found.hits[0].record.id.as_str(), &found.hits[0].counterpart.as_ref().unwrap().record.id];
    pair.sort();
    assert_eq!(pair, ["en/a#4", "zh/a#4"]);
    assert!(found.hits[0].counterpart.as_ref().unwrap().matched);
    assert_eq!(found.hits[0].subjects, ["headcount"]);
    assert_eq!(found.hits[0].scopes, ["代理合作伙伴"]);
    assert_eq!(index.search(&SearchOptions::new("scope:代理")).unwrap().total, 2);
}

#[test]
fn table_rows_are_found_by_their_column_headers() {
    let (_d, index) = built();
    let found = index.search(&SearchOptions::new("certified engineers")).unwrap();
    assert_eq!(found.hits.len(), 1);
    assert_eq!(found.hits[0].record.id, "en/a#9");
    // The snippet comes from the row's own text, where "Certification" is.
    assert_eq!(found.hits[0].snippet.marked("[", "]"), "Gold | 5 (Service [Certification])");
}

#[test]
fn filters_narrow_by_language_kind_and_document() {
    let (_d, index) = built();
    let mut o = SearchOptions::new("20");
    o.lang = Some(Lang::Zh);
    assert_eq!(ids(&index, o.clone()), ["zh/a#4"]);
    o.lang = None;
    o.kind = Some(RecordKind::TableRow);
    assert!(ids(&index, o.clone()).is_empty());
    o.kind = None;
    o.doc = Some("en/a".into());
    assert_eq!(ids(&index, o.clone()), ["en/a#4"]);
    o.doc = Some("nowhere".into());
    assert!(matches!(index.search(&o), Err(Error::UnknownDoc { .. })));
}

#[test]
fn no_match_with_a_language_filter_counts_the_other_language() {
    let (_d, index) = built();
    let mut o = SearchOptions::new("人员规模");
    o.lang = Some(Lang::En);
    let found = index.search(&o).unwrap();
    assert!(found.hits.is_empty());
    assert_eq!(found.other_lang_total, Some(1));
}

#[test]
fn bad_queries_are_errors_not_panics() {
    let (_d, index) = built();
    for q in ["", "nope:x", "(", "\"open", "-20"] {
        match index.search(&SearchOptions::new(q)) {
            Err(Error::Query { message, .. }) => assert!(!message.is_empty()),
            other => panic!("{q:?}: expected a query error, got {:?}", other.map(|r| r.total)),
        }
    }
}

#[test]
fn open_refuses_a_stale_or_missing_index() {
    let (records, _, _) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let jsonl: String = records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(out.join("records.jsonl"), &jsonl).unwrap();
    assert!(matches!(SearchIndex::open(out), Err(Error::NoIndex { .. })));
    let meta = BuildMeta { records_fingerprint: fingerprint(jsonl.as_bytes()), corpus: Some("corpus".into()) };
    build_index(&out.join("index"), &records, None, None, &meta).unwrap();
    SearchIndex::open(out).unwrap();
    std::fs::write(out.join("records.jsonl"), jsonl.replace("注册资本", "注册资金")).unwrap();
    let err = SearchIndex::open(out).err().expect("stale");
    assert!(matches!(err, Error::Stale { .. }), "{err}");
    assert!(err.to_string().contains("kb build --corpus corpus --out"), "{err}");
}

#[test]
fn rebuilding_the_same_records_ranks_the_same_way() {
    let (records, alignment, rules) = corpus();
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        build_index(&dir.path().join("i"), &records, Some(&alignment), Some(&rules), &BuildMeta::default()).unwrap();
        let index = SearchIndex::open_dir(&dir.path().join("i")).unwrap();
        let found = index.search(&SearchOptions::new("20 OR capital OR 资本")).unwrap();
        found.hits.iter().map(|h| (h.record.id.clone(), h.score)).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}
