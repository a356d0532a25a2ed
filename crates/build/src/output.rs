//! The output folder: staged writes and the atomic swap.
//!
//! A build writes everything into a sibling staging folder
//! (`.out.kb-staging-<pid>`), and only [`Staging::commit`] puts it in place
//! of the output folder, by two renames. A build that fails or is killed
//! leaves the previous output untouched; its staging folder is removed on
//! drop, or by the next build if the process was killed.
//!
//! Files are not fsynced one by one: the unit of atomicity is the folder
//! swap, which protects against a killed or failed build. Surviving a power
//! cut mid-build is left to the file system's journal (as with cargo's or
//! mdBook's outputs): syncing the gigabytes a large build writes, file by
//! file, would cost more than the build itself.

use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use kb_model::Record;

use crate::{Error, Result};

/// The records file inside an output folder.
pub const RECORDS_FILE: &str = "records.jsonl";
/// A marker that says "this folder was written by kb"; kb refuses to replace
/// a non-empty folder that lacks it.
pub const MARKER_FILE: &str = ".kb-output";

/// A staging folder that becomes the output folder on [`Staging::commit`].
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    path: PathBuf,
    committed: bool,
}

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> Error + 'p {
    move |source| Error::Io { what, path: path.to_path_buf(), source }
}

fn sibling(out: &Path, tag: &str, pid: u32) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!(".{name}.kb-{tag}-{pid}"))
}

fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl Staging {
    /// Creates a fresh staging folder beside `out`, after removing the
    /// staging folders of builds that died.
    pub fn new(out: &Path) -> Result<Staging> {
        if out.exists() && !out.is_dir() {
            return Err(Error::Io {
                what: "output folder is a file",
                path: out.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "not a directory"),
            });
        }
        if out.is_dir() && !out.join(MARKER_FILE).exists() {
            let nonempty = fs::read_dir(out).map_err(io("reading output folder", out))?.next().is_some();
            if nonempty {
                return Err(Error::Io {
                    what: "refusing to replace a folder kb did not write",
                    path: out.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!("no {MARKER_FILE} marker; choose another --out or empty it"),
                    ),
                });
            }
        }
        remove_dead_siblings(out);
        let path = sibling(out, "staging", std::process::id());
        if path.exists() {
            fs::remove_dir_all(&path).map_err(io("removing old staging folder", &path))?;
        }
        fs::create_dir_all(&path).map_err(io("creating staging folder", &path))?;
        fs::write(path.join(MARKER_FILE), "written by kb build; replaced whole on every build\n")
            .map_err(io("writing", &path))?;
        Ok(Staging { out: out.to_path_buf(), path, committed: false })
    }

    /// The staging folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the staging folder in place of the output folder.
    ///
    /// On Linux the two folders are exchanged in one `renameat2(RENAME_EXCHANGE)`
    /// call, so a reader (say `kb search` during a rebuild) sees the old
    /// output or the new one, never neither; elsewhere two renames leave a
    /// moment without `out/`. The old output is then removed, or with
    /// `defer_cleanup` left at the returned path (`.NAME.kb-old-PID`, which
    /// the next build removes if nobody else does).
    pub fn commit(mut self, defer_cleanup: bool) -> Result<Option<PathBuf>> {
        let old = sibling(&self.out, "old", std::process::id());
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io("removing", &old))?;
        }
        let mut had_old = false;
        #[cfg(target_os = "linux")]
        if self.out.is_dir() {
            use rustix::fs::{renameat_with, RenameFlags, CWD};
            if renameat_with(CWD, &self.path, CWD, &self.out, RenameFlags::EXCHANGE).is_ok() {
                self.committed = true;
                // The old output now sits at the staging path.
                had_old = fs::rename(&self.path, &old).is_ok();
                if !had_old {
                    let _ = fs::remove_dir_all(&self.path);
                }
            }
            // Filesystems without RENAME_EXCHANGE fall through to two renames.
        }
        if !self.committed {
            had_old = self.out.exists();
            if had_old {
                fs::rename(&self.out, &old).map_err(io("moving aside old output", &self.out))?;
            }
            if let Err(e) = fs::rename(&self.path, &self.out) {
                if had_old {
                    let _ = fs::rename(&old, &self.out);
                }
                return Err(io("moving new output into place", &self.out)(e));
            }
            self.committed = true;
        }
        if !had_old {
            return Ok(None);
        }
        if defer_cleanup {
            return Ok(Some(old));
        }
        let _ = fs::remove_dir_all(&old);
        Ok(None)
    }
}

/// Removes a replaced output folder ([`crate::BuildReport::old_output`])
/// without waiting for it: on Unix in a detached `rm -rf` process (which
/// outlives a command that exits at once), elsewhere or if that cannot
/// start, right away.
pub fn dispose_in_background(old: &Path) {
    #[cfg(unix)]
    {
        let spawned = std::process::Command::new("rm")
            .arg("-rf")
            .arg("--")
            .arg(old)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if spawned.is_ok() {
            return;
        }
    }
    let _ = fs::remove_dir_all(old);
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes `.NAME.kb-staging-PID` / `.NAME.kb-old-PID` folders whose process is gone.
fn remove_dead_siblings(out: &Path) {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let fname = e.file_name().to_string_lossy().into_owned();
        for tag in ["staging", "old"] {
            let prefix = format!(".{name}.kb-{tag}-");
            if let Some(pid) = fname.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) {
                if pid != std::process::id() && !pid_alive(pid) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// reader never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io("creating folder", parent))?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let mut f = fs::File::create(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(bytes).map_err(io("writing", &tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    Ok(())
}

/// Reads `records.jsonl` from an output folder.
pub fn read_records(out: &Path) -> Result<Vec<Record>> {
    let path = out.join(RECORDS_FILE);
    let f = fs::File::open(&path).map_err(|source| Error::Io {
        what: "no build output (run `kb build` first): cannot open",
        path: path.clone(),
        source,
    })?;
    let mut records = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(io("reading", &path))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: Record = serde_json::from_str(&line).map_err(|e| Error::Io {
            what: "malformed record in",
            path: PathBuf::from(format!("{}:{}", path.display(), i + 1)),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        records.push(r);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_output_and_drop_discards_staging() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let s = Staging::new(&out).unwrap();
        fs::write(s.path().join("a"), "1").unwrap();
        assert_eq!(s.commit(false).unwrap(), None, "nothing was replaced");
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "1");

        let s = Staging::new(&out).unwrap();
        fs::write(s.path().join("a"), "2").unwrap();
        let staged = s.path().to_path_buf();
        drop(s);
        assert!(!staged.exists(), "an uncommitted staging folder is removed");
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "1", "old output intact");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn deferred_cleanup_hands_back_the_old_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        for (v, defer) in [("1", false), ("2", false), ("3", true)] {
            let s = Staging::new(&out).unwrap();
            fs::write(s.path().join("a"), v).unwrap();
            let old = s.commit(defer).unwrap();
            assert_eq!(fs::read_to_string(out.join("a")).unwrap(), v);
            let names: Vec<String> =
                fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
            if v == "1" || !defer {
                assert_eq!(old, None);
                assert_eq!(names, ["out"], "old output removed at once");
            } else {
                let old = old.expect("the replaced output is handed back");
                assert_eq!(fs::read_to_string(old.join("a")).unwrap(), "2", "it is the previous output");
                assert_eq!(names.len(), 2, "{names:?}");
                dispose_in_background(&old);
                let start = std::time::Instant::now();
                while old.exists() && start.elapsed() < std::time::Duration::from_secs(20) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                assert!(!old.exists(), "removed in the background");
                assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "3", "new output untouched");
            }
        }
    }

    #[test]
    fn refuses_to_replace_a_foreign_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("precious.txt"), "x").unwrap();
        let err = Staging::new(dir.path()).unwrap_err().to_string();
        assert!(err.contains("refusing"), "{err}");
        assert!(dir.path().join("precious.txt").exists());
    }

    #[test]
    fn write_atomic_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_atomic(&p, b"{}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
