//! `kb watch`: builds at start, rebuilds when a corpus file changes (and not
//! for editor temp files), and prints the rule difference as `kb diff` does.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{corpus, kb};

/// Kills the watcher however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads lines until one satisfies `done`, or fails after `limit`.
fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, limit: Duration, done: impl Fn(&str) -> bool) {
    let t = Instant::now();
    loop {
        let left =
            limit.checked_sub(t.elapsed()).unwrap_or_else(|| panic!("timed out; output so far:\n{}", seen.join("\n")));
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = done(&line);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(_) => panic!("timed out or kb watch exited; output so far:\n{}", seen.join("\n")),
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn watch_rebuilds_on_edit_and_prints_the_rule_change() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("corpus");
    copy_dir(&corpus(), &c);
    let out = dir.path().join("out");
    let child = kb()
        .args(["watch", "--debounce-ms", "200", "--corpus"])
        .arg(&c)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let (tx, rx) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let limit = Duration::from_secs(60);
    wait_for(&rx, &mut seen, limit, |l| l.starts_with("watching "));
    assert!(seen.iter().any(|l| l.starts_with("rebuilt ") && l.contains("full build")), "{seen:?}");
    assert!(out.join("rules.json").is_file());

    // An editor temp file alone does not trigger a rebuild…
    fs::write(c.join("zh/.tencent-cloud-partner-application.md.swp"), "x").unwrap();
    if let Ok(line) = rx.recv_timeout(Duration::from_millis(1500)) {
        panic!("kb watch reacted to an editor temp file: {line}");
    }
    // …an edit does, and its rule change is printed.
    let f = c.join("zh/tencent-cloud-partner-application.md");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(&f, text.replacen("100万", "800万", 1)).unwrap();
    wait_for(&rx, &mut seen, limit, |l| l.contains(" changed, ") && l.contains(" rules)"));
    let after: Vec<&String> = seen.iter().skip_while(|l| !l.starts_with("watching ")).collect();
    let rebuilds: Vec<&&String> = after.iter().filter(|l| l.starts_with("rebuilt ")).collect();
    assert_eq!(rebuilds.len(), 1, "one debounced rebuild: {after:?}");
    assert!(rebuilds[0].contains("1 parsed, 4 reused"), "{after:?}");
    let changed = after.iter().find(|l| l.starts_with("changed ")).unwrap_or_else(|| panic!("{after:?}"));
    assert!(changed.contains("registered_capital") && changed.contains("800万"), "{changed}");
    assert!(after.iter().any(|l| l.trim_start().starts_with("zh: ") && l.contains("800万")), "citation: {after:?}");
    assert!(fs::read_to_string(out.join("rules.json")).unwrap().contains("800万"), "output rebuilt");
    assert!(child.0.try_wait().unwrap().is_none(), "kb watch keeps running");
}
