//! Which documents an incremental build must index again.
//!
//! A document's *key* fingerprints everything its tantivy documents are made
//! of: its source's bytes (its records are what parsing them gives, and the
//! build cache is only used by the same kb binary with the same `kb.toml`),
//! the size of its block of lines in `records.jsonl` (where its records are
//! read from), and the *facts* of the alignment and the rules that reach it:
//! every record pairing that names one of its records, in alignment order
//! (the first pairing of a record gives its counterpart), and every rule cut
//! from one of its records or from a record of a document paired with it, in
//! rule order (a rule's subject also goes to its record's counterpart).
//!
//! Facts are routed to documents by the document id inside each record id
//! (`{document}#…`) in one pass over the alignment and one over the rules,
//! so computing every key touches each pairing and rule once and no record
//! at all: an incremental build costs little more than reading the changed
//! documents.

use rustc_hash::FxHashMap;

use kb_model::alignment::{Alignment, RecordPair};
use kb_model::rules::{Rule, RuleSet};
use rayon::prelude::*;

use crate::update::DocIn;
use crate::INDEX_FORMAT;

/// Document id → ordinal, and the document of a record id.
pub(crate) struct DocIndex<'a> {
    ix: FxHashMap<&'a str, usize>,
    ids: Vec<&'a str>,
}

impl<'a> DocIndex<'a> {
    pub fn new(docs: &[DocIn<'a>]) -> DocIndex<'a> {
        DocIndex {
            ix: docs.iter().enumerate().map(|(i, d)| (d.id, i)).collect(),
            ids: docs.iter().map(|d| d.id).collect(),
        }
    }

    /// The document ids, by ordinal.
    pub fn ids(&self) -> &[&'a str] {
        &self.ids
    }

    /// The ordinal of the document a record id belongs to, with a memory of
    /// the last document found (record ids come grouped by document).
    pub fn cached(&self) -> DocOf<'_, 'a> {
        DocOf { ix: self, last: None }
    }
}

/// See [`DocIndex::cached`].
pub(crate) struct DocOf<'i, 'a> {
    ix: &'i DocIndex<'a>,
    last: Option<(&'i str, usize)>,
}

/// Where the document id of a record id ends (its last `#`; the part after
/// it is short, so this looks from the end).
fn split(record_id: &str) -> Option<usize> {
    record_id.bytes().rposition(|b| b == b'#')
}

impl<'i> DocOf<'i, '_> {
    pub fn get(&mut self, record_id: &str) -> Option<usize> {
        let doc = &record_id[..split(record_id)?];
        if let Some((last, d)) = self.last {
            if last == doc {
                return Some(d);
            }
        }
        let (k, d) = self.ix.ix.get_key_value(doc)?;
        self.last = Some((k, *d));
        Some(*d)
    }
}

/// Facts for one document after another, hashed a run at a time: facts come
/// grouped by document, so each document gets the digests of its runs, in
/// order, instead of the facts themselves. A run ends where the document or
/// the group changes (a group: the facts of one document of the alignment's
/// or the rules' order), so runs, and their digests, are the same wherever
/// a pass is cut into parts (only between groups, [`parts`]).
struct Runs {
    at: Option<(usize, usize)>,
    /// The first item of the run.
    first: u32,
    buf: Vec<u8>,
}

impl Runs {
    fn new() -> Runs {
        Runs { at: None, first: 0, buf: Vec::with_capacity(1 << 12) }
    }

    /// The buffer to append a fact of document `d` to, from item `k` of group `g`.
    fn to(&mut self, d: usize, g: usize, k: u32, out: &mut Vec<Run>) -> &mut Vec<u8> {
        if self.at != Some((d, g)) {
            self.flush(out);
            self.at = Some((d, g));
            self.first = k;
        }
        &mut self.buf
    }

    fn flush(&mut self, out: &mut Vec<Run>) {
        if let Some((d, _)) = self.at.take() {
            out.push(Run { doc: d as u32, first: self.first, digest: *blake3::hash(&self.buf).as_bytes() });
            self.buf.clear();
        }
    }
}

/// The digest of a run of facts of one document, and the first item (pairing
/// or rule) in it.
#[derive(Debug, Clone, Copy)]
struct Run {
    doc: u32,
    first: u32,
    digest: [u8; 32],
}

/// What a part of a pass found, in order, document by document as it came.
#[derive(Default)]
struct Found {
    runs: Vec<Run>,
    /// (document, item): the item names a record of the document.
    items: Vec<(u32, u32)>,
    /// (document, document): a record of the first is paired with one of the second.
    paired: Vec<(u32, u32)>,
}

/// The facts that reach each document, and where they come from.
pub(crate) struct Facts {
    /// Per document: digests of its facts, in order.
    pub digests: Vec<Vec<[u8; 32]>>,
    /// Per document: the documents some record of it is paired with.
    pub paired: Vec<Vec<usize>>,
    /// Per document: the alignment's record pairings that name one of its
    /// records (indices, ascending).
    pub pairs: Vec<Vec<u32>>,
    /// Per document: the rules cut from one of its records (indices, ascending).
    pub rules: Vec<Vec<u32>>,
}

fn put(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s);
}

/// A record id without its document's part (the document a fact is routed
/// to is known).
fn local(record_id: &str) -> &[u8] {
    &record_id.as_bytes()[split(record_id).unwrap_or(0)..]
}

fn push_new<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.last() != Some(&x) {
        v.push(x);
    }
}

/// Items of a pass done by one task: a pass over more is cut into parts
/// done in parallel.
const PART_ITEMS: usize = 1 << 16;
/// At most this many parts.
const MAX_PARTS: usize = 16;

/// How many parts a pass over `len` items is cut into: from the length
/// alone, never from the machine (the cuts must not depend on the number of
/// cores of the machine that built the index, though [`Facts`] does not
/// depend on them either).
fn part_count(len: usize) -> usize {
    len.div_ceil(PART_ITEMS).clamp(1, MAX_PARTS)
}

/// `n` slices of about `len / n` items, for passes done in parallel, cut
/// only where `starts(i)` says item `i` begins a new document: the digests of
/// a document's facts then do not depend on where the cuts fall.
fn parts(len: usize, n: usize, starts: impl Fn(usize) -> bool) -> Vec<std::ops::Range<usize>> {
    let n = n.max(1);
    let mut cuts = vec![0];
    for i in 1..n {
        let mut at = (i * len / n).max(*cuts.last().expect("not empty"));
        while at < len && !starts(at) {
            at += 1;
        }
        cuts.push(at);
    }
    cuts.push(len);
    cuts.windows(2).map(|w| w[0]..w[1]).filter(|r| !r.is_empty()).collect()
}

/// The document a pairing is grouped under (that of its Chinese record, or
/// of its English one).
fn group(p: &RecordPair) -> Option<&str> {
    p.zh.as_deref().or(p.en.as_deref()).map(doc_part)
}

/// The document part of a record id (all of it when it has no `#`).
fn doc_part(record_id: &str) -> &str {
    &record_id[..split(record_id).unwrap_or(record_id.len())]
}

impl Facts {
    /// Routes every record pairing and every rule to the documents it reaches
    /// (parts of the alignment and of the rules at a time, all in parallel):
    /// a pairing reaches the documents of the records it names; a rule, the
    /// document of its record and, through that record's counterpart, the
    /// documents paired with it. A document's digests are those of its
    /// pairings, then those of its rules and of the rules of the documents
    /// paired with it, in rule order.
    pub fn new(docs: &DocIndex<'_>, n: usize, alignment: Option<&Alignment>, rules: Option<&RuleSet>) -> Facts {
        let pairs = alignment.map_or(0, |al| al.records.len());
        let rules_len = rules.map_or(0, |rs| rs.rules.len());
        Facts::in_parts(docs, n, alignment, rules, [part_count(pairs), part_count(rules_len)])
    }

    /// [`Facts::new`], with the passes over the alignment and the rules cut
    /// into at most `cuts` parts each.
    fn in_parts(
        docs: &DocIndex<'_>,
        n: usize,
        alignment: Option<&Alignment>,
        rules: Option<&RuleSet>,
        cuts: [usize; 2],
    ) -> Facts {
        let all_pairs = alignment.map_or(&[][..], |al| &al.records[..]);
        let all_rules = rules.map_or(&[][..], |rs| &rs.rules[..]);
        let pair_starts = |i: usize| group(&all_pairs[i]) != group(&all_pairs[i - 1]);
        let rule_starts = |i: usize| doc_part(&all_rules[i].source.record) != doc_part(&all_rules[i - 1].source.record);
        let (of_pairs, of_rules): (Vec<Found>, Vec<Found>) = rayon::join(
            || {
                let cut = parts(all_pairs.len(), cuts[0], pair_starts);
                cut.into_par_iter().map(|r| of_pairs(docs, all_pairs, r)).collect()
            },
            || {
                let cut = parts(all_rules.len(), cuts[1], rule_starts);
                cut.into_par_iter().map(|r| of_rules(docs, all_rules, r)).collect()
            },
        );
        let mut f = Facts {
            digests: vec![Vec::new(); n],
            paired: vec![Vec::new(); n],
            pairs: vec![Vec::new(); n],
            rules: vec![Vec::new(); n],
        };
        for part in &of_pairs {
            for r in &part.runs {
                f.digests[r.doc as usize].push(r.digest);
            }
            for &(d, k) in &part.items {
                push_new(&mut f.pairs[d as usize], k);
            }
            for &(d, od) in &part.paired {
                let v = &mut f.paired[d as usize];
                if !v.contains(&(od as usize)) {
                    v.push(od as usize);
                }
            }
        }
        // Each document's own rule runs, and the documents its rules reach through counterparts.
        let mut own: Vec<Vec<Run>> = vec![Vec::new(); n];
        for part in &of_rules {
            for r in &part.runs {
                own[r.doc as usize].push(*r);
            }
            for &(d, k) in &part.items {
                push_new(&mut f.rules[d as usize], k);
            }
        }
        let mut fan_from: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (d, to) in f.paired.iter().enumerate() {
            if !own[d].is_empty() {
                for &t in to {
                    fan_from[t].push(d);
                }
            }
        }
        let ids = docs.ids();
        let own = &own;
        let rule_digests: Vec<Vec<[u8; 32]>> = fan_from
            .par_iter()
            .enumerate()
            .map(|(to, from)| {
                // A rule of a paired document reaches this one as the same fact with its document's id.
                let mut runs: Vec<(u32, [u8; 32])> = own[to].iter().map(|r| (r.first, r.digest)).collect();
                for &d in from {
                    for r in &own[d] {
                        let mut h = blake3::Hasher::new();
                        h.update(b"c");
                        h.update(&(ids[d].len() as u32).to_le_bytes());
                        h.update(ids[d].as_bytes());
                        h.update(&r.digest);
                        runs.push((r.first, *h.finalize().as_bytes()));
                    }
                }
                runs.sort_by_key(|r| r.0);
                runs.into_iter().map(|r| r.1).collect()
            })
            .collect();
        for (d, r) in f.digests.iter_mut().zip(rule_digests) {
            d.extend(r);
        }
        f
    }
}

/// The facts of `pairs[range]` (indices into all of `pairs`).
fn of_pairs(docs: &DocIndex<'_>, pairs: &[RecordPair], range: std::ops::Range<usize>) -> Found {
    let mut f = Found::default();
    // Chinese-side and English-side facts each come grouped by document.
    let mut runs = [Runs::new(), Runs::new()];
    let (mut zh_doc, mut en_doc) = (docs.cached(), docs.cached());
    let mut g = 0usize;
    for k in range {
        let p = &pairs[k];
        if k > 0 && group(p) != group(&pairs[k - 1]) {
            g += 1;
        }
        let (Some(z), Some(e)) = (&p.zh, &p.en) else {
            continue;
        };
        let conf = p.confidence.to_bits().to_le_bytes();
        let (zd, ed) = (zh_doc.get(z), en_doc.get(e));
        let [zh_runs, en_runs] = &mut runs;
        let sides =
            [(zh_runs, &mut zh_doc, (z, zd), &p.zh_all, e, ed), (en_runs, &mut en_doc, (e, ed), &p.en_all, z, zd)];
        for (side_runs, own, first, rest, other, od) in sides {
            let ids = std::iter::once(first).chain(rest.iter().map(|id| (id, own.get(id))));
            for (id, d) in ids {
                let Some(d) = d else {
                    continue;
                };
                let b = side_runs.to(d, g, k as u32, &mut f.runs);
                b.push(b'p');
                put(b, local(id));
                put(b, other.as_bytes());
                b.extend_from_slice(&conf);
                f.items.push((d as u32, k as u32));
                if let Some(od) = od {
                    f.paired.push((d as u32, od as u32));
                }
            }
        }
    }
    let [mut zh_runs, mut en_runs] = runs;
    zh_runs.flush(&mut f.runs);
    en_runs.flush(&mut f.runs);
    f.paired.dedup();
    f
}

/// The facts of `rules[range]` for the documents of their records (a rule
/// reaches the documents paired with its record's, too: [`Facts::new`]).
fn of_rules(docs: &DocIndex<'_>, rules: &[Rule], range: std::ops::Range<usize>) -> Found {
    let mut f = Found::default();
    let mut runs = Runs::new();
    let mut rec_doc = docs.cached();
    for k in range {
        let rule = &rules[k];
        let rec = rule.source.record.as_str();
        let Some(d) = rec_doc.get(rec) else {
            continue;
        };
        f.items.push((d as u32, k as u32));
        let subject = rule.subject.as_deref().unwrap_or("\u{0}").as_bytes();
        // The group is the document itself.
        let b = runs.to(d, d, k as u32, &mut f.runs);
        b.push(b'r');
        put(b, local(rec));
        put(b, subject);
        put(b, rule.scope.as_bytes());
    }
    runs.flush(&mut f.runs);
    f
}

/// The key of a document (hex), from what it is and the facts reaching it.
/// `block` is the length of its lines in the records file.
pub(crate) fn doc_key(d: &DocIn<'_>, facts: &[[u8; 32]], block: u64) -> String {
    let mut h = blake3::Hasher::new();
    let mut head = Vec::with_capacity(256);
    put(&mut head, concat!("kb-index document ", env!("CARGO_PKG_VERSION")).as_bytes());
    put(&mut head, &INDEX_FORMAT.to_le_bytes());
    put(&mut head, d.id.as_bytes());
    put(&mut head, d.path.as_bytes());
    put(&mut head, d.lang.code().as_bytes());
    put(&mut head, &(d.records.len() as u64).to_le_bytes());
    put(&mut head, &block.to_le_bytes());
    h.update(&head);
    if d.hash.is_empty() {
        // No source hash to stand for the records: take them in.
        for r in &d.records {
            let mut b = Vec::new();
            put(&mut b, r.id.as_bytes());
            put(&mut b, serde_json::to_string(r).expect("records serialise").as_bytes());
            h.update(&b);
        }
    } else {
        let mut b = Vec::new();
        put(&mut b, d.hash.as_bytes());
        h.update(&b);
    }
    for digest in facts {
        h.update(digest);
    }
    h.finalize().to_hex().to_string()
}

/// A key as kept in the build cache: the hex fingerprint, then the counts
/// the index description needs, so an unchanged document is not looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub hex: String,
    pub with_counterpart: usize,
    pub with_subject: usize,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let mut it = s.split(':');
        let hex = it.next()?.to_string();
        let with_counterpart = it.next()?.parse().ok()?;
        let with_subject = it.next()?.parse().ok()?;
        Some(Key { hex, with_counterpart, with_subject }).filter(|_| it.next().is_none())
    }

    pub fn format(&self) -> String {
        format!("{}:{}:{}", self.hex, self.with_counterpart, self.with_subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_cut_only_where_a_document_begins() {
        let groups: Vec<usize> = (0..100_000).map(|i| i / 7).collect();
        for n in [1, 2, 3, 8] {
            let ps = parts(groups.len(), n, |i| groups[i] != groups[i - 1]);
            assert_eq!(ps.len(), n);
            assert_eq!(ps.first().unwrap().start, 0);
            assert_eq!(ps.last().unwrap().end, groups.len());
            for w in ps.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_ne!(groups[w[1].start], groups[w[1].start - 1]);
            }
        }
        assert_eq!(parts(10, 1, |_| true), vec![0..10]);
        assert!(parts(0, 4, |_| true).is_empty());
        assert_eq!(parts(10, 4, |i| i == 9), vec![0..9, 9..10], "cuts only where a document begins");
    }

    #[test]
    fn the_number_of_parts_depends_on_the_length_alone() {
        assert_eq!(part_count(0), 1);
        assert_eq!(part_count(PART_ITEMS), 1);
        assert_eq!(part_count(PART_ITEMS + 1), 2);
        assert_eq!(part_count(usize::MAX / 2), MAX_PARTS);
    }

    fn docs_and_facts() -> (Vec<String>, Alignment, RuleSet) {
        use kb_model::alignment::RecordPair;
        // 12 Chinese and 12 English documents; pairings grouped by Chinese
        // document, some naming two records on a side, some with no English
        // record; rules of both languages' records, grouped by document.
        let ids: Vec<String> = (0..12).flat_map(|i| [format!("zh/d{i}"), format!("en/d{i}")]).collect();
        let mut pairs = Vec::new();
        for i in 0..12 {
            for r in 0..(3 + i % 4) {
                let e = (i + r % 2) % 12;
                pairs.push(RecordPair {
                    zh: Some(format!("zh/d{i}#{r}")),
                    en: (r != 2).then(|| format!("en/d{e}#{r}")),
                    zh_all: if r == 1 { vec![format!("zh/d{i}#{r}"), format!("zh/d{i}#x")] } else { Vec::new() },
                    en_all: if r == 3 { vec![format!("en/d{e}#{r}"), format!("en/d{e}#y")] } else { Vec::new() },
                    confidence: 0.5 + r as f64 / 100.0,
                    evidence: Vec::new(),
                });
            }
        }
        let rule = |doc: &str, rec: String, k: usize| -> kb_model::rules::Rule {
            serde_json::from_value(serde_json::json!({
                "id": format!("r{k}"), "scope": if k.is_multiple_of(3) { "代理" } else { "" },
                "subject": if k.is_multiple_of(2) { serde_json::json!(format!("s{}", k % 5)) } else { serde_json::Value::Null },
                "op": null, "value": null, "unit": null, "kind": "quantitative", "confidence": 0.9,
                "source": { "doc": doc, "record": rec, "path": format!("{doc}.md"), "lines": [1, 1] },
                "text": { "zh": null, "en": null },
            }))
            .unwrap()
        };
        let mut rules = Vec::new();
        for (j, doc) in ids.iter().enumerate() {
            for r in 0..(1 + j % 3) {
                let k = rules.len();
                rules.push(rule(doc, format!("{doc}#{r}"), k));
            }
        }
        let alignment = Alignment { records: pairs, ..Alignment::default() };
        (ids, alignment, RuleSet { version: 1, rules })
    }

    #[test]
    fn facts_do_not_depend_on_how_the_passes_are_cut() {
        let (ids, alignment, rules) = docs_and_facts();
        let ins: Vec<DocIn<'_>> = ids
            .iter()
            .map(|id| DocIn { id, path: id, lang: kb_model::Lang::Zh, hash: "h", records: Vec::new() })
            .collect();
        let ix = DocIndex::new(&ins);
        let one = Facts::in_parts(&ix, ins.len(), Some(&alignment), Some(&rules), [1, 1]);
        assert!(one.digests.iter().filter(|d| !d.is_empty()).count() == ids.len(), "every document has facts");
        for cuts in [[2, 2], [3, 5], [7, 1], [1, 7], [40, 40]] {
            let f = Facts::in_parts(&ix, ins.len(), Some(&alignment), Some(&rules), cuts);
            assert_eq!(f.digests, one.digests, "cut into {cuts:?}");
            assert_eq!(f.pairs, one.pairs, "cut into {cuts:?}");
            assert_eq!(f.rules, one.rules, "cut into {cuts:?}");
            let sorted = |v: &Vec<Vec<usize>>| -> Vec<Vec<usize>> {
                v.iter()
                    .map(|l| {
                        let mut l = l.clone();
                        l.sort_unstable();
                        l
                    })
                    .collect()
            };
            assert_eq!(sorted(&f.paired), sorted(&one.paired), "cut into {cuts:?}");
        }
        // The keys built from them too, whatever the machine.
        let f = Facts::new(&ix, ins.len(), Some(&alignment), Some(&rules));
        assert_eq!(f.digests, one.digests);
    }

    #[test]
    fn keys_round_trip_and_refuse_what_they_did_not_write() {
        let k = Key { hex: "ab12".into(), with_counterpart: 3, with_subject: 0 };
        assert_eq!(Key::parse(&k.format()), Some(k));
        assert_eq!(Key::parse("ab12"), None);
        assert_eq!(Key::parse("ab12:1:x"), None);
        assert_eq!(Key::parse("ab12:1:2:3"), None);
    }
}
