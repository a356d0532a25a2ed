//! Synthetic bilingual documents, built directly as records, for tests and
//! benchmarks: a zh document and its English translation whose record ids
//! carry the truth (`zh/doc#s2.i3` ↔ `en/doc#s2.i3`), with knobs to delete a
//! section, split a list item or swap two table rows in the translation.
//!
//! Nothing here is used by `kb build`.

use kb_model::{Cell, Document, Image, Lang, Link, Record, RecordKind};

/// Zh/en sentence pairs; `{a}` and `{b}` are replaced by numbers.
const SENTENCES: [(&str, &str); 12] = [
    ("公司人员规模{a}人以上，拥有{b}人以上技术团队。", "The company has more than {a} employees and a technical team of at least {b} people."),
    ("合作伙伴自审核通过后，考核期为{a}个自然月，考核内容可在控制台查询。", "After the review is passed, the partner assessment period is {a} calendar months, and the assessment content can be found in the console."),
    ("进入控制台页面，选择渠道管理，填写联系方式后单击提交。", "Go to the console page, select channel management, enter the contact information and click submit."),
    ("注册资本不低于人民币{a}万元的企业法人单位可以申请成为代理合作伙伴。", "Legal entities with a registered capital of at least {a} ten thousand CNY can apply to become reseller partners."),
    ("审核将在{a}个工作日内完成，结果以邮件和短信方式通知。", "The review is completed within {a} business days, and the result is sent by email and SMS."),
    ("服务费包含授权费、培训费用和技术支持，每{a}年续约一次。", "The service fee covers the authorization fee, training fees and technical support, and is renewed every {a} years."),
    ("企业版技术合作伙伴需要{a}名认证工程师和{b}名运维开发工程师。", "Enterprise edition technology partners need {a} certified engineers and {b} operation and maintenance development engineers."),
    ("请确保填写的公司名称与营业执照一致，银行信息与开户许可证一致。", "Make sure the company name matches the business license and the bank information matches the account opening certificate."),
    ("教育合作伙伴可以开设认证课程，讲师必须具备相应的认证资质。", "Education partners can open certification courses, and lecturers must hold the corresponding certification qualification."),
    ("违反管理规范的合作伙伴将被解除合同，相关费用不予退还。", "Partners that violate the management specification will have their contract terminated, and related fees will not be refunded."),
    ("每个季度将随机确认认证工程师人数，共抽查{a}家企业。", "Every quarter the number of certified engineers is randomly confirmed, and {a} companies are checked."),
    ("客户可以通过官网查找合作伙伴的解决方案和产品。", "Customers can find partner solutions and products on the official website."),
];

/// Zh/en section headings.
const HEADINGS: [(&str, &str); 8] = [
    ("合作伙伴申请条件", "Partner application conditions"),
    ("注册账号", "Account registration"),
    ("企业实名认证", "Identity verification"),
    ("提交申请", "Submit the application"),
    ("合作伙伴权益", "Partner benefits"),
    ("合作伙伴考核", "Partner assessment"),
    ("服务费说明", "Service fee description"),
    ("控制台登录指引", "Console login guide"),
];

/// What to change in the translation.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// Leave out this section (0-based) of the English side.
    pub delete_section: Option<usize>,
    /// Split list item (section, item) of the English side in two.
    pub split_item: Option<(usize, usize)>,
    /// Swap rows r and r+1 of the table of section s on the English side.
    pub swap_rows: Option<(usize, usize)>,
}

/// Shape of a generated document.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Number of sections.
    pub sections: usize,
    /// List items per section.
    pub items: usize,
    /// Table rows per section (0: no table).
    pub rows: usize,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape { sections: 6, items: 4, rows: 4 }
    }
}

/// A tiny deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

struct Builder {
    doc: Document,
    heading_path: Vec<String>,
    line: u32,
}

impl Builder {
    fn new(id: &str, lang: Lang, title: &str) -> Builder {
        Builder {
            doc: Document::new(id, format!("{id}.md"), lang, title, Vec::new()),
            heading_path: Vec::new(),
            line: 0,
        }
    }

    fn push(&mut self, tag: &str, kind: RecordKind, text: &str) -> &mut Record {
        self.line += 2;
        let mut r = Record::new(
            self.doc.id.as_str(),
            self.doc.path.as_str(),
            self.doc.lang,
            kind,
            text,
            [self.line, self.line],
        );
        r.id = format!("{}#{tag}", self.doc.id);
        r.heading_path = self.heading_path.clone();
        self.doc.records.push(r);
        self.doc.line_count = self.line;
        self.doc.records.last_mut().expect("just pushed")
    }

    fn heading(&mut self, tag: &str, level: u8, text: &str) {
        self.heading_path.truncate(level.saturating_sub(1) as usize);
        self.push(tag, RecordKind::Heading, text).level = Some(level);
        self.heading_path.push(text.to_string());
    }
}

fn fill(t: &str, a: u32, b: u32) -> String {
    t.replace("{a}", &a.to_string()).replace("{b}", &b.to_string())
}

/// Generates a zh document and its English translation, `edits` applied to
/// the English side. `n` names them (`zh/gen-{n}`, `en/gen-{n}`).
pub fn pair(n: usize, shape: &Shape, edits: &Edits, seed: u64) -> (Document, Document) {
    let mut rng = Rng::new(seed ^ (n as u64).wrapping_mul(0x1000_0001));
    let (tz, te) = (format!("合作伙伴指南 {n}"), format!("Partner guide {n}"));
    let mut zh = Builder::new(&format!("zh/gen-{n}"), Lang::Zh, &tz);
    let mut en = Builder::new(&format!("en/gen-{n}"), Lang::En, &te);
    zh.heading("title", 1, &tz);
    en.heading("title", 1, &te);
    let mut table_no = 0u32;
    for s in 0..shape.sections {
        let (hz, he) = HEADINGS[rng.below(HEADINGS.len())];
        let sec_no = (n * 100 + s + 11) as u32;
        let keep = edits.delete_section != Some(s);
        zh.heading(&format!("s{s}"), 2, &format!("{hz} {sec_no}"));
        if keep {
            en.heading(&format!("s{s}"), 2, &format!("{he} {sec_no}"));
        }
        let (pz, pe) = SENTENCES[rng.below(SENTENCES.len())];
        let (a, b) = (rng.below(90) as u32 + 10, rng.below(900) as u32 + 100);
        let url = format!("https://partner.example.com/docs/{n}/{s}");
        let link = |b: &mut Builder, tag: &str, t: &str| {
            b.push(tag, RecordKind::Paragraph, t).links.push(Link { text: "doc".into(), url: url.clone() });
        };
        link(&mut zh, &format!("s{s}.p"), &fill(pz, a, b));
        if keep {
            link(&mut en, &format!("s{s}.p"), &fill(pe, a, b));
        }
        for i in 0..shape.items {
            let (iz, ie) = SENTENCES[rng.below(SENTENCES.len())];
            let (a, b) = (rng.below(50) as u32 + 2, rng.below(5000) as u32 + 60);
            let tag = format!("s{s}.i{i}");
            let r = zh.push(&tag, RecordKind::ListItem, &fill(iz, a, b));
            r.ordinal = Some(format!("{}.", i + 1));
            r.number = Some(i as u32 + 1);
            if !keep {
                continue;
            }
            let et = fill(ie, a, b);
            if edits.split_item == Some((s, i)) {
                let (first, second) = split_sentence(&et);
                en.push(&format!("{tag}a"), RecordKind::ListItem, &first);
                en.push(&format!("{tag}b"), RecordKind::ListItem, &second);
            } else {
                let r = en.push(&tag, RecordKind::ListItem, &et);
                r.ordinal = Some(format!("{}.", i + 1));
                r.number = Some(i as u32 + 1);
            }
        }
        if shape.rows > 0 {
            table_no += 1;
            zh.push(&format!("s{s}.th"), RecordKind::TableHeader, "类别 | 人数 | 说明");
            if keep {
                en.push(&format!("s{s}.th"), RecordKind::TableHeader, "Category | Number of people | Description");
            }
            let mut rows_z = Vec::new();
            let mut rows_e = Vec::new();
            for r in 0..shape.rows {
                let (hz, he) = HEADINGS[rng.below(HEADINGS.len())];
                let (cz, ce) = SENTENCES[rng.below(SENTENCES.len())];
                let (a, b) = (rng.below(9000) as u32 + 100, rng.below(90) as u32 + 5);
                let count = (r as u32 + 1) * 7 + a % 5;
                rows_z.push((format!("s{s}.r{r}"), [hz.to_string(), format!("{count} 人"), fill(cz, a, b)]));
                rows_e.push((format!("s{s}.r{r}"), [he.to_string(), format!("{count}"), fill(ce, a, b)]));
            }
            if let Some((ss, r)) = edits.swap_rows {
                if ss == s && r + 1 < rows_e.len() {
                    rows_e.swap(r, r + 1);
                }
            }
            for (b, rows, heads) in [
                (&mut zh, rows_z, ["类别", "人数", "说明"]),
                (&mut en, if keep { rows_e } else { Vec::new() }, ["Category", "Number of people", "Description"]),
            ] {
                for (tag, cells) in rows {
                    let text = cells.join(" | ");
                    let rec = b.push(&tag, RecordKind::TableRow, &text);
                    rec.table = Some(table_no);
                    rec.cells = cells
                        .iter()
                        .zip(heads)
                        .map(|(t, h)| Cell { header: h.to_string(), text: t.clone(), spanned: false })
                        .collect();
                }
            }
        }
        if s % 2 == 1 {
            let src = format!("https://img.example.com/{n}/{s}.png");
            zh.push(&format!("s{s}.img"), RecordKind::Image, "")
                .images
                .push(Image { alt: String::new(), src: src.clone() });
            if keep {
                en.push(&format!("s{s}.img"), RecordKind::Image, "").images.push(Image { alt: String::new(), src });
            }
        }
    }
    (zh.doc, en.doc)
}

fn split_sentence(t: &str) -> (String, String) {
    match t.split_once(", ") {
        Some((a, b)) => (format!("{a}."), b.to_string()),
        None => {
            let mid = t.len() / 2;
            let cut = t[..mid].rfind(' ').unwrap_or(mid);
            (t[..cut].to_string(), t[cut..].trim().to_string())
        }
    }
}

/// A corpus of `pairs` translated document pairs plus `extra_zh` Chinese
/// documents with no counterpart, in a shuffled order.
pub fn corpus(pairs: usize, extra_zh: usize, shape: &Shape, seed: u64) -> Vec<Document> {
    let mut docs = Vec::new();
    for n in 0..pairs {
        let (z, e) = pair(n, shape, &Edits::default(), seed);
        docs.push(z);
        docs.push(e);
    }
    for k in 0..extra_zh {
        let (z, _) = pair(pairs + k, shape, &Edits::default(), seed.wrapping_add(7));
        docs.push(z);
    }
    let mut rng = Rng::new(seed);
    for i in (1..docs.len()).rev() {
        let j = rng.below(i + 1);
        docs.swap(i, j);
    }
    docs
}

/// The truth tag of a synthetic record id (`zh/gen-3#s2.i1` → `gen-3#s2.i1`).
pub fn truth(id: &str) -> &str {
    id.split_once('/').map(|(_, t)| t).unwrap_or(id)
}
