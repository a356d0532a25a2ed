//! Checking a company profile against rules.
//!
//! A profile is a JSON object mapping subjects to values:
//!
//! ```json
//! {
//!   "registered_capital": 2000000,
//!   "team_size": 25,
//!   "certified_engineers": {"automation": 3, "development": 3},
//!   "service_fee": true,
//!   "entity_type": "enterprise"
//! }
//! ```
//!
//! Subjects with kinds take an object of values by kind (or dotted keys,
//! `"certified_engineers.automation": 3`). Unknown subjects and values of the
//! wrong type are errors naming the field. Keys starting with `$` or `_`
//! (and `name`) are notes and are ignored.
//!
//! Each rule with JSON Logic is evaluated by the JSON Logic engine
//! (`datalogic-rs`) — the same logic any other tool reads from `rules.json` —
//! and by a typed comparison; the two must agree. A rule whose subject the
//! profile does not give is `unknown`; a qualitative rule is `manual`.

use std::path::{Path, PathBuf};

use kb_model::rules::{Rule, RuleSet};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::vocab::{SubjectKind, Vocabulary};
use crate::{json_error, Error, Result};

/// Keys of a profile that are notes, not subjects.
fn is_note_key(k: &str) -> bool {
    k.starts_with('$') || k.starts_with('_') || k == "name"
}

/// A validated company profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// The values, nested by qualifier (`{"certified_engineers": {"automation": 3}}`).
    pub data: Value,
}

fn field_err(path: &Path, field: &str, message: impl Into<String>) -> Error {
    Error::Field { path: path.to_path_buf(), field: field.to_string(), message: message.into() }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        Profile::parse(&text, path)
    }

    /// Parses and validates a profile; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Profile> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
        Profile::from_value(value, path, Vocabulary::builtin())
    }

    /// Validates a parsed profile against the vocabulary.
    pub fn from_value(value: Value, path: &Path, vocab: &Vocabulary) -> Result<Profile> {
        let Value::Object(map) = value else {
            return Err(field_err(
                path,
                "(top level)",
                format!("expected an object mapping subjects to values, found {}", type_name(&value)),
            ));
        };
        let mut data = Map::new();
        for (key, v) in map {
            if is_note_key(&key) {
                continue;
            }
            let (subject_id, qualifier) = match key.split_once('.') {
                Some((s, q)) => (s, Some(q)),
                None => (key.as_str(), None),
            };
            let Some(subject) = vocab.subject(subject_id) else {
                let known: Vec<&str> = vocab.subject.iter().map(|s| s.id.as_str()).collect();
                return Err(field_err(path, &key, format!("unknown subject; known subjects: {}", known.join(", "))));
            };
            let qualifiers: Vec<&str> = subject.qualifier.iter().map(|q| q.id.as_str()).collect();
            let check_q = |q: &str, field: &str| -> Result<()> {
                if qualifiers.contains(&q) {
                    Ok(())
                } else if qualifiers.is_empty() {
                    Err(field_err(path, field, format!("`{subject_id}` has no kinds")))
                } else {
                    Err(field_err(path, field, format!("unknown kind {q:?}; kinds: {}", qualifiers.join(", "))))
                }
            };
            let check_scalar = |field: &str, v: &Value| -> Result<()> {
                let ok = match (subject.kind, v) {
                    (_, Value::Null) => true,
                    (SubjectKind::Quantitative, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
                    (SubjectKind::Boolean, Value::Bool(_)) => true,
                    (SubjectKind::Enum, Value::String(s)) => {
                        if !subject.value.iter().any(|x| &x.id == s) {
                            let known: Vec<&str> = subject.value.iter().map(|x| x.id.as_str()).collect();
                            return Err(field_err(
                                path,
                                field,
                                format!("unknown value {s:?}; one of: {}", known.join(", ")),
                            ));
                        }
                        true
                    }
                    _ => false,
                };
                if ok {
                    return Ok(());
                }
                let want = match subject.kind {
                    SubjectKind::Quantitative => format!("a number ({})", subject.unit),
                    SubjectKind::Boolean => "true or false".to_string(),
                    SubjectKind::Enum => "a string".to_string(),
                };
                Err(field_err(path, field, format!("expected {want}, found {} {}", type_name(v), show(v))))
            };
            match (qualifier, v) {
                (Some(q), v) => {
                    check_q(q, &key)?;
                    check_scalar(&key, &v)?;
                    let slot = data.entry(subject_id.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    match slot {
                        Value::Object(m) => {
                            m.insert(q.to_string(), v);
                        }
                        _ => {
                            return Err(field_err(
                                path,
                                &key,
                                format!("`{subject_id}` is given both as a value and by kind"),
                            ))
                        }
                    }
                }
                (None, Value::Object(m)) if !qualifiers.is_empty() => {
                    let slot = data.entry(subject_id.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(slot) = slot else {
                        return Err(field_err(
                            path,
                            &key,
                            format!("`{subject_id}` is given both as a value and by kind"),
                        ));
                    };
                    for (q, v) in m {
                        let field = format!("{subject_id}.{q}");
                        check_q(&q, &field)?;
                        check_scalar(&field, &v)?;
                        slot.insert(q, v);
                    }
                }
                (None, v) => {
                    check_scalar(&key, &v)?;
                    if data.contains_key(subject_id) {
                        return Err(field_err(
                            path,
                            &key,
                            format!("`{subject_id}` is given both as a value and by kind"),
                        ));
                    }
                    data.insert(subject_id.to_string(), v);
                }
            }
        }
        Ok(Profile { path: path.to_path_buf(), data: Value::Object(data) })
    }

    /// The value of a variable (`team_size`, `certified_engineers.automation`);
    /// `None` when absent or `null`, or when the shape does not fit (a
    /// plain number where a kind is asked for).
    pub fn get(&self, var: &str) -> Option<&Value> {
        let mut v = &self.data;
        for part in var.split('.') {
            v = v.as_object()?.get(part)?;
        }
        match v {
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            v => Some(v),
        }
    }
}

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The profile meets the rule.
    Pass,
    /// The profile does not meet the rule.
    Fail,
    /// The profile does not give the rule's subject.
    Unknown,
    /// A qualitative rule: to be checked by a person.
    Manual,
}

impl Status {
    /// `pass`, `fail`, `unknown`, `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Manual => "manual",
        }
    }
}

/// The typed evaluation of a rule on a value: `None` when the types do not fit.
pub fn eval_typed(rule: &Rule, actual: &Value) -> Option<bool> {
    let op = rule.op?;
    let expected = rule.value.as_ref()?;
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => Some(op.holds(a.as_f64()?, e.as_f64()?)),
        (Value::Bool(a), Value::Bool(e)) if op == kb_model::rules::Op::Eq => Some(a == e),
        (Value::String(a), Value::String(e)) if op == kb_model::rules::Op::Eq => Some(a == e),
        _ => None,
    }
}

/// JSON Logic truthiness of a result.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// Evaluates a rule's JSON Logic on `data` with `datalogic-rs`.
pub fn eval_logic(rule: &Rule, data: &Value) -> Result<Option<bool>> {
    let Some(logic) = &rule.logic else {
        return Ok(None);
    };
    let err =
        |message: String| Error::Logic { rule: rule.id.clone(), source_location: rule.source.location(), message };
    let out = datalogic_rs::eval_str(logic.to_string().as_str(), data.to_string().as_str())
        .map_err(|e| err(e.to_string()))?;
    let v: Value = serde_json::from_str(&out).map_err(|e| err(format!("unreadable result {out:?}: {e}")))?;
    Ok(Some(truthy(&v)))
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The outcome.
    pub status: Status,
    /// The profile's value, when it gives one.
    pub actual: Option<Value>,
    /// The rule.
    pub rule: Rule,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The scope checked, if one was chosen.
    pub scope: Option<String>,
    /// Counts by outcome.
    pub pass: usize,
    /// Rules failed.
    pub fail: usize,
    /// Rules the profile says nothing about.
    pub unknown: usize,
    /// Qualitative rules, for a person to check.
    pub manual: usize,
    /// One result a rule, in rule order.
    pub results: Vec<CheckResult>,
}

impl CheckReport {
    /// True when every rule that can be evaluated passes.
    pub fn all_pass(&self) -> bool {
        self.fail == 0 && self.unknown == 0
    }
}

/// Checks `profile` against the rules of `scope` (all rules when `None`).
pub fn check(rules: &RuleSet, profile: &Profile, scope: Option<&str>) -> Result<CheckReport> {
    if let Some(s) = scope {
        if !rules.rules.iter().any(|r| r.in_scope(s)) {
            return Err(Error::UnknownScope {
                scope: s.to_string(),
                known: {
                    let mut k: Vec<String> = rules
                        .rules
                        .iter()
                        .flat_map(|r| std::iter::once(&r.scope).chain(&r.scope_other))
                        .map(|s| s.to_string())
                        .collect();
                    k.sort();
                    k.dedup();
                    k
                },
            });
        }
    }
    let mut report =
        CheckReport { scope: scope.map(String::from), pass: 0, fail: 0, unknown: 0, manual: 0, results: Vec::new() };
    for rule in rules.rules.iter().filter(|r| scope.is_none_or(|s| r.in_scope(s))) {
        let (status, actual) = match (rule.logic.as_ref(), rule.variable()) {
            (Some(_), Some(var)) => match profile.get(&var) {
                None => (Status::Unknown, None),
                Some(actual) => match eval_typed(rule, actual) {
                    // a value of another type than the rule's (a count for a yes/no rule)
                    None => (Status::Unknown, Some(actual.clone())),
                    Some(typed) => {
                        let logic = eval_logic(rule, &profile.data)?.unwrap_or(typed);
                        if logic != typed {
                            return Err(Error::Disagree {
                                rule: rule.id.clone(),
                                typed,
                                logic,
                                value: actual.to_string(),
                            });
                        }
                        (if logic { Status::Pass } else { Status::Fail }, Some(actual.clone()))
                    }
                },
            },
            _ => (Status::Manual, None),
        };
        match status {
            Status::Pass => report.pass += 1,
            Status::Fail => report.fail += 1,
            Status::Unknown => report.unknown += 1,
            Status::Manual => report.manual += 1,
        }
        report.results.push(CheckResult { status, actual, rule: rule.clone() });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_model::rules::Op;
    use proptest::prelude::*;
    use serde_json::json;

    fn rule(subject: &str, qualifier: Option<&str>, op: Op, value: Value) -> Rule {
        let mut r = Rule {
            id: "r".into(),
            scope: "s".into(),
            subject: Some(subject.into()),
            qualifier: qualifier.map(Into::into),
            op: Some(op),
            value: Some(value.clone()),
            kind: match value {
                Value::Bool(_) => Rule::BOOLEAN,
                Value::String(_) => Rule::ENUM,
                _ => Rule::QUANTITATIVE,
            }
            .into(),
            ..Rule::default()
        };
        let var = r.variable().unwrap();
        r.logic = Some(json!({ op.as_str(): [{"var": var}, value] }).into());
        r
    }

    fn profile(v: Value) -> Result<Profile> {
        Profile::from_value(v, Path::new("company.json"), Vocabulary::builtin())
    }

    #[test]
    fn broken_json_names_file_line_and_column() {
        let err =
            Profile::parse("{\n  \"team_size\": 20,\n  \"headcount\" 30\n}", Path::new("company.json")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("company.json:3:"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn ill_typed_fields_are_named() {
        let msg = profile(json!({"registered_capital": "100万"})).unwrap_err().to_string();
        assert!(msg.contains("`registered_capital`") && msg.contains("expected a number"), "{msg}");
        let msg = profile(json!({"service_fee": 1})).unwrap_err().to_string();
        assert!(msg.contains("`service_fee`") && msg.contains("true or false"), "{msg}");
        let msg = profile(json!({"certified_engineers": {"automaton": 3}})).unwrap_err().to_string();
        assert!(msg.contains("`certified_engineers.automaton`") && msg.contains("automation"), "{msg}");
        let msg = profile(json!({"registerd_capital": 5})).unwrap_err().to_string();
        assert!(msg.contains("`registerd_capital`") && msg.contains("unknown subject"), "{msg}");
        let msg = profile(json!({"entity_type": "company"})).unwrap_err().to_string();
        assert!(msg.contains("`entity_type`") && msg.contains("enterprise"), "{msg}");
        let msg = profile(json!([1])).unwrap_err().to_string();
        assert!(msg.contains("expected an object"), "{msg}");
    }

    #[test]
    fn dotted_and_nested_kinds_are_the_same_profile() {
        let a = profile(json!({"certified_engineers.automation": 3, "certified_engineers.development": 2})).unwrap();
        let b = profile(json!({"certified_engineers": {"automation": 3, "development": 2}})).unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(a.get("certified_engineers.automation"), Some(&json!(3)));
        assert_eq!(a.get("certified_engineers"), None);
    }

    #[test]
    fn check_reports_pass_fail_unknown_and_manual() {
        let mut q = Rule { id: "q".into(), scope: "s".into(), kind: Rule::QUALITATIVE.into(), ..Rule::default() };
        q.clause = "有独立的研发能力".into();
        let rules = RuleSet {
            version: 1,
            rules: vec![
                rule("registered_capital", None, Op::Gt, json!(1_000_000)),
                rule("team_size", None, Op::Ge, json!(20)),
                rule("certified_engineers", Some("automation"), Op::Ge, json!(3)),
                rule("service_fee", None, Op::Eq, json!(true)),
                q,
            ],
        };
        let p = profile(json!({"registered_capital": 2_000_000, "team_size": 12, "service_fee": true})).unwrap();
        let rep = check(&rules, &p, Some("s")).unwrap();
        let st: Vec<Status> = rep.results.iter().map(|r| r.status).collect();
        assert_eq!(st, [Status::Pass, Status::Fail, Status::Unknown, Status::Pass, Status::Manual]);
        assert!(!rep.all_pass());
        let err = check(&rules, &p, Some("nope")).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("s"), "{err}");
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![Just(Op::Ge), Just(Op::Gt), Just(Op::Le), Just(Op::Lt), Just(Op::Eq)]
    }

    /// Numbers as they come in profiles and rules: whole and fractional,
    /// small and large (capital in CNY), equal values often.
    fn num_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0i64..50).prop_map(|x| x as f64),
            (0i64..2_000_000_000).prop_map(|x| x as f64),
            (0u32..10_000).prop_map(|x| x as f64 / 4.0),
        ]
    }

    fn num_json(x: f64) -> Value {
        if x.fract() == 0.0 {
            json!(x as i64)
        } else {
            json!(x)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn typed_and_json_logic_evaluation_agree_on_numbers(op in op_strategy(), expected in num_strategy(), actual in num_strategy(), same in any::<bool>(), qualified in any::<bool>()) {
            let actual = if same { expected } else { actual };
            let q = qualified.then_some("automation");
            let subject = if qualified { "certified_engineers" } else { "registered_capital" };
            let r = rule(subject, q, op, num_json(expected));
            let p = profile(match q {
                Some(q) => json!({ subject: { q: num_json(actual) } }),
                None => json!({ subject: num_json(actual) }),
            }).unwrap();
            let typed = eval_typed(&r, p.get(&r.variable().unwrap()).unwrap()).unwrap();
            let logic = eval_logic(&r, &p.data).unwrap().unwrap();
            prop_assert_eq!(typed, logic, "{} {} {} vs {}", subject, op, expected, actual);
            prop_assert_eq!(typed, op.holds(actual, expected));
        }

        #[test]
        fn typed_and_json_logic_evaluation_agree_on_booleans_and_enums(expected in any::<bool>(), actual in any::<bool>(), e_ent in any::<bool>(), a_ent in any::<bool>()) {
            let r = rule("service_fee", None, Op::Eq, json!(expected));
            let p = profile(json!({"service_fee": actual})).unwrap();
            let typed = eval_typed(&r, p.get("service_fee").unwrap()).unwrap();
            prop_assert_eq!(Some(typed), eval_logic(&r, &p.data).unwrap());
            prop_assert_eq!(typed, expected == actual);

            let name = |b: bool| if b { "enterprise" } else { "individual" };
            let r = rule("entity_type", None, Op::Eq, json!(name(e_ent)));
            let p = profile(json!({"entity_type": name(a_ent)})).unwrap();
            let typed = eval_typed(&r, p.get("entity_type").unwrap()).unwrap();
            prop_assert_eq!(Some(typed), eval_logic(&r, &p.data).unwrap());
            prop_assert_eq!(typed, e_ent == a_ent);
        }
    }
}
