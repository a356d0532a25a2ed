//! The `kb` command: a thin layer that parses flags, calls the library
//! crates and prints. One module per subcommand under `cmd/`.

mod alloc;
mod cmd;

use clap::{Parser, Subcommand};

/// kb turns bilingual (Chinese + English) policy documentation into a
/// knowledge base: records, alignment, rules, a search index and a static site.
#[derive(Parser)]
#[command(name = "kb", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build everything from the corpus into the output folder.
    Build(cmd::build::Args),
    /// List the records of the last build.
    Records(cmd::records::Args),
    // kb:commands (each subcommand adds its variant below)
    /// Time full builds of corpora against a read-and-index baseline: per-stage times, docs/s, MB/s, peak memory.
    Bench(cmd::bench::Args),
    /// Export records and rules as NDJSON for Quickwit or Meilisearch (see deploy/README.md).
    Export(cmd::export::Args),
    /// Rebuild on every change to the corpus, printing what changed in the rules.
    Watch(cmd::watch::Args),
    /// Search the records of the last build, in Chinese or English.
    Search(cmd::search::Args),
    /// Check a company profile (subjects → values) against the rules; exit 0 when all pass.
    Check(cmd::check::Args),
    /// Show the rules added, removed and changed between two rule sets or corpora; exit 1 when they differ.
    Diff(cmd::diff::Args),
    /// Report the zh ↔ en alignment of the last build: pairs, confidence, drift.
    Align(cmd::align::Args),
    /// Serve the built site (out/site) on 127.0.0.1 for previewing.
    Serve(cmd::serve::Args),
    /// Write a large, deterministic bilingual corpus for scale tests and benchmarks.
    GenCorpus(cmd::gen_corpus::Args),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0; real errors get one line.
            if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) {
                e.exit();
            }
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("kb: {first} (see `kb --help`)");
            std::process::exit(2);
        }
    };
    let result = match cli.command {
        Command::Build(a) => cmd::build::run(a),
        Command::Records(a) => cmd::records::run(a),
        // kb:dispatch (each subcommand adds its arm below)
        Command::Bench(a) => cmd::bench::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Watch(a) => cmd::watch::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Check(a) => cmd::check::run(a),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Align(a) => cmd::align::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::GenCorpus(a) => cmd::gen_corpus::run(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) if is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("kb: {e:#}");
            std::process::exit(1);
        }
    }
}

/// True when the error is a closed stdout (`kb records | head`): not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
