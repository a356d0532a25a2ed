//! Inside one document pair: align the sections (the heading trees, flattened
//! in document order) by dynamic programming, then the records inside each
//! aligned section (Gale–Church length model plus anchors: numbers, links,
//! lexicon concepts, item numbers; table rows cell by cell), then pair what
//! the monotone pass left over when the content clearly agrees (moved rows or
//! items), and finally report the drift between the paired records.

use kb_model::alignment::{Drift, Evidence, RecordPair, SectionPair};
use kb_model::{Record, RecordKind};

use crate::docs::TRANSLATION;
use crate::dp::{self, Bead};
use crate::features::{
    concept_sim, concept_sim_merged, dice_merged_copy, length_prob, match_numbers, number_sim, round3, url_sim_merged,
    Merged, NumKey,
};
use crate::lexicon::Concept;
use crate::profile::{Class, Profile};

/// Cost of leaving a section without counterpart.
const SECTION_SKIP: f64 = 3.0;
/// Extra cost of merging two sections into one pairing.
const SECTION_MERGE: f64 = 2.5;
/// Cost of leaving a record without counterpart.
const RECORD_SKIP: f64 = 3.0;
/// Extra cost of a 1–2 / 2–1 record pairing.
const RECORD_MERGE: f64 = 2.5;
/// Scale of `−ln(similarity)` in a pairing's cost.
const SIM_SCALE: f64 = 4.0;
/// Least similarity for pairing records the monotone pass left unpaired.
const REPAIR_MIN: f64 = 0.62;
/// In loose document pairs, records pair only when their anchors agree this much.
const LOOSE_ANCHOR_MIN: f64 = 0.5;
/// Above this many cells a record DP is restricted to a diagonal band.
const BAND_CELLS: usize = 250_000;

/// The alignment of one document pair.
#[derive(Debug, Default)]
pub struct PairAlignment {
    /// Section pairings in document order.
    pub sections: Vec<SectionPair>,
    /// Record pairings in document order.
    pub records: Vec<RecordPair>,
    /// Drift between the two documents.
    pub drift: Vec<Drift>,
    /// For each record pairing, the indices of its zh and en records in their documents.
    pub record_index: Vec<(Vec<u32>, Vec<u32>)>,
}

/// One section: a heading-like record and the records up to the next one.
#[derive(Debug)]
struct Section {
    heading: Option<usize>,
    start: usize,
    end: usize,
    level: u8,
    /// Length of its records.
    units: f64,
    /// Concepts of its records, sorted.
    concepts: Vec<Concept>,
    /// Link targets of its records, sorted.
    urls: Vec<String>,
    /// Every key of every number, sorted (a cheap stand-in for number matching).
    nums: Vec<NumKey>,
    path: Vec<String>,
}

fn sections(p: &Profile<'_>) -> Vec<Section> {
    let recs = &p.doc.records;
    let mut out: Vec<Section> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let is_heading = p.classes[i] == Class::Heading;
        if is_heading || out.is_empty() {
            let path = if is_heading { heading_path(r) } else { Vec::new() };
            out.push(Section {
                heading: is_heading.then_some(i),
                start: i,
                end: i,
                level: if is_heading { r.level.unwrap_or(1) } else { 0 },
                units: 0.0,
                concepts: Vec::new(),
                urls: Vec::new(),
                nums: Vec::new(),
                path,
            });
        }
        let s = out.last_mut().expect("a section exists");
        s.end = i + 1;
        let f = &p.feats[i];
        s.units += f.units;
        s.concepts.extend_from_slice(&f.concepts);
        s.urls.extend(f.urls.iter().cloned());
        s.nums.extend(f.numbers.iter().flat_map(|n| n.keys()));
    }
    for s in &mut out {
        s.nums.sort_unstable();
        s.concepts.sort_unstable();
        s.urls.sort();
    }
    out
}

/// A section's heading path: the heading's own path and its text (or question).
pub(crate) fn heading_path(r: &Record) -> Vec<String> {
    let mut path = r.heading_path.clone();
    let own = r.question.as_ref().unwrap_or(&r.text);
    if path.last() != Some(own) {
        path.push(own.clone());
    }
    path
}

/// Weighted mean of the available signals.
struct Mix {
    w: f64,
    s: f64,
}

impl Mix {
    fn new() -> Mix {
        Mix { w: 0.0, s: 0.0 }
    }
    fn add(&mut self, w: f64, s: f64) {
        self.w += w;
        self.s += w * s;
    }
    fn opt(&mut self, w: f64, s: Option<f64>) -> Option<f64> {
        if let Some(s) = s {
            self.add(w, s);
        }
        s
    }
    fn mean(&self) -> f64 {
        if self.w == 0.0 {
            0.0
        } else {
            self.s / self.w
        }
    }
}

/// One or two sorted slices taken from consecutive items.
fn merged_of<'a, T: Ord, X>(xs: &'a [X], f: impl Fn(&'a X) -> &'a [T]) -> Merged<'a, T> {
    match xs {
        [a] => Merged::one(f(a)),
        [a, b] => Merged::two(f(a), f(b)),
        _ => unreachable!("beads take one or two items"),
    }
}

/// Length of one or two items, summed as merging them would.
fn units_of<X>(xs: &[X], f: impl Fn(&X) -> f64) -> f64 {
    xs.iter().fold(0.0, |u, x| u + f(x))
}

fn section_sim(z: &Profile<'_>, zs: &[Section], e: &Profile<'_>, es: &[Section]) -> f64 {
    let mut m = Mix::new();
    m.add(2.0, length_prob(units_of(zs, |s| s.units), units_of(es, |s| s.units)));
    let (nz, ne) = (merged_of(zs, |s| &s.nums), merged_of(es, |s| &s.nums));
    if !nz.is_empty() || !ne.is_empty() {
        m.add(3.0, dice_merged_copy(nz, ne));
    }
    m.opt(2.0, url_sim_merged(merged_of(zs, |s| &s.urls), merged_of(es, |s| &s.urls)));
    m.opt(3.0, concept_sim_merged(merged_of(zs, |s| &s.concepts), merged_of(es, |s| &s.concepts)));
    let (lz, le) = (zs[0].level, es[0].level);
    m.add(
        1.0,
        if lz == le {
            1.0
        } else if lz == 0 || le == 0 {
            0.0
        } else {
            1.0 / (1.0 + (lz as f64 - le as f64).abs())
        },
    );
    let nz: usize = zs.iter().map(|s| s.end - s.start).sum();
    let ne: usize = es.iter().map(|s| s.end - s.start).sum();
    m.add(1.0, nz.min(ne) as f64 / nz.max(ne).max(1) as f64);
    // The heading texts themselves.
    if let (Some(hz), Some(he)) = (zs[0].heading, es[0].heading) {
        let (a, b) = (&z.feats[hz], &e.feats[he]);
        m.opt(2.0, concept_sim(&a.concepts, &b.concepts));
        m.opt(2.0, number_sim(std::slice::from_ref(a), std::slice::from_ref(b)));
    }
    m.mean()
}

fn sim_cost(sim: f64) -> f64 {
    -SIM_SCALE * sim.max(1e-6).ln()
}

/// Aligns one document pair whose pairing confidence is `doc_conf`.
pub fn align_pair(z: &Profile<'_>, e: &Profile<'_>, doc_conf: f64) -> PairAlignment {
    let loose = doc_conf < TRANSLATION;
    let sz = sections(z);
    let se = sections(e);
    let beads = dp::align_with(sz.len(), se.len(), |i, ni, j, nj| {
        if ni == 0 || nj == 0 {
            return (SECTION_SKIP, 0.0);
        }
        let s = section_sim(z, &sz[i..i + ni], e, &se[j..j + nj]);
        let merge = if ni + nj > 2 { SECTION_MERGE } else { 0.0 };
        let honest = if loose && s < 0.45 { f64::INFINITY } else { 0.0 };
        (sim_cost(s) + merge + honest, s)
    });

    let mut out = PairAlignment::default();
    let mut drafts: Vec<Draft> = Vec::new();
    for b in &beads {
        let sim = b.sim;
        let (zsec, esec) = (&sz[b.a..b.a + b.na], &se[b.b..b.b + b.nb]);
        out.sections.push(section_pair(z, zsec, e, esec, sim));
        let zr = zsec.first().map(|s| s.start).unwrap_or(0)..zsec.last().map(|s| s.end).unwrap_or(0);
        let er = esec.first().map(|s| s.start).unwrap_or(0)..esec.last().map(|s| s.end).unwrap_or(0);
        if b.na == 0 || b.nb == 0 {
            // A section with no counterpart: its records have none either.
            for i in zr.clone() {
                drafts.push(Draft::single(Some(i), None, doc_conf, true));
            }
            for j in er.clone() {
                drafts.push(Draft::single(None, Some(j), doc_conf, true));
            }
            if !loose {
                let (side_doc, sec) = if b.na > 0 { (z, &zsec[0]) } else { (e, &esec[0]) };
                let id = sec.heading.map(|h| side_doc.doc.records[h].id.clone());
                let what = if sec.path.is_empty() {
                    "the text before the first heading".to_string()
                } else {
                    format!("section \"{}\"", sec.path.join(" > "))
                };
                let other = if b.na > 0 { "en" } else { "zh" };
                out.drift.push(Drift {
                    kind: "missing_section".into(),
                    zh_doc: z.doc.id.clone(),
                    en_doc: e.doc.id.clone(),
                    zh: if b.na > 0 { id.clone() } else { None },
                    en: if b.nb > 0 { id } else { None },
                    detail: format!("{what} has no counterpart in {other}"),
                });
            }
            continue;
        }
        align_records(z, zr, e, er, loose, sim, &mut drafts);
    }
    repair(z, e, loose, &mut drafts);
    out.records.reserve(drafts.len());
    out.record_index.reserve(drafts.len());
    for d in &drafts {
        out.records.push(d.to_pair(z, e));
        let ix = |v: &[usize]| v.iter().map(|&i| i as u32).collect::<Vec<u32>>();
        out.record_index.push((ix(&d.zh), ix(&d.en)));
    }
    drift(z, e, loose, &drafts, &mut out.drift);
    out
}

fn section_pair(z: &Profile<'_>, zs: &[Section], e: &Profile<'_>, es: &[Section], sim: f64) -> SectionPair {
    let one_sided = zs.is_empty() || es.is_empty();
    let evidence = if one_sided {
        vec![Evidence { signal: "no_counterpart".into(), score: 1.0, detail: String::new() }]
    } else {
        let (uz, ue) = (units_of(zs, |s| s.units), units_of(es, |s| s.units));
        let mut ev = vec![Evidence {
            signal: "length".into(),
            score: round3(length_prob(uz, ue)),
            detail: units_detail(uz, ue),
        }];
        let fz = &z.feats[zs[0].start..zs[zs.len() - 1].end];
        let fe = &e.feats[es[0].start..es[es.len() - 1].end];
        if let Some(s) = number_sim(fz, fe) {
            ev.push(Evidence { signal: "numbers".into(), score: round3(s), detail: String::new() });
        }
        if let Some(s) = url_sim_merged(merged_of(zs, |s| &s.urls), merged_of(es, |s| &s.urls)) {
            ev.push(Evidence { signal: "urls".into(), score: round3(s), detail: String::new() });
        }
        if let Some(s) = concept_sim_merged(merged_of(zs, |s| &s.concepts), merged_of(es, |s| &s.concepts)) {
            ev.push(Evidence { signal: "lexicon".into(), score: round3(s), detail: String::new() });
        }
        ev.push(Evidence {
            signal: "level".into(),
            score: if zs[0].level == es[0].level { 1.0 } else { 0.0 },
            detail: format!("h{} vs h{}", zs[0].level, es[0].level),
        });
        ev
    };
    let id = |p: &Profile<'_>, s: &Section| s.heading.map(|h| p.doc.records[h].id.clone());
    SectionPair {
        zh_doc: z.doc.id.clone(),
        en_doc: e.doc.id.clone(),
        zh: zs.first().map(|s| s.path.clone()),
        en: es.first().map(|s| s.path.clone()),
        zh_id: zs.first().and_then(|s| id(z, s)),
        en_id: es.first().and_then(|s| id(e, s)),
        zh_merged: zs.iter().skip(1).filter_map(|s| id(z, s)).collect(),
        en_merged: es.iter().skip(1).filter_map(|s| id(e, s)).collect(),
        confidence: if one_sided { 0.0 } else { round3(sim) },
        evidence,
    }
}

/// A record pairing being built (indices into the two documents' records).
#[derive(Debug, Clone)]
struct Draft {
    zh: Vec<usize>,
    en: Vec<usize>,
    sim: f64,
    /// For a one-sided draft: how sure we are that there is no counterpart.
    conf: f64,
    /// For a one-sided draft: its whole section has no counterpart.
    in_missing_section: bool,
    section_sim: f64,
    moved: bool,
}

impl Draft {
    fn single(z: Option<usize>, e: Option<usize>, conf: f64, in_missing_section: bool) -> Draft {
        Draft {
            zh: z.into_iter().collect(),
            en: e.into_iter().collect(),
            sim: 0.0,
            conf,
            in_missing_section,
            section_sim: 0.0,
            moved: false,
        }
    }

    fn paired(&self) -> bool {
        !self.zh.is_empty() && !self.en.is_empty()
    }

    fn to_pair(&self, z: &Profile<'_>, e: &Profile<'_>) -> RecordPair {
        let zid: Vec<String> = self.zh.iter().map(|&i| z.doc.records[i].id.clone()).collect();
        let eid: Vec<String> = self.en.iter().map(|&j| e.doc.records[j].id.clone()).collect();
        let (confidence, evidence) = if self.paired() {
            let (s, ev) = record_sim(z, &self.zh, e, &self.en, false, true);
            let mut ev = ev;
            if self.moved {
                ev.push(Evidence { signal: "moved".into(), score: 1.0, detail: "paired out of order".into() });
            }
            let _ = s;
            (round3(self.sim * (0.5 + 0.5 * self.section_sim)), ev)
        } else if self.in_missing_section {
            let ev = vec![Evidence {
                signal: "section".into(),
                score: 1.0,
                detail: "its section has no counterpart".into(),
            }];
            (round3(self.conf), ev)
        } else {
            let ev = vec![Evidence {
                signal: "best_candidate".into(),
                score: round3(1.0 - self.conf),
                detail: "similarity of the closest record in the counterpart section".into(),
            }];
            (round3(self.conf), ev)
        };
        let first_and_all = |mut ids: Vec<String>| -> (Option<String>, Vec<String>) {
            if ids.len() > 1 {
                (ids.first().cloned(), ids)
            } else {
                (ids.pop(), Vec::new())
            }
        };
        let (zh, zh_all) = first_and_all(zid);
        let (en, en_all) = first_and_all(eid);
        RecordPair { zh, en, zh_all, en_all, confidence, evidence }
    }
}

fn compatible(a: Class, b: Class) -> Option<f64> {
    use Class::*;
    Some(match (a, b) {
        _ if a == b => 1.0,
        (StepHeading, Heading | Item) | (Heading | Item, StepHeading) => 0.9,
        (Item, Prose) | (Prose, Item) => 0.6,
        // One side may put in a table what the other lists item by item.
        (Item, TableRow) | (TableRow, Item) => 0.6,
        (Heading, Item) | (Item, Heading) | (Heading, Prose) | (Prose, Heading) => 0.3,
        (Other, _) | (_, Other) => 0.3,
        _ => return None,
    })
}

/// Similarity of records `zi` and `ei` (one or two on each side); `None`
/// when they cannot pair. With `evidence`, also says why.
fn record_sim(
    z: &Profile<'_>,
    zi: &[usize],
    e: &Profile<'_>,
    ei: &[usize],
    loose: bool,
    evidence: bool,
) -> (f64, Vec<Evidence>) {
    let mut ev = Vec::new();
    let (cz, ce) = (z.classes[zi[0]], e.classes[ei[0]]);
    let multi = zi.len() + ei.len() > 2;
    if multi
        && zi
            .iter()
            .map(|&i| z.classes[i])
            .chain(ei.iter().map(|&j| e.classes[j]))
            .any(|c| !matches!(c, Class::Item | Class::Prose))
    {
        return (0.0, ev);
    }
    let Some(kind_factor) = compatible(cz, ce) else {
        return (0.0, ev);
    };
    let (rz, re) = (&z.doc.records[zi[0]], &e.doc.records[ei[0]]);
    // The records are consecutive: their features are one slice.
    let fz = &z.feats[zi[0]..zi[zi.len() - 1] + 1];
    let fe = &e.feats[ei[0]..ei[ei.len() - 1] + 1];

    let mut m = Mix::new();
    let mut anchors = Mix::new();
    let push = |ev: &mut Vec<Evidence>, name: &str, s: f64, detail: &dyn Fn() -> String| {
        if evidence {
            ev.push(Evidence { signal: name.into(), score: round3(s), detail: detail() });
        }
    };
    let both_rows = cz == Class::TableRow && ce == Class::TableRow && !multi;
    if both_rows && !rz.cells.is_empty() && !re.cells.is_empty() {
        let (a, b) = (&z.cells[zi[0]], &e.cells[ei[0]]);
        let n = a.len().min(b.len());
        let mut total = 0.0;
        for k in 0..n {
            let mut c = Mix::new();
            c.add(1.0, length_prob(a[k].units, b[k].units));
            c.opt(3.0, number_sim(&a[k..k + 1], &b[k..k + 1]));
            c.opt(2.0, concept_sim(&a[k].concepts, &b[k].concepts));
            total += c.mean();
        }
        let s = total / a.len().max(b.len()) as f64;
        m.add(6.0, s);
        push(&mut ev, "cells", s, &|| format!("{} vs {} cells, compared column by column", a.len(), b.len()));
    } else if cz == Class::Image && ce == Class::Image && !multi {
        let same = !fz[0].images.is_empty() && fz[0].images == fe[0].images;
        let s = if same { 1.0 } else { 0.6 };
        m.add(2.0, s);
        if same {
            anchors.add(2.0, 1.0);
        }
        push(&mut ev, "image", s, &|| if same { "same image".into() } else { "image in the same place".into() });
    } else {
        let (uz, ue) = (units_of(fz, |f| f.units), units_of(fe, |f| f.units));
        let s = length_prob(uz, ue);
        m.add(2.0, s);
        push(&mut ev, "length", s, &|| units_detail(uz, ue));
    }
    if let Some(s) = m.opt(3.0, number_sim(fz, fe)) {
        anchors.add(3.0, s);
        push(&mut ev, "numbers", s, &String::new);
    }
    if let Some(s) = m.opt(2.0, url_sim_merged(merged_of(fz, |f| &f.urls), merged_of(fe, |f| &f.urls))) {
        anchors.add(2.0, s);
        push(&mut ev, "urls", s, &String::new);
    }
    if let Some(s) = m.opt(2.0, concept_sim_merged(merged_of(fz, |f| &f.concepts), merged_of(fe, |f| &f.concepts))) {
        anchors.add(2.0, s);
        push(&mut ev, "lexicon", s, &String::new);
    }
    if !multi {
        if let (Some(a), Some(b)) = (rz.number, re.number) {
            let s = if a == b { 1.0 } else { 0.0 };
            m.add(0.5, s);
            push(&mut ev, "ordinal", s, &|| {
                format!("{} vs {}", rz.ordinal.as_deref().unwrap_or(""), re.ordinal.as_deref().unwrap_or(""))
            });
        }
        if rz.kind == RecordKind::Code && re.kind == RecordKind::Code && rz.text.trim() == re.text.trim() {
            m.add(4.0, 1.0);
            anchors.add(4.0, 1.0);
            push(&mut ev, "code", 1.0, &|| "identical code".into());
        }
    }
    let mut sim = m.mean() * kind_factor;
    if kind_factor < 1.0 {
        push(&mut ev, "kind", kind_factor, &|| format!("{} vs {}", rz.kind, re.kind));
    }
    if loose && (anchors.w == 0.0 || anchors.mean() < LOOSE_ANCHOR_MIN) {
        // Loose counterparts: position and length prove nothing.
        sim *= 0.25;
    }
    (sim, ev)
}

fn align_records(
    z: &Profile<'_>,
    zr: std::ops::Range<usize>,
    e: &Profile<'_>,
    er: std::ops::Range<usize>,
    loose: bool,
    section_sim: f64,
    drafts: &mut Vec<Draft>,
) {
    let zi: Vec<usize> = zr.collect();
    let ei: Vec<usize> = er.collect();
    let (n, m) = (zi.len(), ei.len());
    let band = if n * m > BAND_CELLS { Some(50usize.max(n.abs_diff(m) + 20)) } else { None };
    let mut best_z = vec![0.0f64; n];
    let mut best_e = vec![0.0f64; m];
    let beads: Vec<Bead> = dp::align_with(n, m, |i, ni, j, nj| {
        if ni == 0 || nj == 0 {
            return (RECORD_SKIP, 0.0);
        }
        if let Some(w) = band {
            let diag = i * m / n.max(1);
            if diag.abs_diff(j) > w {
                return (f64::INFINITY, 0.0);
            }
        }
        let (s, _) = record_sim(z, &zi[i..i + ni], e, &ei[j..j + nj], loose, false);
        if ni == 1 && nj == 1 {
            best_z[i] = best_z[i].max(s);
            best_e[j] = best_e[j].max(s);
        }
        if s <= 0.0 {
            return (f64::INFINITY, 0.0);
        }
        (sim_cost(s) + if ni + nj > 2 { RECORD_MERGE } else { 0.0 }, s)
    });
    for b in beads {
        if b.na == 0 {
            drafts.push(Draft::single(None, Some(ei[b.b]), 1.0 - best_e[b.b], false));
        } else if b.nb == 0 {
            drafts.push(Draft::single(Some(zi[b.a]), None, 1.0 - best_z[b.a], false));
        } else {
            drafts.push(Draft {
                zh: zi[b.a..b.a + b.na].to_vec(),
                en: ei[b.b..b.b + b.nb].to_vec(),
                sim: b.sim,
                conf: 0.0,
                in_missing_section: false,
                section_sim,
                moved: false,
            });
        }
    }
}

/// Pairs records the monotone pass left without counterpart when their
/// content clearly agrees (rows or items that moved), best pairs first.
fn repair(z: &Profile<'_>, e: &Profile<'_>, loose: bool, drafts: &mut Vec<Draft>) {
    let uz: Vec<usize> = (0..drafts.len()).filter(|&k| drafts[k].en.is_empty() && drafts[k].zh.len() == 1).collect();
    let ue: Vec<usize> = (0..drafts.len()).filter(|&k| drafts[k].zh.is_empty() && drafts[k].en.len() == 1).collect();
    if uz.is_empty() || ue.is_empty() || uz.len() * ue.len() > BAND_CELLS {
        return;
    }
    let mut cands = Vec::new();
    for &a in &uz {
        for &b in &ue {
            let (i, j) = (drafts[a].zh[0], drafts[b].en[0]);
            if compatible(z.classes[i], e.classes[j]).is_none_or(|f| f < 0.9) {
                continue;
            }
            let (s, _) = record_sim(z, &[i], e, &[j], loose, false);
            // Moving needs anchors: two records merely alike in length are not enough.
            if s >= REPAIR_MIN && (z.feats[i].has_anchors() || !z.feats[i].images.is_empty()) {
                cands.push((s, a, b));
            }
        }
    }
    cands.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut used = vec![false; drafts.len()];
    let mut remove = Vec::new();
    for (s, a, b) in cands {
        if used[a] || used[b] {
            continue;
        }
        used[a] = true;
        used[b] = true;
        let j = drafts[b].en[0];
        let d = &mut drafts[a];
        d.en = vec![j];
        d.sim = s;
        d.section_sim = d.section_sim.max(0.5);
        d.moved = true;
        d.in_missing_section = false;
        remove.push(b);
    }
    remove.sort_unstable();
    for b in remove.into_iter().rev() {
        drafts.remove(b);
    }
}

fn drift(z: &Profile<'_>, e: &Profile<'_>, loose: bool, drafts: &[Draft], out: &mut Vec<Drift>) {
    let mk = |kind: &str, zh: Option<&Record>, en: Option<&Record>, detail: String| Drift {
        kind: kind.into(),
        zh_doc: z.doc.id.clone(),
        en_doc: e.doc.id.clone(),
        zh: zh.map(|r| r.id.clone()),
        en: en.map(|r| r.id.clone()),
        detail,
    };
    for d in drafts {
        if !d.paired() {
            if loose || d.in_missing_section {
                continue;
            }
            let (r, side, other) = match (d.zh.first(), d.en.first()) {
                (Some(&i), _) => (&z.doc.records[i], "zh", "en"),
                (_, Some(&j)) => (&e.doc.records[j], "en", "zh"),
                _ => continue,
            };
            let class = if side == "zh" { z.classes[d.zh[0]] } else { e.classes[d.en[0]] };
            if matches!(class, Class::Item | Class::StepHeading | Class::TableRow | Class::Prose | Class::Heading) {
                let (zr, er) = if side == "zh" { (Some(r), None) } else { (None, Some(r)) };
                out.push(mk(
                    "missing_counterpart",
                    zr,
                    er,
                    format!("{} on the {side} side ({}) has no counterpart in {other}", r.kind, r.location()),
                ));
            }
            continue;
        }
        let rz = &z.doc.records[d.zh[0]];
        let re = &e.doc.records[d.en[0]];
        let fz = &z.feats[d.zh[0]..d.zh[d.zh.len() - 1] + 1];
        let fe = &e.feats[d.en[0]..d.en[d.en.len() - 1] + 1];
        let (_, oz, oe) = match_numbers(fz, fe);
        if !oz.is_empty() || !oe.is_empty() {
            let list =
                |v: &[&crate::features::Num]| v.iter().map(|n| n.written.as_str()).collect::<Vec<_>>().join(", ");
            let mut parts = Vec::new();
            if !oz.is_empty() {
                parts.push(format!("only in zh: {}", list(&oz)));
            }
            if !oe.is_empty() {
                parts.push(format!("only in en: {}", list(&oe)));
            }
            out.push(mk("number_mismatch", Some(rz), Some(re), parts.join("; ")));
        }
        if d.zh.len() == 1 && d.en.len() == 1 {
            if let (Some(a), Some(b)) = (rz.number, re.number) {
                if a != b {
                    out.push(mk(
                        "numbering",
                        Some(rz),
                        Some(re),
                        format!(
                            "zh numbers it {} but en numbers it {}",
                            rz.ordinal.as_deref().unwrap_or(&a.to_string()).trim(),
                            re.ordinal.as_deref().unwrap_or(&b.to_string()).trim()
                        ),
                    ));
                }
            }
        }
        let mut uz: Vec<&String> = merged_of(fz, |f| &f.urls).iter().collect();
        let mut ue: Vec<&String> = merged_of(fe, |f| &f.urls).iter().collect();
        uz.dedup();
        ue.dedup();
        if uz != ue {
            let only_z: Vec<&String> = uz.iter().copied().filter(|u| !ue.contains(u)).collect();
            let only_e: Vec<&String> = ue.iter().copied().filter(|u| !uz.contains(u)).collect();
            let mut parts = Vec::new();
            if !only_z.is_empty() {
                parts.push(format!("zh links to {}", only_z.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            if !only_e.is_empty() {
                parts.push(format!("en links to {}", only_e.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
            }
            out.push(mk("link_target", Some(rz), Some(re), parts.join("; ")));
        }
    }
}

/// `"12 vs 15 units"`: what `format!("{:.0} vs {:.0} units")` writes (ties
/// to even, as float formatting rounds), without float formatting's slow
/// exact path (half a million calls on a large corpus).
fn units_detail(z: f64, e: f64) -> String {
    let whole = |x: f64| {
        if x.is_finite() && x.abs() < 1e15 {
            (x.round_ties_even() as i64).to_string()
        } else {
            format!("{x:.0}")
        }
    };
    format!("{} vs {} units", whole(z), whole(e))
}

#[cfg(test)]
mod units_detail_tests {
    #[test]
    fn units_detail_writes_what_float_formatting_writes() {
        for x in [0.0, 0.4, 0.5, 1.5, 2.5, 3.49, 12.75, 1234.5, 1e14 + 0.5] {
            assert_eq!(super::units_detail(x, x + 1.0), format!("{:.0} vs {:.0} units", x, x + 1.0), "{x}");
        }
    }
}
