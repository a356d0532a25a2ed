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
    pub doc: String,
    /// Record id.
    pub record: String,
    /// Source file relative to the corpus.
    pub path: String,
    /// First and last source line.
    pub lines: [u32; 2],
    /// The id of the aligned record in the other language, if alignment found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
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
    pub zh: Option<String>,
    /// English text, if any.
    pub en: Option<String>,
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
    pub scope: String,
    /// The scope's name in the other language, read from the aligned
    /// counterpart record (`Enterprise Edition Technology Partner (Trial)`
    /// for `企业版技术合作伙伴(试用)`), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_other: Option<String>,
    /// The subject from the controlled vocabulary, or `null` for a qualitative rule.
    pub subject: Option<String>,
    /// What kind of the subject is meant, when the subject has kinds
    /// (`automation` / `development` certified engineers), else `null`.
    #[serde(default)]
    pub qualifier: Option<String>,
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
    pub unit: Option<String>,
    /// `quantitative`, `boolean`, `enum` or `qualitative`.
    #[schemars(extend("enum" = ["quantitative", "boolean", "enum", "qualitative"]))]
    pub kind: String,
    /// Confidence of the extraction in [0, 1].
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: f64,
    /// The part of the source text the rule was read from
    /// (`注册资本人民币100万元以上`; a table cell with its header).
    #[serde(default)]
    pub clause: String,
    /// Where it came from.
    pub source: RuleSource,
    /// The citation in both languages: the source record's text, and the
    /// text of its aligned counterpart (`null` when there is none).
    pub text: BilingualText,
    /// The condition as JSON Logic, for rules with a number, a boolean or an
    /// enumerated value (`{">=": [{"var": "registered_capital"}, 1000000]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("type" = ["object", "null"]))]
    pub logic: Option<serde_json::Value>,
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
            return self.clause.clone();
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
