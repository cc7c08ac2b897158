//! `members`: the validation step that turns each directory a `[workspace] members` pattern names
//! into a service named after its folder, with the pattern's errors at their position. The
//! directories come from `dirs` (`expand_members`), so only the part of the tree a pattern can
//! reach is listed; the pattern's literal start is resolved once, and a match that leads out of
//! the repository or into `.git` is refused.

use std::collections::BTreeMap;

use super::raw::SpannedStr;
use super::validator::{Draft, Resolved, Validator};
use crate::diagnostic::Diagnostic;
use crate::glob;
use crate::paths::expand_members;
use crate::paths::normalize_rel;

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
                crate::paths::join(&real_start, rest)
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

#[cfg(test)]
mod tests {
    use crate::config::testing::{parse_in, tree};
    use crate::config::ServiceId;

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
        assert_eq!(ws.service(ServiceId::new(2)).root, "libs/c");
    }

    #[test]
    fn double_star_members_reach_any_depth() {
        let t = tree(&["pkgs/a", "pkgs/b/c"]);
        let ws = parse_in(t.path(), "[workspace]\nmembers = [\"pkgs/**\"]\n").unwrap();
        let names: Vec<_> = ws.service_names().collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
