//! Markdown → records: the walk over pulldown-cmark's events.
//!
//! pulldown-cmark gives each block event a byte range; a [`LineIndex`] turns
//! ranges into 1-based source lines. Paragraph and list-item text is first
//! cut into *runs*, one per source line, so that what CommonMark reads as one
//! paragraph can be split where a line starts with an item marker (`1、`), or
//! holds only an image. A final pass gives any non-blank line no record
//! claimed (link reference definitions, which pulldown-cmark consumes) a
//! record of its own, so every non-blank line belongs to exactly one record.

use std::collections::HashMap;
use std::ops::Range;

use kb_model::{Cell, Document, Image, Lang, LangSource, Link, NoteType, Record, RecordKind};
use pulldown_cmark::{BlockQuoteKind, CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::classify::{self, Marker};
use crate::corpus::doc_id;
use crate::html;
use crate::lang::detect_lang;
use crate::{Error, Result};

/// Maps byte offsets to 1-based line numbers.
struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> Self {
        // A line ends at LF, CRLF, or (as CommonMark says) a lone CR.
        let b = src.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            b.iter()
                .enumerate()
                .filter(|(i, c)| **c == b'\n' || (**c == b'\r' && b.get(i + 1) != Some(&b'\n')))
                .map(|(i, _)| i + 1),
        );
        if starts.last() == Some(&src.len()) && !src.is_empty() {
            starts.pop();
        }
        LineIndex { src, starts }
    }
    fn count(&self) -> u32 {
        self.starts.len() as u32
    }
    fn line_of(&self, offset: usize) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
    fn line(&self, n: u32) -> &'a str {
        let i = (n - 1) as usize;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.src.len());
        self.src[self.starts[i]..end].trim_end_matches(['\n', '\r'])
    }
    fn is_blank(&self, n: u32) -> bool {
        self.line(n).trim().is_empty()
    }
    fn offset_of_line(&self, n: u32) -> usize {
        self.starts.get((n - 1) as usize).copied().unwrap_or(self.src.len())
    }
    /// First and last line of a byte range, trailing blank lines dropped.
    fn span(&self, r: &Range<usize>) -> [u32; 2] {
        let first = self.line_of(r.start);
        let mut last = self.line_of(r.end.saturating_sub(1).max(r.start));
        while last > first && self.is_blank(last) {
            last -= 1;
        }
        [first, last]
    }
}

/// Text of one source line inside a paragraph or list item.
#[derive(Debug, Clone, Default)]
struct Run {
    line: u32,
    text: String,
    links: Vec<Link>,
    images: Vec<Image>,
}

impl Run {
    fn image_only(&self) -> bool {
        self.text.trim().is_empty() && !self.images.is_empty()
    }
}

/// Cuts inline events into runs, one per source line.
fn inline_runs(events: &[(Event, Range<usize>)], idx: &LineIndex) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut open = false;
    let mut image: Option<(u32, String, String)> = None; // line, src, alt
    let mut link: Option<(String, String)> = None; // url, text
    fn cur<'r>(runs: &'r mut Vec<Run>, open: &mut bool, line: u32) -> &'r mut Run {
        if !*open || runs.last().map(|r| r.line) != Some(line) {
            runs.push(Run { line, ..Run::default() });
            *open = true;
        }
        runs.last_mut().unwrap()
    }
    for (ev, range) in events {
        let line = idx.line_of(range.start);
        match ev {
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                if let Some((_, _, alt)) = image.as_mut() {
                    alt.push_str(t);
                    continue;
                }
                if let Some((_, lt)) = link.as_mut() {
                    lt.push_str(t);
                }
                cur(&mut runs, &mut open, line).text.push_str(t);
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, alt)) = image.as_mut() {
                    alt.push(' ');
                } else {
                    if let Some((_, lt)) = link.as_mut() {
                        lt.push(' ');
                    }
                    open = false;
                }
            }
            Event::InlineHtml(h) | Event::Html(h) => {
                let lower = h.trim().to_ascii_lowercase();
                if lower.starts_with("<br") {
                    cur(&mut runs, &mut open, line).text.push('\n');
                } else if lower.starts_with("<img") {
                    let mut links = Vec::new();
                    let mut imgs = Vec::new();
                    html::html_text(h, &mut links, &mut imgs);
                    cur(&mut runs, &mut open, line).images.extend(imgs);
                }
            }
            Event::TaskListMarker(done) => {
                cur(&mut runs, &mut open, line).text.push_str(if *done { "[x] " } else { "[ ] " });
            }
            Event::FootnoteReference(f) => {
                cur(&mut runs, &mut open, line).text.push_str(&format!("[^{f}]"));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                image = Some((line, dest_url.to_string(), String::new()));
            }
            Event::End(TagEnd::Image) => {
                if let Some((l, src, alt)) = image.take() {
                    cur(&mut runs, &mut open, l).images.push(Image { alt: alt.trim().to_string(), src });
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => link = Some((dest_url.to_string(), String::new())),
            Event::End(TagEnd::Link) => {
                if let Some((url, text)) = link.take() {
                    // The link belongs to the run its text ended in (a link may span lines).
                    let l = Link { text: text.trim().to_string(), url };
                    match runs.last_mut() {
                        Some(r) => r.links.push(l),
                        None => cur(&mut runs, &mut open, line).links.push(l),
                    }
                }
            }
            Event::End(TagEnd::Paragraph) | Event::Start(Tag::Paragraph) => open = false,
            _ => {}
        }
    }
    runs
}

fn join_runs(runs: &[Run]) -> String {
    runs.iter().map(|r| html::normalise_lines(&r.text)).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n")
}

/// What a lead-in paragraph (`…需满足如下条件：`) said about the list after it.
#[derive(Debug, Clone, Copy)]
struct LeadIn {
    requirement: bool,
    procedure: bool,
}

/// A group of runs that becomes one record.
struct Segment {
    runs: Vec<Run>,
    marker: Option<Marker>,
    image: bool,
}

struct DocParser<'a> {
    idx: LineIndex<'a>,
    events: Vec<(Event<'a>, Range<usize>)>,
    doc: String,
    path: String,
    lang: Lang,
    records: Vec<Record>,
    headings: Vec<(u8, String, bool)>, // level, text, is step
    lead_in: Option<LeadIn>,
    last_list: Option<(String, RecordKind)>,
    tables: u32,
    claimed_until: usize,
}

/// Parses one document. `rel_path` is the path relative to the corpus
/// folder (`zh/a.md`); `lang` overrides language detection.
pub fn parse_document(rel_path: &str, text: &str, lang: Option<Lang>) -> Result<Document> {
    if text.trim().is_empty() {
        return Err(Error::invalid(rel_path, 1, "empty document: no text to parse"));
    }
    // The language is decided after parsing, from prose records only (code
    // blocks and HTML are mostly English in either language's documents).
    let (lang, lang_source) = match lang {
        Some(l) => (l, LangSource::Manifest),
        None => (Lang::En, LangSource::Detected),
    };
    let id = doc_id(rel_path);
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    opts.insert(Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS);
    opts.insert(Options::ENABLE_GFM);
    // Not ENABLE_HEADING_ATTRIBUTES: with it pulldown-cmark 0.13 runs a
    // heading on past a lone CR; `{#anchor}` is removed in `heading` instead.
    let events: Vec<_> = Parser::new_ext(text, opts).into_offset_iter().collect();
    let mut p = DocParser {
        idx: LineIndex::new(text),
        events,
        doc: id.clone(),
        path: rel_path.to_string(),
        lang,
        records: Vec::new(),
        headings: Vec::new(),
        lead_in: None,
        last_list: None,
        tables: 0,
        claimed_until: 0,
    };
    let n = p.events.len();
    p.blocks(0, n)?;
    p.fill_gaps();
    p.records.sort_by_key(|r| (r.lines[0], r.lines[1]));
    let lang = if lang_source == LangSource::Detected {
        let prose: Vec<&str> = p
            .records
            .iter()
            .filter(|r| {
                !matches!(
                    r.kind,
                    RecordKind::Code | RecordKind::Html | RecordKind::FrontMatter | RecordKind::LinkDefinition
                )
            })
            .map(|r| r.text.as_str())
            .collect();
        let detected = if prose.is_empty() { detect_lang(text) } else { detect_lang(&prose.join("\n")) };
        for r in &mut p.records {
            r.lang = detected;
        }
        detected
    } else {
        lang
    };
    assign_ids(&mut p.records);
    let front_title =
        p.records.iter().find(|r| r.kind == RecordKind::FrontMatter).and_then(|r| front_matter_title(&r.text));
    let title = front_title
        .or_else(|| p.records.iter().find(|r| r.level.is_some()).map(|r| r.text.clone()))
        .map(|t| t.lines().next().unwrap_or("").to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| id.rsplit('/').next().unwrap_or(&id).to_string());
    Ok(Document {
        id,
        path: rel_path.to_string(),
        lang,
        lang_source,
        title,
        encoding: "UTF-8".to_string(),
        hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
        line_count: p.idx.count(),
        bytes: text.len() as u64,
        records: p.records,
    })
}

/// A heading's text without a trailing `{#anchor .class}` block (pandoc, Docusaurus).
fn strip_heading_attributes(text: &str) -> &str {
    let t = text.trim_end();
    if let Some(open) = t.rfind('{') {
        let attrs = &t[open..];
        if attrs.ends_with('}') && attrs[1..].starts_with(['#', '.']) && !attrs[1..attrs.len() - 1].contains(['{', '}'])
        {
            return t[..open].trim_end();
        }
    }
    t
}

/// The `title:` of YAML (or `title =` of TOML) front matter, unquoted.
fn front_matter_title(front: &str) -> Option<String> {
    front.lines().find_map(|l| {
        let rest = l.strip_prefix("title:").or_else(|| l.strip_prefix("title ="))?;
        let t = rest.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!t.is_empty()).then(|| t.to_string())
    })
}

/// True for tags of blocks (as opposed to inline spans such as links and emphasis).
fn is_block_tag(t: &Tag) -> bool {
    !matches!(
        t,
        Tag::Paragraph
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// Index of the event that closes the block opened at `i`.
fn block_end(events: &[(Event, Range<usize>)], i: usize) -> usize {
    let mut depth = 0i32;
    for (j, (ev, _)) in events.iter().enumerate().skip(i) {
        match ev {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
        if depth == 0 {
            return j;
        }
    }
    events.len() - 1
}

impl<'a> DocParser<'a> {
    fn record(&self, kind: RecordKind, lines: [u32; 2], text: String) -> Record {
        let mut r = Record::new(self.doc.as_str(), self.path.as_str(), self.lang, kind, text, lines);
        r.heading_path = self.headings.iter().map(|h| h.1.clone()).collect();
        r
    }

    fn section_key(&self) -> String {
        self.headings.iter().map(|h| h.1.as_str()).collect::<Vec<_>>().join("\u{1f}")
    }

    /// Walks the sibling blocks in `events[i..end]`.
    fn blocks(&mut self, mut i: usize, end: usize) -> Result<()> {
        while i < end {
            let j = block_end(&self.events, i);
            self.block(i, j)?;
            i = j + 1;
        }
        Ok(())
    }

    /// One block: `events[i]` opens it, `events[j]` closes it (or i == j).
    fn block(&mut self, i: usize, j: usize) -> Result<()> {
        let (ev, range) = self.events[i].clone();
        if range.start < self.claimed_until {
            return Ok(());
        }
        match ev {
            Event::Start(Tag::Heading { level, .. }) => self.heading(i, j, level as u8, &range),
            Event::Start(Tag::Paragraph) => {
                if self.admonition(&range)? {
                    return Ok(());
                }
                let mut runs = inline_runs(&self.events[i + 1..j], &self.idx);
                // A paragraph whose first line holds no text of its own (`[` of a
                // link that spans lines) still starts there.
                let first = self.idx.line_of(range.start);
                if runs.first().is_some_and(|r| r.line > first) {
                    runs.insert(0, Run { line: first, ..Run::default() });
                }
                self.emit_runs(runs, None);
            }
            Event::Start(Tag::List(start)) => self.list(i, j, start)?,
            Event::Start(Tag::BlockQuote(kind)) => self.blockquote(i, j, kind, &range),
            Event::Start(Tag::CodeBlock(kind)) => {
                let code: String = self.events[i + 1..j]
                    .iter()
                    .filter_map(|(e, _)| if let Event::Text(t) = e { Some(t.as_ref()) } else { None })
                    .collect();
                let mut r =
                    self.record(RecordKind::Code, self.idx.span(&range), code.trim_end_matches('\n').to_string());
                if let CodeBlockKind::Fenced(info) = kind {
                    let info = info.trim();
                    if !info.is_empty() {
                        r.info = Some(info.to_string());
                    }
                }
                self.push(r);
            }
            Event::Start(Tag::HtmlBlock) => self.html_block(i, j, &range)?,
            Event::Start(Tag::Table(_)) => self.table(i, j, &range),
            Event::Start(Tag::MetadataBlock(_)) => {
                let text: String = self.events[i + 1..j]
                    .iter()
                    .filter_map(|(e, _)| if let Event::Text(t) = e { Some(t.as_ref()) } else { None })
                    .collect();
                let r = self.record(RecordKind::FrontMatter, self.idx.span(&range), text.trim().to_string());
                self.push(r);
            }
            Event::Rule => {
                let r = self.record(RecordKind::Separator, self.idx.span(&range), String::new());
                self.push(r);
            }
            Event::Html(_) | Event::Text(_) | Event::InlineHtml(_) => {
                // Loose inline content at block level (e.g. inside a tight list item): a paragraph.
                let runs = inline_runs(&self.events[i..=j], &self.idx);
                self.emit_runs(runs, None);
            }
            Event::Start(_) => {
                // Footnote definitions, definition lists, …: their text as a paragraph.
                let runs = inline_runs(&self.events[i + 1..j], &self.idx);
                let text = join_runs(&runs);
                let mut r = self.record(RecordKind::Paragraph, self.idx.span(&range), text);
                for run in runs {
                    r.links.extend(run.links);
                    r.images.extend(run.images);
                }
                self.push(r);
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, r: Record) {
        self.records.push(r);
    }

    fn heading(&mut self, i: usize, j: usize, level: u8, range: &Range<usize>) {
        let runs = inline_runs(&self.events[i + 1..j], &self.idx);
        let text = strip_heading_attributes(&join_runs(&runs).replace('\n', " ")).to_string();
        while self.headings.last().is_some_and(|h| h.0 >= level) {
            self.headings.pop();
        }
        self.lead_in = None;
        let mut lines = self.idx.span(range);
        if self.idx.line(lines[0]).trim_start().starts_with('#') {
            lines[1] = lines[0]; // an ATX heading is one line, whatever its range says
        }
        let mut r = self.record(RecordKind::Heading, lines, text.clone());
        r.level = Some(level);
        let mut is_step = false;
        if classify::is_question(&text) {
            r.kind = RecordKind::Faq;
            r.question = Some(text.clone());
            r.answer = Some(String::new());
        } else if let Some(m) = classify::step_marker(&text) {
            r.kind = RecordKind::Step;
            r.ordinal = Some(m.ordinal);
            r.number = m.number;
            is_step = true;
        }
        for run in runs {
            r.links.extend(run.links);
            r.images.extend(run.images);
        }
        self.push(r);
        self.headings.push((level, text, is_step));
    }

    /// The kind of the items of a list (or `1、` run) that starts here.
    fn context_kind(&self, ordered: bool, start: Option<u64>) -> RecordKind {
        if let Some(li) = self.lead_in {
            return if li.requirement {
                RecordKind::Requirement
            } else if li.procedure && ordered {
                RecordKind::Step
            } else {
                RecordKind::ListItem
            };
        }
        let n = self.headings.len();
        if let Some((_, text, is_step)) = self.headings.last() {
            if classify::announces_requirements(text) {
                return RecordKind::Requirement;
            }
            if ordered && (*is_step || classify::announces_procedure(text)) {
                return RecordKind::Step;
            }
        }
        if n >= 2 && classify::announces_requirements(&self.headings[n - 2].1) {
            return RecordKind::Requirement;
        }
        if start.is_some_and(|s| s > 1) {
            if let Some((key, kind)) = &self.last_list {
                if *key == self.section_key() {
                    return *kind;
                }
            }
        }
        RecordKind::ListItem
    }

    /// Cuts runs into segments and emits a record for each. `item` is the
    /// list item the runs belong to (its kind, ordinal and first line), if any.
    fn emit_runs(&mut self, runs: Vec<Run>, item: Option<(RecordKind, Option<String>, Option<u32>, u32)>) {
        let mut segs: Vec<Segment> = Vec::new();
        for (n, run) in runs.into_iter().enumerate() {
            if run.image_only() {
                segs.push(Segment { runs: vec![run], marker: None, image: true });
                continue;
            }
            let is_item_head = item.is_some() && n == 0;
            let marker = if is_item_head { None } else { classify::item_marker(run.text.trim_start()) };
            match (marker, segs.last_mut()) {
                (Some(m), _) => segs.push(Segment { runs: vec![run], marker: Some(m), image: false }),
                (None, Some(last)) if !last.image => last.runs.push(run),
                (None, _) => segs.push(Segment { runs: vec![run], marker: None, image: false }),
            }
        }
        let mut item = item;
        let mut run_kind: Option<RecordKind> = None;
        for seg in segs {
            let first = seg.runs.iter().map(|r| r.line).min().unwrap_or(1);
            let last = seg.runs.iter().map(|r| r.line).max().unwrap_or(first);
            let mut links = Vec::new();
            let mut images = Vec::new();
            for r in &seg.runs {
                links.extend(r.links.iter().cloned());
                images.extend(r.images.iter().cloned());
            }
            if seg.image {
                let alt = images.iter().map(|i| i.alt.as_str()).filter(|a| !a.is_empty()).collect::<Vec<_>>().join(" ");
                let mut r = self.record(RecordKind::Image, [first, last], alt);
                r.images = images;
                r.links = links;
                self.push(r);
                continue;
            }
            let text = join_runs(&seg.runs);
            if let Some((kind, ordinal, number, item_line)) = item.take() {
                let mut r = self.record(kind, [item_line.min(first), last], text.clone());
                r.ordinal = ordinal;
                r.number = number;
                if let Some(m) = classify::step_marker(&text) {
                    r.kind = RecordKind::Step;
                    r.text = text[m.len..].trim().to_string();
                    r.ordinal = Some(m.ordinal);
                    r.number = m.number;
                }
                r.links = links;
                r.images = images;
                self.push(r);
                continue;
            }
            if let Some(m) = seg.marker {
                let kind = if m.step {
                    RecordKind::Step
                } else {
                    *run_kind.get_or_insert_with(|| self.context_kind(true, m.number.map(u64::from)))
                };
                let body = seg.runs[0].text.trim_start();
                let rest_first = html::normalise_lines(&body[m.len.min(body.len())..]);
                let rest = join_runs(&seg.runs[1..]);
                let text = [rest_first, rest].into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n");
                let mut r = self.record(kind, [first, last], text);
                r.ordinal = Some(m.ordinal);
                r.number = m.number;
                r.links = links;
                r.images = images;
                self.push(r);
                if !m.step {
                    self.last_list = Some((self.section_key(), kind));
                }
                continue;
            }
            // Prose: a FAQ answer, a lead-in, or a paragraph.
            let lead = classify::is_lead_in(&text).then(|| LeadIn {
                requirement: classify::announces_requirements(&text),
                procedure: classify::announces_procedure(&text),
            });
            let append_to_faq = self.records.last().is_some_and(|r| r.kind == RecordKind::Faq && r.lines[1] < first);
            if append_to_faq {
                let faq = self.records.last_mut().unwrap();
                let answer = faq.answer.get_or_insert_with(String::new);
                if !answer.is_empty() {
                    answer.push('\n');
                }
                answer.push_str(&text);
                faq.text = format!("{}\n{}", faq.question.as_deref().unwrap_or(""), answer);
                faq.lines[1] = last;
                faq.links.extend(links);
                faq.images.extend(images);
            } else {
                let mut r = self.record(RecordKind::Paragraph, [first, last], text);
                r.links = links;
                r.images = images;
                self.push(r);
            }
            self.lead_in = lead;
            run_kind = None;
        }
    }

    fn list(&mut self, i: usize, j: usize, start: Option<u64>) -> Result<()> {
        let ordered = start.is_some();
        let kind = self.context_kind(ordered, start);
        let mut k = i + 1;
        while k < j {
            let m = block_end(&self.events, k);
            if let (Event::Start(Tag::Item), range) = &self.events[k] {
                let range = range.clone();
                self.item(k, m, kind, ordered, &range)?;
            }
            k = m + 1;
        }
        self.last_list = Some((self.section_key(), kind));
        Ok(())
    }

    fn item(&mut self, i: usize, j: usize, kind: RecordKind, ordered: bool, range: &Range<usize>) -> Result<()> {
        let item_line = self.idx.line_of(range.start);
        let (ordinal, number) = if ordered {
            let src = &self.idx.src[range.start..range.end];
            let tok: String =
                src.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ')').collect();
            let num = tok.trim_end_matches(['.', ')']).parse().ok();
            (Some(tok), num)
        } else {
            (None, None)
        };
        let mut head = Some((kind, ordinal, number, item_line));
        // Inline content between nested blocks is read in one go, so that
        // spans (links, emphasis) on one line stay in one run.
        let mut inline_from = i + 1;
        let mut k = i + 1;
        while k < j {
            let m = block_end(&self.events, k);
            let nested = match &self.events[k].0 {
                Event::Start(t) => is_block_tag(t),
                Event::Rule => true,
                _ => false,
            };
            if nested {
                let mut runs = inline_runs(&self.events[inline_from..k], &self.idx);
                let nested_line = self.idx.line_of(self.events[k].1.start);
                self.flush_item(&mut runs, &mut head, Some(nested_line));
                self.block(k, m)?;
                inline_from = m + 1;
            }
            k = m + 1;
        }
        let mut runs = inline_runs(&self.events[inline_from..j], &self.idx);
        self.flush_item(&mut runs, &mut head, None);
        Ok(())
    }

    /// Emits the item's text so far; `nested_line` is the first line of the
    /// nested block that follows, if one does.
    fn flush_item(
        &mut self,
        runs: &mut Vec<Run>,
        head: &mut Option<(RecordKind, Option<String>, Option<u32>, u32)>,
        nested_line: Option<u32>,
    ) {
        let taken = std::mem::take(runs);
        if taken.is_empty() {
            if let Some((kind, ordinal, number, line)) = head.take() {
                // A marker with no text of its own before a nested block: keep its line
                // unless the nested block starts on it.
                if !self.idx.is_blank(line) && nested_line != Some(line) {
                    let mut r = self.record(kind, [line, line], String::new());
                    r.ordinal = ordinal;
                    r.number = number;
                    self.push(r);
                }
            }
            return;
        }
        match head.take() {
            Some(h) => self.emit_runs(taken, Some(h)),
            None => self.emit_runs(taken, None),
        }
    }

    fn blockquote(&mut self, i: usize, j: usize, kind: Option<BlockQuoteKind>, range: &Range<usize>) {
        let lines = self.idx.span(range);
        let first = self.idx.line(lines[0]).trim_start().trim_start_matches('>').trim_start();
        let mut runs = inline_runs(&self.events[i + 1..j], &self.idx);
        let note_type = match kind {
            Some(BlockQuoteKind::Warning | BlockQuoteKind::Caution) => NoteType::Warning,
            Some(_) => NoteType::Tip,
            None if first.starts_with('?') || first.starts_with('？') => NoteType::Tip,
            None if first.starts_with('!') || first.starts_with('！') => NoteType::Warning,
            None => NoteType::Quote,
        };
        if kind.is_none() && note_type != NoteType::Quote {
            if let Some(r) = runs.first_mut() {
                let t = r.text.trim_start();
                let t = t.strip_prefix(['?', '？', '!', '！']).unwrap_or(t);
                r.text = t.to_string();
            }
        }
        let mut r = self.record(RecordKind::Note, lines, join_runs(&runs));
        r.note_type = Some(note_type);
        for run in runs {
            r.links.extend(run.links);
            r.images.extend(run.images);
        }
        self.push(r);
        self.lead_in = None;
    }

    /// `:::tip … :::` (Docusaurus-style) admonitions, which CommonMark reads
    /// as paragraphs: claim the lines up to the closing `:::` as one note.
    fn admonition(&mut self, range: &Range<usize>) -> Result<bool> {
        let first = self.idx.line_of(range.start);
        let head = self.idx.line(first).trim();
        let Some(kind) = head.strip_prefix(":::") else { return Ok(false) };
        let kind = kind.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if kind.is_empty() {
            return Ok(false);
        }
        let Some(close) = (first + 1..=self.idx.count()).find(|n| self.idx.line(*n).trim() == ":::") else {
            return Ok(false);
        };
        let inner_start = self.idx.offset_of_line(first + 1);
        let inner_end = self.idx.offset_of_line(close);
        let inner = &self.idx.src[inner_start..inner_end.max(inner_start)];
        let events: Vec<_> = Parser::new_ext(inner, Options::ENABLE_TABLES).into_offset_iter().collect();
        let sub = LineIndex::new(inner);
        let mut texts = Vec::new();
        let mut links = Vec::new();
        let mut images = Vec::new();
        for run in inline_runs(&events, &sub) {
            texts.push(html::normalise_lines(&run.text));
            links.extend(run.links);
            images.extend(run.images);
        }
        let mut r = self.record(
            RecordKind::Note,
            [first, close],
            texts.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n"),
        );
        r.note_type = Some(match kind.as_str() {
            "warning" | "caution" | "danger" | "important" => NoteType::Warning,
            _ => NoteType::Tip,
        });
        r.links = links;
        r.images = images;
        self.push(r);
        self.claimed_until = self.idx.offset_of_line(close + 1);
        Ok(true)
    }

    fn html_block(&mut self, i: usize, j: usize, range: &Range<usize>) -> Result<()> {
        let src = &self.idx.src[range.clone()];
        let trimmed = src.trim_start();
        if trimmed.get(..6).is_some_and(|t| t.eq_ignore_ascii_case("<table")) {
            let start = range.start + (src.len() - trimmed.len());
            return self.html_table(start);
        }
        let raw: String = self.events[i + 1..j]
            .iter()
            .filter_map(|(e, _)| match e {
                Event::Html(t) | Event::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        let mut links = Vec::new();
        let mut images = Vec::new();
        let text = html::html_text(&raw, &mut links, &mut images);
        let kind = if text.is_empty() && !images.is_empty() { RecordKind::Image } else { RecordKind::Html };
        let mut r = self.record(kind, self.idx.span(range), text);
        if kind == RecordKind::Image {
            r.text = images.iter().map(|i| i.alt.as_str()).filter(|a| !a.is_empty()).collect::<Vec<_>>().join(" ");
        }
        r.links = links;
        r.images = images;
        self.push(r);
        Ok(())
    }

    fn html_table(&mut self, start: usize) -> Result<()> {
        let src = self.idx.src;
        let line0 = self.idx.line_of(start);
        let Some(end) = html::table_end(src, start) else {
            return Err(Error::invalid(
                &self.path,
                line0,
                "unterminated HTML table: <table> opened here has no </table>",
            ));
        };
        // Claim through the end of the line holding </table>.
        let end_line = self.idx.line_of(end.saturating_sub(1));
        self.claimed_until = self.idx.offset_of_line(end_line + 1).max(end);
        let tsrc = &src[start..end];
        let rows = html::parse_table(tsrc);
        let starts: Vec<u32> = html::row_starts(tsrc).iter().map(|o| self.idx.line_of(start + o)).collect();
        let distinct = starts.windows(2).all(|w| w[0] < w[1]);
        self.lead_in = None;
        if rows.is_empty()
            || rows.len() != starts.len()
            || !distinct
            || starts.first() != Some(&line0) && starts.is_empty()
        {
            let mut links = Vec::new();
            let mut images = Vec::new();
            let text = html::html_text(tsrc, &mut links, &mut images);
            let mut r = self.record(RecordKind::Html, [line0, end_line], text);
            r.links = links;
            r.images = images;
            self.push(r);
            return Ok(());
        }
        self.tables += 1;
        let table_no = self.tables;
        let header_row = rows[0].header;
        let headers: Vec<String> = if header_row {
            rows[0].cells.iter().map(|c| c.as_ref().map(|c| c.text.clone()).unwrap_or_default()).collect()
        } else {
            Vec::new()
        };
        for (k, row) in rows.iter().enumerate() {
            let first = if k == 0 { line0 } else { starts[k] };
            let mut last = if k + 1 < rows.len() { starts[k + 1] - 1 } else { end_line };
            while last > first && self.idx.is_blank(last) {
                last -= 1;
            }
            let cells: Vec<Cell> = if k == 0 && header_row {
                headers.iter().map(|h| Cell { header: h.clone(), text: h.clone(), spanned: false }).collect()
            } else {
                html::keyed_cells(&headers, row)
            };
            let kind = if k == 0 && header_row { RecordKind::TableHeader } else { RecordKind::TableRow };
            let text = cells.iter().map(|c| c.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" | ");
            let mut r = self.record(kind, [first, last], text);
            r.cells = cells;
            r.table = Some(table_no);
            r.links = row.links.clone();
            r.images = row.images.clone();
            self.push(r);
        }
        Ok(())
    }

    fn table(&mut self, i: usize, j: usize, range: &Range<usize>) {
        self.tables += 1;
        let table_no = self.tables;
        self.lead_in = None;
        let mut headers: Vec<String> = Vec::new();
        let mut header_lines: Option<[u32; 2]> = None;
        let mut pending: Vec<Run> = Vec::new();
        let mut body_start: Option<u32> = None;
        let mut k = i + 1;
        while k < j {
            let m = block_end(&self.events, k);
            let (ev, r) = self.events[k].clone();
            let cells = self.cells(k, m);
            match ev {
                Event::Start(Tag::TableHead) => {
                    headers = cells.iter().map(|(t, _)| t.clone()).collect();
                    header_lines = Some(self.idx.span(&r));
                }
                Event::Start(Tag::TableRow) => {
                    let line = self.idx.line_of(r.start);
                    body_start.get_or_insert(line);
                    if !self.idx.line(line).contains('|') {
                        // A line without pipes continuing the table: GFM reads it as a row,
                        // the author meant prose.
                        pending.extend(inline_runs(&self.events[k + 1..m], &self.idx));
                        k = m + 1;
                        continue;
                    }
                    self.flush_pending(&mut pending);
                    let keyed: Vec<Cell> = cells
                        .iter()
                        .enumerate()
                        .map(|(n, (t, _))| Cell {
                            header: headers.get(n).cloned().unwrap_or_else(|| format!("column {}", n + 1)),
                            text: t.clone(),
                            spanned: false,
                        })
                        .collect();
                    let text =
                        keyed.iter().map(|c| c.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" | ");
                    let mut rec = self.record(RecordKind::TableRow, self.idx.span(&r), text);
                    rec.cells = keyed;
                    rec.table = Some(table_no);
                    for (_, run) in cells {
                        rec.links.extend(run.links);
                        rec.images.extend(run.images);
                    }
                    self.push(rec);
                }
                _ => {}
            }
            k = m + 1;
        }
        // The header record covers the header line and the delimiter line:
        // everything up to the first body row (a real row or a pipe-less line).
        let h = header_lines.unwrap_or_else(|| self.idx.span(range));
        let mut last = body_start.map(|l| l - 1).unwrap_or_else(|| self.idx.span(range)[1]);
        while last > h[0] && self.idx.is_blank(last) {
            last -= 1;
        }
        let text = headers.iter().filter(|t| !t.is_empty()).cloned().collect::<Vec<_>>().join(" | ");
        let mut rec = self.record(RecordKind::TableHeader, [h[0], last.max(h[1])], text);
        rec.cells = headers.iter().map(|t| Cell { header: t.clone(), text: t.clone(), spanned: false }).collect();
        rec.table = Some(table_no);
        self.push(rec);
        self.flush_pending(&mut pending);
    }

    fn flush_pending(&mut self, pending: &mut Vec<Run>) {
        if !pending.is_empty() {
            let runs = std::mem::take(pending);
            self.emit_runs(runs, None);
        }
    }

    /// Texts of the cells of a table head/row opened at `i`, closed at `j`.
    fn cells(&self, i: usize, j: usize) -> Vec<(String, Run)> {
        let mut out = Vec::new();
        let mut k = i + 1;
        while k < j {
            let m = block_end(&self.events, k);
            if matches!(self.events[k].0, Event::Start(Tag::TableCell)) {
                let runs = inline_runs(&self.events[k + 1..m], &self.idx);
                let mut all = Run::default();
                for r in &runs {
                    all.links.extend(r.links.iter().cloned());
                    all.images.extend(r.images.iter().cloned());
                }
                out.push((join_runs(&runs), all));
            }
            k = m + 1;
        }
        out
    }

    /// Gives every non-blank line that no record claims a record of its own.
    fn fill_gaps(&mut self) {
        let n = self.idx.count() as usize;
        let mut covered = vec![false; n + 2];
        for r in &self.records {
            for l in r.lines[0]..=r.lines[1] {
                if let Some(c) = covered.get_mut(l as usize) {
                    *c = true;
                }
            }
        }
        let mut line = 1u32;
        let mut fresh = Vec::new();
        while line as usize <= n {
            if covered[line as usize] || self.idx.is_blank(line) {
                line += 1;
                continue;
            }
            let start = line;
            while (line as usize) <= n && !covered[line as usize] && !self.idx.is_blank(line) {
                line += 1;
            }
            let end = line - 1;
            let texts: Vec<&str> = (start..=end).map(|l| self.idx.line(l).trim()).collect();
            let is_def = |t: &str| t.starts_with('[') && t.contains("]:");
            let mut r = self.record(RecordKind::Paragraph, [start, end], texts.join("\n"));
            r.heading_path = self.heading_path_at(start);
            if texts.iter().all(|t| is_def(t)) {
                r.kind = RecordKind::LinkDefinition;
                r.links = texts
                    .iter()
                    .filter_map(|t| {
                        let (label, url) = t.split_once("]:")?;
                        Some(Link {
                            text: label.trim_start_matches('[').to_string(),
                            url: url.split_whitespace().next().unwrap_or("").trim_matches(['<', '>']).to_string(),
                        })
                    })
                    .collect();
            }
            fresh.push(r);
        }
        self.records.extend(fresh);
    }

    /// The heading path in force at `line` (from the heading records before it).
    fn heading_path_at(&self, line: u32) -> Vec<String> {
        let mut stack: Vec<(u8, String)> = Vec::new();
        let mut heads: Vec<&Record> = self.records.iter().filter(|r| r.level.is_some() && r.lines[0] < line).collect();
        heads.sort_by_key(|r| r.lines[0]);
        for h in heads {
            let level = h.level.unwrap();
            while stack.last().is_some_and(|s| s.0 >= level) {
                stack.pop();
            }
            stack.push((level, h.text.clone()));
        }
        stack.into_iter().map(|s| s.1).collect()
    }
}

/// Gives each record its stable id: a hash of document, heading path, kind,
/// text and link/image targets; identical twins get `~2`, `~3` in source order.
fn assign_ids(records: &mut [Record]) {
    let mut seen: HashMap<String, u32> = HashMap::new();
    for r in records.iter_mut() {
        let path = r.heading_path.join("\u{1e}");
        let targets: String = r
            .links
            .iter()
            .map(|l| l.url.as_str())
            .chain(r.images.iter().map(|i| i.src.as_str()))
            .collect::<Vec<_>>()
            .join("\u{1e}");
        let h = kb_model::short_hash(&[&r.doc, &path, r.kind.as_str(), &r.text, &targets], 12);
        let base = format!("{}#{}", r.doc, h);
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        r.id = if *n == 1 { base } else { format!("{base}~{n}") };
    }
}

/// Checks that every non-blank line of `text` belongs to exactly one record
/// of `doc`, and that no record claims lines outside the text. Returns a
/// description of the first violation.
pub fn check_lossless(text: &str, doc: &Document) -> std::result::Result<(), String> {
    let idx = LineIndex::new(text);
    let n = idx.count();
    let mut owner: Vec<Option<usize>> = vec![None; n as usize + 1];
    for (k, r) in doc.records.iter().enumerate() {
        if r.lines[0] == 0 || r.lines[0] > r.lines[1] || r.lines[1] > n {
            return Err(format!("record {} has lines {:?} outside 1..={n}", r.id, r.lines));
        }
        for l in r.lines[0]..=r.lines[1] {
            if let Some(prev) = owner[l as usize] {
                return Err(format!(
                    "line {l} belongs to two records: {} ({}) and {} ({})",
                    doc.records[prev].id, doc.records[prev].kind, r.id, r.kind
                ));
            }
            owner[l as usize] = Some(k);
        }
    }
    for l in 1..=n {
        if !idx.is_blank(l) && owner[l as usize].is_none() {
            return Err(format!("line {l} belongs to no record: {:?}", idx.line(l)));
        }
    }
    Ok(())
}
