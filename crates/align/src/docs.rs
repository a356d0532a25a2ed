//! Document pairing: block candidate zh×en pairs on shared rare keys (numbers,
//! link targets, images, path, lexicon concepts, table shapes), score each
//! candidate from language-independent evidence, and pair greedily by score,
//! one counterpart per document, honouring `kb.toml` `[[pair]]` / `[[forbid]]`.

use std::collections::{BTreeSet, HashMap};

use kb_model::alignment::{DocumentPair, Evidence};
use kb_model::manifest::Manifest;
use kb_model::Lang;
use rayon::prelude::*;

use crate::fasthash::hash_bytes;
use crate::features::{dice_sorted, is_multi_digit, round3, NumKey};
use crate::lexicon::Concept;
use crate::profile::Summary;

/// Documents scoring at least this pair as translations of each other.
pub const TRANSLATION: f64 = 0.6;
/// Documents scoring at least this (and less than [`TRANSLATION`]) pair as
/// loose counterparts — records then pair only on shared content — provided
/// each is the other's best candidate by a clear margin ([`LOOSE_MARGIN`]).
pub const LOOSE: f64 = 0.3;
/// A loose pair's score must exceed each document's next best by this factor.
pub const LOOSE_MARGIN: f64 = 1.25;
/// Candidates kept per document after blocking.
const CANDIDATES_PER_DOC: usize = 12;

/// The outcome of document pairing.
#[derive(Debug, Default)]
pub struct Pairing {
    /// (zh summary index, en summary index, pair), sorted by zh id then en id.
    pub pairs: Vec<(usize, usize, DocumentPair)>,
    /// Ids of unpaired documents, sorted.
    pub unpaired: Vec<String>,
    /// How many zh×en pairs were scored.
    pub scored: usize,
}

/// The blocking keys of a document: hashes of its rare-enough features,
/// sorted, without repeats.
pub fn blocking_keys(p: &Summary) -> Vec<u64> {
    let mut keys: Vec<u64> = Vec::new();
    // (numbers and concepts are sorted with repeats: each is hashed once)
    for (_, &n) in p.numbers.iter().enumerate().filter(|&(i, n)| i == 0 || p.numbers[i - 1] != *n) {
        // Single digits are everywhere; they block nothing.
        if is_multi_digit(n) {
            keys.push(hash_bytes(b'n', &n.to_le_bytes()));
        }
    }
    keys.extend(p.urls.iter().map(|u| hash_bytes(b'u', u.as_bytes())));
    keys.extend(p.url_paths.iter().map(|u| hash_bytes(b'p', u.as_bytes())));
    keys.extend(p.images.iter().map(|u| hash_bytes(b'i', u.as_bytes())));
    keys.push(hash_bytes(b'r', p.rel_key.as_bytes()));
    keys.extend(
        p.concepts
            .iter()
            .enumerate()
            .filter(|&(i, c)| i == 0 || p.concepts[i - 1] != *c)
            .map(|(_, c)| hash_bytes(b'c', &c.to_le_bytes())),
    );
    keys.extend(p.title_concepts.iter().map(|c| hash_bytes(b't', &c.to_le_bytes())));
    for &(c, r) in &p.tables {
        if r >= 3 {
            keys.push(hash_bytes(b's', &[(c as u64).to_le_bytes(), (r as u64).to_le_bytes()].concat()));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Blocking: the candidate (zh, en) index pairs worth scoring, sorted.
pub fn candidates(zh: &[usize], en: &[usize], profiles: &[Summary]) -> Vec<(usize, usize)> {
    let keys: Vec<Vec<u64>> = profiles.par_iter().map(blocking_keys).collect();
    candidates_with_keys(zh, en, profiles, &keys)
}

fn candidates_with_keys(zh: &[usize], en: &[usize], profiles: &[Summary], keys: &[Vec<u64>]) -> Vec<(usize, usize)> {
    // (key, document) for every key of every document, grouped by key.
    let mut post: Vec<(u64, u32)> =
        zh.iter().chain(en).flat_map(|&i| keys[i].iter().map(move |&k| (k, i as u32))).collect();
    post.par_sort_unstable();
    let n = zh.len() + en.len();
    let cap = 8usize.max((n as f64).sqrt().ceil() as usize * 2);
    // (zh, en, weight) for every shared key, keys in ascending order.
    let mut shared: Vec<(u32, u32, f64)> = Vec::new();
    let (mut zs, mut es) = (Vec::new(), Vec::new());
    let mut g = 0;
    while g < post.len() {
        let key = post[g].0;
        let mut h = g;
        zs.clear();
        es.clear();
        while h < post.len() && post[h].0 == key {
            let d = post[h].1;
            if profiles[d as usize].lang == Lang::Zh {
                zs.push(d)
            } else {
                es.push(d)
            }
            h += 1;
        }
        g = h;
        if zs.is_empty() || es.is_empty() || zs.len() > cap || es.len() > cap {
            continue;
        }
        // Rarer keys say more.
        let w = 1.0 / (zs.len() * es.len()) as f64;
        for &z in &zs {
            for &e in &es {
                shared.push((z, e, w));
            }
        }
    }
    // Sum per pair, in key order (a stable sort keeps it).
    shared.par_sort_by_key(|&(z, e, _)| (z, e));
    let mut by_doc: Vec<Vec<(f64, u32, u32)>> = vec![Vec::new(); profiles.len()];
    let mut k = 0;
    while k < shared.len() {
        let (z, e, mut w) = shared[k];
        k += 1;
        while k < shared.len() && shared[k].0 == z && shared[k].1 == e {
            w += shared[k].2;
            k += 1;
        }
        by_doc[z as usize].push((w, z, e));
        by_doc[e as usize].push((w, z, e));
    }
    // Keep each document's best candidates.
    let mut out: Vec<(usize, usize)> = by_doc
        .par_iter_mut()
        .flat_map_iter(|v| {
            v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            v.iter().take(CANDIDATES_PER_DOC).map(|&(_, z, e)| (z as usize, e as usize)).collect::<Vec<_>>()
        })
        .collect();
    out.par_sort_unstable();
    out.dedup();
    out
}

/// Scores one zh×en pair: (confidence, evidence).
pub fn score(z: &Summary, e: &Summary) -> (f64, Vec<Evidence>) {
    score_with(z, e, &Counts::of(z), &Counts::of(e), true)
}

/// A summary's numbers and concepts as (value, count) runs: documents
/// repeat them many times, and the Dice coefficient of two multisets only
/// needs the counts.
struct Counts {
    numbers: Vec<(NumKey, u32)>,
    concepts: Vec<(Concept, u32)>,
}

impl Counts {
    fn of(s: &Summary) -> Counts {
        Counts { numbers: runs(&s.numbers), concepts: runs(&s.concepts) }
    }
}

/// The runs of equal items of a sorted slice.
fn runs<T: Copy + PartialEq>(v: &[T]) -> Vec<(T, u32)> {
    let mut out: Vec<(T, u32)> = Vec::new();
    for &x in v {
        match out.last_mut() {
            Some((y, n)) if *y == x => *n += 1,
            _ => out.push((x, 1)),
        }
    }
    out
}

/// [`dice_sorted`] of two sorted multisets given as runs (`na`, `nb`: their sizes).
fn dice_runs<T: Ord + Copy>(a: &[(T, u32)], na: usize, b: &[(T, u32)], nb: usize) -> f64 {
    if na == 0 && nb == 0 {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let ((x, m), (y, n)) = (a[i], b[j]);
        if x == y {
            common += m.min(n) as usize;
        }
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    2.0 * common as f64 / (na + nb) as f64
}

/// The confidence [`score`] gives, without formatting its evidence (most
/// scored candidates are not taken).
pub fn confidence(z: &Summary, e: &Summary) -> f64 {
    score_with(z, e, &Counts::of(z), &Counts::of(e), false).0
}

/// [`score`], with the evidence only when `explain`.
fn score_with(z: &Summary, e: &Summary, cz: &Counts, ce: &Counts, explain: bool) -> (f64, Vec<Evidence>) {
    let mut ev: Vec<Evidence> = Vec::new();
    // The detail is formatted only when it is kept.
    let mut add = |signal: &str, weight: f64, score: f64, detail: &dyn Fn() -> String| {
        if explain {
            ev.push(Evidence { signal: signal.to_string(), score: round3(score), detail: detail() });
        }
        (weight, score)
    };
    // (weight, score) of each signal present: at most the eight below, in order.
    let mut parts = Parts::default();
    if !z.numbers.is_empty() || !e.numbers.is_empty() {
        let s = dice_runs(&cz.numbers, z.numbers.len(), &ce.numbers, e.numbers.len());
        let common = (s * (z.numbers.len() + e.numbers.len()) as f64 / 2.0).round();
        parts.push(add("numbers", 3.0, s, &|| {
            format!("{common} shared of {} zh / {} en", z.numbers.len(), e.numbers.len())
        }));
    }
    if !z.urls.is_empty() || !e.urls.is_empty() {
        let full = dice_sorted(&z.urls, &e.urls);
        let path = if z.url_paths.is_empty() && e.url_paths.is_empty() {
            0.0
        } else {
            dice_sorted(&z.url_paths, &e.url_paths)
        };
        let s = full.max(0.7 * path);
        parts.push(add("urls", 3.0, s, &|| format!("{} zh / {} en link targets", z.urls.len(), e.urls.len())));
    }
    if !z.concepts.is_empty() || !e.concepts.is_empty() {
        let s = dice_runs(&cz.concepts, z.concepts.len(), &ce.concepts, e.concepts.len());
        parts.push(add("lexicon", 3.0, s, &|| format!("{} zh / {} en term hits", z.concepts.len(), e.concepts.len())));
    }
    if !z.tables.is_empty() || !e.tables.is_empty() {
        let s = table_sim(&z.tables, &e.tables);
        parts.push(add("tables", 2.0, s, &|| format!("shapes {} vs {}", shapes(&z.tables), shapes(&e.tables))));
    }
    if !z.headings.is_empty() || !e.headings.is_empty() {
        let s = seq_sim(&z.headings, &e.headings);
        parts.push(add("headings", 1.5, s, &|| format!("{} zh / {} en headings", z.headings.len(), e.headings.len())));
    }
    if !z.lists.is_empty() || !e.lists.is_empty() {
        let s = seq_sim(&z.lists, &e.lists);
        parts.push(add("lists", 1.5, s, &|| format!("lengths {:?} vs {:?}", z.lists, e.lists)));
    }
    if !z.images.is_empty() || !e.images.is_empty() {
        let (a, b) = (z.images.len() as f64, e.images.len() as f64);
        // Equal counts are weak evidence; the same image files are strong.
        let s = (0.5 * a.min(b) / a.max(b)).max(dice_sorted(&z.images, &e.images));
        parts.push(add("images", 1.0, s, &|| format!("{a} zh / {b} en images")));
    }
    let ratio = if z.units > 0.0 && e.units > 0.0 { e.units / z.units } else { 0.0 };
    let ls = if ratio > 0.0 { (-(ratio.ln().abs()) * 2.0).exp() } else { 0.0 };
    parts.push(add("length_ratio", 1.0, ls, &|| format!("en/zh length {:.2}", ratio)));

    let parts = parts.as_slice();
    let wsum: f64 = parts.iter().map(|p| p.0).sum();
    let mean = parts.iter().map(|p| p.0 * p.1).sum::<f64>() / wsum;
    // Few signals → little to go on: shrink towards 0.
    let mut conf = mean * (wsum / 8.0).min(1.0);
    if z.rel_key == e.rel_key && !z.rel_key.is_empty() {
        // Same place in both trees: a hint, never enough alone.
        let boosted = if conf >= 0.35 { conf + 0.35 * (1.0 - conf) } else { conf };
        if explain {
            ev.push(Evidence {
                signal: "path".into(),
                score: 1.0,
                detail: format!("same relative path {}", z.rel_key),
            });
        }
        conf = boosted;
    }
    (round3(conf), ev)
}

/// The (weight, score) parts of a document score, kept on the stack.
#[derive(Default)]
struct Parts {
    items: [(f64, f64); 8],
    len: usize,
}

impl Parts {
    fn push(&mut self, p: (f64, f64)) {
        self.items[self.len] = p;
        self.len += 1;
    }
    fn as_slice(&self) -> &[(f64, f64)] {
        &self.items[..self.len]
    }
}

fn shapes(t: &[(usize, usize)]) -> String {
    let v: Vec<String> = t.iter().map(|(c, r)| format!("{c}x{r}")).collect();
    format!("[{}]", v.join(","))
}

/// Similarity of two sequences of table shapes, matched in order.
fn table_sim(a: &[(usize, usize)], b: &[(usize, usize)]) -> f64 {
    let n = a.len().max(b.len());
    if n == 0 {
        return 0.0;
    }
    // LCS-style DP with partial credit.
    let mut dp = vec![vec![0.0f64; b.len() + 1]; a.len() + 1];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let (ca, ra) = a[i - 1];
            let (cb, rb) = b[j - 1];
            let s = (ra.min(rb) as f64 / ra.max(rb).max(1) as f64) * if ca == cb { 1.0 } else { 0.5 };
            dp[i][j] = (dp[i - 1][j - 1] + s).max(dp[i - 1][j]).max(dp[i][j - 1]);
        }
    }
    dp[a.len()][b.len()] / n as f64
}

/// 1 − normalised edit distance.
fn seq_sim<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    let n = a.len().max(b.len());
    if n == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / n as f64
}

/// Pairs the documents.
pub fn pair(profiles: &[Summary], manifest: &Manifest) -> Pairing {
    let zh: Vec<usize> = (0..profiles.len()).filter(|&i| profiles[i].lang == Lang::Zh).collect();
    let en: Vec<usize> = (0..profiles.len()).filter(|&i| profiles[i].lang == Lang::En).collect();
    // (only a manifest that names documents needs them by id)
    let index: HashMap<&str, usize> = if manifest.forbid.is_empty() && manifest.pair.is_empty() {
        HashMap::new()
    } else {
        profiles.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect()
    };
    let forbidden: BTreeSet<(usize, usize)> =
        manifest.forbid.iter().filter_map(|f| Some((*index.get(f.zh.as_str())?, *index.get(f.en.as_str())?))).collect();
    let forced: Vec<(usize, usize)> =
        manifest.pair.iter().filter_map(|f| Some((*index.get(f.zh.as_str())?, *index.get(f.en.as_str())?))).collect();

    let cands: Vec<(usize, usize)> =
        candidates(&zh, &en, profiles).into_iter().filter(|c| !forbidden.contains(c)).collect();
    let counts: Vec<Counts> = profiles.par_iter().map(Counts::of).collect();
    let scored: Vec<(usize, usize, f64)> = cands
        .par_iter()
        .map(|&(z, e)| (z, e, score_with(&profiles[z], &profiles[e], &counts[z], &counts[e], false).0))
        .collect();

    let mut taken = vec![false; profiles.len()];
    let mut pairs = Vec::new();
    for &(z, e) in &forced {
        if taken[z] || taken[e] {
            continue;
        }
        let (s, mut ev) = score_with(&profiles[z], &profiles[e], &counts[z], &counts[e], true);
        ev.insert(0, Evidence { signal: "manifest".into(), score: 1.0, detail: "forced by kb.toml [[pair]]".into() });
        taken[z] = true;
        taken[e] = true;
        pairs.push((z, e, s, ev));
    }
    let mut order: Vec<&(usize, usize, f64)> = scored.iter().filter(|c| c.2 >= LOOSE).collect();
    order.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then_with(|| profiles[a.0].id.cmp(&profiles[b.0].id))
            .then_with(|| profiles[a.1].id.cmp(&profiles[b.1].id))
    });
    // Each document's best and second best candidate score.
    let mut best: Vec<Option<[f64; 2]>> = vec![None; profiles.len()];
    for (z, e, s) in &scored {
        for d in [z, e] {
            let b = best[*d].get_or_insert([0.0, 0.0]);
            if *s > b[0] {
                b[1] = b[0];
                b[0] = *s;
            } else if *s > b[1] {
                b[1] = *s;
            }
        }
    }
    let clear_best = |d: usize, s: f64| best[d].is_some_and(|b| s >= b[0] && s >= LOOSE_MARGIN * b[1]);
    let forced_pairs = pairs.len();
    for &&(z, e, s) in &order {
        if taken[z] || taken[e] {
            continue;
        }
        if s < TRANSLATION && !(clear_best(z, s) && clear_best(e, s)) {
            continue;
        }
        taken[z] = true;
        taken[e] = true;
        pairs.push((z, e, s, Vec::new()));
    }
    // The evidence of the pairs taken.
    pairs[forced_pairs..].par_iter_mut().for_each(|(z, e, s, ev)| {
        let (again, explained) = score_with(&profiles[*z], &profiles[*e], &counts[*z], &counts[*e], true);
        debug_assert_eq!(again.to_bits(), s.to_bits());
        *ev = explained;
    });
    let mut pairs: Vec<(usize, usize, DocumentPair)> = pairs
        .into_iter()
        .map(|(z, e, s, ev)| {
            let dp =
                DocumentPair { zh: profiles[z].id.clone(), en: profiles[e].id.clone(), confidence: s, evidence: ev };
            (z, e, dp)
        })
        .collect();
    pairs.sort_by(|a, b| a.2.zh.cmp(&b.2.zh).then_with(|| a.2.en.cmp(&b.2.en)));
    let mut unpaired: Vec<String> =
        (0..profiles.len()).filter(|&i| !taken[i]).map(|i| profiles[i].id.clone()).collect();
    unpaired.sort();
    Pairing { pairs, unpaired, scored: scored.len() + forced.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_similarity_is_one_minus_normalised_edit_distance() {
        assert_eq!(seq_sim(&[1, 2, 2], &[1, 2, 2]), 1.0);
        assert!((seq_sim(&[1, 2, 2, 3], &[1, 2, 3]) - 0.75).abs() < 1e-9);
        assert!(table_sim(&[(2, 5), (4, 6)], &[(2, 5), (4, 6)]) > 0.99);
        assert!(table_sim(&[(2, 5)], &[(4, 1)]) < 0.2);
    }

    #[test]
    fn blocking_keys_hash_each_feature_once() {
        use crate::lexicon::Lexicon;
        let lex = Lexicon::shipped();
        for d in crate::synth::corpus(4, 1, &crate::synth::Shape::default(), 3) {
            let p = crate::profile::Profile::new(&d, lex).summary(lex);
            assert!(p.concepts.windows(2).any(|w| w[0] == w[1]), "repeated concepts in {}", d.id);
            // every number and concept hashed, repeats and all
            let mut naive: Vec<u64> =
                p.numbers
                    .iter()
                    .filter(|&&n| is_multi_digit(n))
                    .map(|n| hash_bytes(b'n', &n.to_le_bytes()))
                    .chain(p.concepts.iter().map(|c| hash_bytes(b'c', &c.to_le_bytes())))
                    .chain(p.title_concepts.iter().map(|c| hash_bytes(b't', &c.to_le_bytes())))
                    .chain(p.urls.iter().map(|u| hash_bytes(b'u', u.as_bytes())))
                    .chain(p.url_paths.iter().map(|u| hash_bytes(b'p', u.as_bytes())))
                    .chain(p.images.iter().map(|u| hash_bytes(b'i', u.as_bytes())))
                    .chain(std::iter::once(hash_bytes(b'r', p.rel_key.as_bytes())))
                    .chain(p.tables.iter().filter(|t| t.1 >= 3).map(|&(c, r)| {
                        hash_bytes(b's', &[(c as u64).to_le_bytes(), (r as u64).to_le_bytes()].concat())
                    }))
                    .collect();
            naive.sort_unstable();
            naive.dedup();
            assert_eq!(blocking_keys(&p), naive, "{}", d.id);
        }
    }

    #[test]
    fn the_confidence_without_evidence_is_the_score_with_it() {
        use crate::lexicon::Lexicon;
        use crate::synth;
        let lex = Lexicon::shipped();
        let docs = synth::corpus(8, 2, &synth::Shape::default(), 5);
        let sums: Vec<Summary> = docs.iter().map(|d| crate::profile::Profile::new(d, lex).summary(lex)).collect();
        let mut n = 0;
        for z in sums.iter().filter(|s| s.lang == Lang::Zh) {
            for e in sums.iter().filter(|s| s.lang == Lang::En) {
                let (s, ev) = score(z, e);
                assert_eq!(confidence(z, e).to_bits(), s.to_bits());
                for (a, b) in [(&z.numbers, &e.numbers), (&z.numbers, &z.numbers)] {
                    let d = dice_runs(&runs(a), a.len(), &runs(b), b.len());
                    assert_eq!(d.to_bits(), dice_sorted(a, b).to_bits());
                }
                let (a, b) = (&z.concepts, &e.concepts);
                let d = dice_runs(&runs(a), a.len(), &runs(b), b.len());
                assert_eq!(d.to_bits(), dice_sorted(a, b).to_bits());
                assert!(!ev.is_empty());
                n += 1;
            }
        }
        assert!(n >= 64);
    }
}
