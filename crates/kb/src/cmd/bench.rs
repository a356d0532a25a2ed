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
//! The report gives per-stage times, documents/s, MB/s, peak RSS and the ratio
//! of the full build to the baseline (goal: at most 3×). Times are medians
//! over `--runs`; peak RSS is the largest seen.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The goal: a full build takes at most this many times the baseline.
const GOAL_RATIO: f64 = 3.0;

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
}

/// CPU time (user + system) this process has used so far, all threads,
/// live or ended (Linux: fields 14 and 15 of `/proc/self/stat`, in clock
/// ticks of 1/100 s, the fixed `USER_HZ` of Linux's user ABI).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
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
    let report = kb_build::build(&kb_build::BuildOptions::new(corpus, out))
        .with_context(|| format!("building {}", corpus.display()))?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Measured {
        seconds,
        stages: report.stages.iter().map(|s| (s.name.to_string(), s.elapsed.as_secs_f64())).collect(),
        documents: report.documents,
        records: report.records_by_kind.iter().map(|(_, n)| n).sum(),
        peak_rss: peak_rss(),
        cpu_seconds: cpu_seconds(),
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
    })
}

/// Runs one job in a child process of this binary and reads its report.
fn measure(job: Job, corpus: &Path, out: &Path) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe().context("finding the kb binary")?;
    let name = match job {
        Job::Build => "build",
        Job::Baseline => "baseline",
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
}

fn bench_corpus(corpus: &Path, runs: u32) -> anyhow::Result<CorpusResult> {
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
    for _ in 0..runs {
        let tmp = tempfile::Builder::new().prefix("kb-bench-").tempdir().context("creating a temporary folder")?;
        builds.push(measure(Job::Build, corpus, &tmp.path().join("out"))?);
        baselines.push(measure(Job::Baseline, corpus, &tmp.path().join("baseline"))?);
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
            Job::Build => child_build(corpus, out)?,
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
        let r = bench_corpus(corpus, args.runs)?;
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
    s
}
