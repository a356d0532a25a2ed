//! kb stage 1: parse Markdown policy documents into typed, lossless records.
//!
//! # Brief overview
//! * [`load_corpus`] reads every `.md` / `.markdown` / `.txt` file under a
//!   corpus folder (and its `kb.toml`), decoding GBK/GB18030 when a file is
//!   not UTF-8, and parses each with [`parse_document`].
//! * [`parse_document`] turns one document's text into [`kb_model::Record`]s:
//!   pulldown-cmark reads the Markdown (with offsets, so every record knows its
//!   source lines), scraper reads inline HTML tables (rowspan/colspan
//!   resolved), and a few rules of our own recognise what CommonMark does not:
//!   `1、` items on consecutive lines, `>?` / `>!` callouts, `步骤一` / `Step 1.`
//!   steps, question headings.
//! * Every non-blank source line belongs to exactly one record
//!   ([`check_lossless`] proves it for a parsed document).
//!
//! ```
//! let doc = kb_parse::parse_document("zh/a.md", "### 条件\n1、注册资本100万元以上；\n", None).unwrap();
//! assert_eq!(doc.records[1].kind, kb_model::RecordKind::Requirement);
//! assert_eq!(doc.records[1].lines, [2, 2]);
//! ```

mod classify;
mod corpus;
mod html;
mod lang;
mod markdown;
#[cfg(test)]
mod tests;

pub use corpus::{
    decode, load_corpus, load_corpus_incremental, load_corpus_reusing, stat_key, Corpus, Known, Reuse, MAX_FILE_BYTES,
};
pub use lang::detect_lang;
pub use markdown::{check_lossless, parse_document};

use std::path::PathBuf;

/// Errors of the parse stage. Each names the file, and the line where one applies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The corpus folder cannot be read.
    #[error("cannot read corpus folder {}: {source}", path.display())]
    Corpus {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The corpus folder holds no documents.
    #[error("no documents (*.md, *.markdown, *.txt) in corpus folder {}", path.display())]
    NoDocuments {
        /// The folder.
        path: PathBuf,
    },
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's contents are unusable.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (1 when the problem is the whole file).
        line: u32,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn invalid(path: impl Into<PathBuf>, line: u32, message: impl Into<String>) -> Error {
        Error::Invalid { path: path.into(), line, message: message.into() }
    }
}

/// Result of parsing.
pub type Result<T, E = Error> = std::result::Result<T, E>;
