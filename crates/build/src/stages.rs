//! The stages of `kb build`, in order. Each later stage adds one entry to
//! [`default_stages`] and one `Stage` impl in a module of its own.

use std::io::Write;

use crate::{BuildContext, Error, Result, Stage};

// kb:stage-modules (each stage adds `mod`-declared file crates/build/src/stage_<name>.rs in lib.rs)

/// parse → align → rules → index → publish.
pub fn default_stages() -> Vec<Box<dyn Stage>> {
    vec![
        Box::new(ParseStage),
        // kb:stages (each stage uncomments its line, in this order)
        Box::new(crate::stage_align::AlignStage),
        Box::new(crate::stage_rules::RulesStage),
        Box::new(crate::stage_index::IndexStage),
        Box::new(crate::stage_publish::PublishStage),
    ]
}

/// Reads and parses the corpus; writes `records.jsonl` and `documents.json`.
pub struct ParseStage;

impl Stage for ParseStage {
    fn name(&self) -> &'static str {
        "parse"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let corpus = crate::cache::load_corpus(cx)?;
        cx.manifest = corpus.manifest;
        cx.documents = corpus.documents;
        cx.notes.extend(corpus.notes);

        let path = cx.staged(crate::RECORDS_FILE);
        let file = std::fs::File::create(&path).map_err(|source| Error::Io {
            what: "creating",
            path: path.clone(),
            source,
        })?;
        let mut w = std::io::BufWriter::new(file);
        let mut n = 0usize;
        // Serialised in parallel a chunk of documents at a time, written in
        // order: the bytes are those of one serial pass, and at most one
        // chunk's worth of JSON is held in memory.
        use rayon::prelude::*;
        for chunk in cx.documents.chunks(256) {
            let parts: Vec<(Vec<u8>, usize)> = chunk
                .par_iter()
                .map(|d| {
                    let mut buf = Vec::with_capacity(d.records.len() * 400);
                    for r in &d.records {
                        serde_json::to_writer(&mut buf, r).expect("records serialise");
                        buf.push(b'\n');
                    }
                    (buf, d.records.len())
                })
                .collect();
            for (buf, k) in parts {
                w.write_all(&buf).map_err(|source| Error::Io { what: "writing", path: path.clone(), source })?;
                n += k;
            }
        }
        w.flush().map_err(|source| Error::Io { what: "writing", path: path.clone(), source })?;

        let docs: Vec<serde_json::Value> = cx
            .documents
            .iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.id, "path": d.path, "lang": d.lang, "lang_source": d.lang_source,
                    "title": d.title, "encoding": d.encoding, "hash": d.hash,
                    "lines": d.line_count, "bytes": d.bytes, "records": d.records.len(),
                })
            })
            .collect();
        let json = serde_json::to_vec_pretty(&serde_json::json!({ "documents": docs })).expect("json");
        crate::write_atomic(&cx.staged("documents.json"), &json)?;
        Ok(format!("{} documents, {} records → {}", cx.documents.len(), n, crate::RECORDS_FILE))
    }
}
