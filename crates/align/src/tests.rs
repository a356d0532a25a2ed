//! Alignment of synthetic translations whose truth is known: the record ids
//! of a zh record and of its English translation end alike.

use kb_model::alignment::{Alignment, RecordPair};
use kb_model::manifest::{DocPairing, Manifest};

use crate::synth::{self, truth, Edits, Shape};
use crate::{align, align_with_stats, check_manifest};

fn one_pair(edits: &Edits) -> Alignment {
    let (zh, en) = synth::pair(1, &Shape::default(), edits, 42);
    align(&[zh, en], &Manifest::default())
}

fn pair_of<'a>(a: &'a Alignment, zh_tag: &str) -> &'a RecordPair {
    a.records
        .iter()
        .find(|p| p.zh.as_deref().is_some_and(|z| truth(z) == zh_tag))
        .unwrap_or_else(|| panic!("no pairing for {zh_tag}"))
}

/// Every paired record is paired with its true counterpart.
fn assert_all_true(a: &Alignment) {
    for p in &a.records {
        if let (Some(z), Some(e)) = (&p.zh, &p.en) {
            let et = truth(e);
            assert!(et == truth(z) || et.strip_suffix('a') == Some(truth(z)), "{z} paired with {e} ({:?})", p.evidence);
        }
    }
}

#[test]
fn an_untouched_translation_pairs_every_record_with_its_counterpart() {
    let a = one_pair(&Edits::default());
    assert_eq!(a.documents.len(), 1);
    assert!(a.documents[0].confidence >= 0.8, "{:?}", a.documents[0]);
    assert!(a.unpaired_documents.is_empty());
    assert_all_true(&a);
    let unpaired: Vec<_> = a.records.iter().filter(|p| p.zh.is_none() || p.en.is_none()).collect();
    assert!(unpaired.is_empty(), "{unpaired:?}");
    assert!(a.drift.is_empty(), "{:?}", a.drift);
}

#[test]
fn a_deleted_section_is_left_unpaired_and_the_rest_still_pairs_truly() {
    let a = one_pair(&Edits { delete_section: Some(2), ..Edits::default() });
    assert_all_true(&a);
    let sec = a.sections.iter().find(|s| s.zh_id.as_deref().is_some_and(|z| truth(z) == "gen-1#s2")).unwrap();
    assert!(sec.en.is_none(), "{sec:?}");
    for tag in ["gen-1#s2.p", "gen-1#s2.i0", "gen-1#s2.r1"] {
        assert!(pair_of(&a, tag).en.is_none(), "{tag}");
    }
    for tag in ["gen-1#s1.i3", "gen-1#s3.p", "gen-1#s3.r0", "gen-1#s4.i2"] {
        assert!(pair_of(&a, tag).en.is_some(), "{tag} lost its counterpart");
    }
    assert!(a
        .drift
        .iter()
        .any(|d| d.kind == "missing_section" && d.zh.as_deref().is_some_and(|z| truth(z) == "gen-1#s2")));
}

#[test]
fn a_list_item_split_in_two_pairs_one_to_two() {
    let a = one_pair(&Edits { split_item: Some((1, 2)), ..Edits::default() });
    assert_all_true(&a);
    let p = pair_of(&a, "gen-1#s1.i2");
    let all: Vec<&str> = p.en_all.iter().map(|s| truth(s)).collect();
    assert_eq!(all, ["gen-1#s1.i2a", "gen-1#s1.i2b"], "{p:?}");
    // counterpart() finds the zh item from either half.
    assert_eq!(a.counterpart(&p.en_all[1]).map(|c| c.0), p.zh.as_deref());
    assert_eq!(a.counterpart_map().get(p.en_all[1].as_str()).map(|c| c.0), p.zh.as_deref());
}

#[test]
fn two_swapped_table_rows_pair_with_their_true_rows() {
    let a = one_pair(&Edits { swap_rows: Some((3, 1)), ..Edits::default() });
    assert_all_true(&a);
    for r in 0..4 {
        let p = pair_of(&a, &format!("gen-1#s3.r{r}"));
        assert!(p.en.is_some(), "row {r} unpaired");
    }
}

#[test]
fn unrelated_documents_stay_unpaired() {
    let (zh, _) = synth::pair(1, &Shape::default(), &Edits::default(), 1);
    let (_, en) = synth::pair(2, &Shape { sections: 3, items: 2, rows: 0 }, &Edits::default(), 99);
    let a = align(&[zh, en], &Manifest::default());
    assert!(a.documents.iter().all(|d| d.confidence < 0.6), "{:?}", a.documents);
}

#[test]
fn a_large_corpus_is_blocked_not_compared_in_full_and_pairs_correctly() {
    let shape = Shape { sections: 3, items: 3, rows: 2 };
    let docs = synth::corpus(40, 5, &shape, 7);
    let out = align_with_stats(&docs, &Manifest::default());
    assert!(out.stats.scored_pairs < 45 * 40 / 2, "scored {}", out.stats.scored_pairs);
    assert_eq!(out.alignment.documents.len(), 40);
    for d in &out.alignment.documents {
        assert_eq!(truth(&d.zh), truth(&d.en));
    }
    assert_eq!(out.alignment.unpaired_documents.len(), 5);
}

#[test]
fn output_is_deterministic() {
    let docs = synth::corpus(6, 1, &Shape::default(), 3);
    let a = align(&docs, &Manifest::default());
    let mut rev = docs.clone();
    rev.reverse();
    let b = align(&rev, &Manifest::default());
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
}

#[test]
fn the_manifest_forces_and_forbids_pairings() {
    let (z1, e1) = synth::pair(1, &Shape::default(), &Edits::default(), 5);
    let (z2, e2) = synth::pair(2, &Shape::default(), &Edits::default(), 6);
    let docs = vec![z1, e1, z2, e2];
    let m = Manifest {
        pair: vec![DocPairing { zh: "zh/gen-1".into(), en: "en/gen-2".into() }],
        forbid: vec![DocPairing { zh: "zh/gen-2".into(), en: "en/gen-1".into() }],
        ..Manifest::default()
    };
    check_manifest(&docs, &m).unwrap();
    let a = align(&docs, &m);
    assert_eq!(a.documents.len(), 1, "{:?}", a.documents);
    assert_eq!((a.documents[0].zh.as_str(), a.documents[0].en.as_str()), ("zh/gen-1", "en/gen-2"));
    assert_eq!(a.documents[0].evidence[0].signal, "manifest");
    // Forcing does not fake confidence: it is the score the evidence gives.
    let lex = crate::lexicon::Lexicon::shipped();
    let (pz, pe) = (crate::profile::Profile::new(&docs[0], lex), crate::profile::Profile::new(&docs[3], lex));
    assert_eq!(a.documents[0].confidence, crate::docs::score(&pz.summary(lex), &pe.summary(lex)).0);
    assert_eq!(a.unpaired_documents, ["en/gen-1", "zh/gen-2"]);
}

#[test]
fn manifest_errors_name_the_document() {
    let (z1, e1) = synth::pair(1, &Shape::default(), &Edits::default(), 5);
    let docs = vec![z1, e1];
    let m = Manifest { pair: vec![DocPairing { zh: "zh/gen-9".into(), en: "en/gen-1".into() }], ..Manifest::default() };
    let err = check_manifest(&docs, &m).unwrap_err().to_string();
    assert!(err.contains("zh/gen-9") && err.contains("[[pair]]"), "{err}");
    let m =
        Manifest { forbid: vec![DocPairing { zh: "en/gen-1".into(), en: "zh/gen-1".into() }], ..Manifest::default() };
    let err = check_manifest(&docs, &m).unwrap_err().to_string();
    assert!(err.contains("en/gen-1") && err.contains("[[forbid]]"), "{err}");
}

#[test]
fn a_loose_pair_pairs_records_only_on_shared_content() {
    let (zh, _) = synth::pair(1, &Shape::default(), &Edits::default(), 5);
    let (_, en) = synth::pair(2, &Shape { sections: 4, items: 3, rows: 3 }, &Edits::default(), 77);
    let m = Manifest { pair: vec![DocPairing { zh: zh.id.clone(), en: en.id.clone() }], ..Manifest::default() };
    let a = align(&[zh, en], &m);
    assert!(a.documents[0].confidence < crate::docs::TRANSLATION, "{:?}", a.documents[0]);
    let two_sided: Vec<&RecordPair> = a.records.iter().filter(|p| p.zh.is_some() && p.en.is_some()).collect();
    let total = a.records.len();
    assert!(two_sided.len() * 3 < total, "{} of {total} pairings two-sided", two_sided.len());
    for p in two_sided {
        let anchored = p
            .evidence
            .iter()
            .any(|e| ["numbers", "urls", "lexicon", "cells", "image"].contains(&e.signal.as_str()) && e.score >= 0.5);
        assert!(anchored, "{p:?}");
    }
    // No missing-counterpart noise for documents that are not translations.
    assert!(a.drift.iter().all(|d| d.kind != "missing_counterpart" && d.kind != "missing_section"));
}
