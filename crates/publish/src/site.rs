//! Plans the site's pages (paths, counterparts, alternates, FAQ and listing
//! pagination, search blocks), renders them through the templates in
//! parallel and writes every file, reusing the previous build's files whose
//! inputs did not change.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kb_model::rules::Rule;
use kb_model::{Document, Lang, RecordKind};
use minijinja::value::{Serde, Value};
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};

use crate::blocks::{anchor, Block, BlockBuilder};
use crate::counterparts::Counterparts;
use crate::faq::{self, FaqEntry, FaqGroup};
use crate::sanitize::json_for_script;
use crate::search::{self, BlockInfo, Entry, Manifest};
use crate::templates::{Templates, STATIC_FILES};
use crate::text;
use crate::{Error, PageKey, Result, SiteOptions, SiteStats};

const LANGS: [Lang; 2] = [Lang::Zh, Lang::En];
/// FAQ questions listed on a document's card before "N more".
const CARD_QUESTIONS: usize = 5;
/// The version of `cache/publish.json`.
const STATE_VERSION: u32 = 1;

/// A link to a page in another language (or its absence).
#[derive(Debug, Clone, Serialize)]
struct Switch {
    /// The other language's code.
    lang: &'static str,
    /// Its name, in that language.
    label: &'static str,
    /// Site-relative URL of the counterpart, if there is one.
    href: Option<String>,
    /// Site-relative URL of the other language's index (used when there is none).
    index_href: String,
}

#[derive(Debug, Clone, Serialize)]
struct Alternate {
    hreflang: &'static str,
    href: String,
}

/// What every page's template receives.
#[derive(Debug, Clone, Serialize)]
struct Common {
    lang: &'static str,
    lang_name: &'static str,
    t: Value,
    /// From this page to the site root (`../../`).
    root: String,
    /// This page, site-relative.
    path: String,
    title: String,
    canonical: String,
    alternates: Vec<Alternate>,
    switch: Switch,
    /// Site-relative URLs of the language's index, FAQ and search pages.
    home_href: String,
    faq_href: String,
    search_href: String,
    /// Site-relative URL of the language's search index script.
    search_index: String,
}

#[derive(Debug, Clone, Serialize)]
struct DocSummary {
    id: String,
    title: String,
    path: String,
    href: String,
    records: usize,
    counterpart: Option<CounterpartView>,
    /// The first questions of the document's FAQ.
    faq: Vec<FaqLink>,
    /// All its questions.
    faq_count: usize,
    faq_href: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct CounterpartView {
    title: String,
    href: String,
    lang: &'static str,
    confidence: u32,
}

#[derive(Debug, Clone, Serialize)]
struct FaqLink {
    question: String,
    href: String,
    generated: bool,
}

#[derive(Debug, Clone, Serialize)]
struct TocEntry {
    anchor: String,
    text: String,
}

/// A link to one page of a paginated list.
#[derive(Debug, Clone, Serialize)]
struct PageLink {
    href: String,
    number: usize,
    current: bool,
}

/// A programme (the first folder under the language folder) on an index page.
#[derive(Debug, Clone, Serialize)]
struct ProgrammeView {
    name: String,
    /// Documents (listing) or documents with questions (FAQ).
    documents: usize,
    /// Questions (FAQ index only).
    questions: usize,
    pages: Vec<PageLink>,
}

/// Where a paginated page sits: its programme and its siblings.
#[derive(Debug, Clone, Serialize)]
struct Pagination {
    programme: String,
    number: usize,
    pages: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    /// The language's index of pages.
    up: String,
}

struct DocPlan<'a> {
    doc: &'a Document,
    href: String,
    counterpart: Option<(&'a Document, f64)>,
    /// The counterpart's index among the plans.
    counterpart_plan: Option<usize>,
    rules: Vec<&'a Rule>,
    /// The caller's digest of the document's rules, if it gave one.
    rules_digest: Option<[u8; 32]>,
    /// The document's programme (first folder under the language folder, `""` for none).
    programme: String,
    /// The questions generated from its rules, made once when first asked
    /// for (by its FAQ group, search entries or card, whichever comes first).
    generated: std::sync::OnceLock<Vec<faq::Generated<'a>>>,
}

impl<'a> DocPlan<'a> {
    /// The questions generated from the document's rules ([`faq::generated`]).
    fn generated(&self) -> &[faq::Generated<'a>] {
        self.generated.get_or_init(|| faq::generated(self.doc, &self.rules))
    }
}

/// What is known of a document before its page is rendered.
struct DocInfo {
    /// The fingerprint of the page's inputs other than its FAQ link and the pairings.
    content: String,
    /// The fingerprint of the pairings with its counterpart ([`Counterparts::hash_into`]).
    pairings: String,
    faq: usize,
    generated: usize,
}

/// One page of a paginated list (FAQ or documents): its path, its documents
/// (plan indexes) and where it sits.
struct ListPage {
    lang: Lang,
    path: String,
    docs: Vec<usize>,
    /// `None` when the page is the language's only one (`faq.html` / `index.html`).
    pagination: Option<Pagination>,
}

/// Incremental state beyond the document pages' keys (`cache/publish.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// Language → its search blocks.
    search: BTreeMap<String, Vec<BlockState>>,
    /// FAQ and listing page and sitemap file path → key.
    pages: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BlockState {
    key: String,
    entries: usize,
    shards: usize,
}

fn rel_root(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// A URL-safe file name from `text`: lower-cased ASCII letters, digits and
/// `_`, other characters as `-`; a hash of `text` when nothing is left or the
/// name is taken (in `taken`, under `space`).
fn slug_of(text: &str, space: &str, taken: &mut HashSet<String>) -> String {
    slug_with(text, text, "p", space, taken)
}

/// A URL-safe file name for a document: its id without the language folder,
/// lower-cased, other characters as `-`; a hash when nothing is left or the
/// name is taken in the document's language folder.
fn slug(doc: &Document, taken: &mut HashSet<String>) -> String {
    let id = doc.id.as_str();
    let rest = id.strip_prefix(&format!("{}/", doc.lang.code())).unwrap_or(id);
    slug_with(rest, id, "doc", doc.lang.code(), taken)
}

/// `text` as a URL-safe name, made unique under `space` in `taken`; when
/// nothing is left of it, `<empty>-` and a hash of `key`; when the name is
/// taken, the name and a shorter hash of `key`.
fn slug_with(text: &str, key: &str, empty: &str, space: &str, taken: &mut HashSet<String>) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let mut s = s.trim_matches('-').to_string();
    if s.is_empty() {
        s = format!("{empty}-{}", kb_model::short_hash(&[key], 8));
    }
    if !taken.insert(format!("{space}/{s}")) {
        s = format!("{s}-{}", kb_model::short_hash(&[key], 6));
        taken.insert(format!("{space}/{s}"));
    }
    s
}

/// The programme of a document: the first folder of its id under the language folder.
fn programme_of(doc: &Document) -> String {
    let id = doc.id.as_str();
    let rest = id.split_once('/').map(|(_, r)| r).unwrap_or(id);
    rest.split_once('/').map(|(p, _)| p.to_string()).unwrap_or_default()
}

/// Creates the folder a file is about to be written in.
fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            what: "creating folder",
            path: parent.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// Writes files under the site folder (from any thread) and counts them.
struct Writer<'a> {
    out: &'a Path,
    files: AtomicUsize,
    /// The previous build's site: a file about to be written with the bytes
    /// its namesake there holds is hard-linked instead (no new inode).
    previous: Option<&'a Path>,
    /// Folders opened for [`Writer::reuse`], by site-relative path: the
    /// previous site's and this one's (`None` when they could not be
    /// opened). Linking by name inside open folders spares the kernel
    /// walking both whole paths for each of thousands of files.
    folders: std::sync::Mutex<HashMap<String, Option<Arc<Folders>>>>,
}

/// A folder of the previous site and the same folder of the site being written.
struct Folders {
    previous: std::path::PathBuf,
    from: rustix::fd::OwnedFd,
    to: rustix::fd::OwnedFd,
}

impl Writer<'_> {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        if self.link_same(rel, bytes) {
            self.files.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let path = self.out.join(rel);
        let res = std::fs::write(&path, bytes);
        let res = match res {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_parent(&path)?;
                std::fs::write(&path, bytes)
            }
            r => r,
        };
        res.map_err(|source| Error::Io { what: "writing", path, source })?;
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Hard-links the previous site's `rel` to `rel` when it is a file holding
    /// exactly `bytes`: true when linked. Allocating a file costs more than
    /// reading one (on ext4 without a journal, much more while many files
    /// were recently deleted, as when an output folder is replaced), and the
    /// replaced output's removal then frees no inodes either.
    fn link_same(&self, rel: &str, bytes: &[u8]) -> bool {
        let Some(prev) = self.previous else { return false };
        let from = prev.join(rel);
        match std::fs::symlink_metadata(&from) {
            Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {}
            _ => return false,
        }
        if !std::fs::read(&from).is_ok_and(|old| old == bytes) {
            return false;
        }
        let path = self.out.join(rel);
        match std::fs::hard_link(&from, &path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_parent(&path).is_ok() && std::fs::hard_link(&from, &path).is_ok()
            }
            r => r.is_ok(),
        }
    }

    /// Removes a file put at `rel` by [`Writer::reuse`].
    fn unlink(&self, rel: &str) -> Result<()> {
        let path = self.out.join(rel);
        std::fs::remove_file(&path).map_err(|source| Error::Io { what: "removing", path, source })?;
        self.files.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    /// The open folders `dir` (site-relative) of `prev_site` and of the site
    /// being written (created if missing); `None` when either cannot be opened.
    fn folders(&self, prev_site: &Path, dir: &str) -> Option<Arc<Folders>> {
        use rustix::fs::{openat, Mode, OFlags, CWD};
        let mut open = self.folders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = open
            .entry(dir.to_string())
            .or_insert_with(|| {
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let from = openat(CWD, prev_site.join(dir), flags, Mode::empty()).ok()?;
                let to_path = self.out.join(dir);
                std::fs::create_dir_all(&to_path).ok()?;
                let to = openat(CWD, &to_path, flags, Mode::empty()).ok()?;
                Some(Arc::new(Folders { previous: prev_site.to_path_buf(), from, to }))
            })
            .clone();
        f.filter(|f| f.previous == prev_site)
    }

    /// Puts the previous build's `rel` (from `prev_site`) at `rel` by a hard
    /// link, or a copy where linking fails. False when there is no such file.
    fn reuse(&self, prev_site: &Path, rel: &str) -> Result<bool> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if let Some(f) = self.folders(prev_site, dir) {
            if rustix::fs::linkat(&f.from, name, &f.to, name, rustix::fs::AtFlags::empty()).is_ok() {
                self.files.fetch_add(1, Ordering::Relaxed);
                return Ok(true);
            }
        }
        let from = prev_site.join(rel);
        let path = self.out.join(rel);
        let mut res = std::fs::hard_link(&from, &path);
        if matches!(&res, Err(e) if e.kind() == std::io::ErrorKind::NotFound) && from.is_file() {
            create_parent(&path)?;
            res = std::fs::hard_link(&from, &path);
        }
        if res.is_err() {
            if !from.is_file() {
                return Ok(false);
            }
            create_parent(&path)?;
            std::fs::copy(&from, &path).map_err(|source| Error::Io {
                what: "copying the previous build's page to",
                path: path.clone(),
                source,
            })?;
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

struct Renderer {
    env: minijinja::Environment<'static>,
}

impl Renderer {
    /// Renders `template` with `ctx` and writes it to `page` (site-relative)
    /// through `w`. Each thread renders into a buffer of its own that it
    /// keeps, so a page's bytes are not grown and copied as it is made.
    fn write<T: Serialize>(&self, w: &Writer, template: &str, page: &str, ctx: &T) -> Result<()> {
        thread_local!(static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) });
        let err = |e: minijinja::Error| {
            let mut message = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                message.push_str(&format!(": {s}"));
                src = s.source();
            }
            Error::Template { template: template.to_string(), page: page.to_string(), message }
        };
        let t = self.env.get_template(template).map_err(err)?;
        BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            t.render_captured_to(Value::from(Serde(ctx)), &mut *buf).map_err(err)?;
            w.write(page, &buf)
        })
    }
}

/// A blake3 hash of length-prefixed strings, gathered in a buffer and
/// hashed at once (a million tiny hasher updates cost more than the hashing).
struct Key(Vec<u8>);

impl Key {
    fn new(what: &str) -> Key {
        let mut k = Key(Vec::with_capacity(512));
        k.put(concat!("kb-publish ", env!("CARGO_PKG_VERSION")));
        k.put(what);
        k
    }
    fn put(&mut self, s: &str) -> &mut Key {
        self.put_bytes(s.as_bytes())
    }
    fn put_bytes(&mut self, b: &[u8]) -> &mut Key {
        self.0.extend_from_slice(&(b.len() as u64).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }
    fn finish(&self) -> String {
        blake3::hash(&self.0).to_hex().to_string()
    }
}

/// What the site build returns: stats, document pages reused, every
/// document page's key, and the state for the next build.
pub(crate) struct Rendered {
    pub stats: SiteStats,
    pub reused: usize,
    pub keys: BTreeMap<String, PageKey>,
    pub state: Vec<u8>,
}

pub(crate) fn render(
    out_dir: &Path,
    input: &crate::Input<'_>,
    opts: &SiteOptions,
    reuse: Option<&crate::PageReuse<'_>>,
    link_from: Option<&Path>,
) -> Result<Rendered> {
    let (docs, alignment, rules) = (input.documents, input.alignment, input.rules);
    let timing = std::env::var_os("KB_PUBLISH_TIMING").is_some();
    let clock = std::cell::Cell::new(std::time::Instant::now());
    let lap = |what: &str| {
        if timing {
            eprintln!("publish: {what} {:.3?}", clock.get().elapsed());
            clock.set(std::time::Instant::now());
        }
    };
    let templates = Templates::new(opts.templates.as_deref());
    let renderer = Renderer { env: templates.environment() };
    let w = Writer { out: out_dir, files: AtomicUsize::new(0), previous: link_from, folders: Default::default() };
    std::fs::create_dir_all(out_dir).map_err(|source| Error::Io {
        what: "creating folder",
        path: out_dir.to_path_buf(),
        source,
    })?;
    let base = if opts.base_url.ends_with('/') { opts.base_url.clone() } else { format!("{}/", opts.base_url) };
    let abs = |p: &str| format!("{base}{p}");
    let prev_state: State = reuse
        .and_then(|r| r.state)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<State>(&b).ok())
        .filter(|s| s.version == STATE_VERSION)
        .unwrap_or_default();
    let prev_site = reuse.map(|r| r.site);
    let ui: HashMap<Lang, Value> = LANGS.iter().map(|l| (*l, Value::from(Serde(text::ui(*l))))).collect();

    // Documents in a fixed order, with their pages, counterparts and rules.
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by(|&a, &b| docs[a].path.cmp(&docs[b].path).then(docs[a].id.cmp(&docs[b].id)));
    let sorted: Vec<&Document> = order.iter().map(|&i| &docs[i]).collect();
    // The caller's rule digests, in the order of `sorted` (all or none).
    let digests: Vec<Option<[u8; 32]>> = match input.rule_digests {
        Some(d) if d.len() == docs.len() && rules.is_some() => order.iter().map(|&i| d[i]).collect(),
        _ => vec![None; docs.len()],
    };
    drop(order);
    let by_id: HashMap<&str, (usize, &Document)> =
        sorted.iter().enumerate().map(|(i, d)| (d.id.as_str(), (i, *d))).collect();
    let mut taken = HashSet::default();
    let mut hrefs: HashMap<&str, String> = HashMap::default();
    for d in &sorted {
        let s = slug(d, &mut taken);
        hrefs.insert(d.id.as_str(), format!("{}/docs/{s}.html", d.lang.code()));
    }
    let mut doc_pairs: HashMap<&str, &kb_model::alignment::DocumentPair> = HashMap::default();
    for p in alignment.map(|a| a.documents.as_slice()).unwrap_or(&[]) {
        doc_pairs.entry(p.zh.as_str()).or_insert(p);
        doc_pairs.entry(p.en.as_str()).or_insert(p);
    }
    // Each document's rules, in the order of the rule set: the rules of a
    // document come in runs (one, when the set is sorted by source).
    let mut rules_by_doc: HashMap<&str, Vec<&Rule>> = HashMap::default();
    {
        let all = rules.map(|rs| rs.rules.as_slice()).unwrap_or(&[]);
        let mut start = 0;
        while start < all.len() {
            let doc = all[start].source.doc.as_str();
            let end = all[start..].iter().position(|r| r.source.doc != doc).map_or(all.len(), |n| start + n);
            rules_by_doc.entry(doc).or_default().extend(&all[start..end]);
            start = end;
        }
    }
    lap("plans-pre");
    let plans: Vec<DocPlan> = sorted
        .iter()
        .zip(&digests)
        .map(|(d, digest)| {
            let counterpart = doc_pairs.get(d.id.as_str()).copied().and_then(|p| {
                let other = if p.zh == d.id { &p.en } else { &p.zh };
                by_id.get(other.as_str()).filter(|(_, o)| o.lang != d.lang).map(|(j, o)| (*o, p.confidence, *j))
            });
            DocPlan {
                doc: d,
                href: hrefs[d.id.as_str()].clone(),
                counterpart: counterpart.map(|(o, c, _)| (o, c)),
                counterpart_plan: counterpart.map(|(_, _, j)| j),
                rules: rules_by_doc.remove(d.id.as_str()).unwrap_or_default(),
                rules_digest: *digest,
                programme: programme_of(d),
                generated: std::sync::OnceLock::new(),
            }
        })
        .collect();
    drop(rules_by_doc);
    drop(by_id);
    // Where the language switch lands from each record (see crate::counterparts).
    let cps = Counterparts::new(alignment);
    lap("plans, counterparts");

    // What each document page is made of, and how many questions it has
    // (taken from the previous build when its inputs are the same).
    let infos: Vec<DocInfo> = plans
        .par_iter()
        .map(|p| {
            let content = content_key(p, &hrefs, rules.is_some(), &base);
            // The pairings its `data-cp` attributes (and its questions' on
            // FAQ pages) are made from, apart: nothing else depends on them.
            let pairings = match p.counterpart {
                Some((o, _)) => {
                    let mut k = Key::new("pairings");
                    cps.hash_into(p.doc, o, &mut |s| {
                        k.put_bytes(s);
                    });
                    k.finish()
                }
                None => "-".to_string(),
            };
            let prev = reuse.and_then(|r| r.keys.get(&p.doc.id)).filter(|k| k.content == content);
            match prev {
                Some(k) => DocInfo { content, pairings, faq: k.faq, generated: k.generated },
                None => {
                    let (_, faq, generated) = faq::questions(p.doc, p.generated(), 0);
                    DocInfo { content, pairings, faq, generated }
                }
            }
        })
        .collect();

    lap("infos");
    let lang_pages = |lang: Lang, name: &str| format!("{}/{name}", lang.code());
    let faq_index = |lang: Lang| lang_pages(lang, "faq.html");

    // Pagination: FAQ pages and document listing pages, per language and programme.
    let mut faq_pages: Vec<ListPage> = Vec::new();
    let mut list_pages: Vec<ListPage> = Vec::new();
    let mut programmes: BTreeMap<Lang, Vec<(String, String, Vec<usize>)>> = BTreeMap::new();
    let mut prog_slugs = HashSet::default();
    for lang in LANGS {
        let mut by_prog: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in plans.iter().enumerate().filter(|(_, p)| p.doc.lang == lang) {
            by_prog.entry(p.programme.as_str()).or_default().push(i);
        }
        let list = programmes.entry(lang).or_default();
        for (prog, idx) in by_prog {
            let name = if prog.is_empty() { "general".to_string() } else { prog.to_string() };
            let s = slug_of(&name, lang.code(), &mut prog_slugs);
            list.push((prog.to_string(), s, idx));
        }
    }
    let paginate = |lang: Lang, kind: &str, single: &str, per_page: usize, keep: &dyn Fn(usize) -> bool| {
        let progs = &programmes[&lang];
        let total: usize = progs.iter().map(|(_, _, idx)| idx.iter().filter(|i| keep(**i)).count()).sum();
        if total <= per_page {
            let docs: Vec<usize> =
                progs.iter().flat_map(|(_, _, idx)| idx.iter().copied().filter(|i| keep(*i))).collect();
            return vec![ListPage { lang, path: lang_pages(lang, single), docs, pagination: None }];
        }
        let mut out = Vec::new();
        for (prog, s, idx) in progs {
            let kept: Vec<usize> = idx.iter().copied().filter(|i| keep(*i)).collect();
            let chunks: Vec<&[usize]> = kept.chunks(per_page.max(1)).collect();
            let path_of = |n: usize| lang_pages(lang, &format!("{kind}/{s}-{n}.html"));
            for (n, c) in chunks.iter().enumerate() {
                let n = n + 1;
                out.push(ListPage {
                    lang,
                    path: path_of(n),
                    docs: c.to_vec(),
                    pagination: Some(Pagination {
                        programme: if prog.is_empty() { "—".to_string() } else { prog.clone() },
                        number: n,
                        pages: (1..=chunks.len())
                            .map(|m| PageLink { href: path_of(m), number: m, current: m == n })
                            .collect(),
                        prev: (n > 1).then(|| path_of(n - 1)),
                        next: (n < chunks.len()).then(|| path_of(n + 1)),
                        up: lang_pages(lang, single),
                    }),
                });
            }
        }
        out
    };
    for lang in LANGS {
        let has_faq = |i: usize| infos[i].faq + infos[i].generated > 0;
        faq_pages.extend(paginate(lang, "faq", "faq.html", opts.faq_docs_per_page, &has_faq));
        list_pages.extend(paginate(lang, "list", "index.html", opts.docs_per_list_page, &|_| true));
    }
    let mut faq_page_of: Vec<Option<&str>> = vec![None; plans.len()];
    for page in &faq_pages {
        for &i in &page.docs {
            faq_page_of[i] = Some(page.path.as_str());
        }
    }
    let faq_href_of: Vec<Option<String>> = faq_page_of
        .par_iter()
        .zip(&plans)
        .map(|(page, p)| page.map(|page| format!("{page}#{}", group_anchor(&p.doc.id))))
        .collect();
    drop(faq_page_of);
    // Each document's key without its pairings (what its search entries
    // and listing card are made from) and with them (its page, its FAQ group).
    let (plain_keys, final_keys): (Vec<String>, Vec<String>) = infos
        .par_iter()
        .zip(&faq_href_of)
        .map(|(info, f)| {
            let mut k = Key::new("page");
            k.put(&info.content).put(f.as_deref().unwrap_or("-"));
            let plain = k.finish();
            (plain, k.put(&info.pairings).finish())
        })
        .unzip();
    let page_names: HashSet<&str> =
        faq_pages.iter().chain(&list_pages).map(|p| p.path.as_str()).collect::<HashSet<_>>();

    lap("pagination");
    let common = |lang: Lang, path: &str, title: String, alternates: Vec<Alternate>, switch: Switch| Common {
        lang: lang.code(),
        lang_name: text::lang_name(lang),
        t: ui[&lang].clone(),
        root: rel_root(path),
        path: path.to_string(),
        title,
        canonical: abs(path),
        alternates,
        switch,
        home_href: lang_pages(lang, "index.html"),
        faq_href: faq_index(lang),
        search_href: lang_pages(lang, "search.html"),
        search_index: format!("search/index.{}.js", lang.code()),
    };
    // Pages that exist in both languages under the same name: their
    // alternates, site-relative, and as absolute URLs.
    let paired_rel = |name: &str| -> Vec<(&'static str, Cow<'static, str>)> {
        vec![
            ("zh", Cow::Owned(lang_pages(Lang::Zh, name))),
            ("en", Cow::Owned(lang_pages(Lang::En, name))),
            ("x-default", Cow::Borrowed("index.html")),
        ]
    };
    let absolute = |alternates: &[(&'static str, Cow<'_, str>)]| -> Vec<Alternate> {
        alternates.iter().map(|(hreflang, href)| Alternate { hreflang, href: abs(href) }).collect()
    };
    let paired = |name: &str| absolute(&paired_rel(name));
    let switch_to = |other: Lang, name: &str| Switch {
        lang: other.code(),
        label: text::lang_name(other),
        href: Some(lang_pages(other, name)),
        index_href: lang_pages(other, "index.html"),
    };
    // A list page's alternates and switch: the same page in the other
    // language when it exists, else that language's first page of the kind.
    let list_alternates = |page: &ListPage| -> Vec<(&'static str, Cow<'static, str>)> {
        let name = &page.path[3..];
        if page_names.contains(lang_pages(page.lang.other(), name).as_str()) {
            paired_rel(name)
        } else {
            vec![(page.lang.code(), Cow::Owned(page.path.clone())), ("x-default", Cow::Owned(page.path.clone()))]
        }
    };
    let list_links = |page: &ListPage, single: &str| {
        let other = page.lang.other();
        let name = &page.path[3..];
        let switch = if page_names.contains(lang_pages(other, name).as_str()) {
            switch_to(other, name)
        } else {
            switch_to(other, single)
        };
        (absolute(&list_alternates(page)), switch)
    };

    // The search index: per language, blocks of documents, each block's
    // files rebuilt only when one of its documents' pages changed. Built
    // alongside the document pages, every block at once, each block's
    // documents in parallel.
    let search_blocks = || -> Result<Vec<(Lang, Vec<BlockState>)>> {
        let started = std::time::Instant::now();
        let mut jobs: Vec<(Lang, usize, usize, Vec<usize>)> = Vec::new();
        for lang in LANGS {
            let members: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].doc.lang == lang).collect();
            let nblocks = search::block_count(members.len());
            let mut blocks: Vec<Vec<usize>> = vec![Vec::new(); nblocks];
            for &i in &members {
                blocks[search::block_of(&plans[i].doc.id, nblocks)].push(i);
            }
            jobs.extend(blocks.into_iter().enumerate().map(|(b, idx)| (lang, nblocks, b, idx)));
        }
        let built: Vec<BlockState> = jobs
            .par_iter()
            .map(|(lang, nblocks, b, idx)| -> Result<BlockState> {
                let (lang, b) = (*lang, *b);
                let mut k = Key::new("search");
                k.put(lang.code()).put(&nblocks.to_string()).put(&b.to_string());
                for &i in idx {
                    k.put(&plans[i].doc.id).put(&plain_keys[i]);
                }
                let key = k.finish();
                let prev_blocks = prev_state.search.get(lang.code()).filter(|p| p.len() == *nblocks);
                if let (Some(site), Some(prev)) = (prev_site, prev_blocks.map(|p| &p[b])) {
                    if prev.key == key {
                        let names = (0..prev.shards)
                            .map(|s| format!("{b}/t{s}"))
                            .chain((0..prev.entries.div_ceil(search::CHUNK)).map(|c| format!("{b}/e{c}")));
                        let mut linked = Vec::new();
                        let mut all = true;
                        for n in names {
                            let rel = format!("search/{}/{n}.js", lang.code());
                            if !w.reuse(site, &rel)? {
                                all = false;
                                break;
                            }
                            linked.push(rel);
                        }
                        if all {
                            return Ok(prev.clone());
                        }
                        // Never write through a link into the previous build's files.
                        for rel in linked {
                            w.unlink(&rel)?;
                        }
                    }
                }
                // Documents in parallel, each run of them into a block of its
                // own, then appended in document order into one block
                // allocated once.
                let t = std::time::Instant::now();
                let parts: Vec<search::Block> = idx
                    .par_iter()
                    .fold(search::Block::default, |mut block, &i| {
                        add_search_entries(&mut block, &plans[i], faq_href_of[i].as_deref());
                        block
                    })
                    .collect();
                let parted = t.elapsed();
                let block = search::Block::concat(parts);
                let joined = t.elapsed();
                let (files, shards) = block.files(lang.code(), b);
                let made = t.elapsed();
                files
                    .par_iter()
                    .try_for_each(|(name, js)| w.write(&format!("search/{}/{name}.js", lang.code()), js.as_bytes()))?;
                if timing {
                    let written = t.elapsed();
                    eprintln!(
                        "publish: (search block {}/{b}: {} documents {parted:.3?}, one block {joined:.3?}, files {made:.3?}, written {written:.3?})",
                        lang.code(),
                        idx.len()
                    );
                }
                Ok(BlockState { key, entries: block.entries.len(), shards })
            })
            .collect::<Result<_>>()?;
        let mut by_lang: Vec<(Lang, Vec<BlockState>)> = LANGS.iter().map(|l| (*l, Vec::new())).collect();
        for ((lang, ..), state) in jobs.iter().zip(built) {
            by_lang.iter_mut().find(|(l, _)| l == lang).expect("a language of LANGS").1.push(state);
        }
        if timing {
            eprintln!("publish: (search blocks {:.3?})", started.elapsed());
        }
        Ok(by_lang)
    };

    // Document pages, in parallel; unchanged ones are linked from the previous site.
    let doc_pages = || -> Result<Vec<(PageKey, bool)>> {
        let started = std::time::Instant::now();
        let pages = plans
            .par_iter()
            .enumerate()
            .map(|(i, p)| -> Result<(PageKey, bool)> {
                let d = p.doc;
                let key = &final_keys[i];
                let info = &infos[i];
                if let Some((site, k)) = reuse.and_then(|r| r.keys.get(&d.id).map(|k| (r.site, k))) {
                    if &k.key == key && k.href == p.href && w.reuse(site, &p.href)? {
                        return Ok((k.clone(), true));
                    }
                }
                let (alternates, switch) = doc_links(p, &hrefs, &abs, &lang_pages);
                let rules_by_record = rules_by_record(&p.rules);
                let mut bb = BlockBuilder::new(d.lang, &rules_by_record);
                let blocks = bb.build(d);
                let toc: Vec<TocEntry> = blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::Heading { anchor, level: 2, text, .. } => {
                            Some(TocEntry { anchor: anchor.clone(), text: text.clone() })
                        }
                        _ => None,
                    })
                    .collect();
                let anchors = p.counterpart.map(|(o, _)| cps.of(d, o)).unwrap_or_default();
                let title_anchor = crate::blocks::title_record(d).map(|i| anchor(&d.records[i].id));
                let ctx = DocCtx {
                    common: common(d.lang, &p.href, d.title.clone(), alternates, switch),
                    doc_title: d.title.clone(),
                    title_cp: title_anchor.as_deref().and_then(|a| anchors.get(a)).map(str::to_string),
                    title_anchor,
                    source_path: d.path.clone(),
                    counterpart: counterpart_view(p, &hrefs),
                    body: {
                        let mut body = String::with_capacity(d.records.len() * 160);
                        crate::html::blocks_with(&mut body, &blocks, d.lang, Some(&anchors));
                        crate::html::fragment(body)
                    },
                    toc,
                    faq_href: faq_href_of[i].clone(),
                    rules_available: rules.is_some(),
                };
                renderer.write(&w, "document.html", &p.href, &ctx)?;
                Ok((
                    PageKey {
                        key: key.clone(),
                        href: p.href.clone(),
                        rules_shown: bb.rules_shown,
                        content: info.content.clone(),
                        faq: info.faq,
                        generated: info.generated,
                    },
                    false,
                ))
            })
            .collect::<Result<_>>();
        if timing {
            eprintln!("publish: (document pages {:.3?})", started.elapsed());
        }
        pages
    };
    let mut state = State { version: STATE_VERSION, ..State::default() };
    // The FAQ entries of a document, as its group on a FAQ page.
    let group_of = |i: usize| -> Option<FaqGroup> {
        let p = &plans[i];
        let entries = faq::record_entries(p.doc, &p.href);
        let generated = faq::generated_entries(p.doc, p.generated(), &p.href);
        if entries.is_empty() && generated.is_empty() {
            return None;
        }
        Some(FaqGroup {
            doc: p.doc.id.clone(),
            title: p.doc.title.clone(),
            href: p.href.clone(),
            anchor: group_anchor(&p.doc.id),
            entries,
            generated,
        })
    };
    // The key of a FAQ or listing page: everything it is rendered from.
    let page_key = |what: &str, page: &ListPage| {
        let mut k = Key::new(what);
        k.put(&page.path).put(&base).put(if rules.is_some() { "rules" } else { "-" });
        k.put(if alignment.is_some() { "alignment" } else { "-" });
        if let Some(pg) = &page.pagination {
            hash_pagination(&mut k, pg);
        }
        // Its alternates, which decide its language switch too.
        for (hreflang, href) in list_alternates(page) {
            k.put(hreflang).put(&href);
        }
        let keys = if what == "faq" { &final_keys } else { &plain_keys };
        for &i in &page.docs {
            k.put(&plans[i].doc.id).put(&keys[i]);
            // Where its counterpart's questions are (their pairings are in the key above).
            let theirs = plans[i].counterpart_plan.and_then(|j| faq_href_of[j].as_deref());
            k.put(theirs.unwrap_or("-"));
        }
        k.finish()
    };
    let try_reuse = |path: &str, key: &str| -> Result<bool> {
        match prev_site {
            Some(site) if prev_state.pages.get(path).map(String::as_str) == Some(key) => w.reuse(site, path),
            _ => Ok(false),
        }
    };

    // FAQ pages (one per language, or pages per programme with an index).
    let faq_run = || -> Result<Vec<(String, String)>> {
        faq_pages
            .par_iter()
            .map(|page| -> Result<(String, String)> {
                let key = page_key("faq", page);
                if try_reuse(&page.path, &key)? {
                    return Ok((page.path.clone(), key));
                }
                let lang = page.lang;
                let (alternates, switch) = list_links(page, "faq.html");
                let mut groups: Vec<(usize, FaqGroup)> =
                    page.docs.iter().filter_map(|&i| group_of(i).map(|g| (i, g))).collect();
                // Where the language switch lands from each group and question.
                let switch_page = switch.href.as_deref().unwrap_or_default();
                let mut group_cps: Vec<Option<String>> = Vec::with_capacity(groups.len());
                for (i, g) in &mut groups {
                    let theirs = plans[*i].counterpart_plan.and_then(|j| Some((j, faq_href_of[j].as_deref()?)));
                    group_cps.push(theirs.map(|(_, h)| cp_link(h, switch_page)));
                    let Some((j, h)) = theirs else { continue };
                    let their_page = h.split_once('#').map_or(h, |(p, _)| p);
                    let questions: HashMap<String, String> = cps
                        .records(plans[*i].doc, plans[j].doc)
                        .into_iter()
                        .filter(|(m, t)| m.kind == RecordKind::Faq && t.kind == RecordKind::Faq)
                        .map(|(m, t)| (faq::record_anchor(m), faq::record_anchor(t)))
                        .collect();
                    for e in &mut g.entries {
                        e.counterpart =
                            questions.get(&e.anchor).map(|a| cp_link(&format!("{their_page}#{a}"), switch_page));
                    }
                }
                let all: Vec<&FaqEntry> =
                    groups.iter().flat_map(|(_, g)| g.entries.iter().chain(g.generated.iter())).collect();
                let jsonld = serde_json::json!({
                    "@context": "https://schema.org",
                    "@type": "FAQPage",
                    "inLanguage": lang.code(),
                    "mainEntity": all.iter().map(|e| serde_json::json!({
                        "@type": "Question",
                        "name": e.question,
                        "url": abs(&format!("{}#{}", page.path, e.anchor)),
                        "acceptedAnswer": { "@type": "Answer", "text": e.answer_text },
                    })).collect::<Vec<_>>(),
                });
                let title = match &page.pagination {
                    Some(pg) => format!("{} · {} · {}", text::ui_text(lang, "faq"), pg.programme, pg.number),
                    None => text::ui_text(lang, "faq").to_string(),
                };
                let root = rel_root(&page.path);
                let groups: Vec<FaqGroupView> = groups
                    .iter()
                    .zip(group_cps)
                    .map(|((_, g), cp)| {
                        let entry = |e: &FaqEntry| crate::html::faq_entry_fragment(e, lang, &root);
                        FaqGroupView {
                            title: &g.title,
                            href: &g.href,
                            anchor: &g.anchor,
                            cp,
                            entries: g.entries.iter().map(entry).collect(),
                            generated: g.generated.iter().map(entry).collect(),
                        }
                    })
                    .collect();
                let ctx = FaqCtx {
                    common: common(lang, &page.path, title, alternates, switch),
                    groups,
                    jsonld: Some(Value::from_safe_string(json_for_script(&jsonld))),
                    rules_available: rules.is_some(),
                    pagination: page.pagination.clone(),
                    programmes: Vec::new(),
                };
                renderer.write(&w, "faq.html", &page.path, &ctx)?;
                Ok((page.path.clone(), key))
            })
            .collect::<Result<_>>()
    };

    // Document listing pages (the language's index, or pages per programme).
    let list_run = || -> Result<Vec<(String, String)>> {
        list_pages
            .par_iter()
            .map(|page| -> Result<(String, String)> {
                let key = page_key("list", page);
                if try_reuse(&page.path, &key)? {
                    return Ok((page.path.clone(), key));
                }
                let lang = page.lang;
                let documents: Vec<DocSummary> = page
                    .docs
                    .iter()
                    .map(|&i| {
                        let p = &plans[i];
                        let info = &infos[i];
                        let count = info.faq + info.generated;
                        let faq: Vec<FaqLink> = if count == 0 {
                            Vec::new()
                        } else {
                            let page = faq_href_of[i].as_deref().and_then(|h| h.split_once('#')).map_or("", |(p, _)| p);
                            let (questions, _, _) = faq::questions(p.doc, p.generated(), CARD_QUESTIONS);
                            let links: Vec<FaqLink> = questions
                                .into_iter()
                                .map(|(anchor, question, generated)| FaqLink {
                                    question,
                                    href: format!("{page}#{anchor}"),
                                    generated,
                                })
                                .collect();
                            links
                        };
                        DocSummary {
                            id: p.doc.id.clone(),
                            title: p.doc.title.clone(),
                            path: p.doc.path.clone(),
                            href: p.href.clone(),
                            records: p.doc.records.len(),
                            counterpart: counterpart_view(p, &hrefs),
                            faq,
                            faq_count: count,
                            faq_href: faq_href_of[i].clone(),
                        }
                    })
                    .collect();
                let (alternates, switch) = list_links(page, "index.html");
                let title = match &page.pagination {
                    Some(pg) => format!("{} · {} · {}", text::ui_text(lang, "documents"), pg.programme, pg.number),
                    None => text::ui_text(lang, "site_name").to_string(),
                };
                let ctx = IndexCtx {
                    common: common(lang, &page.path, title, alternates, switch),
                    documents,
                    rules_available: rules.is_some(),
                    alignment_available: alignment.is_some(),
                    pagination: page.pagination.clone(),
                    programmes: Vec::new(),
                };
                renderer.write(&w, "index.html", &page.path, &ctx)?;
                Ok((page.path.clone(), key))
            })
            .collect::<Result<_>>()
    };

    // Everything above at once: document pages, search blocks, FAQ and listing pages.
    let ((doc_results, search_built), (faq_keys, list_keys)) =
        rayon::join(|| rayon::join(doc_pages, search_blocks), || rayon::join(faq_run, list_run));
    let (doc_results, search_built, faq_keys, list_keys) = (doc_results?, search_built?, faq_keys?, list_keys?);
    lap("document pages, search blocks, FAQ and listing pages");
    let mut stats = SiteStats::default();
    let mut keys = BTreeMap::new();
    let mut reused = 0;
    for (p, (k, was_reused)) in plans.iter().zip(doc_results) {
        stats.rules_shown += k.rules_shown;
        stats.faq_entries += k.faq;
        stats.generated_questions += k.generated;
        stats.pages += 1;
        stats.documents += 1;
        reused += usize::from(was_reused);
        keys.insert(p.doc.id.clone(), k);
    }
    stats.pages += faq_keys.len() + list_keys.len();
    state.pages.extend(faq_keys);
    state.pages.extend(list_keys);

    // The indexes of paginated FAQ and listing pages.
    for lang in LANGS {
        let progs_of = |pages: &[ListPage], count: &dyn Fn(usize) -> usize| -> Vec<ProgrammeView> {
            let mut out: Vec<ProgrammeView> = Vec::new();
            for page in pages.iter().filter(|p| p.lang == lang) {
                let Some(pg) = &page.pagination else { return Vec::new() };
                if out.last().is_none_or(|v| v.name != pg.programme) {
                    out.push(ProgrammeView {
                        name: pg.programme.clone(),
                        documents: 0,
                        questions: 0,
                        pages: pg.pages.iter().map(|l| PageLink { current: false, ..l.clone() }).collect(),
                    });
                }
                let v = out.last_mut().expect("pushed");
                v.documents += page.docs.len();
                v.questions += page.docs.iter().map(|&i| count(i)).sum::<usize>();
            }
            out
        };
        let faq_progs = progs_of(&faq_pages, &|i| infos[i].faq + infos[i].generated);
        if !faq_progs.is_empty() {
            let path = faq_index(lang);
            let ctx = FaqCtx {
                common: common(
                    lang,
                    &path,
                    text::ui_text(lang, "faq").to_string(),
                    paired("faq.html"),
                    switch_to(lang.other(), "faq.html"),
                ),
                groups: Vec::new(),
                jsonld: None,
                rules_available: rules.is_some(),
                pagination: None,
                programmes: faq_progs,
            };
            renderer.write(&w, "faq.html", &path, &ctx)?;
            stats.pages += 1;
        }
        let list_progs = progs_of(&list_pages, &|_| 0);
        if !list_progs.is_empty() {
            let path = lang_pages(lang, "index.html");
            let ctx = IndexCtx {
                common: common(
                    lang,
                    &path,
                    text::ui_text(lang, "site_name").to_string(),
                    paired("index.html"),
                    switch_to(lang.other(), "index.html"),
                ),
                documents: Vec::new(),
                rules_available: rules.is_some(),
                alignment_available: alignment.is_some(),
                pagination: None,
                programmes: list_progs,
            };
            renderer.write(&w, "index.html", &path, &ctx)?;
            stats.pages += 1;
        }

        let path = lang_pages(lang, "search.html");
        let ctx = SimpleCtx {
            common: common(
                lang,
                &path,
                text::ui_text(lang, "search").to_string(),
                paired("search.html"),
                switch_to(lang.other(), "search.html"),
            ),
        };
        renderer.write(&w, "search.html", &path, &ctx)?;
        stats.pages += 1;
    }

    lap("indexes");
    for (lang, built) in search_built {
        let manifest = Manifest::new(
            lang.code(),
            built.iter().map(|b| BlockInfo { entries: b.entries, shards: b.shards }).collect(),
        );
        stats.search_entries += manifest.entries;
        w.write(&format!("search/index.{}.json", lang.code()), manifest.to_json().as_bytes())?;
        w.write(&format!("search/index.{}.js", lang.code()), manifest.to_script().as_bytes())?;
        state.search.insert(lang.code().to_string(), built);
    }

    lap("search");
    // The language chooser.
    let root_rel: Vec<(&'static str, Cow<str>)> = vec![
        ("zh", Cow::Borrowed("zh/index.html")),
        ("en", Cow::Borrowed("en/index.html")),
        ("x-default", Cow::Borrowed("index.html")),
    ];
    let ctx = RootCtx {
        canonical: abs("index.html"),
        alternates: absolute(&root_rel),
        zh: ui[&Lang::Zh].clone(),
        en: ui[&Lang::En].clone(),
        zh_count: sorted.iter().filter(|d| d.lang == Lang::Zh).count(),
        en_count: sorted.iter().filter(|d| d.lang == Lang::En).count(),
    };
    renderer.write(&w, "root.html", "index.html", &ctx)?;
    stats.pages += 1;

    // sitemap.xml (an index of sitemap-<n>.xml files on a large site), sorted
    // by URL; a part whose URLs did not change is taken from the previous site.
    let mut sitemap: Vec<SitemapEntry> = Vec::with_capacity(stats.pages);
    sitemap.push((Cow::Borrowed("index.html"), root_rel));
    for p in &plans {
        let alternates = doc_alternates(p, &hrefs).into_iter().map(|(l, h)| (l, Cow::Borrowed(h))).collect();
        sitemap.push((Cow::Borrowed(p.href.as_str()), alternates));
    }
    for page in faq_pages.iter().chain(&list_pages) {
        sitemap.push((Cow::Borrowed(page.path.as_str()), list_alternates(page)));
    }
    for lang in LANGS {
        for (pages, name) in [(&faq_pages, "faq.html"), (&list_pages, "index.html")] {
            if pages.iter().any(|p| p.lang == lang && p.pagination.is_some()) {
                sitemap.push((Cow::Owned(lang_pages(lang, name)), paired_rel(name)));
            }
        }
        sitemap.push((Cow::Owned(lang_pages(lang, "search.html")), paired_rel("search.html")));
    }
    sitemap.sort_by(|a, b| a.0.cmp(&b.0));
    type SitemapPart<'s> = [SitemapEntry<'s>];
    let sitemap_file = |name: &str, urls: &SitemapPart| -> Result<(String, String)> {
        let mut k = Key::new("sitemap");
        k.put(&base);
        for (path, alternates) in urls {
            k.put(path);
            for (hreflang, href) in alternates {
                k.put(hreflang).put(href);
            }
            k.put("");
        }
        let key = k.finish();
        if !try_reuse(name, &key)? {
            let urls: Vec<SitemapUrl> = urls
                .iter()
                .map(|(p, alternates)| SitemapUrl { loc: abs(p), alternates: absolute(alternates) })
                .collect();
            renderer.write(&w, "sitemap.xml", name, &SitemapCtx { urls })?;
        }
        Ok((name.to_string(), key))
    };
    let per_file = opts.sitemap_urls.max(1);
    if sitemap.len() <= per_file {
        let (name, key) = sitemap_file("sitemap.xml", &sitemap)?;
        state.pages.insert(name, key);
    } else {
        let parts: Vec<&SitemapPart> = sitemap.chunks(per_file).collect();
        let keys: Vec<(String, String)> = parts
            .par_iter()
            .enumerate()
            .map(|(n, part)| sitemap_file(&format!("sitemap-{}.xml", n + 1), part))
            .collect::<Result<_>>()?;
        state.pages.extend(keys);
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for n in 1..=parts.len() {
            xml.push_str(&format!(
                "  <sitemap><loc>{}</loc></sitemap>\n",
                crate::templates::html_escape(&abs(&format!("sitemap-{n}.xml")))
            ));
        }
        xml.push_str("</sitemapindex>\n");
        w.write("sitemap.xml", xml.as_bytes())?;
    }

    lap("root+sitemap");
    for name in STATIC_FILES {
        let body = templates.get(name)?.expect("static files are embedded");
        w.write(name, body.as_bytes())?;
    }
    stats.files = w.files.load(Ordering::Relaxed);
    let state = serde_json::to_vec(&state).expect("the state serialises");
    Ok(Rendered { stats, reused, keys, state })
}

/// A `data-cp` value for a FAQ page: the element id alone when `href`
/// (site-relative `page#id`) is on `switch_page`, the page the language
/// switch goes to, else `href` (the site script tells them apart by the `#`).
fn cp_link(href: &str, switch_page: &str) -> String {
    match href.split_once('#') {
        Some((page, id)) if page == switch_page => id.to_string(),
        _ => href.to_string(),
    }
}

/// The element id of a document's group on its FAQ page.
fn group_anchor(doc_id: &str) -> String {
    format!("doc-{}", kb_model::short_hash(&[doc_id], 8))
}

fn rules_by_record<'a>(rules: &[&'a Rule]) -> HashMap<&'a str, Vec<&'a Rule>> {
    let mut m: HashMap<&str, Vec<&Rule>> = HashMap::default();
    for r in rules {
        m.entry(r.source.record.as_str()).or_default().push(r);
    }
    m
}

fn counterpart_view(p: &DocPlan, hrefs: &HashMap<&str, String>) -> Option<CounterpartView> {
    p.counterpart.map(|(o, c)| CounterpartView {
        title: o.title.clone(),
        href: hrefs[o.id.as_str()].clone(),
        lang: o.lang.code(),
        confidence: (c.clamp(0.0, 1.0) * 100.0).round() as u32,
    })
}

/// A document page's alternates, site-relative: both languages' pages
/// (English as `x-default`) when it has a counterpart, else itself.
fn doc_alternates<'a>(p: &'a DocPlan, hrefs: &'a HashMap<&str, String>) -> Vec<(&'static str, &'a str)> {
    match p.counterpart {
        Some((o, _)) => {
            let theirs = hrefs[o.id.as_str()].as_str();
            let (zh, en) = if p.doc.lang == Lang::Zh { (p.href.as_str(), theirs) } else { (theirs, p.href.as_str()) };
            vec![("zh", zh), ("en", en), ("x-default", en)]
        }
        None => vec![(p.doc.lang.code(), p.href.as_str()), ("x-default", p.href.as_str())],
    }
}

/// A document page's alternates (absolute) and language switch.
fn doc_links(
    p: &DocPlan,
    hrefs: &HashMap<&str, String>,
    abs: &dyn Fn(&str) -> String,
    lang_pages: &dyn Fn(Lang, &str) -> String,
) -> (Vec<Alternate>, Switch) {
    let alternates = doc_alternates(p, hrefs).into_iter().map(|(hreflang, h)| Alternate { hreflang, href: abs(h) });
    let switch = match p.counterpart {
        Some((o, _)) => Switch {
            lang: o.lang.code(),
            label: text::lang_name(o.lang),
            href: Some(hrefs[o.id.as_str()].clone()),
            index_href: lang_pages(o.lang, "index.html"),
        },
        None => Switch {
            lang: p.doc.lang.other().code(),
            label: text::lang_name(p.doc.lang.other()),
            href: None,
            index_href: lang_pages(p.doc.lang.other(), "index.html"),
        },
    };
    (alternates.collect(), switch)
}

/// Feeds where a paginated page sits to `k`.
fn hash_pagination(k: &mut Key, pg: &Pagination) {
    let Pagination { programme, number, pages, prev, next, up } = pg;
    k.put("pagination").put(programme).put(&number.to_string()).put(up);
    k.put(prev.as_deref().unwrap_or("-")).put(next.as_deref().unwrap_or("-"));
    for PageLink { href, number, current } in pages {
        k.put(href).put(&number.to_string()).put(if *current { "current" } else { "-" });
    }
}

/// Adds a document's searchable entries to a block: its records (with the
/// section they are in) and the questions generated from its rules.
fn add_search_entries(block: &mut search::Block, p: &DocPlan, faq_href: Option<&str>) {
    use kb_model::RecordKind as K;
    let d = p.doc;
    let page: Arc<str> = Arc::from(p.href.as_str());
    let doc: Arc<str> = Arc::from(d.title.as_str());
    let mut section = doc.clone();
    // Scratch for the texts of table rows and questions.
    let mut text = String::new();
    let mut shown = String::new();
    for r in &d.records {
        if matches!(r.kind, K::Heading | K::Faq) || (r.kind == K::Step && r.level.is_some()) {
            section = Arc::from(r.question.as_deref().unwrap_or_else(|| r.text.lines().next().unwrap_or("")));
        }
        // The searchable text and the text the snippet is cut from.
        let (text, shown): (&str, &str) = match r.kind {
            K::FrontMatter | K::LinkDefinition | K::Separator | K::Image | K::Html | K::TableHeader => continue,
            K::TableRow => {
                text.clear();
                shown.clear();
                for (i, c) in r.cells.iter().enumerate() {
                    if i > 0 {
                        text.push(' ');
                        shown.push_str(" | ");
                    }
                    text.push_str(&c.header);
                    text.push(' ');
                    text.push_str(&c.text);
                    shown.extend(c.text.split('\n').enumerate().flat_map(|(i, l)| [if i > 0 { " " } else { "" }, l]));
                }
                (&text, &shown)
            }
            K::Faq => {
                text.clear();
                text.push_str(r.question.as_deref().unwrap_or(""));
                text.push(' ');
                text.push_str(r.answer.as_deref().unwrap_or(&r.text));
                (&text, r.answer.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&r.text))
            }
            _ => (&r.text, &r.text),
        };
        block.add(
            Entry {
                page: page.clone(),
                anchor: anchor(&r.id),
                title: section.clone(),
                doc: doc.clone(),
                kind: r.kind.as_str(),
                snippet: search::snippet(shown),
            },
            text,
        );
    }
    let Some(faq_page) = faq_href.and_then(|h| h.split_once('#')).map(|(p, _)| p) else {
        return;
    };
    let faq_page: Arc<str> = Arc::from(faq_page);
    for g in p.generated() {
        let (anchor, question, answer) = (g.anchor.clone(), g.question.clone(), g.answer_text());
        let text = format!("{question} {answer}");
        block.add(
            Entry {
                page: faq_page.clone(),
                anchor,
                title: Arc::from(question),
                doc: doc.clone(),
                kind: "generated",
                snippet: search::snippet(&answer),
            },
            &text,
        );
    }
}

/// The fingerprint of everything a document page is rendered from except
/// its FAQ link. The document enters by its content hash, path, language and
/// title (its records are what parsing those bytes gives); its rules in
/// full and in order; its counterpart by id, title, address and confidence.
/// The section and record pairings between the two (a record id is a hash
/// of its content, so their ids stand for the records the page points at)
/// enter the page's final key apart ([`DocInfo::pairings`]), so that a
/// changed pairing renders the page and its FAQ group again, but not its
/// search block or listing card.
fn content_key(p: &DocPlan, hrefs: &HashMap<&str, String>, rules_available: bool, base: &str) -> String {
    let d = p.doc;
    let mut k = Key::new("content");
    k.put(base).put(&d.id).put(&d.path).put(d.lang.code()).put(&d.title).put(&d.hash).put(&p.href);
    k.put(if rules_available { "rules" } else { "-" });
    match p.counterpart {
        Some((o, c)) => {
            k.put(&o.id).put(&o.title).put(o.lang.code()).put(&hrefs[o.id.as_str()]).put(&c.to_bits().to_string());
        }
        None => {
            k.put("no counterpart");
        }
    }
    // The rules, in the order the page and its questions take them; or the
    // caller's digest of them (which stands for exactly these rules).
    match (&p.rules_digest, rules_available) {
        (Some(digest), true) => {
            k.put("rules digest").put_bytes(digest);
        }
        _ => {
            for r in &p.rules {
                hash_rule(&mut k, r);
            }
        }
    }
    k.finish()
}

/// Feeds every field of a rule to `k` (cheaper than hashing its JSON: a
/// large corpus has a million rules). The exhaustive pattern makes a new
/// field of [`Rule`] a compile error here, so none is forgotten.
fn hash_rule(k: &mut Key, r: &Rule) {
    let Rule {
        id,
        key,
        scope,
        scope_other,
        subject,
        qualifier,
        op,
        value,
        range,
        unit,
        kind,
        confidence,
        clause,
        source,
        text,
        logic,
    } = r;
    let kb_model::rules::RuleSource { doc, record, path, lines, counterpart } = source;
    let kb_model::rules::BilingualText { zh, en } = text;
    let opt = |k: &mut Key, s: &Option<kb_model::rules::SharedStr>| {
        match s {
            Some(s) => k.put("1").put(s),
            None => k.put("0"),
        };
    };
    let mut buf = String::new();
    let mut fmt = |k: &mut Key, args: std::fmt::Arguments| {
        use std::fmt::Write;
        buf.clear();
        let _ = buf.write_fmt(args);
        k.put(&buf);
    };
    k.put(id).put(key).put(scope);
    opt(k, scope_other);
    opt(k, subject);
    opt(k, qualifier);
    k.put(op.map_or("-", |o| o.as_str()));
    match value {
        Some(serde_json::Value::String(v)) => {
            k.put("s").put(v);
        }
        Some(serde_json::Value::Number(n)) => fmt(k, format_args!("{n}")),
        Some(serde_json::Value::Bool(b)) => {
            k.put(if *b { "true" } else { "false" });
        }
        Some(v) => {
            k.put(&v.to_string());
        }
        None => {
            k.put("-");
        }
    }
    match range {
        Some([a, b]) => fmt(k, format_args!("{}:{}", a.to_bits(), b.to_bits())),
        None => {
            k.put("-");
        }
    }
    opt(k, unit);
    k.put(kind).put(clause);
    fmt(k, format_args!("{}", confidence.to_bits()));
    k.put(doc).put(record).put(path);
    fmt(k, format_args!("{}:{}", lines[0], lines[1]));
    opt(k, counterpart);
    opt(k, zh);
    opt(k, en);
    k.put(&logic.as_ref().map_or_else(|| "-".to_string(), |v| v.to_string()));
}

#[derive(Serialize)]
struct DocCtx {
    #[serde(flatten)]
    common: Common,
    doc_title: String,
    title_anchor: Option<String>,
    /// The counterpart anchor of the title, when it is aligned.
    title_cp: Option<String>,
    source_path: String,
    counterpart: Option<CounterpartView>,
    /// The blocks, as [`crate::html::blocks`] writes them.
    body: Value,
    toc: Vec<TocEntry>,
    faq_href: Option<String>,
    rules_available: bool,
}

#[derive(Serialize)]
struct IndexCtx {
    #[serde(flatten)]
    common: Common,
    documents: Vec<DocSummary>,
    rules_available: bool,
    alignment_available: bool,
    pagination: Option<Pagination>,
    /// On the index of a paginated listing: the programmes and their pages.
    programmes: Vec<ProgrammeView>,
}

/// A document's group on a FAQ page: its questions as [`crate::html::faq_entry`] writes them.
#[derive(Serialize)]
struct FaqGroupView<'a> {
    title: &'a str,
    href: &'a str,
    anchor: &'a str,
    /// Where the language switch lands from the group: the counterpart
    /// document's group ([`cp_link`]).
    cp: Option<String>,
    entries: Vec<Value>,
    generated: Vec<Value>,
}

#[derive(Serialize)]
struct FaqCtx<'a> {
    #[serde(flatten)]
    common: Common,
    groups: Vec<FaqGroupView<'a>>,
    /// Already escaped for a `<script>` element ([`json_for_script`]).
    jsonld: Option<Value>,
    rules_available: bool,
    pagination: Option<Pagination>,
    /// On the index of paginated FAQ pages: the programmes and their pages.
    programmes: Vec<ProgrammeView>,
}

#[derive(Serialize)]
struct SimpleCtx {
    #[serde(flatten)]
    common: Common,
}

#[derive(Serialize)]
struct RootCtx {
    canonical: String,
    alternates: Vec<Alternate>,
    zh: Value,
    en: Value,
    zh_count: usize,
    en_count: usize,
}

/// A URL of the sitemap, site-relative, and its alternates: (hreflang, site-relative URL).
type SitemapEntry<'a> = (Cow<'a, str>, Vec<(&'static str, Cow<'a, str>)>);

#[derive(Serialize)]
struct SitemapUrl {
    loc: String,
    alternates: Vec<Alternate>,
}

#[derive(Serialize)]
struct SitemapCtx {
    urls: Vec<SitemapUrl>,
}

#[cfg(test)]
mod tests {
    use super::cp_link;

    #[test]
    fn a_faq_counterpart_on_the_switch_page_is_its_id_alone() {
        assert_eq!(cp_link("en/faq/p-1.html#q-1", "en/faq/p-1.html"), "q-1");
        assert_eq!(cp_link("en/faq/p-2.html#q-1", "en/faq/p-1.html"), "en/faq/p-2.html#q-1");
        assert_eq!(cp_link("en/faq.html#doc-1", "en/faq.html"), "doc-1");
    }
}
