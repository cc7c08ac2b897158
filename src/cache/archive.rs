//! Output archives: tar (via the `tar` crate) compressed with zstd. What an archive may hold is one
//! [`Scope`], applied the same way when it is written and when it is restored: the files matching the
//! target's declared `outputs`, and never anything in a `.git` directory or in the cache directory.
//! Restoring first checks every member — relative path, no `..`, no absolute path, inside the scope,
//! symlinks that stay inside the root, only files, directories and symlinks — and only then writes
//! anything. Writing goes through directory file descriptors opened without following symlinks, and
//! each file through a fresh temporary name created exclusively (`O_EXCL|O_NOFOLLOW`), chmod-ed
//! through its descriptor and renamed: a link planted in the worktree is never followed.
//! Everything streams: an archive is never held in memory whole, so large outputs cost disk, not RAM.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::config::Globs;
use crate::glob;

/// Files up to this size are compared with what is already in place before being rewritten.
const SAME_FILE_CHECK: u64 = 1 << 20;
/// Prefix of the temporary names files are restored through. Such files (left by a killed restore)
/// are never archived.
const TEMP_PREFIX: &str = ".shockwave-tmp-";

pub enum CheckError {
    Unsafe(String),
    Corrupt(String),
}

pub enum Member {
    File { path: PathBuf, mode: u32 },
    Symlink { path: PathBuf, target: PathBuf },
    Dir { path: PathBuf },
}

impl Member {
    fn path(&self) -> &Path {
        match self {
            Member::File { path, .. } | Member::Symlink { path, .. } | Member::Dir { path } => path,
        }
    }
}

/// What a target's cache entry may hold, relative to its service root: the paths its `outputs`
/// globs match, minus anything in a `.git` directory (git runs hooks from there, and a repository's
/// objects are no task's output) or in the cache directory (an entry must not plant other entries).
pub struct Scope<'a> {
    outputs: &'a Globs,
    /// The literal directory each glob starts from (`bin` for `bin/**/*.o`, empty for `*.o`):
    /// writing walks only these, and a directory member must lie on the way to one or below one.
    starts: Vec<PathBuf>,
    /// The cache directory relative to the service root, when it lies inside it.
    cache_dir: Option<PathBuf>,
}

impl<'a> Scope<'a> {
    pub fn new(outputs: &'a Globs, root: &Path, cache_dir: &Path) -> Self {
        // Compare resolved paths: `--cache-dir` may name the directory another way than the root.
        let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let cache_dir = resolve(cache_dir)
            .strip_prefix(resolve(root))
            .ok()
            .map(Path::to_path_buf);
        Scope {
            outputs,
            starts: glob_starts(outputs),
            cache_dir,
        }
    }

    /// Why `path` is never stored or restored, whatever the globs say.
    fn forbidden(&self, path: &Path) -> Option<&'static str> {
        // Compared without case: on a case-insensitive filesystem (macOS, Windows) `.GIT` is
        // the same directory, and git runs hooks from it.
        if path
            .components()
            .any(|c| c.as_os_str().as_bytes().eq_ignore_ascii_case(b".git"))
        {
            Some("inside a `.git` directory")
        } else if self
            .cache_dir
            .as_deref()
            .is_some_and(|c| path.starts_with(c))
        {
            Some("inside the cache directory")
        } else {
            None
        }
    }

    fn declared(&self, path: &Path) -> bool {
        self.outputs.set.is_match(path)
    }

    /// A directory may be created when it is declared, leads to where outputs start, or lies
    /// below such a start (where declared files may be).
    fn directory_admitted(&self, dir: &Path) -> bool {
        self.declared(dir)
            || self
                .starts
                .iter()
                .any(|s| s.starts_with(dir) || dir.starts_with(s))
    }

    fn describe_outputs(&self) -> String {
        if self.outputs.is_empty() {
            "the target declares no outputs".into()
        } else {
            let quoted: Vec<String> = self
                .outputs
                .patterns
                .iter()
                .map(|p| format!("`{p}`"))
                .collect();
            format!("outputs = {}", quoted.join(", "))
        }
    }

    /// Checks a symlink member: its target must stay inside the root (read lexically, which is sound
    /// only while no component is itself a symlink: hence no `..` after a name) and out of the
    /// forbidden places.
    fn check_symlink(&self, path: &Path, target: &Path) -> Result<(), String> {
        let mut named = false;
        for c in target.components() {
            match c {
                Component::Normal(_) => named = true,
                Component::ParentDir if named => {
                    return Err(format!(
                        "symlink `{}` → `{}` has `..` after a name, which could climb through another symlink",
                        path.display(),
                        target.display()
                    ))
                }
                _ => {}
            }
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        let resolved = (!target.is_absolute())
            .then(|| safe_relative(&parent.join(target)))
            .flatten();
        let Some(resolved) = resolved else {
            return Err(format!(
                "symlink `{}` → `{}` points outside the service root",
                path.display(),
                target.display()
            ));
        };
        if let Some(why) = self.forbidden(&resolved) {
            return Err(format!(
                "symlink `{}` → `{}` points {why}",
                path.display(),
                target.display()
            ));
        }
        Ok(())
    }
}

/// What [`write_archive`] wrote.
pub struct Written {
    pub files: u64,
    /// Size of the uncompressed tar stream: restoring never inflates more than this.
    pub tar_bytes: u64,
}

/// Archives the files under `root` that `scope` admits into `out` (tar, zstd-compressed), reading
/// each file as a stream. An output that no restore would accept (a symlink leaving the root, a
/// FIFO, a socket, a device) is an error: the task is then not cached, rather than cached in a form
/// that is refused on every later run.
pub fn write_archive<W: Write>(
    root: &Path,
    scope: &Scope,
    out: W,
) -> std::io::Result<(W, Written)> {
    let mut seen = std::collections::BTreeSet::new();
    for start in &scope.starts {
        // Non-UTF-8 starts match no glob (globs are UTF-8), so nothing below them is an output.
        if let Some(start) = start.to_str() {
            // The walk below never follows a link, but reading a start directory would: an
            // output directory that is a symlink (`bin -> /home/me/.ssh`) would archive files
            // from outside the service root, which restoring then makes real.
            if let Some(link) = symlink_on_the_way(root, Path::new(start))? {
                return Err(std::io::Error::other(format!(
                    "output directory `{}` is a symlink; a cache entry holds only what lies inside the service root",
                    link.display()
                )));
            }
            walk(root, start, scope, &mut seen)?;
        }
    }
    let files: Vec<String> = seen.into_iter().collect();
    let encoder = zstd::Encoder::new(out, 3)?;
    let mut builder = tar::Builder::new(Counting {
        inner: encoder,
        bytes: 0,
    });
    builder.follow_symlinks(false);
    let refuse = |rel: &str, why: String| {
        std::io::Error::other(format!(
            "output `{rel}` {why}; a cache entry can hold only regular files, directories and \
             symlinks that stay inside the service root"
        ))
    };
    for rel in &files {
        let full = root.join(rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&full)?;
            scope
                .check_symlink(Path::new(rel), &target)
                .map_err(|why| refuse(rel, format!("cannot be cached: {why}")))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            builder.append_link(&mut header, rel, &target)?;
        } else if kind.is_file() {
            // Opened without following a link or blocking on a FIFO swapped in since the walk.
            let file = std::fs::File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(&full)?;
            let meta = file.metadata()?;
            if !meta.is_file() {
                return Err(refuse(rel, "stopped being a regular file".into()));
            }
            let len = meta.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(len);
            header.set_mode(meta.permissions().mode() & 0o777);
            // `take` keeps the member exactly as long as its header says, even if the file grows.
            builder.append_data(&mut header, rel, file.take(len))?;
        } else {
            return Err(refuse(rel, format!("is a {}", kind_name(meta.mode()))));
        }
    }
    let counting = builder.into_inner()?;
    let written = Written {
        files: files.len() as u64,
        tar_bytes: counting.bytes,
    };
    Ok((counting.inner.finish()?, written))
}

pub fn kind_name(mode: u32) -> &'static str {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// Counts what passes through (the uncompressed tar stream).
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Ends a stream with an error once it yields more than `limit` bytes: a decompression bomb then
/// costs at most the size recorded when the archive was stored, however far it would inflate.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte more than allowed, so that going past the limit is seen, not truncated.
        let want = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "the archive inflates past the {} bytes recorded when it was stored",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// [`write_archive`] into memory.
#[cfg(test)]
pub fn create(root: &Path, scope: &Scope) -> std::io::Result<(Vec<u8>, u64)> {
    write_archive(root, scope, Vec::new()).map(|(out, w)| (out, w.files))
}

fn walk(
    root: &Path,
    rel_dir: &str,
    scope: &Scope,
    out: &mut std::collections::BTreeSet<String>,
) -> std::io::Result<()> {
    let dir = if rel_dir.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel_dir)
    };
    let read = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            if scope.declared(Path::new(rel_dir)) && scope.forbidden(Path::new(rel_dir)).is_none() {
                out.insert(rel_dir.to_string());
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in read {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let rel = if rel_dir.is_empty() {
            name
        } else {
            format!("{rel_dir}/{name}")
        };
        if scope.forbidden(Path::new(&rel)).is_some() {
            continue;
        }
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(root, &rel, scope, out)?;
        } else if scope.declared(Path::new(&rel)) && !is_temp_name(&entry.file_name()) {
            out.insert(rel);
        }
    }
    Ok(())
}

/// The first of `rel` and its parents (below `root`) that is a symlink, if any.
fn symlink_on_the_way(root: &Path, rel: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut at = PathBuf::new();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(root.join(&at)) {
            Ok(m) if m.file_type().is_symlink() => return Ok(Some(at)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn is_temp_name(name: &OsStr) -> bool {
    name.as_bytes().starts_with(TEMP_PREFIX.as_bytes())
}

/// [`check_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn check(compressed: &[u8], scope: &Scope) -> Result<Vec<Member>, CheckError> {
    let bytes =
        zstd::decode_all(compressed).map_err(|e| CheckError::Corrupt(format!("zstd: {e}")))?;
    check_tar(bytes.as_slice(), scope)
}

/// The most members an entry may hold: far more than any build's outputs, few enough that
/// checking them costs seconds at worst.
pub const MAX_MEMBERS: usize = 1_000_000;

/// Reads the (decompressed) tar stream and checks every member. Nothing is written.
pub fn check_tar<R: Read>(stream: R, scope: &Scope) -> Result<Vec<Member>, CheckError> {
    let mut archive = tar::Archive::new(stream);
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| CheckError::Corrupt(format!("tar: {e}")))?;
    for entry in entries {
        if members.len() >= MAX_MEMBERS {
            return Err(CheckError::Unsafe(format!(
                "it holds more than {MAX_MEMBERS} members"
            )));
        }
        let entry = entry.map_err(|e| CheckError::Corrupt(format!("tar: {e}")))?;
        let raw = entry
            .path()
            .map_err(|e| CheckError::Corrupt(format!("tar path: {e}")))?
            .into_owned();
        let path = safe_relative(&raw).ok_or_else(|| {
            CheckError::Unsafe(format!(
                "member `{}` is absolute or leaves the service root",
                raw.display()
            ))
        })?;
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                members.push(Member::File { path, mode });
            }
            tar::EntryType::Directory => members.push(Member::Dir { path }),
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| CheckError::Corrupt(format!("tar link: {e}")))?
                    .ok_or_else(|| CheckError::Corrupt("symlink without target".into()))?
                    .into_owned();
                scope
                    .check_symlink(&path, &target)
                    .map_err(CheckError::Unsafe)?;
                members.push(Member::Symlink { path, target });
            }
            other => {
                return Err(CheckError::Unsafe(format!(
                    "member `{}` has unsupported type {other:?} (only files, directories and symlinks are restored)",
                    path.display()
                )))
            }
        }
    }
    // Each path once, and nothing below a file of the same archive: a repeated member costs a
    // restore its time (2 million copies of one file in a 94 KB archive) and a file-then-directory
    // pair cannot be extracted at all, so such an entry would fail on every run.
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    for m in &members {
        if !seen.insert(m.path()) {
            return Err(CheckError::Unsafe(format!(
                "member `{}` appears more than once",
                m.path().display()
            )));
        }
    }
    let files: std::collections::HashSet<&Path> = members
        .iter()
        .filter_map(|m| match m {
            Member::File { path, .. } => Some(path.as_path()),
            _ => None,
        })
        .collect();
    for m in &members {
        if let Some(file) = m.path().ancestors().skip(1).find(|a| files.contains(a)) {
            return Err(CheckError::Corrupt(format!(
                "member `{}` lies under the file `{}` in the same archive",
                m.path().display(),
                file.display()
            )));
        }
    }
    // A member below an archived symlink would be written through that link, wherever it points
    // (`d/l` → `..`, then `d/l/m` → `../..` is the root's parent, not `d`).
    let links: std::collections::HashSet<&Path> = members
        .iter()
        .filter_map(|m| match m {
            Member::Symlink { path, .. } => Some(path.as_path()),
            _ => None,
        })
        .collect();
    if !links.is_empty() {
        for m in &members {
            let path = m.path();
            if let Some(link) = path.ancestors().skip(1).find(|a| links.contains(a)) {
                return Err(CheckError::Unsafe(format!(
                    "member `{}` lies under the symlink `{}` in the same archive",
                    path.display(),
                    link.display()
                )));
            }
        }
    }
    check_scope(&members, scope)?;
    Ok(members)
}

/// Every file and symlink must be a declared output, and every directory lie on the way to or
/// below where outputs are declared; nothing may be in a `.git` directory or the cache, whatever
/// the globs say.
fn check_scope(members: &[Member], scope: &Scope) -> Result<(), CheckError> {
    for m in members {
        let path = m.path();
        if let Some(why) = scope.forbidden(path) {
            return Err(CheckError::Unsafe(format!(
                "member `{}` is {why}, which a cache entry never writes",
                path.display()
            )));
        }
        let admitted = match m {
            Member::Dir { .. } => scope.directory_admitted(path),
            Member::File { .. } | Member::Symlink { .. } => scope.declared(path),
        };
        if !admitted {
            return Err(CheckError::Unsafe(format!(
                "{} `{}` is not a declared output ({})",
                if matches!(m, Member::Dir { .. }) {
                    "directory member"
                } else {
                    "member"
                },
                path.display(),
                scope.describe_outputs()
            )));
        }
    }
    Ok(())
}

/// The literal directory prefix of each glob, deduplicated.
fn glob_starts(outputs: &Globs) -> Vec<PathBuf> {
    let mut starts: Vec<PathBuf> = outputs
        .patterns
        .iter()
        .map(|p| PathBuf::from(glob::literal_dir(p)))
        .collect();
    starts.sort();
    starts.dedup();
    starts
}

/// Lexically normalises a relative path; `None` if it is absolute or climbs above its start.
fn safe_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// [`extract_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn extract(compressed: &[u8], root: &Path, members: Vec<Member>) -> std::io::Result<()> {
    extract_tar(zstd::decode_all(compressed)?.as_slice(), root, members)
}

/// Writes the `members` that [`check_tar`] accepted under `root`, reading the same tar stream
/// again. Every entry must be the checked member at its position, so an archive swapped in
/// between cannot write anything unchecked. Existing files are replaced atomically.
pub fn extract_tar<R: Read>(stream: R, root: &Path, members: Vec<Member>) -> std::io::Result<()> {
    // A symlink already in the worktree (say a committed `bin -> /elsewhere`) would carry writes
    // out of the service root: refuse before writing anything. (The writer below never follows
    // one either; this check only makes the refusal whole instead of half-way.)
    for m in &members {
        let path = m.path();
        let mut at = root.to_path_buf();
        let mut parts = path.components().peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                break;
            }
            at.push(part);
            if std::fs::symlink_metadata(&at).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(std::io::Error::other(format!(
                    "refusing to restore `{}` through the symlink `{}` in the service root",
                    path.display(),
                    at.display()
                )));
            }
        }
    }
    let mut dirs = DirWriter::open(root)?;
    let mut archive = tar::Archive::new(stream);
    let mut entries = archive.entries()?;
    for m in members {
        let mut entry = entries
            .next()
            .ok_or_else(|| std::io::Error::other("the archive changed after it was checked"))??;
        let same = entry
            .path()
            .ok()
            .and_then(|p| safe_relative(p.as_ref()))
            .as_deref()
            == Some(m.path());
        if !same {
            return Err(std::io::Error::other(
                "the archive changed after it was checked",
            ));
        }
        match m {
            Member::Dir { path } => {
                dirs.walk(&path)?;
            }
            Member::File { path, mode } => {
                let (dir, name) = dirs.parent_of(&path)?;
                // An identical file already in place (same size, mode and bytes) is left alone:
                // no write, no rename, and its mtime stays, which keeps later tools quiet.
                let mut data = None;
                let size = entry.size();
                if let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                        && st.st_size as u64 == size
                        && size <= SAME_FILE_CHECK
                        && st.st_mode & 0o777 == mode
                    {
                        let mut bytes = Vec::with_capacity(size as usize);
                        entry.read_to_end(&mut bytes)?;
                        if read_regular_at(dir, name, size).is_ok_and(|old| old == bytes) {
                            continue;
                        }
                        data = Some(bytes);
                    }
                }
                let (tmp, mut file) = create_temp_file(dir)?;
                let written = (|| {
                    match data {
                        Some(bytes) => file.write_all(&bytes)?,
                        None => {
                            std::io::copy(&mut entry, &mut file)?;
                        }
                    }
                    // Through the descriptor: the path could name something else by now.
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                    drop(file);
                    replace_at(dir, &tmp, name)
                })();
                if written.is_err() {
                    let _ = rustix::fs::unlinkat(dir, &tmp, AtFlags::empty());
                }
                written?;
            }
            Member::Symlink { path, target } => {
                let (dir, name) = dirs.parent_of(&path)?;
                let tmp = create_temp_symlink(dir, &target)?;
                let written = replace_at(dir, &tmp, name);
                if written.is_err() {
                    let _ = rustix::fs::unlinkat(dir, &tmp, AtFlags::empty());
                }
                written?;
            }
        }
    }
    Ok(())
}

/// Flags for every directory opened while restoring: a symlink in its place is an error (`ELOOP`),
/// never followed.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens directories below a service root one component at a time, creating missing ones, without
/// following a symlink anywhere below the root. Keeps the last parent open, since members arrive
/// grouped by directory.
struct DirWriter {
    root_path: PathBuf,
    root: OwnedFd,
    last: Option<(PathBuf, OwnedFd)>,
}

impl DirWriter {
    fn open(root: &Path) -> std::io::Result<Self> {
        // The service root itself is the caller's (it may legitimately be reached through a link).
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot open the service root {}: {e}", root.display()),
            )
        })?;
        Ok(DirWriter {
            root_path: root.to_path_buf(),
            root: fd,
            last: None,
        })
    }

    /// The open directory holding `path`, and `path`'s file name.
    fn parent_of<'p>(&mut self, path: &'p Path) -> std::io::Result<(BorrowedFd<'_>, &'p OsStr)> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other(format!("`{}` has no name", path.display())))?;
        let parent = path.parent().unwrap_or(Path::new(""));
        if parent.as_os_str().is_empty() {
            return Ok((self.root.as_fd(), name));
        }
        let cached = self.last.as_ref().is_some_and(|(p, _)| p == parent);
        if !cached {
            let fd = self.walk(parent)?;
            self.last = Some((parent.to_path_buf(), fd));
        }
        let fd = self
            .last
            .as_ref()
            .map(|(_, fd)| fd.as_fd())
            .unwrap_or(self.root.as_fd());
        Ok((fd, name))
    }

    /// Opens (creating as needed) the directory `rel` below the root.
    fn walk(&self, rel: &Path) -> std::io::Result<OwnedFd> {
        let mut fd = rustix::fs::openat(&self.root, ".", dir_flags(), Mode::empty())?;
        let mut at = PathBuf::new();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(std::io::Error::other(format!(
                    "`{}` is not a plain relative path",
                    rel.display()
                )));
            };
            at.push(name);
            let opened = match rustix::fs::openat(&fd, name, dir_flags(), Mode::empty()) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&fd, name, dir_flags(), Mode::empty())
                }
                other => other,
            };
            fd = match opened {
                Ok(d) => d,
                Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                    return Err(std::io::Error::other(format!(
                        "refusing to restore into `{}`: it is a symlink or not a directory",
                        self.root_path.join(&at).display()
                    )))
                }
                Err(e) => return Err(e.into()),
            };
        }
        Ok(fd)
    }
}

/// A temporary name no other process uses: the pid and a per-process counter. It is only ever
/// created exclusively, so a file or link someone planted at it is skipped, not followed.
fn temp_name() -> OsString {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    OsString::from(format!("{TEMP_PREFIX}{}-{n}", std::process::id()))
}

/// How many taken names to skip before giving up on creating a temporary file.
const TEMP_ATTEMPTS: usize = 32;

/// Creates a new file in `dir` at a fresh temporary name.
fn create_temp_file(dir: BorrowedFd) -> std::io::Result<(OsString, File)> {
    create_first_free(dir, (0..TEMP_ATTEMPTS).map(|_| temp_name()))
}

/// Creates the first of `names` that does not exist in `dir`, with `O_CREAT|O_EXCL|O_NOFOLLOW`:
/// it never opens anything that already exists, a symlink included.
fn create_first_free(
    dir: BorrowedFd,
    names: impl Iterator<Item = OsString>,
) -> std::io::Result<(OsString, File)> {
    for tmp in names {
        match rustix::fs::openat(
            dir,
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((tmp, File::from(fd))),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary file for a restored output: every name tried was taken",
    ))
}

/// Creates a symlink to `target` at a new temporary name in `dir` (`symlinkat` never follows or
/// replaces what exists).
fn create_temp_symlink(dir: BorrowedFd, target: &Path) -> std::io::Result<OsString> {
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_name();
        match rustix::fs::symlinkat(target, dir, &tmp) {
            Ok(()) => return Ok(tmp),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(std::io::Error::other(
        "failed to create a temporary symlink for a restored output: every name tried was taken",
    ))
}

/// Renames `tmp` over `name` in `dir`; any entry in the way but a directory is replaced
/// atomically. An empty directory in the way is removed first (a rename cannot replace a directory
/// with a file); a directory with anything in it is refused, since what it holds need not be an
/// output (a cached `vendor/x.js` must not delete a checked-in `vendor/x.js/LICENSE`).
fn replace_at(dir: BorrowedFd, tmp: &OsStr, name: &OsStr) -> std::io::Result<()> {
    if let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            if let Err(e) = rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
                let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
                return Err(
                    if e == rustix::io::Errno::NOTEMPTY || e == rustix::io::Errno::EXIST {
                        std::io::Error::other(format!(
                        "`{}` is a directory with files in it, where the cache holds a file; move it away or clean the outputs",
                        name.to_string_lossy()
                    ))
                    } else {
                        e.into()
                    },
                );
            }
        }
    }
    rustix::fs::renameat(dir, tmp, dir, name)?;
    Ok(())
}

/// The bytes of the regular file `name` in `dir` if it has exactly `size` bytes: never through a
/// symlink, never blocking on a FIFO.
fn read_regular_at(dir: BorrowedFd, name: &OsStr, size: u64) -> std::io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() != size {
        return Err(std::io::Error::other("not the expected regular file"));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(size + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Globs {
        Globs::new(vec!["**".into()]).ok().unwrap()
    }

    fn scope(outputs: &Globs) -> Scope<'_> {
        Scope {
            outputs,
            starts: glob_starts(outputs),
            cache_dir: None,
        }
    }

    fn tar_zst(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        zstd::encode_all(b.into_inner().unwrap().as_slice(), 1).unwrap()
    }

    fn raw_header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_old();
        // Write the name bytes directly: the builder's own checks would reject `..`.
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    #[test]
    fn refuses_parent_and_absolute_paths() {
        for bad in ["../evil", "a/../../evil", "/etc/evil"] {
            let a = tar_zst(|b| {
                let h = raw_header(bad, tar::EntryType::Regular, 1);
                b.append(&h, &b"x"[..]).unwrap();
            });
            assert!(
                matches!(check(&a, &scope(&all())), Err(CheckError::Unsafe(_))),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn refuses_escaping_symlinks_but_keeps_inner_ones() {
        let bad = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "bin/link", "../../outside").unwrap();
        });
        assert!(matches!(
            check(&bad, &scope(&all())),
            Err(CheckError::Unsafe(_))
        ));
        let good = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "bin/link", "../lib/x").unwrap();
        });
        assert!(check(&good, &scope(&all())).is_ok());
    }

    #[test]
    fn refuses_members_below_an_archived_symlink() {
        // `d/e/l` → `..` is `d`; `d/e/l/m` → `../..` reads as `d` but really is the root's parent.
        let bad = tar_zst(|b| {
            for (path, target) in [("d/e/l", ".."), ("d/e/l/m", "../..")] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        });
        assert!(
            matches!(check(&bad, &scope(&all())), Err(CheckError::Unsafe(w)) if w.contains("under the symlink `d/e/l`"))
        );
    }

    #[test]
    fn refuses_symlink_targets_with_dotdot_after_a_name() {
        let bad = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "e", "d/l/../..").unwrap();
        });
        assert!(matches!(
            check(&bad, &scope(&all())),
            Err(CheckError::Unsafe(_))
        ));
    }

    #[test]
    fn round_trip_keeps_modes_and_links() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("bin/sub")).unwrap();
        std::fs::write(src.path().join("bin/app"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            src.path().join("bin/app"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(src.path().join("bin/sub/data"), b"d").unwrap();
        std::os::unix::fs::symlink("app", src.path().join("bin/latest")).unwrap();
        std::fs::write(src.path().join("main.go"), b"not an output").unwrap();
        let globs = Globs::new(vec!["bin/**".into()]).unwrap();
        let (archive, n) = create(src.path(), &scope(&globs)).unwrap();
        assert_eq!(n, 3);
        let dst = tempfile::tempdir().unwrap();
        extract(
            &archive,
            dst.path(),
            check(&archive, &scope(&globs)).ok().unwrap(),
        )
        .unwrap();
        let mode = std::fs::metadata(dst.path().join("bin/app"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(dst.path().join("bin/latest")).unwrap(),
            Path::new("app")
        );
        assert!(!dst.path().join("main.go").exists());
    }

    fn write_tree(root: &Path, files: &[&str]) {
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
    }

    fn names(members: &[Member]) -> Vec<String> {
        members
            .iter()
            .map(|m| m.path().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn scope_admits_declared_outputs_only_and_never_git_or_the_cache() {
        let bin = Globs::new(vec!["bin/**".into()]).ok().unwrap();
        let every = all();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("bin/cache")).unwrap();
        let cached = Scope::new(&every, root.path(), &root.path().join("bin/cache"));
        let file = |name: &str| {
            tar_zst(|b| {
                let h = raw_header(name, tar::EntryType::Regular, 1);
                b.append(&h, &b"x"[..]).unwrap();
            })
        };
        let refusal = |archive: &[u8], scope: &Scope| match check(archive, scope) {
            Ok(_) => None,
            Err(CheckError::Unsafe(why)) | Err(CheckError::Corrupt(why)) => Some(why),
        };
        assert_eq!(refusal(&file("bin/app"), &scope(&bin)), None);
        assert_eq!(
            refusal(&file("src/main.go"), &scope(&bin)).as_deref(),
            Some("member `src/main.go` is not a declared output (outputs = `bin/**`)")
        );
        for hostile in [".git/hooks/post-checkout", "bin/dep/.git/config"] {
            let why = refusal(&file(hostile), &scope(&every)).unwrap_or_default();
            assert!(
                why.ends_with("is inside a `.git` directory, which a cache entry never writes"),
                "{why}"
            );
        }
        let why = refusal(&file("bin/cache/0123/meta.json"), &cached).unwrap_or_default();
        assert!(why.contains("is inside the cache directory"), "{why}");
        // Directories on the way to where outputs start, or below a start, are accepted.
        let dir = |name: &str| {
            tar_zst(|b| {
                let h = raw_header(name, tar::EntryType::Directory, 0);
                b.append(&h, std::io::empty()).unwrap();
            })
        };
        let only = Globs::new(vec!["bin/sub/**".into(), "src/x".into()])
            .ok()
            .unwrap();
        for fine in ["bin", "bin/sub", "bin/sub/deeper", "src"] {
            assert_eq!(refusal(&dir(fine), &scope(&only)), None, "{fine}");
        }
        assert_eq!(
            refusal(&dir("lib"), &scope(&only)).as_deref(),
            Some(
                "directory member `lib` is not a declared output (outputs = `bin/sub/**`, `src/x`)"
            )
        );
        assert!(refusal(&dir("bin/other"), &scope(&only)).is_some());
        // A symlink pointing into `.git` is refused like a member there.
        let link = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "bin/hooks", "../.git/hooks").unwrap();
        });
        let why = refusal(&link, &scope(&every)).unwrap_or_default();
        assert!(why.contains("points inside a `.git` directory"), "{why}");
    }

    #[test]
    fn archives_leave_out_git_the_cache_and_restore_temporaries() {
        let src = tempfile::tempdir().unwrap();
        write_tree(
            src.path(),
            &[
                "bin/app",
                "bin/dep/.git/config",
                "bin/cache/entry/meta.json",
                "bin/.shockwave-tmp-12-0",
                ".git/config",
            ],
        );
        let every = all();
        let s = Scope::new(&every, src.path(), &src.path().join("bin/cache"));
        let (archive, n) = create(src.path(), &s).unwrap();
        assert_eq!(n, 1);
        assert_eq!(names(&check(&archive, &s).ok().unwrap()), ["bin/app"]);
    }

    #[test]
    fn archives_refuse_outputs_no_restore_would_accept() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", src.path().join("bin/python")).unwrap();
        let every = all();
        let e = create(src.path(), &scope(&every))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("output `bin/python` cannot be cached: symlink `bin/python` → `/usr/bin/python3` points outside the service root"), "{e}");
        std::fs::remove_file(src.path().join("bin/python")).unwrap();
        let dir = rustix::fs::open(
            src.path(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        rustix::fs::mkfifoat(&dir, "bin/pipe", Mode::from_raw_mode(0o644)).unwrap();
        let e = create(src.path(), &scope(&every))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("output `bin/pipe` is a FIFO; a cache entry can hold only"),
            "{e}"
        );
    }

    #[test]
    fn temporary_files_are_created_exclusively_and_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::os::unix::fs::symlink(&victim, dir.path().join("planted")).unwrap();
        std::fs::write(dir.path().join("taken"), b"someone else's").unwrap();
        let fd = rustix::fs::open(
            dir.path(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let candidates = ["planted", "taken", "fresh"]
            .map(OsString::from)
            .into_iter();
        let (name, _file) = create_first_free(fd.as_fd(), candidates).unwrap();
        assert_eq!(name, "fresh");
        assert!(!victim.exists(), "the planted link was followed");
        assert_eq!(
            std::fs::read(dir.path().join("taken")).unwrap(),
            b"someone else's"
        );
        let none = create_first_free(fd.as_fd(), [OsString::from("planted")].into_iter());
        assert!(none.is_err());
        assert!(!victim.exists());
    }

    #[test]
    fn restoring_replaces_links_in_the_way_and_never_writes_through_them() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let src = tempfile::tempdir().unwrap();
        write_tree(src.path(), &["bin/app"]);
        let bin = Globs::new(vec!["bin/**".into()]).ok().unwrap();
        let (archive, _) = create(src.path(), &scope(&bin)).unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dst.path().join("bin")).unwrap();
        // The output itself is a link to a file outside: it is replaced, the victim untouched.
        std::os::unix::fs::symlink(&victim, dst.path().join("bin/app")).unwrap();
        extract(
            &archive,
            dst.path(),
            check(&archive, &scope(&bin)).ok().unwrap(),
        )
        .unwrap();
        assert!(std::fs::symlink_metadata(dst.path().join("bin/app"))
            .unwrap()
            .is_file());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // A directory with files in the way of a file is refused, not emptied: what it holds
        // need not be an output. Nothing in it is touched, and no temporary file is left.
        std::fs::remove_file(dst.path().join("bin/app")).unwrap();
        std::fs::create_dir_all(dst.path().join("bin/app/d")).unwrap();
        std::fs::write(dst.path().join("bin/app/LICENSE"), b"keep me").unwrap();
        std::os::unix::fs::symlink(outside.path(), dst.path().join("bin/app/d/out")).unwrap();
        let err = extract(
            &archive,
            dst.path(),
            check(&archive, &scope(&bin)).ok().unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("is a directory with files in it"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(dst.path().join("bin/app/LICENSE")).unwrap(),
            b"keep me"
        );
        assert!(dst.path().join("bin/app/d/out").exists());
        assert_eq!(
            std::fs::read_dir(dst.path().join("bin")).unwrap().count(),
            1
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // An empty directory in the way is replaced.
        std::fs::remove_dir_all(dst.path().join("bin/app")).unwrap();
        std::fs::create_dir(dst.path().join("bin/app")).unwrap();
        extract(
            &archive,
            dst.path(),
            check(&archive, &scope(&bin)).ok().unwrap(),
        )
        .unwrap();
        assert_eq!(std::fs::read(dst.path().join("bin/app")).unwrap(), b"x");
    }

    #[test]
    fn the_directory_walk_refuses_a_parent_that_is_a_link() {
        // What the up-front check catches as well; the walk must hold on its own, for a link
        // swapped in after that check.
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("bin")).unwrap();
        let writer = DirWriter::open(root.path()).unwrap();
        let e = writer.walk(Path::new("bin/sub")).err().unwrap().to_string();
        assert!(e.contains("it is a symlink or not a directory"), "{e}");
        assert!(!outside.path().join("sub").exists());
    }

    #[test]
    fn decompression_stops_at_the_recorded_size() {
        let bomb = zstd::encode_all(&vec![0u8; 8 << 20][..], 3).unwrap();
        let mut out = Vec::new();
        let decoder = zstd::Decoder::new(bomb.as_slice()).unwrap();
        let e = Bounded::new(decoder, 1 << 20)
            .read_to_end(&mut out)
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("inflates past the 1048576 bytes"),
            "{e}"
        );
        assert!(out.len() <= 1 << 20);
        let mut out = Vec::new();
        let decoder = zstd::Decoder::new(bomb.as_slice()).unwrap();
        Bounded::new(decoder, 8 << 20)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 8 << 20);
    }
}
