//! Language detection: Chinese or English, from the share of Han characters.

use kb_model::Lang;

/// True for a Han (CJK unified ideograph) character.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

/// Detects the language of a document's text.
///
/// URLs and Markdown link targets are ignored; the text is Chinese when its
/// Han characters are at least half as many as its Latin words, since a
/// Chinese text often names products and parameters in English (SaaS, API)
/// while an English one rarely contains Han characters.
pub fn detect_lang(text: &str) -> Lang {
    let mut han = 0usize;
    let mut words = 0usize;
    let mut in_word = false;
    for token in text.split_whitespace() {
        if token.contains("://") || token.starts_with("](") {
            // Count only the part before a URL, e.g. `[链接](https://…)`.
            let head = token.split("](").next().unwrap_or("");
            let head = if head.contains("://") { "" } else { head };
            han += head.chars().filter(|c| is_han(*c)).count();
            continue;
        }
        in_word = false;
        for c in token.chars() {
            if is_han(c) {
                han += 1;
                in_word = false;
            } else if c.is_ascii_alphabetic() {
                if !in_word {
                    words += 1;
                    in_word = true;
                }
            } else {
                in_word = false;
            }
        }
    }
    let _ = in_word;
    // A Han character carries about as much as a short English word, and
    // Chinese technical prose is full of English identifiers; so half as
    // many Han characters as Latin words (and a dozen at least) is Chinese.
    if han > 0 && (han >= words || (han >= 12 && han * 2 >= words)) {
        Lang::Zh
    } else {
        Lang::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_with_english_product_names_is_chinese() {
        assert_eq!(detect_lang("SaaS 小程序注册用户量大于5000，且必须为自主研发 API"), Lang::Zh);
    }

    #[test]
    fn english_with_a_chinese_term_is_english() {
        assert_eq!(detect_lang("The partner type 企业版 is described in the table below for details."), Lang::En);
    }

    #[test]
    fn urls_do_not_count_as_english() {
        let s = "进入 [腾讯云官网](https://partner.cloud.tencent.com/some/long/path/with/many/words/in/it) 页面";
        assert_eq!(detect_lang(s), Lang::Zh);
    }

    #[test]
    fn text_without_letters_is_english() {
        assert_eq!(detect_lang("123 456"), Lang::En);
    }
}
