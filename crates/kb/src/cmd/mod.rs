//! One module per subcommand: `Args` (clap) and `run(args) -> exit code`.

pub mod align;
pub mod bench;
pub mod build;
pub mod check;
pub mod diff;
pub mod export;
pub mod gen_corpus;
pub mod records;
pub mod search;
pub mod serve;
pub mod watch;

/// The corpus and output folders of the commands that build (`kb build`, `kb watch`).
#[derive(clap::Args)]
pub struct BuildFolders {
    /// The corpus folder (Markdown documents, optional kb.toml).
    #[arg(long, default_value = "corpus")]
    pub corpus: std::path::PathBuf,
    /// The output folder; replaced whole, atomically, when a build succeeds.
    #[arg(long, default_value = "out")]
    pub out: std::path::PathBuf,
}
