//! The index stage: a tantivy full-text index over every record (`kb-index`).
//!
//! Reads `cx.documents`, and `cx.alignment` and `cx.rules` when the earlier
//! stages left them (either may be `None`), and writes `index/` in the
//! staging folder. The index reads its records from the staged
//! `records.jsonl` (it stores where each record's line is, not the record)
//! and keeps the file's fingerprint, so `kb search` can tell when it no
//! longer matches; where each line starts and the fingerprint come from the
//! parse stage, which wrote the file ([`BuildContext::records_layout`]), so
//! the index does not read it again. In an incremental build it starts from
//! a hard-linked copy of the previous index and deletes and re-adds only the
//! changed documents. It only reads the context, so it runs beside the publish
//! stage ([`Stage::is_shared`]); its build-cache keys go into the context
//! when both are done.

use crate::{BuildContext, Error, Finish, Result, Stage, RECORDS_FILE};

/// Indexes the records for `kb search`.
pub struct IndexStage;

impl Stage for IndexStage {
    fn name(&self) -> &'static str {
        "index"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let (summary, finish) = self.run_shared(cx)?;
        finish(cx);
        Ok(summary)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn run_shared(&self, cx: &BuildContext) -> Result<(String, Finish)> {
        let records = cx.staged(RECORDS_FILE);
        let dir = cx.staged(kb_index::INDEX_DIR);
        let prev_dir = cx.previous.as_ref().map(|p| p.out.join(kb_index::INDEX_DIR));
        let reuse = match (&cx.previous, &prev_dir) {
            (Some(p), Some(d)) => Some(kb_index::IndexReuse { dir: d, keys: &p.cache.index }),
            _ => None,
        };
        let u = kb_index::update_index(
            &dir,
            kb_index::RecordsSource::new(&records, cx.records_layout.as_ref()),
            &cx.documents,
            cx.alignment.as_ref(),
            cx.rules.as_ref(),
            Some(cx.corpus_dir.display().to_string()),
            reuse.as_ref(),
        )
        .map_err(|e| Error::Stage { stage: "index", source: Box::new(e) })?;
        let m = u.meta;
        let mut extra = Vec::new();
        if m.aligned {
            extra.push(format!("{} with a counterpart", m.with_counterpart));
        }
        if m.ruled {
            extra.push(format!("{} with rule subjects", m.with_subject));
        }
        let extra = if extra.is_empty() { String::new() } else { format!(", {}", extra.join(", ")) };
        let how = if u.reused {
            format!(" (updated: {} documents re-added, {} deleted)", u.added_documents, u.deleted_documents)
        } else {
            String::new()
        };
        let summary = format!(
            "{} records indexed ({} zh, {} en){}{} → {}/",
            m.records,
            m.zh_records,
            m.en_records,
            extra,
            how,
            kb_index::INDEX_DIR
        );
        let keys = u.keys;
        Ok((summary, Box::new(move |cx: &mut BuildContext| cx.cache.index = keys)))
    }
}
