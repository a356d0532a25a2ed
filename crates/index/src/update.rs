//! Writing the index: a fresh build, or an incremental one that starts
//! from the previous build's index and deletes and re-adds only the records
//! of the documents whose indexed form changed.
//!
//! tantivy's segment files are never modified once written, so the previous
//! index's files are hard-linked (or copied) into the new index folder, the
//! index is opened there, and deletes and adds land in new segment files and
//! a rewritten `meta.json`; the previous folder is left as it was.
//!
//! Either way the work is: where each record's line is in `records.jsonl`
//! and the file's fingerprint (handed over by its writer, [`RecordsSource`],
//! with the first line of each document to add checked to be its first
//! record; else one pass over the file, checking that line *i* is record
//! *i*), a pass over the alignment and the rules (what each record is
//! indexed with), a key per document (in parallel), and then tantivy's own
//! work for the documents to add, on every core: each indexing thread
//! segments its text (jieba for Han text) and writes its own segments, and
//! repeated heading paths, scopes and subjects are segmented once
//! ([`crate::analysis::Memo`]). Beside the index, `records-stat.json` says
//! what the records file was when it was indexed ([`records::FileStat`]).

use std::collections::BTreeMap;
use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::{Document, Lang, Record, RecordsLayout};
use rayon::prelude::*;
use rustc_hash::FxHashSet;
use tantivy::indexer::{LogMergePolicy, NoMergePolicy, UserOperation};
use tantivy::{Index, IndexWriter, Term};

use crate::build::{io, Attrs, BuildMeta, DocEntry, DocStats, IndexMeta, RecordDoc};
use crate::dir::BuildDir;
use crate::keys::{doc_key, DocIndex, Facts, Key};
use crate::records;
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

/// Records at most this many in one batch handed to tantivy: a batch goes to
/// one indexing thread (so a section's records meet the same memo), and
/// tantivy queues up to 10,000 batches, so this bounds what waits in memory.
const BATCH: usize = 8;
/// Memory budget of one indexing thread of a large build. A thread writes a
/// segment each time it fills this much; a full build merges nothing.
const THREAD_BUDGET: usize = 192 << 20;
/// The same for a small one (an incremental build of a few documents).
const SMALL_BUDGET: usize = 32 << 20;
/// Below this many bytes of text to index, one indexing thread does it.
const PARALLEL_FROM: usize = 2 << 20;
/// At most this many indexing threads.
const MAX_THREADS: usize = 4;
/// Incremental builds merge segments of at most this many documents (the
/// small ones they add), never the large segments of the full build.
const MERGE_MAX_DOCS: usize = 100_000;

/// An index writer for about `bytes` of text: one indexing thread per core
/// for a large job, each with [`THREAD_BUDGET`], one thread otherwise. A
/// fresh index merges nothing (its segments are as large as the budget
/// allows); an updated one merges only its small segments. The benchmark
/// baseline uses the same settings.
pub(crate) fn writer(index: &Index, bytes: usize, fresh: bool) -> tantivy::Result<IndexWriter> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (threads, budget) =
        if bytes >= PARALLEL_FROM { (cores.clamp(1, MAX_THREADS), THREAD_BUDGET) } else { (1, SMALL_BUDGET) };
    let writer: IndexWriter = index.writer_with_num_threads(threads, threads * budget)?;
    if fresh {
        writer.set_merge_policy(Box::new(NoMergePolicy));
    } else {
        let mut policy = LogMergePolicy::default();
        policy.set_max_docs_before_merge(MERGE_MAX_DOCS);
        writer.set_merge_policy(Box::new(policy));
    }
    Ok(writer)
}

/// The records file an index reads its records from: its path, and when
/// its writer knows it, where each line starts and its fingerprint (then
/// [`update_index`] does not read the file through, only the first line of
/// each document it indexes, to check it).
#[derive(Debug, Clone, Copy)]
pub struct RecordsSource<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its layout, as its writer saw it (a layout that does not fit the
    /// file's size or the documents is not used).
    pub layout: Option<&'a RecordsLayout>,
}

impl<'a> RecordsSource<'a> {
    /// The file at `path`, with `layout` when its writer handed it over.
    pub fn new(path: &'a Path, layout: Option<&'a RecordsLayout>) -> RecordsSource<'a> {
        RecordsSource { path, layout }
    }
}

impl<'a> From<&'a Path> for RecordsSource<'a> {
    fn from(path: &'a Path) -> Self {
        RecordsSource { path, layout: None }
    }
}

impl<'a> From<&'a std::path::PathBuf> for RecordsSource<'a> {
    fn from(path: &'a std::path::PathBuf) -> Self {
        RecordsSource { path, layout: None }
    }
}

/// One document to index.
pub(crate) struct DocIn<'a> {
    pub id: &'a str,
    pub path: &'a str,
    pub lang: Lang,
    /// blake3 of its source (empty when unknown).
    pub hash: &'a str,
    pub records: Vec<&'a Record>,
}

/// Where an index goes and what it reads.
pub(crate) struct Target<'a> {
    /// The index folder.
    pub dir: &'a Path,
    /// The records file, holding the records of the documents in order.
    pub records_file: &'a Path,
    /// Its layout, when its writer handed it over.
    pub layout: Option<&'a RecordsLayout>,
    /// `records_file` as the index names it, relative to `dir`.
    pub records_ref: String,
    /// Fingerprint (empty: that of `records_file`) and corpus.
    pub meta: &'a BuildMeta,
}

/// Builds the index of `docs` in `dir` (which must not exist yet or be
/// empty), reading their records' lines from `records` (the build's
/// `records.jsonl`, which must hold exactly the records of `docs`, in
/// order, and sit in `dir`'s parent folder or in `dir`; a path, or a
/// [`RecordsSource`] with the layout its writer handed over), starting from
/// `reuse`'s previous index when given: only the documents whose key changed,
/// appeared or disappeared have their records deleted (by the `doc` field)
/// and added again. Without `reuse`, or when the previous index cannot be
/// opened or has another layout, the index is built from scratch.
///
/// The same queries find the same records, with the same scores, in the
/// same order, either way (searches score with the statistics of the live
/// records, `stats.rs`, and rank ties by the documents' present order,
/// `order.rs`); only tantivy's files differ.
pub fn update_index<'a>(
    dir: &Path,
    records: impl Into<RecordsSource<'a>>,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    corpus: Option<String>,
    reuse: Option<&IndexReuse<'_>>,
) -> Result<Updated> {
    let RecordsSource { path: records_file, layout } = records.into();
    let name = records_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let parent = records_file.parent();
    let records_ref = if parent == dir.parent() {
        format!("../{name}")
    } else if parent == Some(dir) {
        name
    } else {
        return Err(Error::Io {
            what: "indexing (the records file must be in the index folder or beside it)",
            path: records_file.to_path_buf(),
            source: std::io::ErrorKind::InvalidInput.into(),
        });
    };
    let meta = BuildMeta { records_fingerprint: String::new(), corpus };
    let ins: Vec<DocIn<'_>> = docs
        .iter()
        .map(|d| DocIn { id: &d.id, path: &d.path, lang: d.lang, hash: &d.hash, records: d.records.iter().collect() })
        .collect();
    let target = Target { dir, records_file, layout, records_ref, meta: &meta };
    index_documents(&target, &ins, alignment, rules, reuse)
}

/// The counts of a document being indexed.
fn stats_of(d: &DocIn<'_>, ix: usize, attrs: &Attrs<'_>) -> DocStats {
    let mut stats = DocStats { records: d.records.len(), ..DocStats::default() };
    for r in &d.records {
        if let Some(a) = attrs.get(ix, &r.id) {
            stats.with_counterpart += usize::from(a.counterpart.is_some());
            stats.with_subject += usize::from(!a.subjects.is_empty());
        }
    }
    stats
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
        let kb_own = name == META_FILE || name == records::STAT_FILE || name == crate::order::ORDER_FILE;
        if name.ends_with(".lock") || kb_own || !e.path().is_file() {
            continue;
        }
        let to = dir.join(&*name);
        if std::fs::hard_link(e.path(), &to).is_err() {
            std::fs::copy(e.path(), &to).map_err(io("copying the previous index file to", &to))?;
        }
    }
    Ok(())
}

/// The previous index, opened in `dir` from hard links, when it has this
/// kb's layout.
fn reopen(reuse: &IndexReuse<'_>, dir: &Path) -> Result<Option<Index>> {
    let prev_meta = std::fs::read(reuse.dir.join(META_FILE)).ok();
    let format = prev_meta
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("format").and_then(|f| f.as_u64()));
    if format != Some(u64::from(INDEX_FORMAT)) || !reuse.dir.join("meta.json").is_file() {
        return Ok(None);
    }
    link_previous(reuse.dir, dir)?;
    match BuildDir::open(dir).ok().and_then(|d| Index::open(d).ok()) {
        Some(index) if Fields::from_schema(&index.schema()).is_some() => Ok(Some(index)),
        _ => {
            // Not an index of this layout after all: start over in an empty folder.
            std::fs::remove_dir_all(dir).map_err(io("clearing index folder", dir))?;
            Ok(None)
        }
    }
}

/// A new, empty index in the existing folder `dir`, written without syncs
/// ([`BuildDir`]).
pub(crate) fn create(dir: &Path, schema: tantivy::schema::Schema) -> Result<Index> {
    let tantivy_err = |source| Error::Tantivy { what: "creating index in", path: dir.to_path_buf(), source };
    let d = BuildDir::open(dir).map_err(|e| tantivy_err(e.into()))?;
    Index::create(d, schema, tantivy::IndexSettings::default()).map_err(tantivy_err)
}

/// With `KB_TRACE` set, prints the time since the index stage started and
/// the CPU time the process has used so far to stderr (as `kb build` does).
fn trace(what: &str, since: std::time::Instant) {
    if std::env::var_os("KB_TRACE").is_some() {
        let cpu = kb_model::process_cpu_seconds().unwrap_or(0.0);
        eprintln!("kb trace: {what:<24} {:>8.3}s  cpu {cpu:.2}s", since.elapsed().as_secs_f64());
    }
}

/// Indexes `docs` into `t.dir` (see [`update_index`]).
///
/// Its parallel parts run on a thread pool of its own: `kb build` runs the
/// index stage beside the publish stage, and on the shared pool a small job
/// of the index (an incremental build's) would wait behind whatever the
/// other stage queued there, up to the whole of it.
pub(crate) fn index_documents(
    t: &Target<'_>,
    docs: &[DocIn<'_>],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    reuse: Option<&IndexReuse<'_>>,
) -> Result<Updated> {
    if rayon::current_thread_index().is_none() {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores.clamp(1, MAX_THREADS))
            .thread_name(|i| format!("kb-index-{i}"))
            .build();
        if let Ok(pool) = pool {
            return pool.install(|| index_in_pool(t, docs, alignment, rules, reuse));
        }
    }
    index_in_pool(t, docs, alignment, rules, reuse)
}

/// [`index_documents`], on the current thread pool.
fn index_in_pool(
    t: &Target<'_>,
    docs: &[DocIn<'_>],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    reuse: Option<&IndexReuse<'_>>,
) -> Result<Updated> {
    let dir = t.dir;
    let t0 = std::time::Instant::now();
    if docs.iter().any(|d| d.lang == Lang::Zh && !d.records.is_empty()) {
        // Chinese text will likely need jieba: load it on the side.
        crate::analysis::load_jieba_in_background();
    }
    let ix = DocIndex::new(docs);
    let mut first = Vec::with_capacity(docs.len());
    let mut lines = 0usize;
    for d in docs {
        first.push(lines);
        lines += d.records.len();
    }
    // The layout handed over, else a pass over the file.
    let handed = t.layout.and_then(|l| records::Scan::from_layout(t.records_file, l, lines));
    // A file not read through: check that each document to add starts where it should.
    let check_firsts = |scan: &records::Scan<'_>, add: &[bool]| {
        let firsts = docs.iter().zip(&first).zip(add).filter(|((d, _), a)| **a && !d.records.is_empty());
        records::check_firsts(t.records_file, &scan.starts, firsts.map(|((d, &l), _)| (l, d.records[0].id.as_str())))
    };
    // Without a previous index every document is added: work out what each
    // record is indexed with meanwhile.
    let ((scan, facts), early) = rayon::join(
        || {
            rayon::join(
                || match handed {
                    // Every document is added: check where each starts meanwhile.
                    Some(scan) if reuse.is_none() => check_firsts(&scan, &vec![true; docs.len()]).map(|()| scan),
                    Some(scan) => Ok(scan),
                    None => records::scan(
                        t.records_file,
                        docs.iter().map(|d| (d.records.first().map_or("", |r| r.id.as_str()), d.records.len())),
                    ),
                },
                || Facts::new(&ix, docs.len(), alignment, rules),
            )
        },
        || reuse.is_none().then(|| Attrs::new(&ix, docs.len(), alignment, rules, None)),
    );
    let scan = scan?;
    trace("index: records, facts", t0);
    let hexes: Vec<String> = docs
        .par_iter()
        .zip(&facts.digests)
        .zip(&first)
        .map(|((d, f), &l)| doc_key(d, f, scan.starts[l + d.records.len()] - scan.starts[l]))
        .collect();

    let tantivy_err = |what: &'static str| move |source| Error::Tantivy { what, path: dir.to_path_buf(), source };
    let opened = match reuse {
        Some(r) => reopen(r, dir)?.map(|index| (index, r.keys)),
        None => None,
    };
    let reused = opened.is_some();
    let (index, prev_keys) = match opened {
        Some((index, k)) => (index, Some(k)),
        None => {
            std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
            let (schema, _) = schema::schema();
            (create(dir, schema)?, None)
        }
    };
    trace("index: keys, open", t0);
    schema::register_index_analyzers(index.tokenizers());
    let f = Fields::from_schema(&index.schema()).expect("kb index schema");

    // The previous key of each document, when it is the same as now.
    let same: Vec<Option<Key>> = docs
        .iter()
        .zip(&hexes)
        .map(|(d, hex)| {
            let prev = prev_keys?.get(d.id).and_then(|k| Key::parse(k))?;
            (prev.hex == *hex).then_some(prev)
        })
        .collect();
    let add: Vec<bool> = same.iter().map(Option::is_none).collect();
    let added = add.iter().filter(|a| **a).count();
    if scan.unread && reuse.is_some() {
        check_firsts(&scan, &add)?;
    }
    let mut deletes = Vec::new();
    if let Some(prev) = prev_keys {
        let kept: FxHashSet<&str> = docs.iter().zip(&add).filter(|(_, a)| !**a).map(|(d, _)| d.id).collect();
        for id in prev.keys() {
            if !kept.contains(id.as_str()) {
                deletes.push(Term::from_field_text(f.doc, id));
            }
        }
    }
    let deleted = deletes.len();

    // What the documents to add are indexed with (and their counterparts' documents, for the rules).
    let attrs = if let Some(a) = early {
        a
    } else if added == docs.len() {
        Attrs::new(&ix, docs.len(), alignment, rules, None)
    } else {
        let mut want = add.clone();
        for (d, _) in add.iter().enumerate().filter(|(_, a)| **a) {
            for &p in &facts.paired[d] {
                want[p] = true;
            }
        }
        Attrs::new(&ix, docs.len(), alignment, rules, Some((&want, &facts)))
    };
    let stats: Vec<DocStats> = docs
        .par_iter()
        .enumerate()
        .zip(&same)
        .map(|((i, d), same)| match same {
            Some(k) => DocStats {
                records: d.records.len(),
                with_counterpart: k.with_counterpart,
                with_subject: k.with_subject,
            },
            None => stats_of(d, i, &attrs),
        })
        .collect();

    let to_add: usize = docs
        .iter()
        .zip(&add)
        .filter(|(_, a)| **a)
        .flat_map(|(d, _)| d.records.iter())
        .map(|r| r.text.len() + r.heading_path.iter().map(String::len).sum::<usize>() + 64)
        .sum();

    if added > 0 || !deletes.is_empty() {
        let mut writer = writer(&index, to_add, !reused).map_err(tantivy_err("opening index writer on"))?;
        for term in deletes {
            writer.delete_term(term);
        }
        let mut heading = String::new();
        for (i, d) in docs.iter().enumerate().filter(|(i, _)| add[*i]) {
            let base = scan.starts[first[i]];
            for (c, chunk) in d.records.chunks(BATCH).enumerate() {
                let ops: Vec<UserOperation> = chunk
                    .iter()
                    .enumerate()
                    .map(|(j, r)| {
                        let j = c * BATCH + j;
                        let line = first[i] + j;
                        let rd = RecordDoc {
                            f: &f,
                            attrs: attrs.get(i, &r.id),
                            ord: j as u64,
                            line_at: scan.starts[line] - base,
                            line_len: scan.line_len(line),
                        };
                        UserOperation::Add(rd.build(r, &mut heading))
                    })
                    .collect();
                writer.run(ops).map_err(tantivy_err("adding records to"))?;
            }
        }
        trace("index: records handed", t0);
        writer.commit().map_err(tantivy_err("committing index"))?;
        trace("index: committed", t0);
        writer.wait_merging_threads().map_err(tantivy_err("finishing index"))?;
    }
    let reader: tantivy::IndexReader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .map_err(tantivy_err("reading"))?;
    let searcher = reader.searcher();
    if reused && searcher.num_docs() != lines as u64 {
        // The previous index must have held what the previous cache said:
        // if the counts disagree, trust neither and build afresh.
        drop((searcher, reader, index));
        std::fs::remove_dir_all(dir).map_err(io("clearing index folder", dir))?;
        return index_in_pool(t, docs, alignment, rules, None);
    }
    // The statistics searches score with, over the live records.
    let field_tokens = crate::stats::field_tokens(&searcher).map_err(tantivy_err("measuring fields of"))?;
    trace("index: field lengths", t0);

    let meta = BuildMeta {
        records_fingerprint: if t.meta.records_fingerprint.is_empty() {
            scan.fingerprint.to_string()
        } else {
            t.meta.records_fingerprint.clone()
        },
        corpus: t.meta.corpus.clone(),
    };
    let mut m = IndexMeta::new(&meta, alignment.is_some(), rules.is_some(), t.records_ref.clone());
    m.field_tokens = field_tokens;
    for ((d, stats), &l) in docs.iter().zip(&stats).zip(&first) {
        if d.records.is_empty() {
            continue;
        }
        let entry = DocEntry {
            id: d.id.to_string(),
            path: d.path.to_string(),
            lang: d.lang,
            offset: scan.starts[l],
            records: d.records.len(),
        };
        m.count(entry, stats);
    }
    // Where each document stands, for ranking ties (see `order.rs`).
    let places = crate::order::compute(&searcher, &m.documents).map_err(tantivy_err("ordering the documents of"))?;
    let order = crate::order::encode(&m.records_fingerprint, &searcher, &places);
    drop((searcher, reader));
    let path = dir.join(crate::order::ORDER_FILE);
    let tmp = dir.join(format!("{}.tmp", crate::order::ORDER_FILE));
    std::fs::write(&tmp, order).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("renaming into place", &path))?;
    trace("index: document order", t0);
    let mut json = serde_json::to_vec(&m).expect("index meta serialises");
    json.push(b'\n');
    let path = dir.join(META_FILE);
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("renaming into place", &path))?;
    // What the records file is now, so that a search can trust it without hashing it.
    let stat = std::fs::File::open(t.records_file).ok().and_then(|f| records::FileStat::settled(&f, &scan.fingerprint));
    if let Some(stat) = stat {
        let path = dir.join(records::STAT_FILE);
        let tmp = dir.join(format!("{}.tmp", records::STAT_FILE));
        std::fs::write(&tmp, serde_json::to_vec(&stat).expect("stat serialises")).map_err(io("writing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("renaming into place", &path))?;
    }
    let keys = docs
        .iter()
        .zip(hexes)
        .zip(&stats)
        .map(|((d, hex), s)| {
            let key = Key { hex, with_counterpart: s.with_counterpart, with_subject: s.with_subject };
            (d.id.to_string(), key.format())
        })
        .collect();
    Ok(Updated { meta: m, keys, added_documents: added, deleted_documents: deleted, reused })
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

    /// Writes `out/records.jsonl` for `docs` and indexes them into `out/index`.
    fn build(out: &Path, docs: &[Document], reuse: Option<&IndexReuse<'_>>) -> Updated {
        build_with(out, docs, None, None, reuse)
    }

    fn build_with(
        out: &Path,
        docs: &[Document],
        alignment: Option<&Alignment>,
        rules: Option<&RuleSet>,
        reuse: Option<&IndexReuse<'_>>,
    ) -> Updated {
        std::fs::create_dir_all(out).unwrap();
        let jsonl: String =
            docs.iter().flat_map(|d| &d.records).map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
        let records = out.join("records.jsonl");
        std::fs::write(&records, jsonl).unwrap();
        update_index(&out.join("index"), &records, docs, alignment, rules, None, reuse).unwrap()
    }

    /// Hits with their subjects and counterparts.
    fn described(out: &Path, q: &str) -> Vec<(String, Vec<String>, Option<String>)> {
        let ix = SearchIndex::open(out).unwrap();
        let mut o = SearchOptions::new(q);
        o.limit = 100;
        let mut v: Vec<_> = ix
            .search(&o)
            .unwrap()
            .hits
            .into_iter()
            .flat_map(|h| {
                let cp = h.counterpart.as_ref().map(|c| c.record.id.clone());
                let mut v = vec![(h.record.id.clone(), h.subjects.clone(), cp)];
                if let Some(c) = h.counterpart.filter(|c| c.matched) {
                    v.push((c.record.id, Vec::new(), Some(h.record.id)));
                }
                v
            })
            .collect();
        v.sort();
        v
    }

    fn hits(out: &Path, q: &str) -> Vec<(String, String)> {
        let ix = SearchIndex::open(out).unwrap();
        let mut o = SearchOptions::new(q);
        o.limit = 100;
        let mut ids: Vec<(String, String)> =
            ix.search(&o).unwrap().hits.into_iter().map(|h| (h.record.id, h.record.text)).collect();
        ids.sort();
        ids
    }

    #[test]
    fn update_replaces_changed_documents_and_drops_removed_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let a = doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n");
        let b = doc("zh/b.md", "### 团队\n1、技术团队20人以上；\n");
        let c = doc("en/c.md", "### Team\n1. At least 20 engineers.\n");
        let e = doc("zh/e.md", "### 审核\n1、审核周期为5个工作日。\n");
        let first = tmp.path().join("one");
        let u1 = build(&first, &[a.clone(), b.clone(), c.clone(), e.clone()], None);
        assert!(!u1.reused);
        assert_eq!(u1.added_documents, 4);

        // b edited (its records' lines get longer, so e's move), c removed, d added; a and e unchanged.
        let b2 = doc("zh/b.md", "### 团队\n1、运营人员与客服人员合计5人以上；\n");
        let d = doc("en/d.md", "### Capital\n1. Registered capital over 1 million.\n");
        let docs = [a.clone(), b2.clone(), d.clone(), e.clone()];
        let second = tmp.path().join("two");
        let keys = u1.keys.clone();
        let prev = first.join("index");
        let reuse = IndexReuse { dir: &prev, keys: &keys };
        let u2 = build(&second, &docs, Some(&reuse));
        assert!(u2.reused);
        assert_eq!((u2.added_documents, u2.deleted_documents), (2, 2));

        let clean = tmp.path().join("clean");
        let u3 = build(&clean, &docs, None);
        assert_eq!(u2.meta, u3.meta);
        assert_eq!(u2.keys, u3.keys);
        assert_eq!(
            std::fs::read(second.join("index").join(META_FILE)).unwrap(),
            std::fs::read(clean.join("index").join(META_FILE)).unwrap()
        );
        for q in ["团队", "资本", "engineers", "capital", "运营", "审核", "工作日"] {
            assert_eq!(hits(&second, q), hits(&clean, q), "query {q}");
        }
        // The unchanged document after the edited one is read from where its lines are now.
        assert!(hits(&second, "工作日").iter().any(|(_, t)| t.contains("审核周期为5个工作日")));
        assert!(hits(&second, "engineers").is_empty(), "removed document is gone");
        assert!(hits(&second, "技术").is_empty(), "old text of the edited document is gone");
        assert_eq!(hits(&first, "engineers").len(), 1, "previous index untouched");
    }

    #[test]
    fn a_change_in_the_rules_or_the_alignment_reindexes_the_documents_it_reaches() {
        use kb_model::alignment::RecordPair;
        let tmp = tempfile::tempdir().unwrap();
        let docs = [
            doc("en/a.md", "### Terms\n1. Registered capital over 1 million.\n"),
            doc("en/b.md", "### Team\n1. At least 20 engineers.\n"),
            doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n"),
            doc("zh/b.md", "### 团队\n1、技术团队20人以上；\n"),
        ];
        let req = |d: &Document| d.records.last().unwrap().id.clone();
        let (en_a, zh_a) = (req(&docs[0]), req(&docs[2]));
        let pair = RecordPair {
            zh: Some(zh_a.clone()),
            en: Some(en_a.clone()),
            zh_all: Vec::new(),
            en_all: Vec::new(),
            confidence: 0.9,
            evidence: Vec::new(),
        };
        let alignment = Alignment { records: vec![pair], ..Alignment::default() };
        let rules = |subject: &str| -> RuleSet {
            let rule = serde_json::from_value(serde_json::json!({
                "id": "r1", "scope": "代理", "subject": subject, "op": null, "value": null,
                "unit": null, "kind": "quantitative", "confidence": 0.9,
                "source": { "doc": "zh/a", "record": zh_a, "path": "zh/a.md", "lines": [2, 2] },
                "text": { "zh": null, "en": null },
            }))
            .unwrap();
            RuleSet { version: 1, rules: vec![rule] }
        };
        let one = tmp.path().join("one");
        let u1 = build_with(&one, &docs, Some(&alignment), Some(&rules("registered_capital")), None);
        assert_eq!((u1.meta.with_counterpart, u1.meta.with_subject), (2, 2));

        // The rule's subject changes: its record and its counterpart are indexed again, nothing else.
        let two = tmp.path().join("two");
        let prev = one.join("index");
        let reuse = IndexReuse { dir: &prev, keys: &u1.keys };
        let u2 = build_with(&two, &docs, Some(&alignment), Some(&rules("headcount")), Some(&reuse));
        assert!(u2.reused);
        assert_eq!((u2.added_documents, u2.deleted_documents), (2, 2));
        let clean = tmp.path().join("clean");
        let u3 = build_with(&clean, &docs, Some(&alignment), Some(&rules("headcount")), None);
        assert_eq!(u2.meta, u3.meta);
        assert_eq!(u2.keys, u3.keys);
        for q in ["subject:headcount", "subject:registered_capital", "capital", "资本", "engineers", "团队"] {
            assert_eq!(described(&two, q), described(&clean, q), "query {q}");
        }
        assert_eq!(described(&two, "subject:headcount").len(), 2, "the rule's record and its counterpart");

        // The pairing goes: both lose their counterpart, and the English record its subject.
        let three = tmp.path().join("three");
        let prev = two.join("index");
        let reuse = IndexReuse { dir: &prev, keys: &u2.keys };
        let none = Alignment::default();
        let u4 = build_with(&three, &docs, Some(&none), Some(&rules("headcount")), Some(&reuse));
        assert_eq!((u4.added_documents, u4.meta.with_counterpart, u4.meta.with_subject), (2, 0, 1));
        assert_eq!(described(&three, "subject:headcount"), [(zh_a.clone(), vec!["headcount".to_string()], None)]);
        assert_eq!(described(&three, "capital").iter().map(|h| &h.2).collect::<Vec<_>>(), [&None]);
    }

    #[test]
    fn a_previous_index_that_does_not_match_its_keys_is_not_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let a = doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n");
        let b = doc("en/b.md", "### Team\n1. At least 20 engineers.\n");
        // The previous index holds only a; its keys claim b too.
        let u1 = build(&tmp.path().join("one"), std::slice::from_ref(&a), None);
        let mut keys = u1.keys.clone();
        let u_b = build(&tmp.path().join("b"), std::slice::from_ref(&b), None);
        keys.extend(u_b.keys);
        let prev = tmp.path().join("one").join("index");
        let u2 = build(&tmp.path().join("two"), &[a, b], Some(&IndexReuse { dir: &prev, keys: &keys }));
        assert!(!u2.reused, "built afresh");
        assert_eq!(hits(&tmp.path().join("two"), "engineers").len(), 1);
    }

    /// Every hit of a search, as `kb search` would show it.
    fn ranked(out: &Path, q: &str, lang: Option<Lang>, kind: Option<kb_model::RecordKind>) -> Vec<crate::Hit> {
        let ix = SearchIndex::open(out).unwrap();
        let mut o = SearchOptions::new(q);
        (o.lang, o.kind, o.limit) = (lang, kind, 1000);
        ix.search(&o).unwrap().hits
    }

    /// Queries of every shape: single words, several required words (nested
    /// two by two), phrases, boosts of groups, exclusions, filters.
    const SHAPES: &[&str] = &[
        "certified engineers",
        "partner",
        "support team partner manager",
        "\"support team\"",
        "(certified engineers partner)^2",
        "partner -manager",
        "engineers OR ticket",
        "认证工程师",
        "合作伙伴",
        "团队 AND 技术 AND 支持",
        "kind:requirement",
    ];

    fn en(n: usize, extra: &str) -> String {
        format!(
            "### Partner team\n1. At least {n} certified engineers.\n2. A support team and a partner manager.\n{extra}"
        )
    }

    fn zh(n: usize, extra: &str) -> String {
        format!("### 合作伙伴团队\n1、至少{n}名认证工程师；\n2、具备技术支持团队与合作伙伴经理。\n{extra}")
    }

    #[test]
    fn an_updated_index_scores_and_ranks_exactly_as_a_fresh_one() {
        use kb_model::RecordKind;
        let tmp = tempfile::tempdir().unwrap();
        let long = "3. Certified partner engineers review every support ticket within two business days, and the partner manager reports monthly.\n";
        let long_zh = "3、认证工程师须在两个工作日内处理每一张技术支持工单，合作伙伴经理每月汇报。\n";
        // Twins (same text in several documents) score the same: they rank in path order.
        let v1 = [
            doc("en/a.md", &en(2, "")),
            doc("en/b.md", &en(2, "")),
            doc("en/c.md", &en(5, long)),
            doc("en/m.md", &en(2, "")),
            doc("zh/a.md", &zh(2, "")),
            doc("zh/b.md", &zh(3, long_zh)),
            doc("zh/m.md", &zh(2, "")),
        ];
        let one = tmp.path().join("one");
        let u1 = build(&one, &v1, None);

        // Two documents before en/m go, a twin of it comes after it, one is edited.
        let v2 = [
            doc("en/c.md", &en(7, long)),
            doc("en/m.md", &en(2, "")),
            doc("en/x.md", &en(2, "")),
            doc("zh/a.md", &zh(2, long_zh)),
            doc("zh/m.md", &zh(2, "")),
            doc("zh/x.md", &zh(2, "")),
        ];
        let two = tmp.path().join("two");
        let prev = one.join("index");
        let u2 = build(&two, &v2, Some(&IndexReuse { dir: &prev, keys: &u1.keys }));
        assert!(u2.reused && u2.deleted_documents == 5, "{:?}", (u2.added_documents, u2.deleted_documents));

        // Then one at the front, and another edit.
        let mut v3 = v2.to_vec();
        v3.insert(0, doc("en/0.md", &en(2, long)));
        v3[1] = doc("en/c.md", &en(9, ""));
        let three = tmp.path().join("three");
        let prev = two.join("index");
        let u3 = build(&three, &v3, Some(&IndexReuse { dir: &prev, keys: &u2.keys }));
        assert!(u3.reused);

        for (updated, docs) in [(&two, &v2[..]), (&three, &v3[..])] {
            let clean = tmp.path().join(format!("clean-{}", docs.len()));
            build(&clean, docs, None);
            let mut ties = 0;
            for q in SHAPES {
                for (lang, kind) in [(None, None), (Some(Lang::En), None), (None, Some(RecordKind::Requirement))] {
                    let got = ranked(updated, q, lang, kind);
                    let want = ranked(&clean, q, lang, kind);
                    let scores =
                        |h: &[crate::Hit]| h.iter().map(|h| (h.record.id.clone(), h.score)).collect::<Vec<_>>();
                    assert_eq!(scores(&got), scores(&want), "query {q:?} {lang:?} {kind:?}");
                    assert_eq!(got, want, "query {q:?} {lang:?} {kind:?}");
                    ties += got.windows(2).filter(|w| w[0].score == w[1].score).count();
                }
            }
            assert!(ties > 0, "twins tie, and their order is compared");
        }
        // Twins rank in path order: en/m before en/x, although en/x was indexed later than en/m with a smaller ordinal.
        let hits = ranked(&two, "\"certified engineers\"", Some(Lang::En), None);
        let docs: Vec<&str> = hits.iter().map(|h| h.record.doc.as_str()).collect();
        assert_eq!(docs, ["en/c", "en/m", "en/x"], "{:?}", hits.iter().map(|h| h.score).collect::<Vec<_>>());
    }

    #[test]
    fn live_statistics_of_an_updated_index_are_those_of_a_fresh_one() {
        use tantivy::query::Bm25StatisticsProvider;
        let tmp = tempfile::tempdir().unwrap();
        let v1: Vec<Document> = (0..6)
            .map(|i| doc(&format!("en/d{i}.md"), &en(i, if i % 2 == 0 { "3. Partner support ticket.\n" } else { "" })))
            .collect();
        let one = tmp.path().join("one");
        let u1 = build(&one, &v1, None);
        let mut v2 = v1.clone();
        v2.remove(1);
        v2[2] = doc("en/d3.md", &en(3, "3. A partner review.\n"));
        v2.push(doc("en/z.md", &en(8, "")));
        let two = tmp.path().join("two");
        let prev = one.join("index");
        build(&two, &v2, Some(&IndexReuse { dir: &prev, keys: &u1.keys }));
        let clean = tmp.path().join("clean");
        build(&clean, &v2, None);

        let open = |out: &Path| SearchIndex::open(out).unwrap();
        let (updated, fresh) = (open(&two), open(&clean));
        let searcher = |ix: &SearchIndex| ix.tantivy_index().reader().unwrap().searcher();
        let (us, fs) = (searcher(&updated), searcher(&fresh));
        assert!(us.segment_readers().iter().any(|s| s.has_deletes()), "the updated index has deleted records");
        assert!(us.num_docs() < us.segment_readers().iter().map(|s| u64::from(s.max_doc())).sum::<u64>());
        let empty = BTreeMap::new();
        // With the build's token counts, and worked out here: the same.
        for (u_tokens, f_tokens) in [(&updated.meta().field_tokens, &fresh.meta().field_tokens), (&empty, &empty)] {
            let (u, f) = (crate::stats::LiveStats::new(&us, u_tokens), crate::stats::LiveStats::new(&fs, f_tokens));
            assert_eq!(u.total_num_docs().unwrap(), f.total_num_docs().unwrap());
            let fields = crate::schema::schema().1;
            for field in [fields.text_en, fields.heading_en, fields.kind, fields.id, fields.doc] {
                assert_eq!(u.total_num_tokens(field).unwrap(), f.total_num_tokens(field).unwrap());
            }
            for w in ["partner", "support", "ticket", "review", "engin", "team", "manag", "certif"] {
                let t = Term::from_field_text(fields.text_en, w);
                assert_eq!(u.doc_freq(&t).unwrap(), f.doc_freq(&t).unwrap(), "{w}");
                assert!(f.doc_freq(&t).unwrap() > 0, "{w} is indexed as such");
            }
            for k in ["requirement", "heading"] {
                let t = Term::from_field_text(fields.kind, k);
                assert_eq!(u.doc_freq(&t).unwrap(), f.doc_freq(&t).unwrap(), "{k}");
            }
        }
        assert_eq!(updated.meta().field_tokens, fresh.meta().field_tokens);
        assert!(fresh.meta().field_tokens["text_en"] > 0);
    }

    #[test]
    fn long_postings_in_a_segment_with_many_deletions_are_counted_live() {
        use tantivy::query::Bm25StatisticsProvider;
        // Terms held by more records than are walked directly: the deleted
        // records are listed, and either the postings are walked (fewer than
        // the deleted records) or the deleted records sought in them.
        let items = |word: &str, n: usize| -> String {
            let list: String = (1..=n).map(|i| format!("{i}. {word} item {i}.\n")).collect();
            format!("# {word}\n\n{list}")
        };
        let tmp = tempfile::tempdir().unwrap();
        // en/a's first 100 items hold "ticket" too: deleted records among its longer postings.
        let a = items("Partner", 5000).replacen("Partner item", "Partner ticket item", 100);
        let v1 = [doc("en/a.md", &a), doc("en/c.md", &items("Ticket", 4500))];
        let one = tmp.path().join("one");
        let u1 = build(&one, &v1, None);
        let v2 = [doc("en/b.md", &items("Review", 10)), v1[1].clone()];
        let two = tmp.path().join("two");
        let prev = one.join("index");
        build(&two, &v2, Some(&IndexReuse { dir: &prev, keys: &u1.keys }));
        let clean = tmp.path().join("clean");
        build(&clean, &v2, None);

        let (updated, fresh) = (SearchIndex::open(&two).unwrap(), SearchIndex::open(&clean).unwrap());
        let searcher = |ix: &SearchIndex| ix.tantivy_index().reader().unwrap().searcher();
        let (us, fs) = (searcher(&updated), searcher(&fresh));
        assert!(us.segment_readers().iter().any(|s| s.num_deleted_docs() > 4096));
        let (u, f) = (
            crate::stats::LiveStats::new(&us, &updated.meta().field_tokens),
            crate::stats::LiveStats::new(&fs, &fresh.meta().field_tokens),
        );
        let text_en = crate::schema::schema().1.text_en;
        for (w, at_least) in [("ticket", 4500), ("item", 4510), ("partner", 0), ("review", 10)] {
            let t = Term::from_field_text(text_en, w);
            let (live, fresh_df) = (u.doc_freq(&t).unwrap(), f.doc_freq(&t).unwrap());
            assert_eq!(live, fresh_df, "{w}");
            assert!((at_least..at_least + 2).contains(&live), "{w}: {live}");
        }
        assert!(us.doc_freq(&Term::from_field_text(text_en, "partner")).unwrap() >= 5000, "tantivy counts the deleted");
        assert!(us.doc_freq(&Term::from_field_text(text_en, "ticket")).unwrap() >= 4600, "tantivy counts the deleted");
        for q in ["ticket", "item", "item ticket", "review item"] {
            let hits = |out: &Path| {
                ranked(out, q, None, None).into_iter().map(|h| (h.record.id, h.score)).take(50).collect::<Vec<_>>()
            };
            assert_eq!(hits(&two), hits(&clean), "{q}");
        }
    }

    #[test]
    fn an_unchanged_rebuild_adds_and_deletes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = [doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n"), doc("en/a.md", "### Terms\n1. Capital.\n")];
        let u1 = build(&tmp.path().join("one"), &docs, None);
        let prev = tmp.path().join("one").join("index");
        let u2 = build(&tmp.path().join("two"), &docs, Some(&IndexReuse { dir: &prev, keys: &u1.keys }));
        assert!(u2.reused);
        assert_eq!((u2.added_documents, u2.deleted_documents), (0, 0));
        assert_eq!(hits(&tmp.path().join("two"), "资本"), hits(&tmp.path().join("one"), "资本"));
    }

    #[test]
    fn records_file_that_does_not_hold_the_records_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = [doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n")];
        let records = tmp.path().join("records.jsonl");
        std::fs::write(&records, "{\"id\":\"zh/other#1\"}\n{\"id\":\"zh/other#2\"}\n").unwrap();
        let err = update_index(&tmp.path().join("index"), &records, &docs, None, None, None, None).unwrap_err();
        assert!(matches!(err, Error::RecordsMismatch { line: 1, .. }), "{err}");
    }

    /// What the parse stage hands over for the records file at `path`.
    fn layout_of(path: &Path) -> RecordsLayout {
        let bytes = std::fs::read(path).unwrap();
        let mut starts = vec![0u64];
        starts.extend(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64 + 1));
        RecordsLayout { starts, fingerprint: crate::fingerprint(&bytes) }
    }

    #[test]
    fn a_handed_over_layout_gives_what_a_scan_gives_and_is_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = [
            doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n2、技术团队20人以上；\n"),
            doc("en/b.md", "### Team\n1. At least 20 engineers.\n"),
        ];
        let scanned = build(&tmp.path().join("scan"), &docs, None);
        let out = tmp.path().join("layout");
        std::fs::create_dir_all(&out).unwrap();
        let records = out.join("records.jsonl");
        std::fs::copy(tmp.path().join("scan").join("records.jsonl"), &records).unwrap();
        let layout = layout_of(&records);
        let given = RecordsSource::new(&records, Some(&layout));
        let handed = update_index(&out.join("index"), given, &docs, None, None, None, None).unwrap();
        assert_eq!(handed.meta, scanned.meta);
        assert_eq!(handed.keys, scanned.keys);
        for q in ["资本", "团队", "engineers"] {
            assert_eq!(hits(&out, q), hits(&tmp.path().join("scan"), q), "query {q}");
        }

        // A layout that does not fit the file (another length) is not used: the file is scanned.
        let mut short = layout.clone();
        short.starts.pop();
        let again = tmp.path().join("again");
        std::fs::create_dir_all(&again).unwrap();
        std::fs::copy(&records, again.join("records.jsonl")).unwrap();
        let path = again.join("records.jsonl");
        let u =
            update_index(&again.join("index"), RecordsSource::new(&path, Some(&short)), &docs, None, None, None, None)
                .unwrap();
        assert_eq!(u.meta, scanned.meta);

        // A layout that fits, over a file whose lines are not the documents' records, is refused.
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        let path = other.join("records.jsonl");
        let text = std::fs::read_to_string(&records).unwrap();
        let swapped: String = text.lines().rev().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, &swapped).unwrap();
        let lie = layout_of(&path);
        let err =
            update_index(&other.join("index"), RecordsSource::new(&path, Some(&lie)), &docs, None, None, None, None)
                .unwrap_err();
        assert!(matches!(err, Error::RecordsMismatch { line: 1, .. }), "{err}");
    }

    #[test]
    fn a_search_trusts_the_records_file_the_build_saw_and_notices_one_rewritten_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = [doc("zh/a.md", "### 条件\n1、注册资本100万元以上；\n")];
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let records = out.join("records.jsonl");
        let jsonl: String = docs[0].records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
        std::fs::write(&records, &jsonl).unwrap();
        // Only a file that has not changed for a moment is described.
        std::thread::sleep(super::records::SETTLED * 2);
        update_index(&out.join("index"), &records, &docs, None, None, None, None).unwrap();
        let stat = out.join("index").join(records::STAT_FILE);
        let vouched = || {
            let file = std::fs::File::open(&records).unwrap();
            std::fs::read(&stat).ok().and_then(|s| records::FileStat::vouches(&s, &file))
        };
        if cfg!(unix) {
            assert_eq!(vouched(), Some(crate::fingerprint(jsonl.as_bytes())), "the search need not hash the file");
        }
        assert_eq!(hits(&out, "资本").len(), 1);

        // The same bytes in another file: not vouched for, hashed, and found the same.
        let moved = out.join("records.moved");
        std::fs::copy(&records, &moved).unwrap();
        std::fs::rename(&moved, &records).unwrap();
        assert_eq!(vouched(), None);
        assert_eq!(hits(&out, "资本").len(), 1);

        // Rewritten in place, same length: its change time moved on.
        std::fs::write(&records, jsonl.replace("注册资本", "注册资金")).unwrap();
        assert_eq!(vouched(), None);
        let err = SearchIndex::open(&out).err().expect("stale");
        assert!(matches!(err, Error::Stale { .. }), "{err}");

        // A damaged description is no description: the file is hashed.
        std::fs::write(&records, &jsonl).unwrap();
        std::fs::write(&stat, "{not json").unwrap();
        assert_eq!(hits(&out, "资本").len(), 1);
    }

    #[test]
    fn a_previous_index_of_another_layout_is_not_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = [doc("en/a.md", "### Terms\n1. Capital.\n")];
        let u1 = build(&tmp.path().join("one"), &docs, None);
        let prev = tmp.path().join("one").join("index");
        let meta = std::fs::read_to_string(prev.join(META_FILE)).unwrap();
        std::fs::write(prev.join(META_FILE), meta.replace(&format!("\"format\":{INDEX_FORMAT}"), "\"format\":1"))
            .unwrap();
        let u2 = build(&tmp.path().join("two"), &docs, Some(&IndexReuse { dir: &prev, keys: &u1.keys }));
        assert!(!u2.reused);
        assert_eq!(hits(&tmp.path().join("two"), "capital").len(), 1);
    }
}
