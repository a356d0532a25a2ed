//! The controlled vocabulary of rule subjects (`data/subjects.toml`): which
//! phrases name which subject in Chinese and English, its unit, its kinds
//! (qualifiers) and, for enumerations, its values.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kb_model::Lang;
use serde::Deserialize;

/// The vocabulary shipped with kb (compiled in).
pub const SUBJECTS_TOML: &str = include_str!("../data/subjects.toml");

/// Phrases in both languages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrases {
    /// Chinese phrases.
    #[serde(default)]
    pub zh: Vec<String>,
    /// English phrases (matched case-insensitively).
    #[serde(default)]
    pub en: Vec<String>,
}

impl Phrases {
    /// The phrases of one language.
    pub fn of(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
    /// Both languages' phrases.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.zh.iter().chain(self.en.iter())
    }
}

/// A kind of a subject (`automation` certified engineers) or a value of an
/// enumerated subject (`enterprise`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// Its id.
    pub id: String,
    /// Chinese phrases.
    #[serde(default)]
    pub zh: Vec<String>,
    /// English phrases.
    #[serde(default)]
    pub en: Vec<String>,
}

impl Named {
    /// The phrases of both languages.
    pub fn phrases(&self) -> impl Iterator<Item = &String> {
        self.zh.iter().chain(self.en.iter())
    }
}

/// What a subject's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// A number with a unit.
    Quantitative,
    /// Yes or no.
    Boolean,
    /// One of a fixed set of names.
    Enum,
}

impl SubjectKind {
    /// The rule `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Quantitative => kb_model::rules::Rule::QUANTITATIVE,
            SubjectKind::Boolean => kb_model::rules::Rule::BOOLEAN,
            SubjectKind::Enum => kb_model::rules::Rule::ENUM,
        }
    }
}

/// One subject of the vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The id (`registered_capital`).
    pub id: String,
    /// The canonical unit (`CNY`, `people`, `bool`, `enum`, …).
    pub unit: String,
    /// What its value is.
    pub kind: SubjectKind,
    /// Chinese phrases naming it.
    #[serde(default)]
    pub zh: Vec<String>,
    /// English phrases naming it.
    #[serde(default)]
    pub en: Vec<String>,
    /// A number in this subject's unit names it even without a phrase.
    #[serde(default)]
    pub implied_by_unit: bool,
    /// `7 * 8小时` products are read as days × hours.
    #[serde(default)]
    pub coverage: bool,
    /// Kinds of the subject kept apart.
    #[serde(default)]
    pub qualifier: Vec<Named>,
    /// Values of an enumerated subject.
    #[serde(default)]
    pub value: Vec<Named>,
}

impl Subject {
    /// The phrases of one language.
    pub fn phrases(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Words of a table cell that give a boolean its value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BooleanWords {
    /// Words meaning yes.
    pub yes: Phrases,
    /// Words meaning no.
    pub no: Phrases,
}

/// The whole vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// Units whose subjects may take a number written without a unit.
    pub bare_number_units: Vec<String>,
    /// Units counted in whole things (the `count` words fit them).
    pub counted_units: Vec<String>,
    /// Unit words by canonical unit.
    pub units: BTreeMap<String, Phrases>,
    /// The subjects.
    pub subject: Vec<Subject>,
    /// Yes/no words.
    pub boolean: BooleanWords,
    /// Cell texts that state no threshold.
    pub no_minimum: Phrases,
    /// Words that make a clause a preference.
    pub preference: Phrases,
    /// Words of headings over qualification tables.
    pub qualification_heading: Phrases,
    /// (unit word, canonical unit), longest word first (derived from `units`).
    #[serde(skip)]
    pub unit_words: Vec<(String, String)>,
}

impl Vocabulary {
    /// Parses a vocabulary from TOML text, checking that units and ids are consistent.
    pub fn from_toml(text: &str) -> Result<Vocabulary, String> {
        let mut v: Vocabulary = toml::from_str(text).map_err(|e| e.to_string())?;
        v.unit_words = v.units.iter().flat_map(|(unit, p)| p.all().map(move |w| (w.clone(), unit.clone()))).collect();
        v.unit_words.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        for u in v.bare_number_units.iter().chain(&v.counted_units) {
            if !v.units.contains_key(u) {
                return Err(format!("unit {u:?} is listed but [units] does not define it"));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &v.subject {
            if !seen.insert(s.id.as_str()) {
                return Err(format!("subject {:?} is defined twice", s.id));
            }
            let known_unit = v.units.contains_key(&s.unit) || s.unit == "bool" || s.unit == "enum";
            if !known_unit {
                return Err(format!("subject {:?} has unit {:?}, which [units] does not define", s.id, s.unit));
            }
            if (s.kind == SubjectKind::Enum) == s.value.is_empty() {
                return Err(format!("subject {:?}: an enum subject (and only one) lists values", s.id));
            }
        }
        Ok(v)
    }

    /// The shipped vocabulary.
    pub fn builtin() -> &'static Vocabulary {
        static V: OnceLock<Vocabulary> = OnceLock::new();
        V.get_or_init(|| {
            Vocabulary::from_toml(SUBJECTS_TOML).unwrap_or_else(|e| panic!("data/subjects.toml is invalid: {e}"))
        })
    }

    /// Whether a quantity written in unit `mention` (`None`: no unit word)
    /// can be a value of a subject in unit `subject`.
    pub fn unit_fits(&self, mention: Option<&str>, subject: &str) -> bool {
        let has = |list: &[String], u: &str| list.iter().any(|x| x == u);
        match mention {
            None => has(&self.bare_number_units, subject),
            Some(u) if u == subject => true,
            Some("count") => has(&self.counted_units, subject),
            Some("people") => subject == "users",
            _ => false,
        }
    }

    /// A subject by id.
    pub fn subject(&self, id: &str) -> Option<&Subject> {
        self.subject.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_vocabulary_parses_and_names_the_required_subjects() {
        let v = Vocabulary::builtin();
        for id in [
            "registered_capital",
            "headcount",
            "team_size",
            "operations_staff",
            "certified_engineers",
            "company_age",
            "industry_experience",
            "support_hours_weekly",
            "registered_users",
            "customer_cases",
            "service_fee",
            "review_time",
            "entity_type",
        ] {
            let s = v.subject(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(!s.zh.is_empty() && !s.en.is_empty(), "{id} needs phrases in both languages");
        }
    }

    #[test]
    fn a_subject_with_an_undefined_unit_is_refused() {
        let bad = SUBJECTS_TOML.replace("unit = \"CNY\"", "unit = \"EUR\"");
        let err = Vocabulary::from_toml(&bad).unwrap_err();
        assert!(err.contains("EUR"), "{err}");
    }
}
