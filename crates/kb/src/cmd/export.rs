//! `kb export`: the records and rules of a build as NDJSON, for a search
//! cluster (Quickwit, Meilisearch) when a corpus outgrows one machine.
//!
//! One JSON object a line. Every object has:
//!
//! * `type`: `record` or `rule`;
//! * `id`: a document id every engine accepts (`[A-Za-z0-9_-]`, at most 64
//!   bytes): `rule-…` for a rule (its kb id), `rec-` and 24 hex digits of the
//!   blake3 of the kb record id for a record — stable across builds as long as
//!   the record id is;
//! * `kb_id`: kb's own id (`zh/a#3f2c…` or `rule-…`), what `kb search id:…` takes;
//! * the fields of kb's tantivy index, with the same names and contents:
//!   `doc`, `path`, `lang`, `kind`, `text_zh` / `text_en` (the indexed text,
//!   in the field of the record's language), `heading_zh` / `heading_en`,
//!   `subject` and `subject_words`, `scope`, `counterpart`, `confidence`;
//! * `record` (a record's whole JSON, as in `records.jsonl`) or `rule` (a
//!   rule's whole JSON, as in `rules.json`), for display.
//!
//! The Quickwit doc mapping of these objects ships in
//! `deploy/quickwit/kb-index.yaml`; `deploy/README.md` says how to ingest.
//! Records are streamed from `records.jsonl`, one at a time.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use kb_model::alignment::Alignment;
use kb_model::rules::{Rule, RuleSet};
use kb_model::{Lang, Record};
use serde_json::{json, Map, Value};

/// Flags of `kb export`.
#[derive(clap::Args)]
pub struct Args {
    /// The output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The build output folder to export.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Write here (replaced atomically) instead of to standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line (Quickwit, Meilisearch, Elasticsearch bulk tools).
    Ndjson,
}

/// The export id of a kb record id.
pub fn record_doc_id(kb_id: &str) -> String {
    let hex = blake3::hash(kb_id.as_bytes()).to_hex();
    format!("rec-{}", &hex[..24])
}

/// Counterparts, subjects and scopes per record id, as the index has them.
struct Terms {
    counterparts: HashMap<String, (String, f64)>,
    subjects: HashMap<String, Vec<String>>,
    scopes: HashMap<String, Vec<String>>,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl Terms {
    fn new(alignment: Option<&Alignment>, rules: Option<&RuleSet>) -> Terms {
        let counterparts: HashMap<String, (String, f64)> = alignment
            .map(|a| {
                a.counterpart_map().into_iter().map(|(k, (c, conf))| (k.to_string(), (c.to_string(), conf))).collect()
            })
            .unwrap_or_default();
        let mut subjects: HashMap<String, Vec<String>> = HashMap::new();
        let mut scopes: HashMap<String, Vec<String>> = HashMap::new();
        for rule in rules.map(|r| r.rules.as_slice()).unwrap_or_default() {
            // A rule's subjects and scope also go to its record's counterpart,
            // which says the same thing in the other language (as in kb-index).
            let rec = rule.source.record.as_str();
            let ids = std::iter::once(rec).chain(counterparts.get(rec).map(|(c, _)| c.as_str()));
            for id in ids {
                if let Some(s) = &rule.subject {
                    push_unique(subjects.entry(id.to_string()).or_default(), s);
                }
                if !rule.scope.trim().is_empty() {
                    push_unique(scopes.entry(id.to_string()).or_default(), &rule.scope);
                }
            }
        }
        Terms { counterparts, subjects, scopes }
    }
}

fn text_field(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Zh => ("text_zh", "heading_zh"),
        Lang::En => ("text_en", "heading_en"),
    }
}

/// The export object of a record.
fn record_object(r: &Record, terms: &Terms) -> anyhow::Result<Value> {
    let (text, heading) = text_field(r.lang);
    let mut o = Map::new();
    o.insert("type".into(), json!("record"));
    o.insert("id".into(), json!(record_doc_id(&r.id)));
    o.insert("kb_id".into(), json!(r.id));
    o.insert("doc".into(), json!(r.doc));
    o.insert("path".into(), json!(r.path));
    o.insert("lang".into(), json!(r.lang.code()));
    o.insert("kind".into(), json!(r.kind.as_str()));
    o.insert(text.into(), json!(kb_index::indexed_text(r)));
    if !r.heading_path.is_empty() {
        o.insert(heading.into(), json!(r.heading_path.join("\n")));
    }
    if let Some(s) = terms.subjects.get(&r.id) {
        o.insert("subject".into(), json!(s));
        o.insert("subject_words".into(), json!(s));
    }
    if let Some(s) = terms.scopes.get(&r.id) {
        o.insert("scope".into(), json!(s));
    }
    if let Some((c, conf)) = terms.counterparts.get(&r.id) {
        o.insert("counterpart".into(), json!(c));
        o.insert("confidence".into(), json!(conf));
    }
    o.insert("record".into(), serde_json::to_value(r)?);
    Ok(Value::Object(o))
}

/// The export object of a rule; `lang` is its source document's language.
fn rule_object(rule: &Rule, lang: Option<Lang>) -> anyhow::Result<Value> {
    let mut o = Map::new();
    o.insert("type".into(), json!("rule"));
    o.insert("id".into(), json!(rule.id));
    o.insert("kb_id".into(), json!(rule.id));
    o.insert("doc".into(), json!(rule.source.doc));
    o.insert("path".into(), json!(rule.source.path));
    if let Some(l) = lang {
        o.insert("lang".into(), json!(l.code()));
    }
    o.insert("kind".into(), json!("rule"));
    if let Some(zh) = &rule.text.zh {
        o.insert("text_zh".into(), json!(zh));
    }
    if let Some(en) = &rule.text.en {
        o.insert("text_en".into(), json!(en));
    }
    if let Some(s) = &rule.subject {
        o.insert("subject".into(), json!([s]));
        o.insert("subject_words".into(), json!([s]));
    }
    let scopes: Vec<&str> = std::iter::once(rule.scope.as_str())
        .chain(rule.scope_other.as_deref())
        .filter(|s| !s.trim().is_empty())
        .collect();
    if !scopes.is_empty() {
        o.insert("scope".into(), json!(scopes));
    }
    if let Some(c) = &rule.source.counterpart {
        o.insert("counterpart".into(), json!(c));
    }
    o.insert("confidence".into(), json!(rule.confidence));
    o.insert("rule".into(), serde_json::to_value(rule)?);
    Ok(Value::Object(o))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let v =
        serde_json::from_reader(std::io::BufReader::new(f)).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(v))
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    /// Record objects.
    pub records: usize,
    /// Rule objects.
    pub rules: usize,
}

/// Writes the NDJSON export of the build output folder `out` to `w`.
pub fn export_ndjson(out: &Path, w: &mut impl Write) -> anyhow::Result<Exported> {
    let records_path = out.join(kb_build::RECORDS_FILE);
    if !records_path.is_file() {
        bail!(
            "no build output in {} (no {}); run `kb build --out {}` first",
            out.display(),
            kb_build::RECORDS_FILE,
            out.display()
        );
    }
    let alignment: Option<Alignment> = read_json(&out.join("alignment.json"))?;
    let rules: Option<RuleSet> = read_json(&out.join("rules.json"))?;
    let terms = Terms::new(alignment.as_ref(), rules.as_ref());
    drop(alignment);

    let mut n = Exported::default();
    let mut doc_lang: HashMap<String, Lang> = HashMap::new();
    let f = std::fs::File::open(&records_path).with_context(|| format!("opening {}", records_path.display()))?;
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", records_path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: Record = serde_json::from_str(&line)
            .with_context(|| format!("malformed record at {}:{}", records_path.display(), i + 1))?;
        if !doc_lang.contains_key(&r.doc) {
            doc_lang.insert(r.doc.clone(), r.lang);
        }
        serde_json::to_writer(&mut *w, &record_object(&r, &terms)?)?;
        w.write_all(b"\n")?;
        n.records += 1;
    }
    for rule in rules.iter().flat_map(|r| r.rules.iter()) {
        serde_json::to_writer(&mut *w, &rule_object(rule, doc_lang.get(rule.source.doc.as_str()).copied())?)?;
        w.write_all(b"\n")?;
        n.rules += 1;
    }
    w.flush()?;
    Ok(n)
}

/// Runs `kb export`.
pub fn run(args: Args) -> anyhow::Result<i32> {
    match args.format {
        Format::Ndjson => {}
    }
    match &args.output {
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            export_ndjson(&args.out, &mut w)?;
        }
        Some(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
            let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
            let result = (|| {
                let f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
                let mut w = std::io::BufWriter::new(f);
                let n = export_ndjson(&args.out, &mut w)?;
                let f =
                    w.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing {}", tmp.display()))?;
                f.sync_all().with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("moving the export into place at {}", path.display()))?;
                Ok::<_, anyhow::Error>(n)
            })();
            match result {
                Ok(n) => eprintln!("exported {} records and {} rules to {}", n.records, n.rules, path.display()),
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_safe_document_ids() {
        let id = record_doc_id("zh/tencent-cloud-partner-application#3f2c0a1b9e77");
        assert!(id.len() <= 64);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{id}");
        assert_ne!(id, record_doc_id("zh/tencent-cloud-partner-application#3f2c0a1b9e78"));
    }
}
