//! The index stage: a tantivy full-text index over every record (`kb-index`).
//!
//! Reads `cx.documents`, and `cx.alignment` and `cx.rules` when the earlier
//! stages left them (either may be `None`), and writes `index/` in the
//! staging folder. The index keeps the fingerprint of the staged
//! `records.jsonl`, so `kb search` can tell when it no longer matches.

use crate::{BuildContext, Error, Result, Stage, RECORDS_FILE};

/// Indexes the records for `kb search`.
pub struct IndexStage;

impl Stage for IndexStage {
    fn name(&self) -> &'static str {
        "index"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let records = cx.staged(RECORDS_FILE);
        let bytes = std::fs::read(&records).map_err(|source| Error::Io {
            what: "reading",
            path: records.clone(),
            source,
        })?;
        let meta = kb_index::BuildMeta {
            records_fingerprint: kb_index::fingerprint(&bytes),
            corpus: Some(cx.corpus_dir.display().to_string()),
        };
        let dir = cx.staged(kb_index::INDEX_DIR);
        let m = kb_index::build_index(
            &dir,
            cx.records(),
            cx.alignment.as_ref(),
            cx.rules.as_ref(),
            &meta,
        )
        .map_err(|e| Error::Stage {
            stage: "index",
            source: Box::new(e),
        })?;
        let mut extra = Vec::new();
        if m.aligned {
            extra.push(format!("{} with a counterpart", m.with_counterpart));
        }
        if m.ruled {
            extra.push(format!("{} with rule subjects", m.with_subject));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {}", extra.join(", "))
        };
        Ok(format!(
            "{} records indexed ({} zh, {} en){} → {}/",
            m.records,
            m.zh_records,
            m.en_records,
            extra,
            kb_index::INDEX_DIR
        ))
    }
}
