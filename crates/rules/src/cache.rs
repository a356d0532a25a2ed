//! What the rules stage keeps between builds (`cache/rules.bin` in an
//! output folder), so a rebuild reads again only the documents that changed
//! and copies the unchanged documents' rules from the previous files.
//!
//! For every document it holds
//! * the drafts [`crate::extract::Extractor::document`] read from it, valid
//!   while the document's path, id, title, language and bytes (blake3) are
//!   those of [`DocEntry::source`];
//! * the digest of everything its rules were made from ([`DocEntry::inputs`],
//!   see [`crate::extract::DocSpan::inputs`]) and of their keys
//!   ([`DocEntry::keys`]): when both are unchanged, its rules are the same
//!   bytes as before;
//! * where those bytes are: its block of lines in `rules.json` and its
//!   lines in each `rules/<scope>.json`.
//!
//! The file is a little-endian binary layout (strings as a length and
//! UTF-8 bytes) ending in the blake3 of everything before it, so a
//! truncated or damaged file is refused, and it is deterministic: an
//! incremental build writes the very bytes a clean build writes. It is
//! only trusted by the kb binary and vocabulary that wrote it.

use std::io::Write;
use std::path::Path;

use kb_model::rules::{Op, SharedStr};
use kb_model::Document;
use rayon::prelude::*;

use crate::extract::{DocDrafts, Draft, Kind, Val};

/// The cache file, relative to the output folder.
pub const CACHE_FILE: &str = "cache/rules.bin";
/// The first bytes of the file: name and layout version.
const MAGIC: &[u8; 12] = b"kb-rules-c01";

/// Where some bytes are in a file: offset and length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

impl Span {
    /// The offset after the last byte.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// One document's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DocEntry {
    /// The document's path.
    pub path: String,
    /// Digest of the document's path, id, title, language and bytes: the
    /// drafts hold while it is unchanged ([`source_digest`]).
    pub source: [u8; 16],
    /// The drafts read from the document.
    pub drafts: DocDrafts,
    /// Digest of the inputs of its rules ([`crate::extract::DocSpan::inputs`]).
    pub inputs: [u8; 16],
    /// Digest of the keys of its rules ([`keys_digest`]).
    pub keys: [u8; 16],
    /// Number of its rules.
    pub rules: u32,
    /// Its lines in `rules.json` (empty without rules).
    pub block: Span,
    /// Its lines in each scope file: (index into [`RulesCache::scopes`], span).
    pub segments: Vec<(u32, Span)>,
}

/// One scope file's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeEntry {
    /// The scope.
    pub scope: String,
    /// The file name inside `rules/`.
    pub file: String,
    /// Its length in bytes.
    pub len: u64,
    /// Its number of rules.
    pub rules: u32,
}

/// The whole cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulesCache {
    /// The kb binary that wrote it.
    pub tool: String,
    /// blake3 of the vocabulary it was read with.
    pub vocabulary: [u8; 32],
    /// Length of the `rules.json` it describes.
    pub rules_len: u64,
    /// The scope files, sorted by scope.
    pub scopes: Vec<ScopeEntry>,
    /// The documents, in the order of `rules.json` (by path).
    pub docs: Vec<DocEntry>,
}

/// The digest that keys a document's drafts: its path, id, title, language
/// and bytes (`None` when the document has no content hash).
pub fn source_digest(doc: &Document) -> Option<[u8; 16]> {
    if doc.hash.is_empty() {
        return None;
    }
    let mut h = blake3::Hasher::new();
    for part in [&doc.path, &doc.id, &doc.title, doc.lang.code(), &doc.hash] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    Some(h.finalize().as_bytes()[..16].try_into().expect("16 bytes"))
}

/// The digest of a document's rule keys, in order.
pub fn keys_digest<'a>(keys: impl Iterator<Item = &'a str>) -> [u8; 16] {
    let mut h = blake3::Hasher::new();
    for k in keys {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
    }
    h.finalize().as_bytes()[..16].try_into().expect("16 bytes")
}

/// The blake3 of a vocabulary's TOML text.
pub fn vocabulary_digest(toml: &str) -> [u8; 32] {
    *blake3::hash(toml.as_bytes()).as_bytes()
}

/// The blake3 of the cache's bytes (tens of megabytes for a large corpus:
/// hashed on every core).
fn digest(bytes: &[u8]) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update_rayon(bytes);
    h.finalize()
}

/// Where [`RulesCache`]'s bytes go: kept in `buf`, or — with a `sink` —
/// passed on in pieces of about [`SPILL_AT`] bytes as they are made, so
/// writing the cache never holds (nor faults in) all of it at once. The
/// blake3 of everything is taken as it goes.
struct Writer<'w> {
    buf: Vec<u8>,
    sink: Option<&'w mut dyn std::io::Write>,
    hasher: blake3::Hasher,
    error: Option<std::io::Error>,
}

/// A streaming [`Writer`] passes its bytes on once this many are pending.
const SPILL_AT: usize = 1 << 20;

impl Writer<'_> {
    /// With a sink: hashes and writes out what is pending once it is large.
    fn spill_if_full(&mut self) {
        if self.buf.len() >= SPILL_AT {
            self.spill();
        }
    }
    fn spill(&mut self) {
        let Some(sink) = self.sink.as_mut() else { return };
        self.hasher.update_rayon(&self.buf);
        if self.error.is_none() {
            if let Err(e) = sink.write_all(&self.buf) {
                self.error = Some(e);
            }
        }
        self.buf.clear();
    }
    fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }
    fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.buf.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    fn span(&mut self, s: Span) {
        self.u64(s.offset);
        self.u64(s.len);
    }
    fn opt_u16(&mut self, x: Option<u16>) {
        self.u32(x.map_or(u32::MAX, u32::from));
    }
}

fn op_code(op: Option<Op>) -> u8 {
    match op {
        None => 0,
        Some(Op::Ge) => 1,
        Some(Op::Gt) => 2,
        Some(Op::Le) => 3,
        Some(Op::Lt) => 4,
        Some(Op::Eq) => 5,
    }
}

fn op_of(code: u8) -> Option<Option<Op>> {
    Some(match code {
        0 => None,
        1 => Some(Op::Ge),
        2 => Some(Op::Gt),
        3 => Some(Op::Le),
        4 => Some(Op::Lt),
        5 => Some(Op::Eq),
        _ => return None,
    })
}

impl RulesCache {
    /// The cache as bytes (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let drafts: usize = self.docs.iter().map(|d| d.drafts.len()).sum();
        let mut w = Writer {
            buf: Vec::with_capacity(64 + self.docs.len() * 160 + drafts * 96),
            sink: None,
            hasher: blake3::Hasher::new(),
            error: None,
        };
        self.body(&mut w);
        let digest = digest(&w.buf);
        w.bytes(digest.as_bytes());
        w.buf
    }

    /// Writes the cache to `path` (the bytes of [`RulesCache::to_bytes`]),
    /// a megabyte at a time.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut file = std::fs::File::create(path)?;
        let mut w = Writer {
            buf: Vec::with_capacity(SPILL_AT + (64 << 10)),
            sink: Some(&mut file),
            hasher: blake3::Hasher::new(),
            error: None,
        };
        self.body(&mut w);
        w.spill();
        let digest = w.hasher.finalize();
        let error = w.error.take();
        drop(w);
        match error {
            Some(e) => Err(e),
            None => file.write_all(digest.as_bytes()),
        }
    }

    /// Everything but the final digest, into `w`.
    fn body(&self, w: &mut Writer<'_>) {
        w.bytes(MAGIC);
        w.str(&self.tool);
        w.bytes(&self.vocabulary);
        w.u64(self.rules_len);
        w.u32(self.scopes.len() as u32);
        for s in &self.scopes {
            w.str(&s.scope);
            w.str(&s.file);
            w.u64(s.len);
            w.u32(s.rules);
        }
        // Scopes of drafts, as indices into a table of their own, sorted
        // (the few distinct scopes found by hashing, not by sorting every draft's).
        let mut index: crate::extract::FxMap<&str, u32> = crate::extract::fx_map(64);
        for x in self.docs.iter().flat_map(|d| d.drafts.0.iter()) {
            index.entry(x.scope.as_str()).or_insert(0);
        }
        let mut table: Vec<&str> = index.keys().copied().collect();
        table.sort_unstable();
        for (i, s) in table.iter().enumerate() {
            index.insert(s, i as u32);
        }
        w.u32(table.len() as u32);
        for s in &table {
            w.str(s);
        }
        w.u32(self.docs.len() as u32);
        for d in &self.docs {
            w.str(&d.path);
            w.bytes(&d.source);
            w.bytes(&d.inputs);
            w.bytes(&d.keys);
            w.u32(d.rules);
            w.span(d.block);
            w.u32(d.segments.len() as u32);
            for (s, span) in &d.segments {
                w.u32(*s);
                w.span(*span);
            }
            w.u32(d.drafts.0.len() as u32);
            for x in &d.drafts.0 {
                w.u32(index[x.scope.as_str()]);
                w.opt_u16(x.subject);
                w.opt_u16(x.qualifier);
                w.u8(op_code(x.op));
                match &x.value {
                    None => w.u8(0),
                    Some(Val::Num(n)) => {
                        w.u8(1);
                        w.f64(*n);
                    }
                    Some(Val::Bool(b)) => w.u8(if *b { 3 } else { 2 }),
                    Some(Val::Str(s)) => {
                        w.u8(4);
                        w.str(s);
                    }
                }
                match x.range {
                    None => w.u8(0),
                    Some([a, b]) => {
                        w.u8(1);
                        w.f64(a);
                        w.f64(b);
                    }
                }
                w.u8(Kind::ALL.iter().position(|k| *k == x.kind).expect("a kind") as u8);
                w.f64(x.confidence);
                w.str(&x.clause);
                w.u32(x.record);
                w.u32(x.k);
            }
            w.spill_if_full();
        }
    }

    /// Reads a cache from bytes; `None` when they are not a whole, intact
    /// cache of this layout.
    pub fn from_bytes(bytes: &[u8]) -> Option<RulesCache> {
        let body = bytes.get(..bytes.len().checked_sub(32)?)?;
        if digest(body).as_bytes() != &bytes[body.len()..] {
            return None;
        }
        let mut r = Reader { b: body };
        if r.take(MAGIC.len())? != MAGIC {
            return None;
        }
        let tool = r.string()?;
        let vocabulary = r.array()?;
        let rules_len = r.u64()?;
        let n = r.u32()? as usize;
        let mut scopes = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            scopes.push(ScopeEntry { scope: r.string()?, file: r.string()?, len: r.u64()?, rules: r.u32()? });
        }
        let n = r.u32()? as usize;
        // (each scope one shared string, which every draft of it clones)
        let mut table: Vec<SharedStr> = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            table.push(r.str()?.into());
        }
        // Where each document's entry starts (a quick pass that decodes
        // nothing), then the entries decoded on every core.
        let n = r.u32()? as usize;
        let all = r.b;
        let mut bounds = Vec::with_capacity(n.min(1 << 20) + 1);
        for _ in 0..n {
            bounds.push(all.len() - r.b.len());
            skip_doc(&mut r)?;
        }
        bounds.push(all.len() - r.b.len());
        if !r.b.is_empty() {
            return None;
        }
        let docs = bounds
            .par_windows(2)
            .map(|w| {
                let mut r = Reader { b: &all[w[0]..w[1]] };
                let doc = read_doc(&mut r, &table, scopes.len())?;
                r.b.is_empty().then_some(doc)
            })
            .collect::<Option<Vec<DocEntry>>>()?;
        Some(RulesCache { tool, vocabulary, rules_len, scopes, docs })
    }

    /// Reads the cache file of an output folder; `None` when it is missing,
    /// damaged, or written by another kb binary (`tool`) or vocabulary.
    pub fn read(out: &Path, tool: &str, vocabulary: &[u8; 32]) -> Option<RulesCache> {
        // mapped, not read: no fresh memory to fault in for tens of megabytes
        let bytes = kb_model::mapped::Mapped::open(&out.join(CACHE_FILE)).ok()?;
        let c = RulesCache::from_bytes(&bytes)?;
        (c.tool == tool && &c.vocabulary == vocabulary).then_some(c)
    }

    /// Checks that the drafts of the cache fit `vocab` (subject and
    /// qualifier indices in range) — a cache of a vocabulary with the same
    /// digest always does; this guards against a wrong digest.
    pub fn fits(&self, vocab: &crate::vocab::Vocabulary) -> bool {
        self.docs.iter().flat_map(|d| d.drafts.0.iter()).all(|x| match x.subject {
            None => x.qualifier.is_none(),
            Some(s) => vocab.subject.get(s as usize).is_some_and(|s| {
                x.qualifier.is_none_or(|q| (q as usize) < s.qualifier.len())
                    && !matches!(&x.value, Some(Val::Str(v)) if !s.value.iter().any(|n| &n.id == v))
            }),
        })
    }
}

/// Reads one document's entry (see [`RulesCache::to_bytes`]); `scopes` is
/// the number of scope files, `table` the scopes of drafts.
fn read_doc(r: &mut Reader<'_>, table: &[SharedStr], scopes: usize) -> Option<DocEntry> {
    let path = r.string()?;
    let source = r.array()?;
    let inputs = r.array()?;
    let keys = r.array()?;
    let rules = r.u32()?;
    let block = r.span()?;
    let k = r.u32()? as usize;
    let mut segments = Vec::with_capacity(k.min(1 << 12));
    for _ in 0..k {
        let s = r.u32()?;
        if s as usize >= scopes {
            return None;
        }
        segments.push((s, r.span()?));
    }
    let k = r.u32()? as usize;
    let mut drafts = Vec::with_capacity(k.min(1 << 16));
    for _ in 0..k {
        let scope = table.get(r.u32()? as usize)?.clone();
        let subject = r.opt_u16()?;
        let qualifier = r.opt_u16()?;
        let op = op_of(r.u8()?)?;
        let value = match r.u8()? {
            0 => None,
            1 => Some(Val::Num(r.f64()?)),
            2 => Some(Val::Bool(false)),
            3 => Some(Val::Bool(true)),
            4 => Some(Val::Str(r.string()?)),
            _ => return None,
        };
        let range = match r.u8()? {
            0 => None,
            1 => Some([r.f64()?, r.f64()?]),
            _ => return None,
        };
        let kind = *Kind::ALL.get(r.u8()? as usize)?;
        let confidence = r.f64()?;
        let clause = r.str()?.into();
        let record = r.u32()?;
        let k = r.u32()?;
        drafts.push(Draft { scope, subject, qualifier, op, value, range, kind, confidence, clause, record, k });
    }
    Some(DocEntry { path, source, drafts: DocDrafts(drafts), inputs, keys, rules, block, segments })
}

/// Moves past one document's entry without decoding it (the layout of
/// [`read_doc`]; an entry the two measure differently is refused there).
fn skip_doc(r: &mut Reader<'_>) -> Option<()> {
    let n = r.u32()? as usize;
    r.take(n)?; // path
    r.take(16 * 3 + 4 + 16)?; // source, inputs, keys, rules, block
    let k = r.u32()? as usize;
    r.take(k.checked_mul(4 + 16)?)?; // segments
    let k = r.u32()? as usize;
    for _ in 0..k {
        r.take(4 + 4 + 4 + 1)?; // scope, subject, qualifier, op
        match r.u8()? {
            0 | 2 | 3 => {}
            1 => {
                r.take(8)?;
            }
            4 => {
                let n = r.u32()? as usize;
                r.take(n)?;
            }
            _ => return None,
        }
        match r.u8()? {
            0 => {}
            1 => {
                r.take(16)?;
            }
            _ => return None,
        }
        r.take(1 + 8)?; // kind, confidence
        let n = r.u32()? as usize;
        r.take(n)?; // clause
        r.take(4 + 4)?; // record, k
    }
    Some(())
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_bits(self.u64()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }
    fn span(&mut self) -> Option<Span> {
        Some(Span { offset: self.u64()?, len: self.u64()? })
    }
    fn opt_u16(&mut self) -> Option<Option<u16>> {
        match self.u32()? {
            u32::MAX => Some(None),
            x => u16::try_from(x).ok().map(Some),
        }
    }
}
