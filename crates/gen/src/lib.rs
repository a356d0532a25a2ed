//! A deterministic generator of realistic bilingual partner-programme documents.
//!
//! kb's scale tests and benchmarks need corpora far larger than the five
//! shipped documents, with the features that make the real ones hard: `1、`
//! conditions with thresholds in Arabic and Chinese numerals, qualification
//! tables (Markdown and HTML with rowspan), FAQ entries, steps, callouts,
//! images and links — and English translations that drift (an item missing, a
//! number changed, numbering restarted, a section left out, rows swapped).
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let stats = kb_gen::generate(dir.path(), &kb_gen::Spec { documents: 20, seed: 7 }).unwrap();
//! assert_eq!(stats.documents, 20);
//! ```
//!
//! The same [`Spec`] always gives the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Number of documents (zh and en together).
    pub documents: usize,
    /// Seed of the pseudo-random choices.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Documents written.
    pub documents: usize,
    /// zh/en pairs among them (same relative path under `zh/` and `en/`).
    pub pairs: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const PROGRAMMES: &[(&str, &str, &str)] = &[
    ("cloud-marketplace", "云市场", "Cloud Marketplace"),
    ("channel-partner", "渠道合作伙伴计划", "Channel Partner Program"),
    ("solution-partner", "解决方案合作伙伴计划", "Solution Partner Program"),
    ("training-partner", "培训合作伙伴计划", "Training Partner Program"),
    ("service-provider", "技术服务商计划", "Technical Service Provider Program"),
    ("isv-program", "独立软件开发商计划", "ISV Program"),
];

const MARKETS: &[(&str, &str, &str)] = &[
    ("mini-program", "微信小程序市场", "WeChat Mini Program Market"),
    ("image", "镜像市场", "Image Market"),
    ("api", "API 服务市场", "API Service Market"),
    ("website", "网站建设市场", "Website Building Market"),
    ("security", "安全服务市场", "Security Services Market"),
    ("data", "数据服务市场", "Data Services Market"),
    ("enterprise-apps", "企业应用市场", "Enterprise Applications Market"),
    ("ops", "运维服务市场", "Operations Services Market"),
];

const CN_DIGITS: [&str; 11] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn cn(n: u32) -> String {
    if n <= 10 {
        CN_DIGITS[n as usize].to_string()
    } else if n < 20 {
        format!("十{}", CN_DIGITS[(n - 10) as usize])
    } else {
        n.to_string()
    }
}

/// One condition in both languages.
fn condition(rng: &mut Rng, k: usize) -> (String, String) {
    match k % 12 {
        0 => {
            let n = *rng.pick(&[50u32, 100, 200, 300, 500, 1000]);
            (format!("服务商注册资本人民币{n}万元以上；"), format!("Registered capital of at least CNY {},000;", n * 10))
        }
        1 => {
            let n = *rng.pick(&[10u32, 15, 20, 30, 50]);
            (format!("公司人员规模{n}人以上，有成熟的客户运营体系；"), format!("A company headcount of {n} or more, with a mature customer operations system;"))
        }
        2 => {
            let n = *rng.pick(&[5u32, 10, 15, 20]);
            (format!("具有{n}人以上的技术及服务团队；"), format!("A technical and service team of {n} or more people;"))
        }
        3 => {
            let n = *rng.pick(&[1u32, 2, 3]);
            (format!("至少{n}名专职云市场运营人员；"), format!("At least {n} full-time marketplace operations staff;"))
        }
        4 => {
            let n = *rng.pick(&[1u32, 2, 3, 5]);
            (format!("主体企业成立满{n}年；"), format!("The company has been established for at least {n} years;"))
        }
        5 => {
            let n = *rng.pick(&[2u32, 3, 5]);
            (format!("拥有{}年及以上该行业的服务经验；", cn(n)), format!("At least {n} years of service experience in the industry;"))
        }
        6 => {
            let h = *rng.pick(&[8u32, 12, 24]);
            (format!("可提供不少于7 * {h}小时的客服在线服务；"), format!("Online customer service of no less than 7 × {h} hours;"))
        }
        7 => {
            let n = *rng.pick(&[1000u32, 5000, 10000]);
            (format!("SaaS 产品注册用户量大于{n}，且必须为自主研发；"), format!("More than {n} registered users of the SaaS product, which must be self-developed;"))
        }
        8 => {
            let n = *rng.pick(&[3u32, 5, 10]);
            (format!("需提供{n}个质量较高的客户案例用于评估；"), format!("Provide {n} high-quality customer cases for evaluation;"))
        }
        9 => {
            let n = *rng.pick(&[2u32, 3, 5]);
            (format!("至少{n}人取得高级运维工程师培训认证；"), format!("At least {n} people certified as senior operations engineers;"))
        }
        10 => (
            "企业市场形象良好，无服务质量、产品质量相关的负面新闻；".to_string(),
            "A good market image, with no negative news about service or product quality;".to_string(),
        ),
        _ => (
            "接受《服务代销协议》及《[服务商管理规范](https://partner.example.com/doc/rules)》。".to_string(),
            "Accept the Service Resale Agreement and the [Provider Management Rules](https://partner.example.com/doc/rules).".to_string(),
        ),
    }
}

struct Pair {
    zh: String,
    en: String,
}

impl Pair {
    fn new() -> Self {
        Pair { zh: String::new(), en: String::new() }
    }
    fn both(&mut self, zh: &str, en: &str) {
        self.zh.push_str(zh);
        self.en.push_str(en);
    }
}

/// Writes one document pair's text (zh and en versions, with drift).
fn document(rng: &mut Rng, n: usize) -> Pair {
    let (_, pzh, pen) = *rng.pick(PROGRAMMES);
    let mut d = Pair::new();
    let _ = writeln!(d.zh, "# {pzh}服务商入驻指南（{n}）\n");
    let _ = writeln!(d.en, "# {pen} Provider Onboarding Guide ({n})\n");
    d.both(
        &format!("本文介绍成为{pzh}服务商的条件、申请步骤及常见问题。\n\n"),
        &format!(
            "This document describes the conditions, application steps and FAQ for becoming a {pen} provider.\n\n"
        ),
    );
    // Conditions per market.
    d.both("## 入驻条件\n\n", "## Onboarding Conditions\n\n");
    let markets = 2 + rng.below(3);
    let drop_section = rng.chance(15).then(|| rng.below(markets));
    for m in 0..markets {
        let (_, mzh, men) = *rng.pick(MARKETS);
        let count = 4 + rng.below(5);
        let mut items: Vec<(String, String)> = (0..count)
            .map(|_| {
                let k = rng.below(12);
                condition(rng, k)
            })
            .collect();
        let _ = write!(d.zh, "### {mzh}\n\n成为{mzh}服务商需要符合以下条件：\n");
        for (i, (zh, _)) in items.iter().enumerate() {
            let _ = writeln!(d.zh, "{}、{zh}", i + 1);
        }
        d.zh.push('\n');
        if drop_section == Some(m) {
            continue; // the English version left this market out
        }
        let _ = write!(d.en, "### {men}\n\nA {men} provider must meet the following conditions:\n\n");
        if rng.chance(20) {
            let k = rng.below(items.len());
            items.remove(k); // an item missing in translation
        }
        if rng.chance(20) {
            let k = rng.below(items.len());
            items[k].1 = items[k].1.replacen(|c: char| c.is_ascii_digit(), "9", 1);
            // a number drifted
        }
        for (i, (_, en)) in items.iter().enumerate() {
            let _ = writeln!(d.en, "{}. {en}", i + 1);
        }
        d.en.push('\n');
    }
    // Qualification table.
    d.both("## 资质要求\n\n", "## Qualification Requirements\n\n");
    d.both(
        "| 类别 | 认证工程师人数 | 服务费 |\n| --- | --- | --- |\n",
        "| Category | Certified Engineers | Service Fee |\n| --- | --- | --- |\n",
    );
    let mut rows: Vec<(String, String)> = ["金牌", "银牌", "铜牌", "注册"]
        .iter()
        .zip(["Gold", "Silver", "Bronze", "Registered"])
        .enumerate()
        .map(|(i, (zh, en))| {
            let n = 10 - 2 * i;
            let fee = i < 2;
            (
                format!("| {zh}合作伙伴 | {n} 个 | {} |\n", if fee { "有" } else { "无" }),
                format!("| {en} Partner | {n} | {} |\n", if fee { "Yes" } else { "No" }),
            )
        })
        .collect();
    for (zh, _) in &rows {
        d.zh.push_str(zh);
    }
    if rng.chance(15) {
        rows.swap(1, 2);
    }
    for (_, en) in &rows {
        d.en.push_str(en);
    }
    d.both("\n", "\n");
    if rng.chance(40) {
        d.both(
            "<table>\n<tr><th colspan=\"2\">权益</th><th>说明</th></tr>\n<tr><td rowspan=\"3\">公共权益</td></tr>\n<tr><td>培训资源</td><td>专属课程<br>实验环境</td></tr>\n<tr><td>市场推广</td><td>官网推荐<br>联合活动</td></tr>\n</table>\n\n",
            "<table>\n<tr><th colspan=\"2\">Benefits</th><th>Details</th></tr>\n<tr><td rowspan=\"3\">Public benefits</td></tr>\n<tr><td>Training resources</td><td>Exclusive courses<br>Lab environments</td></tr>\n<tr><td>Marketing</td><td>Website recommendation<br>Joint events</td></tr>\n</table>\n\n",
        );
    }
    // Steps.
    d.both("## 申请指引\n\n", "## Application Guide\n\n");
    let steps = [
        ("注册账号", "Register an account", "https://partner.example.com/register"),
        ("完成企业实名认证", "Complete organization verification", "https://console.example.com/developer"),
        ("提交服务商申请", "Submit the provider application", "https://partner.example.com/apply"),
        ("签订合同协议", "Sign the contract", "https://partner.example.com/contract"),
    ];
    for (i, (zh, en, url)) in steps.iter().enumerate() {
        let img = format!("https://img.example.com/{n}-{i}.png");
        let _ = write!(
            d.zh,
            "#### 步骤{}：{zh}\n进入 [{zh}页面]({url})，按提示填写信息。\n![]({img})\n\n",
            cn(i as u32 + 1)
        );
        let _ = write!(
            d.en,
            "Step {}. {en}: open the [{en} page]({url}) and fill in the form.\n\n![img]({img})\n\n",
            i + 1
        );
    }
    d.both(
        ">!\n>- 请确保填写的公司名称与营业执照一致。\n\n",
        ">! Make sure the company name matches the business license.\n\n",
    );
    // FAQ.
    let days = 3 + rng.below(8);
    d.both(
        &format!("## 常见问题\n\n### 审核需要多长时间？\n工作人员将在 {days} 个工作日内完成审核。\n\n"),
        &format!(
            "## FAQ\n\n### How long does the review take?\nThe review is completed within {days} working days.\n\n"
        ),
    );
    d.both(
        "### 个人能否成为服务商？\n抱歉，必须是企业认证的用户才能入驻。\n\n",
        "### Can individuals become providers?\nSorry, only verified enterprises can join.\n\n",
    );
    d.both(
        "### 入驻前需要准备哪些材料？\n企业的营业执照、银行开户许可证。\n",
        "### What documents are needed before joining?\nThe business license and the bank account opening permit.\n",
    );
    d
}

/// Writes a corpus of `spec.documents` documents under `dir` (`zh/…`, `en/…`).
pub fn generate(dir: &Path, spec: &Spec) -> Result<Stats, Error> {
    let mut rng = Rng(spec.seed);
    let mut stats = Stats::default();
    let mut n = 0usize;
    while stats.documents < spec.documents {
        n += 1;
        let (slug, _, _) = *rng.pick(PROGRAMMES);
        let (market, _, _) = *rng.pick(MARKETS);
        let rel = format!("{slug}/{market}-{n:05}.md");
        let d = document(&mut rng, n);
        let roll = rng.below(100);
        let left = spec.documents - stats.documents;
        let (zh, en) = if left == 1 || roll < 5 {
            (true, false)
        } else if roll < 10 {
            (false, true)
        } else {
            (true, true)
        };
        for (on, lang, text) in [(zh, "zh", &d.zh), (en, "en", &d.en)] {
            if !on {
                continue;
            }
            let path = dir.join(lang).join(&rel);
            let parent = path.parent().expect("has parent");
            std::fs::create_dir_all(parent).map_err(|source| Error::Write { path: parent.to_path_buf(), source })?;
            std::fs::write(&path, text).map_err(|source| Error::Write { path: path.clone(), source })?;
            stats.documents += 1;
            stats.bytes += text.len() as u64;
        }
        if zh && en {
            stats.pairs += 1;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for lang in ["zh", "en"] {
            let root = dir.join(lang);
            let Ok(progs) = std::fs::read_dir(&root) else { continue };
            for p in progs.flatten() {
                for f in std::fs::read_dir(p.path()).unwrap().flatten() {
                    out.push((
                        f.path().strip_prefix(dir).unwrap().display().to_string(),
                        std::fs::read(f.path()).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = Spec { documents: 30, seed: 1 };
        assert_eq!(generate(a.path(), &spec).unwrap(), generate(b.path(), &spec).unwrap());
        assert_eq!(tree(a.path()), tree(b.path()));
        generate(c.path(), &Spec { documents: 30, seed: 2 }).unwrap();
        assert_ne!(tree(a.path()), tree(c.path()));
    }

    #[test]
    fn exact_document_count_mostly_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(dir.path(), &Spec { documents: 101, seed: 3 }).unwrap();
        assert_eq!(s.documents, 101);
        assert_eq!(tree(dir.path()).len(), 101);
        assert!(s.pairs * 2 > 80, "{s:?}");
    }

    #[test]
    fn documents_carry_conditions_tables_steps_faq_and_drift() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &Spec { documents: 200, seed: 4 }).unwrap();
        let all = tree(dir.path());
        let zh: String = all
            .iter()
            .filter(|(p, _)| p.starts_with("zh"))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .collect();
        for needle in ["1、", "万元以上", "| 类别 |", "#### 步骤一", "### 审核需要多长时间？", ">!", "年及以上"]
        {
            assert!(zh.contains(needle), "{needle}");
        }
        // Drift: some pair has fewer English conditions than Chinese ones.
        let drifted = all.iter().filter(|(p, _)| p.starts_with("zh")).any(|(p, zb)| {
            let en = all.iter().find(|(q, _)| q[2..] == p[2..] && q.starts_with("en"));
            en.is_some_and(|(_, eb)| {
                let zi = String::from_utf8_lossy(zb).matches("、").count();
                let ei = String::from_utf8_lossy(eb)
                    .lines()
                    .filter(|l| l.len() > 2 && l.as_bytes()[0].is_ascii_digit() && l.contains(". "))
                    .count();
                ei + 2 < zi
            })
        });
        assert!(drifted);
    }
}
