//! kb stage 4: a full-text index over every record, searched in Chinese and
//! English.
//!
//! # Brief overview
//! * [`update_index`] writes a tantivy index into a folder (`out/index/`),
//!   one document per [`kb_model::Record`], with the record's aligned
//!   counterpart and the subjects and scopes of the rules cut from it, and a
//!   `kb-index.json` ([`IndexMeta`]) that holds the [`fingerprint`] of the
//!   `records.jsonl` it was built from. The records themselves are not copied
//!   into the index: it keeps where each record's line is in that
//!   `records.jsonl`, and a search reads its hits from there. Given the
//!   previous build's index it deletes and re-adds only the documents whose
//!   indexed form changed. [`build_index`] does the same for records in
//!   memory, writing them to a `records.jsonl` of its own.
//! * [`SearchIndex::open`] opens the index of a build output folder and
//!   refuses (with the command to run) when it is missing or stale; opening
//!   never builds anything.
//! * [`SearchIndex::search`] parses a query in tantivy's syntax (phrases,
//!   `AND`/`OR`/`-`, `field:value`), filters by language, kind and document,
//!   and returns ranked [`Hit`]s with a highlighted [`Snippet`] and the
//!   counterpart record in the other language. Scores use BM25 statistics
//!   of the live records only and ties rank in the documents' present
//!   order, so an index an incremental build updated answers exactly as a
//!   fresh one (`stats.rs`, `order.rs`).
//! * [`analysis`] is how text becomes terms: jieba for Han text (loaded
//!   lazily, only when Han text is met), lower-cased and stemmed words for
//!   the rest. See [`schema`] for the fields.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let doc = kb_parse::parse_document("zh/a.md", "### 条件\n1、注册资本100万元以上；\n", None)?;
//! let dir = tempfile::tempdir()?;
//! kb_index::build_index(&dir.path().join("index"), &doc.records, None, None, &Default::default())?;
//! let index = kb_index::SearchIndex::open_dir(&dir.path().join("index"))?;
//! let found = index.search(&kb_index::SearchOptions::new("资本"))?;
//! assert_eq!(found.hits[0].record.lines, [2, 2]);
//! assert_eq!(found.hits[0].snippet.marked("[", "]"), "注册[资本]100万元以上；");
//! # Ok(()) }
//! ```

pub mod analysis;
mod baseline;
mod build;
mod dir;
mod keys;
mod order;
mod query;
mod records;
pub mod schema;
mod search;
mod stats;
mod update;

use std::path::PathBuf;

pub use analysis::{jieba_loaded, load_jieba_in_background};
pub use baseline::{baseline_index, BaselineStats, PlainFile};
pub use build::{build_index, indexed_text, BuildMeta, DocEntry, IndexMeta};
pub use search::{Counterpart, Hit, SearchIndex, SearchOptions, SearchResults, Snippet};
pub use update::{update_index, IndexReuse, RecordsSource, Updated};

/// The index folder inside a build output folder.
pub const INDEX_DIR: &str = "index";
/// The records file of a build output folder, whose fingerprint the index keeps.
pub const RECORDS_FILE: &str = "records.jsonl";
/// The file in the index folder that describes the build.
pub const META_FILE: &str = "kb-index.json";
/// The index layout version written by this crate (2: records are read
/// from `records.jsonl`, not stored in the index; 3: `doc` is a fast field
/// and `ord` the record's ordinal in its document, so that ties rank in the
/// documents' present order).
pub const INDEX_FORMAT: u32 = 3;

/// The fingerprint of a `records.jsonl`: `blake3:` and the hex digest of its bytes.
pub fn fingerprint(records_jsonl: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(records_jsonl).to_hex())
}

/// [`fingerprint`] of a file, read in pieces (a `records.jsonl` of a large
/// corpus is hundreds of MB; it is never held in memory whole).
pub fn fingerprint_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(format!("blake3:{}", h.finalize().to_hex()))
}

/// Errors of building or searching the index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The output folder has no `records.jsonl`.
    #[error("no build output in {} (no records.jsonl); run `{rebuild}`", out.display())]
    NoBuild {
        /// The output folder.
        out: PathBuf,
        /// The command that builds it.
        rebuild: String,
    },
    /// The output folder has no index.
    #[error("no search index in {} (the build that wrote it had no index stage); run `{rebuild}`", dir.display())]
    NoIndex {
        /// The index folder.
        dir: PathBuf,
        /// The command that builds it.
        rebuild: String,
    },
    /// The index does not match the records next to it.
    #[error("search index {} is out of date: {reason}; run `{rebuild}`", dir.display())]
    Stale {
        /// The index folder.
        dir: PathBuf,
        /// Why it is out of date.
        reason: String,
        /// The command that rebuilds it.
        rebuild: String,
    },
    /// The query cannot be understood.
    #[error("invalid query {query:?}: {message}")]
    Query {
        /// The query as given.
        query: String,
        /// What is wrong with it.
        message: String,
    },
    /// `--doc` names no indexed document.
    #[error("no indexed document matches {doc:?}; documents: {}", known.join(", "))]
    UnknownDoc {
        /// What was asked for.
        doc: String,
        /// The documents there are.
        known: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The records file does not hold the records being indexed.
    #[error("{} does not match the records being indexed (line {line}: {reason})", path.display())]
    RecordsMismatch {
        /// The records file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// `kb-index.json` is malformed.
    #[error("malformed index description {}: {source}", path.display())]
    Meta {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// tantivy failed.
    #[error("{what} {}: {source}", path.display())]
    Tantivy {
        /// What was being done.
        what: &'static str,
        /// On which index folder.
        path: PathBuf,
        /// Why.
        source: tantivy::TantivyError,
    },
}

/// Result of index operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
