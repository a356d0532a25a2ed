//! Index build time and query latency of `kb-index`.
//!
//! ```text
//! cargo bench -p kb-index --bench search                 # shipped corpus + ../shared/corpora/* (or $KB_CORPORA)
//! cargo bench -p kb-index --bench search -- DIR [DIR…]   # these corpus folders
//! ```
//!
//! For each corpus: parse it with kb-parse (not timed as part of the index),
//! build the index `BUILDS` times into a temporary folder (median and min),
//! open it, then run a fixed query set — 15 Chinese and 15 English queries,
//! some phrases, some field queries — `ROUNDS` times each through
//! [`SearchIndex::search`] (limit 10, snippets and counterparts included) and
//! report p50 / p99 / max latency per language. The jieba dictionary load is
//! timed on its own: it is paid once per process, by the first Chinese query.
//! See crates/index/BENCH.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kb_index::{build_index, BuildMeta, SearchIndex, SearchOptions};

const BUILDS: usize = 3;
const ROUNDS: usize = 20;

const ZH_QUERIES: &[&str] = &[
    "注册资本",
    "认证工程师",
    "合作伙伴",
    "服务商 审核",
    "\"负载均衡\"",
    "配置文件",
    "插件",
    "数据库 迁移",
    "上游",
    "证书",
    "性能 测试",
    "错误 处理",
    "安装部署",
    "资本 OR 资金",
    "kind:faq AND 如何",
];

const EN_QUERIES: &[&str] = &[
    "registered capital",
    "certified engineers",
    "partner",
    "review time",
    "\"load balancing\"",
    "configuration file",
    "plugin",
    "database migration",
    "upstream",
    "certificate",
    "performance test",
    "error handling",
    "install deploy",
    "capital OR fund",
    "kind:faq AND how",
];

fn corpora() -> Vec<PathBuf> {
    let args: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).map(PathBuf::from).collect();
    if !args.is_empty() {
        return args;
    }
    let mut v = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus")];
    // The real corpora beside the repository (`KB_CORPORA` points elsewhere).
    let shared = std::env::var_os("KB_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    if let Ok(rd) = std::fs::read_dir(&shared) {
        let mut shared: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        shared.sort();
        v.extend(shared);
    }
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let t = Instant::now();
    let _ = jieba_rs::Jieba::new();
    println!("jieba dictionary load: {:.1} ms (once per process, on the first Chinese text)", ms(t.elapsed()));
    println!();
    println!(
        "{:<28} {:>6} {:>8} {:>10} {:>10} {:>8}   {:>32}   {:>32}",
        "corpus",
        "docs",
        "records",
        "build med",
        "build min",
        "open",
        "zh: matched, p50 / p99 / max ms",
        "en: matched, p50 / p99 / max ms"
    );
    for dir in corpora() {
        let name = dir.canonicalize().unwrap_or(dir.clone());
        let name = name.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let corpus = match kb_parse::load_corpus(&dir) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping {}: {e}", dir.display());
                continue;
            }
        };
        let records: Vec<&kb_model::Record> = corpus.documents.iter().flat_map(|d| d.records.iter()).collect();
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut builds = Vec::new();
        for i in 0..BUILDS {
            let idx = tmp.path().join(format!("index-{i}"));
            let t = Instant::now();
            build_index(&idx, records.iter().copied(), None, None, &BuildMeta::default()).expect("index builds");
            builds.push(t.elapsed());
        }
        builds.sort();
        let idx = tmp.path().join("index-0");
        let t = Instant::now();
        let index = SearchIndex::open_dir(&idx).expect("index opens");
        let open = t.elapsed();

        let lat = |queries: &[&str]| {
            let mut v = Vec::new();
            let mut matched = 0usize;
            for _ in 0..ROUNDS {
                for q in queries {
                    let t = Instant::now();
                    let found = index.search(&SearchOptions::new(*q)).expect("query runs");
                    matched += usize::from(!found.hits.is_empty());
                    std::hint::black_box(found.hits.len());
                    v.push(t.elapsed());
                }
            }
            v.sort();
            format!(
                "{:>2}/{} hit {:>6.2} / {:>6.2} / {:>6.2}",
                matched / ROUNDS,
                queries.len(),
                ms(percentile(&v, 0.5)),
                ms(percentile(&v, 0.99)),
                ms(*v.last().expect("queries ran"))
            )
        };
        let zh = lat(ZH_QUERIES);
        let en = lat(EN_QUERIES);
        println!(
            "{:<28} {:>6} {:>8} {:>8.0}ms {:>8.0}ms {:>6.1}ms   {:>32}   {:>32}",
            name,
            corpus.documents.len(),
            records.len(),
            ms(builds[builds.len() / 2]),
            ms(builds[0]),
            ms(open),
            zh,
            en
        );
    }
}
