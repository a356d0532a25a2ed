//! Parse stage, end to end: concrete records of the five corpus documents,
//! losslessness on every document, deterministic output, bad input.

use std::fs;

use serde_json::Value;

use crate::{built, corpus, kb, records, run, stderr, stdout};

fn find<'a>(rs: &'a [Value], doc: &str, pred: impl Fn(&Value) -> bool) -> Vec<&'a Value> {
    rs.iter().filter(|r| r["doc"] == doc && pred(r)).collect()
}

fn text(r: &Value) -> &str {
    r["text"].as_str().unwrap()
}

#[test]
fn capital_threshold_of_the_partner_application_is_a_requirement_under_its_heading() {
    let rs = records();
    let hits = find(&rs, "zh/tencent-cloud-partner-application", |r| text(r).contains("注册资本人民币100万元以上"));
    assert_eq!(hits.len(), 1);
    let r = hits[0];
    assert_eq!(r["kind"], "requirement");
    assert_eq!(r["lines"], serde_json::json!([8, 8]));
    assert_eq!(r["heading_path"], serde_json::json!(["合作伙伴的申请条件"]));
    assert_eq!(r["lang"], "zh");
    assert_eq!(r["path"], "zh/tencent-cloud-partner-application.md");
}

#[test]
fn marketplace_conditions_are_numbered_requirements_per_market() {
    let rs = records();
    let hits = find(&rs, "zh/tencent-cloud-marketplace-provider-faq", |r| {
        r["kind"] == "requirement" && r["heading_path"][1] == "微信小程序市场"
    });
    assert_eq!(hits.len(), 8);
    assert_eq!(hits[0]["ordinal"], "1、");
    assert_eq!(text(hits[0]), "服务商注册资本大于100万，有获得外部融资优先；");
    assert_eq!(hits[0]["lines"], serde_json::json!([7, 7]));
    assert_eq!(hits[0]["heading_path"][0], "成为腾讯云云市场服务商需要符合哪些条件？");
    let faqs = find(&rs, "zh/tencent-cloud-marketplace-provider-faq", |r| r["kind"] == "faq");
    assert_eq!(faqs.len(), 7);
    let review = faqs.iter().find(|r| r["question"] == "服务商申请提交审核后需要多长时间才能知道审核结果？").unwrap();
    assert_eq!(review["lines"], serde_json::json!([87, 88]));
    assert!(review["answer"].as_str().unwrap().contains("7 个工作日内完成审核"));
}

#[test]
fn blueking_benefits_html_table_resolves_rowspan() {
    let rs = records();
    let rows = find(&rs, "zh/blueking-partner-overview", |r| {
        r["kind"] == "table_row" && r["heading_path"][1] == "合作伙伴权益"
    });
    assert_eq!(rows.len(), 9);
    let beta = rows.iter().find(|r| text(r).contains("内测版本和培训资源")).unwrap();
    assert_eq!(beta["cells"][0], serde_json::json!({"header": "类别", "text": "公共权益", "spanned": true}));
    assert_eq!(beta["cells"][1]["header"], "类别");
    assert_eq!(beta["cells"][2]["header"], "详细信息");
    assert!(beta["cells"][2]["text"].as_str().unwrap().contains("专属版本\n丰富的课程内容"));
    assert_eq!(beta["lines"], serde_json::json!([26, 29]));
    let brand = rows.iter().find(|r| text(r).contains("资源置换")).unwrap();
    assert_eq!(brand["cells"][0]["text"], "专属权益");
    let en = find(&rs, "en/blueking-partner-overview", |r| r["kind"] == "table_row" && r["table"] == 2);
    assert_eq!(en.len(), 9);
}

#[test]
fn blueking_qualification_table_and_numbering_are_kept() {
    let rs = records();
    let trial = find(&rs, "zh/blueking-partner-overview", |r| {
        r["kind"] == "table_row" && text(r).starts_with("企业版技术合作伙伴(试用)")
    });
    assert_eq!(trial.len(), 1);
    assert_eq!(trial[0]["cells"][1]["header"], "腾讯蓝鲸智云\n运维自动化工程师人数");
    assert_eq!(trial[0]["cells"][1]["text"], "3 个(服务认证)");
    assert_eq!(trial[0]["cells"][3], serde_json::json!({"header": "服务费", "text": "有"}));
    let zh4 = find(&rs, "zh/blueking-partner-overview", |r| text(r).starts_with("加入腾讯蓝鲸合作伙伴后"));
    assert_eq!(
        (zh4[0]["kind"].as_str(), zh4[0]["ordinal"].as_str(), zh4[0]["number"].as_u64()),
        (Some("requirement"), Some("4."), Some(4))
    );
    let en1 =
        find(&rs, "en/blueking-partner-overview", |r| text(r).starts_with("After joining Tencent BlueKing Partner"));
    assert_eq!((en1[0]["kind"].as_str(), en1[0]["number"].as_u64()), (Some("requirement"), Some(1)));
}

#[test]
fn steps_callouts_and_images_of_the_application_guide() {
    let rs = records();
    let doc = "zh/tencent-cloud-partner-application";
    let step1 = find(&rs, doc, |r| r["kind"] == "step" && r["ordinal"] == "步骤一");
    assert_eq!(step1[0]["lines"], serde_json::json!([13, 13]));
    let sub = find(&rs, doc, |r| {
        r["kind"] == "step" && r["heading_path"].as_array().unwrap().iter().any(|h| h == "步骤三：提交合作伙伴申请")
    });
    assert_eq!(sub.len(), 4);
    assert_eq!(text(sub[1]), "确认申请条件后，单击立即申请。");
    let notes = find(&rs, doc, |r| r["kind"] == "note");
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[0]["note_type"].as_str(), notes[1]["note_type"].as_str()), (Some("tip"), Some("warning")));
    let images = find(&rs, doc, |r| r["kind"] == "image");
    assert_eq!(images.len(), 9);
    let en_steps = find(&rs, "en/tencent-cloud-intl-reseller-registration", |r| r["kind"] == "step");
    assert_eq!(en_steps.len(), 11);
    assert!(en_steps
        .iter()
        .any(|r| r["ordinal"] == "Step 4" && text(r).starts_with("Wait for the review, which takes about 2–3")));
}

#[test]
fn every_corpus_document_is_lossless() {
    let docs = kb_parse::load_corpus(&corpus()).unwrap();
    assert_eq!(docs.documents.len(), 5);
    for d in &docs.documents {
        let text = fs::read_to_string(corpus().join(&d.path)).unwrap();
        kb_parse::check_lossless(&text, d).unwrap_or_else(|e| panic!("{}: {e}", d.path));
    }
    let langs: Vec<_> = docs.documents.iter().map(|d| (d.path.as_str(), d.lang.code())).collect();
    assert!(langs.iter().all(|(p, l)| p.starts_with(l)), "{langs:?}");
}

#[test]
fn records_jsonl_snapshot() {
    let text = fs::read_to_string(built().join("records.jsonl")).unwrap();
    insta::assert_snapshot!("records_jsonl", text);
}

#[test]
fn rebuilding_unchanged_sources_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("again");
    let o = kb().arg("build").arg("--quiet").arg("--corpus").arg(corpus()).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(out.join("records.jsonl")).unwrap(), fs::read(built().join("records.jsonl")).unwrap());
}

#[test]
fn build_prints_a_summary_and_records_lists_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = kb().arg("build").arg("--corpus").arg(corpus()).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("from 5 documents"), "{s}");
    assert!(s.contains(" requirement"), "{s}");
    let o = kb().args(["records", "--kind", "faq", "--json", "--out"]).arg(&out).output().unwrap();
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|r| r["kind"] == "faq"));
    let o = kb()
        .args(["records", "--doc", "en/blueking-partner-overview", "--kind", "requirement", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let s = stdout(&o);
    assert!(s.contains("After joining Tencent BlueKing Partner"), "{s}");
    assert!(!s.contains("注册资本"), "{s}");
}

mod bad_input {
    use super::*;
    use std::path::Path;

    fn corpus_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            let p = dir.path().join("corpus").join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, bytes).unwrap();
        }
        dir
    }

    fn build(dir: &Path) -> std::process::Output {
        kb().arg("build").arg("--corpus").arg(dir.join("corpus")).arg("--out").arg(dir.join("out")).output().unwrap()
    }

    fn assert_clean_failure(dir: &Path, o: &std::process::Output, needle: &str) {
        assert!(!o.status.success());
        let err = stderr(o);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{err} should contain {needle}");
        assert!(!dir.join("out").exists(), "no partial output");
        let leftovers: Vec<_> = fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "only the corpus is left: {leftovers:?}");
    }

    #[test]
    fn gbk_file_is_decoded_and_said_so() {
        let (gbk, _, _) = encoding_rs::GBK.encode("### 条件\n1、注册资本人民币100万元以上；\n");
        let dir = corpus_with(&[("zh/gbk.md", &gbk)]);
        let o = build(dir.path());
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("decoded from GBK"), "{}", stdout(&o));
        let recs = fs::read_to_string(dir.path().join("out/records.jsonl")).unwrap();
        assert!(recs.contains("注册资本人民币100万元以上"));
    }

    #[test]
    fn undecodable_file_names_file_and_line() {
        let dir =
            corpus_with(&[("zh/ok.md", "# 好\n".as_bytes()), ("zh/bad.md", b"# ok\nline two\n\xff\xfe\xfd\x00\n")]);
        let o = build(dir.path());
        assert_clean_failure(dir.path(), &o, "bad.md:3:");
    }

    #[test]
    fn empty_file_is_refused() {
        let dir = corpus_with(&[("en/empty.md", b"")]);
        assert_clean_failure(dir.path(), &build(dir.path()), "empty.md:1: empty document");
    }

    #[test]
    fn unterminated_table_names_its_line() {
        let dir = corpus_with(&[("zh/t.md", "# 表\n\n<table>\n<tr><td>a</td></tr>\n".as_bytes())]);
        assert_clean_failure(dir.path(), &build(dir.path()), "t.md:3: unterminated HTML table");
    }

    #[test]
    fn huge_file_is_refused() {
        let big = vec![b'a'; 50 * 1024 * 1024];
        let dir = corpus_with(&[("en/big.md", &big)]);
        assert_clean_failure(dir.path(), &build(dir.path()), "big.md:1: file is 50.0 MiB");
    }

    #[test]
    fn folder_without_documents_is_refused() {
        let dir = corpus_with(&[("notes.json", b"{}")]);
        assert_clean_failure(dir.path(), &build(dir.path()), "no documents");
    }

    #[test]
    fn unknown_flag_is_one_line_and_exit_2() {
        let o = run(&["build", "--frobnicate"]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("--frobnicate"), "{err}");
    }

    #[test]
    fn failed_build_leaves_previous_output_intact() {
        let dir = corpus_with(&[("zh/a.md", "# 标题\n正文。\n".as_bytes())]);
        assert!(build(dir.path()).status.success());
        let before = fs::read(dir.path().join("out/records.jsonl")).unwrap();
        fs::write(dir.path().join("corpus/zh/b.md"), "<table>\n<tr>\n").unwrap();
        let o = build(dir.path());
        assert!(!o.status.success());
        assert_eq!(fs::read(dir.path().join("out/records.jsonl")).unwrap(), before);
    }
}

/// The real bilingual corpora beside the repository (`../shared/corpora`).
pub fn shared_corpora() -> Vec<std::path::PathBuf> {
    // `KB_CORPORA` points elsewhere; CI lays shared/ beside the clone.
    let root = std::env::var_os("KB_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::repo().join("../shared/corpora"));
    let mut out: Vec<_> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e} (the real corpora are expected beside the repository)", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn real_bilingual_corpora_parse_losslessly() {
    let corpora = shared_corpora();
    assert!(corpora.len() >= 3, "{corpora:?}");
    for dir in corpora {
        let c = kb_parse::load_corpus(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.documents.len() > 50, "{}", dir.display());
        for d in &c.documents {
            let text = fs::read_to_string(dir.join(&d.path)).unwrap();
            kb_parse::check_lossless(&text, d).unwrap_or_else(|e| panic!("{}/{}: {e}", dir.display(), d.path));
            let expected = if d.path.starts_with("zh/") {
                "zh"
            } else if d.path.starts_with("en/") {
                "en"
            } else {
                continue;
            };
            // Language detection: the zh/ and en/ trees say what each file should be.
            assert_eq!(d.lang.code(), expected, "{}/{}: language detected wrongly", dir.display(), d.path);
        }
    }
}
