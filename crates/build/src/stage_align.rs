//! The align stage: zh ↔ en pairings of documents, sections and records,
//! with confidence, evidence and drift (`kb-align`).
//!
//! Reads `cx.documents` and the `[[pair]]` / `[[forbid]]` entries of
//! `cx.manifest`, writes `alignment.json` (one pairing a line) and leaves the
//! alignment in `cx.alignment` for the rules, index and publish stages; there
//! the record pairings carry no evidence and the section pairings are left
//! out (both are in `alignment.json`, and no later stage reads them), which
//! keeps a million pairings small in memory. It also leaves each record's
//! counterpart by position (`cx.record_links`, see
//! [`kb_align::store::Built::links`]), so the rules stage finds counterparts
//! without looking up record ids.
//!
//! Incremental: `cache/align.bin` keeps each document's pairing summary and
//! each document pair's section and record alignment (see
//! [`kb_align::store`]); a rebuild re-pairs the documents from the summaries
//! and aligns again only the pairs whose documents or confidence changed,
//! copying the other pairs' lines from the previous `alignment.json`. The
//! result is byte-identical to a full build.

use kb_align::store::{align_deferred, align_incremental, Cache, CACHE_FILE};
use kb_align::ALIGNMENT_FILE;

use crate::{BuildContext, Error, Result, Stage};

/// Aligns the parsed documents.
pub struct AlignStage;

impl Stage for AlignStage {
    fn name(&self) -> &'static str {
        "align"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        kb_align::check_manifest(&cx.documents, &cx.manifest)
            .map_err(|e| Error::Stage { stage: "align", source: Box::new(e) })?;
        let t = std::time::Instant::now();
        let mut previous = cx.previous.as_ref().and_then(|p| Cache::read(&p.out));
        crate::trace("align: read cache", t);
        let (json, cache) = (cx.staged(ALIGNMENT_FILE), cx.staged(CACHE_FILE));
        let mut built = align_deferred(&cx.documents, &cx.manifest, previous.as_mut());
        // The record pairings are made while the file is written (mostly copied).
        let (written, records) =
            rayon::join(|| built.write(&json, &cache, previous.as_ref()), || built.record_pairs(&cx.documents));
        built.alignment.records = records;
        let written = match written {
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // The previous alignment.json is not what its cache says: align everything.
                cx.notes.push(format!("align: previous cache unusable ({e}); aligned every pair"));
                built = align_incremental(&cx.documents, &cx.manifest, None);
                built.write(&json, &cache, None)
            }
            other => other,
        };
        written.map_err(|source| Error::Io { what: "writing", path: json.clone(), source })?;
        let a = &built.alignment;
        let loose = a.documents.iter().filter(|d| d.confidence < kb_align::docs::TRANSLATION).count();
        let paired = a.records.iter().filter(|p| p.zh.is_some() && p.en.is_some()).count();
        let reuse = if previous.is_some() {
            format!(
                "; {} of {} document pairs reused, {} documents profiled",
                built.reused_pairs,
                a.documents.len(),
                built.profiled
            )
        } else {
            String::new()
        };
        let summary = format!(
            "{} document pairs ({} loose), {} unpaired; {} of {} record pairings two-sided; {} drift items ({} of {} zh×en pairs scored{reuse}) → {}",
            a.documents.len(),
            loose,
            a.unpaired_documents.len(),
            paired,
            a.records.len(),
            a.drift.len(),
            built.stats.scored_pairs,
            built.stats.zh_documents * built.stats.en_documents,
            ALIGNMENT_FILE
        );
        cx.record_links = Some(built.links(cx.documents.len()));
        cx.alignment = Some(built.alignment);
        Ok(summary)
    }
}
