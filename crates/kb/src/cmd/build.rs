//! `kb build`: run the whole pipeline on a corpus.

use std::path::PathBuf;

use anyhow::Context;

/// Flags of `kb build`.
#[derive(clap::Args)]
pub struct Args {
    /// The corpus folder (Markdown documents, optional kb.toml).
    #[arg(long, default_value = "corpus")]
    pub corpus: PathBuf,
    /// The output folder; replaced whole, atomically, when the build succeeds.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `kb build`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let opts = kb_build::BuildOptions::new(&args.corpus, &args.out);
    let report = kb_build::build(&opts)
        .with_context(|| format!("building {}", args.corpus.display()))?;
    if !args.quiet {
        print!("{}", report.summary());
    }
    Ok(0)
}
