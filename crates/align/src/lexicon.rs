//! The bilingual domain lexicon (`data/lexicon.tsv`, embedded at build time):
//! maps Chinese and English terms to shared concept ids, so that a zh text and
//! an en text can be compared by the concepts they mention.
//!
//! Chinese terms match as substrings, longest first at each position; English
//! terms match whole words (case-insensitive, a plural `s` ignored), longest
//! phrase first.

use std::collections::HashMap;
use std::sync::OnceLock;

use kb_model::Lang;

/// The lexicon shipped with kb.
pub const LEXICON_TSV: &str = include_str!("../data/lexicon.tsv");

/// A concept id: the index of its line among the lexicon's entries.
pub type Concept = u16;

/// A parsed lexicon.
#[derive(Debug, Default)]
pub struct Lexicon {
    /// First char → (term chars, concept), longest term first.
    zh: HashMap<char, Vec<(Vec<char>, Concept)>>,
    /// First word → (phrase words, concept), longest phrase first.
    en: HashMap<String, Vec<(Vec<String>, Concept)>>,
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
            let en_terms: Vec<Vec<String>> = en.split('|').map(en_words).filter(|w| !w.is_empty()).collect();
            if zh_terms.is_empty() || en_terms.is_empty() {
                return Err(LexiconError {
                    line: i + 1,
                    message: "an entry needs a Chinese and an English term".into(),
                });
            }
            for t in zh_terms {
                let chars: Vec<char> = t.chars().collect();
                lex.zh.entry(chars[0]).or_default().push((chars, id));
            }
            for words in en_terms {
                lex.en.entry(words[0].clone()).or_default().push((words, id));
            }
            lex.names.push(en.split('|').next().unwrap_or_default().trim().to_string());
        }
        for v in lex.zh.values_mut() {
            v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
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
        let mut out = Vec::new();
        if lang == Lang::Zh {
            self.scan_zh(text, &mut out);
        }
        self.scan_en(text, &mut out);
        out
    }

    fn scan_zh(&self, text: &str, out: &mut Vec<Concept>) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let mut step = 1;
            if let Some(cands) = self.zh.get(&chars[i]) {
                for (term, id) in cands {
                    if chars[i..].starts_with(term) {
                        out.push(*id);
                        step = term.len();
                        break;
                    }
                }
            }
            i += step;
        }
    }

    fn scan_en(&self, text: &str, out: &mut Vec<Concept>) {
        let words = en_words(text);
        let mut i = 0;
        while i < words.len() {
            let mut step = 1;
            if let Some(cands) = self.en.get(&words[i]) {
                for (phrase, id) in cands {
                    if words[i..].starts_with(phrase) {
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

/// Lower-cased ASCII words of `text` (letters, digits, `&`, `-` inside a
/// word), plural `s` / `ies` reduced.
pub(crate) fn en_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, words: &mut Vec<String>| {
        let w = cur.trim_matches('-');
        if !w.is_empty() && w.chars().any(|c| c.is_ascii_alphabetic()) {
            words.push(stem(w));
        }
        cur.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '&' || c == '-' {
            cur.push(c.to_ascii_lowercase());
        } else {
            flush(&mut cur, &mut words);
        }
    }
    flush(&mut cur, &mut words);
    words
}

fn stem(w: &str) -> String {
    if w.len() > 4 && w.ends_with("ies") {
        format!("{}y", &w[..w.len() - 3])
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w[..w.len() - 1].to_string()
    } else {
        w.to_string()
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
