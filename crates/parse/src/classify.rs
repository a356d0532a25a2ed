//! The rules that give records their kinds: item markers CommonMark does not
//! know (`1、`, `2）`, `步骤一`, `Step 3.`), question headings, and the
//! words that make a list a list of requirements or of steps.

use std::sync::LazyLock;

use regex::Regex;

/// An item marker found at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The marker as written, without trailing spaces or a trailing colon (`1、`, `Step 3.`, `步骤一`).
    pub ordinal: String,
    /// Its numeric value.
    pub number: Option<u32>,
    /// Byte length of the marker and the separator that follows it.
    pub len: usize,
    /// True for step markers (`步骤一`, `Step 1`, `第一步`).
    pub step: bool,
}

static STEP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:(步骤\s*([0-9]{1,3}|[一二三四五六七八九十两]{1,3}))|(第\s*([0-9]{1,3}|[一二三四五六七八九十两]{1,3})\s*步)|(step\s*([0-9]{1,3})))\s*([.．:：、)）]?)\s*")
        .unwrap()
});

static ITEM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"(?P<a>[0-9]{1,2})\s*(?P<ad>[、）])",              // 1、 1）
        r"|[（(](?P<b>[0-9]{1,2})[）)]",                    // （1） (1)
        r"|(?P<c>[0-9]{1,2})(?P<cd>[.．])(?:\s+|[^\d\s.])", // 1. 1．  (not 3.5)
        r"|(?P<d>[0-9]{1,2})\)\s",                          // 1) followed by space
        r"|(?P<e>[一二三四五六七八九十]{1,3})、",           // 一、
        r"|(?P<f>[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])",                  // ①
        r")\s*"
    ))
    .unwrap()
});

static QUESTION_END: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[？?][\s)）\]」』\u{201d}\u{2019}]*$").unwrap());

static REQUIREMENT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)条件|门槛|资质|需要符合|需符合|需满足|需要满足|必须满足|应满足|准入|要求|\bconditions?\b|\bqualifications?\b|\brequirements?\b|\beligib|\bmust\b|\bprerequisites?\b").unwrap()
});

static PROCEDURE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)步骤|指引|流程|操作指南|如何|怎么|\bsteps?\b|\bprocedures?\b|\bhow to\b|\bguide\b|\bwalkthrough\b")
        .unwrap()
});

/// Value of a Chinese numeral of up to three characters (一 … 九十九).
pub fn chinese_number(s: &str) -> Option<u32> {
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '零' => 0,
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [c] if *c == '十' => Some(10),
        [c] => digit(*c),
        ['十', c] => Some(10 + digit(*c)?),
        [a, '十'] => Some(digit(*a)? * 10),
        [a, '十', b] => Some(digit(*a)? * 10 + digit(*b)?),
        _ => None,
    }
}

fn number_of(s: &str) -> Option<u32> {
    s.parse().ok().or_else(|| chinese_number(s))
}

/// A step marker at the start of `text` (`步骤一：`, `Step 3.`, `第二步`).
pub fn step_marker(text: &str) -> Option<Marker> {
    let caps = STEP_RE.captures(text)?;
    let whole = caps.get(0).unwrap();
    let num = caps.get(2).or(caps.get(4)).or(caps.get(6)).map(|m| m.as_str())?;
    // "Step 1" must be followed by a separator or space, not by more letters ("steps").
    let after = &text[whole.end()..];
    let sep = caps.get(7).map(|m| m.as_str()).unwrap_or("");
    if sep.is_empty() && whole.as_str() == whole.as_str().trim_end() && !after.is_empty() {
        let next = after.chars().next().unwrap();
        if next.is_ascii_alphanumeric() {
            return None;
        }
    }
    let mut ordinal = whole.as_str().trim_end().to_string();
    for colon in [":", "："] {
        if let Some(o) = ordinal.strip_suffix(colon) {
            ordinal = o.trim_end().to_string();
        }
    }
    Some(Marker { ordinal, number: number_of(num), len: whole.end(), step: true })
}

/// An item marker at the start of `text` (`1、`, `2）`, `（3）`, `4.`, `一、`, `①`), or a step marker.
pub fn item_marker(text: &str) -> Option<Marker> {
    if let Some(m) = step_marker(text) {
        return Some(m);
    }
    let caps = ITEM_RE.captures(text)?;
    let whole = caps.get(0).unwrap();
    let (number, ordinal) = if let Some(n) = caps.name("a") {
        (number_of(n.as_str()), format!("{}{}", n.as_str(), &caps["ad"]))
    } else if let Some(n) = caps.name("b") {
        let raw = text[..whole.end()].trim_end();
        (number_of(n.as_str()), raw.to_string())
    } else if let Some(n) = caps.name("c") {
        (number_of(n.as_str()), format!("{}{}", n.as_str(), &caps["cd"]))
    } else if let Some(n) = caps.name("d") {
        (number_of(n.as_str()), format!("{})", n.as_str()))
    } else if let Some(n) = caps.name("e") {
        (chinese_number(n.as_str()), format!("{}、", n.as_str()))
    } else {
        let c = caps.name("f").unwrap().as_str();
        let n = c.chars().next().unwrap() as u32 - '①' as u32 + 1;
        (Some(n), c.to_string())
    };
    // For `1.x` the regex consumed one character of the text: give it back.
    let len = if caps.name("c").is_some() {
        let dot_end = caps.name("cd").unwrap().end();
        let rest = &text[dot_end..];
        dot_end + (rest.len() - rest.trim_start().len())
    } else {
        whole.end()
    };
    Some(Marker { ordinal, number, len, step: false })
}

/// True for a heading that asks a question.
pub fn is_question(text: &str) -> bool {
    QUESTION_END.is_match(text.trim())
}

/// True when a heading or lead-in announces requirements.
pub fn announces_requirements(text: &str) -> bool {
    REQUIREMENT_RE.is_match(text)
}

/// True when a heading or lead-in announces a procedure.
pub fn announces_procedure(text: &str) -> bool {
    PROCEDURE_RE.is_match(text)
}

/// True for a lead-in: a short paragraph that ends with a colon and introduces what follows.
pub fn is_lead_in(text: &str) -> bool {
    let t = text.trim_end();
    t.ends_with('：') || t.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_enumeration_markers() {
        let m = item_marker("1、服务商注册资本大于100万").unwrap();
        assert_eq!(
            (m.ordinal.as_str(), m.number, &"1、服务商注册资本大于100万"[m.len..]),
            ("1、", Some(1), "服务商注册资本大于100万")
        );
        let m = item_marker("  2）  服务费包含").unwrap_or_else(|| item_marker("2）  服务费包含").unwrap());
        assert_eq!(m.ordinal, "2）");
        assert_eq!(item_marker("（3）每个季度").unwrap().number, Some(3));
        assert_eq!(item_marker("三、其他").unwrap().number, Some(3));
        assert_eq!(item_marker("④ 提交").unwrap().number, Some(4));
    }

    #[test]
    fn dotted_numbers_are_markers_but_decimals_are_not() {
        let m = item_marker("4. 加入腾讯蓝鲸合作伙伴后").unwrap();
        assert_eq!((m.ordinal.as_str(), m.number), ("4.", Some(4)));
        assert_eq!(&"4. 加入"[m.len..], "加入");
        assert_eq!(&"1.进入"[item_marker("1.进入").unwrap().len..], "进入");
        assert!(item_marker("3.5 倍").is_none());
        assert!(item_marker("2024年").is_none());
        assert!(item_marker("100万").is_none());
    }

    #[test]
    fn step_markers_in_both_languages() {
        let m = step_marker("步骤三：提交合作伙伴申请").unwrap();
        assert_eq!((m.ordinal.as_str(), m.number), ("步骤三", Some(3)));
        assert_eq!(&"步骤三：提交合作伙伴申请"[m.len..], "提交合作伙伴申请");
        let m = step_marker("Step 3. Wait for the review").unwrap();
        assert_eq!((m.ordinal.as_str(), m.number), ("Step 3.", Some(3)));
        let m = step_marker("Step 4: Wait").unwrap();
        assert_eq!((m.ordinal.as_str(), m.number), ("Step 4", Some(4)));
        assert_eq!(step_marker("第二步 注册").unwrap().number, Some(2));
        assert!(step_marker("Steps to follow").is_none());
        assert!(step_marker("Stepping stones").is_none());
    }

    #[test]
    fn chinese_numerals() {
        assert_eq!(chinese_number("十"), Some(10));
        assert_eq!(chinese_number("十二"), Some(12));
        assert_eq!(chinese_number("二十"), Some(20));
        assert_eq!(chinese_number("二十三"), Some(23));
        assert_eq!(chinese_number("两"), Some(2));
        assert_eq!(chinese_number("百"), None);
    }

    #[test]
    fn questions_and_context_words() {
        assert!(is_question("个人能否成为云市场服务商？"));
        assert!(is_question("How long does review take?"));
        assert!(!is_question("合作伙伴的考核"));
        assert!(announces_requirements("成为微信小程序市场服务商需要符合以下条件："));
        assert!(announces_requirements("Basic Qualifications for Partners"));
        assert!(!announces_requirements("说明："));
        assert!(announces_procedure("控制台登录指引"));
        assert!(is_lead_in("申请蓝鲸合作伙伴的企业需满足如下条件："));
        assert!(!is_lead_in("合作伙伴自审核通过后，考核期为3个自然月。"));
    }
}
