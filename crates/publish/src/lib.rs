//! kb stage 5: a static bilingual FAQ site from records, alignment and rules.
//!
//! # Brief overview
//! [`render_site`] writes a self-contained static site into a folder:
//! * `index.html` – a language chooser; `zh/index.html`, `en/index.html` – one
//!   index per language listing the documents and their FAQ;
//! * `<lang>/docs/<slug>.html` – one page per document: headings, requirements
//!   as checklists with the extracted rule beside each, steps as ordered steps,
//!   tables, notes as callouts, images with alt text;
//! * `<lang>/faq.html` – every `faq` record as a question and answer, plus
//!   questions generated from rules, each linking to its source, with
//!   schema.org `FAQPage` JSON-LD. When a language has more documents with
//!   questions than [`SiteOptions::faq_docs_per_page`], `faq.html` becomes
//!   an index of FAQ pages `<lang>/faq/<programme>-<n>.html` (a programme
//!   is the first folder under the language folder), each with its own
//!   JSON-LD, previous/next links and a language switch to the page of the
//!   same name in the other language (or that language's FAQ index);
//! * `<lang>/index.html` likewise lists the documents, or — beyond
//!   [`SiteOptions::docs_per_list_page`] documents — the programmes, whose
//!   documents are listed on `<lang>/list/<programme>-<n>.html`;
//! * `<lang>/search.html` and the offline search index under `search/`
//!   (a small manifest `search/index.<lang>.json` / `.js` and bounded part
//!   files loaded on demand; layout in [`search`]) – the query splitting
//!   ([`tokenize`]) is the index's, in Rust and in the shipped
//!   `static/search.js`;
//! * `sitemap.xml` with `xhtml:link` alternates (beyond 2,000 URLs, a
//!   sitemap index of `sitemap-<n>.xml`); `static/` (CSS, script).
//!
//! Document pages, search blocks (each block's documents tokenised in
//! parallel and merged in order), FAQ and listing pages are made at the
//! same time (rayon) and written as they are made; no file's size grows with
//! the corpus beyond a page of a programme, a block of the search index or a
//! sitemap part. A rebuild ([`publish`] with a [`PageReuse`]) hard-links
//! every file whose inputs did not change from the previous site: document
//! pages by their [`PageKey`], FAQ and listing pages and search blocks by
//! keys kept in a state file the caller stores (`cache/publish.json` in a kb
//! build; it keys the sitemap's parts too); and any build given a previous
//! site hard-links a rendered file that comes out byte for byte the same
//! as its namesake there instead of writing a new one.
//!
//! Every page carries a language switcher to its aligned counterpart (or says
//! there is none), `<link rel="alternate" hreflang>` tags including
//! `x-default`, and `lang` attributes; aligned headings and FAQ questions
//! carry their counterpart's element id as `data-cp`, from which the site
//! script points the switch at the counterpart of the reader's section
//! ([`counterparts`]). Everything taken from the documents is
//! escaped, by minijinja's autoescape or, in the blocks of a document page
//! and the pieces of a FAQ answer written by [`html`], by the same rules
//! (tests compare them with the template code they replace); raw HTML is
//! sanitised with ammonia and
//! every URL put in `href`/`src` passes [`sanitize::safe_href`]. The output is
//! deterministic: the same input gives the same bytes.
//!
//! `KB_PUBLISH_TIMING=1` prints the time of each phase (plan; document
//! pages, search blocks, FAQ and listing pages together; indexes and
//! manifests; sitemap) to stderr.
//!
//! Templates are embedded in the binary ([`templates::EMBEDDED`]); a folder
//! given in [`SiteOptions::templates`] overrides them file by file. They lay
//! out every page; the body of a document page (`{{ body }}`) and the
//! answers and rules of FAQ entries come as HTML from [`html`], where a
//! template per block or per inline run cost most of the rendering.
//!
//! ```no_run
//! let stats = kb_publish::render_site(std::path::Path::new("out/site"), &[], None, None).unwrap();
//! println!("{}", stats.summary());
//! ```

pub mod blocks;
pub mod counterparts;
pub mod faq;
pub mod html;
pub mod sanitize;
pub mod search;
mod site;
pub mod templates;
pub mod text;
pub mod tokenize;

use std::path::{Path, PathBuf};

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::Document;

/// Errors of the publish stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be written or read.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template failed to load or render.
    #[error("rendering template {template} for {page}: {message}")]
    Template {
        /// The template's name.
        template: String,
        /// The page being rendered.
        page: String,
        /// minijinja's message (with line, when it has one).
        message: String,
    },
}

/// Result of publishing.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Settings of a site build.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The absolute URL the site will be served from, ending in `/`; used
    /// where absolute URLs are required (sitemap, `hreflang`, canonical).
    pub base_url: String,
    /// A folder whose files override the embedded templates and static
    /// assets by name (`base.html`, `static/site.css`, …).
    pub templates: Option<PathBuf>,
    /// Documents (with questions) per FAQ page; a language with no more
    /// has one FAQ page, `faq.html`.
    pub faq_docs_per_page: usize,
    /// Documents per listing page; a language with no more lists them all
    /// on `index.html`.
    pub docs_per_list_page: usize,
    /// URLs per sitemap file; a site with more has `sitemap.xml` as a
    /// sitemap index of `sitemap-<n>.xml` files (the protocol allows 50,000;
    /// 2,000 keep a file near 1 MB).
    pub sitemap_urls: usize,
}

/// The default base URL: where `kb serve` serves the site by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8000/";

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            templates: None,
            faq_docs_per_page: 25,
            docs_per_list_page: 200,
            sitemap_urls: 2_000,
        }
    }
}

impl SiteOptions {
    /// The options from the environment: `KB_SITE_URL` (base URL) and
    /// `KB_TEMPLATES` (template override folder), each optional.
    pub fn from_env() -> SiteOptions {
        let mut o = SiteOptions::default();
        if let Ok(u) = std::env::var("KB_SITE_URL") {
            if !u.trim().is_empty() {
                o.base_url = u.trim().to_string();
            }
        }
        if let Some(t) = std::env::var_os("KB_TEMPLATES") {
            if !t.is_empty() {
                o.templates = Some(PathBuf::from(t));
            }
        }
        if !o.base_url.ends_with('/') {
            o.base_url.push('/');
        }
        o
    }
}

/// What a site build wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteStats {
    /// HTML pages written.
    pub pages: usize,
    /// Documents with a page.
    pub documents: usize,
    /// FAQ entries taken from `faq` records.
    pub faq_entries: usize,
    /// FAQ entries generated from rules.
    pub generated_questions: usize,
    /// Entries in the search indexes (both languages).
    pub search_entries: usize,
    /// Rules shown beside their requirement.
    pub rules_shown: usize,
    /// Files written in all.
    pub files: usize,
}

impl SiteStats {
    /// A one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{} pages ({} documents), {} FAQ entries + {} generated from rules, {} rules shown, {} search entries → site/",
            self.pages,
            self.documents,
            self.faq_entries,
            self.generated_questions,
            self.rules_shown,
            self.search_entries
        )
    }
}

/// Renders the whole site into `out_dir` (created if missing) with the
/// default [`SiteOptions`]. `alignment` and `rules` may be absent: the site
/// then has no counterpart links or no rules, and says so.
pub fn render_site(
    out_dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
) -> Result<SiteStats> {
    render_site_with(out_dir, docs, alignment, rules, &SiteOptions::default())
}

/// [`render_site`] with explicit options.
pub fn render_site_with(
    out_dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    opts: &SiteOptions,
) -> Result<SiteStats> {
    let input = Input { documents: docs, alignment, rules, rule_digests: None };
    site::render(out_dir, &input, opts, None, None).map(|r| r.stats)
}

/// What a site build may reuse: the previous build's `site/` folder, the
/// [`PageKey`]s it rendered its document pages with, and the state file it
/// left ([`Published::state`]). With no keys and no state (a full build),
/// only files whose bytes come out the same are taken from it.
#[derive(Debug, Clone)]
pub struct PageReuse<'a> {
    /// The previous build's site folder.
    pub site: &'a Path,
    /// Document id → the key its page was rendered with.
    pub keys: &'a std::collections::BTreeMap<String, PageKey>,
    /// Where the previous build's [`Published::state`] was stored, if anywhere.
    pub state: Option<&'a Path>,
}

/// The fingerprint of everything one document page is rendered from (the
/// document's bytes and path, its rules — or the caller's digest of them,
/// [`Input::rule_digests`] —, its counterpart and the ids of the section and
/// record pairings between the two, its address, its FAQ link, the base
/// URL, this crate's version), with the page's path and what it counted.
/// Equal keys mean byte-identical pages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageKey {
    /// blake3 (hex) of the page's inputs.
    pub key: String,
    /// The page, relative to the site folder.
    pub href: String,
    /// Rules shown on the page (for [`SiteStats::rules_shown`]).
    pub rules_shown: usize,
    /// blake3 (hex) of the page's inputs but its FAQ link: equal means the
    /// same questions.
    #[serde(default)]
    pub content: String,
    /// Questions from `faq` records.
    #[serde(default)]
    pub faq: usize,
    /// Questions generated from rules.
    #[serde(default)]
    pub generated: usize,
}

/// What [`publish`] did.
#[derive(Debug)]
pub struct Published {
    /// What was written.
    pub stats: SiteStats,
    /// Document pages taken from the previous site.
    pub reused: usize,
    /// Every document page's key, for the next rebuild's [`PageReuse::keys`].
    pub keys: std::collections::BTreeMap<String, PageKey>,
    /// The keys of FAQ and listing pages and search blocks (JSON), to store
    /// and hand to the next rebuild as [`PageReuse::state`]. Deterministic:
    /// the same input gives the same bytes, whatever was reused.
    pub state: Vec<u8>,
}

/// What a site is made from: the documents, and the alignment and rules
/// when the earlier stages made them.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The documents.
    pub documents: &'a [Document],
    /// The alignment, if any (no counterpart links without).
    pub alignment: Option<&'a Alignment>,
    /// The rules, if any (none shown without).
    pub rules: Option<&'a RuleSet>,
    /// Per document (in the order of `documents`), a digest the caller
    /// vouches for: two builds giving a document the same digest give it the
    /// same rules (as the digests of what they were made from that kb's rules
    /// stage gives). Page keys then take the digest instead of
    /// hashing every rule; a document without one (or a slice of another
    /// length) has its rules hashed.
    pub rule_digests: Option<&'a [Option<[u8; 32]>]>,
}

/// [`render_site_with`] for a rebuild: every file whose inputs match
/// `reuse`'s keys is hard-linked (or copied) from the previous site instead
/// of being rendered — document pages, FAQ and listing pages, search
/// blocks; the manifests, sitemap and the small pages are always rendered.
/// Every file rendered with the same bytes as its namesake in the previous
/// site is hard-linked to it rather than written (no new inode; checked
/// byte for byte, so it holds for a full build with empty keys too). The
/// result is byte-identical to a build without `reuse`. Templates
/// overridden by [`SiteOptions::templates`] disable the reuse by keys
/// (their content is not part of the keys).
pub fn publish(
    out_dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    opts: &SiteOptions,
    reuse: Option<&PageReuse<'_>>,
) -> Result<Published> {
    let input = Input { documents: docs, alignment, rules, rule_digests: None };
    publish_input(out_dir, &input, opts, reuse)
}

/// [`publish`] from an [`Input`] (which may carry rule digests).
pub fn publish_input(
    out_dir: &Path,
    input: &Input<'_>,
    opts: &SiteOptions,
    reuse: Option<&PageReuse<'_>>,
) -> Result<Published> {
    let link_from = reuse.map(|r| r.site);
    let reuse = reuse.filter(|_| opts.templates.is_none());
    site::render(out_dir, input, opts, reuse, link_from).map(|r| Published {
        stats: r.stats,
        reused: r.reused,
        keys: r.keys,
        state: r.state,
    })
}

/// Pseudo-random text for the tests that compare two implementations:
/// xorshift64 over a pool of characters, the same strings on every run.
#[cfg(test)]
pub(crate) struct RandomText {
    x: u64,
    pool: Vec<char>,
}

#[cfg(test)]
impl RandomText {
    /// A generator over the characters of `pool`, from `seed` (not 0).
    pub(crate) fn new(pool: &str, seed: u64) -> Self {
        RandomText { x: seed, pool: pool.chars().collect() }
    }
    /// The current state, before the next step.
    pub(crate) fn peek(&self) -> u64 {
        self.x
    }
    /// One xorshift step.
    pub(crate) fn step(&mut self) -> u64 {
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        self.x
    }
    /// `len` characters of the pool, one step each.
    pub(crate) fn string(&mut self, len: u64) -> String {
        let n = self.pool.len() as u64;
        let mut s = String::new();
        for _ in 0..len {
            let i = (self.step() % n) as usize;
            s.push(self.pool[i]);
        }
        s
    }
}
