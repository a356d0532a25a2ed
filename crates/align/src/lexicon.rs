//! The bilingual domain lexicon (`data/lexicon.tsv`, embedded at build time):
//! maps Chinese and English terms to shared concept ids, so that a zh text and
//! an en text can be compared by the concepts they mention.
//!
//! Chinese terms match as substrings, longest first at each position; English
//! terms match whole words (case-insensitive, a plural `s` ignored), longest
//! phrase first.

use std::sync::OnceLock;

use kb_model::Lang;

use crate::fasthash::FastMap;

/// The lexicon shipped with kb.
pub const LEXICON_TSV: &str = include_str!("../data/lexicon.tsv");

/// A concept id: the index of its line among the lexicon's entries.
pub type Concept = u16;

/// A parsed lexicon.
#[derive(Debug, Default)]
pub struct Lexicon {
    /// First char → (term, concept), longest term (in chars) first.
    zh: FastMap<char, Vec<(String, usize, Concept)>>,
    /// First word → (phrase words, concept), longest phrase first.
    en: FastMap<String, Vec<(Vec<String>, Concept)>>,
    /// The English side of each concept, for people.
    names: Vec<String>,
    /// Which characters of the Basic Multilingual Plane start a Chinese
    /// term (one bit each): most characters of a text start none, and a
    /// bit test is cheaper than a map lookup.
    zh_first: Vec<u64>,
    /// A Bloom filter (one bit per hash of a word's first two bytes, last
    /// byte and length) of the first words of English terms: most words
    /// of a text start no term.
    en_first: Vec<u64>,
}

/// A malformed lexicon line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Lexicon {
    /// The lexicon shipped with kb (parsed once).
    pub fn shipped() -> &'static Lexicon {
        static LEX: OnceLock<Lexicon> = OnceLock::new();
        LEX.get_or_init(|| Lexicon::parse(LEXICON_TSV).expect("the shipped lexicon parses"))
    }

    /// Parses lexicon text: `zh|zh…<TAB>en|en…` a line, `#` comments.
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let mut lex = Lexicon::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((zh, en)) = line.split_once('\t') else {
                return Err(LexiconError { line: i + 1, message: "expected `zh terms<TAB>en terms`".into() });
            };
            let id = Concept::try_from(lex.names.len())
                .map_err(|_| LexiconError { line: i + 1, message: "too many entries".into() })?;
            let zh_terms: Vec<&str> = zh.split('|').map(str::trim).filter(|t| !t.is_empty()).collect();
            let en_terms: Vec<Vec<String>> = en
                .split('|')
                .map(|t| Words::of(t).iter().map(str::to_string).collect::<Vec<String>>())
                .filter(|w| !w.is_empty())
                .collect();
            if zh_terms.is_empty() || en_terms.is_empty() {
                return Err(LexiconError {
                    line: i + 1,
                    message: "an entry needs a Chinese and an English term".into(),
                });
            }
            for t in zh_terms {
                let first = t.chars().next().expect("not empty");
                lex.zh.entry(first).or_default().push((t.to_string(), t.chars().count(), id));
            }
            for words in en_terms {
                lex.en.entry(words[0].clone()).or_default().push((words, id));
            }
            lex.names.push(en.split('|').next().unwrap_or_default().trim().to_string());
        }
        for v in lex.zh.values_mut() {
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        }
        for v in lex.en.values_mut() {
            v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        }
        lex.zh_first = vec![0; 0x10000 / 64];
        for &c in lex.zh.keys() {
            if let Some(k) = bmp(c) {
                lex.zh_first[k / 64] |= 1 << (k % 64);
            }
        }
        lex.en_first = vec![0; EN_FILTER_BITS / 64];
        for w in lex.en.keys() {
            let k = en_shape(w);
            lex.en_first[k / 64] |= 1 << (k % 64);
        }
        Ok(lex)
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the lexicon has no entries.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The (first) English term of a concept.
    pub fn name(&self, c: Concept) -> &str {
        self.names.get(c as usize).map(String::as_str).unwrap_or("?")
    }

    /// The concepts mentioned in `text`, in order of appearance (repeats kept).
    /// Chinese text is scanned for both Chinese and English terms, since
    /// Chinese documents quote English product names.
    pub fn concepts(&self, text: &str, lang: Lang) -> Vec<Concept> {
        self.concepts_in(text, lang, &Words::of(text))
    }

    /// [`Lexicon::concepts`] with the English words of `text` already split.
    pub(crate) fn concepts_in(&self, text: &str, lang: Lang, words: &Words) -> Vec<Concept> {
        let mut out = Vec::new();
        if lang == Lang::Zh {
            self.scan_zh(text, &mut out);
        }
        self.scan_en(words, &mut out);
        out
    }

    /// True when `c` may start a Chinese term.
    fn may_start_zh(&self, c: char) -> bool {
        match bmp(c) {
            Some(k) => self.zh_first.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1),
            None => true,
        }
    }

    /// True when the word `w` may start an English term.
    fn may_start_en(&self, w: &str) -> bool {
        let k = en_shape(w);
        self.en_first.get(k / 64).is_some_and(|bits| bits >> (k % 64) & 1 == 1)
    }

    fn scan_zh(&self, text: &str, out: &mut Vec<Concept>) {
        let mut pos = 0;
        while let Some(c) = text[pos..].chars().next() {
            let mut step = c.len_utf8();
            if !self.may_start_zh(c) {
                pos += step;
                continue;
            }
            if let Some(cands) = self.zh.get(&c) {
                for (term, _, id) in cands {
                    if text[pos..].starts_with(term.as_str()) {
                        out.push(*id);
                        step = term.len();
                        break;
                    }
                }
            }
            pos += step;
        }
    }

    fn scan_en(&self, words: &Words, out: &mut Vec<Concept>) {
        let n = words.len();
        let mut i = 0;
        while i < n {
            let mut step = 1;
            if !self.may_start_en(words.get(i)) {
                i += 1;
                continue;
            }
            if let Some(cands) = self.en.get(words.get(i)) {
                for (phrase, id) in cands {
                    if phrase.len() <= n - i && phrase.iter().enumerate().all(|(k, w)| words.get(i + k) == w) {
                        out.push(*id);
                        step = phrase.len();
                        break;
                    }
                }
            }
            i += step;
        }
    }
}

/// The bytes of a word: ASCII letters and digits, `&` and `-`.
const WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'&' || c == b'-';
        b += 1;
    }
    t
};

/// The index of a character of the Basic Multilingual Plane.
fn bmp(c: char) -> Option<usize> {
    let k = c as usize;
    (k < 0x10000).then_some(k)
}

/// Bits of `Lexicon::en_first`.
const EN_FILTER_BITS: usize = 1 << 16;

/// A word's bit in `Lexicon::en_first`: a hash of its first two bytes, its
/// last byte and its length.
fn en_shape(w: &str) -> usize {
    let b = w.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0) as usize;
    let h = ((at(0) * 31 + at(1)) * 31 + b.last().copied().unwrap_or(0) as usize) * 64 + b.len().min(63);
    (h.wrapping_mul(0x9E37_79B9) >> 7) % EN_FILTER_BITS
}

/// The lower-cased ASCII words of a text (letters, digits, `&`, `-` inside a
/// word), plural `s` / `ies` reduced, kept in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Words {
    buf: String,
    spans: Vec<(u32, u32)>,
}

impl Words {
    /// The words of `text`.
    pub(crate) fn of(text: &str) -> Words {
        let mut w = Words::default();
        w.fill(text);
        w
    }

    /// Makes these the words of `text`, reusing the buffers.
    pub(crate) fn fill(&mut self, text: &str) {
        self.buf.clear();
        self.spans.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if WORD_BYTE[bytes[i] as usize] {
                let start = i;
                while i < bytes.len() && WORD_BYTE[bytes[i] as usize] {
                    i += 1;
                }
                self.push(&text[start..i]);
            } else {
                i += 1;
            }
        }
    }

    fn push(&mut self, raw: &str) {
        // `raw` is ASCII (letters, digits, `&`, `-`): byte operations suffice.
        let lead = raw.bytes().take_while(|&b| b == b'-').count();
        let raw = &raw[lead..];
        let raw = &raw[..raw.len() - raw.bytes().rev().take_while(|&b| b == b'-').count()];
        if raw.is_empty() || !raw.bytes().any(|b| b.is_ascii_alphabetic()) {
            return;
        }
        let start = self.buf.len();
        let n = raw.len();
        let ends = |suffix: &str| raw.len() >= suffix.len() && raw[n - suffix.len()..].eq_ignore_ascii_case(suffix);
        if n > 4 && ends("ies") {
            self.buf.push_str(&raw[..n - 3]);
            self.buf.push('y');
        } else if n > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is") {
            self.buf.push_str(&raw[..n - 1]);
        } else {
            self.buf.push_str(raw);
        }
        self.buf[start..].make_ascii_lowercase();
        self.spans.push((start as u32, self.buf.len() as u32));
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Word `i`.
    pub(crate) fn get(&self, i: usize) -> &str {
        let (a, b) = self.spans[i];
        &self.buf[a as usize..b as usize]
    }

    /// The words in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lexicon_parses_and_maps_both_languages_to_one_concept() {
        let lex = Lexicon::shipped();
        assert!(lex.len() > 100);
        let zh = lex.concepts("腾讯蓝鲸合作伙伴分为四类", Lang::Zh);
        let en = lex.concepts("Tencent BlueKing partners are divided into four categories", Lang::En);
        let p_zh = lex.concepts("合作伙伴", Lang::Zh);
        assert_eq!(p_zh.len(), 1);
        assert!(zh.contains(&p_zh[0]) && en.contains(&p_zh[0]), "{zh:?} {en:?}");
    }

    #[test]
    fn every_term_of_the_shipped_lexicon_is_found_past_the_filters() {
        let lex = Lexicon::shipped();
        let mut n = 0;
        for line in LEXICON_TSV.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
            let (zh, en) = line.trim_end().split_once('\t').unwrap();
            for t in zh.split('|').map(str::trim).filter(|t| !t.is_empty()) {
                assert!(!lex.concepts(t, Lang::Zh).is_empty(), "{t}");
                n += 1;
            }
            for t in en.split('|').filter(|t| Words::of(t).len() > 0) {
                assert!(!lex.concepts(t, Lang::En).is_empty(), "{t}");
                n += 1;
            }
        }
        assert!(n > 200, "{n} terms");
    }

    #[test]
    fn longest_term_wins_at_a_position() {
        let lex = Lexicon::parse("认证\tcertification\n实名认证\tidentity verification\n").unwrap();
        assert_eq!(lex.concepts("完成实名认证", Lang::Zh), vec![1]);
        assert_eq!(lex.concepts("Organizational identity verifications", Lang::En), vec![1]);
    }

    #[test]
    fn words_are_lower_cased_singular_and_buffers_are_reused() {
        let mut w = Words::of("--Partners' APIs & -x- 3 5G ss-- class, bus, categories 中文Plugins");
        let got: Vec<&str> = w.iter().collect();
        assert_eq!(got, ["partner", "apis", "x", "5g", "ss", "class", "bus", "category", "plugin"]);
        w.fill("Routes");
        assert_eq!(w.iter().collect::<Vec<_>>(), ["route"]);
        w.fill("");
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn malformed_line_is_reported_with_its_number() {
        let err = Lexicon::parse("# c\n合作伙伴 partner\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
