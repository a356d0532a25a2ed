//! The align stage: zh ↔ en pairings of documents, sections and records,
//! with confidence, evidence and drift (`kb-align`).
//!
//! Reads `cx.documents` and the `[[pair]]` / `[[forbid]]` entries of
//! `cx.manifest`, writes `alignment.json` and leaves the alignment in
//! `cx.alignment` for the rules, index and publish stages.

use kb_align::ALIGNMENT_FILE;

use crate::{write_atomic, BuildContext, Error, Result, Stage};

/// Aligns the parsed documents.
pub struct AlignStage;

impl Stage for AlignStage {
    fn name(&self) -> &'static str {
        "align"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        kb_align::check_manifest(&cx.documents, &cx.manifest)
            .map_err(|e| Error::Stage { stage: "align", source: Box::new(e) })?;
        let out = kb_align::align_with_stats(&cx.documents, &cx.manifest);
        let a = out.alignment;
        let mut json = serde_json::to_vec_pretty(&a).expect("alignment serialises");
        json.push(b'\n');
        write_atomic(&cx.staged(ALIGNMENT_FILE), &json)?;
        let loose = a.documents.iter().filter(|d| d.confidence < kb_align::docs::TRANSLATION).count();
        let paired = a.records.iter().filter(|p| p.zh.is_some() && p.en.is_some()).count();
        let summary = format!(
            "{} document pairs ({} loose), {} unpaired; {} of {} record pairings two-sided; {} drift items ({} of {} zh×en pairs scored) → {}",
            a.documents.len(),
            loose,
            a.unpaired_documents.len(),
            paired,
            a.records.len(),
            a.drift.len(),
            out.stats.scored_pairs,
            out.stats.zh_documents * out.stats.en_documents,
            ALIGNMENT_FILE
        );
        cx.alignment = Some(a);
        Ok(summary)
    }
}
