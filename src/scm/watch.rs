//! The folders a file watcher must watch: every directory of the worktree that git does not
//! ignore, `.git` and shockwave's own folder left out. A change below an ignored folder
//! (`node_modules`, `dist`) can change no task's inputs, and watching it would cost one watch per
//! folder of an installed tree. Links are never followed.

use std::path::PathBuf;

use bstr::{BString, ByteSlice};

use super::ignore::Ignores;
use super::{Repo, ScmError};

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
        let mut stack: Vec<BString> = vec![BString::default()];
        while let Some(rel) = stack.pop() {
            let dir = if rel.is_empty() {
                self.workdir.clone()
            } else {
                self.workdir.join(rel.to_str_lossy().as_ref())
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
                    return Ok(out);
                }
                stack.push(path);
            }
        }
        Ok(out)
    }
}
