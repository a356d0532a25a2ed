//! The build cache: what a rebuild may take from the previous output.
//!
//! Every build leaves [`CACHE_FILE`] in its output folder: the blake3 of
//! each source document's bytes, the key of each document's indexed form
//! and of each document page, and the identity of the kb binary and of
//! `kb.toml`. The next build (unless `--full`) reads it together with the
//! previous `documents.json` and `records.jsonl`, and then
//! * parses again only the documents whose bytes changed (the others are
//!   read back from the previous records, or taken from memory in `kb watch`,
//!   see [`Kept`]), copying their lines of `records.jsonl` as they were,
//! * updates a copy of the previous search index by deleting and adding only
//!   the records of documents whose indexed form changed,
//! * renders only the document pages whose inputs changed, hard-linking the
//!   others from the previous `site/`.
//!
//! The align, rules and publish stages keep caches of their own under
//! `out/cache/` (see their crates). A missing, unreadable or mismatched
//! cache (other kb binary, other `kb.toml`, records that do not match it)
//! just means a full build.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use kb_model::mapped::Mapped;
use kb_model::{Document, Record};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{BuildContext, Result, RECORDS_FILE};

/// The cache file inside an output folder.
pub const CACHE_FILE: &str = "build-cache.json";
/// The layout version of [`CACHE_FILE`].
pub const CACHE_FORMAT: u32 = 1;

/// The content of [`CACHE_FILE`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cache {
    /// [`CACHE_FORMAT`].
    pub format: u32,
    /// The kb binary that wrote the output ([`tool_id`]).
    pub tool: String,
    /// blake3 of the corpus's `kb.toml` (`none` without one).
    pub manifest: String,
    /// Document path → blake3 (hex) of its bytes.
    pub documents: BTreeMap<String, String>,
    /// Document path → size, modification time and inode of the file whose
    /// bytes had that hash ([`kb_parse::stat_key`]); a file whose key is
    /// unchanged is not read again. Only files left alone for a while when
    /// they were read are listed.
    #[serde(default)]
    pub stats: BTreeMap<String, String>,
    /// Document id → key of its indexed form (see [`kb_index::update_index`]).
    pub index: BTreeMap<String, String>,
    /// Document id → key of its page ([`kb_publish::PageKey`], see [`kb_publish::publish`]).
    pub pages: BTreeMap<String, kb_publish::PageKey>,
}

/// What the current build found of the previous one.
pub struct Previous {
    /// The previous output folder.
    pub out: PathBuf,
    /// Its cache.
    pub cache: Cache,
    /// Its documents by path, taken out as they are reused.
    documents: Mutex<HashMap<String, Document>>,
    /// Its `records.jsonl`, and each document's lines in it (by path): a
    /// reused document's lines are copied from here as they are. Released
    /// once the parse stage has written the new file.
    /// Memory-mapped ([`Mapped`]): reading it into memory would fault in
    /// hundreds of MB of fresh pages for bytes that are only copied.
    records: Mapped,
    spans: HashMap<String, std::ops::Range<usize>>,
    /// Its `cache/documents.bin` (when that was read) and each document's
    /// block in it, copied as they are for reused documents.
    snapshot: Mapped,
    blocks: HashMap<String, std::ops::Range<usize>>,
}

impl std::fmt::Debug for Previous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Previous").field("out", &self.out).finish_non_exhaustive()
    }
}

/// What changed since the previous build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Paths of documents parsed in this build (new or edited).
    pub parsed: Vec<String>,
    /// Paths of documents reused from the previous build.
    pub reused: usize,
    /// Paths of documents the previous build had and this one has not.
    pub removed: Vec<String>,
}

/// The identity of the running kb binary: version, and the size and
/// modification time of the executable (a rebuilt binary may parse or
/// render differently, so its caches are not trusted).
pub fn tool_id() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{}:{t}", m.len())
        })
        .unwrap_or_else(|_| "unknown".into());
    format!("kb {} {exe}", env!("CARGO_PKG_VERSION"))
}

/// blake3 of `corpus/kb.toml`, or `none`.
pub fn manifest_id(corpus: &Path) -> String {
    match std::fs::read(corpus.join("kb.toml")) {
        Ok(b) => blake3::hash(&b).to_hex().to_string(),
        Err(_) => "none".into(),
    }
}

impl Previous {
    /// Reads the previous build of `corpus` in `out`; `Err` says why it
    /// cannot be used (then the build is a full one).
    pub fn load(out: &Path, corpus: &Path) -> std::result::Result<Previous, String> {
        let cache = read_cache(out, corpus)?;
        let rpath = out.join(RECORDS_FILE);
        let records = Mapped::open(&rpath).map_err(|e| format!("previous {RECORDS_FILE} unusable: {e}"))?;
        let (documents, spans, snapshot, blocks) = match read_snapshot(out, &cache, &records) {
            Ok(read) => read,
            Err(why) => {
                crate::trace(&format!("parse: snapshot unusable ({why})"), std::time::Instant::now());
                let (documents, spans) = read_documents(out, &cache, &records)?;
                (documents, spans, Mapped::default(), HashMap::new())
            }
        };
        let documents = Mutex::new(documents);
        Ok(Previous { out: out.to_path_buf(), cache, documents, records, spans, snapshot, blocks })
    }

    /// The previous build handed over in memory by the same process
    /// ([`crate::build_keeping`]): its documents are taken as they are
    /// instead of being read back from `records.jsonl`, as long as the
    /// output folder still holds that build (same build cache).
    pub fn from_kept(out: &Path, corpus: &Path, kept: Kept) -> std::result::Result<Previous, String> {
        let cache = read_cache(out, corpus)?;
        if cache != kept.cache {
            return Err("the output folder changed since the last build".into());
        }
        let rpath = out.join(RECORDS_FILE);
        let records = Mapped::open(&rpath).map_err(|e| format!("previous {RECORDS_FILE} unusable: {e}"))?;
        let spans = record_spans(&records, kept.documents.iter().map(|d| (d.path.as_str(), d.records.len())))?;
        let documents = kept.documents.into_iter().map(|d| (d.path.clone(), d)).collect();
        let documents = Mutex::new(documents);
        // The previous snapshot's blocks, to copy for unchanged documents
        // (a snapshot block's document is checked by path and cached hash
        // like the records' lines; an unusable snapshot means encoding again).
        let snapshot = Mapped::open(&out.join(crate::snapshot::SNAPSHOT_FILE)).unwrap_or_default();
        let blocks: HashMap<_, _> = crate::snapshot::blocks(&snapshot).unwrap_or_default().into_iter().collect();
        Ok(Previous { out: out.to_path_buf(), cache, documents, records, spans, snapshot, blocks })
    }

    /// The lines of the previous `records.jsonl` for the document at
    /// `path`, if it had one with this `hash`: byte for byte what
    /// serialising its records again would give.
    pub fn record_lines(&self, path: &str, hash: &str) -> Option<&[u8]> {
        if self.cache.documents.get(path).map(String::as_str) != Some(hash) {
            return None;
        }
        self.spans.get(path).and_then(|r| self.records.get(r.clone()))
    }

    /// The block of the previous snapshot for the document at `path`, if
    /// it had one with this `hash` (see [`crate::snapshot`]).
    pub(crate) fn snapshot_block(&self, path: &str, hash: &str) -> Option<&[u8]> {
        if self.cache.documents.get(path).map(String::as_str) != Some(hash) {
            return None;
        }
        self.blocks.get(path).and_then(|r| self.snapshot.get(r.clone()))
    }

    /// Frees the previous `records.jsonl` and snapshot (after
    /// [`Previous::record_lines`] and [`Previous::snapshot_block`] are no longer needed).
    pub fn release_records(&mut self) {
        self.records = Mapped::default();
        self.spans = HashMap::new();
        self.snapshot = Mapped::default();
        self.blocks = HashMap::new();
    }

    /// The previous parse of `path` if its bytes hashed to `hash`.
    pub fn take(&self, path: &str, hash: &str) -> Option<Document> {
        if self.cache.documents.get(path).map(String::as_str) != Some(hash) {
            return None;
        }
        let mut docs = self.documents.lock().expect("not poisoned");
        docs.remove(path).filter(|d| d.hash == hash)
    }
}

/// What one build hands to the next in the same process (`kb watch`): its
/// parsed documents and its build cache, and the rules it made.
#[derive(Debug, Default)]
pub struct Kept {
    pub(crate) cache: Cache,
    pub(crate) documents: Vec<Document>,
    /// The build's rules (what `rules.json` holds), for the caller to take;
    /// the next build does not need them.
    pub rules: Option<kb_model::rules::RuleSet>,
}

/// Reads `out`'s build cache and checks that this kb can use it for `corpus`.
fn read_cache(out: &Path, corpus: &Path) -> std::result::Result<Cache, String> {
    let path = out.join(CACHE_FILE);
    let bytes = std::fs::read(&path).map_err(|e| format!("no build cache ({e})"))?;
    let cache: Cache = serde_json::from_slice(&bytes).map_err(|e| format!("unreadable build cache: {e}"))?;
    if cache.format != CACHE_FORMAT {
        return Err(format!("build cache format {} (this kb writes {CACHE_FORMAT})", cache.format));
    }
    if cache.tool != tool_id() {
        return Err("build cache written by another kb binary".into());
    }
    if cache.manifest != manifest_id(corpus) {
        return Err("kb.toml changed".into());
    }
    Ok(cache)
}

/// Cuts `records.jsonl` into each document's lines (one pass of memchr),
/// given the documents' paths and record counts in file order.
fn record_spans<'a>(
    bytes: &[u8],
    documents: impl Iterator<Item = (&'a str, usize)>,
) -> std::result::Result<HashMap<String, std::ops::Range<usize>>, String> {
    let mut spans = HashMap::new();
    let mut at = 0usize;
    for (path, n) in documents {
        let start = at;
        for _ in 0..n {
            let nl =
                memchr::memchr(b'\n', &bytes[at..]).ok_or_else(|| format!("previous {RECORDS_FILE} ends early"))?;
            at += nl + 1;
        }
        spans.insert(path.to_string(), start..at);
    }
    if at != bytes.len() {
        return Err(format!("previous {RECORDS_FILE} has more lines than its documents"));
    }
    Ok(spans)
}

type Documents = (HashMap<String, Document>, HashMap<String, std::ops::Range<usize>>);
/// [`Documents`], the snapshot's bytes and each document's block in them.
type FromSnapshot = (
    HashMap<String, Document>,
    HashMap<String, std::ops::Range<usize>>,
    Mapped,
    HashMap<String, std::ops::Range<usize>>,
);

/// The previous documents, from the binary snapshot ([`crate::snapshot`]),
/// checked against the build cache (same documents, same hashes) and
/// against `records.jsonl` (each document's number of lines, and its first
/// line being its first record).
fn read_snapshot(out: &Path, cache: &Cache, records: &[u8]) -> std::result::Result<FromSnapshot, String> {
    let bytes = Mapped::open(&out.join(crate::snapshot::SNAPSHOT_FILE)).map_err(|e| e.to_string())?;
    let docs = crate::snapshot::decode(&bytes)?;
    if docs.len() != cache.documents.len() {
        return Err("not the cached documents".into());
    }
    for (d, _) in &docs {
        if cache.documents.get(&d.path) != Some(&d.hash) {
            return Err(format!("does not match the build cache at {}", d.path));
        }
    }
    let spans = record_spans(records, docs.iter().map(|(d, _)| (d.path.as_str(), d.records.len())))?;
    for (d, _) in &docs {
        if let Some(first) = d.records.first() {
            let line = &records[spans[&d.path].clone()];
            let head = format!("{{\"id\":{}", serde_json::to_string(&first.id).expect("a string serialises"));
            if !line.starts_with(head.as_bytes()) {
                return Err(format!("out of step with {RECORDS_FILE} at {}", d.path));
            }
        }
    }
    let mut blocks = HashMap::with_capacity(docs.len());
    let mut map = HashMap::with_capacity(docs.len());
    for (d, block) in docs {
        blocks.insert(d.path.clone(), block);
        map.insert(d.path.clone(), d);
    }
    Ok((map, spans, bytes, blocks))
}

/// The previous documents, rebuilt from `documents.json` and the bytes of `records.jsonl`.
fn read_documents(out: &Path, cache: &Cache, bytes: &[u8]) -> std::result::Result<Documents, String> {
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        path: String,
        lang: kb_model::Lang,
        lang_source: kb_model::LangSource,
        title: String,
        encoding: String,
        hash: String,
        lines: u32,
        bytes: u64,
        records: usize,
    }
    #[derive(Deserialize)]
    struct Docs {
        documents: Vec<Entry>,
    }
    let dpath = out.join("documents.json");
    let docs: Docs = std::fs::read(&dpath)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("previous documents.json unusable: {e}"))?;
    for e in &docs.documents {
        if cache.documents.get(&e.path) != Some(&e.hash) {
            return Err(format!("previous output does not match its cache at {}", e.path));
        }
    }
    // Cut the file into each document's lines, then decode the documents in
    // parallel straight from the bytes.
    let spans = record_spans(bytes, docs.documents.iter().map(|e| (e.path.as_str(), e.records)))?;
    let chunks: Vec<(Entry, &[u8])> = docs
        .documents
        .into_iter()
        .map(|e| {
            let span = spans[&e.path].clone();
            (e, &bytes[span])
        })
        .collect();
    let decoded: Vec<std::result::Result<Document, String>> = chunks
        .into_par_iter()
        .map(|(e, lines_of)| {
            let mut records: Vec<Record> = Vec::with_capacity(e.records);
            for line in lines_of.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let r: Record =
                    serde_json::from_slice(line).map_err(|err| format!("previous {RECORDS_FILE}: {err}"))?;
                if r.doc != e.id {
                    return Err(format!("previous {RECORDS_FILE} out of step at document {}", e.id));
                }
                records.push(r);
            }
            Ok(Document {
                id: e.id,
                path: e.path,
                lang: e.lang,
                lang_source: e.lang_source,
                title: e.title,
                encoding: e.encoding,
                hash: e.hash,
                line_count: e.lines,
                bytes: e.bytes,
                records,
            })
        })
        .collect();
    let mut map = HashMap::with_capacity(decoded.len());
    for d in decoded {
        let d = d?;
        map.insert(d.path.clone(), d);
    }
    Ok((map, spans))
}

/// Finds what the build may reuse of the previous one (unless `--full`): the
/// documents the same process kept ([`Kept`]), else the previous output
/// folder; a note says why a build cache was not usable.
pub(crate) fn load_previous(cx: &mut BuildContext) {
    let kept = cx.kept.take();
    if cx.full {
        return;
    }
    let t = std::time::Instant::now();
    let previous = match kept {
        Some(k) => Previous::from_kept(&cx.out_dir, &cx.corpus_dir, k).or_else(|why| {
            crate::trace(&format!("parse: kept state unusable ({why})"), t);
            Previous::load(&cx.out_dir, &cx.corpus_dir)
        }),
        None => Previous::load(&cx.out_dir, &cx.corpus_dir),
    };
    match previous {
        Ok(p) => cx.previous = Some(p),
        Err(why) if cx.out_dir.join(CACHE_FILE).exists() => cx.notes.push(format!("full build: {why}")),
        Err(_) => {}
    }
}

/// Loads the corpus for the parse stage, reusing the previous build's
/// documents when `cx.previous` has them, and records in `cx.changes` what
/// had to be parsed.
pub(crate) fn load_corpus(cx: &mut BuildContext) -> Result<kb_parse::Corpus> {
    let Some(prev) = &cx.previous else {
        let mut corpus = kb_parse::load_corpus(&cx.corpus_dir)?;
        cx.cache.stats = std::mem::take(&mut corpus.stats);
        return Ok(corpus);
    };
    let known = |path: &str, stat: &str| {
        (prev.cache.stats.get(path).map(String::as_str) == Some(stat))
            .then(|| prev.cache.documents.get(path).cloned())
            .flatten()
    };
    let mut corpus = kb_parse::load_corpus_incremental(&cx.corpus_dir, &known, &|path, hash| prev.take(path, hash))?;
    cx.cache.stats = std::mem::take(&mut corpus.stats);
    let mut left = prev.documents.lock().expect("not poisoned");
    let mut changes = Changes::default();
    for d in &corpus.documents {
        let was = prev.cache.documents.get(&d.path);
        if was == Some(&d.hash) && !left.contains_key(&d.path) {
            changes.reused += 1;
        } else {
            changes.parsed.push(d.path.clone());
        }
    }
    let now: std::collections::HashSet<&str> = corpus.documents.iter().map(|d| d.path.as_str()).collect();
    changes.removed = prev.cache.documents.keys().filter(|p| !now.contains(p.as_str())).cloned().collect();
    // What is left are removed documents: free them now.
    left.clear();
    left.shrink_to_fit();
    drop(left);
    cx.changes = Some(changes);
    Ok(corpus)
}

/// The cache describing the build in `cx`, for the next build.
pub(crate) fn cache_of(cx: &BuildContext) -> Cache {
    let mut c = cx.cache.clone();
    c.format = CACHE_FORMAT;
    c.tool = tool_id();
    c.manifest = manifest_id(&cx.corpus_dir);
    c.documents = cx.documents.iter().map(|d| (d.path.clone(), d.hash.clone())).collect();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_keeping, BuildOptions};

    /// A copy of the shipped corpus in `dir`.
    fn corpus_copy(dir: &Path) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
        let dst = dir.join("corpus");
        for lang in ["zh", "en"] {
            std::fs::create_dir_all(dst.join(lang)).unwrap();
            for e in std::fs::read_dir(src.join(lang)).unwrap().flatten() {
                std::fs::copy(e.path(), dst.join(lang).join(e.file_name())).unwrap();
            }
        }
        dst
    }

    #[test]
    fn kept_documents_are_reused_from_memory_and_give_what_a_full_build_gives() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = corpus_copy(dir.path());
        let out = dir.path().join("out");
        let opts = BuildOptions::new(&corpus, &out);
        let (first, kept) = build_keeping(&opts, None).unwrap();
        assert!(first.changes.is_none(), "nothing to reuse the first time");
        assert_eq!(kept.documents.len(), 5);

        let edited = corpus.join("zh/blueking-partner-overview.md");
        let text = std::fs::read_to_string(&edited).unwrap();
        std::fs::write(&edited, format!("{text}\n补充：注册资本不低于人民币300万元。\n")).unwrap();
        let (second, kept) = build_keeping(&opts, Some(kept)).unwrap();
        let c = second.changes.as_ref().expect("incremental");
        assert_eq!(c.parsed, ["zh/blueking-partner-overview.md"]);
        assert_eq!(c.reused, 4);

        let clean = dir.path().join("clean");
        let mut full = BuildOptions::new(&corpus, &clean);
        full.full = true;
        crate::build(&full).unwrap();
        for f in ["records.jsonl", "documents.json", CACHE_FILE, crate::snapshot::SNAPSHOT_FILE] {
            assert!(std::fs::read(out.join(f)).unwrap() == std::fs::read(clean.join(f)).unwrap(), "{f} differs");
        }

        // Kept state the output folder no longer matches (another build ran
        // in between) is not trusted: the build reads the folder instead.
        std::fs::write(&edited, text).unwrap();
        crate::build(&opts).unwrap();
        std::fs::write(&edited, "# 另一个版本\n\n注册资本不低于人民币500万元。\n").unwrap();
        let (third, _) = build_keeping(&opts, Some(kept)).unwrap();
        assert_eq!(third.changes.as_ref().unwrap().parsed, ["zh/blueking-partner-overview.md"]);
        crate::build(&full).unwrap();
        let records = std::fs::read(out.join(crate::RECORDS_FILE)).unwrap();
        assert!(records == std::fs::read(clean.join(crate::RECORDS_FILE)).unwrap());
    }

    #[test]
    fn the_snapshot_gives_what_records_jsonl_gives_and_a_stale_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = corpus_copy(dir.path());
        let out = dir.path().join("out");
        crate::build(&BuildOptions::new(&corpus, &out)).unwrap();
        let cache = read_cache(&out, &corpus).unwrap();
        let records = std::fs::read(out.join(RECORDS_FILE)).unwrap();
        let (from_snapshot, spans, _, _) = read_snapshot(&out, &cache, &records).unwrap();
        let (from_json, json_spans) = read_documents(&out, &cache, &records).unwrap();
        assert_eq!(from_snapshot, from_json);
        assert_eq!(spans, json_spans);
        assert!(from_json.values().map(|d| d.records.len()).sum::<usize>() > 100);

        // A snapshot of other documents than the cache's is refused.
        let mut other = cache.clone();
        let first = other.documents.keys().next().unwrap().clone();
        other.documents.insert(first, "0000".into());
        assert!(read_snapshot(&out, &other, &records).unwrap_err().contains("does not match the build cache"));
        // So is one out of step with records.jsonl.
        let mut shifted = records.clone();
        let nl = memchr::memchr(b'\n', &shifted).unwrap();
        shifted.drain(..=nl);
        shifted.extend_from_slice(&records[..=nl]);
        assert!(read_snapshot(&out, &cache, &shifted).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn unchanged_files_are_known_by_their_stat_and_an_edit_of_the_same_size_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = corpus_copy(dir.path());
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut files = Vec::new();
        for lang in ["zh", "en"] {
            for e in std::fs::read_dir(corpus.join(lang)).unwrap().flatten() {
                std::fs::File::options().write(true).open(e.path()).unwrap().set_modified(hour_ago).unwrap();
                files.push(e.path());
            }
        }
        let out = dir.path().join("out");
        crate::build(&BuildOptions::new(&corpus, &out)).unwrap();
        let cache = read_cache(&out, &corpus).unwrap();
        assert_eq!(cache.stats.len(), files.len(), "every settled file has its stat key");
        assert_eq!(cache.stats.keys().collect::<Vec<_>>(), cache.documents.keys().collect::<Vec<_>>());

        // Same size, new bytes, written just now: the stat differs, the file is read.
        let edited = files.iter().find(|p| std::fs::read_to_string(p).unwrap().contains('1')).unwrap();
        let text = std::fs::read_to_string(edited).unwrap();
        std::fs::write(edited, text.replacen('1', "7", 1)).unwrap();
        crate::build(&BuildOptions::new(&corpus, &out)).unwrap();
        let rel = edited.strip_prefix(&corpus).unwrap().to_str().unwrap().to_string();
        let again = read_cache(&out, &corpus).unwrap();
        assert_ne!(again.documents[&rel], cache.documents[&rel], "the edit was seen");
        assert!(!again.stats.contains_key(&rel), "a file written just now is not trusted by its stat");
        assert_eq!(again.stats.len(), files.len() - 1);
        let records = std::fs::read_to_string(out.join(RECORDS_FILE)).unwrap();
        let clean = dir.path().join("clean");
        crate::build(&BuildOptions::new(&corpus, &clean)).unwrap();
        assert_eq!(records, std::fs::read_to_string(clean.join(RECORDS_FILE)).unwrap());
    }
}
