//! A binary snapshot of the parsed documents, `cache/documents.bin`.
//!
//! An incremental build needs the previous build's documents back in memory
//! (the later stages read every document). Decoding them from
//! `records.jsonl` means parsing JSON for a million records at 20,000
//! documents; this snapshot holds the same documents in a compact binary
//! form that decodes several times faster (lengths instead of quoting and
//! escapes, a record's document id, path and language not repeated, a
//! heading path written once per section).
//!
//! Layout: the magic `kbdocs01`, the number of documents, then each
//! document as its byte length and its block, so that blocks decode in
//! parallel. Numbers are LEB128 varints, strings a length and UTF-8 bytes.
//! The snapshot is only a cache: [`crate::cache::Previous::load`] checks it
//! against the build cache and `records.jsonl` and falls back to decoding
//! the JSON when it is missing, truncated or does not match.

use kb_model::{Cell, Document, Image, Lang, LangSource, Link, NoteType, Record, RecordKind};
use rayon::prelude::*;

/// The snapshot inside an output folder.
pub(crate) const SNAPSHOT_FILE: &str = "cache/documents.bin";
const MAGIC: &[u8; 8] = b"kbdocs01";

// Which optional parts a record has (one varint of flags per record).
const ORDINAL: u32 = 1;
const NUMBER: u32 = 1 << 1;
const LEVEL: u32 = 1 << 2;
const NOTE_TYPE: u32 = 1 << 3;
const QUESTION: u32 = 1 << 4;
const ANSWER: u32 = 1 << 5;
const TABLE: u32 = 1 << 6;
const INFO: u32 = 1 << 7;
const CELLS: u32 = 1 << 8;
const LINKS: u32 = 1 << 9;
const IMAGES: u32 = 1 << 10;
/// The record's doc, path or language differ from its document's.
const OWN_PLACE: u32 = 1 << 11;
/// The record's heading path is the previous record's.
const SAME_HEADINGS: u32 = 1 << 12;

/// Encodes `docs` as a snapshot (blocks encoded in parallel); `reuse` may
/// give a document's block as a previous snapshot has it, copied as it is.
#[cfg(test)]
pub(crate) fn encode<'a>(docs: &[Document], reuse: impl Fn(&Document) -> Option<&'a [u8]> + Sync) -> Vec<u8> {
    let mut out = Vec::new();
    write_to(&mut out, docs, reuse).expect("writing to memory");
    out
}

/// Writes the snapshot of `docs` to `w` (blocks encoded in parallel, then
/// written in order); `reuse` may give a document's block as a previous
/// snapshot has it, written straight from there. The snapshot is not held
/// in memory whole: at 20,000 documents it is 155 MB, nearly all of it
/// reused blocks of a memory-mapped previous snapshot in a rebuild.
pub(crate) fn write_to<'a>(
    w: &mut impl std::io::Write,
    docs: &[Document],
    reuse: impl Fn(&Document) -> Option<&'a [u8]> + Sync,
) -> std::io::Result<()> {
    let blocks: Vec<std::borrow::Cow<'a, [u8]>> = docs
        .par_iter()
        .map(|d| match reuse(d) {
            Some(b) => std::borrow::Cow::Borrowed(b),
            None => {
                let mut b = Vec::with_capacity(d.records.len() * 160 + 128);
                encode_document(d, &mut b);
                std::borrow::Cow::Owned(b)
            }
        })
        .collect();
    let mut head = Vec::with_capacity(MAGIC.len() + 10);
    head.extend_from_slice(MAGIC);
    varint(&mut head, docs.len() as u64);
    w.write_all(&head)?;
    for b in &blocks {
        head.clear();
        varint(&mut head, b.len() as u64);
        w.write_all(&head)?;
        w.write_all(b)?;
    }
    Ok(())
}

/// Decodes a snapshot (blocks decoded in parallel), each document with
/// where its block is in `bytes`; `Err` says what is wrong.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<(Document, std::ops::Range<usize>)>, String> {
    let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a kb documents snapshot")?;
    let mut r = Reader { bytes: body, at: 0 };
    let n = r.len()?;
    let mut blocks = Vec::with_capacity(n.min(body.len()));
    for _ in 0..n {
        let len = r.len()?;
        let start = MAGIC.len() + r.at;
        r.take(len)?;
        blocks.push(start..start + len);
    }
    if r.at != body.len() {
        return Err("trailing bytes".into());
    }
    blocks.into_par_iter().map(|b| decode_document(&bytes[b.clone()]).map(|d| (d, b))).collect()
}

/// Where each document's block is in a snapshot, by document path, without
/// decoding the records (for `kb watch`, which has the documents in memory
/// but still copies unchanged blocks into the next snapshot).
pub(crate) fn blocks(bytes: &[u8]) -> Result<Vec<(String, std::ops::Range<usize>)>, String> {
    let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a kb documents snapshot")?;
    let mut r = Reader { bytes: body, at: 0 };
    let n = r.len()?;
    let mut out = Vec::with_capacity(n.min(body.len()));
    for _ in 0..n {
        let len = r.len()?;
        let start = MAGIC.len() + r.at;
        let block = r.take(len)?;
        let mut b = Reader { bytes: block, at: 0 };
        let _id = b.take_str()?;
        let path = b.take_str()?.to_string();
        out.push((path, start..start + len));
    }
    if r.at != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn kind_code(k: RecordKind) -> u8 {
    RecordKind::ALL.iter().position(|&x| x == k).expect("every kind is in ALL") as u8
}

fn encode_document(d: &Document, out: &mut Vec<u8>) {
    string(out, &d.id);
    string(out, &d.path);
    out.push(d.lang as u8);
    out.push(d.lang_source as u8);
    string(out, &d.title);
    string(out, &d.encoding);
    string(out, &d.hash);
    varint(out, d.line_count.into());
    varint(out, d.bytes);
    varint(out, d.records.len() as u64);
    let mut headings: &[String] = &[];
    for (i, r) in d.records.iter().enumerate() {
        let mut flags = 0;
        let set = |flags: &mut u32, on: bool, bit: u32| {
            if on {
                *flags |= bit;
            }
        };
        set(&mut flags, r.ordinal.is_some(), ORDINAL);
        set(&mut flags, r.number.is_some(), NUMBER);
        set(&mut flags, r.level.is_some(), LEVEL);
        set(&mut flags, r.note_type.is_some(), NOTE_TYPE);
        set(&mut flags, r.question.is_some(), QUESTION);
        set(&mut flags, r.answer.is_some(), ANSWER);
        set(&mut flags, r.table.is_some(), TABLE);
        set(&mut flags, r.info.is_some(), INFO);
        set(&mut flags, !r.cells.is_empty(), CELLS);
        set(&mut flags, !r.links.is_empty(), LINKS);
        set(&mut flags, !r.images.is_empty(), IMAGES);
        set(&mut flags, r.doc != d.id || r.path != d.path || r.lang != d.lang, OWN_PLACE);
        set(&mut flags, i > 0 && r.heading_path.as_slice() == headings, SAME_HEADINGS);
        varint(out, flags.into());
        string(out, &r.id);
        if flags & OWN_PLACE != 0 {
            string(out, &r.doc);
            string(out, &r.path);
            out.push(r.lang as u8);
        }
        out.push(kind_code(r.kind));
        if flags & SAME_HEADINGS == 0 {
            varint(out, r.heading_path.len() as u64);
            for h in &r.heading_path {
                string(out, h);
            }
            headings = &r.heading_path;
        }
        string(out, &r.text);
        varint(out, r.lines[0].into());
        varint(out, r.lines[1].into());
        if let Some(s) = &r.ordinal {
            string(out, s);
        }
        if let Some(n) = r.number {
            varint(out, n.into());
        }
        if let Some(l) = r.level {
            out.push(l);
        }
        if let Some(t) = r.note_type {
            out.push(t as u8);
        }
        if let Some(s) = &r.question {
            string(out, s);
        }
        if let Some(s) = &r.answer {
            string(out, s);
        }
        if let Some(t) = r.table {
            varint(out, t.into());
        }
        if let Some(s) = &r.info {
            string(out, s);
        }
        if !r.cells.is_empty() {
            varint(out, r.cells.len() as u64);
            for c in &r.cells {
                string(out, &c.header);
                string(out, &c.text);
                out.push(c.spanned as u8);
            }
        }
        if !r.links.is_empty() {
            varint(out, r.links.len() as u64);
            for l in &r.links {
                string(out, &l.text);
                string(out, &l.url);
            }
        }
        if !r.images.is_empty() {
            varint(out, r.images.len() as u64);
            for m in &r.images {
                string(out, &m.alt);
                string(out, &m.src);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("truncated")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("bad number".into())
    }
    fn u32(&mut self) -> Result<u32, String> {
        u32::try_from(self.varint()?).map_err(|_| "number out of range".to_string())
    }
    fn len(&mut self) -> Result<usize, String> {
        usize::try_from(self.varint()?).map_err(|_| "length out of range".to_string())
    }
    fn take_str(&mut self) -> Result<&'a str, String> {
        let n = self.len()?;
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|_| "text is not UTF-8".to_string())
    }
    fn string(&mut self) -> Result<String, String> {
        self.take_str().map(str::to_owned)
    }
    fn lang(&mut self) -> Result<Lang, String> {
        match self.byte()? {
            0 => Ok(Lang::Zh),
            1 => Ok(Lang::En),
            b => Err(format!("bad language {b}")),
        }
    }
}

fn decode_document(block: &[u8]) -> Result<Document, String> {
    let mut r = Reader { bytes: block, at: 0 };
    let id = r.string()?;
    let path = r.string()?;
    let lang = r.lang()?;
    let lang_source = match r.byte()? {
        0 => LangSource::Detected,
        1 => LangSource::Manifest,
        b => return Err(format!("bad language source {b}")),
    };
    let title = r.string()?;
    let encoding = r.string()?;
    let hash = r.string()?;
    let line_count = r.u32()?;
    let bytes = r.varint()?;
    let n = r.len()?;
    let mut records: Vec<Record> = Vec::with_capacity(n.min(block.len()));
    for _ in 0..n {
        let flags = r.u32()?;
        let rid = r.string()?;
        let (doc, rpath, rlang) = if flags & OWN_PLACE != 0 {
            (r.string()?, r.string()?, r.lang()?)
        } else {
            (id.clone(), path.clone(), lang)
        };
        let kind = *RecordKind::ALL.get(usize::from(r.byte()?)).ok_or("bad record kind")?;
        let heading_path = if flags & SAME_HEADINGS != 0 {
            records.last().ok_or("no previous heading path")?.heading_path.clone()
        } else {
            let k = r.len()?;
            let mut v = Vec::with_capacity(k.min(block.len()));
            for _ in 0..k {
                v.push(r.string()?);
            }
            v
        };
        let text = r.string()?;
        let lines = [r.u32()?, r.u32()?];
        let mut rec = Record::new(doc, rpath, rlang, kind, text, lines);
        rec.id = rid;
        rec.heading_path = heading_path;
        if flags & ORDINAL != 0 {
            rec.ordinal = Some(r.string()?);
        }
        if flags & NUMBER != 0 {
            rec.number = Some(r.u32()?);
        }
        if flags & LEVEL != 0 {
            rec.level = Some(r.byte()?);
        }
        if flags & NOTE_TYPE != 0 {
            rec.note_type = Some(match r.byte()? {
                0 => NoteType::Tip,
                1 => NoteType::Warning,
                2 => NoteType::Quote,
                b => return Err(format!("bad note type {b}")),
            });
        }
        if flags & QUESTION != 0 {
            rec.question = Some(r.string()?);
        }
        if flags & ANSWER != 0 {
            rec.answer = Some(r.string()?);
        }
        if flags & TABLE != 0 {
            rec.table = Some(r.u32()?);
        }
        if flags & INFO != 0 {
            rec.info = Some(r.string()?);
        }
        if flags & CELLS != 0 {
            let k = r.len()?;
            for _ in 0..k.min(block.len()) {
                let header = r.string()?;
                let text = r.string()?;
                let spanned = r.byte()? != 0;
                rec.cells.push(Cell { header, text, spanned });
            }
        }
        if flags & LINKS != 0 {
            let k = r.len()?;
            for _ in 0..k.min(block.len()) {
                rec.links.push(Link { text: r.string()?, url: r.string()? });
            }
        }
        if flags & IMAGES != 0 {
            let k = r.len()?;
            for _ in 0..k.min(block.len()) {
                rec.images.push(Image { alt: r.string()?, src: r.string()? });
            }
        }
        records.push(rec);
    }
    if r.at != block.len() {
        return Err(format!("trailing bytes in document {id}"));
    }
    Ok(Document { id, path, lang, lang_source, title, encoding, hash, line_count, bytes, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<Document> {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
        kb_parse::load_corpus(&corpus).unwrap().documents
    }

    /// A document whose records use every optional part, and a record placed
    /// in another document (the snapshot must not assume they match).
    fn everything() -> Document {
        let mut r = Record::new("d", "d.md", Lang::En, RecordKind::TableRow, "a\n\"b\"", [3, 9]);
        r.id = "d#1".into();
        r.heading_path = vec!["A".into(), "B 二".into()];
        r.ordinal = Some("1、".into());
        r.number = Some(7);
        r.level = Some(2);
        r.note_type = Some(NoteType::Quote);
        r.question = Some("Q?".into());
        r.answer = Some(String::new());
        r.table = Some(4);
        r.info = Some("rust".into());
        r.cells = vec![Cell { header: "h".into(), text: "t".into(), spanned: true }];
        r.links = vec![Link { text: "x".into(), url: "javascript:alert(1)".into() }];
        r.images = vec![Image { alt: "".into(), src: "i.png".into() }];
        let mut same = r.clone();
        same.id = "d#2".into();
        let mut other = Record::new("elsewhere", "e.md", Lang::Zh, RecordKind::Note, "", [1, 1]);
        other.heading_path = vec!["A".into()];
        let mut d = Document::new("d", "d.md", Lang::En, "T", vec![r, same, other]);
        d.lang_source = LangSource::Manifest;
        d.hash = "abc".into();
        d.bytes = u64::MAX;
        d
    }

    #[test]
    fn documents_come_back_exactly_as_they_were() {
        let mut docs = shipped();
        assert!(docs.iter().map(|d| d.records.len()).sum::<usize>() > 100);
        docs.push(everything());
        docs.push(Document::new("empty", "empty.md", Lang::Zh, "", Vec::new()));
        let bytes = encode(&docs, |_| None);
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(), docs);
        // Blocks copied from a previous snapshot give the same bytes.
        let again = encode(&docs, |d| decoded.iter().find(|(p, _)| p.id == d.id).map(|(_, b)| &bytes[b.clone()]));
        assert_eq!(again, bytes);
        let index = blocks(&bytes).unwrap();
        assert_eq!(index, decoded.iter().map(|(d, b)| (d.path.clone(), b.clone())).collect::<Vec<_>>());
    }

    #[test]
    fn damaged_snapshots_are_refused_without_panicking() {
        let bytes = encode(&[everything()], |_| None);
        assert!(decode(b"").is_err());
        assert!(decode(b"kbdocs00").is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
            assert!(blocks(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        // Flipping any byte gives an error or some documents, never a panic.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = decode(&b);
        }
    }
}
