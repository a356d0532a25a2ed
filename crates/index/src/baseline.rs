//! The benchmark baseline: the least work a search index of a corpus can be.
//!
//! [`baseline_index`] indexes whole files as plain text, one tantivy document
//! per file, with the same analyzers as the real index (`kb_zh`: jieba search
//! mode; `kb_en`: stemmed English, without the memo of repeated texts, which
//! whole files do not have) and the same writer settings as the real index
//! (an indexing thread per core for a large corpus, 192 MB each, no merges,
//! no fsync). No parsing, no
//! records, no alignment, rules or site: `kb bench` divides the time of a full
//! `kb build` by the time of this to say what kb's structure costs.

use std::path::Path;

use kb_model::Lang;
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions, STORED, STRING};
use tantivy::{doc, IndexWriter};

use crate::analysis::{EN_ANALYZER, ZH_ANALYZER};
use crate::build::io;
use crate::{schema, Error, Result};

/// One file for the baseline: its path, its language and its text.
#[derive(Debug, Clone)]
pub struct PlainFile {
    /// Path, stored as the document's key.
    pub path: String,
    /// Which analyzer its text goes through.
    pub lang: Lang,
    /// The whole file.
    pub text: String,
}

/// What the baseline indexed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaselineStats {
    /// Files indexed.
    pub files: usize,
    /// Bytes of text indexed.
    pub bytes: u64,
}

fn text(analyzer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(analyzer).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Indexes `files` as plain text into a new index in `dir` (created; must
/// not hold an index already). Files are consumed one at a time, so the
/// caller may read them lazily.
pub fn baseline_index(dir: &Path, files: impl IntoIterator<Item = PlainFile>) -> Result<BaselineStats> {
    std::fs::create_dir_all(dir).map_err(io("creating index folder", dir))?;
    let mut b = Schema::builder();
    let path = b.add_text_field("path", STRING | STORED);
    let zh = b.add_text_field("text_zh", text(ZH_ANALYZER));
    let en = b.add_text_field("text_en", text(EN_ANALYZER));
    let index = crate::update::create(dir, b.build())?;
    schema::register_plain_analyzers(index.tokenizers());
    let tantivy_err = |what: &'static str| move |source| Error::Tantivy { what, path: dir.to_path_buf(), source };
    // Files come one at a time, so their total is not known: the settings of a large job.
    let writer: IndexWriter =
        crate::update::writer(&index, usize::MAX, true).map_err(tantivy_err("opening index writer on"))?;
    let mut stats = BaselineStats::default();
    for f in files {
        stats.files += 1;
        stats.bytes += f.text.len() as u64;
        let field = if f.lang == Lang::Zh { zh } else { en };
        writer.add_document(doc!(path => f.path, field => f.text)).map_err(tantivy_err("adding a file to"))?;
    }
    let mut writer = writer;
    writer.commit().map_err(tantivy_err("committing index"))?;
    writer.wait_merging_threads().map_err(tantivy_err("finishing index"))?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_indexes_each_file_with_its_language_analyzer() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            PlainFile { path: "zh/a.md".into(), lang: Lang::Zh, text: "注册资本100万元以上".into() },
            PlainFile { path: "en/a.md".into(), lang: Lang::En, text: "Registered capital".into() },
        ];
        let stats = baseline_index(&dir.path().join("i"), files).unwrap();
        assert_eq!(stats.files, 2);
        let index = tantivy::Index::open_in_dir(dir.path().join("i")).unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.num_docs(), 2);
        let zh = index.schema().get_field("text_zh").unwrap();
        let en = index.schema().get_field("text_en").unwrap();
        let count = |field, term: &str| {
            let q =
                tantivy::query::TermQuery::new(tantivy::Term::from_field_text(field, term), IndexRecordOption::Basic);
            searcher.search(&q, &tantivy::collector::Count).unwrap()
        };
        // jieba search mode cut 注册资本 into its words too; English was stemmed.
        assert_eq!(count(zh, "资本"), 1);
        assert_eq!(count(en, "regist"), 1);
        assert_eq!(count(en, "资本"), 0);
    }
}
