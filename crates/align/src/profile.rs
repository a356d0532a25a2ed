//! A document's profile: per-record features, computed once, and the
//! document-wide fingerprint (numbers, links, images, table shapes, heading
//! shape, list lengths, lexicon concepts, length) that document pairing compares.

use kb_model::{Document, Lang, Record, RecordKind};

use crate::features::{url_path, Feats, NumKey};
use crate::lexicon::{Concept, Lexicon, Words};

/// What a record is, for the purpose of pairing: records of different
/// classes are unlikely counterparts (a Chinese "requirement" may well be an
/// English "list_item", but not a table row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Headings and heading-shaped faq records (section starts).
    Heading,
    /// A step written as a heading (`#### 步骤一`): it does not start a
    /// section, since the translation often writes it as a paragraph
    /// (`Step 1.`), and it pairs with headings and items alike.
    StepHeading,
    /// List items, requirements, steps, non-heading faq entries.
    Item,
    /// Paragraphs and notes.
    Prose,
    /// Table header lines.
    TableHeader,
    /// Table rows.
    TableRow,
    /// Images.
    Image,
    /// Code blocks.
    Code,
    /// Raw HTML, separators, link definitions, front matter.
    Other,
}

/// The class of a record.
pub fn class_of(r: &Record) -> Class {
    match r.kind {
        RecordKind::Heading => Class::Heading,
        RecordKind::Faq if r.level.is_some() => Class::Heading,
        RecordKind::Step if r.level.is_some() => Class::StepHeading,
        RecordKind::Faq | RecordKind::Step | RecordKind::Requirement | RecordKind::ListItem => Class::Item,
        RecordKind::Paragraph | RecordKind::Note => Class::Prose,
        RecordKind::TableHeader => Class::TableHeader,
        RecordKind::TableRow => Class::TableRow,
        RecordKind::Image => Class::Image,
        RecordKind::Code => Class::Code,
        RecordKind::Html | RecordKind::Separator | RecordKind::LinkDefinition | RecordKind::FrontMatter => Class::Other,
    }
}

/// What document pairing compares of a document: its fingerprint (numbers,
/// links, images, table shapes, heading shape, list lengths, lexicon
/// concepts, length) — small, and cached between builds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The document id.
    pub id: String,
    /// Its language.
    pub lang: Lang,
    /// All numbers (first key of each), sorted.
    pub numbers: Vec<NumKey>,
    /// All link keys, sorted.
    pub urls: Vec<String>,
    /// Paths of the link keys that have a host, sorted.
    pub url_paths: Vec<String>,
    /// All concepts, sorted (repeats kept).
    pub concepts: Vec<Concept>,
    /// Concepts of the title, sorted, without repeats.
    pub title_concepts: Vec<Concept>,
    /// Image sources, sorted.
    pub images: Vec<String>,
    /// (columns, rows) of each table, in order.
    pub tables: Vec<(usize, usize)>,
    /// Heading levels in order.
    pub headings: Vec<u8>,
    /// Lengths of the runs of list items, in order.
    pub lists: Vec<usize>,
    /// Total length in translation-neutral units.
    pub units: f64,
    /// The path without its language folder or suffix (`blueking-partner-overview`).
    pub rel_key: String,
}

/// A document with everything the aligner needs precomputed.
#[derive(Debug)]
pub struct Profile<'a> {
    /// The document.
    pub doc: &'a Document,
    /// Features of each record, in record order.
    pub feats: Vec<Feats>,
    /// Features of each cell of each table row (empty for other records).
    pub cells: Vec<Vec<Feats>>,
    /// Class of each record.
    pub classes: Vec<Class>,
}

impl<'a> Profile<'a> {
    /// Profiles one document.
    pub fn new(doc: &'a Document, lex: &Lexicon) -> Profile<'a> {
        let mut words = Words::default();
        let feats: Vec<Feats> = doc.records.iter().map(|r| Feats::of_record_with(r, lex, &mut words)).collect();
        let cells = doc
            .records
            .iter()
            .map(|r| r.cells.iter().map(|c| Feats::of_text_with(&c.text, r.lang, lex, &mut words)).collect())
            .collect();
        let classes: Vec<Class> = doc.records.iter().map(class_of).collect();
        Profile { doc, feats, cells, classes }
    }

    /// The document's language.
    pub fn lang(&self) -> Lang {
        self.doc.lang
    }

    /// The document's fingerprint for pairing.
    pub fn summary(&self, lex: &Lexicon) -> Summary {
        let doc = self.doc;
        let mut numbers = Vec::new();
        let mut urls = Vec::new();
        let mut concepts = Vec::new();
        let mut images = Vec::new();
        let mut units = 0.0;
        for f in &self.feats {
            numbers.extend(f.numbers.iter().map(|n| n.keys[0]));
            urls.extend(f.urls.iter().cloned());
            concepts.extend(f.concepts.iter().copied());
            images.extend(f.images.iter().cloned());
            units += f.units;
        }
        numbers.sort_unstable();
        urls.sort();
        concepts.sort_unstable();
        images.sort();
        let mut url_paths: Vec<String> = urls.iter().filter_map(|u| url_path(u).map(str::to_string)).collect();
        url_paths.sort();

        let mut tables: Vec<(u32, usize, usize)> = Vec::new();
        let mut headings = Vec::new();
        let mut lists = Vec::new();
        let mut run = 0usize;
        for (r, c) in doc.records.iter().zip(&self.classes) {
            if *c == Class::TableRow {
                let t = r.table.unwrap_or(0);
                match tables.last_mut() {
                    Some(last) if last.0 == t => {
                        last.1 = last.1.max(r.cells.len());
                        last.2 += 1;
                    }
                    _ => tables.push((t, r.cells.len(), 1)),
                }
            }
            if *c == Class::Heading {
                headings.push(r.level.unwrap_or(1));
            }
            if *c == Class::Item {
                run += 1;
            } else if run > 0 && !matches!(c, Class::Image | Class::Code | Class::Prose) {
                lists.push(run);
                run = 0;
            }
        }
        if run > 0 {
            lists.push(run);
        }
        let mut title_concepts = lex.concepts(&doc.title, doc.lang);
        title_concepts.sort_unstable();
        title_concepts.dedup();
        Summary {
            id: doc.id.clone(),
            lang: doc.lang,
            numbers,
            urls,
            url_paths,
            concepts,
            title_concepts,
            images,
            tables: tables.into_iter().map(|(_, c, r)| (c, r)).collect(),
            headings,
            lists,
            units,
            rel_key: rel_key(&doc.path),
        }
    }
}

/// The document path without language folders (`zh/`, `en-us/`), language
/// suffixes (`.zh.md`, `_en.md`) or extension, lower-cased.
pub fn rel_key(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && Lang::parse(s).is_none()).collect();
    let mut key = segs.join("/").to_ascii_lowercase();
    if let Some(dot) = key.rfind('.') {
        if !key[dot..].contains('/') {
            key.truncate(dot);
        }
    }
    for suffix in [".zh-cn", ".zh_cn", ".zh", ".en", "_zh", "_en", "-zh", "-en"] {
        if let Some(k) = key.strip_suffix(suffix) {
            key = k.to_string();
            break;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rel_key_drops_language_folders_and_suffixes() {
        assert_eq!(rel_key("zh/blueking-partner-overview.md"), "blueking-partner-overview");
        assert_eq!(rel_key("docs/en-US/guide/a.md"), "docs/guide/a");
        assert_eq!(rel_key("guide/a.zh.md"), "guide/a");
        assert_eq!(rel_key("guide/a_en.markdown"), "guide/a");
    }
}
