//! The committed part of change detection: the paths that differ between two trees, found without
//! reading a single blob, with exact-content renames paired from deletions and additions of the
//! same object id. Never looks at the worktree or the index.

use std::collections::HashMap;

use gix::ObjectId;

use super::{ChangedFile, FileStatus, Repo, ScmError};

impl Repo {
    /// Diffs two trees: one entry per changed path, sorted by path (a rename is one entry
    /// carrying `old_path`).
    pub(super) fn diff_trees(
        &self,
        old: &gix::Tree<'_>,
        new: &gix::Tree<'_>,
    ) -> Result<Vec<ChangedFile>, ScmError> {
        use gix::diff::tree::recorder::Change;
        use gix::objs::tree::EntryKind;
        let mut recorder = gix::diff::tree::Recorder::default();
        let mut state = gix::diff::tree::State::default();
        let kind = self.repo.object_hash();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old.data, kind),
            gix::objs::TreeRefIter::from_bytes(&new.data, kind),
            &mut state,
            &self.repo.objects,
            &mut recorder,
        )
        .map_err(|e| ScmError::git("diff the two trees", e))?;

        let empty_blob = ObjectId::empty_blob(kind);
        let mut files: Vec<ChangedFile> = Vec::with_capacity(recorder.records.len());
        // Deleted and added blobs by id, for exact rename pairing.
        let mut deleted: HashMap<ObjectId, Vec<usize>> = HashMap::new();
        let mut added: Vec<(usize, ObjectId)> = Vec::new();
        for change in recorder.records {
            // An addition or deletion names the one side that exists, which may pair into a rename.
            let (path, status, side) = match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, FileStatus::Added, Some((entry_mode, oid))),
                Change::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, FileStatus::Deleted, Some((entry_mode, oid))),
                Change::Modification {
                    previous_entry_mode,
                    entry_mode,
                    path,
                    ..
                } => {
                    let status = match (previous_entry_mode.is_tree(), entry_mode.is_tree()) {
                        (true, true) => continue,
                        // A directory replaced by a file: the directory's files are reported as
                        // deletions on their own; the new file is an addition.
                        (true, false) => FileStatus::Added,
                        (false, true) => FileStatus::Deleted,
                        (false, false) => {
                            if previous_entry_mode.kind() == entry_mode.kind()
                                || is_blob_kind(previous_entry_mode.kind())
                                    && is_blob_kind(entry_mode.kind())
                            {
                                FileStatus::Modified
                            } else {
                                FileStatus::TypeChanged
                            }
                        }
                    };
                    (path, status, None)
                }
            };
            if let Some((mode, oid)) = side {
                if mode.is_tree() {
                    continue;
                }
                // Submodules and empty files say nothing about where content went.
                if mode.kind() != EntryKind::Commit && oid != empty_blob {
                    if status == FileStatus::Added {
                        added.push((files.len(), oid));
                    } else {
                        deleted.entry(oid).or_default().push(files.len());
                    }
                }
            }
            files.push(ChangedFile {
                path,
                status,
                old_path: None,
                untracked: false,
            });
        }
        // Pair renames: an added path whose content was deleted elsewhere becomes a rename; the
        // deletion entry is dropped (its path lives on as `old_path`).
        let mut consumed = vec![false; files.len()];
        for (add_idx, oid) in added {
            if let Some(candidates) = deleted.get_mut(&oid) {
                if let Some(del_idx) = candidates.pop() {
                    consumed[del_idx] = true;
                    let old = std::mem::take(&mut files[del_idx].path);
                    files[add_idx].status = FileStatus::Renamed;
                    files[add_idx].old_path = Some(old);
                }
            }
        }
        let mut out: Vec<ChangedFile> = files
            .into_iter()
            .zip(consumed)
            .filter_map(|(f, gone)| (!gone).then_some(f))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

fn is_blob_kind(kind: gix::objs::tree::EntryKind) -> bool {
    use gix::objs::tree::EntryKind;
    matches!(kind, EntryKind::Blob | EntryKind::BlobExecutable)
}
