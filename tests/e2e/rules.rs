//! Rules: `rules.json`, the per-scope files and the schema written by
//! `kb build`; `kb check` against company profiles; `kb diff` between
//! versions of the docs.

use std::path::{Path, PathBuf};

use kb_model::rules::RuleSet;
use serde_json::{json, Value};

use crate::{built, copy_dir, corpus, kb, repo, run, stderr, stdout};

fn rules_of(out: &Path) -> RuleSet {
    serde_json::from_str(&std::fs::read_to_string(out.join("rules.json")).unwrap()).unwrap()
}

fn write_profile(dir: &Path, name: &str, profile: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, profile).unwrap();
    p
}

/// `kb check --profile P --out OUT`, more flags to add.
fn check_cmd(profile: &Path, out: &Path) -> std::process::Command {
    let mut c = kb();
    c.args(["check", "--profile"]).arg(profile).arg("--out").arg(out);
    c
}

fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(listing(&e.path()));
        } else {
            out.push((e.path(), e.metadata().unwrap().len()));
        }
    }
    out.sort();
    out
}

#[test]
fn build_writes_rules_scope_files_and_the_committed_schema() {
    let out = built();
    let rules = rules_of(out);
    assert_eq!(rules.version, 1);
    assert!(rules.rules.len() > 40);
    let schema = std::fs::read_to_string(out.join("rules.schema.json")).unwrap();
    let committed = std::fs::read_to_string(repo().join("crates/rules/rules.schema.json")).unwrap();
    assert!(schema == committed, "out/rules.schema.json differs from crates/rules/rules.schema.json");

    let index: Value = serde_json::from_str(&std::fs::read_to_string(out.join("rules/index.json")).unwrap()).unwrap();
    let scopes = index["scopes"].as_array().unwrap();
    assert_eq!(scopes.len(), rules.scopes().len());
    let mut total = 0;
    for s in scopes {
        let (scope, file) = (s["scope"].as_str().unwrap(), s["file"].as_str().unwrap());
        assert!(file.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'), "{file}");
        let part = rules_of_file(&out.join("rules").join(file));
        assert!(part.rules.iter().all(|r| r.scope == scope), "{file}");
        assert_eq!(part.rules.len() as u64, s["rules"].as_u64().unwrap());
        total += part.rules.len();
    }
    assert_eq!(total, rules.rules.len(), "every rule is in exactly one scope file");
    assert!(scopes.iter().any(|s| s["scope"] == "微信小程序市场"));
    assert!(scopes.iter().any(|s| s["scope"] == "企业版技术合作伙伴(试用)"));
}

fn rules_of_file(p: &Path) -> RuleSet {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn a_rebuild_writes_the_same_rule_files_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("out");
    let o = kb().args(["build", "--quiet", "--corpus"]).arg(corpus()).arg("--out").arg(&again).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["rules.json", "rules.schema.json", "rules/index.json"] {
        assert!(std::fs::read(built().join(f)).unwrap() == std::fs::read(again.join(f)).unwrap(), "{f} differs");
    }
    let a: Vec<_> = std::fs::read_dir(built().join("rules")).unwrap().flatten().map(|e| e.file_name()).collect();
    for name in a {
        let p = Path::new("rules").join(&name);
        assert!(std::fs::read(built().join(&p)).unwrap() == std::fs::read(again.join(&p)).unwrap(), "{p:?} differs");
    }
}

const GOOD_WECHAT: &str = r#"{
  "name": "Example Co.",
  "registered_capital": 2000000,
  "team_size": 25,
  "operations_staff": 2,
  "support_hours_weekly": 56,
  "registered_users": 12000,
  "customer_cases": 5
}"#;

#[test]
fn check_passes_a_profile_that_meets_the_wechat_market() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), "company.json", GOOD_WECHAT);
    let o = check_cmd(&p, built()).args(["--scope", "微信小程序市场"]).output().unwrap();
    let s = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{s}{}", stderr(&o));
    assert!(s.contains("PASS") && s.contains("registered_capital > 1000000 CNY (100万)"), "{s}");
    assert!(s.contains("zh: 1、服务商注册资本大于100万") || s.contains("zh: 服务商注册资本大于100万"), "{s}");
    assert!(s.contains("MANUAL"), "qualitative rules are listed for a person: {s}");
    assert!(!s.contains("FAIL"), "{s}");
}

#[test]
fn check_fails_and_cites_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(
        dir.path(),
        "company.json",
        r#"{"certified_engineers": {"automation": 3, "development": 2}, "service_fee": true}"#,
    );
    let o = check_cmd(&p, built()).args(["--scope", "企业版技术合作伙伴(试用)", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], json!(false));
    let results = v["report"]["results"].as_array().unwrap();
    let status = |var: &str| {
        results
            .iter()
            .find(|r| {
                let q = r["rule"]["qualifier"].as_str().map(|q| format!(".{q}")).unwrap_or_default();
                format!("{}{q}", r["rule"]["subject"].as_str().unwrap_or("")) == var
            })
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("certified_engineers.automation").as_deref(), Some("pass"));
    assert_eq!(status("certified_engineers.development").as_deref(), Some("fail"));
    assert_eq!(status("service_fee").as_deref(), Some("pass"));
    let fail = results.iter().find(|r| r["status"] == "fail").unwrap();
    assert!(fail["rule"]["text"]["zh"].as_str().unwrap().contains("企业版技术合作伙伴(试用)"));
    assert!(fail["rule"]["text"]["en"].as_str().unwrap().contains("Enterprise Edition Technology Partner (Trial)"));
    assert_eq!(v["report"]["fail"], json!(1));
}

#[test]
fn a_subject_missing_from_the_profile_is_unknown_and_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), "company.json", r#"{"registered_capital": 5000000}"#);
    let o = check_cmd(&p, built()).args(["--scope", "服务市场"]).output().unwrap();
    let s = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("UNKNOWN") && s.contains("not in profile"), "{s}");
    assert!(s.contains("certified_engineers.tencent_cloud_senior_ops"), "{s}");
}

#[test]
fn broken_profile_json_is_one_line_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), "company.json", "{\n  \"team_size\": 20,\n  \"headcount\" 30\n}\n");
    let o = check_cmd(&p, built()).output().unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("company.json:3:"), "{e}");
}

#[test]
fn an_ill_typed_profile_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), "company.json", r#"{"team_size": 20, "registered_capital": "100万"}"#);
    let o = check_cmd(&p, built()).output().unwrap();
    let e = stderr(&o);
    assert_ne!(o.status.code(), Some(0));
    assert!(e.contains("field `registered_capital`") && e.contains("expected a number"), "{e}");
    let p = write_profile(dir.path(), "typo.json", r#"{"certified_engineers": {"automaton": 3}}"#);
    let o = check_cmd(&p, built()).output().unwrap();
    assert!(stderr(&o).contains("`certified_engineers.automaton`"), "{}", stderr(&o));
}

#[test]
fn an_unknown_scope_lists_the_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), "company.json", GOOD_WECHAT);
    let o = check_cmd(&p, built()).args(["--scope", "小程序"]).output().unwrap();
    let e = stderr(&o);
    assert_ne!(o.status.code(), Some(0));
    assert!(e.contains("\"小程序\"") && e.contains("微信小程序市场"), "{e}");
}

#[test]
fn check_reads_a_corpus_folder_in_memory_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("corpus");
    copy_dir(&corpus(), &copy);
    let before = listing(dir.path());
    let p = dir.path().join("company.json");
    std::fs::write(&p, GOOD_WECHAT).unwrap();
    let o = check_cmd(&p, &copy).args(["--scope", "微信小程序市场"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    std::fs::remove_file(&p).unwrap();
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn diff_of_the_build_and_its_corpus_is_empty() {
    let o = kb().arg("diff").arg(built().join("rules.json")).arg(corpus()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 changed, 0 added, 0 removed"), "{}", stdout(&o));
}

#[test]
fn diff_sees_exactly_the_changed_rule_of_an_edited_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("corpus");
    copy_dir(&corpus(), &copy);
    let faq = copy.join("zh/tencent-cloud-marketplace-provider-faq.md");
    let text = std::fs::read_to_string(&faq).unwrap();
    let from = "1、服务商注册资本大于100万，有获得外部融资优先；";
    assert_eq!(text.matches(from).count(), 1);
    // the capital doubles, and an unrelated line above it moves the rule down a line
    let edited = text.replacen(from, "1、服务商注册资本大于200万，有获得外部融资优先；", 1).replacen(
        "#### 微信小程序市场\n",
        "#### 微信小程序市场\n\n",
        1,
    );
    std::fs::write(&faq, edited).unwrap();

    let o = kb().arg("diff").arg(corpus()).arg(&copy).arg("--json").output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["added"], json!([]), "{v:#}");
    assert_eq!(v["removed"], json!([]), "{v:#}");
    let changed = v["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{v:#}");
    let c = &changed[0];
    assert_eq!(c["key"], "微信小程序市场|registered_capital");
    assert_eq!(c["fields"], json!(["value"]));
    assert_eq!((c["old"]["value"].clone(), c["new"]["value"].clone()), (json!(1_000_000), json!(2_000_000)));
    assert!(c["new"]["text"]["zh"].as_str().unwrap().contains("200万"));

    let o = run(&["diff", corpus().to_str().unwrap(), copy.to_str().unwrap()]);
    let s = stdout(&o);
    assert!(s.contains("changed  [微信小程序市场] registered_capital > 1000000 CNY (100万) → registered_capital > 2000000 CNY (200万)"), "{s}");
    assert!(s.contains("1 changed, 0 added, 0 removed"), "{s}");
}

#[test]
fn diff_reports_added_and_removed_rules() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("corpus");
    copy_dir(&corpus(), &copy);
    let faq = copy.join("zh/tencent-cloud-marketplace-provider-faq.md");
    let text = std::fs::read_to_string(&faq).unwrap();
    // the image market gains a capital threshold and loses its experience requirement
    let edited = text
        .replacen(
            "4、能提供基于开发者需求的成熟、稳定的应用软件，拥有二年及以上该行业的服务经验；",
            "4、能提供基于开发者需求的成熟、稳定的应用软件；",
            1,
        )
        .replacen(
            "成为镜像市场服务商需要符合以下条件：\n1、主体企业成立满2年；",
            "成为镜像市场服务商需要符合以下条件：\n1、主体企业成立满2年，注册资本大于50万；",
            1,
        );
    assert_ne!(edited, text);
    std::fs::write(&faq, edited).unwrap();
    let o = kb().arg("diff").arg(built()).arg(&copy).arg("--json").output().unwrap();
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys = |k: &str| -> Vec<String> {
        v[k].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(keys("added"), ["镜像市场|registered_capital"], "{v:#}");
    assert_eq!(keys("removed"), ["镜像市场|industry_experience"], "{v:#}");
    // the rest of item 4 (能提供…应用软件) is the same qualitative rule as before
    assert_eq!(keys("changed"), Vec::<String>::new(), "{v:#}");
}

#[test]
fn diff_of_a_missing_side_says_what_is_wrong() {
    let o = run(&["diff", "/nonexistent/rules.json", built().to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("/nonexistent/rules.json"), "{}", stderr(&o));
}

#[test]
fn a_scope_can_be_named_in_either_language() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(
        dir.path(),
        "company.json",
        r#"{"certified_engineers": {"automation": 5, "development": 5}, "service_fee": true}"#,
    );
    let check = |scope: &str| {
        let o = check_cmd(&p, built()).args(["--scope", scope, "--json"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{scope}: {}{}", stdout(&o), stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["report"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"]["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let zh = check("企业版技术合作伙伴");
    assert_eq!(zh.len(), 3);
    assert_eq!(check("Enterprise Edition Technology Partner"), zh);
}

#[test]
fn rules_files_hold_one_rule_a_line() {
    let out = built();
    let mut files = vec![out.join("rules.json")];
    for e in std::fs::read_dir(out.join("rules")).unwrap().flatten() {
        if e.file_name() != "index.json" {
            files.push(e.path());
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"{\"version\":1,\"rules\":["), "{f:?}");
        assert_eq!(lines.last(), Some(&"]}"), "{f:?}");
        let rules = &lines[1..lines.len() - 1];
        for (i, l) in rules.iter().enumerate() {
            let l = if i + 1 < rules.len() { l.strip_suffix(',').expect("a comma between rules") } else { l };
            let r: kb_model::rules::Rule = serde_json::from_str(l).unwrap_or_else(|e| panic!("{f:?}:{}: {e}", i + 2));
            assert!(r.id.starts_with("rule-"));
        }
        assert_eq!(rules.len(), rules_of_file(&f).rules.len(), "{f:?}");
    }
}

#[test]
fn check_and_diff_read_the_pretty_rules_files_of_older_builds() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old-rules.json");
    std::fs::write(&old, serde_json::to_string_pretty(&rules_of(built())).unwrap()).unwrap();
    let o = kb().arg("diff").arg(&old).arg(built().join("rules.json")).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 changed, 0 added, 0 removed"), "{}", stdout(&o));
    let p = write_profile(dir.path(), "company.json", GOOD_WECHAT);
    let pretty = check_cmd(&p, &old).args(["--scope", "微信小程序市场", "--json"]).output().unwrap();
    let compact = check_cmd(&p, built()).args(["--scope", "微信小程序市场", "--json"]).output().unwrap();
    assert_eq!(pretty.status.code(), Some(0), "{}", stderr(&pretty));
    let report = |o: &std::process::Output| serde_json::from_str::<Value>(&stdout(o)).unwrap()["report"].clone();
    assert_eq!(report(&pretty), report(&compact));
}
