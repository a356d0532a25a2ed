//! `kb bench`: time full builds of one or more corpora against a baseline.
//!
//! For every corpus and run, `kb bench` starts two child processes of its own
//! binary (hidden `--child` mode), so each measurement has a process of its
//! own and its peak resident memory (`VmHWM` from `/proc/self/status`, read by
//! the child when it is done) is the peak of that job alone:
//!
//! * `build`: one full `kb build` (parse → align → rules → index → publish)
//!   into a temporary folder, reporting each stage's time;
//! * `baseline`: the least work a search index of the same files can be —
//!   read and decode every file and index its plain text with the same
//!   tantivy analyzers (`kb_index::baseline_index`: jieba search mode for zh,
//!   stemmed English for en).
//!
//! * `rebuild` (unless `--no-rebuild`): the maintainers' loop — a copy of
//!   the corpus (hard links) gets one document edited (its first digit
//!   changed, or a sentence appended when it has none; the original corpus
//!   is never touched), and `kb build` runs again into the output of the full
//!   build, incrementally.
//!
//! The report gives per-stage times, documents/s, MB/s, peak RSS, the ratio
//! of the full build to the baseline (goal: at most 3×) and of the rebuild to
//! the full build (goal: at most 5 %). Times are medians over `--runs`; peak
//! RSS is the largest seen.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The goal: a full build takes at most this many times the baseline.
const GOAL_RATIO: f64 = 3.0;
/// The goal: a rebuild after one edited document takes at most this share of a full build.
const GOAL_REBUILD: f64 = 0.05;

/// Flags of `kb bench`.
#[derive(clap::Args)]
pub struct Args {
    /// A corpus folder to benchmark; repeat for several.
    #[arg(long = "corpus", value_name = "DIR", default_value = "corpus")]
    pub corpora: Vec<PathBuf>,
    /// Runs per corpus; times are medians, peak memory the largest.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Print the results as one JSON object (`profile`, `cores`, and `corpora`: one object per corpus).
    #[arg(long)]
    pub json: bool,
    /// Skip the incremental rebuild after one edited document.
    #[arg(long)]
    pub no_rebuild: bool,
    /// Internal: run one measured job in this process and print it as JSON.
    #[arg(long, hide = true, value_enum, requires = "out")]
    pub child: Option<Job>,
    /// Internal: where the child job writes.
    #[arg(long, hide = true)]
    pub out: Option<PathBuf>,
}

/// A measured job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Job {
    /// A full `kb build`.
    Build,
    /// Read the files and index their plain text.
    Baseline,
    /// `kb build` again into an existing output (incremental).
    Rebuild,
}

/// What a child reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Measured {
    seconds: f64,
    /// (stage, seconds), build only.
    #[serde(default)]
    stages: Vec<(String, f64)>,
    documents: usize,
    #[serde(default)]
    records: usize,
    /// Peak resident set size in bytes, when the platform tells.
    peak_rss: Option<u64>,
    /// CPU time of the process (all threads), when the platform tells:
    /// steadier than wall time on a machine shared with other work.
    #[serde(default)]
    cpu_seconds: Option<f64>,
    /// Documents parsed again, when the build was incremental.
    #[serde(default)]
    parsed: Option<usize>,
}

/// CPU time (user + system) this process has used so far, all threads,
/// live or ended (Linux: fields 14 and 15 of `/proc/self/stat`, in clock
/// ticks of 1/100 s, the fixed `USER_HZ` of Linux's user ABI).
fn cpu_seconds() -> Option<f64> {
    kb_model::process_cpu_seconds()
}

/// The peak resident set size of this process so far (Linux: `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// The documents of a corpus, as `load_corpus` finds them (same extensions,
/// hidden entries skipped), sorted, corpus-relative with `/`.
fn corpus_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))? {
            let e = e.with_context(|| format!("reading folder {}", dir.display()))?;
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = e.path();
            if e.file_type().with_context(|| format!("reading {}", path.display()))?.is_dir() {
                walk(root, &path, out)?;
            } else if path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| ["md", "markdown", "txt"].iter().any(|m| m.eq_ignore_ascii_case(x)))
            {
                let rel = path.strip_prefix(root).expect("under root");
                let rel = rel.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((rel, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Child: one full build of `corpus` into `out`.
fn child_build(corpus: &Path, out: &Path) -> anyhow::Result<Measured> {
    let t = Instant::now();
    // What `kb build` does: a process that exits after the build does not
    // free its memory, and leaves removing a replaced output to the background.
    let mut opts = kb_build::BuildOptions::new(corpus, out);
    opts.skip_free = true;
    opts.defer_cleanup = true;
    let report = kb_build::build(&opts).with_context(|| format!("building {}", corpus.display()))?;
    if let Some(old) = &report.old_output {
        kb_build::dispose_in_background(old);
    }
    let seconds = t.elapsed().as_secs_f64();
    Ok(Measured {
        seconds,
        stages: report.stages.iter().map(|s| (s.name.to_string(), s.elapsed.as_secs_f64())).collect(),
        documents: report.documents,
        records: report.records_by_kind.iter().map(|(_, n)| n).sum(),
        peak_rss: peak_rss(),
        cpu_seconds: cpu_seconds(),
        parsed: report.changes.as_ref().map(|c| c.parsed.len()),
    })
}

/// Child: read, decode and index the plain text of every file of `corpus`.
fn child_baseline(corpus: &Path, out: &Path) -> anyhow::Result<Measured> {
    let t = Instant::now();
    let files = corpus_files(corpus)?;
    let mut failed = None;
    let plain = files.iter().map_while(|(rel, full)| {
        let read = std::fs::read(full)
            .with_context(|| format!("reading {}", full.display()))
            .and_then(|bytes| Ok(kb_parse::decode(full, &bytes)?.0));
        match read {
            Ok(text) => {
                let lang = kb_parse::detect_lang(&text);
                Some(kb_index::PlainFile { path: rel.clone(), lang, text })
            }
            Err(e) => {
                failed = Some(e);
                None
            }
        }
    });
    let stats = kb_index::baseline_index(&out.join("index"), plain).context("baseline index")?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Measured {
        seconds: t.elapsed().as_secs_f64(),
        stages: Vec::new(),
        documents: stats.files,
        records: 0,
        peak_rss: peak_rss(),
        cpu_seconds: cpu_seconds(),
        parsed: None,
    })
}

/// Runs one job in a child process of this binary and reads its report.
fn measure(job: Job, corpus: &Path, out: &Path) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe().context("finding the kb binary")?;
    let name = match job {
        Job::Build => "build",
        Job::Baseline => "baseline",
        Job::Rebuild => "rebuild",
    };
    let output = Command::new(exe)
        .args(["bench", "--child", name, "--corpus"])
        .arg(corpus)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting the {name} of {}", corpus.display()))?;
    if !output.status.success() {
        bail!("the {name} of {} failed ({})", corpus.display(), output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("reading the {name} report"))
}

/// The median when every run has a value.
fn median_of(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    v.collect::<Option<Vec<f64>>>().map(median)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The results for one corpus.
#[derive(Debug, Serialize)]
struct CorpusResult {
    corpus: PathBuf,
    documents: usize,
    records: usize,
    bytes: u64,
    runs: u32,
    stages: Vec<(String, f64)>,
    build_seconds: f64,
    docs_per_second: f64,
    mb_per_second: f64,
    peak_rss_bytes: Option<u64>,
    build_cpu_seconds: Option<f64>,
    baseline_seconds: f64,
    baseline_cpu_seconds: Option<f64>,
    baseline_peak_rss_bytes: Option<u64>,
    ratio: f64,
    goal_ratio: f64,
    /// The incremental rebuild after one edited document (first run's edit, median over runs).
    rebuild: Option<RebuildResult>,
}

/// The maintainers' loop: one document edited, `kb build` again.
#[derive(Debug, Serialize)]
struct RebuildResult {
    /// The edited document (corpus-relative).
    edited: String,
    /// What was changed in it.
    edit: String,
    /// Documents the rebuild parsed again (1 when the build cache was used; null for a full build).
    parsed: Option<usize>,
    seconds: f64,
    stages: Vec<(String, f64)>,
    cpu_seconds: Option<f64>,
    peak_rss_bytes: Option<u64>,
    /// `seconds` / the full build's seconds.
    share_of_full: f64,
    goal_share: f64,
}

/// A copy of `corpus` in `dir` made of hard links (copies across file
/// systems), with `files[pick]` replaced by an edited version: its first
/// ASCII digit changed, or a sentence appended. Returns what was changed.
fn edited_copy(corpus: &Path, files: &[(String, PathBuf)], pick: usize, dir: &Path) -> anyhow::Result<String> {
    let copy_one = |from: &Path, to: &Path| -> anyhow::Result<()> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
        Ok(())
    };
    let manifest = corpus.join("kb.toml");
    if manifest.is_file() {
        copy_one(&manifest, &dir.join("kb.toml"))?;
    }
    for (i, (rel, full)) in files.iter().enumerate() {
        if i != pick {
            copy_one(full, &dir.join(rel))?;
        }
    }
    let (rel, full) = &files[pick];
    let mut bytes = std::fs::read(full).with_context(|| format!("reading {}", full.display()))?;
    let what = match bytes.iter().position(u8::is_ascii_digit) {
        Some(i) => {
            let (old, new) = (bytes[i], if bytes[i] == b'9' { b'8' } else { bytes[i] + 1 });
            bytes[i] = new;
            let line = bytes[..i].iter().filter(|b| **b == b'\n').count() + 1;
            format!("line {line}: digit {} → {}", old as char, new as char)
        }
        None => {
            bytes.extend_from_slice(b"\n\nEdited by kb bench.\n");
            "a sentence appended".to_string()
        }
    };
    let to = dir.join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
    Ok(what)
}

fn bench_corpus(corpus: &Path, runs: u32, with_rebuild: bool) -> anyhow::Result<CorpusResult> {
    let files = corpus_files(corpus)?;
    if files.is_empty() {
        bail!("{} holds no documents (.md, .markdown, .txt)", corpus.display());
    }
    // Read every file once so that neither job pays for a cold page cache.
    let mut bytes = 0u64;
    for (_, full) in &files {
        bytes += std::fs::read(full).with_context(|| format!("reading {}", full.display()))?.len() as u64;
    }
    let mut builds = Vec::new();
    let mut baselines = Vec::new();
    let mut rebuilds = Vec::new();
    // The document edited for the rebuild: the middle one, so that it is
    // neither the first nor the last of anything.
    let pick = files.len() / 2;
    let mut edit = String::new();
    for _ in 0..runs {
        let tmp = tempfile::Builder::new().prefix("kb-bench-").tempdir().context("creating a temporary folder")?;
        let out = tmp.path().join("out");
        builds.push(measure(Job::Build, corpus, &out)?);
        baselines.push(measure(Job::Baseline, corpus, &tmp.path().join("baseline"))?);
        if with_rebuild {
            let copy = tmp.path().join("corpus");
            edit = edited_copy(corpus, &files, pick, &copy)?;
            rebuilds.push(measure(Job::Rebuild, &copy, &out)?);
        }
    }
    let first = &builds[0];
    let stages = first
        .stages
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), median(builds.iter().map(|b| b.stages[i].1).collect())))
        .collect();
    let build_seconds = median(builds.iter().map(|b| b.seconds).collect());
    let baseline_seconds = median(baselines.iter().map(|b| b.seconds).collect());
    let rebuild = rebuilds.first().map(|r0| {
        let seconds = median(rebuilds.iter().map(|r| r.seconds).collect());
        RebuildResult {
            edited: files[pick].0.clone(),
            edit: edit.clone(),
            parsed: r0.parsed,
            seconds,
            stages: r0
                .stages
                .iter()
                .enumerate()
                .map(|(i, (name, _))| (name.clone(), median(rebuilds.iter().map(|r| r.stages[i].1).collect())))
                .collect(),
            cpu_seconds: median_of(rebuilds.iter().map(|r| r.cpu_seconds)),
            peak_rss_bytes: rebuilds.iter().filter_map(|r| r.peak_rss).max(),
            share_of_full: seconds / build_seconds,
            goal_share: GOAL_REBUILD,
        }
    });
    Ok(CorpusResult {
        corpus: corpus.to_path_buf(),
        documents: first.documents,
        records: first.records,
        bytes,
        runs,
        stages,
        build_seconds,
        docs_per_second: first.documents as f64 / build_seconds,
        mb_per_second: bytes as f64 / 1e6 / build_seconds,
        peak_rss_bytes: builds.iter().filter_map(|b| b.peak_rss).max(),
        build_cpu_seconds: median_of(builds.iter().map(|b| b.cpu_seconds)),
        baseline_seconds,
        baseline_cpu_seconds: median_of(baselines.iter().map(|b| b.cpu_seconds)),
        baseline_peak_rss_bytes: baselines.iter().filter_map(|b| b.peak_rss).max(),
        ratio: build_seconds / baseline_seconds,
        goal_ratio: GOAL_RATIO,
        rebuild,
    })
}

fn cpu(secs: Option<f64>) -> String {
    secs.map(|s| format!(", CPU {s:.2}s")).unwrap_or_default()
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map(|b| format!("{:.0} MB", b as f64 / 1e6)).unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Runs `kb bench`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    if let Some(job) = args.child {
        let corpus = &args.corpora[0];
        let out = args.out.as_deref().expect("clap requires --out with --child");
        let m = match job {
            Job::Build | Job::Rebuild => child_build(corpus, out)?,
            Job::Baseline => child_baseline(corpus, out)?,
        };
        println!("{}", serde_json::to_string(&m)?);
        return Ok(0);
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    if !args.json {
        println!(
            "kb bench: {profile} build, {} cores, {} run(s) per corpus (median times, largest peak RSS)",
            cores(),
            args.runs
        );
        if cfg!(debug_assertions) {
            println!("warning: this is a debug build; times are not representative (use `cargo run --release -p kb -- bench`)");
        }
    }
    let mut results = Vec::new();
    for corpus in &args.corpora {
        if !args.json && std::io::stderr().is_terminal() {
            eprintln!("benchmarking {}…", corpus.display());
        }
        let r = bench_corpus(corpus, args.runs, !args.no_rebuild)?;
        if !args.json {
            print!("{}", human(&r));
        }
        results.push(r);
    }
    if args.json {
        let v = serde_json::json!({
            "profile": profile,
            "cores": cores(),
            "corpora": results,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(0)
}

fn human(r: &CorpusResult) -> String {
    let mut s = format!(
        "\n{}: {} documents, {:.1} MB, {} records\n",
        r.corpus.display(),
        r.documents,
        r.bytes as f64 / 1e6,
        r.records
    );
    for (name, secs) in &r.stages {
        s.push_str(&format!("  {name:<9}{secs:>8.2}s\n"));
    }
    s.push_str(&format!(
        "  {:<9}{:>8.2}s  {:.0} docs/s, {:.2} MB/s, peak RSS {}{}\n",
        "build",
        r.build_seconds,
        r.docs_per_second,
        r.mb_per_second,
        mb(r.peak_rss_bytes),
        cpu(r.build_cpu_seconds)
    ));
    s.push_str(&format!(
        "  {:<9}{:>8.2}s  read + plain-text index, same analyzers; peak RSS {}{}\n",
        "baseline",
        r.baseline_seconds,
        mb(r.baseline_peak_rss_bytes),
        cpu(r.baseline_cpu_seconds)
    ));
    s.push_str(&format!(
        "  ratio    {:>8.2}×  the baseline ({} the goal of ≤ {}×)\n",
        r.ratio,
        if r.ratio <= r.goal_ratio { "meets" } else { "misses" },
        r.goal_ratio
    ));
    if let Some(rb) = &r.rebuild {
        let stages: Vec<String> = rb.stages.iter().map(|(n, t)| format!("{n} {t:.2}")).collect();
        s.push_str(&format!(
            "  rebuild  {:>8.2}s  after editing {} ({}); peak RSS {}{}\n           stages: {}\n",
            rb.seconds,
            rb.edited,
            rb.edit,
            mb(rb.peak_rss_bytes),
            cpu(rb.cpu_seconds),
            stages.join(", ")
        ));
        s.push_str(&format!(
            "  share    {:>7.1} %  of the full build ({} the goal of ≤ {:.0} %)\n",
            rb.share_of_full * 100.0,
            if rb.share_of_full <= rb.goal_share { "meets" } else { "misses" },
            rb.goal_share * 100.0
        ));
    }
    s
}
