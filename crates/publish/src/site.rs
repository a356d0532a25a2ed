//! Plans the site's pages (paths, counterparts, alternates), renders them
//! through the templates and writes every file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::{Rule, RuleSet};
use kb_model::{Document, Lang};
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::blocks::{anchor, Block, BlockBuilder};
use crate::faq::{self, FaqEntry, FaqGroup};
use crate::sanitize::json_for_script;
use crate::search::{self, Entry, SearchIndex};
use crate::templates::{Templates, STATIC_FILES};
use crate::text;
use crate::{Error, Result, SiteOptions, SiteStats};

const LANGS: [Lang; 2] = [Lang::Zh, Lang::En];

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
    t: BTreeMap<&'static str, &'static str>,
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
    faq: Vec<FaqLink>,
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

struct DocPlan<'a> {
    doc: &'a Document,
    href: String,
    counterpart: Option<(&'a Document, f64)>,
}

fn rel_root(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// A URL-safe file name for a document: its id without the language folder,
/// lower-cased, other characters as `-`; a hash when nothing is left or the
/// name is taken in the document's language folder.
fn slug(doc: &Document, taken: &mut std::collections::HashSet<String>) -> String {
    let id = doc.id.as_str();
    let rest = id.strip_prefix(&format!("{}/", doc.lang.code())).unwrap_or(id);
    let mut s = String::new();
    for c in rest.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let mut s = s.trim_matches('-').to_string();
    if s.is_empty() {
        s = format!("doc-{}", kb_model::short_hash(&[id], 8));
    }
    if !taken.insert(format!("{}/{s}", doc.lang.code())) {
        s = format!("{s}-{}", kb_model::short_hash(&[id], 6));
        taken.insert(format!("{}/{s}", doc.lang.code()));
    }
    s
}

struct Writer<'a> {
    out: &'a Path,
    files: usize,
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

impl Writer<'_> {
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.out.join(rel);
        create_parent(&path)?;
        std::fs::write(&path, bytes).map_err(|source| Error::Io { what: "writing", path, source })?;
        self.files += 1;
        Ok(())
    }

    /// Writes `search/index.<lang>.json` and `.js`, streamed in one pass.
    fn write_search_index(&mut self, ix: &SearchIndex) -> Result<()> {
        let json_path = self.out.join(format!("search/index.{}.json", ix.lang));
        let js_path = self.out.join(format!("search/index.{}.js", ix.lang));
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { what, path, source }
        };
        create_parent(&json_path)?;
        let create = |p: &Path| std::fs::File::create(p).map(std::io::BufWriter::new).map_err(io("writing", p));
        let (mut json, mut js) = (create(&json_path)?, create(&js_path)?);
        search::write_json_and_script(ix, &mut json, &mut js).map_err(io("writing", &js_path))?;
        json.into_inner().map_err(|e| e.into_error()).map_err(io("writing", &json_path))?;
        js.into_inner().map_err(|e| e.into_error()).map_err(io("writing", &js_path))?;
        self.files += 2;
        Ok(())
    }

    /// Puts the previous build's `rel` (from `prev_site`) at `rel` by a hard
    /// link, or a copy where linking fails. False when there is no such file.
    fn reuse(&mut self, prev_site: &Path, rel: &str) -> Result<bool> {
        let from = prev_site.join(rel);
        if !from.is_file() {
            return Ok(false);
        }
        let path = self.out.join(rel);
        create_parent(&path)?;
        if std::fs::hard_link(&from, &path).is_err() {
            std::fs::copy(&from, &path).map_err(|source| Error::Io {
                what: "copying the previous build's page to",
                path: path.clone(),
                source,
            })?;
        }
        self.files += 1;
        Ok(true)
    }
}

struct Renderer {
    env: minijinja::Environment<'static>,
}

impl Renderer {
    fn render<T: Serialize>(&self, template: &str, page: &str, ctx: &T) -> Result<String> {
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
        t.render(Value::from(Serde(ctx))).map_err(err)
    }
}

/// How many document pages were reused, and every page's key.
pub(crate) type Reused = (usize, BTreeMap<String, crate::PageKey>);

pub(crate) fn render(
    out_dir: &Path,
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    opts: &SiteOptions,
    reuse: Option<&crate::PageReuse<'_>>,
) -> Result<(SiteStats, Reused)> {
    let mut keys: BTreeMap<String, crate::PageKey> = BTreeMap::new();
    let mut reused = 0usize;
    let templates = Templates::new(opts.templates.as_deref());
    let renderer = Renderer { env: templates.environment() };
    let mut w = Writer { out: out_dir, files: 0 };
    let mut stats = SiteStats::default();
    let base = if opts.base_url.ends_with('/') { opts.base_url.clone() } else { format!("{}/", opts.base_url) };
    let abs = |p: &str| format!("{base}{p}");

    // Documents in a fixed order, with their pages and counterparts.
    let mut sorted: Vec<&Document> = docs.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
    let by_id: HashMap<&str, &Document> = sorted.iter().map(|d| (d.id.as_str(), *d)).collect();
    let mut taken = std::collections::HashSet::new();
    let mut hrefs: HashMap<&str, String> = HashMap::new();
    for d in &sorted {
        let s = slug(d, &mut taken);
        hrefs.insert(d.id.as_str(), format!("{}/docs/{s}.html", d.lang.code()));
    }
    // Document id → its first pairing (what `Alignment::counterpart_doc`
    // answers), looked up once per document instead of scanned.
    let mut doc_pairs: HashMap<&str, &kb_model::alignment::DocumentPair> = HashMap::new();
    for p in alignment.map(|a| a.documents.as_slice()).unwrap_or(&[]) {
        doc_pairs.entry(p.zh.as_str()).or_insert(p);
        doc_pairs.entry(p.en.as_str()).or_insert(p);
    }
    let plans: Vec<DocPlan> = sorted
        .iter()
        .map(|d| {
            let counterpart = doc_pairs.get(d.id.as_str()).copied().and_then(|p| {
                let other = if p.zh == d.id { &p.en } else { &p.zh };
                by_id.get(other.as_str()).filter(|o| o.lang != d.lang).map(|o| (*o, p.confidence))
            });
            DocPlan { doc: d, href: hrefs[d.id.as_str()].clone(), counterpart }
        })
        .collect();

    // Rules by source record.
    let mut rules_by_record: HashMap<&str, Vec<&Rule>> = HashMap::new();
    if let Some(rs) = rules {
        for r in &rs.rules {
            rules_by_record.entry(r.source.record.as_str()).or_default().push(r);
        }
    }
    let mut rules_by_doc: HashMap<&str, Vec<&Rule>> = HashMap::new();
    for r in rules.map(|rs| rs.rules.as_slice()).unwrap_or(&[]) {
        rules_by_doc.entry(r.source.doc.as_str()).or_default().push(r);
    }

    let lang_pages = |lang: Lang, name: &str| format!("{}/{name}", lang.code());
    let common = |lang: Lang, path: &str, title: String, alternates: Vec<Alternate>, switch: Switch| Common {
        lang: lang.code(),
        lang_name: text::lang_name(lang),
        t: text::ui(lang),
        root: rel_root(path),
        path: path.to_string(),
        title,
        canonical: abs(path),
        alternates,
        switch,
        home_href: lang_pages(lang, "index.html"),
        faq_href: lang_pages(lang, "faq.html"),
        search_href: lang_pages(lang, "search.html"),
        search_index: format!("search/index.{}.js", lang.code()),
    };
    // Pages that exist in both languages under the same name.
    let paired = |name: &str| {
        vec![
            Alternate { hreflang: "zh", href: abs(&lang_pages(Lang::Zh, name)) },
            Alternate { hreflang: "en", href: abs(&lang_pages(Lang::En, name)) },
            Alternate { hreflang: "x-default", href: abs("index.html") },
        ]
    };
    let mut sitemap: Vec<(String, Vec<Alternate>)> = Vec::new();

    // FAQ entries and search entries per document.
    let mut faq_groups: BTreeMap<Lang, Vec<FaqGroup>> = BTreeMap::new();
    let mut indexes: BTreeMap<Lang, SearchIndex> = LANGS.iter().map(|l| (*l, SearchIndex::new(l.code()))).collect();
    let faq_page = |lang: Lang| lang_pages(lang, "faq.html");
    for p in &plans {
        let d = p.doc;
        let doc_rules: Vec<&Rule> = rules_by_doc.get(d.id.as_str()).cloned().unwrap_or_default();
        let entries = faq::record_entries(d, &p.href);
        let generated = faq::generated_entries(d, &doc_rules, &p.href);
        stats.faq_entries += entries.len();
        stats.generated_questions += generated.len();
        if !entries.is_empty() || !generated.is_empty() {
            faq_groups.entry(d.lang).or_default().push(FaqGroup {
                doc: d.id.clone(),
                title: d.title.clone(),
                href: p.href.clone(),
                anchor: format!("doc-{}", kb_model::short_hash(&[&d.id], 8)),
                entries,
                generated,
            });
        }
        let ix = indexes.get_mut(&d.lang).expect("both languages");
        let mut section = d.title.clone();
        for r in &d.records {
            use kb_model::RecordKind as K;
            if matches!(r.kind, K::Heading | K::Faq) || (r.kind == K::Step && r.level.is_some()) {
                section = r.question.clone().unwrap_or_else(|| r.text.lines().next().unwrap_or("").to_string());
            }
            let text = match r.kind {
                K::FrontMatter | K::LinkDefinition | K::Separator | K::Image | K::Html | K::TableHeader => continue,
                K::TableRow => r.cells.iter().map(|c| format!("{} {}", c.header, c.text)).collect::<Vec<_>>().join(" "),
                K::Faq => format!("{} {}", r.question.as_deref().unwrap_or(""), r.answer.as_deref().unwrap_or(&r.text)),
                _ => r.text.clone(),
            };
            let shown = match r.kind {
                K::TableRow => r.cells.iter().map(|c| c.text.replace('\n', " ")).collect::<Vec<_>>().join(" | "),
                K::Faq => r.answer.clone().filter(|a| !a.trim().is_empty()).unwrap_or_else(|| r.text.clone()),
                _ => r.text.clone(),
            };
            ix.add(
                Entry {
                    url: format!("{}#{}", p.href, anchor(&r.id)),
                    title: section.clone(),
                    doc: d.title.clone(),
                    kind: r.kind.as_str().to_string(),
                    snippet: search::snippet(&shown),
                },
                &text,
            );
        }
    }
    for (lang, groups) in &faq_groups {
        let ix = indexes.get_mut(lang).expect("both languages");
        for g in groups {
            for e in g.generated.iter() {
                ix.add(
                    Entry {
                        url: format!("{}#{}", faq_page(*lang), e.anchor),
                        title: e.question.clone(),
                        doc: g.title.clone(),
                        kind: "generated".into(),
                        snippet: search::snippet(&e.answer_text),
                    },
                    &format!("{} {}", e.question, e.answer_text),
                );
            }
        }
    }

    // Document pages.
    for p in &plans {
        let d = p.doc;
        let (alternates, switch) = match p.counterpart {
            Some((o, _)) => {
                let (zh, en) = if d.lang == Lang::Zh {
                    (&p.href, &hrefs[o.id.as_str()])
                } else {
                    (&hrefs[o.id.as_str()], &p.href)
                };
                (
                    vec![
                        Alternate { hreflang: "zh", href: abs(zh) },
                        Alternate { hreflang: "en", href: abs(en) },
                        Alternate { hreflang: "x-default", href: abs(en) },
                    ],
                    Switch {
                        lang: o.lang.code(),
                        label: text::lang_name(o.lang),
                        href: Some(hrefs[o.id.as_str()].clone()),
                        index_href: lang_pages(o.lang, "index.html"),
                    },
                )
            }
            None => (
                vec![
                    Alternate { hreflang: d.lang.code(), href: abs(&p.href) },
                    Alternate { hreflang: "x-default", href: abs(&p.href) },
                ],
                Switch {
                    lang: d.lang.other().code(),
                    label: text::lang_name(d.lang.other()),
                    href: None,
                    index_href: lang_pages(d.lang.other(), "index.html"),
                },
            ),
        };
        let has_faq = faq_groups.get(&d.lang).is_some_and(|gs| gs.iter().any(|g| g.doc == d.id));
        let key = page_key(
            d,
            &p.href,
            p.counterpart.map(|(o, c)| (o, hrefs[o.id.as_str()].as_str(), c)),
            &rules_by_record,
            has_faq,
            rules.is_some(),
            &base,
        );
        if let Some(prev) = reuse.and_then(|r| r.keys.get(&d.id).map(|k| (r.site, k))) {
            let (site, k) = prev;
            if k.key == key && k.href == p.href && w.reuse(site, &p.href)? {
                stats.rules_shown += k.rules_shown;
                stats.pages += 1;
                stats.documents += 1;
                reused += 1;
                sitemap.push((p.href.clone(), alternates));
                keys.insert(d.id.clone(), k.clone());
                continue;
            }
        }
        let mut bb = BlockBuilder::new(d.lang, &rules_by_record);
        let blocks = bb.build(d);
        stats.rules_shown += bb.rules_shown;
        let toc: Vec<TocEntry> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { anchor, level: 2, text, .. } => {
                    Some(TocEntry { anchor: anchor.clone(), text: text.clone() })
                }
                _ => None,
            })
            .collect();
        let ctx = DocCtx {
            common: common(d.lang, &p.href, d.title.clone(), alternates.clone(), switch),
            doc_title: d.title.clone(),
            title_anchor: crate::blocks::title_record(d).map(|i| anchor(&d.records[i].id)),
            source_path: d.path.clone(),
            counterpart: p.counterpart.map(|(o, c)| CounterpartView {
                title: o.title.clone(),
                href: hrefs[o.id.as_str()].clone(),
                lang: o.lang.code(),
                confidence: (c.clamp(0.0, 1.0) * 100.0).round() as u32,
            }),
            blocks,
            toc,
            faq_href: has_faq.then(|| format!("{}#doc-{}", faq_page(d.lang), kb_model::short_hash(&[&d.id], 8))),
            rules_available: rules.is_some(),
        };
        let html = renderer.render("document.html", &p.href, &ctx)?;
        w.write(&p.href, html.as_bytes())?;
        keys.insert(d.id.clone(), crate::PageKey { key, href: p.href.clone(), rules_shown: bb.rules_shown });
        stats.pages += 1;
        stats.documents += 1;
        sitemap.push((p.href.clone(), alternates));
    }

    // Per language: index, FAQ, search.
    for lang in LANGS {
        let other = lang.other();
        let switch = |name: &str| Switch {
            lang: other.code(),
            label: text::lang_name(other),
            href: Some(lang_pages(other, name)),
            index_href: lang_pages(other, "index.html"),
        };
        // Taken, not cloned: nothing reads a language's groups after its pages.
        let groups = faq_groups.remove(&lang).unwrap_or_default();
        let mut group_of: HashMap<&str, &FaqGroup> = HashMap::new();
        for g in &groups {
            group_of.entry(g.doc.as_str()).or_insert(g);
        }
        let summaries: Vec<DocSummary> = plans
            .iter()
            .filter(|p| p.doc.lang == lang)
            .map(|p| {
                let g = group_of.get(p.doc.id.as_str()).copied();
                DocSummary {
                    id: p.doc.id.clone(),
                    title: p.doc.title.clone(),
                    path: p.doc.path.clone(),
                    href: p.href.clone(),
                    records: p.doc.records.len(),
                    counterpart: p.counterpart.map(|(o, c)| CounterpartView {
                        title: o.title.clone(),
                        href: hrefs[o.id.as_str()].clone(),
                        lang: o.lang.code(),
                        confidence: (c.clamp(0.0, 1.0) * 100.0).round() as u32,
                    }),
                    faq: g
                        .map(|g| {
                            g.entries
                                .iter()
                                .chain(g.generated.iter())
                                .map(|e| FaqLink {
                                    question: e.question.clone(),
                                    href: format!("{}#{}", faq_page(lang), e.anchor),
                                    generated: e.generated,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    faq_href: g.map(|g| format!("{}#{}", faq_page(lang), g.anchor)),
                }
            })
            .collect();

        let path = lang_pages(lang, "index.html");
        let ctx = IndexCtx {
            common: common(
                lang,
                &path,
                text::ui(lang)["site_name"].to_string(),
                paired("index.html"),
                switch("index.html"),
            ),
            documents: summaries,
            rules_available: rules.is_some(),
            alignment_available: alignment.is_some(),
        };
        w.write(&path, renderer.render("index.html", &path, &ctx)?.as_bytes())?;
        stats.pages += 1;
        sitemap.push((path, paired("index.html")));

        let path = faq_page(lang);
        let all: Vec<&FaqEntry> = groups.iter().flat_map(|g| g.entries.iter().chain(g.generated.iter())).collect();
        let jsonld = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "FAQPage",
            "inLanguage": lang.code(),
            "mainEntity": all.iter().map(|e| serde_json::json!({
                "@type": "Question",
                "name": e.question,
                "url": abs(&format!("{path}#{}", e.anchor)),
                "acceptedAnswer": { "@type": "Answer", "text": e.answer_text },
            })).collect::<Vec<_>>(),
        });
        let ctx = FaqCtx {
            common: common(lang, &path, text::ui(lang)["faq"].to_string(), paired("faq.html"), switch("faq.html")),
            groups,
            jsonld: Value::from_safe_string(json_for_script(&jsonld)),
            rules_available: rules.is_some(),
        };
        w.write(&path, renderer.render("faq.html", &path, &ctx)?.as_bytes())?;
        stats.pages += 1;
        sitemap.push((path, paired("faq.html")));

        let path = lang_pages(lang, "search.html");
        let ctx = SimpleCtx {
            common: common(
                lang,
                &path,
                text::ui(lang)["search"].to_string(),
                paired("search.html"),
                switch("search.html"),
            ),
        };
        w.write(&path, renderer.render("search.html", &path, &ctx)?.as_bytes())?;
        stats.pages += 1;
        sitemap.push((path, paired("search.html")));

        let ix = &indexes[&lang];
        stats.search_entries += ix.entries.len();
        w.write_search_index(ix)?;
    }

    // The language chooser.
    let root_alts = vec![
        Alternate { hreflang: "zh", href: abs("zh/index.html") },
        Alternate { hreflang: "en", href: abs("en/index.html") },
        Alternate { hreflang: "x-default", href: abs("index.html") },
    ];
    let ctx = RootCtx {
        canonical: abs("index.html"),
        alternates: root_alts.clone(),
        zh: text::ui(Lang::Zh),
        en: text::ui(Lang::En),
        zh_count: sorted.iter().filter(|d| d.lang == Lang::Zh).count(),
        en_count: sorted.iter().filter(|d| d.lang == Lang::En).count(),
    };
    w.write("index.html", renderer.render("root.html", "index.html", &ctx)?.as_bytes())?;
    stats.pages += 1;
    sitemap.push(("index.html".into(), root_alts));

    // sitemap.xml, sorted by URL.
    sitemap.sort_by(|a, b| a.0.cmp(&b.0));
    let urls: Vec<SitemapUrl> = sitemap
        .iter()
        .map(|(p, alts)| SitemapUrl {
            loc: abs(p),
            alternates: alts.iter().map(|a| Alternate { hreflang: a.hreflang, href: a.href.clone() }).collect(),
        })
        .collect();
    let xml = renderer.render("sitemap.xml", "sitemap.xml", &SitemapCtx { urls })?;
    w.write("sitemap.xml", xml.as_bytes())?;

    for name in STATIC_FILES {
        let body = templates.get(name)?.expect("static files are embedded");
        w.write(name, body.as_bytes())?;
    }
    stats.files = w.files;
    Ok((stats, (reused, keys)))
}

/// The fingerprint of everything a document page is rendered from. The
/// document enters by its content hash, path, language and title (its
/// records are what parsing those bytes gives); its rules in full; its
/// counterpart by id, title, address and confidence.
fn page_key(
    d: &Document,
    href: &str,
    counterpart: Option<(&Document, &str, f64)>,
    rules_by_record: &HashMap<&str, Vec<&Rule>>,
    has_faq: bool,
    rules_available: bool,
    base: &str,
) -> String {
    let mut h = blake3::Hasher::new();
    let mut put = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(concat!("kb-publish page ", env!("CARGO_PKG_VERSION")));
    put(base);
    put(&d.id);
    put(&d.path);
    put(d.lang.code());
    put(&d.title);
    put(&d.hash);
    put(href);
    put(if has_faq { "faq" } else { "-" });
    put(if rules_available { "rules" } else { "-" });
    match counterpart {
        Some((o, o_href, c)) => {
            put(&o.id);
            put(&o.title);
            put(o.lang.code());
            put(o_href);
            put(&c.to_bits().to_string());
        }
        None => put("no counterpart"),
    }
    for r in &d.records {
        if let Some(rs) = rules_by_record.get(r.id.as_str()) {
            put(&r.id);
            for rule in rs {
                put(&serde_json::to_string(rule).expect("rules serialise"));
            }
        }
    }
    h.finalize().to_hex().to_string()
}

#[derive(Serialize)]
struct DocCtx {
    #[serde(flatten)]
    common: Common,
    doc_title: String,
    title_anchor: Option<String>,
    source_path: String,
    counterpart: Option<CounterpartView>,
    blocks: Vec<Block>,
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
}

#[derive(Serialize)]
struct FaqCtx {
    #[serde(flatten)]
    common: Common,
    groups: Vec<FaqGroup>,
    /// Already escaped for a `<script>` element ([`json_for_script`]).
    jsonld: Value,
    rules_available: bool,
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
    zh: BTreeMap<&'static str, &'static str>,
    en: BTreeMap<&'static str, &'static str>,
    zh_count: usize,
    en_count: usize,
}

#[derive(Serialize)]
struct SitemapUrl {
    loc: String,
    alternates: Vec<Alternate>,
}

#[derive(Serialize)]
struct SitemapCtx {
    urls: Vec<SitemapUrl>,
}
