//! `kb records`: list the records of the last build, readably or as JSON.

use std::io::Write;
use std::path::PathBuf;

use kb_model::{Lang, RecordKind};

/// Flags of `kb records`.
#[derive(clap::Args)]
pub struct Args {
    /// The build output folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Only records of this document (id, or a part of its path).
    #[arg(long)]
    pub doc: Option<String>,
    /// Only records of this kind (requirement, step, faq, table_row, note, …).
    #[arg(long)]
    pub kind: Option<RecordKind>,
    /// Only records in this language (zh | en).
    #[arg(long)]
    pub lang: Option<Lang>,
    /// One JSON object a line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `kb records`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let kind = args.kind;
    let lang = args.lang;
    let records = kb_build::read_records(&args.out)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut shown = 0usize;
    let mut last_doc = String::new();
    for r in records.iter().filter(|r| {
        kind.is_none_or(|k| r.kind == k)
            && lang.is_none_or(|l| r.lang == l)
            && args.doc.as_deref().is_none_or(|d| r.doc == d || r.path.contains(d))
    }) {
        shown += 1;
        if args.json {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
            continue;
        }
        if r.doc != last_doc {
            writeln!(out, "== {} ({}) ==", r.path, r.lang)?;
            last_doc = r.doc.clone();
        }
        let lines =
            if r.lines[0] == r.lines[1] { format!("{}", r.lines[0]) } else { format!("{}-{}", r.lines[0], r.lines[1]) };
        let ord = r.ordinal.as_deref().map(|o| format!("{o} ")).unwrap_or_default();
        let text: String = r.text.replace('\n', " ⏎ ");
        writeln!(out, "{:>7}  {:<12} {}{}", lines, r.kind.as_str(), ord, truncate(&text, 100))?;
        if !r.heading_path.is_empty() && matches!(r.kind, RecordKind::Requirement | RecordKind::Step | RecordKind::Faq)
        {
            writeln!(out, "{:>7}  {:<12} ↳ {}", "", "", r.heading_path_str())?;
        }
    }
    out.flush()?;
    if shown == 0 && !args.json {
        eprintln!("no records match");
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}
