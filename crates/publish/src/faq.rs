//! FAQ entries: every `faq` record as a question and answer, and questions
//! generated from rules where a question reads naturally (one per scope and
//! subject: "成为微信小程序市场服务商需要多少注册资本？").

use std::collections::BTreeMap;

use kb_model::rules::Rule;
use kb_model::{Document, Lang, Record, RecordKind};
use serde::Serialize;

use crate::blocks::{anchor, inlines, Inline, RuleView};
use crate::text;

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
    /// The answer, as paragraphs of inlines.
    pub answer: Vec<Vec<Inline>>,
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
    /// The rules behind a generated question.
    pub rules: Vec<RuleView>,
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
fn answer_of(doc: &Document, idx: usize) -> (Vec<Vec<Inline>>, String, bool) {
    let r = &doc.records[idx];
    if let Some(a) = r.answer.as_deref().filter(|a| !a.trim().is_empty()) {
        return (vec![inlines(a, &r.links)], a.to_string(), false);
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
        parts.push(inlines(&t, &c.links));
        plain.push(t);
    }
    (parts, plain.join("\n"), truncated)
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
                anchor: format!("q-{}", &anchor(&r.id)[2..]),
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
                rules: Vec::new(),
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

/// Questions generated from the rules whose source record is in `doc`:
/// one per (scope, subject), for rules with a subject and a value and
/// enough confidence. `href` is the document page.
pub fn generated_entries(doc: &Document, rules: &[&Rule], href: &str) -> Vec<FaqEntry> {
    let by_id: std::collections::HashMap<&str, &Record> = doc.records.iter().map(|r| (r.id.as_str(), r)).collect();
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
    let mut out = Vec::new();
    for ((scope, subject), rs) in groups {
        let Some(q) = question(&subject, &scope, doc.lang) else {
            continue;
        };
        let first = by_id[rs[0].source.record.as_str()];
        let mut paragraphs = Vec::new();
        let mut plain = Vec::new();
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
                    Lang::Zh => rule.text.zh.clone(),
                    Lang::En => rule.text.en.clone(),
                })
                .unwrap_or_else(|| rec.text.clone());
            let line = match doc.lang {
                Lang::Zh => format!("{sentence}。原文：{cite}"),
                Lang::En => format!("{sentence}. Source text: {cite}"),
            };
            if seen.insert(line.clone()) {
                paragraphs.push(inlines(&line, &rec.links));
                plain.push(line);
            }
        }
        if paragraphs.is_empty() {
            continue;
        }
        let key = kb_model::short_hash(&[&doc.id, &scope, &subject], 10);
        out.push(FaqEntry {
            anchor: format!("g-{key}"),
            question: q,
            answer: paragraphs,
            answer_text: plain.join("\n"),
            truncated: false,
            doc: doc.id.clone(),
            source_href: format!("{href}#{}", anchor(&first.id)),
            source_label: section_label(first, &doc.title),
            source_location: first.location(),
            generated: true,
            rules: rs.iter().map(|r| RuleView::new(r, doc.lang)).collect(),
        });
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
}
