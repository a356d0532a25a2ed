//! `kb diff`: what changed in the rules between two versions of the docs.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use kb_model::rules::Rule;

use super::check::{load_rules, show_value, write_citation};

/// Flags of `kb diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The old side: a rules.json file, a build output folder, or a corpus folder.
    pub old: PathBuf,
    /// The new side: a rules.json file, a build output folder, or a corpus folder.
    pub new: PathBuf,
    /// Print the difference as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn cond(r: &Rule) -> String {
    if r.is_qualitative() {
        r.clause.to_string()
    } else {
        show_value(r)
    }
}

/// Runs `kb diff`; exits 0 when the rules are the same, 1 when they differ.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let old = load_rules(&args.old).with_context(|| format!("old side {}", args.old.display()))?;
    let new = load_rules(&args.new).with_context(|| format!("new side {}", args.new.display()))?;
    let d = kb_rules::diff(&old, &new);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let v = serde_json::json!({
            "old": args.old.display().to_string(),
            "new": args.new.display().to_string(),
            "added": d.added,
            "removed": d.removed,
            "changed": d.changed,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &d, old.rules.len(), new.rules.len())?;
    }
    out.flush()?;
    Ok(if d.is_empty() { 0 } else { 1 })
}

/// Writes a rule difference as `kb diff` shows it: each changed rule with
/// its old and new citation, each added and removed rule, and a count line
/// (`old_rules → new_rules` are the sizes of the two rule sets).
pub fn write_text(
    out: &mut impl Write,
    d: &kb_rules::diff::RuleDiff,
    old_rules: usize,
    new_rules: usize,
) -> std::io::Result<()> {
    let indent = "           ";
    for c in &d.changed {
        writeln!(out, "changed  [{}] {} → {}  ({})", c.new.scope, cond(&c.old), cond(&c.new), c.fields.join(", "))?;
        writeln!(out, "{indent}old:")?;
        write_citation(&mut *out, &c.old, &format!("{indent}  "))?;
        writeln!(out, "{indent}new:")?;
        write_citation(&mut *out, &c.new, &format!("{indent}  "))?;
    }
    for r in &d.added {
        writeln!(out, "added    [{}] {}", r.scope, cond(r))?;
        write_citation(&mut *out, r, indent)?;
    }
    for r in &d.removed {
        writeln!(out, "removed  [{}] {}", r.scope, cond(r))?;
        write_citation(&mut *out, r, indent)?;
    }
    writeln!(
        out,
        "{} changed, {} added, {} removed ({} → {} rules)",
        d.changed.len(),
        d.added.len(),
        d.removed.len(),
        old_rules,
        new_rules
    )?;
    Ok(())
}
