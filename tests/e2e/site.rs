//! The static site `kb build` writes into `out/site/`: pages for every
//! document in both languages, FAQ with JSON-LD, alternates and sitemap,
//! the offline search index, determinism, and no script from a document
//! ever becoming active.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scraper::{Html, Selector};

use crate::{built, kb, records, repo, stderr};

fn site() -> PathBuf {
    built().join("site")
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn html_pages(dir: &Path) -> Vec<(String, String)> {
    files(dir)
        .into_iter()
        .filter(|(k, _)| k.ends_with(".html"))
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect()
}

fn build(corpus: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = kb().args(["build", "--quiet", "--corpus"]).arg(corpus).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "kb build failed: {}", stderr(&o));
    (dir, out)
}

fn documents() -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&read(&built().join("documents.json"))).unwrap();
    v["documents"].as_array().unwrap().clone()
}

/// The page of a document, found through its language's index.
fn doc_page(doc_id: &str, lang: &str) -> PathBuf {
    let index = Html::parse_document(&read(&site().join(lang).join("index.html")));
    let title = documents().into_iter().find(|d| d["id"] == doc_id).unwrap()["title"].as_str().unwrap().to_string();
    let a = index
        .select(&sel(".doc-card h3 a"))
        .find(|a| a.text().collect::<String>() == title)
        .unwrap_or_else(|| panic!("{doc_id} not listed in {lang}/index.html"));
    site().join(lang).join(a.value().attr("href").unwrap())
}

#[test]
fn the_site_has_an_index_faq_and_search_page_per_language_and_a_page_per_document() {
    let s = site();
    for p in ["index.html", "sitemap.xml", "static/site.css", "static/search.js"] {
        assert!(s.join(p).is_file(), "{p} missing");
    }
    for lang in ["zh", "en"] {
        for p in ["index.html", "faq.html", "search.html"] {
            assert!(s.join(lang).join(p).is_file(), "{lang}/{p} missing");
        }
        let parts = search_parts(&s, lang);
        assert!(!parts.is_empty(), "{lang} index has no parts");
        let js = read(&s.join(format!("search/index.{lang}.js")));
        assert!(js.contains("window.KB_SEARCH"), "the .js manifest assigns a global");
    }
    let docs = documents();
    assert_eq!(docs.len(), 5);
    for d in &docs {
        let page = doc_page(d["id"].as_str().unwrap(), d["lang"].as_str().unwrap());
        let html = Html::parse_document(&read(&page));
        let h1: String = html.select(&sel("h1")).next().unwrap().text().collect();
        assert_eq!(h1, d["title"].as_str().unwrap(), "{}", page.display());
    }
}

/// Checks a language's search manifest and returns the part files it names
/// (every one exists and assigns its data to a global).
fn search_parts(site: &Path, lang: &str) -> Vec<PathBuf> {
    let m: serde_json::Value = serde_json::from_str(&read(&site.join(format!("search/index.{lang}.json")))).unwrap();
    assert_eq!(m["lang"], lang);
    assert_eq!(m["version"], 2);
    let chunk = m["chunk"].as_u64().unwrap();
    let mut total = 0;
    let mut parts = Vec::new();
    for (b, block) in m["blocks"].as_array().unwrap().iter().enumerate() {
        let entries = block["entries"].as_u64().unwrap();
        total += entries;
        for s in 0..block["shards"].as_u64().unwrap() {
            parts.push(site.join(format!("search/{lang}/{b}/t{s}.js")));
        }
        for c in 0..entries.div_ceil(chunk) {
            parts.push(site.join(format!("search/{lang}/{b}/e{c}.js")));
        }
    }
    assert_eq!(m["entries"].as_u64().unwrap(), total);
    assert!(total > 0, "{lang} index is empty");
    for p in &parts {
        assert!(read(p).contains("window.KB_SEARCH_PARTS"), "{}", p.display());
    }
    let on_disk = files(&site.join("search").join(lang)).len();
    assert_eq!(on_disk, parts.len(), "{lang}: no stray search files");
    parts
}

#[test]
fn a_large_site_is_paginated_and_its_search_index_split_into_small_files() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let o = kb().args(["gen-corpus", "--docs", "120", "--out"]).arg(&corpus).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_d, out) = build(&corpus);
    let site = out.join("site");
    let recs: Vec<serde_json::Value> =
        read(&out.join("records.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for lang in ["zh", "en"] {
        // The FAQ index links FAQ pages per programme; together they hold every faq record.
        let index = Html::parse_document(&read(&site.join(lang).join("faq.html")));
        assert!(index.select(&sel(".qa")).next().is_none(), "{lang}/faq.html is an index");
        let pages: Vec<String> =
            index.select(&sel(".page-links a")).map(|a| a.value().attr("href").unwrap().to_string()).collect();
        assert!(pages.len() >= 2, "{lang}: FAQ pages {pages:?}");
        let mut questions = 0;
        for href in &pages {
            let path = site.join(lang).join(href);
            let html = Html::parse_document(&read(&path));
            let ld = html.select(&sel(r#"script[type="application/ld+json"]"#)).next().expect("JSON-LD per page");
            let v: serde_json::Value = serde_json::from_str(&ld.text().collect::<String>()).unwrap();
            assert_eq!(v["@type"], "FAQPage");
            assert_eq!(v["mainEntity"].as_array().unwrap().len(), html.select(&sel(".qa")).count(), "{href}");
            questions += html.select(&sel(".qa:not(.qa-generated)")).count();
            let switch = html.select(&sel("#lang-switch")).next().unwrap().value().attr("href").unwrap();
            assert!(path.parent().unwrap().join(switch).is_file(), "{href}: switch to {switch}");
            assert!(read(&path).len() < 2 << 20, "{href} is bounded");
        }
        let faq = recs.iter().filter(|r| r["kind"] == "faq" && r["lang"] == lang).count();
        assert_eq!(questions, faq, "{lang}: every faq record is on a FAQ page");
        // Every document page is reachable from the listing.
        let listed: usize = {
            let index = Html::parse_document(&read(&site.join(lang).join("index.html")));
            let direct = index.select(&sel(".doc-card")).count();
            let paged: usize = index
                .select(&sel(".page-links a"))
                .map(|a| {
                    let p = Html::parse_document(&read(&site.join(lang).join(a.value().attr("href").unwrap())));
                    p.select(&sel(".doc-card")).count()
                })
                .sum();
            direct + paged
        };
        assert_eq!(listed, files(&site.join(lang).join("docs")).len(), "{lang}: every document is listed");
        // The search index is a manifest and parts; a part is found by the script's hash.
        let parts = search_parts(&site, lang);
        assert!(parts.len() > 2, "{lang}: {} parts", parts.len());
    }
    let pages = html_pages(&site);
    let xml = read(&site.join("sitemap.xml"));
    assert_eq!(xml.matches("<url>").count(), pages.len(), "every page in the sitemap");
}

#[test]
fn every_page_has_lang_alternates_x_default_a_language_switch_and_a_skip_link() {
    for (path, text) in html_pages(&site()) {
        let html = Html::parse_document(&text);
        let lang = html.select(&sel("html")).next().unwrap().value().attr("lang").unwrap_or("").to_string();
        assert!(lang == "zh" || lang == "en", "{path}: lang={lang:?}");
        let alts: Vec<&str> = html
            .select(&sel(r#"link[rel="alternate"][hreflang]"#))
            .map(|l| l.value().attr("hreflang").unwrap())
            .collect();
        assert!(alts.contains(&"x-default"), "{path}: no x-default in {alts:?}");
        assert!(alts.contains(&lang.as_str()), "{path}: no alternate for itself");
        assert!(html.select(&sel(r##"a.skip-link[href="#main"]"##)).next().is_some(), "{path}: no skip link");
        assert!(html.select(&sel("main#main")).next().is_some(), "{path}");
        if path != "index.html" {
            assert!(html.select(&sel("#lang-switch")).next().is_some(), "{path}: no language switch");
        }
    }
}

#[test]
fn headings_never_skip_a_level_and_images_have_alt_text() {
    for (path, text) in html_pages(&site()) {
        let html = Html::parse_document(&text);
        let mut prev = 0u8;
        for h in html.select(&sel("main h1, main h2, main h3, main h4, main h5, main h6")) {
            let level = h.value().name()[1..].parse::<u8>().unwrap();
            assert!(level <= prev + 1, "{path}: h{level} after h{prev}: {}", h.text().collect::<String>());
            prev = level;
        }
        assert_eq!(html.select(&sel("main h1")).count(), 1, "{path}: one h1");
        for img in html.select(&sel("img")) {
            let alt = img.value().attr("alt").unwrap_or("");
            assert!(!alt.trim().is_empty(), "{path}: image without alt: {:?}", img.value().attr("src"));
        }
    }
}

#[test]
fn the_language_switch_goes_to_the_aligned_counterpart_or_says_there_is_none() {
    let alignment: Option<serde_json::Value> =
        std::fs::read_to_string(built().join("alignment.json")).ok().map(|s| serde_json::from_str(&s).unwrap());
    let paired: Vec<(String, String)> = alignment
        .as_ref()
        .map(|a| {
            a["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["zh"].as_str().unwrap().to_string(), p["en"].as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    for d in documents() {
        let id = d["id"].as_str().unwrap();
        let lang = d["lang"].as_str().unwrap();
        let page = doc_page(id, lang);
        let html = Html::parse_document(&read(&page));
        let switch = html.select(&sel("#lang-switch")).next().unwrap();
        let href = switch.value().attr("href").unwrap();
        let target = page.parent().unwrap().join(href);
        let counterpart = paired.iter().find_map(|(z, e)| {
            if z == id {
                Some(e)
            } else if e == id {
                Some(z)
            } else {
                None
            }
        });
        match counterpart {
            Some(other) => {
                let other_lang = if lang == "zh" { "en" } else { "zh" };
                assert_eq!(target.canonicalize().unwrap(), doc_page(other, other_lang).canonicalize().unwrap(), "{id}");
                assert!(html.select(&sel("#lang-switch-none")).next().is_none());
            }
            None => {
                assert!(html.select(&sel("#lang-switch-none")).next().is_some(), "{id}: says there is no counterpart");
                assert!(target.ends_with("index.html") && target.is_file(), "{id}: offers the other index");
            }
        }
    }
    if alignment.is_some() {
        assert!(
            paired.iter().any(|(z, e)| z == "zh/blueking-partner-overview" && e == "en/blueking-partner-overview"),
            "the BlueKing overviews are paired by the align stage"
        );
    }
}

/// The element id of a record on its page (`r-` and the id's hash part).
fn anchor_of(record_id: &str) -> String {
    let tail = record_id.rsplit_once('#').map_or(record_id, |(_, t)| t);
    let mut a = String::from("r-");
    for c in tail.chars() {
        if c.is_ascii_alphanumeric() {
            a.push(c.to_ascii_lowercase());
        } else if !a.ends_with('-') {
            a.push('-');
        }
    }
    a
}

/// Element id → `data-cp` of every element of a page's `main` that has one.
fn counterpart_anchors(page: &Path) -> BTreeMap<String, String> {
    let html = Html::parse_document(&read(page));
    html.select(&sel("main [data-cp]"))
        .map(|e| (e.value().attr("id").unwrap().to_string(), e.value().attr("data-cp").unwrap().to_string()))
        .collect()
}

#[test]
fn aligned_sections_and_records_carry_the_counterparts_anchor_for_the_language_switch() {
    let alignment: serde_json::Value = serde_json::from_str(&read(&built().join("alignment.json"))).unwrap();
    let (zh, en) = (doc_page("zh/blueking-partner-overview", "zh"), doc_page("en/blueking-partner-overview", "en"));
    let (zh_cp, en_cp) = (counterpart_anchors(&zh), counterpart_anchors(&en));
    let id = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let sections = alignment["sections"].as_array().unwrap();
    let mut checked = 0;
    for s in sections.iter().filter(|s| s["zh_doc"] == "zh/blueking-partner-overview") {
        let (Some(z), Some(e)) = (id(&s["zh_id"]), id(&s["en_id"])) else { continue };
        assert_eq!(zh_cp.get(&anchor_of(&z)), Some(&anchor_of(&e)), "zh section {z} points at its en section");
        assert_eq!(en_cp.get(&anchor_of(&e)), Some(&anchor_of(&z)), "and back");
        checked += 1;
    }
    assert!(checked >= 4, "the BlueKing overviews have aligned sections ({checked})");

    // Every data-cp on a document page is the record's counterpart in alignment.json.
    let mut counterpart: BTreeMap<String, String> = BTreeMap::new();
    for p in alignment["records"].as_array().unwrap() {
        if let (Some(z), Some(e)) = (id(&p["zh"]), id(&p["en"])) {
            for x in std::iter::once(&p["zh"]).chain(p["zh_all"].as_array().into_iter().flatten()) {
                counterpart.entry(anchor_of(x.as_str().unwrap())).or_insert_with(|| anchor_of(&e));
            }
            for x in std::iter::once(&p["en"]).chain(p["en_all"].as_array().into_iter().flatten()) {
                counterpart.entry(anchor_of(x.as_str().unwrap())).or_insert_with(|| anchor_of(&z));
            }
        }
    }
    let mut pages_with = 0;
    for d in documents() {
        let page = doc_page(d["id"].as_str().unwrap(), d["lang"].as_str().unwrap());
        let cps = counterpart_anchors(&page);
        pages_with += usize::from(!cps.is_empty());
        for (el, cp) in &cps {
            assert_eq!(counterpart.get(el), Some(cp), "{}: {el}", page.display());
        }
    }
    assert!(pages_with >= 3, "{pages_with}");
    assert_eq!(zh_cp.len(), en_cp.len(), "the overviews are aligned record for record");

    // A section with no counterpart (nor a record pairing of its heading) carries none.
    let app = doc_page("zh/tencent-cloud-partner-application", "zh");
    let app_cp = counterpart_anchors(&app);
    let html = Html::parse_document(&read(&app));
    let unaligned: Vec<String> = sections
        .iter()
        .filter(|s| s["zh_doc"] == "zh/tencent-cloud-partner-application" && s["en_id"].is_null())
        .filter_map(|s| id(&s["zh_id"]))
        .filter(|z| !counterpart.contains_key(&anchor_of(z)))
        .collect();
    assert!(!unaligned.is_empty());
    for z in &unaligned {
        let a = anchor_of(z);
        assert!(html.select(&sel(&format!("#{a}"))).next().is_some(), "{a} is on the page");
        assert!(!app_cp.contains_key(&a), "unaligned section {z} carries no counterpart");
    }
    // No counterpart page, no anchors.
    assert!(counterpart_anchors(&doc_page("zh/tencent-cloud-marketplace-provider-faq", "zh")).is_empty());
}

#[test]
fn the_faq_page_shows_every_faq_record_with_escaped_json_ld() {
    let recs = records();
    for lang in ["zh", "en"] {
        let text = read(&site().join(lang).join("faq.html"));
        let html = Html::parse_document(&text);
        let questions: Vec<String> =
            html.select(&sel(".qa:not(.qa-generated) .question")).map(|q| q.text().collect()).collect();
        let faq: Vec<&serde_json::Value> = recs.iter().filter(|r| r["kind"] == "faq" && r["lang"] == lang).collect();
        assert_eq!(questions.len(), faq.len(), "{lang}: {questions:?}");
        for r in &faq {
            let q = r["question"].as_str().unwrap();
            assert!(questions.iter().any(|x| x == q), "{lang}: {q} missing");
        }
        let ld = html.select(&sel(r#"script[type="application/ld+json"]"#)).next().expect("JSON-LD");
        let raw: String = ld.text().collect();
        assert!(!raw.contains('<') && !raw.contains('>') && !raw.contains('&'), "escaped inside <script>");
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["@type"], "FAQPage");
        assert_eq!(v["mainEntity"].as_array().unwrap().len(), html.select(&sel(".qa")).count());
        // Every answer links to its source section, which exists.
        for a in html.select(&sel(".qa .source a")) {
            let href = a.value().attr("href").unwrap();
            let (file, anchor) = href.split_once('#').unwrap();
            let target = site().join(lang).join(file);
            let page = Html::parse_document(&read(&target));
            assert!(page.select(&sel(&format!("#{anchor}"))).next().is_some(), "{href}: no element #{anchor}");
        }
    }
    let zh = read(&site().join("zh/faq.html"));
    assert!(zh.contains("个人能否成为云市场服务商？"));
}

#[test]
fn questions_are_generated_from_the_rules_and_rules_sit_beside_requirements() {
    let Ok(rules) = std::fs::read_to_string(built().join("rules.json")) else {
        // Without the rules stage the pages say so.
        assert!(read(&site().join("zh/index.html")).contains("zh"));
        let page = read(&doc_page("zh/tencent-cloud-marketplace-provider-faq", "zh"));
        assert!(page.contains("尚未提取规则"), "pages say the rules are missing");
        return;
    };
    let rules: serde_json::Value = serde_json::from_str(&rules).unwrap();
    let zh = read(&site().join("zh/faq.html"));
    let capital = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["scope"] == "微信小程序市场" && r["subject"] == "registered_capital");
    if capital {
        assert!(zh.contains("成为微信小程序市场服务商需要多少注册资本？"), "generated question missing");
    }
    let page = Html::parse_document(&read(&doc_page("zh/tencent-cloud-marketplace-provider-faq", "zh")));
    let shown = page.select(&sel(r#".checklist .rule[data-subject="registered_capital"]"#)).count();
    assert!(shown >= 1, "the capital rule is shown beside its requirement");
}

#[test]
fn tables_render_with_spanned_cells_marked() {
    let page = Html::parse_document(&read(&doc_page("zh/blueking-partner-overview", "zh")));
    let tables: Vec<_> = page.select(&sel("table")).collect();
    assert!(tables.len() >= 3, "three tables in the BlueKing overview, got {}", tables.len());
    assert!(page.select(&sel("td.spanned")).next().is_some(), "rowspan-resolved cells are marked");
    let text: String = page.select(&sel("table")).flat_map(|t| t.text()).collect();
    assert!(text.contains("企业版技术合作伙伴(试用)"));
}

#[test]
fn sitemap_lists_every_page_with_alternates() {
    let xml = read(&site().join("sitemap.xml"));
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains(r#"xmlns:xhtml="http://www.w3.org/1999/xhtml""#));
    let pages = html_pages(&site());
    assert_eq!(xml.matches("<url>").count(), pages.len());
    for (p, _) in &pages {
        assert!(xml.contains(&format!("{p}</loc>")), "{p} not in sitemap");
    }
    assert!(xml.contains(r#"hreflang="x-default""#));
}

#[test]
fn rebuilding_gives_byte_identical_site() {
    let (_d, out) = build(&crate::corpus());
    let a = files(&site());
    let b = files(&out.join("site"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between two builds");
    }
}

/// Lower-cased, whitespace-free view of a URL as a browser reads its scheme.
fn scheme_of(url: &str) -> String {
    url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect::<String>().to_ascii_lowercase()
}

#[test]
fn scripts_handlers_and_script_urls_from_documents_never_become_active() {
    let corpus = repo().join("tests/e2e/fixtures/site-xss");
    let (_d, out) = build(&corpus);
    let pages = html_pages(&out.join("site"));
    assert!(pages.len() >= 9, "pages for both fixture documents: {}", pages.len());
    let mut seen_text = String::new();
    for (path, text) in &pages {
        let html = Html::parse_document(text);
        for el in html.select(&sel("*")) {
            let v = el.value();
            let name = v.name();
            assert!(
                !matches!(name, "iframe" | "object" | "embed" | "svg" | "frame" | "base"),
                "{path}: <{name}> survived"
            );
            if name == "script" {
                let ok_src = v.attr("src").is_some_and(|s| s.ends_with("static/search.js"));
                let ok_ld = v.attr("type") == Some("application/ld+json")
                    && serde_json::from_str::<serde_json::Value>(&el.text().collect::<String>()).is_ok();
                assert!(ok_src || ok_ld, "{path}: a document's <script> survived: {}", el.html());
            }
            for (attr, value) in v.attrs() {
                assert!(!attr.to_ascii_lowercase().starts_with("on"), "{path}: {attr}= on <{name}>");
                if matches!(attr, "href" | "src" | "action" | "formaction" | "xlink:href" | "data" | "poster") {
                    let s = scheme_of(value);
                    for bad in ["javascript:", "vbscript:", "data:"] {
                        assert!(!s.starts_with(bad), "{path}: {attr}={value:?} on <{name}>");
                    }
                }
            }
        }
        seen_text.push_str(&html.root_element().text().collect::<String>());
    }
    // The text is shown, escaped, not dropped: readers see what the source says.
    assert!(seen_text.contains("注册资本大于100万"), "fixture content is rendered");
    let raw: String = pages.iter().map(|(_, t)| t.as_str()).collect();
    assert!(raw.contains("安全链接"), "the safe link text is kept");
    assert!(raw.contains(r#"href="https://example.invalid/ok""#), "safe links survive sanitising");
}

#[test]
fn a_fixture_document_page_renders_as_in_the_snapshot() {
    let corpus = repo().join("tests/e2e/fixtures/site-xss");
    let (_d, out) = build(&corpus);
    let site = out.join("site");
    let index = Html::parse_document(&read(&site.join("en/index.html")));
    let href = index.select(&sel(".doc-card h3 a")).next().unwrap().value().attr("href").unwrap().to_string();
    let page = Html::parse_document(&read(&site.join("en").join(&href)));
    let main = page.select(&sel("main")).next().unwrap().html();
    insta::assert_snapshot!("xss_fixture_en_document_main", main);
}

/// Sends one raw HTTP/1.0 request and returns (status line, headers, body).
fn http_get(port: u16, target: &str) -> (String, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(s, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (status.to_string(), headers.to_ascii_lowercase(), raw[split + 4..].to_vec())
}

#[test]
fn kb_serve_serves_the_site_with_content_types_and_nothing_outside_it() {
    use std::io::BufRead;
    let mut child =
        kb().args(["serve", "--port", "0", "--out"]).arg(built()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let result = std::panic::catch_unwind(|| {
        let (status, headers, body) = http_get(port, "/zh/index.html");
        assert!(status.contains("200"), "{status}");
        assert!(headers.contains("content-type: text/html; charset=utf-8"), "{headers}");
        assert!(headers.contains("x-content-type-options: nosniff"));
        assert!(headers.contains("content-security-policy:"));
        assert_eq!(body, std::fs::read(site().join("zh/index.html")).unwrap());
        for (path, ty) in [
            ("/static/search.js", "text/javascript"),
            ("/static/site.css", "text/css"),
            ("/search/index.zh.json", "application/json"),
            ("/sitemap.xml", "application/xml"),
        ] {
            let (status, headers, _) = http_get(port, path);
            assert!(status.contains("200") && headers.contains(ty), "{path}: {status} {headers}");
        }
        let (status, _, body) = http_get(port, "/");
        assert!(status.contains("200") && body == std::fs::read(site().join("index.html")).unwrap());
        let (status, headers, _) = http_get(port, "/zh");
        assert!(status.contains("301") && headers.contains("location: /zh/"), "{status} {headers}");
        // records.jsonl sits beside site/: reachable only by leaving the site.
        for bad in ["/../records.jsonl", "/%2e%2e/records.jsonl", "/zh/..%2f..%2frecords.jsonl", "/nope.html"] {
            let (status, _, body) = http_get(port, bad);
            assert!(status.contains("404"), "{bad}: {status}");
            assert!(!String::from_utf8_lossy(&body).contains("\"kind\""), "{bad} leaked records");
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn kb_serve_without_a_build_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = kb().args(["serve", "--port", "0", "--out"]).arg(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("kb build"), "{err}");
}
