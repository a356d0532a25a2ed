//! Incremental alignment: what a rebuild may take from the previous one.
//!
//! Document pairing is global — blocking weighs each key by how many
//! documents share it and keeps each document's best candidates, and the
//! one-to-one assignment is greedy over all candidates — so it is always
//! recomputed, over every document; but it only needs each document's small
//! [`Summary`], which the cache keeps per document (path + content hash). The
//! expensive part, aligning the sections and records of a document pair, is
//! a function of the two documents and of the pair's confidence only, so the
//! cache keeps each pair's result under the key (zh path, zh hash, en path,
//! en hash, confidence), together with where its lines sit in the previous
//! `alignment.json`, and a rebuild copies those lines instead of writing them
//! again. Only pairs whose key is new are aligned, and only their documents
//! (plus new and edited documents) are profiled.
//!
//! The result is the same, byte for byte, as a build without cache: every
//! cached value is keyed by everything it is computed from. A cache that is
//! missing, truncated, of another format or that does not match the
//! previous `alignment.json` is ignored (see [`Cache::read`]).
//!
//! [`align_incremental`] is the entry point; [`Built::write`] writes
//! `alignment.json` and the cache for the next build.

use std::io::{BufWriter, Write};
use std::path::Path;

use kb_model::alignment::{Alignment, Drift, Evidence, RecordPair, SectionPair};
use kb_model::manifest::Manifest;
use kb_model::mapped::Mapped;
use kb_model::{Document, Lang};
use rayon::prelude::*;

use crate::fasthash::FastMap;
use crate::lexicon::Lexicon;
use crate::pairs::PairAlignment;
use crate::profile::{Profile, Summary};
use crate::{docs, pairs, Stats};

/// The cache file inside an output folder.
pub const CACHE_FILE: &str = "cache/align.bin";
const MAGIC: &[u8] = b"kb-align-cache 1\n";
/// How `alignment.json` starts (checked before reusing its lines).
const JSON_HEAD: &[u8] = b"{\n\"documents\": [";

/// What makes a document pair's alignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PairKey {
    zh_path: String,
    zh_hash: String,
    en_path: String,
    en_hash: String,
    confidence: u64,
}

/// The previous build's alignment cache.
#[derive(Debug)]
pub struct Cache {
    /// Path → (hash, summary, where its entry is in `bytes`).
    summaries: FastMap<String, (String, Summary, (usize, usize))>,
    /// Pair key → its encoded result.
    pairs: FastMap<PairKey, (usize, usize)>,
    /// The cache file, mapped.
    bytes: Mapped,
    /// The previous `alignment.json`, mapped: reused lines are written
    /// from it without reading them into memory first.
    json: Mapped,
}

impl Cache {
    /// Reads the cache of the output folder `out`; `None` when it is
    /// missing, unreadable, of another format, or does not match the
    /// `alignment.json` beside it.
    pub fn read(out: &Path) -> Option<Cache> {
        let bytes = Mapped::open(&out.join(CACHE_FILE)).ok()?;
        let mut r = Reader { b: &bytes, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return None;
        }
        let json_len = r.fixed64()?;
        let json = Mapped::open(&out.join(crate::ALIGNMENT_FILE)).ok()?;
        if json.len() as u64 != json_len || !json.starts_with(JSON_HEAD) {
            return None;
        }
        let n = r.u64()? as usize;
        let mut summaries = FastMap::default();
        for _ in 0..n {
            let start = r.at;
            let path = r.str()?;
            let hash = r.str()?;
            let s = r.summary()?;
            summaries.insert(path, (hash, s, (start, r.at)));
        }
        let n = r.u64()? as usize;
        let mut pairs = FastMap::default();
        for _ in 0..n {
            let key = PairKey {
                zh_path: r.str()?,
                zh_hash: r.str()?,
                en_path: r.str()?,
                en_hash: r.str()?,
                confidence: r.fixed64()?,
            };
            let len = r.u64()? as usize;
            let start = r.at;
            r.take(len)?;
            pairs.insert(key, (start, start + len));
        }
        if r.at != bytes.len() {
            return None;
        }
        Some(Cache { summaries, pairs, bytes, json })
    }
}

/// A document pair's result as the cache holds it.
struct CachedPair {
    /// Where its encoding is in the cache.
    body: (usize, usize),
    /// (offset, length) of its sections, records and drift lines in the previous `alignment.json`.
    blocks: [(u64, u64); 3],
    /// Only when asked for (see [`decode_pair`]).
    #[cfg_attr(not(test), allow(dead_code))]
    sections: Vec<SectionPair>,
    records: Vec<Rix>,
    drift: Vec<Drift>,
}

/// A record pairing as indices: the first zh record and how many (0–2,
/// consecutive), the same for en, and the confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rix {
    zh: u32,
    nz: u8,
    en: u32,
    ne: u8,
    confidence: f64,
}

impl Rix {
    fn new(zh: &[u32], en: &[u32], confidence: f64) -> Rix {
        let consecutive = |v: &[u32]| v.windows(2).all(|w| w[1] == w[0] + 1) && v.len() <= 2;
        assert!(consecutive(zh) && consecutive(en), "record pairings take one or two consecutive records");
        Rix {
            zh: zh.first().copied().unwrap_or(0),
            nz: zh.len() as u8,
            en: en.first().copied().unwrap_or(0),
            ne: en.len() as u8,
            confidence,
        }
    }
}

/// One document pair's part of the output.
struct PairOut {
    key: Option<PairKey>,
    records: Vec<Rix>,
    drift: Vec<Drift>,
    /// Its sections, records and drift lines: new, or where they are in the previous file.
    blocks: [Block; 3],
    /// Its encoding for the cache (after the offsets of its lines): new, or
    /// where it is in the previous cache.
    body: Body,
}

enum Body {
    New(Vec<u8>),
    Previous(usize, usize),
}

impl Body {
    fn bytes<'a>(&'a self, previous: Option<&'a Cache>) -> &'a [u8] {
        match (self, previous) {
            (Body::New(b), _) => b,
            (Body::Previous(a, b), Some(c)) => &c.bytes[*a..*b],
            (Body::Previous(..), None) => unreachable!("a reused entry comes from a previous cache"),
        }
    }
}

enum Block {
    New(Vec<u8>),
    Previous(u64, u64),
}

impl Block {
    fn len(&self) -> u64 {
        match self {
            Block::New(b) => b.len() as u64,
            Block::Previous(_, n) => *n,
        }
    }
}

/// An alignment computed by [`align_incremental`], ready to be written.
pub struct Built {
    /// The alignment. Record pairings carry no evidence here and the
    /// section pairings are left out (both are in `alignment.json`, and no
    /// later stage reads them from memory); everything else is complete.
    pub alignment: Alignment,
    /// Counts.
    pub stats: Stats,
    /// Document pairs whose alignment was taken from the cache.
    pub reused_pairs: usize,
    /// Documents profiled (the others' summaries came from the cache).
    pub profiled: usize,
    head: Vec<u8>,
    outs: Vec<PairOut>,
    /// The (zh, en) document indices of each of `outs`.
    doc_pairs: Vec<(u32, u32)>,
    tail: Vec<u8>,
    /// Each document's cache entry (path, hash, summary): new, or where it is in the previous cache.
    entries: Vec<Body>,
}

/// Aligns `docs`, reusing what `cache` holds from the previous build; the
/// result is the same as without cache.
pub fn align_incremental(docs: &[Document], manifest: &Manifest, cache: Option<&mut Cache>) -> Built {
    let mut built = align_deferred(docs, manifest, cache);
    built.alignment.records = built.record_pairs(docs);
    built
}

/// [`align_incremental`] without the record pairings in
/// [`Built::alignment`]: the caller makes them with [`Built::record_pairs`]
/// (say, while [`Built::write`] copies the file).
pub fn align_deferred(docs: &[Document], manifest: &Manifest, mut cache: Option<&mut Cache>) -> Built {
    let t = std::time::Instant::now();
    let lex = Lexicon::shipped();
    // Each document's cached summary, taken out of the cache, when its content is the same.
    let mut taken: Vec<Option<(Summary, (usize, usize))>> = docs
        .iter()
        .map(|d| {
            let c = cache.as_deref_mut()?;
            if d.hash.is_empty() {
                return None;
            }
            let (hash, s, _) = c.summaries.get(&d.path)?;
            if *hash != d.hash || s.id != d.id || s.lang != d.lang {
                return None;
            }
            c.summaries.remove(&d.path).map(|(_, s, at)| (s, at))
        })
        .collect();
    let cache = cache.map(|c| &*c);
    // Profiles of the documents without a cached summary.
    let mut profiles: Vec<Option<Profile<'_>>> =
        docs.par_iter().zip(&taken).map(|(d, t)| t.is_none().then(|| Profile::new(d, lex))).collect();
    let fresh_summaries: Vec<Option<Summary>> =
        profiles.par_iter().map(|p| p.as_ref().map(|p| p.summary(lex))).collect();
    let mut entries: Vec<Body> = Vec::with_capacity(docs.len());
    let summaries: Vec<Summary> = fresh_summaries
        .into_iter()
        .zip(taken.iter_mut())
        .zip(docs)
        .map(|((f, t), d)| match (f, t.take()) {
            (Some(s), _) => {
                let mut w = Writer(Vec::new());
                w.str(&d.path);
                w.str(&d.hash);
                w.summary(&s);
                entries.push(Body::New(w.0));
                s
            }
            (None, Some((s, (a, b)))) => {
                entries.push(Body::Previous(a, b));
                s
            }
            (None, None) => unreachable!("a document has a summary or a profile"),
        })
        .collect();
    // Documents without a hash are not cached.
    for (e, d) in entries.iter_mut().zip(docs) {
        if d.hash.is_empty() {
            *e = Body::New(Vec::new());
        }
    }
    crate::trace("align: summaries", t);
    let t = std::time::Instant::now();
    let pairing = docs::pair(&summaries, manifest);
    crate::trace("align: pair documents", t);
    let t = std::time::Instant::now();

    let key_of = |z: usize, e: usize, conf: f64| -> Option<PairKey> {
        let (dz, de) = (&docs[z], &docs[e]);
        (!dz.hash.is_empty() && !de.hash.is_empty()).then(|| PairKey {
            zh_path: dz.path.clone(),
            zh_hash: dz.hash.clone(),
            en_path: de.path.clone(),
            en_hash: de.hash.clone(),
            confidence: conf.to_bits(),
        })
    };
    let keys: Vec<Option<PairKey>> = pairing.pairs.iter().map(|(z, e, p)| key_of(*z, *e, p.confidence)).collect();
    let cached: Vec<Option<CachedPair>> = keys
        .par_iter()
        .zip(&pairing.pairs)
        .map(|(k, (z, e, _))| {
            let c = cache?;
            let &(a, b) = c.pairs.get(k.as_ref()?)?;
            decode_pair(&c.bytes[a..b], &docs[*z], &docs[*e], false).map(|p| CachedPair { body: (a, b), ..p })
        })
        .collect();
    // Profile what the pairs to align need.
    let mut need = vec![false; docs.len()];
    for ((z, e, _), c) in pairing.pairs.iter().zip(&cached) {
        if c.is_none() {
            need[*z] = true;
            need[*e] = true;
        }
    }
    let missing: Vec<(usize, Profile<'_>)> = need
        .par_iter()
        .enumerate()
        .filter(|(i, n)| **n && profiles[*i].is_none())
        .map(|(i, _)| (i, Profile::new(&docs[i], lex)))
        .collect();
    let profiled = profiles.iter().filter(|p| p.is_some()).count() + missing.len();
    for (i, p) in missing {
        profiles[i] = Some(p);
    }
    let reused_pairs = cached.iter().filter(|c| c.is_some()).count();
    crate::trace("align: decode cached", t);
    let t = std::time::Instant::now();

    let mut outs: Vec<PairOut> = pairing
        .pairs
        .par_iter()
        .zip(keys)
        .zip(cached)
        .map(|(((z, e, dp), key), cached)| match cached {
            Some(c) => PairOut {
                key,
                records: c.records,
                drift: c.drift,
                blocks: c.blocks.map(|(o, n)| Block::Previous(o, n)),
                body: Body::Previous(c.body.0 + 48, c.body.1),
            },
            None => {
                let (pz, pe) = (profiles[*z].as_ref().expect("profiled"), profiles[*e].as_ref().expect("profiled"));
                fresh(key, pairs::align_pair(pz, pe, dp.confidence), &docs[*z], &docs[*e])
            }
        })
        .collect();
    drop(profiles);
    crate::trace("align: align pairs", t);
    let t = std::time::Instant::now();

    let doc_pairs = pairing.pairs.iter().map(|&(z, e, _)| (z as u32, e as u32)).collect();
    let mut alignment = Alignment {
        documents: pairing.pairs.into_iter().map(|(_, _, p)| p).collect(),
        unpaired_documents: pairing.unpaired,
        ..Alignment::default()
    };
    let mut head = b"{\n".to_vec();
    crate::array(&mut head, "documents", &alignment.documents, false);
    head.extend_from_slice(b"\"sections\": [");
    let mut tail = Vec::new();
    crate::array(&mut tail, "unpaired_documents", &alignment.unpaired_documents, false);
    tail.extend_from_slice(b"\"drift\": [");
    alignment.drift.reserve(outs.iter().map(|o| o.drift.len()).sum());
    for o in &mut outs {
        alignment.drift.append(&mut o.drift);
    }
    let stats = Stats {
        zh_documents: docs.iter().filter(|d| d.lang == Lang::Zh).count(),
        en_documents: docs.iter().filter(|d| d.lang == Lang::En).count(),
        scored_pairs: pairing.scored,
    };
    crate::trace("align: assemble", t);
    Built { alignment, stats, reused_pairs, profiled, head, outs, tail, entries, doc_pairs }
}

/// A record's counterpart by position: (record, counterpart document,
/// counterpart record, confidence of the pairing), indices into the
/// documents aligned and their records.
pub type Link = (u32, u32, u32, f64);

/// A newly aligned pair: its lines (with evidence) and what memory keeps.
fn fresh(key: Option<PairKey>, pa: PairAlignment, dz: &Document, de: &Document) -> PairOut {
    let blocks = [Block::New(lines(&pa.sections)), Block::New(lines(&pa.records)), Block::New(lines(&pa.drift))];
    let body = encode_pair(&pa, dz, de);
    let records = pa.record_index.iter().zip(&pa.records).map(|((zi, ei), r)| Rix::new(zi, ei, r.confidence)).collect();
    PairOut { key, records, drift: pa.drift, blocks, body: Body::New(body) }
}

/// Items one a line, separated by `,\n`, no final newline.
fn lines<T: serde::Serialize>(items: &[T]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(items.len() * 200);
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            buf.extend_from_slice(b",\n");
        }
        serde_json::to_writer(&mut buf, item).expect("alignment items serialise");
    }
    buf
}

fn record_pair(dz: &Document, de: &Document, x: &Rix) -> RecordPair {
    let ids = |d: &Document, first: u32, n: u8| -> Vec<String> {
        if n > 1 {
            (first..first + n as u32).map(|i| d.records[i as usize].id.clone()).collect()
        } else {
            Vec::new()
        }
    };
    let first = |d: &Document, i: u32, n: u8| (n > 0).then(|| d.records[i as usize].id.clone());
    RecordPair {
        zh: first(dz, x.zh, x.nz),
        en: first(de, x.en, x.ne),
        zh_all: ids(dz, x.zh, x.nz),
        en_all: ids(de, x.en, x.ne),
        confidence: x.confidence,
        evidence: Vec::new(),
    }
}

impl Built {
    /// The record pairings (without evidence) of the documents aligned,
    /// made in place in one vector.
    pub fn record_pairs(&self, docs: &[Document]) -> Vec<RecordPair> {
        let mut starts = Vec::with_capacity(self.outs.len());
        let mut total = 0;
        for o in &self.outs {
            starts.push(total);
            total += o.records.len();
        }
        let mut records = Vec::new();
        (0..total)
            .into_par_iter()
            .map(|k| {
                let p = starts.partition_point(|&s| s <= k) - 1;
                let (z, e) = self.doc_pairs[p];
                record_pair(&docs[z as usize], &docs[e as usize], &self.outs[p].records[k - starts[p]])
            })
            .collect_into_vec(&mut records);
        records
    }

    /// Each document's record links ([`Link`]), by document index, sorted
    /// by record: for each record that a two-sided pairing lists, the first
    /// record of the other side of the first such pairing — what
    /// [`Alignment::counterpart`] answers for the record's id (record ids
    /// are unique, as the parser makes them), found without looking at any
    /// id.
    pub fn links(&self, documents: usize) -> Vec<Vec<Link>> {
        let sides: Vec<[(u32, Vec<Link>); 2]> = self
            .outs
            .par_iter()
            .zip(&self.doc_pairs)
            .map(|(o, &(z, e))| {
                let (mut lz, mut le) = (Vec::new(), Vec::new());
                for x in o.records.iter().filter(|x| x.nz > 0 && x.ne > 0) {
                    lz.extend((x.zh..x.zh + x.nz as u32).map(|i| (i, e, x.en, x.confidence)));
                    le.extend((x.en..x.en + x.ne as u32).map(|j| (j, z, x.zh, x.confidence)));
                }
                for l in [&mut lz, &mut le] {
                    // the first pairing that lists a record wins
                    l.sort_by_key(|x| x.0);
                    l.dedup_by_key(|x| x.0);
                }
                [(z, lz), (e, le)]
            })
            .collect();
        let mut links = vec![Vec::new(); documents];
        for [(z, lz), (e, le)] in sides {
            links[z as usize] = lz;
            links[e as usize] = le;
        }
        links
    }

    /// Writes `alignment.json` to `json` and the cache for the next build to
    /// `cache`, each through a temporary file renamed into place. `previous`
    /// must be the cache this was built with (its `alignment.json` supplies
    /// the reused lines); a reused line that is not where the cache said
    /// makes this fail with [`std::io::ErrorKind::InvalidData`], and the
    /// caller should align again without cache.
    pub fn write(&self, json: &Path, cache: &Path, previous: Option<&Cache>) -> std::io::Result<()> {
        let t = std::time::Instant::now();
        let prev: Option<&[u8]> = match previous {
            Some(c) if self.reused_pairs > 0 => Some(&c.json),
            _ => None,
        };
        let mut offsets: Vec<[(u64, u64); 3]> = vec![[(0, 0); 3]; self.outs.len()];
        let mut at = 0u64;
        let mut layout: Vec<Piece<'_>> = Vec::new();
        fn put<'a>(p: Piece<'a>, at: &mut u64, layout: &mut Vec<Piece<'a>>) {
            *at += p.len();
            layout.push(p);
        }
        put(Piece::Bytes(&self.head), &mut at, &mut layout);
        // Sections, records, drift: each an array of every pair's lines, in pair order.
        #[allow(clippy::needless_range_loop)]
        for part in 0..3 {
            if part == 1 {
                put(Piece::Bytes(b"\"records\": ["), &mut at, &mut layout);
            }
            if part == 2 {
                put(Piece::Bytes(&self.tail), &mut at, &mut layout);
            }
            let mut any = false;
            for (k, o) in self.outs.iter().enumerate() {
                let b = &o.blocks[part];
                if b.len() == 0 {
                    offsets[k][part] = (at, 0);
                    continue;
                }
                put(Piece::Bytes(if any { b",\n" } else { b"\n" }), &mut at, &mut layout);
                any = true;
                offsets[k][part] = (at, b.len());
                put(Piece::Block(b), &mut at, &mut layout);
            }
            if any {
                put(Piece::Bytes(b"\n"), &mut at, &mut layout);
            }
            put(Piece::Bytes(if part == 2 { b"]\n}\n" } else { b"],\n" }), &mut at, &mut layout);
        }
        // The reused lines: a sample of them must be where the cache says.
        let reused: Vec<(u64, u64)> = layout
            .iter()
            .filter_map(|p| match p {
                Piece::Block(Block::Previous(o, n)) => Some((*o, *n)),
                _ => None,
            })
            .collect();
        if !reused.is_empty() {
            let f = prev.ok_or_else(|| bad("reused lines without a previous alignment"))?;
            let step = (reused.len() / 64).max(1);
            let probes = reused.iter().step_by(step).chain(reused.last());
            for &(o, n) in probes {
                let at = |k: u64| usize::try_from(k).ok().and_then(|k| f.get(k)).copied();
                if at(o) != Some(b'{') || at(o + n - 1) != Some(b'}') {
                    return Err(bad("the previous alignment.json does not match its cache"));
                }
            }
        }
        write_via_tmp(json, |w| {
            let mut i = 0;
            while i < layout.len() {
                match &layout[i] {
                    Piece::Bytes(b) => w.write_all(b)?,
                    Piece::Block(Block::New(b)) => w.write_all(b)?,
                    Piece::Block(Block::Previous(o, n)) => {
                        // Reused blocks that were consecutive before are written as one
                        // run, straight from the mapped previous file.
                        let (start, mut end) = (*o, o + n);
                        while let (Some(Piece::Bytes(b",\n")), Some(Piece::Block(Block::Previous(o2, n2)))) =
                            (layout.get(i + 1), layout.get(i + 2))
                        {
                            if *o2 != end + 2 {
                                break;
                            }
                            end = o2 + n2;
                            i += 2;
                        }
                        let f = prev.ok_or_else(|| bad("reused lines without a previous alignment"))?;
                        let run = usize::try_from(start)
                            .ok()
                            .zip(usize::try_from(end).ok())
                            .and_then(|(a, b)| f.get(a..b))
                            .ok_or_else(|| bad("the previous alignment.json is shorter than its cache says"))?;
                        w.write_all(run)?;
                    }
                }
                i += 1;
            }
            Ok(())
        })?;
        crate::trace("align: write json", t);
        let t = std::time::Instant::now();
        let done = write_via_tmp(cache, |w| self.write_cache(w, at, &offsets, previous));
        crate::trace("align: write cache", t);
        done
    }

    /// Writes the cache for the next build, streamed: each entry new, or
    /// copied from the previous (mapped) cache.
    fn write_cache(
        &self,
        out: &mut impl Write,
        json_len: u64,
        offsets: &[[(u64, u64); 3]],
        previous: Option<&Cache>,
    ) -> std::io::Result<()> {
        let mut w = Writer(Vec::with_capacity(256));
        w.0.extend_from_slice(MAGIC);
        w.fixed64(json_len);
        let entries = || self.entries.iter().map(|b| b.bytes(previous)).filter(|e| !e.is_empty());
        w.u64(entries().count() as u64);
        out.write_all(&w.0)?;
        for e in entries() {
            out.write_all(e)?;
        }
        let keyed = || self.outs.iter().zip(offsets).filter(|(o, _)| o.key.is_some());
        w.0.clear();
        w.u64(keyed().count() as u64);
        out.write_all(&w.0)?;
        for (o, off) in keyed() {
            let k = o.key.as_ref().expect("keyed");
            w.0.clear();
            w.str(&k.zh_path);
            w.str(&k.zh_hash);
            w.str(&k.en_path);
            w.str(&k.en_hash);
            w.fixed64(k.confidence);
            let rest = o.body.bytes(previous);
            w.u64(48 + rest.len() as u64);
            for (x, n) in off.iter() {
                w.fixed64(*x);
                w.fixed64(*n);
            }
            out.write_all(&w.0)?;
            out.write_all(rest)?;
        }
        Ok(())
    }
}
enum Piece<'a> {
    Bytes(&'a [u8]),
    Block(&'a Block),
}

impl Piece<'_> {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Block(b) => b.len(),
        }
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Writes `path` through `path.tmp`: written, then renamed (not synced: the
/// build's folder swap is the unit of atomicity, see kb-build's `output`).
fn write_via_tmp(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    body(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())?;
    std::fs::rename(&tmp, path)
}

/// A pair's result for the cache (without the offsets of its lines):
/// records, section headings and drift records as indices into the two
/// documents, heading paths rebuilt from the records when read.
fn encode_pair(pa: &PairAlignment, dz: &Document, de: &Document) -> Vec<u8> {
    fn index(d: &Document) -> FastMap<&str, u32> {
        d.records.iter().enumerate().map(|(i, r)| (r.id.as_str(), i as u32)).collect()
    }
    let (iz, ie) = (index(dz), index(de));
    let mut w = Writer(Vec::with_capacity(64 + pa.records.len() * 24));
    // A side of a section pairing: 0 none, 1 the text before the first heading, 2 a heading.
    let side =
        |w: &mut Writer, path: &Option<Vec<String>>, id: &Option<String>, ix: &FastMap<&str, u32>| match (path, id) {
            (None, _) => w.0.push(0),
            (Some(_), None) => w.0.push(1),
            (Some(_), Some(id)) => {
                w.0.push(2);
                w.u32(ix[id.as_str()]);
            }
        };
    w.u64(pa.sections.len() as u64);
    for s in &pa.sections {
        side(&mut w, &s.zh, &s.zh_id, &iz);
        side(&mut w, &s.en, &s.en_id, &ie);
        w.u32s(&s.zh_merged.iter().map(|id| iz[id.as_str()]).collect::<Vec<u32>>());
        w.u32s(&s.en_merged.iter().map(|id| ie[id.as_str()]).collect::<Vec<u32>>());
        w.f64(s.confidence);
        w.evidence(&s.evidence);
    }
    w.u64(pa.records.len() as u64);
    for ((zi, ei), r) in pa.record_index.iter().zip(&pa.records) {
        let x = Rix::new(zi, ei, r.confidence);
        w.0.push(x.nz | x.ne << 2);
        w.u32(x.zh);
        w.u32(x.en);
        w.f64(x.confidence);
    }
    w.u64(pa.drift.len() as u64);
    for d in &pa.drift {
        w.str(&d.kind);
        w.opt_u32(d.zh.as_ref().map(|id| iz[id.as_str()]));
        w.opt_u32(d.en.as_ref().map(|id| ie[id.as_str()]));
        w.str(&d.detail);
    }
    w.0
}

/// Decodes a pair's cache entry; its section pairings only when
/// `with_sections` (else they are checked and skipped).
fn decode_pair(b: &[u8], dz: &Document, de: &Document, with_sections: bool) -> Option<CachedPair> {
    let mut r = Reader { b, at: 0 };
    let mut blocks = [(0, 0); 3];
    for x in &mut blocks {
        *x = (r.fixed64()?, r.fixed64()?);
    }
    fn rec(d: &Document, i: u32) -> Option<&kb_model::Record> {
        d.records.get(i as usize)
    }
    let id = |d: &Document, i: u32| rec(d, i).map(|r| r.id.clone());
    let side = |r: &mut Reader<'_>, d: &Document| -> Option<(Option<Vec<String>>, Option<String>)> {
        Some(match r.u8()? {
            0 => (None, None),
            1 => (Some(Vec::new()), None),
            2 => {
                let i = r.u32()?;
                (Some(pairs::heading_path(rec(d, i)?)), id(d, i))
            }
            _ => return None,
        })
    };
    let ids = |d: &Document, ix: Vec<u32>| ix.into_iter().map(|i| id(d, i)).collect::<Option<Vec<String>>>();
    let n = r.count()?;
    if !with_sections {
        let side = |r: &mut Reader<'_>, d: &Document| -> Option<()> {
            match r.u8()? {
                0 | 1 => Some(()),
                2 => rec(d, r.u32()?).map(|_| ()),
                _ => None,
            }
        };
        let merged = |r: &mut Reader<'_>, d: &Document| -> Option<()> {
            (0..r.count()?).try_for_each(|_| rec(d, r.u32()?).map(|_| ()))
        };
        for _ in 0..n {
            side(&mut r, dz)?;
            side(&mut r, de)?;
            merged(&mut r, dz)?;
            merged(&mut r, de)?;
            r.f64()?;
            for _ in 0..r.count()? {
                r.skip_str()?;
                r.f64()?;
                r.skip_str()?;
            }
        }
    }
    let mut sections = Vec::with_capacity(if with_sections { n } else { 0 });
    for _ in 0..if with_sections { n } else { 0 } {
        let (zh, zh_id) = side(&mut r, dz)?;
        let (en, en_id) = side(&mut r, de)?;
        sections.push(SectionPair {
            zh_doc: dz.id.clone(),
            en_doc: de.id.clone(),
            zh,
            en,
            zh_id,
            en_id,
            zh_merged: ids(dz, r.u32s()?)?,
            en_merged: ids(de, r.u32s()?)?,
            confidence: r.f64()?,
            evidence: r.evidence()?,
        });
    }
    let n = r.count()?;
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        let shape = r.u8()?;
        let (nz, ne) = (shape & 3, shape >> 2);
        let (zh, en, confidence) = (r.u32()?, r.u32()?, r.f64()?);
        let ok = |d: &Document, i: u32, n: u8| n <= 2 && (i as usize + n as usize) <= d.records.len();
        if !ok(dz, zh, nz) || !ok(de, en, ne) || nz + ne == 0 {
            return None;
        }
        records.push(Rix { zh, nz, en, ne, confidence });
    }
    let n = r.count()?;
    let mut drift = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.str()?;
        let zh = match r.opt_u32()? {
            Some(i) => Some(id(dz, i)?),
            None => None,
        };
        let en = match r.opt_u32()? {
            Some(i) => Some(id(de, i)?),
            None => None,
        };
        drift.push(Drift { kind, zh_doc: dz.id.clone(), en_doc: de.id.clone(), zh, en, detail: r.str()? });
    }
    (r.at == b.len()).then_some(CachedPair { body: (0, b.len()), blocks, sections, records, drift })
}

struct Writer(Vec<u8>);

impl Writer {
    /// LEB128.
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn fixed64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A score: thousandths when that is exact (scores are rounded to 3 decimals), else the bits.
    fn f64(&mut self, v: f64) {
        let k = (v * 1000.0).round();
        if (0.0..=60000.0).contains(&k) && (k / 1000.0).to_bits() == v.to_bits() {
            self.u64(k as u64 + 1);
        } else {
            self.0.push(0);
            self.fixed64(v.to_bits());
        }
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn strs(&mut self, v: &[String]) {
        self.u64(v.len() as u64);
        for s in v {
            self.str(s);
        }
    }
    fn u32(&mut self, v: u32) {
        self.u64(v as u64);
    }
    fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.u32(v);
            }
        }
    }
    fn u32s(&mut self, v: &[u32]) {
        self.u64(v.len() as u64);
        for &x in v {
            self.u32(x);
        }
    }
    fn u64s(&mut self, v: impl ExactSizeIterator<Item = u64>) {
        self.u64(v.len() as u64);
        for x in v {
            self.u64(x);
        }
    }
    fn evidence(&mut self, ev: &[Evidence]) {
        self.u64(ev.len() as u64);
        for e in ev {
            self.str(&e.signal);
            self.f64(e.score);
            self.str(&e.detail);
        }
    }
    fn summary(&mut self, s: &Summary) {
        self.str(&s.id);
        self.0.push(match s.lang {
            Lang::Zh => 0,
            Lang::En => 1,
        });
        self.u64s(s.numbers.iter().copied());
        self.strs(&s.urls);
        self.strs(&s.url_paths);
        self.u64s(s.concepts.iter().map(|&c| c as u64));
        self.u64s(s.title_concepts.iter().map(|&c| c as u64));
        self.strs(&s.images);
        self.u64s(s.tables.iter().flat_map(|&(c, r)| [c as u64, r as u64]).collect::<Vec<_>>().into_iter());
        self.u64s(s.headings.iter().map(|&h| h as u64));
        self.u64s(s.lists.iter().map(|&l| l as u64));
        self.fixed64(s.units.to_bits());
        self.str(&s.rel_key);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    fn fixed64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn f64(&mut self) -> Option<f64> {
        match self.u64()? {
            0 => Some(f64::from_bits(self.fixed64()?)),
            k => Some((k - 1) as f64 / 1000.0),
        }
    }
    /// A count of items that each take at least one byte.
    fn count(&mut self) -> Option<usize> {
        let n = self.u64()? as usize;
        (n <= self.b.len() - self.at).then_some(n)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u64()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn skip_str(&mut self) -> Option<()> {
        let n = self.u64()? as usize;
        std::str::from_utf8(self.take(n)?).ok().map(|_| ())
    }
    fn strs(&mut self) -> Option<Vec<String>> {
        let n = self.count()?;
        (0..n).map(|_| self.str()).collect()
    }
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }
    fn opt_u32(&mut self) -> Option<Option<u32>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.u32()?)),
            _ => None,
        }
    }
    fn u32s(&mut self) -> Option<Vec<u32>> {
        let n = self.count()?;
        (0..n).map(|_| self.u32()).collect()
    }
    fn u64s(&mut self) -> Option<Vec<u64>> {
        let n = self.count()?;
        (0..n).map(|_| self.u64()).collect()
    }
    fn evidence(&mut self) -> Option<Vec<Evidence>> {
        let n = self.count()?;
        (0..n).map(|_| Some(Evidence { signal: self.str()?, score: self.f64()?, detail: self.str()? })).collect()
    }
    fn summary(&mut self) -> Option<Summary> {
        let id = self.str()?;
        let lang = match self.u8()? {
            0 => Lang::Zh,
            1 => Lang::En,
            _ => return None,
        };
        let numbers = self.u64s()?;
        let urls = self.strs()?;
        let url_paths = self.strs()?;
        let small = |v: Vec<u64>| v.into_iter().map(|c| u16::try_from(c).ok()).collect::<Option<Vec<u16>>>();
        let concepts = small(self.u64s()?)?;
        let title_concepts = small(self.u64s()?)?;
        let images = self.strs()?;
        let t = self.u64s()?;
        if t.len() % 2 != 0 {
            return None;
        }
        let tables = t.chunks(2).map(|c| (c[0] as usize, c[1] as usize)).collect();
        let headings = self.u64s()?.into_iter().map(|h| u8::try_from(h).ok()).collect::<Option<Vec<u8>>>()?;
        let lists = self.u64s()?.into_iter().map(|l| l as usize).collect();
        let units = f64::from_bits(self.fixed64()?);
        let rel_key = self.str()?;
        Some(Summary {
            id,
            lang,
            numbers,
            urls,
            url_paths,
            concepts,
            title_concepts,
            images,
            tables,
            headings,
            lists,
            units,
            rel_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, Edits, Shape};

    fn corpus() -> Vec<Document> {
        let mut docs = synth::corpus(6, 1, &Shape::default(), 3);
        for d in &mut docs {
            d.hash = format!("h-{}", d.id);
        }
        let (z, e) = synth::pair(
            90,
            &Shape::default(),
            &Edits { delete_section: Some(1), split_item: Some((2, 1)), swap_rows: Some((3, 0)) },
            9,
        );
        for mut d in [z, e] {
            d.hash = format!("h-{}", d.id);
            docs.push(d);
        }
        docs.sort_by(|a, b| a.path.cmp(&b.path));
        docs
    }

    fn without_evidence(a: &Alignment) -> Vec<RecordPair> {
        a.records.iter().map(|r| RecordPair { evidence: Vec::new(), ..r.clone() }).collect()
    }

    #[test]
    fn a_pair_encodes_and_decodes_to_what_memory_holds() {
        let docs = corpus();
        let built = align_incremental(&docs, &Manifest::default(), None);
        let full = crate::align(&docs, &Manifest::default());
        assert_eq!(built.alignment.documents, full.documents);
        assert!(built.alignment.sections.is_empty(), "section pairings stay in the file");
        assert_eq!(built.alignment.drift, full.drift);
        assert_eq!(built.alignment.records, without_evidence(&full));
        let (mut sections, mut records, mut drift) = (Vec::new(), Vec::new(), Vec::new());
        for o in &built.outs {
            let Body::New(body) = &o.body else { panic!("nothing to reuse") };
            let k = o.key.as_ref().unwrap();
            let dz = docs.iter().find(|d| d.path == k.zh_path).unwrap();
            let de = docs.iter().find(|d| d.path == k.en_path).unwrap();
            let mut b = vec![0u8; 48];
            b.extend_from_slice(body);
            let c = decode_pair(&b, dz, de, true).expect("decodes");
            assert!(decode_pair(&b, dz, de, false).expect("decodes").sections.is_empty());
            sections.extend(c.sections);
            records.extend(c.records.iter().map(|x| record_pair(dz, de, x)));
            drift.extend(c.drift);
        }
        assert_eq!(sections, full.sections);
        assert_eq!(records, without_evidence(&full));
        assert_eq!(drift, full.drift);
    }

    #[test]
    fn links_answer_what_the_counterpart_of_each_record_id_is() {
        let docs = corpus();
        let built = align_incremental(&docs, &Manifest::default(), None);
        let links = built.links(docs.len());
        assert_eq!(links.len(), docs.len());
        let full = crate::align(&docs, &Manifest::default());
        let mut linked = 0;
        for (di, d) in docs.iter().enumerate() {
            for (ri, r) in d.records.iter().enumerate() {
                let by_position = links[di].binary_search_by_key(&(ri as u32), |l| l.0).ok().map(|k| {
                    let (_, od, or, conf) = links[di][k];
                    (docs[od as usize].records[or as usize].id.as_str(), conf)
                });
                assert_eq!(by_position, full.counterpart(&r.id), "{}", r.id);
                linked += usize::from(by_position.is_some());
            }
        }
        assert!(linked > 20, "{linked} records linked");
        // cached pairs give the same links
        let dir = tempfile::tempdir().unwrap();
        let (json, cache) = (dir.path().join(crate::ALIGNMENT_FILE), dir.path().join(CACHE_FILE));
        built.write(&json, &cache, None).unwrap();
        let mut c = Cache::read(dir.path()).expect("reads");
        let again = align_incremental(&docs, &Manifest::default(), Some(&mut c));
        assert_eq!(again.reused_pairs, again.alignment.documents.len());
        assert_eq!(again.links(docs.len()), links);
    }

    fn write(docs: &[Document], out: &Path, mut previous: Option<&mut Cache>) -> (Vec<u8>, Vec<u8>, Built) {
        let built = align_incremental(docs, &Manifest::default(), previous.as_deref_mut());
        let (json, cache) = (out.join(crate::ALIGNMENT_FILE), out.join(CACHE_FILE));
        built.write(&json, &cache, previous.as_deref()).expect("writes");
        (std::fs::read(json).unwrap(), std::fs::read(cache).unwrap(), built)
    }

    /// Edits the text of record `k` of `d` (a new hash, as a re-parse gives).
    fn edit(d: &mut Document, k: usize, text: &str) {
        d.records[k].text = text.to_string();
        d.hash.push('+');
    }

    #[test]
    fn a_rebuild_reuses_unchanged_pairs_and_writes_what_a_full_build_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (prev, full, fresh) = (dir.path().join("prev"), dir.path().join("full"), dir.path().join("next"));
        let mut docs = corpus();
        let (json0, _, b0) = write(&docs, &prev, None);
        assert_eq!(b0.reused_pairs, 0);
        assert_eq!(json0, crate::to_json(&crate::align(&docs, &Manifest::default())), "one layout for both writers");
        let v: serde_json::Value = serde_json::from_slice(&json0).expect("valid JSON");
        assert_eq!(v["records"].as_array().unwrap().len(), b0.alignment.records.len());

        // Nothing changed: everything reused, the same bytes.
        let (json1, cache1, b1) = write(&docs, &fresh, Some(&mut Cache::read(&prev).expect("reads")));
        assert_eq!(b1.reused_pairs, b1.alignment.documents.len());
        assert_eq!(b1.profiled, 0);
        assert_eq!(json1, json0);
        assert_eq!(cache1, std::fs::read(prev.join(CACHE_FILE)).unwrap());

        // One document edited: its pair is aligned again, the rest reused.
        let k = docs.iter().position(|d| d.id == "en/gen-90").unwrap();
        edit(&mut docs[k], 3, "Completely different words, 77 of them, nothing shared.");
        let (json2, cache2, b2) = write(&docs, &fresh, Some(&mut Cache::read(&prev).expect("reads")));
        let (json3, cache3, _) = write(&docs, &full, None);
        assert_eq!(json2, json3, "incremental and full builds differ");
        assert_eq!(cache2, cache3);
        assert!(b2.reused_pairs + 1 >= b2.alignment.documents.len() && b2.reused_pairs < b1.reused_pairs);
        assert!(b2.profiled <= 2, "profiled {}", b2.profiled);

        // A removed document: its counterpart becomes unpaired.
        docs.retain(|d| d.id != "zh/gen-90");
        let (json4, _, _) = write(&docs, &fresh, Some(&mut Cache::read(&fresh).expect("reads")));
        let (json5, _, _) = write(&docs, &full, None);
        assert_eq!(json4, json5);
        let v: serde_json::Value = serde_json::from_slice(&json4).unwrap();
        assert!(v["unpaired_documents"].as_array().unwrap().iter().any(|d| d == "en/gen-90"));
    }

    #[test]
    fn a_broken_cache_is_ignored_and_the_result_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (prev, next) = (dir.path().join("prev"), dir.path().join("next"));
        let docs = corpus();
        let (json0, cache0, _) = write(&docs, &prev, None);
        // Truncated, or of another format: not read.
        std::fs::write(prev.join(CACHE_FILE), &cache0[..cache0.len() / 2]).unwrap();
        assert!(Cache::read(&prev).is_none());
        let mut other = cache0.clone();
        other[MAGIC.len() - 2] = b'9';
        std::fs::write(prev.join(CACHE_FILE), &other).unwrap();
        assert!(Cache::read(&prev).is_none());
        // An alignment.json that is not the one the cache describes: not read.
        std::fs::write(prev.join(CACHE_FILE), &cache0).unwrap();
        std::fs::write(prev.join(crate::ALIGNMENT_FILE), b"{}").unwrap();
        assert!(Cache::read(&prev).is_none());
        // Same length, other content: writing says so, and aligning without cache gives the same bytes.
        let mut shifted = json0.clone();
        let marker = b"\"records\": [\n{";
        let at = shifted.windows(marker.len()).position(|w| w == marker).unwrap() + marker.len() - 1;
        shifted[at] = b' ';
        std::fs::write(prev.join(crate::ALIGNMENT_FILE), &shifted).unwrap();
        if let Some(mut c) = Cache::read(&prev) {
            let built = align_incremental(&docs, &Manifest::default(), Some(&mut c));
            let err = built.write(&next.join("a.json"), &next.join("c.bin"), Some(&c)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        }
        let (json1, cache1, _) = write(&docs, &next, None);
        assert_eq!((json1, cache1), (json0, cache0));
    }
}
