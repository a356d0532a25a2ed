//! kb stage 2: align Chinese and English documents, their sections and their
//! records, and report where the two versions drift apart.
//!
//! # Brief overview
//! * **Documents** ([`docs`]): candidate zh×en pairs are *blocked* on shared
//!   rare keys (numbers, link targets, images, relative path, lexicon
//!   concepts, table shapes) so a large corpus is never compared in full;
//!   each candidate is scored from language-independent evidence and pairs
//!   are taken greedily by score, one counterpart per document. A score of
//!   at least [`docs::TRANSLATION`] reads as a translation, one between
//!   [`docs::LOOSE`] and that as a loose counterpart, whose records then pair
//!   only on shared content. `kb.toml` `[[pair]]` / `[[forbid]]` override.
//! * **Sections and records** ([`pairs`]): the heading sequences are aligned
//!   by dynamic programming ([`dp`]: 1–1, 1–0, 0–1, 2–1, 1–2 beads), then the
//!   records inside each aligned section with a Gale–Church length model
//!   plus anchors ([`features`]; table rows cell by cell); rows or items that
//!   moved are paired afterwards when their content clearly agrees.
//! * **Drift**: numbers on one side only, records and sections without
//!   counterpart, item numbering that differs (`4.` vs `1.`), links to
//!   different targets.
//! * The bilingual lexicon ([`lexicon`]) is data: `data/lexicon.tsv`.
//! * **Incremental** ([`store`]): a rebuild takes each unchanged document's
//!   pairing summary and each unchanged document pair's alignment from the
//!   previous build's `cache/align.bin`, and gives the same bytes as a full
//!   alignment.
//!
//! Output is deterministic: pairs are sorted, scores rounded to 3 decimals.
//! `alignment.json` ([`to_json`]) holds one pairing (or drift item) a line.
//!
//! ```
//! use kb_align::synth;
//! let (zh, en) = synth::pair(0, &synth::Shape::default(), &synth::Edits::default(), 1);
//! let a = kb_align::align(&[zh, en], &Default::default());
//! assert_eq!(a.documents.len(), 1);
//! assert!(a.documents[0].confidence > 0.6);
//! ```

pub mod docs;
pub mod dp;
pub mod fasthash;
pub mod features;
pub mod lexicon;
pub mod pairs;
pub mod profile;
pub mod store;
pub mod synth;

use kb_model::alignment::Alignment;
use kb_model::manifest::Manifest;
use kb_model::{Document, Lang};
use rayon::prelude::*;

use crate::lexicon::Lexicon;
use crate::profile::{Profile, Summary};

/// The alignment file inside an output folder.
pub const ALIGNMENT_FILE: &str = "alignment.json";

/// Errors of the align stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `kb.toml` names a document that is not in the corpus.
    #[error("kb.toml [[{table}]] names {lang} document {id:?}, which is not in the corpus (document ids are paths without extension, e.g. \"zh/guide\"){hint}")]
    UnknownDocument {
        /// `pair` or `forbid`.
        table: &'static str,
        /// The language side it was named on.
        lang: Lang,
        /// The id.
        id: String,
        /// A suggestion, if a close id exists.
        hint: String,
    },
    /// `kb.toml` names a document on the wrong side of a pairing.
    #[error("kb.toml [[{table}]] names {id:?} as its {expected} document, but that document is {actual}")]
    WrongLanguage {
        /// `pair` or `forbid`.
        table: &'static str,
        /// The id.
        id: String,
        /// The side it was named on.
        expected: Lang,
        /// Its language.
        actual: Lang,
    },
    /// `kb.toml` forces and forbids the same pairing, or pairs a document twice.
    #[error("kb.toml: {0}")]
    Conflict(String),
}

/// Result of the align stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Counts describing one alignment run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Chinese documents.
    pub zh_documents: usize,
    /// English documents.
    pub en_documents: usize,
    /// zh×en pairs scored after blocking (out of zh × en possible).
    pub scored_pairs: usize,
}

/// An alignment and how it was reached.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The alignment.
    pub alignment: Alignment,
    /// Counts.
    pub stats: Stats,
}

/// Checks that the manifest's `[[pair]]` / `[[forbid]]` entries name
/// documents of the corpus, on the right language side, without conflicts.
pub fn check_manifest(docs: &[Document], manifest: &Manifest) -> Result<()> {
    let lang_of = |id: &str| docs.iter().find(|d| d.id == id).map(|d| d.lang);
    for (table, list) in [("pair", &manifest.pair), ("forbid", &manifest.forbid)] {
        for p in list {
            for (id, lang) in [(&p.zh, Lang::Zh), (&p.en, Lang::En)] {
                match lang_of(id) {
                    None => {
                        let stem = id.rsplit('/').next().unwrap_or(id);
                        let hint = docs
                            .iter()
                            .find(|d| d.lang == lang && d.id.rsplit('/').next() == Some(stem))
                            .map(|d| format!("; did you mean {:?}?", d.id))
                            .unwrap_or_default();
                        return Err(Error::UnknownDocument { table, lang, id: id.clone(), hint });
                    }
                    Some(actual) if actual != lang => {
                        return Err(Error::WrongLanguage { table, id: id.clone(), expected: lang, actual });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    for p in &manifest.pair {
        if manifest.forbid.contains(p) {
            return Err(Error::Conflict(format!("{} ↔ {} is both in [[pair]] and in [[forbid]]", p.zh, p.en)));
        }
        let twice = manifest.pair.iter().filter(|q| q.zh == p.zh || q.en == p.en).count();
        if twice > 1 {
            return Err(Error::Conflict(format!(
                "[[pair]] pairs {} or {} more than once; a document has one counterpart",
                p.zh, p.en
            )));
        }
    }
    Ok(())
}

/// Aligns the documents (entries of the manifest that name unknown
/// documents are ignored; see [`check_manifest`]).
pub fn align(docs: &[Document], manifest: &Manifest) -> Alignment {
    align_with_stats(docs, manifest).alignment
}

/// Aligns the documents and says how much work it took.
pub fn align_with_stats(docs: &[Document], manifest: &Manifest) -> Outcome {
    let lex = Lexicon::shipped();
    let profiles: Vec<Profile<'_>> = docs.par_iter().map(|d| Profile::new(d, lex)).collect();
    let summaries: Vec<Summary> = profiles.par_iter().map(|p| p.summary(lex)).collect();
    let pairing = docs::pair(&summaries, manifest);
    let per_pair: Vec<pairs::PairAlignment> = pairing
        .pairs
        .par_iter()
        .map(|(z, e, dp)| pairs::align_pair(&profiles[*z], &profiles[*e], dp.confidence))
        .collect();
    let mut alignment = Alignment {
        documents: pairing.pairs.into_iter().map(|(_, _, p)| p).collect(),
        unpaired_documents: pairing.unpaired,
        ..Alignment::default()
    };
    for pa in per_pair {
        alignment.sections.extend(pa.sections);
        alignment.records.extend(pa.records);
        alignment.drift.extend(pa.drift);
    }
    let stats = Stats {
        zh_documents: docs.iter().filter(|d| d.lang == Lang::Zh).count(),
        en_documents: docs.iter().filter(|d| d.lang == Lang::En).count(),
        scored_pairs: pairing.scored,
    };
    Outcome { alignment, stats }
}

#[cfg(test)]
mod tests;

/// With `KB_TRACE` set, prints how long a phase took to stderr (as `kb
/// build` does).
pub(crate) fn trace(what: &str, since: std::time::Instant) {
    if std::env::var_os("KB_TRACE").is_some() {
        eprintln!("kb trace: {what:<24} {:>8.3}s", since.elapsed().as_secs_f64());
    }
}

/// `alignment.json` as bytes: one JSON object with the arrays
/// `documents`, `sections`, `records`, `unpaired_documents` and `drift`,
/// one item a line (so the file stays greppable and diffs line by line),
/// serialised in parallel.
pub fn to_json(a: &Alignment) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate_json_len(a));
    out.extend_from_slice(b"{\n");
    array(&mut out, "documents", &a.documents, false);
    array(&mut out, "sections", &a.sections, false);
    array(&mut out, "records", &a.records, false);
    array(&mut out, "unpaired_documents", &a.unpaired_documents, false);
    array(&mut out, "drift", &a.drift, true);
    out.extend_from_slice(b"}\n");
    out
}

/// Writes `alignment.json` (see [`to_json`]).
pub fn write_json(a: &Alignment, w: &mut impl std::io::Write) -> std::io::Result<()> {
    w.write_all(&to_json(a))
}

fn estimate_json_len(a: &Alignment) -> usize {
    a.documents.len() * 600 + a.sections.len() * 400 + a.records.len() * 200 + a.drift.len() * 250 + 1024
}

/// `"name": [` + one item a line + `]`, then `,` unless `last`.
pub(crate) fn array<T: serde::Serialize + Sync>(out: &mut Vec<u8>, name: &str, items: &[T], last: bool) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\": [");
    const CHUNK: usize = 2048;
    let chunks: Vec<Vec<u8>> = items
        .par_chunks(CHUNK)
        .map(|c| {
            let mut buf = Vec::with_capacity(c.len() * 160);
            for item in c {
                buf.extend_from_slice(b"\n");
                serde_json::to_writer(&mut buf, item).expect("alignment items serialise");
                buf.push(b',');
            }
            buf
        })
        .collect();
    for c in &chunks {
        out.extend_from_slice(c);
    }
    if !items.is_empty() {
        // The last item takes no comma; the closing bracket goes on a line of its own.
        out.pop();
        out.push(b'\n');
    }
    out.extend_from_slice(if last { b"]\n" } else { b"],\n" });
}
