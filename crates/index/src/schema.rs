//! The index schema: one tantivy document per record.
//!
//! | field          | how it is indexed                           | for |
//! |----------------|---------------------------------------------|-----|
//! | `id`           | raw, stored                                 | `id:…`, counterpart look-up |
//! | `doc`          | raw, stored, fast                           | `doc:…`, `--doc`, deleting a document's records, source order |
//! | `path`         | raw                                         | `path:…` |
//! | `lang`, `kind` | raw                                         | `lang:zh`, `kind:faq`, `--lang`, `--kind` |
//! | `text_zh`      | `kb_zh` (jieba search mode), positions      | default field |
//! | `text_en`      | `kb_en` (stemmed), positions                | default field |
//! | `heading_zh`, `heading_en` | as the text fields              | default fields (boost 0.5) |
//! | `subject`      | raw, stored                                 | `subject:registered_capital` |
//! | `subject_words`| `kb_en` (`registered_capital` → registered, capital) | default field: an English query finds a rule's record in either language |
//! | `scope`        | `kb_zh` (either script), stored             | `scope:…` |
//! | `counterpart`  | raw, stored                                 | the aligned record's id |
//! | `confidence`   | stored f64                                  | the pairing's confidence |
//! | `line_at`, `line_len` | stored u64                           | where the record's line is in `records.jsonl`: offset from its document's first line, length |
//! | `ord`          | fast u64                                    | the record's ordinal in its document |
//!
//! Records that score the same rank in source order: their document's place
//! among the documents of `kb-index.json` (found through the `doc` fast
//! field, so an updated index ranks them as a fresh one does, whatever
//! documents were added or removed since a record was indexed), then `ord`.
//!
//! `text` and `heading` are query-side aliases of the two language fields.
//! The records themselves are not stored: a hit's record is read from the
//! build's `records.jsonl` (see [`crate::records`]).

use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use crate::analysis::{self, EN_ANALYZER, ZH_ANALYZER};

/// The index's fields, by handle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub doc: Field,
    pub path: Field,
    pub lang: Field,
    pub kind: Field,
    pub text_zh: Field,
    pub text_en: Field,
    pub heading_zh: Field,
    pub heading_en: Field,
    pub subject: Field,
    pub subject_words: Field,
    pub scope: Field,
    pub counterpart: Field,
    pub confidence: Field,
    pub line_at: Field,
    pub line_len: Field,
    pub ord: Field,
}

/// Field names a query may use (the two aliases first).
pub const QUERY_FIELDS: &[&str] = &[
    "text",
    "heading",
    "id",
    "doc",
    "path",
    "lang",
    "kind",
    "subject",
    "scope",
    "counterpart",
    "text_zh",
    "text_en",
    "heading_zh",
    "heading_en",
    "subject_words",
];

/// Fields whose values are matched whole (no tokenizing, no word splitting).
pub const RAW_FIELDS: &[&str] = &["id", "doc", "path", "lang", "kind", "subject", "counterpart"];

fn text(analyzer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(analyzer).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        doc: b.add_text_field("doc", STRING | STORED | FAST),
        path: b.add_text_field("path", STRING),
        lang: b.add_text_field("lang", STRING),
        kind: b.add_text_field("kind", STRING),
        text_zh: b.add_text_field("text_zh", text(ZH_ANALYZER)),
        text_en: b.add_text_field("text_en", text(EN_ANALYZER)),
        heading_zh: b.add_text_field("heading_zh", text(ZH_ANALYZER)),
        heading_en: b.add_text_field("heading_en", text(EN_ANALYZER)),
        subject: b.add_text_field("subject", STRING | STORED),
        subject_words: b.add_text_field("subject_words", text(EN_ANALYZER)),
        scope: b.add_text_field("scope", text(ZH_ANALYZER) | STORED),
        counterpart: b.add_text_field("counterpart", STRING | STORED),
        confidence: b.add_f64_field("confidence", STORED),
        line_at: b.add_u64_field("line_at", STORED),
        line_len: b.add_u64_field("line_len", STORED),
        ord: b.add_u64_field("ord", FAST),
    };
    (b.build(), f)
}

impl Fields {
    /// Looks the fields up in an opened index's schema.
    pub(crate) fn from_schema(schema: &Schema) -> Option<Fields> {
        let g = |n: &str| schema.get_field(n).ok();
        Some(Fields {
            id: g("id")?,
            doc: g("doc")?,
            path: g("path")?,
            lang: g("lang")?,
            kind: g("kind")?,
            text_zh: g("text_zh")?,
            text_en: g("text_en")?,
            heading_zh: g("heading_zh")?,
            heading_en: g("heading_en")?,
            subject: g("subject")?,
            subject_words: g("subject_words")?,
            scope: g("scope")?,
            counterpart: g("counterpart")?,
            confidence: g("confidence")?,
            line_at: g("line_at")?,
            line_len: g("line_len")?,
            ord: g("ord")?,
        })
    }

    /// The text field of a language.
    pub(crate) fn text(&self, zh: bool) -> Field {
        if zh {
            self.text_zh
        } else {
            self.text_en
        }
    }
}

/// Registers the indexing analyzers (jieba loads only when Han text is met).
pub(crate) fn register_index_analyzers(m: &TokenizerManager) {
    m.register(ZH_ANALYZER, analysis::index_analyzer(true));
    m.register(EN_ANALYZER, analysis::index_analyzer(false));
}

/// Registers the indexing analyzers without their memo (for the baseline).
pub(crate) fn register_plain_analyzers(m: &TokenizerManager) {
    m.register(ZH_ANALYZER, analysis::plain_index_analyzer(true));
    m.register(EN_ANALYZER, analysis::plain_index_analyzer(false));
}

/// A tokenizer manager whose `kb_zh` / `kb_en` are the query-side analyzers.
pub(crate) fn query_tokenizers() -> TokenizerManager {
    let m = TokenizerManager::default();
    m.register(ZH_ANALYZER, analysis::query_analyzer(true));
    m.register(EN_ANALYZER, analysis::query_analyzer(false));
    m
}

/// The analyzer used to find highlight positions in a language's text.
pub(crate) fn snippet_analyzer(zh: bool, query_has_han: bool) -> TextAnalyzer {
    use analysis::{HanMode, Positions};
    let han = if !query_has_han {
        HanMode::Skip
    } else if zh {
        HanMode::Search
    } else {
        HanMode::Words
    };
    analysis::analyzer(han, Positions::Chars)
}
