//! One module per subcommand: `Args` (clap) and `run(args) -> exit code`.

pub mod build;
pub mod records;
pub mod gen_corpus;
pub mod serve;
pub mod align;
pub mod check;
pub mod diff;
pub mod search;
pub mod watch;
pub mod bench;
pub mod export;
