//! One file's bytes at one revision — a commit's tree or the worktree — read whole but only up
//! to a size limit, so a huge or hostile file is refused before it is loaded. Used for
//! lockfiles, whose content (not just their id) decides what a change affects.

use std::io::Read;

use bstr::{BStr, ByteSlice};
use gix::ObjectId;

use super::{Repo, ScmError};

/// Where to read a file from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    Commit(ObjectId),
    Worktree,
}

/// A file read with a size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// No such file (or not a regular file) at that revision.
    Absent,
    /// Larger than the limit: its size.
    TooLarge(u64),
    Bytes(Vec<u8>),
}

impl Repo {
    /// The content of `path` (repository-relative, `/`-separated) at `revision`.
    pub fn file_at(
        &self,
        revision: Revision,
        path: &BStr,
        limit: u64,
    ) -> Result<FileContent, ScmError> {
        match revision {
            Revision::Commit(commit) => self.blob_at(commit, path, limit),
            Revision::Worktree => worktree_file(&self.workdir().join(path.to_path_lossy()), limit),
        }
    }

    fn blob_at(&self, commit: ObjectId, path: &BStr, limit: u64) -> Result<FileContent, ScmError> {
        let tree = self.tree_of(commit)?;
        let entry = tree
            .lookup_entry(path.split_str("/"))
            .map_err(|e| ScmError::git(format!("look up {path} in commit {commit}"), e))?;
        let Some(entry) = entry.filter(|e| e.mode().is_blob()) else {
            return Ok(FileContent::Absent);
        };
        let id = entry.object_id();
        let header = self
            .repo
            .find_header(id)
            .map_err(|e| ScmError::git(format!("read the size of {path} in commit {commit}"), e))?;
        if header.size() > limit {
            return Ok(FileContent::TooLarge(header.size()));
        }
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| ScmError::git(format!("read {path} in commit {commit}"), e))?;
        Ok(FileContent::Bytes(blob.detach().data))
    }
}

/// Reads a worktree file; a missing file, a directory or a symlink is absent (git would not
/// hash a symlink's target either).
fn worktree_file(path: &std::path::Path, limit: u64) -> Result<FileContent, ScmError> {
    let read = || -> std::io::Result<FileContent> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(FileContent::Absent),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(FileContent::Absent)
            }
            Err(e) => return Err(e),
        };
        if meta.len() > limit {
            return Ok(FileContent::TooLarge(meta.len()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // The file may grow between the stat and the read: never read past the limit.
        std::fs::File::open(path)?
            .take(limit + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            return Ok(FileContent::TooLarge(bytes.len() as u64));
        }
        Ok(FileContent::Bytes(bytes))
    };
    read().map_err(|e| ScmError::git(format!("read {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn reads_a_path_at_a_commit_and_in_the_worktree_with_a_limit() {
        let t = tempfile::tempdir().unwrap();
        git(t.path(), &["init", "-q"]);
        std::fs::create_dir_all(t.path().join("a")).unwrap();
        std::fs::write(t.path().join("a/lock"), "one").unwrap();
        git(t.path(), &["add", "."]);
        git(t.path(), &["commit", "-qm", "one"]);
        std::fs::write(t.path().join("a/lock"), "two!").unwrap();
        let repo = Repo::discover(t.path()).unwrap();
        let head = Revision::Commit(repo.head_id(None).unwrap());
        let path = b"a/lock".as_bstr();
        assert_eq!(
            repo.file_at(head, path, 10).unwrap(),
            FileContent::Bytes(b"one".to_vec())
        );
        assert_eq!(
            repo.file_at(Revision::Worktree, path, 10).unwrap(),
            FileContent::Bytes(b"two!".to_vec())
        );
        assert_eq!(
            repo.file_at(head, path, 2).unwrap(),
            FileContent::TooLarge(3)
        );
        assert_eq!(
            repo.file_at(Revision::Worktree, path, 3).unwrap(),
            FileContent::TooLarge(4)
        );
        for missing in [b"a/none".as_bstr(), b"a".as_bstr(), b"a/lock/x".as_bstr()] {
            assert_eq!(
                repo.file_at(head, missing, 10).unwrap(),
                FileContent::Absent
            );
            assert_eq!(
                repo.file_at(Revision::Worktree, missing, 10).unwrap(),
                FileContent::Absent
            );
        }
    }
}
