//! The build cache: what a rebuild may take from the previous output.
//!
//! Every build leaves [`CACHE_FILE`] in its output folder: the blake3 of
//! each source document's bytes, the key of each document's indexed form
//! and of each document page, and the identity of the kb binary and of
//! `kb.toml`. The next build (unless `--full`) reads it together with the
//! previous `documents.json` and `records.jsonl`, and then
//! * parses again only the documents whose bytes changed (the others are
//!   read back from the previous records),
//! * updates a copy of the previous search index by deleting and adding only
//!   the records of documents whose indexed form changed,
//! * renders only the document pages whose inputs changed, hard-linking the
//!   others from the previous `site/`.
//!
//! Alignment and rules are always computed afresh over all documents (both
//! compare documents with each other; see the README for what that costs).
//! A missing, unreadable or mismatched cache (other kb binary, other
//! `kb.toml`, records that do not match it) just means a full build.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// Document id → key of its indexed form (see [`kb_index::update_index`]).
    pub index: BTreeMap<String, String>,
    /// Document id → key of its page (see [`kb_publish::render_site_incremental`]).
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
        let documents = read_documents(out, &cache)?;
        Ok(Previous { out: out.to_path_buf(), cache, documents: Mutex::new(documents) })
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

/// The previous documents, rebuilt from `documents.json` and `records.jsonl`.
fn read_documents(out: &Path, cache: &Cache) -> std::result::Result<HashMap<String, Document>, String> {
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
    let rpath = out.join(RECORDS_FILE);
    let f = std::fs::File::open(&rpath).map_err(|e| format!("previous {RECORDS_FILE} unusable: {e}"))?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, f).lines();
    // Read each document's lines in order, then decode them in parallel.
    let mut chunks: Vec<(Entry, Vec<String>)> = Vec::with_capacity(docs.documents.len());
    for e in docs.documents {
        if cache.documents.get(&e.path) != Some(&e.hash) {
            return Err(format!("previous output does not match its cache at {}", e.path));
        }
        let mut lines_of = Vec::with_capacity(e.records);
        for _ in 0..e.records {
            let line = lines
                .next()
                .ok_or_else(|| format!("previous {RECORDS_FILE} ends early"))?
                .map_err(|e| format!("reading previous {RECORDS_FILE}: {e}"))?;
            lines_of.push(line);
        }
        chunks.push((e, lines_of));
    }
    let decoded: Vec<std::result::Result<Document, String>> = chunks
        .into_par_iter()
        .map(|(e, lines_of)| {
            let mut records: Vec<Record> = Vec::with_capacity(lines_of.len());
            for line in lines_of {
                let r: Record = serde_json::from_str(&line).map_err(|err| format!("previous {RECORDS_FILE}: {err}"))?;
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
    Ok(map)
}

/// Loads the corpus for the parse stage, reusing the previous build's
/// documents when `cx.previous` has them, and records in `cx.changes` what
/// had to be parsed.
pub(crate) fn load_corpus(cx: &mut BuildContext) -> Result<kb_parse::Corpus> {
    let Some(prev) = &cx.previous else {
        return Ok(kb_parse::load_corpus(&cx.corpus_dir)?);
    };
    let corpus = kb_parse::load_corpus_reusing(&cx.corpus_dir, &|path, hash| prev.take(path, hash))?;
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
