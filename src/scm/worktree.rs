//! A fast worktree scan against the index: which tracked files may differ from what the index
//! records, which are gone, and which untracked files are not ignored. Directories that hold tracked
//! files are read in parallel, one rayon job per directory (so depth costs heap, never stack), and
//! each file is stat'ed relative to its open directory (no repeated path walks in the kernel). A
//! tracked file whose stat data differs from the index, or whose index entry is racy (modified at or
//! after the index was written), is reported as a candidate to hash. `.git` entries, files or
//! directories, at any level, are git's own: never an input, never a change.
//! Untracked entries are rare, so their ignore checks (gix's exclude stack) run afterwards, serially.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode};
use rustc_hash::FxHashMap;

use super::sys;

/// The outcome of a scan, in index entry numbers and repo-relative paths.
#[derive(Debug, Default)]
pub struct Scan {
    /// Tracked entries whose content must be read to know their id (changed stat data or racy).
    pub suspect: Vec<usize>,
    /// Tracked entries missing from the worktree.
    pub deleted: Vec<usize>,
    /// Untracked, not ignored files.
    pub untracked: Vec<BString>,
    /// Submodule entries in scope, whose checked-out commit must be read.
    pub submodules: Vec<usize>,
}

/// The part of the worktree a scan covers: repo-relative path prefixes (a directory with a trailing
/// `/`, or an exact file path). Tasks only ever read files below their services' roots, their
/// `paths` and the global inputs, so only those need their stat data checked.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Sorted; none is a prefix of another. Empty string: everything.
    prefixes: Vec<Vec<u8>>,
}

impl Scope {
    pub fn everything() -> Scope {
        Scope {
            prefixes: vec![Vec::new()],
        }
    }

    pub fn new(mut prefixes: Vec<Vec<u8>>) -> Scope {
        prefixes.sort();
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            // Sorted order puts "a/" right before everything it covers.
            if kept.last().is_some_and(|k| p.starts_with(k)) {
                continue;
            }
            kept.push(p);
        }
        Scope { prefixes: kept }
    }

    pub fn is_everything(&self) -> bool {
        self.prefixes.first().is_some_and(|p| p.is_empty())
    }

    /// Whether some prefix of the scope is a prefix of `path`. Because no prefix covers another,
    /// the only candidate is the greatest prefix not above `path`.
    pub fn contains(&self, path: &[u8]) -> bool {
        let i = self.prefixes.partition_point(|p| p.as_slice() <= path);
        i > 0 && path.starts_with(&self.prefixes[i - 1])
    }

    /// Whether everything below directory `dir` is in scope.
    fn contains_dir(&self, dir: &[u8]) -> bool {
        if dir.is_empty() {
            return self.is_everything();
        }
        let mut d = Vec::with_capacity(dir.len() + 1);
        d.extend_from_slice(dir);
        d.push(b'/');
        self.contains(&d)
    }

    /// Whether some of the scope lies below directory `dir`.
    fn reaches_into(&self, dir: &[u8]) -> bool {
        if dir.is_empty() {
            return !self.prefixes.is_empty();
        }
        let mut d = Vec::with_capacity(dir.len() + 1);
        d.extend_from_slice(dir);
        d.push(b'/');
        let i = self
            .prefixes
            .partition_point(|p| p.as_slice() < d.as_slice());
        self.prefixes.get(i).is_some_and(|p| p.starts_with(&d))
    }
}

/// An untracked entry seen while scanning, before the ignore check.
enum Candidate {
    File(BString),
    Dir(BString),
}

pub fn scan(
    repo: &gix::Repository,
    workdir: &Path,
    index: &gix::index::State,
    scope: &Scope,
    file_mode: bool,
) -> Result<Scan, String> {
    let entries = index.entries();
    let stamp = index.timestamp();
    let (stamp_secs, stamp_nsecs) = (stamp.unix_seconds(), stamp.nanoseconds());

    // The tracked tree: per directory, its tracked files and tracked subdirectories. Every
    // ancestor of a tracked file is present, so the scan reaches every tracked directory and
    // notices one that disappeared.
    let mut dirs: FxHashMap<&[u8], DirInfo<'_>> = FxHashMap::default();
    dirs.insert(&b""[..], DirInfo::default());
    for (i, e) in entries.iter().enumerate() {
        if e.stage_raw() != 0 && i > 0 && entries[i - 1].path(index) == e.path(index) {
            continue;
        }
        let path = e.path(index).as_bytes();
        let (dir, name) = split(path);
        if let Some(d) = dirs.get_mut(dir) {
            d.files.push((name, i));
            continue;
        }
        dirs.insert(
            dir,
            DirInfo {
                files: vec![(name, i)],
                subdirs: Vec::new(),
            },
        );
        let mut child = dir;
        while !child.is_empty() {
            let (parent, child_name) = split(child);
            if let Some(p) = dirs.get_mut(parent) {
                p.subdirs.push(child_name);
                break;
            }
            dirs.insert(
                parent,
                DirInfo {
                    files: Vec::new(),
                    subdirs: vec![child_name],
                },
            );
            child = parent;
        }
    }
    for d in dirs.values_mut() {
        d.subdirs.sort_unstable();
    }

    tracing::debug!("worktree scan: {} tracked directories", dirs.len());
    let ctx = Ctx {
        scope,
        index,
        dirs: &dirs,
        stamp: (stamp_secs, stamp_nsecs),
        file_mode,
        found: Mutex::new((Scan::default(), Vec::new())),
    };
    let root =
        sys::open_dir(workdir).map_err(|e| format!("failed to open {}: {e}", workdir.display()))?;
    // Every directory is a job of its own on the rayon pool, spawned by its parent's job after the
    // parent was listed: nothing recurses, so the depth of the tree costs no stack.
    rayon::scope(|s| ctx.visit(s, root, BString::default(), scope.is_everything()));
    let (mut out, candidates) = ctx
        .found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    out.suspect.sort_unstable();
    out.deleted.sort_unstable();
    out.deleted.dedup();
    out.submodules.sort_unstable();
    if !candidates.is_empty() {
        out.untracked = untracked_not_ignored(repo, workdir, index, candidates)?;
    }
    Ok(out)
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.rfind_byte(b'/') {
        Some(s) => (&path[..s], &path[s + 1..]),
        None => (&path[..0], path),
    }
}

/// What the index holds directly inside one directory, both lists sorted by name.
#[derive(Default)]
struct DirInfo<'a> {
    files: Vec<(&'a [u8], usize)>,
    subdirs: Vec<&'a [u8]>,
}

struct Ctx<'a> {
    scope: &'a Scope,
    index: &'a gix::index::State,
    dirs: &'a FxHashMap<&'a [u8], DirInfo<'a>>,
    stamp: (i64, u32),
    /// `core.fileMode`: whether the exec bit on disk means anything.
    file_mode: bool,
    /// What the directory jobs found, merged as each one finishes.
    found: Mutex<(Scan, Vec<Candidate>)>,
}

fn join(dir: &[u8], name: &[u8]) -> BString {
    let mut p = BString::from(Vec::with_capacity(dir.len() + name.len() + 1));
    p.extend_from_slice(dir);
    if !dir.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

impl<'a> Ctx<'a> {
    /// Scans the tracked directory `dir` (open as `fd`) and spawns a job for each tracked
    /// subdirectory, which opens it relative to `fd` (no path walks in the kernel). `fd` is shared
    /// by those jobs and closed when the last of them has opened its own directory.
    /// `inside`: the whole directory is in scope (otherwise it only leads to parts that are).
    fn visit<'s>(&'s self, s: &rayon::Scope<'s>, fd: OwnedFd, dir: BString, inside: bool)
    where
        'a: 's,
    {
        let (scan, candidates, subdirs) = self.list(fd.as_fd(), &dir, inside);
        {
            let mut found = self
                .found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            found.0.suspect.extend(scan.suspect);
            found.0.deleted.extend(scan.deleted);
            found.0.submodules.extend(scan.submodules);
            found.1.extend(candidates);
        }
        if subdirs.is_empty() {
            return;
        }
        let parent = Arc::new(fd);
        for (path, name) in subdirs {
            let parent = Arc::clone(&parent);
            s.spawn(move |s| {
                let opened = sys::open_dir_at(parent.as_fd(), &name);
                drop(parent);
                match opened {
                    Ok(child) => {
                        let inside = inside || self.scope.contains_dir(&path);
                        self.visit(s, child, path, inside);
                    }
                    Err(err) => {
                        if err.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(
                                "cannot open directory `{}` ({err}); treating its tracked files as changed",
                                path.as_bstr()
                            );
                        }
                        let mut gone = Scan::default();
                        self.deleted_below(&path, &mut gone);
                        self.found
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .0
                            .deleted
                            .extend(gone.deleted);
                    }
                }
            });
        }
    }

    /// Lists one directory against what the index holds in it: the tracked files to hash or
    /// count as deleted, the untracked candidates, and the tracked subdirectories to scan next
    /// (path and name). Each name is stat'ed relative to the open directory.
    fn list(
        &self,
        dfd: BorrowedFd<'_>,
        dir: &[u8],
        inside: bool,
    ) -> (Scan, Vec<Candidate>, Vec<(BString, CString)>) {
        let entries = self.index.entries();
        let info = self.dirs.get(dir);
        let files: &[(&[u8], usize)] = info.map_or(&[], |d| d.files.as_slice());
        let tracked_subdirs: &[&[u8]] = info.map_or(&[], |d| d.subdirs.as_slice());
        let mut scan = Scan::default();
        let mut candidates = Vec::new();
        let mut reader = sys::DirReader::new(dfd);
        let mut seen = vec![false; files.len()];
        let mut seen_dirs = vec![false; tracked_subdirs.len()];
        let mut subdirs: Vec<(BString, CString)> = Vec::new();
        loop {
            let (cname, dtype) = match reader.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(err) => {
                    // A partial listing would make present files look deleted: say so, and let
                    // the unseen ones count as changed (conservative).
                    tracing::warn!(
                        "failed to list directory `{}` ({err}); treating unlisted tracked files as changed",
                        dir.as_bstr()
                    );
                    break;
                }
            };
            let name = cname.to_bytes();
            // `.git`, a directory or (in linked worktrees and submodules) a file, is git's own at
            // any level: git never tracks it, so it is neither an input nor a change.
            if name == b"." || name == b".." || name == b".git" {
                continue;
            }
            let mut dtype = dtype;
            let mut st: Option<libc::stat> = None;
            if dtype == libc::DT_UNKNOWN {
                st = sys::stat_at(dfd, cname);
                dtype = st
                    .as_ref()
                    .map_or(libc::DT_UNKNOWN, |s| match s.st_mode & libc::S_IFMT {
                        libc::S_IFDIR => libc::DT_DIR,
                        libc::S_IFLNK => libc::DT_LNK,
                        _ => libc::DT_REG,
                    });
            }
            let is_dir = dtype == libc::DT_DIR;
            if is_dir {
                if let Ok(k) = tracked_subdirs.binary_search(&name) {
                    seen_dirs[k] = true;
                    let path = join(dir, name);
                    if inside || self.scope.contains_dir(&path) || self.scope.reaches_into(&path) {
                        subdirs.push((path, cname.to_owned()));
                    }
                    continue;
                }
            }
            match files.binary_search_by(|f| f.0.cmp(name)) {
                Ok(k) => {
                    seen[k] = true;
                    if !inside && !self.scope.contains(&join(dir, name)) {
                        continue;
                    }
                    let i = files[k].1;
                    let e = &entries[i];
                    if e.mode.is_submodule() {
                        scan.submodules.push(i);
                        continue;
                    }
                    if e.flags
                        .intersects(Flags::ASSUME_VALID | Flags::SKIP_WORKTREE)
                    {
                        continue;
                    }
                    if is_dir {
                        // A tracked file replaced by a directory.
                        scan.deleted.push(i);
                        candidates.push(Candidate::Dir(join(dir, name)));
                        continue;
                    }
                    match st.or_else(|| sys::stat_at(dfd, cname)) {
                        Some(st) if stat_matches(e, &st, self.stamp, self.file_mode) => {}
                        Some(_) => scan.suspect.push(i),
                        None => scan.deleted.push(i),
                    }
                }
                Err(_) if is_dir => {
                    // shockwave's own directory: its cache ignores itself, but listing thousands
                    // of entries only to ignore them would cost every run.
                    if dir.is_empty() && name == b".shockwave" {
                        continue;
                    }
                    let path = join(dir, name);
                    if inside || self.scope.contains_dir(&path) || self.scope.reaches_into(&path) {
                        candidates.push(Candidate::Dir(path));
                    }
                }
                Err(_) => {
                    let path = join(dir, name);
                    if inside || self.scope.contains(&path) {
                        candidates.push(Candidate::File(path));
                    }
                }
            }
        }
        for (k, &(name, i)) in files.iter().enumerate() {
            if !seen[k]
                && !entries[i].flags.contains(Flags::SKIP_WORKTREE)
                && (inside || self.scope.contains(&join(dir, name)))
            {
                if entries[i].mode.is_submodule() {
                    scan.submodules.push(i);
                } else {
                    scan.deleted.push(i);
                }
            }
        }
        // A tracked directory that is gone (or is no longer a directory): all below is deleted.
        for (k, name) in tracked_subdirs.iter().enumerate() {
            if !seen_dirs[k] {
                self.deleted_below(&join(dir, name), &mut scan);
            }
        }
        (scan, candidates, subdirs)
    }

    /// Marks every tracked file in scope at or below `dir` as deleted.
    fn deleted_below(&self, dir: &[u8], scan: &mut Scan) {
        let entries = self.index.entries();
        let mut pending: Vec<BString> = vec![dir.into()];
        while let Some(dir) = pending.pop() {
            let Some(info) = self.dirs.get(dir.as_slice()) else {
                continue;
            };
            scan.deleted
                .extend(info.files.iter().map(|f| f.1).filter(|&i| {
                    !entries[i].flags.contains(Flags::SKIP_WORKTREE)
                        && !entries[i].mode.is_submodule()
                        && self.scope.contains(entries[i].path(self.index))
                }));
            pending.extend(info.subdirs.iter().map(|name| join(&dir, name)));
        }
    }
}

/// Whether the worktree file still matches what the index recorded, by stat data alone. A racy
/// entry never matches: its content must be read.
fn stat_matches(
    e: &gix::index::Entry,
    st: &libc::stat,
    stamp: (i64, u32),
    file_mode: bool,
) -> bool {
    if e.flags.contains(Flags::INTENT_TO_ADD) {
        return false;
    }
    let s = &e.stat;
    let racy = match stamp.0.cmp(&i64::from(s.mtime.secs)) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => stamp.1 <= s.mtime.nsecs,
        std::cmp::Ordering::Greater => false,
    };
    if racy {
        return false;
    }
    let kind = st.st_mode & libc::S_IFMT;
    let exec = st.st_mode & 0o100 != 0;
    let mode_ok = if e.mode == Mode::SYMLINK {
        kind == libc::S_IFLNK
    } else if !file_mode {
        // core.fileMode = false: the exec bit on disk is noise; the index's mode stands.
        kind == libc::S_IFREG
    } else if e.mode == Mode::FILE_EXECUTABLE {
        kind == libc::S_IFREG && exec
    } else {
        kind == libc::S_IFREG && !exec
    };
    // Nanoseconds are compared only when the index recorded them.
    let nsec_ok = |idx: u32, disk: i64| idx == 0 || i64::from(idx) == disk;
    mode_ok
        && i64::from(s.mtime.secs) == st.st_mtime
        && nsec_ok(s.mtime.nsecs, st.st_mtime_nsec)
        && i64::from(s.ctime.secs) == st.st_ctime
        && nsec_ok(s.ctime.nsecs, st.st_ctime_nsec)
        && s.size == st.st_size as u32
        && s.ino == st.st_ino as u32
}

/// Applies `.gitignore` rules (and `info/exclude`, `core.excludesFile`) to the untracked entries,
/// descending into untracked directories that are not ignored.
fn untracked_not_ignored(
    repo: &gix::Repository,
    workdir: &Path,
    index: &gix::index::State,
    candidates: Vec<Candidate>,
) -> Result<Vec<BString>, String> {
    let mut stack = repo
        .excludes(
            index,
            None,
            gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
        )
        .map_err(|e| format!("failed to read .gitignore files: {e}"))?;
    let mut dir_ignored: HashMap<BString, bool> = HashMap::new();
    let mut out = Vec::new();
    let mut pending: Vec<Candidate> = candidates;
    while let Some(c) = pending.pop() {
        match c {
            Candidate::File(p) => {
                if !ancestors_ignored(p.as_bstr(), &mut stack, &mut dir_ignored)
                    && !excluded(p.as_bstr(), false, &mut stack)
                {
                    out.push(p);
                }
            }
            Candidate::Dir(p) => {
                if ancestors_ignored(p.as_bstr(), &mut stack, &mut dir_ignored)
                    || excluded(p.as_bstr(), true, &mut stack)
                {
                    continue;
                }
                let full = workdir.join(OsStr::from_bytes(&p));
                // A nested repository is not part of this one.
                if full.join(".git").exists() {
                    continue;
                }
                let Ok(read) = std::fs::read_dir(&full) else {
                    continue;
                };
                for de in read.flatten() {
                    let mut child = p.clone();
                    child.push(b'/');
                    child.extend_from_slice(de.file_name().as_bytes());
                    if de.file_type().is_ok_and(|t| t.is_dir()) {
                        pending.push(Candidate::Dir(child));
                    } else {
                        pending.push(Candidate::File(child));
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn excluded(path: &BStr, is_dir: bool, stack: &mut gix::AttributeStack<'_>) -> bool {
    let mode = if is_dir { Mode::DIR } else { Mode::FILE };
    stack
        .at_entry(path, Some(mode))
        .map(|p| p.is_excluded())
        .unwrap_or(false)
}

/// Whether any ancestor directory of `path` is ignored (which ignores everything below it).
fn ancestors_ignored(
    path: &BStr,
    stack: &mut gix::AttributeStack<'_>,
    cache: &mut HashMap<BString, bool>,
) -> bool {
    let mut end = 0;
    while let Some(pos) = path[end..].find_byte(b'/') {
        let d: &BStr = path[..end + pos].as_bstr();
        let ignored = match cache.get(d) {
            Some(&v) => v,
            None => {
                let v = excluded(d, true, stack);
                cache.insert(d.to_owned(), v);
                v
            }
        };
        if ignored {
            return true;
        }
        end += pos + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::Scope;

    fn scope(p: &[&str]) -> Scope {
        Scope::new(p.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    #[test]
    fn covered_prefixes_collapse() {
        let s = scope(&["a/b/", "a/", "c/x.txt", "c/y/"]);
        assert_eq!(s.prefixes.len(), 3);
        assert!(s.contains(b"a/b/c.go") && s.contains(b"a/z") && s.contains(b"c/x.txt"));
        assert!(!s.contains(b"ab/x") && !s.contains(b"c/z.txt") && !s.contains(b"b"));
    }

    #[test]
    fn directories_inside_and_on_the_way() {
        let s = scope(&["services/api/", "go.work"]);
        assert!(s.contains_dir(b"services/api") && s.contains_dir(b"services/api/cmd"));
        assert!(!s.contains_dir(b"services") && s.reaches_into(b"services"));
        assert!(!s.reaches_into(b"services/web") && !s.contains_dir(b"services/apis"));
        assert!(s.reaches_into(b"") && !s.contains_dir(b""));
        assert!(Scope::everything().contains_dir(b"") && Scope::everything().contains(b"x"));
    }
}
