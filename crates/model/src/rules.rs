//! Machine-readable rules extracted from requirement records
//! (`out/rules.json`, written by `kb-rules`; its JSON Schema,
//! `out/rules.schema.json`, is generated from these types).
//!
//! A [`Rule`] is one condition a partner must meet: a subject from the
//! controlled vocabulary (`registered_capital`, `team_size`, …), an operator,
//! a value and a unit, the scope it applies to (a market, a partner category),
//! the record it was read from, and its citation in both languages. A rule
//! with a number, a boolean or an enumerated value also carries its condition
//! as [JSON Logic](https://jsonlogic.com) so any tool can evaluate it.
//!
//! A large corpus has hundreds of thousands of rules, most of whose strings
//! are shared: the rules of one document name the same path, those of one
//! record cite the same texts, and scopes, subjects, units and kinds come
//! from short lists. So the strings of a rule are [`SharedStr`]s (cloning
//! one counts a reference) and its JSON Logic is a small typed [`Logic`];
//! both read, compare and serialise exactly as the `String` and
//! `serde_json::Value` they stand for.

use std::borrow::Cow;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The current `rules.json` format version.
pub const RULES_FORMAT_VERSION: u32 = 1;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Op {
    /// at least
    #[serde(rename = ">=")]
    Ge,
    /// more than
    #[serde(rename = ">")]
    Gt,
    /// at most
    #[serde(rename = "<=")]
    Le,
    /// less than
    #[serde(rename = "<")]
    Lt,
    /// exactly
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    /// The operator as written in JSON and JSON Logic (`>=`, `>`, `<=`, `<`, `==`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
        }
    }

    /// Whether `actual op expected` holds for numbers.
    pub fn holds(self, actual: f64, expected: f64) -> bool {
        match self {
            Op::Ge => actual >= expected,
            Op::Gt => actual > expected,
            Op::Le => actual <= expected,
            Op::Lt => actual < expected,
            Op::Eq => actual == expected,
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rule came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleSource {
    /// Document id.
    pub doc: SharedStr,
    /// Record id.
    pub record: SharedStr,
    /// Source file relative to the corpus.
    pub path: SharedStr,
    /// First and last source line.
    pub lines: [u32; 2],
    /// The id of the aligned record in the other language, if alignment found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<SharedStr>,
}

impl RuleSource {
    /// `path:first-last`, for citations.
    pub fn location(&self) -> String {
        if self.lines[0] == self.lines[1] {
            format!("{}:{}", self.path, self.lines[0])
        } else {
            format!("{}:{}-{}", self.path, self.lines[0], self.lines[1])
        }
    }
}

/// The citation text in both languages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BilingualText {
    /// Chinese text, if any.
    pub zh: Option<SharedStr>,
    /// English text, if any.
    pub en: Option<SharedStr>,
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    /// Stable id: a digest of [`Rule::key`], so it survives edits of the
    /// value and of unrelated text.
    pub id: String,
    /// What identifies the rule across rebuilds and edits:
    /// `scope|subject[.qualifier]` (`scope|qualitative|digest` for a rule
    /// without a subject), with `~2`, `~3` for repeats. `kb diff` matches
    /// old and new rules by it.
    #[serde(default)]
    pub key: String,
    /// The programme / market / partner category the rule applies to.
    pub scope: SharedStr,
    /// The scope's name in the other language, read from the aligned
    /// counterpart record (`Enterprise Edition Technology Partner (Trial)`
    /// for `企业版技术合作伙伴(试用)`), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_other: Option<SharedStr>,
    /// The subject from the controlled vocabulary, or `null` for a qualitative rule.
    pub subject: Option<SharedStr>,
    /// What kind of the subject is meant, when the subject has kinds
    /// (`automation` / `development` certified engineers), else `null`.
    #[serde(default)]
    pub qualifier: Option<SharedStr>,
    /// The operator, for quantitative, boolean and enum rules.
    pub op: Option<Op>,
    /// The value (number, boolean or string).
    #[schemars(extend("type" = ["number", "boolean", "string", "null"]))]
    pub value: Option<serde_json::Value>,
    /// For a range (`2–4 business days`): the low and high ends. `op` is
    /// `<=` and `value` the high end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    /// The unit (`CNY`, `people`, `years`, …).
    pub unit: Option<SharedStr>,
    /// `quantitative`, `boolean`, `enum` or `qualitative`.
    #[schemars(extend("enum" = ["quantitative", "boolean", "enum", "qualitative"]))]
    pub kind: SharedStr,
    /// Confidence of the extraction in [0, 1].
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// The part of the source text the rule was read from
    /// (`注册资本人民币100万元以上`; a table cell with its header).
    #[serde(default)]
    pub clause: SharedStr,
    /// Where it came from.
    pub source: RuleSource,
    /// The citation in both languages: the source record's text, and the
    /// text of its aligned counterpart (`null` when there is none).
    pub text: BilingualText,
    /// The condition as JSON Logic, for rules with a number, a boolean or an
    /// enumerated value (`{">=": [{"var": "registered_capital"}, 1000000]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>", extend("type" = ["object", "null"]))]
    pub logic: Option<Logic>,
}

impl Rule {
    /// `kind` of a rule with a number.
    pub const QUANTITATIVE: &'static str = "quantitative";
    /// `kind` of a yes/no rule.
    pub const BOOLEAN: &'static str = "boolean";
    /// `kind` of a rule whose value is one of a fixed set of names.
    pub const ENUM: &'static str = "enum";
    /// `kind` of a rule stated in words only.
    pub const QUALITATIVE: &'static str = "qualitative";

    /// True when the rule belongs to `scope`, named in either language.
    pub fn in_scope(&self, scope: &str) -> bool {
        self.scope == scope || self.scope_other.as_deref() == Some(scope)
    }

    /// True for a rule stated in words only (no subject, no logic).
    pub fn is_qualitative(&self) -> bool {
        self.kind == Rule::QUALITATIVE
    }

    /// The JSON Logic variable the rule tests: `subject` or `subject.qualifier`.
    pub fn variable(&self) -> Option<String> {
        let s = self.subject.as_deref()?;
        Some(match &self.qualifier {
            Some(q) => format!("{s}.{q}"),
            None => s.to_string(),
        })
    }

    /// A short human form of the condition: `registered_capital > 1000000 CNY`,
    /// `review_time 2–4 working_days`, or the clause of a qualitative rule.
    pub fn describe(&self) -> String {
        let (Some(var), Some(op), Some(value)) = (self.variable(), self.op, self.value.as_ref()) else {
            return self.clause.to_string();
        };
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let unit = match self.unit.as_deref() {
            Some(u) if u != "bool" && u != "enum" => format!(" {u}"),
            _ => String::new(),
        };
        match self.range {
            Some([lo, hi]) => format!("{var} {}–{}{unit}", fmt_num(lo), fmt_num(hi)),
            None => format!("{var} {op} {value}{unit}"),
        }
    }
}

/// Formats a number without a trailing `.0` when it is whole.
pub fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The whole rule set (`out/rules.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RuleSet {
    /// Format version.
    pub version: u32,
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet { version: RULES_FORMAT_VERSION, rules: Vec::new() }
    }
}

impl RuleSet {
    /// The distinct scopes, sorted.
    pub fn scopes(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.rules.iter().map(|r| r.scope.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// The rules read from one record or from its aligned counterpart (by
    /// record id, either language).
    pub fn for_record<'a>(&'a self, record: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.source.record == record || r.source.counterpart.as_deref() == Some(record))
    }
}

/// An immutable string that many rules share: cloning it counts a
/// reference instead of copying the bytes. It reads as a `str` (it
/// dereferences to one), compares with `str`, `&str` and `String`, prints
/// and serialises as the string, and its JSON Schema is `String`'s.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SharedStr(Arc<str>);

impl SharedStr {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `a` and `b` are the same string in memory (one a clone
    /// of the other), not merely equal.
    pub fn ptr_eq(a: &SharedStr, b: &SharedStr) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl std::ops::Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for SharedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        SharedStr(Arc::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        SharedStr(Arc::from(s.as_str()))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        SharedStr(Arc::from(s))
    }
}

impl From<Arc<str>> for SharedStr {
    fn from(s: Arc<str>) -> Self {
        SharedStr(s)
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == &*other.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, other: &SharedStr) -> bool {
        **self == *other.0
    }
}

impl Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedStr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedStr;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SharedStr, E> {
                Ok(SharedStr::from(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SharedStr, E> {
                Ok(SharedStr::from(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for SharedStr {
    fn inline_schema() -> bool {
        <String as JsonSchema>::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        <String as JsonSchema>::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        <String as JsonSchema>::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <String as JsonSchema>::json_schema(generator)
    }
}

/// A rule's condition as [JSON Logic](https://jsonlogic.com). Every rule
/// kb makes compares one variable with one value,
/// `{">=": [{"var": "registered_capital"}, 1000000]}`, and is kept as those
/// three parts; anything else read from a rules file (edited by hand, say)
/// is kept as the JSON it was. It serialises to exactly the JSON it was
/// made from or read as, and two `Logic`s are equal when their JSON is.
#[derive(Debug, Clone, PartialEq)]
pub struct Logic(LogicRepr);

#[derive(Debug, Clone, PartialEq)]
enum LogicRepr {
    /// `{op: [{"var": var}, value]}`.
    Compare { op: Op, var: SharedStr, value: Scalar },
    /// Any other JSON (never of the `Compare` form: [`Logic::from_value`]
    /// sees to it, so equal JSON means equal `Logic`).
    Json(Box<serde_json::Value>),
}

/// The value a [`LogicRepr::Compare`] compares with.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Number(serde_json::Number),
    Bool(bool),
    String(SharedStr),
}

impl Scalar {
    fn of(v: &serde_json::Value) -> Option<Scalar> {
        match v {
            serde_json::Value::Number(n) => Some(Scalar::Number(n.clone())),
            serde_json::Value::Bool(b) => Some(Scalar::Bool(*b)),
            serde_json::Value::String(s) => Some(Scalar::String(s.as_str().into())),
            _ => None,
        }
    }

    fn to_value(&self) -> serde_json::Value {
        match self {
            Scalar::Number(n) => serde_json::Value::Number(n.clone()),
            Scalar::Bool(b) => serde_json::Value::Bool(*b),
            Scalar::String(s) => serde_json::Value::String(s.to_string()),
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Number(n) => n.serialize(serializer),
            Scalar::Bool(b) => serializer.serialize_bool(*b),
            Scalar::String(s) => serializer.serialize_str(s),
        }
    }
}

impl Logic {
    /// `{op: [{"var": var}, value]}`: the condition `var op value`.
    pub fn compare(op: Op, var: impl Into<SharedStr>, value: &serde_json::Value) -> Logic {
        let var = var.into();
        match Scalar::of(value) {
            Some(value) => Logic(LogicRepr::Compare { op, var, value }),
            None => Logic::from_value(serde_json::json!({ op.as_str(): [{"var": var.as_str()}, value] })),
        }
    }

    /// The JSON Logic of `value`, whatever it is.
    pub fn from_value(value: serde_json::Value) -> Logic {
        fn compare(v: &serde_json::Value) -> Option<LogicRepr> {
            let (op, args) = single(v)?;
            let op = [Op::Ge, Op::Gt, Op::Le, Op::Lt, Op::Eq].into_iter().find(|o| o.as_str() == op)?;
            let [var, value] = args.as_array()?.as_slice() else { return None };
            let ("var", serde_json::Value::String(var)) = single(var)? else { return None };
            Some(LogicRepr::Compare { op, var: var.as_str().into(), value: Scalar::of(value)? })
        }
        fn single(v: &serde_json::Value) -> Option<(&str, &serde_json::Value)> {
            let m = v.as_object().filter(|m| m.len() == 1)?;
            m.iter().next().map(|(k, v)| (k.as_str(), v))
        }
        Logic(compare(&value).unwrap_or_else(|| LogicRepr::Json(Box::new(value))))
    }

    /// The JSON Logic as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        match &self.0 {
            LogicRepr::Compare { op, var, value } => {
                let mut inner = serde_json::Map::with_capacity(1);
                inner.insert("var".to_string(), serde_json::Value::String(var.to_string()));
                let mut outer = serde_json::Map::with_capacity(1);
                outer.insert(
                    op.as_str().to_string(),
                    serde_json::Value::Array(vec![serde_json::Value::Object(inner), value.to_value()]),
                );
                serde_json::Value::Object(outer)
            }
            LogicRepr::Json(v) => (**v).clone(),
        }
    }
}

impl From<serde_json::Value> for Logic {
    fn from(value: serde_json::Value) -> Self {
        Logic::from_value(value)
    }
}

impl PartialEq<serde_json::Value> for Logic {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match &self.0 {
            LogicRepr::Json(v) => **v == *other,
            LogicRepr::Compare { .. } => self.to_value() == *other,
        }
    }
}

/// Compact JSON, as in `rules.json`.
impl std::fmt::Display for Logic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Logic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        /// `[{"var": var}, value]`
        struct Args<'a>(&'a str, &'a Scalar);
        /// `{"var": var}`
        struct Var<'a>(&'a str);
        impl Serialize for Args<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut s = serializer.serialize_seq(Some(2))?;
                s.serialize_element(&Var(self.0))?;
                s.serialize_element(self.1)?;
                s.end()
            }
        }
        impl Serialize for Var<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry("var", self.0)?;
                m.end()
            }
        }
        match &self.0 {
            LogicRepr::Compare { op, var, value } => {
                // (what serialising the `serde_json::Value` gives: a map of
                // one entry holding a sequence of two)
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry(op.as_str(), &Args(var, value))?;
                m.end()
            }
            LogicRepr::Json(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Logic {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(Logic::from_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn logic_of_one_comparison_serialises_as_the_json_it_stands_for() {
        for value in [json!(1_000_000), json!(2.5), json!(-3), json!(true), json!("tier-1"), json!("引号\"\\")] {
            for op in [Op::Ge, Op::Gt, Op::Le, Op::Lt, Op::Eq] {
                let want = json!({ op.as_str(): [{"var": "certified_engineers.automation"}, value] });
                let logic = Logic::compare(op, "certified_engineers.automation", &value);
                assert_eq!(serde_json::to_string(&logic).unwrap(), serde_json::to_string(&want).unwrap());
                assert_eq!(serde_json::to_string_pretty(&logic).unwrap(), serde_json::to_string_pretty(&want).unwrap());
                assert_eq!(logic.to_string(), want.to_string());
                assert_eq!(logic.to_value(), want);
                assert_eq!(logic, want);
                // read back: the same logic, whichever layout it was written in
                let read: Logic = serde_json::from_str(&serde_json::to_string_pretty(&want).unwrap()).unwrap();
                assert_eq!(read, logic);
                assert_eq!(Logic::from_value(want.clone()), logic);
            }
        }
    }

    #[test]
    fn other_json_logic_is_kept_as_it_was_read() {
        for text in [
            r#"{"and":[{">=":[{"var":"a"},1]},{"<":[{"var":"b"},2]}]}"#,
            r#"{">=":[{"var":"a"},[1,2]]}"#,
            r#"{">=":[{"var":"a"},1,2]}"#,
            r#"{">=":[{"var":["a",0]},1]}"#,
            r#"{">=":[{"var":"a","x":1},1]}"#,
            r#"{"!=":[{"var":"a"},1]}"#,
            r#"{">=":[{"var":"a"},null]}"#,
            r#"{">=":[1,{"var":"a"}]}"#,
            r#"true"#,
        ] {
            let logic: Logic = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&logic).unwrap(), text);
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(logic, value);
            assert_eq!(logic.to_value(), value);
        }
        // a value that is no scalar: kept as JSON, still equal to the same condition read back
        let odd = Logic::compare(Op::Ge, "a", &json!([1]));
        assert_eq!(odd.to_string(), r#"{">=":[{"var":"a"},[1]]}"#);
        assert_eq!(serde_json::from_str::<Logic>(&odd.to_string()).unwrap(), odd);
    }

    #[test]
    fn a_rule_with_shared_strings_reads_and_writes_as_before() {
        let text = r#"{"id":"rule-1","key":"微信小程序市场|registered_capital","scope":"微信小程序市场","subject":"registered_capital","qualifier":null,"op":">","value":1000000,"unit":"CNY","kind":"quantitative","confidence":0.95,"clause":"服务商注册资本大于100万","source":{"doc":"zh/a","record":"zh/a#f8","path":"zh/a.md","lines":[7,7],"counterpart":"en/a#1"},"text":{"zh":"服务商注册资本\"大于\"100万","en":null},"logic":{">":[{"var":"registered_capital"},1000000]}}"#;
        let rule: Rule = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&rule).unwrap(), text);
        assert_eq!(rule.scope, "微信小程序市场");
        assert_eq!(rule.source.record.as_str(), "zh/a#f8");
        assert_eq!(rule.text.zh.as_deref(), Some("服务商注册资本\"大于\"100万"));
        assert_eq!(format!("{:?}", rule.source.doc), format!("{:?}", "zh/a"));
        let copy = rule.clone();
        assert!(SharedStr::ptr_eq(&copy.source.path, &rule.source.path), "a clone shares the bytes");
        assert!(!SharedStr::ptr_eq(&copy.source.path, &SharedStr::from("zh/a.md")));
        assert_eq!(copy, rule);
        assert!(serde_json::from_str::<Rule>(&text.replace("\"scope\":\"微信小程序市场\"", "\"scope\":7")).is_err());
        // the schema of a shared string is a string's
        let schema = serde_json::to_value(schemars::schema_for!(SharedStr)).unwrap();
        assert_eq!(schema["type"], "string");
    }
}
