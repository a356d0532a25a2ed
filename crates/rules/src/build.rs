//! The rules stage of `kb build`: extract, write the rules files, keep a
//! cache for the next build.
//!
//! [`run`] reads the rules of every document — taking the drafts of
//! documents whose bytes did not change from the previous build's cache
//! ([`crate::cache`]) instead of reading them again — joins them through
//! the alignment ([`crate::extract::Extractor::assemble_with`], always over
//! all documents, so keys and citations are exactly those of a clean build;
//! counterparts are found by position when the caller hands over the
//! aligner's record links, [`Input::links`]),
//! and writes the files ([`crate::output`]), copying the unchanged
//! documents' rules from the previous files.

use std::path::Path;

use kb_model::alignment::Alignment;
use kb_model::rules::RuleSet;
use kb_model::Document;
use rayon::prelude::*;

use crate::cache::{source_digest, vocabulary_digest, RulesCache, CACHE_FILE};
use crate::extract::{Counterparts, DocDrafts, LinkFn};
use crate::output::{Previous, Written};
use crate::{Error, Result, SCHEMA_FILE};

/// What the rules stage works on.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The documents, sorted by path.
    pub documents: &'a [Document],
    /// The alignment, when the align stage ran.
    pub alignment: Option<&'a Alignment>,
    /// The alignment's record links by position, when the caller has them
    /// (see [`Counterparts::Links`]): then the counterparts are found there
    /// instead of by id in `alignment`, which is much cheaper.
    pub links: Option<&'a LinkFn<'a>>,
    /// The folder to write into (the build's staging folder).
    pub dir: &'a Path,
    /// The previous output folder, when the build may reuse it.
    pub previous: Option<&'a Path>,
    /// The identity of the kb binary (a cache of another binary is ignored).
    pub tool: &'a str,
}

impl std::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("documents", &self.documents.len())
            .field("alignment", &self.alignment.is_some())
            .field("links", &self.links.is_some())
            .field("dir", &self.dir)
            .field("previous", &self.previous)
            .field("tool", &self.tool)
            .finish()
    }
}

/// What the rules stage did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The rules.
    pub rules: RuleSet,
    /// Whether a previous build's cache was used.
    pub incremental: bool,
    /// Documents read (the others' drafts came from the cache).
    pub read: usize,
    /// What was written and what was copied.
    pub written: Written,
    /// Per document, in the order of [`Input::documents`]: the digest of
    /// everything its rules were made from ([`crate::extract::DocSpan::inputs`])
    /// followed by the digest of their keys. Equal digests from the same kb
    /// binary mean the same rules, so later stages can tell unchanged rules
    /// without looking at them. `None` for a document without a content hash.
    pub digests: Vec<Option<[u8; 32]>>,
}

impl Output {
    /// A one-line summary for the build report.
    pub fn summary(&self) -> String {
        let qualitative = self.rules.rules.iter().filter(|r| r.is_qualitative()).count();
        let mut s = format!(
            "{} rules ({} with logic, {} qualitative) in {} scopes → {}",
            self.rules.rules.len(),
            self.rules.rules.len() - qualitative,
            qualitative,
            self.written.scopes,
            crate::RULES_FILE
        );
        if self.incremental {
            let w = &self.written;
            s.push_str(&format!(
                " (reused: {} documents read again; rules of {} of {} documents and {} of {} scope files taken over)",
                self.read, w.copied, w.documents, w.scopes_kept, w.scopes
            ));
        }
        s
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write { path: parent.to_path_buf(), source })?;
    }
    std::fs::write(path, bytes).map_err(|source| Error::Write { path: path.to_path_buf(), source })
}

/// Runs the rules stage: writes `rules.json`, `rules/*.json`,
/// `rules.schema.json` and the cache into `input.dir`.
pub fn run(input: Input<'_>) -> Result<Output> {
    let t = std::time::Instant::now();
    let extractor = crate::extractor();
    crate::trace("rules: extractor", t);
    let vocabulary = vocabulary_digest(crate::vocab::SUBJECTS_TOML);
    let mut cache = input
        .previous
        .and_then(|dir| RulesCache::read(dir, input.tool, &vocabulary))
        .filter(|c| c.fits(extractor.vocabulary()));
    crate::trace("rules: read cache", t);
    let t = std::time::Instant::now();
    let incremental = cache.is_some();
    // drafts: from the cache where the document is unchanged, else read
    let mut drafts: Vec<Option<DocDrafts>> = vec![None; input.documents.len()];
    if let Some(c) = cache.as_mut() {
        // (the cache's documents are in path order: found by binary search)
        let at = |path: &str| c.docs.binary_search_by(|d| d.path.as_str().cmp(path)).ok();
        let taken: Vec<(usize, usize)> = input
            .documents
            .par_iter()
            .enumerate()
            .filter_map(|(di, doc)| {
                let i = at(doc.path.as_str())?;
                (source_digest(doc)? == c.docs[i].source).then_some((di, i))
            })
            .collect();
        for (di, i) in taken {
            drafts[di] = Some(std::mem::take(&mut c.docs[i].drafts));
        }
    }
    let read = drafts.iter().filter(|d| d.is_none()).count();
    crate::trace("rules: drafts from cache", t);
    let drafts: Vec<DocDrafts> = drafts
        .into_par_iter()
        .zip(input.documents.par_iter())
        .map(|(d, doc)| d.unwrap_or_else(|| extractor.document(doc)))
        .collect();
    crate::trace("rules: drafts", t);
    let counterparts = match (input.links, input.alignment) {
        (Some(links), Some(_)) => Counterparts::Links(links),
        (_, Some(a)) => Counterparts::Alignment(a),
        (_, None) => Counterparts::None,
    };
    let assembly = extractor.assemble_with(input.documents, &drafts, counterparts);
    let t = std::time::Instant::now();

    write_file(&input.dir.join(SCHEMA_FILE), crate::schema_json().as_bytes())?;
    let previous = match (input.previous, &cache) {
        (Some(dir), Some(cache)) => Some(Previous { dir, cache }),
        _ => None,
    };
    let (next, written, files) =
        crate::output::write(input.dir, input.documents, &assembly, drafts, previous, input.tool, vocabulary)?;
    let mut digests: Vec<Option<[u8; 32]>> = vec![None; input.documents.len()];
    for (d, e) in assembly.docs.iter().zip(&next.docs) {
        digests[d.doc] = d.inputs.map(|inputs| {
            let mut digest = [0u8; 32];
            digest[..16].copy_from_slice(&inputs);
            digest[16..].copy_from_slice(&e.keys);
            digest
        });
    }
    crate::trace("rules: write rules", t);
    let t = std::time::Instant::now();
    // The rules files' copies (mostly the kernel's work) beside the cache
    // (mostly ours), and the previous cache let go meanwhile.
    let path = input.dir.join(CACHE_FILE);
    let (done, cached) = rayon::join(
        || {
            let t = std::time::Instant::now();
            let done = files.finish();
            crate::trace("rules: (files written)", t);
            done
        },
        || {
            let t = std::time::Instant::now();
            drop(cache);
            let cached = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| next.write(&path))
                .map_err(|source| Error::Write { path: path.clone(), source });
            crate::trace("rules: (cache written)", t);
            cached
        },
    );
    done?;
    cached?;
    crate::trace("rules: write files, cache", t);
    Ok(Output { rules: assembly.rules, incremental, read, written, digests })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_model::alignment::RecordPair;
    use kb_model::{Lang, Record, RecordKind};

    fn doc(id: &str, lang: Lang, items: &[&str]) -> Document {
        let records = items
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut r = Record::new(id, format!("{id}.md"), lang, RecordKind::Requirement, *t, [i as u32 + 3; 2]);
                r.id = format!("{id}#{i}");
                r.heading_path = vec![if lang == Lang::Zh { "微信小程序市场" } else { "WeChat Market" }.into()];
                r
            })
            .collect();
        let mut d = Document::new(id, format!("{id}.md"), lang, id, records);
        d.hash = blake3::hash(items.join("\n").as_bytes()).to_hex().to_string();
        d
    }

    fn corpus(zh_capital: &str, extra_team: bool) -> (Vec<Document>, Alignment) {
        let mut a = vec!["1、服务商注册资本大于100万；", "2、具有20人以上的技术团队；", "3、有独立的研发能力。"];
        let edited = format!("1、服务商注册资本大于{zh_capital}；");
        a[0] = &edited;
        if extra_team {
            a.push("4、拥有5人以上服务团队；");
        }
        let docs = vec![
            doc(
                "en/a",
                Lang::En,
                &["Registered capital of more than RMB 1 million.", "A technical team of 20 or more."],
            ),
            doc("zh/a", Lang::Zh, &a),
            doc("zh/b", Lang::Zh, &["1、服务商注册资本大于300万；", "2、具有10人以上的技术团队；"]),
            doc("zh/c", Lang::Zh, &["1、具有8人以上的技术团队；"]),
        ];
        let pair = |e: usize, z: usize| RecordPair {
            zh: Some(format!("zh/a#{z}")),
            en: Some(format!("en/a#{e}")),
            zh_all: vec![],
            en_all: vec![],
            confidence: 0.9,
            evidence: vec![],
        };
        (docs, Alignment { records: vec![pair(0, 0), pair(1, 1)], ..Alignment::default() })
    }

    /// Every file under `dir`, relative path → bytes.
    fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                    out.insert(rel, std::fs::read(e.path()).unwrap());
                }
            }
        }
        out
    }

    fn build(docs: &[Document], a: &Alignment, dir: &Path, previous: Option<&Path>) -> Output {
        run(Input { documents: docs, alignment: Some(a), links: None, dir, previous, tool: "test" }).unwrap()
    }

    #[test]
    fn counterparts_found_by_position_give_the_rules_found_by_id() {
        let mut docs = kb_align::synth::corpus(12, 2, &kb_align::synth::Shape::default(), 7);
        docs.sort_by(|a, b| a.path.cmp(&b.path));
        let full = kb_align::align(&docs, &Default::default());
        let built = kb_align::store::align_incremental(&docs, &Default::default(), None);
        let links = built.links(docs.len());
        let find = |di: usize, ri: u32| -> Option<(usize, u32, f64)> {
            let l = &links[di];
            let k = l.binary_search_by_key(&ri, |x| x.0).ok()?;
            Some((l[k].1 as usize, l[k].2, l[k].3))
        };
        let x = crate::extractor();
        let drafts: Vec<DocDrafts> = docs.iter().map(|d| x.document(d)).collect();
        let by_id = x.assemble(&docs, &drafts, Some(&full));
        let by_position = x.assemble_with(&docs, &drafts, Counterparts::Links(&find));
        assert_eq!(by_position.rules, by_id.rules);
        assert_eq!(by_position.docs, by_id.docs);
        let cited = by_id.rules.rules.iter().filter(|r| r.source.counterpart.is_some()).count();
        assert!(cited > 10, "{cited} of {} rules cite a counterpart", by_id.rules.rules.len());
    }

    #[test]
    fn a_rebuild_from_the_cache_writes_exactly_what_a_clean_build_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let (docs, a) = corpus("100万", false);
        let first = tmp.path().join("1");
        let out = build(&docs, &a, &first, None);
        assert!(!out.incremental && out.read == docs.len());
        assert!(first.join(CACHE_FILE).is_file());

        // unchanged: nothing read again, every file taken over
        let again = tmp.path().join("2");
        let out = build(&docs, &a, &again, Some(&first));
        assert!(out.incremental);
        assert_eq!(out.read, 0);
        assert_eq!(out.written.copied, out.written.documents);
        assert_eq!(out.written.scopes_kept, out.written.scopes);
        assert_eq!(files(&first), files(&again));

        // A value edited, a rule added (which renumbers the keys of later
        // documents), and the alignment changed for an unchanged document.
        let mut prev = again;
        for (n, (capital, extra, aligned)) in
            [("200万", false, true), ("200万", true, true), ("200万", true, false), ("100万", false, true)]
                .into_iter()
                .enumerate()
        {
            let (docs, mut a) = corpus(capital, extra);
            if !aligned {
                a.records.pop();
            }
            let inc = tmp.path().join(format!("inc{n}"));
            let out = build(&docs, &a, &inc, Some(&prev));
            assert!(out.incremental);
            assert!(out.read <= 1, "only the edited document is read again: {}", out.read);
            let clean = tmp.path().join(format!("clean{n}"));
            let full = build(&docs, &a, &clean, None);
            assert_eq!(out.rules, full.rules, "step {n}");
            let (fi, fc) = (files(&inc), files(&clean));
            assert_eq!(fi.keys().collect::<Vec<_>>(), fc.keys().collect::<Vec<_>>(), "step {n}");
            for (k, v) in &fi {
                assert!(v == &fc[k], "step {n}: {k} differs from a clean build's");
            }
            prev = inc;
        }
    }

    #[test]
    fn a_damaged_cache_or_rules_file_means_reading_everything_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (docs, a) = corpus("100万", false);
        let first = tmp.path().join("1");
        build(&docs, &a, &first, None);
        let clean = files(&first);

        // a flipped byte in the cache: not used
        let cache = first.join(CACHE_FILE);
        let mut bytes = std::fs::read(&cache).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(&cache, &bytes).unwrap();
        let second = tmp.path().join("2");
        let out = build(&docs, &a, &second, Some(&first));
        assert!(!out.incremental && out.read == docs.len());
        assert_eq!(files(&second), clean);

        // another binary's cache: not used
        let third = tmp.path().join("3");
        let out = run(Input {
            documents: &docs,
            alignment: Some(&a),
            links: None,
            dir: &third,
            previous: Some(&second),
            tool: "other",
        })
        .unwrap();
        assert!(!out.incremental);

        // a rules.json edited by hand: its bytes are not copied
        let rules = second.join(crate::RULES_FILE);
        let text = std::fs::read_to_string(&rules).unwrap().replacen("{\"id\":\"rule-", "{\"id\":\"RULE-", 1);
        std::fs::write(&rules, text).unwrap();
        std::fs::remove_dir_all(second.join(crate::SCOPES_DIR)).unwrap();
        let fourth = tmp.path().join("4");
        let out = build(&docs, &a, &fourth, Some(&second));
        assert!(out.incremental, "the drafts are still good");
        assert_eq!(out.written.copied, 0);
        assert_eq!(out.written.scopes_kept, 0);
        assert_eq!(files(&fourth), clean);
    }

    #[test]
    fn equal_digests_mean_equal_rules_across_edits() {
        let tmp = tempfile::tempdir().unwrap();
        let rules_of = |out: &Output, doc: &str| -> Vec<kb_model::rules::Rule> {
            out.rules.rules.iter().filter(|r| r.source.doc == doc).cloned().collect()
        };
        let mut prev: Option<(std::path::PathBuf, Output, Vec<Document>)> = None;
        let mut equal = 0;
        // a value edited, then a rule added (which renumbers later documents' keys)
        for (n, (capital, extra)) in [("100万", false), ("200万", false), ("200万", true)].into_iter().enumerate() {
            let (docs, a) = corpus(capital, extra);
            let dir = tmp.path().join(format!("{n}"));
            let out = build(&docs, &a, &dir, prev.as_ref().map(|p| p.0.as_path()));
            assert_eq!(out.digests.len(), docs.len());
            assert!(out.digests.iter().all(Option::is_some), "every document has a content hash");
            assert_eq!(out.digests, build(&docs, &a, &tmp.path().join(format!("clean{n}")), None).digests);
            if let Some((_, before, before_docs)) = &prev {
                for (i, d) in docs.iter().enumerate() {
                    assert_eq!(before_docs[i].id, d.id);
                    if before.digests[i] == out.digests[i] {
                        equal += 1;
                        assert_eq!(rules_of(before, &d.id), rules_of(&out, &d.id), "step {n}: {}", d.id);
                    }
                }
                assert_ne!(before.digests, out.digests, "step {n}: the edited document's digest changes");
            }
            prev = Some((dir, out, docs));
        }
        assert!(equal > 0, "unchanged documents keep their digests");
    }

    #[test]
    fn a_cache_written_in_pieces_is_the_cache_as_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let (docs, a) = corpus("100万", true);
        build(&docs, &a, tmp.path(), None);
        let mut c = RulesCache::read(tmp.path(), "test", &vocabulary_digest(crate::vocab::SUBJECTS_TOML)).unwrap();
        // many documents: several megabytes, written a megabyte at a time
        let one = c.docs.clone();
        for n in 0..3000 {
            c.docs.extend(one.iter().cloned().map(|mut d| {
                d.path = format!("{n:05}/{}", d.path);
                d
            }));
        }
        let bytes = c.to_bytes();
        assert!(bytes.len() > 3 << 20, "{} bytes", bytes.len());
        let path = tmp.path().join("big.bin");
        c.write(&path).unwrap();
        assert!(std::fs::read(&path).unwrap() == bytes);
        assert_eq!(RulesCache::from_bytes(&bytes), Some(c));
        assert!(RulesCache::default().write(&tmp.path().join("missing/x.bin")).is_err());
    }

    #[test]
    fn the_cache_reads_back_what_was_written() {
        let tmp = tempfile::tempdir().unwrap();
        let (docs, a) = corpus("100万", true);
        build(&docs, &a, tmp.path(), None);
        let bytes = std::fs::read(tmp.path().join(CACHE_FILE)).unwrap();
        let c = RulesCache::from_bytes(&bytes).expect("reads back");
        assert_eq!(c.to_bytes(), bytes);
        assert_eq!(c.docs.len(), docs.len());
        assert!(c.fits(crate::vocab::Vocabulary::builtin()));
        let drafts: Vec<DocDrafts> = docs.iter().map(|d| crate::extractor().document(d)).collect();
        for (e, d) in c.docs.iter().zip(&drafts) {
            assert_eq!(&e.drafts, d, "{}", e.path);
        }
        assert!(RulesCache::from_bytes(&bytes[..bytes.len() - 1]).is_none(), "a truncated cache is refused");
        assert_eq!(RulesCache::read(tmp.path(), "test", &c.vocabulary), Some(c.clone()));
        assert_eq!(RulesCache::read(tmp.path(), "other", &c.vocabulary), None, "another binary's cache");
        assert!(RulesCache::from_bytes(&[]).is_none());
        // Damage under a valid checksum (a bug, not a disk error): refused
        // or read, never a panic, whichever byte it hits.
        for at in (12..bytes.len() - 32).step_by(3) {
            let mut bad = bytes.clone();
            bad[at] = 0xff;
            let n = bad.len() - 32;
            let digest = blake3::hash(&bad[..n]);
            bad[n..].copy_from_slice(digest.as_bytes());
            if let Some(c) = RulesCache::from_bytes(&bad) {
                assert_eq!(c.docs.len(), docs.len(), "byte {at}");
            }
        }
    }
}
