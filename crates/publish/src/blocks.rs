//! A document's records turned into the blocks a page shows: headings (with
//! levels made consecutive), checklists of requirements with their rules,
//! ordered steps, lists, tables, callouts, figures, code and sanitised HTML.
//!
//! Blocks carry text, or HTML fragments made by [`crate::html`] from text
//! it escapes (inline runs, cell lines, images, rules); the template escapes
//! every string. The only HTML taken from a document is [`Block::Html`]'s,
//! which has been through [`crate::sanitize::clean_html`].

use rustc_hash::FxHashMap as HashMap;

use kb_model::rules::Rule;
use kb_model::{Document, Lang, NoteType, Record, RecordKind};
use minijinja::Value;
use serde::Serialize;

use crate::sanitize::{clean_html, safe_href, safe_src};
use crate::{html, text};

/// The HTML `id` of a record's element: `r-` and the record id's hash part.
pub fn anchor(record_id: &str) -> String {
    let tail = record_id.rsplit_once('#').map(|(_, t)| t).unwrap_or(record_id);
    let mut a = String::from("r-");
    for c in tail.chars() {
        if c.is_ascii_alphanumeric() {
            a.push(c.to_ascii_lowercase());
        } else if !a.ends_with('-') {
            a.push('-');
        }
    }
    a
}

/// A piece of inline content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Inline {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A link whose URL passed [`safe_href`].
    Link {
        /// The link text.
        text: String,
        /// The URL.
        href: String,
        /// True for links leaving the site.
        external: bool,
    },
    /// A line break.
    Br,
}

/// Splits `text` into inlines: the `links` found in it (by their text, in
/// order) become links when their URL is safe, line breaks become [`Inline::Br`].
pub fn inlines(text: &str, links: &[kb_model::Link]) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut rest = text;
    for link in links {
        let Some(href) = safe_href(&link.url) else {
            continue;
        };
        if link.text.is_empty() {
            continue;
        }
        if let Some(pos) = rest.find(link.text.as_str()) {
            push_text(&mut out, &rest[..pos]);
            let external = !href.starts_with('#');
            out.push(Inline::Link { text: link.text.clone(), href, external });
            rest = &rest[pos + link.text.len()..];
        }
    }
    push_text(&mut out, rest);
    out
}

fn push_text(out: &mut Vec<Inline>, s: &str) {
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push(Inline::Br);
        }
        if !line.is_empty() {
            out.push(Inline::Text { text: line.to_string() });
        }
    }
}

/// A rule as shown beside its requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleView {
    /// The subject key (`registered_capital`), if any.
    pub subject: Option<String>,
    /// Its name in the page's language (with the qualifier, if any).
    pub subject_label: Option<String>,
    /// Which kind of the subject (`automation` engineers), if any.
    pub qualifier: Option<String>,
    /// The operator (`>=`).
    pub op: Option<String>,
    /// The operator as a symbol (`≥`).
    pub op_symbol: Option<String>,
    /// The value as written in rules.json.
    pub value: Option<String>,
    /// The value as people read it.
    pub value_label: Option<String>,
    /// The unit (`CNY`).
    pub unit: Option<String>,
    /// The unit's name in the page's language (none for `bool` / `enum`).
    pub unit_label: Option<String>,
    /// `quantitative`, `boolean`, `enum`, `qualitative`.
    pub kind: String,
    /// The kind in the page's language.
    pub kind_label: String,
    /// The scope it applies to.
    pub scope: String,
    /// Extraction confidence, as a percentage.
    pub confidence: u32,
    /// The rule id.
    pub id: String,
}

impl RuleView {
    /// The view of `rule` in `lang`.
    pub fn new(rule: &Rule, lang: Lang) -> RuleView {
        let op = rule.op.map(|o| serde_json::to_value(o).ok().and_then(|v| v.as_str().map(str::to_string)));
        RuleView {
            subject: rule.subject.as_deref().map(String::from),
            subject_label: rule.subject.as_deref().map(|s| match rule.qualifier.as_deref() {
                Some(q) => format!("{} ({})", text::subject_label(s, lang), text::qualifier_label(q, lang)),
                None => text::subject_label(s, lang),
            }),
            qualifier: rule.qualifier.as_deref().map(String::from),
            op: op.flatten(),
            op_symbol: if rule.range.is_some() { None } else { rule.op.map(|o| text::op_symbol(o).to_string()) },
            value: rule.value.as_ref().map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            }),
            value_label: match rule.range {
                Some([lo, hi]) => Some(format!("{}–{}", text::number(lo), text::number(hi))),
                None => rule.value.as_ref().map(|v| text::value_words(v, rule.unit.as_deref(), lang)),
            },
            unit: rule.unit.as_deref().map(String::from),
            unit_label: rule
                .unit
                .as_deref()
                .filter(|u| !matches!(*u, "bool" | "enum"))
                .map(|u| text::unit_label(u, lang)),
            kind: rule.kind.to_string(),
            kind_label: text::kind_label(&rule.kind, lang),
            scope: rule.scope.to_string(),
            confidence: (rule.confidence.clamp(0.0, 1.0) * 100.0).round() as u32,
            id: rule.id.clone(),
        }
    }
}

/// An item of a checklist, step list or plain list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Element id.
    pub anchor: String,
    /// The marker as written (`1、`, `Step 3.`).
    pub ordinal: Option<String>,
    /// The numeric ordinal.
    pub number: Option<u32>,
    /// The content ([`html::inlines`]).
    pub inlines: Value,
    /// Images inside the item ([`html::images`]).
    pub images: Value,
    /// Rules extracted from the item ([`html::rules`]).
    pub rules: Value,
}

/// An image ready for `<img>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageView {
    /// The URL, when safe; `None` shows the alt text only.
    pub src: Option<String>,
    /// Alt text, never empty.
    pub alt: String,
}

/// A header cell, with the columns it spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaderCell {
    /// The header text, its lines joined by spaces.
    pub text: String,
    /// The header text's lines ([`html::lines`]).
    pub lines: Value,
    /// Columns spanned.
    pub colspan: usize,
}

/// A body cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellView {
    /// The text's lines ([`html::lines`]).
    pub lines: Value,
    /// True when the text repeats a spanning cell of another row/column.
    pub spanned: bool,
    /// The column header, for small screens.
    pub header: String,
}

/// A table row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowView {
    /// Element id.
    pub anchor: String,
    /// Cells in column order.
    pub cells: Vec<CellView>,
    /// Rules extracted from the row ([`html::rules`]).
    pub rules: Value,
}

/// One block of a document page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A heading (plain, question or step).
    Heading {
        /// Element id.
        anchor: String,
        /// `h2`–`h6`, consecutive.
        level: u8,
        /// The text.
        text: String,
        /// `heading`, `faq` or `step`.
        kind: String,
    },
    /// Prose.
    Paragraph {
        /// Element id.
        anchor: String,
        /// Content ([`html::inlines`]).
        inlines: Value,
        /// Images inside ([`html::images`]).
        images: Value,
    },
    /// Consecutive requirements.
    Checklist {
        /// The requirements.
        items: Vec<Item>,
    },
    /// Consecutive steps.
    Steps {
        /// The steps.
        items: Vec<Item>,
    },
    /// Consecutive list items.
    List {
        /// True when the items carry ordinals.
        ordered: bool,
        /// The items.
        items: Vec<Item>,
    },
    /// A table.
    Table {
        /// Element id.
        anchor: String,
        /// Header cells (colspans merged).
        headers: Vec<HeaderCell>,
        /// Rows.
        rows: Vec<RowView>,
        /// True when some row has rules (adds a column).
        has_rules: bool,
    },
    /// A callout.
    Note {
        /// Element id.
        anchor: String,
        /// `tip`, `warning`, `quote`.
        note_type: String,
        /// Content ([`html::inlines`]).
        inlines: Value,
    },
    /// Images.
    Figure {
        /// Element id.
        anchor: String,
        /// The images ([`html::images`]).
        images: Value,
    },
    /// Code.
    Code {
        /// Element id.
        anchor: String,
        /// The info string.
        info: Option<String>,
        /// The code.
        text: String,
    },
    /// Raw HTML, sanitised.
    Html {
        /// Element id.
        anchor: String,
        /// The sanitised HTML.
        html: String,
    },
    /// A thematic break.
    Separator,
}

/// Alt texts that say nothing (`![img](…)`).
fn meaningless_alt(alt: &str) -> bool {
    let a = alt.trim().to_lowercase();
    a.is_empty() || matches!(a.as_str(), "img" | "image" | "图片" | "图" | "screenshot" | "截图" | "picture" | "pic")
}

/// Turns a document's records into blocks, numbering fallback alt texts
/// per section; `rules` maps record ids to their rules.
pub struct BlockBuilder<'a> {
    lang: Lang,
    rules: &'a HashMap<&'a str, Vec<&'a Rule>>,
    images_in_section: usize,
    section: String,
    /// (source level, output level) of the open headings.
    stack: Vec<(u8, u8)>,
    /// Rules shown.
    pub rules_shown: usize,
}

impl<'a> BlockBuilder<'a> {
    /// A builder for a document in `lang`.
    pub fn new(lang: Lang, rules: &'a HashMap<&'a str, Vec<&'a Rule>>) -> Self {
        BlockBuilder { lang, rules, images_in_section: 0, section: String::new(), stack: Vec::new(), rules_shown: 0 }
    }

    /// The rules of a record, as shown ([`html::rules`]), and whether it has any.
    fn rules_of(&mut self, r: &Record) -> (Value, bool) {
        let v: Vec<RuleView> = self
            .rules
            .get(r.id.as_str())
            .map(|rs| rs.iter().map(|x| RuleView::new(x, self.lang)).collect())
            .unwrap_or_default();
        self.rules_shown += v.len();
        (html::rules_fragment(&v, text::ui_text(self.lang, "rule")), !v.is_empty())
    }

    fn images(&mut self, r: &Record) -> Value {
        let views = self.image_views(r);
        html::images_fragment(&views)
    }

    fn image_views(&mut self, r: &Record) -> Vec<ImageView> {
        r.images
            .iter()
            .map(|img| {
                self.images_in_section += 1;
                let alt = if meaningless_alt(&img.alt) {
                    let label = text::ui_text(self.lang, "image");
                    let n = self.images_in_section;
                    match (self.lang, self.section.is_empty()) {
                        (Lang::Zh, false) => format!("{label} {n}：{}", self.section),
                        (Lang::En, false) => format!("{label} {n}: {}", self.section),
                        (_, true) => format!("{label} {n}"),
                    }
                } else {
                    img.alt.trim().to_string()
                };
                ImageView { src: safe_src(&img.src), alt }
            })
            .collect()
    }

    /// The output level (2–6) for a heading of source level `level`: nested
    /// under the nearest open heading of a smaller level, never skipping one.
    fn level(&mut self, level: u8) -> u8 {
        while self.stack.last().is_some_and(|(src, _)| *src >= level) {
            self.stack.pop();
        }
        let out = self.stack.last().map(|(_, o)| (o + 1).min(6)).unwrap_or(2);
        self.stack.push((level, out));
        out
    }

    fn item(&mut self, r: &Record) -> Item {
        Item {
            anchor: anchor(&r.id),
            ordinal: r.ordinal.clone(),
            number: r.number,
            inlines: html::inlines_fragment(&inlines(&strip_ordinal(&r.text, r.ordinal.as_deref()), &r.links)),
            images: self.images(r),
            rules: self.rules_of(r).0,
        }
    }

    /// The blocks of `doc`, leaving out its [`title_record`] (the page's `h1`).
    pub fn build(&mut self, doc: &Document) -> Vec<Block> {
        let mut blocks: Vec<Block> = Vec::new();
        let title = title_record(doc);
        let mut i = 0;
        let recs = &doc.records;
        while i < recs.len() {
            let r = &recs[i];
            if heading_like(r) {
                let text = match r.kind {
                    RecordKind::Faq => r.question.clone().unwrap_or_else(|| r.text.clone()),
                    _ => r.text.lines().next().unwrap_or("").to_string(),
                };
                self.section = text.clone();
                self.images_in_section = 0;
                if title == Some(i) {
                    i += 1;
                    continue;
                }
                let level = self.level(r.level.unwrap_or(2));
                blocks.push(Block::Heading { anchor: anchor(&r.id), level, text, kind: r.kind.as_str().to_string() });
                if r.kind == RecordKind::Faq {
                    if let Some(ans) = r.answer.as_deref().filter(|a| !a.trim().is_empty()) {
                        blocks.push(Block::Paragraph {
                            anchor: format!("{}-a", anchor(&r.id)),
                            inlines: html::inlines_fragment(&inlines(ans, &r.links)),
                            images: self.images(r),
                        });
                    }
                } else if r.kind == RecordKind::Step {
                    let rest: String = r.text.lines().skip(1).collect::<Vec<_>>().join("\n");
                    if !rest.trim().is_empty() || !r.images.is_empty() {
                        blocks.push(Block::Paragraph {
                            anchor: format!("{}-a", anchor(&r.id)),
                            inlines: html::inlines_fragment(&inlines(&rest, &r.links)),
                            images: self.images(r),
                        });
                    }
                }
                i += 1;
                continue;
            }
            match r.kind {
                RecordKind::Requirement | RecordKind::Step | RecordKind::ListItem => {
                    let kind = r.kind;
                    let mut items = Vec::new();
                    while i < recs.len() && recs[i].kind == kind && recs[i].level.is_none() {
                        items.push(self.item(&recs[i]));
                        i += 1;
                    }
                    blocks.push(match kind {
                        RecordKind::Requirement => Block::Checklist { items },
                        RecordKind::Step => Block::Steps { items },
                        _ => Block::List { ordered: items.iter().all(|it| it.number.is_some()), items },
                    });
                    continue;
                }
                RecordKind::TableHeader | RecordKind::TableRow => {
                    let table = r.table;
                    let first = i;
                    let mut rows = Vec::new();
                    let mut header_cells: Vec<String> = Vec::new();
                    let mut has_rules = false;
                    while i < recs.len()
                        && matches!(recs[i].kind, RecordKind::TableHeader | RecordKind::TableRow)
                        && recs[i].table == table
                        && (i == first || recs[i].kind == RecordKind::TableRow)
                    {
                        let rr = &recs[i];
                        if rr.kind == RecordKind::TableHeader {
                            header_cells = if rr.cells.is_empty() {
                                split_header_text(&rr.text)
                            } else {
                                rr.cells
                                    .iter()
                                    .map(|c| if c.header.is_empty() { c.text.clone() } else { c.header.clone() })
                                    .collect()
                            };
                        } else {
                            if header_cells.is_empty() {
                                header_cells = rr.cells.iter().map(|c| c.header.clone()).collect();
                            }
                            let (rules, any) = self.rules_of(rr);
                            has_rules |= any;
                            rows.push(RowView {
                                anchor: anchor(&rr.id),
                                cells: rr
                                    .cells
                                    .iter()
                                    .map(|c| CellView {
                                        lines: html::lines_fragment(c.text.split('\n')),
                                        spanned: c.spanned,
                                        header: c.header.replace('\n', " "),
                                    })
                                    .collect(),
                                rules,
                            });
                        }
                        i += 1;
                    }
                    blocks.push(Block::Table {
                        anchor: anchor(&recs[first].id),
                        headers: merge_headers(&header_cells),
                        rows,
                        has_rules,
                    });
                    continue;
                }
                RecordKind::Note => blocks.push(Block::Note {
                    anchor: anchor(&r.id),
                    note_type: match r.note_type.unwrap_or(NoteType::Quote) {
                        NoteType::Tip => "tip",
                        NoteType::Warning => "warning",
                        NoteType::Quote => "quote",
                    }
                    .to_string(),
                    inlines: html::inlines_fragment(&inlines(&r.text, &r.links)),
                }),
                RecordKind::Image => {
                    let images = self.images(r);
                    blocks.push(Block::Figure { anchor: anchor(&r.id), images });
                }
                RecordKind::Paragraph | RecordKind::Faq => {
                    let images = self.images(r);
                    blocks.push(Block::Paragraph {
                        anchor: anchor(&r.id),
                        inlines: html::inlines_fragment(&inlines(&r.text, &r.links)),
                        images,
                    });
                }
                RecordKind::Code => {
                    blocks.push(Block::Code { anchor: anchor(&r.id), info: r.info.clone(), text: r.text.clone() })
                }
                // The parser gives an HTML block as its text and links; should
                // a record carry markup, it goes through ammonia instead.
                RecordKind::Html if r.text.contains('<') => {
                    let html = clean_html(&r.text);
                    if !html.trim().is_empty() {
                        blocks.push(Block::Html { anchor: anchor(&r.id), html });
                    }
                }
                RecordKind::Html => {
                    if !r.text.trim().is_empty() || !r.images.is_empty() {
                        let images = self.images(r);
                        blocks.push(Block::Paragraph {
                            anchor: anchor(&r.id),
                            inlines: html::inlines_fragment(&inlines(&r.text, &r.links)),
                            images,
                        });
                    }
                }
                RecordKind::Separator => blocks.push(Block::Separator),
                RecordKind::FrontMatter | RecordKind::LinkDefinition | RecordKind::Heading => {}
            }
            i += 1;
        }
        blocks
    }
}

pub(crate) fn heading_like(r: &Record) -> bool {
    r.kind == RecordKind::Heading || (matches!(r.kind, RecordKind::Faq | RecordKind::Step) && r.level.is_some())
}

/// The record that is the document's title, shown as the page's `h1`: the
/// first heading, when its text is the title and every other heading is
/// below it (a title heading among siblings stays a section of its own).
pub fn title_record(doc: &Document) -> Option<usize> {
    let (i, first) = doc.records.iter().enumerate().find(|(_, r)| heading_like(r))?;
    let level = first.level?;
    let only_top = doc.records[i + 1..].iter().filter(|r| heading_like(r)).all(|r| r.level.is_some_and(|l| l > level));
    (first.kind == RecordKind::Heading && first.text.trim() == doc.title.trim() && only_top).then_some(i)
}

/// Removes the item marker from the start of the text when the text repeats it.
fn strip_ordinal(text: &str, ordinal: Option<&str>) -> String {
    match ordinal {
        Some(o) if !o.is_empty() => {
            text.strip_prefix(o).map(|t| t.trim_start().to_string()).unwrap_or_else(|| text.to_string())
        }
        _ => text.to_string(),
    }
}

/// Header texts from a `| a | b |` header line, when the header record has no cells.
fn split_header_text(text: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or("");
    first.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
}

/// Merges runs of equal header texts (a `colspan` header repeated in every
/// column it spans) into one cell.
fn merge_headers(cells: &[String]) -> Vec<HeaderCell> {
    let mut out: Vec<HeaderCell> = Vec::new();
    let mut prev: Option<&String> = None;
    for c in cells {
        if prev == Some(c) && !c.is_empty() {
            out.last_mut().expect("a previous cell").colspan += 1;
        } else {
            out.push(HeaderCell { text: c.replace('\n', " "), lines: html::lines_fragment(c.split('\n')), colspan: 1 });
        }
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_url_safe_and_keep_twins_apart() {
        assert_eq!(anchor("zh/a#1f2e3d"), "r-1f2e3d");
        assert_eq!(anchor("zh/a#1f2e3d~2"), "r-1f2e3d-2");
        assert_eq!(anchor("zh/a#\"><x"), "r-x");
    }

    #[test]
    fn links_are_found_by_text_and_unsafe_ones_stay_text() {
        let links = vec![
            kb_model::Link { text: "规范".into(), url: "https://cloud.tencent.com/x".into() },
            kb_model::Link { text: "点我".into(), url: "javascript:alert(1)".into() },
        ];
        let v = inlines("接受《规范》\n点我", &links);
        assert_eq!(
            v,
            vec![
                Inline::Text { text: "接受《".into() },
                Inline::Link { text: "规范".into(), href: "https://cloud.tencent.com/x".into(), external: true },
                Inline::Text { text: "》".into() },
                Inline::Br,
                Inline::Text { text: "点我".into() },
            ]
        );
    }

    fn heading(doc: &str, n: u32, level: u8, text: &str) -> Record {
        let mut r = Record::new(doc, format!("{doc}.md"), Lang::En, RecordKind::Heading, text, [n, n]);
        r.id = format!("{doc}#{n}");
        r.level = Some(level);
        r
    }

    fn doc(title: &str, records: Vec<Record>) -> Document {
        Document::new("en/d", "en/d.md", Lang::En, title, records)
    }

    #[test]
    fn a_top_heading_is_the_title_but_a_sibling_stays_a_section() {
        let top = doc("T", vec![heading("en/d", 1, 1, "T"), heading("en/d", 2, 2, "A"), heading("en/d", 3, 4, "B")]);
        assert_eq!(title_record(&top), Some(0));
        let rules = HashMap::default();
        let blocks = BlockBuilder::new(Lang::En, &rules).build(&top);
        let levels: Vec<u8> = blocks
            .iter()
            .filter_map(|b| if let Block::Heading { level, .. } = b { Some(*level) } else { None })
            .collect();
        assert_eq!(levels, [2, 3], "levels are consecutive under the h1");
        let siblings = doc("A", vec![heading("en/d", 1, 2, "A"), heading("en/d", 2, 2, "B")]);
        assert_eq!(title_record(&siblings), None);
        assert_eq!(BlockBuilder::new(Lang::En, &rules).build(&siblings).len(), 2);
    }

    #[test]
    fn colspan_headers_are_merged() {
        let h = merge_headers(&["类别".into(), "类别".into(), "详细信息".into()]);
        assert_eq!(h.iter().map(|c| c.colspan).collect::<Vec<_>>(), [2, 1]);
    }
}
