//! The offline search index, one per language, split into small script
//! files so that no file grows with the corpus and a query loads only the
//! few files its terms live in.
//!
//! # Layout (under `site/search/`)
//!
//! * `index.<lang>.json` – the **manifest** (a few hundred bytes):
//!   `{"version": 2, "lang", "entries": N, "chunk": C, "blocks": [{"entries", "shards"}, …]}`.
//!   `index.<lang>.js` is the same manifest assigned to
//!   `window.KB_SEARCH["<lang>"]`, so a page opened from `file://` can load it
//!   with a `<script>` element (browsers refuse `fetch` there).
//! * The language's documents are spread over the manifest's `blocks` by a
//!   hash of the document id ([`block_of`]; the number of blocks is a power
//!   of two chosen from the number of documents, [`block_count`]), so that
//!   editing one document rebuilds one block's files only.
//! * `<lang>/<b>/t<s>.js` – **term shard** `s` of block `b`: every term of
//!   the block whose [`term_shard`] (FNV-1a of its code points, modulo the
//!   block's `shards`) is `s`, with its postings in the block. A block has
//!   as many shards as keep each file near [`SHARD_TARGET`] bytes (never
//!   above [`SHARD_MAX`] unless one term alone is bigger).
//! * `<lang>/<b>/e<c>.js` – **entry chunk** `c` of block `b`: entries
//!   `c·C … c·C+C−1` of the block, `{"d": [[page, document title], …], "e":
//!   [[d, anchor, title, kind, snippet], …]}` (an entry's URL is its page,
//!   `#`, its anchor).
//!
//! Every part file assigns its data to
//! `window.KB_SEARCH_PARTS["<lang>/<b>/t<s>"]` (or `…/e<c>`). A query is
//! split ([`crate::tokenize::query_terms`]), then for every block the shard
//! of every term is loaded (`blocks × distinct shards` files, each small);
//! postings are summed over blocks (document frequency, tf-idf as before);
//! only the entry chunks of the hits shown are loaded.
//!
//! Postings are a flat array of numbers: for each entry holding the term, in
//! entry order, `2·gap + (tf > 1)` where `gap` is the entry number minus the
//! previous one (the first: the entry number), followed by `tf` when
//! `tf > 1`.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Serialize;

/// The index format version.
pub const INDEX_VERSION: u32 = 2;
/// Characters of text kept as a result snippet.
const SNIPPET_CHARS: usize = 160;
/// Entries per entry chunk.
pub const CHUNK: usize = 1000;
/// Documents per block, on average at most.
pub const DOCS_PER_BLOCK: usize = 1024;
/// The size a term shard aims at.
pub const SHARD_TARGET: usize = 96 * 1024;
/// The size no term shard exceeds (unless one term alone does).
pub const SHARD_MAX: usize = 512 * 1024;

/// One searchable entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Site-relative URL of the page.
    pub page: Arc<str>,
    /// The element's anchor on the page.
    pub anchor: String,
    /// The title shown for a hit (section heading or question).
    pub title: Arc<str>,
    /// The document's title.
    pub doc: Arc<str>,
    /// The record kind (or `generated` for questions from rules).
    pub kind: &'static str,
    /// The start of the text.
    pub snippet: String,
}

/// How many blocks a language with `docs` documents is split into: a power
/// of two, so that the count (and with it every block) changes rarely.
pub fn block_count(docs: usize) -> usize {
    docs.div_ceil(DOCS_PER_BLOCK).max(1).next_power_of_two()
}

/// The block of a document.
pub fn block_of(doc_id: &str, blocks: usize) -> usize {
    let h = blake3::hash(doc_id.as_bytes());
    let b = h.as_bytes();
    (u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) % blocks as u64) as usize
}

/// FNV-1a (32 bits) over the code points of `term`, modulo `shards` (the
/// script computes the same).
pub fn term_shard(term: &str, shards: usize) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for c in term.chars() {
        h = (h ^ c as u32).wrapping_mul(0x0100_0193);
    }
    (h as usize) % shards.max(1)
}

/// A term of at most 8 bytes packed into an integer (terms hold no NUL, so
/// zero padding keeps them apart): most terms are Han bigrams or short
/// words, and an integer key hashes and compares in one step.
fn short_key(term: &str) -> Option<u64> {
    let b = term.as_bytes();
    (b.len() <= 8).then(|| {
        let mut k = [0u8; 8];
        k[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(k)
    })
}

/// A term of a block: packed into an integer when at most 8 bytes long
/// ([`short_key`]), else its text.
#[derive(Debug, Clone)]
enum Term {
    Short(u64),
    Long(Box<str>),
}

impl Term {
    /// The term's text.
    fn text(&self) -> TermText<'_> {
        match self {
            Term::Short(k) => {
                let b = k.to_le_bytes();
                TermText::Inline(b, b.iter().position(|&x| x == 0).unwrap_or(8))
            }
            Term::Long(s) => TermText::Borrowed(s),
        }
    }
}

/// The text of a [`Term`].
enum TermText<'a> {
    Inline([u8; 8], usize),
    Borrowed(&'a str),
}

impl std::ops::Deref for TermText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            TermText::Inline(b, n) => std::str::from_utf8(&b[..*n]).expect("a short key holds a whole term"),
            TermText::Borrowed(s) => s,
        }
    }
}

/// The entries and postings of one block of one language (or of a part of
/// one: [`Block::concat`]).
#[derive(Debug, Default)]
pub struct Block {
    /// The entries, in the order they were added.
    pub entries: Vec<Entry>,
    /// Short term ([`short_key`]) → its number.
    short: FxHashMap<u64, u32>,
    /// Longer term → its number.
    long: FxHashMap<Box<str>, u32>,
    /// The terms, by number.
    terms: Vec<Term>,
    /// The term of every occurrence, in text order, entry after entry
    /// (grouped into postings when the files are written).
    occurrences: Vec<u32>,
    /// Where each entry's occurrences end in `occurrences`.
    ends: Vec<u32>,
}

impl Block {
    /// An empty block with room for about `text` bytes of searchable text
    /// (a text has at most as many terms as bytes) in `entries` entries.
    pub fn with_capacity(entries: usize, text: usize) -> Block {
        Block {
            entries: Vec::with_capacity(entries),
            ends: Vec::with_capacity(entries),
            occurrences: Vec::with_capacity(text),
            ..Block::default()
        }
    }

    /// The number of `term`, numbering it when new.
    fn term_id(&mut self, term: &str) -> u32 {
        let next = self.terms.len() as u32;
        match short_key(term) {
            Some(k) => self.short_id(k),
            None => match self.long.get(term) {
                Some(&id) => id,
                None => {
                    self.long.insert(term.into(), next);
                    self.terms.push(Term::Long(term.into()));
                    next
                }
            },
        }
    }

    /// The number of the short term `k`, numbering it when new.
    fn short_id(&mut self, k: u64) -> u32 {
        let next = self.terms.len() as u32;
        let id = *self.short.entry(k).or_insert(next);
        if id == next {
            self.terms.push(Term::Short(k));
        }
        id
    }

    fn id_of(&self, term: &str) -> Option<u32> {
        match short_key(term) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(term).copied(),
        }
    }

    /// Adds an entry whose searchable text is `text`; entries with no terms are skipped.
    pub fn add(&mut self, entry: Entry, text: &str) {
        let before = self.occurrences.len();
        crate::tokenize::for_each_index_term(text, |t| {
            let id = self.term_id(t);
            self.occurrences.push(id);
        });
        if self.occurrences.len() > before {
            self.entries.push(entry);
            self.ends.push(self.occurrences.len() as u32);
        }
    }

    /// Appends the entries of `other` after this block's, with their postings:
    /// the same block as adding them here one by one.
    pub fn append(&mut self, other: Block) {
        if self.entries.is_empty() && self.terms.is_empty() && self.occurrences.capacity() < other.occurrences.len() {
            *self = other;
            return;
        }
        // Each of the other block's terms is looked up once, not once per occurrence.
        let ids: Vec<u32> = other
            .terms
            .iter()
            .map(|t| match t {
                Term::Short(k) => self.short_id(*k),
                Term::Long(s) => self.term_id(s),
            })
            .collect();
        let offset = self.occurrences.len() as u32;
        self.occurrences.extend(other.occurrences.iter().map(|&t| ids[t as usize]));
        self.ends.extend(other.ends.iter().map(|&e| e + offset));
        self.entries.extend(other.entries);
    }

    /// The parts appended in order, into one block allocated once.
    pub fn concat(parts: Vec<Block>) -> Block {
        let entries = parts.iter().map(|p| p.entries.len()).sum();
        let occurrences = parts.iter().map(|p| p.occurrences.len()).sum();
        let mut block = Block::with_capacity(entries, occurrences);
        for p in parts {
            block.append(p);
        }
        block
    }

    /// Each entry's occurrences.
    fn by_entry(&self) -> impl Iterator<Item = (u32, &[u32])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).enumerate().map(|(e, (s, &end))| (e as u32, &self.occurrences[s as usize..end as usize]))
    }

    /// The postings of `term`: `(entry, term frequency)`, by entry.
    pub fn postings(&self, term: &str) -> Vec<(u32, u32)> {
        let Some(id) = self.id_of(term) else { return Vec::new() };
        self.by_entry()
            .map(|(e, ts)| (e, ts.iter().filter(|&&t| t == id).count() as u32))
            .filter(|&(_, f)| f > 0)
            .collect()
    }

    /// Every term's occurrences' entries, grouped by term (a stable counting
    /// sort: by entry within a term, an entry repeated as often as the term
    /// occurs in it): the entries, and where each term's run starts (one
    /// more than there are terms).
    fn grouped(&self) -> (Vec<u32>, Vec<u32>) {
        let mut starts = vec![0u32; self.terms.len() + 1];
        for &t in &self.occurrences {
            starts[t as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut entries = vec![0u32; self.occurrences.len()];
        for (e, ts) in self.by_entry() {
            for &t in ts {
                let slot = &mut next[t as usize];
                entries[*slot as usize] = e;
                *slot += 1;
            }
        }
        (entries, starts)
    }

    /// The block's files: `(name, script)` pairs, `name` relative to the
    /// language's folder under `search/` (`<b>/t<s>`, `<b>/e<c>`), and the
    /// number of term shards.
    pub fn files(&self, lang: &str, block: usize) -> (Vec<(String, String)>, usize) {
        use rayon::prelude::*;
        let (occurrences, starts) = self.grouped();
        let run = |id: u32| &occurrences[starts[id as usize] as usize..starts[id as usize + 1] as usize];
        // The terms in order, each with the length of its postings as
        // written; then they are dealt into shards and each shard's file is
        // written at once (no term's postings are held apart from it).
        let mut order: Vec<(TermText<'_>, u32)> =
            self.terms.iter().enumerate().map(|(id, t)| (t.text(), id as u32)).collect();
        order.par_sort_unstable_by(|a, b| (*a.0).cmp(&*b.0));
        let lens: Vec<usize> = order.par_iter().with_min_len(256).map(|(_, id)| postings_len(run(*id))).collect();
        // What a term counts for in its shard's size: its text, its postings
        // and 8 for the punctuation.
        let size = |t: &str, postings: usize| t.len() + postings + 8;
        let total: usize = order.iter().zip(&lens).map(|((t, _), n)| size(t, *n)).sum();
        let mut shards = total.div_ceil(SHARD_TARGET).max(1);
        let assign = |shards: usize| {
            let mut sizes = vec![0usize; shards];
            let of: Vec<u32> = order
                .iter()
                .zip(&lens)
                .map(|((t, _), n)| {
                    let s = term_shard(t, shards);
                    sizes[s] += size(t, *n);
                    s as u32
                })
                .collect();
            (sizes, of)
        };
        let (mut sizes, mut of) = assign(shards);
        // Hashing may crowd one shard: spread wider until none is too big
        // (one term bigger than the limit alone stays where it is).
        while sizes.iter().any(|&s| s > SHARD_MAX) && shards < order.len() {
            shards *= 2;
            (sizes, of) = assign(shards);
        }
        let mut members: Vec<Vec<u32>> = sizes.iter().map(|_| Vec::new()).collect();
        for (i, &s) in of.iter().enumerate() {
            members[s as usize].push(i as u32);
        }
        let shard_files = members.into_par_iter().enumerate().map(|(s, ms)| {
            let name = format!("{block}/t{s}");
            let mut out = String::with_capacity(sizes[s] + 128);
            part_head(&mut out, lang, &name);
            out.push('{');
            for (i, &m) in ms.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let (t, id) = &order[m as usize];
                push_json_key_for_script(&mut out, t);
                out.push_str(":[");
                push_postings(&mut out, run(*id));
                out.push(']');
            }
            out.push('}');
            out.push_str(";\n");
            (name, out)
        });
        let chunk_files = self.entries.par_chunks(CHUNK).enumerate().map(|(c, chunk)| {
            let name = format!("{block}/e{c}");
            let script = part_script(lang, &name, &chunk_json(chunk));
            (name, script)
        });
        let mut files: Vec<(String, String)> = shard_files.collect();
        files.par_extend(chunk_files);
        (files, shards)
    }
}

/// Calls `f` with each number of the postings of a term whose occurrences'
/// entries are `run` (by entry, an entry repeated as often as the term
/// occurs in it): `2·gap + (tf > 1)`, then `tf` when above one.
fn for_each_posting(run: &[u32], mut f: impl FnMut(u64)) {
    let mut prev = 0u32;
    for ps in run.chunk_by(|a, b| a == b) {
        let (e, tf) = (ps[0], ps.len());
        let gap = u64::from(e - prev);
        prev = e;
        f(gap * 2 + u64::from(tf > 1));
        if tf > 1 {
            f(tf as u64);
        }
    }
}

/// Appends the postings of `run` ([`for_each_posting`]), comma-separated.
fn push_postings(s: &mut String, run: &[u32]) {
    let mut first = true;
    for_each_posting(run, |n| {
        if !first {
            s.push(',');
        }
        first = false;
        push_num(s, n);
    });
}

/// The length of what [`push_postings`] appends.
fn postings_len(run: &[u32]) -> usize {
    let mut len = 0;
    // Each number's digits and a comma, less the comma after the last.
    for_each_posting(run, |n| len += 2 + n.checked_ilog10().unwrap_or(0) as usize);
    len.saturating_sub(1)
}

/// Appends `key` as a JSON string escaped for a script element (what
/// [`push_json_str`] then [`crate::sanitize::push_json_for_script`] give).
fn push_json_key_for_script(out: &mut String, key: &str) {
    let plain = key.bytes().all(|b| b >= 0x20 && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xE2));
    if plain {
        out.push('"');
        out.push_str(key);
        out.push('"');
    } else {
        let mut json = String::new();
        push_json_str(&mut json, key);
        crate::sanitize::push_json_for_script(out, &json);
    }
}

/// Appends `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).expect("strings serialise"));
    }
}

fn push_num(s: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// The JSON of an entry chunk: a table of pages and the entries pointing into it.
fn chunk_json(entries: &[Entry]) -> String {
    let mut pages: Vec<(&str, &str)> = Vec::new();
    let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let key = (&*e.page, &*e.doc);
        let d = *index.entry(key).or_insert_with(|| {
            pages.push(key);
            pages.len() - 1
        });
        rows.push((d, e.anchor.as_str(), &*e.title, e.kind, e.snippet.as_str()));
    }
    #[derive(Serialize)]
    struct Chunk<'a> {
        d: Vec<(&'a str, &'a str)>,
        e: Vec<(usize, &'a str, &'a str, &'a str, &'a str)>,
    }
    serde_json::to_string(&Chunk { d: pages, e: rows }).expect("chunks serialise")
}

/// A part file: assigns `json` to `window.KB_SEARCH_PARTS["<lang>/<name>"]`,
/// escaped so that it cannot end a `<script>` element.
fn part_script(lang: &str, name: &str, json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 96);
    part_head(&mut out, lang, name);
    crate::sanitize::push_json_for_script(&mut out, json);
    out.push_str(";\n");
    out
}

/// The start of a part file, up to its data.
fn part_head(out: &mut String, lang: &str, name: &str) {
    out.push_str("(window.KB_SEARCH_PARTS = window.KB_SEARCH_PARTS || {})[");
    push_json_str(out, &format!("{lang}/{name}"));
    out.push_str("] = ");
}

/// What the manifest says of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BlockInfo {
    /// Entries in the block.
    pub entries: usize,
    /// Term shards of the block.
    pub shards: usize,
}

/// A language's manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// [`INDEX_VERSION`].
    pub version: u32,
    /// `zh` / `en`.
    pub lang: String,
    /// Entries in all blocks.
    pub entries: usize,
    /// Entries per entry chunk ([`CHUNK`]).
    pub chunk: usize,
    /// The blocks, by number.
    pub blocks: Vec<BlockInfo>,
}

impl Manifest {
    /// The manifest of `lang` with `blocks`.
    pub fn new(lang: &str, blocks: Vec<BlockInfo>) -> Manifest {
        Manifest {
            version: INDEX_VERSION,
            lang: lang.to_string(),
            entries: blocks.iter().map(|b| b.entries).sum(),
            chunk: CHUNK,
            blocks,
        }
    }

    /// The JSON text (`index.<lang>.json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the manifest serialises") + "\n"
    }

    /// The script (`index.<lang>.js`): the manifest assigned to `window.KB_SEARCH[lang]`.
    pub fn to_script(&self) -> String {
        format!(
            "/* kb offline search index ({lang}): manifest; the data is in search/{lang}/ */\n(window.KB_SEARCH = window.KB_SEARCH || {{}})[{key}] = {json};\n",
            lang = self.lang,
            key = crate::sanitize::json_for_script(&serde_json::Value::String(self.lang.clone())),
            json = crate::sanitize::escape_json_for_script(&serde_json::to_string(self).expect("serialises")),
        )
    }
}

/// The start of `text` on one line, cut at a character boundary: its
/// words (runs of non-whitespace) joined by one space, at most
/// 160 characters, then `…` when more follows.
pub fn snippet(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SNIPPET_CHARS * 3 + 3));
    let mut n = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = n > 0;
            continue;
        }
        if n == SNIPPET_CHARS {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            n += 1;
            space = false;
            if n == SNIPPET_CHARS {
                out.push('…');
                return out;
            }
        }
        out.push(c);
        n += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(a: &str) -> Entry {
        Entry {
            page: "zh/docs/d.html".into(),
            anchor: a.into(),
            title: a.into(),
            doc: "d".into(),
            kind: "paragraph",
            snippet: String::new(),
        }
    }

    #[test]
    fn postings_count_term_frequency_per_entry() {
        let mut b = Block::default();
        b.add(entry("a"), "注册资本 注册");
        b.add(entry("b"), "   ");
        b.add(entry("c"), "资本 Capital");
        assert_eq!(b.entries.len(), 2, "an entry with no terms is skipped");
        assert_eq!(b.postings("注册"), [(0, 2)]);
        assert_eq!(b.postings("资本"), [(0, 1), (1, 1)]);
        assert_eq!(b.postings("capital"), [(1, 1)]);
        assert_eq!(b.postings("nothing"), []);
    }

    #[test]
    fn postings_are_gap_coded_with_term_frequency_when_above_one() {
        let mut b = Block::default();
        for i in 0..5 {
            b.add(
                entry(&i.to_string()),
                if i == 3 {
                    "x x x"
                } else if i % 2 == 0 {
                    "x"
                } else {
                    "y"
                },
            );
        }
        let (files, shards) = b.files("en", 0);
        assert_eq!(shards, 1);
        assert_eq!(files.len(), 2, "one shard, one chunk");
        // x in entries 0, 2, 3 (tf 3), 4: gaps 0, 2, 1, 1.
        assert!(files[0].1.contains(r#""x":[0,4,3,3,2]"#), "{}", files[0].1);
        assert!(files[0].1.contains(r#""y":[2]"#), "{}", files[0].1);
        assert!(files[0].1.starts_with(r#"(window.KB_SEARCH_PARTS = window.KB_SEARCH_PARTS || {})["en/0/t0"] = "#));
    }

    #[test]
    fn part_files_cannot_break_out_of_a_script_element() {
        let mut b = Block::default();
        let mut e = entry("</script><b>");
        e.snippet = "a\u{2028}b & c".into();
        b.add(e, "</script> x");
        for (_, js) in b.files("en", 0).0 {
            assert!(!js.contains("</script>") && !js.contains('\u{2028}') && !js.contains(" & "), "{js}");
        }
    }

    #[test]
    fn a_large_block_is_spread_over_bounded_shards() {
        let mut b = Block::default();
        for i in 0..20_000 {
            b.add(entry(&i.to_string()), &format!("w{} w{} common", i, i % 977));
        }
        let (files, shards) = b.files("en", 3);
        assert!(shards > 1);
        for (name, js) in &files {
            assert!(js.len() <= SHARD_MAX + 4096, "{name}: {} bytes", js.len());
        }
        assert_eq!(files.iter().filter(|(n, _)| n.starts_with("3/e")).count(), 20);
        // Every term is in the shard its hash names.
        for (name, js) in files.iter().filter(|(n, _)| n.starts_with("3/t")) {
            let s: usize = name[3..].parse().unwrap();
            let body = &js[js.find("] = ").unwrap() + 4..js.len() - 2];
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            for t in v.as_object().unwrap().keys() {
                assert_eq!(term_shard(t, shards), s, "{t}");
            }
        }
    }

    #[test]
    fn blocks_grow_in_powers_of_two_and_keep_documents_apart() {
        assert_eq!(block_count(0), 1);
        assert_eq!(block_count(DOCS_PER_BLOCK), 1);
        assert_eq!(block_count(DOCS_PER_BLOCK + 1), 2);
        assert_eq!(block_count(5 * DOCS_PER_BLOCK), 8);
        let mut seen = [0usize; 8];
        for i in 0..8000 {
            seen[block_of(&format!("zh/doc-{i}"), 8)] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn term_shards_are_fnv1a_of_code_points() {
        assert_eq!(term_shard("", 1000), 0x811c_9dc5 % 1000);
        // FNV-1a of "a" is 0xe40c292c.
        assert_eq!(term_shard("a", 1 << 31), 0xe40c_292c % (1 << 31));
    }

    #[test]
    fn appended_blocks_give_the_files_of_one_block() {
        let texts: Vec<String> =
            (0..300).map(|i| format!("w{} 注册资本{} common{} x{}", i % 37, i % 5, i % 3, i % 211)).collect();
        let mut whole = Block::default();
        for (i, t) in texts.iter().enumerate() {
            whole.add(entry(&i.to_string()), if i % 50 == 7 { " " } else { t });
        }
        for cut in [1, 7, 150, 299] {
            let mut parts = [Block::default(), Block::default(), Block::default()];
            for (i, t) in texts.iter().enumerate() {
                let part = if i < cut {
                    0
                } else if i < cut + 20 {
                    1
                } else {
                    2
                };
                parts[part].add(entry(&i.to_string()), if i % 50 == 7 { " " } else { t });
            }
            let [mut a, b, c] = parts;
            a.append(b);
            a.append(c);
            assert_eq!(a.files("zh", 0), whole.files("zh", 0), "cut at {cut}");
        }
        // One block per entry, concatenated, is the same block too.
        let singles: Vec<Block> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut b = Block::with_capacity(1, 8);
                b.add(entry(&i.to_string()), if i % 50 == 7 { " " } else { t });
                b
            })
            .collect();
        let joined = Block::concat(singles);
        assert_eq!(joined.entries, whole.entries);
        assert_eq!(joined.files("zh", 0), whole.files("zh", 0));
        assert_eq!(joined.postings("注册"), whole.postings("注册"));
    }

    #[test]
    fn the_length_of_postings_is_known_before_they_are_written() {
        let runs: [&[u32]; 6] = [&[], &[0], &[0, 0], &[9, 10, 10, 10], &[3, 99, 100, 100, 12345], &[7; 12]];
        for run in runs {
            let mut s = String::new();
            push_postings(&mut s, run);
            assert_eq!(postings_len(run), s.len(), "{run:?}: {s}");
        }
    }

    #[test]
    fn terms_that_need_escaping_are_escaped_in_shard_files() {
        for key in ["plain", "注册", "a<b", "x&y", "q\"t", "\u{2028}", "…"] {
            let mut direct = String::new();
            push_json_key_for_script(&mut direct, key);
            let mut json = String::new();
            push_json_str(&mut json, key);
            let mut slow = String::new();
            crate::sanitize::push_json_for_script(&mut slow, &json);
            assert_eq!(direct, slow, "{key:?}");
        }
    }

    /// The snippet as first written: words joined by a space, cut at [`SNIPPET_CHARS`].
    fn snippet_by_words(text: &str) -> String {
        let mut out = String::new();
        let mut n = 0;
        for w in text.split_whitespace() {
            if n > 0 {
                if n == SNIPPET_CHARS {
                    out.push('…');
                    return out;
                }
                out.push(' ');
                n += 1;
            }
            for c in w.chars() {
                if n == SNIPPET_CHARS {
                    out.push('…');
                    return out;
                }
                out.push(c);
                n += 1;
            }
        }
        out
    }

    #[test]
    fn snippets_collapse_whitespace_as_splitting_into_words_does() {
        let mut text = crate::RandomText::new("ab 注\n\t\u{3000}\u{a0}x", 0x2545_f491_4f6c_dd1d);
        for len in (0..400).step_by(3) {
            let s = text.string(len);
            assert_eq!(snippet(&s), snippet_by_words(&s), "{s:?}");
        }
        for s in ["a".repeat(160), "a".repeat(161), format!("{} ", "a".repeat(160)), format!("{} b", "a".repeat(159))] {
            assert_eq!(snippet(&s), snippet_by_words(&s), "{s:?}");
        }
    }

    #[test]
    fn snippets_are_one_line_and_short() {
        let s = snippet(&"长".repeat(500));
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(snippet("a\n  b"), "a b");
    }
}
