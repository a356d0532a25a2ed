//! `kb search`: full-text search of the last build, in Chinese or English.
//!
//! Prints ranked hits: the record's source file and lines, kind and heading
//! path, a snippet with the matching words highlighted (bold in a terminal,
//! `**…**` when the output is not a terminal or `--color never`), and the
//! aligned record in the other language underneath (`↳`). `--json` prints one
//! JSON object a hit instead.
//!
//! Exit status, as grep: 0 when something matched, 1 when nothing did (said
//! plainly on stderr), 2 on an error (bad query, missing or stale index).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;
use kb_index::{Hit, SearchIndex, SearchOptions, Snippet};
use kb_model::{Lang, Record, RecordKind};

/// Flags of `kb search`.
#[derive(clap::Args)]
pub struct Args {
    /// The query: words (all must occur), "quoted phrases", OR, -word,
    /// field:value (fields: text, heading, id, doc, path, lang, kind,
    /// subject, scope). Chinese needs no spaces: 认证工程师 = 认证 AND 工程师.
    pub query: String,
    /// The build output folder holding index/.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Only records in this language (zh | en).
    #[arg(long)]
    pub lang: Option<Lang>,
    /// Only records of this kind (requirement, step, faq, table_row, …).
    #[arg(long)]
    pub kind: Option<RecordKind>,
    /// Only records of this document (id, or a part of its path).
    #[arg(long)]
    pub doc: Option<String>,
    /// At most this many hits.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// One JSON object a hit instead of text.
    #[arg(long)]
    pub json: bool,
    /// Highlight with terminal bold: auto (when stdout is a terminal), always, never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// Print timings and whether the Chinese dictionary was loaded, on stderr.
    #[arg(long)]
    pub stats: bool,
}

/// Runs `kb search`; errors are printed here so they exit 2, apart from "no match" (1).
pub fn run(args: Args) -> anyhow::Result<i32> {
    match search(&args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("kb: {e:#}");
            Ok(2)
        }
    }
}

fn search(args: &Args) -> anyhow::Result<i32> {
    let t0 = std::time::Instant::now();
    let lang = args.lang;
    let kind = args.kind;
    if args.limit == 0 {
        bail!("--limit must be at least 1");
    }
    let index = SearchIndex::open(&args.out)?;
    let opened = t0.elapsed();
    let opts = SearchOptions { query: args.query.clone(), lang, kind, doc: args.doc.clone(), limit: args.limit };
    let found = index.search(&opts)?;

    let stdout = std::io::stdout();
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, hit) in found.hits.iter().enumerate() {
        if args.json {
            serde_json::to_writer(&mut out, &hit_json(i + 1, hit))?;
            writeln!(out)?;
        } else {
            write_hit(&mut out, i + 1, hit, color)?;
        }
    }
    out.flush()?;
    drop(out);

    if args.stats {
        eprintln!(
            "stats: {} records indexed; open {:.1} ms, search {:.1} ms, total {:.1} ms; jieba dictionary {}",
            index.num_records(),
            opened.as_secs_f64() * 1e3,
            found.elapsed.as_secs_f64() * 1e3,
            t0.elapsed().as_secs_f64() * 1e3,
            if kb_index::jieba_loaded() { "loaded" } else { "not loaded" }
        );
    }
    if found.hits.is_empty() {
        let what = match lang {
            Some(Lang::Zh) => "no Chinese records",
            Some(Lang::En) => "no English records",
            None => "no records",
        };
        let mut msg = format!("{what} match {:?}", args.query);
        if let (Some(n), Some(l)) = (found.other_lang_total.filter(|n| *n > 0), lang) {
            let other = if l.other() == Lang::Zh { "Chinese" } else { "English" };
            msg.push_str(&format!(
                " ({n} {other} record{} do; drop --lang to see them)",
                if n == 1 { "" } else { "s" }
            ));
        }
        eprintln!("{msg}");
        return Ok(1);
    }
    let listed: usize = found.hits.iter().map(|h| 1 + h.counterpart.as_ref().is_some_and(|c| c.matched) as usize).sum();
    if found.total > listed && !args.json {
        eprintln!("{} of {} matching records shown; use --limit for more", listed, found.total);
    }
    Ok(0)
}

const BOLD: &str = "\x1b[1;31m";
const DIM: &str = "\x1b[2m";
const LOC: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

fn write_hit(out: &mut impl Write, rank: usize, hit: &Hit, color: bool) -> std::io::Result<()> {
    let r = &hit.record;
    let (loc, dim, reset) = if color { (LOC, DIM, RESET) } else { ("", "", "") };
    write!(out, "{rank}. {loc}{}{reset} [{}] {}", r.location(), r.lang, r.kind)?;
    if !r.heading_path.is_empty() {
        write!(out, "  {dim}{}{reset}", r.heading_path_str())?;
    }
    writeln!(out)?;
    let marked = if color { hit.snippet.marked(BOLD, RESET) } else { hit.snippet.marked("**", "**") };
    writeln!(out, "   {}", one_line(&marked))?;
    if !hit.subjects.is_empty() {
        writeln!(out, "   {dim}subjects: {}{reset}", hit.subjects.join(", "))?;
    }
    if let Some(c) = &hit.counterpart {
        let also = if c.matched { ", also matches" } else { "" };
        writeln!(
            out,
            "   ↳ {loc}{}{reset} [{}] {dim}(aligned {:.2}{also}){reset}",
            c.record.location(),
            c.record.lang,
            c.confidence
        )?;
        writeln!(out, "     {}", one_line(&truncate(&c.record.text, 200)))?;
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.trim().replace('\n', " ⏎ ")
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

fn record_json(r: &Record) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "doc": r.doc, "path": r.path, "lines": r.lines, "lang": r.lang,
        "kind": r.kind, "heading_path": r.heading_path, "text": r.text,
    })
}

/// Highlights as character offsets into the snippet text.
fn snippet_json(s: &Snippet) -> serde_json::Value {
    let chars = |b: usize| s.text[..b].chars().count();
    let hl: Vec<[usize; 2]> = s.highlights.iter().map(|h| [chars(h.start), chars(h.end)]).collect();
    serde_json::json!({ "text": s.text, "highlights": hl, "cut_start": s.cut_start, "cut_end": s.cut_end })
}

fn hit_json(rank: usize, hit: &Hit) -> serde_json::Value {
    let r = &hit.record;
    let counterpart = match &hit.counterpart {
        Some(c) => {
            let mut v = record_json(&c.record);
            let o = v.as_object_mut().expect("an object");
            o.insert("confidence".into(), serde_json::json!(c.confidence));
            o.insert("matched".into(), c.matched.into());
            v
        }
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "rank": rank, "score": hit.score,
        "id": r.id, "doc": r.doc, "path": r.path, "lines": r.lines, "lang": r.lang,
        "kind": r.kind, "heading_path": r.heading_path, "text": r.text,
        "snippet": snippet_json(&hit.snippet),
        "subjects": hit.subjects, "scopes": hit.scopes,
        "counterpart": counterpart,
    })
}
