//! How the offline search splits text, shared by the index (built here) and
//! the query (split again in the browser by `static/search.js`, which
//! implements exactly these rules; a test runs both on the same strings).
//!
//! The rules:
//! 1. Text is read code point by code point. A *Han* code point is one in the
//!    CJK Unified Ideograph blocks ([`is_han`]); a *word* code point is any
//!    other alphanumeric one (Unicode `Alphabetic` or a number category);
//!    everything else separates.
//! 2. A run of Han code points gives its character bigrams (`注册资本` →
//!    `注册`, `册资`, `资本`); a run of one Han code point gives that
//!    character.
//! 3. A run of word code points gives one term: the run lower-cased code
//!    point by code point (`SaaS` → `saas`, `100` → `100`).
//! 4. The index also records every Han character alone, so that a
//!    one-character query (`云`) finds something; a query of two or more
//!    characters is matched by its bigrams only.

/// True for the code points of the CJK Unified Ideograph blocks.
pub fn is_han(c: char) -> bool {
    let cp = c as u32;
    (0x3400..=0x4DBF).contains(&cp)
        || (0x4E00..=0x9FFF).contains(&cp)
        || (0xF900..=0xFAFF).contains(&cp)
        || (0x20000..=0x2A6DF).contains(&cp)
        || (0x2A700..=0x2EBEF).contains(&cp)
        || (0x30000..=0x3134F).contains(&cp)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_han(c)
}

/// A run of Han code points or of word code points (already lower-cased).
enum Run {
    Han(Vec<char>),
    Word(String),
}

/// The runs of `text`, in order.
fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut h: Vec<char> = Vec::new();
    let mut w = String::new();
    for c in text.chars() {
        let han = is_han(c);
        let word = !han && is_word(c);
        if !han && !h.is_empty() {
            out.push(Run::Han(std::mem::take(&mut h)));
        }
        if !word && !w.is_empty() {
            out.push(Run::Word(std::mem::take(&mut w)));
        }
        if han {
            h.push(c);
        } else if word {
            w.extend(c.to_lowercase());
        }
    }
    if !h.is_empty() {
        out.push(Run::Han(h));
    }
    if !w.is_empty() {
        out.push(Run::Word(w));
    }
    out
}

fn han_terms(run: &[char], out: &mut Vec<String>) {
    if run.len() == 1 {
        out.push(run[0].to_string());
    } else {
        for pair in run.windows(2) {
            out.push(pair.iter().collect());
        }
    }
}

/// The terms of a query, in order, without repeats.
pub fn query_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in runs(text) {
        match run {
            Run::Han(h) => han_terms(&h, &mut out),
            Run::Word(w) => out.push(w),
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

/// Calls `f` with every term of indexed text, in [`index_terms`]' order,
/// without allocating a string per term (the index builder's hot path):
/// Han terms and words already in lower case are slices of `text`, other
/// words are lower-cased into one reused buffer.
pub fn for_each_index_term(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut buf = String::new();
    // The open run: Han characters from `han` (a byte offset), or a word
    // from `word` whose lower-cased form is the slice itself unless `lower`.
    let mut han: Option<usize> = None;
    let mut word: Option<usize> = None;
    let mut lower = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (c, len) = if b < 0x80 {
            (b as char, 1)
        } else {
            let c = text[i..].chars().next().expect("i is a character boundary");
            (c, c.len_utf8())
        };
        let is_h = b >= 0x80 && is_han(c);
        let is_w = !is_h && if b < 0x80 { b.is_ascii_alphanumeric() } else { c.is_alphanumeric() };
        if !is_h {
            if let Some(start) = han.take() {
                han_run(&text[start..i], &mut f);
            }
        }
        if !is_w {
            if let Some(start) = word.take() {
                f(if lower { &buf } else { &text[start..i] });
            }
        }
        if is_h {
            han.get_or_insert(i);
        } else if is_w {
            let start = *word.get_or_insert_with(|| {
                lower = false;
                i
            });
            let unchanged = if b < 0x80 { !b.is_ascii_uppercase() } else { lower_is_itself(c) };
            if !unchanged && !lower {
                lower = true;
                buf.clear();
                buf.push_str(&text[start..i]);
            }
            if lower {
                if b < 0x80 {
                    buf.push(b.to_ascii_lowercase() as char);
                } else {
                    buf.extend(c.to_lowercase());
                }
            }
        }
        i += len;
    }
    if let Some(start) = han {
        han_run(&text[start..], &mut f);
    }
    if let Some(start) = word {
        f(if lower { &buf } else { &text[start..] });
    }
}

/// True when `c` lower-cases to itself alone.
fn lower_is_itself(c: char) -> bool {
    let mut l = c.to_lowercase();
    l.next() == Some(c) && l.next().is_none()
}

/// The index terms of a run of Han characters: its bigrams then every
/// character alone (a run of one: that character once).
fn han_run(run: &str, f: &mut impl FnMut(&str)) {
    // Character boundaries after the first character.
    let mut ends = run.char_indices().map(|(i, _)| i).skip(1).chain(std::iter::once(run.len()));
    let Some(mut mid) = ends.next() else { return };
    if mid == run.len() {
        f(run);
        return;
    }
    let mut first = 0;
    for end in ends {
        f(&run[first..end]);
        (first, mid) = (mid, end);
    }
    let mut prev = 0;
    for (i, _) in run.char_indices().skip(1) {
        f(&run[prev..i]);
        prev = i;
    }
    f(&run[prev..]);
}

/// The terms of indexed text, in order, with repeats (term frequency counts):
/// the query terms of the text plus every Han character alone.
pub fn index_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in runs(text) {
        match run {
            Run::Han(h) => {
                han_terms(&h, &mut out);
                if h.len() > 1 {
                    out.extend(h.iter().map(|c| c.to_string()));
                }
            }
            Run::Word(w) => out.push(w),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<String> {
        query_terms(s)
    }

    #[test]
    fn chinese_is_split_into_bigrams() {
        assert_eq!(q("注册资本"), ["注册", "册资", "资本"]);
        assert_eq!(q("云"), ["云"]);
        assert_eq!(q("云 市场"), ["云", "市场"]);
    }

    #[test]
    fn english_is_lowercased_words() {
        assert_eq!(q("Registered  Capital, SaaS!"), ["registered", "capital", "saas"]);
        assert_eq!(q("2–4 business days"), ["2", "4", "business", "days"]);
    }

    #[test]
    fn mixed_text_switches_at_script_boundaries() {
        assert_eq!(q("SaaS小程序100万"), ["saas", "小程", "程序", "100", "万"]);
        assert_eq!(q("注册资本注册"), ["注册", "册资", "资本", "本注"]);
    }

    #[test]
    fn index_terms_add_single_characters_but_queries_do_not() {
        let t = index_terms("资本");
        assert_eq!(t, ["资本", "资", "本"]);
        assert!(!q("资本").contains(&"资".to_string()));
        assert!(index_terms("a 资").contains(&"资".to_string()));
    }

    #[test]
    fn the_streaming_tokenizer_gives_the_index_terms() {
        for s in ["注册资本 SaaS小程序100万", "云", "a 资 b", "ÉCOLE Straße 企业版(试用)x", "", "  ", "𠀀𠀁 ext-B 합"]
        {
            let mut got = Vec::new();
            for_each_index_term(s, |t| got.push(t.to_string()));
            assert_eq!(got, index_terms(s), "{s:?}");
        }
    }

    #[test]
    fn the_streaming_tokenizer_gives_the_index_terms_on_mixed_scripts_and_cases() {
        let fixed = ["İstanbul ǅemal ΣΑΣ", "abcDEF aBc ABC", "资a资 a资a", "ＱＱ群 ٣٤ x²", "Ⅻ ß ẞ Kelvin\u{212a}"];
        for s in fixed {
            let mut got = Vec::new();
            for_each_index_term(s, |t| got.push(t.to_string()));
            assert_eq!(got, index_terms(s), "{s:?}");
        }
        // Pseudo-random strings over a pool of every kind of code point.
        let mut text =
            crate::RandomText::new("aZ09 注册资本云𠀀-_.,ÉéİıßΣσςǅＱｑ٣²Ⅻ\n\t、。（）", 0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let s = text.string(text.peek() % 24);
            text.step();
            let mut got = Vec::new();
            for_each_index_term(&s, |t| got.push(t.to_string()));
            assert_eq!(got, index_terms(&s), "{s:?}");
        }
    }

    #[test]
    fn every_query_term_of_a_text_is_an_index_term_of_it() {
        for s in ["腾讯云合作伙伴", "Step 3. 提交", "ÉCOLE Straße 企业版技术合作伙伴(试用)", "Σ", "x"]
        {
            let idx = index_terms(s);
            for t in q(s) {
                assert!(idx.contains(&t), "{t:?} of {s:?} not indexed");
            }
        }
    }
}
