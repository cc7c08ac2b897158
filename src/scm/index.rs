//! The content id of every file in the worktree, as cheaply as git allows: a clean tracked file's
//! id is the blob id recorded in the index (no read); a modified, racy or untracked file is read and
//! hashed the way git hashes a blob, so identical content always yields the identical id. Files
//! deleted from the worktree are absent. Built once per run; queried per service by path prefix.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;

use bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;
use rayon::prelude::*;

use super::{Repo, ScmError};

/// A file's content id (a git blob id, or a commit id for a submodule).
pub type FileId = ObjectId;

pub struct RepoIndex {
    index: gix::worktree::Index,
    /// Tracked paths whose worktree content differs from the index: `Some(id)` from disk, `None` deleted.
    dirty: HashMap<BString, Option<FileId>>,
    /// Untracked, not ignored files with their ids from disk, sorted by path.
    untracked: Vec<(BString, FileId)>,
}

impl RepoIndex {
    /// Reads the index and the worktree status, then hashes the dirty and untracked files in parallel.
    pub fn load(repo: &Repo) -> Result<RepoIndex, ScmError> {
        let git = |action: &str, e: &dyn std::fmt::Display| ScmError::Git {
            action: action.to_string(),
            detail: e.to_string(),
        };
        let index = repo
            .repo
            .index_or_empty()
            .map_err(|e| git("read the git index", &e))?;
        let status = repo
            .repo
            .status(gix::progress::Discard)
            .map_err(|e| git("start a worktree status", &e))?
            .untracked_files(gix::status::UntrackedFiles::Files)
            .index_worktree_rewrites(None)
            .index(gix::worktree::IndexPersistedOrInMemory::Persisted(index.clone()));
        let iter = status
            .into_index_worktree_iter(Vec::<BString>::new())
            .map_err(|e| git("read the worktree status", &e))?;
        let mut deleted = Vec::new();
        let mut to_hash: Vec<(BString, bool)> = Vec::new();
        for item in iter {
            let item = item.map_err(|e| git("read the worktree status", &e))?;
            use gix::status::index_worktree::iter::Summary;
            let Some(summary) = item.summary() else {
                continue;
            };
            let path = item.rela_path().to_owned();
            match summary {
                Summary::Removed => deleted.push(path),
                Summary::Added => to_hash.push((path, false)),
                _ => to_hash.push((path, true)),
            }
        }
        let workdir = repo.workdir().to_path_buf();
        let kind = repo.repo.object_hash();
        let hashed: Vec<(BString, bool, Option<FileId>)> = to_hash
            .into_par_iter()
            .map(|(path, tracked)| {
                let id = hash_worktree_file(&workdir, path.as_bstr(), kind);
                (path, tracked, id)
            })
            .collect();
        let mut dirty: HashMap<BString, Option<FileId>> = deleted.into_iter().map(|p| (p, None)).collect();
        let mut untracked = Vec::new();
        for (path, tracked, id) in hashed {
            if tracked {
                dirty.insert(path, id);
            } else if let Some(id) = id {
                untracked.push((path, id));
            }
        }
        untracked.sort();
        Ok(RepoIndex {
            index,
            dirty,
            untracked,
        })
    }

    /// Calls `f` for every present file whose repo-relative path starts with `prefix` (a directory
    /// with a trailing `/`, or empty for all), in path order for tracked files, then untracked ones.
    pub fn for_each_under(&self, prefix: &[u8], mut f: impl FnMut(&BStr, &gix::oid)) {
        let entries = self.index.entries();
        let start = entries.partition_point(|e| e.path(&self.index).as_bytes() < prefix);
        let mut last: Option<&BStr> = None;
        for e in &entries[start..] {
            let path = e.path(&self.index);
            if !path.starts_with(prefix) {
                break;
            }
            // Conflicted paths have several stages; the worktree version (dirty) stands for them.
            if last == Some(path) {
                continue;
            }
            last = Some(path);
            match self.dirty.get(path) {
                Some(Some(id)) => f(path, id),
                Some(None) => {}
                None => f(path, &e.id),
            }
        }
        let ustart = self.untracked.partition_point(|(p, _)| p.as_bytes() < prefix);
        for (p, id) in &self.untracked[ustart..] {
            if !p.starts_with(prefix) {
                break;
            }
            f(p.as_bstr(), id);
        }
    }

    /// Number of files whose id had to be computed from disk.
    pub fn hashed_from_disk(&self) -> usize {
        self.dirty.values().filter(|v| v.is_some()).count() + self.untracked.len()
    }
}

/// The git blob id of a worktree file (symlinks hash their target, like git). `None` if unreadable.
fn hash_worktree_file(workdir: &std::path::Path, rela: &BStr, kind: gix::hash::Kind) -> Option<FileId> {
    let path = workdir.join(std::ffi::OsStr::from_bytes(rela));
    let meta = std::fs::symlink_metadata(&path).ok()?;
    let data = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path).ok()?;
        target.as_os_str().as_bytes().to_vec()
    } else if meta.is_file() {
        std::fs::read(&path).ok()?
    } else {
        return None;
    };
    gix::objs::compute_hash(kind, gix::objs::Kind::Blob, &data).ok()
}
