//! The publish stage: renders the static bilingual FAQ site into the
//! staging folder's `site/` from the documents and whatever alignment and
//! rules the earlier stages left (either may be absent).

use crate::{BuildContext, Error, Result, Stage};

/// Runs [`kb_publish::render_site_with`] into `site/`, with the options from
/// the environment (`KB_SITE_URL`, `KB_TEMPLATES`).
pub struct PublishStage;

impl Stage for PublishStage {
    fn name(&self) -> &'static str {
        "publish"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let out = cx.staged("site");
        let opts = kb_publish::SiteOptions::from_env();
        let stats = kb_publish::render_site_with(
            &out,
            &cx.documents,
            cx.alignment.as_ref(),
            cx.rules.as_ref(),
            &opts,
        )
        .map_err(|e| Error::Stage {
            stage: "publish",
            source: Box::new(e),
        })?;
        let mut summary = stats.summary();
        if cx.alignment.is_none() {
            summary.push_str(" (no alignment: no counterpart links)");
        }
        if cx.rules.is_none() {
            summary.push_str(" (no rules: none shown)");
        }
        Ok(summary)
    }
}
