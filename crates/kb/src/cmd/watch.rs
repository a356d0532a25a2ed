//! `kb watch`: rebuild whenever the corpus changes, and say what changed in
//! the rules.
//!
//! Builds once at start, then watches the corpus folder (notify). Changes
//! are debounced: a rebuild starts once the corpus has been quiet for the
//! debounce time, so an editor's save (often several writes and renames) is
//! one rebuild. Changes inside the output folder, its staging siblings and
//! editor temporary files (`.swp`, `~`, `.#…`, `4913`) are ignored. Each
//! rebuild is incremental (the build cache) and is swapped in atomically;
//! after it, the rule difference is printed as `kb diff` prints it. A failed
//! rebuild prints its error and leaves the previous output in place.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kb_model::rules::RuleSet;
use notify::{RecursiveMode, Watcher};

/// Flags of `kb watch`.
#[derive(clap::Args)]
pub struct Args {
    /// The corpus folder is watched; the output folder is rebuilt on every change.
    #[command(flatten)]
    pub folders: super::BuildFolders,
    /// How long the corpus must be quiet before a rebuild, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub debounce_ms: u64,
}

/// True for files editors write beside the real one while saving.
fn is_editor_temp(name: &str) -> bool {
    name.starts_with(".#")
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.ends_with(".tmp")
        || name.ends_with(".kate-swp")
        || name == "4913"
}

/// True when a change at `path` can change the build.
fn relevant(path: &Path, out: &Path, out_name: &str) -> bool {
    if path.starts_with(out) {
        return false;
    }
    let in_hidden = path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c.starts_with(&format!(".{out_name}.kb-")) || c == ".git"
    });
    if in_hidden {
        return false;
    }
    match path.file_name().map(|n| n.to_string_lossy()) {
        Some(name) => !is_editor_temp(&name),
        None => true,
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()))
}

/// The rules of the output folder, if it has them.
fn current_rules(out: &Path) -> Option<RuleSet> {
    let path = out.join(kb_rules::RULES_FILE);
    path.is_file().then(|| kb_rules::read_rules(&path).ok()).flatten()
}

/// Builds once, handing the previous build's documents over in memory
/// (`kept`); prints the outcome and, when `old` is given, the rule diff.
fn rebuild(args: &Args, old: Option<&RuleSet>, kept: &mut Option<kb_build::Kept>) -> Option<RuleSet> {
    let t = Instant::now();
    let mut opts = kb_build::BuildOptions::new(&args.folders.corpus, &args.folders.out);
    opts.defer_cleanup = true;
    let stdout = std::io::stdout();
    match kb_build::build_keeping(&opts, kept.take()) {
        Ok((report, mut keep)) => {
            // The rules the build made, without reading rules.json back.
            let new = keep.rules.take();
            *kept = Some(keep);
            if let Some(old) = report.old_output.clone() {
                // Removing the replaced output takes a while: not on the way to the next rebuild.
                std::thread::spawn(move || std::fs::remove_dir_all(old));
            }
            let records: usize = report.records_by_kind.iter().map(|(_, n)| n).sum();
            let what = match &report.changes {
                Some(c) => format!("{} parsed, {} reused, {} removed", c.parsed.len(), c.reused, c.removed.len()),
                None => "full build".into(),
            };
            let mut out = stdout.lock();
            let _ = writeln!(
                out,
                "rebuilt {} in {:.2}s: {} documents ({what}), {records} records",
                args.folders.out.display(),
                t.elapsed().as_secs_f64(),
                report.documents
            );
            for n in &report.notes {
                let _ = writeln!(out, "note: {n}");
            }
            if let (Some(old), Some(new)) = (old, &new) {
                let d = kb_rules::diff(old, new);
                let _ = super::diff::write_text(&mut out, &d, old.rules.len(), new.rules.len());
            } else if let Some(new) = &new {
                let _ = writeln!(out, "{} rules", new.rules.len());
            }
            let _ = out.flush();
            new
        }
        Err(e) => {
            eprintln!("kb: rebuild failed: {e}; keeping the previous output");
            None
        }
    }
}

/// Runs `kb watch` until interrupted.
pub fn run(args: Args) -> anyhow::Result<i32> {
    // Each rebuild needs about the memory the last one freed: keep it.
    crate::alloc::keep_freed_memory();
    if !args.folders.corpus.is_dir() {
        anyhow::bail!("{}: not a corpus folder", args.folders.corpus.display());
    }
    let corpus = absolute(&args.folders.corpus);
    let out_abs = absolute(&args.folders.out);
    let out_name = out_abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());

    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
    watcher.watch(&corpus, RecursiveMode::Recursive).with_context(|| format!("watching {}", corpus.display()))?;

    let mut kept = None;
    let mut rules = rebuild(&args, current_rules(&args.folders.out).as_ref(), &mut kept);
    println!("watching {} (rebuilding {} on change; Ctrl-C to stop)", args.folders.corpus.display(), args.folders.out.display());
    let debounce = Duration::from_millis(args.debounce_ms.max(10));
    let is_relevant = |ev: &notify::Event| {
        !matches!(ev.kind, notify::EventKind::Access(_)) && ev.paths.iter().any(|p| relevant(p, &out_abs, &out_name))
    };
    loop {
        // Wait for a relevant change…
        match rx.recv() {
            Ok(Ok(ev)) if is_relevant(&ev) => {}
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => {
                eprintln!("kb: watch error: {e}");
                continue;
            }
            Err(_) => anyhow::bail!("the file watcher stopped"),
        }
        // …then until the corpus is quiet.
        loop {
            match rx.recv_timeout(debounce) {
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the file watcher stopped")
                }
            }
        }
        let old = rules.take().or_else(|| current_rules(&args.folders.out));
        rules = rebuild(&args, old.as_ref(), &mut kept).or(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temp_files_and_the_output_folder_are_ignored() {
        let out = Path::new("/w/out");
        assert!(relevant(Path::new("/w/corpus/zh/a.md"), out, "out"));
        assert!(!relevant(Path::new("/w/corpus/zh/.a.md.swp"), out, "out"));
        assert!(!relevant(Path::new("/w/corpus/zh/a.md~"), out, "out"));
        assert!(!relevant(Path::new("/w/corpus/zh/4913"), out, "out"));
        assert!(!relevant(Path::new("/w/corpus/zh/.#a.md"), out, "out"));
        assert!(!relevant(Path::new("/w/out/records.jsonl"), out, "out"));
        assert!(!relevant(Path::new("/w/corpus/.out.kb-staging-12/x"), out, "out"));
    }
}
