//! Rendering hand-made documents, alignment and rules: page snapshots, the
//! language switch, generated questions, escaping, determinism, and the
//! JavaScript tokeniser agreeing with the Rust one.

use std::collections::BTreeMap;
use std::path::Path;

use kb_model::alignment::{Alignment, DocumentPair, RecordPair};
use kb_model::rules::{BilingualText, Op, Rule, RuleSet, RuleSource};
use kb_model::{Cell, Document, Image, Lang, Link, NoteType, Record, RecordKind};
use scraper::{Html, Selector};

fn rec(doc: &str, lang: Lang, n: u32, kind: RecordKind, path: &[&str], text: &str) -> Record {
    let mut r = Record::new(doc, format!("{doc}.md"), lang, kind, text, [n, n]);
    r.id = format!("{doc}#{:06x}", n * 4099);
    r.heading_path = path.iter().map(|s| s.to_string()).collect();
    r
}

fn document(id: &str, lang: Lang, title: &str, records: Vec<Record>) -> Document {
    let line_count = records.len() as u32;
    let mut d = Document::new(id, format!("{id}.md"), lang, title, records);
    d.hash = "0".into();
    d.line_count = line_count;
    d
}

fn zh_doc() -> Document {
    let d = "zh/market";
    let z = Lang::Zh;
    let mut h = rec(d, z, 1, RecordKind::Heading, &[], "云市场服务商");
    h.level = Some(1);
    let mut h2 = rec(d, z, 2, RecordKind::Heading, &["云市场服务商"], "微信小程序市场");
    h2.level = Some(4); // a skipped level in the source becomes h2 on the page
    let mut r1 =
        rec(d, z, 3, RecordKind::Requirement, &["云市场服务商", "微信小程序市场"], "1、服务商注册资本大于100万；");
    r1.ordinal = Some("1、".into());
    r1.number = Some(1);
    let mut r2 =
        rec(d, z, 4, RecordKind::Requirement, &["云市场服务商", "微信小程序市场"], "2、接受《云市场服务商管理规范》。");
    r2.ordinal = Some("2、".into());
    r2.number = Some(2);
    r2.links = vec![Link {
        text: "云市场服务商管理规范".into(),
        url: "https://cloud.tencent.com/document/product/306/11341".into(),
    }];
    let mut s1 = rec(d, z, 5, RecordKind::Step, &["云市场服务商", "微信小程序市场"], "步骤一 注册账号");
    s1.ordinal = Some("步骤一".into());
    s1.number = Some(1);
    let mut note =
        rec(d, z, 6, RecordKind::Note, &["云市场服务商", "微信小程序市场"], "请确保公司名称与营业执照一致 <b>。");
    note.note_type = Some(NoteType::Warning);
    let mut img = rec(d, z, 7, RecordKind::Image, &["云市场服务商", "微信小程序市场"], "");
    img.images = vec![Image { alt: "".into(), src: "https://qcloudimg.tencent-cloud.cn/raw/a.png".into() }];
    let mut th = rec(d, z, 8, RecordKind::TableHeader, &["云市场服务商", "微信小程序市场"], "| 类别 | 类别 | 服务费 |");
    th.table = Some(1);
    let mut row1 = rec(d, z, 9, RecordKind::TableRow, &["云市场服务商", "微信小程序市场"], "公共权益 | 培训 | 有");
    row1.table = Some(1);
    row1.cells = vec![
        Cell { header: "类别".into(), text: "公共权益".into(), spanned: false },
        Cell { header: "类别".into(), text: "培训".into(), spanned: false },
        Cell { header: "服务费".into(), text: "有".into(), spanned: false },
    ];
    let mut row2 = row1.clone();
    row2.id = format!("{d}#row2");
    row2.cells[0].spanned = true;
    row2.cells[1].text = "咨询\n服务".into();
    let mut faq =
        rec(d, z, 10, RecordKind::Faq, &["云市场服务商"], "个人能否成为云市场服务商？\n抱歉，必须是企业认证的用户。");
    faq.level = Some(3);
    faq.question = Some("个人能否成为云市场服务商？".into());
    faq.answer = Some("抱歉，必须是企业认证的用户。".into());
    document(d, z, "云市场服务商", vec![h, h2, r1, r2, s1, note, img, th, row1, row2, faq])
}

fn en_doc() -> Document {
    let d = "en/market";
    let e = Lang::En;
    let mut h = rec(d, e, 1, RecordKind::Heading, &[], "Marketplace Providers");
    h.level = Some(1);
    let mut r1 = rec(
        d,
        e,
        2,
        RecordKind::Requirement,
        &["Marketplace Providers"],
        "1. Registered capital of more than CNY 1 million;",
    );
    r1.ordinal = Some("1.".into());
    r1.number = Some(1);
    let mut faq = rec(d, e, 3, RecordKind::Faq, &["Marketplace Providers"], "Can individuals apply?\nNo.");
    faq.level = Some(2);
    faq.question = Some("Can individuals apply?".into());
    faq.answer = Some("No, see the [process].".into());
    faq.links = vec![Link { text: "process".into(), url: " JaVaScRiPt:alert(1)".into() }];
    document(d, e, "Marketplace Providers", vec![h, r1, faq])
}

fn lonely_doc() -> Document {
    let d = "zh/lonely";
    let mut h = rec(d, Lang::Zh, 1, RecordKind::Heading, &[], "独立文档 <script>alert(1)</script>");
    h.level = Some(2);
    let p = rec(d, Lang::Zh, 2, RecordKind::Paragraph, &["独立文档"], "正文 \" ' & < >");
    let mut html = rec(
        d,
        Lang::Zh,
        3,
        RecordKind::Html,
        &["独立文档"],
        r#"<div onclick="x()"><a href="javascript:alert(1)">x</a><img src="https://a.invalid/i.png" onerror="alert(1)" alt="i"></div>"#,
    );
    html.lines = [3, 3];
    document(d, Lang::Zh, "独立文档 <script>alert(1)</script>", vec![h, p, html])
}

#[allow(clippy::too_many_arguments)]
fn rule(
    id: &str,
    record: &str,
    doc: &str,
    scope: &str,
    subject: &str,
    op: Op,
    value: serde_json::Value,
    unit: &str,
) -> Rule {
    Rule {
        id: id.into(),
        scope: scope.into(),
        subject: Some(subject.into()),
        op: Some(op),
        value: Some(value),
        unit: Some(unit.into()),
        kind: "quantitative".into(),
        confidence: 0.9,
        source: RuleSource {
            doc: doc.into(),
            record: record.into(),
            path: format!("{doc}.md").into(),
            lines: [3, 3],
            counterpart: None,
        },
        text: BilingualText { zh: Some("服务商注册资本大于100万".into()), en: None },
        ..Default::default()
    }
}

fn inputs() -> (Vec<Document>, Alignment, RuleSet) {
    let zh = zh_doc();
    let en = en_doc();
    let docs = vec![en.clone(), lonely_doc(), zh.clone()];
    let pair = |z: Option<&Record>, e: Option<&Record>| RecordPair {
        zh: z.map(|r| r.id.clone()),
        en: e.map(|r| r.id.clone()),
        zh_all: Vec::new(),
        en_all: Vec::new(),
        confidence: 0.8,
        evidence: vec![],
    };
    // The titles, the capital requirements and the questions are aligned;
    // the zh section 微信小程序市场 has no counterpart.
    let alignment = Alignment {
        documents: vec![DocumentPair { zh: zh.id.clone(), en: en.id.clone(), confidence: 0.87, evidence: vec![] }],
        records: vec![
            pair(Some(&zh.records[0]), Some(&en.records[0])),
            pair(Some(&zh.records[1]), None),
            pair(Some(&zh.records[2]), Some(&en.records[1])),
            pair(Some(&zh.records[10]), Some(&en.records[2])),
        ],
        unpaired_documents: vec!["zh/lonely".into()],
        ..Alignment::default()
    };
    let rules = RuleSet {
        version: 1,
        rules: vec![
            rule(
                "r1",
                &zh.records[2].id,
                &zh.id,
                "微信小程序市场",
                "registered_capital",
                Op::Gt,
                serde_json::json!(1_000_000),
                "CNY",
            ),
            rule(
                "r2",
                &en.records[1].id,
                &en.id,
                "Marketplace Provider",
                "registered_capital",
                Op::Gt,
                serde_json::json!(1_000_000),
                "CNY",
            ),
        ],
    };
    (docs, alignment, rules)
}

fn render(dir: &Path, with_extras: bool) -> kb_publish::SiteStats {
    let (docs, alignment, rules) = inputs();
    if with_extras {
        kb_publish::render_site(dir, &docs, Some(&alignment), Some(&rules)).unwrap()
    } else {
        kb_publish::render_site(dir, &docs, None, None).unwrap()
    }
}

/// A first build with `opts` into a fresh folder: the folder, its `site/`, the state
/// file the next build reads, and what the build returned.
fn first_build(
    docs: &[Document],
    alignment: Option<&Alignment>,
    rules: Option<&RuleSet>,
    opts: &kb_publish::SiteOptions,
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, kb_publish::Published) {
    let first = tempfile::tempdir().unwrap();
    let site = first.path().join("site");
    let published = kb_publish::publish(&site, docs, alignment, rules, opts, None).unwrap();
    let state = first.path().join("state.json");
    std::fs::write(&state, &published.state).unwrap();
    (first, site, state, published)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn main_of(html: &str) -> String {
    Html::parse_document(html).select(&sel("main")).next().unwrap().html()
}

#[test]
fn pages_render_as_in_the_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let stats = render(dir.path(), true);
    assert_eq!(stats.documents, 3);
    assert_eq!(stats.faq_entries, 2);
    assert_eq!(stats.generated_questions, 2);
    assert_eq!(stats.rules_shown, 2);
    insta::assert_snapshot!("zh_document_main", main_of(&read(&dir.path().join("zh/docs/market.html"))));
    insta::assert_snapshot!("zh_faq_page", read(&dir.path().join("zh/faq.html")));
    insta::assert_snapshot!("en_index_main", main_of(&read(&dir.path().join("en/index.html"))));
    insta::assert_snapshot!("sitemap", read(&dir.path().join("sitemap.xml")));
}

#[test]
fn the_switch_goes_to_the_counterpart_or_says_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let zh = Html::parse_document(&read(&dir.path().join("zh/docs/market.html")));
    let a = zh.select(&sel("#lang-switch")).next().unwrap();
    assert_eq!(a.value().attr("href"), Some("../../en/docs/market.html"));
    assert_eq!(a.value().attr("lang"), Some("en"));
    let alts: Vec<(String, String)> = zh
        .select(&sel(r#"link[rel="alternate"]"#))
        .map(|l| (l.value().attr("hreflang").unwrap().into(), l.value().attr("href").unwrap().into()))
        .collect();
    assert_eq!(
        alts,
        [
            ("zh".into(), "http://127.0.0.1:8000/zh/docs/market.html".into()),
            ("en".into(), "http://127.0.0.1:8000/en/docs/market.html".into()),
            ("x-default".into(), "http://127.0.0.1:8000/en/docs/market.html".into()),
        ]
    );
    let lonely = Html::parse_document(&read(&dir.path().join("zh/docs/lonely.html")));
    assert!(lonely.select(&sel("#lang-switch-none")).next().is_some());
    assert_eq!(lonely.select(&sel("#lang-switch")).next().unwrap().value().attr("href"), Some("../../en/index.html"));

    // Without an alignment nothing is paired, and every document page says so.
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), false);
    for p in ["zh/docs/market.html", "en/docs/market.html"] {
        let page = read(&dir.path().join(p));
        assert!(page.contains(r#"id="lang-switch-none""#), "{p}");
        assert!(!page.contains("class=\"rule "), "{p}: no rules without a rule set");
    }
}

#[test]
fn generated_questions_read_naturally_and_link_to_their_source() {
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let zh = Html::parse_document(&read(&dir.path().join("zh/faq.html")));
    let gen: Vec<String> = zh.select(&sel(".qa-generated .question")).map(|q| q.text().collect()).collect();
    assert_eq!(gen, ["成为微信小程序市场服务商需要多少注册资本？"]);
    let src = zh.select(&sel(".qa-generated .source a")).next().unwrap().value().attr("href").unwrap();
    let (file, anchor) = src.split_once('#').unwrap();
    let page = Html::parse_document(&read(&dir.path().join("zh").join(file)));
    let target = page.select(&sel(&format!("#{anchor}"))).next().expect("the source element exists");
    assert!(target.text().collect::<String>().contains("注册资本大于100万"));
    let answer: String = zh.select(&sel(".qa-generated .answer")).next().unwrap().text().collect();
    assert!(answer.contains("注册资本大于100万元"), "{answer}");
    let en = read(&dir.path().join("en/faq.html"));
    assert!(en.contains("How much registered capital does a Marketplace Provider need?"));
}

#[test]
fn document_text_is_escaped_and_unsafe_urls_dropped() {
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let lonely = read(&dir.path().join("zh/docs/lonely.html"));
    assert!(!lonely.contains("<script>alert"), "titles are escaped");
    assert!(lonely.contains("&lt;script&gt;alert(1)&lt;"), "shown as text");
    assert!(lonely.contains("正文 &quot; &#x27; &amp; &lt; &gt;"), "{lonely}");
    let lower = lonely.to_ascii_lowercase();
    assert!(!lower.contains("onclick") && !lower.contains("onerror") && !lower.contains("javascript:"));
    assert!(lonely.contains(r#"src="https://a.invalid/i.png""#), "safe parts of raw HTML are kept");
    let en = read(&dir.path().join("en/faq.html")).to_ascii_lowercase();
    assert!(!en.contains("javascript:"), "a javascript: link in an answer stays text");
    assert!(en.contains("process"));
}

#[test]
fn json_ld_describes_the_faq_page() {
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let page = Html::parse_document(&read(&dir.path().join("zh/faq.html")));
    let raw: String = page.select(&sel(r#"script[type="application/ld+json"]"#)).next().unwrap().text().collect();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["@type"], "FAQPage");
    let names: Vec<&str> = v["mainEntity"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["个人能否成为云市场服务商？", "成为微信小程序市场服务商需要多少注册资本？"]);
    assert_eq!(v["mainEntity"][0]["acceptedAnswer"]["text"], "抱歉，必须是企业认证的用户。");
}

/// `(id, data-cp)` of every element of `main` that has a `data-cp`.
fn counterpart_anchors(html: &str) -> Vec<(String, String)> {
    Html::parse_document(html)
        .select(&sel("main [data-cp]"))
        .map(|e| (e.value().attr("id").unwrap().to_string(), e.value().attr("data-cp").unwrap().to_string()))
        .collect()
}

#[test]
fn aligned_sections_and_questions_carry_their_counterparts_anchor() {
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let (docs, ..) = inputs();
    let (zh, en) = (&docs[2], &docs[0]);
    let a = |r: &Record| kb_publish::blocks::anchor(&r.id);
    let zh_page = read(&dir.path().join("zh/docs/market.html"));
    assert_eq!(
        counterpart_anchors(&zh_page),
        [(a(&zh.records[0]), a(&en.records[0])), (a(&zh.records[10]), a(&en.records[2]))],
        "the title and the question; not the unaligned section, nor the requirement (not a section)"
    );
    assert!(zh_page.contains(&format!(r#"<h2 id="{}" class="h-heading">"#, a(&zh.records[1]))));
    assert_eq!(
        counterpart_anchors(&read(&dir.path().join("en/docs/market.html"))),
        [(a(&en.records[0]), a(&zh.records[0])), (a(&en.records[2]), a(&zh.records[10]))],
        "and the other way"
    );
    // The switch itself is unchanged: it goes to the counterpart page, the site script moves it.
    let page = Html::parse_document(&zh_page);
    let switch = page.select(&sel("#lang-switch")).next().unwrap();
    assert_eq!(switch.value().attr("href"), Some("../../en/docs/market.html"));
    assert_eq!(switch.text().collect::<String>(), "English");
    assert!(counterpart_anchors(&read(&dir.path().join("zh/docs/lonely.html"))).is_empty());

    // FAQ pages: the group goes to the counterpart document's group, the
    // question to its aligned question (on the page the switch goes to: ids alone).
    let zh_faq = counterpart_anchors(&read(&dir.path().join("zh/faq.html")));
    let en_faq = counterpart_anchors(&read(&dir.path().join("en/faq.html")));
    let group = |page: &[(String, String)], prefix: &str| page.iter().find(|(id, _)| id.starts_with(prefix)).cloned();
    let (zh_group, en_group) = (group(&zh_faq, "doc-").unwrap(), group(&en_faq, "doc-").unwrap());
    assert_eq!((zh_group.1.as_str(), en_group.1.as_str()), (en_group.0.as_str(), zh_group.0.as_str()));
    let q = |r: &Record| format!("q-{}", &a(r)[2..]);
    assert_eq!(group(&zh_faq, "q-"), Some((q(&zh.records[10]), q(&en.records[2]))));
    assert_eq!(group(&en_faq, "q-"), Some((q(&en.records[2]), q(&zh.records[10]))));

    // Without an alignment, nothing.
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), false);
    for p in ["zh/docs/market.html", "en/docs/market.html", "zh/faq.html"] {
        assert!(!read(&dir.path().join(p)).contains("data-cp"), "{p}");
    }
}

#[test]
fn a_page_is_rendered_again_when_its_counterparts_pairings_change() {
    let (docs, mut alignment, rules) = inputs();
    let opts = kb_publish::SiteOptions::default();
    let (_first, site1, state1, p1) = first_build(&docs, Some(&alignment), Some(&rules), &opts);

    // The documents stay as they are; only the questions' pairing goes.
    alignment.records.remove(3);
    let reuse = kb_publish::PageReuse { site: &site1, keys: &p1.keys, state: Some(&state1) };
    let second = tempfile::tempdir().unwrap();
    let site2 = second.path().join("site");
    let p2 = kb_publish::publish(&site2, &docs, Some(&alignment), Some(&rules), &opts, Some(&reuse)).unwrap();
    assert_eq!(p2.reused, 1, "only the unpaired document's page is reused");
    let clean = tempfile::tempdir().unwrap();
    kb_publish::publish(clean.path(), &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    let (t1, t2, t3) = (tree(&site1), tree(&site2), tree(clean.path()));
    assert_eq!(t2.keys().collect::<Vec<_>>(), t3.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t2 {
        assert!(bytes == &t3[k].0, "{k} differs from a clean build");
    }
    for p in ["zh/docs/market.html", "en/docs/market.html"] {
        assert!(t1[p].0 != t2[p].0, "{p} lost a data-cp");
    }
    assert!(t1["zh/faq.html"].0 != t2["zh/faq.html"].0, "the question lost its data-cp");
    for b in ["search/zh/0/t0.js", "search/en/0/t0.js", "search/zh/0/e0.js"] {
        assert_eq!(t1[b].1, t2[b].1, "{b}: search blocks do not depend on pairings and are linked");
    }
}

/// A document in programme `p` with one question.
fn faq_doc(id: &str, lang: Lang) -> Document {
    let mut q = rec(id, lang, 1, RecordKind::Faq, &[], "Q?\nA.");
    q.level = Some(2);
    q.question = Some("Q?".into());
    q.answer = Some("A.".into());
    document(id, lang, id, vec![q])
}

#[test]
fn a_faq_page_whose_switch_target_appears_is_rendered_again() {
    let opts = kb_publish::SiteOptions { faq_docs_per_page: 1, ..Default::default() };
    let mut docs = vec![faq_doc("zh/p/a", Lang::Zh), faq_doc("zh/p/b", Lang::Zh), faq_doc("en/p/a", Lang::En)];
    let (_first, site1, state1, p1) = first_build(&docs, None, None, &opts);
    let switch = |site: &Path| {
        let page = Html::parse_document(&read(&site.join("zh/faq/p-2.html")));
        let href = page.select(&sel("#lang-switch")).next().unwrap().value().attr("href").unwrap().to_string();
        href
    };
    assert_eq!(switch(&site1), "../../en/faq.html", "English has one FAQ page");

    // A second English document: English FAQ pages p-1 and p-2 appear, and
    // zh/faq/p-2.html (its own documents unchanged) switches to the new one.
    docs.push(faq_doc("en/p/b", Lang::En));
    let reuse = kb_publish::PageReuse { site: &site1, keys: &p1.keys, state: Some(&state1) };
    let second = tempfile::tempdir().unwrap();
    let site2 = second.path().join("site");
    kb_publish::publish(&site2, &docs, None, None, &opts, Some(&reuse)).unwrap();
    assert_eq!(switch(&site2), "../../en/faq/p-2.html");
    let clean = tempfile::tempdir().unwrap();
    kb_publish::publish(clean.path(), &docs, None, None, &opts, None).unwrap();
    let (t2, t3) = (tree(&site2), tree(clean.path()));
    assert_eq!(t2.keys().collect::<Vec<_>>(), t3.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t2 {
        assert!(bytes == &t3[k].0, "{k} differs from a clean build");
    }
}

#[test]
fn output_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    render(a.path(), true);
    let (mut docs, alignment, rules) = inputs();
    docs.reverse();
    kb_publish::render_site(b.path(), &docs, Some(&alignment), Some(&rules)).unwrap();
    let list = |d: &Path| {
        let mut v = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    v.push((e.path().strip_prefix(d).unwrap().to_path_buf(), std::fs::read(e.path()).unwrap()));
                }
            }
        }
        v.sort();
        v
    };
    assert_eq!(list(a.path()), list(b.path()), "input order does not change a byte");
}

#[test]
fn an_override_folder_replaces_templates_by_name() {
    let tpl = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tpl.path().join("static")).unwrap();
    std::fs::write(tpl.path().join("static/site.css"), "body { color: red }\n").unwrap();
    std::fs::write(
        tpl.path().join("search.html"),
        "{% extends \"base.html\" %}{% block main %}<h1>CUSTOM {{ title }}</h1>{% endblock %}",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (docs, _, _) = inputs();
    let opts = kb_publish::SiteOptions { templates: Some(tpl.path().to_path_buf()), ..Default::default() };
    kb_publish::render_site_with(out.path(), &docs, None, None, &opts).unwrap();
    assert_eq!(read(&out.path().join("static/site.css")), "body { color: red }\n");
    assert!(read(&out.path().join("en/search.html")).contains("<h1>CUSTOM Search</h1>"));
    assert!(read(&out.path().join("en/faq.html")).contains("FAQPage"), "other templates stay embedded");

    std::fs::write(tpl.path().join("faq.html"), "{% if %}").unwrap();
    let err = kb_publish::render_site_with(out.path(), &docs, None, None, &opts).unwrap_err().to_string();
    assert!(err.contains("faq.html"), "{err}");
}

/// Strings the JavaScript and Rust tokenisers must split alike.
const TOKENIZER_CASES: &[&str] = &[
    "注册资本",
    "云",
    "成为微信小程序市场服务商需要多少注册资本？",
    "Registered Capital",
    "SaaS小程序100万",
    "7 * 8小时",
    "2–4 business days",
    "企业版技术合作伙伴(试用)",
    "ÉCOLE Straße İstanbul ΣΊΣΥΦΟΣ",
    "１２３ＡＢＣ",
    "𠀀𠀁 ext-B",
    "tab\tand\nnewline",
    "don't stop",
    "",
    "   ",
    "合作伙伴 partner 合作",
];

#[test]
fn javascript_and_rust_split_queries_and_text_alike() {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        eprintln!("node not found: skipping the JavaScript comparison");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/static/search.js");
    let program = format!(
        "const s = require({script:?}); const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\
         process.stdout.write(JSON.stringify(cases.map(c => [s.queryTerms(c), s.indexTerms(c)])));",
        script = script.to_str().unwrap()
    );
    let mut child = std::process::Command::new("node")
        .arg("-e")
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(serde_json::to_string(TOKENIZER_CASES).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let js: Vec<(Vec<String>, Vec<String>)> = serde_json::from_slice(&out.stdout).unwrap();
    for (case, (jq, ji)) in TOKENIZER_CASES.iter().zip(js) {
        assert_eq!(jq, kb_publish::tokenize::query_terms(case), "query terms of {case:?}");
        assert_eq!(ji, kb_publish::tokenize::index_terms(case), "index terms of {case:?}");
    }
}

#[test]
fn the_shipped_script_finds_what_the_index_holds() {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        eprintln!("node not found: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    render(dir.path(), true);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/static/search.js");
    // Loads part files as the page does, but with require(), and counts them.
    let program = format!(
        "globalThis.window = globalThis; const dir = {dir:?}; require(dir + '/index.zh.js'); require(dir + '/index.en.js');\
         const s = require({script:?}); const loaded = [];\
         const load = names => {{ names.forEach(n => {{ loaded.push(n); require(dir + '/' + n + '.js'); }}); return Promise.resolve(window.KB_SEARCH_PARTS || {{}}); }};\
         Promise.all(['注册资本', '云', 'registered CAPITAL', 'constructor', '不存在的词']\
           .map(q => s.search(window.KB_SEARCH[/[a-z]/i.test(q) ? 'en' : 'zh'], q, 5, load)))\
           .then(r => process.stdout.write(JSON.stringify({{ results: r, loaded: loaded }})));",
        dir = dir.path().join("search").to_str().unwrap(),
        script = script.to_str().unwrap()
    );
    let out = std::process::Command::new("node").arg("-e").arg(program).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = v["results"].as_array().unwrap();
    let loaded: Vec<&str> = v["loaded"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(loaded.iter().all(|n| n.starts_with("zh/") || n.starts_with("en/")), "{loaded:?}");
    let first_url = |i: usize| r[i]["hits"][0]["url"].as_str().unwrap_or("").to_string();
    assert!(r[0]["hits"][0]["snippet"].as_str().unwrap().contains("注册资本"), "{}", r[0]);
    assert!(first_url(0).starts_with("zh/"), "{}", r[0]);
    assert!(r[1]["total"].as_u64().unwrap() > 0, "one-character queries find something");
    assert!(r[2]["hits"][0]["snippet"].as_str().unwrap().to_lowercase().contains("registered capital"), "{}", r[2]);
    assert_eq!(r[3]["total"], 0, "object keys are not terms");
    assert_eq!(r[4]["total"], 0);
}

/// Every file under `dir`: relative path → (bytes, inode).
fn tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, (std::fs::read(e.path()).unwrap(), e.metadata().unwrap().ino()));
            }
        }
    }
    out
}

#[test]
fn a_rebuild_links_what_did_not_change_and_equals_a_clean_build() {
    let (docs, alignment, mut rules) = inputs();
    let opts = kb_publish::SiteOptions::default();
    let (_first, site1, state1, p1) = first_build(&docs, Some(&alignment), Some(&rules), &opts);

    // The English rule changes: its page, FAQ and search block change, the rest does not.
    rules.rules[1].value = Some(serde_json::json!(2_000_000));
    let reuse = kb_publish::PageReuse { site: &site1, keys: &p1.keys, state: Some(&state1) };
    let second = tempfile::tempdir().unwrap();
    let site2 = second.path().join("site");
    let p2 = kb_publish::publish(&site2, &docs, Some(&alignment), Some(&rules), &opts, Some(&reuse)).unwrap();
    assert_eq!(p2.reused, 2, "the two unchanged document pages are reused");
    let clean = tempfile::tempdir().unwrap();
    let p3 = kb_publish::publish(clean.path(), &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    assert_eq!(p2.state, p3.state, "the state does not depend on what was reused");
    assert_eq!(p2.keys, p3.keys);
    assert_eq!(p2.stats, p3.stats);

    let (t1, t2, t3) = (tree(&site1), tree(&site2), tree(clean.path()));
    assert_eq!(t2.keys().collect::<Vec<_>>(), t3.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t2 {
        assert!(bytes == &t3[k].0, "{k} differs from a clean build");
    }
    let linked = |k: &str| t1.get(k).is_some_and(|(_, ino)| *ino == t2[k].1);
    assert!(linked("zh/docs/market.html"), "an unchanged page is a link to the previous one");
    assert!(!linked("en/docs/market.html"), "the changed page is written anew");
    assert!(linked("search/zh/0/t0.js"), "the unchanged language's search block is linked");
    assert!(!linked("en/faq.html"));
    assert!(t2["en/faq.html"].0 != t1["en/faq.html"].0, "the new value is shown");

    // A previous site with a file missing, or an unreadable state: rendered, never wrong.
    std::fs::remove_file(site1.join("zh/docs/market.html")).unwrap();
    std::fs::remove_file(site1.join("search/zh/0/t0.js")).unwrap();
    std::fs::write(&state1, "{ not json").unwrap();
    let third = tempfile::tempdir().unwrap();
    let site4 = third.path().join("site");
    kb_publish::publish(&site4, &docs, Some(&alignment), Some(&rules), &opts, Some(&reuse)).unwrap();
    let t4 = tree(&site4);
    for (k, (bytes, _)) in &t3 {
        assert!(bytes == &t4[k].0, "{k} differs from a clean build");
    }
    assert!(t1.contains_key("search/zh/0/e0.js") && t1["search/zh/0/e0.js"].0 == t3["search/zh/0/e0.js"].0);
}

#[test]
fn rule_digests_stand_for_the_rules_in_page_keys() {
    let (docs, alignment, mut rules) = inputs();
    let opts = kb_publish::SiteOptions::default();
    let mut digests: Vec<Option<[u8; 32]>> = (0..docs.len()).map(|i| Some([i as u8; 32])).collect();
    let publish = |dir: &Path,
                   rules: &kb_model::rules::RuleSet,
                   digests: &[Option<[u8; 32]>],
                   prev: Option<(&Path, &kb_publish::Published, &Path)>| {
        let input = kb_publish::Input {
            documents: &docs,
            alignment: Some(&alignment),
            rules: Some(rules),
            rule_digests: Some(digests),
        };
        let reuse = prev.map(|(site, p, state)| {
            std::fs::write(state, &p.state).unwrap();
            kb_publish::PageReuse { site, keys: &p.keys, state: Some(state) }
        });
        kb_publish::publish_input(dir, &input, &opts, reuse.as_ref()).unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let (site1, state1) = (tmp.path().join("1"), tmp.path().join("1.json"));
    let p1 = publish(&site1, &rules, &digests, None);

    // The digests are trusted: a changed rule under an unchanged digest is not looked at.
    let changed = docs.iter().position(|d| d.id == rules.rules[1].source.doc).unwrap();
    rules.rules[1].value = Some(serde_json::json!(2_000_000));
    let p2 = publish(&tmp.path().join("2"), &rules, &digests, Some((&site1, &p1, &state1)));
    assert_eq!(p2.reused, docs.len());

    // A new digest for the document whose rules changed: its page is made again, as a clean build makes it.
    digests[changed] = Some([0xee; 32]);
    let site3 = tmp.path().join("3");
    let p3 = publish(&site3, &rules, &digests, Some((&site1, &p1, &state1)));
    assert_eq!(p3.reused, docs.len() - 1);
    let clean = tempfile::tempdir().unwrap();
    kb_publish::publish(clean.path(), &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    let (t3, tc) = (tree(&site3), tree(clean.path()));
    assert_eq!(t3.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t3 {
        assert!(bytes == &tc[k].0, "{k} differs from a clean build");
    }

    // Digests that do not fit the documents are ignored: the rules are hashed.
    let p4 = publish(&tmp.path().join("4"), &rules, &digests[1..], Some((&site1, &p1, &state1)));
    assert_eq!(p4.reused, 0, "keys made from the rules differ from keys made from digests");
    let p5 = publish(
        &tmp.path().join("5"),
        &rules,
        &digests[1..],
        Some((&tmp.path().join("4"), &p4, &tmp.path().join("4.json"))),
    );
    assert_eq!(p5.reused, docs.len());
}

#[test]
fn a_full_build_links_the_files_that_come_out_the_same_and_writes_the_rest() {
    let (docs, alignment, mut rules) = inputs();
    let opts = kb_publish::SiteOptions::default();
    let first = tempfile::tempdir().unwrap();
    let site1 = first.path().join("site");
    kb_publish::publish(&site1, &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    let before = tree(&site1);

    // No keys and no state: nothing is taken on trust, only equal bytes are linked.
    rules.rules[1].value = Some(serde_json::json!(2_000_000));
    let no_keys = std::collections::BTreeMap::new();
    let reuse = kb_publish::PageReuse { site: &site1, keys: &no_keys, state: None };
    let second = tempfile::tempdir().unwrap();
    let site2 = second.path().join("site");
    let p2 = kb_publish::publish(&site2, &docs, Some(&alignment), Some(&rules), &opts, Some(&reuse)).unwrap();
    assert_eq!(p2.reused, 0, "no page is reused by key");
    let clean = tempfile::tempdir().unwrap();
    let p3 = kb_publish::publish(clean.path(), &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    assert_eq!((&p2.state, &p2.keys, &p2.stats), (&p3.state, &p3.keys, &p3.stats));

    let (t1, t2, t3) = (tree(&site1), tree(&site2), tree(clean.path()));
    assert_eq!(t2.keys().collect::<Vec<_>>(), t3.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t2 {
        assert!(bytes == &t3[k].0, "{k} differs from a clean build");
        let linked = t1.get(k).is_some_and(|(_, ino)| *ino == t2[k].1);
        let same = t1.get(k).is_some_and(|(b, _)| b == bytes);
        assert_eq!(linked, same, "{k}: linked exactly when its bytes did not change");
    }
    assert!(t2["zh/docs/market.html"].1 == t1["zh/docs/market.html"].1, "an unchanged page is linked");
    assert!(t2["en/docs/market.html"].0 != t1["en/docs/market.html"].0, "the changed page is written anew");
    for (k, (bytes, _)) in &before {
        assert!(bytes == &t1[k].0, "{k} of the previous site was written through a link");
    }
}

/// The `<loc>` URLs of a sitemap file, in order.
fn locs(xml: &str) -> Vec<String> {
    xml.split("<loc>").skip(1).map(|s| s[..s.find("</loc>").expect("closed")].to_string()).collect()
}

#[test]
fn a_large_sitemap_becomes_an_index_of_bounded_files_with_the_same_urls() {
    let (docs, alignment, rules) = inputs();
    let whole = tempfile::tempdir().unwrap();
    kb_publish::render_site(whole.path(), &docs, Some(&alignment), Some(&rules)).unwrap();
    let all = locs(&read(&whole.path().join("sitemap.xml")));
    assert!(all.len() > 5, "enough URLs to split: {all:?}");
    assert!(!read(&whole.path().join("sitemap.xml")).contains("<sitemapindex"));
    assert!(!whole.path().join("sitemap-1.xml").exists());

    let split = tempfile::tempdir().unwrap();
    let opts = kb_publish::SiteOptions { sitemap_urls: 3, ..Default::default() };
    kb_publish::render_site_with(split.path(), &docs, Some(&alignment), Some(&rules), &opts).unwrap();
    let index = read(&split.path().join("sitemap.xml"));
    assert!(index.contains("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"), "{index}");
    let parts = locs(&index);
    assert_eq!(parts.len(), all.len().div_ceil(3), "{parts:?}");
    let mut urls = Vec::new();
    for (n, loc) in parts.iter().enumerate() {
        let name = format!("sitemap-{}.xml", n + 1);
        assert_eq!(loc, &format!("{}{name}", kb_publish::DEFAULT_BASE_URL), "absolute URLs, in order");
        let part = read(&split.path().join(&name));
        assert!(part.contains("<urlset") && part.contains("xhtml:link"), "a part is a sitemap with alternates");
        let these = locs(&part);
        assert!(!these.is_empty() && these.len() <= 3, "{name}: {these:?}");
        urls.extend(these);
    }
    assert_eq!(urls, all, "the parts hold every URL of the single sitemap, once, in order");
    assert!(!split.path().join(format!("sitemap-{}.xml", parts.len() + 1)).exists());
}

#[test]
fn a_rebuild_takes_unchanged_sitemap_parts_and_renders_the_changed_ones() {
    let (docs, mut alignment, rules) = inputs();
    let opts = kb_publish::SiteOptions { sitemap_urls: 3, ..Default::default() };
    let tmp = tempfile::tempdir().unwrap();
    let (site1, state1) = (tmp.path().join("1"), tmp.path().join("1.json"));
    let p1 = kb_publish::publish(&site1, &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    std::fs::write(&state1, &p1.state).unwrap();
    let state: serde_json::Value = serde_json::from_slice(&p1.state).unwrap();
    assert!(state["pages"]["sitemap-1.xml"].is_string(), "sitemap parts are keyed: {state}");

    // Unpaired: the two paired documents' alternates change, not the other URLs.
    alignment.documents.clear();
    let reuse = kb_publish::PageReuse { site: &site1, keys: &p1.keys, state: Some(&state1) };
    let site2 = tmp.path().join("2");
    kb_publish::publish(&site2, &docs, Some(&alignment), Some(&rules), &opts, Some(&reuse)).unwrap();
    let clean = tmp.path().join("clean");
    kb_publish::publish(&clean, &docs, Some(&alignment), Some(&rules), &opts, None).unwrap();
    let (t1, t2, tc) = (tree(&site1), tree(&site2), tree(&clean));
    assert_eq!(t2.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
    for (k, (bytes, _)) in &t2 {
        assert!(bytes == &tc[k].0, "{k} differs from a clean build");
    }
    let parts: Vec<&String> = t2.keys().filter(|k| k.starts_with("sitemap-")).collect();
    let linked = parts.iter().filter(|k| t1[k.as_str()].1 == t2[k.as_str()].1).count();
    assert!(linked > 0 && linked < parts.len(), "{linked} of {} parts linked", parts.len());
}
