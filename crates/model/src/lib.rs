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
//! * [`mapped::Mapped`] – a previous build's file, memory-mapped.

pub mod alignment;
pub mod manifest;
pub mod mapped;
pub mod record;
pub mod rules;

pub use record::{Cell, Document, Image, Lang, LangSource, Link, NoteType, Record, RecordKind, RecordsLayout};

/// CPU seconds (user and system, all threads) this process has used so far,
/// where Linux's `/proc/self/stat` tells (for `KB_TRACE` and `kb bench`).
pub fn process_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15, in ticks of 1/100 s.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

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

#[cfg(all(test, target_os = "linux"))]
mod cpu_tests {
    #[test]
    fn the_process_cpu_time_is_read_and_does_not_go_back() {
        let before = super::process_cpu_seconds().expect("Linux has /proc/self/stat");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(super::process_cpu_seconds().unwrap() >= before);
    }
}
