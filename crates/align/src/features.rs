//! Language-independent features of a piece of text: the numbers it states,
//! the link targets it names, the lexicon concepts it mentions and a length
//! measured so that a Chinese text and its English translation come out about
//! equally long. Everything the aligner compares is built from these.

use kb_model::{Lang, Record};

use crate::lexicon::{Concept, Lexicon, Words};

/// English characters per Chinese (Han) character in a typical translation
/// (measured on the shipped BlueKing pair: 3.7).
pub const HAN_UNITS: f64 = 3.5;

/// A number key: the canonical value a number may stand for. Whole numbers
/// below 10¹⁵ are their own key; any other value is keyed by a hash of its
/// canonical decimal form (so two keys are equal exactly when the decimal
/// forms, as `fmt_value` writes them, are).
pub type NumKey = u64;

/// No second key.
pub const NO_KEY: NumKey = u64::MAX;

/// A number as written in the text (`1,000`, `100万`), stored inline when short.
#[derive(Clone, PartialEq, Eq)]
pub struct Written {
    len: u8,
    inline: [u8; 22],
    heap: Option<Box<str>>,
}

impl Written {
    fn new(raw: &str, suffix: Option<char>) -> Written {
        let total = raw.len() + suffix.map_or(0, char::len_utf8);
        if total <= 22 {
            let mut inline = [0u8; 22];
            inline[..raw.len()].copy_from_slice(raw.as_bytes());
            if let Some(c) = suffix {
                c.encode_utf8(&mut inline[raw.len()..]);
            }
            Written { len: total as u8, inline, heap: None }
        } else {
            let mut s = raw.to_string();
            s.extend(suffix);
            Written { len: 0, inline: [0; 22], heap: Some(s.into_boxed_str()) }
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            None => std::str::from_utf8(&self.inline[..self.len as usize]).expect("built from a str"),
        }
    }
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A number stated in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    /// As written (`100`, `2.5`, `1,000`), with its multiplier word if any (`100万`).
    pub written: Written,
    /// Canonical values it may stand for (`100万` → `100`, `1000000`); the
    /// second is [`NO_KEY`] when there is none.
    pub keys: [NumKey; 2],
}

impl Num {
    /// Its keys.
    pub fn keys(&self) -> impl Iterator<Item = NumKey> + '_ {
        self.keys.iter().copied().filter(|&k| k != NO_KEY)
    }

    fn shares_key(&self, other: &Num) -> bool {
        self.keys().any(|k| other.keys().any(|o| o == k))
    }
}

/// The key of a value (see [`NumKey`]).
pub fn num_key(v: f64) -> NumKey {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return v as i64 as u64;
    }
    key_of_written_value(&fmt_value(v))
}

fn key_of_written_value(s: &str) -> NumKey {
    if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().expect("digits");
    }
    let h = crate::fasthash::hash_bytes(b'n', s.as_bytes());
    ((h >> 1) | (1 << 63)).min(NO_KEY - 1)
}

/// True when a key stands for more than a single digit (`0`–`9` are
/// everywhere and block nothing).
pub fn is_multi_digit(k: NumKey) -> bool {
    k >= 10
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
    pub word_numbers: Vec<NumKey>,
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
        Feats::of_record_with(r, lex, &mut Words::default())
    }

    /// [`Feats::of_record`] with a reusable word buffer.
    pub(crate) fn of_record_with(r: &Record, lex: &Lexicon, words: &mut Words) -> Feats {
        let text = strip_ordinal(r);
        let mut f = Feats::of_text_with(text, r.lang, lex, words);
        f.urls = r.links.iter().filter_map(|l| url_key(&l.url)).collect();
        f.urls.sort();
        f.images = r.images.iter().map(|i| i.src.clone()).collect();
        f.images.sort();
        f
    }

    /// Features of a plain text.
    pub fn of_text(text: &str, lang: Lang, lex: &Lexicon) -> Feats {
        Feats::of_text_with(text, lang, lex, &mut Words::default())
    }

    /// [`Feats::of_text`] with a reusable word buffer.
    pub(crate) fn of_text_with(text: &str, lang: Lang, lex: &Lexicon, words: &mut Words) -> Feats {
        words.fill(text);
        let words = &*words;
        let (numbers, word_numbers) = numbers_in(text, lang, words);
        let mut concepts = lex.concepts_in(text, lang, words);
        concepts.sort_unstable();
        Feats { units: units(text), numbers, word_numbers, urls: Vec::new(), concepts, images: Vec::new() }
    }

    /// True when the text carries anything besides its length.
    pub fn has_anchors(&self) -> bool {
        !self.numbers.is_empty() || !self.urls.is_empty() || !self.concepts.is_empty()
    }
}

/// Two sorted slices read as one sorted sequence (the features of a merged
/// bead: two records or two sections), without copying.
#[derive(Debug)]
pub struct Merged<'a, T> {
    a: &'a [T],
    b: &'a [T],
}

impl<T> Clone for Merged<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Merged<'_, T> {}

impl<'a, T: Ord> Merged<'a, T> {
    /// One sorted slice.
    pub fn one(a: &'a [T]) -> Self {
        Merged { a, b: &[] }
    }
    /// Two sorted slices.
    pub fn two(a: &'a [T], b: &'a [T]) -> Self {
        Merged { a, b }
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.a.len() + self.b.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The items in sorted order.
    pub fn iter(&self) -> MergedIter<'a, T> {
        MergedIter { a: self.a, b: self.b }
    }
}

/// Iterator of [`Merged`].
#[derive(Debug, Clone)]
pub struct MergedIter<'a, T> {
    a: &'a [T],
    b: &'a [T],
}

impl<'a, T: Ord> Iterator for MergedIter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        match (self.a.first(), self.b.first()) {
            (Some(x), Some(y)) if y < x => {
                self.b = &self.b[1..];
                Some(y)
            }
            (Some(x), _) => {
                self.a = &self.a[1..];
                Some(x)
            }
            (None, Some(y)) => {
                self.b = &self.b[1..];
                Some(y)
            }
            (None, None) => None,
        }
    }
}

/// Dice coefficient of two sorted multisets given as [`Merged`] sequences
/// (what [`dice_sorted`] gives on the merged vectors).
pub fn dice_merged<T: Ord>(a: Merged<'_, T>, b: Merged<'_, T>) -> f64 {
    if a.b.is_empty() && b.b.is_empty() {
        return dice_sorted(a.a, b.a);
    }
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    let mut common = 0usize;
    while let (Some(p), Some(q)) = (x.peek(), y.peek()) {
        match p.cmp(q) {
            std::cmp::Ordering::Less => {
                x.next();
            }
            std::cmp::Ordering::Greater => {
                y.next();
            }
            std::cmp::Ordering::Equal => {
                common += 1;
                x.next();
                y.next();
            }
        }
    }
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

/// How many items two sorted multisets share (each item counted as often
/// as both have it), without branches on the comparisons.
fn common_sorted<T: Ord + Copy>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        common += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    common
}

/// Calls `f` with the items of `m` as one sorted slice: the first slice
/// itself, or the two merged into a buffer on the stack when they fit.
fn with_sorted<T: Ord + Copy + Default, R>(m: Merged<'_, T>, f: impl FnOnce(&[T]) -> R) -> R {
    if m.b.is_empty() {
        return f(m.a);
    }
    if m.a.is_empty() {
        return f(m.b);
    }
    const STACK: usize = 64;
    let mut stack = [T::default(); STACK];
    let mut heap = Vec::new();
    let buf: &mut [T] = if m.len() <= STACK {
        &mut stack[..m.len()]
    } else {
        heap.resize(m.len(), T::default());
        &mut heap
    };
    let (a, b) = (m.a, m.b);
    let (mut i, mut j) = (0, 0);
    for slot in buf.iter_mut() {
        // Ties take from `a` first, as [`MergedIter`] does (equal items are alike anyway).
        if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            *slot = a[i];
            i += 1;
        } else {
            *slot = b[j];
            j += 1;
        }
    }
    f(buf)
}

/// [`dice_sorted`] for small copyable items (concepts, number keys): the
/// same value, without branches on the comparisons.
pub fn dice_sorted_copy<T: Ord + Copy>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    2.0 * common_sorted(a, b) as f64 / (a.len() + b.len()) as f64
}

/// [`dice_merged`] for small copyable items (concepts, number keys): the
/// same value, computed on plain slices.
pub fn dice_merged_copy<T: Ord + Copy + Default>(a: Merged<'_, T>, b: Merged<'_, T>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    with_sorted(a, |x| with_sorted(b, |y| dice_sorted_copy(x, y)))
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
    // Counted, then weighed: every partial sum of 1s and 3.5s is exact in
    // an f64, so this is the sum taken character by character.
    let bytes = text.as_bytes();
    let ascii_space = |b: &u8| *b == b' ' || (9..=13).contains(b);
    if text.is_ascii() {
        return (bytes.len() - bytes.iter().filter(|b| ascii_space(b)).count()) as f64;
    }
    let (mut han, mut other) = (0u64, 0u64);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // ASCII whitespace as `char::is_whitespace` knows it: \t \n \v \f \r and space.
            other += u64::from(!ascii_space(&b));
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().expect("on a char boundary");
        if is_han(c) {
            han += 1;
        } else if !c.is_whitespace() {
            other += 1;
        }
        i += c.len_utf8();
    }
    han as f64 * HAN_UNITS + other as f64
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
pub fn numbers(text: &str, lang: Lang) -> (Vec<Num>, Vec<NumKey>) {
    numbers_in(text, lang, &Words::of(text))
}

fn numbers_in(text: &str, lang: Lang, words: &Words) -> (Vec<Num>, Vec<NumKey>) {
    let bytes = text.as_bytes();
    let mut nums = Vec::new();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            let start = i;
            // The previous character; a non-ASCII one is never glued.
            let prev = if start > 0 { Some(bytes[start - 1]) } else { None };
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_digit()
                    || ((bytes[j] == b'.' || bytes[j] == b',')
                        && j + 1 < bytes.len()
                        && bytes[j + 1].is_ascii_digit()
                        && j > start))
            {
                j += 1;
            }
            // Letters glued on: allow a short unit (`2GB`, `10ms`), reject ids and hashes.
            let mut k = j;
            while k < bytes.len() && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_') {
                k += 1;
            }
            let glued_before = prev.is_some_and(|p| p.is_ascii_alphabetic() || p == b'_' || p == b'#' || p == b'/');
            let glued_after = k - j > 3 || bytes[j..k].iter().any(|c| c.is_ascii_digit());
            if !glued_before && !glued_after {
                let raw = &text[start..j];
                let v = if raw.contains(',') { raw.replace(',', "").parse::<f64>() } else { raw.parse::<f64>() };
                if let Ok(v) = v {
                    // The next 12 characters decide a multiplier word.
                    let rest = &text[j..];
                    let rest = &rest[..rest.char_indices().nth(12).map_or(rest.len(), |(p, _)| p)];
                    let rest_trim = rest.trim_start();
                    let starts = |w: &str| {
                        rest_trim.len() >= w.len() && rest_trim.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())
                    };
                    let (mult, suffix) = if rest.starts_with('万') {
                        (Some(1e4), Some('万'))
                    } else if rest.starts_with('亿') {
                        (Some(1e8), Some('亿'))
                    } else if starts("million") {
                        (Some(1e6), None)
                    } else if starts("billion") {
                        (Some(1e9), None)
                    } else if starts("thousand")
                        || (starts("k") && !rest_trim[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
                    {
                        (Some(1e3), None)
                    } else {
                        (None, None)
                    };
                    let keys = [num_key(v), mult.map_or(NO_KEY, |m| num_key(v * m))];
                    found.push(Num { written: Written::new(raw, suffix), keys });
                }
            }
            i = k.max(j).max(i + 1);
            continue;
        }
        if c < 0x80 {
            // On to the next digit (or, in Chinese, the next non-ASCII character).
            let zh = lang == Lang::Zh;
            i += 1 + bytes[i + 1..]
                .iter()
                .position(|&b| b.is_ascii_digit() || (zh && b >= 0x80))
                .unwrap_or(bytes.len() - i - 1);
            continue;
        }
        let ch = text[i..].chars().next().expect("on a char boundary");
        if lang == Lang::Zh {
            if let Some(&(_, v)) = ZH_DIGITS.iter().find(|(d, _)| *d == ch) {
                if text[i + ch.len_utf8()..].chars().next().is_some_and(|n| ZH_CLASSIFIERS.contains(n)) {
                    nums.push(v as NumKey);
                }
            }
        }
        i += ch.len_utf8();
    }
    for w in words.iter().filter(|w| (3..=6).contains(&w.len())) {
        if let Some(&(_, v)) = EN_NUMBER_WORDS.iter().find(|(n, _)| *n == w) {
            nums.push(v as NumKey);
        }
    }
    (found, nums)
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

/// A set of flags, inline for up to 128.
enum Used {
    Small(u128),
    Big(Vec<bool>),
}

impl Used {
    fn new(n: usize) -> Used {
        if n <= 128 {
            Used::Small(0)
        } else {
            Used::Big(vec![false; n])
        }
    }
    fn get(&self, i: usize) -> bool {
        match self {
            Used::Small(b) => b >> i & 1 == 1,
            Used::Big(v) => v[i],
        }
    }
    fn set(&mut self, i: usize) {
        match self {
            Used::Small(b) => *b |= 1 << i,
            Used::Big(v) => v[i] = true,
        }
    }
}

/// How the numbers of two texts (each one or more consecutive records'
/// features) match: (matched, only in `a`, only in `b`), where a number of
/// one side written with digits is matched by any key of a digit number of
/// the other side, or by a number word there. `only` collects the unmatched
/// numbers when asked for.
fn match_numbers_with<'a>(
    a: &'a [Feats],
    b: &'a [Feats],
    mut only: Option<(&mut Vec<&'a Num>, &mut Vec<&'a Num>)>,
) -> (usize, usize, usize) {
    let nb: usize = b.iter().map(|f| f.numbers.len()).sum();
    let mut used_b = Used::new(nb);
    let (mut matched, mut only_a) = (0, 0);
    let words = |fs: &'a [Feats]| fs.iter().flat_map(|f| f.word_numbers.iter());
    for n in a.iter().flat_map(|f| f.numbers.iter()) {
        let hit =
            b.iter().flat_map(|f| f.numbers.iter()).enumerate().position(|(j, m)| !used_b.get(j) && n.shares_key(m));
        match hit {
            Some(j) => {
                used_b.set(j);
                matched += 1;
            }
            None if n.keys().any(|k| words(b).any(|w| *w == k)) => matched += 1,
            None => {
                only_a += 1;
                if let Some((oa, _)) = only.as_mut() {
                    oa.push(n);
                }
            }
        }
    }
    let mut only_b = 0;
    for (j, m) in b.iter().flat_map(|f| f.numbers.iter()).enumerate() {
        if !used_b.get(j) && !m.keys().any(|k| words(a).any(|w| *w == k)) {
            only_b += 1;
            if let Some((_, ob)) = only.as_mut() {
                ob.push(m);
            }
        }
    }
    (matched, only_a, only_b)
}

/// How the numbers of two texts match: (matched, only in `a`, only in `b`),
/// where a number of one side written with digits is matched by any key of
/// a digit number of the other side, or by a number word there.
pub fn match_numbers<'a>(a: &'a [Feats], b: &'a [Feats]) -> (usize, Vec<&'a Num>, Vec<&'a Num>) {
    let (mut oa, mut ob) = (Vec::new(), Vec::new());
    let (m, _, _) = match_numbers_with(a, b, Some((&mut oa, &mut ob)));
    (m, oa, ob)
}

/// Similarity of the numbers of two texts in [0, 1], `None` when neither states one.
pub fn number_sim(a: &[Feats], b: &[Feats]) -> Option<f64> {
    let na: usize = a.iter().map(|f| f.numbers.len()).sum();
    let nb: usize = b.iter().map(|f| f.numbers.len()).sum();
    if na == 0 && nb == 0 {
        return None;
    }
    let (m, oa, ob) = match_numbers_with(a, b, None);
    let matched_b = nb - ob;
    let total = (m + oa) + nb;
    Some(((m + matched_b) as f64 / total.max(1) as f64).min(1.0))
}

/// Similarity of the link targets of two texts in [0, 1] (a shared path on
/// different hosts counts 0.7), `None` when neither has a link.
pub fn url_sim(a: &[String], b: &[String]) -> Option<f64> {
    url_sim_merged(Merged::one(a), Merged::one(b))
}

/// [`url_sim`] of merged link lists.
pub fn url_sim_merged(a: Merged<'_, String>, b: Merged<'_, String>) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let full = dice_merged(a, b);
    let mut pa: Vec<&str> = a.iter().filter_map(|k| url_path(k)).collect();
    let mut pb: Vec<&str> = b.iter().filter_map(|k| url_path(k)).collect();
    pa.sort_unstable();
    pb.sort_unstable();
    let path = if pa.is_empty() && pb.is_empty() { 0.0 } else { dice_sorted(&pa, &pb) };
    Some(full.max(0.7 * path))
}

/// Similarity of the lexicon concepts of two texts, `None` when neither mentions one.
pub fn concept_sim(a: &[Concept], b: &[Concept]) -> Option<f64> {
    concept_sim_merged(Merged::one(a), Merged::one(b))
}

/// [`concept_sim`] of merged concept lists.
pub fn concept_sim_merged(a: Merged<'_, Concept>, b: Merged<'_, Concept>) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    Some(dice_merged_copy(a, b))
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

    /// The keys of the numbers of `t`, as values (`100=1000000` for `100万`).
    fn nums(t: &str, lang: Lang) -> Vec<Vec<NumKey>> {
        numbers(t, lang).0.into_iter().map(|n| n.keys().collect()).collect()
    }

    fn keys<const N: usize>(values: [&str; N]) -> Vec<Vec<NumKey>> {
        values.iter().map(|v| v.split('=').map(|x| num_key(x.parse().unwrap())).collect()).collect()
    }

    #[test]
    fn numbers_skip_hashes_and_keep_units_and_multipliers() {
        assert_eq!(nums("注册资本人民币100万元以上；20人以上", Lang::Zh), keys(["100=1000000", "20"]));
        assert_eq!(nums("raw/5303edd1522fc938 takes 2–4 business days, 10ms", Lang::En), keys(["2", "4", "10"]));
        assert_eq!(nums("1,000 users and 2.50 CNY and v1.2", Lang::En), keys(["1000", "2.5"]));
        assert_eq!(nums("3 thousand and 1.5k", Lang::En), keys(["3=3000", "1.5=1500"]));
    }

    #[test]
    fn number_words_confirm_digits_of_the_other_side() {
        let lex = Lexicon::shipped();
        let zh = Feats::of_text("分为四类，至少3人", Lang::Zh, lex);
        let en = Feats::of_text("divided into 4 categories, at least three people", Lang::En, lex);
        let (m, a, b) = match_numbers(std::slice::from_ref(&zh), std::slice::from_ref(&en));
        assert_eq!((m, a.len(), b.len()), (1, 0, 0));
    }

    #[test]
    fn number_keys_agree_with_the_decimal_form() {
        assert_eq!(num_key(100.0), 100);
        assert_eq!(num_key(1.0000000001), num_key(1.0), "both are written 1");
        assert_eq!(num_key(2.5), num_key("2.50".parse().unwrap()));
        assert_ne!(num_key(2.5), num_key(2.05));
        assert!(!is_multi_digit(num_key(7.0)) && is_multi_digit(num_key(0.5)) && is_multi_digit(num_key(10.0)));
        let (n, _) = numbers("1,000 and 12345678901234567890123 and 100万", Lang::Zh);
        let written: Vec<&str> = n.iter().map(|n| n.written.as_str()).collect();
        assert_eq!(written, ["1,000", "12345678901234567890123", "100万"]);
    }

    #[test]
    fn merged_sequences_give_the_dice_of_the_merged_vectors() {
        let (a1, a2, b) = ([1, 3, 5], [2, 3], [3, 3, 4, 5]);
        let mut a = [a1.to_vec(), a2.to_vec()].concat();
        a.sort();
        assert_eq!(dice_merged(Merged::two(&a1, &a2), Merged::one(&b)), dice_sorted(&a, &b));
        assert_eq!(dice_merged(Merged::two(&a1, &a2), Merged::two(&b, &[])), dice_sorted(&a, &b));
        let e: [u8; 0] = [];
        assert_eq!(dice_merged(Merged::two(&e, &e), Merged::one(&e)), 0.0);
        assert_eq!(dice_merged_copy(Merged::two(&e, &e), Merged::one(&e)), 0.0);
    }

    #[test]
    fn the_dice_of_copyable_items_is_the_general_dice() {
        // Pseudo-random sorted multisets, some longer than the stack buffer.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = crate::fasthash::mix(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
            seed % n
        };
        for round in 0..400 {
            let mut v: Vec<Vec<u16>> = (0..4)
                .map(|_| {
                    let len = next(if round % 10 == 0 { 90 } else { 12 });
                    let mut x: Vec<u16> = (0..len).map(|_| next(20) as u16).collect();
                    x.sort_unstable();
                    x
                })
                .collect();
            if round % 7 == 0 {
                v[1].clear();
            }
            for (a, b) in [
                (Merged::one(&v[0]), Merged::one(&v[2])),
                (Merged::two(&v[0], &v[1]), Merged::one(&v[2])),
                (Merged::one(&v[0]), Merged::two(&v[2], &v[3])),
                (Merged::two(&v[0], &v[1]), Merged::two(&v[2], &v[3])),
                (Merged::two(&v[1], &v[0]), Merged::two(&v[3], &v[1])),
            ] {
                assert_eq!(dice_merged_copy(a, b).to_bits(), dice_merged(a, b).to_bits(), "{v:?}");
                let (x, y) = (a.iter().copied().collect::<Vec<u16>>(), b.iter().copied().collect::<Vec<u16>>());
                assert_eq!(dice_sorted_copy(&x, &y).to_bits(), dice_sorted(&x, &y).to_bits(), "{v:?}");
            }
        }
    }

    #[test]
    fn units_are_the_sum_taken_character_by_character() {
        for t in [
            "",
            "腾讯蓝鲸合作伙伴分为四类，详情见下表。",
            "a b\tc\nd\u{0b}e\u{0c}f\rg\u{85}h\u{a0}i\u{3000}j\u{2028}",
            "mixed 中文 and English, 𠀀 (outside the BMP) 㐀 豈 ！",
            "plain ASCII,\tall of it\r\n\u{0b}\u{0c}.",
        ] {
            let mut u = 0.0;
            for c in t.chars() {
                if is_han(c) {
                    u += HAN_UNITS;
                } else if !c.is_whitespace() {
                    u += 1.0;
                }
            }
            assert_eq!(units(t).to_bits(), u.to_bits(), "{t:?}");
        }
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
