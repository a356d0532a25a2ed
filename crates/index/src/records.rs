//! The records file the index reads its records from.
//!
//! The index does not keep its own copy of the records: each indexed record
//! stores where its line is in the build's `records.jsonl` (its document's
//! first byte, kept per document in `kb-index.json`, plus the line's offset
//! within the document and its length), and a search reads the lines of its
//! hits from there. `kb search` checks the file's fingerprint before it
//! trusts those offsets, and every line read is checked to be the record the
//! index expects.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// What a pass over a records file found.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    /// [`crate::fingerprint`] of the file.
    pub fingerprint: String,
    /// Byte offset of the start of every line, then one past the last
    /// line's newline (real, or implied when the file does not end with one).
    pub starts: Vec<u64>,
}

impl Scan {
    /// Length of line `i`, without its newline.
    pub fn line_len(&self, i: usize) -> u64 {
        (self.starts[i + 1] - self.starts[i]).saturating_sub(1)
    }
}

fn mismatch(path: &Path, line: usize, reason: impl Into<String>) -> Error {
    Error::RecordsMismatch { path: path.to_path_buf(), line, reason: reason.into() }
}

/// True when `line` is the JSON object of the record `id` (its first field
/// is `"id"`, as kb writes records).
fn holds(line: &[u8], id: &str, scratch: &mut Vec<u8>) -> bool {
    const HEAD: &[u8] = b"{\"id\":\"";
    let id = id.as_bytes();
    let end = HEAD.len() + id.len();
    // An id that needs no escaping is written as it is.
    if line.len() > end && line.starts_with(HEAD) && &line[HEAD.len()..end] == id && line[end] == b'"' {
        return true;
    }
    scratch.clear();
    scratch.extend_from_slice(b"{\"id\":");
    let quoted = serde_json::to_string(std::str::from_utf8(id).expect("ids are text")).expect("strings serialise");
    scratch.extend_from_slice(quoted.as_bytes());
    line.starts_with(scratch)
}

/// Bytes read at a time.
const CHUNK: usize = 8 << 20;

/// Reads `path` once: its fingerprint, where each line starts, and a check
/// that it has one line per record and that each document's records start
/// where they should: `docs` gives, in order, each document's first record
/// id and its number of records. Hashing and finding lines run side by side.
pub(crate) fn scan<'a>(path: &Path, docs: impl IntoIterator<Item = (&'a str, usize)>) -> Result<Scan> {
    let io = |source| Error::Io { what: "reading", path: path.to_path_buf(), source };
    // (1-based line, id) of each document's first line.
    let mut checks: Vec<(usize, &str)> = Vec::new();
    let mut lines = 0usize;
    for (id, n) in docs {
        if n > 0 {
            checks.push((lines + 1, id));
            lines += n;
        }
    }
    let mut f = File::open(path).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0usize;
    let mut base = 0u64;
    let mut starts = Vec::with_capacity(lines + 1);
    starts.push(0u64);
    let mut next = checks.iter().peekable();
    let mut scratch = Vec::new();
    let mut check = |line: &[u8], n: usize| -> Result<()> {
        if n > lines {
            return Err(mismatch(path, n, "more lines than records"));
        }
        if let Some(&&(at, id)) = next.peek() {
            if at == n {
                next.next();
                if !holds(line, id, &mut scratch) {
                    return Err(mismatch(path, n, format!("expected the record {id}")));
                }
            }
        }
        Ok(())
    };
    loop {
        if filled == buf.len() {
            // A line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let got = f.read(&mut buf[filled..]).map_err(io)?;
        if got == 0 {
            break;
        }
        let scanned = filled;
        filled += got;
        let (lines, ()) = rayon::join(
            || -> Result<usize> {
                let mut line_start = 0;
                for nl in memchr::memchr_iter(b'\n', &buf[scanned..filled]) {
                    let nl = scanned + nl;
                    check(&buf[line_start..nl], starts.len())?;
                    starts.push(base + nl as u64 + 1);
                    line_start = nl + 1;
                }
                Ok(line_start)
            },
            || {
                hasher.update(&buf[scanned..filled]);
            },
        );
        let line_start = lines?;
        buf.copy_within(line_start..filled, 0);
        base += line_start as u64;
        filled -= line_start;
    }
    if filled > 0 {
        // A last line without a newline.
        check(&buf[..filled], starts.len())?;
        starts.push(base + filled as u64 + 1);
    }
    if starts.len() - 1 < lines {
        return Err(mismatch(path, starts.len(), "fewer lines than records"));
    }
    Ok(Scan { fingerprint: format!("blake3:{}", hasher.finalize().to_hex()), starts })
}

/// An open records file, read a line at a time by offset.
#[derive(Debug)]
pub(crate) struct RecordsFile {
    path: PathBuf,
    file: File,
}

impl RecordsFile {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<RecordsFile> {
        let file =
            File::open(path).map_err(|source| Error::Io { what: "opening", path: path.to_path_buf(), source })?;
        Ok(RecordsFile { path: path.to_path_buf(), file })
    }

    /// A records file already open (the handle whose fingerprint was checked).
    pub fn from_file(path: &Path, file: File) -> RecordsFile {
        RecordsFile { path: path.to_path_buf(), file }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `len` bytes at `offset`.
    pub fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        read_exact_at(&self.file, &mut buf, offset).map_err(|source| Error::Io {
            what: "reading a record from",
            path: self.path.clone(),
            source,
        })?;
        Ok(buf)
    }
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(f: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match f.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_line_starts_and_checks_ids() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let text = "{\"id\":\"a#1\",\"x\":1}\n{\"id\":\"a#\\\"q\",\"x\":2}\n{\"id\":\"b#1\"}\n";
        std::fs::write(&p, text).unwrap();
        let s = scan(&p, [("a#1", 2), ("b#1", 1)]).unwrap();
        assert_eq!(s.fingerprint, crate::fingerprint(text.as_bytes()));
        let starts: Vec<u64> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i as u64 + 1)).collect();
        assert_eq!(s.starts, starts);
        assert_eq!(s.line_len(1), "{\"id\":\"a#\\\"q\",\"x\":2}".len() as u64);
        let f = RecordsFile::open(&p).unwrap();
        assert_eq!(f.read(s.starts[2], s.line_len(2)).unwrap(), b"{\"id\":\"b#1\"}");

        assert!(scan(&p, [("a#1", 1), ("a#\"q", 1), ("b#1", 1)]).is_ok(), "escaped ids are compared as written");
        assert!(matches!(scan(&p, [("a#1", 1), ("a#2", 2)]), Err(Error::RecordsMismatch { line: 2, .. })));
        assert!(matches!(scan(&p, [("a#1", 2)]), Err(Error::RecordsMismatch { line: 3, .. })));
        assert!(matches!(scan(&p, [("a#1", 2), ("b#1", 2)]), Err(Error::RecordsMismatch { .. })));
        assert!(matches!(scan(&p, [("b#1", 3)]), Err(Error::RecordsMismatch { line: 1, .. })));
    }

    #[test]
    fn scan_handles_lines_longer_than_its_buffer_and_a_missing_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let long = "x".repeat(9 << 20);
        let text = format!("{{\"id\":\"a\",\"t\":\"{long}\"}}\n{{\"id\":\"b\"}}");
        std::fs::write(&p, &text).unwrap();
        let s = scan(&p, [("a", 1), ("b", 1)]).unwrap();
        assert_eq!(s.starts.len(), 3);
        assert_eq!(*s.starts.last().unwrap(), text.len() as u64 + 1);
        assert_eq!(s.line_len(1), 10);
    }
}
