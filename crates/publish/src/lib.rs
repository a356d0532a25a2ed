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
//!   schema.org `FAQPage` JSON-LD;
//! * `<lang>/search.html` and `search/index.<lang>.json` (+ `.js`, the same
//!   data assigned to a global so it loads from `file://`) – offline search
//!   whose query splitting ([`tokenize`]) is the index's, in Rust and in the
//!   shipped `static/search.js`;
//! * `sitemap.xml` with `xhtml:link` alternates; `static/` (CSS, script).
//!
//! Every page carries a language switcher to its aligned counterpart (or says
//! there is none), `<link rel="alternate" hreflang>` tags including
//! `x-default`, and `lang` attributes. Everything taken from the documents is
//! escaped by minijinja's autoescape; raw HTML is sanitised with ammonia and
//! every URL put in `href`/`src` passes [`sanitize::safe_href`]. The output is
//! deterministic: the same input gives the same bytes.
//!
//! Templates are embedded in the binary ([`templates::EMBEDDED`]); a folder
//! given in [`SiteOptions::templates`] overrides them file by file.
//!
//! ```no_run
//! let stats = kb_publish::render_site(std::path::Path::new("out/site"), &[], None, None).unwrap();
//! println!("{}", stats.summary());
//! ```

pub mod blocks;
pub mod faq;
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
}

/// The default base URL: where `kb serve` serves the site by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8000/";

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions { base_url: DEFAULT_BASE_URL.to_string(), templates: None }
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
    site::render(out_dir, docs, alignment, rules, opts, None).map(|(stats, _)| stats)
}

/// What an incremental site build may reuse: the previous build's `site/`
/// folder and the [`PageKey`]s it rendered its document pages with.
#[derive(Debug, Clone)]
pub struct PageReuse<'a> {
    /// The previous build's site folder.
    pub site: &'a Path,
    /// Document id → the key its page was rendered with.
    pub keys: &'a std::collections::BTreeMap<String, PageKey>,
}

/// The fingerprint of everything one document page is rendered from (the
/// document's bytes and path, its rules, its counterpart, its address, the
/// base URL, this crate's version), with the page's path and what it
/// counted. Equal keys mean byte-identical pages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageKey {
    /// blake3 (hex) of the page's inputs.
    pub key: String,
    /// The page, relative to the site folder.
    pub href: String,
    /// Rules shown on the page (for [`SiteStats::rules_shown`]).
    pub rules_shown: usize,
}

/// [`render_site_with`] for a rebuild: every document page whose
/// [`PageKey`] matches `reuse`'s is hard-linked (or copied) from the
/// previous site instead of being rendered; the pages that depend on every
/// document (indexes, FAQ, search data, sitemap) are always rendered.
/// Returns the stats, the number of pages reused, and every page's key for
/// the next rebuild. Templates overridden by [`SiteOptions::templates`]
/// disable reuse (their content is not part of the key).
pub fn render_site_incremental(
    out_dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    opts: &SiteOptions,
    reuse: Option<&PageReuse<'_>>,
) -> Result<(SiteStats, usize, std::collections::BTreeMap<String, PageKey>)> {
    let reuse = reuse.filter(|_| opts.templates.is_none());
    site::render(out_dir, docs, alignment, rules, opts, reuse).map(|(stats, (reused, keys))| (stats, reused, keys))
}
