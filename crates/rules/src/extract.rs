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
//!
//! Extraction runs in two steps, so a build can cache the expensive one:
//! [`Extractor::document`] reads one document's text into [`DocDrafts`]
//! (a function of that document and the vocabulary alone), and
//! [`Extractor::assemble`] joins every document's drafts with their
//! counterparts through the alignment, sorts them and gives each its key.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::sync::OnceLock;

use kb_model::alignment::Alignment;
use kb_model::rules::{BilingualText, Logic, Op, Rule, RuleSet, RuleSource, SharedStr, RULES_FORMAT_VERSION};
use kb_model::{Document, Lang, Record, RecordKind};
use rayon::prelude::*;
use regex::Regex;
use serde_json::{json, Value};

use crate::numbers::{scan, Mention};
use crate::vocab::{Subject, SubjectKind, Vocabulary};

/// The least alignment confidence at which a counterpart's text is cited.
pub const MIN_COUNTERPART_CONFIDENCE: f64 = 0.3;

/// Words that make a statement firm in prose that is not a requirement list
/// (lowercase: they are looked for in lowercased text).
const MUST: &[&str] = &["必须", "务必", "须", "只有", "仅限", "才能", "must", "only", "required", "requires"];
/// Words that make a number approximate.
const HEDGES: &[&str] =
    &["通常", "一般", "大约", "约", "左右", "usually", "about", "approximately", "typically", "around", "roughly"];
/// Words that negate a yes/no subject (`无需服务费`).
const NEGATIONS: &[&str] = &["无需", "不需", "不收取", "免", "无", "no ", "without", "free of", "waived"];
/// Words before a yes/no subject that say it applies (`需缴纳服务费`).
const PAYS: &[&str] = &["缴纳", "交纳", "支付", "pay"];

/// A fast, deterministic hasher for the string-keyed maps of the join (the
/// FxHash function; keys are record ids and rule keys, not adversarial).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(b) ^ rest.len() as u64).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

pub(crate) fn fx_map<K, V>(capacity: usize) -> FxMap<K, V> {
    FxMap::with_capacity_and_hasher(capacity, Default::default())
}

/// How closely a record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A requirement: everything stated becomes a rule.
    Full,
    /// Other prose: only firm statements.
    Firm,
}

/// The kind of a rule ([`Rule::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Quantitative,
    Boolean,
    Enum,
    Qualitative,
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [Kind::Quantitative, Kind::Boolean, Kind::Enum, Kind::Qualitative];

    /// The kind's place in [`Kind::ALL`].
    fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Quantitative => Rule::QUANTITATIVE,
            Kind::Boolean => Rule::BOOLEAN,
            Kind::Enum => Rule::ENUM,
            Kind::Qualitative => Rule::QUALITATIVE,
        }
    }

    fn of(s: SubjectKind) -> Kind {
        match s {
            SubjectKind::Quantitative => Kind::Quantitative,
            SubjectKind::Boolean => Kind::Boolean,
            SubjectKind::Enum => Kind::Enum,
        }
    }
}

/// The value of a draft.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// A number (an integer in JSON when it is whole).
    Num(f64),
    /// Yes or no.
    Bool(bool),
    /// The id of an enumerated value.
    Str(String),
}

impl Val {
    fn to_json(&self) -> Value {
        match self {
            Val::Num(x) => num_value(*x),
            Val::Bool(b) => json!(b),
            Val::Str(s) => json!(s),
        }
    }
}

/// A rule as read from one record, before ids, keys and citations are settled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub(crate) scope: SharedStr,
    /// Index of the subject in the vocabulary.
    pub(crate) subject: Option<u16>,
    /// Index of the qualifier in the subject's qualifiers.
    pub(crate) qualifier: Option<u16>,
    pub(crate) op: Option<Op>,
    pub(crate) value: Option<Val>,
    pub(crate) range: Option<[f64; 2]>,
    pub(crate) kind: Kind,
    pub(crate) confidence: f64,
    pub(crate) clause: SharedStr,
    /// Index of the record in its document.
    pub(crate) record: u32,
    /// Index of the rule among its record's.
    pub(crate) k: u32,
}

impl Draft {
    fn new(kind: Kind, clause: &str) -> Draft {
        Draft {
            scope: SharedStr::default(),
            subject: None,
            qualifier: None,
            op: None,
            value: None,
            range: None,
            kind,
            confidence: 0.0,
            clause: clause.trim().into(),
            record: 0,
            k: 0,
        }
    }
}

/// What [`Extractor::document`] reads from one document: its rules before
/// they are joined with the other language's. Depends only on the document
/// and the vocabulary, so a build may keep it and reuse it while the
/// document's bytes do not change (see [`crate::cache`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocDrafts(pub(crate) Vec<Draft>);

impl DocDrafts {
    /// How many rules the document gave (before English rules that merely
    /// repeat their Chinese counterpart are dropped).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when the document gave no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The drafts of the record at index `record`, which are consecutive.
    fn of_record(&self, record: u32) -> &[Draft] {
        let start = self.0.partition_point(|d| d.record < record);
        let end = start + self.0[start..].partition_point(|d| d.record == record);
        &self.0[start..end]
    }
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
    /// Per subject: its qualifiers' lowercased phrases (qualifier index, phrase).
    qualifier_phrases: Vec<Vec<(u16, String)>>,
    /// Per enum subject (subject index): its values' lowercased phrases, by value.
    enum_phrases: Vec<(usize, Vec<Vec<String>>)>,
    /// Every enum phrase (for the prefilter of prose).
    any_enum_phrase: Vec<String>,
    /// Lowercased words of headings over qualification tables.
    qualification_heading: Vec<String>,
    /// Lowercased cell texts that state no threshold.
    no_minimum: Vec<String>,
    /// Lowercased yes / no words.
    yes: Vec<String>,
    no: Vec<String>,
    /// The strings of the vocabulary and the kinds, which rules share.
    shared: Shared,
}

/// The strings of the vocabulary and the kinds, made once, which every
/// rule of a kind, subject or qualifier clones (a reference count).
struct Shared {
    /// [`Rule::kind`] of each [`Kind`], by [`Kind::index`].
    kinds: [SharedStr; 4],
    /// By subject index.
    subjects: Vec<SharedSubject>,
}

/// One subject's shared strings.
struct SharedSubject {
    /// Its id, which is also its JSON Logic variable without qualifier.
    id: SharedStr,
    unit: SharedStr,
    /// By qualifier index: the qualifier's id and the variable `subject.qualifier`.
    qualifiers: Vec<(SharedStr, SharedStr)>,
}

impl Shared {
    fn new(vocab: &Vocabulary) -> Shared {
        Shared {
            kinds: Kind::ALL.map(|k| SharedStr::from(k.as_str())),
            subjects: vocab
                .subject
                .iter()
                .map(|s| SharedSubject {
                    id: s.id.as_str().into(),
                    unit: s.unit.as_str().into(),
                    qualifiers: s
                        .qualifier
                        .iter()
                        .map(|q| (q.id.as_str().into(), format!("{}.{}", s.id, q.id).into()))
                        .collect(),
                })
                .collect(),
        }
    }
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
    let mut t = String::with_capacity(text.len());
    for w in strip_ordinal(text).split_whitespace() {
        if !t.is_empty() {
            t.push(' ');
        }
        t.push_str(w);
    }
    // (the words joined have no whitespace at either end)
    let keep = t.trim_end_matches(['：', ':', '。', '.', ';', '；', ',', '，']).trim_end().len();
    t.truncate(keep);
    t
}

fn is_question(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('？') || t.ends_with('?')
}

/// True when `hay_lower` contains one of `words` (which are lowercase).
fn contains_any(hay_lower: &str, words: &[&str]) -> bool {
    words.iter().any(|w| hay_lower.contains(w))
}

/// True when `text` may hold a quantity [`scan`] reads: a digit, a Chinese
/// numeral or an English number word (or `ſ`, which folds to `s`).
fn may_hold_number(text: &str, lower: &str) -> bool {
    const WORDS: &[&str] = &[
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "fifteen",
        "twenty", "thirty", "forty", "fifty", "hundred",
    ];
    text.bytes().any(|b| b.is_ascii_digit())
        || text.chars().any(|c| "零〇一二两三四五六七八九十百千ſ".contains(c))
        || WORDS.iter().any(|w| lower.contains(w))
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
    let mut prev: Option<char> = None;
    let mut it = text.char_indices().peekable();
    while let Some((at, c)) = it.next() {
        let next = it.peek().map(|x| x.1);
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
        prev = Some(c);
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out.retain(|&(s, e)| text[s..e].chars().any(|c| c.is_alphanumeric()));
    out
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
        let lower = |p: &crate::vocab::Phrases| p.all().map(|w| w.to_lowercase()).collect::<Vec<_>>();
        let phrase_set = regex::RegexSet::new(phrases.iter().map(|(p, _)| regex::escape(p)))
            .expect("escaped phrases are valid patterns");
        let qualifier_phrases = vocab
            .subject
            .iter()
            .map(|s| {
                s.qualifier
                    .iter()
                    .enumerate()
                    .flat_map(|(qi, q)| q.phrases().map(move |p| (qi as u16, p.to_lowercase())))
                    .collect()
            })
            .collect();
        let enum_phrases: Vec<(usize, Vec<Vec<String>>)> = vocab
            .subject
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == SubjectKind::Enum)
            .map(|(i, s)| (i, s.value.iter().map(|v| v.phrases().map(|p| p.to_lowercase()).collect()).collect()))
            .collect();
        let any_enum_phrase = enum_phrases.iter().flat_map(|(_, vs)| vs.iter().flatten().cloned()).collect();
        Extractor {
            vocab,
            phrases,
            phrase_set,
            preference: lower(&vocab.preference),
            qualifier_phrases,
            enum_phrases,
            any_enum_phrase,
            qualification_heading: lower(&vocab.qualification_heading),
            no_minimum: lower(&vocab.no_minimum),
            yes: lower(&vocab.boolean.yes),
            no: lower(&vocab.boolean.no),
            shared: Shared::new(vocab),
        }
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &'v Vocabulary {
        self.vocab
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

    /// The qualifier of subject `si` that `text_lower` names, if any (the
    /// one with the longest phrase; the first of equally long ones).
    fn qualifier(&self, si: usize, text_lower: &str) -> Option<u16> {
        let mut best: Option<(u16, usize)> = None;
        for (qi, p) in &self.qualifier_phrases[si] {
            if text_lower.contains(p.as_str()) && best.is_none_or(|(_, n)| p.len() > n) {
                best = Some((*qi, p.len()));
            }
        }
        best.map(|(qi, _)| qi)
    }

    /// The value of an enum subject that `text_lower` states, if any.
    fn enum_value(&self, values: &[Vec<String>], text_lower: &str) -> Option<usize> {
        values.iter().position(|ps| ps.iter().any(|p| text_lower.contains(p.as_str())))
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

    /// Rules of one clause (without scope and position).
    fn clause_rules(&self, clause: &str, mode: Mode, out: &mut Vec<Draft>) {
        let lower = clause.to_ascii_lowercase();
        if self.is_preference(&lower) {
            return;
        }
        let hits = self.hits(&lower);
        let hedged = contains_any(&lower, HEDGES);
        let firm = contains_any(&lower, MUST);
        let mut used_subjects = Vec::new();
        let mentions = if mode == Mode::Firm && hits.is_empty() { Vec::new() } else { scan(clause, self.vocab) };
        for m in mentions {
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
            used_subjects.push(si);
            let mut d = Draft::new(Kind::Quantitative, clause);
            d.subject = Some(si as u16);
            d.qualifier = self.qualifier(si, &lower);
            d.op = Some(op);
            d.value = Some(Val::Num(m.value));
            d.range = m.range.map(|(a, b)| [a, b]);
            d.confidence = round2(conf);
            out.push(d);
        }
        // enumerated values (企业法人单位, 企业认证的用户)
        for (si, values) in &self.enum_phrases {
            if mode == Mode::Firm && !firm {
                continue;
            }
            if let Some(v) = self.enum_value(values, &lower) {
                let mut d = Draft::new(Kind::Enum, clause);
                d.subject = Some(*si as u16);
                d.op = Some(Op::Eq);
                d.value = Some(Val::Str(self.subject(*si).value[v].id.clone()));
                d.confidence = if firm { 0.9 } else { 0.75 };
                out.push(d);
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
                } else if firm || contains_any(before, PAYS) {
                    true
                } else {
                    continue;
                };
                used_subjects.push(h.subject);
                let mut d = Draft::new(Kind::Boolean, clause);
                d.subject = Some(h.subject as u16);
                d.op = Some(Op::Eq);
                d.value = Some(Val::Bool(value));
                d.confidence = 0.7;
                out.push(d);
            }
        }
    }

    /// Rules of a requirement (or, in `Firm` mode, of other prose).
    fn text_rules(&self, text: &str, lang: Lang, mode: Mode, scope: impl FnOnce() -> String, out: &mut Vec<Draft>) {
        if mode == Mode::Firm {
            // Prose gives a rule only for a subject phrase with a number,
            // or for an enumerated value: most of it gives none.
            let lower = text.to_ascii_lowercase();
            let number = self.phrase_set.is_match(&lower) && may_hold_number(text, &lower);
            let named = self.any_enum_phrase.iter().any(|p| lower.contains(p.as_str()));
            if !number && !named {
                return;
            }
        }
        let first = out.len();
        let mut text = strip_ordinal(text);
        let mut own_scope = None;
        if let Some(c) = scope_intro_re().captures(text) {
            let s = clean_scope(&c["scope"]);
            if !s.is_empty() {
                own_scope = Some(s);
            }
            text = &text[c.get(0).expect("match").end()..];
        }
        let mut rest = Vec::new();
        for (s, e) in clauses(text, lang) {
            let clause = &text[s..e];
            let before = out.len();
            self.clause_rules(clause, mode, out);
            if out.len() == before && !self.is_preference(&clause.to_ascii_lowercase()) {
                rest.push(clause.trim());
            }
        }
        if mode == Mode::Full && !rest.is_empty() {
            let sep = if lang == Lang::Zh { "，" } else { "; " };
            let mut d = Draft::new(Kind::Qualitative, "");
            d.confidence = 0.9;
            d.clause = rest.join(sep).into();
            out.push(d);
        }
        if out.len() > first {
            let scope: SharedStr = own_scope.unwrap_or_else(scope).into();
            for d in &mut out[first..] {
                d.scope = scope.clone();
            }
        }
    }

    /// Rules of one row of a qualification table: one a cell whose column
    /// header names a subject; the first cell is the scope.
    fn row_rules(&self, r: &Record, out: &mut Vec<Draft>) {
        let Some(first) = r.cells.first() else {
            return;
        };
        let scope: SharedStr = clean_scope(&first.text).into();
        if scope.is_empty() {
            return;
        }
        let under_qualification = r.heading_path.iter().any(|h| {
            let l = h.to_lowercase();
            self.qualification_heading.iter().any(|w| l.contains(w.as_str()))
        });
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
            let mut d = Draft::new(Kind::of(s.kind), "");
            d.scope = scope.clone();
            d.subject = Some(h.subject as u16);
            d.qualifier = self.qualifier(h.subject, &header_lower);
            d.op = Some(Op::Eq);
            d.confidence = base;
            d.clause = clause.into();
            match s.kind {
                SubjectKind::Boolean => {
                    let yes = self.yes.contains(&text_lower);
                    let no = self.no.contains(&text_lower);
                    if yes == no {
                        continue;
                    }
                    d.value = Some(Val::Bool(yes));
                }
                _ => {
                    if self.no_minimum.contains(&text_lower) {
                        continue; // no threshold
                    }
                    let Some(m) =
                        scan(text, self.vocab).into_iter().find(|m| self.vocab.unit_fits(m.unit.as_deref(), &s.unit))
                    else {
                        continue;
                    };
                    // a table of minimums: a bare count is the least allowed
                    d.op = Some(m.op.unwrap_or(Op::Ge));
                    d.value = Some(Val::Num(m.value));
                    d.range = m.range.map(|(a, b)| [a, b]);
                    d.confidence = round2(base - if m.op.is_some() { 0.0 } else { 0.05 });
                }
            }
            out.push(d);
        }
    }

    /// The scope of a record from its heading path: the innermost heading
    /// that is not a question, else the document title, else the document id.
    fn heading_scope(&self, r: &Record, doc: &Document) -> String {
        r.heading_path
            .iter()
            .rev()
            .filter(|h| !is_question(h))
            .map(|h| clean_scope(h))
            .find(|s| !s.is_empty())
            .or_else(|| (!is_question(&doc.title) && !doc.title.trim().is_empty()).then(|| clean_scope(&doc.title)))
            .unwrap_or_else(|| doc.id.clone())
    }

    /// The drafts of one record, appended to `out`.
    fn record_rules(&self, r: &Record, doc: &Document, out: &mut Vec<Draft>) {
        let scope = || self.heading_scope(r, doc);
        match r.kind {
            RecordKind::Requirement => self.text_rules(&r.text, r.lang, Mode::Full, scope, out),
            RecordKind::TableRow => self.row_rules(r, out),
            RecordKind::Faq => {
                let body = r.answer.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&r.text);
                self.text_rules(body, r.lang, Mode::Firm, scope, out)
            }
            RecordKind::Step | RecordKind::Note | RecordKind::Paragraph | RecordKind::ListItem => {
                self.text_rules(&r.text, r.lang, Mode::Firm, scope, out)
            }
            _ => {}
        }
    }

    /// Reads the rules of one document, before they are joined with the
    /// other language's (see [`Extractor::assemble`]).
    pub fn document(&self, doc: &Document) -> DocDrafts {
        let mut out: Vec<Draft> = Vec::new();
        // the latest scopes of the document, each one string its drafts share
        // (the last few only: a long table has a scope a row)
        let mut scopes: Vec<SharedStr> = Vec::new();
        for (ri, r) in doc.records.iter().enumerate() {
            let first = out.len();
            self.record_rules(r, doc, &mut out);
            for (k, d) in out[first..].iter_mut().enumerate() {
                d.record = ri as u32;
                d.k = k as u32;
                match scopes.iter().rev().take(16).find(|s| **s == d.scope) {
                    Some(s) => d.scope = s.clone(),
                    None => scopes.push(d.scope.clone()),
                }
            }
        }
        DocDrafts(out)
    }

    /// Extracts the rule set of `documents`, citing aligned counterparts
    /// through `alignment` when given.
    pub fn extract(&self, documents: &[Document], alignment: Option<&Alignment>) -> RuleSet {
        let drafts: Vec<DocDrafts> = documents.par_iter().map(|d| self.document(d)).collect();
        self.assemble(documents, &drafts, alignment).rules
    }

    /// Joins the drafts of every document (`drafts[i]` read from
    /// `documents[i]`) into the rule set: each rule cites its record's
    /// aligned counterpart, English rules that their Chinese counterpart
    /// states too are dropped, and the rules are sorted by source (document
    /// path, line) and given their keys.
    pub fn assemble(&self, documents: &[Document], drafts: &[DocDrafts], alignment: Option<&Alignment>) -> Assembly {
        let found = match alignment {
            Some(a) => Counterparts::Alignment(a),
            None => Counterparts::None,
        };
        self.assemble_with(documents, drafts, found)
    }

    /// [`Extractor::assemble`], finding the counterparts as `counterparts` says.
    pub fn assemble_with(
        &self,
        documents: &[Document],
        drafts: &[DocDrafts],
        counterparts: Counterparts<'_>,
    ) -> Assembly {
        assert_eq!(documents.len(), drafts.len(), "one DocDrafts per document");
        let t = std::time::Instant::now();
        let by_id = match counterparts {
            Counterparts::None => CounterpartsById::new(documents, drafts, None),
            Counterparts::Alignment(a) => CounterpartsById::new(documents, drafts, Some(a)),
            Counterparts::Links(links) => {
                let counterpart = |di: usize, ri: u32| -> Option<(usize, usize)> {
                    links(di, ri)
                        .filter(|&(_, _, conf)| conf >= MIN_COUNTERPART_CONFIDENCE)
                        .map(|(cd, cr, _)| (cd, cr as usize))
                };
                crate::trace("rules: counterparts", t);
                return self.assemble_found(documents, drafts, &counterpart);
            }
        };
        crate::trace("rules: counterparts", t);
        self.assemble_found(documents, drafts, &|di, ri| by_id.get(di, ri))
    }

    /// The rules of the drafts, each record's counterpart (document and
    /// record index) given by `counterpart` (see [`Extractor::assemble`]).
    fn assemble_found(
        &self,
        documents: &[Document],
        drafts: &[DocDrafts],
        counterpart: &(dyn Fn(usize, u32) -> Option<(usize, usize)> + Sync),
    ) -> Assembly {
        let t = std::time::Instant::now();
        let mut order: Vec<usize> = (0..documents.len()).collect();
        order.sort_by(|&a, &b| documents[a].path.cmp(&documents[b].path));
        // First, per document: which drafts give rules, in which order, citing what.
        let plans: Vec<Plan> = order
            .par_iter()
            .map_init(Vec::new, |inputs: &mut Vec<u8>, &di| {
                let doc = &documents[di];
                let mut plan = Plan {
                    kept: Vec::with_capacity(drafts[di].0.len()),
                    scopes: Vec::new(),
                    records: Vec::new(),
                    inputs: None,
                };
                inputs.clear();
                for part in [doc.path.as_str(), &doc.id, &doc.hash, &doc.title, doc.lang.code()] {
                    feed(inputs, part);
                }
                let mut last = None;
                // the current record's counterpart (drafts of one record are consecutive)
                let mut cp = None;
                // the other language's scope name of the current record: an index into `plan.scopes`
                let mut scope_other = NO_SCOPE;
                // the last heading scope worked out: (document, heading path, index into `plan.scopes`)
                let mut memo: Option<(usize, &[String], u32)> = None;
                // the current record's strings, once one of its drafts is kept: an index into `plan.records`
                let mut strings: Option<u32> = None;
                for (x, d) in drafts[di].0.iter().enumerate() {
                    let r = &doc.records[d.record as usize];
                    if last != Some(d.record) {
                        last = Some(d.record);
                        strings = None;
                        cp = counterpart(di, d.record);
                        inputs.extend_from_slice(&d.record.to_le_bytes());
                        if let Some((cd, cr)) = cp {
                            let (c, cr) = (&documents[cd], &documents[cd].records[cr]);
                            for part in [cr.id.as_str(), &c.path, &c.id, &c.title, c.lang.code(), &c.hash] {
                                feed(inputs, part);
                            }
                        }
                        inputs.push(0x1e);
                        // the scope's name in the other language
                        scope_other = match cp {
                            None => NO_SCOPE,
                            Some((cd, cr)) => {
                                let c = &documents[cd].records[cr];
                                match &memo {
                                    Some((d, path, k))
                                        if c.kind != RecordKind::TableRow
                                            && *d == cd
                                            && *path == c.heading_path.as_slice() =>
                                    {
                                        *k
                                    }
                                    _ => {
                                        let scope = if c.kind == RecordKind::TableRow {
                                            c.cells.first().map(|f| clean_scope(&f.text)).unwrap_or_default()
                                        } else {
                                            self.heading_scope(c, &documents[cd])
                                        };
                                        plan.scopes.push(scope.into());
                                        let k = plan.scopes.len() as u32 - 1;
                                        if c.kind != RecordKind::TableRow {
                                            memo = Some((cd, c.heading_path.as_slice(), k));
                                        }
                                        k
                                    }
                                }
                            }
                        };
                    }
                    // an English rule its aligned Chinese record states too is the Chinese rule
                    if r.lang == Lang::En {
                        if let Some((cd, cr)) = cp.filter(|&(cd, cr)| documents[cd].records[cr].lang == Lang::Zh) {
                            let theirs = drafts[cd].of_record(cr as u32);
                            let keep = if d.kind == Kind::Qualitative {
                                theirs.is_empty()
                            } else {
                                !theirs.iter().any(|t| {
                                    t.subject == d.subject
                                        && t.qualifier == d.qualifier
                                        && t.op == d.op
                                        && t.value == d.value
                                })
                            };
                            if !keep {
                                continue;
                            }
                        }
                    }
                    let strings = *strings.get_or_insert_with(|| {
                        plan.records.push(RecordStrings::new(
                            r,
                            cp.map(|(cd, cr)| &documents[cd].records[cr]),
                            plan.records.last(),
                        ));
                        plan.records.len() as u32 - 1
                    });
                    plan.kept.push((x as u32, scope_other, strings));
                }
                // sorted by source: the records' order unless lines say otherwise
                let key = |&(x, _, _): &KeptDraft| {
                    let d = &drafts[di].0[x as usize];
                    let r = &doc.records[d.record as usize];
                    (r.path.as_str(), r.lines, (d.record, d.k))
                };
                if !plan.kept.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
                    plan.kept.sort_by(|a, b| key(a).cmp(&key(b)));
                }
                // without a content hash there is nothing to tell the inputs by
                plan.inputs =
                    (!doc.hash.is_empty()).then(|| blake3::hash(inputs).as_bytes()[..16].try_into().expect("16 bytes"));
                plan
            })
            .collect();
        // Then every rule, made in place in one vector.
        let mut starts = Vec::with_capacity(plans.len());
        let mut total = 0;
        for p in &plans {
            starts.push(total);
            total += p.kept.len();
        }
        let mut rules: Vec<Rule> = Vec::new();
        (0..total)
            .into_par_iter()
            .map(|k| {
                let p = starts.partition_point(|&s| s <= k) - 1;
                let (di, plan) = (order[p], &plans[p]);
                let (x, scope, strings) = plan.kept[k - starts[p]];
                let d = &drafts[di].0[x as usize];
                let lines = documents[di].records[d.record as usize].lines;
                let other = plan.scopes.get(scope as usize).filter(|s| !s.is_empty() && **s != d.scope).cloned();
                self.rule(d, &plan.records[strings as usize], lines, other)
            })
            .collect_into_vec(&mut rules);
        let docs = order
            .iter()
            .zip(&plans)
            .zip(&starts)
            .map(|((&di, p), &start)| DocSpan { doc: di, rules: start..start + p.kept.len(), inputs: p.inputs })
            .collect();
        crate::trace("rules: rules", t);
        let t = std::time::Instant::now();
        assign_keys(&mut rules);
        crate::trace("rules: keys", t);
        Assembly { rules: RuleSet { version: RULES_FORMAT_VERSION, rules }, docs }
    }

    /// The rule of a draft read from the record whose strings (and its
    /// counterpart's) are `strings` and whose lines are `lines`; the scope
    /// of the counterpart is `scope_other` if that differs. Every string is
    /// a shared one cloned: only the id and key (set later) are the rule's own.
    fn rule(&self, d: &Draft, strings: &RecordStrings, lines: [u32; 2], scope_other: Option<SharedStr>) -> Rule {
        let subject = d.subject.map(|s| &self.shared.subjects[s as usize]);
        let qualifier = subject.zip(d.qualifier).map(|(s, q)| &s.qualifiers[q as usize]);
        let value = d.value.as_ref().map(Val::to_json);
        let logic = match (subject, d.op, &value) {
            (Some(s), Some(op), Some(v)) => {
                let var = qualifier.map_or(&s.id, |(_, var)| var);
                Some(Logic::compare(op, var.clone(), v))
            }
            _ => None,
        };
        Rule {
            id: String::new(),
            key: String::new(),
            scope: d.scope.clone(),
            scope_other,
            subject: subject.map(|s| s.id.clone()),
            qualifier: qualifier.map(|(q, _)| q.clone()),
            op: d.op,
            value,
            range: d.range,
            unit: subject.map(|s| s.unit.clone()),
            kind: self.shared.kinds[d.kind.index()].clone(),
            confidence: d.confidence,
            clause: d.clause.clone(),
            source: RuleSource {
                doc: strings.doc.clone(),
                record: strings.record.clone(),
                path: strings.path.clone(),
                lines,
                counterpart: strings.counterpart.clone(),
            },
            text: strings.text.clone(),
            logic,
        }
    }
}

/// The strings the rules of one record share: its document, id and path,
/// its counterpart's id, and the citation in both languages.
struct RecordStrings {
    doc: SharedStr,
    record: SharedStr,
    path: SharedStr,
    counterpart: Option<SharedStr>,
    text: BilingualText,
}

impl RecordStrings {
    /// The strings of record `r` citing `c`, its counterpart if any; the
    /// document and path are those of `before` (the previous record's) when equal.
    fn new(r: &Record, c: Option<&Record>, before: Option<&RecordStrings>) -> RecordStrings {
        let mut text = BilingualText::default();
        for x in std::iter::once(r).chain(c) {
            let slot = match x.lang {
                Lang::Zh => &mut text.zh,
                Lang::En => &mut text.en,
            };
            if slot.is_none() {
                *slot = Some(x.text.as_str().into());
            }
        }
        let shared = |s: &str, old: Option<&SharedStr>| match old {
            Some(o) if *o == *s => o.clone(),
            _ => SharedStr::from(s),
        };
        RecordStrings {
            doc: shared(&r.doc, before.map(|b| &b.doc)),
            record: r.id.as_str().into(),
            path: shared(&r.path, before.map(|b| &b.path)),
            counterpart: c.map(|c| c.id.as_str().into()),
            text,
        }
    }
}

/// Where [`Extractor::assemble_with`] finds each record's aligned counterpart.
#[derive(Clone, Copy)]
pub enum Counterparts<'a> {
    /// Nowhere: no alignment.
    None,
    /// In the alignment's record pairings, by record id
    /// ([`Alignment::counterpart`]: the first pairing that lists the record).
    Alignment(&'a Alignment),
    /// By position: `(document, record)` → `(document, record, confidence)`
    /// of its counterpart, indices into the documents and their records; it
    /// must answer what [`Counterparts::Alignment`] would (kb-align's record
    /// links do, without looking at any id).
    Links(&'a LinkFn<'a>),
}

/// Record links by position: `(document, record)` → `(document, record,
/// confidence)` of its counterpart (see [`Counterparts::Links`]).
pub type LinkFn<'a> = dyn Fn(usize, u32) -> Option<(usize, u32, f64)> + Sync + 'a;

/// The counterparts of the records that gave drafts, found by id in an
/// alignment.
struct CounterpartsById {
    /// (document, record) of each record with drafts, by document then record.
    slots: Vec<(usize, u32)>,
    /// Each document's part of `slots`.
    doc_slots: Vec<Range<usize>>,
    /// The counterpart of each slot.
    counterpart_of: Vec<Option<(usize, usize)>>,
}

impl CounterpartsById {
    fn new(documents: &[Document], drafts: &[DocDrafts], alignment: Option<&Alignment>) -> CounterpartsById {
        // Records that gave rules, and so need their counterpart.
        let needing: usize = drafts.iter().map(|d| d.0.len()).sum();
        let mut slot_of: FxMap<&str, usize> = fx_map(needing);
        let mut slots: Vec<(usize, u32)> = Vec::with_capacity(needing);
        for (di, dd) in drafts.iter().enumerate() {
            let mut last = None;
            for d in &dd.0 {
                if last == Some(d.record) {
                    continue;
                }
                last = Some(d.record);
                let id = documents[di].records[d.record as usize].id.as_str();
                slot_of.entry(id).or_insert_with(|| {
                    slots.push((di, d.record));
                    slots.len() - 1
                });
            }
        }
        // Their counterparts, as `Alignment::counterpart` answers (the first
        // pairing that lists the record).
        // (found in parallel, then taken in the alignment's order)
        let found: Vec<(usize, &str, f64)> = alignment
            .map(|a| a.records.as_slice())
            .unwrap_or(&[])
            .par_iter()
            .flat_map_iter(|p| {
                let mut hits = Vec::new();
                if let (Some(z), Some(e)) = (&p.zh, &p.en) {
                    for (ids, other) in
                        [(std::iter::once(z).chain(&p.zh_all), e), (std::iter::once(e).chain(&p.en_all), z)]
                    {
                        for id in ids {
                            if let Some(&s) = slot_of.get(id.as_str()) {
                                hits.push((s, other.as_str(), p.confidence));
                            }
                        }
                    }
                }
                hits
            })
            .collect();
        let mut pair_of: Vec<Option<(&str, f64)>> = vec![None; slots.len()];
        for (s, other, conf) in found {
            pair_of[s].get_or_insert((other, conf));
        }
        drop(slot_of);
        let locator = Locator::new(documents);
        let counterpart_of: Vec<Option<(usize, usize)>> = pair_of
            .par_iter()
            .map(|p| p.filter(|&(_, conf)| conf >= MIN_COUNTERPART_CONFIDENCE).and_then(|(id, _)| locator.find(id)))
            .collect();
        // slot of each (document, record) with drafts, found by binary search
        let mut doc_slots: Vec<Range<usize>> = vec![0..0; documents.len()];
        {
            let mut i = 0;
            while i < slots.len() {
                let di = slots[i].0;
                let start = i;
                while i < slots.len() && slots[i].0 == di {
                    i += 1;
                }
                doc_slots[di] = start..i;
            }
        }
        CounterpartsById { slots, doc_slots, counterpart_of }
    }

    fn get(&self, di: usize, ri: u32) -> Option<(usize, usize)> {
        let range = self.doc_slots[di].clone();
        let at = self.slots[range.clone()].binary_search_by_key(&ri, |s| s.1).ok()?;
        self.counterpart_of[range.start + at]
    }
}

/// What one document gives in [`Extractor::assemble`]: its drafts that
/// become rules, in the order of its rules, each with the index of the
/// other language's scope name in `scopes` ([`NO_SCOPE`] without
/// counterpart) and of its record's strings (citing the counterpart) in
/// `records`; and the digest of its inputs.
struct Plan {
    kept: Vec<KeptDraft>,
    scopes: Vec<SharedStr>,
    records: Vec<RecordStrings>,
    inputs: Option<[u8; 16]>,
}

/// A draft that gives a rule: its index in the document's drafts, the
/// index of its counterpart's scope in [`Plan::scopes`] and that of its
/// record's strings (which cite the counterpart) in [`Plan::records`].
type KeptDraft = (u32, u32, u32);

/// No scope in [`Plan::scopes`].
const NO_SCOPE: u32 = u32::MAX;

/// Adds a string to the bytes of a digest, length first.
fn feed(h: &mut Vec<u8>, s: &str) {
    h.extend_from_slice(&(s.len() as u64).to_le_bytes());
    h.extend_from_slice(s.as_bytes());
}

/// Finds records by id: in the document the id names (`doc#hash`), else
/// in an index of every record, made when first needed.
struct Locator<'a> {
    documents: &'a [Document],
    by_doc: FxMap<&'a str, usize>,
    all: OnceLock<FxMap<&'a str, (usize, usize)>>,
}

impl<'a> Locator<'a> {
    fn new(documents: &'a [Document]) -> Self {
        let mut by_doc = fx_map(documents.len());
        for (i, d) in documents.iter().enumerate() {
            by_doc.insert(d.id.as_str(), i);
        }
        Locator { documents, by_doc, all: OnceLock::new() }
    }

    fn find(&self, id: &str) -> Option<(usize, usize)> {
        if let Some(h) = id.rfind('#') {
            if let Some(&di) = self.by_doc.get(&id[..h]) {
                // the records of a document share the `doc#` part of their ids
                let tail = &id.as_bytes()[h..];
                let found = self.documents[di].records.iter().position(|r| {
                    r.id.len() == id.len()
                        && r.id.as_bytes()[h..] == *tail
                        && r.id.as_bytes()[..h] == id.as_bytes()[..h]
                });
                if let Some(ri) = found {
                    return Some((di, ri));
                }
            }
        }
        let all = self.all.get_or_init(|| {
            let mut m = fx_map(self.documents.iter().map(|d| d.records.len()).sum());
            for (di, d) in self.documents.iter().enumerate() {
                for (ri, r) in d.records.iter().enumerate() {
                    m.insert(r.id.as_str(), (di, ri));
                }
            }
            m
        });
        all.get(id).copied()
    }
}

/// The rules of a set of documents, with where each document's rules are.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// The rules, sorted by source.
    pub rules: RuleSet,
    /// Every document, in the order of `rules` (by path).
    pub docs: Vec<DocSpan>,
}

/// Where one document's rules are in an [`Assembly`].
#[derive(Debug, Clone, PartialEq)]
pub struct DocSpan {
    /// Index of the document in the documents given to [`Extractor::assemble`].
    pub doc: usize,
    /// Its rules, a range of [`Assembly::rules`].
    pub rules: Range<usize>,
    /// A digest of everything its rules were made from, keys apart: the
    /// document's path, id, title, language and bytes (its blake3), and for
    /// each record that gave rules the id and document bytes of its aligned
    /// counterpart. Equal digests, equal keys and the same kb binary give
    /// the same rules. `None` for a document without a content hash.
    pub inputs: Option<[u8; 16]>,
}

/// The part of a rule's key before any `~n`: `scope|subject[.qualifier]`,
/// or `scope|qualitative|digest-of-clause`.
pub fn base_key(r: &Rule) -> String {
    let mut k = String::with_capacity(r.scope.len() + 40);
    k.push_str(&r.scope);
    k.push('|');
    match &r.subject {
        Some(s) => {
            k.push_str(s);
            if let Some(q) = &r.qualifier {
                k.push('.');
                k.push_str(q);
            }
        }
        None => {
            k.push_str("qualitative|");
            push_short_hash(&mut k, &normalize(&r.clause), 8);
        }
    }
    k
}

/// Appends what [`kb_model::short_hash`]`(&[part], n)` gives (`n` even),
/// without its allocations.
fn push_short_hash(out: &mut String, part: &str, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = blake3::Hasher::new();
    h.update(part.as_bytes());
    h.update(&[0x1f]);
    for b in &h.finalize().as_bytes()[..n / 2] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
}

fn normalize(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Sets `key` (with `~2`, `~3` for repeats, in rule order) and `id` of every rule.
pub fn assign_keys(rules: &mut [Rule]) {
    let base: Vec<String> = rules.par_iter().map(base_key).collect();
    let mut seen: FxMap<&str, u32> = fx_map(base.len() / 2 + 1);
    let nth: Vec<u32> = base
        .iter()
        .map(|b| {
            let n = seen.entry(b.as_str()).or_insert(0);
            *n += 1;
            *n
        })
        .collect();
    drop(seen);
    rules.par_iter_mut().zip(base).zip(nth).for_each(|((r, mut key), n)| {
        if n > 1 {
            key.push('~');
            key.push_str(&n.to_string());
        }
        let mut id = String::with_capacity(17);
        id.push_str("rule-");
        push_short_hash(&mut id, &key, 12);
        r.key = key;
        r.id = id;
    });
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn clean_scope_is_what_joining_the_words_and_trimming_gives(text in "[ \t　:：。.;；,，1一、)）a-c中]{0,16}") {
            let words: String = strip_ordinal(&text).split_whitespace().collect::<Vec<_>>().join(" ");
            let old = words.trim_end_matches(['：', ':', '。', '.', ';', '；', ',', '，']).trim().to_string();
            proptest::prop_assert_eq!(clean_scope(&text), old);
        }
    }

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

    #[test]
    fn the_logic_of_every_rule_is_what_json_gives_for_its_condition() {
        let d = doc("zh/faq", Lang::Zh, "成为腾讯云云市场服务商需要符合哪些条件？", market("微信小程序市场", WECHAT));
        let rules = extract(&[d], None);
        let mut n = 0;
        for r in &rules.rules {
            let (Some(var), Some(op), Some(v)) = (r.variable(), r.op, r.value.as_ref()) else {
                assert_eq!(r.logic, None, "{r:?}");
                continue;
            };
            let want = json!({ op.as_str(): [{ "var": var }, v] });
            let logic = r.logic.as_ref().expect("a rule with subject, operator and value has logic");
            assert_eq!(serde_json::to_string(logic).unwrap(), serde_json::to_string(&want).unwrap());
            assert_eq!(*logic, want);
            n += 1;
        }
        assert!(n >= 6, "{n} rules with logic");
    }

    #[test]
    fn the_rules_of_a_document_share_their_strings() {
        let d = doc("zh/faq", Lang::Zh, "成为腾讯云云市场服务商需要符合哪些条件？", market("微信小程序市场", WECHAT));
        let x = crate::extractor();
        let rules = x.extract(&[d], None);
        let (first, rest) = rules.rules.split_first().expect("rules");
        assert!(rest.len() >= 5);
        for r in rest {
            assert!(SharedStr::ptr_eq(&r.source.doc, &first.source.doc));
            assert!(SharedStr::ptr_eq(&r.source.path, &first.source.path));
            assert!(SharedStr::ptr_eq(&r.scope, &first.scope));
            if r.kind == first.kind {
                assert!(SharedStr::ptr_eq(&r.kind, &first.kind));
            }
        }
        // the rules of one record share its id and text
        let by_record = |r: &Rule| rules.rules.iter().filter(|o| o.source.record == r.source.record).count();
        let r = rules.rules.iter().find(|r| by_record(r) > 1).expect("a record with several rules");
        for o in rules.rules.iter().filter(|o| o.source.record == r.source.record) {
            assert!(SharedStr::ptr_eq(&o.source.record, &r.source.record));
            assert!(SharedStr::ptr_eq(o.text.zh.as_ref().unwrap(), r.text.zh.as_ref().unwrap()));
        }
        // subjects and units come from the vocabulary, made once
        let again = x.extract(&[doc("zh/b", Lang::Zh, "b", market("微信小程序市场", WECHAT))], None);
        let (a, b) = (&rules.rules[0], &again.rules[0]);
        assert!(SharedStr::ptr_eq(a.subject.as_ref().unwrap(), b.subject.as_ref().unwrap()));
        assert!(SharedStr::ptr_eq(a.unit.as_ref().unwrap(), b.unit.as_ref().unwrap()));
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
        assert_eq!(
            cap.logic.as_ref().map(Logic::to_value),
            Some(json!({">": [{"var": "registered_capital"}, 1000000]}))
        );
        let logic = cap.logic.as_ref().unwrap();
        assert_eq!(serde_json::to_string(logic).unwrap(), r#"{">":[{"var":"registered_capital"},1000000]}"#);
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
    fn short_hashes_are_those_of_the_model() {
        for (text, n) in [("", 8), ("微信小程序市场|registered_capital", 12), ("abc", 8)] {
            let mut s = String::new();
            push_short_hash(&mut s, text, n);
            assert_eq!(s, kb_model::short_hash(&[text], n));
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
