//! Text analysis: how record text and queries become index terms.
//!
//! One tokenizer, [`Segmenter`], reads text of either language and splits it
//! by script:
//!
//! * runs of Han characters go to jieba (`jieba-rs`). At index time it cuts in
//!   *search mode* (`注册资本` is indexed as `注册资本`, `注册` and `资本`),
//!   at query time in default mode (`注册资本` stays one word), so `资本`
//!   finds `注册资本` while `注册资本` does not find every `资本`;
//! * runs of letters and digits (any script but Han; full-width ASCII folded
//!   to ASCII) are words;
//! * everything else separates words and is dropped.
//!
//! The analyzers then lower-case, stem English with tantivy's Snowball
//! [`Stemmer`], and conflate the `-ify` family (`certify`, `certified`,
//! `certificate`, `certification` all become `certif`; Snowball alone keeps
//! `certifi` apart from `certif`).
//!
//! Positions: Chinese fields (`kb_zh`) use the character offset of a token as
//! its position, like tantivy-jieba, so the overlapping search-mode words of
//! one span line up and a quoted phrase matches whatever way jieba cut the
//! surrounding text; English fields (`kb_en`) number words one by one.
//!
//! The jieba dictionary costs about 0.1 s to load, so it is loaded on first
//! use, by the first Han run that needs cutting: a process that only indexes
//! or searches text without Han characters never loads it ([`jieba_loaded`]),
//! unless it asks for it ahead of time ([`load_jieba_in_background`], as a
//! full `kb build` does).

use std::borrow::Cow;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use rustc_hash::FxHashMap;
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer,
};

/// Name of the analyzer of Chinese fields.
pub const ZH_ANALYZER: &str = "kb_zh";
/// Name of the analyzer of English fields.
pub const EN_ANALYZER: &str = "kb_en";

/// Tokens longer than this many bytes (base64 blobs, hashes) are dropped.
const MAX_TOKEN_BYTES: usize = 64;

static JIEBA: OnceLock<Jieba> = OnceLock::new();

fn jieba() -> &'static Jieba {
    JIEBA.get_or_init(Jieba::new)
}

/// Starts loading the jieba dictionary on a thread of its own, unless it is
/// loaded or being loaded already; returns at once. A thread that needs
/// jieba meanwhile waits for it.
///
/// A full `kb build` calls this as it starts, so that the dictionary (about
/// 0.1 s) loads while the corpus is parsed and aligned rather than when the
/// index stage meets its first Chinese record.
pub fn load_jieba_in_background() {
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if JIEBA.get().is_none() && !STARTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        std::thread::spawn(|| {
            jieba();
        });
    }
}

/// True once this process has loaded the jieba dictionary.
pub fn jieba_loaded() -> bool {
    JIEBA.get().is_some()
}

/// True for a Han (CJK ideograph) character.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}'
        | '\u{30000}'..='\u{323AF}')
}

/// True when `s` holds at least one Han character.
pub fn has_han(s: &str) -> bool {
    s.chars().any(is_han)
}

/// What the segmenter does with a run of Han characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HanMode {
    /// jieba search mode: every word plus the dictionary words inside it.
    Search,
    /// jieba default mode: the most likely words, no overlaps.
    Words,
    /// Drop Han text (for highlighting a query that has no Han terms,
    /// without loading jieba).
    Skip,
}

/// How tokens are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// The character offset of the token's first character.
    Chars,
    /// 0, 1, 2, … one per word.
    Ordinal,
}

/// The script-aware base tokenizer (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Segmenter {
    han: HanMode,
    positions: Positions,
}

impl Segmenter {
    /// A segmenter with the given Han handling and numbering.
    pub fn new(han: HanMode, positions: Positions) -> Segmenter {
        Segmenter { han, positions }
    }

    /// The tokens of `text`, in order.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.each(text, |offset_from, offset_to, position, word| {
            out.push(Token { offset_from, offset_to, position, text: word.to_string(), position_length: 1 });
        });
        out
    }

    /// Calls `f(offset_from, offset_to, position, word)` for each token of
    /// `text`, in order ([`Segmenter::tokens`] without a `String` a token).
    fn each(&self, text: &str, mut f: impl FnMut(usize, usize, usize, &str)) {
        let mut ordinal = 0usize;
        let mut chars = text.char_indices().enumerate().peekable();
        while let Some((ci, (bi, c))) = chars.next() {
            let class = class_of(c);
            if class == Class::Other {
                continue;
            }
            // Extend the run.
            let mut end = bi + c.len_utf8();
            while let Some(&(_, (bj, cj))) = chars.peek() {
                if class_of(cj) != class {
                    break;
                }
                end = bj + cj.len_utf8();
                chars.next();
            }
            let run = &text[bi..end];
            match class {
                Class::Word => {
                    let position = match self.positions {
                        Positions::Chars => ci,
                        Positions::Ordinal => {
                            ordinal += 1;
                            ordinal - 1
                        }
                    };
                    f(bi, end, position, &fold_width(run));
                }
                Class::Han => {
                    let words = match self.han {
                        HanMode::Skip => continue,
                        HanMode::Search => jieba().cut_for_search(run, true),
                        HanMode::Words => jieba().cut(run, true),
                    };
                    for w in words {
                        if !w.word.chars().any(is_han) {
                            continue;
                        }
                        let position = match self.positions {
                            Positions::Chars => ci + w.start,
                            Positions::Ordinal => {
                                ordinal += 1;
                                ordinal - 1
                            }
                        };
                        f(bi + w.byte_start, bi + w.byte_end, position, w.word);
                    }
                }
                Class::Other => unreachable!(),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Han,
    Word,
    Other,
}

fn class_of(c: char) -> Class {
    if is_han(c) {
        Class::Han
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Other
    }
}

/// Folds full-width ASCII letters and digits (`ＱＱ`, `１００`) to ASCII.
fn fold_width(s: &str) -> Cow<'_, str> {
    let full_width = |c: char| matches!(c, '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}');
    if s.is_ascii() || !s.chars().any(full_width) {
        return Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

impl Tokenizer for Segmenter {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream { tokens: self.tokens(text), next: 0 }
    }
}

/// A token stream over tokens computed up front, owned (`Vec<Token>`) or in
/// a buffer its tokenizer keeps (`&mut [Token]`: the stream may change them,
/// they are written afresh each time).
pub struct TokenCursor<T> {
    tokens: T,
    next: usize,
}

/// A token stream that owns its tokens.
pub type VecTokenStream = TokenCursor<Vec<Token>>;
/// A token stream over its tokenizer's buffer.
pub type SliceStream<'a> = TokenCursor<&'a mut [Token]>;

impl<T: AsRef<[Token]> + AsMut<[Token]>> TokenStream for TokenCursor<T> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.as_ref().len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens.as_ref()[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens.as_mut()[self.next - 1]
    }
}

/// Conflates the Snowball stems of the `-ify` family: a stem ending in
/// `ifi` (`certifi` from certify/certified/certifies) loses its final `i`,
/// meeting the stem of the noun and adjective (`certif` from certification,
/// certificate). Runs after the stemmer.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfyFilter;

impl TokenFilter for IfyFilter {
    type Tokenizer<T: Tokenizer> = IfyFilterWrapper<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> IfyFilterWrapper<T> {
        IfyFilterWrapper(tokenizer)
    }
}

/// [`IfyFilter`] applied to a tokenizer.
#[derive(Debug, Clone)]
pub struct IfyFilterWrapper<T>(T);

impl<T: Tokenizer> Tokenizer for IfyFilterWrapper<T> {
    type TokenStream<'a> = IfyTokenStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        IfyTokenStream(self.0.token_stream(text))
    }
}

/// The token stream of [`IfyFilterWrapper`].
pub struct IfyTokenStream<S>(S);

impl<S: TokenStream> TokenStream for IfyTokenStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let t = self.0.token_mut();
        if t.text.len() > 4 && t.text.ends_with("ifi") {
            t.text.pop();
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// A full analyzer: the segmenter, then long-token removal, lower-casing,
/// English stemming and `-ify` conflation ([`Terms`]).
pub fn analyzer(han: HanMode, positions: Positions) -> TextAnalyzer {
    TextAnalyzer::from(Analyzer { seg: Segmenter::new(han, positions), terms: Terms::new(), tokens: Vec::new() })
}

/// The filters every word goes through, applied to one word at a time:
/// long-token removal, lower-casing, English stemming, `-ify` conflation.
fn word_filters() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .filter(IfyFilter)
        .build()
}

/// A cache has at most this many words; when full, it starts over.
const CACHE_WORDS: usize = 1 << 17;

/// The term of each word, through [`word_filters`], remembered: each filter
/// looks at one token's text only, so a word always gives the same term
/// (or none, when too long), and a text's words repeat a great deal (the
/// Snowball stemmer is the costliest step of indexing English).
#[derive(Clone)]
struct Terms {
    filters: TextAnalyzer,
    /// Word → index into `terms`.
    index: FxHashMap<Box<str>, u32>,
    terms: Vec<Option<Box<str>>>,
}

impl Terms {
    fn new() -> Terms {
        Terms { filters: word_filters(), index: FxHashMap::default(), terms: Vec::new() }
    }

    /// The term of `word`, or `None` when the filters drop it.
    fn term(&mut self, word: &str) -> Option<&str> {
        let i = match self.index.get(word) {
            Some(&i) => i,
            None => {
                if self.terms.len() >= CACHE_WORDS {
                    self.index.clear();
                    self.terms.clear();
                }
                let mut s = self.filters.token_stream(word);
                let term = s.next().map(|t| Box::from(t.text.as_str()));
                drop(s);
                let i = self.terms.len() as u32;
                self.terms.push(term);
                self.index.insert(Box::from(word), i);
                i
            }
        };
        self.terms[i as usize].as_deref()
    }
}

/// [`Segmenter`] and [`Terms`] as one tokenizer, writing its tokens into
/// buffers it keeps from one text to the next.
#[derive(Clone)]
struct Analyzer {
    seg: Segmenter,
    terms: Terms,
    tokens: Vec<Token>,
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = SliceStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SliceStream<'a> {
        let Analyzer { seg, terms, tokens } = self;
        let mut n = 0;
        seg.each(text, |offset_from, offset_to, position, word| {
            let Some(term) = terms.term(word) else {
                return;
            };
            if n == tokens.len() {
                tokens.push(Token::default());
            }
            set(&mut tokens[n], offset_from, offset_to, position, term);
            n += 1;
        });
        SliceStream { tokens: &mut tokens[..n], next: 0 }
    }
}

/// Overwrites `t`, keeping its text's buffer.
fn set(t: &mut Token, offset_from: usize, offset_to: usize, position: usize, text: &str) {
    t.offset_from = offset_from;
    t.offset_to = offset_to;
    t.position = position;
    t.position_length = 1;
    t.text.clear();
    t.text.push_str(text);
}

/// The analyzer the index is built with, for a language's fields.
pub fn index_analyzer(zh: bool) -> TextAnalyzer {
    TextAnalyzer::builder(Memo::new(plain_index_analyzer(zh))).build()
}

/// [`index_analyzer`] without the memo: what the benchmark baseline uses on
/// whole files, where no text repeats.
pub fn plain_index_analyzer(zh: bool) -> TextAnalyzer {
    if zh {
        analyzer(HanMode::Search, Positions::Chars)
    } else {
        analyzer(HanMode::Words, Positions::Ordinal)
    }
}

/// How many recent texts a [`Memo`] remembers.
const MEMO_SLOTS: usize = 4;

/// Remembers the tokens of the last few texts an analyzer cut, and replays
/// them when the same text comes again.
///
/// Every record of a section carries the same heading path, and many
/// records the same rule scope or subject: tantivy gives each field of each
/// indexing thread its own analyzer, so a memo per field sees those repeats
/// one after the other and the text is segmented once per section instead
/// of once per record. The tokens are the analyzer's, unchanged.
#[derive(Clone)]
pub struct Memo {
    inner: TextAnalyzer,
    /// (text, its tokens, how many of them are in use): the buffers are kept.
    slots: Vec<(String, Vec<Token>, usize)>,
    next: usize,
}

impl Memo {
    /// A memo in front of `inner`.
    pub fn new(inner: TextAnalyzer) -> Memo {
        Memo { inner, slots: Vec::with_capacity(MEMO_SLOTS), next: 0 }
    }
}

impl Tokenizer for Memo {
    type TokenStream<'a> = SliceStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SliceStream<'a> {
        let i = match self.slots.iter().position(|(t, _, _)| t == text) {
            Some(i) => i,
            None => {
                let i = if self.slots.len() < MEMO_SLOTS {
                    self.slots.push(Default::default());
                    self.slots.len() - 1
                } else {
                    let oldest = self.next;
                    self.next = (oldest + 1) % MEMO_SLOTS;
                    oldest
                };
                let (key, tokens, n) = &mut self.slots[i];
                key.clear();
                key.push_str(text);
                *n = 0;
                let mut s = self.inner.token_stream(text);
                while s.advance() {
                    let t = s.token();
                    if *n == tokens.len() {
                        tokens.push(Token::default());
                    }
                    set(&mut tokens[*n], t.offset_from, t.offset_to, t.position, &t.text);
                    tokens[*n].position_length = t.position_length;
                    *n += 1;
                }
                i
            }
        };
        let (_, tokens, n) = &mut self.slots[i];
        SliceStream { tokens: &mut tokens[..*n], next: 0 }
    }
}

/// The analyzer queries are parsed with, for a language's fields.
pub fn query_analyzer(zh: bool) -> TextAnalyzer {
    if zh {
        analyzer(HanMode::Words, Positions::Chars)
    } else {
        analyzer(HanMode::Words, Positions::Ordinal)
    }
}

/// The words of a query fragment, as slices of it (jieba default mode for
/// Han runs); used to turn an unquoted `认证工程师` into `认证 AND 工程师`.
pub fn query_words(text: &str) -> Vec<&str> {
    Segmenter::new(HanMode::Words, Positions::Ordinal)
        .tokens(text)
        .into_iter()
        .map(|t| &text[t.offset_from..t.offset_to])
        .collect()
}

/// The terms `text` is indexed under (for tests and debugging).
pub fn index_terms(text: &str, zh: bool) -> Vec<String> {
    let mut a = index_analyzer(zh);
    let mut s = a.token_stream(text);
    let mut v = Vec::new();
    while let Some(t) = s.next() {
        v.push(t.text.clone());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(a: &mut TextAnalyzer, text: &str) -> Vec<(String, usize)> {
        let mut s = a.token_stream(text);
        let mut v = Vec::new();
        while let Some(t) = s.next() {
            v.push((t.text.clone(), t.position));
        }
        v
    }

    #[test]
    fn search_mode_indexes_a_compound_and_its_parts() {
        let terms = index_terms("注册资本人民币100万元以上", true);
        for t in ["注册资本", "注册", "资本", "人民币", "100"] {
            assert!(terms.iter().any(|x| x == t), "{t} missing from {terms:?}");
        }
    }

    #[test]
    fn query_mode_keeps_a_compound_whole() {
        let mut a = query_analyzer(true);
        let t = tokens(&mut a, "注册资本");
        assert_eq!(t, vec![("注册资本".to_string(), 0)]);
    }

    #[test]
    fn zh_positions_are_character_offsets_so_parts_line_up() {
        let mut a = index_analyzer(true);
        let t = tokens(&mut a, "的注册资本");
        let pos = |w: &str| t.iter().find(|(x, _)| x == w).map(|(_, p)| *p).unwrap();
        assert_eq!(pos("注册资本"), 1);
        assert_eq!(pos("注册"), 1);
        assert_eq!(pos("资本"), 3);
    }

    #[test]
    fn english_is_lowercased_stemmed_and_ify_conflated() {
        let mut a = index_analyzer(false);
        let t: Vec<String> =
            tokens(&mut a, "Certified Engineers; certification, CERTIFICATE").into_iter().map(|(w, _)| w).collect();
        assert_eq!(t, ["certif", "engin", "certif", "certif"]);
        let p: Vec<usize> = tokens(&mut a, "a b, c").into_iter().map(|(_, p)| p).collect();
        assert_eq!(p, [0, 1, 2]);
    }

    #[test]
    fn stemming_leaves_han_and_digits_alone_and_folds_full_width() {
        let terms = index_terms("ＱＱ群 123 SaaS 注册资本", true);
        for t in ["qq", "群", "123", "注册资本", "资本"] {
            assert!(terms.iter().any(|x| x == t), "{t} missing from {terms:?}");
        }
    }

    #[test]
    fn skip_mode_drops_han_runs() {
        let s = Segmenter::new(HanMode::Skip, Positions::Chars);
        let t: Vec<String> = s.tokens("注册 API 资本").into_iter().map(|t| t.text).collect();
        assert_eq!(t, ["API"]);
    }

    #[test]
    fn query_words_split_unspaced_chinese() {
        assert_eq!(query_words("认证工程师"), ["认证", "工程师"]);
        let w = query_words("SaaS小程序，");
        assert_eq!(w[0], "SaaS");
        assert_eq!(w[1..].concat(), "小程序", "punctuation dropped, Han kept: {w:?}");
    }

    /// The analyzers as a chain of tantivy filters over the segmenter's
    /// tokens, with no cache: what [`analyzer`] must give.
    fn chained(han: HanMode, positions: Positions) -> TextAnalyzer {
        TextAnalyzer::builder(Segmenter::new(han, positions))
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .filter(IfyFilter)
            .build()
    }

    #[test]
    fn the_cached_word_filters_give_the_chained_filters_tokens() {
        let long = "x".repeat(MAX_TOKEN_BYTES);
        let texts = [
            "Certified Engineers; certification, CERTIFICATE certifies",
            "ＱＱ群 123 SaaS 注册资本人民币100万元以上，技术团队20人",
            "ÉCOLE Straße ΣΊΣΥΦΟΣ İstanbul running runs ran",
            &format!("{long} {long}y short {}", "資".repeat(40)),
            "申请条件\n注册资本 Partner Requirements partner requirement",
            "",
            "   ,,, ;",
        ];
        for han in [HanMode::Search, HanMode::Words, HanMode::Skip] {
            for positions in [Positions::Chars, Positions::Ordinal] {
                let mut cached = analyzer(han, positions);
                let mut plain = chained(han, positions);
                // Twice: the second time the words come from the cache.
                for t in texts.iter().chain(&texts) {
                    let all = |a: &mut TextAnalyzer| {
                        let mut s = a.token_stream(t);
                        let mut v = Vec::new();
                        while let Some(t) = s.next() {
                            v.push((t.text.clone(), t.position, t.offset_from, t.offset_to, t.position_length));
                        }
                        v
                    };
                    assert_eq!(all(&mut cached), all(&mut plain), "{han:?} {positions:?} {t:?}");
                }
            }
        }
    }

    #[test]
    fn the_memo_replays_the_tokens_of_a_repeated_text_unchanged() {
        let mut memo = index_analyzer(true);
        let mut plain = plain_index_analyzer(true);
        let texts = [
            "申请条件\n注册资本",
            "Partner Requirements",
            "申请条件\n注册资本",
            "a",
            "b",
            "c",
            "d",
            "Partner Requirements",
        ];
        for t in texts {
            let full = |a: &mut TextAnalyzer| {
                let mut s = a.token_stream(t);
                let mut v = Vec::new();
                while let Some(t) = s.next() {
                    v.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
                }
                v
            };
            assert_eq!(full(&mut memo), full(&mut plain), "{t}");
        }
    }

    #[test]
    fn offsets_point_at_the_source_text() {
        let text = "申请：注册资本 capital";
        for t in Segmenter::new(HanMode::Search, Positions::Chars).tokens(text) {
            assert_eq!(&text[t.offset_from..t.offset_to], t.text.as_str());
        }
    }
}
