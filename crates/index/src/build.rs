//! Building the index folder from records, alignment and rules.

use std::borrow::Cow;
use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::{Lang, Record, RecordKind};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tantivy::TantivyDocument;

use crate::keys::{DocIndex, Facts};
use crate::schema::Fields;
use crate::update::{index_documents, DocIn, Target};
use crate::{Error, Result, INDEX_FORMAT};

/// What the build records about itself in `index/kb-index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// Index layout version; an index of another version must be rebuilt.
    pub format: u32,
    /// [`crate::fingerprint`] of the `records.jsonl` the index was built from.
    pub records_fingerprint: String,
    /// The corpus folder the build read, as given to `kb build`.
    #[serde(default)]
    pub corpus: Option<String>,
    /// Number of records indexed.
    pub records: usize,
    /// Records indexed per language.
    pub zh_records: usize,
    /// Records indexed per language.
    pub en_records: usize,
    /// Records with an aligned counterpart stored.
    pub with_counterpart: usize,
    /// Records carrying at least one rule subject.
    pub with_subject: usize,
    /// True when the build had an alignment.
    pub aligned: bool,
    /// True when the build had rules.
    pub ruled: bool,
    /// The records file the index reads its records from, relative to the
    /// index folder (`../records.jsonl` in a build output folder).
    pub records_file: String,
    /// The documents, in record order.
    pub documents: Vec<DocEntry>,
    /// Field name → the sum of the field's length over the live records (as
    /// tantivy keeps it per record, for scoring): the BM25 statistics a
    /// search uses, the same for an updated index as for a fresh one (see
    /// `stats.rs`). Empty in a description written before kb kept it; a
    /// search then works the sums out itself.
    #[serde(default)]
    pub field_tokens: std::collections::BTreeMap<String, u64>,
}

impl IndexMeta {
    /// Empty counts for an index built from `meta`'s records file.
    pub(crate) fn new(meta: &BuildMeta, aligned: bool, ruled: bool, records_file: String) -> IndexMeta {
        IndexMeta {
            format: INDEX_FORMAT,
            records_fingerprint: meta.records_fingerprint.clone(),
            corpus: meta.corpus.clone(),
            records_file,
            records: 0,
            zh_records: 0,
            en_records: 0,
            with_counterpart: 0,
            with_subject: 0,
            aligned,
            ruled,
            documents: Vec::new(),
            field_tokens: Default::default(),
        }
    }

    /// Counts one document.
    pub(crate) fn count(&mut self, entry: DocEntry, s: &DocStats) {
        self.records += s.records;
        match entry.lang {
            Lang::Zh => self.zh_records += s.records,
            Lang::En => self.en_records += s.records,
        }
        self.with_counterpart += s.with_counterpart;
        self.with_subject += s.with_subject;
        self.documents.push(entry);
    }
}

/// Per-document counts, for [`IndexMeta`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DocStats {
    pub records: usize,
    pub with_counterpart: usize,
    pub with_subject: usize,
}

/// One indexed document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocEntry {
    /// Document id.
    pub id: String,
    /// Source path.
    pub path: String,
    /// Language.
    pub lang: Lang,
    /// Byte offset of its first record's line in the records file.
    pub offset: u64,
    /// Number of records (lines).
    pub records: usize,
}

/// How to describe the build in the index folder.
#[derive(Debug, Clone, Default)]
pub struct BuildMeta {
    /// [`crate::fingerprint`] of the records file the index belongs to
    /// (for [`build_index`]; [`crate::update_index`] reads the records file
    /// and takes its fingerprint itself).
    pub records_fingerprint: String,
    /// The corpus folder, for the "run `kb build`" hint.
    pub corpus: Option<String>,
}

/// The text a record is searched by: its own text, plus for table rows each
/// cell's column header (so a row is found by what its column means), plus
/// a FAQ's question and answer and an image's alt text when the record text
/// does not already hold them.
pub fn indexed_text(r: &Record) -> String {
    indexed_text_cow(r).into_owned()
}

/// [`indexed_text`], borrowing the record's text when nothing is added to it.
pub(crate) fn indexed_text_cow(r: &Record) -> Cow<'_, str> {
    let has_extra = match r.kind {
        RecordKind::TableRow => !r.cells.is_empty(),
        RecordKind::Faq => r.question.is_some() || r.answer.is_some(),
        _ => false,
    };
    if !has_extra && r.images.is_empty() {
        return Cow::Borrowed(&r.text);
    }
    let mut s = r.text.clone();
    let mut add = |extra: &str| {
        let extra = extra.trim();
        if !extra.is_empty() && !s.contains(extra) {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(extra);
        }
    };
    match r.kind {
        RecordKind::TableRow => {
            let mut headers: Vec<&str> = Vec::new();
            for c in &r.cells {
                if !c.header.trim().is_empty() && !headers.contains(&c.header.as_str()) {
                    headers.push(&c.header);
                }
            }
            for c in &r.cells {
                add(&c.text);
            }
            for h in headers {
                add(h);
            }
        }
        RecordKind::Faq => {
            if let Some(q) = &r.question {
                add(q);
            }
            if let Some(a) = &r.answer {
                add(a);
            }
        }
        _ => {}
    }
    for im in &r.images {
        add(&im.alt);
    }
    Cow::Owned(s)
}

/// What the index adds to one record.
#[derive(Debug, Default, Clone)]
pub(crate) struct RecAttrs<'a> {
    /// The aligned counterpart's id and the pairing's confidence.
    pub counterpart: Option<(&'a str, f64)>,
    /// Subjects of the rules cut from the record or its counterpart.
    pub subjects: Vec<&'a str>,
    /// Scopes of those rules.
    pub scopes: Vec<&'a str>,
}

/// What the index adds to each record of each document: its aligned
/// counterpart (id and confidence), and the subjects and scopes of the rules
/// cut from it or from its counterpart.
///
/// Kept per document (record id → [`RecAttrs`], by the document's ordinal),
/// so that looking a record up touches only its own document's small table:
/// the alignment and the rules come grouped by document, and so do the
/// records, so every pass walks memory nearly in order.
#[derive(Default)]
pub(crate) struct Attrs<'a> {
    docs: Vec<FxHashMap<&'a str, RecAttrs<'a>>>,
}

impl<'a> Attrs<'a> {
    /// The counterparts of every paired record of `docs`, with the same
    /// reading of zh_all / en_all as [`Alignment::counterpart`] (the first
    /// pairing of a record wins), and the rule subjects and scopes of every
    /// record. A record is known by its id, `{document id}#…`. With `want`,
    /// only the records of the documents it marks are looked at, and only the
    /// pairings and rules that [`Facts`] found for them (the documents paired
    /// with a marked one must be marked too: a rule's subject reaches its
    /// record's counterpart).
    pub fn new(
        ix: &DocIndex<'_>,
        n: usize,
        alignment: Option<&'a Alignment>,
        rules: Option<&'a RuleSet>,
        want: Option<(&[bool], &Facts)>,
    ) -> Attrs<'a> {
        let mut a = Attrs { docs: (0..n).map(|_| FxHashMap::default()).collect() };
        let wanted = |d: usize| want.is_none_or(|(w, _)| w[d]);
        // Which pairings and rules to read: all, or those of the wanted documents, in order.
        let some = |lists: &dyn Fn(&Facts) -> &Vec<Vec<u32>>| -> Option<Vec<u32>> {
            let (w, facts) = want?;
            let mut v: Vec<u32> =
                lists(facts).iter().enumerate().filter(|(d, _)| w[*d]).flat_map(|(_, l)| l.iter().copied()).collect();
            v.sort_unstable();
            v.dedup();
            Some(v)
        };
        let all_pairs = alignment.map_or(&[][..], |al| &al.records[..]);
        let pairs: Box<dyn Iterator<Item = &'a kb_model::alignment::RecordPair>> = match some(&|f| &f.pairs) {
            Some(ks) => Box::new(ks.into_iter().filter_map(move |k| all_pairs.get(k as usize))),
            None => Box::new(all_pairs.iter()),
        };
        let (mut zh_doc, mut en_doc) = (ix.cached(), ix.cached());
        for p in pairs {
            let (Some(z), Some(e)) = (&p.zh, &p.en) else {
                continue;
            };
            for (side, ids, other) in
                [(0, std::iter::once(z).chain(&p.zh_all), e), (1, std::iter::once(e).chain(&p.en_all), z)]
            {
                let own = if side == 0 { &mut zh_doc } else { &mut en_doc };
                for id in ids {
                    let Some(d) = own.get(id).filter(|&d| wanted(d)) else {
                        continue;
                    };
                    let r = a.docs[d].entry(id.as_str()).or_default();
                    if r.counterpart.is_none() {
                        r.counterpart = Some((other.as_str(), p.confidence));
                    }
                }
            }
        }
        let all_rules = rules.map_or(&[][..], |rs| &rs.rules[..]);
        let rules: Box<dyn Iterator<Item = &'a kb_model::rules::Rule>> = match some(&|f| &f.rules) {
            Some(ks) => Box::new(ks.into_iter().filter_map(move |k| all_rules.get(k as usize))),
            None => Box::new(all_rules.iter()),
        };
        let (mut rec_doc, mut cp_doc) = (ix.cached(), ix.cached());
        for rule in rules {
            let rec = rule.source.record.as_str();
            let Some(d) = rec_doc.get(rec).filter(|&d| wanted(d)) else {
                continue;
            };
            let scope = Some(rule.scope.as_str()).filter(|s| !s.trim().is_empty());
            let cp = a.docs[d].get(rec).and_then(|r| r.counterpart).map(|(c, _)| c);
            let cp = cp.and_then(|c| Some((c, cp_doc.get(c).filter(|&d| wanted(d))?)));
            for (id, d) in std::iter::once((rec, d)).chain(cp) {
                let r = a.docs[d].entry(id).or_default();
                if let Some(s) = &rule.subject {
                    push_unique(&mut r.subjects, s);
                }
                if let Some(s) = scope {
                    push_unique(&mut r.scopes, s);
                }
            }
        }
        a
    }

    /// What is added to a record of the document with ordinal `doc`.
    pub fn get(&self, doc: usize, id: &str) -> Option<&RecAttrs<'a>> {
        self.docs[doc].get(id)
    }
}

fn push_unique<'a>(v: &mut Vec<&'a str>, s: &'a str) {
    if !v.contains(&s) {
        v.push(s);
    }
}

pub(crate) fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_path_buf(), source }
}

/// The name of the records file [`build_index`] writes into its index folder.
const OWN_RECORDS: &str = "records.jsonl";

/// Builds a fresh, self-contained index in `dir` (created; must not hold an
/// index already) over `records`, storing each record's aligned counterpart
/// (when `alignment` pairs it) and the subjects and scopes of the rules cut
/// from it (when `rules` has any; a rule's subjects also go to its record's
/// counterpart, which says the same thing in the other language).
///
/// The records are written, one JSON object a line, to `records.jsonl` in
/// `dir`, and read from there by searches. (`kb build` uses
/// [`crate::update_index`] instead, which reads the build's own
/// `records.jsonl`.) Records of one document must come together.
///
/// Records that score the same rank in the order given, however the index
/// was built.
pub fn build_index<'a>(
    dir: &Path,
    records: impl IntoIterator<Item = &'a Record>,
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    meta: &BuildMeta,
) -> Result<IndexMeta> {
    std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
    let file = dir.join(OWN_RECORDS);
    let mut docs: Vec<DocIn<'_>> = Vec::new();
    {
        let f = std::fs::File::create(&file).map_err(io("writing", &file))?;
        let mut w = std::io::BufWriter::new(f);
        for r in records {
            serde_json::to_writer(&mut w, r).expect("records serialise");
            std::io::Write::write_all(&mut w, b"\n").map_err(io("writing", &file))?;
            match docs.last_mut() {
                Some(d) if d.id == r.doc => d.records.push(r),
                _ => docs.push(DocIn { id: &r.doc, path: &r.path, lang: r.lang, hash: "", records: vec![r] }),
            }
        }
        std::io::Write::flush(&mut w).map_err(io("writing", &file))?;
    }
    let target = Target { dir, records_file: &file, layout: None, records_ref: OWN_RECORDS.to_string(), meta };
    let done = index_documents(&target, &docs, alignment, rules, None)?;
    Ok(done.meta)
}

/// The tantivy document of one record.
pub(crate) struct RecordDoc<'a, 'r> {
    pub f: &'a Fields,
    /// What is added to it.
    pub attrs: Option<&'a RecAttrs<'r>>,
    /// The record's ordinal in its document (ties rank by the document's
    /// place in the build, then by this).
    pub ord: u64,
    /// Where its line is, from its document's first line.
    pub line_at: u64,
    /// Its line's length.
    pub line_len: u64,
}

impl RecordDoc<'_, '_> {
    pub fn build(&self, r: &Record, heading: &mut String) -> TantivyDocument {
        let f = self.f;
        let zh = r.lang == Lang::Zh;
        let text = indexed_text_cow(r);
        heading.clear();
        for (i, h) in r.heading_path.iter().enumerate() {
            if i > 0 {
                heading.push('\n');
            }
            heading.push_str(h);
        }
        let a = self.attrs;
        let cp = a.and_then(|a| a.counterpart);
        let subjects = a.map(|a| a.subjects.as_slice()).unwrap_or_default();
        let scopes = a.map(|a| a.scopes.as_slice()).unwrap_or_default();
        let extra: usize = subjects.iter().map(|s| 2 * s.len()).sum::<usize>()
            + scopes.iter().map(|s| s.len()).sum::<usize>()
            + cp.map_or(0, |(c, _)| c.len() + 8);
        let size = r.id.len() + r.doc.len() + r.path.len() + text.len() + heading.len() + extra + 96;
        let mut d = TantivyDocument::with_capacity(size);
        d.add_text(f.id, &r.id);
        d.add_text(f.doc, &r.doc);
        d.add_text(f.path, &r.path);
        d.add_text(f.lang, r.lang.code());
        d.add_text(f.kind, r.kind.as_str());
        d.add_text(f.text(zh), &*text);
        if !heading.is_empty() {
            d.add_text(if zh { f.heading_zh } else { f.heading_en }, &*heading);
        }
        if let Some((id, conf)) = cp {
            d.add_text(f.counterpart, id);
            d.add_f64(f.confidence, conf);
        }
        for s in subjects {
            d.add_text(f.subject, s);
            d.add_text(f.subject_words, s);
        }
        for s in scopes {
            d.add_text(f.scope, s);
        }
        d.add_u64(f.line_at, self.line_at);
        d.add_u64(f.line_len, self.line_len);
        d.add_u64(f.ord, self.ord);
        d
    }
}
