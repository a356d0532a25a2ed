//! kb stage 3: machine-readable rules from the requirements in the prose.
//!
//! # Brief overview
//! * [`extract()`] reads typed rules out of parsed documents: every
//!   `requirement` record, every row of a qualification table, and the firm
//!   statements of FAQ answers and steps. Subjects come from a controlled
//!   vocabulary kept as data (`data/subjects.toml`, see [`vocab`]); numbers and
//!   comparison words are read with patterns of our own ([`numbers`]), in
//!   Chinese and English. Each rule carries its scope, source, citation in
//!   both languages (through the alignment) and its condition as JSON Logic.
//! * [`check()`] evaluates the rules against a company profile (subjects →
//!   values) with the JSON Logic engine `datalogic-rs`, and with typed
//!   comparisons that must agree with it.
//! * [`diff()`] compares two rule sets by a key that survives edits
//!   (scope + subject + qualifier): rules added, removed and changed.
//! * [`schema`] is the JSON Schema of `rules.json`, generated from the types
//!   in [`kb_model::rules`]; [`scope_files`] splits a rule set into one file
//!   per scope.
//! * [`build::run`] is the rules stage of `kb build`: it writes the rules
//!   files in their compact layout (one rule a line, [`output`]) and keeps a
//!   per-document cache ([`cache`]) so that a rebuild reads again only the
//!   changed documents and copies the unchanged documents' rules from the
//!   previous files — giving the same bytes as a clean build.
//!
//! ```
//! use kb_model::{Document, Lang, Record, RecordKind};
//!
//! let text = "服务商注册资本大于100万，有获得外部融资优先；";
//! let mut record = Record::new("zh/a", "zh/a.md", Lang::Zh, RecordKind::Requirement, text, [3, 3]);
//! record.id = "zh/a#1".into();
//! record.heading_path = vec!["微信小程序市场".into()];
//! let doc = Document::new("zh/a", "zh/a.md", Lang::Zh, "a", vec![record]);
//! let rules = kb_rules::extract(&[doc], None);
//! let r = &rules.rules[0];
//! assert_eq!((r.scope.as_str(), r.subject.as_deref()), ("微信小程序市场", Some("registered_capital")));
//! assert_eq!(r.logic.as_ref().unwrap().to_string(), r#"{">":[{"var":"registered_capital"},1000000]}"#);
//! ```

pub mod build;
pub mod cache;
pub mod check;
pub mod diff;
pub mod extract;
pub mod numbers;
pub mod output;
pub mod vocab;

use std::path::{Path, PathBuf};

use kb_model::alignment::Alignment;
use kb_model::rules::{RuleSet, RULES_FORMAT_VERSION};
use kb_model::Document;

pub use check::{check, CheckReport, CheckResult, Profile, Status};
pub use diff::{diff, Change, RuleDiff};
pub use kb_model::rules;

/// The rules file of an output folder.
pub const RULES_FILE: &str = "rules.json";
/// The JSON Schema of the rules file, in an output folder.
pub const SCHEMA_FILE: &str = "rules.schema.json";
/// The folder of per-scope rule files, in an output folder.
pub const SCOPES_DIR: &str = "rules";
/// The index of the per-scope files (scope → file), inside [`SCOPES_DIR`].
pub const SCOPES_INDEX: &str = "index.json";

/// Errors of reading rules and profiles and of checking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A field of a file has the wrong type or an unknown name.
    #[error("{}: field `{field}`: {message}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The field (`registered_capital`, `certified_engineers.automation`, `rules[3].op`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// `--scope` names no scope of the rules.
    #[error("no rules have scope {scope:?}; scopes: {}", known.join(", "))]
    UnknownScope {
        /// The scope asked for.
        scope: String,
        /// The scopes there are.
        known: Vec<String>,
    },
    /// The JSON Logic engine failed on a rule.
    #[error("rule {rule} ({source_location}): JSON Logic evaluation failed: {message}")]
    Logic {
        /// The rule id.
        rule: String,
        /// Where the rule came from.
        source_location: String,
        /// The engine's message.
        message: String,
    },
    /// A rules file or the rules cache cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Typed and JSON Logic evaluation disagree (a bug in kb).
    #[error("rule {rule}: typed evaluation says {typed}, JSON Logic says {logic} for value {value}")]
    Disagree {
        /// The rule id.
        rule: String,
        /// The typed result.
        typed: bool,
        /// The JSON Logic result.
        logic: bool,
        /// The profile value.
        value: String,
    },
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Extracts the rules of `documents` with the shipped vocabulary; with an
/// alignment, each rule cites its counterpart record's text in the other
/// language (else that text is `null`). The result is sorted by source.
pub fn extract(documents: &[Document], alignment: Option<&Alignment>) -> RuleSet {
    extractor().extract(documents, alignment)
}

/// The extractor of the shipped vocabulary (made once).
pub fn extractor() -> &'static extract::Extractor<'static> {
    static EXTRACTOR: std::sync::OnceLock<extract::Extractor<'static>> = std::sync::OnceLock::new();
    EXTRACTOR.get_or_init(|| extract::Extractor::new(vocab::Vocabulary::builtin()))
}

/// The JSON Schema of `rules.json` (and of every per-scope file), generated
/// from [`kb_model::rules::RuleSet`].
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RuleSet)).expect("schema serialises")
}

/// [`schema`] as pretty JSON with a final newline (what `rules.schema.json` holds).
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).expect("schema serialises");
    s.push('\n');
    s
}

/// A rule set as `rules.json` holds it: one JSON object with one rule a
/// line (see [`output`]), and a final newline.
pub fn to_json(rules: &RuleSet) -> String {
    String::from_utf8(output::to_bytes(rules)).expect("JSON is UTF-8")
}

/// With `KB_TRACE` set, prints how long a phase took to stderr (as `kb
/// build` does), with the process's resident memory and the CPU time it
/// has used so far.
pub(crate) fn trace(what: &str, since: std::time::Instant) {
    if std::env::var_os("KB_TRACE").is_some() {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_string())))
            .unwrap_or_else(|| "?".into());
        eprintln!("kb trace: {what:<24} {:>8.3}s  rss {rss}  cpu {:.2}s", since.elapsed().as_secs_f64(), cpu_seconds());
    }
}

/// CPU seconds (user and system) the process has used, where `/proc` tells.
fn cpu_seconds() -> f64 {
    kb_model::process_cpu_seconds().unwrap_or(0.0)
}

pub(crate) fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    let msg = e.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    Error::Json { path: path.to_path_buf(), line: e.line().max(1), column: e.column().max(1), message }
}

/// Reads a rule set from a `rules.json` (or per-scope) file, or from an
/// output folder holding `rules.json`.
pub fn read_rules(path: &Path) -> Result<RuleSet> {
    let file = if path.is_dir() { path.join(RULES_FILE) } else { path.to_path_buf() };
    let bytes = std::fs::read(&file).map_err(|source| Error::Read { path: file.clone(), source })?;
    // Either layout (one rule a line, or the pretty-printed files of older
    // kb versions) is the same JSON.
    let rules: RuleSet = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            Error::Field { path: file.clone(), field: "rules".into(), message: format!("not a kb rules file: {e}") }
        }
        _ => json_error(&file, &e),
    })?;
    if rules.version != RULES_FORMAT_VERSION {
        return Err(Error::Field {
            path: file,
            field: "version".into(),
            message: format!(
                "format version {} is not supported (this kb reads {RULES_FORMAT_VERSION})",
                rules.version
            ),
        });
    }
    let mut rules = rules;
    if rules.rules.iter().any(|r| r.key.is_empty()) {
        extract::assign_keys(&mut rules.rules);
    }
    Ok(rules)
}

/// One per-scope rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeFile {
    /// The scope.
    pub scope: String,
    /// The file name inside [`SCOPES_DIR`].
    pub file: String,
    /// Its rules (same format as `rules.json`).
    pub rules: RuleSet,
}

/// A file name for a scope that is safe on any OS: the ASCII words of the
/// scope (lowercase, `-`-joined, at most 48 characters) and a digest of the
/// whole scope, so Chinese scopes and scopes differing only in case or
/// punctuation never collide: `enterprise-edition-technology-partner-trial-1f0c….json`,
/// `scope-5be1….json`.
pub fn scope_file_name(scope: &str) -> String {
    let mut slug = String::new();
    for word in scope.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if slug.len() + word.len() + 1 > 48 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    if slug.is_empty() {
        slug.push_str("scope");
    }
    format!("{slug}-{}.json", kb_model::short_hash(&[scope], 10))
}

/// Splits a rule set into one file per scope, sorted by scope.
pub fn scope_files(rules: &RuleSet) -> Vec<ScopeFile> {
    let mut by: std::collections::BTreeMap<&str, Vec<kb_model::rules::Rule>> = Default::default();
    for r in &rules.rules {
        by.entry(r.scope.as_str()).or_default().push(r.clone());
    }
    by.into_iter()
        .map(|(scope, rules)| ScopeFile {
            scope: scope.to_string(),
            file: scope_file_name(scope),
            rules: RuleSet { version: RULES_FORMAT_VERSION, rules },
        })
        .collect()
}

/// The index of per-scope files: `{"version": 1, "scopes": [{"scope", "file", "rules"}]}`.
pub fn scope_index(files: &[ScopeFile]) -> serde_json::Value {
    serde_json::json!({
        "version": RULES_FORMAT_VERSION,
        "scopes": files.iter().map(|f| serde_json::json!({
            "scope": f.scope, "file": f.file, "rules": f.rules.rules.len(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_file_names_are_portable_and_distinct() {
        let names: Vec<String> =
            ["企业版技术合作伙伴(试用)", "企业版技术合作伙伴", "API 服务市场", "api 服务市场", "CON", "a/b:c*?"]
                .iter()
                .map(|s| scope_file_name(s))
                .collect();
        for n in &names {
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'), "{n}");
            assert!(n.len() <= 70, "{n}");
        }
        let mut lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), names.len(), "names collide (case-insensitively): {names:?}");
        assert!(names[2].starts_with("api-"), "{}", names[2]);
        assert!(!names[4].eq_ignore_ascii_case("con.json"));
    }
}
