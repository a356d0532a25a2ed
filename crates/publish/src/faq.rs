//! FAQ entries: every `faq` record as a question and answer, and questions
//! generated from rules where a question reads naturally (one per scope and
//! subject: "成为微信小程序市场服务商需要多少注册资本？").

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use kb_model::rules::Rule;
use kb_model::{Document, Lang, Record, RecordKind};
use minijinja::Value;
use serde::Serialize;

use crate::blocks::{anchor, inlines, RuleView};
use crate::{html, text};

/// Rules below this confidence do not become questions.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// How many records of a structured answer are shown before "more in the section".
const MAX_ANSWER_PARTS: usize = 6;

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaqEntry {
    /// Element id on the FAQ page.
    pub anchor: String,
    /// The question.
    pub question: String,
    /// The answer, as paragraphs ([`crate::html::inlines`]).
    pub answer: Vec<Value>,
    /// The answer as plain text (for JSON-LD and search).
    pub answer_text: String,
    /// True when the answer continues in the source section.
    pub truncated: bool,
    /// The document id.
    pub doc: String,
    /// Site-relative URL of the source section.
    pub source_href: String,
    /// The source section's heading path.
    pub source_label: String,
    /// `path:lines` of the source.
    pub source_location: String,
    /// True for questions generated from rules.
    pub generated: bool,
    /// The rules behind a generated question ([`crate::html::rules`]).
    pub rules: Value,
    /// Where the language switch lands from this question: the aligned
    /// question on the other language's FAQ pages, as an element id on the
    /// page the switch goes to or as a site-relative `page#id` (set by the
    /// site build; see [`crate::counterparts`]).
    pub counterpart: Option<String>,
}

/// The FAQ entries of one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaqGroup {
    /// The document id.
    pub doc: String,
    /// The document's title.
    pub title: String,
    /// Site-relative URL of the document page.
    pub href: String,
    /// Element id of the group on the FAQ page.
    pub anchor: String,
    /// Entries from faq records.
    pub entries: Vec<FaqEntry>,
    /// Entries generated from rules.
    pub generated: Vec<FaqEntry>,
}

/// The plain answer of a faq record: its answer, else the text of the
/// records of its section (up to a few), with whether more follows.
fn answer_of(doc: &Document, idx: usize) -> (Vec<Value>, String, bool) {
    let r = &doc.records[idx];
    if let Some(a) = r.answer.as_deref().filter(|a| !a.trim().is_empty()) {
        return (vec![html::inlines_fragment(&inlines(a, &r.links))], a.to_string(), false);
    }
    let q = r.question.as_deref().unwrap_or(&r.text);
    let depth = r.heading_path.len();
    let mut parts = Vec::new();
    let mut plain = Vec::new();
    let mut truncated = false;
    for c in &doc.records[idx + 1..] {
        let inside = c.heading_path.len() > depth && c.heading_path.get(depth).map(String::as_str) == Some(q);
        let next_section = matches!(c.kind, RecordKind::Faq | RecordKind::Heading)
            && matches!((c.level, r.level), (Some(a), Some(b)) if a <= b);
        if !inside || next_section {
            break;
        }
        if matches!(
            c.kind,
            RecordKind::Image
                | RecordKind::Separator
                | RecordKind::LinkDefinition
                | RecordKind::FrontMatter
                | RecordKind::Html
        ) {
            continue;
        }
        if parts.len() == MAX_ANSWER_PARTS {
            truncated = true;
            break;
        }
        let t = if c.kind == RecordKind::TableRow {
            c.cells.iter().map(|x| format!("{}: {}", x.header, x.text)).collect::<Vec<_>>().join("; ")
        } else {
            c.text.clone()
        };
        parts.push(html::inlines_fragment(&inlines(&t, &c.links)));
        plain.push(t);
    }
    (parts, plain.join("\n"), truncated)
}

/// The element id of a faq record's question on a FAQ page.
pub fn record_anchor(r: &Record) -> String {
    format!("q-{}", &anchor(&r.id)[2..])
}

/// The entries of every faq record of `doc`; `href` is the document page.
pub fn record_entries(doc: &Document, href: &str) -> Vec<FaqEntry> {
    doc.records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == RecordKind::Faq)
        .map(|(i, r)| {
            let (answer, answer_text, truncated) = answer_of(doc, i);
            FaqEntry {
                anchor: record_anchor(r),
                question: r.question.clone().unwrap_or_else(|| r.text.lines().next().unwrap_or("").to_string()),
                answer,
                answer_text,
                truncated,
                doc: doc.id.clone(),
                source_href: format!("{href}#{}", anchor(&r.id)),
                // The link goes to the question itself, in this document.
                source_label: doc.title.clone(),
                source_location: r.location(),
                generated: false,
                rules: html::fragment(String::new()),
                counterpart: None,
            }
        })
        .collect()
}

fn section_label(r: &Record, title: &str) -> String {
    if r.heading_path.is_empty() {
        title.to_string()
    } else {
        r.heading_path.join(" › ")
    }
}

/// Who the scope names, for a question: a market's provider
/// (`微信小程序市场` → `微信小程序市场服务商`) or the partner category itself.
fn role_zh(scope: &str) -> String {
    let s = scope.trim();
    if s.ends_with("市场") {
        format!("{s}服务商")
    } else {
        s.to_string()
    }
}

fn article(s: &str) -> &'static str {
    match s.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// The question for `subject` in `scope`, when one reads naturally.
pub fn question(subject: &str, scope: &str, lang: Lang) -> Option<String> {
    let scope = scope.trim();
    if scope.is_empty() || scope.chars().count() > 40 {
        return None;
    }
    match lang {
        Lang::Zh => {
            let role = role_zh(scope);
            let q = match subject {
                "registered_capital" => format!("成为{role}需要多少注册资本？"),
                "headcount" => format!("成为{role}对公司人员规模有什么要求？"),
                "team_size" => format!("成为{role}需要多大的技术及服务团队？"),
                "operations_staff" => format!("成为{role}需要多少名专职运营人员？"),
                "certified_engineers" => format!("成为{role}需要多少名认证工程师？"),
                "company_age" => format!("成为{role}要求企业成立多少年？"),
                "industry_experience" => format!("成为{role}需要多少年行业服务经验？"),
                "support_hours_weekly" => format!("{role}需要提供多长时间的客服在线服务？"),
                "registered_users" => format!("成为{role}需要多少注册用户？"),
                "customer_cases" => format!("成为{role}需要提供多少个客户案例？"),
                "service_fee" => format!("成为{role}需要缴纳服务费吗？"),
                "review_time" => format!("{role}的申请审核需要多长时间？"),
                _ => return None,
            };
            Some(q)
        }
        Lang::En => {
            // A scope in Chinese (from a Chinese heading) makes no English question.
            if scope.chars().any(crate::tokenize::is_han) {
                return None;
            }
            let who = format!("{} {scope}", article(scope));
            let q = match subject {
                "registered_capital" => format!("How much registered capital does {who} need?"),
                "headcount" => format!("How many employees does {who} need?"),
                "team_size" => format!("How large a technical and service team does {who} need?"),
                "operations_staff" => {
                    format!("How many dedicated operations staff does {who} need?")
                }
                "certified_engineers" => format!("How many certified engineers does {who} need?"),
                "company_age" => format!("How long must a company have existed to become {who}?"),
                "industry_experience" => {
                    format!("How many years of industry experience does {who} need?")
                }
                "support_hours_weekly" => {
                    format!("How many hours of customer support must {who} offer?")
                }
                "registered_users" => format!("How many registered users does {who} need?"),
                "customer_cases" => format!("How many customer cases does {who} need to provide?"),
                "service_fee" => format!("Does {who} pay a service fee?"),
                "review_time" => format!("How long does the review take for {scope}?"),
                _ => return None,
            };
            Some(q)
        }
    }
}

/// A question generated from rules: its scope, subject, question and rules.
type GeneratedGroup<'a> = (String, String, String, Vec<&'a Rule>);

/// The (scope, subject) groups of `rules` whose source record is in `doc`
/// that make a question: rules with a subject and a value and enough
/// confidence, a question that reads naturally, and at least one rule that
/// can be said in a sentence.
fn generated_groups<'a>(doc: &Document, rules: &[&'a Rule], by_id: &HashMap<&str, &Record>) -> Vec<GeneratedGroup<'a>> {
    let mut groups: BTreeMap<(String, String), Vec<&Rule>> = BTreeMap::new();
    for rule in rules {
        let (Some(subject), Some(_)) = (rule.subject.as_deref(), rule.value.as_ref()) else {
            continue;
        };
        if rule.confidence < MIN_CONFIDENCE
            || rule.kind == "qualitative"
            || !by_id.contains_key(rule.source.record.as_str())
        {
            continue;
        }
        groups.entry((rule.scope.trim().to_string(), subject.to_string())).or_default().push(rule);
    }
    groups
        .into_iter()
        .filter_map(|((scope, subject), rs)| {
            let q = question(&subject, &scope, doc.lang)?;
            rs.iter().any(|r| text::rule_sentence(r, doc.lang).is_some()).then_some((scope, subject, q, rs))
        })
        .collect()
}

/// `doc`'s records by id.
pub(crate) fn records_by_id(doc: &Document) -> HashMap<&str, &Record> {
    doc.records.iter().map(|r| (r.id.as_str(), r)).collect()
}

fn generated_anchor(doc: &Document, scope: &str, subject: &str) -> String {
    format!("g-{}", kb_model::short_hash(&[&doc.id, scope, subject], 10))
}

/// A question generated from rules: what its FAQ entry, its search entry
/// and its document's card are made of (see [`generated`]).
#[derive(Debug, Clone)]
pub struct Generated<'a> {
    /// Element id on the FAQ page.
    pub anchor: String,
    /// The question.
    pub question: String,
    /// The source record of the first rule.
    first: &'a Record,
    /// The rules behind it.
    rules: Vec<&'a Rule>,
    /// The answer's lines, each with the record it cites.
    lines: Vec<(String, &'a Record)>,
}

impl Generated<'_> {
    /// The answer as plain text, a line per rule said.
    pub fn answer_text(&self) -> String {
        self.lines.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// The questions of `doc`: `(anchor, question, generated)` for the first
/// `limit` (faq records first, then `generated`, what [`generated`] gave
/// for it), and how many there are of each kind. The same as the entries
/// [`record_entries`] and [`generated_entries`] give.
pub fn questions(
    doc: &Document,
    generated: &[Generated<'_>],
    limit: usize,
) -> (Vec<(String, String, bool)>, usize, usize) {
    let mut out = Vec::new();
    let mut faq = 0;
    for r in doc.records.iter().filter(|r| r.kind == RecordKind::Faq) {
        faq += 1;
        if out.len() < limit {
            let q = r.question.clone().unwrap_or_else(|| r.text.lines().next().unwrap_or("").to_string());
            out.push((record_anchor(r), q, false));
        }
    }
    for g in generated.iter().take(limit.saturating_sub(out.len())) {
        out.push((g.anchor.clone(), g.question.clone(), true));
    }
    (out, faq, generated.len())
}

/// The FAQ entries of the questions [`generated`] gave for `doc`; `href`
/// is the document page.
pub fn generated_entries(doc: &Document, generated: &[Generated<'_>], href: &str) -> Vec<FaqEntry> {
    generated
        .iter()
        .map(|g| FaqEntry {
            anchor: g.anchor.clone(),
            question: g.question.clone(),
            answer: g.lines.iter().map(|(line, rec)| html::inlines_fragment(&inlines(line, &rec.links))).collect(),
            answer_text: g.answer_text(),
            truncated: false,
            doc: doc.id.clone(),
            source_href: format!("{href}#{}", anchor(&g.first.id)),
            source_label: section_label(g.first, &doc.title),
            source_location: g.first.location(),
            generated: true,
            rules: html::rules_fragment(
                &g.rules.iter().map(|r| RuleView::new(r, doc.lang)).collect::<Vec<_>>(),
                text::ui_text(doc.lang, "rule"),
            ),
            counterpart: None,
        })
        .collect()
}

/// Questions generated from the rules whose source record is in `doc`:
/// one per (scope, subject), for rules with a subject and a value and
/// enough confidence, where a question reads naturally and some rule can
/// be said in a sentence.
pub fn generated<'a>(doc: &'a Document, rules: &[&'a Rule]) -> Vec<Generated<'a>> {
    let mut out = Vec::new();
    if rules.is_empty() {
        return out;
    }
    let by_id = records_by_id(doc);
    for (scope, subject, q, rs) in generated_groups(doc, rules, &by_id) {
        let first = by_id[rs[0].source.record.as_str()];
        let mut lines: Vec<(String, &Record)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for rule in &rs {
            let Some(sentence) = text::rule_sentence(rule, doc.lang) else {
                continue;
            };
            let rec = by_id[rule.source.record.as_str()];
            // The clause the rule was read from, else the whole source text.
            let cite = Some(rule.clause.trim().to_string())
                .filter(|c| !c.is_empty())
                .or_else(|| match doc.lang {
                    Lang::Zh => rule.text.zh.as_deref().map(String::from),
                    Lang::En => rule.text.en.as_deref().map(String::from),
                })
                .unwrap_or_else(|| rec.text.clone());
            let line = match doc.lang {
                Lang::Zh => format!("{sentence}。原文：{cite}"),
                Lang::En => format!("{sentence}. Source text: {cite}"),
            };
            if seen.insert(line.clone()) {
                lines.push((line, rec));
            }
        }
        if lines.is_empty() {
            continue;
        }
        out.push(Generated { anchor: generated_anchor(doc, &scope, &subject), question: q, first, rules: rs, lines });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_read_naturally_in_both_languages() {
        assert_eq!(
            question("registered_capital", "微信小程序市场", Lang::Zh).unwrap(),
            "成为微信小程序市场服务商需要多少注册资本？"
        );
        assert_eq!(
            question("certified_engineers", "教育合作伙伴", Lang::Zh).unwrap(),
            "成为教育合作伙伴需要多少名认证工程师？"
        );
        assert_eq!(
            question("registered_capital", "Enterprise Edition Technology Partner", Lang::En).unwrap(),
            "How much registered capital does an Enterprise Edition Technology Partner need?"
        );
        assert_eq!(
            question("registered_capital", "微信小程序市场", Lang::En),
            None,
            "no English question about a Chinese scope"
        );
        assert_eq!(question("entity_type", "x", Lang::Zh), None, "enum subjects make no question");
        assert_eq!(question("registered_capital", "", Lang::Zh), None);
    }

    #[test]
    fn the_cheap_question_list_matches_the_entries() {
        let mut req = Record::new("zh/d", "zh/d.md", Lang::Zh, RecordKind::Requirement, "注册资本不少于100万", [3, 3]);
        req.id = "zh/d#r1".into();
        req.heading_path = vec!["微信小程序市场".into()];
        let mut q = Record::new("zh/d", "zh/d.md", Lang::Zh, RecordKind::Faq, "个人能否成为服务商？", [5, 6]);
        q.id = "zh/d#q1".into();
        q.question = Some("个人能否成为服务商？".into());
        q.answer = Some("不能。".into());
        let doc = Document::new("zh/d", "zh/d.md", Lang::Zh, "D", vec![req, q]);
        let rule = Rule {
            id: "rule-1".into(),
            scope: "微信小程序市场".into(),
            subject: Some("registered_capital".into()),
            op: Some(kb_model::rules::Op::Ge),
            value: Some(serde_json::json!(1000000)),
            unit: Some("CNY".into()),
            kind: "quantitative".into(),
            confidence: 0.9,
            clause: "注册资本不少于100万".into(),
            source: kb_model::rules::RuleSource { doc: "zh/d".into(), record: "zh/d#r1".into(), ..Default::default() },
            ..Default::default()
        };
        let rules = [&rule];
        let gen = generated(&doc, &rules);
        let entries: Vec<FaqEntry> = record_entries(&doc, "zh/docs/d.html")
            .into_iter()
            .chain(generated_entries(&doc, &gen, "zh/docs/d.html"))
            .collect();
        assert_eq!(gen.len(), 1);
        assert_eq!((&gen[0].anchor, &gen[0].answer_text()), (&entries[1].anchor, &entries[1].answer_text));
        let (qs, faq, generated) = questions(&doc, &gen, 10);
        assert_eq!((faq, generated), (1, 1));
        let from_entries: Vec<(String, String, bool)> =
            entries.iter().map(|e| (e.anchor.clone(), e.question.clone(), e.generated)).collect();
        assert_eq!(qs, from_entries);
        assert_eq!(questions(&doc, &gen, 1).0.len(), 1);
    }
}
