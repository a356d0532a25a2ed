//! Writing the rules files of an output folder — `rules.json`,
//! `rules/<scope>.json` and `rules/index.json` — in their compact layout,
//! and, in a rebuild, copying the unchanged documents' rules from the
//! previous files instead of writing them again.
//!
//! # Layout
//!
//! A rules file is one JSON object, `{"version": 1, "rules": [...]}`, with
//! one rule a line inside the array:
//!
//! ```text
//! {"version":1,"rules":[
//! {"id":"rule-1e3e3730e9f4","key":"微信小程序市场|registered_capital",…},
//! {"id":"rule-…",…}
//! ]}
//! ```
//!
//! so a line-based `diff` of two versions shows exactly the rules that
//! changed, and a reader may also take it line by line. The rules of one
//! document are consecutive lines (the file is sorted by source), which is
//! what lets a rebuild copy them as one block.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kb_model::rules::{Rule, RuleSet, RULES_FORMAT_VERSION};
use rayon::prelude::*;

use crate::cache::{keys_digest, DocEntry, RulesCache, ScopeEntry, Span};
use crate::extract::{Assembly, DocDrafts};
use crate::{scope_file_name, Error, Result, RULES_FILE, SCOPES_DIR, SCOPES_INDEX};

/// What comes before the first rule line of a rules file.
pub fn header() -> String {
    format!("{{\"version\":{RULES_FORMAT_VERSION},\"rules\":[\n")
}

/// What comes after the last rule line.
pub const FOOTER: &[u8] = b"\n]}\n";

/// Between two rule lines.
const SEP: &[u8] = b",\n";

/// Appends one rule as a line (no separator, no newline).
pub fn push_line(buf: &mut Vec<u8>, rule: &Rule) {
    serde_json::to_writer(&mut *buf, rule).expect("rules serialise");
}

/// A whole rules file in the compact layout.
pub fn to_bytes(rules: &RuleSet) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + rules.rules.len() * 700);
    buf.extend_from_slice(format!("{{\"version\":{},\"rules\":[\n", rules.version).as_bytes());
    for (i, r) in rules.rules.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(SEP);
        }
        push_line(&mut buf, r);
    }
    buf.extend_from_slice(FOOTER);
    buf
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write { path: path.to_path_buf(), source }
}

/// A piece of an output file.
#[derive(Debug, Clone, Copy)]
enum Piece {
    /// Bytes of the pending buffer.
    New(usize, usize),
    /// Bytes of the previous file.
    Copy(Span),
}

/// One output file, put together from new bytes and byte ranges of the
/// previous version of the file. The pieces are kept until [`Composer::flush`]
/// (at most about a megabyte of new bytes), which opens the file, writes
/// them in order — the copied ranges with `copy_file_range` where the
/// system has it, so they never pass through memory — and, for the many
/// scope files, closes it again.
struct Composer {
    path: PathBuf,
    prev: Option<PathBuf>,
    pieces: Vec<Piece>,
    buf: Vec<u8>,
    file: Option<File>,
    keep_open: bool,
    created: bool,
    /// Logical length so far, flushed or not.
    len: u64,
    /// Rule lines so far.
    lines: u32,
}

/// Flush a composer once this many new bytes are pending.
const FLUSH_AT: usize = 1 << 20;

impl Composer {
    fn new(path: PathBuf, prev: Option<PathBuf>, keep_open: bool) -> Composer {
        let mut c = Composer {
            path,
            prev,
            pieces: Vec::new(),
            buf: Vec::new(),
            file: None,
            keep_open,
            created: false,
            len: 0,
            lines: 0,
        };
        c.bytes(header().as_bytes());
        c
    }

    fn bytes(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(b);
        match self.pieces.last_mut() {
            Some(Piece::New(_, end)) if *end == start => *end = self.buf.len(),
            _ => self.pieces.push(Piece::New(start, self.buf.len())),
        }
        self.len += b.len() as u64;
    }

    fn copy(&mut self, s: Span) {
        if s.len == 0 {
            return;
        }
        match self.pieces.last_mut() {
            Some(Piece::Copy(last)) if last.end() == s.offset => last.len += s.len,
            _ => self.pieces.push(Piece::Copy(s)),
        }
        self.len += s.len;
    }

    /// Adds a block of `lines` rule lines: copied from `prev` (its span in
    /// the previous file), or `new` bytes. Returns where the block is in the
    /// new file. A separator between two blocks copied from consecutive
    /// places of the previous file is copied with them.
    fn block(&mut self, lines: u32, prev: Option<Span>, new: &[u8]) -> Span {
        if lines == 0 {
            return Span::default();
        }
        if self.lines > 0 {
            let joined = match (self.pieces.last(), prev) {
                (Some(Piece::Copy(last)), Some(p)) => last.end() + SEP.len() as u64 == p.offset,
                _ => false,
            };
            if joined {
                let p = prev.expect("prev");
                self.copy(Span { offset: p.offset - SEP.len() as u64, len: SEP.len() as u64 });
            } else {
                self.bytes(SEP);
            }
        }
        let at = self.len;
        match prev {
            Some(p) => self.copy(p),
            None => self.bytes(new),
        }
        self.lines += lines;
        Span { offset: at, len: self.len - at }
    }

    /// Adds a block of new rule lines (see [`Composer::block`]).
    fn lines<'l>(&mut self, lines: impl Iterator<Item = &'l [u8]>) -> Span {
        if self.lines > 0 {
            self.bytes(SEP);
        }
        let at = self.len;
        let mut n = 0;
        for l in lines {
            if n > 0 {
                self.bytes(SEP);
            }
            self.bytes(l);
            n += 1;
        }
        self.lines += n;
        Span { offset: at, len: self.len - at }
    }

    fn open(&mut self) -> Result<File> {
        let f = if self.created {
            OpenOptions::new().append(true).open(&self.path)
        } else {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            File::create(&self.path)
        };
        self.created = true;
        f.map_err(io_err(&self.path))
    }

    fn flush(&mut self) -> Result<()> {
        if self.pieces.is_empty() {
            return Ok(());
        }
        let mut f = match self.file.take() {
            Some(f) => f,
            None => self.open()?,
        };
        let mut prev: Option<File> = None;
        for p in std::mem::take(&mut self.pieces) {
            match p {
                Piece::New(a, b) => f.write_all(&self.buf[a..b]).map_err(io_err(&self.path))?,
                Piece::Copy(s) => {
                    let from = self.prev.as_deref().expect("copies come from a previous file");
                    if prev.is_none() {
                        prev = Some(File::open(from).map_err(io_err(from))?);
                    }
                    let src = prev.as_mut().expect("open");
                    src.seek(SeekFrom::Start(s.offset)).map_err(io_err(from))?;
                    let n = std::io::copy(&mut (&*src).take(s.len), &mut f).map_err(io_err(&self.path))?;
                    if n != s.len {
                        return Err(Error::Write {
                            path: from.to_path_buf(),
                            source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "previous file is shorter"),
                        });
                    }
                }
            }
        }
        self.buf.clear();
        if self.keep_open {
            self.file = Some(f);
        }
        Ok(())
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Ends the file (its last bytes are still to be written, by
    /// [`Composer::flush`]) and returns its length.
    fn close(&mut self) -> u64 {
        self.bytes(FOOTER);
        self.len
    }
}

/// What is left to write of the rules files once [`write()`] has planned
/// them: the pending bytes and copies of `rules.json` and of the scope
/// files, and the scope files to link. Their lengths and places are already
/// in the cache [`write()`] returns, so the cache can be written meanwhile.
pub struct Pending {
    main: Composer,
    scopes: Vec<ScopeJob>,
}

enum ScopeJob {
    /// A scope file put together from new bytes and copies.
    Write(Composer),
    /// A scope file taken over: hard-linked (copied where linking fails).
    Link { from: PathBuf, to: PathBuf },
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("main", &self.main.path).field("scopes", &self.scopes.len()).finish()
    }
}

impl Pending {
    /// Writes everything out: `rules.json` beside the scope files (in parallel).
    pub fn finish(self) -> Result<()> {
        let Pending { mut main, scopes } = self;
        let (a, b) = rayon::join(
            || main.flush(),
            || {
                scopes.into_par_iter().try_for_each(|job| match job {
                    ScopeJob::Write(mut c) => c.flush(),
                    ScopeJob::Link { from, to } => {
                        if std::fs::hard_link(&from, &to).is_err() {
                            std::fs::copy(&from, &to).map_err(io_err(&to))?;
                        }
                        Ok(())
                    }
                })
            },
        );
        a.and(b)
    }
}

/// The previous build's rules files and cache.
pub struct Previous<'a> {
    /// The previous output folder.
    pub dir: &'a Path,
    /// Its rules cache.
    pub cache: &'a RulesCache,
}

/// What [`write()`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// Documents with rules.
    pub documents: usize,
    /// Of those, how many had their rules copied from the previous `rules.json`.
    pub copied: usize,
    /// Scope files.
    pub scopes: usize,
    /// Of those, how many were taken over unchanged from the previous build.
    pub scopes_kept: usize,
}

/// Checks that the previous `rules.json` is the file the cache describes:
/// its length, its first and last bytes, and the first bytes of a sample of
/// the documents' blocks.
fn previous_rules_file_fits(path: &Path, cache: &RulesCache) -> bool {
    let Ok(mut f) = File::open(path) else { return false };
    if f.metadata().map(|m| m.len()).ok() != Some(cache.rules_len) {
        return false;
    }
    let mut probe = |offset: u64, want: &[u8]| -> bool {
        let mut got = vec![0u8; want.len()];
        f.seek(SeekFrom::Start(offset)).is_ok() && f.read_exact(&mut got).is_ok() && got == want
    };
    if !probe(0, header().as_bytes()) || !probe(cache.rules_len.saturating_sub(FOOTER.len() as u64), FOOTER) {
        return false;
    }
    let blocks: Vec<Span> = cache.docs.iter().map(|d| d.block).filter(|b| b.len > 0).collect();
    let step = (blocks.len() / 32).max(1);
    blocks.iter().step_by(step).all(|b| probe(b.offset, b"{\"id\":\"rule-"))
}

/// Writes `rules.json`, `rules/<scope>.json` and `rules/index.json` into
/// `dir` for the rules of `assembly` (made from `documents` and their
/// `drafts`), copying what is unchanged from `previous`, and returns the
/// cache describing what was written (the drafts are moved into it). The
/// last part of the files — in a rebuild, most of it: the copies — is
/// written by [`Pending::finish`], which the caller must run (at the same
/// time as writing the cache, say).
pub fn write(
    dir: &Path,
    documents: &[kb_model::Document],
    assembly: &Assembly,
    drafts: Vec<DocDrafts>,
    previous: Option<Previous<'_>>,
    tool: &str,
    vocabulary: [u8; 32],
) -> Result<(RulesCache, Written, Pending)> {
    let rules = &assembly.rules.rules;
    // scopes, sorted, and each rule's scope index
    // (the few distinct scopes found by hashing, then sorted)
    let mut index: crate::extract::FxMap<&str, u32> = crate::extract::fx_map(64);
    for r in rules {
        index.entry(r.scope.as_str()).or_insert(0);
    }
    let mut names: Vec<&str> = index.keys().copied().collect();
    names.sort_unstable();
    for (i, s) in names.iter().enumerate() {
        index.insert(s, i as u32);
    }
    let scope_of: Vec<u32> = rules.par_iter().map(|r| index[r.scope.as_str()]).collect();
    let files: Vec<String> = names.iter().map(|s| scope_file_name(s)).collect();
    let keys: Vec<[u8; 16]> =
        assembly.docs.par_iter().map(|d| keys_digest(rules[d.rules.clone()].iter().map(|r| r.key.as_str()))).collect();
    // each document's rules by scope: (scope, rule indices), by scope
    let segments: Vec<Vec<(u32, Vec<usize>)>> = assembly
        .docs
        .par_iter()
        .map(|d| {
            let mut by: Vec<(u32, Vec<usize>)> = Vec::new();
            for i in d.rules.clone() {
                match by.iter_mut().find(|(s, _)| *s == scope_of[i]) {
                    Some((_, v)) => v.push(i),
                    None => by.push((scope_of[i], vec![i])),
                }
            }
            by.sort_by_key(|(s, _)| *s);
            by
        })
        .collect();

    // What the previous build left that can be copied.
    let prev_rules = previous.as_ref().map(|p| p.dir.join(RULES_FILE));
    let rules_ok = match (&previous, &prev_rules) {
        (Some(p), Some(path)) => previous_rules_file_fits(path, p.cache),
        _ => false,
    };
    // (the documents are in path order in both: merged, not hashed)
    let prev_doc = |path: &str| -> Option<&DocEntry> {
        let docs = &previous.as_ref()?.cache.docs;
        let k = docs.binary_search_by(|d| d.path.as_str().cmp(path)).ok()?;
        Some(&docs[k])
    };
    // previous scope files by scope name: (entry index, file usable)
    let prev_scope: std::collections::HashMap<&str, (usize, bool)> = previous
        .as_ref()
        .map(|p| {
            p.cache
                .scopes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let path = p.dir.join(SCOPES_DIR).join(&s.file);
                    let ok = std::fs::metadata(&path).map(|m| m.len() == s.len).unwrap_or(false);
                    (s.scope.as_str(), (i, ok))
                })
                .collect()
        })
        .unwrap_or_default();
    let verbatim: Vec<Option<&DocEntry>> = assembly
        .docs
        .iter()
        .zip(&keys)
        .map(|(d, k)| {
            let e = prev_doc(documents[d.doc].path.as_str())?;
            let same = rules_ok
                && d.inputs == Some(e.inputs)
                && e.keys == *k
                && e.rules as usize == d.rules.len()
                && e.block.len > 0;
            same.then_some(e)
        })
        .collect();
    // A scope file is kept when the same documents, unchanged, give it.
    let mut kept = vec![false; names.len()];
    if let Some(p) = &previous {
        let mut prev_contrib: Vec<Vec<&str>> = vec![Vec::new(); p.cache.scopes.len()];
        for e in &p.cache.docs {
            for (s, _) in &e.segments {
                prev_contrib[*s as usize].push(e.path.as_str());
            }
        }
        let mut contrib: Vec<Vec<&str>> = vec![Vec::new(); names.len()];
        let mut all_verbatim = vec![true; names.len()];
        for ((d, segs), v) in assembly.docs.iter().zip(&segments).zip(&verbatim) {
            for (s, _) in segs {
                contrib[*s as usize].push(documents[d.doc].path.as_str());
                all_verbatim[*s as usize] &= v.is_some();
            }
        }
        for (s, name) in names.iter().enumerate() {
            kept[s] = all_verbatim[s]
                && prev_scope
                    .get(name)
                    .is_some_and(|&(i, ok)| ok && p.cache.scopes[i].file == files[s] && prev_contrib[i] == contrib[s]);
        }
    }
    // A verbatim document's lines in a scope file are copied when that
    // previous scope file is usable.
    let prev_segment = |e: &DocEntry, s: usize| -> Option<Span> {
        let &(i, ok) = prev_scope.get(names[s])?;
        if !ok {
            return None;
        }
        e.segments.iter().find(|(x, _)| *x as usize == i).map(|(_, span)| *span)
    };

    let rules_dir = dir.join(SCOPES_DIR);
    std::fs::create_dir_all(&rules_dir).map_err(io_err(&rules_dir))?;
    let mut main = Composer::new(dir.join(RULES_FILE), rules_ok.then(|| prev_rules.clone()).flatten(), true);
    let mut scopes: Vec<Option<Composer>> = names
        .iter()
        .enumerate()
        .map(|(s, name)| {
            if kept[s] {
                return None;
            }
            let prev = previous.as_ref().and_then(|p| {
                let &(i, ok) = prev_scope.get(name)?;
                ok.then(|| p.dir.join(SCOPES_DIR).join(&p.cache.scopes[i].file))
            });
            Some(Composer::new(rules_dir.join(&files[s]), prev, false))
        })
        .collect();

    let mut blocks: Vec<Span> = vec![Span::default(); assembly.docs.len()];
    let mut new_segments: Vec<Vec<(u32, Span)>> = vec![Vec::new(); assembly.docs.len()];
    let mut written = Written { scopes: names.len(), ..Written::default() };
    let order: Vec<usize> = (0..assembly.docs.len()).collect();
    // The rule lines of the documents of a chunk that need them, in
    // parallel: the lines joined by separators, and where each line ends.
    type Lines = Vec<Option<(Vec<u8>, Vec<usize>)>>;
    let serialise = |chunk: &[usize]| -> Lines {
        chunk
            .par_iter()
            .map(|&i| {
                let span = &assembly.docs[i];
                let need = match verbatim[i] {
                    None => true,
                    Some(e) => {
                        segments[i].iter().any(|(s, _)| !kept[*s as usize] && prev_segment(e, *s as usize).is_none())
                    }
                };
                if !need || span.rules.is_empty() {
                    return None;
                }
                let mut buf = Vec::with_capacity(span.rules.len() * 720);
                let mut ends = Vec::with_capacity(span.rules.len());
                for (k, r) in rules[span.rules.clone()].iter().enumerate() {
                    if k > 0 {
                        buf.extend_from_slice(SEP);
                    }
                    push_line(&mut buf, r);
                    ends.push(buf.len());
                }
                Some((buf, ends))
            })
            .collect()
    };
    // Puts a chunk's documents into the files, in order.
    let mut emit = |chunk: &[usize], lines: Lines| -> Result<()> {
        for (&i, lines) in chunk.iter().zip(&lines) {
            let span = &assembly.docs[i];
            let n = span.rules.len() as u32;
            if n == 0 {
                continue;
            }
            written.documents += 1;
            // line k of the document (without separator)
            let line = |k: usize| -> &[u8] {
                let (buf, ends) = lines.as_ref().expect("lines");
                let start = if k == 0 { 0 } else { ends[k - 1] + SEP.len() };
                &buf[start..ends[k]]
            };
            blocks[i] = match verbatim[i] {
                Some(e) => {
                    written.copied += 1;
                    main.block(n, Some(e.block), &[])
                }
                None => main.block(n, None, &lines.as_ref().expect("lines").0),
            };
            for (s, idx) in &segments[i] {
                let s = *s as usize;
                let Some(c) = scopes[s].as_mut() else {
                    // kept: the same bytes at the same place as before
                    let e = verbatim[i].expect("a kept scope has only verbatim documents");
                    let span = prev_segment(e, s).expect("a kept scope's previous segment");
                    new_segments[i].push((s as u32, span));
                    continue;
                };
                let at = match verbatim[i].and_then(|e| prev_segment(e, s)) {
                    Some(p) => c.block(idx.len() as u32, Some(p), &[]),
                    None => c.lines(idx.iter().map(|&ri| line(ri - span.rules.start))),
                };
                new_segments[i].push((s as u32, at));
            }
        }
        main.flush_if_full()?;
        for c in scopes.iter_mut().flatten() {
            c.flush_if_full()?;
        }
        Ok(())
    };
    // Serialising the next chunk overlaps writing this one.
    let chunks: Vec<&[usize]> = order.chunks(512).collect();
    let mut current = chunks.first().map(|c| (*c, serialise(c)));
    let mut k = 1;
    while let Some((chunk, lines)) = current.take() {
        let next = chunks.get(k).copied();
        k += 1;
        let (serialised, done) = rayon::join(|| next.map(|c| (c, serialise(c))), || emit(chunk, lines));
        done?;
        current = serialised;
    }
    let rules_len = main.close();
    // the scope files: their lengths now, their bytes in `Pending::finish`
    let mut jobs = Vec::with_capacity(names.len());
    let mut scope_entries = Vec::with_capacity(names.len());
    for (s, c) in scopes.into_iter().enumerate() {
        let (len, n) = match c {
            Some(mut c) => {
                let lines = c.lines;
                let len = c.close();
                jobs.push(ScopeJob::Write(c));
                (len, lines)
            }
            None => {
                let p = previous.as_ref().expect("kept scopes come from a previous build");
                let &(i, _) = prev_scope.get(names[s]).expect("kept");
                let entry = &p.cache.scopes[i];
                jobs.push(ScopeJob::Link {
                    from: p.dir.join(SCOPES_DIR).join(&entry.file),
                    to: rules_dir.join(&files[s]),
                });
                written.scopes_kept += 1;
                (entry.len, entry.rules)
            }
        };
        scope_entries.push(ScopeEntry { scope: names[s].to_string(), file: files[s].clone(), len, rules: n });
    }
    // rules/index.json: scope → file, one scope a line
    let mut index = format!("{{\"version\":{RULES_FORMAT_VERSION},\"scopes\":[\n");
    for (k, e) in scope_entries.iter().enumerate() {
        if k > 0 {
            index.push_str(",\n");
        }
        index.push_str(
            &serde_json::to_string(&serde_json::json!({"scope": e.scope, "file": e.file, "rules": e.rules}))
                .expect("index serialises"),
        );
    }
    index.push_str("\n]}\n");
    let path = rules_dir.join(SCOPES_INDEX);
    std::fs::write(&path, index).map_err(io_err(&path))?;

    let mut drafts: Vec<Option<DocDrafts>> = drafts.into_iter().map(Some).collect();
    let docs = assembly
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| DocEntry {
            path: documents[d.doc].path.clone(),
            source: crate::cache::source_digest(&documents[d.doc]).unwrap_or_default(),
            drafts: drafts[d.doc].take().unwrap_or_default(),
            inputs: d.inputs.unwrap_or_default(),
            keys: keys[i],
            rules: d.rules.len() as u32,
            block: blocks[i],
            segments: std::mem::take(&mut new_segments[i]),
        })
        .collect();
    let cache = RulesCache { tool: tool.to_string(), vocabulary, rules_len, scopes: scope_entries, docs };
    Ok((cache, written, Pending { main, scopes: jobs }))
}
