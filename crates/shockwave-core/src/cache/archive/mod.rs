//! Output archives: tar (via the `tar` crate) compressed with zstd. What an archive may hold is one
//! [`Scope`], applied the same way when it is written and when it is restored: the files matching the
//! target's declared `outputs`, and never anything in a `.git` directory or in the cache directory.
//! Restoring first checks every member — relative path, no `..`, no absolute path, inside the scope,
//! symlinks that stay inside the root, only files, directories and symlinks — and only then writes
//! anything. Writing goes through directory file descriptors opened without following symlinks, and
//! each file through a fresh temporary name created exclusively (`O_EXCL|O_NOFOLLOW`), chmod-ed
//! through its descriptor and renamed: a link planted in the worktree is never followed.
//! Writing reads each output file as a stream, and checking and extracting read any tar stream, so
//! the caller decides what is held in memory: the cache restores a small archive from memory and
//! streams a large one from disk (see `IN_MEMORY_ARCHIVE`), so large outputs cost disk, not RAM.

mod check;
mod extract;
#[cfg(unix)]
mod temps;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as temps;
mod write;

#[cfg(test)]
pub use check::check;
pub use check::{check_tar, Bounded};
#[cfg(test)]
pub use extract::extract;
pub use extract::extract_tar;
pub use temps::remove_dead_temps;
#[cfg(test)]
pub use write::create;
pub use write::{kind_name, write_archive};

use std::path::{Component, Path, PathBuf};

use crate::config::Globs;
use crate::glob;

/// Prefix of the temporary names files are restored through. Such files (left by a killed restore)
/// are never archived.
const TEMP_PREFIX: &str = ".shockwave-tmp-";

/// A member path with a component other than a plain name (`..`, a root) where one is walked.
fn not_plain(rel: &Path) -> std::io::Error {
    std::io::Error::other(format!("`{}` is not a plain relative path", rel.display()))
}

/// A link or a file where a restore needs a folder.
fn not_a_folder(path: &Path) -> std::io::Error {
    std::io::Error::other(format!(
        "refusing to restore into `{}`: it is a symlink or not a directory",
        path.display()
    ))
}

/// The bytes of the open `file` if it is a regular file of exactly `size` bytes (never more
/// than `size + 1` read, should it grow meanwhile).
fn read_exactly(file: std::fs::File, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() != size {
        return Err(std::io::Error::other("not the expected regular file"));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(size + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Flags for every directory opened while restoring: a symlink in its place is an error (`ELOOP`),
/// never followed.
#[cfg(unix)]
fn dir_flags() -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// A temporary name no other process uses: the pid and a per-process counter. It is only ever
/// created exclusively, so a file or link someone planted at it is skipped, not followed.
fn temp_name() -> std::ffi::OsString {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::ffi::OsString::from(format!("{TEMP_PREFIX}{}-{n}", std::process::id()))
}

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
        if path.components().any(|c| {
            c.as_os_str()
                .as_encoded_bytes()
                .eq_ignore_ascii_case(b".git")
        }) {
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
        self.outputs.is_match(&crate::platform::path_bytes(path))
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
    fn check_symlink(&self, path: &Path, target: &Path) -> Result<(), UnsafeLink> {
        let refuse = |why| UnsafeLink {
            path: path.to_path_buf(),
            target: target.to_path_buf(),
            why,
        };
        let mut named = false;
        for c in target.components() {
            match c {
                Component::Normal(_) => named = true,
                Component::ParentDir if named => return Err(refuse(LinkProblem::DotDotAfterName)),
                _ => {}
            }
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        let resolved = (!target.is_absolute())
            .then(|| safe_relative(&parent.join(target)))
            .flatten();
        let Some(resolved) = resolved else {
            return Err(refuse(LinkProblem::Outside));
        };
        if let Some(why) = self.forbidden(&resolved) {
            return Err(refuse(LinkProblem::Forbidden(why)));
        }
        Ok(())
    }
}

/// A symlink member a restore refuses: `symlink `PATH` → `TARGET` ` and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("symlink `{}` → `{}` {why}", .path.display(), .target.display())]
struct UnsafeLink {
    path: PathBuf,
    target: PathBuf,
    why: LinkProblem,
}

#[derive(Debug, thiserror::Error)]
enum LinkProblem {
    #[error("has `..` after a name, which could climb through another symlink")]
    DotDotAfterName,
    #[error("points outside the service root")]
    Outside,
    /// Into a place never stored or restored ([`Scope::forbidden`]).
    #[error("points {0}")]
    Forbidden(&'static str),
}

/// The literal directory prefix of each glob, deduplicated.
fn glob_starts(outputs: &Globs) -> Vec<PathBuf> {
    let mut starts: Vec<PathBuf> = outputs
        .positive()
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

#[cfg(all(test, unix))]
mod tests;
