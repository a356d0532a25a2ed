//! Source order across segments: where each indexed document stands among
//! the documents of the build, so that records that score the same rank in
//! source order whichever build indexed them.
//!
//! A record's `ord` fast field is its ordinal in its document; its
//! document's place is looked up through the `doc` fast field, whose
//! per-segment dictionary holds the ids of the segment's documents. An
//! incremental build leaves the records of unchanged documents where they
//! were, so a place cannot be written into a record: it moves whenever a
//! document is added or removed before it. [`Places`] maps each segment's
//! dictionary ordinals to places in [`IndexMeta::documents`].
//!
//! Working them out takes a few milliseconds on 20,000 documents (every id
//! of every segment looked up), so the build writes them to `kb-order.bin`
//! beside `kb-index.json`, and a search reads them from there when the file
//! is for the same records and the same segments (else it works them out).
//!
//! `kb-order.bin`: `kb-order 1\n`, the records fingerprint and a newline,
//! the blake3 of the rest (32 bytes), then per segment its id (32 hex
//! characters), the number of its documents (`u32`, little-endian) and
//! their places (`u32` each, `u32::MAX` for a document not in the build).

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use tantivy::index::SegmentId;
use tantivy::Searcher;

use crate::build::DocEntry;

/// The file in the index folder that holds the [`Places`].
pub(crate) const ORDER_FILE: &str = "kb-order.bin";

const MAGIC: &[u8] = b"kb-order 1\n";

/// Per segment, by the term ordinal of a document id in its `doc` column,
/// the document's place in the build (`u32::MAX`: not in the build).
pub(crate) type Places = FxHashMap<SegmentId, Arc<[u32]>>;

/// The number of document ids in a segment's `doc` column.
fn num_docs(seg: &tantivy::SegmentReader) -> tantivy::Result<Option<usize>> {
    Ok(seg.fast_fields().str("doc")?.map(|c| c.dictionary().num_terms()))
}

/// Works out the [`Places`] of `searcher`'s segments among `documents`.
pub(crate) fn compute(searcher: &Searcher, documents: &[DocEntry]) -> tantivy::Result<Places> {
    let place: FxHashMap<&str, u32> = documents.iter().enumerate().map(|(i, d)| (d.id.as_str(), i as u32)).collect();
    let mut places = Places::default();
    for seg in searcher.segment_readers() {
        let Some(col) = seg.fast_fields().str("doc")? else {
            continue;
        };
        let dict = col.dictionary();
        let mut v = vec![u32::MAX; dict.num_terms()];
        let mut terms = dict.stream()?;
        while terms.advance() {
            let at = std::str::from_utf8(terms.key()).ok().and_then(|id| place.get(id));
            if let (Some(&at), Some(slot)) = (at, v.get_mut(terms.term_ord() as usize)) {
                *slot = at;
            }
        }
        places.insert(seg.segment_id(), v.into());
    }
    Ok(places)
}

/// `kb-order.bin` for `places` of the index of the records with `fingerprint`.
pub(crate) fn encode(fingerprint: &str, searcher: &Searcher, places: &Places) -> Vec<u8> {
    let mut body = Vec::new();
    for seg in searcher.segment_readers() {
        let Some(v) = places.get(&seg.segment_id()) else {
            continue;
        };
        body.extend_from_slice(seg.segment_id().uuid_string().as_bytes());
        body.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for p in v.iter() {
            body.extend_from_slice(&p.to_le_bytes());
        }
    }
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(fingerprint.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// The [`Places`] `kb-order.bin` in `dir` holds, when it is whole and was
/// written for the records with `fingerprint` and for exactly `searcher`'s
/// segments.
pub(crate) fn read(dir: &Path, fingerprint: &str, searcher: &Searcher) -> Option<Places> {
    let bytes = std::fs::read(dir.join(ORDER_FILE)).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?.strip_prefix(fingerprint.as_bytes())?.strip_prefix(b"\n")?;
    let (sum, mut body) = rest.split_at_checked(32)?;
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut places = Places::default();
    while !body.is_empty() {
        let (id, rest) = body.split_at_checked(32)?;
        let id = SegmentId::from_uuid_string(std::str::from_utf8(id).ok()?).ok()?;
        let (n, rest) = rest.split_at_checked(4)?;
        let n = u32::from_le_bytes(n.try_into().ok()?) as usize;
        let (v, rest) = rest.split_at_checked(n.checked_mul(4)?)?;
        let v: Arc<[u32]> = v.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        places.insert(id, v);
        body = rest;
    }
    let segs = searcher.segment_readers();
    let mut with_docs = 0;
    for seg in segs {
        if let Some(n) = num_docs(seg).ok()? {
            with_docs += 1;
            if places.get(&seg.segment_id())?.len() != n {
                return None;
            }
        }
    }
    (with_docs == places.len()).then_some(places)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_survive_the_file_and_a_damaged_or_foreign_file_is_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("index");
        let recs = |doc: &str, text: &str| kb_parse::parse_document(doc, text, None).unwrap().records;
        let mut records = recs("en/b.md", "# B\n\nSome text.\n");
        records.extend(recs("en/a.md", "# A\n\nMore text.\n"));
        let meta = crate::build_index(&dir, &records, None, None, &Default::default()).unwrap();
        let index = tantivy::Index::open_in_dir(&dir).unwrap();
        let searcher = index.reader().unwrap().searcher();
        let places = compute(&searcher, &meta.documents).unwrap();
        // The dictionary is sorted by id (en/a, en/b); the build has en/b first.
        assert_eq!(places.values().next().unwrap().as_ref(), [1, 0]);

        let fp = &meta.records_fingerprint;
        assert_eq!(read(&dir, fp, &searcher), Some(places.clone()), "the build wrote it");
        std::fs::write(dir.join(ORDER_FILE), encode(fp, &searcher, &places)).unwrap();
        assert_eq!(read(&dir, fp, &searcher), Some(places.clone()));
        assert_eq!(read(&dir, "blake3:other", &searcher), None, "for other records");
        let mut bytes = std::fs::read(dir.join(ORDER_FILE)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(dir.join(ORDER_FILE), &bytes).unwrap();
        assert_eq!(read(&dir, fp, &searcher), None, "damaged");
        std::fs::write(dir.join(ORDER_FILE), &bytes[..bytes.len() - 2]).unwrap();
        assert_eq!(read(&dir, fp, &searcher), None, "cut short");
        std::fs::remove_file(dir.join(ORDER_FILE)).unwrap();
        assert_eq!(read(&dir, fp, &searcher), None, "missing");
    }
}
