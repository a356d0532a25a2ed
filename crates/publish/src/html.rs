//! The small, numerous pieces of a page written straight to HTML: a run of
//! inlines (text, links, line breaks), lines of a table cell, the images of
//! an item, the rules beside a requirement. A document page holds thousands
//! of them, and calling a template macro for each cost more than the rest of
//! the page; the templates print these fragments as they are.
//!
//! Every string taken from the documents is escaped with
//! [`crate::templates::html_escape`]'s rules, as the templates' autoescape
//! does; URLs are the ones [`crate::sanitize::safe_href`] and
//! [`crate::sanitize::safe_src`] let through. A fragment is a
//! [`minijinja::Value`] marked safe, so a template prints it unescaped.

use minijinja::Value;

use std::fmt::Write;

use kb_model::Lang;

use crate::blocks::{Block, ImageView, Inline, RuleView};
use crate::counterparts::Anchors;
use crate::faq::FaqEntry;
use crate::templates::write_escaped;
use crate::text;

/// `s`, escaped, appended to `out`.
fn esc(out: &mut String, s: &str) {
    write_escaped(out, s).expect("writing to a string cannot fail");
}

/// An optional string as a template prints it: `None` when absent.
fn esc_opt(out: &mut String, s: Option<&str>) {
    esc(out, s.unwrap_or("None"));
}

/// True when a template's `{% if %}` takes the optional string as true.
fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// A finished fragment.
pub fn fragment(html: String) -> Value {
    Value::from_safe_string(html)
}

/// Inlines: text escaped, links as `<a>` (external ones with `rel`), breaks as `<br>`.
pub fn inlines(out: &mut String, items: &[Inline]) {
    for i in items {
        match i {
            Inline::Text { text } => esc(out, text),
            Inline::Link { text, href, external } => {
                out.push_str("<a href=\"");
                esc(out, href);
                out.push('"');
                if *external {
                    out.push_str(" rel=\"noopener noreferrer\"");
                }
                out.push('>');
                esc(out, text);
                out.push_str("</a>");
            }
            Inline::Br => out.push_str("<br>"),
        }
    }
}

/// [`inlines`] as a fragment.
pub fn inlines_fragment(items: &[Inline]) -> Value {
    let mut out = String::new();
    inlines(&mut out, items);
    fragment(out)
}

/// Lines, escaped, separated by `<br>`.
pub fn lines<'a>(out: &mut String, lines: impl IntoIterator<Item = &'a str>) {
    for (i, l) in lines.into_iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        esc(out, l);
    }
}

/// [`lines`] as a fragment.
pub fn lines_fragment<'a>(ls: impl IntoIterator<Item = &'a str>) -> Value {
    let mut out = String::new();
    lines(&mut out, ls);
    fragment(out)
}

/// Images in a `<figure>` (nothing without images): an `<img>` where the
/// URL is safe, else the alt text in a labelled `<span>`.
pub fn images(out: &mut String, imgs: &[ImageView]) {
    if imgs.is_empty() {
        return;
    }
    out.push_str("<figure class=\"figure\">");
    for img in imgs {
        match img.src.as_deref().filter(|s| !s.is_empty()) {
            Some(src) => {
                out.push_str("<img src=\"");
                esc(out, src);
                out.push_str("\" alt=\"");
                esc(out, &img.alt);
                out.push_str("\" loading=\"lazy\" decoding=\"async\" referrerpolicy=\"no-referrer\">");
            }
            None => {
                out.push_str("<span class=\"img-missing\" role=\"img\" aria-label=\"");
                esc(out, &img.alt);
                out.push_str("\">");
                esc(out, &img.alt);
                out.push_str("</span>");
            }
        }
    }
    out.push_str("</figure>");
}

/// [`images`] as a fragment.
pub fn images_fragment(imgs: &[ImageView]) -> Value {
    let mut out = String::new();
    images(&mut out, imgs);
    fragment(out)
}

/// Rules as a list labelled `label` (nothing without rules): subject, operator,
/// value and unit, each with its machine form in an attribute; the kind
/// for a rule without a subject.
pub fn rules(out: &mut String, rules: &[RuleView], label: &str) {
    if rules.is_empty() {
        return;
    }
    out.push_str("<ul class=\"rules\" aria-label=\"");
    esc(out, label);
    out.push_str("\">");
    for r in rules {
        out.push_str("<li><span class=\"rule rule-");
        esc(out, &r.kind);
        out.push_str("\" data-subject=\"");
        esc(out, r.subject.as_deref().unwrap_or(""));
        out.push_str("\" data-rule=\"");
        esc(out, &r.id);
        out.push_str("\">");
        if truthy(&r.subject) {
            out.push_str("<span class=\"rule-subject\" title=\"");
            esc_opt(out, r.subject.as_deref());
            out.push_str("\">");
            esc_opt(out, r.subject_label.as_deref());
            out.push_str("</span> ");
        }
        if truthy(&r.op) {
            out.push_str("<span class=\"rule-op\" title=\"");
            esc_opt(out, r.op.as_deref());
            out.push_str("\">");
            esc_opt(out, r.op_symbol.as_deref());
            out.push_str("</span> ");
        }
        if r.value.is_some() {
            out.push_str("<span class=\"rule-value\" data-value=\"");
            esc_opt(out, r.value.as_deref());
            out.push_str("\">");
            esc_opt(out, r.value_label.as_deref());
            out.push_str("</span>");
        }
        if truthy(&r.unit_label) {
            out.push_str(" <span class=\"rule-unit\" title=\"");
            esc_opt(out, r.unit.as_deref());
            out.push_str("\">");
            esc_opt(out, r.unit_label.as_deref());
            out.push_str("</span>");
        }
        if !truthy(&r.subject) {
            out.push_str("<span class=\"rule-kind\">");
            esc(out, &r.kind_label);
            out.push_str("</span>");
        }
        out.push_str("</span></li>");
    }
    out.push_str("</ul>");
}

/// [`rules`] as a fragment.
pub fn rules_fragment(rs: &[RuleView], label: &str) -> Value {
    let mut out = String::new();
    rules(&mut out, rs, label);
    fragment(out)
}

/// The blocks of a document page, each as the page shows it, one after the
/// other: headings, paragraphs, checklists of requirements with their rules,
/// steps, lists, tables (a rules column when a row has rules), callouts,
/// figures, code, sanitised HTML and separators. `lang` gives the labels.
pub fn blocks(out: &mut String, blocks: &[Block], lang: Lang) {
    blocks_with(out, blocks, lang, None)
}

/// [`blocks`], each element whose id has a counterpart in `cps` carrying
/// it as `data-cp` (where the language switch lands, see [`crate::counterparts`]).
pub fn blocks_with(out: &mut String, blocks: &[Block], lang: Lang, cps: Option<&Anchors>) {
    let label = |name: &str| text::ui_text(lang, name);
    for b in blocks {
        match b {
            Block::Heading { anchor, level, text, kind } => {
                let _ = write!(out, "<h{level} id=\"");
                esc(out, anchor);
                cp_attr(out, cps, anchor);
                out.push_str("\" class=\"h-");
                esc(out, kind);
                out.push_str("\">");
                esc(out, text);
                let _ = writeln!(out, "</h{level}>");
            }
            Block::Paragraph { anchor, inlines, images } => {
                if is_true(inlines) {
                    out.push_str("<p id=\"");
                    esc(out, anchor);
                    cp_attr(out, cps, anchor);
                    out.push_str("\">");
                    safe(out, inlines);
                    out.push_str("</p>");
                }
                safe(out, images);
                out.push('\n');
            }
            Block::Checklist { items } => {
                out.push_str("<ul class=\"checklist\" aria-label=\"");
                esc(out, label("requirements"));
                out.push_str("\">\n");
                for it in items {
                    out.push_str("<li id=\"");
                    esc(out, &it.anchor);
                    cp_attr(out, cps, &it.anchor);
                    out.push_str("\">\n<div class=\"check\"><input type=\"checkbox\" id=\"c-");
                    esc(out, &it.anchor);
                    out.push_str("\"><label for=\"c-");
                    esc(out, &it.anchor);
                    out.push_str("\">");
                    ordinal(out, it.ordinal.as_deref());
                    safe(out, &it.inlines);
                    out.push_str("</label></div>\n");
                    safe(out, &it.rules);
                    out.push('\n');
                    safe(out, &it.images);
                    out.push_str("\n</li>\n");
                }
                out.push_str("</ul>\n");
            }
            Block::Steps { items } => {
                out.push_str("<ol class=\"steps\">\n");
                for it in items {
                    out.push_str("<li id=\"");
                    esc(out, &it.anchor);
                    cp_attr(out, cps, &it.anchor);
                    out.push('"');
                    if let Some(n) = it.number.filter(|n| *n != 0) {
                        let _ = write!(out, " value=\"{n}\"");
                    }
                    out.push('>');
                    ordinal(out, it.ordinal.as_deref());
                    safe(out, &it.inlines);
                    safe(out, &it.images);
                    out.push_str("</li>\n");
                }
                out.push_str("</ol>\n");
            }
            Block::List { ordered, items } => {
                let tag = if *ordered { "ol" } else { "ul" };
                let _ = writeln!(out, "<{tag} class=\"list\">");
                for it in items {
                    out.push_str("<li id=\"");
                    esc(out, &it.anchor);
                    cp_attr(out, cps, &it.anchor);
                    out.push('"');
                    if let Some(n) = it.number.filter(|n| *ordered && *n != 0) {
                        let _ = write!(out, " value=\"{n}\"");
                    }
                    out.push('>');
                    if !*ordered {
                        ordinal(out, it.ordinal.as_deref());
                    }
                    safe(out, &it.inlines);
                    safe(out, &it.rules);
                    safe(out, &it.images);
                    out.push_str("</li>\n");
                }
                let _ = writeln!(out, "</{tag}>");
            }
            Block::Table { anchor, headers, rows, has_rules } => {
                out.push_str("<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"");
                for (i, h) in headers.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" / ");
                    }
                    esc(out, &h.text);
                }
                out.push_str("\">\n<table id=\"");
                esc(out, anchor);
                cp_attr(out, cps, anchor);
                out.push_str("\">\n<thead><tr>");
                for h in headers {
                    out.push_str("<th scope=\"col\"");
                    if h.colspan > 1 {
                        let _ = write!(out, " colspan=\"{}\"", h.colspan);
                    }
                    out.push('>');
                    safe(out, &h.lines);
                    out.push_str("</th>");
                }
                if *has_rules {
                    out.push_str("<th scope=\"col\">");
                    esc(out, label("rule"));
                    out.push_str("</th>");
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr id=\"");
                    esc(out, &row.anchor);
                    cp_attr(out, cps, &row.anchor);
                    out.push_str("\">");
                    for c in &row.cells {
                        out.push_str("<td data-label=\"");
                        esc(out, &c.header);
                        out.push('"');
                        if c.spanned {
                            out.push_str(" class=\"spanned\"");
                        }
                        out.push('>');
                        safe(out, &c.lines);
                        out.push_str("</td>");
                    }
                    if *has_rules {
                        out.push_str("<td data-label=\"");
                        esc(out, label("rule"));
                        out.push_str("\">");
                        safe(out, &row.rules);
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n</div>\n");
            }
            Block::Note { anchor, note_type, inlines } => {
                if note_type == "quote" {
                    out.push_str("<blockquote id=\"");
                    esc(out, anchor);
                    cp_attr(out, cps, anchor);
                    out.push_str("\" class=\"note note-quote\"><p>");
                    safe(out, inlines);
                    out.push_str("</p></blockquote>\n");
                } else {
                    out.push_str("<aside id=\"");
                    esc(out, anchor);
                    cp_attr(out, cps, anchor);
                    out.push_str("\" class=\"note note-");
                    esc(out, note_type);
                    out.push_str("\" role=\"note\"><p class=\"note-label\">");
                    esc(out, label(note_type));
                    out.push_str("</p><p>");
                    safe(out, inlines);
                    out.push_str("</p></aside>\n");
                }
            }
            Block::Figure { anchor, images } => {
                out.push_str("<div id=\"");
                esc(out, anchor);
                cp_attr(out, cps, anchor);
                out.push_str("\">");
                safe(out, images);
                out.push_str("</div>\n");
            }
            Block::Code { anchor, info, text } => {
                out.push_str("<pre id=\"");
                esc(out, anchor);
                cp_attr(out, cps, anchor);
                out.push_str("\"><code");
                if let Some(info) = info.as_deref().filter(|i| !i.is_empty()) {
                    out.push_str(" data-lang=\"");
                    esc(out, info);
                    out.push('"');
                }
                out.push('>');
                esc(out, text);
                out.push_str("</code></pre>\n");
            }
            Block::Html { anchor, html } => {
                out.push_str("<div id=\"");
                esc(out, anchor);
                cp_attr(out, cps, anchor);
                out.push_str("\" class=\"raw-html\">");
                // sanitised by ammonia when the block was made
                out.push_str(html);
                out.push_str("</div>\n");
            }
            Block::Separator => out.push_str("<hr>\n"),
        }
    }
}

/// After `id="…` of the element `anchor`, `" data-cp="…` when it has a
/// counterpart in `cps` (the caller's closing quote ends the attribute).
fn cp_attr(out: &mut String, cps: Option<&Anchors>, anchor: &str) {
    if let Some(cp) = cps.and_then(|c| c.get(anchor)) {
        out.push_str("\" data-cp=\"");
        esc(out, cp);
    }
}

/// One question of a FAQ page and its answer: the question, a badge for a
/// generated one, the answer's paragraphs (and a note when it goes on in
/// the source), the rules behind it, and a link to its source section
/// (`root` leads from the page to the site root).
pub fn faq_entry(out: &mut String, e: &FaqEntry, lang: Lang, root: &str) {
    let label = |name: &str| text::ui_text(lang, name);
    out.push_str("<div class=\"qa");
    if e.generated {
        out.push_str(" qa-generated");
    }
    out.push_str("\" id=\"");
    esc(out, &e.anchor);
    if let Some(cp) = &e.counterpart {
        out.push_str("\" data-cp=\"");
        esc(out, cp);
    }
    out.push_str("\">\n<h3 class=\"question\">");
    esc(out, &e.question);
    out.push_str("</h3>\n");
    if e.generated {
        out.push_str("<p class=\"badge\">");
        esc(out, label("generated"));
        out.push_str("</p>");
    }
    out.push_str("<div class=\"answer\">\n");
    for para in &e.answer {
        out.push_str("<p>");
        safe(out, para);
        out.push_str("</p>\n");
    }
    if e.truncated {
        out.push_str("<p class=\"muted\">… ");
        esc(out, label("more_in_section"));
        out.push_str("</p>");
    }
    safe(out, &e.rules);
    out.push_str("\n</div>\n<p class=\"source\"><a href=\"");
    esc(out, root);
    esc(out, &e.source_href);
    out.push_str("\">");
    esc(out, label("read_section"));
    out.push_str(": ");
    esc(out, &e.source_label);
    out.push_str("</a> <span class=\"loc\">");
    esc(out, &e.source_location);
    out.push_str("</span></p>\n</div>\n");
}

/// [`faq_entry`] as a fragment.
pub fn faq_entry_fragment(e: &FaqEntry, lang: Lang, root: &str) -> Value {
    let mut out = String::with_capacity(512);
    faq_entry(&mut out, e, lang, root);
    fragment(out)
}

/// An item's marker, when it has one, and a space.
fn ordinal(out: &mut String, ordinal: Option<&str>) {
    if let Some(o) = ordinal.filter(|o| !o.is_empty()) {
        out.push_str("<span class=\"ordinal\">");
        esc(out, o);
        out.push_str("</span> ");
    }
}

/// A fragment made by this module, as it is.
fn safe(out: &mut String, fragment: &Value) {
    out.push_str(fragment.as_str().expect("fragments are strings"));
}

/// True for a fragment that is not empty.
fn is_true(fragment: &Value) -> bool {
    fragment.as_str().is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RandomText;

    /// The template macros these fragments replace, as they were.
    const MACROS: &str = r#"{% macro inlines(items) %}{% for i in items %}{% if i.t == "text" %}{{ i.text }}{% elif i.t == "link" %}<a href="{{ i.href }}"{% if i.external %} rel="noopener noreferrer"{% endif %}>{{ i.text }}</a>{% else %}<br>{% endif %}{% endfor %}{% endmacro %}
{% macro lines(ls) %}{% for l in ls %}{% if not loop.first %}<br>{% endif %}{{ l }}{% endfor %}{% endmacro %}
{% macro images(imgs) %}{% if imgs %}<figure class="figure">{% for img in imgs %}{% if img.src %}<img src="{{ img.src }}" alt="{{ img.alt }}" loading="lazy" decoding="async" referrerpolicy="no-referrer">{% else %}<span class="img-missing" role="img" aria-label="{{ img.alt }}">{{ img.alt }}</span>{% endif %}{% endfor %}</figure>{% endif %}{% endmacro %}
{% macro rules(rs, label) %}{% if rs %}<ul class="rules" aria-label="{{ label }}">{% for r in rs %}<li><span class="rule rule-{{ r.kind }}" data-subject="{{ r.subject or '' }}" data-rule="{{ r.id }}">{% if r.subject %}<span class="rule-subject" title="{{ r.subject }}">{{ r.subject_label }}</span> {% endif %}{% if r.op %}<span class="rule-op" title="{{ r.op }}">{{ r.op_symbol }}</span> {% endif %}{% if r.value is not none %}<span class="rule-value" data-value="{{ r.value }}">{{ r.value_label }}</span>{% endif %}{% if r.unit_label %} <span class="rule-unit" title="{{ r.unit }}">{{ r.unit_label }}</span>{% endif %}{% if not r.subject %}<span class="rule-kind">{{ r.kind_label }}</span>{% endif %}</span></li>{% endfor %}</ul>{% endif %}{% endmacro %}
"#;

    fn by_macro(call: &str, ctx: minijinja::Value) -> String {
        let mut env = crate::templates::Templates::new(None).environment();
        env.add_template_owned("m.html", MACROS.to_string()).unwrap();
        env.add_template_owned("t.html", format!("{{% import \"m.html\" as m %}}{{{{ {call} }}}}")).unwrap();
        env.get_template("t.html").unwrap().render(ctx).unwrap()
    }

    fn opt(r: &mut RandomText) -> Option<String> {
        match r.step() % 3 {
            0 => None,
            1 => Some(String::new()),
            _ => {
                let n = r.step() % 6;
                Some(r.string(n))
            }
        }
    }

    #[test]
    fn fragments_are_what_the_template_macros_made() {
        let mut r = RandomText::new("ab<>&\"'/ 注\n", 0x5eed);
        for _ in 0..300 {
            let n = r.step() % 5;
            let items: Vec<Inline> = (0..n)
                .map(|_| match r.step() % 3 {
                    0 => Inline::Text { text: r.string(4) },
                    1 => Inline::Link { text: r.string(3), href: r.string(5), external: r.step().is_multiple_of(2) },
                    _ => Inline::Br,
                })
                .collect();
            let ctx = minijinja::context! { x => minijinja::Value::from(minijinja::value::Serde(&items)) };
            assert_eq!(inlines_fragment(&items).as_str().unwrap(), by_macro("m.inlines(x)", ctx), "{items:?}");

            let ls: Vec<String> = (0..r.step() % 4).map(|_| r.string(3)).collect();
            let ctx = minijinja::context! { x => ls.clone() };
            assert_eq!(lines_fragment(ls.iter().map(String::as_str)).as_str().unwrap(), by_macro("m.lines(x)", ctx));

            let imgs: Vec<ImageView> =
                (0..r.step() % 3).map(|_| ImageView { src: opt(&mut r), alt: r.string(4) }).collect();
            let ctx = minijinja::context! { x => minijinja::Value::from(minijinja::value::Serde(&imgs)) };
            assert_eq!(images_fragment(&imgs).as_str().unwrap(), by_macro("m.images(x)", ctx), "{imgs:?}");

            let rs: Vec<RuleView> = (0..r.step() % 3)
                .map(|_| RuleView {
                    subject: opt(&mut r),
                    subject_label: opt(&mut r),
                    qualifier: opt(&mut r),
                    op: opt(&mut r),
                    op_symbol: opt(&mut r),
                    value: opt(&mut r),
                    value_label: opt(&mut r),
                    unit: opt(&mut r),
                    unit_label: opt(&mut r),
                    kind: r.string(3),
                    kind_label: r.string(3),
                    scope: r.string(3),
                    confidence: 90,
                    id: r.string(4),
                })
                .collect();
            let label = r.string(3);
            let ctx =
                minijinja::context! { x => minijinja::Value::from(minijinja::value::Serde(&rs)), l => label.clone() };
            assert_eq!(rules_fragment(&rs, &label).as_str().unwrap(), by_macro("m.rules(x, l)", ctx), "{rs:?}");
        }
    }

    /// The loop of `document.html` that [`blocks`] replaces, as it was.
    const BLOCK_LOOP: &str = r#"{% for b in blocks %}
{% if b.type == "heading" %}
<h{{ b.level }} id="{{ b.anchor }}" class="h-{{ b.kind }}">{{ b.text }}</h{{ b.level }}>
{% elif b.type == "paragraph" %}
{% if b.inlines %}<p id="{{ b.anchor }}">{{ b.inlines }}</p>{% endif %}
{{ b.images }}
{% elif b.type == "checklist" %}
<ul class="checklist" aria-label="{{ t.requirements }}">
{% for it in b.items %}
<li id="{{ it.anchor }}">
<div class="check"><input type="checkbox" id="c-{{ it.anchor }}"><label for="c-{{ it.anchor }}">{% if it.ordinal %}<span class="ordinal">{{ it.ordinal }}</span> {% endif %}{{ it.inlines }}</label></div>
{{ it.rules }}
{{ it.images }}
</li>
{% endfor %}
</ul>
{% elif b.type == "steps" %}
<ol class="steps">
{% for it in b.items %}
<li id="{{ it.anchor }}"{% if it.number %} value="{{ it.number }}"{% endif %}>{% if it.ordinal %}<span class="ordinal">{{ it.ordinal }}</span> {% endif %}{{ it.inlines }}{{ it.images }}</li>
{% endfor %}
</ol>
{% elif b.type == "list" %}
<{{ "ol" if b.ordered else "ul" }} class="list">
{% for it in b.items %}
<li id="{{ it.anchor }}"{% if b.ordered and it.number %} value="{{ it.number }}"{% endif %}>{% if it.ordinal and not b.ordered %}<span class="ordinal">{{ it.ordinal }}</span> {% endif %}{{ it.inlines }}{{ it.rules }}{{ it.images }}</li>
{% endfor %}
</{{ "ol" if b.ordered else "ul" }}>
{% elif b.type == "table" %}
<div class="table-wrap" tabindex="0" role="region" aria-label="{% for h in b.headers %}{% if not loop.first %} / {% endif %}{{ h.text }}{% endfor %}">
<table id="{{ b.anchor }}">
<thead><tr>{% for h in b.headers %}<th scope="col"{% if h.colspan > 1 %} colspan="{{ h.colspan }}"{% endif %}>{{ h.lines }}</th>{% endfor %}{% if b.has_rules %}<th scope="col">{{ t.rule }}</th>{% endif %}</tr></thead>
<tbody>
{% for row in b.rows %}
<tr id="{{ row.anchor }}">{% for c in row.cells %}<td data-label="{{ c.header }}"{% if c.spanned %} class="spanned"{% endif %}>{{ c.lines }}</td>{% endfor %}{% if b.has_rules %}<td data-label="{{ t.rule }}">{{ row.rules }}</td>{% endif %}</tr>
{% endfor %}
</tbody>
</table>
</div>
{% elif b.type == "note" %}
{% if b.note_type == "quote" %}
<blockquote id="{{ b.anchor }}" class="note note-quote"><p>{{ b.inlines }}</p></blockquote>
{% else %}
<aside id="{{ b.anchor }}" class="note note-{{ b.note_type }}" role="note"><p class="note-label">{{ t[b.note_type] }}</p><p>{{ b.inlines }}</p></aside>
{% endif %}
{% elif b.type == "figure" %}
<div id="{{ b.anchor }}">{{ b.images }}</div>
{% elif b.type == "code" %}
<pre id="{{ b.anchor }}"><code{% if b.info %} data-lang="{{ b.info }}"{% endif %}>{{ b.text }}</code></pre>
{% elif b.type == "html" %}
<div id="{{ b.anchor }}" class="raw-html">{{ b.html | safe }}</div>
{% elif b.type == "separator" %}
<hr>
{% endif %}
{% endfor %}
"#;

    fn random_block(r: &mut RandomText) -> Block {
        let a = |r: &mut RandomText| r.string(3);
        let frag = |r: &mut RandomText| {
            let n = r.step() % 3;
            fragment(if n == 0 { String::new() } else { format!("<b>{}</b>", r.string(n)) })
        };
        let item = |r: &mut RandomText| crate::blocks::Item {
            anchor: a(r),
            ordinal: opt(r),
            number: match r.step() % 3 {
                0 => None,
                1 => Some(0),
                _ => Some((r.step() % 30) as u32),
            },
            inlines: frag(r),
            images: frag(r),
            rules: frag(r),
        };
        match r.step() % 10 {
            0 => Block::Heading { anchor: a(r), level: 2 + (r.step() % 5) as u8, text: a(r), kind: a(r) },
            1 => Block::Paragraph { anchor: a(r), inlines: frag(r), images: frag(r) },
            2 => Block::Checklist { items: (0..r.step() % 3).map(|_| item(r)).collect() },
            3 => Block::Steps { items: (0..r.step() % 3).map(|_| item(r)).collect() },
            4 => {
                Block::List { ordered: r.step().is_multiple_of(2), items: (0..r.step() % 3).map(|_| item(r)).collect() }
            }
            5 => Block::Table {
                anchor: a(r),
                headers: (0..r.step() % 3)
                    .map(|_| crate::blocks::HeaderCell {
                        text: a(r),
                        lines: frag(r),
                        colspan: 1 + (r.step() % 3) as usize,
                    })
                    .collect(),
                rows: (0..r.step() % 3)
                    .map(|_| crate::blocks::RowView {
                        anchor: a(r),
                        cells: (0..r.step() % 3)
                            .map(|_| crate::blocks::CellView {
                                lines: frag(r),
                                spanned: r.step().is_multiple_of(2),
                                header: a(r),
                            })
                            .collect(),
                        rules: frag(r),
                    })
                    .collect(),
                has_rules: r.step().is_multiple_of(2),
            },
            6 => Block::Note {
                anchor: a(r),
                note_type: ["tip", "warning", "quote"][(r.step() % 3) as usize].to_string(),
                inlines: frag(r),
            },
            7 => Block::Figure { anchor: a(r), images: frag(r) },
            8 => Block::Code { anchor: a(r), info: opt(r), text: a(r) },
            _ if r.step().is_multiple_of(2) => Block::Html { anchor: a(r), html: "<em>x</em>".into() },
            _ => Block::Separator,
        }
    }

    #[test]
    fn blocks_are_what_the_document_template_made() {
        let mut r = RandomText::new("ab<>&\"'/ 注\n", 0xb10c);
        for lang in [Lang::Zh, Lang::En] {
            let mut env = crate::templates::Templates::new(None).environment();
            env.add_template("loop.html", BLOCK_LOOP).unwrap();
            let t = env.get_template("loop.html").unwrap();
            for _ in 0..200 {
                let blocks: Vec<Block> = (0..r.step() % 6).map(|_| random_block(&mut r)).collect();
                let ctx = minijinja::context! {
                    blocks => minijinja::Value::from(minijinja::value::Serde(&blocks)),
                    t => minijinja::Value::from(minijinja::value::Serde(text::ui(lang))),
                };
                let mut out = String::new();
                super::blocks(&mut out, &blocks, lang);
                assert_eq!(out, t.render(ctx).unwrap(), "{blocks:?}");
            }
        }
    }

    #[test]
    fn elements_with_a_counterpart_carry_it_escaped() {
        // The loop as it would be with `data-cp` after every record id.
        let mut tpl = BLOCK_LOOP.to_string();
        for x in ["b.anchor", "it.anchor", "row.anchor"] {
            tpl = tpl.replace(
                &format!(r#"id="{{{{ {x} }}}}""#),
                &format!(r#"id="{{{{ {x} }}}}"{{% if {x} in cps %}} data-cp="{{{{ cps[{x}] }}}}"{{% endif %}}"#),
            );
        }
        let mut r = RandomText::new("ab<>&\"'/ 注\n", 0xc0de);
        let mut env = crate::templates::Templates::new(None).environment();
        env.add_template_owned("loop.html", tpl).unwrap();
        let t = env.get_template("loop.html").unwrap();
        let mut with_cp = 0;
        for _ in 0..300 {
            let blocks: Vec<Block> = (0..r.step() % 6).map(|_| random_block(&mut r)).collect();
            let mut anchors = Vec::new();
            for b in &blocks {
                match b {
                    Block::Checklist { items } | Block::Steps { items } | Block::List { items, .. } => {
                        anchors.extend(items.iter().map(|i| i.anchor.clone()))
                    }
                    Block::Table { anchor, rows, .. } => {
                        anchors.push(anchor.clone());
                        anchors.extend(rows.iter().map(|r| r.anchor.clone()));
                    }
                    Block::Heading { anchor, .. }
                    | Block::Paragraph { anchor, .. }
                    | Block::Note { anchor, .. }
                    | Block::Figure { anchor, .. }
                    | Block::Code { anchor, .. }
                    | Block::Html { anchor, .. } => anchors.push(anchor.clone()),
                    Block::Separator => {}
                }
            }
            let mut cps = std::collections::BTreeMap::new();
            for a in anchors {
                if r.step().is_multiple_of(2) {
                    cps.insert(a, r.string(4));
                }
            }
            with_cp += cps.len();
            let ctx = minijinja::context! {
                blocks => minijinja::Value::from(minijinja::value::Serde(&blocks)),
                t => minijinja::Value::from(minijinja::value::Serde(text::ui(Lang::En))),
                cps => cps.clone(),
            };
            let anchors = Anchors(cps.into_iter().collect());
            let mut out = String::new();
            super::blocks_with(&mut out, &blocks, Lang::En, Some(&anchors));
            assert_eq!(out, t.render(ctx).unwrap(), "{blocks:?}");
        }
        assert!(with_cp > 100, "the test gives many elements a counterpart ({with_cp})");
    }

    /// The macro of `faq.html` that [`faq_entry`] replaces, as it was (with
    /// the answer's paragraphs and the rules already fragments).
    const FAQ_ENTRY: &str = r#"{% macro entry(e) %}
<div class="qa{% if e.generated %} qa-generated{% endif %}" id="{{ e.anchor }}"{% if e.counterpart %} data-cp="{{ e.counterpart }}"{% endif %}>
<h3 class="question">{{ e.question }}</h3>
{% if e.generated %}<p class="badge">{{ t.generated }}</p>{% endif %}
<div class="answer">
{% for para in e.answer %}
<p>{{ para }}</p>
{% endfor %}
{% if e.truncated %}<p class="muted">… {{ t.more_in_section }}</p>{% endif %}
{{ e.rules }}
</div>
<p class="source"><a href="{{ root }}{{ e.source_href }}">{{ t.read_section }}: {{ e.source_label }}</a> <span class="loc">{{ e.source_location }}</span></p>
</div>
{% endmacro %}{{ entry(e) }}"#;

    #[test]
    fn faq_entries_are_what_the_faq_template_made() {
        let mut r = RandomText::new("ab<>&\"'/ 注\n", 0xfa9);
        for lang in [Lang::Zh, Lang::En] {
            let mut env = crate::templates::Templates::new(None).environment();
            env.add_template("entry.html", FAQ_ENTRY).unwrap();
            let t = env.get_template("entry.html").unwrap();
            for _ in 0..200 {
                let para = |r: &mut RandomText| fragment(format!("<b>{}</b>", r.string(3)));
                let e = FaqEntry {
                    anchor: r.string(3),
                    question: r.string(5),
                    answer: (0..r.step() % 3).map(|_| para(&mut r)).collect(),
                    answer_text: r.string(4),
                    truncated: r.step().is_multiple_of(2),
                    doc: r.string(3),
                    source_href: r.string(4),
                    source_label: r.string(4),
                    source_location: r.string(4),
                    generated: r.step().is_multiple_of(2),
                    rules: if r.step().is_multiple_of(2) { fragment(String::new()) } else { para(&mut r) },
                    counterpart: if r.step().is_multiple_of(2) { None } else { Some(format!("x{}", r.string(4))) },
                };
                let root = ["", "../", "../../"][(r.step() % 3) as usize];
                let ctx = minijinja::context! {
                    e => minijinja::Value::from(minijinja::value::Serde(&e)),
                    t => minijinja::Value::from(minijinja::value::Serde(text::ui(lang))),
                    root => root,
                };
                assert_eq!(faq_entry_fragment(&e, lang, root).as_str().unwrap(), t.render(ctx).unwrap(), "{e:?}");
            }
        }
    }
}
