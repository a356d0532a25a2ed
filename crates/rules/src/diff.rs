//! What changed between two rule sets: rules added, removed and changed.
//!
//! Rules are matched by [`Rule::key`] (`scope|subject[.qualifier]`), which
//! survives edits of the value and of the surrounding text, not by record
//! id. A qualitative rule's key holds a digest of its clause, so a reworded
//! qualitative rule is matched afterwards to the most similar unmatched rule
//! of the same scope.

use std::collections::BTreeMap;

use kb_model::rules::{Rule, RuleSet};
use serde::Serialize;

/// A rule present on both sides with a different meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The key both sides share (the new key for a reworded qualitative rule).
    pub key: String,
    /// The fields that differ (`op`, `value`, `unit`, `range`, `kind`, `clause`, …).
    pub fields: Vec<&'static str>,
    /// The old rule.
    pub old: Rule,
    /// The new rule.
    pub new: Rule,
}

/// The difference between two rule sets, each list sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleDiff {
    /// Rules only in the new set.
    pub added: Vec<Rule>,
    /// Rules only in the old set.
    pub removed: Vec<Rule>,
    /// Rules in both whose meaning changed.
    pub changed: Vec<Change>,
}

impl RuleDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The fields in which two rules with the same key differ in meaning
/// (confidence, ids, sources and citations are not meaning).
pub fn changed_fields(a: &Rule, b: &Rule) -> Vec<&'static str> {
    let mut f = Vec::new();
    if a.subject != b.subject {
        f.push("subject");
    }
    if a.qualifier != b.qualifier {
        f.push("qualifier");
    }
    if a.kind != b.kind {
        f.push("kind");
    }
    if a.op != b.op {
        f.push("op");
    }
    let num = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.as_f64());
    if a.value != b.value && !(num(&a.value).is_some() && num(&a.value) == num(&b.value)) {
        f.push("value");
    }
    if a.range != b.range {
        f.push("range");
    }
    if a.unit != b.unit {
        f.push("unit");
    }
    if a.is_qualitative() && b.is_qualitative() && norm(&a.clause) != norm(&b.clause) {
        f.push("clause");
    }
    f
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Dice similarity of character bigrams (works for Chinese and English).
pub fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let c: Vec<char> = norm(s).chars().collect();
        let mut g: Vec<(char, char)> = c.windows(2).map(|w| (w[0], w[1])).collect();
        g.sort_unstable();
        g
    };
    let (x, y) = (grams(a), grams(b));
    if x.is_empty() || y.is_empty() {
        return if norm(a) == norm(b) { 1.0 } else { 0.0 };
    }
    kb_model::dice_sorted(&x, &y)
}

/// The least similarity at which a reworded qualitative rule counts as changed
/// rather than removed and added.
pub const REWORDED_SIMILARITY: f64 = 0.5;

/// Compares `old` and `new`.
pub fn diff(old: &RuleSet, new: &RuleSet) -> RuleDiff {
    let keyed = |rs: &RuleSet| -> BTreeMap<String, Rule> {
        let mut rules = rs.rules.clone();
        if rules.iter().any(|r| r.key.is_empty()) {
            crate::extract::assign_keys(&mut rules);
        }
        rules.into_iter().map(|r| (r.key.clone(), r)).collect()
    };
    let mut o = keyed(old);
    let mut n = keyed(new);
    let mut out = RuleDiff::default();
    let shared: Vec<String> = o.keys().filter(|k| n.contains_key(*k)).cloned().collect();
    for k in shared {
        let a = o.remove(&k).expect("old");
        let b = n.remove(&k).expect("new");
        let fields = changed_fields(&a, &b);
        if !fields.is_empty() {
            out.changed.push(Change { key: k, fields, old: a, new: b });
        }
    }
    // reworded qualitative rules: best match within the scope, greedily
    let mut pairs: Vec<(f64, String, String)> = Vec::new();
    for (ka, a) in o.iter().filter(|(_, r)| r.is_qualitative()) {
        for (kb, b) in n.iter().filter(|(_, r)| r.is_qualitative() && r.scope == a.scope) {
            let s = similarity(&a.clause, &b.clause);
            if s >= REWORDED_SIMILARITY {
                pairs.push((s, ka.clone(), kb.clone()));
            }
        }
    }
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)).then_with(|| x.2.cmp(&y.2)));
    for (_, ka, kb) in pairs {
        if !o.contains_key(&ka) || !n.contains_key(&kb) {
            continue;
        }
        let a = o.remove(&ka).expect("old");
        let b = n.remove(&kb).expect("new");
        let fields = changed_fields(&a, &b);
        out.changed.push(Change { key: kb, fields, old: a, new: b });
    }
    out.removed = o.into_values().collect();
    out.added = n.into_values().collect();
    out.changed.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_model::rules::Op;
    use serde_json::json;

    fn q(scope: &str, subject: Option<&str>, value: i64, clause: &str) -> Rule {
        Rule {
            scope: scope.into(),
            subject: subject.map(Into::into),
            op: subject.map(|_| Op::Gt),
            value: subject.map(|_| json!(value)),
            kind: if subject.is_some() { Rule::QUANTITATIVE } else { Rule::QUALITATIVE }.into(),
            clause: clause.into(),
            ..Rule::default()
        }
    }

    fn set(rules: Vec<Rule>) -> RuleSet {
        let mut rules = rules;
        crate::extract::assign_keys(&mut rules);
        RuleSet { version: 1, rules }
    }

    #[test]
    fn a_changed_value_is_one_change_and_nothing_else() {
        let old =
            set(vec![q("m", Some("registered_capital"), 1_000_000, "大于100万"), q("m", None, 0, "有独立的研发能力")]);
        let mut new = old.clone();
        new.rules[0].value = Some(json!(2_000_000));
        new.rules[0].clause = "大于200万".into();
        new.rules[0].source.lines = [9, 9];
        let d = diff(&old, &new);
        assert!(d.added.is_empty() && d.removed.is_empty(), "{d:?}");
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].fields, ["value"]);
        assert_eq!(d.changed[0].key, "m|registered_capital");
    }

    #[test]
    fn reworded_qualitative_rules_pair_and_unrelated_ones_do_not() {
        let old = set(vec![
            q("m", None, 0, "有独立的研发能力及完善的售后服务能力"),
            q("m", None, 0, "接受腾讯云云市场相关协议"),
        ]);
        let new = set(vec![
            q("m", None, 0, "有独立的研发能力及完善的售后服务体系"),
            q("m", None, 0, "产品必须运行在腾讯云之上"),
        ]);
        let d = diff(&old, &new);
        assert_eq!(d.changed.len(), 1, "{d:?}");
        assert_eq!(d.changed[0].fields, ["clause"]);
        assert_eq!((d.added.len(), d.removed.len()), (1, 1));
    }

    #[test]
    fn integer_and_float_forms_of_a_value_are_the_same() {
        let old = set(vec![q("m", Some("team_size"), 20, "x")]);
        let mut new = old.clone();
        new.rules[0].value = Some(json!(20.0));
        assert!(diff(&old, &new).is_empty());
    }
}
