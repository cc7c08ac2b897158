//! The directory reads the worktree scan makes, behind one safe API ([`OpenDir`]): open a
//! directory, open a subdirectory of it without following a symlink, list its names, and stat a
//! name without following a symlink. Two backends implement it, chosen at compile time:
//! - `linux`: `openat`, `fstatat` and `getdents64` on `OwnedFd`s, relative to the open directory
//!   (no repeated path walks in the kernel, no `DIR` allocation). The only `unsafe` in `scm`.
//! - `portable`: std's `read_dir` and `symlink_metadata` on paths, for every other platform, and
//!   on Linux with the `portable-scan` feature, so the fallback can be exercised where the fast
//!   path usually runs.
//!
//! Nothing here knows about git, the index or scopes; nothing here ever writes.

use std::ffi::CStr;
use std::io;
use std::path::Path;

#[cfg(all(target_os = "linux", any(test, not(feature = "portable-scan"))))]
mod linux;
#[cfg(any(not(target_os = "linux"), feature = "portable-scan", test))]
mod portable;

/// The backend this build reads the worktree with.
#[cfg(all(target_os = "linux", not(feature = "portable-scan")))]
pub type Dir = linux::Dir;
/// The backend this build reads the worktree with.
#[cfg(any(not(target_os = "linux"), feature = "portable-scan"))]
pub type Dir = portable::Dir;

/// What a directory entry is, as far as comparing it with the index goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: never what the index records.
    Other,
}

/// An entry's stat data, read without following a symlink: the fields git's index records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// The owner's exec bit, which is what git reads as "executable".
    pub executable: bool,
    pub size: u64,
    pub ino: u64,
    /// Seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// Seconds and nanoseconds.
    pub ctime: (i64, i64),
    /// How many names the file has: more than one means it can change through a name that a
    /// file monitor does not watch.
    pub nlink: u64,
}

/// One listed name (never `.` or `..`). `kind` is `None` when the listing does not say; stat the
/// name to know.
#[derive(Debug)]
pub struct Entry<'a> {
    pub name: &'a CStr,
    pub kind: Option<Kind>,
}

/// An open directory. Both backends implement this one trait, so the compiler checks the
/// fallback's API on Linux too, and a test can run both on the same tree.
pub trait OpenDir: Sized + Send + Sync {
    type Entries<'d>: ListEntries
    where
        Self: 'd;

    /// Opens the directory at `path`.
    fn open(path: &Path) -> io::Result<Self>;

    /// Opens the subdirectory `name`, failing when it is a symlink or not a directory.
    fn open_child(&self, name: &CStr) -> io::Result<Self>;

    /// Stats `name` in this directory without following a symlink; `None` when that fails.
    fn stat_child(&self, name: &CStr) -> Option<Stat>;

    /// The directory's names, in no particular order. A directory is listed once: a second call
    /// yields nothing.
    fn entries(&self) -> Self::Entries<'_>;
}

/// A listing in progress. Not an `Iterator`: each name borrows the listing's buffer.
pub trait ListEntries {
    /// The next name, `Ok(None)` at the end. After an error the listing is over.
    fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>>;
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::CString;
    use std::path::Path;

    use super::{linux, portable, Kind, ListEntries, OpenDir, Stat};

    /// Every entry below `root`, by path: its listed kind (stat'ed when the listing did not say),
    /// its stat data, and whether it opens as a directory.
    fn walk<D: OpenDir>(root: &Path) -> BTreeMap<Vec<u8>, (Kind, Stat, bool)> {
        let mut out = BTreeMap::new();
        let mut pending = vec![(D::open(root).unwrap(), Vec::new())];
        while let Some((dir, at)) = pending.pop() {
            let mut names: Vec<(CString, Option<Kind>)> = Vec::new();
            let mut entries = dir.entries();
            while let Some(e) = entries.next_entry().unwrap() {
                names.push((e.name.to_owned(), e.kind));
            }
            drop(entries);
            assert!(
                dir.entries().next_entry().unwrap().is_none(),
                "a directory is listed once"
            );
            for (name, kind) in names {
                let st = dir.stat_child(&name).unwrap();
                let kind = kind.unwrap_or(st.kind);
                let mut path = at.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name.to_bytes());
                let child = dir.open_child(&name);
                if let Ok(child) = child {
                    pending.push((child, path.clone()));
                    out.insert(path, (kind, st, true));
                } else {
                    out.insert(path, (kind, st, false));
                }
            }
        }
        out
    }

    #[test]
    fn both_backends_see_the_same_tree() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        // More entries than one getdents64 buffer holds, so the fast backend reads several times.
        for i in 0..300 {
            std::fs::write(
                root.join(format!("a/file-with-a-fairly-long-name-{i:04}.txt")),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(root.join("a/b/c/deep.txt"), b"deep").unwrap();
        std::fs::write(root.join("run.sh"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            root.join("run.sh"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("run.sh", root.join("file-link")).unwrap();
        std::os::unix::fs::symlink("a", root.join("dir-link")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();

        let fast = walk::<linux::Dir>(root);
        let fallback = walk::<portable::Dir>(root);
        assert_eq!(fast, fallback);

        let kind = |p: &str| fast[p.as_bytes()].0;
        assert_eq!(fast.len(), 300 + 8);
        assert_eq!(kind("a/b/c"), Kind::Dir);
        assert_eq!(kind("a/b/c/deep.txt"), Kind::File);
        assert_eq!(kind("file-link"), Kind::Symlink);
        assert_eq!(kind("dir-link"), Kind::Symlink);
        assert_eq!(kind("socket"), Kind::Other);
        assert!(fast[&b"run.sh"[..]].1.executable);
        assert!(!fast[&b"a/b/c/deep.txt"[..]].1.executable);
        assert_eq!(fast[&b"a/b/c/deep.txt"[..]].1.size, 4);
        // Only real directories open: a symlink to one is not followed.
        assert!(fast[&b"a/b"[..]].2 && !fast[&b"dir-link"[..]].2 && !fast[&b"run.sh"[..]].2);
    }
}
