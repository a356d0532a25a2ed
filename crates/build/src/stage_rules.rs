//! The rules stage: typed rules from the requirements (`kb-rules`).
//!
//! Writes `rules.json` (every rule, sorted by source), `rules/<scope>.json`
//! (one file per scope, same format) with `rules/index.json` (scope → file),
//! and `rules.schema.json` (the JSON Schema all of them validate against).
//! Leaves the rules in `cx.rules` for the index and publish stages.

use crate::{write_atomic, BuildContext, Result, Stage};

/// Extracts rules from `cx.documents` (citing counterparts through
/// `cx.alignment` when the align stage ran).
pub struct RulesStage;

impl Stage for RulesStage {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let rules = kb_rules::extract(&cx.documents, cx.alignment.as_ref());
        write_atomic(&cx.staged(kb_rules::RULES_FILE), kb_rules::to_json(&rules).as_bytes())?;
        write_atomic(&cx.staged(kb_rules::SCHEMA_FILE), kb_rules::schema_json().as_bytes())?;
        let files = kb_rules::scope_files(&rules);
        for f in &files {
            let rel = format!("{}/{}", kb_rules::SCOPES_DIR, f.file);
            write_atomic(&cx.staged(&rel), kb_rules::to_json(&f.rules).as_bytes())?;
        }
        let mut index = serde_json::to_string_pretty(&kb_rules::scope_index(&files)).expect("index serialises");
        index.push('\n');
        let rel = format!("{}/{}", kb_rules::SCOPES_DIR, kb_rules::SCOPES_INDEX);
        write_atomic(&cx.staged(&rel), index.as_bytes())?;

        let qualitative = rules.rules.iter().filter(|r| r.is_qualitative()).count();
        let summary = format!(
            "{} rules ({} with logic, {} qualitative) in {} scopes → {}",
            rules.rules.len(),
            rules.rules.len() - qualitative,
            qualitative,
            files.len(),
            kb_rules::RULES_FILE
        );
        cx.rules = Some(rules);
        Ok(summary)
    }
}
