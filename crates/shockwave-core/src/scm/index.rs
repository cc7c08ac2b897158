//! The content id of every file in the worktree, as cheaply as git allows: a clean tracked file's
//! id is the blob id recorded in the index (no read); a modified, racy or untracked file is read and
//! hashed the way git hashes a blob, so identical content always yields the identical id. Files
//! deleted from the worktree are absent. Built once per run; queried per service by path prefix.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use bstr::{BStr, BString, ByteSlice};
use gix::ObjectId;
use rayon::prelude::*;

use super::{fsmonitor, worktree, Repo, ScmError, Scope};

/// A file's content id (a git blob id, or a commit id for a submodule).
pub type FileId = ObjectId;

pub struct RepoIndex {
    /// Shared with the watcher's memory of it, which reads it again only once it is rewritten.
    index: Arc<gix::index::File>,
    /// Tracked paths whose worktree content differs from the index: `Some` from disk, `None` deleted.
    dirty: FxHashMap<BString, Option<(FileId, u32)>>,
    /// Untracked, not ignored files with their ids and modes from disk, sorted by path.
    untracked: Vec<(BString, FileId, u32)>,
}

impl RepoIndex {
    /// Reads the index, scans the worktree against it, and hashes the files whose stat data no
    /// longer vouches for the index (and the untracked ones) in parallel.
    /// Only files under `scope` are checked against the worktree; [`Self::for_each_under`] must
    /// only be asked about paths inside it.
    pub fn load(repo: &Repo, scope: &Scope) -> Result<RepoIndex, ScmError> {
        // Taken before the read: a rewrite racing with it then shows as a change next run.
        let monitored = repo.seen.is_some() || repo.fsmonitor.is_some();
        let index_stamp = monitored
            .then(|| fsmonitor::index_stamp(&repo.repo.index_path()))
            .flatten();
        // A watch keeps the index between rounds while its file is not rewritten.
        let index = match (&repo.seen, index_stamp) {
            (Some(seen), Some(stamp)) => match seen.index(stamp) {
                Some(index) => {
                    tracing::debug!(
                        "kept the index ({} entries): its file is as the last round read it",
                        index.entries().len()
                    );
                    index
                }
                None => {
                    let index = Arc::new(read_index(repo)?);
                    seen.keep_index(stamp, index.clone());
                    index
                }
            },
            _ => Arc::new(read_index(repo)?),
        };
        // core.fileMode = false: exec bits on disk mean nothing (git ignores them too).
        let file_mode = repo
            .repo
            .config_snapshot()
            .boolean("core.fileMode")
            .unwrap_or(true);
        // The watcher of this process knows what changed without asking Watchman.
        let session = match (&repo.seen, &repo.fsmonitor) {
            (Some(seen), _) => Some(seen.session(repo, &index, index_stamp, file_mode)),
            (None, Some(m)) => Some(m.begin(repo, &index, index_stamp, file_mode)),
            (None, None) => None,
        };
        // Whether the scan covered the whole worktree (with a monitor, the next run is told).
        let mut full = true;
        let scanned = match session.as_ref().map(|s| s.changed()) {
            None => worktree::scan(&repo.repo, repo.workdir(), &index, scope, file_mode),
            // With a monitor the whole worktree is scanned, so that what the next run is told to
            // look at again covers every path, whatever that run's scope.
            Some(changed) => {
                let targeted = match changed {
                    Some(changed) => worktree::scan_changed(
                        &repo.repo,
                        repo.workdir(),
                        &index,
                        file_mode,
                        changed,
                    ),
                    None => Ok(None),
                };
                match targeted {
                    Ok(Some(scan)) => {
                        full = false;
                        Ok(scan)
                    }
                    Ok(None) => {
                        let everything = Scope::everything();
                        worktree::scan(&repo.repo, repo.workdir(), &index, &everything, file_mode)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let scan = scanned.map_err(|e| ScmError::Git {
            action: "scan the worktree".into(),
            detail: e.to_string(),
        })?;
        if let Some(session) = session {
            session.finish(&index, &scan, full);
        }
        tracing::debug!(
            "scanned the worktree: {} to hash, {} deleted, {} untracked",
            scan.suspect.len(),
            scan.deleted.len(),
            scan.untracked.len()
        );
        let workdir = repo.workdir();
        let kind = repo.repo.object_hash();
        let entries = index.entries();
        let suspects: Vec<(BString, Option<(FileId, u32)>)> = scan
            .suspect
            .par_iter()
            .filter_map(|&i| {
                let e = &entries[i];
                let path = e.path(&index);
                let found =
                    hash_worktree_file(workdir, path, kind, (!file_mode).then_some(e.mode.bits()))
                        .map_err(|err| warn_unreadable(path, &err))
                        .ok();
                // Same content and mode after all (touched, or racy but clean): the index stands.
                if found.is_some_and(|(id, mode)| id == e.id && mode == e.mode.bits()) {
                    None
                } else {
                    Some((path.to_owned(), found))
                }
            })
            .collect();
        let mut dirty: FxHashMap<BString, Option<(FileId, u32)>> = suspects.into_iter().collect();
        for &i in &scan.deleted {
            dirty.insert(entries[i].path(&index).to_owned(), None);
        }
        // A submodule's content id is the commit checked out in it (the index's when it is not
        // checked out).
        for &i in &scan.submodules {
            let e = &entries[i];
            let path = e.path(&index);
            if let Some(head) = submodule_head(workdir, path) {
                if head != e.id {
                    dirty.insert(path.to_owned(), Some((head, e.mode.bits())));
                }
            }
        }
        let mut untracked: Vec<(BString, FileId, u32)> = scan
            .untracked
            .into_par_iter()
            .filter_map(|p| {
                let default_mode = (!file_mode).then_some(0o100644);
                hash_worktree_file(workdir, p.as_bstr(), kind, default_mode)
                    .map_err(|err| warn_unreadable(p.as_bstr(), &err))
                    .ok()
                    .map(|(id, mode)| (p, id, mode))
            })
            .collect();
        untracked.sort();
        Ok(RepoIndex {
            index,
            dirty,
            untracked,
        })
    }

    /// Calls `f(path, id, mode)` for every present file whose repo-relative path starts with
    /// `prefix` (a directory with a trailing `/`, or empty for all): tracked files in path order,
    /// then untracked ones.
    pub fn for_each_under<'s>(
        &'s self,
        prefix: &[u8],
        mut f: impl FnMut(&'s BStr, &'s gix::oid, u32),
    ) {
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
            if self.dirty.is_empty() {
                f(path, &e.id, e.mode.bits());
                continue;
            }
            match self.dirty.get(path) {
                Some(Some((id, mode))) => f(path, id, *mode),
                Some(None) => {}
                None => f(path, &e.id, e.mode.bits()),
            }
        }
        let ustart = self
            .untracked
            .partition_point(|(p, _, _)| p.as_bytes() < prefix);
        for (p, id, mode) in &self.untracked[ustart..] {
            if !p.starts_with(prefix) {
                break;
            }
            f(p.as_bstr(), id, *mode);
        }
    }

    /// Whether git tracks `path` (repository-relative): it has an entry in the index.
    pub fn is_tracked(&self, path: &BStr) -> bool {
        self.index.entry_by_path(path).is_some()
    }

    /// The index as read.
    pub fn state(&self) -> &gix::index::State {
        &self.index
    }

    /// Tracked paths whose worktree differs from the index: new id and mode, or `None` if deleted.
    pub fn unstaged(&self) -> impl Iterator<Item = (&BStr, Option<(FileId, u32)>)> {
        self.dirty.iter().map(|(p, v)| (p.as_bstr(), *v))
    }

    /// Untracked, not ignored files.
    pub fn untracked_paths(&self) -> impl Iterator<Item = &BStr> {
        self.untracked.iter().map(|(p, _, _)| p.as_bstr())
    }

    /// Number of files whose id had to be computed from disk.
    pub fn hashed_from_disk(&self) -> usize {
        self.dirty.values().filter(|v| v.is_some()).count() + self.untracked.len()
    }
}

/// Reads the index without verifying its trailing checksum (git's `index.skipHash` trade): a
/// corrupt index fails to decode anyway, and the checksum costs a SHA-1 over every byte.
pub(super) fn read_index(repo: &Repo) -> Result<gix::index::File, ScmError> {
    let t0 = std::time::Instant::now();
    let path = repo.repo.index_path();
    let kind = repo.repo.object_hash();
    match gix::index::File::at(&path, kind, true, Default::default()) {
        Ok(f) => {
            tracing::debug!(
                "read the index ({} entries) in {:?}",
                f.entries().len(),
                t0.elapsed()
            );
            Ok(f)
        }
        Err(_) if !path.exists() => Ok(gix::index::File::from_state(
            gix::index::State::new(kind),
            path,
        )),
        Err(e) => Err(ScmError::Git {
            action: format!("read the git index at {}", path.display()),
            detail: e.to_string(),
        }),
    }
}

/// The git blob id and mode of a worktree file (symlinks hash their target, like git). With
/// `core.fileMode = false`, `regular_mode` is used for regular files instead of the exec bit.
fn hash_worktree_file(
    workdir: &std::path::Path,
    rela: &BStr,
    kind: gix::hash::Kind,
    regular_mode: Option<u32>,
) -> std::io::Result<(FileId, u32)> {
    let path = workdir.join(crate::platform::path(rela));
    let meta = std::fs::symlink_metadata(&path)?;
    let (mode, data) = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path)?;
        (0o120000, target.as_os_str().as_encoded_bytes().to_vec())
    } else if meta.is_file() {
        let exec = crate::platform::executable(&meta);
        let mode = match regular_mode {
            Some(m) if m != 0o120000 => m,
            _ if exec => 0o100755,
            _ => 0o100644,
        };
        (mode, std::fs::read(&path)?)
    } else {
        return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    };
    let id = gix::objs::compute_hash(kind, gix::objs::Kind::Blob, &data)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((id, mode))
}

/// Files that vanished between the scan and the read are simply gone; anything else is said.
fn warn_unreadable(path: &BStr, err: &std::io::Error) {
    if err.kind() != std::io::ErrorKind::NotFound {
        tracing::warn!("cannot read `{path}` ({err}); it counts as changed");
    }
}

/// The commit checked out in a submodule at `rela`, if it is checked out.
fn submodule_head(workdir: &std::path::Path, rela: &BStr) -> Option<FileId> {
    let path = workdir.join(crate::platform::path(rela));
    if !path.join(".git").exists() {
        return None;
    }
    let repo = gix::open(&path).ok()?;
    repo.head_id().ok().map(|id| id.detach())
}
