//! A fast worktree scan against the index: which tracked files may differ from what the index
//! records, which are gone, and which untracked files are not ignored. Directories that hold
//! tracked files are read in parallel, one rayon job per directory, spawned by its parent's job
//! once the parent is listed: nothing recurses, so depth costs heap, never stack. A subdirectory
//! is opened and each file stat'ed through the open parent ([`sys`], which on Linux means relative
//! to its descriptor, with no repeated path walks in the kernel). A tracked file whose stat data
//! differs from the index, or whose index entry is racy (modified at or after the index was
//! written), is reported as a candidate to hash. `.git` entries, files or directories, at any
//! level, are git's own: never an input, never a change. Which paths count is [`Scope`]'s to say;
//! what git ignores among the untracked entries is [`untracked`]'s. [`scan_changed`] lists only the
//! directories a file monitor says may differ, with the same per-directory logic, so both scans
//! agree wherever the monitor is right. Never writes, never hashes.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bstr::{BString, ByteSlice};
use gix::index::entry::{Flags, Mode};
use rustc_hash::FxHashMap;

use super::scope::Scope;
use super::sys::{self, Kind, ListEntries, OpenDir, Stat};
use super::untracked::{self, Candidate, IgnoresError};

mod changed;
pub use changed::scan_changed;

/// Why the worktree could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("failed to open {}: {source}", .workdir.display())]
    OpenRoot {
        workdir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ignores(#[from] IgnoresError),
}

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
    /// Tracked regular files with more than one link: a write through another name changes them
    /// where a file monitor does not look.
    pub linked: Vec<usize>,
}

impl Scan {
    /// Adds what one directory's job found (untracked files are resolved after all jobs).
    fn absorb(&mut self, other: Scan) {
        self.suspect.extend(other.suspect);
        self.deleted.extend(other.deleted);
        self.submodules.extend(other.submodules);
        self.linked.extend(other.linked);
    }
}

/// Compares the worktree with `index` in every tracked directory inside `scope`.
pub fn scan(
    repo: &gix::Repository,
    workdir: &Path,
    index: &gix::index::State,
    scope: &Scope,
    file_mode: bool,
) -> Result<Scan, ScanError> {
    let dirs = if scope.is_everything() {
        tracked_tree(index, 0..index.entries().len())
    } else {
        tracked_tree(index, entered(index, scope))
    };
    tracing::debug!("worktree scan: {} tracked directories", dirs.len());
    let ctx = Ctx::new(scope, index, &dirs, file_mode);
    let root = open_root(workdir)?;
    rayon::scope(|s| ctx.visit(s, root, BString::default(), scope.is_everything()));
    ctx.finish(repo, workdir)
}

fn open_root(workdir: &Path) -> Result<sys::Dir, ScanError> {
    sys::Dir::open(workdir).map_err(|source| ScanError::OpenRoot {
        workdir: workdir.to_path_buf(),
        source,
    })
}

/// The index entries in the directories a scan of `scope` enters (those inside it or on the way
/// into it): the only directories whose listing is ever compared with the index. With a few
/// services in scope out of thousands, building the tracked tree for the whole index was a fifth
/// of an all-hit run. Entries are sorted by path, so one answer serves each directory's run.
fn entered<'i>(index: &'i gix::index::State, scope: &'i Scope) -> impl Iterator<Item = usize> + 'i {
    let mut last: Option<(&[u8], bool)> = None;
    (0..index.entries().len()).filter(move |&i| {
        let (dir, _) = split(index.entries()[i].path(index).as_bytes());
        match last {
            Some((d, entered)) if d == dir => entered,
            _ => {
                let entered = dir.is_empty() || scope.leads_into(dir);
                last = Some((dir, entered));
                entered
            }
        }
    })
}

/// What the index holds directly inside one directory, both lists sorted by name.
#[derive(Default)]
struct DirInfo<'a> {
    files: Vec<(&'a [u8], usize)>,
    subdirs: Vec<&'a [u8]>,
}

/// The tracked tree: per directory, its tracked files and tracked subdirectories. Every ancestor
/// of a tracked file is present, so the scan reaches every tracked directory and notices one that
/// disappeared.
fn tracked_tree(
    index: &gix::index::State,
    only: impl IntoIterator<Item = usize>,
) -> FxHashMap<&[u8], DirInfo<'_>> {
    let entries = index.entries();
    // Sized once: a repository has a directory for every few files, and growing the map step by
    // step rehashed every directory again each time (5 % of an all-hit run's CPU, by profile).
    let mut dirs: FxHashMap<&[u8], DirInfo<'_>> =
        FxHashMap::with_capacity_and_hasher(entries.len() / 4 + 1, Default::default());
    dirs.insert(&b""[..], DirInfo::default());
    for i in only {
        let e = &entries[i];
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
    dirs
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.rfind_byte(b'/') {
        Some(s) => (&path[..s], &path[s + 1..]),
        None => (&path[..0], path),
    }
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

/// The directory being listed.
struct Here<'d> {
    dir: &'d sys::Dir,
    /// Repo-relative, `""` for the worktree root.
    path: &'d [u8],
    /// The whole directory is in scope (otherwise it only leads to parts that are).
    inside: bool,
}

/// What listing one directory found: its tracked files' verdicts, its untracked entries, and the
/// tracked subdirectories to scan next (path and name).
#[derive(Default)]
struct Listing {
    scan: Scan,
    candidates: Vec<Candidate>,
    subdirs: Vec<(BString, CString)>,
}

impl<'a> Ctx<'a> {
    fn new(
        scope: &'a Scope,
        index: &'a gix::index::State,
        dirs: &'a FxHashMap<&'a [u8], DirInfo<'a>>,
        file_mode: bool,
    ) -> Ctx<'a> {
        let stamp = index.timestamp();
        Ctx {
            scope,
            index,
            dirs,
            stamp: (stamp.unix_seconds(), stamp.nanoseconds()),
            file_mode,
            found: Mutex::new((Scan::default(), Vec::new())),
        }
    }

    /// What the listings found, sorted, with the untracked entries reduced to those not ignored.
    fn finish(self, repo: &gix::Repository, workdir: &Path) -> Result<Scan, ScanError> {
        let (mut out, candidates) = self
            .found
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        out.suspect.sort_unstable();
        out.suspect.dedup();
        out.deleted.sort_unstable();
        out.deleted.dedup();
        out.submodules.sort_unstable();
        out.submodules.dedup();
        out.linked.sort_unstable();
        out.linked.dedup();
        if !candidates.is_empty() {
            out.untracked = untracked::not_ignored(repo, workdir, self.index, candidates)?;
            out.untracked.dedup();
        }
        Ok(out)
    }

    fn absorb(&self, listing: Listing) {
        let mut found = self.found.lock().unwrap_or_else(PoisonError::into_inner);
        found.0.absorb(listing.scan);
        found.1.extend(listing.candidates);
    }

    /// Scans the tracked directory `path` (open as `dir`) and spawns a job for each tracked
    /// subdirectory, which opens it through `dir`. `dir` is shared by those jobs and closed when
    /// the last of them has opened its own directory.
    fn visit<'s>(&'s self, s: &rayon::Scope<'s>, dir: sys::Dir, path: BString, inside: bool)
    where
        'a: 's,
    {
        let here = Here {
            dir: &dir,
            path: &path,
            inside,
        };
        let mut listing = self.list(&here);
        let subdirs = std::mem::take(&mut listing.subdirs);
        self.absorb(listing);
        if subdirs.is_empty() {
            return;
        }
        let parent = Arc::new(dir);
        for (path, name) in subdirs {
            let parent = Arc::clone(&parent);
            s.spawn(move |s| {
                let opened = parent.open_child(&name);
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
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                            .absorb(gone);
                    }
                }
            });
        }
    }

    /// Lists one directory against what the index holds in it.
    fn list(&self, here: &Here<'_>) -> Listing {
        let info = self.dirs.get(here.path);
        let files: &[(&[u8], usize)] = info.map_or(&[], |d| d.files.as_slice());
        let tracked_subdirs: &[&[u8]] = info.map_or(&[], |d| d.subdirs.as_slice());
        let mut out = Listing::default();
        let mut seen = vec![false; files.len()];
        let mut seen_dirs = vec![false; tracked_subdirs.len()];
        let mut entries = here.dir.entries();
        loop {
            let entry = match entries.next_entry() {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(err) => {
                    // A partial listing would make present files look deleted: say so, and let
                    // the unseen ones count as changed (conservative).
                    tracing::warn!(
                        "failed to list directory `{}` ({err}); treating unlisted tracked files as changed",
                        here.path.as_bstr()
                    );
                    break;
                }
            };
            let name = entry.name.to_bytes();
            // `.git`, a directory or (in linked worktrees and submodules) a file, is git's own at
            // any level: git never tracks it, so it is neither an input nor a change.
            if name == b".git" {
                continue;
            }
            // Stat'ed now only when the listing does not tell a directory from a file.
            let stat = match entry.kind {
                Some(_) => None,
                None => here.dir.stat_child(entry.name),
            };
            let is_dir = entry.kind.or(stat.map(|s| s.kind)) == Some(Kind::Dir);
            if is_dir {
                if let Ok(k) = tracked_subdirs.binary_search(&name) {
                    seen_dirs[k] = true;
                    let path = join(here.path, name);
                    if here.inside || self.scope.leads_into(&path) {
                        out.subdirs.push((path, entry.name.to_owned()));
                    }
                    continue;
                }
            }
            match files.binary_search_by(|f| f.0.cmp(name)) {
                Ok(k) => {
                    seen[k] = true;
                    let seen = Seen {
                        name: entry.name,
                        is_dir,
                        stat,
                    };
                    self.tracked_file(here, &seen, files[k].1, &mut out);
                }
                Err(_) => self.untracked(here, name, is_dir, &mut out.candidates),
            }
        }
        for (k, &(name, i)) in files.iter().enumerate() {
            let e = &self.index.entries()[i];
            if !seen[k]
                && !e.flags.contains(Flags::SKIP_WORKTREE)
                && (here.inside || self.scope.contains(&join(here.path, name)))
            {
                if e.mode.is_submodule() {
                    out.scan.submodules.push(i);
                } else {
                    out.scan.deleted.push(i);
                }
            }
        }
        // A tracked directory that is gone (or is no longer a directory): all below is deleted.
        for (k, name) in tracked_subdirs.iter().enumerate() {
            if !seen_dirs[k] {
                self.deleted_below(&join(here.path, name), &mut out.scan);
            }
        }
        out
    }

    /// Compares the listed entry `seen` with the index entry `i` of the same name.
    fn tracked_file(&self, here: &Here<'_>, seen: &Seen<'_>, i: usize, out: &mut Listing) {
        let e = &self.index.entries()[i];
        if !here.inside && !self.scope.contains(e.path(self.index)) {
            return;
        }
        if e.mode.is_submodule() {
            out.scan.submodules.push(i);
            return;
        }
        if e.flags
            .intersects(Flags::ASSUME_VALID | Flags::SKIP_WORKTREE)
        {
            return;
        }
        if seen.is_dir {
            // A tracked file replaced by a directory.
            out.scan.deleted.push(i);
            out.candidates
                .push(Candidate::Dir(e.path(self.index).to_owned()));
            return;
        }
        match seen.stat.or_else(|| here.dir.stat_child(seen.name)) {
            Some(st) => {
                if st.nlink > 1 && st.kind == Kind::File {
                    out.scan.linked.push(i);
                }
                if !stat_matches(e, &st, self.stamp, self.file_mode) {
                    out.scan.suspect.push(i);
                }
            }
            None => out.scan.deleted.push(i),
        }
    }

    /// Keeps the untracked entry `name` for the ignore check if the scope wants it.
    fn untracked(&self, here: &Here<'_>, name: &[u8], is_dir: bool, out: &mut Vec<Candidate>) {
        let path = join(here.path, name);
        if is_dir {
            // shockwave's own directory: its cache ignores itself, but listing thousands of
            // entries only to ignore them would cost every run.
            if here.path.is_empty() && name == b".shockwave" {
                return;
            }
            if here.inside || self.scope.leads_into(&path) {
                out.push(Candidate::Dir(path));
            }
        } else if here.inside || self.scope.contains(&path) {
            out.push(Candidate::File(path));
        }
    }

    /// Marks every tracked file in scope at or below `dir` as deleted.
    fn deleted_below(&self, dir: &[u8], scan: &mut Scan) {
        // From the index itself, not the tracked tree: a targeted scan has only the directories
        // it lists in it.
        let entries = self.index.entries();
        let range = changed::entry_range(self.index, dir);
        scan.deleted.extend(range.clone().filter(|&i| {
            let e = &entries[i];
            // A conflict's stages share one path: the first stands for all.
            let repeated = i > range.start && entries[i - 1].path(self.index) == e.path(self.index);
            !repeated
                && !e.flags.contains(Flags::SKIP_WORKTREE)
                && !e.mode.is_submodule()
                && self.scope.contains(e.path(self.index))
        }));
    }
}

/// A listed entry with a tracked file's name.
struct Seen<'e> {
    name: &'e std::ffi::CStr,
    is_dir: bool,
    /// Its stat data, when the listing already needed it.
    stat: Option<Stat>,
}

/// Whether the entry was modified at or after the index was written (`stamp`), when its stat data
/// cannot vouch for its content.
fn is_racy(e: &gix::index::Entry, stamp: (i64, u32)) -> bool {
    match stamp.0.cmp(&i64::from(e.stat.mtime.secs)) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => stamp.1 <= e.stat.mtime.nsecs,
        std::cmp::Ordering::Greater => false,
    }
}

/// Whether the worktree file still matches what the index recorded, by stat data alone. A racy
/// entry never matches: its content must be read.
fn stat_matches(e: &gix::index::Entry, st: &Stat, stamp: (i64, u32), file_mode: bool) -> bool {
    if e.flags.contains(Flags::INTENT_TO_ADD) {
        return false;
    }
    if is_racy(e, stamp) {
        return false;
    }
    let s = &e.stat;
    let mode_ok = if e.mode == Mode::SYMLINK {
        st.kind == Kind::Symlink
    } else if !file_mode {
        // core.fileMode = false: the exec bit on disk is noise; the index's mode stands.
        st.kind == Kind::File
    } else if e.mode == Mode::FILE_EXECUTABLE {
        st.kind == Kind::File && st.executable
    } else {
        st.kind == Kind::File && !st.executable
    };
    // Nanoseconds are compared only when the index recorded them.
    let nsec_ok = |idx: u32, disk: i64| idx == 0 || i64::from(idx) == disk;
    // The index keeps only the low 32 bits of size and inode number.
    mode_ok
        && i64::from(s.mtime.secs) == st.mtime.0
        && nsec_ok(s.mtime.nsecs, st.mtime.1)
        && i64::from(s.ctime.secs) == st.ctime.0
        && nsec_ok(s.ctime.nsecs, st.ctime.1)
        && s.size == st.size as u32
        && s.ino == st.ino as u32
}
