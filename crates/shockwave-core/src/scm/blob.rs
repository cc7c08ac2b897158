//! One file's bytes at one revision — a commit's tree or the worktree — read whole but only up
//! to a size limit, so a huge or hostile file is refused before it is loaded. Used for
//! lockfiles, whose content (not just their id) decides what a change affects.
//!
//! Both ends resolve the path the same way ([`crate::confine`]): a symbolic link is followed
//! while it stays inside the repository, so a lockfile committed as a link reads as its target's
//! bytes at that revision; a link that leaves (or dangles, or loops) is [`FileContent::Refused`].

use bstr::{BStr, ByteSlice};
use gix::ObjectId;

use super::{Repo, ScmError};
use crate::confine::{self, Boundary, Node, Refusal, Walk};

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
    /// Not read, and why: a symbolic link on the way leaves the repository, enters `.git`,
    /// dangles or loops.
    Refused(String),
}

/// The longest symbolic link target read from a tree (Linux's `PATH_MAX`).
const MAX_LINK_TARGET: u64 = 4096;

impl Repo {
    /// The content of `path` (repository-relative, `/`-separated) at `revision`.
    pub fn file_at(
        &self,
        revision: Revision,
        path: &BStr,
        limit: u64,
    ) -> Result<FileContent, ScmError> {
        let rel = path.to_str_lossy();
        let at = |revision: &str| format!("read {path} {revision}");
        let read = match revision {
            Revision::Commit(commit) => {
                let walk = TreeWalk {
                    repo: &self.repo,
                    root: self.tree_of(commit)?.id,
                    workdir: self.workdir.as_os_str().as_encoded_bytes(),
                };
                confine::resolve(&walk, &rel)
                    .and_then(|found| found.map(|f| walk.blob(f.file, limit)).transpose())
                    .map_err(|e| (e, at(&format!("in commit {commit}"))))
            }
            Revision::Worktree => Boundary::open(&self.workdir)
                .map_err(Refusal::Io)
                .and_then(|b| b.read(&rel, limit))
                .map(|found| found.map(|(_, bytes)| bytes))
                .map_err(|e| (e, at("in the worktree"))),
        };
        match read {
            Ok(None) => Ok(FileContent::Absent),
            Ok(Some(Ok(bytes))) => Ok(FileContent::Bytes(bytes)),
            Ok(Some(Err(size))) => Ok(FileContent::TooLarge(size)),
            // git would not hash a directory's or a FIFO's content either.
            Err((Refusal::NotRegular(_), _)) => Ok(FileContent::Absent),
            Err((Refusal::Io(e), action)) => Err(ScmError::git(action, e)),
            Err((refusal, _)) => Ok(FileContent::Refused(refusal.to_string())),
        }
    }
}

/// A commit's tree as [`confine::resolve`] walks it.
struct TreeWalk<'r> {
    repo: &'r gix::Repository,
    root: ObjectId,
    /// The worktree's path: an absolute link into it is followed.
    workdir: &'r [u8],
}

impl TreeWalk<'_> {
    /// A blob's bytes, or its size when larger than `limit`.
    fn blob(&self, id: ObjectId, limit: u64) -> Result<Result<Vec<u8>, u64>, Refusal> {
        let size = self.repo.find_header(id).map_err(io)?.size();
        if size > limit {
            return Ok(Err(size));
        }
        Ok(Ok(self.repo.find_blob(id).map_err(io)?.detach().data))
    }
}

fn io(e: impl std::fmt::Display) -> Refusal {
    Refusal::Io(std::io::Error::other(e.to_string()))
}

impl Walk for TreeWalk<'_> {
    type Dir = ObjectId;
    type File = ObjectId;

    fn root(&self) -> ObjectId {
        self.root
    }

    fn root_path(&self) -> &[u8] {
        self.workdir
    }

    fn lookup(
        &self,
        dir: &ObjectId,
        name: &[u8],
        _last: bool,
    ) -> std::io::Result<Node<ObjectId, ObjectId>> {
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        let tree = self.repo.find_tree(*dir).map_err(|e| other(&e))?;
        let Some(entry) = tree.find_entry(name) else {
            return Ok(Node::Missing);
        };
        let id = entry.object_id();
        Ok(match entry.mode().kind() {
            gix::object::tree::EntryKind::Tree => Node::Dir(id),
            gix::object::tree::EntryKind::Blob | gix::object::tree::EntryKind::BlobExecutable => {
                Node::File(id)
            }
            gix::object::tree::EntryKind::Link => match self.blob(id, MAX_LINK_TARGET) {
                Ok(Ok(target)) => Node::Link(target),
                Ok(Err(_)) => Node::Other("a symbolic link with an overlong target"),
                Err(Refusal::Io(e)) => return Err(e),
                Err(e) => return Err(other(&e)),
            },
            gix::object::tree::EntryKind::Commit => Node::Other("a submodule"),
        })
    }
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
