//! Numbers and comparison words, read straight from the text with patterns
//! of our own (a word segmenter would split `不少于` into `不少` / `于`).
//!
//! A [`Mention`] is one quantity in a clause: its value (Arabic or Chinese
//! numerals, `万` / `亿` / `million` multipliers, `2–4` ranges, `7 * 8`
//! products), the unit word after it (or the currency before it), and the
//! operator the wording gives it (`以上`, `不少于`, `at least`, …).

use std::sync::OnceLock;

use kb_model::rules::Op;
use regex::Regex;

use crate::vocab::Vocabulary;

/// One quantity found in a clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Byte offset of the first character (operator word included).
    pub start: usize,
    /// Byte offset after the last character (unit and operator suffix included).
    pub end: usize,
    /// Byte span of the number itself.
    pub number: (usize, usize),
    /// The value: the high end of a range, the product of `a * b`.
    pub value: f64,
    /// For `2–4`: (2, 4).
    pub range: Option<(f64, f64)>,
    /// For `7 * 8`: (7, 8).
    pub factors: Option<(f64, f64)>,
    /// The canonical unit its unit word names (a key of the vocabulary's `[units]`).
    pub unit: Option<String>,
    /// The unit word as written.
    pub unit_word: Option<String>,
    /// The operator the wording states, if any.
    pub op: Option<Op>,
    /// Written in Chinese numerals.
    pub chinese: bool,
}

/// Prefix operator words (checked longest first, so `不少于` wins over `少于`).
const PREFIX_OPS: &[(&str, Op)] = &[
    (">=", Op::Ge),
    ("≥", Op::Ge),
    ("<=", Op::Le),
    ("≤", Op::Le),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("大于或等于", Op::Ge),
    ("大于等于", Op::Ge),
    ("不得少于", Op::Ge),
    ("不能少于", Op::Ge),
    ("不得低于", Op::Ge),
    ("不少于", Op::Ge),
    ("不低于", Op::Ge),
    ("不小于", Op::Ge),
    ("未达到", Op::Lt),
    ("不满", Op::Lt),
    ("未满", Op::Lt),
    ("至少", Op::Ge),
    ("最少", Op::Ge),
    ("最低", Op::Ge),
    ("达到", Op::Ge),
    ("满", Op::Ge),
    ("小于或等于", Op::Le),
    ("小于等于", Op::Le),
    ("不得超过", Op::Le),
    ("不能超过", Op::Le),
    ("不超过", Op::Le),
    ("不多于", Op::Le),
    ("不高于", Op::Le),
    ("不大于", Op::Le),
    ("最多", Op::Le),
    ("至多", Op::Le),
    ("大于", Op::Gt),
    ("超过", Op::Gt),
    ("多于", Op::Gt),
    ("高于", Op::Gt),
    ("少于", Op::Lt),
    ("低于", Op::Lt),
    ("小于", Op::Lt),
    ("不足", Op::Lt),
    ("a minimum of", Op::Ge),
    ("minimum of", Op::Ge),
    ("no less than", Op::Ge),
    ("not less than", Op::Ge),
    ("no fewer than", Op::Ge),
    ("not fewer than", Op::Ge),
    ("at least", Op::Ge),
    ("no more than", Op::Le),
    ("not more than", Op::Le),
    ("a maximum of", Op::Le),
    ("maximum of", Op::Le),
    ("at most", Op::Le),
    ("up to", Op::Le),
    ("within", Op::Le),
    ("more than", Op::Gt),
    ("greater than", Op::Gt),
    ("in excess of", Op::Gt),
    ("exceeding", Op::Gt),
    ("over", Op::Gt),
    ("less than", Op::Lt),
    ("fewer than", Op::Lt),
    ("under", Op::Lt),
];

/// Suffix operator words, after the unit.
const SUFFIX_OPS: &[(&str, Op)] = &[
    ("及以上", Op::Ge),
    ("或以上", Op::Ge),
    ("以上", Op::Ge),
    ("起", Op::Ge),
    ("及以下", Op::Le),
    ("或以下", Op::Le),
    ("以下", Op::Le),
    ("以内", Op::Le),
    ("之内", Op::Le),
    ("内", Op::Le),
    ("or more", Op::Ge),
    ("or above", Op::Ge),
    ("and above", Op::Ge),
    ("or higher", Op::Ge),
    ("at minimum", Op::Ge),
    ("minimum", Op::Ge),
    ("or less", Op::Le),
    ("or fewer", Op::Le),
    ("and below", Op::Le),
    ("or below", Op::Le),
    ("at most", Op::Le),
];

const CURRENCY_PREFIX: &[&str] = &["人民币", "rmb", "cny", "¥", "￥"];

/// The pattern of a quantity, with word boundaries `wb` (`\b`, or `(?-u:\b)`).
fn core_pattern(wb: &str) -> String {
    let num = format!(
        r"\d+(?:,\d{{3}})*(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+|{wb}(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred){wb}"
    );
    format!(
        r"(?i)(?P<a>{num})(?:\s*(?P<sep>[*×✕xX]|[–—\-~～至到]|{wb}to{wb})\s*(?P<b>{num}))?(?:\s*(?P<mul>千万|百万|万|亿|{wb}million{wb}|{wb}billion{wb}|{wb}thousand{wb}))?"
    )
}

/// The quantity pattern with Unicode word boundaries: the definition.
fn core_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&core_pattern(r"\b")).expect("number pattern"))
}

/// The same pattern with ASCII word boundaries, which the regex crate's
/// DFAs run on any text (a Unicode `\b` sends non-ASCII text to a much
/// slower engine). It finds exactly what [`core_re`] finds unless
/// [`needs_unicode_boundaries`]: every `\b` of the pattern sits beside an
/// ASCII letter of the pattern, and the two kinds of boundary differ only
/// beside a non-ASCII word character (or where case folding lets `s` match
/// `ſ` and `k` match the Kelvin sign).
fn core_re_ascii() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&core_pattern(r"(?-u:\b)")).expect("number pattern"))
}

/// True when `text` has an ASCII letter next to a non-ASCII word character
/// (`有one`), or a character that folds to an ASCII letter: there Unicode
/// and ASCII word boundaries disagree.
fn needs_unicode_boundaries(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    if text.is_ascii() {
        return false;
    }
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z][\w&&[^\x00-\x7F]]|[\w&&[^\x00-\x7F]][A-Za-z]|[ſK]").expect("boundary pattern")
    })
    .is_match(text)
}

/// The value of a numeral: Arabic (`1,000.5`), Chinese (`二`, `两`, `十`,
/// `一百二十`, `三千`) or an English number word (`two`).
pub fn numeral(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if t.chars().next()?.is_ascii_digit() {
        return t.replace(',', "").parse().ok();
    }
    if t.is_ascii() {
        let words = [
            ("one", 1.0),
            ("two", 2.0),
            ("three", 3.0),
            ("four", 4.0),
            ("five", 5.0),
            ("six", 6.0),
            ("seven", 7.0),
            ("eight", 8.0),
            ("nine", 9.0),
            ("ten", 10.0),
            ("eleven", 11.0),
            ("twelve", 12.0),
            ("fifteen", 15.0),
            ("twenty", 20.0),
            ("thirty", 30.0),
            ("forty", 40.0),
            ("fifty", 50.0),
            ("hundred", 100.0),
        ];
        let l = t.to_ascii_lowercase();
        return words.iter().find(|(w, _)| *w == l).map(|(_, v)| *v);
    }
    chinese_numeral(t)
}

/// The value of a Chinese numeral (`二`, `两`, `十`, `十五`, `一百零五`,
/// `三千`, `一万二千`, `二亿`).
pub fn chinese_numeral(s: &str) -> Option<f64> {
    let mut total = 0f64; // completed 亿/万 sections
    let mut section = 0f64; // current section below 万
    let mut digit: Option<f64> = None;
    for c in s.chars() {
        let d = match c {
            '零' | '〇' => Some(0.0),
            '一' => Some(1.0),
            '二' | '两' => Some(2.0),
            '三' => Some(3.0),
            '四' => Some(4.0),
            '五' => Some(5.0),
            '六' => Some(6.0),
            '七' => Some(7.0),
            '八' => Some(8.0),
            '九' => Some(9.0),
            _ => None,
        };
        if let Some(d) = d {
            digit = Some(d);
            continue;
        }
        let unit = match c {
            '十' => 10.0,
            '百' => 100.0,
            '千' => 1000.0,
            '万' => 10_000.0,
            '亿' => 100_000_000.0,
            _ => return None,
        };
        if unit >= 10_000.0 {
            section += digit.take().unwrap_or(0.0);
            total = (total + section) * unit;
            section = 0.0;
        } else {
            section += digit.take().unwrap_or(1.0) * unit;
        }
    }
    section += digit.unwrap_or(0.0);
    Some(total + section)
}

fn multiplier(m: &str) -> f64 {
    match m.to_ascii_lowercase().as_str() {
        "千万" => 10_000_000.0,
        "百万" | "million" => 1_000_000.0,
        "万" => 10_000.0,
        "亿" => 100_000_000.0,
        "billion" => 1_000_000_000.0,
        "thousand" => 1_000.0,
        _ => 1.0,
    }
}

/// Case-insensitive `starts_with` that, for an ASCII word, also wants a
/// non-alphanumeric character after it.
fn starts_with_word(hay: &str, word: &str) -> bool {
    if hay.len() < word.len() || !hay.is_char_boundary(word.len()) {
        return false;
    }
    let head = &hay[..word.len()];
    if word.is_ascii() {
        if !head.eq_ignore_ascii_case(word) {
            return false;
        }
        let last_alnum = word.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
        !last_alnum || !hay[word.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
    } else {
        head == word
    }
}

fn ends_with_word(hay: &str, word: &str) -> bool {
    if hay.len() < word.len() || !hay.is_char_boundary(hay.len() - word.len()) {
        return false;
    }
    let at = hay.len() - word.len();
    let tail = &hay[at..];
    if word.is_ascii() {
        if !tail.eq_ignore_ascii_case(word) {
            return false;
        }
        let first_alnum = word.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        !first_alnum || !hay[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
    } else {
        tail == word
    }
}

/// True when `rest` starts with a unit-like ASCII word (`7x24h`, `5million`, `3k`).
fn is_unit_start(rest: &str) -> bool {
    let w: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    matches!(w.as_str(), "h" | "hrs" | "x" | "million" | "billion" | "thousand" | "k" | "m")
}

/// Every quantity in `clause`, in order.
pub fn scan(clause: &str, vocab: &Vocabulary) -> Vec<Mention> {
    let mut out = Vec::new();
    let re = if needs_unicode_boundaries(clause) { core_re() } else { core_re_ascii() };
    for caps in re.captures_iter(clause) {
        let whole = caps.get(0).expect("match");
        let a = caps.name("a").expect("a");
        let before = &clause[..whole.start()];
        let prev = before.chars().last();
        let a_is_digit = a.as_str().starts_with(|c: char| c.is_ascii_digit());
        let chinese = !a_is_digit && !a.as_str().is_ascii();
        // identifiers (GB18030, x86) and ordinals (第一) are not quantities
        if a_is_digit && prev.is_some_and(|c| c.is_ascii_alphabetic()) {
            let word: String = before.chars().rev().take_while(|c| c.is_ascii_alphabetic()).collect();
            let word: String = word.chars().rev().collect();
            if !CURRENCY_PREFIX.iter().any(|p| p.eq_ignore_ascii_case(&word)) {
                continue;
            }
        }
        if chinese && prev == Some('第') {
            continue;
        }
        // issue numbers (#1918), paths and ratios (HTTP/2), versions (3.0.0, 3.3.X, v2)
        if a_is_digit {
            let next = clause[whole.end()..].chars().next();
            let after_next = clause[whole.end()..].chars().nth(1);
            if matches!(prev, Some('#' | '/' | '.' | '_'))
                || next.is_some_and(|c| c.is_ascii_alphabetic() && !is_unit_start(&clause[whole.end()..]))
                || (next == Some('.') && after_next.is_some_and(|c| c.is_ascii_alphanumeric()))
                || matches!(next, Some('/' | '_'))
            {
                continue;
            }
        }
        let Some(va) = numeral(a.as_str()) else {
            continue;
        };
        let mul = caps.name("mul").map(|m| multiplier(m.as_str())).unwrap_or(1.0);
        let mut value = va * mul;
        let mut range = None;
        let mut factors = None;
        if let (Some(sep), Some(b)) = (caps.name("sep"), caps.name("b")) {
            let Some(vb) = numeral(b.as_str()) else {
                continue;
            };
            match sep.as_str() {
                "*" | "×" | "✕" | "x" | "X" => {
                    factors = Some((va, vb));
                    value = va * vb * mul;
                }
                _ => {
                    let (lo, hi) = (va * mul, vb * mul);
                    if lo > hi {
                        continue;
                    }
                    range = Some((lo, hi));
                    value = hi;
                }
            }
        }
        if !value.is_finite() {
            continue;
        }
        // the unit word after the number (or the currency before it)
        let mut end = whole.end();
        let rest = clause[end..].trim_start();
        let mut unit = None;
        let mut unit_word = None;
        if rest.starts_with('%') || rest.starts_with('％') {
            unit = Some("percent".to_string());
            end = clause.len() - rest.len() + rest.chars().next().map_or(1, char::len_utf8);
        } else if let Some((w, u)) = vocab.unit_words.iter().find(|(w, _)| starts_with_word(rest, w)) {
            unit = Some(u.clone());
            unit_word = Some(rest[..w.len()].to_string());
            end = clause.len() - rest.len() + w.len();
        }
        let mut start = whole.start();
        let mut pre = before.trim_end();
        if let Some(cur) = CURRENCY_PREFIX.iter().find(|c| ends_with_word(pre, c)) {
            if unit.is_none() || unit.as_deref() == Some("CNY") {
                unit = Some("CNY".to_string());
            }
            pre = pre[..pre.len() - cur.len()].trim_end();
            start = pre.len();
        }
        // `7x24`, `5×8`: days a week × hours a day, even without 小时 / hours
        if unit.is_none() {
            if let Some((days, hours)) = factors {
                if (1.0..=7.0).contains(&days) && (1.0..=24.0).contains(&hours) && mul == 1.0 {
                    unit = Some("hours".to_string());
                }
            }
        }
        // Chinese numerals count only with a unit or multiplier (一定, 统一, 一级 are words)
        if chinese && unit.is_none() && caps.name("mul").is_none() {
            continue;
        }
        // operator: a word before the number, else one after the unit
        let mut op = None;
        if let Some((w, o)) = PREFIX_OPS.iter().find(|(w, _)| ends_with_word(pre, w)) {
            op = Some(*o);
            start = pre.len() - w.len();
        }
        let after = &clause[end..];
        let after_trim = after.trim_start();
        if let Some((w, o)) = SUFFIX_OPS.iter().find(|(w, _)| starts_with_word(after_trim, w)) {
            if op.is_none() {
                op = Some(*o);
            }
            end += after.len() - after_trim.len() + w.len();
        }
        out.push(Mention {
            start,
            end,
            number: (whole.start(), whole.end()),
            value,
            range,
            factors,
            unit,
            unit_word,
            op,
            chinese,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Mention {
        let m = scan(text, Vocabulary::builtin());
        assert_eq!(m.len(), 1, "{text}: {m:?}");
        m.into_iter().next().unwrap()
    }

    #[test]
    fn chinese_numerals_read_as_numbers() {
        for (s, v) in [
            ("二", 2.0),
            ("两", 2.0),
            ("十", 10.0),
            ("十五", 15.0),
            ("二十", 20.0),
            ("一百零五", 105.0),
            ("三千", 3000.0),
            ("一万二千", 12000.0),
            ("二亿", 200_000_000.0),
            ("一百万", 1_000_000.0),
        ] {
            assert_eq!(chinese_numeral(s), Some(v), "{s}");
        }
    }

    #[test]
    fn wan_and_yi_multiply() {
        assert_eq!(one("注册资本大于100万").value, 1_000_000.0);
        let m = one("注册资本人民币100万元以上");
        assert_eq!((m.value, m.unit.as_deref(), m.op), (1_000_000.0, Some("CNY"), Some(Op::Ge)));
        assert_eq!(one("注册资本1.5亿元").value, 150_000_000.0);
        assert_eq!(one("registered capital of RMB 2 million or more").value, 2_000_000.0);
    }

    #[test]
    fn comparison_words_give_the_operator() {
        for (text, op) in [
            ("公司人员规模20人以上", Op::Ge),
            ("拥有二年及以上该行业的服务经验", Op::Ge),
            ("主体企业成立满2年", Op::Ge),
            ("至少1名专职云市场运营人员", Op::Ge),
            ("不少于7 * 8小时的客服在线服务", Op::Ge),
            ("at least 3 engineers", Op::Ge),
            ("10 people or more", Op::Ge),
            ("注册用户量大于5000", Op::Gt),
            ("超过5000", Op::Gt),
            ("more than 5000 users", Op::Gt),
            ("5人以下", Op::Le),
            ("不超过5人", Op::Le),
            ("7 个工作日内完成审核", Op::Le),
            ("少于3人", Op::Lt),
            ("成立不满2年", Op::Lt),
            ("团队 ≥ 10 人", Op::Ge),
            ("team > 10 people", Op::Gt),
            ("低于3人", Op::Lt),
        ] {
            assert_eq!(one(text).op, Some(op), "{text}");
        }
        assert_eq!(one("需提供5个案例").op, None, "a bare count states no operator");
    }

    #[test]
    fn coverage_products_and_ranges() {
        let m = one("不少于7 * 8小时");
        assert_eq!((m.value, m.factors, m.unit.as_deref()), (56.0, Some((7.0, 8.0)), Some("hours")));
        assert_eq!(one("5×8小时").value, 40.0);
        let m = one("which usually takes 2–4 business days");
        assert_eq!((m.range, m.value, m.unit.as_deref()), (Some((2.0, 4.0)), 4.0, Some("working_days")));
        assert_eq!(one("2至3个工作日").range, Some((2.0, 3.0)));
    }

    #[test]
    fn chinese_numerals_with_units_count_and_words_do_not() {
        assert_eq!(one("两名工程师").value, 2.0);
        assert_eq!(one("十人").value, 10.0);
        assert!(scan("有一定数量的客户", Vocabulary::builtin()).is_empty());
        assert!(scan("统一管理，第一名", Vocabulary::builtin()).is_empty());
        assert!(scan("GB18030 编码", Vocabulary::builtin()).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Outside the texts where the two kinds of word boundary differ, the
        /// fast pattern finds exactly what the Unicode one finds.
        #[test]
        fn the_ascii_boundary_pattern_agrees_with_the_unicode_one(
            text in "([0-9一二两十万亿.,*×–~ ]|one|two|ten|six|to|million|thousand|seven|[a-zA-Z]|人|年|有|é|ſ|_|\\PC){0,24}",
        ) {
            let spans = |re: &Regex| -> Vec<Vec<Option<(usize, usize)>>> {
                re.captures_iter(&text)
                    .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect())
                    .collect()
            };
            if !needs_unicode_boundaries(&text) {
                proptest::prop_assert_eq!(spans(core_re()), spans(core_re_ascii()));
            }
        }
    }

    #[test]
    fn unicode_boundaries_are_needed_beside_han_and_folding_letters() {
        assert!(needs_unicode_boundaries("有one个"));
        assert!(needs_unicode_boundaries("ſix"));
        assert!(!needs_unicode_boundaries("有 one 个"));
        assert!(!needs_unicode_boundaries("at least 3 engineers"));
        // and where they are, scanning still reads as the definition does
        assert!(scan("有one个", Vocabulary::builtin()).is_empty());
        assert_eq!(scan("有 one 个", Vocabulary::builtin()).len(), 1);
    }

    #[test]
    fn versions_issue_numbers_and_paths_are_not_quantities() {
        for text in
            ["upgrade from 3.0.0 only", "after version 3.3.X", "fixes #1918", "plaintext HTTP/2", "Python 3rd party"]
        {
            assert!(scan(text, Vocabulary::builtin()).is_empty(), "{text}");
        }
        assert_eq!(one("7x24h support").value, 168.0);
        assert!(scan(&"9".repeat(400), Vocabulary::builtin()).is_empty(), "no infinite values");
    }
}
