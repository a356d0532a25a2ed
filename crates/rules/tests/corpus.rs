//! The rules of the shipped corpus (parsed and aligned in memory), and the
//! published format: the committed JSON Schema, which every rules file
//! must validate against.

use std::path::{Path, PathBuf};

use kb_model::rules::{Op, Rule, RuleSet};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_rules() -> RuleSet {
    let corpus = kb_parse::load_corpus(&repo().join("corpus")).expect("corpus parses");
    let alignment = kb_align::align(&corpus.documents, &corpus.manifest);
    kb_rules::extract(&corpus.documents, Some(&alignment))
}

fn find<'a>(rules: &'a RuleSet, scope: &str, var: &str) -> &'a Rule {
    rules
        .rules
        .iter()
        .find(|r| r.scope == scope && r.variable().as_deref() == Some(var))
        .unwrap_or_else(|| panic!("no rule {var} in scope {scope}"))
}

#[test]
fn committed_schema_matches_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules.schema.json");
    let generated = kb_rules::schema_json();
    if std::env::var_os("KB_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == generated,
        "rules.schema.json differs from the schema of the Rust types; if the format change is \
         intended, run `KB_UPDATE_SCHEMA=1 cargo test -p kb-rules --test corpus` and review the diff"
    );
}

fn validator() -> jsonschema::Validator {
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&committed).expect("the schema is a valid JSON Schema")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn every_rules_file_of_the_corpus_validates_against_the_schema() {
    let v = validator();
    let rules = corpus_rules();
    assert!(rules.rules.len() > 40, "{} rules", rules.rules.len());
    let whole: Value = serde_json::from_str(&kb_rules::to_json(&rules)).unwrap();
    assert_eq!(errors(&v, &whole), Vec::<String>::new());
    let files = kb_rules::scope_files(&rules);
    assert_eq!(files.iter().map(|f| f.rules.rules.len()).sum::<usize>(), rules.rules.len());
    for f in &files {
        let one: Value = serde_json::from_str(&kb_rules::to_json(&f.rules)).unwrap();
        assert_eq!(errors(&v, &one), Vec::<String>::new(), "{}", f.file);
    }
}

#[test]
fn every_rules_file_kb_build_writes_validates_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    kb_build::build(&kb_build::BuildOptions::new(repo().join("corpus"), &out)).expect("build");
    let v = validator();
    let mut files = vec![out.join(kb_rules::RULES_FILE)];
    for e in std::fs::read_dir(out.join(kb_rules::SCOPES_DIR)).unwrap().flatten() {
        if e.file_name() != kb_rules::SCOPES_INDEX {
            files.push(e.path());
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{}", f.display());
    }
    let written = std::fs::read_to_string(out.join(kb_rules::SCHEMA_FILE)).unwrap();
    assert!(written == kb_rules::schema_json(), "the build writes the generated schema");
}

#[test]
fn the_schema_refuses_what_is_not_a_rule() {
    let v = validator();
    let rules = corpus_rules();
    let good: Value = serde_json::from_str(&kb_rules::to_json(&rules)).unwrap();
    for (field, bad) in [
        ("kind", json!("bogus")),
        ("confidence", json!(1.5)),
        ("op", json!("=>")),
        ("scope", json!(null)),
        ("value", json!([1, 2])),
        ("logic", json!(">= 3")),
    ] {
        let mut doc = good.clone();
        doc["rules"][0][field] = bad.clone();
        assert!(!errors(&v, &doc).is_empty(), "{field} = {bad} should be refused");
    }
    let mut doc = good;
    doc["rules"][0].as_object_mut().unwrap().remove("source");
    assert!(!errors(&v, &doc).is_empty(), "a rule without a source is refused");
}

#[test]
fn the_wechat_market_rules_of_the_corpus() {
    let rules = corpus_rules();
    let cap = find(&rules, "微信小程序市场", "registered_capital");
    assert_eq!((cap.op, cap.value.clone(), cap.unit.as_deref()), (Some(Op::Gt), Some(json!(1_000_000)), Some("CNY")));
    assert_eq!(
        cap.logic.as_ref().map(|l| l.to_value()),
        Some(json!({">": [{"var": "registered_capital"}, 1_000_000]}))
    );
    assert!(cap.text.zh.as_deref().unwrap().contains("注册资本大于100万"));
    assert_eq!(cap.source.path, "zh/tencent-cloud-marketplace-provider-faq.md");
    let users = find(&rules, "微信小程序市场", "registered_users");
    assert_eq!((users.op, users.value.clone()), (Some(Op::Gt), Some(json!(5000))));
    let hours = find(&rules, "微信小程序市场", "support_hours_weekly");
    assert_eq!((hours.op, hours.value.clone(), hours.unit.as_deref()), (Some(Op::Ge), Some(json!(56)), Some("hours")));
}

#[test]
fn the_image_market_needs_two_years_of_experience_written_in_chinese_numerals() {
    let rules = corpus_rules();
    let r = find(&rules, "镜像市场", "industry_experience");
    assert_eq!((r.op, r.value.clone(), r.unit.as_deref()), (Some(Op::Ge), Some(json!(2)), Some("years")));
    assert!(r.clause.contains("二年"), "{}", r.clause);
}

#[test]
fn the_blueking_trial_partner_needs_three_engineers_of_each_kind_and_pays_a_fee() {
    let rules = corpus_rules();
    let scope = "企业版技术合作伙伴(试用)";
    for kind in ["automation", "development"] {
        let r = find(&rules, scope, &format!("certified_engineers.{kind}"));
        assert_eq!((r.op, r.value.clone()), (Some(Op::Ge), Some(json!(3))), "{kind}");
        assert!(
            r.text.en.as_deref().is_some_and(|t| t.contains("Enterprise Edition Technology Partner (Trial)")),
            "{r:?}"
        );
    }
    let fee = find(&rules, scope, "service_fee");
    assert_eq!((fee.kind.as_str(), fee.value.clone()), ("boolean", Some(json!(true))));
    let brand =
        rules.rules.iter().filter(|r| r.scope == "品牌合作伙伴").map(|r| r.variable().unwrap()).collect::<Vec<_>>();
    assert_eq!(brand, ["service_fee"], "no minimum requirement is no threshold");
}

#[test]
fn the_partner_application_threshold_yields_several_rules() {
    let rules = corpus_rules();
    let scope = "代理、行业类合作伙伴";
    assert_eq!(find(&rules, scope, "registered_capital").value, Some(json!(1_000_000)));
    assert_eq!(find(&rules, scope, "headcount").value, Some(json!(20)));
    assert_eq!(find(&rules, scope, "team_size").value, Some(json!(2)));
    let ids: std::collections::BTreeSet<&str> =
        rules.rules.iter().filter(|r| r.scope == scope).map(|r| r.source.record.as_str()).collect();
    assert_eq!(ids.len(), 1, "all from one requirement record");
}

#[test]
fn faq_answers_give_the_entity_type_and_the_review_time() {
    let rules = corpus_rules();
    let e = rules
        .rules
        .iter()
        .find(|r| r.subject.as_deref() == Some("entity_type") && r.clause.contains("必须"))
        .expect("entity_type");
    assert_eq!(e.value, Some(json!("enterprise")));
    let t = rules
        .rules
        .iter()
        .find(|r| r.subject.as_deref() == Some("review_time") && r.source.doc.starts_with("zh/"))
        .expect("review_time");
    assert_eq!((t.op, t.value.clone(), t.unit.as_deref()), (Some(Op::Le), Some(json!(7)), Some("working_days")));
}

#[test]
fn every_numeric_or_boolean_rule_has_json_logic_and_every_key_is_unique() {
    let rules = corpus_rules();
    let mut keys = std::collections::BTreeSet::new();
    for r in &rules.rules {
        assert!(keys.insert(r.key.as_str()), "duplicate key {}", r.key);
        assert_eq!(r.logic.is_some(), !r.is_qualitative(), "{r:?}");
        assert!((0.0..=1.0).contains(&r.confidence));
        assert!(r.text.zh.is_some() || r.text.en.is_some());
    }
    assert!(rules.rules.iter().any(|r| r.is_qualitative()));
}

#[test]
fn extraction_is_deterministic() {
    assert_eq!(kb_rules::to_json(&corpus_rules()), kb_rules::to_json(&corpus_rules()));
}

#[test]
fn typed_and_json_logic_evaluation_agree_on_every_corpus_rule() {
    use kb_rules::check::{eval_logic, eval_typed};
    let rules = corpus_rules();
    let mut checked = 0;
    for r in rules.rules.iter().filter(|r| r.logic.is_some()) {
        let var = r.variable().unwrap();
        let expected = r.value.clone().unwrap();
        let probes: Vec<Value> = match &expected {
            Value::Number(n) => {
                let x = n.as_f64().unwrap();
                [0.0, x - 1.0, x - 0.5, x, x + 0.5, x + 1.0, x * 2.0, 1e12].iter().map(|v| json!(v)).collect()
            }
            Value::Bool(_) => vec![json!(true), json!(false)],
            Value::String(_) => vec![json!("enterprise"), json!("individual")],
            v => panic!("unexpected value {v}"),
        };
        for p in probes {
            let mut data = json!({});
            match var.split_once('.') {
                Some((s, q)) => data[s] = json!({ q: p.clone() }),
                None => data[var.as_str()] = p.clone(),
            }
            let typed = eval_typed(r, &p).expect("types fit");
            let logic = eval_logic(r, &data).unwrap().unwrap();
            assert_eq!(typed, logic, "{} on {p}", r.describe());
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

/// One line a rule: what a reviewer reads when extraction changes.
#[test]
fn corpus_rules_snapshot() {
    let rules = corpus_rules();
    let lines: Vec<String> = rules
        .rules
        .iter()
        .map(|r| {
            let cond = if r.is_qualitative() { format!("qualitative: {}", r.clause) } else { r.describe() };
            let en = match (&r.text.zh, &r.text.en) {
                (Some(_), Some(_)) => "zh+en",
                (Some(_), None) => "zh",
                _ => "en",
            };
            format!("{} | {} | {:.2} | {} | {en}", r.scope, cond, r.confidence, r.source.location())
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
