//! Unit tests, one or more per parser rule, and a property test of losslessness.

use kb_model::{NoteType, Record, RecordKind};
use proptest::prelude::*;

use crate::{check_lossless, parse_document};

fn parse(text: &str) -> Vec<Record> {
    let doc = parse_document("zh/t.md", text, None).unwrap();
    check_lossless(text, &doc).unwrap();
    doc.records
}

fn kinds(rs: &[Record]) -> Vec<(RecordKind, [u32; 2])> {
    rs.iter().map(|r| (r.kind, r.lines)).collect()
}

#[test]
fn chinese_enumeration_in_one_paragraph_becomes_items_after_the_lead_in() {
    let rs = parse("#### 微信小程序市场\n成为服务商需要符合以下条件：\n1、服务商注册资本大于100万；\n2、具有20人以上的技术及服务团队；\n   续行\n");
    assert_eq!(
        kinds(&rs),
        [
            (RecordKind::Heading, [1, 1]),
            (RecordKind::Paragraph, [2, 2]),
            (RecordKind::Requirement, [3, 3]),
            (RecordKind::Requirement, [4, 5])
        ]
    );
    assert_eq!(rs[2].text, "服务商注册资本大于100万；");
    assert_eq!(rs[2].ordinal.as_deref(), Some("1、"));
    assert_eq!(rs[3].number, Some(2));
    assert_eq!(rs[3].text, "具有20人以上的技术及服务团队；\n续行");
    assert_eq!(rs[3].heading_path, ["微信小程序市场"]);
}

#[test]
fn enumeration_after_a_neutral_lead_in_is_a_list_item() {
    let rs = parse("## 合作伙伴基础资质\n\n说明：\n\n  1）  关于认证工程师；\n\n  2）  服务费包含授权费；\n");
    assert_eq!(rs[2].kind, RecordKind::ListItem);
    assert_eq!(rs[2].ordinal.as_deref(), Some("1）"));
    assert_eq!(rs[3].kind, RecordKind::ListItem);
}

#[test]
fn list_under_a_requirement_heading_is_requirements() {
    let rs = parse("### 合作伙伴的申请条件\n申请加入的基本条件：\n- 符合法规的企业。\n- 注册资本人民币100万元以上；公司人员规模20人以上。\n");
    assert_eq!(rs[2].kind, RecordKind::Requirement);
    assert_eq!(rs[3].kind, RecordKind::Requirement);
    assert_eq!(rs[3].lines, [4, 4]);
    assert_eq!(rs[3].heading_path, ["合作伙伴的申请条件"]);
    assert_eq!(rs[3].ordinal, None);
}

#[test]
fn ordered_list_continuing_at_four_keeps_the_requirement_kind() {
    let rs = parse("## Basic\n需满足如下条件：\n\n1. 认同理念；\n\n2. 不得包含竞品；\n\n为了考察企业。\n\n4. 违反制度立即解除合作。\n");
    let last = rs.last().unwrap();
    assert_eq!((last.kind, last.ordinal.as_deref(), last.number), (RecordKind::Requirement, Some("4."), Some(4)));
}

#[test]
fn step_headings_and_step_paragraphs() {
    let rs = parse("### 申请指引\n#### 步骤一：注册账号\n进入页面注册。\n\nStep 2. Enter the information.\n\nStep 4: Wait for the review.\n");
    assert_eq!((rs[1].kind, rs[1].ordinal.as_deref(), rs[1].number), (RecordKind::Step, Some("步骤一"), Some(1)));
    assert_eq!(rs[1].level, Some(4));
    assert_eq!((rs[3].kind, rs[3].ordinal.as_deref()), (RecordKind::Step, Some("Step 2.")));
    assert_eq!(rs[3].text, "Enter the information.");
    assert_eq!((rs[4].kind, rs[4].ordinal.as_deref(), rs[4].number), (RecordKind::Step, Some("Step 4"), Some(4)));
}

#[test]
fn numbered_list_under_a_step_heading_is_steps_and_image_lines_are_images() {
    let rs = parse("#### 步骤三：提交申请\n1.\t进入页面。\n![](a.png)\n![](b.png)\n2.\t单击**立即申请**。\n");
    assert_eq!(
        kinds(&rs),
        [
            (RecordKind::Step, [1, 1]),
            (RecordKind::Step, [2, 2]),
            (RecordKind::Image, [3, 3]),
            (RecordKind::Image, [4, 4]),
            (RecordKind::Step, [5, 5])
        ]
    );
    assert_eq!(rs[2].images[0].src, "a.png");
    assert_eq!(rs[4].text, "单击立即申请。");
    assert_eq!(rs[4].ordinal.as_deref(), Some("2."));
}

#[test]
fn question_heading_with_a_plain_answer_is_one_faq() {
    let rs = parse("### 入驻前需要准备哪些企业证件？\n企业的营业执照、\n银行开户许可证。\n\n### 下一节\n");
    assert_eq!(rs[0].kind, RecordKind::Faq);
    assert_eq!(rs[0].lines, [1, 3]);
    assert_eq!(rs[0].question.as_deref(), Some("入驻前需要准备哪些企业证件？"));
    assert_eq!(rs[0].answer.as_deref(), Some("企业的营业执照、\n银行开户许可证。"));
    assert_eq!(rs[1].kind, RecordKind::Heading);
}

#[test]
fn question_with_structured_answer_keeps_lead_in_and_items_beneath() {
    let rs = parse("### 需要符合哪些条件？\n需要符合以下条件：\n1、注册资本大于100万；\n2、团队10人以上。\n");
    assert_eq!(
        kinds(&rs),
        [(RecordKind::Faq, [1, 2]), (RecordKind::Requirement, [3, 3]), (RecordKind::Requirement, [4, 4])]
    );
    assert_eq!(rs[1].heading_path, ["需要符合哪些条件？"]);
}

#[test]
fn callouts_and_quotes_are_notes_with_their_type() {
    let rs = parse(">?\n>- 若您已注册，可选择立即登录。\n\n>!\n>- 请确保公司名称一致。\n\n> 普通引用\n\n> [!WARNING]\n> Careful.\n");
    let types: Vec<_> = rs.iter().map(|r| (r.kind, r.note_type, r.lines)).collect();
    assert_eq!(
        types,
        [
            (RecordKind::Note, Some(NoteType::Tip), [1, 2]),
            (RecordKind::Note, Some(NoteType::Warning), [4, 5]),
            (RecordKind::Note, Some(NoteType::Quote), [7, 7]),
            (RecordKind::Note, Some(NoteType::Warning), [9, 10])
        ]
    );
    assert_eq!(rs[0].text, "若您已注册，可选择立即登录。");
}

#[test]
fn markdown_table_rows_are_keyed_by_header_and_pipeless_lines_are_prose() {
    let rs = parse("| 类别 | 运维<br>工程师人数 | 服务费 |\n| --- | --- | --- |\n| 试用 | 3 个 | 有 |\n| 品牌 | 无最低要求 | 无 |\n说明：\n为了考察企业。\n");
    assert_eq!(
        kinds(&rs),
        [
            (RecordKind::TableHeader, [1, 2]),
            (RecordKind::TableRow, [3, 3]),
            (RecordKind::TableRow, [4, 4]),
            (RecordKind::Paragraph, [5, 6])
        ]
    );
    assert_eq!(rs[1].cells[1].header, "运维\n工程师人数");
    assert_eq!(rs[1].cells[1].text, "3 个");
    assert_eq!(rs[1].table, Some(1));
    assert_eq!(rs[3].text, "说明：\n为了考察企业。");
}

#[test]
fn html_table_rows_resolve_rowspan_and_keep_lines() {
    let text = "## 权益\n\n<table>\n  <tr>\n    <th colspan=\"2\">类别</th><th>详细信息</th>\n  </tr>\n  <tr>\n    <td rowspan=\"3\">公共权益</th>\n  </tr>\n  <tr><td>内测版本</td><td>专属版本<br>课程</td></tr>\n  <tr><td>商业计划</td><td>帮助</td></tr>\n</table>\n\n后记\n";
    let rs = parse(text);
    let rows: Vec<_> = rs.iter().filter(|r| r.table.is_some()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!((rows[0].kind, rows[0].lines), (RecordKind::TableHeader, [3, 6]));
    assert_eq!(rows[1].lines, [7, 9]);
    assert_eq!(rows[2].lines, [10, 10]);
    assert_eq!(rows[3].lines, [11, 12]);
    assert_eq!(rows[2].cells.len(), 3);
    assert_eq!(
        (rows[2].cells[0].header.as_str(), rows[2].cells[0].text.as_str(), rows[2].cells[0].spanned),
        ("类别", "公共权益", true)
    );
    assert_eq!(rows[2].cells[2].text, "专属版本\n课程");
    assert_eq!(rows[3].cells[0].text, "公共权益");
    assert_eq!(rs.last().unwrap().text, "后记");
}

#[test]
fn unterminated_html_table_is_an_error_naming_the_line() {
    let err =
        parse_document("zh/bad.md", "# 标题\n\n<table>\n<tr><td>x</td></tr>\n\n正文\n", None).unwrap_err().to_string();
    assert!(err.starts_with("zh/bad.md:3:"), "{err}");
    assert!(err.contains("unterminated"), "{err}");
}

#[test]
fn empty_document_is_an_error() {
    let err = parse_document("en/empty.md", " \n\n", None).unwrap_err().to_string();
    assert!(err.starts_with("en/empty.md:1:") && err.contains("empty"), "{err}");
}

#[test]
fn link_definitions_front_matter_code_and_admonitions_are_kept() {
    let text = "---\ntitle: x\n---\n\n# Title\n\n:::tip\nUse **this**.\n\nReally.\n:::\n\n```sh\nkb build\n```\n\n---\n\nSee [docs][d].\n\n[d]: https://example.com/docs\n";
    let rs = parse(text);
    let ks: Vec<_> = rs.iter().map(|r| r.kind).collect();
    assert_eq!(
        ks,
        [
            RecordKind::FrontMatter,
            RecordKind::Heading,
            RecordKind::Note,
            RecordKind::Code,
            RecordKind::Separator,
            RecordKind::Paragraph,
            RecordKind::LinkDefinition
        ]
    );
    assert_eq!(rs[2].text, "Use this.\nReally.");
    assert_eq!(rs[3].info.as_deref(), Some("sh"));
    assert_eq!(rs[5].links[0].url, "https://example.com/docs");
    assert_eq!(rs[6].links[0].text, "d");
}

#[test]
fn nested_lists_give_each_item_its_own_lines() {
    let rs = parse("- parent\n  - child one\n  - child two\n\n  after child\n- next\n");
    let ks = kinds(&rs);
    assert_eq!(ks.len(), 5, "{ks:?}");
    assert_eq!(rs[0].lines, [1, 1]);
    assert_eq!(rs[1].lines, [2, 2]);
    assert_eq!(rs[3].text, "after child");
}

#[test]
fn links_are_kept_as_text_with_targets() {
    let rs = parse("进入 [腾讯云官网](https://partner.cloud.tencent.com/) 页面，选择**加入我们**。\n");
    assert_eq!(rs[0].text, "进入 腾讯云官网 页面，选择加入我们。");
    assert_eq!(rs[0].links[0].url, "https://partner.cloud.tencent.com/");
    assert_eq!(rs[0].links[0].text, "腾讯云官网");
}

#[test]
fn ids_survive_edits_elsewhere_and_twins_are_distinct() {
    let a = parse("# T\n\n段落一。\n\n段落二。\n\n段落二。\n");
    let b = parse("# T\n\n新加的段落。\n\n段落一。\n\n段落二。\n\n段落二。\n");
    assert_eq!(a[1].id, b[2].id);
    assert_ne!(a[2].id, a[3].id);
    assert!(a[3].id.ends_with("~2"));
    assert!(a[1].id.starts_with("zh/t#"));
}

#[test]
fn language_is_detected_and_overridable() {
    let d = parse_document("x.md", "# Partner Overview\nWin-win cooperation.\n", None).unwrap();
    assert_eq!(d.lang, kb_model::Lang::En);
    let d = parse_document("x.md", "# Partner Overview\n", Some(kb_model::Lang::Zh)).unwrap();
    assert_eq!((d.lang, d.lang_source), (kb_model::Lang::Zh, kb_model::LangSource::Manifest));
}

/// Lines that exercise every construct, glued together at random.
const FRAGMENTS: &[&str] = &[
    "# 标题",
    "## Heading two",
    "### 问题是什么？",
    "#### 步骤一：注册",
    "Step 2. Do it.",
    "",
    "",
    "",
    "普通段落。",
    "需满足如下条件：",
    "1、注册资本100万元以上；",
    "2）说明",
    "（3）其他",
    "- 列表项",
    "  - 子项",
    "1. 第一",
    "4. 第四",
    "   续行",
    "> 引用",
    ">?",
    ">- 提示项",
    ">!",
    "![](a.png)",
    "![alt](b.png)",
    "| a | b |",
    "| --- | --- |",
    "| 1 | 2 |",
    "说明：",
    "<table>",
    "<tr><th>h</th></tr>",
    "<tr><td rowspan=\"2\">x</td></tr>",
    "</table>",
    "<div>块</div>",
    "<!-- comment -->",
    "```",
    "code line",
    "---",
    ":::tip",
    ":::",
    "[ref]: https://e.com",
    "Setext",
    "===",
    "    indented code",
    "\t制表符",
    "* [ ] task",
    "<br>",
    "a | b",
    "1.",
    "-",
    "[链接](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn any_glued_document_parses_losslessly_or_fails_cleanly(picks in prop::collection::vec(0..FRAGMENTS.len(), 1..40)) {
        let text: String = picks.iter().map(|i| format!("{}\n", FRAGMENTS[*i])).collect();
        match parse_document("zh/p.md", &text, None) {
            Ok(doc) => {
                if let Err(e) = check_lossless(&text, &doc) {
                    prop_assert!(false, "{e}\n--- input ---\n{text}");
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("zh/p.md:"), "{msg}");
                prop_assert!(msg.contains("unterminated") || msg.contains("empty"), "{msg}");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(doc) = parse_document("zh/q.md", &text, None) {
            if let Err(e) = check_lossless(&text, &doc) {
                prop_assert!(false, "{e}\n--- input ---\n{text:?}");
            }
        }
    }
}

#[test]
fn pipeless_line_before_a_real_row_does_not_overlap_the_header() {
    // Found by cargo fuzz: header, delimiter, a line without pipes, a row.
    let rs = parse("|\u{e}\n|-\nn\n|)");
    assert_eq!(
        kinds(&rs),
        [(RecordKind::TableHeader, [1, 2]), (RecordKind::Paragraph, [3, 3]), (RecordKind::TableRow, [4, 4])]
    );
}

#[test]
fn a_lone_carriage_return_ends_a_line() {
    // Found by cargo fuzz: CommonMark ends a line at a lone CR.
    let rs = parse("# 标题\r正文\r\n下一行\n");
    assert_eq!(kinds(&rs), [(RecordKind::Heading, [1, 1]), (RecordKind::Paragraph, [2, 3])]);
}

#[test]
fn a_link_spanning_lines_keeps_the_lines_in_order() {
    // Found by cargo fuzz.
    let rs = parse("[\nm]()");
    assert_eq!(kinds(&rs), [(RecordKind::Paragraph, [1, 2])]);
    assert_eq!(rs[0].links.len(), 1);
}

#[test]
fn an_item_whose_only_content_is_a_block_on_its_line_is_that_block() {
    // Found by cargo fuzz: `3) #` is a list item holding an empty heading.
    let rs = parse("3) #\n\n1. > 引用\n");
    assert_eq!(kinds(&rs), [(RecordKind::Heading, [1, 1]), (RecordKind::Note, [3, 3])]);
}

#[test]
fn heading_anchors_are_not_text_and_front_matter_names_the_title() {
    let doc =
        parse_document("zh/a.md", "---\ntitle: \"Upstream 上游\"\n---\n\n## 描述 {#description}\n\n正文。\n", None)
            .unwrap();
    check_lossless("---\ntitle: \"Upstream 上游\"\n---\n\n## 描述 {#description}\n\n正文。\n", &doc).unwrap();
    assert_eq!(doc.title, "Upstream 上游");
    assert_eq!(doc.records[1].text, "描述");
    assert_eq!(doc.records[2].heading_path, ["描述"]);
    let doc = parse_document("zh/b.md", "# 标题\n", None).unwrap();
    assert_eq!(doc.title, "标题");
}
