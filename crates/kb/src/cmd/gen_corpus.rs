//! `kb gen-corpus`: write a large, deterministic, realistic bilingual corpus
//! (for scale tests and benchmarks).

use std::path::PathBuf;

use anyhow::{bail, Context};

/// Flags of `kb gen-corpus`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to write the corpus (`zh/…`, `en/…`); must not exist or be empty.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of documents (zh and en together).
    #[arg(long, default_value_t = 20_000)]
    pub docs: usize,
    /// Seed: the same seed gives the same corpus, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Runs `kb gen-corpus`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    if args.out.exists() && std::fs::read_dir(&args.out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty; choose a new folder", args.out.display());
    }
    let stats = kb_gen::generate(&args.out, &kb_gen::Spec { documents: args.docs, seed: args.seed })
        .with_context(|| format!("generating a corpus in {}", args.out.display()))?;
    println!(
        "wrote {} documents ({} zh/en pairs, {:.1} MB) to {}",
        stats.documents,
        stats.pairs,
        stats.bytes as f64 / 1e6,
        args.out.display()
    );
    Ok(0)
}
