//! Where the language switch should land: for each section of a document
//! page, the element of the counterpart page it is aligned with.
//!
//! A page carries these as `data-cp` attributes (the counterpart's element
//! id) on the headings of aligned sections (the title, headings, question
//! and step headings), and the site script points the `#lang-switch` link
//! at the counterpart of the section the reader is in
//! (`templates/static/search.js`); FAQ pages do the same for questions
//! ([`Counterparts::records`]). A heading takes its section's pairing when
//! the alignment holds section pairings
//! ([`kb_model::alignment::SectionPair`], including the headings merged
//! into a 2–1 or 1–2 pairing), else its own record pairing
//! ([`kb_model::alignment::RecordPair`]; each record of a 2–1 merge points
//! at the one record it is paired with) — a kb build keeps only the record
//! pairings in memory, and there a heading's pairing is its section's. A
//! counterpart whose record shows no element on its page (front matter,
//! link definitions, separators, empty text) is left out. Other records
//! carry none: a `data-cp` on each of them would grow a 20,000-document
//! site by 2.6 %, for a reader arriving at a record (from a search hit)
//! the switch lands on the counterpart of the record's section.
//!
//! [`Counterparts::new`] indexes the pairings of an alignment by document
//! once; [`Counterparts::of`] gives one document's, and
//! [`Counterparts::hash_into`] feeds what they are made from to a page key
//! without resolving them (cheap enough for every page of every build).

use std::ops::Range;

use kb_model::alignment::Alignment;
use kb_model::{Document, Record, RecordKind};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use crate::blocks::{anchor, heading_like};

/// The pairings of an alignment, by document.
#[derive(Debug, Default)]
pub struct Counterparts<'a> {
    alignment: Option<&'a Alignment>,
    /// Document id → runs of indices into `alignment.records`.
    records: HashMap<&'a str, Vec<Run<'a>>>,
    /// Document id → runs of indices into `alignment.sections` (two-sided pairings only).
    sections: HashMap<&'a str, Vec<Run<'a>>>,
}

/// Consecutive pairings of one document pair, seen from one of them.
#[derive(Debug, Clone)]
struct Run<'a> {
    range: Range<usize>,
    /// The other document.
    other: &'a str,
    /// True when the document is the Chinese side.
    zh: bool,
    /// blake3 of the hash parts of the pairings' record ids ([`Counterparts::hash_into`]).
    digest: [u8; 32],
}

/// The document part of a record id (`zh/a#1f2e` → `zh/a`).
fn doc_of(record_id: &str) -> &str {
    record_id.rsplit_once('#').map_or(record_id, |(d, _)| d)
}

/// Adds the pairings `range` between `zh` and `en` to both documents' runs.
fn add<'a>(map: &mut HashMap<&'a str, Vec<Run<'a>>>, zh: &'a str, en: &'a str, range: Range<usize>, digest: [u8; 32]) {
    for (doc, other, zh) in [(zh, en, true), (en, zh, false)] {
        map.entry(doc).or_default().push(Run { range: range.clone(), other, zh, digest });
    }
}

/// Appends the hash parts of `one` (`-` when absent) and `all`, each length-prefixed, to `buf`.
fn put_ids(buf: &mut Vec<u8>, one: Option<&str>, all: &[String]) {
    for id in std::iter::once(one.map_or("-", tail)).chain(all.iter().map(|x| tail(x))) {
        buf.extend_from_slice(&(id.len() as u32).to_le_bytes());
        buf.extend_from_slice(id.as_bytes());
    }
}

/// The hash part of a record id (`zh/a#1f2e` → `1f2e`).
fn tail(id: &str) -> &str {
    id.rsplit_once('#').map_or(id, |(_, t)| t)
}

/// True when `r` has an element with its [`anchor`] on its document's page
/// (what [`crate::blocks::BlockBuilder`] and the page's `h1` give an id).
pub fn has_element(r: &Record) -> bool {
    match r.kind {
        RecordKind::FrontMatter | RecordKind::LinkDefinition | RecordKind::Separator => false,
        RecordKind::Heading => true,
        RecordKind::Faq | RecordKind::Step if r.level.is_some() => true,
        RecordKind::Paragraph | RecordKind::Faq | RecordKind::Html => !r.text.trim().is_empty(),
        _ => true,
    }
}

impl<'a> Counterparts<'a> {
    /// Indexes the two-sided section and record pairings of `alignment`
    /// (a run of one document pair's record pairings is indexed as a
    /// whole, one-sided pairings inside it included).
    pub fn new(alignment: Option<&'a Alignment>) -> Counterparts<'a> {
        let mut c = Counterparts { alignment, ..Counterparts::default() };
        let Some(a) = alignment else { return c };
        // The pairings of a document pair come one after the other: the
        // map is touched once a run, not once a pairing (a million of
        // them). Runs are found in chunks in parallel, then joined.
        const CHUNK: usize = 1 << 14;
        let chunks: Vec<Vec<(&str, &str, Range<usize>)>> = a
            .records
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(n, chunk)| {
                let mut runs: Vec<(&str, &str, Range<usize>)> = Vec::new();
                for (j, p) in chunk.iter().enumerate() {
                    let (Some(z), Some(e)) = (&p.zh, &p.en) else { continue };
                    let (z, e, i) = (doc_of(z), doc_of(e), n * CHUNK + j);
                    match runs.last_mut() {
                        Some((rz, re, r)) if *rz == z && *re == e => r.end = i + 1,
                        _ => runs.push((z, e, i..i + 1)),
                    }
                }
                runs
            })
            .collect();
        let mut runs: Vec<(&str, &str, Range<usize>)> = Vec::new();
        for run in chunks.into_iter().flatten() {
            match runs.last_mut() {
                Some((z, e, r)) if *z == run.0 && *e == run.1 => r.end = run.2.end,
                _ => runs.push(run),
            }
        }
        let digests: Vec<[u8; 32]> = runs
            .par_iter()
            .map(|(_, _, r)| {
                let mut buf = Vec::with_capacity(r.len() * 40);
                for p in &a.records[r.clone()] {
                    put_ids(&mut buf, p.zh.as_deref(), &p.zh_all);
                    put_ids(&mut buf, p.en.as_deref(), &p.en_all);
                }
                *blake3::hash(&buf).as_bytes()
            })
            .collect();
        for ((z, e, r), digest) in runs.into_iter().zip(digests) {
            add(&mut c.records, z, e, r, digest);
        }
        for (i, s) in a.sections.iter().enumerate() {
            if s.zh_id.is_some() && s.en_id.is_some() {
                let mut buf = Vec::new();
                put_ids(&mut buf, s.zh_id.as_deref(), &s.zh_merged);
                put_ids(&mut buf, s.en_id.as_deref(), &s.en_merged);
                add(&mut c.sections, &s.zh_doc, &s.en_doc, i..i + 1, *blake3::hash(&buf).as_bytes());
            }
        }
        c
    }

    /// The pairings `doc` takes part in with `other`: (its record id, the
    /// counterpart record id), sections first, each in the alignment's order.
    fn pairs<'s>(&'s self, doc: &'s str, other: &'s str) -> impl Iterator<Item = (&'a str, &'a str)> + 's {
        let a = self.alignment;
        let runs = move |m: &'s HashMap<&'a str, Vec<Run<'a>>>| {
            m.get(doc).into_iter().flatten().filter(move |r| r.other == other)
        };
        let sections = runs(&self.sections).flat_map(move |run| {
            run.range.clone().flat_map(move |i| {
                let s = &a.expect("runs come from an alignment").sections[i];
                let (z, e) = (s.zh_id.as_deref().unwrap_or_default(), s.en_id.as_deref().unwrap_or_default());
                let (mine, theirs, merged) = if run.zh { (z, e, &s.zh_merged) } else { (e, z, &s.en_merged) };
                std::iter::once(mine).chain(merged.iter().map(String::as_str)).map(move |m| (m, theirs))
            })
        });
        // A run of record pairings may hold one-sided ones: skipped.
        let records = runs(&self.records).flat_map(move |run| {
            run.range.clone().flat_map(move |i| {
                let p = &a.expect("runs come from an alignment").records[i];
                let sides = match (p.zh.as_deref(), p.en.as_deref()) {
                    (Some(z), Some(e)) if run.zh => Some((z, &p.zh_all, e)),
                    (Some(z), Some(e)) => Some((e, &p.en_all, z)),
                    _ => None,
                };
                sides.into_iter().flat_map(|(mine, all, theirs)| {
                    std::iter::once(mine)
                        .chain(all.iter().map(String::as_str).filter(move |m| *m != mine))
                        .map(move |m| (m, theirs))
                })
            })
        });
        sections.chain(records)
    }

    /// Feeds everything [`Counterparts::of`] and [`Counterparts::records`]
    /// give `doc` (facing `other`) are made from to `put`: a digest of the
    /// hash parts of the ids of their pairings, in order, per run (with the
    /// two documents' content, this determines them). Called for every
    /// page of every build, so the digests are made once, by [`Counterparts::new`].
    pub fn hash_into(&self, doc: &Document, other: &Document, put: &mut dyn FnMut(&[u8])) {
        for (what, m) in [(&b"sections"[..], &self.sections), (&b"records"[..], &self.records)] {
            put(what);
            for run in m.get(doc.id.as_str()).into_iter().flatten().filter(|r| r.other == other.id) {
                put(&run.digest);
            }
        }
    }

    /// `doc`'s records paired with a record of `other`, each with the
    /// record it points at (first pairing first: a heading's section
    /// pairing before its record pairing; a record may come more than once).
    pub fn records<'d>(&self, doc: &'d Document, other: &'d Document) -> Vec<(&'d Record, &'d Record)> {
        if !self.records.contains_key(doc.id.as_str()) && !self.sections.contains_key(doc.id.as_str()) {
            return Vec::new();
        }
        let (theirs, mine) = (crate::faq::records_by_id(other), crate::faq::records_by_id(doc));
        self.pairs(doc.id.as_str(), other.id.as_str())
            .filter_map(|(m, t)| Some((*mine.get(m)?, *theirs.get(t)?)))
            .collect()
    }

    /// `doc`'s sections (heading-like records) that have a counterpart in
    /// `other` with an element on its page: heading anchor → the
    /// counterpart's anchor. A section pairing comes before the heading's
    /// record pairing.
    pub fn of(&self, doc: &Document, other: &Document) -> Anchors {
        let mut out = Anchors::default();
        for (m, t) in self.records(doc, other) {
            if heading_like(m) && has_element(t) {
                out.0.entry(anchor(&m.id)).or_insert_with(|| anchor(&t.id));
            }
        }
        out
    }
}

/// A page's counterpart anchors: element id → the counterpart page's element id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Anchors(pub(crate) HashMap<String, String>);

impl Anchors {
    /// The counterpart anchor of the element `anchor`, if it has one.
    pub fn get(&self, anchor: &str) -> Option<&str> {
        self.0.get(anchor).map(String::as_str)
    }
    /// True when no element has a counterpart.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many elements have a counterpart.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_model::alignment::{RecordPair, SectionPair};
    use kb_model::Lang;

    fn rec(doc: &str, n: u32, kind: RecordKind, text: &str) -> Record {
        let lang = if doc.starts_with("zh") { Lang::Zh } else { Lang::En };
        let mut r = Record::new(doc, format!("{doc}.md"), lang, kind, text, [n, n]);
        r.id = format!("{doc}#{n:04x}");
        r
    }

    fn doc(id: &str, records: Vec<Record>) -> Document {
        let lang = if id.starts_with("zh") { Lang::Zh } else { Lang::En };
        Document::new(id, format!("{id}.md"), lang, "t", records)
    }

    fn rp(zh: &[&str], en: &[&str]) -> RecordPair {
        let all = |v: &[&str]| if v.len() > 1 { v.iter().map(|s| s.to_string()).collect() } else { Vec::new() };
        RecordPair {
            zh: zh.first().map(|s| s.to_string()),
            en: en.first().map(|s| s.to_string()),
            zh_all: all(zh),
            en_all: all(en),
            confidence: 0.9,
            evidence: Vec::new(),
        }
    }

    fn docs() -> (Document, Document) {
        let mut q = rec("zh/a", 6, RecordKind::Faq, "问？");
        q.level = Some(2);
        let z = doc(
            "zh/a",
            vec![
                rec("zh/a", 1, RecordKind::Heading, "一"),
                rec("zh/a", 2, RecordKind::Heading, "一甲"),
                rec("zh/a", 3, RecordKind::Heading, "一乙"),
                rec("zh/a", 4, RecordKind::Heading, "四"),
                rec("zh/a", 5, RecordKind::Heading, "二"),
                q,
                rec("zh/a", 7, RecordKind::Paragraph, "丙"),
            ],
        );
        let mut q = rec("en/a", 6, RecordKind::Faq, "Q?");
        q.level = Some(2);
        let e = doc(
            "en/a",
            vec![
                rec("en/a", 1, RecordKind::Heading, "One"),
                rec("en/a", 2, RecordKind::Heading, "One A and B"),
                rec("en/a", 3, RecordKind::Separator, "---"),
                rec("en/a", 4, RecordKind::Heading, "Two"),
                rec("en/a", 5, RecordKind::Paragraph, "C"),
                q,
            ],
        );
        (z, e)
    }

    #[test]
    fn records_point_at_their_counterparts_both_ways_and_merges_at_the_one() {
        let (z, e) = docs();
        let a = Alignment {
            records: vec![
                rp(&["zh/a#0001"], &["en/a#0001"]),
                rp(&["zh/a#0002", "zh/a#0003"], &["en/a#0002"]),
                rp(&["zh/a#0004"], &["en/a#0003"]),
                rp(&["zh/a#0005"], &[]),
                rp(&["zh/a#0006"], &["en/a#0006"]),
                rp(&["zh/a#0007"], &["en/a#0005"]),
            ],
            ..Alignment::default()
        };
        let c = Counterparts::new(Some(&a));
        let zh = c.of(&z, &e);
        assert_eq!(zh.get("r-0001"), Some("r-0001"));
        assert_eq!(zh.get("r-0002"), Some("r-0002"));
        assert_eq!(zh.get("r-0003"), Some("r-0002"), "both headings of a 2–1 merge");
        assert_eq!(zh.get("r-0004"), None, "separators have no element");
        assert_eq!(zh.get("r-0005"), None, "an unaligned heading has none");
        assert_eq!(zh.get("r-0006"), Some("r-0006"), "a question heading is a section");
        assert_eq!(zh.get("r-0007"), None, "a paragraph is not a section");
        assert_eq!(zh.len(), 4);
        let en = c.of(&e, &z);
        assert_eq!(en.get("r-0002"), Some("r-0002"), "the merged side points at the first heading");
        assert_eq!(en.get("r-0004"), None);
        assert_eq!(en.get("r-0005"), None);
        // FAQ pages take the records themselves.
        let faq: Vec<(&str, &str)> = c
            .records(&z, &e)
            .into_iter()
            .filter(|(m, _)| m.kind == RecordKind::Faq)
            .map(|(m, t)| (m.id.as_str(), t.id.as_str()))
            .collect();
        assert_eq!(faq, [("zh/a#0006", "en/a#0006")]);
        // Another document pair's pairings are not this one's.
        let other = doc("en/b", vec![rec("en/b", 1, RecordKind::Heading, "One")]);
        assert!(c.of(&z, &other).is_empty());
        assert!(Counterparts::new(None).of(&z, &e).is_empty());
    }

    #[test]
    fn a_section_pairing_comes_before_the_heading_record_pairing() {
        let (z, e) = docs();
        let a = Alignment {
            sections: vec![SectionPair {
                zh_doc: "zh/a".into(),
                en_doc: "en/a".into(),
                zh: Some(vec!["二".into()]),
                en: Some(vec!["Two".into()]),
                zh_id: Some("zh/a#0005".into()),
                en_id: Some("en/a#0004".into()),
                zh_merged: vec!["zh/a#0001".into()],
                en_merged: Vec::new(),
                confidence: 0.8,
                evidence: Vec::new(),
            }],
            records: vec![rp(&["zh/a#0001"], &["en/a#0001"])],
            ..Alignment::default()
        };
        let c = Counterparts::new(Some(&a));
        let zh = c.of(&z, &e);
        assert_eq!(zh.get("r-0005"), Some("r-0004"));
        assert_eq!(zh.get("r-0001"), Some("r-0004"), "a merged heading goes to the pairing's heading");
        assert_eq!(c.of(&e, &z).get("r-0004"), Some("r-0005"));
        assert_eq!(c.of(&e, &z).get("r-0001"), Some("r-0001"));
    }

    #[test]
    fn the_hashed_ids_change_when_a_pairing_does() {
        let (z, e) = docs();
        let seen = |a: &Alignment| {
            let mut v: Vec<Vec<u8>> = Vec::new();
            Counterparts::new(Some(a)).hash_into(&z, &e, &mut |s| v.push(s.to_vec()));
            v
        };
        let one = Alignment { records: vec![rp(&["zh/a#0002"], &["en/a#0002"])], ..Alignment::default() };
        let two = Alignment { records: vec![rp(&["zh/a#0003"], &["en/a#0002"])], ..Alignment::default() };
        assert_eq!(seen(&one).len(), 3, "a run's digest");
        assert_ne!(seen(&one), seen(&two));
        assert_eq!(seen(&one), seen(&one.clone()));
        let mut both = one.clone();
        both.records.extend(two.records.clone());
        assert_ne!(seen(&both), seen(&one));
        assert_eq!(seen(&Alignment::default()), [b"sections".to_vec(), b"records".to_vec()]);
    }

    #[test]
    fn runs_found_in_parallel_chunks_are_those_of_one_pass() {
        // More pairings than a chunk, one document pair's run across chunk
        // boundaries, one-sided pairings inside runs.
        let mut records = Vec::new();
        for d in 0..5 {
            for n in 0..9_000 {
                let (z, e) = (format!("zh/d{d}#{n:05}"), format!("en/d{d}#{n:05}"));
                records.push(if n % 7 == 3 || n == 0 { rp(&[&z], &[]) } else { rp(&[&z], &[&e]) });
            }
        }
        let a = Alignment { records, ..Alignment::default() };
        let c = Counterparts::new(Some(&a));
        for d in 0..5 {
            let runs = &c.records[format!("zh/d{d}").as_str()];
            assert_eq!(runs.len(), 1, "{runs:?}");
            assert_eq!(runs[0].range, d * 9_000 + 1..(d + 1) * 9_000, "one run for the pair, across chunks");
        }
    }
}
