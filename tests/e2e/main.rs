//! End-to-end tests: run the real `kb` binary over the shipped corpus (and
//! over fixtures made on the fly) and check what it writes and prints.
//! One module per feature.

#![allow(missing_docs)]

mod parse;
// kb:e2e-modules (each feature adds its module below)
mod align;
mod incremental;
mod robustness;
mod rules;
mod scale;
mod search;
mod site;
mod watch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The shipped corpus.
pub fn corpus() -> PathBuf {
    repo().join("corpus")
}

/// A `kb` command.
pub fn kb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kb"))
}

/// Runs `kb` with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    kb().args(args).output().expect("kb runs")
}

/// stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as a string.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The output folder of one `kb build` of the shipped corpus, made once per test run.
pub fn built() -> &'static Path {
    static OUT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, out) = OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = kb().args(["build", "--quiet", "--corpus"]).arg(corpus()).arg("--out").arg(&out).output().unwrap();
        assert!(o.status.success(), "kb build failed: {}", stderr(&o));
        (dir, out)
    });
    out
}

/// The records of the shipped corpus build.
pub fn records() -> Vec<serde_json::Value> {
    std::fs::read_to_string(built().join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Copies a folder tree (a corpus to edit in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// Asserts that `dir` (the parent of an output folder) is left with no kb
/// staging or replaced-output folder: a staging folder means a swap went
/// wrong; replaced outputs (`.kb-old-`) are removed by a background process,
/// so they get up to 30 s to go.
pub fn assert_no_leftover_folders(dir: &Path) {
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".kb-"))
            .collect()
    };
    let t = std::time::Instant::now();
    while !leftovers().is_empty() && t.elapsed() < std::time::Duration::from_secs(30) {
        assert!(leftovers().iter().all(|n| n.contains(".kb-old-")), "{:?}", leftovers());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(leftovers().is_empty(), "{:?}", leftovers());
}
