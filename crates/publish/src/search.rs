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
    pub page: String,
    /// The element's anchor on the page.
    pub anchor: String,
    /// The title shown for a hit (section heading or question).
    pub title: String,
    /// The document's title.
    pub doc: String,
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

/// `(entry, term frequency)` pairs, by entry.
type Postings = Vec<(u32, u32)>;

/// The entries and postings of one block of one language.
#[derive(Debug, Default)]
pub struct Block {
    /// The entries, in the order they were added.
    pub entries: Vec<Entry>,
    /// term → its number in `postings`.
    ids: FxHashMap<Box<str>, u32>,
    /// By term number: the term and its `(entry, term frequency)`, by entry.
    postings: Vec<(Box<str>, Postings)>,
    /// Scratch: the term numbers of the entry being added.
    scratch: Vec<u32>,
}

impl Block {
    /// Adds an entry whose searchable text is `text`; entries with no terms are skipped.
    pub fn add(&mut self, entry: Entry, text: &str) {
        let Block { ids, postings, scratch, .. } = self;
        scratch.clear();
        crate::tokenize::for_each_index_term(text, |t| {
            let id = match ids.get(t) {
                Some(&id) => id,
                None => {
                    let id = postings.len() as u32;
                    ids.insert(t.into(), id);
                    postings.push((t.into(), Vec::new()));
                    id
                }
            };
            scratch.push(id);
        });
        if scratch.is_empty() {
            return;
        }
        scratch.sort_unstable();
        let n = self.entries.len() as u32;
        let mut i = 0;
        while i < scratch.len() {
            let id = scratch[i];
            let mut j = i + 1;
            while j < scratch.len() && scratch[j] == id {
                j += 1;
            }
            self.postings[id as usize].1.push((n, (j - i) as u32));
            i = j;
        }
        self.entries.push(entry);
    }

    /// The postings of `term`: `(entry, term frequency)`, by entry.
    pub fn postings(&self, term: &str) -> &[(u32, u32)] {
        self.ids.get(term).map_or(&[], |&id| &self.postings[id as usize].1)
    }

    /// The block's files: `(name, script)` pairs, `name` relative to the
    /// language's folder under `search/` (`<b>/t<s>`, `<b>/e<c>`), and the
    /// number of term shards.
    pub fn files(&self, lang: &str, block: usize) -> (Vec<(String, String)>, usize) {
        // Encode every term's postings once, then deal them into shards.
        let mut encoded: Vec<(&str, String)> = self
            .postings
            .iter()
            .map(|(t, ps)| {
                let mut s = String::with_capacity(ps.len() * 3);
                let mut prev = 0u32;
                for (i, &(e, f)) in ps.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let gap = (e - prev) as u64;
                    prev = e;
                    push_num(&mut s, gap * 2 + u64::from(f > 1));
                    if f > 1 {
                        s.push(',');
                        push_num(&mut s, f as u64);
                    }
                }
                (&**t, s)
            })
            .collect();
        encoded.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let total: usize = encoded.iter().map(|(t, p)| t.len() + p.len() + 8).sum();
        let mut shards = total.div_ceil(SHARD_TARGET).max(1);
        let assign = |shards: usize| {
            let mut sizes = vec![0usize; shards];
            let mut of = Vec::with_capacity(encoded.len());
            for (t, p) in &encoded {
                let s = term_shard(t, shards);
                sizes[s] += t.len() + p.len() + 8;
                of.push(s);
            }
            (sizes, of)
        };
        let (mut sizes, mut of) = assign(shards);
        // Hashing may crowd one shard: spread wider until none is too big
        // (one term bigger than the limit alone stays where it is).
        while sizes.iter().any(|&s| s > SHARD_MAX) && shards < encoded.len() {
            shards *= 2;
            (sizes, of) = assign(shards);
        }
        let mut bodies: Vec<String> = sizes.iter().map(|&n| String::with_capacity(n + 2)).collect();
        for ((t, p), &s) in encoded.iter().zip(&of) {
            let b = &mut bodies[s];
            b.push(if b.is_empty() { '{' } else { ',' });
            b.push_str(&serde_json::to_string(t).expect("strings serialise"));
            b.push_str(":[");
            b.push_str(p);
            b.push(']');
        }
        let mut files = Vec::with_capacity(shards + self.entries.len().div_ceil(CHUNK));
        for (s, mut body) in bodies.into_iter().enumerate() {
            if body.is_empty() {
                body.push('{');
            }
            body.push('}');
            let name = format!("{block}/t{s}");
            files.push((name.clone(), part_script(lang, &name, &body)));
        }
        for (c, chunk) in self.entries.chunks(CHUNK).enumerate() {
            let name = format!("{block}/e{c}");
            files.push((name.clone(), part_script(lang, &name, &chunk_json(chunk))));
        }
        (files, shards)
    }
}

fn push_num(s: &mut String, n: u64) {
    use std::fmt::Write;
    let _ = write!(s, "{n}");
}

/// The JSON of an entry chunk: a table of pages and the entries pointing into it.
fn chunk_json(entries: &[Entry]) -> String {
    let mut pages: Vec<(&str, &str)> = Vec::new();
    let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let key = (e.page.as_str(), e.doc.as_str());
        let d = *index.entry(key).or_insert_with(|| {
            pages.push(key);
            pages.len() - 1
        });
        rows.push((d, e.anchor.as_str(), e.title.as_str(), e.kind, e.snippet.as_str()));
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
    let key = serde_json::to_string(&format!("{lang}/{name}")).expect("strings serialise");
    format!(
        "(window.KB_SEARCH_PARTS = window.KB_SEARCH_PARTS || {{}})[{key}] = {};\n",
        crate::sanitize::escape_json_for_script(json)
    )
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

/// The start of `text` on one line, cut at a character boundary.
pub fn snippet(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SNIPPET_CHARS * 3 + 3));
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
    fn snippets_are_one_line_and_short() {
        let s = snippet(&"长".repeat(500));
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert_eq!(snippet("a\n  b"), "a b");
    }
}
