//! Opening an index and searching it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kb_model::{Lang, Record, RecordKind};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{Query, QueryParser, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, Term, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, DocId, Index, IndexReader, ReloadPolicy, Score, Searcher, SegmentReader, TantivyDocument};

use crate::analysis::has_han;
use crate::build::{indexed_text, IndexMeta};
use crate::order::Places;
use crate::records::{FileStat, RecordsFile, STAT_FILE};
use crate::schema::{self, Fields};
use crate::stats::LiveStats;
use crate::{Error, Result, INDEX_DIR, INDEX_FORMAT, META_FILE, RECORDS_FILE};

/// Longest snippet, in bytes of UTF-8 (about 100 Han characters).
const SNIPPET_BYTES: usize = 300;
/// How much headings weigh against the record's own text.
const HEADING_BOOST: f32 = 0.5;
/// How much Chinese fields weigh for a query with no Han characters.
const LATIN_IN_ZH_BOOST: f32 = 0.5;

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// The query, in tantivy's syntax.
    pub query: String,
    /// Only records in this language.
    pub lang: Option<Lang>,
    /// Only records of this kind.
    pub kind: Option<RecordKind>,
    /// Only records of documents whose id equals this, or whose path contains it.
    pub doc: Option<String>,
    /// At most this many hits (a pair of counterparts that both match counts once).
    pub limit: usize,
}

impl SearchOptions {
    /// A search for `query` with no filters and a limit of 10.
    pub fn new(query: impl Into<String>) -> SearchOptions {
        SearchOptions { query: query.into(), lang: None, kind: None, doc: None, limit: 10 }
    }
}

/// A piece of a record's text with the matching words marked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    /// The text shown (the whole record text when it is short).
    pub text: String,
    /// Byte ranges of `text` that matched the query.
    pub highlights: Vec<Range<usize>>,
    /// True when text before `text` was left out.
    pub cut_start: bool,
    /// True when text after `text` was left out.
    pub cut_end: bool,
}

impl Snippet {
    /// The text with every highlight wrapped in `open` … `close`, and `…`
    /// where text was left out.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut s = String::new();
        if self.cut_start {
            s.push('…');
        }
        let mut at = 0;
        for h in &self.highlights {
            s.push_str(&self.text[at..h.start]);
            s.push_str(open);
            s.push_str(&self.text[h.clone()]);
            s.push_str(close);
            at = h.end;
        }
        s.push_str(&self.text[at..]);
        if self.cut_end {
            s.push('…');
        }
        s
    }
}

/// The aligned record in the other language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterpart {
    /// The record.
    pub record: Record,
    /// The alignment's confidence in the pairing.
    pub confidence: f64,
    /// True when the counterpart matched the query too (it is then not
    /// listed as a hit of its own).
    pub matched: bool,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// BM25 score.
    pub score: f32,
    /// The record.
    pub record: Record,
    /// Its text around the match, highlighted.
    pub snippet: Snippet,
    /// The rule subjects attached to it.
    pub subjects: Vec<String>,
    /// The scopes of those rules.
    pub scopes: Vec<String>,
    /// Its counterpart, when the alignment paired it.
    pub counterpart: Option<Counterpart>,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct SearchResults {
    /// The hits, best first.
    pub hits: Vec<Hit>,
    /// How many records match in all (before the limit and pair folding).
    pub total: usize,
    /// With a language filter and no match: how many records of the other
    /// language would match.
    pub other_lang_total: Option<usize>,
    /// Time spent searching (after opening).
    pub elapsed: Duration,
}

/// An opened index.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    f: Fields,
    parser: QueryParser,
    /// The parser for queries without Han characters: Chinese fields weigh
    /// less, so English records come before Chinese ones that quote the word.
    latin_parser: QueryParser,
    meta: IndexMeta,
    /// The records file the hits are read from.
    records: RecordsFile,
    /// Document id → offset of its first line in `records`, made when first needed.
    offsets: OnceLock<HashMap<String, u64>>,
    /// Per segment: the place in [`IndexMeta::documents`] of each document
    /// in the segment's `doc` column (by term ordinal), made when first needed.
    places: OnceLock<Arc<Places>>,
}

fn rebuild_hint(out: &Path, corpus: Option<&str>) -> String {
    match corpus {
        Some(c) => format!("kb build --corpus {c} --out {}", out.display()),
        None => format!("kb build --out {}", out.display()),
    }
}

fn read_meta_bytes(dir: &Path) -> Result<Option<Vec<u8>>> {
    let path = dir.join(META_FILE);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { what: "reading", path, source }),
    }
}

fn parse_meta(dir: &Path, bytes: &[u8]) -> Result<IndexMeta> {
    serde_json::from_slice(bytes).map_err(|source| Error::Meta { path: dir.join(META_FILE), source })
}

impl SearchIndex {
    /// Opens the index of the build output folder `out`, after checking that
    /// it was built from the `records.jsonl` now there. A missing or stale
    /// index is an error that names the command to run; nothing is rebuilt.
    ///
    /// A rebuild may swap the output folder while this reads it; a stale,
    /// unreadable or changing index is therefore tried again (twice, 50 ms
    /// apart) before it is reported, so a search during a rebuild sees the
    /// old or the new build, never half of each.
    pub fn open(out: &Path) -> Result<SearchIndex> {
        let mut tries = 0;
        loop {
            match SearchIndex::open_once(out) {
                Err(
                    Error::Stale { .. }
                    | Error::Tantivy { .. }
                    | Error::NoIndex { .. }
                    | Error::Io { .. }
                    | Error::Meta { .. },
                ) if tries < 2 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn open_once(out: &Path) -> Result<SearchIndex> {
        let records = out.join(RECORDS_FILE);
        let dir = out.join(INDEX_DIR);
        let file = match std::fs::File::open(&records) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoBuild { out: out.to_path_buf(), rebuild: rebuild_hint(out, None) })
            }
            Err(source) => return Err(Error::Io { what: "reading", path: records, source }),
        };
        let Some(bytes) = read_meta_bytes(&dir)? else {
            return Err(Error::NoIndex { dir, rebuild: rebuild_hint(out, None) });
        };
        // The build says what the file was when it was indexed: when it still is, its bytes are those.
        let vouched = std::fs::read(dir.join(STAT_FILE)).ok().and_then(|stat| FileStat::vouches(&stat, &file));
        let fingerprint = match vouched {
            Some(f) => f,
            None => {
                let mut h = blake3::Hasher::new();
                h.update_reader(&file).map_err(|source| Error::Io {
                    what: "reading",
                    path: records.clone(),
                    source,
                })?;
                format!("blake3:{}", h.finalize().to_hex())
            }
        };
        let meta = parse_meta(&dir, &bytes)?;
        let rebuild = rebuild_hint(out, meta.corpus.as_deref());
        if meta.format != INDEX_FORMAT {
            let reason = format!("it has layout {} and this kb reads layout {INDEX_FORMAT}", meta.format);
            return Err(Error::Stale { dir, reason, rebuild });
        }
        if meta.records_fingerprint != fingerprint {
            let reason = format!("{} changed since the index was built", records.display());
            return Err(Error::Stale { dir, reason, rebuild });
        }
        // Read the records through the handle just checked, when they are the ones beside the index.
        let file = (meta.records_file == format!("../{RECORDS_FILE}")).then(|| RecordsFile::from_file(&records, file));
        let index = SearchIndex::open_with(&dir, meta, file)?;
        // The folder may have been swapped since the description was read.
        if read_meta_bytes(&dir)?.as_deref() != Some(&bytes[..]) {
            let reason = "it changed while being opened (a build finished meanwhile)".to_string();
            return Err(Error::Stale { dir, reason, rebuild });
        }
        Ok(index)
    }

    /// Opens an index folder without checking it against any records file.
    pub fn open_dir(dir: &Path) -> Result<SearchIndex> {
        let bytes = read_meta_bytes(dir)?
            .ok_or_else(|| Error::NoIndex { dir: dir.to_path_buf(), rebuild: "kb build".to_string() })?;
        let meta = parse_meta(dir, &bytes)?;
        if meta.format != INDEX_FORMAT {
            return Err(Error::Stale {
                dir: dir.to_path_buf(),
                reason: format!("it has layout {} and this kb reads layout {INDEX_FORMAT}", meta.format),
                rebuild: "kb build".into(),
            });
        }
        SearchIndex::open_with(dir, meta, None)
    }

    fn open_with(dir: &Path, meta: IndexMeta, records: Option<RecordsFile>) -> Result<SearchIndex> {
        let tantivy = |what| move |source| Error::Tantivy { what, path: dir.to_path_buf(), source };
        let records = match records {
            Some(r) => r,
            None => RecordsFile::open(&dir.join(&meta.records_file))?,
        };
        let index = Index::open_in_dir(dir).map_err(tantivy("opening index"))?;
        schema::register_index_analyzers(index.tokenizers());
        let schema = index.schema();
        let f = Fields::from_schema(&schema).ok_or_else(|| Error::Stale {
            dir: dir.to_path_buf(),
            reason: "its fields are not the ones this kb expects".into(),
            rebuild: "kb build".into(),
        })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy("opening a reader on"))?;
        let defaults = vec![f.text_zh, f.text_en, f.heading_zh, f.heading_en, f.subject_words];
        let mut parser = QueryParser::new(schema, defaults, schema::query_tokenizers());
        parser.set_conjunction_by_default();
        parser.set_field_boost(f.heading_zh, HEADING_BOOST);
        parser.set_field_boost(f.heading_en, HEADING_BOOST);
        parser.allow_regexes();
        let mut latin_parser = parser.clone();
        latin_parser.set_field_boost(f.text_zh, LATIN_IN_ZH_BOOST);
        latin_parser.set_field_boost(f.heading_zh, HEADING_BOOST * LATIN_IN_ZH_BOOST);
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            reader,
            f,
            parser,
            latin_parser,
            meta,
            records,
            offsets: OnceLock::new(),
            places: OnceLock::new(),
        })
    }

    /// What the build recorded about the index.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// The index folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs a search.
    pub fn search(&self, opts: &SearchOptions) -> Result<SearchResults> {
        let t0 = Instant::now();
        let searcher = self.reader.searcher();
        let query_has_han = has_han(&opts.query);
        let parser = if query_has_han { &self.parser } else { &self.latin_parser };
        let user = crate::query::parse(parser, &opts.query)?;
        let filters = self.filters(opts)?;
        let query = self.combine(&*user, &filters, opts.lang);
        let fetch = opts.limit.saturating_mul(2).max(opts.limit + 10);
        // Best score first; records that score the same in source order:
        // their document's place in this build, then their own in it.
        let places = self.places(&searcher)?;
        let top_docs = TopDocs::with_limit(fetch.max(1)).tweak_score(move |seg: &SegmentReader| {
            let ord = seg.fast_fields().u64("ord").ok().map(|c| c.first_or_default_col(0));
            let doc_col =
                seg.fast_fields().str("doc").ok().flatten().map(|c| c.ords().clone().first_or_default_col(u64::MAX));
            let place = places.get(&seg.segment_id()).cloned();
            move |doc: DocId, score: Score| {
                let at = match (&doc_col, &place) {
                    (Some(c), Some(p)) => usize::try_from(c.get_val(doc)).ok().and_then(|t| p.get(t)).copied(),
                    _ => None,
                };
                let j = ord.as_ref().map_or(0, |c| c.get_val(doc)) & u64::from(u32::MAX);
                (score, Reverse((u64::from(at.unwrap_or(u32::MAX)) << 32) | j))
            }
        });
        // Scored with the statistics of the live records only (see `stats.rs`).
        let stats = LiveStats::new(&searcher, &self.meta.field_tokens);
        let (top, total) = searcher
            .search_with_statistics_provider(&*query, &(top_docs, Count), &stats)
            .map_err(self.tantivy("searching"))?;

        let mut snippets = Snippets::new(&stats, &*user, &self.f, query_has_han);
        let mut hits: Vec<Hit> = Vec::new();
        for ((score, _), addr) in top {
            if hits.len() >= opts.limit {
                break;
            }
            let (record, stored) = self.load(&searcher, addr)?;
            if let Some(h) = hits.iter_mut().find(|h| h.counterpart.as_ref().is_some_and(|c| c.record.id == record.id))
            {
                h.counterpart.as_mut().expect("found above").matched = true;
                continue;
            }
            let snippet = snippets.snippet(&record);
            let counterpart = match stored.first_str(self.f.counterpart) {
                Some(id) => self.by_id(&searcher, &id)?.map(|(r, _)| Counterpart {
                    record: r,
                    confidence: stored.first_f64(self.f.confidence).unwrap_or(0.0),
                    matched: false,
                }),
                None => None,
            };
            hits.push(Hit {
                score,
                subjects: stored.all_str(self.f.subject),
                scopes: stored.all_str(self.f.scope),
                record,
                snippet,
                counterpart,
            });
        }
        // A counterpart listed under an earlier hit may also have been
        // fetched as a hit before that hit was known: fold it now.
        let mut i = 0;
        while i < hits.len() {
            let id = hits[i].record.id.clone();
            if let Some(j) = hits[..i].iter().position(|h| h.counterpart.as_ref().is_some_and(|c| c.record.id == id)) {
                hits[j].counterpart.as_mut().expect("found above").matched = true;
                hits.remove(i);
            } else {
                i += 1;
            }
        }

        let other_lang_total = match (total, opts.lang) {
            (0, Some(lang)) => {
                let q = self.combine(&*user, &filters, Some(lang.other()));
                Some(searcher.search(&*q, &Count).map_err(self.tantivy("searching"))?)
            }
            _ => None,
        };
        Ok(SearchResults { hits, total, other_lang_total, elapsed: t0.elapsed() })
    }

    fn tantivy(&self, what: &'static str) -> impl FnOnce(tantivy::TantivyError) -> Error + '_ {
        move |source| Error::Tantivy { what, path: self.dir.clone(), source }
    }

    /// The filter clauses of `opts` other than the language.
    fn filters(&self, opts: &SearchOptions) -> Result<Vec<Box<dyn Query>>> {
        let mut v: Vec<Box<dyn Query>> = Vec::new();
        if let Some(k) = opts.kind {
            v.push(Box::new(TermQuery::new(Term::from_field_text(self.f.kind, k.as_str()), IndexRecordOption::Basic)));
        }
        if let Some(d) = &opts.doc {
            let docs: Vec<Term> = self
                .meta
                .documents
                .iter()
                .filter(|e| e.id == *d || e.path.contains(d.as_str()))
                .map(|e| Term::from_field_text(self.f.doc, &e.id))
                .collect();
            if docs.is_empty() {
                return Err(Error::UnknownDoc {
                    doc: d.clone(),
                    known: self.meta.documents.iter().map(|e| e.id.clone()).collect(),
                });
            }
            v.push(Box::new(TermSetQuery::new(docs)));
        }
        Ok(v)
    }

    /// The user query, restricted by the filters and to `lang` (nested two
    /// by two, see [`crate::query::all_of`]).
    fn combine(&self, user: &dyn Query, filters: &[Box<dyn Query>], lang: Option<Lang>) -> Box<dyn Query> {
        let mut parts: Vec<Box<dyn Query>> = vec![user.box_clone()];
        if let Some(l) = lang {
            let t = Term::from_field_text(self.f.lang, l.code());
            parts.push(Box::new(TermQuery::new(t, IndexRecordOption::Basic)));
        }
        parts.extend(filters.iter().map(|q| q.box_clone()));
        crate::query::all_of(parts)
    }

    /// [`Places`] of the searcher's segments: as the build wrote them, else
    /// worked out (every document id in a segment's `doc` column looked up
    /// among the build's documents).
    fn places(&self, searcher: &Searcher) -> Result<Arc<Places>> {
        if let Some(p) = self.places.get() {
            return Ok(p.clone());
        }
        let places = match crate::order::read(&self.dir, &self.meta.records_fingerprint, searcher) {
            Some(p) => p,
            None => crate::order::compute(searcher, &self.meta.documents)
                .map_err(self.tantivy("reading the documents of"))?,
        };
        Ok(self.places.get_or_init(|| Arc::new(places)).clone())
    }

    fn stale(&self, reason: String) -> Error {
        Error::Stale { dir: self.dir.clone(), reason, rebuild: "kb build".into() }
    }

    /// Offset of a document's first line in the records file.
    fn doc_offset(&self, doc: &str) -> Option<u64> {
        let offsets =
            self.offsets.get_or_init(|| self.meta.documents.iter().map(|d| (d.id.clone(), d.offset)).collect());
        offsets.get(doc).copied()
    }

    /// The record of a hit, read from the records file, and its stored fields.
    fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<(Record, TantivyDocument)> {
        let d: TantivyDocument = searcher.doc(addr).map_err(self.tantivy("reading a stored record from"))?;
        let id = d.first_str(self.f.id).unwrap_or_default();
        let doc = d.first_str(self.f.doc).unwrap_or_default();
        let (Some(at), Some(len), Some(base)) =
            (d.first_u64(self.f.line_at), d.first_u64(self.f.line_len), self.doc_offset(&doc))
        else {
            return Err(self.stale(format!("the index does not say where record {id} is")));
        };
        let bytes = self.records.read(base + at, len)?;
        let record: Record = serde_json::from_slice(&bytes).map_err(|e| {
            self.stale(format!(
                "{} does not hold record {id} where the index says ({e})",
                self.records.path().display()
            ))
        })?;
        if record.id != id {
            let path = self.records.path().display();
            return Err(self.stale(format!("{path} holds record {} where the index expects {id}", record.id)));
        }
        Ok((record, d))
    }

    fn by_id(&self, searcher: &Searcher, id: &str) -> Result<Option<(Record, TantivyDocument)>> {
        let q = TermQuery::new(Term::from_field_text(self.f.id, id), IndexRecordOption::Basic);
        let top = searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())
            .map_err(self.tantivy("looking up a counterpart in"))?;
        match top.first() {
            Some((_, addr)) => self.load(searcher, *addr).map(Some),
            None => Ok(None),
        }
    }

    /// The number of indexed records.
    pub fn num_records(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The underlying tantivy index (for tools and benchmarks).
    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}

/// Snippet generators, one a language, made when first needed.
struct Snippets<'a> {
    stats: &'a LiveStats<'a>,
    query: &'a dyn Query,
    f: &'a Fields,
    query_has_han: bool,
    zh: Option<SnippetGenerator>,
    en: Option<SnippetGenerator>,
}

impl<'a> Snippets<'a> {
    fn new(stats: &'a LiveStats<'a>, query: &'a dyn Query, f: &'a Fields, query_has_han: bool) -> Self {
        Snippets { stats, query, f, query_has_han, zh: None, en: None }
    }

    fn generator(&mut self, zh: bool) -> &SnippetGenerator {
        let slot = if zh { &mut self.zh } else { &mut self.en };
        if slot.is_none() {
            let field = self.f.text(zh);
            let mut terms: BTreeMap<String, f32> = BTreeMap::new();
            let stats = self.stats;
            self.query.query_terms(&mut |term, _| {
                if term.field() == field {
                    if let Some(s) = term.value().as_str() {
                        let df = stats.live_doc_freq(term).unwrap_or(0);
                        if df > 0 {
                            terms.insert(s.to_string(), 1.0 / (1.0 + df as f32));
                        }
                    }
                }
            });
            let analyzer = schema::snippet_analyzer(zh, self.query_has_han);
            *slot = Some(SnippetGenerator::new(terms, analyzer, field, SNIPPET_BYTES));
        }
        slot.as_ref().expect("just set")
    }

    /// The snippet of a record: from its text, or when the match is only in
    /// what else is indexed for it (a table row's column headers, a FAQ's
    /// answer) from that, or else the start of its text.
    fn snippet(&mut self, r: &Record) -> Snippet {
        let zh = r.lang == Lang::Zh;
        if let Some(s) = self.highlight(zh, &r.text) {
            return s;
        }
        let full = indexed_text(r);
        if full.len() > r.text.len() {
            if let Some(s) = self.highlight(zh, &full) {
                return s;
            }
        }
        let end = floor_boundary(&r.text, SNIPPET_BYTES);
        Snippet {
            text: r.text[..end].to_string(),
            highlights: Vec::new(),
            cut_start: false,
            cut_end: end < r.text.len(),
        }
    }

    fn highlight(&mut self, zh: bool, text: &str) -> Option<Snippet> {
        let s = self.generator(zh).snippet(text);
        if s.highlighted().is_empty() {
            return None;
        }
        let range = s.fragment_range();
        let (text, shift, cut_start, cut_end) = if text.len() <= SNIPPET_BYTES {
            (text.to_string(), range.start, false, false)
        } else {
            (s.fragment().to_string(), 0, range.start > 0, range.end < text.len())
        };
        let mut highlights: Vec<Range<usize>> = Vec::new();
        for h in s.highlighted() {
            let h = h.start + shift..h.end + shift;
            match highlights.last_mut() {
                Some(last) if h.start <= last.end => last.end = last.end.max(h.end),
                _ => highlights.push(h),
            }
        }
        Some(Snippet { text, highlights, cut_start, cut_end })
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Reading stored values.
trait StoredExt {
    fn first_str(&self, f: tantivy::schema::Field) -> Option<String>;
    fn all_str(&self, f: tantivy::schema::Field) -> Vec<String>;
    fn first_f64(&self, f: tantivy::schema::Field) -> Option<f64>;
    fn first_u64(&self, f: tantivy::schema::Field) -> Option<u64>;
}

impl StoredExt for TantivyDocument {
    fn first_str(&self, f: tantivy::schema::Field) -> Option<String> {
        self.get_first(f).and_then(|v| v.as_str().map(str::to_string))
    }
    fn all_str(&self, f: tantivy::schema::Field) -> Vec<String> {
        self.get_all(f).filter_map(|v| v.as_str().map(str::to_string)).collect()
    }
    fn first_f64(&self, f: tantivy::schema::Field) -> Option<f64> {
        self.get_first(f).and_then(|v| v.as_f64())
    }
    fn first_u64(&self, f: tantivy::schema::Field) -> Option<u64> {
        self.get_first(f).and_then(|v| v.as_u64())
    }
}
