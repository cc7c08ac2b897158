//! The directories of the workspace, as `members` patterns and `root` values see them:
//! [`WorkspaceDirs`] (inside a repository the view is git's: ignored folders left out, a sparse
//! checkout's index included), [`FsDirs`] (the plain filesystem), and [`expand_members`], the
//! directories a pattern matches, shared by the config's `members` and discovery's workspace
//! globs. Only the part of the tree a pattern can reach is listed; expansion never follows a
//! symlink below the pattern's literal start and never creates anything.

use std::path::{Path, PathBuf};

use crate::glob;

/// The directories of the workspace as `members` and `root` see them. [`FsDirs`] reads the
/// filesystem; the repository's view also leaves out what git ignores and, in a sparse checkout,
/// includes the directories the index holds outside the checked-out cone.
pub trait WorkspaceDirs {
    /// The folder no manifest, lockfile or config is read outside of: the repository's worktree,
    /// or without one the workspace root.
    fn boundary(&self) -> &Path;
    /// Whether workspace-relative `dir` is a directory (that a `root` may name).
    fn is_dir(&mut self, dir: &str) -> bool;
    /// Whether `dir`, or a directory above it, is one a `members` pattern must not match (git
    /// ignores it).
    fn is_excluded(&mut self, dir: &str) -> bool;
    /// The names of the subdirectories of `dir` (`""`: the workspace root) that a `members`
    /// pattern may match or descend into, in any order. Never `.git`, `.shockwave` or a symlink.
    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>>;
}

/// The workspace as the filesystem shows it (used outside a git repository).
pub struct FsDirs {
    root: PathBuf,
}

impl FsDirs {
    pub fn new(root: &Path) -> FsDirs {
        FsDirs {
            root: root.to_path_buf(),
        }
    }
}

impl WorkspaceDirs for FsDirs {
    fn boundary(&self) -> &Path {
        &self.root
    }

    fn is_dir(&mut self, dir: &str) -> bool {
        self.root.join(dir).is_dir()
    }

    fn is_excluded(&mut self, _dir: &str) -> bool {
        false
    }

    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>> {
        list_subdirs(&self.root.join(dir))
    }
}

/// The real subdirectories of `dir` (symlinks are not followed), without `.git` and `.shockwave`
/// and without names that are not UTF-8 (a service is named after its folder).
pub fn list_subdirs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name == ".git" || name == ".shockwave" {
            continue;
        }
        out.push(name);
    }
    Ok(out)
}

/// Lists the directories that match a members pattern, as `dirs` shows them, and the literal
/// directory the pattern starts from (every match is that directory or below it). Only the part of
/// the tree the pattern can reach is read: `services/*` reads one directory. A directory `dirs`
/// excludes (git ignores it) is neither matched nor descended into.
pub fn expand_members(
    dirs: &mut dyn WorkspaceDirs,
    pattern: &str,
    matcher: &globset::GlobMatcher,
) -> std::io::Result<(String, Vec<String>)> {
    // The caller already dropped a trailing `/`; a written `/**` stays (any depth below).
    let (literal, rest) = glob::split_literal(pattern);
    let components = |s| str::split(s, '/').filter(|p| !p.is_empty());
    let start = components(literal).collect::<Vec<_>>().join("/");
    let rest: Vec<&str> = components(rest).collect();
    let unbounded = rest.contains(&"**");
    let depth = rest.len();
    let mut out = Vec::new();
    if !dirs.is_dir(&start) || dirs.is_excluded(&start) {
        return Ok((start, out));
    }
    if depth == 0 {
        out.push(start.clone());
        return Ok((start, out));
    }
    let mut stack = vec![(start.clone(), 0usize)];
    while let Some((dir, level)) = stack.pop() {
        let names = match dirs.subdirs(&dir) {
            Ok(n) => n,
            Err(e) if level == 0 => return Err(e),
            Err(_) => continue,
        };
        for name in names {
            let rel = super::join(&dir, &name);
            if level < depth || unbounded {
                if matcher.is_match(&rel) && (level + 1 == depth || unbounded) {
                    out.push(rel.clone());
                }
                if level + 1 < depth || unbounded {
                    stack.push((rel, level + 1));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok((start, out))
}
