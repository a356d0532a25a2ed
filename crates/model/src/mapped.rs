//! Reading a previous build's large files without copying them into memory.
//!
//! An incremental build reads back files of the previous output folder
//! (`records.jsonl`, `alignment.json`, `rules.json`, the caches) mostly to
//! copy unchanged byte ranges into the new output. Reading a 400 MB file
//! into a `Vec` makes the process fault in and zero 400 MB of fresh memory
//! first, which on some machines (sandboxed VMs) costs more than the copy
//! itself; a read-only memory map shares the page cache's pages instead.
//!
//! This is one of the workspace's two uses of `unsafe` (the other sets an
//! allocator option in the `kb` binary): a mapped file that another
//! process truncates or rewrites in place while it is mapped can change
//! under the reader or fault. kb never writes into a previous output
//! folder's files (a build writes a staging folder and renames it into
//! place; replaced folders are unlinked, which keeps mapped files alive),
//! so the files mapped here are only ever replaced, never modified. Use it
//! only for such files; anything else should be read with `std::fs::read`.

use std::io;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a file, memory-mapped read-only (or held in memory when the
/// file is empty or cannot be mapped).
pub struct Mapped {
    inner: Inner,
}

enum Inner {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Mapped {
    /// Maps the file at `path` read-only; an empty file, or one on a file
    /// system that cannot map it, is read into memory instead.
    pub fn open(path: &Path) -> io::Result<Mapped> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Mapped { inner: Inner::Owned(Vec::new()) });
        }
        // SAFETY: see the module documentation: the files mapped here are
        // outputs of earlier builds, which kb replaces by renaming and never
        // modifies in place.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapOptions::new().map(&file) };
        match map {
            Ok(map) => Ok(Mapped { inner: Inner::Map(map) }),
            Err(_) => Ok(Mapped { inner: Inner::Owned(std::fs::read(path)?) }),
        }
    }
}

/// No bytes (what a released or unusable previous file is replaced by).
impl Default for Mapped {
    fn default() -> Mapped {
        Mapped { inner: Inner::Owned(Vec::new()) }
    }
}

impl Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.inner {
            Inner::Map(m) => m,
            Inner::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Mapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.inner {
            Inner::Map(_) => "mapped",
            Inner::Owned(_) => "owned",
        };
        write!(f, "Mapped({how}, {} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_file_bytes_and_empty_files() {
        let dir = std::env::temp_dir().join(format!("kb-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a");
        std::fs::write(&p, b"hello\nworld\n").unwrap();
        let m = Mapped::open(&p).unwrap();
        assert_eq!(&m[..], b"hello\nworld\n");
        // Replacing the file by a rename (what kb does) leaves the map intact.
        std::fs::write(dir.join("b"), b"other").unwrap();
        std::fs::rename(dir.join("b"), &p).unwrap();
        assert_eq!(&m[..], b"hello\nworld\n");
        std::fs::write(dir.join("e"), b"").unwrap();
        assert!(Mapped::open(&dir.join("e")).unwrap().is_empty());
        assert!(Mapped::open(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
