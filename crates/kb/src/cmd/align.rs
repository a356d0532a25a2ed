//! `kb align`: report the zh ↔ en alignment of the last build — document
//! pairs with their confidence and evidence, unpaired documents, record
//! pairing counts, and every drift item with both texts side by side and
//! their source lines. `--json` prints `alignment.json` as it is.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use kb_model::alignment::{Alignment, Evidence};
use kb_model::Record;

/// Flags of `kb align`.
#[derive(clap::Args)]
pub struct Args {
    /// The build output folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Print alignment.json instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Also list every record pairing with its confidence.
    #[arg(long)]
    pub records: bool,
    /// Only this document pair (a document id, or a part of it, of either side).
    #[arg(long)]
    pub doc: Option<String>,
}

/// Runs `kb align`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let path = args.out.join(kb_align::ALIGNMENT_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no alignment (run `kb build` first): cannot read {}", path.display()))?;
    if args.json {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
        return Ok(0);
    }
    let a: Alignment =
        serde_json::from_str(&text).with_context(|| format!("malformed alignment in {}", path.display()))?;
    let records = kb_build::read_records(&args.out)?;
    let by_id: HashMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    report(&mut out, &a, &by_id, &args)?;
    out.flush()?;
    Ok(0)
}

fn wanted(filter: Option<&str>, zh: &str, en: &str) -> bool {
    filter.is_none_or(|f| zh.contains(f) || en.contains(f))
}

fn report(out: &mut impl Write, a: &Alignment, by_id: &HashMap<&str, &Record>, args: &Args) -> anyhow::Result<()> {
    let filter = args.doc.as_deref();
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).unwrap_or(120).clamp(60, 240);
    let docs: Vec<_> = a.documents.iter().filter(|d| wanted(filter, &d.zh, &d.en)).collect();
    writeln!(out, "Document pairs ({}):", docs.len())?;
    for d in docs {
        let label = if d.confidence >= kb_align::docs::TRANSLATION { "translation" } else { "loose counterpart" };
        writeln!(out, "  {} ↔ {}  confidence {:.2} ({label})", d.zh, d.en, d.confidence)?;
        writeln!(out, "      {}", evidence_line(&d.evidence))?;
        let recs: Vec<_> = a
            .records
            .iter()
            .filter(|p| {
                p.zh.as_deref().is_some_and(|z| doc_of(z) == d.zh) || p.en.as_deref().is_some_and(|e| doc_of(e) == d.en)
            })
            .collect();
        let both = recs.iter().filter(|p| p.zh.is_some() && p.en.is_some()).count();
        let zh_only = recs.iter().filter(|p| p.en.is_none()).count();
        let en_only = recs.iter().filter(|p| p.zh.is_none()).count();
        let mean = if both == 0 {
            0.0
        } else {
            recs.iter().filter(|p| p.zh.is_some() && p.en.is_some()).map(|p| p.confidence).sum::<f64>() / both as f64
        };
        let secs = a.sections.iter().filter(|s| s.zh_doc == d.zh && s.en_doc == d.en);
        let (mut sp, mut st) = (0, 0);
        for s in secs {
            st += 1;
            if s.zh.is_some() && s.en.is_some() {
                sp += 1;
            }
        }
        writeln!(
            out,
            "      sections: {sp} paired of {st} pairings; records: {both} paired (mean confidence {mean:.2}), {zh_only} zh only, {en_only} en only"
        )?;
        if args.records {
            for p in &recs {
                let side = |id: &Option<String>, all: &Vec<String>| match id {
                    None => "—".to_string(),
                    Some(id) => {
                        let ids: Vec<&str> =
                            if all.is_empty() { vec![id.as_str()] } else { all.iter().map(String::as_str).collect() };
                        ids.iter().map(|i| short(by_id, i)).collect::<Vec<_>>().join(" + ")
                    }
                };
                writeln!(
                    out,
                    "        {:.2}  {}  ↔  {}",
                    p.confidence,
                    side(&p.zh, &p.zh_all),
                    side(&p.en, &p.en_all)
                )?;
            }
        }
    }
    let unpaired: Vec<_> = a.unpaired_documents.iter().filter(|d| filter.is_none_or(|f| d.contains(f))).collect();
    if !unpaired.is_empty() {
        writeln!(out, "\nUnpaired documents ({}):", unpaired.len())?;
        for d in unpaired {
            writeln!(out, "  {d}")?;
        }
    }
    let drift: Vec<_> = a.drift.iter().filter(|d| wanted(filter, &d.zh_doc, &d.en_doc)).collect();
    writeln!(out, "\nDrift ({}):", drift.len())?;
    let col = (width - 5) / 2;
    for d in drift {
        let rz = d.zh.as_deref().and_then(|id| by_id.get(id).copied());
        let re = d.en.as_deref().and_then(|id| by_id.get(id).copied());
        let loc = |r: Option<&Record>, doc: &str| r.map(|r| r.location()).unwrap_or_else(|| format!("{doc} (none)"));
        writeln!(out, "\n  [{}] {}", d.kind, d.detail)?;
        let lz = fit(&format!("zh  {}", loc(rz, &d.zh_doc)), col);
        writeln!(out, "  {}{} │ en  {}", lz, pad(&lz, col), loc(re, &d.en_doc))?;
        let tz = wrap(&rz.map(display_text).unwrap_or_else(|| "—".into()), col);
        let te = wrap(&re.map(display_text).unwrap_or_else(|| "—".into()), col);
        for k in 0..tz.len().max(te.len()).min(8) {
            let l = tz.get(k).map(String::as_str).unwrap_or("");
            let r = te.get(k).map(String::as_str).unwrap_or("");
            writeln!(out, "  {}{} │ {}", l, pad(l, col), r)?;
        }
    }
    Ok(())
}

fn doc_of(id: &str) -> &str {
    id.split_once('#').map(|(d, _)| d).unwrap_or(id)
}

fn short(by_id: &HashMap<&str, &Record>, id: &str) -> String {
    match by_id.get(id) {
        Some(r) => format!("{} {}", r.location(), fit(&display_text(r), 40)),
        None => id.to_string(),
    }
}

fn evidence_line(ev: &[Evidence]) -> String {
    ev.iter()
        .map(|e| {
            if e.detail.is_empty() {
                format!("{} {:.2}", e.signal, e.score)
            } else {
                format!("{} {:.2} ({})", e.signal, e.score, e.detail)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The record as a person reads it: its item marker and its text on one line.
fn display_text(r: &Record) -> String {
    let mut text = r.text.replace('\n', " ⏎ ");
    if text.trim().is_empty() {
        text = r.images.iter().map(|i| format!("[image {}]", i.src)).collect::<Vec<_>>().join(" ");
    }
    match &r.ordinal {
        Some(o) if !text.trim_start().starts_with(o.trim()) => format!("{} {}", o.trim(), text),
        _ => text,
    }
}

/// Display width: East Asian wide characters take two columns.
fn width_of(c: char) -> usize {
    let u = c as u32;
    if (0x1100..=0x115f).contains(&u)
        || (0x2e80..=0xa4cf).contains(&u)
        || (0xac00..=0xd7a3).contains(&u)
        || (0xf900..=0xfaff).contains(&u)
        || (0xfe30..=0xfe4f).contains(&u)
        || (0xff00..=0xff60).contains(&u)
        || (0xffe0..=0xffe6).contains(&u)
    {
        2
    } else {
        1
    }
}

fn str_width(s: &str) -> usize {
    s.chars().map(width_of).sum()
}

fn pad(s: &str, col: usize) -> String {
    " ".repeat(col.saturating_sub(str_width(s)))
}

fn fit(s: &str, col: usize) -> String {
    if str_width(s) <= col {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        if w + width_of(c) + 1 > col {
            break;
        }
        w += width_of(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Wraps text into lines of at most `col` display columns, breaking at
/// spaces where there are any.
fn wrap(s: &str, col: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut w = 0;
    for word in s.split_inclusive(' ') {
        let ww = str_width(word);
        if w + ww > col && !cur.is_empty() && ww <= col {
            lines.push(cur.trim_end().to_string());
            cur.clear();
            w = 0;
        }
        if ww > col {
            for c in word.chars() {
                if w + width_of(c) > col {
                    lines.push(std::mem::take(&mut cur));
                    w = 0;
                }
                w += width_of(c);
                cur.push(c);
            }
        } else {
            cur.push_str(word);
            w += ww;
        }
    }
    if !cur.trim().is_empty() {
        lines.push(cur.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_counts_chinese_characters_as_two_columns() {
        let lines = wrap("加入腾讯蓝鲸合作伙伴后，如开展合作期间违反相关管理制度", 20);
        assert!(lines.iter().all(|l| str_width(l) <= 20), "{lines:?}");
        assert_eq!(lines.concat(), "加入腾讯蓝鲸合作伙伴后，如开展合作期间违反相关管理制度");
        let lines = wrap("After joining Tencent BlueKing Partner, if the relevant", 20);
        assert!(lines.iter().all(|l| str_width(l) <= 20), "{lines:?}");
        assert_eq!(pad("蓝鲸", 6).len(), 2);
    }
}
