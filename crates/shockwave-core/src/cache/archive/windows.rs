//! The Windows side of restoring: the same steps as the Unix one (`extract`'s directory
//! descriptors, `temps`' locked temporary files), on paths. Every folder below the service root
//! is checked with `symlink_metadata` before it is used, and a link (symlink or junction) in the
//! way is refused; as on Unix, a temporary file is created exclusively at a fresh name and renamed
//! over its output. What differs: a folder swapped for a link between the check and the write is
//! not noticed (there is no `openat` to hold it open), temporary files are not locked, and a
//! symlink member cannot be restored (creating one needs a privilege Windows grants few users):
//! such an entry fails to restore and the task runs.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Component, Path, PathBuf};

use super::{not_a_folder, not_plain, read_exactly, temp_name, TEMP_PREFIX};
use crate::platform::NoFollow;

/// How many taken names to skip before giving up on creating a temporary file.
const TEMP_ATTEMPTS: usize = 32;

/// Reaches folders below a service root one component at a time, creating missing ones, and
/// refuses a link or a file where a folder should be.
pub(crate) struct DirWriter {
    root: PathBuf,
    /// The folder [`DirWriter::parent_of`] last returned.
    last: PathBuf,
}

impl DirWriter {
    pub(crate) fn open(root: &Path) -> std::io::Result<Self> {
        // The service root itself is the caller's (it may legitimately be reached through a link).
        if !std::fs::metadata(root).is_ok_and(|m| m.is_dir()) {
            return Err(std::io::Error::other(format!(
                "cannot open the service root {}: not a directory",
                root.display()
            )));
        }
        Ok(DirWriter {
            root: root.to_path_buf(),
            last: root.to_path_buf(),
        })
    }

    /// The folder holding `path`, and `path`'s file name.
    pub(crate) fn parent_of<'p>(&mut self, path: &'p Path) -> std::io::Result<(&Path, &'p OsStr)> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other(format!("`{}` has no name", path.display())))?;
        let parent = path.parent().unwrap_or(Path::new(""));
        self.last = self.walk(parent)?;
        Ok((&self.last, name))
    }

    /// The folder `rel` below the root, created as needed.
    pub(crate) fn walk(&self, rel: &Path) -> std::io::Result<PathBuf> {
        let mut at = self.root.clone();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(not_plain(rel));
            };
            at.push(name);
            let meta = match std::fs::symlink_metadata(&at) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match std::fs::create_dir(&at) {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
                        _ => {}
                    }
                    std::fs::symlink_metadata(&at)?
                }
                other => other?,
            };
            if meta.file_type().is_symlink() || !meta.is_dir() {
                return Err(not_a_folder(&at));
            }
        }
        Ok(at)
    }
}

/// Renames `tmp` over `name` in `dir`; what is in the way but a directory is replaced. An empty
/// directory in the way is removed first; one with anything in it is refused.
pub(crate) fn replace_at(dir: &Path, tmp: &OsStr, name: &OsStr) -> std::io::Result<()> {
    let target = dir.join(name);
    if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        if let Err(e) = std::fs::remove_dir(&target) {
            remove_at(dir, tmp);
            return Err(if e.kind() == std::io::ErrorKind::DirectoryNotEmpty {
                std::io::Error::other(format!(
                    "`{}` is a directory with files in it, where the cache holds a file; move it away or clean the outputs",
                    name.to_string_lossy()
                ))
            } else {
                e
            });
        }
    }
    std::fs::rename(dir.join(tmp), target)
}

/// The size and permission bits of `name` in `dir` when it is a regular file, not a link.
pub(crate) fn stat_regular(dir: &Path, name: &OsStr) -> Option<(u64, u32)> {
    let meta = std::fs::symlink_metadata(dir.join(name)).ok()?;
    meta.is_file()
        .then(|| (meta.len(), crate::platform::mode_bits(&meta)))
}

/// Removes the temporary `tmp` in `dir` after a failed write.
pub(crate) fn remove_at(dir: &Path, tmp: &OsStr) {
    let _ = std::fs::remove_file(dir.join(tmp));
}

/// The bytes of the regular file `name` in `dir` if it has exactly `size` bytes, never through a
/// link.
pub(crate) fn read_regular_at(dir: &Path, name: &OsStr, size: u64) -> std::io::Result<Vec<u8>> {
    let file = File::options()
        .read(true)
        .no_follow(true)
        .open(dir.join(name))?;
    read_exactly(file, size)
}

/// Creates a new file in `dir` at a fresh temporary name (`create_new` never opens what exists,
/// a link included).
pub(crate) fn create_temp_file(dir: &Path) -> std::io::Result<(OsString, File)> {
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_name();
        match File::options()
            .write(true)
            .create_new(true)
            .open(dir.join(&tmp))
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary file for a restored output: every name tried was taken",
    ))
}

/// A symlink member: not restored on Windows.
pub(crate) fn create_temp_symlink(_dir: &Path, target: &Path) -> std::io::Result<OsString> {
    Err(std::io::Error::other(format!(
        "not supported on Windows yet: restoring a symlink (to `{}`) from the cache",
        target.display()
    )))
}

/// Removes the temporary files that the restore by process `pid`, now gone, left in the folders
/// `dirs` below `root`: names of that pid only, never through a link. Returns how many.
pub fn remove_dead_temps(root: &Path, dirs: &[PathBuf], pid: u32) -> usize {
    let prefix = format!("{TEMP_PREFIX}{pid}-");
    let mut removed = 0;
    for rel in dirs {
        let mut at = root.to_path_buf();
        let reachable = rel.components().all(|part| {
            let Component::Normal(name) = part else {
                return false;
            };
            at.push(name);
            std::fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir() && !m.file_type().is_symlink())
        });
        if !reachable {
            continue;
        }
        let Ok(listing) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(&prefix)
                && entry
                    .file_type()
                    .is_ok_and(|t| t.is_file() || t.is_symlink())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}
