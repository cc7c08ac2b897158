//! `members`: finding the directories a `[workspace] members` pattern names and turning each into
//! a service named after its folder. Directories are seen through [`WorkspaceDirs`], so that inside
//! a repository the view is git's (ignored folders left out, a sparse checkout's index included);
//! [`FsDirs`] is the plain filesystem. Only the part of the tree a pattern can reach is listed.
//! Expansion never follows a symlink below the pattern's literal start and never creates anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::raw::SpannedStr;
use super::validate::{normalize_rel, Draft, Resolved, Validator};
use crate::diagnostic::Diagnostic;
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

/// The name of the service `members = ["."]` makes of the workspace root.
pub const ROOT_MEMBER: &str = "root";

impl Validator<'_> {
    /// The services `members` finds, named after their folder (a root only once).
    pub(super) fn member_drafts(&mut self, members: &[SpannedStr]) -> BTreeMap<String, Draft> {
        let mut drafts: BTreeMap<String, Draft> = BTreeMap::new();
        for member in members {
            for dir in self.member_dirs(member) {
                // The workspace root itself (`members = ["."]`) has no folder name of its own
                // that is stable across clones: it is `root`.
                let name = match dir.rsplit('/').next() {
                    Some("") | None => ROOT_MEMBER.to_string(),
                    Some(last) => last.to_string(),
                };
                if let Some(existing) = drafts.get(&name) {
                    if existing.root != dir {
                        self.errors.push(
                            Diagnostic::new(format!(
                                "two services are named `{name}`: `{}` and `{dir}` (a member service is named after its folder)",
                                existing.root
                            ))
                            .at(member.span())
                            .help(format!("rename one folder, or declare one explicitly as [services.<other-name>] with root = \"{dir}\" and narrow the members globs")),
                        );
                    }
                    continue;
                }
                drafts.insert(
                    name,
                    Draft {
                        root: dir,
                        ..Draft::default()
                    },
                );
            }
        }
        drafts
    }

    /// The service roots one members pattern names (workspace-relative, symlinks in the pattern's
    /// literal start resolved); none, with a diagnostic, when the pattern is wrong.
    fn member_dirs(&mut self, member: &SpannedStr) -> Vec<String> {
        let written = member.get_ref();
        // A members pattern names directories: a trailing `/` is the directory itself here,
        // not "everything below it" as in the other globs (`services/*/` is `services/*`).
        let pattern = match written.trim_end_matches('/') {
            "" => written.as_str(),
            trimmed => trimmed,
        };
        let matcher = match glob::compile(pattern) {
            Ok(g) => g.compile_matcher(),
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("invalid glob `{pattern}` in members: {e}"))
                        .at(member.span())
                        .help("fix the pattern; `*` matches one folder level, `**` any number"),
                );
                return Vec::new();
            }
        };
        if pattern.starts_with('/') || pattern.split('/').any(|p| p == "..") {
            let (message, help) = match normalize_rel(pattern) {
                None => (
                    format!("members pattern `{pattern}` reaches outside the repository"),
                    "members patterns are relative to the directory holding pipeline.toml and cannot climb above it".to_string(),
                ),
                Some(plain) => (
                    format!("members pattern `{pattern}` contains `..`"),
                    format!("write the pattern without `..` (`{plain}`)"),
                ),
            };
            self.errors
                .push(Diagnostic::new(message).at(member.span()).help(help));
            return Vec::new();
        }
        let (start, found) = match expand_members(&mut *self.dirs, pattern, &matcher) {
            Ok(found) => found,
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "failed to list directories for members pattern `{pattern}`: {e}"
                    ))
                    .at(member.span()),
                );
                return Vec::new();
            }
        };
        if found.is_empty() {
            return found;
        }
        let Some(real_start) = self.member_start(member, pattern, &start, &found[0]) else {
            return Vec::new();
        };
        if real_start == start {
            return found;
        }
        found
            .into_iter()
            .map(|dir| {
                let rest = dir[start.len()..].trim_start_matches('/');
                match (real_start.as_str(), rest) {
                    (r, "") => r.to_string(),
                    ("", rest) => rest.to_string(),
                    (r, rest) => format!("{r}/{rest}"),
                }
            })
            .collect()
    }

    /// Where the literal `start` of a members pattern really is. Listed directories are real ones
    /// (symlinks are not followed), so only that start can lead elsewhere: it is resolved once.
    /// `first` is the first directory found, named in the error when the start leads out.
    fn member_start(
        &mut self,
        member: &SpannedStr,
        pattern: &str,
        start: &str,
        first: &str,
    ) -> Option<String> {
        match self.resolve(start) {
            Resolved::Inside(real) => Some(real),
            Resolved::Outside(target) => {
                let rest = first[start.len()..].trim_start_matches('/');
                let target = if rest.is_empty() {
                    target
                } else {
                    target.join(rest)
                };
                self.errors.push(
                    Diagnostic::new(format!(
                        "members pattern `{pattern}` matches `{first}`, which leads outside the repository (to {}) through a symlink",
                        target.display()
                    ))
                    .at(member.span())
                    .help("a service's root must stay inside the repository: remove the symlink or narrow the pattern"),
                );
                None
            }
            Resolved::InGitDir(real) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "members pattern `{pattern}` matches `{real}`, inside git's own directory"
                    ))
                    .at(member.span())
                    .help("a service's root must be part of the worktree, not of `.git`"),
                );
                None
            }
            Resolved::Missing => None,
        }
    }
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
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
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

#[cfg(test)]
mod tests {
    use crate::config::testing::{parse_in, tree};

    #[test]
    fn members_name_services_after_folders() {
        let t = tree(&["services/a", "services/b", "libs/c", "libs/c/nested"]);
        let ws = parse_in(
            t.path(),
            "[workspace]\nmembers = [\"services/*\", \"libs/*\"]\n",
        )
        .unwrap();
        let names: Vec<_> = ws.service_names().collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(ws.services[2].root, "libs/c");
    }

    #[test]
    fn double_star_members_reach_any_depth() {
        let t = tree(&["pkgs/a", "pkgs/b/c"]);
        let ws = parse_in(t.path(), "[workspace]\nmembers = [\"pkgs/**\"]\n").unwrap();
        let names: Vec<_> = ws.service_names().collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
