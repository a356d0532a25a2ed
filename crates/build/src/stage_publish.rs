//! The publish stage: renders the static bilingual FAQ site into the
//! staging folder's `site/` from the documents and whatever alignment and
//! rules the earlier stages left (either may be absent).

use crate::{BuildContext, Error, Result, Stage};

/// Runs [`kb_publish::render_site_incremental`] into `site/` (reusing the
/// previous build's unchanged document pages in an incremental build), with the options from
/// the environment (`KB_SITE_URL`, `KB_TEMPLATES`).
pub struct PublishStage;

impl Stage for PublishStage {
    fn name(&self) -> &'static str {
        "publish"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let out = cx.staged("site");
        let opts = kb_publish::SiteOptions::from_env();
        let prev_site = cx.previous.as_ref().map(|p| p.out.join("site"));
        let reuse = match (&cx.previous, &prev_site) {
            (Some(p), Some(site)) => Some(kb_publish::PageReuse { site, keys: &p.cache.pages }),
            _ => None,
        };
        let (stats, reused, keys) = kb_publish::render_site_incremental(
            &out,
            &cx.documents,
            cx.alignment.as_ref(),
            cx.rules.as_ref(),
            &opts,
            reuse.as_ref(),
        )
        .map_err(|e| Error::Stage { stage: "publish", source: Box::new(e) })?;
        cx.cache.pages = keys;
        let mut summary = stats.summary();
        if reuse.is_some() {
            summary.push_str(&format!(" ({} document pages rendered, {reused} reused)", stats.documents - reused));
        }
        if cx.alignment.is_none() {
            summary.push_str(" (no alignment: no counterpart links)");
        }
        if cx.rules.is_none() {
            summary.push_str(" (no rules: none shown)");
        }
        Ok(summary)
    }
}
