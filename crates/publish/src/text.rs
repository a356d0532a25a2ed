//! The site's own words in both languages: interface strings, the names of
//! rule subjects, operators and units, and how rule values are written.

use std::collections::BTreeMap;

use kb_model::rules::{Op, Rule};
use kb_model::Lang;

/// The interface strings of one language, keyed by name, for the templates
/// (`{{ t.skip }}`).
pub fn ui(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    UI.iter().map(|(k, zh, en)| (*k, if lang == Lang::Zh { *zh } else { *en })).collect()
}

/// One interface string ([`ui`]`(lang)[name]` without building the map).
/// Panics on a name that is not one, as indexing the map does.
pub fn ui_text(lang: Lang, name: &str) -> &'static str {
    let (_, zh, en) = UI.iter().find(|(k, _, _)| *k == name).expect("an interface string");
    if lang == Lang::Zh {
        zh
    } else {
        en
    }
}

/// The interface strings: name, Chinese, English.
const UI: &[(&str, &str, &str)] = &[
    ("site_name", "合作伙伴政策知识库", "Partner Policy Knowledge Base"),
    ("skip", "跳到正文", "Skip to main content"),
    ("home", "首页", "Home"),
    ("documents", "文档", "Documents"),
    ("faq", "常见问题", "FAQ"),
    ("search", "搜索", "Search"),
    ("search_label", "搜索知识库", "Search the knowledge base"),
    ("search_placeholder", "例如：注册资本", "e.g. registered capital"),
    ("search_button", "搜索", "Search"),
    ("search_results", "搜索结果", "Search results"),
    ("search_needs_js", "搜索需要启用 JavaScript。", "Search needs JavaScript enabled."),
    ("language", "语言", "Language"),
    ("this_lang", "中文", "English"),
    ("other_lang", "English", "中文"),
    ("no_counterpart", "此页面没有英文版本", "This page has no Chinese version"),
    ("other_index", "查看英文首页", "See the Chinese home page"),
    ("on_this_page", "本页目录", "On this page"),
    ("requirements", "要求", "Requirements"),
    ("rule", "规则", "Rule"),
    ("rules_missing", "尚未提取规则", "No rules extracted yet"),
    ("source", "来源", "Source"),
    ("source_file", "源文件", "Source file"),
    ("lines", "行", "lines"),
    ("tip", "提示", "Tip"),
    ("warning", "注意", "Warning"),
    ("quote", "引用", "Quote"),
    ("faq_from_docs", "文档中的问答", "Questions from the documents"),
    ("faq_from_rules", "根据规则生成的问题", "Questions generated from the rules"),
    ("generated", "由规则生成", "Generated from a rule"),
    ("faq_none", "暂无常见问题。", "No questions yet."),
    ("no_documents", "没有该语言的文档。", "There are no documents in this language."),
    ("counterpart", "对应英文文档", "Chinese counterpart"),
    ("no_counterpart_doc", "无对应英文文档", "No Chinese counterpart"),
    ("confidence", "对齐置信度", "alignment confidence"),
    ("records", "条记录", "records"),
    ("questions", "个问题", "questions"),
    ("read_section", "阅读原文", "Read the source section"),
    ("more_in_section", "更多内容见原文", "More in the source section"),
    ("choose_language", "选择语言", "Choose a language"),
    ("spanned", "（合并单元格）", "(merged cell)"),
    ("step", "步骤", "Step"),
    ("image", "截图", "Screenshot"),
    ("checked_hint", "可勾选以自查", "tick to check yourself"),
    ("results_count", "条结果", "results"),
    ("no_results", "没有找到结果。", "No results."),
    ("programmes", "栏目", "Programmes"),
    ("pages", "分页", "Pages"),
    ("page", "第几页", "Page"),
    ("previous_page", "上一页", "Previous page"),
    ("next_page", "下一页", "Next page"),
    ("all_questions", "全部常见问题", "All questions"),
    ("all_documents", "全部文档", "All documents"),
    ("more_questions", "查看全部问题", "all questions"),
];

/// The display name of a language, in that language.
pub fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "中文",
        Lang::En => "English",
    }
}

/// A rule subject's name (`registered_capital` → `注册资本` / `registered capital`).
pub fn subject_label(subject: &str, lang: Lang) -> String {
    let known: &[(&str, &str, &str)] = &[
        ("registered_capital", "注册资本", "registered capital"),
        ("headcount", "公司人员规模", "headcount"),
        ("team_size", "技术及服务团队人数", "team size"),
        ("operations_staff", "专职运营人员", "operations staff"),
        ("certified_engineers", "认证工程师人数", "certified engineers"),
        ("company_age", "企业成立年限", "company age"),
        ("industry_experience", "行业服务经验", "industry experience"),
        ("support_hours_weekly", "每周客服在线时长", "weekly support hours"),
        ("registered_users", "注册用户量", "registered users"),
        ("customer_cases", "客户案例数", "customer cases"),
        ("service_fee", "服务费", "service fee"),
        ("review_time", "审核时长", "review time"),
        ("entity_type", "主体类型", "entity type"),
    ];
    match known.iter().find(|(k, _, _)| *k == subject) {
        Some((_, zh, en)) => (if lang == Lang::Zh { *zh } else { *en }).to_string(),
        None => subject.replace('_', " "),
    }
}

/// A rule kind's name (`qualitative` → `定性要求`).
pub fn kind_label(kind: &str, lang: Lang) -> String {
    let known: &[(&str, &str, &str)] = &[
        ("quantitative", "定量要求", "quantitative"),
        ("boolean", "是否要求", "yes/no"),
        ("enum", "类型要求", "enumerated"),
        ("qualitative", "定性要求", "qualitative"),
    ];
    match known.iter().find(|(k, _, _)| *k == kind) {
        Some((_, zh, en)) => (if lang == Lang::Zh { *zh } else { *en }).to_string(),
        None => kind.to_string(),
    }
}

/// A qualifier's name (`automation` → `运维自动化`).
pub fn qualifier_label(q: &str, lang: Lang) -> String {
    let known: &[(&str, &str, &str)] =
        &[("automation", "运维自动化", "automation"), ("development", "运维开发", "development")];
    match known.iter().find(|(k, _, _)| *k == q) {
        Some((_, zh, en)) => (if lang == Lang::Zh { *zh } else { *en }).to_string(),
        None => q.replace('_', " "),
    }
}

/// A number without a trailing `.0` when whole.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The operator as a symbol (`≥`).
pub fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Ge => "≥",
        Op::Gt => ">",
        Op::Le => "≤",
        Op::Lt => "<",
        Op::Eq => "=",
    }
}

/// The operator in words (`不少于` / `at least`).
pub fn op_words(op: Op, lang: Lang) -> &'static str {
    match (op, lang) {
        (Op::Ge, Lang::Zh) => "不少于",
        (Op::Gt, Lang::Zh) => "大于",
        (Op::Le, Lang::Zh) => "不超过",
        (Op::Lt, Lang::Zh) => "少于",
        (Op::Eq, Lang::Zh) => "为",
        (Op::Ge, Lang::En) => "at least",
        (Op::Gt, Lang::En) => "more than",
        (Op::Le, Lang::En) => "at most",
        (Op::Lt, Lang::En) => "less than",
        (Op::Eq, Lang::En) => "exactly",
    }
}

/// A unit's name after a number (`CNY` → `元` / `CNY`).
pub fn unit_label(unit: &str, lang: Lang) -> String {
    let known: &[(&str, &str, &str)] = &[
        ("CNY", "元", "CNY"),
        ("people", "人", "people"),
        ("years", "年", "years"),
        ("hours", "小时", "hours"),
        ("users", "个用户", "users"),
        ("cases", "个案例", "cases"),
        ("working_days", "个工作日", "working days"),
        ("days", "天", "days"),
    ];
    match known.iter().find(|(k, _, _)| *k == unit) {
        Some((_, zh, en)) => (if lang == Lang::Zh { *zh } else { *en }).to_string(),
        None => unit.replace('_', " "),
    }
}

/// Writes a number with thousands separators (`1000000` → `1,000,000`),
/// keeping a fractional part as it is.
pub fn group_digits(n: &serde_json::Number) -> String {
    let s = n.to_string();
    let (sign, rest) = s.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", s.as_str()));
    let (int, frac) = rest.split_once('.').map(|(i, f)| (i, Some(f))).unwrap_or((rest, None));
    if int.len() <= 3 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return s;
    }
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A rule's value as people read it in `lang` (`1000000` CNY → `100万` in
/// Chinese, `1,000,000` in English; booleans as 有/无, yes/no).
pub fn value_words(value: &serde_json::Value, unit: Option<&str>, lang: Lang) -> String {
    match value {
        serde_json::Value::Bool(b) => match (lang, b) {
            (Lang::Zh, true) => "有".into(),
            (Lang::Zh, false) => "无".into(),
            (Lang::En, true) => "yes".into(),
            (Lang::En, false) => "no".into(),
        },
        serde_json::Value::Number(n) => {
            if lang == Lang::Zh && unit == Some("CNY") {
                if let Some(i) = n.as_u64() {
                    if i >= 10_000 && i % 10_000 == 0 {
                        return format!("{}万", i / 10_000);
                    }
                }
            }
            group_digits(n)
        }
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The condition of a quantitative or boolean rule in words
/// (`注册资本大于100万元` / `registered capital more than 1,000,000 CNY`),
/// or `None` for a rule without subject or value.
pub fn rule_sentence(rule: &Rule, lang: Lang) -> Option<String> {
    let subject = rule.subject.as_deref()?;
    let value = rule.value.as_ref()?;
    let label = match rule.qualifier.as_deref() {
        Some(q) => match lang {
            Lang::Zh => format!("{}（{}）", subject_label(subject, lang), qualifier_label(q, lang)),
            Lang::En => format!("{} ({})", subject_label(subject, lang), qualifier_label(q, lang)),
        },
        None => subject_label(subject, lang),
    };
    let unit = rule.unit.as_deref().filter(|u| *u != "bool" && *u != "enum" && !value.is_boolean());
    if let serde_json::Value::Bool(b) = value {
        return Some(match (lang, b) {
            (Lang::Zh, true) => format!("需要{label}"),
            (Lang::Zh, false) => format!("无需{label}"),
            (Lang::En, true) => format!("{label}: required"),
            (Lang::En, false) => format!("{label}: not required"),
        });
    }
    let (v, op) = match rule.range {
        Some([lo, hi]) => {
            (format!("{}–{}", number(lo), number(hi)), Some(if lang == Lang::Zh { "为" } else { "between" }))
        }
        None => (value_words(value, rule.unit.as_deref(), lang), rule.op.map(|o| op_words(o, lang))),
    };
    Some(match lang {
        Lang::Zh => {
            let u = unit.map(|u| unit_label(u, Lang::Zh)).unwrap_or_default();
            format!("{label}{}{v}{u}", op.unwrap_or("为"))
        }
        Lang::En => {
            let u = unit.map(|u| format!(" {}", unit_label(u, Lang::En))).unwrap_or_default();
            format!("{label}: {} {v}{u}", op.unwrap_or("exactly"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_threes() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(group_digits(&n("1000000")), "1,000,000");
        assert_eq!(group_digits(&n("100")), "100");
        assert_eq!(group_digits(&n("1234.5")), "1,234.5");
        assert_eq!(group_digits(&n("-12345")), "-12,345");
    }

    #[test]
    fn chinese_capital_is_written_in_wan() {
        let v = serde_json::json!(1_000_000);
        assert_eq!(value_words(&v, Some("CNY"), Lang::Zh), "100万");
        assert_eq!(value_words(&v, Some("CNY"), Lang::En), "1,000,000");
        assert_eq!(value_words(&serde_json::json!(true), Some("bool"), Lang::Zh), "有");
    }

    #[test]
    fn both_languages_have_every_interface_string() {
        let zh = ui(Lang::Zh);
        let en = ui(Lang::En);
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
        assert!(zh.values().chain(en.values()).all(|v| !v.is_empty()));
    }
}
