//! zh ↔ en alignment: document, section and record pairings with confidence
//! and evidence, plus the drift report (`out/alignment.json`, written by
//! `kb-align`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One piece of evidence behind a pairing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// The signal (`numbers`, `urls`, `path`, `length_ratio`, `lexicon`, …).
    pub signal: String,
    /// Its score in [0, 1].
    pub score: f64,
    /// What was seen, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A paired zh/en document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentPair {
    /// Chinese document id.
    pub zh: String,
    /// English document id.
    pub en: String,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Why.
    pub evidence: Vec<Evidence>,
}

/// A paired section (heading record ids; `null` for a section with no counterpart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SectionPair {
    /// Chinese document id.
    pub zh_doc: String,
    /// English document id.
    pub en_doc: String,
    /// Chinese section heading path.
    pub zh: Option<Vec<String>>,
    /// English section heading path.
    pub en: Option<Vec<String>>,
    /// Chinese heading record id (absent for the part before the first heading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh_id: Option<String>,
    /// English heading record id (absent for the part before the first heading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en_id: Option<String>,
    /// Heading record ids of further Chinese sections merged into this pairing (2–1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zh_merged: Vec<String>,
    /// Heading record ids of further English sections merged into this pairing (1–2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub en_merged: Vec<String>,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Why.
    pub evidence: Vec<Evidence>,
}

/// A record pairing; one side is `null` when the record has no counterpart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordPair {
    /// Chinese record id(s) side: first id (see `zh_all` for 2–1 merges).
    pub zh: Option<String>,
    /// English record id.
    pub en: Option<String>,
    /// All Chinese record ids when several align to one (2–1), else empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zh_all: Vec<String>,
    /// All English record ids when several align to one (1–2), else empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub en_all: Vec<String>,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// Why.
    pub evidence: Vec<Evidence>,
}

/// One substantive difference between aligned zh and en content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Drift {
    /// `number_mismatch`, `missing_counterpart`, `numbering`, `link_target`, `missing_section`.
    pub kind: String,
    /// The Chinese document of the pair.
    #[serde(default)]
    pub zh_doc: String,
    /// The English document of the pair.
    #[serde(default)]
    pub en_doc: String,
    /// Chinese record id, if any.
    pub zh: Option<String>,
    /// English record id, if any.
    pub en: Option<String>,
    /// What differs, for people.
    pub detail: String,
}

/// The whole alignment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alignment {
    /// Paired documents.
    pub documents: Vec<DocumentPair>,
    /// Aligned sections.
    pub sections: Vec<SectionPair>,
    /// Aligned records.
    pub records: Vec<RecordPair>,
    /// Documents with no counterpart.
    pub unpaired_documents: Vec<String>,
    /// Differences in substance between aligned pairs.
    pub drift: Vec<Drift>,
}

impl Alignment {
    /// The counterpart record id of `id` (either language), with the pairing's confidence.
    pub fn counterpart(&self, id: &str) -> Option<(&str, f64)> {
        self.records.iter().find_map(|p| match (&p.zh, &p.en) {
            (Some(z), Some(e)) if z == id || p.zh_all.iter().any(|x| x == id) => Some((e.as_str(), p.confidence)),
            (Some(z), Some(e)) if e == id || p.en_all.iter().any(|x| x == id) => Some((z.as_str(), p.confidence)),
            _ => None,
        })
    }
    /// Every record id (either language, including the extra ids of 1–2 and
    /// 2–1 pairings) mapped to its counterpart and the pairing's confidence,
    /// for callers that look up many records ([`Alignment::counterpart`] is a
    /// linear scan). Agrees with [`Alignment::counterpart`] on every id.
    pub fn counterpart_map(&self) -> std::collections::HashMap<&str, (&str, f64)> {
        let mut map = std::collections::HashMap::new();
        for p in &self.records {
            let (Some(z), Some(e)) = (&p.zh, &p.en) else {
                continue;
            };
            for id in std::iter::once(z).chain(p.zh_all.iter()) {
                map.entry(id.as_str()).or_insert((e.as_str(), p.confidence));
            }
            for id in std::iter::once(e).chain(p.en_all.iter()) {
                map.entry(id.as_str()).or_insert((z.as_str(), p.confidence));
            }
        }
        map
    }
    /// The counterpart document id of `doc`, if paired.
    pub fn counterpart_doc(&self, doc: &str) -> Option<&DocumentPair> {
        self.documents.iter().find(|p| p.zh == doc || p.en == doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(zh: &[&str], en: &[&str], confidence: f64) -> RecordPair {
        let all = |v: &[&str]| {
            if v.len() > 1 {
                v.iter().map(|s| s.to_string()).collect()
            } else {
                Vec::new()
            }
        };
        RecordPair {
            zh: zh.first().map(|s| s.to_string()),
            en: en.first().map(|s| s.to_string()),
            zh_all: all(zh),
            en_all: all(en),
            confidence,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn counterparts_are_found_from_every_id_of_a_merged_pairing() {
        let a = Alignment {
            records: vec![
                pair(&["z1"], &["e1"], 0.9),
                pair(&["z2"], &["e2a", "e2b"], 0.8),
                pair(&["z3a", "z3b"], &["e3"], 0.7),
                pair(&["z4"], &[], 0.6),
                pair(&[], &["e5"], 0.6),
            ],
            ..Alignment::default()
        };
        assert_eq!(a.counterpart("z1"), Some(("e1", 0.9)));
        assert_eq!(a.counterpart("e2b"), Some(("z2", 0.8)));
        assert_eq!(a.counterpart("z2"), Some(("e2a", 0.8)));
        assert_eq!(a.counterpart("z3b"), Some(("e3", 0.7)));
        assert_eq!(a.counterpart("z4"), None);
        assert_eq!(a.counterpart("e5"), None);
        let map = a.counterpart_map();
        for id in ["z1", "e1", "z2", "e2a", "e2b", "z3a", "z3b", "e3", "z4", "e5", "nope"] {
            assert_eq!(map.get(id).copied(), a.counterpart(id), "{id}");
        }
    }
}
