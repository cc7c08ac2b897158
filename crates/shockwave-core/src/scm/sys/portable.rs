//! The portable backend: std's `read_dir` and `symlink_metadata` on paths. It reads the same
//! names and stat data as the Linux backend, at the cost of a path walk in the kernel per call.
//! A directory is checked with `symlink_metadata` before it is opened, so a symlink is not
//! followed unless it is swapped in between the two calls; the scan only reads, so such a race
//! can at worst misreport what changed in a tree that is changing under it.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::{Entry, Kind, ListEntries, OpenDir, Stat};

/// An open directory: its path, and the listing opened with it (so an unreadable directory fails
/// to open, as it does on Linux).
pub struct Dir {
    path: PathBuf,
    listing: Mutex<Option<fs::ReadDir>>,
}

impl Dir {
    fn child(&self, name: &CStr) -> PathBuf {
        self.path.join(crate::platform::path(name.to_bytes()))
    }
}

impl OpenDir for Dir {
    type Entries<'d> = Entries;

    fn open(path: &Path) -> io::Result<Dir> {
        Ok(Dir {
            path: path.to_path_buf(),
            listing: Mutex::new(Some(fs::read_dir(path)?)),
        })
    }

    fn open_child(&self, name: &CStr) -> io::Result<Dir> {
        let path = self.child(name);
        if !fs::symlink_metadata(&path)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory (or a symlink to one)",
            ));
        }
        Dir::open(&path)
    }

    fn stat_child(&self, name: &CStr) -> Option<Stat> {
        let m = fs::symlink_metadata(self.child(name)).ok()?;
        Some(stat_of(&m))
    }

    fn entries(&self) -> Entries {
        Entries {
            read: self
                .listing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
            name: CString::default(),
        }
    }
}

#[cfg(unix)]
fn stat_of(m: &fs::Metadata) -> Stat {
    use std::os::unix::fs::MetadataExt;
    Stat {
        kind: kind_of(m.file_type()),
        executable: m.mode() & 0o100 != 0,
        size: m.size(),
        ino: m.ino(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        nlink: m.nlink(),
    }
}

/// Windows has no inode, ctime or exec bit: they read as 0 (and false), so a file whose index
/// entry records other values is hashed to be compared (slower, never wrong), and the creation
/// time stands for the ctime.
#[cfg(windows)]
fn stat_of(m: &fs::Metadata) -> Stat {
    use crate::platform::since_epoch;
    Stat {
        kind: kind_of(m.file_type()),
        executable: false,
        size: m.len(),
        ino: 0,
        mtime: since_epoch(m.modified()),
        ctime: since_epoch(m.created()),
        nlink: 1,
    }
}

fn kind_of(t: fs::FileType) -> Kind {
    if t.is_file() {
        Kind::File
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Other
    }
}

/// A `read_dir` listing, holding the current name so that entries borrow it as they do the Linux
/// backend's buffer.
pub struct Entries {
    read: Option<fs::ReadDir>,
    name: CString,
}

impl ListEntries for Entries {
    fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>> {
        loop {
            let Some(next) = self.read.as_mut().and_then(Iterator::next) else {
                self.read = None;
                return Ok(None);
            };
            let entry = match next {
                Ok(entry) => entry,
                Err(e) => {
                    self.read = None;
                    return Err(e);
                }
            };
            // A file name never holds a NUL byte; skip one that somehow does, as a listing would.
            let Ok(name) = CString::new(entry.file_name().into_encoded_bytes()) else {
                continue;
            };
            self.name = name;
            return Ok(Some(Entry {
                name: &self.name,
                kind: entry.file_type().ok().map(kind_of),
            }));
        }
    }
}
