//! Robustness of the output folder: a build killed mid-way leaves the
//! previous output intact, and the next build succeeds and cleans up.

use std::fs;
use std::time::{Duration, Instant};

use crate::{corpus, kb, stderr};

#[test]
fn killed_build_leaves_previous_output_intact_and_next_build_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = kb().arg("build").arg("--quiet").arg("--corpus").arg(corpus()).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let before = fs::read(out.join("records.jsonl")).unwrap();

    // A corpus big enough that its build is still running when we kill it.
    let big = dir.path().join("big");
    let o = kb().args(["gen-corpus", "--docs", "1500", "--out"]).arg(&big).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = kb().arg("build").arg("--quiet").arg("--corpus").arg(&big).arg("--out").arg(&out).spawn().unwrap();
    let staging = dir.path().join(format!(".out.kb-staging-{}", child.id()));
    let t = Instant::now();
    while !staging.exists() {
        assert!(t.elapsed() < Duration::from_secs(20), "the build never started staging");
        assert!(child.try_wait().unwrap().is_none(), "build finished before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(staging.exists(), "killed mid-way: its staging folder is left behind");
    assert_eq!(fs::read(out.join("records.jsonl")).unwrap(), before, "previous output intact");

    let o = kb().arg("build").arg("--quiet").arg("--corpus").arg(corpus()).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(out.join("records.jsonl")).unwrap(), before);
    assert!(!staging.exists(), "the dead build's staging folder is removed by the next build");
    crate::assert_no_leftover_folders(dir.path());
}
