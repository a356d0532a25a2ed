//! The publish stage: renders the static bilingual FAQ site into the
//! staging folder's `site/` from the documents and whatever alignment and
//! rules the earlier stages left (either may be absent).

use crate::{BuildContext, Error, Result, Stage};

/// Where the publish stage keeps its incremental state (the keys of FAQ and
/// listing pages and search blocks), relative to the output folder.
pub const STATE_FILE: &str = "cache/publish.json";

/// Runs [`kb_publish::publish`] into `site/` with the options from the
/// environment (`KB_SITE_URL`, `KB_TEMPLATES`). In an incremental build every
/// file of the previous `site/` whose inputs did not change is hard-linked
/// instead of rendered: document pages by the build cache's `pages` keys,
/// FAQ and listing pages and search blocks by the keys in
/// [`STATE_FILE`] (a missing or unreadable state file just means rendering).
/// Page keys take each document's rules by the rules stage's digest
/// ([`BuildContext::rule_digests`]) rather than hashing every rule.
/// The alignment in the context holds the record pairings but not the
/// section pairings (the align stage leaves those in `alignment.json`
/// only), so the language switch's landing places (`data-cp`, see
/// [`kb_publish::counterparts`]) come from the heading records' pairings,
/// which on the corpora measured agree with the section pairings (all
/// 102,948 two-sided sections of the generated 20k corpus, 97 % of the
/// real ones; the rest have an unpaired heading record and fall back to
/// the section before).
/// In every build, a rendered file with the same bytes as its namesake in
/// the replaced output's `site/` is hard-linked to it instead of written.
/// It only reads the context, so it runs beside the index stage
/// ([`Stage::is_shared`]); its page keys go into the context when both are done.
pub struct PublishStage;

impl Stage for PublishStage {
    fn name(&self) -> &'static str {
        "publish"
    }

    fn run(&self, cx: &mut BuildContext) -> Result<String> {
        let (summary, finish) = self.run_shared(cx)?;
        finish(cx);
        Ok(summary)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn run_shared(&self, cx: &BuildContext) -> Result<(String, crate::Finish)> {
        let out = cx.staged("site");
        let opts = kb_publish::SiteOptions::from_env();
        let prev_site = cx.previous.as_ref().map(|p| p.out.join("site"));
        let prev_state = cx.previous.as_ref().map(|p| p.out.join(STATE_FILE));
        // A full build still links the files that come out byte-identical
        // from the output it replaces (no keys: nothing is taken on trust).
        let no_keys = std::collections::BTreeMap::new();
        let replaced_site = cx.out_dir.join("site");
        let reuse = match (&cx.previous, &prev_site) {
            (Some(p), Some(site)) => {
                Some(kb_publish::PageReuse { site, keys: &p.cache.pages, state: prev_state.as_deref() })
            }
            _ => Some(kb_publish::PageReuse { site: &replaced_site, keys: &no_keys, state: None }),
        };
        let input = kb_publish::Input {
            documents: &cx.documents,
            alignment: cx.alignment.as_ref(),
            rules: cx.rules.as_ref(),
            rule_digests: Some(&cx.rule_digests),
        };
        let published = kb_publish::publish_input(&out, &input, &opts, reuse.as_ref())
            .map_err(|e| Error::Stage { stage: "publish", source: Box::new(e) })?;
        let state = cx.staged(STATE_FILE);
        let written = state
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&state, &published.state));
        if let Err(e) = written {
            return Err(Error::Stage {
                stage: "publish",
                source: Box::new(kb_publish::Error::Io { what: "writing", path: state, source: e }),
            });
        }
        let keys = published.keys;
        let stats = published.stats;
        let mut summary = stats.summary();
        if cx.previous.is_some() {
            summary.push_str(&format!(
                " ({} document pages rendered, {} reused)",
                stats.documents - published.reused,
                published.reused
            ));
        }
        if cx.alignment.is_none() {
            summary.push_str(" (no alignment: no counterpart links)");
        }
        if cx.rules.is_none() {
            summary.push_str(" (no rules: none shown)");
        }
        Ok((summary, Box::new(move |cx: &mut BuildContext| cx.cache.pages = keys)))
    }
}
