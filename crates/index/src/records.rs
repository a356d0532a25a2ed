//! The records file the index reads its records from.
//!
//! The index does not keep its own copy of the records: each indexed record
//! stores where its line is in the build's `records.jsonl` (its document's
//! first byte, kept per document in `kb-index.json`, plus the line's offset
//! within the document and its length), and a search reads the lines of its
//! hits from there. `kb search` checks the file's fingerprint before it
//! trusts those offsets (or, cheaper, that the file is still the one whose
//! fingerprint the build took: [`FileStat`]), and every line read is checked
//! to be the record the index expects.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use kb_model::RecordsLayout;

use crate::{Error, Result};

/// The file in the index folder that says which records file, exactly, the
/// index was built against ([`FileStat`]), so that `kb search` can trust it
/// without hashing it.
pub(crate) const STAT_FILE: &str = "records-stat.json";

/// How long before it is looked at a file must have last changed for its
/// change time to tell later changes apart: file times come from a clock
/// that advances a tick (a few ms) at a time, so a write within the same
/// tick as the last one leaves them as they were.
pub(crate) const SETTLED: std::time::Duration = std::time::Duration::from_millis(50);

/// What `stat` says of a records file, with the fingerprint of its bytes at
/// the time: while the same file (device, inode) keeps its size, change
/// time and modification time, its bytes are the ones fingerprinted. Any
/// write to a file sets its change time (which no call can set back), and a
/// replaced file is another inode. Kept only for a file whose last change
/// was [`SETTLED`] before it was looked at; elsewhere than on Unix, never.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FileStat {
    pub fingerprint: String,
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileStat {
    /// The stat of an open file, when it identifies its bytes.
    #[cfg(unix)]
    pub fn of(file: &File, fingerprint: &str) -> Option<FileStat> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(FileStat {
            fingerprint: fingerprint.to_string(),
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// The stat of an open file, when it identifies its bytes.
    #[cfg(not(unix))]
    pub fn of(_: &File, _: &str) -> Option<FileStat> {
        None
    }

    /// [`FileStat::of`], for a file that changed last at least [`SETTLED`] ago.
    pub fn settled(file: &File, fingerprint: &str) -> Option<FileStat> {
        let stat = FileStat::of(file, fingerprint)?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as i128;
        let last = stat.ctime_ns.max(stat.mtime_ns);
        (now - last >= SETTLED.as_nanos() as i128).then_some(stat)
    }

    /// The fingerprint of the open `file`, when `stat` (as read from the
    /// index folder) describes it: then its bytes need not be read.
    pub fn vouches(stat: &[u8], file: &File) -> Option<String> {
        let stat: FileStat = serde_json::from_slice(stat).ok()?;
        let now = FileStat::of(file, &stat.fingerprint)?;
        (now == stat).then_some(stat.fingerprint)
    }
}

/// What a pass over a records file found, or what its writer handed over
/// ([`Scan::from_layout`]).
#[derive(Debug, Clone)]
pub(crate) struct Scan<'a> {
    /// [`crate::fingerprint`] of the file.
    pub fingerprint: Cow<'a, str>,
    /// Byte offset of the start of every line, then one past the last
    /// line's newline (real, or implied when the file does not end with one).
    pub starts: Cow<'a, [u64]>,
    /// True when the lines were not read here: each document's first line
    /// is then checked with [`check_firsts`] before it is indexed.
    pub unread: bool,
}

impl<'a> Scan<'a> {
    /// The layout the writer of `path` handed over, when it fits a file of
    /// `lines` lines and `path`'s present size (else the file must be
    /// scanned): no byte of the file is read.
    pub fn from_layout(path: &Path, layout: &'a RecordsLayout, lines: usize) -> Option<Scan<'a>> {
        let s = &layout.starts;
        let len = std::fs::metadata(path).ok()?.len();
        let fits = s.len() == lines + 1
            && s.first() == Some(&0)
            && s.last() == Some(&len)
            && s.windows(2).all(|w| w[0] < w[1])
            && layout.fingerprint.starts_with("blake3:");
        fits.then(|| Scan {
            fingerprint: Cow::Borrowed(layout.fingerprint.as_str()),
            starts: Cow::Borrowed(s),
            unread: true,
        })
    }

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
pub(crate) fn scan<'a>(path: &Path, docs: impl IntoIterator<Item = (&'a str, usize)>) -> Result<Scan<'static>> {
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
    Ok(Scan {
        fingerprint: Cow::Owned(format!("blake3:{}", hasher.finalize().to_hex())),
        starts: Cow::Owned(starts),
        unread: false,
    })
}

/// Checks that the line at `starts[line]` of `path` holds the record `id`,
/// for each `(line, id)` of `firsts` (0-based lines, ascending): what
/// [`scan`] checks of each document's first line, for a file whose layout
/// was handed over, reading only the start of those lines.
pub(crate) fn check_firsts<'i>(
    path: &Path,
    starts: &[u64],
    firsts: impl IntoIterator<Item = (usize, &'i str)>,
) -> Result<()> {
    let file = RecordsFile::open(path)?;
    let mut scratch = Vec::new();
    for (line, id) in firsts {
        let len = (starts[line + 1] - starts[line]).saturating_sub(1);
        // An id written with every character escaped (`\u001f`) takes six bytes a byte.
        let head = file.read(starts[line], len.min(16 + 6 * id.len() as u64))?;
        if !holds(&head, id, &mut scratch) {
            return Err(mismatch(path, line + 1, format!("expected the record {id}")));
        }
    }
    Ok(())
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
    fn a_layout_is_taken_only_when_it_fits_the_file_and_first_lines_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let text = "{\"id\":\"a#1\",\"x\":1}\n{\"id\":\"a#\\\"q\",\"x\":2}\n{\"id\":\"b#1\"}\n";
        std::fs::write(&p, text).unwrap();
        let scanned = scan(&p, [("a#1", 2), ("b#1", 1)]).unwrap();
        let layout = RecordsLayout { starts: scanned.starts.to_vec(), fingerprint: scanned.fingerprint.to_string() };
        let s = Scan::from_layout(&p, &layout, 3).expect("fits");
        assert!(s.unread);
        assert_eq!((&s.starts, &s.fingerprint), (&scanned.starts, &scanned.fingerprint));
        assert!(Scan::from_layout(&p, &layout, 2).is_none(), "another number of lines");
        let mut longer = layout.clone();
        *longer.starts.last_mut().unwrap() += 1;
        assert!(Scan::from_layout(&p, &longer, 3).is_none(), "another length than the file's");
        let mut unsorted = layout.clone();
        unsorted.starts.swap(1, 2);
        assert!(Scan::from_layout(&p, &unsorted, 3).is_none());

        check_firsts(&p, &s.starts, [(0, "a#1"), (1, "a#\"q"), (2, "b#1")]).unwrap();
        let err = check_firsts(&p, &s.starts, [(0, "a#1"), (2, "b#2")]).unwrap_err();
        assert!(matches!(err, Error::RecordsMismatch { line: 3, .. }), "{err}");
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
