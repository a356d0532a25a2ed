//! The data types every stage of kb shares.
//!
//! kb turns bilingual (Chinese + English) policy documents into a knowledge
//! base in five stages: parse → align → rules → index → publish. Each stage is
//! its own crate; all of them speak in the types defined here, so that a stage
//! can be tested alone and the files they write (`records.jsonl`,
//! `alignment.json`, `rules.json`) have one definition.
//!
//! # Brief overview
//! * [`Document`] – one source file, with its language and its [`Record`]s.
//! * [`Record`] – one typed, located piece of a document (a requirement, a
//!   step, a FAQ entry, a table row, …). Every non-blank source line belongs
//!   to exactly one record.
//! * [`alignment::Alignment`] – zh ↔ en pairings and drift (written by `kb-align`).
//! * [`rules::RuleSet`] – machine-readable rules (written by `kb-rules`).
//! * [`manifest::Manifest`] – the optional `kb.toml` in a corpus folder.

pub mod alignment;
pub mod manifest;
pub mod record;
pub mod rules;

pub use record::{Cell, Document, Image, Lang, LangSource, Link, NoteType, Record, RecordKind, RecordsLayout};

/// A short, stable hexadecimal digest of some text (blake3, first `n` hex digits).
pub fn short_hash(parts: &[&str], n: usize) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0x1f]);
    }
    let hex = h.finalize().to_hex();
    hex[..n.min(hex.len())].to_string()
}

/// Dice coefficient of two sorted multisets.
pub fn dice_sorted<T: Ord>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * common as f64 / (a.len() + b.len()) as f64
}
