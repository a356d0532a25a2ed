//! Making document content safe to put in a page: URLs for `href` / `src`,
//! raw HTML (ammonia), and JSON inside `<script>` elements.
//!
//! Text itself is escaped by the templates (minijinja autoescape); this
//! module covers what escaping alone cannot: a correctly escaped
//! `javascript:` URL still runs when clicked, and `</script>` inside JSON-LD
//! ends the script element.

use std::collections::HashSet;

/// Schemes a link may keep.
const LINK_SCHEMES: &[&str] = &["http", "https", "mailto"];
/// Schemes an image may keep.
const IMAGE_SCHEMES: &[&str] = &["http", "https"];

/// Decodes the HTML character references a browser would decode in an
/// attribute (`&#106;`, `&#x6A;`, `&colon;`, `&Tab;`, …) and drops ASCII
/// whitespace and control characters, which browsers ignore inside a
/// scheme (`java\tscript:`). The result is only used to decide on a scheme.
fn scheme_view(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            if let Some((decoded, used)) = decode_entity(rest) {
                if !(decoded.is_ascii_whitespace() || decoded.is_control()) {
                    out.push(decoded);
                }
                rest = &rest[used..];
                continue;
            }
        }
        if !(c.is_ascii_whitespace() || c.is_control() || c == '\u{feff}' || c == '\u{200b}') {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.to_ascii_lowercase()
}

/// Decodes one character reference at the start of `s`: the character and
/// the bytes used. The `;` is optional, as browsers accept it missing.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'&' {
        return None;
    }
    if b[1] == b'#' {
        let (hex, start) = if b.len() > 2 && (b[2] == b'x' || b[2] == b'X') { (true, 3) } else { (false, 2) };
        let mut end = start;
        while end < b.len() && (if hex { b[end].is_ascii_hexdigit() } else { b[end].is_ascii_digit() }) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let n = u32::from_str_radix(&s[start..end], if hex { 16 } else { 10 }).ok()?;
        let used = if end < b.len() && b[end] == b';' { end + 1 } else { end };
        return Some((char::from_u32(n).unwrap_or('\u{fffd}'), used));
    }
    const NAMED: &[(&str, char)] = &[
        ("colon", ':'),
        ("tab", '\t'),
        ("newline", '\n'),
        ("nbsp", '\u{a0}'),
        ("amp", '&'),
        ("lpar", '('),
        ("rpar", ')'),
        ("sol", '/'),
        ("num", '#'),
        ("quot", '"'),
        ("apos", '\''),
        ("lt", '<'),
        ("gt", '>'),
    ];
    let mut end = 1;
    while end < b.len() && b[end].is_ascii_alphanumeric() {
        end += 1;
    }
    let name = s[1..end].to_ascii_lowercase();
    let (_, c) = NAMED.iter().find(|(n, _)| *n == name)?;
    let used = if end < b.len() && b[end] == b';' { end + 1 } else { end };
    Some((*c, used))
}

/// The scheme of a URL as a browser would read it, if it has one.
fn scheme(url: &str) -> Option<String> {
    let v = scheme_view(url);
    let colon = v.find(':')?;
    let before = &v[..colon];
    if before.is_empty() || before.contains(['/', '?', '#']) {
        return None;
    }
    Some(before.to_string())
}

fn allowed(url: &str, schemes: &[&str]) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    match scheme(url) {
        Some(s) if schemes.contains(&s.as_str()) => {}
        Some(_) => return None,
        // A scheme-less URL: only in-page anchors are kept; relative paths
        // point into the source site and do not exist here.
        None if url.starts_with('#') && !url.contains(['<', '>', '"']) => {}
        None => return None,
    }
    // Whatever the scheme check saw, the URL itself must not smuggle
    // characters a browser would drop (`java\nscript:` inside "http…" is
    // harmless, but keep the output plain).
    if url.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(url.to_string())
}

/// The URL to put in a link's `href`, or `None` when it must not be a link:
/// only `http`, `https`, `mailto` and in-page `#anchors` survive; any other
/// scheme (`javascript:`, `data:`, `vbscript:`, in any case, with
/// whitespace or character references inside) and relative paths do not.
pub fn safe_href(url: &str) -> Option<String> {
    allowed(url, LINK_SCHEMES)
}

/// The URL to put in an image's `src`, or `None`: only `http` and `https`.
pub fn safe_src(url: &str) -> Option<String> {
    match allowed(url, IMAGE_SCHEMES) {
        Some(u) if !u.starts_with('#') => Some(u),
        _ => None,
    }
}

/// Sanitises raw HTML from a document with ammonia: no scripts, no event
/// handler attributes, no styles, links only to `http`/`https`/`mailto`
/// (with `rel="noopener noreferrer"`), relative URLs removed.
pub fn clean_html(html: &str) -> String {
    let schemes: HashSet<&str> = LINK_SCHEMES.iter().copied().collect();
    ammonia::Builder::default()
        .url_schemes(schemes)
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

/// Serialises `value` as JSON safe to place inside a `<script>` element:
/// `<`, `>`, `&` and the JavaScript line separators are written as `\uXXXX`
/// escapes, so no `</script>` or `<!--` can appear.
pub fn json_for_script(value: &serde_json::Value) -> String {
    escape_json_for_script(&serde_json::to_string(value).expect("JSON values serialise"))
}

/// [`json_for_script`] for JSON text already serialised.
pub fn escape_json_for_script(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    push_json_for_script(&mut out, s);
    out
}

/// Appends [`escape_json_for_script`] of `s` to `out`.
pub fn push_json_for_script(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // The next `<`, `>` or `&`, and the next U+2028 / U+2029 (E2 80 A8 / A9), from a byte offset.
    let markup = |from: usize| memchr::memchr3(b'<', b'>', b'&', &bytes[from..]).map_or(bytes.len(), |i| from + i);
    let separator = |mut from: usize| {
        while let Some(i) = memchr::memchr(0xE2, &bytes[from..]) {
            let i = from + i;
            if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) {
                return i;
            }
            from = i + 1;
        }
        bytes.len()
    };
    let (mut m, mut sep) = (markup(0), separator(0));
    let mut done = 0;
    while m.min(sep) < bytes.len() {
        if m < sep {
            out.push_str(&s[done..m]);
            out.push_str(match bytes[m] {
                b'<' => "\\u003c",
                b'>' => "\\u003e",
                _ => "\\u0026",
            });
            done = m + 1;
            m = markup(done);
        } else {
            out.push_str(&s[done..sep]);
            out.push_str(if bytes[sep + 2] == 0xA8 { "\\u2028" } else { "\\u2029" });
            done = sep + 3;
            sep = separator(done);
        }
    }
    out.push_str(&s[done..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_urls_never_survive_in_any_disguise() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;avascript:alert(1)",
            "&#0000106avascript:alert(1)",
            "javascript&colon;alert(1)",
            "java&Tab;script:alert(1)",
            "\u{1}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "DATA:image/svg+xml,<svg onload=alert(1)>",
        ] {
            assert_eq!(safe_href(bad), None, "{bad:?}");
            assert_eq!(safe_src(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn web_links_and_anchors_are_kept() {
        assert_eq!(
            safe_href("https://cloud.tencent.com/a?b=1&c=2").as_deref(),
            Some("https://cloud.tencent.com/a?b=1&c=2")
        );
        assert_eq!(safe_href(" HTTP://x.invalid/ ").as_deref(), Some("HTTP://x.invalid/"));
        assert_eq!(safe_href("mailto:a@b.invalid").as_deref(), Some("mailto:a@b.invalid"));
        assert_eq!(safe_href("#r-abc").as_deref(), Some("#r-abc"));
        assert_eq!(safe_href("../other.md"), None, "relative paths point nowhere here");
        assert_eq!(safe_src("#x"), None);
        assert_eq!(safe_src("mailto:a@b.invalid"), None);
        assert!(safe_src("https://qcloudimg.tencent-cloud.cn/raw/a.png").is_some());
    }

    #[test]
    fn raw_html_loses_scripts_handlers_and_script_urls() {
        let dirty = r#"<p onclick="x()">hi<script>alert(1)</script><img src="https://a.invalid/x.png" onerror="alert(1)" alt="a"><a href="javascript:alert(1)">j</a><a href="https://ok.invalid/">ok</a><iframe src="https://evil.invalid"></iframe><svg onload=alert(1)></svg></p>"#;
        let clean = clean_html(dirty);
        let lower = clean.to_ascii_lowercase();
        for bad in ["<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<svg"] {
            assert!(!lower.contains(bad), "{bad} survived in {clean}");
        }
        assert!(clean.contains(r#"href="https://ok.invalid/""#), "{clean}");
        assert!(clean.contains("noopener"), "{clean}");
    }

    #[test]
    fn script_escaping_replaces_exactly_markup_and_line_separators() {
        let reference = |s: &str| {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '<' => out.push_str("\\u003c"),
                    '>' => out.push_str("\\u003e"),
                    '&' => out.push_str("\\u0026"),
                    '\u{2028}' => out.push_str("\\u2028"),
                    '\u{2029}' => out.push_str("\\u2029"),
                    c => out.push(c),
                }
            }
            out
        };
        let mut text = crate::RandomText::new("a<>&\u{2028}\u{2029}\u{2027}\u{202a}“”…注 ", 0x1234_5678_9abc_def1);
        for len in 0..300 {
            let s = text.string(len);
            assert_eq!(escape_json_for_script(&s), reference(&s), "{s:?}");
        }
    }

    #[test]
    fn json_in_script_cannot_close_the_element() {
        let v = serde_json::json!({"name": "</script><script>alert(1)</script> & <!-- \u{2028}"});
        let s = json_for_script(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v, "still the same JSON");
    }
}
