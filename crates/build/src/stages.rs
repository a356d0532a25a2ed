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
        let t = std::time::Instant::now();
        crate::cache::load_previous(cx);
        crate::trace("parse: load previous", t);
        let t = std::time::Instant::now();
        let corpus = crate::cache::load_corpus(cx)?;
        crate::trace("parse: load corpus", t);
        cx.manifest = corpus.manifest;
        cx.documents = corpus.documents;
        cx.notes.extend(corpus.notes);

        let t = std::time::Instant::now();
        let path = cx.staged(crate::RECORDS_FILE);
        let file = std::fs::File::create(&path).map_err(|source| Error::Io {
            what: "creating",
            path: path.clone(),
            source,
        })?;
        let mut w = file;
        // Serialised in parallel a chunk of documents at a time, written in
        // order: the bytes are those of one serial pass, and at most one
        // chunk's worth of JSON is held in memory. Where each line starts and
        // the file's blake3 are taken on the way, for the index.
        use rayon::prelude::*;
        // A document reused from the previous build has its lines copied
        // from the previous records.jsonl (they are what serialising it again
        // would give).
        let previous = cx.previous.as_ref();
        type Part<'a> = (std::borrow::Cow<'a, [u8]>, Vec<u32>);
        let serialise = |chunk: &'_ [kb_model::Document]| -> Vec<Part<'_>> {
            chunk
                .par_iter()
                .map(|d| {
                    if let Some(lines) = previous.and_then(|p| p.record_lines(&d.path, &d.hash)) {
                        let ends = memchr::memchr_iter(b'\n', lines).map(|i| i as u32 + 1).collect();
                        return (std::borrow::Cow::Borrowed(lines), ends);
                    }
                    let mut buf = Vec::with_capacity(d.records.len() * 400);
                    let mut ends = Vec::with_capacity(d.records.len());
                    for r in &d.records {
                        serde_json::to_writer(&mut buf, r).expect("records serialise");
                        buf.push(b'\n');
                        ends.push(buf.len() as u32);
                    }
                    (std::borrow::Cow::Owned(buf), ends)
                })
                .collect()
        };
        let records = cx.documents.iter().map(|d| d.records.len()).sum::<usize>();
        let mut starts: Vec<u64> = Vec::with_capacity(records + 1);
        starts.push(0);
        let mut hasher = blake3::Hasher::new();
        // Each chunk is written (and hashed) while the next one is serialised.
        // A chunk's parts are joined so that both cores can hash them.
        let mut joined = Vec::new();
        let mut write = |parts: Vec<Part<'_>>| -> Result<()> {
            joined.clear();
            for (buf, ends) in parts {
                let base = *starts.last().expect("starts at 0");
                starts.extend(ends.iter().map(|&e| base + e as u64));
                joined.extend_from_slice(&buf);
            }
            hasher.update_rayon(&joined);
            w.write_all(&joined).map_err(|source| Error::Io { what: "writing", path: path.clone(), source })
        };
        let mut pending: Vec<Part<'_>> = Vec::new();
        for chunk in cx.documents.chunks(256) {
            let (written, next) = rayon::join(|| write(std::mem::take(&mut pending)), || serialise(chunk));
            written?;
            pending = next;
        }
        write(pending)?;
        drop(w);
        if starts.len() == records + 1 {
            cx.records_layout =
                Some(kb_model::RecordsLayout { starts, fingerprint: format!("blake3:{}", hasher.finalize().to_hex()) });
        }

        // The documents as the next build reads them back (`cache/documents.bin`).
        let spath = cx.staged(crate::snapshot::SNAPSHOT_FILE);
        if let Some(dir) = spath.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io { what: "creating", path: dir.into(), source })?;
        }
        let previous = cx.previous.as_ref();
        std::fs::File::create(&spath)
            .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
            .and_then(|mut w| {
                crate::snapshot::write_to(&mut w, &cx.documents, |d| {
                    previous.and_then(|p| p.snapshot_block(&d.path, &d.hash))
                })?;
                w.flush()
            })
            .map_err(|source| Error::Io { what: "writing", path: spath, source })?;
        if let Some(p) = cx.previous.as_mut() {
            p.release_records();
        }
        crate::trace("parse: write records", t);
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
        Ok(format!("{} documents, {} records → {}", cx.documents.len(), cx.records().count(), crate::RECORDS_FILE))
    }
}
