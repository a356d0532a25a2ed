//! The optional corpus manifest, `kb.toml` at the top of the corpus folder.
//!
//! ```toml
//! # force a document's language
//! [documents."zh/legacy-page.md"]
//! lang = "en"
//!
//! # force or forbid a zh/en pairing (document ids: path without extension)
//! [[pair]]
//! zh = "zh/tencent-cloud-partner-application"
//! en = "en/tencent-cloud-intl-reseller-registration"
//!
//! [[forbid]]
//! zh = "zh/a"
//! en = "en/b"
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Lang;

/// The parsed `kb.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Per-document settings, keyed by path relative to the corpus (or document id).
    #[serde(default)]
    pub documents: BTreeMap<String, DocumentSettings>,
    /// Pairings to force.
    #[serde(default)]
    pub pair: Vec<DocPairing>,
    /// Pairings to forbid.
    #[serde(default)]
    pub forbid: Vec<DocPairing>,
}

/// Settings for one document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    /// Override the detected language.
    #[serde(default)]
    pub lang: Option<Lang>,
}

/// A zh/en document pairing named in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocPairing {
    /// The Chinese document id.
    pub zh: String,
    /// The English document id.
    pub en: String,
}

impl Manifest {
    /// The language forced for a document, looked up by path or by id.
    pub fn lang_for(&self, path: &str, id: &str) -> Option<Lang> {
        self.documents.get(path).or_else(|| self.documents.get(id)).and_then(|s| s.lang)
    }
}
