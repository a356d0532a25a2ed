//! From the query a person typed to a tantivy query.
//!
//! The text is parsed with tantivy's query grammar, then rewritten before
//! tantivy resolves fields and terms:
//!
//! * `text:` and `heading:` are aliases for both language fields
//!   (`text_zh` or `text_en`);
//! * an unquoted word holding Han characters is cut into words (jieba default
//!   mode) that must all occur, anywhere in the record, with a bonus when
//!   they occur together: Chinese has no spaces, so `认证工程师` means
//!   `认证 工程师`, and finds the table row whose header says 工程师 and whose
//!   cell says 认证. A quoted `"认证工程师"` stays a phrase.
//!
//! Words are combined with AND by default (`OR` and `-` as usual).

use tantivy::query::{Query, QueryParser, QueryParserError};
use tantivy::query_grammar::{self, Delimiter, Occur, UserInputAst, UserInputLeaf, UserInputLiteral};

use crate::analysis::{has_han, query_words};
use crate::schema::{QUERY_FIELDS, RAW_FIELDS};
use crate::Error;

/// Boost of the phrase bonus added to a split Chinese word.
const PHRASE_BONUS: f64 = 2.0;

/// Parses `query` against `parser`'s schema.
pub(crate) fn parse(parser: &QueryParser, query: &str) -> Result<Box<dyn Query>, Error> {
    let bad = |message: String| Error::Query { query: query.to_string(), message };
    if query.trim().is_empty() {
        return Err(bad("the query is empty".into()));
    }
    let ast = match query_grammar::parse_query(query) {
        Ok(ast) => ast,
        Err(_) => {
            let (_, errors) = query_grammar::parse_query_lenient(query);
            let message = match errors.first() {
                Some(e) => format!("syntax error at character {}: {}", char_pos(query, e.pos), e.message),
                None => "syntax error".to_string(),
            };
            return Err(bad(message));
        }
    };
    let ast = rewrite(ast);
    parser.build_query_from_user_input_ast(ast).map_err(|e| bad(describe(e)))
}

/// Byte position → 1-based character position.
fn char_pos(s: &str, byte: usize) -> usize {
    s.char_indices().take_while(|(i, _)| *i < byte).count() + 1
}

fn describe(e: QueryParserError) -> String {
    match e {
        QueryParserError::FieldDoesNotExist(f) => {
            format!("unknown field `{f}`; fields: {}", QUERY_FIELDS.join(", "))
        }
        QueryParserError::FieldNotIndexed(f) => {
            format!("field `{f}` cannot be searched; fields: {}", QUERY_FIELDS.join(", "))
        }
        QueryParserError::AllButQueryForbidden => {
            "only excluded terms (-word); add something to search for".to_string()
        }
        QueryParserError::FieldDoesNotHavePositionsIndexed(f) => {
            format!("field `{f}` holds whole values; phrases do not apply to it")
        }
        QueryParserError::SyntaxError(s) => format!("syntax error: {s}"),
        QueryParserError::UnsupportedQuery(s) => s,
        other => other.to_string(),
    }
}

fn rewrite(ast: UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(cs) => UserInputAst::Clause(cs.into_iter().map(|(o, a)| (o, rewrite(a))).collect()),
        UserInputAst::Boost(a, b) => UserInputAst::Boost(Box::new(rewrite(*a)), b),
        UserInputAst::Leaf(leaf) => match *leaf {
            UserInputLeaf::Literal(lit) => rewrite_literal(lit),
            UserInputLeaf::Regex { field, pattern } => match alias(field.as_deref()) {
                Some(fields) => UserInputAst::Clause(
                    fields
                        .iter()
                        .map(|f| {
                            let leaf = UserInputLeaf::Regex { field: Some(f.to_string()), pattern: pattern.clone() };
                            (Some(Occur::Should), UserInputAst::from(leaf))
                        })
                        .collect(),
                ),
                None => UserInputAst::from(UserInputLeaf::Regex { field, pattern }),
            },
            other => UserInputAst::from(other),
        },
    }
}

fn alias(field: Option<&str>) -> Option<[&'static str; 2]> {
    match field {
        Some("text") => Some(["text_zh", "text_en"]),
        Some("heading") => Some(["heading_zh", "heading_en"]),
        _ => None,
    }
}

fn rewrite_literal(lit: UserInputLiteral) -> UserInputAst {
    if let Some(fields) = alias(lit.field_name.as_deref()) {
        return UserInputAst::Clause(
            fields
                .iter()
                .map(|f| {
                    let l = UserInputLiteral { field_name: Some(f.to_string()), ..lit.clone() };
                    (Some(Occur::Should), rewrite_literal(l))
                })
                .collect(),
        );
    }
    let raw = lit.field_name.as_deref().is_some_and(|f| RAW_FIELDS.contains(&f));
    if lit.delimiter == Delimiter::None && !lit.prefix && !raw && has_han(&lit.phrase) {
        let words = query_words(&lit.phrase);
        if words.len() > 1 {
            let mut clauses: Vec<(Option<Occur>, UserInputAst)> = words
                .iter()
                .map(|w| {
                    let l = UserInputLiteral { phrase: w.to_string(), ..lit.clone() };
                    (Some(Occur::Must), UserInputAst::from(UserInputLeaf::Literal(l)))
                })
                .collect();
            let phrase = UserInputLiteral { delimiter: Delimiter::DoubleQuotes, ..lit };
            clauses.push((
                Some(Occur::Should),
                UserInputAst::Boost(Box::new(UserInputAst::from(UserInputLeaf::Literal(phrase))), PHRASE_BONUS.into()),
            ));
            return UserInputAst::Clause(clauses);
        }
    }
    UserInputAst::from(UserInputLeaf::Literal(lit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(q: &str) -> String {
        format!("{:?}", rewrite(query_grammar::parse_query(q).unwrap()))
    }

    #[test]
    fn unquoted_chinese_is_cut_into_required_words_with_a_phrase_bonus() {
        let s = rewritten("认证工程师");
        assert!(s.contains("+认证") && s.contains("+工程师"), "{s}");
        assert!(s.contains("(\"认证工程师\")^2"), "{s}");
    }

    #[test]
    fn quoted_chinese_and_single_words_stay_as_typed() {
        assert_eq!(rewritten("\"认证工程师\""), format!("{:?}", query_grammar::parse_query("\"认证工程师\"").unwrap()));
        assert_eq!(rewritten("资本"), format!("{:?}", query_grammar::parse_query("资本").unwrap()));
        assert_eq!(
            rewritten("subject:注册资本"),
            format!("{:?}", query_grammar::parse_query("subject:注册资本").unwrap())
        );
    }

    #[test]
    fn text_and_heading_expand_to_both_languages() {
        let s = rewritten("heading:partner");
        assert!(s.contains("\"heading_zh\":partner") && s.contains("\"heading_en\":partner"), "{s}");
    }
}
