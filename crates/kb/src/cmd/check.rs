//! `kb check`: check a company profile against the extracted rules.
//!
//! Also home of [`load_rules`], which `kb diff` shares: a rules file, an
//! output folder, or a corpus folder (parsed, aligned and extracted in
//! memory; nothing is written).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use kb_model::rules::{Rule, RuleSet};
use kb_rules::{CheckResult, Profile, Status};

/// Flags of `kb check`.
#[derive(clap::Args)]
pub struct Args {
    /// The company profile: a JSON object of subjects → values, e.g.
    /// {"registered_capital": 2000000, "team_size": 25, "certified_engineers": {"automation": 3}}.
    #[arg(long)]
    pub profile: PathBuf,
    /// Where the rules come from: a build output folder, a rules.json file, or a corpus folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Only the rules of this scope (a market or partner category, e.g. 微信小程序市场).
    #[arg(long)]
    pub scope: Option<String>,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Reads rules from `path`: a rules file (`rules.json` or a per-scope file),
/// an output folder holding `rules.json`, or a corpus folder, which is
/// parsed, aligned and extracted in memory without writing anything.
pub fn load_rules(path: &Path) -> anyhow::Result<RuleSet> {
    if !path.exists() {
        bail!(
            "{}: no such file or folder (give a rules.json, a build output folder or a corpus folder)",
            path.display()
        );
    }
    if path.is_file() || path.join(kb_rules::RULES_FILE).is_file() {
        return Ok(kb_rules::read_rules(path)?);
    }
    if kb_build::is_output_dir(path) {
        bail!(
            "{} is a build output without {}; run `kb build` again to extract the rules",
            path.display(),
            kb_rules::RULES_FILE
        );
    }
    let corpus = kb_parse::load_corpus(path).with_context(|| format!("reading corpus {}", path.display()))?;
    kb_align::check_manifest(&corpus.documents, &corpus.manifest)
        .with_context(|| format!("reading {}", path.join("kb.toml").display()))?;
    let alignment = kb_align::align(&corpus.documents, &corpus.manifest);
    Ok(kb_rules::extract(&corpus.documents, Some(&alignment)))
}

/// Formats a number, with the 万 / 亿 form beside large amounts in CNY.
pub fn show_value(r: &Rule) -> String {
    let base = r.describe();
    match (r.unit.as_deref(), r.value.as_ref().and_then(|v| v.as_f64())) {
        (Some("CNY"), Some(x)) if x >= 100_000_000.0 && (x / 100_000_000.0).fract() == 0.0 => {
            format!("{base} ({}亿)", kb_model::rules::fmt_num(x / 100_000_000.0))
        }
        (Some("CNY"), Some(x)) if x >= 10_000.0 && (x / 10_000.0).fract() == 0.0 => {
            format!("{base} ({}万)", kb_model::rules::fmt_num(x / 10_000.0))
        }
        _ => base,
    }
}

/// Writes a rule's citation: source location and both texts.
pub fn write_citation(out: &mut impl Write, r: &Rule, indent: &str) -> std::io::Result<()> {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    writeln!(out, "{indent}source: {} ({})", r.source.location(), r.source.record)?;
    for (lang, text) in [("zh", &r.text.zh), ("en", &r.text.en)] {
        match text {
            Some(t) => writeln!(out, "{indent}{lang}: {}", one_line(t))?,
            None => writeln!(out, "{indent}{lang}: (no aligned counterpart)")?,
        }
    }
    Ok(())
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Unknown => "UNKNOWN",
        Status::Manual => "MANUAL",
    }
}

fn write_result(out: &mut impl Write, res: &CheckResult) -> std::io::Result<()> {
    let r = &res.rule;
    let have = match (&res.actual, res.status) {
        (_, Status::Manual) => "check by hand".to_string(),
        (Some(v), Status::Unknown) => format!("profile has {v}, which does not fit"),
        (Some(v), _) => format!("profile: {v}"),
        (None, _) => format!("not in profile (add \"{}\")", r.variable().unwrap_or_default()),
    };
    let cond = if r.is_qualitative() { r.clause.to_string() } else { show_value(r) };
    writeln!(out, "  {:<8} {cond}   [{have}; confidence {:.2}]", status_label(res.status), r.confidence)?;
    write_citation(out, r, "           ")
}

/// Runs `kb check`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let profile = Profile::load(&args.profile)?;
    let rules = load_rules(&args.out)?;
    let report = kb_rules::check(&rules, &profile, args.scope.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let v = serde_json::json!({
            "profile": args.profile.display().to_string(),
            "rules": args.out.display().to_string(),
            "ok": report.all_pass(),
            "report": report,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        let mut scope = None;
        for res in &report.results {
            if scope != Some(res.rule.scope.as_str()) {
                scope = Some(res.rule.scope.as_str());
                match &res.rule.scope_other {
                    Some(other) => writeln!(out, "== {} / {other} ==", res.rule.scope)?,
                    None => writeln!(out, "== {} ==", res.rule.scope)?,
                }
            }
            write_result(&mut out, res)?;
        }
        writeln!(
            out,
            "{} pass, {} fail, {} unknown, {} to check by hand: {}",
            report.pass,
            report.fail,
            report.unknown,
            report.manual,
            if report.all_pass() { "every rule that can be checked passes" } else { "not every rule passes" }
        )?;
    }
    out.flush()?;
    Ok(if report.all_pass() { 0 } else { 1 })
}
