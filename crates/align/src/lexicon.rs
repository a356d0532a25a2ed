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

    fn scan_zh(&self, text: &str, out: &mut Vec<Concept>) {
        let mut pos = 0;
        while let Some(c) = text[pos..].chars().next() {
            let mut step = c.len_utf8();
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
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() || b == b'&' || b == b'-' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'&' || bytes[i] == b'-') {
                    i += 1;
                }
                w.push(&text[start..i]);
            } else {
                i += 1;
            }
        }
        w
    }

    fn push(&mut self, raw: &str) {
        let raw = raw.trim_matches('-');
        if raw.is_empty() || !raw.bytes().any(|b| b.is_ascii_alphabetic()) {
            return;
        }
        let start = self.buf.len();
        let n = raw.len();
        let lower = |s: &str, buf: &mut String| buf.extend(s.chars().map(|c| c.to_ascii_lowercase()));
        let ends = |suffix: &str| raw.len() >= suffix.len() && raw[n - suffix.len()..].eq_ignore_ascii_case(suffix);
        if n > 4 && ends("ies") {
            lower(&raw[..n - 3], &mut self.buf);
            self.buf.push('y');
        } else if n > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is") {
            lower(&raw[..n - 1], &mut self.buf);
        } else {
            lower(raw, &mut self.buf);
        }
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
    fn longest_term_wins_at_a_position() {
        let lex = Lexicon::parse("认证\tcertification\n实名认证\tidentity verification\n").unwrap();
        assert_eq!(lex.concepts("完成实名认证", Lang::Zh), vec![1]);
        assert_eq!(lex.concepts("Organizational identity verifications", Lang::En), vec![1]);
    }

    #[test]
    fn malformed_line_is_reported_with_its_number() {
        let err = Lexicon::parse("# c\n合作伙伴 partner\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
