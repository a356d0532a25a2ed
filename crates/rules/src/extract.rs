//! Reading rules out of records.
//!
//! * `requirement` records are read in full: every clause with a quantity and
//!   a subject becomes a quantitative rule, enumerated values (`企业法人单位`)
//!   and yes/no subjects become enum / boolean rules, and the clauses that
//!   yield nothing become one qualitative rule, so nothing stated is dropped.
//! * Rows of qualification tables (a column header names a subject) become
//!   one rule a cell, scoped by the row's first cell.
//! * Other prose (FAQ answers, steps, notes, paragraphs) yields only what it
//!   states firmly: a quantity with a subject phrase and a comparison word or a
//!   unit of its own (`7 个工作日内完成审核`), or an enumerated value after a
//!   `必须` / `must`.
//!
//! The rules of both languages are then joined through the alignment: an
//! English rule that its aligned Chinese record also states is dropped in
//! favour of the Chinese one, which cites both texts.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use kb_model::alignment::Alignment;
use kb_model::rules::{BilingualText, Op, Rule, RuleSet, RuleSource, RULES_FORMAT_VERSION};
use kb_model::{Document, Lang, Record, RecordKind};
use regex::Regex;
use serde_json::{json, Value};

use crate::numbers::{scan, Mention};
use crate::vocab::{Subject, SubjectKind, Vocabulary};

/// The least alignment confidence at which a counterpart's text is cited.
pub const MIN_COUNTERPART_CONFIDENCE: f64 = 0.3;

/// Words that make a statement firm in prose that is not a requirement list.
const MUST: &[&str] = &["必须", "务必", "须", "只有", "仅限", "才能", "must", "only", "required", "requires"];
/// Words that make a number approximate.
const HEDGES: &[&str] =
    &["通常", "一般", "大约", "约", "左右", "usually", "about", "approximately", "typically", "around", "roughly"];
/// Words that negate a yes/no subject (`无需服务费`).
const NEGATIONS: &[&str] = &["无需", "不需", "不收取", "免", "无", "no ", "without", "free of", "waived"];

/// How closely a record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A requirement: everything stated becomes a rule.
    Full,
    /// Other prose: only firm statements.
    Firm,
}

/// A rule before ids, keys and citations are settled.
#[derive(Debug, Clone)]
struct Draft {
    scope: String,
    subject: Option<String>,
    qualifier: Option<String>,
    op: Option<Op>,
    value: Option<Value>,
    range: Option<[f64; 2]>,
    unit: Option<String>,
    kind: &'static str,
    confidence: f64,
    clause: String,
    /// Index of the document, of the record in it, and of the rule in the record.
    at: (usize, usize, usize),
}

/// A subject phrase found in a clause.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    subject: usize,
}

/// Reads rules out of documents with one vocabulary.
pub struct Extractor<'v> {
    vocab: &'v Vocabulary,
    /// (lowercased phrase, subject index), longest first.
    phrases: Vec<(String, usize)>,
    /// Which of `phrases` occur in a text, found in one pass (a prefilter).
    phrase_set: regex::RegexSet,
    /// Lowercased preference words.
    preference: Vec<String>,
}

fn ordinal_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^\s*(?:\d+\s*[、.．)）]|[（(]\d+[)）]|[一二三四五六七八九十]+\s*[、.．]|步骤\s*[一二三四五六七八九十\d]+\s*[：:、.]?|(?i:step)\s*\d+\s*[.:：]?)\s*",
        )
        .expect("ordinal pattern")
    })
}

fn scope_intro_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?P<scope>[^：:，,。；;]{2,40}?)(?:有以下门槛|需满足以下条件|需要满足以下条件|需符合以下条件|需要符合以下条件|须满足以下条件|应满足以下条件|的门槛|的申请条件|的条件)[为是]?\s*[：:]\s*",
        )
        .expect("scope pattern")
    })
}

/// Strips a leading item marker (`1、`, `2.`, `步骤一：`, `Step 3.`).
pub fn strip_ordinal(text: &str) -> &str {
    match ordinal_re().find(text) {
        Some(m) => &text[m.end()..],
        None => text.trim_start(),
    }
}

/// Tidies a heading or cell into a scope name: ordinal and trailing
/// punctuation removed, whitespace collapsed.
pub fn clean_scope(text: &str) -> String {
    let t = strip_ordinal(text);
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    t.trim_end_matches(['：', ':', '。', '.', ';', '；', ',', '，']).trim().to_string()
}

fn is_question(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('？') || t.ends_with('?')
}

fn contains_any(hay_lower: &str, words: &[&str]) -> bool {
    words.iter().any(|w| hay_lower.contains(&w.to_ascii_lowercase()))
}

fn num_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn round2(x: f64) -> f64 {
    (x.clamp(0.05, 0.99) * 100.0).round() / 100.0
}

/// Splits a text into clauses: at `，；。：！？` and line breaks; at ASCII
/// `,` in Chinese text (not between digits); at `.` / `;` / `:` followed by
/// a space in English text (commas keep an English sentence together).
fn clauses(text: &str, lang: Lang) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next = chars.get(i + 1).map(|x| x.1);
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let split = match c {
            '，' | '；' | '。' | '：' | '！' | '？' | '\n' => true,
            ',' => {
                lang == Lang::Zh
                    && !(prev.is_some_and(|p| p.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit()))
            }
            ';' => true,
            '.' | ':' | '!' | '?' => next.is_none_or(|n| n.is_whitespace()),
            _ => false,
        };
        if split {
            if at > start {
                out.push((start, at));
            }
            start = at + c.len_utf8();
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out.into_iter().filter(|&(s, e)| text[s..e].chars().any(|c| c.is_alphanumeric())).collect()
}

impl<'v> Extractor<'v> {
    /// An extractor over `vocab`.
    pub fn new(vocab: &'v Vocabulary) -> Self {
        let mut phrases: Vec<(String, usize)> = vocab
            .subject
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.zh.iter().chain(s.en.iter()).map(move |p| (p.to_lowercase(), i)))
            .collect();
        phrases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)));
        let preference = vocab.preference.all().map(|w| w.to_lowercase()).collect();
        let phrase_set = regex::RegexSet::new(phrases.iter().map(|(p, _)| regex::escape(p)))
            .expect("escaped phrases are valid patterns");
        Extractor { vocab, phrases, phrase_set, preference }
    }

    /// Subject phrases in `lower` (an ASCII-lowercased clause), longest first,
    /// not overlapping, in text order.
    fn hits(&self, lower: &str) -> Vec<Hit> {
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut hits = Vec::new();
        for i in self.phrase_set.matches(lower).iter() {
            let (p, subject) = &self.phrases[i];
            for (at, _) in lower.match_indices(p.as_str()) {
                let end = at + p.len();
                if p.is_ascii() {
                    let before = lower[..at].chars().last();
                    let after = lower[end..].chars().next();
                    if before.is_some_and(|c| c.is_ascii_alphanumeric())
                        || after.is_some_and(|c| c.is_ascii_alphanumeric())
                    {
                        continue;
                    }
                }
                if taken.iter().any(|&(s, e)| at < e && s < end) {
                    continue;
                }
                taken.push((at, end));
                hits.push(Hit { start: at, end, subject: *subject });
            }
        }
        hits.sort_by_key(|h| h.start);
        hits
    }

    /// True when a (lowercased) clause states a preference, not a requirement.
    fn is_preference(&self, lower: &str) -> bool {
        self.preference.iter().any(|w| lower.contains(w.as_str()))
    }

    fn subject(&self, i: usize) -> &Subject {
        &self.vocab.subject[i]
    }

    /// The qualifier of `subject` that `text` names, if any.
    fn qualifier(&self, subject: &Subject, text_lower: &str) -> Option<String> {
        let mut best: Option<(&str, usize)> = None;
        for q in &subject.qualifier {
            for p in q.phrases() {
                let p = p.to_lowercase();
                if text_lower.contains(&p) && best.is_none_or(|(_, n)| p.len() > n) {
                    best = Some((q.id.as_str(), p.len()));
                }
            }
        }
        best.map(|(id, _)| id.to_string())
    }

    /// The value of an enum subject that `text` states, if any.
    fn enum_value<'a>(&self, subject: &'a Subject, text_lower: &str) -> Option<&'a str> {
        subject
            .value
            .iter()
            .find(|v| v.phrases().any(|p| text_lower.contains(&p.to_lowercase())))
            .map(|v| v.id.as_str())
    }

    /// The subject of a quantity: the nearest subject phrase whose unit fits
    /// (before it on a tie), else a subject its unit implies. Returns the
    /// subject index, whether a phrase named it, and the distance.
    fn subject_of(&self, m: &Mention, hits: &[Hit]) -> Option<(usize, bool, usize)> {
        let mut best: Option<(usize, usize, bool)> = None; // (distance, subject, after)
        for h in hits {
            let s = self.subject(h.subject);
            if s.kind != SubjectKind::Quantitative || !self.vocab.unit_fits(m.unit.as_deref(), &s.unit) {
                continue;
            }
            let (d, after) = if h.end <= m.number.0 {
                (m.number.0 - h.end, false)
            } else if h.start >= m.number.1 {
                (h.start.saturating_sub(m.end), true)
            } else {
                (0, false)
            };
            if best.is_none_or(|(bd, _, bafter)| d < bd || (d == bd && bafter && !after)) {
                best = Some((d, h.subject, after));
            }
        }
        if let Some((d, s, _)) = best {
            return Some((s, true, d));
        }
        let unit = m.unit.as_deref()?;
        self.vocab.subject.iter().position(|s| s.implied_by_unit && s.unit == unit).map(|i| (i, false, usize::MAX))
    }

    /// Rules of one clause. Returns the drafts (without scope and position).
    fn clause_rules(&self, clause: &str, mode: Mode) -> Vec<Draft> {
        let lower = clause.to_ascii_lowercase();
        let mut out = Vec::new();
        if self.is_preference(&lower) {
            return out;
        }
        let hits = self.hits(&lower);
        let hedged = contains_any(&lower, HEDGES);
        let firm = contains_any(&lower, MUST);
        let mut used_subjects = Vec::new();
        for m in scan(clause, self.vocab) {
            let Some((si, by_phrase, distance)) = self.subject_of(&m, &hits) else {
                continue;
            };
            let s = self.subject(si);
            if mode == Mode::Firm && !(by_phrase && (m.op.is_some() || m.range.is_some() || s.implied_by_unit)) {
                continue;
            }
            // a year (2023年) is a date, not a duration
            if s.unit == "years" && m.value > 200.0 {
                continue;
            }
            let (op, mut conf) = match (m.op, m.range) {
                (Some(op), _) => (op, 0.95),
                (None, Some(_)) => (Op::Le, 0.85),
                (None, None) => (Op::Eq, 0.75),
            };
            if !by_phrase {
                conf -= 0.2;
            } else if distance > 24 {
                conf -= 0.1;
            }
            if m.unit.is_none() && s.unit != "CNY" {
                conf -= 0.05;
            }
            if m.factors.is_some() && !s.coverage {
                conf -= 0.2;
            }
            if hedged {
                conf -= 0.1;
            }
            let qualifier = self.qualifier(s, &lower);
            used_subjects.push(si);
            out.push(Draft {
                scope: String::new(),
                subject: Some(s.id.clone()),
                qualifier,
                op: Some(op),
                value: Some(num_value(m.value)),
                range: m.range.map(|(a, b)| [a, b]),
                unit: Some(s.unit.clone()),
                kind: Rule::QUANTITATIVE,
                confidence: round2(conf),
                clause: clause.trim().to_string(),
                at: (0, 0, 0),
            });
        }
        // enumerated values (企业法人单位, 企业认证的用户)
        for s in self.vocab.subject.iter().filter(|s| s.kind == SubjectKind::Enum) {
            if mode == Mode::Firm && !firm {
                continue;
            }
            if let Some(v) = self.enum_value(s, &lower) {
                out.push(Draft {
                    scope: String::new(),
                    subject: Some(s.id.clone()),
                    qualifier: None,
                    op: Some(Op::Eq),
                    value: Some(json!(v)),
                    range: None,
                    unit: Some(s.unit.clone()),
                    kind: Rule::ENUM,
                    confidence: if firm { 0.9 } else { 0.75 },
                    clause: clause.trim().to_string(),
                    at: (0, 0, 0),
                });
            }
        }
        // yes/no subjects named in a requirement (需缴纳服务费 / 无需服务费)
        if mode == Mode::Full {
            for h in &hits {
                let s = self.subject(h.subject);
                if s.kind != SubjectKind::Boolean || used_subjects.contains(&h.subject) {
                    continue;
                }
                let before = &lower[..h.start];
                let value = if contains_any(before, NEGATIONS) {
                    false
                } else if firm || contains_any(before, &["缴纳", "交纳", "支付", "pay"]) {
                    true
                } else {
                    continue;
                };
                used_subjects.push(h.subject);
                out.push(Draft {
                    scope: String::new(),
                    subject: Some(s.id.clone()),
                    qualifier: None,
                    op: Some(Op::Eq),
                    value: Some(json!(value)),
                    range: None,
                    unit: Some(s.unit.clone()),
                    kind: Rule::BOOLEAN,
                    confidence: 0.7,
                    clause: clause.trim().to_string(),
                    at: (0, 0, 0),
                });
            }
        }
        out
    }

    /// Rules of a requirement (or, in `Firm` mode, of other prose).
    fn text_rules(&self, text: &str, lang: Lang, mode: Mode, scope: &str) -> Vec<Draft> {
        let mut text = strip_ordinal(text);
        let mut scope = scope.to_string();
        if let Some(c) = scope_intro_re().captures(text) {
            let s = clean_scope(&c["scope"]);
            if !s.is_empty() {
                scope = s;
            }
            text = &text[c.get(0).expect("match").end()..];
        }
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for (s, e) in clauses(text, lang) {
            let clause = &text[s..e];
            let rules = self.clause_rules(clause, mode);
            if rules.is_empty() && !self.is_preference(&clause.to_ascii_lowercase()) {
                rest.push(clause.trim());
            }
            out.extend(rules);
        }
        if mode == Mode::Full && !rest.is_empty() {
            let sep = if lang == Lang::Zh { "，" } else { "; " };
            out.push(Draft {
                scope: String::new(),
                subject: None,
                qualifier: None,
                op: None,
                value: None,
                range: None,
                unit: None,
                kind: Rule::QUALITATIVE,
                confidence: 0.9,
                clause: rest.join(sep),
                at: (0, 0, 0),
            });
        }
        for d in &mut out {
            d.scope.clone_from(&scope);
        }
        out
    }

    /// Rules of one row of a qualification table: one a cell whose column
    /// header names a subject; the first cell is the scope.
    fn row_rules(&self, r: &Record) -> Vec<Draft> {
        let Some(first) = r.cells.first() else {
            return Vec::new();
        };
        let scope = clean_scope(&first.text);
        if scope.is_empty() {
            return Vec::new();
        }
        let under_qualification = r.heading_path.iter().any(|h| {
            let l = h.to_lowercase();
            self.vocab.qualification_heading.all().any(|w| l.contains(&w.to_lowercase()))
        });
        let no_min: Vec<String> = self.vocab.no_minimum.all().map(|w| w.to_lowercase()).collect();
        let mut out = Vec::new();
        for cell in &r.cells[1..] {
            let header_lower = cell.header.to_ascii_lowercase();
            let hits = self.hits(&header_lower);
            let Some(h) = hits
                .iter()
                .find(|h| matches!(self.subject(h.subject).kind, SubjectKind::Quantitative | SubjectKind::Boolean))
            else {
                continue;
            };
            let s = self.subject(h.subject);
            let text = cell.text.trim();
            let text_lower = text.to_lowercase();
            let clause = format!("{}：{}", cell.header.split_whitespace().collect::<Vec<_>>().join(" "), text);
            let base: f64 = if under_qualification { 0.9 } else { 0.7 };
            let mut d = Draft {
                scope: scope.clone(),
                subject: Some(s.id.clone()),
                qualifier: self.qualifier(s, &header_lower),
                op: Some(Op::Eq),
                value: None,
                range: None,
                unit: Some(s.unit.clone()),
                kind: s.kind.as_str(),
                confidence: base,
                clause,
                at: (0, 0, 0),
            };
            match s.kind {
                SubjectKind::Boolean => {
                    let yes = self.vocab.boolean.yes.all().any(|w| w.to_lowercase() == text_lower);
                    let no = self.vocab.boolean.no.all().any(|w| w.to_lowercase() == text_lower);
                    if yes == no {
                        continue;
                    }
                    d.value = Some(json!(yes));
                }
                _ => {
                    if no_min.contains(&text_lower) {
                        continue; // no threshold
                    }
                    let Some(m) =
                        scan(text, self.vocab).into_iter().find(|m| self.vocab.unit_fits(m.unit.as_deref(), &s.unit))
                    else {
                        continue;
                    };
                    // a table of minimums: a bare count is the least allowed
                    d.op = Some(m.op.unwrap_or(Op::Ge));
                    d.value = Some(num_value(m.value));
                    d.range = m.range.map(|(a, b)| [a, b]);
                    d.confidence = round2(base - if m.op.is_some() { 0.0 } else { 0.05 });
                }
            }
            out.push(d);
        }
        out
    }

    /// The scope of a record from its heading path: the innermost heading
    /// that is not a question, else the document title, else the document id.
    fn heading_scope(&self, r: &Record, doc: &Document) -> String {
        r.heading_path
            .iter()
            .rev()
            .find(|h| !is_question(h) && !clean_scope(h).is_empty())
            .map(|h| clean_scope(h))
            .or_else(|| (!is_question(&doc.title) && !doc.title.trim().is_empty()).then(|| clean_scope(&doc.title)))
            .unwrap_or_else(|| doc.id.clone())
    }

    /// The drafts of one record.
    fn record_rules(&self, r: &Record, doc: &Document) -> Vec<Draft> {
        match r.kind {
            RecordKind::Requirement => self.text_rules(&r.text, r.lang, Mode::Full, &self.heading_scope(r, doc)),
            RecordKind::TableRow => self.row_rules(r),
            RecordKind::Faq => {
                let body = r.answer.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&r.text);
                self.text_rules(body, r.lang, Mode::Firm, &self.heading_scope(r, doc))
            }
            RecordKind::Step | RecordKind::Note | RecordKind::Paragraph | RecordKind::ListItem => {
                self.text_rules(&r.text, r.lang, Mode::Firm, &self.heading_scope(r, doc))
            }
            _ => Vec::new(),
        }
    }

    /// Extracts the rule set of `documents`, citing aligned counterparts
    /// through `alignment` when given.
    pub fn extract(&self, documents: &[Document], alignment: Option<&Alignment>) -> RuleSet {
        // Documents are read in parallel; the drafts keep document order.
        use rayon::prelude::*;
        let per_doc: Vec<Vec<Draft>> = documents
            .par_iter()
            .enumerate()
            .map(|(di, doc)| {
                let mut v = Vec::new();
                for (ri, r) in doc.records.iter().enumerate() {
                    for (k, mut d) in self.record_rules(r, doc).into_iter().enumerate() {
                        d.at = (di, ri, k);
                        v.push(d);
                    }
                }
                v
            })
            .collect();
        let drafts: Vec<Draft> = per_doc.into_iter().flatten().collect();
        let by_id: HashMap<&str, &Record> =
            documents.iter().flat_map(|d| d.records.iter()).map(|r| (r.id.as_str(), r)).collect();
        let doc_of: HashMap<&str, &Document> = documents.iter().map(|d| (d.id.as_str(), d)).collect();
        let record = |d: &Draft| &documents[d.at.0].records[d.at.1];
        // record id → (counterpart id, confidence), as Alignment::counterpart answers it
        let mut pairs: HashMap<&str, (&str, f64)> = HashMap::new();
        for p in alignment.map(|a| a.records.as_slice()).unwrap_or(&[]) {
            let (Some(z), Some(e)) = (&p.zh, &p.en) else {
                continue;
            };
            for id in std::iter::once(z).chain(&p.zh_all) {
                pairs.entry(id.as_str()).or_insert((e.as_str(), p.confidence));
            }
            for id in std::iter::once(e).chain(&p.en_all) {
                pairs.entry(id.as_str()).or_insert((z.as_str(), p.confidence));
            }
        }
        let counterpart = |r: &Record| -> Option<&Record> {
            let &(id, conf) = pairs.get(r.id.as_str())?;
            (conf >= MIN_COUNTERPART_CONFIDENCE).then(|| by_id.get(id).copied()).flatten()
        };

        // an English rule its aligned Chinese record states too is the Chinese rule
        let mut by_record: HashMap<&str, Vec<&Draft>> = HashMap::new();
        for d in &drafts {
            by_record.entry(record(d).id.as_str()).or_default().push(d);
        }
        let same = |a: &Draft, b: &Draft| {
            a.subject == b.subject && a.qualifier == b.qualifier && a.op == b.op && a.value == b.value
        };
        let keep: Vec<bool> = drafts
            .iter()
            .map(|d| {
                let r = record(d);
                if r.lang != Lang::En {
                    return true;
                }
                let Some(c) = counterpart(r).filter(|c| c.lang == Lang::Zh) else {
                    return true;
                };
                let theirs = by_record.get(c.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                if d.kind == Rule::QUALITATIVE {
                    theirs.is_empty()
                } else {
                    !theirs.iter().any(|t| same(d, t))
                }
            })
            .collect();

        let mut rules: Vec<(Draft, Rule)> = Vec::new();
        for (d, keep) in drafts.into_iter().zip(keep) {
            if !keep {
                continue;
            }
            let r = record(&d);
            let c = counterpart(r);
            let mut text = BilingualText::default();
            for x in std::iter::once(r).chain(c) {
                let slot = match x.lang {
                    Lang::Zh => &mut text.zh,
                    Lang::En => &mut text.en,
                };
                if slot.is_none() {
                    *slot = Some(x.text.clone());
                }
            }
            let logic = logic_for(&d);
            let scope_other = c
                .and_then(|c| {
                    if c.kind == RecordKind::TableRow {
                        c.cells.first().map(|f| clean_scope(&f.text))
                    } else {
                        doc_of.get(c.doc.as_str()).map(|cd| self.heading_scope(c, cd))
                    }
                })
                .filter(|s| !s.is_empty() && *s != d.scope);
            let rule = Rule {
                id: String::new(),
                key: String::new(),
                scope: d.scope.clone(),
                scope_other,
                subject: d.subject.clone(),
                qualifier: d.qualifier.clone(),
                op: d.op,
                value: d.value.clone(),
                range: d.range,
                unit: d.unit.clone(),
                kind: d.kind.to_string(),
                confidence: d.confidence,
                clause: d.clause.clone(),
                source: RuleSource {
                    doc: r.doc.clone(),
                    record: r.id.clone(),
                    path: r.path.clone(),
                    lines: r.lines,
                    counterpart: c.map(|c| c.id.clone()),
                },
                text,
                logic,
            };
            rules.push((d, rule));
        }
        rules.sort_by(|(a, ra), (b, rb)| {
            (ra.source.path.as_str(), ra.source.lines, a.at).cmp(&(rb.source.path.as_str(), rb.source.lines, b.at))
        });
        let mut rules: Vec<Rule> = rules.into_iter().map(|(_, r)| r).collect();
        assign_keys(&mut rules);
        RuleSet { version: RULES_FORMAT_VERSION, rules }
    }
}

/// The JSON Logic of a draft: `{op: [{"var": subject[.qualifier]}, value]}`.
fn logic_for(d: &Draft) -> Option<Value> {
    let subject = d.subject.as_ref()?;
    let op = d.op?;
    let value = d.value.clone()?;
    let var = match &d.qualifier {
        Some(q) => format!("{subject}.{q}"),
        None => subject.clone(),
    };
    Some(json!({ op.as_str(): [{ "var": var }, value] }))
}

/// The part of a rule's key before any `~n`: `scope|subject[.qualifier]`,
/// or `scope|qualitative|digest-of-clause`.
pub fn base_key(r: &Rule) -> String {
    match r.variable() {
        Some(v) => format!("{}|{}", r.scope, v),
        None => format!("{}|qualitative|{}", r.scope, kb_model::short_hash(&[&normalize(&r.clause)], 8)),
    }
}

fn normalize(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Sets `key` (with `~2`, `~3` for repeats, in rule order) and `id` of every rule.
pub fn assign_keys(rules: &mut [Rule]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in rules.iter_mut() {
        let base = base_key(r);
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        r.key = if *n == 1 { base } else { format!("{base}~{n}") };
        r.id = format!("rule-{}", kb_model::short_hash(&[&r.key], 12));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_model::alignment::RecordPair;
    use kb_model::Cell;

    fn rec(doc: &str, lang: Lang, kind: RecordKind, path: &[&str], text: &str, line: u32) -> Record {
        let mut r = Record::new(doc, format!("{doc}.md"), lang, kind, text, [line, line]);
        r.id = format!("{doc}#{line}");
        r.heading_path = path.iter().map(|s| s.to_string()).collect();
        r
    }

    fn doc(id: &str, lang: Lang, title: &str, records: Vec<Record>) -> Document {
        Document::new(id, format!("{id}.md"), lang, title, records)
    }

    fn row(doc: &str, lang: Lang, path: &[&str], headers: &[&str], cells: &[&str], line: u32) -> Record {
        let mut r = rec(doc, lang, RecordKind::TableRow, path, &cells.join(" | "), line);
        r.cells = headers
            .iter()
            .zip(cells)
            .map(|(h, t)| Cell { header: h.to_string(), text: t.to_string(), spanned: false })
            .collect();
        r.table = Some(1);
        r
    }

    /// `subject[.qualifier] op value` of the non-qualitative rules of a scope.
    fn conds(rules: &RuleSet, scope: &str) -> Vec<String> {
        rules
            .rules
            .iter()
            .filter(|r| r.scope == scope && !r.is_qualitative())
            .map(|r| format!("{} {} {}", r.variable().unwrap(), r.op.unwrap(), r.value.as_ref().unwrap()))
            .collect()
    }

    fn extract(docs: &[Document], a: Option<&Alignment>) -> RuleSet {
        Extractor::new(Vocabulary::builtin()).extract(docs, a)
    }

    const WECHAT: &[&str] = &[
        "1、服务商注册资本大于100万，有获得外部融资优先；",
        "2、符合国家相关法律、法规规定，拥有正规的公司资质，有独立的研发能力及完善的售后服务能力，具有20人以上的技术及服务团队；",
        "3、具有专业的技术及售后团队支持，至少1名专职云市场运营人员，可提供不少于7 * 8小时的客服在线服务；",
        "4、SaaS 小程序注册用户量大于5000，且必须为自主研发、已获得软件著作权；获得双软认证、国家高新企业认定优先；",
        "5、SaaS 产品必须运行在腾讯云云服务之上；",
        "6、有一定数量的行业知名客户成功案例（需提供5个质量较高的精品案例），有世界500强、中国500强客户案例、获奖记录优先；",
    ];

    fn market(name: &str, items: &[&str]) -> Vec<Record> {
        let q = "成为腾讯云云市场服务商需要符合哪些条件？";
        items
            .iter()
            .enumerate()
            .map(|(i, t)| rec("zh/faq", Lang::Zh, RecordKind::Requirement, &[q, name], t, 10 + i as u32))
            .collect()
    }

    #[test]
    fn wechat_mini_program_market_rules() {
        let d = doc("zh/faq", Lang::Zh, "成为腾讯云云市场服务商需要符合哪些条件？", market("微信小程序市场", WECHAT));
        let rules = extract(&[d], None);
        assert_eq!(
            conds(&rules, "微信小程序市场"),
            [
                "registered_capital > 1000000",
                "team_size >= 20",
                "operations_staff >= 1",
                "support_hours_weekly >= 56",
                "registered_users > 5000",
                "customer_cases == 5",
            ]
        );
        let cap = &rules.rules[0];
        assert_eq!(cap.unit.as_deref(), Some("CNY"));
        assert_eq!(cap.logic, Some(json!({">": [{"var": "registered_capital"}, 1000000]})));
        assert_eq!(cap.text.zh.as_deref(), Some(WECHAT[0]));
        assert_eq!(cap.text.en, None, "no alignment, no English text");
        // what carries no number stays, as qualitative rules; preferences do not
        let qual: Vec<&str> = rules.rules.iter().filter(|r| r.is_qualitative()).map(|r| r.clause.as_str()).collect();
        assert!(
            qual.contains(&"符合国家相关法律、法规规定，拥有正规的公司资质，有独立的研发能力及完善的售后服务能力"),
            "{qual:?}"
        );
        assert!(qual.contains(&"且必须为自主研发、已获得软件著作权"), "{qual:?}");
        assert!(qual.contains(&"SaaS 产品必须运行在腾讯云云服务之上"), "{qual:?}");
        assert!(!qual.iter().any(|q| q.contains("优先")), "{qual:?}");
        // keys survive edits: scope + subject, unique
        let mut keys: Vec<&str> = rules.rules.iter().map(|r| r.key.as_str()).collect();
        assert!(keys.contains(&"微信小程序市场|registered_capital"));
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), rules.rules.len());
    }

    #[test]
    fn years_from_chinese_numerals_and_company_age() {
        let items = [
            "1、主体企业成立满2年；",
            "4、能提供基于开发者需求的成熟、稳定的应用软件，拥有二年及以上该行业的服务经验；",
        ];
        let d = doc("zh/faq", Lang::Zh, "t", market("镜像市场", &items));
        let rules = extract(&[d], None);
        assert_eq!(conds(&rules, "镜像市场"), ["company_age >= 2", "industry_experience >= 2"]);
        assert!(rules.rules.iter().filter(|r| !r.is_qualitative()).all(|r| r.unit.as_deref() == Some("years")));
    }

    #[test]
    fn service_market_rules_keep_the_certification_kind() {
        let items = [
            "1、服务商注册资本大于100万，主体企业成立满2年,拥有2年及以上的运维行业的服务经验；",
            "3、具有专业的技术及售后团队支持，至少3人取得腾讯云高级运维工程师培训认证，可提供不少于7 * 8小时的客服在线服务；",
        ];
        let d = doc("zh/faq", Lang::Zh, "t", market("服务市场", &items));
        let rules = extract(&[d], None);
        assert_eq!(
            conds(&rules, "服务市场"),
            [
                "registered_capital > 1000000",
                "company_age >= 2",
                "industry_experience >= 2",
                "certified_engineers.tencent_cloud_senior_ops >= 3",
                "support_hours_weekly >= 56",
            ]
        );
    }

    #[test]
    fn one_requirement_yields_several_rules_and_its_own_scope() {
        let text = "代理、行业类合作伙伴有以下门槛：注册资本人民币100万元以上的企业法人单位；公司人员规模20人以上，拥有2人以上技术团队，有成熟客户运营体系和售后服务体系。";
        let r = rec("zh/app", Lang::Zh, RecordKind::Requirement, &["合作伙伴的申请条件"], text, 8);
        let rules = extract(&[doc("zh/app", Lang::Zh, "合作伙伴的申请条件", vec![r])], None);
        assert_eq!(
            conds(&rules, "代理、行业类合作伙伴"),
            ["registered_capital >= 1000000", "entity_type == \"enterprise\"", "headcount >= 20", "team_size >= 2",]
        );
        let q: Vec<&Rule> = rules.rules.iter().filter(|r| r.is_qualitative()).collect();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].clause, "有成熟客户运营体系和售后服务体系");
        assert!(rules.rules.iter().all(|r| r.source.lines == [8, 8] && r.source.record == "zh/app#8"));
    }

    #[test]
    fn english_requirements_read_like_chinese_ones() {
        let items = [
            "The company must have a registered capital of at least RMB 1 million;",
            "At least 20 employees, including a technical team of 5 or more people;",
            "At least three engineers certified as Tencent Cloud Senior Operations Engineer;",
            "Established for two years or more.",
            "Provide 7x24 customer service.",
            "More than 5,000 registered users.",
            "Must not resell competing products.",
        ];
        let recs = items
            .iter()
            .enumerate()
            .map(|(i, t)| rec("en/x", Lang::En, RecordKind::Requirement, &["Reseller Requirements"], t, i as u32 + 1))
            .collect();
        let rules = extract(&[doc("en/x", Lang::En, "x", recs)], None);
        assert_eq!(
            conds(&rules, "Reseller Requirements"),
            [
                "registered_capital >= 1000000",
                "headcount >= 20",
                "team_size >= 5",
                "certified_engineers.tencent_cloud_senior_ops >= 3",
                "company_age >= 2",
                "support_hours_weekly == 168",
                "registered_users > 5000",
            ]
        );
        let q: Vec<&str> = rules.rules.iter().filter(|r| r.is_qualitative()).map(|r| r.clause.as_str()).collect();
        assert_eq!(q, ["Must not resell competing products"]);
    }

    #[test]
    fn faq_answers_and_steps_give_their_firm_statements() {
        let mut must = rec("zh/faq", Lang::Zh, RecordKind::Faq, &[], "个人能否成为云市场服务商？", 80);
        must.answer = Some("抱歉，必须是企业认证的用户才能入驻腾讯云云市场，成为云市场服务商。".into());
        let mut review =
            rec("zh/faq", Lang::Zh, RecordKind::Faq, &[], "服务商申请提交审核后需要多长时间才能知道审核结果？", 88);
        review.answer =
            Some("腾讯云云市场工作人员将在 7 个工作日内完成审核，因入驻服务商较多，如超时未审核请耐心等候。".into());
        let other =
            rec("zh/faq", Lang::Zh, RecordKind::Paragraph, &[], "合作伙伴自审核通过后，考核期为3个自然月。", 90);
        let zh = doc("zh/faq", Lang::Zh, "成为腾讯云云市场服务商需要符合哪些条件？", vec![must, review, other]);
        let step = rec(
            "en/reg",
            Lang::En,
            RecordKind::Step,
            &["2. Organizational Identity Verification"],
            "Step 3. Wait for the review, which usually takes 2–4 business days.",
            30,
        );
        let en = doc("en/reg", Lang::En, "1. Tencent Cloud Account Registration", vec![step]);
        let rules = extract(&[en, zh], None);
        assert_eq!(conds(&rules, "zh/faq"), ["entity_type == \"enterprise\"", "review_time <= 7"]);
        assert!(rules.rules.iter().all(|r| !r.is_qualitative()), "prose gives no qualitative rules");
        let r = rules.rules.iter().find(|r| r.scope == "Organizational Identity Verification").expect("step rule");
        assert_eq!((r.subject.as_deref(), r.op, r.range), (Some("review_time"), Some(Op::Le), Some([2.0, 4.0])));
        assert_eq!(r.unit.as_deref(), Some("working_days"));
        assert!(r.confidence < 0.9, "usually… is less sure: {}", r.confidence);
    }

    fn blueking() -> (Document, Document, Alignment) {
        let zh_h = ["腾讯蓝鲸智云\n运维自动化工程师人数", "腾讯蓝鲸智云\n运维开发工程师人数", "服务费"];
        let en_h = [
            "Tencent BlueKing\nNumber of Operation and Maintenance Automation Engineers",
            "Tencent BlueKing\nNumber of Operation and Maintenance Development Engineers",
            "Service Fee",
        ];
        let zh_rows = [
            ["企业版技术合作伙伴(试用)", "3 个(服务认证)", "3 个", "有"],
            ["品牌合作伙伴", "无最低要求", "无最低要求", "无"],
        ];
        let en_rows = [
            ["Enterprise Edition Technology Partner (Trial)", "3 (Service Certification)", "3", "Yes"],
            ["Brand Partner", "No minimum requirement", "No minimum requirement", "No"],
        ];
        let path_zh = ["合作伙伴概述", "合作伙伴基础资质"];
        let path_en = ["Partner Overview", "Basic Qualifications for Partners"];
        let mk = |id: &str, lang, path: &[&str], h: &[&str; 3], rows: &[[&str; 4]; 2]| {
            let hs = [if lang == Lang::Zh { "类别" } else { "Category" }, h[0], h[1], h[2]];
            let recs = rows.iter().enumerate().map(|(i, c)| row(id, lang, path, &hs, c, 60 + i as u32)).collect();
            doc(id, lang, "x", recs)
        };
        let zh = mk("zh/bk", Lang::Zh, &path_zh, &zh_h, &zh_rows);
        let en = mk("en/bk", Lang::En, &path_en, &en_h, &en_rows);
        let a = Alignment {
            records: (0..2)
                .map(|i| RecordPair {
                    zh: Some(zh.records[i].id.clone()),
                    en: Some(en.records[i].id.clone()),
                    zh_all: vec![],
                    en_all: vec![],
                    confidence: 0.9,
                    evidence: vec![],
                })
                .collect(),
            ..Alignment::default()
        };
        (zh, en, a)
    }

    #[test]
    fn qualification_table_rows_give_rules_per_cell_in_both_languages() {
        let (zh, en, a) = blueking();
        let rules = extract(&[en.clone(), zh.clone()], Some(&a));
        assert_eq!(
            conds(&rules, "企业版技术合作伙伴(试用)"),
            ["certified_engineers.automation >= 3", "certified_engineers.development >= 3", "service_fee == true"]
        );
        assert_eq!(conds(&rules, "品牌合作伙伴"), ["service_fee == false"], "no minimum is no threshold");
        // the English rows say the same: they are the Chinese rules, citing both texts
        assert!(conds(&rules, "Enterprise Edition Technology Partner (Trial)").is_empty());
        let r = &rules.rules[0];
        assert_eq!(r.scope_other.as_deref(), Some("Enterprise Edition Technology Partner (Trial)"));
        assert!(r.in_scope("企业版技术合作伙伴(试用)") && r.in_scope("Enterprise Edition Technology Partner (Trial)"));
        assert_eq!(r.text.en.as_deref(), Some(en.records[0].text.as_str()));
        assert_eq!(r.source.counterpart.as_deref(), Some(en.records[0].id.as_str()));

        // without an alignment each language stands alone, other text null
        let rules = extract(&[en, zh], None);
        assert_eq!(
            conds(&rules, "Enterprise Edition Technology Partner (Trial)"),
            ["certified_engineers.automation >= 3", "certified_engineers.development >= 3", "service_fee == true"]
        );
        assert!(rules.rules.iter().all(|r| r.text.zh.is_none() || r.text.en.is_none()));
    }

    #[test]
    fn an_english_rule_that_disagrees_with_its_counterpart_is_kept() {
        let (zh, mut en, a) = blueking();
        en.records[0].cells[1].text = "4 (Service Certification)".into();
        let rules = extract(&[zh, en], Some(&a));
        assert_eq!(
            conds(&rules, "Enterprise Edition Technology Partner (Trial)"),
            ["certified_engineers.automation >= 4"]
        );
    }

    #[test]
    fn tables_that_are_not_about_qualifications_give_nothing() {
        let r = row(
            "zh/bk",
            Lang::Zh,
            &["合作伙伴类型"],
            &["类别", "详细描述"],
            &["企业版技术合作伙伴", "分为四个等级"],
            5,
        );
        assert!(extract(&[doc("zh/bk", Lang::Zh, "x", vec![r])], None).rules.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Any text, with numbers, units and comparison words mixed in, reads
        /// without a panic, and every rule it gives is well formed.
        #[test]
        fn any_requirement_text_reads_without_panicking(
            text in "([0-9一二两十万亿.,*×–~ ]|人|年|小时|个工作日|以上|不少于|至少|大于|注册资本|团队|认证|at least|more than|people|years|review|，|；|：|\\PC){0,40}",
            kind in 0usize..3,
        ) {
            let kind = [RecordKind::Requirement, RecordKind::Faq, RecordKind::Step][kind];
            let lang = if text.is_ascii() { Lang::En } else { Lang::Zh };
            let r = rec("x/a", lang, kind, &["市场"], &text, 1);
            let rules = extract(&[doc("x/a", lang, "t", vec![r])], None);
            for r in &rules.rules {
                proptest::prop_assert!((0.0..=1.0).contains(&r.confidence));
                proptest::prop_assert_eq!(r.logic.is_some(), !r.is_qualitative());
                if let Some(v) = r.value.as_ref().and_then(|v| v.as_f64()) {
                    proptest::prop_assert!(v.is_finite() && v >= 0.0, "{}", v);
                }
            }
        }
    }

    #[test]
    fn output_is_sorted_by_source_and_independent_of_document_order() {
        let (zh, en, a) = blueking();
        let one = extract(&[zh.clone(), en.clone()], Some(&a));
        let two = extract(&[en, zh], Some(&a));
        assert_eq!(one, two);
    }
}
