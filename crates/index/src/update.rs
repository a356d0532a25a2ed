//! Incremental index builds: start from the previous build's index and
//! delete and re-add only the records of the documents whose indexed form
//! changed.
//!
//! tantivy's segment files are never modified once written, so the previous
//! index's files are hard-linked (or copied) into the new index folder, the
//! index is opened there, and deletes and adds land in new segment files and
//! a rewritten `meta.json`; the previous folder is left as it was.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::{Document, Record};
use tantivy::{Index, IndexWriter, Term};

use crate::build::{counterparts, io, push_unique, record_doc, BuildMeta, IndexMeta};
use crate::schema::{self, Fields};
use crate::{Error, Result, INDEX_FORMAT, META_FILE};

/// What an incremental index build may start from.
#[derive(Debug, Clone)]
pub struct IndexReuse<'a> {
    /// The previous build's index folder.
    pub dir: &'a Path,
    /// Document id → its key in the previous build ([`Updated::keys`]).
    pub keys: &'a BTreeMap<String, String>,
}

/// What [`update_index`] did.
#[derive(Debug, Clone)]
pub struct Updated {
    /// The index description, as [`crate::build_index`] would write it.
    pub meta: IndexMeta,
    /// Document id → the fingerprint of its indexed form, for the next build.
    pub keys: BTreeMap<String, String>,
    /// Documents whose records were (re-)added.
    pub added_documents: usize,
    /// Documents whose records were deleted (changed or removed ones).
    pub deleted_documents: usize,
    /// True when the previous index was reused at all.
    pub reused: bool,
}

/// Record id → the subjects and the scopes of the rules cut from it (and,
/// through the alignment, from its counterpart).
pub(crate) type RuleTerms<'a> = (HashMap<&'a str, Vec<String>>, HashMap<&'a str, Vec<String>>);

/// The subjects and scopes each record is indexed with.
pub(crate) fn rule_terms<'a>(rules: Option<&'a RuleSet>, cps: &HashMap<&'a str, (&'a str, f64)>) -> RuleTerms<'a> {
    let mut subjects: HashMap<&str, Vec<String>> = HashMap::new();
    let mut scopes: HashMap<&str, Vec<String>> = HashMap::new();
    if let Some(rs) = rules {
        for rule in &rs.rules {
            let rec = rule.source.record.as_str();
            let ids = std::iter::once(rec).chain(cps.get(rec).map(|(c, _)| *c));
            for id in ids {
                if let Some(s) = &rule.subject {
                    push_unique(subjects.entry(id).or_default(), s);
                }
                if !rule.scope.trim().is_empty() {
                    push_unique(scopes.entry(id).or_default(), &rule.scope);
                }
            }
        }
    }
    (subjects, scopes)
}

/// The fingerprint of a document's indexed form: its bytes (the records are
/// what parsing them gives), and per record its counterpart, subjects and
/// scopes.
fn doc_key(d: &Document, cps: &HashMap<&str, (&str, f64)>, (subjects, scopes): &RuleTerms<'_>) -> String {
    let mut h = blake3::Hasher::new();
    let mut put = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(concat!("kb-index document ", env!("CARGO_PKG_VERSION")));
    put(&INDEX_FORMAT.to_string());
    put(&d.id);
    put(&d.path);
    put(d.lang.code());
    put(&d.hash);
    for r in &d.records {
        put(&r.id);
        if let Some((c, conf)) = cps.get(r.id.as_str()) {
            put(c);
            put(&conf.to_bits().to_string());
        }
        for s in subjects.get(r.id.as_str()).into_iter().flatten() {
            put("subject");
            put(s);
        }
        for s in scopes.get(r.id.as_str()).into_iter().flatten() {
            put("scope");
            put(s);
        }
    }
    h.finalize().to_hex().to_string()
}

/// Links (or copies) every file of the previous index folder into `dir`,
/// except tantivy's lock files and the kb description.
fn link_previous(prev: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
    let entries = std::fs::read_dir(prev).map_err(io("reading the previous index", prev))?;
    for e in entries {
        let e = e.map_err(io("reading the previous index", prev))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".lock") || name == META_FILE || !e.path().is_file() {
            continue;
        }
        let to = dir.join(&*name);
        if std::fs::hard_link(e.path(), &to).is_err() {
            std::fs::copy(e.path(), &to).map_err(io("copying the previous index file to", &to))?;
        }
    }
    Ok(())
}

/// Builds the index of `docs` in `dir` (which must not exist yet or be
/// empty), like [`crate::build_index`] over all their records, but starting
/// from `reuse`'s previous index when given: only the documents whose key
/// changed, appeared or disappeared have their records deleted (by the
/// `doc` field) and added again. Without `reuse`, or when the previous index
/// cannot be opened, the index is built from scratch.
///
/// The same queries find the same records either way; only the order of
/// ties among equally scored hits, and tantivy's files, may differ.
pub fn update_index(
    dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    meta: &BuildMeta,
    reuse: Option<&IndexReuse<'_>>,
) -> Result<Updated> {
    let cps = alignment.map(counterparts).unwrap_or_default();
    let terms = rule_terms(rules, &cps);
    let keys: BTreeMap<String, String> = docs.iter().map(|d| (d.id.clone(), doc_key(d, &cps, &terms))).collect();

    let tantivy_err = |what: &'static str| move |source| Error::Tantivy { what, path: dir.to_path_buf(), source };
    let opened = match reuse {
        Some(r) if r.dir.join("meta.json").is_file() => {
            link_previous(r.dir, dir)?;
            match Index::open_in_dir(dir) {
                Ok(index) if Fields::from_schema(&index.schema()).is_some() => Some((index, r.keys)),
                _ => {
                    // Not an index of this layout: start over in an empty folder.
                    std::fs::remove_dir_all(dir).map_err(io("clearing index folder", dir))?;
                    None
                }
            }
        }
        _ => None,
    };
    let reused = opened.is_some();
    let (index, prev_keys) = match opened {
        Some((index, k)) => (index, Some(k)),
        None => {
            std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
            let (schema, _) = schema::schema();
            (Index::create_in_dir(dir, schema).map_err(tantivy_err("creating index in"))?, None)
        }
    };
    schema::register_index_analyzers(index.tokenizers());
    let f = Fields::from_schema(&index.schema()).expect("kb index schema");
    let mut writer: IndexWriter =
        index.writer_with_num_threads(1, 64 * 1024 * 1024).map_err(tantivy_err("opening index writer on"))?;

    let mut deleted = 0usize;
    let mut added = 0usize;
    if let Some(prev) = prev_keys {
        for (id, k) in prev {
            if keys.get(id) != Some(k) {
                writer.delete_term(Term::from_field_text(f.doc, id));
                deleted += 1;
            }
        }
    }
    let (subjects, scopes) = &terms;
    for d in docs {
        if prev_keys.is_some_and(|p| p.get(&d.id) == keys.get(&d.id)) {
            continue;
        }
        added += 1;
        for r in &d.records {
            let doc = record_doc(
                &f,
                r,
                cps.get(r.id.as_str()).copied(),
                subjects.get(r.id.as_str()),
                scopes.get(r.id.as_str()),
            );
            writer.add_document(doc).map_err(tantivy_err("adding a record to"))?;
        }
    }
    writer.commit().map_err(tantivy_err("committing index"))?;
    writer.wait_merging_threads().map_err(tantivy_err("finishing index"))?;

    let m = describe(docs.iter().flat_map(|d| d.records.iter()), &cps, subjects, alignment, rules, meta);
    let json = serde_json::to_vec_pretty(&m).expect("index meta serialises");
    let path = dir.join(META_FILE);
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("renaming into place", &path))?;
    Ok(Updated { meta: m, keys, added_documents: added, deleted_documents: deleted, reused })
}

/// The [`IndexMeta`] of an index holding `records`.
fn describe<'a>(
    records: impl Iterator<Item = &'a Record>,
    cps: &HashMap<&str, (&str, f64)>,
    subjects: &HashMap<&str, Vec<String>>,
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    meta: &BuildMeta,
) -> IndexMeta {
    let mut m = IndexMeta::new(meta, alignment.is_some(), rules.is_some());
    for r in records {
        m.count(r, cps.contains_key(r.id.as_str()), subjects.contains_key(r.id.as_str()));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SearchIndex, SearchOptions};

    fn doc(path: &str, text: &str) -> Document {
        let mut d = kb_parse::parse_document(path, text, None).unwrap();
        d.hash = blake3::hash(text.as_bytes()).to_hex().to_string();
        d
    }

    fn hits(dir: &Path, q: &str) -> Vec<String> {
        let ix = SearchIndex::open_dir(dir).unwrap();
        let mut o = SearchOptions::new(q);
        o.limit = 100;
        let mut ids: Vec<String> = ix.search(&o).unwrap().hits.into_iter().map(|h| h.record.id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn update_replaces_changed_documents_and_drops_removed_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let a = doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n");
        let b = doc("zh/b.md", "### 团队\n1、技术团队20人以上；\n");
        let c = doc("en/c.md", "### Team\n1. At least 20 engineers.\n");
        let first = tmp.path().join("one");
        let u1 =
            update_index(&first, &[a.clone(), b.clone(), c.clone()], None, None, &BuildMeta::default(), None).unwrap();
        assert!(!u1.reused);
        assert_eq!(u1.added_documents, 3);

        // b edited, c removed, d added; a unchanged.
        let b2 = doc("zh/b.md", "### 团队\n1、运营人员5人以上；\n");
        let d = doc("en/d.md", "### Capital\n1. Registered capital over 1 million.\n");
        let docs = [a.clone(), b2.clone(), d.clone()];
        let second = tmp.path().join("two");
        let keys = u1.keys.clone();
        let reuse = IndexReuse { dir: &first, keys: &keys };
        let u2 = update_index(&second, &docs, None, None, &BuildMeta::default(), Some(&reuse)).unwrap();
        assert!(u2.reused);
        assert_eq!((u2.added_documents, u2.deleted_documents), (2, 2));

        let clean = tmp.path().join("clean");
        let u3 = update_index(&clean, &docs, None, None, &BuildMeta::default(), None).unwrap();
        assert_eq!(u2.meta, u3.meta);
        assert_eq!(u2.keys, u3.keys);
        for q in ["团队", "资本", "engineers", "capital", "运营"] {
            assert_eq!(hits(&second, q), hits(&clean, q), "query {q}");
        }
        assert!(hits(&second, "engineers").is_empty(), "removed document is gone");
        assert!(hits(&second, "技术").is_empty(), "old text of the edited document is gone");
        assert_eq!(hits(&first, "engineers").len(), 1, "previous index untouched");
    }
}
