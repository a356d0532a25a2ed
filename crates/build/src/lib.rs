//! The kb build pipeline.
//!
//! `kb build` is a sequence of [`Stage`]s handed one [`BuildContext`]: parse
//! reads the corpus into [`kb_model::Document`]s, and each later stage (align,
//! rules, index, publish) reads what the earlier ones left in the context and
//! writes its files into the context's staging folder. Consecutive stages
//! that only read the context ([`Stage::is_shared`]: index and publish) run at
//! the same time. Only when every stage has succeeded is the staging folder
//! swapped in for the output folder, so a failed or interrupted build never
//! leaves a half-written `out/`.
//!
//! ```no_run
//! let report = kb_build::build(&kb_build::BuildOptions::new("corpus", "out")).unwrap();
//! println!("{}", report.summary());
//! ```

mod cache;
mod output;
mod snapshot;
mod stages;
// kb:stage-modules (each stage adds `mod stage_<name>;` below)
mod stage_align;
mod stage_index;
mod stage_publish;
mod stage_rules;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kb_model::alignment::Alignment;
use kb_model::manifest::Manifest;
use kb_model::rules::RuleSet;
use kb_model::Document;

pub use cache::{Cache, Changes, Kept, Previous, CACHE_FILE};
pub use output::{dispose_in_background, read_records, write_atomic, Staging, RECORDS_FILE};
pub use stages::default_stages;

/// Errors of a build.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or parsing the corpus failed.
    #[error(transparent)]
    Parse(#[from] kb_parse::Error),
    /// A later stage failed.
    #[error("{stage} stage failed: {source}")]
    Stage {
        /// The stage's name.
        stage: &'static str,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Result of a build step.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Called with a stage's name when it starts (for progress displays).
pub type StageHook = std::sync::Arc<dyn Fn(&'static str) + Send + Sync>;

/// What to build, from where, to where.
#[derive(Clone)]
pub struct BuildOptions {
    /// The corpus folder.
    pub corpus: PathBuf,
    /// The output folder.
    pub out: PathBuf,
    /// Told when each stage starts.
    pub on_stage: Option<StageHook>,
    /// Ignore the previous output's build cache: parse, index and render everything.
    pub full: bool,
    /// Leave the replaced output folder for the caller to dispose of (see
    /// [`BuildReport::old_output`]) instead of removing it before returning.
    /// Removing a large output takes seconds; a command line tool can hand
    /// it to a background process ([`dispose_in_background`]).
    pub defer_cleanup: bool,
    /// Do not free the build's in-memory data before returning (for a
    /// process that exits right after the build: freeing a million records
    /// one by one costs more than a second).
    pub skip_free: bool,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions").field("corpus", &self.corpus).field("out", &self.out).finish_non_exhaustive()
    }
}

impl BuildOptions {
    /// Options for building `corpus` into `out`.
    pub fn new(corpus: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        BuildOptions {
            corpus: corpus.into(),
            out: out.into(),
            on_stage: None,
            full: false,
            defer_cleanup: false,
            skip_free: false,
        }
    }
}

/// Everything the stages share during one build.
pub struct BuildContext {
    /// The corpus folder.
    pub corpus_dir: PathBuf,
    /// The corpus manifest (`kb.toml`), empty when there is none.
    pub manifest: Manifest,
    /// The parsed documents, sorted by path.
    pub documents: Vec<Document>,
    /// The alignment, once the align stage has run.
    pub alignment: Option<Alignment>,
    /// The rules, once the rules stage has run.
    pub rules: Option<RuleSet>,
    /// Per document (in `documents` order), the rules stage's digest of what
    /// its rules were made from and their keys ([`kb_rules::build::Output::digests`]):
    /// equal digests in two builds by the same binary mean equal rules. Empty
    /// until the rules stage has run.
    pub rule_digests: Vec<Option<[u8; 32]>>,
    /// The staging folder that becomes the output folder.
    pub staging: PathBuf,
    /// Notes for the user (e.g. "decoded GBK"), printed after the summary.
    pub notes: Vec<String>,
    /// The previous build, when its cache is usable (incremental build).
    pub previous: Option<Previous>,
    /// What changed since the previous build (set by the parse stage of an
    /// incremental build).
    pub changes: Option<Changes>,
    /// The cache being written for the next build; stages fill in their keys.
    pub cache: Cache,
    /// The output folder the build replaces (where the previous build is).
    pub out_dir: PathBuf,
    /// Ignore the previous build ([`BuildOptions::full`]).
    pub full: bool,
    /// The previous build's documents, handed over in memory ([`build_keeping`]).
    pub(crate) kept: Option<Kept>,
    /// The align stage's record links by position, for the rules stage
    /// ([`kb_align::store::Built::links`]).
    pub(crate) record_links: Option<Vec<Vec<kb_align::store::Link>>>,
    /// Where each line of the staged `records.jsonl` starts and its
    /// fingerprint, once the parse stage has written it (so the index need
    /// not read the file again).
    pub records_layout: Option<kb_model::RecordsLayout>,
}

impl BuildContext {
    /// Iterates over every record of every document.
    pub fn records(&self) -> impl Iterator<Item = &kb_model::Record> {
        self.documents.iter().flat_map(|d| d.records.iter())
    }
    /// A path inside the staging folder.
    pub fn staged(&self, rel: &str) -> PathBuf {
        self.staging.join(rel)
    }
}

/// One stage of the pipeline.
pub trait Stage: Send + Sync {
    /// Short name (`parse`, `align`, …).
    fn name(&self) -> &'static str;
    /// Runs the stage, returning a one-line summary of what it produced.
    fn run(&self, cx: &mut BuildContext) -> Result<String>;
    /// True for a stage that only reads the context and writes files of its
    /// own in the staging folder: consecutive such stages run at the same
    /// time, through [`Stage::run_shared`] (index and publish do: both only
    /// read the documents, alignment and rules).
    fn is_shared(&self) -> bool {
        false
    }
    /// Runs a shared stage ([`Stage::is_shared`]) on a context others read
    /// at the same time; returns its summary and what it adds to the context
    /// once all of them are done (say, its build-cache keys).
    fn run_shared(&self, cx: &BuildContext) -> Result<(String, Finish)> {
        let _ = cx;
        Err(Error::Stage { stage: self.name(), source: "not a shared stage".into() })
    }
}

/// What a shared stage adds to the context when it is done ([`Stage::run_shared`]).
pub type Finish = Box<dyn FnOnce(&mut BuildContext) + Send>;

/// Runs `stages` in order; a run of consecutive shared stages
/// ([`Stage::is_shared`]) runs at the same time, each on a thread of its own,
/// their results applied to the context in stage order.
fn run_stages(opts: &BuildOptions, stages: &[Box<dyn Stage>], cx: &mut BuildContext) -> Result<Vec<StageReport>> {
    let mut reports = Vec::new();
    let sequential = std::env::var_os("KB_SEQUENTIAL").is_some();
    let mut i = 0;
    while i < stages.len() {
        let group = if sequential { 1 } else { stages[i..].iter().take_while(|s| s.is_shared()).count() };
        if group < 2 {
            let stage = &stages[i];
            if let Some(hook) = &opts.on_stage {
                hook(stage.name());
            }
            let t = Instant::now();
            let summary = stage.run(cx)?;
            trace(stage.name(), t);
            reports.push(StageReport { name: stage.name(), summary, elapsed: t.elapsed() });
            i += 1;
            continue;
        }
        let shared = &stages[i..i + group];
        if let Some(hook) = &opts.on_stage {
            for stage in shared {
                hook(stage.name());
            }
        }
        let view: &BuildContext = cx;
        let results: Vec<(Result<(String, Finish)>, Duration)> = std::thread::scope(|scope| {
            let handles: Vec<_> = shared
                .iter()
                .map(|stage| {
                    scope.spawn(move || {
                        let t = Instant::now();
                        let r = stage.run_shared(view);
                        trace(stage.name(), t);
                        (r, t.elapsed())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        for (stage, (result, elapsed)) in shared.iter().zip(results) {
            let (summary, finish) = result?;
            finish(cx);
            reports.push(StageReport { name: stage.name(), summary, elapsed });
        }
        i += group;
    }
    Ok(reports)
}

/// What one stage did.
#[derive(Debug, Clone)]
pub struct StageReport {
    /// The stage's name.
    pub name: &'static str,
    /// Its one-line summary.
    pub summary: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The output folder.
    pub out: PathBuf,
    /// Per stage.
    pub stages: Vec<StageReport>,
    /// Notes for the user.
    pub notes: Vec<String>,
    /// Number of documents.
    pub documents: usize,
    /// For an incremental build, what changed since the previous one.
    pub changes: Option<Changes>,
    /// Record counts by kind, in [`kb_model::RecordKind::ALL`] order, zero counts left out.
    pub records_by_kind: Vec<(kb_model::RecordKind, usize)>,
    /// The replaced output folder, moved aside and not yet removed (only
    /// with [`BuildOptions::defer_cleanup`]). A later build removes it if
    /// the caller does not.
    pub old_output: Option<PathBuf>,
}

impl BuildReport {
    /// The report as JSON (for `kb build --json`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "out": self.out,
            "documents": self.documents,
            "records": self.records_by_kind.iter().map(|(_, n)| n).sum::<usize>(),
            "records_by_kind": self.records_by_kind.iter().map(|(k, n)| (k.as_str().to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "stages": self.stages.iter().map(|s| serde_json::json!({
                "name": s.name, "seconds": s.elapsed.as_secs_f64(), "summary": s.summary,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
            "incremental": self.changes.as_ref().map(|c| serde_json::json!({
                "parsed": c.parsed, "reused": c.reused, "removed": c.removed,
            })),
        })
    }

    /// A short human summary: documents, records by kind, one line a stage.
    pub fn summary(&self) -> String {
        let total: usize = self.records_by_kind.iter().map(|(_, n)| n).sum();
        let kinds: Vec<String> = self.records_by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let mut s = format!(
            "built {} from {} documents: {} records ({})\n",
            self.out.display(),
            self.documents,
            total,
            kinds.join(", ")
        );
        if let Some(c) = &self.changes {
            s.push_str(&format!(
                "  incremental: {} documents parsed, {} reused, {} removed\n",
                c.parsed.len(),
                c.reused,
                c.removed.len()
            ));
        }
        for st in &self.stages {
            s.push_str(&format!("  {:<8} {:>7.2}s  {}\n", st.name, st.elapsed.as_secs_f64(), st.summary));
        }
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    }
}

/// Runs the default stages over `opts.corpus` and swaps the result in at `opts.out`.
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    build_with(opts, &default_stages())
}

/// Runs the given stages; the output folder is replaced only if all succeed.
pub fn build_with(opts: &BuildOptions, stages: &[Box<dyn Stage>]) -> Result<BuildReport> {
    run(opts, stages, None, false).map(|(report, _)| report)
}

/// Like [`build`], for a process that builds again and again (`kb watch`):
/// takes what the previous build of this process kept (if any) and returns
/// what this one keeps, so that the next incremental build takes the
/// unchanged documents from memory instead of reading them back from
/// `records.jsonl`. Kept state that no longer matches the output folder is
/// ignored.
pub fn build_keeping(opts: &BuildOptions, kept: Option<Kept>) -> Result<(BuildReport, Kept)> {
    run(opts, &default_stages(), kept, true).map(|(report, kept)| (report, kept.unwrap_or_default()))
}

fn run(
    opts: &BuildOptions,
    stages: &[Box<dyn Stage>],
    kept: Option<Kept>,
    keep: bool,
) -> Result<(BuildReport, Option<Kept>)> {
    if opts.full || !is_output_dir(&opts.out) {
        // Every record will be indexed: jieba's dictionary loads meanwhile.
        kb_index::load_jieba_in_background();
    }
    let staging = Staging::new(&opts.out)?;
    let mut cx = BuildContext {
        corpus_dir: opts.corpus.clone(),
        manifest: Manifest::default(),
        documents: Vec::new(),
        alignment: None,
        rules: None,
        staging: staging.path().to_path_buf(),
        notes: Vec::new(),
        previous: None,
        changes: None,
        cache: Cache::default(),
        out_dir: opts.out.clone(),
        full: opts.full,
        kept,
        record_links: None,
        records_layout: None,
        rule_digests: Vec::new(),
    };
    let reports = run_stages(opts, stages, &mut cx)?;
    let t = Instant::now();
    let cache = cache::cache_of(&cx);
    let mut json = serde_json::to_vec_pretty(&cache).expect("cache serialises");
    json.push(b'\n');
    write_atomic(&cx.staged(CACHE_FILE), &json)?;
    trace("write cache", t);
    let t = Instant::now();
    let old_output = staging.commit(opts.defer_cleanup)?;
    trace("commit", t);
    let mut counts = std::collections::BTreeMap::new();
    for r in cx.records() {
        *counts.entry(r.kind).or_insert(0usize) += 1;
    }
    let t = Instant::now();
    let documents = cx.documents.len();
    let kept = keep.then(|| Kept { cache, documents: std::mem::take(&mut cx.documents), rules: cx.rules.take() });
    let heavy = (std::mem::take(&mut cx.documents), cx.alignment.take(), cx.rules.take(), cx.previous.take());
    if opts.skip_free {
        std::mem::forget(heavy);
    } else {
        drop(heavy);
    }
    trace("free memory", t);
    let report = BuildReport {
        out: opts.out.clone(),
        stages: reports,
        notes: cx.notes,
        changes: cx.changes,
        old_output,
        documents,
        records_by_kind: kb_model::RecordKind::ALL.iter().filter_map(|k| counts.get(k).map(|n| (*k, *n))).collect(),
    };
    Ok((report, kept))
}

/// With `KB_TRACE` set, prints how long a phase of the build took to stderr.
pub fn trace(what: &str, since: Instant) {
    if std::env::var_os("KB_TRACE").is_some() {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l[6..].trim().to_string()))
            .unwrap_or_default();
        let cpu = kb_model::process_cpu_seconds().unwrap_or(0.0);
        eprintln!("kb trace: {what:<24} {:>8.3}s  rss {rss}  cpu {cpu:.2}s", since.elapsed().as_secs_f64());
    }
}

/// True when `dir` looks like a kb output folder (has `records.jsonl`).
pub fn is_output_dir(dir: &Path) -> bool {
    dir.join(RECORDS_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Mutex;

    /// A shared stage that tells its peer it started and waits to hear the
    /// same from it: both must be running at once.
    struct Meet {
        name: &'static str,
        tx: mpsc::Sender<()>,
        rx: Mutex<mpsc::Receiver<()>>,
        fail: bool,
    }

    impl Stage for Meet {
        fn name(&self) -> &'static str {
            self.name
        }
        fn run(&self, _: &mut BuildContext) -> Result<String> {
            unreachable!("a shared stage runs through run_shared")
        }
        fn is_shared(&self) -> bool {
            true
        }
        fn run_shared(&self, cx: &BuildContext) -> Result<(String, Finish)> {
            assert!(!cx.documents.is_empty(), "runs after parse");
            self.tx.send(()).unwrap();
            let met = self.rx.lock().unwrap().recv_timeout(Duration::from_secs(20)).is_ok();
            assert!(met, "{} ran alone", self.name);
            if self.fail {
                return Err(Error::Stage { stage: self.name, source: "failed on purpose".into() });
            }
            let name = self.name;
            Ok((format!("{name} done"), Box::new(move |cx: &mut BuildContext| cx.notes.push(name.to_string()))))
        }
    }

    /// Reads what the shared stages left in the context.
    struct After;

    impl Stage for After {
        fn name(&self) -> &'static str {
            "after"
        }
        fn run(&self, cx: &mut BuildContext) -> Result<String> {
            Ok(cx.notes.join(","))
        }
    }

    fn stages(fail_second: bool) -> Vec<Box<dyn Stage>> {
        let (a_tx, b_rx) = mpsc::channel();
        let (b_tx, a_rx) = mpsc::channel();
        vec![
            Box::new(stages::ParseStage),
            Box::new(Meet { name: "first", tx: a_tx, rx: Mutex::new(a_rx), fail: false }),
            Box::new(Meet { name: "second", tx: b_tx, rx: Mutex::new(b_rx), fail: fail_second }),
            Box::new(After),
        ]
    }

    #[test]
    fn consecutive_shared_stages_run_at_once_and_finish_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
        let out = dir.path().join("out");
        let report = build_with(&BuildOptions::new(&corpus, &out), &stages(false)).unwrap();
        let names: Vec<&str> = report.stages.iter().map(|s| s.name).collect();
        assert_eq!(names, ["parse", "first", "second", "after"]);
        assert_eq!(report.stages[1].summary, "first done");
        assert_eq!(report.stages[3].summary, "first,second", "finishers applied in stage order, before the next stage");

        let err = build_with(&BuildOptions::new(&corpus, dir.path().join("out2")), &stages(true)).unwrap_err();
        assert!(err.to_string().contains("second stage failed: failed on purpose"), "{err}");
        assert!(!dir.path().join("out2").exists(), "a failed build leaves no output");
    }

    /// Checks the parse stage's [`kb_model::RecordsLayout`] against the file it wrote.
    struct CheckLayout;

    impl Stage for CheckLayout {
        fn name(&self) -> &'static str {
            "check-layout"
        }
        fn run(&self, cx: &mut BuildContext) -> Result<String> {
            let bytes = std::fs::read(cx.staged(RECORDS_FILE)).unwrap();
            let layout = cx.records_layout.as_ref().expect("the parse stage hands over the layout");
            let mut starts = vec![0u64];
            starts.extend(memchr::memchr_iter(b'\n', &bytes).map(|i| i as u64 + 1));
            assert_eq!(layout.starts, starts);
            assert_eq!(layout.starts.len(), cx.records().count() + 1);
            assert_eq!(layout.fingerprint, format!("blake3:{}", blake3::hash(&bytes).to_hex()));
            Ok(format!("{} lines", starts.len() - 1))
        }
    }

    #[test]
    fn the_records_layout_matches_the_written_file_in_full_and_incremental_builds() {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
        let corpus = dir.path().join("corpus");
        for lang in ["zh", "en"] {
            std::fs::create_dir_all(corpus.join(lang)).unwrap();
            for e in std::fs::read_dir(src.join(lang)).unwrap().flatten() {
                std::fs::copy(e.path(), corpus.join(lang).join(e.file_name())).unwrap();
            }
        }
        let out = dir.path().join("out");
        let stages: Vec<Box<dyn Stage>> = vec![Box::new(stages::ParseStage), Box::new(CheckLayout)];
        let full = build_with(&BuildOptions::new(&corpus, &out), &stages).unwrap();
        assert!(full.stages[1].summary.ends_with(" lines"));
        // Edited: one document serialised again, the others' lines copied.
        let edited = std::fs::read_dir(corpus.join("en")).unwrap().flatten().next().unwrap().path();
        let text = std::fs::read_to_string(&edited).unwrap();
        std::fs::write(&edited, format!("{text}\n\nOne more paragraph.\n")).unwrap();
        let again = build_with(&BuildOptions::new(&corpus, &out), &stages).unwrap();
        assert_ne!(full.stages[1].summary, again.stages[1].summary, "the edit added a record");
    }
}
