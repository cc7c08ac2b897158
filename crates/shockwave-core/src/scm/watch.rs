//! The folders a file watcher must watch: every directory of the worktree that git does not
//! ignore, `.git` and shockwave's own folder left out. A change below an ignored folder
//! (`node_modules`, `dist`) can change no task's inputs, and watching it would cost one watch per
//! folder of an installed tree. Links are never followed. [`GitFolders`] answers the watcher's
//! questions while it runs: whether git ignores a changed path, which folders below a new one
//! to watch.

use std::path::{Path, PathBuf};

use bstr::{BString, ByteSlice};

use super::ignore::Ignores;
use super::{Repo, ScmError};
use crate::watch::Folders;

/// Folders never watched, at any depth.
const SKIPPED: &[&str] = &[".git", ".shockwave"];

/// The most folders listed: past it, the watcher is told the list is cut short.
const MAX_DIRS: usize = 1_000_000;

impl Repo {
    /// Every directory of the worktree git does not ignore (absolute paths, the worktree first);
    /// `Err` when the ignore rules cannot be read.
    pub fn watched_dirs(&self) -> Result<Vec<PathBuf>, ScmError> {
        let index = super::index::read_index(self)?;
        let mut ignores = Ignores::new(&self.repo, &index)
            .map_err(|e| ScmError::git("read the .gitignore files", e))?;
        let mut out = vec![self.workdir.clone()];
        walk(&self.workdir, BString::default(), &mut ignores, &mut out);
        Ok(out)
    }
}

/// Adds the directories below the repo-relative `start` that git does not ignore to `out`.
fn walk(workdir: &Path, start: BString, ignores: &mut Ignores<'_>, out: &mut Vec<PathBuf>) {
    let mut stack: Vec<BString> = vec![start];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            workdir.to_path_buf()
        } else {
            workdir.join(rel.to_str_lossy().as_ref())
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if SKIPPED.contains(&name) {
                continue;
            }
            let mut path = rel.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
            if ignores.itself(path.as_bstr(), true) {
                continue;
            }
            out.push(entry.path());
            if out.len() >= MAX_DIRS {
                return;
            }
            stack.push(path);
        }
    }
}

/// Git's answers for a file watcher ([`Folders`]): which changed paths it ignores, and which
/// folders to watch below one that appears. The `.gitignore` files are read anew for every batch
/// of events. The `.gitignore` files of a sparse checkout that are not checked out are not read:
/// what they ignore counts as a change (one round too many, never a change missed).
pub struct GitFolders {
    repo: Repo,
    index: gix::index::State,
}

impl GitFolders {
    pub fn new(repo: Repo) -> GitFolders {
        let index = gix::index::State::new(repo.repo.object_hash());
        GitFolders { repo, index }
    }

    /// The path relative to the worktree, `None` outside it.
    fn relative(&self, path: &Path) -> Option<BString> {
        let rel = path.strip_prefix(&self.repo.workdir).ok()?;
        Some(BString::from(crate::platform::path_bytes(rel).into_owned()))
    }
}

impl Folders for GitFolders {
    fn ignored(&mut self, paths: &[(PathBuf, bool)]) -> Vec<bool> {
        let Ok(mut ignores) = Ignores::new(&self.repo.repo, &self.index) else {
            return vec![false; paths.len()];
        };
        paths
            .iter()
            .map(|(p, is_dir)| {
                self.relative(p)
                    .is_some_and(|rel| ignores.ignores(rel.as_bstr(), *is_dir))
            })
            .collect()
    }

    fn below(&mut self, dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let (Some(rel), Ok(mut ignores)) = (
            self.relative(dir),
            Ignores::new(&self.repo.repo, &self.index),
        ) else {
            return out;
        };
        walk(&self.repo.workdir, rel, &mut ignores, &mut out);
        out
    }
}
