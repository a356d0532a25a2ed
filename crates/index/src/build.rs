//! Building the index folder from records, alignment and rules.

use std::collections::HashMap;
use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::{Lang, Record, RecordKind};
use serde::{Deserialize, Serialize};
use tantivy::{doc, Index, IndexWriter, TantivyDocument};

use crate::schema::{self, Fields};
use crate::{Error, Result, INDEX_FORMAT, META_FILE};

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
    /// The documents, in record order.
    pub documents: Vec<DocEntry>,
}

impl IndexMeta {
    /// Empty counts for an index built from `meta`'s records file.
    pub(crate) fn new(meta: &BuildMeta, aligned: bool, ruled: bool) -> IndexMeta {
        IndexMeta {
            format: INDEX_FORMAT,
            records_fingerprint: meta.records_fingerprint.clone(),
            corpus: meta.corpus.clone(),
            records: 0,
            zh_records: 0,
            en_records: 0,
            with_counterpart: 0,
            with_subject: 0,
            aligned,
            ruled,
            documents: Vec::new(),
        }
    }

    /// Counts one record (records arrive grouped by document).
    pub(crate) fn count(&mut self, r: &Record, with_counterpart: bool, with_subject: bool) {
        self.records += 1;
        match r.lang {
            Lang::Zh => self.zh_records += 1,
            Lang::En => self.en_records += 1,
        }
        self.with_counterpart += usize::from(with_counterpart);
        self.with_subject += usize::from(with_subject);
        if self.documents.last().is_none_or(|d| d.id != r.doc) {
            self.documents.push(DocEntry { id: r.doc.clone(), path: r.path.clone(), lang: r.lang });
        }
    }
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
}

/// How to describe the build in the index folder.
#[derive(Debug, Clone, Default)]
pub struct BuildMeta {
    /// [`crate::fingerprint`] of the records file the index belongs to.
    pub records_fingerprint: String,
    /// The corpus folder, for the "run `kb build`" hint.
    pub corpus: Option<String>,
}

/// The text a record is searched by: its own text, plus for table rows each
/// cell's column header (so a row is found by what its column means), plus
/// a FAQ's question and answer and an image's alt text when the record text
/// does not already hold them.
pub fn indexed_text(r: &Record) -> String {
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
    s
}

/// Counterpart of every paired record id, with the same reading of
/// zh_all / en_all as [`Alignment::counterpart`], but in one pass.
pub(crate) fn counterparts(al: &Alignment) -> HashMap<&str, (&str, f64)> {
    let mut m: HashMap<&str, (&str, f64)> = HashMap::new();
    for p in &al.records {
        let (Some(z), Some(e)) = (&p.zh, &p.en) else {
            continue;
        };
        for id in std::iter::once(z).chain(p.zh_all.iter()) {
            m.entry(id.as_str()).or_insert((e.as_str(), p.confidence));
        }
        for id in std::iter::once(e).chain(p.en_all.iter()) {
            m.entry(id.as_str()).or_insert((z.as_str(), p.confidence));
        }
    }
    m
}

pub(crate) fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

pub(crate) fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { what, path: path.to_path_buf(), source }
}

/// Builds a fresh index in `dir` (created; must not hold an index already)
/// over `records`, storing each record's aligned counterpart (when
/// `alignment` pairs it) and the subjects and scopes of the rules cut from it
/// (when `rules` has any; a rule's subjects also go to its record's
/// counterpart, which says the same thing in the other language).
///
/// Records are added in the order given by one indexing thread, so a rebuild
/// of the same records ranks ties the same way.
pub fn build_index<'a>(
    dir: &Path,
    records: impl IntoIterator<Item = &'a Record>,
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    meta: &BuildMeta,
) -> Result<IndexMeta> {
    std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
    let (schema, f) = schema::schema();
    let index = Index::create_in_dir(dir, schema).map_err(|source| Error::Tantivy {
        what: "creating index in",
        path: dir.to_path_buf(),
        source,
    })?;
    schema::register_index_analyzers(index.tokenizers());
    let mut writer: IndexWriter = index
        .writer_with_num_threads(1, 64 * 1024 * 1024)
        .map_err(|source| Error::Tantivy { what: "opening index writer on", path: dir.to_path_buf(), source })?;

    let cps = alignment.map(counterparts).unwrap_or_default();
    let (subjects, scopes) = crate::update::rule_terms(rules, &cps);

    let mut m = IndexMeta::new(meta, alignment.is_some(), rules.is_some());
    for r in records {
        let d =
            record_doc(&f, r, cps.get(r.id.as_str()).copied(), subjects.get(r.id.as_str()), scopes.get(r.id.as_str()));
        writer.add_document(d).map_err(|source| Error::Tantivy {
            what: "adding a record to",
            path: dir.to_path_buf(),
            source,
        })?;
        m.count(r, cps.contains_key(r.id.as_str()), subjects.contains_key(r.id.as_str()));
    }
    writer.commit().map_err(|source| Error::Tantivy { what: "committing index", path: dir.to_path_buf(), source })?;
    writer.wait_merging_threads().map_err(|source| Error::Tantivy {
        what: "finishing index",
        path: dir.to_path_buf(),
        source,
    })?;

    let json = serde_json::to_vec_pretty(&m).expect("index meta serialises");
    let path = dir.join(META_FILE);
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("renaming into place", &path))?;
    Ok(m)
}

pub(crate) fn record_doc(
    f: &Fields,
    r: &Record,
    counterpart: Option<(&str, f64)>,
    subjects: Option<&Vec<String>>,
    scopes: Option<&Vec<String>>,
) -> TantivyDocument {
    let zh = r.lang == Lang::Zh;
    let mut d = doc!(
        f.id => r.id.as_str(),
        f.doc => r.doc.as_str(),
        f.path => r.path.as_str(),
        f.lang => r.lang.code(),
        f.kind => r.kind.as_str(),
        f.text(zh) => indexed_text(r),
        f.record => serde_json::to_string(r).expect("records serialise"),
    );
    if !r.heading_path.is_empty() {
        d.add_text(if zh { f.heading_zh } else { f.heading_en }, r.heading_path.join("\n"));
    }
    if let Some((id, conf)) = counterpart {
        d.add_text(f.counterpart, id);
        d.add_f64(f.confidence, conf);
    }
    for s in subjects.into_iter().flatten() {
        d.add_text(f.subject, s);
        d.add_text(f.subject_words, s);
    }
    for s in scopes.into_iter().flatten() {
        d.add_text(f.scope, s);
    }
    d
}
