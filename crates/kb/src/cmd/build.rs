//! `kb build`: run the whole pipeline on a corpus.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

/// Flags of `kb build`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub folders: super::BuildFolders,
    /// Print nothing on success.
    #[arg(long, short, conflicts_with = "json")]
    pub quiet: bool,
    /// Print the build report as one JSON object (stages, times, counts).
    #[arg(long)]
    pub json: bool,
    /// Ignore the build cache of the previous output: parse, index and
    /// render every document again (the result is the same either way).
    #[arg(long)]
    pub full: bool,
}

/// A spinner naming the running stage, on a terminal only, shown once the
/// build has taken a second.
fn progress() -> Option<(indicatif::ProgressBar, kb_build::StageHook)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(120));
        }
    });
    let b = bar.clone();
    let hook: kb_build::StageHook = Arc::new(move |stage| b.set_message(format!("{stage}…")));
    Some((bar, hook))
}

/// Runs `kb build`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let mut opts = kb_build::BuildOptions::new(&args.folders.corpus, &args.folders.out);
    opts.full = args.full;
    // The process exits right after: leave the old output to a background
    // `rm` and the memory to the kernel.
    opts.defer_cleanup = true;
    opts.skip_free = true;
    let bar = if args.quiet || args.json { None } else { progress() };
    if let Some((_, hook)) = &bar {
        opts.on_stage = Some(hook.clone());
    }
    let result = kb_build::build(&opts);
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
    let report = result.with_context(|| format!("building {}", args.folders.corpus.display()))?;
    if let Some(old) = &report.old_output {
        kb_build::dispose_in_background(old);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else if !args.quiet {
        print!("{}", report.summary());
    }
    Ok(0)
}
