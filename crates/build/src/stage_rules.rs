//! The rules stage: typed rules from the requirements (`kb-rules`).
//!
//! Writes `rules.json` (every rule, sorted by source, one a line),
//! `rules/<scope>.json` (one file per scope, same format) with
//! `rules/index.json` (scope → file), `rules.schema.json` (the JSON Schema
//! all of them validate against) and `cache/rules.bin`, the rules of each
//! document for the next build (see [`kb_rules::build`]). In an incremental
//! build only new and changed documents are read again; the join through
//! the alignment and the keys are always worked out over all documents, so
//! the files are those of a clean build; the counterparts come from the
//! align stage's record links (`cx.record_links`) when it ran in this
//! build. Leaves the rules in `cx.rules` for the index and publish stages.

use crate::{BuildContext, Error, Result, Stage};

/// Extracts rules from `cx.documents` (citing counterparts through
/// `cx.alignment` when the align stage ran).
pub struct RulesStage;

impl Stage for RulesStage {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let tool = crate::cache::tool_id();
        // The counterparts by position, from the align stage of this build.
        let links = cx.record_links.take().filter(|l| l.len() == cx.documents.len() && cx.alignment.is_some());
        let find = |di: usize, ri: u32| -> Option<(usize, u32, f64)> {
            let l = &links.as_ref()?[di];
            let k = l.binary_search_by_key(&ri, |x| x.0).ok()?;
            Some((l[k].1 as usize, l[k].2, l[k].3))
        };
        let out = kb_rules::build::run(kb_rules::build::Input {
            documents: &cx.documents,
            alignment: cx.alignment.as_ref(),
            links: links.is_some().then_some(&find as _),
            dir: &cx.staging,
            previous: cx.previous.as_ref().map(|p| p.out.as_path()),
            tool: &tool,
        })
        .map_err(|e| Error::Stage { stage: "rules", source: Box::new(e) })?;
        let summary = out.summary();
        cx.rules = Some(out.rules);
        cx.rule_digests = out.digests;
        Ok(summary)
    }
}
