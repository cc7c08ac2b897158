//! Extracting checked members through directory descriptors and exclusive temporary names.

use super::*;
#[cfg(unix)]
use std::ffi::OsStr;
#[cfg(unix)]
use std::fs::File;
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
#[cfg(unix)]
use std::path::Component;
use std::path::{Path, PathBuf};

use super::temps::{create_temp_file, create_temp_symlink};
#[cfg(unix)]
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
#[cfg(unix)]
use rustix::io::Errno;

#[cfg(windows)]
use super::windows::{read_regular_at, remove_at, replace_at, stat_regular, DirWriter};

/// Files up to this size are compared with what is already in place before being rewritten.
const SAME_FILE_CHECK: u64 = 1 << 20;

/// [`extract_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn extract(compressed: &[u8], root: &Path, members: Vec<Member>) -> std::io::Result<()> {
    extract_tar(
        zstd::decode_all(compressed)?.as_slice(),
        root,
        &members,
        &mut |_| {},
    )
}

/// Writes the `members` that [`check_tar`] accepted under `root`, reading the same tar stream
/// again. Every entry must be the checked member at its position, so an archive swapped in
/// between cannot write anything unchecked. Existing files are replaced atomically, each through
/// a temporary file beside it; `before_first_write` is told the folders (relative to `root`) that
/// receive those, once, before the first is created, so a journal can name them should this
/// process die half-way. Outputs already in place with the same bytes need none.
pub fn extract_tar<R: Read>(
    stream: R,
    root: &Path,
    members: &[Member],
    before_first_write: &mut dyn FnMut(&[PathBuf]),
) -> std::io::Result<()> {
    let mut announce = Some(before_first_write);
    let mut announce = move || {
        if let Some(tell) = announce.take() {
            tell(&written_dirs(members));
        }
    };
    // A symlink already in the worktree (say a committed `bin -> /elsewhere`) would carry writes
    // out of the service root: refuse before writing anything. (The writer below never follows
    // one either; this check only makes the refusal whole instead of half-way.)
    for m in members {
        let path = m.path();
        let mut at = root.to_path_buf();
        let mut parts = path.components().peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                break;
            }
            at.push(part);
            if std::fs::symlink_metadata(&at).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(std::io::Error::other(format!(
                    "refusing to restore `{}` through the symlink `{}` in the service root",
                    path.display(),
                    at.display()
                )));
            }
        }
    }
    let mut dirs = DirWriter::open(root)?;
    let mut archive = tar::Archive::new(stream);
    let mut entries = archive.entries()?;
    for m in members {
        let mut entry = entries
            .next()
            .ok_or_else(|| std::io::Error::other("the archive changed after it was checked"))??;
        let same = entry
            .path()
            .ok()
            .and_then(|p| safe_relative(p.as_ref()))
            .as_deref()
            == Some(m.path());
        if !same {
            return Err(std::io::Error::other(
                "the archive changed after it was checked",
            ));
        }
        match m {
            Member::Dir { path } => {
                dirs.walk(path)?;
            }
            Member::File { path, mode } => {
                let mode = *mode;
                let (dir, name) = dirs.parent_of(path)?;
                // An identical file already in place (same size, mode and bytes) is left alone:
                // no write, no rename, and its mtime stays, which keeps later tools quiet.
                let mut data = None;
                let size = entry.size();
                if let Some((len, bits)) = stat_regular(dir, name) {
                    if len == size && size <= SAME_FILE_CHECK && bits & 0o777 == mode {
                        let mut bytes = Vec::with_capacity(size as usize);
                        entry.read_to_end(&mut bytes)?;
                        if read_regular_at(dir, name, size).is_ok_and(|old| old == bytes) {
                            continue;
                        }
                        data = Some(bytes);
                    }
                }
                announce();
                // Its lock is held until the rename: a cleaner removes only an unlocked one.
                let (tmp, mut file) = create_temp_file(dir)?;
                let write = || {
                    match data {
                        Some(bytes) => file.write_all(&bytes)?,
                        None => {
                            std::io::copy(&mut entry, &mut file)?;
                        }
                    }
                    // Through the descriptor: the path could name something else by now.
                    #[cfg(unix)]
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                    replace_at(dir, &tmp, name)
                };
                let written = write();
                if written.is_err() {
                    remove_at(dir, &tmp);
                }
                drop(file);
                written?;
            }
            Member::Symlink { path, target } => {
                let (dir, name) = dirs.parent_of(path)?;
                announce();
                let tmp = create_temp_symlink(dir, target)?;
                let written = replace_at(dir, &tmp, name);
                if written.is_err() {
                    remove_at(dir, &tmp);
                }
                written?;
            }
        }
    }
    Ok(())
}

/// The folders (relative to the root) that the file and symlink `members` are written into.
fn written_dirs(members: &[Member]) -> Vec<PathBuf> {
    let dirs: std::collections::BTreeSet<&Path> = members
        .iter()
        .filter(|m| !matches!(m, Member::Dir { .. }))
        .map(|m| m.path().parent().unwrap_or(Path::new("")))
        .collect();
    dirs.into_iter().map(Path::to_path_buf).collect()
}

/// Opens directories below a service root one component at a time, creating missing ones, without
/// following a symlink anywhere below the root. Keeps the last parent open, since members arrive
/// grouped by directory.
#[cfg(unix)]
pub(super) struct DirWriter {
    root_path: PathBuf,
    root: OwnedFd,
    last: Option<(PathBuf, OwnedFd)>,
}

#[cfg(unix)]
impl DirWriter {
    pub(super) fn open(root: &Path) -> std::io::Result<Self> {
        // The service root itself is the caller's (it may legitimately be reached through a link).
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot open the service root {}: {e}", root.display()),
            )
        })?;
        Ok(DirWriter {
            root_path: root.to_path_buf(),
            root: fd,
            last: None,
        })
    }

    /// The open directory holding `path`, and `path`'s file name.
    fn parent_of<'p>(&mut self, path: &'p Path) -> std::io::Result<(BorrowedFd<'_>, &'p OsStr)> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other(format!("`{}` has no name", path.display())))?;
        let parent = path.parent().unwrap_or(Path::new(""));
        if parent.as_os_str().is_empty() {
            return Ok((self.root.as_fd(), name));
        }
        let cached = self.last.as_ref().is_some_and(|(p, _)| p == parent);
        if !cached {
            let fd = self.walk(parent)?;
            self.last = Some((parent.to_path_buf(), fd));
        }
        let fd = self
            .last
            .as_ref()
            .map(|(_, fd)| fd.as_fd())
            .unwrap_or(self.root.as_fd());
        Ok((fd, name))
    }

    /// Opens (creating as needed) the directory `rel` below the root.
    pub(super) fn walk(&self, rel: &Path) -> std::io::Result<OwnedFd> {
        let mut fd = rustix::fs::openat(&self.root, ".", dir_flags(), Mode::empty())?;
        let mut at = PathBuf::new();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(not_plain(rel));
            };
            at.push(name);
            let opened = match rustix::fs::openat(&fd, name, dir_flags(), Mode::empty()) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&fd, name, dir_flags(), Mode::empty())
                }
                other => other,
            };
            fd = match opened {
                Ok(d) => d,
                Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                    return Err(not_a_folder(&self.root_path.join(&at)))
                }
                Err(e) => return Err(e.into()),
            };
        }
        Ok(fd)
    }
}

/// Renames `tmp` over `name` in `dir`; any entry in the way but a directory is replaced
/// atomically. An empty directory in the way is removed first (a rename cannot replace a directory
/// with a file); a directory with anything in it is refused, since what it holds need not be an
/// output (a cached `vendor/x.js` must not delete a checked-in `vendor/x.js/LICENSE`).
#[cfg(unix)]
fn replace_at(dir: BorrowedFd, tmp: &OsStr, name: &OsStr) -> std::io::Result<()> {
    if let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            if let Err(e) = rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
                let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
                return Err(
                    if e == rustix::io::Errno::NOTEMPTY || e == rustix::io::Errno::EXIST {
                        std::io::Error::other(format!(
                        "`{}` is a directory with files in it, where the cache holds a file; move it away or clean the outputs",
                        name.to_string_lossy()
                    ))
                    } else {
                        e.into()
                    },
                );
            }
        }
    }
    rustix::fs::renameat(dir, tmp, dir, name)?;
    Ok(())
}

/// The size and permission bits of `name` in `dir` when it is a regular file (a symlink is not
/// followed).
#[cfg(unix)]
fn stat_regular(dir: BorrowedFd, name: &OsStr) -> Option<(u64, u32)> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    (FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
        .then(|| (st.st_size as u64, mode_bits(st.st_mode)))
}

/// Removes the temporary `tmp` in `dir` after a failed write; what remains is a cleaner's.
#[cfg(unix)]
fn remove_at(dir: BorrowedFd, tmp: &OsStr) {
    let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
}

/// The bytes of the regular file `name` in `dir` if it has exactly `size` bytes: never through a
/// symlink, never blocking on a FIFO.
#[cfg(unix)]
fn read_regular_at(dir: BorrowedFd, name: &OsStr, size: u64) -> std::io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    read_exactly(File::from(fd), size)
}

/// A raw `st_mode` as 32 bits: it is `u32` on Linux and `u16` on macOS.
#[cfg(unix)]
#[cfg_attr(
    target_os = "linux",
    expect(
        clippy::useless_conversion,
        reason = "a no-op on Linux, a widening on macOS"
    )
)]
fn mode_bits(raw: rustix::fs::RawMode) -> u32 {
    u32::from(raw)
}
