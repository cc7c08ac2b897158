//! The targeted scan: the same directory listings as the full one, for only the directories a
//! file monitor says may differ, reached without sorting the whole index into directories.

use std::ffi::CString;
use std::path::Path;

use bstr::{BString, ByteSlice};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{open_root, split, sys, Ctx, DirInfo, Here, Listing, OpenDir, Scan, ScanError, Scope};

/// What [`scan`] of the whole worktree finds, from listing only the directories that can hold a
/// difference: the deepest tracked directory above each of `changed` (paths a file monitor
/// reports, and every path the last scan against this same index reported: so racy and
/// intent-to-add entries, which are always suspects, and submodules, whose commits move where the
/// monitor does not look), and each tracked directory among them. Every other directory is as
/// the last scan saw it, which found nothing there. Only the index entries below the listed
/// directories are sorted into directories. `None` when a directory vanished while it was being
/// scanned: only a full scan can then say what is there.
pub fn scan_changed(
    repo: &gix::Repository,
    workdir: &Path,
    index: &gix::index::State,
    file_mode: bool,
    changed: &[BString],
) -> Result<Option<Scan>, ScanError> {
    let root = open_root(workdir)?;
    // A directory on the way to a target that cannot be opened: the full scan would have listed
    // its parent and found it missing or replaced, so that parent is listed instead.
    let mut targets: FxHashSet<&[u8]> = FxHashSet::default();
    let mut pending = dirs_to_list(index, changed);
    while let Some(dir) = pending.pop() {
        if targets.contains(dir) {
            continue;
        }
        match open_path(&root, dir) {
            Ok(_) => {
                targets.insert(dir);
            }
            Err(gone) => pending.push(split(gone).0),
        }
    }
    let mut targets: Vec<&[u8]> = targets.into_iter().collect();
    targets.sort_unstable();
    let dirs = listed_dirs(index, &targets);
    tracing::debug!(
        "worktree scan: {} tracked directories may hold a change ({} index entries in them)",
        targets.len(),
        dirs.values().map(|d| d.files.len()).sum::<usize>()
    );
    let everything = Scope::everything();
    let ctx = Ctx::new(&everything, index, &dirs, file_mode);
    let listed = targets
        .par_iter()
        .all(|dir| ctx.list_at(&root, dir).is_ok());
    if !listed {
        tracing::debug!("a directory vanished during the scan; scanning the worktree in full");
        return Ok(None);
    }
    ctx.finish(repo, workdir).map(Some)
}

/// Opens the directory `path` below `root` one component at a time, never following a symlink
/// (as [`Ctx::visit`] reaches it); `Err` holds the part of `path` that could not be opened.
pub(super) fn open_path<'p>(root: &sys::Dir, path: &'p [u8]) -> Result<Option<sys::Dir>, &'p [u8]> {
    let mut opened: Option<sys::Dir> = None;
    let mut end = 0;
    while end < path.len() {
        let next = path[end..].find_byte(b'/').map_or(path.len(), |i| end + i);
        let name = CString::new(&path[end..next]).map_err(|_| &path[..next])?;
        let parent = opened.as_ref().unwrap_or(root);
        match parent.open_child(&name) {
            Ok(child) => opened = Some(child),
            Err(err) => {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(
                        "cannot open directory `{}` ({err}); treating its tracked files as changed",
                        path[..next].as_bstr()
                    );
                }
                return Err(&path[..next]);
            }
        }
        end = next + 1;
    }
    Ok(opened)
}

/// Whether the index holds a file below the directory `dir` (`""`: the worktree root).
fn is_tracked_dir(index: &gix::index::State, dir: &[u8]) -> bool {
    if dir.is_empty() {
        return true;
    }
    !entry_range(index, dir).is_empty()
}

/// The index entries below the directory `dir`: those whose path starts with `dir/` (sorted
/// paths put them together, from `dir/` up to `dir0`, `0` being the byte after `/`).
pub(super) fn entry_range(index: &gix::index::State, dir: &[u8]) -> std::ops::Range<usize> {
    let entries = index.entries();
    if dir.is_empty() {
        return 0..entries.len();
    }
    let mut key = Vec::with_capacity(dir.len() + 1);
    key.extend_from_slice(dir);
    key.push(b'/');
    let start = entries.partition_point(|e| e.path(index).as_bytes() < key.as_slice());
    let slash = key.len() - 1;
    key[slash] = b'0';
    let end = entries.partition_point(|e| e.path(index).as_bytes() < key.as_slice());
    start..end.max(start)
}

/// What the index holds directly in each of `dirs`: its files and the names of its tracked
/// subdirectories, found by jumping over each subdirectory's entries (a search each) rather than
/// sorting every entry below into directories: listing the worktree root costs as little as
/// listing any other directory.
fn listed_dirs<'i>(
    index: &'i gix::index::State,
    dirs: &[&[u8]],
) -> FxHashMap<&'i [u8], DirInfo<'i>> {
    let entries = index.entries();
    let mut out: FxHashMap<&'i [u8], DirInfo<'i>> = FxHashMap::default();
    for &dir in dirs {
        let range = entry_range(index, dir);
        let Some(first) = entries.get(range.start).filter(|_| !range.is_empty()) else {
            continue;
        };
        // The directory's own path as the index spells it, borrowed from the index.
        let own: &'i [u8] = &first.path(index).as_bytes()[..dir.len()];
        let skip = if dir.is_empty() { 0 } else { dir.len() + 1 };
        let mut info = DirInfo::default();
        let mut i = range.start;
        while i < range.end {
            let path = entries[i].path(index).as_bytes();
            let rest = &path[skip..];
            match rest.find_byte(b'/') {
                None => {
                    // A conflict's stages share one path: the first stands for all.
                    let repeated = i > range.start && entries[i - 1].path(index) == path;
                    if !repeated {
                        info.files.push((rest, i));
                    }
                    i += 1;
                }
                Some(slash) => {
                    info.subdirs.push(&rest[..slash]);
                    i = entry_range(index, &path[..skip + slash]).end.max(i + 1);
                }
            }
        }
        info.subdirs.sort_unstable();
        info.subdirs.dedup();
        out.insert(own, info);
    }
    out
}

/// The tracked directories [`scan_changed`] lists, before checking they can be opened.
fn dirs_to_list<'c>(index: &gix::index::State, changed: &'c [BString]) -> Vec<&'c [u8]> {
    let deepest_tracked = |mut d: &'c [u8]| -> &'c [u8] {
        while !is_tracked_dir(index, d) {
            d = split(d).0;
        }
        d
    };
    let mut out: FxHashSet<&'c [u8]> = FxHashSet::default();
    let own_dir_untracked = !is_tracked_dir(index, b".shockwave");
    for path in changed {
        let path = path.as_slice();
        if path.split_str("/").any(|c| c == b".git") {
            continue;
        }
        if is_tracked_dir(index, path) {
            out.insert(path);
        }
        let above = deepest_tracked(split(path).0);
        // The scan never enters an untracked `.shockwave` at the root (see `Ctx::untracked`).
        if above.is_empty() && own_dir_untracked && split_first(path) == b".shockwave" {
            continue;
        }
        out.insert(above);
    }
    out.into_iter().collect()
}

/// `a/b/c` → `a`.
fn split_first(path: &[u8]) -> &[u8] {
    path.find_byte(b'/').map_or(path, |i| &path[..i])
}

impl Ctx<'_> {
    /// Lists the tracked directory `path` alone (not what is below it), opening it from `root`
    /// as [`Ctx::visit`] would; `Err` when it (or a directory above it) cannot be opened.
    fn list_at<'p>(&self, root: &sys::Dir, path: &'p [u8]) -> Result<(), &'p [u8]> {
        let opened = open_path(root, path)?;
        let here = Here {
            dir: opened.as_ref().unwrap_or(root),
            path,
            inside: true,
        };
        let listing = self.list(&here);
        self.absorb(Listing {
            subdirs: Vec::new(),
            ..listing
        });
        Ok(())
    }
}
