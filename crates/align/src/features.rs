//! Language-independent features of a piece of text: the numbers it states,
//! the link targets it names, the lexicon concepts it mentions and a length
//! measured so that a Chinese text and its English translation come out about
//! equally long. Everything the aligner compares is built from these.

use kb_model::{Lang, Record};

use crate::lexicon::{Concept, Lexicon};

/// English characters per Chinese (Han) character in a typical translation
/// (measured on the shipped BlueKing pair: 3.7).
pub const HAN_UNITS: f64 = 3.5;

/// A number stated in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    /// As written (`100`, `2.5`, `1,000`), with its multiplier word if any (`100万`).
    pub written: String,
    /// Canonical values it may stand for (`100万` → `100`, `1000000`).
    pub keys: Vec<String>,
}

/// Features of a text (or of several texts merged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feats {
    /// Translation-neutral length.
    pub units: f64,
    /// Numbers written with digits.
    pub numbers: Vec<Num>,
    /// Numbers written as words (`四类`, `four`); they only ever confirm a
    /// number of the other side, never count as a number of their own.
    pub word_numbers: Vec<String>,
    /// Language-neutral link targets (`host/path`), sorted.
    pub urls: Vec<String>,
    /// Lexicon concepts mentioned, sorted (repeats kept).
    pub concepts: Vec<Concept>,
    /// Image sources, sorted.
    pub images: Vec<String>,
}

impl Feats {
    /// Features of one record.
    pub fn of_record(r: &Record, lex: &Lexicon) -> Feats {
        let text = strip_ordinal(r);
        let mut f = Feats::of_text(text, r.lang, lex);
        f.urls = r.links.iter().filter_map(|l| url_key(&l.url)).collect();
        f.urls.sort();
        f.images = r.images.iter().map(|i| i.src.clone()).collect();
        f.images.sort();
        f
    }

    /// Features of a plain text.
    pub fn of_text(text: &str, lang: Lang, lex: &Lexicon) -> Feats {
        let (numbers, word_numbers) = numbers(text, lang);
        let mut concepts = lex.concepts(text, lang);
        concepts.sort_unstable();
        Feats { units: units(text), numbers, word_numbers, urls: Vec::new(), concepts, images: Vec::new() }
    }

    /// Adds `other` into `self` (for a merged bead or an aggregated section).
    pub fn absorb(&mut self, other: &Feats) {
        self.units += other.units;
        self.numbers.extend(other.numbers.iter().cloned());
        self.word_numbers.extend(other.word_numbers.iter().cloned());
        merge_sorted(&mut self.urls, &other.urls);
        merge_sorted(&mut self.concepts, &other.concepts);
        merge_sorted(&mut self.images, &other.images);
    }

    /// True when the text carries anything besides its length.
    pub fn has_anchors(&self) -> bool {
        !self.numbers.is_empty() || !self.urls.is_empty() || !self.concepts.is_empty()
    }
}

fn merge_sorted<T: Ord + Clone>(a: &mut Vec<T>, b: &[T]) {
    if b.is_empty() {
        return;
    }
    a.extend(b.iter().cloned());
    a.sort();
}

/// The record's text without its leading item marker (`1.`, `Step 3.`,
/// `步骤一：`), whether the parser split it off as the ordinal or left it in
/// the text (numbered headings): item numbers are not content.
pub fn strip_ordinal(r: &Record) -> &str {
    let t = r.text.trim_start();
    if let Some(o) = r.ordinal.as_deref() {
        if let Some(rest) = t.strip_prefix(o.trim()) {
            return rest;
        }
    }
    strip_marker(t)
}

/// Strips a leading `1.` / `1、` / `1)` / `(1)` / `Step 1:` / `步骤一：` marker.
pub fn strip_marker(t: &str) -> &str {
    let mut rest = t;
    let lower = rest.get(..5).map(|p| p.to_ascii_lowercase());
    if lower.as_deref() == Some("step ") {
        rest = rest[5..].trim_start();
    } else if let Some(r) = rest.strip_prefix("步骤") {
        let n = r.chars().take_while(|c| ZH_DIGITS.iter().any(|(d, _)| d == c) || c.is_ascii_digit()).count();
        if n == 0 {
            return t;
        }
        let r = &r[r.char_indices().nth(n).map(|(i, _)| i).unwrap_or(r.len())..];
        return r.trim_start_matches([':', '：', '.', ' ', '、']);
    } else if let Some(r) = rest.strip_prefix(['(', '（']) {
        rest = r;
    }
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 3 {
        return t;
    }
    let after = &rest[digits..];
    let mut chars = after.chars();
    match chars.next() {
        Some('.' | '、' | ')' | '）' | ':' | '：') => {
            let r = chars.as_str();
            if r.is_empty() || r.starts_with(char::is_whitespace) || !r.starts_with(|c: char| c.is_ascii_digit()) {
                r.trim_start()
            } else {
                t
            }
        }
        _ => t,
    }
}

/// Translation-neutral length: a Han character counts [`HAN_UNITS`], any
/// other visible character 1, whitespace 0.
pub fn units(text: &str) -> f64 {
    let mut u = 0.0;
    for c in text.chars() {
        if is_han(c) {
            u += HAN_UNITS;
        } else if !c.is_whitespace() {
            u += 1.0;
        }
    }
    u
}

/// A CJK unified ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

const ZH_DIGITS: [(char, u32); 11] = [
    ('一', 1),
    ('二', 2),
    ('两', 2),
    ('三', 3),
    ('四', 4),
    ('五', 5),
    ('六', 6),
    ('七', 7),
    ('八', 8),
    ('九', 9),
    ('十', 10),
];
const ZH_CLASSIFIERS: &str = "个年人名类种级天月周次家项步条点位份季";
const EN_NUMBER_WORDS: [(&str, u32); 13] = [
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("twenty", 20),
];

/// The numbers of a text: those written with digits, and those written as
/// words (Chinese numeral + classifier, English number words).
pub fn numbers(text: &str, lang: Lang) -> (Vec<Num>, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut nums = Vec::new();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            let prev = if start > 0 { Some(chars[start - 1]) } else { None };
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || ((chars[j] == '.' || chars[j] == ',')
                        && j + 1 < chars.len()
                        && chars[j + 1].is_ascii_digit()
                        && j > start))
            {
                j += 1;
            }
            // Letters glued on: allow a short unit (`2GB`, `10ms`), reject ids and hashes.
            let mut k = j;
            while k < chars.len() && (chars[k].is_ascii_alphanumeric() || chars[k] == '_') {
                k += 1;
            }
            let glued_before = prev.is_some_and(|p| p.is_ascii_alphabetic() || p == '_' || p == '#' || p == '/');
            let glued_after = k - j > 3 || chars[j..k].iter().any(|c| c.is_ascii_digit());
            if !glued_before && !glued_after {
                let raw: String = chars[start..j].iter().collect();
                let plain = raw.replace(',', "");
                if let Ok(v) = plain.parse::<f64>() {
                    let mut keys = vec![fmt_value(v)];
                    let mut written = raw.clone();
                    let rest: String = chars[j..chars.len().min(j + 12)].iter().collect();
                    let rest_trim = rest.trim_start().to_ascii_lowercase();
                    let mult = if rest.starts_with('万') {
                        written.push('万');
                        Some(1e4)
                    } else if rest.starts_with('亿') {
                        written.push('亿');
                        Some(1e8)
                    } else if rest_trim.starts_with("million") {
                        Some(1e6)
                    } else if rest_trim.starts_with("billion") {
                        Some(1e9)
                    } else if rest_trim.starts_with("thousand")
                        || (rest_trim.starts_with('k')
                            && !rest_trim[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
                    {
                        Some(1e3)
                    } else {
                        None
                    };
                    if let Some(m) = mult {
                        keys.push(fmt_value(v * m));
                    }
                    nums.push(Num { written, keys });
                }
            }
            i = k.max(j).max(i + 1);
            continue;
        }
        if lang == Lang::Zh {
            if let Some(&(_, v)) = ZH_DIGITS.iter().find(|(d, _)| *d == c) {
                if chars.get(i + 1).is_some_and(|n| ZH_CLASSIFIERS.contains(*n)) {
                    words.push(v.to_string());
                }
            }
        }
        i += 1;
    }
    for w in crate::lexicon::en_words(text) {
        if let Some(&(_, v)) = EN_NUMBER_WORDS.iter().find(|(n, _)| *n == w) {
            words.push(v.to_string());
        }
    }
    (nums, words)
}

/// A language-neutral key for a link target: lower-cased host and path,
/// without scheme, `www.`, query, fragment, trailing `/` or `.md`, and without
/// language path segments (`zh`, `en`, `zh-cn`, …).
/// `None` for links that name no target (`#anchor`, `mailto:` kept).
pub fn url_key(url: &str) -> Option<String> {
    let u = url.trim();
    let u = u.split(['#', '?']).next().unwrap_or("");
    if u.is_empty() {
        return None;
    }
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .or_else(|| lower.strip_prefix("//"))
        .unwrap_or(&lower);
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let mut segs: Vec<String> = Vec::new();
    for s in rest.split('/') {
        if s.is_empty() || s == "." {
            continue;
        }
        if s == ".." {
            segs.push("..".into());
            continue;
        }
        if Lang::parse(s).is_some() {
            // `/zh/docs/x` and `/docs/x` (the default language) are one target.
            continue;
        } else {
            segs.push(s.strip_suffix(".md").unwrap_or(s).to_string());
        }
    }
    if segs.is_empty() {
        return None;
    }
    Some(segs.join("/"))
}

/// The path part of a [`url_key`] (without the host), when it has one; two
/// sites for two markets often share paths but not hosts.
pub fn url_path(key: &str) -> Option<&str> {
    let (host, path) = key.split_once('/')?;
    (host.contains('.') && !path.is_empty()).then_some(path)
}

pub use kb_model::dice_sorted;

/// How the numbers of two texts match: (matched, only in `a`, only in `b`),
/// where a number of one side written with digits is matched by any key of
/// a digit number of the other side, or by a number word there.
pub fn match_numbers<'a>(a: &'a Feats, b: &'a Feats) -> (usize, Vec<&'a Num>, Vec<&'a Num>) {
    let mut used_b = vec![false; b.numbers.len()];
    let mut only_a = Vec::new();
    let mut matched = 0;
    for n in &a.numbers {
        let hit =
            b.numbers.iter().enumerate().position(|(j, m)| !used_b[j] && n.keys.iter().any(|k| m.keys.contains(k)));
        match hit {
            Some(j) => {
                used_b[j] = true;
                matched += 1;
            }
            None if n.keys.iter().any(|k| b.word_numbers.contains(k)) => matched += 1,
            None => only_a.push(n),
        }
    }
    let only_b = b
        .numbers
        .iter()
        .zip(&used_b)
        .filter(|(m, used)| !**used && !m.keys.iter().any(|k| a.word_numbers.contains(k)))
        .map(|(m, _)| m)
        .collect();
    (matched, only_a, only_b)
}

/// Similarity of the numbers of two texts in [0, 1], `None` when neither states one.
pub fn number_sim(a: &Feats, b: &Feats) -> Option<f64> {
    if a.numbers.is_empty() && b.numbers.is_empty() {
        return None;
    }
    let (m, oa, ob) = match_numbers(a, b);
    let matched_b = b.numbers.len() - ob.len();
    let total = (m + oa.len()) + b.numbers.len();
    Some(((m + matched_b) as f64 / total.max(1) as f64).min(1.0))
}

/// Similarity of the link targets of two texts in [0, 1] (a shared path on
/// different hosts counts 0.7), `None` when neither has a link.
pub fn url_sim(a: &[String], b: &[String]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let full = dice_sorted(a, b);
    let mut pa: Vec<&str> = a.iter().filter_map(|k| url_path(k)).collect();
    let mut pb: Vec<&str> = b.iter().filter_map(|k| url_path(k)).collect();
    pa.sort_unstable();
    pb.sort_unstable();
    let path = if pa.is_empty() && pb.is_empty() { 0.0 } else { dice_sorted(&pa, &pb) };
    Some(full.max(0.7 * path))
}

/// Similarity of the lexicon concepts of two texts, `None` when neither mentions one.
pub fn concept_sim(a: &[Concept], b: &[Concept]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    Some(dice_sorted(a, b))
}

/// Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26).
pub fn phi(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + y)
    } else {
        0.5 * (1.0 - y)
    }
}

/// Variance per unit of length of the translation length model.
pub const LENGTH_VARIANCE: f64 = 9.0;

/// Gale–Church: the probability that lengths `a` and `b` (in units) are
/// translations of each other, `2·(1 − Φ(|δ|))`.
pub fn length_prob(a: f64, b: f64) -> f64 {
    let mean = (a + b) / 2.0;
    if mean <= 0.0 {
        return 1.0;
    }
    let delta = (b - a) / (LENGTH_VARIANCE * mean.max(1.0)).sqrt();
    (2.0 * (1.0 - phi(delta.abs()))).clamp(1e-12, 1.0)
}

/// Rounds a score to 3 decimals so that JSON output is stable across builds.
pub fn round3(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    ((x.clamp(0.0, 1.0)) * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nums(t: &str, lang: Lang) -> Vec<String> {
        numbers(t, lang).0.into_iter().map(|n| n.keys.join("=")).collect()
    }

    #[test]
    fn numbers_skip_hashes_and_keep_units_and_multipliers() {
        assert_eq!(nums("注册资本人民币100万元以上；20人以上", Lang::Zh), ["100=1000000", "20"]);
        assert_eq!(nums("raw/5303edd1522fc938 takes 2–4 business days, 10ms", Lang::En), ["2", "4", "10"]);
        assert_eq!(nums("1,000 users and 2.50 CNY and v1.2", Lang::En), ["1000", "2.5"]);
    }

    #[test]
    fn number_words_confirm_digits_of_the_other_side() {
        let lex = Lexicon::shipped();
        let zh = Feats::of_text("分为四类，至少3人", Lang::Zh, lex);
        let en = Feats::of_text("divided into 4 categories, at least three people", Lang::En, lex);
        let (m, a, b) = match_numbers(&zh, &en);
        assert_eq!((m, a.len(), b.len()), (1, 0, 0));
    }

    #[test]
    fn item_markers_are_not_numbers() {
        assert_eq!(strip_marker("1. Tencent Cloud Account Registration"), "Tencent Cloud Account Registration");
        assert_eq!(strip_marker("Step 4: Wait for the review"), "Wait for the review");
        assert_eq!(strip_marker("步骤三：提交合作伙伴申请"), "提交合作伙伴申请");
        assert_eq!(strip_marker("2）服务费"), "服务费");
        assert_eq!(strip_marker("1.5 million users"), "1.5 million users");
        assert_eq!(strip_marker("2024. A year"), "2024. A year");
    }

    #[test]
    fn url_keys_are_language_neutral() {
        assert_eq!(url_key("https://www.Example.com/zh/docs/a.md#x").unwrap(), "example.com/docs/a");
        assert_eq!(url_key("../en/docs/a.md").unwrap(), "../docs/a");
        assert_eq!(
            url_key("https://apisix.apache.org/zh/docs/x/").unwrap(),
            url_key("https://apisix.apache.org/docs/x").unwrap()
        );
        assert_eq!(url_key("#top"), None);
        let a = vec![url_key("https://console.cloud.tencent.com/developer").unwrap()];
        let b = vec![url_key("https://console.intl.cloud.tencent.com/developer").unwrap()];
        assert_eq!(url_sim(&a, &b), Some(0.7));
    }

    #[test]
    fn length_model_prefers_translation_lengths() {
        let zh = units("腾讯蓝鲸合作伙伴分为四类，详情见下表。");
        let en = units("Tencent BlueKing partners are divided into four categories, see the table below for details.");
        assert!(length_prob(zh, en) > 0.3, "{zh} {en}");
        assert!(length_prob(zh, en * 4.0) < 0.01);
    }
}
