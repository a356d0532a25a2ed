//! Reading a corpus folder: finding documents, decoding them, reading `kb.toml`.

use std::path::{Path, PathBuf};

use kb_model::manifest::Manifest;
use kb_model::Document;
use rayon::prelude::*;

use crate::{parse_document, Error, Result};

/// Files larger than this are refused (a policy document is kilobytes; a
/// file this large is almost certainly not one).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// File extensions read as documents.
const EXTENSIONS: [&str; 3] = ["md", "markdown", "txt"];

/// A parsed corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The manifest (`kb.toml`), empty when there is none.
    pub manifest: Manifest,
    /// The documents, sorted by path.
    pub documents: Vec<Document>,
    /// Things the user should know (e.g. a file decoded from GBK).
    pub notes: Vec<String>,
    /// Corpus-relative path → [`stat_key`] of each file that had not been
    /// modified for a while when it was read (see [`load_corpus_incremental`]).
    pub stats: std::collections::BTreeMap<String, String>,
}

/// Reads and parses every document under `dir`.
pub fn load_corpus(dir: &Path) -> Result<Corpus> {
    load_corpus_reusing(dir, &|_, _| None)
}

/// A previous parse of a document, offered to [`load_corpus_reusing`]:
/// called with the corpus-relative path and the blake3 (hex) of the file's
/// bytes; returns the document parsed from exactly those bytes, if known.
pub type Reuse<'a> = dyn Fn(&str, &str) -> Option<Document> + Sync + 'a;

/// What an earlier build saw of a file, offered to
/// [`load_corpus_incremental`]: called with the corpus-relative path and the
/// file's [`stat_key`]; returns the blake3 (hex) its bytes had when the file
/// had that key, if known.
pub type Known<'a> = dyn Fn(&str, &str) -> Option<String> + Sync + 'a;

/// How long a file must have been left alone before its metadata is trusted
/// to stand for its content: file times have a granularity of a few
/// milliseconds, so a file rewritten within the same tick as it was read
/// could keep its size and time.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// A file's size, modification time (ns) and inode, as one string: what
/// [`load_corpus_incremental`] compares to skip reading unchanged files.
/// `None` where the platform does not give them.
pub fn stat_key(meta: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(format!("{}:{}.{:09}:{}", meta.len(), meta.mtime(), meta.mtime_nsec(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// [`load_corpus`], but every file whose path and content hash `reuse`
/// recognises is taken from `reuse` instead of being decoded and parsed
/// again (incremental builds). The result is the same as [`load_corpus`]'s
/// as long as `reuse` only returns what parsing those bytes gave.
pub fn load_corpus_reusing(dir: &Path, reuse: &Reuse<'_>) -> Result<Corpus> {
    load_corpus_incremental(dir, &|_, _| None, reuse)
}

/// [`load_corpus_reusing`], but a file whose [`stat_key`] `known`
/// recognises is not read at all: the hash `known` gives for it is offered
/// to `reuse` (like `make`, `rsync` and git's index, this trusts that a file
/// with the same size, modification time and inode has the same bytes; the
/// key is only recorded in [`Corpus::stats`] for files left alone for a
/// couple of seconds when they were read, so a quick rewrite within one
/// timestamp tick is not missed). `kb build --full` reads everything.
pub fn load_corpus_incremental(dir: &Path, known: &Known<'_>, reuse: &Reuse<'_>) -> Result<Corpus> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Corpus { path: dir.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(Error::Corpus {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let manifest = read_manifest(dir)?;
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(Error::NoDocuments { path: dir.to_path_buf() });
    }
    let now = std::time::SystemTime::now();
    type Parsed = (Document, Option<String>, Option<(String, String)>);
    let parsed: Vec<Result<Parsed>> = files
        .par_iter()
        .map(|rel| {
            let full = dir.join(rel);
            let rel_str = rel.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/");
            let meta = metadata(&full)?;
            let settled =
                meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= SETTLED);
            let key = stat_key(&meta).filter(|_| settled);
            let reused = |doc: Document, key: Option<String>| {
                let note =
                    (doc.encoding != "UTF-8").then(|| format!("{}: decoded from {}", full.display(), doc.encoding));
                Ok((doc, note, key.map(|k| (rel_str.clone(), k))))
            };
            if let Some(doc) = key.as_ref().and_then(|k| known(&rel_str, k)).and_then(|hash| reuse(&rel_str, &hash)) {
                return reused(doc, key);
            }
            let bytes = read_file(&full, &meta)?;
            let hash = blake3::hash(&bytes).to_hex().to_string();
            if let Some(doc) = reuse(&rel_str, &hash) {
                return reused(doc, key);
            }
            let (text, encoding) = decode(&full, &bytes)?;
            let id = doc_id(&rel_str);
            let lang = manifest.lang_for(&rel_str, &id);
            let mut doc = parse_document(&rel_str, &text, lang).map_err(|e| with_path(e, &full))?;
            doc.hash = hash;
            doc.bytes = bytes.len() as u64;
            let note = (encoding != "UTF-8").then(|| format!("{}: decoded from {encoding}", full.display()));
            doc.encoding = encoding;
            Ok((doc, note, key.map(|k| (rel_str, k))))
        })
        .collect();
    let mut documents = Vec::with_capacity(parsed.len());
    let mut notes = Vec::new();
    let mut stats = std::collections::BTreeMap::new();
    for p in parsed {
        let (doc, note, stat) = p?;
        notes.extend(note);
        stats.extend(stat);
        documents.push(doc);
    }
    for w in documents.windows(2) {
        if w[0].id == w[1].id {
            return Err(Error::invalid(
                dir.join(&w[1].path),
                1,
                format!("document id {:?} is also the id of {}; rename one of them", w[1].id, w[0].path),
            ));
        }
    }
    for p in manifest.pair.iter().chain(manifest.forbid.iter()) {
        for id in [&p.zh, &p.en] {
            if !documents.iter().any(|d| &d.id == id) {
                return Err(Error::invalid(
                    dir.join("kb.toml"),
                    1,
                    format!("pairing names document {id:?}, which is not in the corpus"),
                ));
            }
        }
    }
    Ok(Corpus { manifest, documents, notes, stats })
}

/// The document id of a corpus-relative path: the path without its extension.
pub(crate) fn doc_id(rel: &str) -> String {
    match rel.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => stem.to_string(),
        _ => rel.to_string(),
    }
}

fn with_path(e: Error, full: &Path) -> Error {
    match e {
        Error::Invalid { line, message, .. } => Error::Invalid { path: full.to_path_buf(), line, message },
        other => other,
    }
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("kb.toml");
    if !path.exists() {
        return Ok(Manifest::default());
    }
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() as u32 + 1).unwrap_or(1);
        let msg = e.message().to_string();
        Error::invalid(path.clone(), line, format!("invalid manifest: {msg}"))
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Corpus { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Corpus { path: dir.to_path_buf(), source })?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type().map_err(|source| Error::Read { path: path.clone(), source })?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            out.push(path.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
    Ok(())
}

fn metadata(path: &Path) -> Result<std::fs::Metadata> {
    std::fs::metadata(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

fn read_file(path: &Path, meta: &std::fs::Metadata) -> Result<Vec<u8>> {
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(
            path,
            1,
            format!(
                "file is {:.1} MiB, over the {} MiB limit for one document; split it or move it out of the corpus",
                meta.len() as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

/// Decodes a document's bytes: UTF-8 (a BOM is dropped), UTF-16 with a BOM,
/// or — when the bytes are not UTF-8 — a Chinese legacy encoding (GBK /
/// GB18030 / Big5) if it decodes without errors. Returns the text and the
/// encoding's name.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<(String, String)> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if !had_errors {
            return Ok((text.into_owned(), enc.name().to_string()));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            if let Some(pos) = s.find('\0') {
                let line = s[..pos].matches('\n').count() as u32 + 1;
                return Err(Error::invalid(path, line, "binary file (NUL byte), not a text document"));
            }
            Ok((s.to_string(), "UTF-8".to_string()))
        }
        Err(e) => {
            let bad = e.valid_up_to();
            let line = bytes[..bad].iter().filter(|b| **b == b'\n').count() as u32 + 1;
            let col = bad - bytes[..bad].iter().rposition(|b| *b == b'\n').map(|p| p + 1).unwrap_or(0) + 1;
            let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            det.feed(bytes, true);
            let guess = det.guess(Some(b"cn"), chardetng::Utf8Detection::Deny);
            let chinese = [encoding_rs::GBK, encoding_rs::GB18030, encoding_rs::BIG5];
            let enc = if chinese.contains(&guess) { guess } else { encoding_rs::GB18030 };
            let (text, _, had_errors) = enc.decode(bytes);
            if had_errors || bytes.contains(&0) {
                return Err(Error::invalid(
                    path,
                    line,
                    format!(
                        "not UTF-8 (invalid byte 0x{:02x} at column {col}) and not decodable as GBK/GB18030/Big5",
                        bytes[bad]
                    ),
                ));
            }
            let name = if enc == encoding_rs::GB18030 { "GBK".to_string() } else { enc.name().to_string() };
            Ok((text.into_owned(), name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_bytes_are_decoded_and_named() {
        let (bytes, _, _) = encoding_rs::GBK.encode("### 条件\n注册资本人民币100万元以上\n");
        let (text, enc) = decode(Path::new("a.md"), &bytes).unwrap();
        assert!(text.contains("注册资本"));
        assert_eq!(enc, "GBK");
    }

    #[test]
    fn undecodable_bytes_name_the_line() {
        let bytes = b"ok line\nsecond \xff\xfe\xff line\n\x00".to_vec();
        let err = decode(Path::new("bad.md"), &bytes).unwrap_err().to_string();
        assert!(err.starts_with("bad.md:2:"), "{err}");
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let (text, enc) = decode(Path::new("a.md"), "\u{feff}# 标题\n".as_bytes()).unwrap();
        assert_eq!(text, "# 标题\n");
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn doc_id_drops_the_extension_only() {
        assert_eq!(doc_id("zh/a.b/c.md"), "zh/a.b/c");
        assert_eq!(doc_id("README"), "README");
    }

    #[cfg(unix)]
    #[test]
    fn files_with_a_known_stat_key_are_not_read_and_fresh_files_get_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.md");
        let fresh = dir.path().join("fresh.md");
        std::fs::write(&old, "# Old\n\nText.\n").unwrap();
        std::fs::write(&fresh, "# Fresh\n\nText.\n").unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(hour_ago).unwrap();

        let corpus = load_corpus(dir.path()).unwrap();
        let key = stat_key(&std::fs::metadata(&old).unwrap()).unwrap();
        assert_eq!(corpus.stats.get("old.md"), Some(&key), "a file left alone has its key");
        assert!(!corpus.stats.contains_key("fresh.md"), "a file written just now has none");

        // The known key stands for the file: its (made-up) hash is what reuse is asked for.
        let marker = Document::new("marker", "old.md", kb_model::Lang::En, "From memory", Vec::new());
        let known = |path: &str, k: &str| (path == "old.md" && k == key).then(|| "made-up".to_string());
        let reuse = |path: &str, hash: &str| (path == "old.md" && hash == "made-up").then(|| marker.clone());
        let again = load_corpus_incremental(dir.path(), &known, &reuse).unwrap();
        let titles: Vec<&str> = again.documents.iter().map(|d| d.title.as_str()).collect();
        assert_eq!(titles, ["Fresh", "From memory"]);
        // Another key (the file was touched) means reading it again.
        let stale = |_: &str, _: &str| None;
        let read = load_corpus_incremental(dir.path(), &stale, &reuse).unwrap();
        assert_eq!(read.documents[1].title, "Old");
    }
}
