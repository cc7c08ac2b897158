//! The temporary files a restore writes outputs through: created exclusively at fresh names
//! (`.shockwave-tmp-PID-N`), never through a link, and locked (`flock`) by their writer until they
//! are renamed into place. A restore killed half-way leaves them behind; [`remove_dead_temps`]
//! removes the ones a dead restore left in the folders its journal names, and only those: a file
//! is removed only once its lock can be taken, so a live writer's never is, even one that got the
//! dead one's pid.

use std::ffi::{CStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::{dir_flags, temp_name, TEMP_PREFIX};

/// How many taken names to skip before giving up on creating a temporary file.
const TEMP_ATTEMPTS: usize = 32;

/// Creates a new file in `dir` at a fresh temporary name, locked: keep the file open until it
/// is renamed into place.
pub(super) fn create_temp_file(dir: BorrowedFd) -> std::io::Result<(OsString, File)> {
    for _ in 0..TEMP_ATTEMPTS {
        let (tmp, file) = create_first_free(dir, (0..TEMP_ATTEMPTS).map(|_| temp_name()))?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) if names(dir, &tmp, &file) => return Ok((tmp, file)),
            // A cleaner holds it, or removed it between the two steps: another name.
            Ok(()) | Err(Errno::WOULDBLOCK) => continue,
            // No locks on this file system: the file goes unlocked (a cleaner cannot lock it
            // either, so it never removes it).
            Err(_) => return Ok((tmp, file)),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary file for a restored output: every name tried was taken",
    ))
}

/// Whether `name` in `dir` is the open `file`.
fn names(dir: BorrowedFd, name: &OsString, file: &File) -> bool {
    match (
        rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
        rustix::fs::fstat(file),
    ) {
        (Ok(named), Ok(held)) => named.st_ino == held.st_ino && named.st_dev == held.st_dev,
        _ => false,
    }
}

/// Creates the first of `names` that does not exist in `dir`, with `O_CREAT|O_EXCL|O_NOFOLLOW`:
/// it never opens anything that already exists, a symlink included.
pub(super) fn create_first_free(
    dir: BorrowedFd,
    names: impl Iterator<Item = OsString>,
) -> std::io::Result<(OsString, File)> {
    for tmp in names {
        match rustix::fs::openat(
            dir,
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((tmp, File::from(fd))),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary file for a restored output: every name tried was taken",
    ))
}

/// Creates a symlink to `target` at a new temporary name in `dir` (`symlinkat` never follows or
/// replaces what exists). A link cannot be locked; it lives only between this and a rename.
pub(super) fn create_temp_symlink(dir: BorrowedFd, target: &Path) -> std::io::Result<OsString> {
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_name();
        match rustix::fs::symlinkat(target, dir, &tmp) {
            Ok(()) => return Ok(tmp),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary symlink for a restored output: every name tried was taken",
    ))
}

/// Removes the temporary files that the restore by process `pid`, now gone, left in the folders
/// `dirs` below `root`: names of that pid only, a regular file only once its lock can be taken,
/// a symlink as it is. Folders are reached without following a symlink below `root`; what
/// cannot be reached or listed is skipped. Returns how many were removed.
pub fn remove_dead_temps(root: &Path, dirs: &[PathBuf], pid: u32) -> usize {
    let prefix = format!("{TEMP_PREFIX}{pid}-");
    let Ok(root) = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return 0;
    };
    let mut removed = 0;
    for rel in dirs {
        let Ok(dir) = open_below(&root, rel) else {
            continue;
        };
        let Ok(listing) = rustix::fs::Dir::read_from(&dir) else {
            continue;
        };
        for entry in listing.flatten() {
            let name = entry.file_name();
            if name.to_bytes().starts_with(prefix.as_bytes()) && remove_unlocked(&dir, name) {
                removed += 1;
            }
        }
    }
    removed
}

/// Opens the existing folder `rel` below `root`, never following a symlink.
fn open_below(root: &OwnedFd, rel: &Path) -> std::io::Result<OwnedFd> {
    let mut fd = rustix::fs::openat(root, ".", dir_flags(), Mode::empty())?;
    for part in rel.components() {
        let Component::Normal(name) = part else {
            return Err(std::io::Error::other("not a plain relative path"));
        };
        fd = rustix::fs::openat(&fd, name, dir_flags(), Mode::empty())?;
    }
    Ok(fd)
}

/// Removes the temporary `name` in `dir` if nobody holds it.
fn remove_unlocked(dir: &OwnedFd, name: &CStr) -> bool {
    let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Symlink => rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok(),
        FileType::RegularFile => {
            let Ok(fd) = rustix::fs::openat(
                dir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            ) else {
                return false;
            };
            let file = File::from(fd);
            if rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
                return false;
            }
            // Unlinked while held, and only if the name is still the file that was locked.
            names(
                dir.as_fd(),
                &OsString::from(name.to_string_lossy().into_owned()),
                &file,
            ) && rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok()
        }
        _ => false,
    }
}
