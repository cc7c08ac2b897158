//! The uncommitted part of change detection: what is staged (`HEAD`'s tree against the index),
//! unstaged and untracked (the worktree scan against the index), relative to `HEAD`. Never
//! writes the index, never runs `git status`.

use std::collections::HashMap;

use bstr::BString;

use super::{ChangedFile, FileStatus, Repo, RepoIndex, ScmError, Scope};

impl Repo {
    /// Staged, unstaged and untracked-not-ignored files, relative to `HEAD`. Unstaged and
    /// untracked ones come from the same worktree scan that hashing uses (kept, so a run with
    /// `--uncommitted` walks the worktree once); staged ones from diffing `HEAD`'s tree with the
    /// index.
    pub(super) fn worktree_changes(&self) -> Result<Vec<ChangedFile>, ScmError> {
        let index = match self.full_index.get() {
            Some(i) => i,
            None => {
                let loaded = RepoIndex::load(self, &Scope::everything())?;
                self.full_index.get_or_init(|| loaded)
            }
        };
        let state = index.state();
        let mut by_path: HashMap<BString, FileStatus> = HashMap::new();
        let head_tree = self
            .repo
            .head_tree_id_or_empty()
            .map_err(|e| ScmError::git("read the tree of HEAD", e))?
            .detach();
        self.repo
            .tree_index_status(
                &head_tree,
                state,
                None,
                gix::status::tree_index::TrackRenames::Disabled,
                |change, _, _| {
                    use gix::diff::index::ChangeRef;
                    let status = match &change {
                        ChangeRef::Addition { .. } => FileStatus::Added,
                        ChangeRef::Deletion { .. } => FileStatus::Deleted,
                        ChangeRef::Modification {
                            previous_entry_mode,
                            entry_mode,
                            ..
                        } if mode_kind(previous_entry_mode.bits())
                            != mode_kind(entry_mode.bits()) =>
                        {
                            FileStatus::TypeChanged
                        }
                        ChangeRef::Modification { .. } => FileStatus::Modified,
                        ChangeRef::Rewrite { .. } => FileStatus::Added,
                    };
                    if let ChangeRef::Rewrite {
                        source_location, ..
                    } = &change
                    {
                        by_path
                            .entry(source_location.as_ref().to_owned())
                            .or_insert(FileStatus::Deleted);
                    }
                    by_path
                        .entry(change.location().to_owned())
                        .or_insert(status);
                    Ok(std::ops::ControlFlow::Continue(()))
                },
            )
            .map_err(|e| ScmError::git("compare HEAD with the index", e))?;
        // The worktree against the index; a path staged as added stays "added".
        for (path, now) in index.unstaged() {
            let status = match now {
                None => FileStatus::Deleted,
                Some((_, mode)) => match state.entry_by_path(path) {
                    // `git add -N`: in the index by name only, so new as far as HEAD goes.
                    Some(e) if e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD) => {
                        FileStatus::Added
                    }
                    Some(e) if mode_kind(e.mode.bits()) != mode_kind(mode) => {
                        FileStatus::TypeChanged
                    }
                    _ => FileStatus::Modified,
                },
            };
            by_path
                .entry(path.to_owned())
                .and_modify(|s| {
                    if *s != FileStatus::Added {
                        *s = status
                    }
                })
                .or_insert(status);
        }
        let mut untracked: std::collections::HashSet<BString> = std::collections::HashSet::new();
        for path in index.untracked_paths() {
            if !by_path.contains_key(path) {
                by_path.insert(path.to_owned(), FileStatus::Added);
                untracked.insert(path.to_owned());
            }
        }
        let mut out: Vec<ChangedFile> = by_path
            .into_iter()
            .map(|(path, status)| ChangedFile {
                untracked: untracked.contains(&path),
                path,
                status,
                old_path: None,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// File, symlink or submodule: what a mode says the entry is (the exec bit aside).
fn mode_kind(bits: u32) -> u32 {
    bits & 0o170000
}
