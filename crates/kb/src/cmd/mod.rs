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
