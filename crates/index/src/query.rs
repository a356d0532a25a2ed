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
//!
//! The query tantivy builds is then reshaped so that a record's score is the
//! same number whichever segment holds it: tantivy sums the scores of the
//! required parts of a query in the order of their cost *in the segment*,
//! and floating-point sums of three or more parts depend on their order, so
//! required parts are nested two by two ([`in_pairs`], [`all_of`]; a sum of
//! two is the same either way round), and a boost of a group is moved onto
//! its members (tantivy's parser would flatten the nesting of a boosted
//! group's members into a boost it cannot look into).

use tantivy::query::{BooleanQuery, Query, QueryParser, QueryParserError};
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
    let query = parser.build_query_from_user_input_ast(ast).map_err(|e| bad(describe(e)))?;
    Ok(in_pairs(&*query))
}

/// `query` with the required clauses of every boolean query in it nested
/// two by two (see the module header): the same records match, and each
/// record's score is summed in an order that does not depend on its segment.
pub(crate) fn in_pairs(query: &dyn Query) -> Box<dyn Query> {
    let Some(b) = query.downcast_ref::<BooleanQuery>() else {
        return query.box_clone();
    };
    let mut musts = Vec::new();
    let mut others = Vec::new();
    for (occur, sub) in b.clauses() {
        let sub = in_pairs(&**sub);
        match occur {
            tantivy::query::Occur::Must => musts.push(sub),
            o => others.push((*o, sub)),
        }
    }
    let mut clauses: Vec<(tantivy::query::Occur, Box<dyn Query>)> =
        two_at_most(musts).into_iter().map(|q| (tantivy::query::Occur::Must, q)).collect();
    clauses.extend(others);
    let mut out = BooleanQuery::new(clauses);
    out.set_minimum_number_should_match(b.get_minimum_number_should_match());
    Box::new(out)
}

/// A query that every one of `parts` must match (scored as their sum, in
/// an order that does not depend on the segment).
pub(crate) fn all_of(mut parts: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if parts.len() == 1 {
        return parts.pop().expect("one part");
    }
    let clauses = two_at_most(parts).into_iter().map(|q| (tantivy::query::Occur::Must, q)).collect();
    Box::new(BooleanQuery::new(clauses))
}

/// `parts` as at most two required queries: the first, and the rest nested.
fn two_at_most(mut parts: Vec<Box<dyn Query>>) -> Vec<Box<dyn Query>> {
    if parts.len() <= 2 {
        return parts;
    }
    let first = parts.remove(0);
    vec![first, all_of(parts)]
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
        UserInputAst::Boost(a, b) => boost(rewrite(*a), &|x| UserInputAst::Boost(Box::new(x), b)),
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

/// `ast` boosted (by `wrap`), with the boost of a group moved onto its
/// members (see the module header).
fn boost(ast: UserInputAst, wrap: &dyn Fn(UserInputAst) -> UserInputAst) -> UserInputAst {
    match ast {
        UserInputAst::Clause(cs) => UserInputAst::Clause(cs.into_iter().map(|(o, a)| (o, boost(a, wrap))).collect()),
        other => wrap(other),
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

#[cfg(test)]
mod shape_tests {
    use super::*;
    use tantivy::query::{BoostQuery, Occur};

    /// The most required clauses of any boolean query in `q`, and whether a
    /// boost wraps a boolean query with more than one required clause.
    fn widest(q: &dyn Query) -> (usize, bool) {
        if let Some(b) = q.downcast_ref::<BooleanQuery>() {
            let musts = b.clauses().iter().filter(|(o, _)| *o == Occur::Must).count();
            return b
                .clauses()
                .iter()
                .map(|(_, s)| widest(&**s))
                .fold((musts, false), |a, s| (a.0.max(s.0), a.1 || s.1));
        }
        if q.downcast_ref::<BoostQuery>().is_some() {
            // A boost cannot be looked into: what it wraps shows in its description.
            let s = format!("{q:?}");
            return (0, s.matches("(Must,").count() > 1);
        }
        (0, false)
    }

    fn parser() -> QueryParser {
        let (schema, f) = crate::schema::schema();
        let mut p = QueryParser::new(schema, vec![f.text_en, f.heading_en], crate::schema::query_tokenizers());
        p.set_conjunction_by_default();
        p.set_field_boost(f.heading_en, 0.5);
        p
    }

    #[test]
    fn required_parts_are_nested_two_by_two_and_group_boosts_move_onto_members() {
        let p = parser();
        for q in ["a b c d e", "(a b c)^2 d", "a b -c d OR e", "kind:faq a b", "(x y z)^3"] {
            let (musts, boosted_group) = widest(&*parse(&p, q).unwrap());
            assert!(musts <= 2, "{q}: {musts} required clauses side by side");
            assert!(!boosted_group, "{q}: a boost wraps a group of required clauses");
        }
        // Without the reshaping, tantivy's parser gives five side by side.
        let flat = p.parse_query("a b c d e").unwrap();
        assert_eq!(widest(&*flat).0, 5);
        assert!(format!("{:?}", rewrite(query_grammar::parse_query("(a b)^2").unwrap())).matches("^2").count() == 2);
    }

    #[test]
    fn nesting_keeps_what_matches() {
        let parts: Vec<Box<dyn Query>> = (0..5)
            .map(|i| {
                let t = tantivy::Term::from_field_text(crate::schema::schema().1.kind, &format!("k{i}"));
                Box::new(tantivy::query::TermQuery::new(t, tantivy::schema::IndexRecordOption::Basic)) as Box<dyn Query>
            })
            .collect();
        let nested = all_of(parts);
        let mut terms = Vec::new();
        nested.query_terms(&mut |t, _| terms.push(t.value().as_str().unwrap().to_string()));
        assert_eq!(terms, ["k0", "k1", "k2", "k3", "k4"]);
        assert_eq!(widest(&*nested).0, 2);
    }
}
