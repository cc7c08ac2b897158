//! What a task wrote below its service root that a cache hit would not restore: files it created
//! or changed that git does not track (untracked or ignored) and that no `outputs` glob of the
//! target covers. The service root is listed before the task starts and again after it ends (no
//! clock is trusted: the kernel may stamp files from a clock behind the one a process reads); a
//! file that is new, gone, or whose size or modification time changed was written.
//!
//! The listing is bounded ([`MAX_ENTRIES`]), never follows a link, and leaves out installed
//! packages (`node_modules`), git's directory, shockwave's own, the roots of other services below
//! this one (their tasks' files are theirs) and the folders the unit's toolchain builds into on
//! its own (Cargo's `target/`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::SystemTime;

use crate::glob::Globs;
use crate::paths::join;

/// Folders never looked into.
const SKIPPED: &[&str] = &["node_modules", ".git", ".shockwave"];

/// The most directory entries looked at; past it what the task did is unknown.
pub const MAX_ENTRIES: usize = 100_000;

/// How many files a report names, in all.
const NAMED: usize = 20;

/// What a task's worker needs to judge the files it wrote, shared by every task of a run.
pub struct WriteCheck {
    /// Every service root (workspace-relative, `""` for the workspace root): a folder that is
    /// another service's root is not looked into.
    pub roots: HashSet<String>,
    /// Whether git tracks a workspace-relative path.
    pub tracked: Box<dyn Fn(&str) -> bool + Send + Sync>,
}

impl std::fmt::Debug for WriteCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteCheck")
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

/// How one task's writes are watched.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The service root, workspace-relative (`""` for the workspace root).
    pub root: String,
    /// Nobody declared the target's outputs (a discovered default without `outputs`): a run
    /// that wrote, changed or deleted files is not cached, since a hit could not do the same.
    pub undeclared: bool,
    /// Folder names the unit's toolchain writes on its own and that are never outputs worth
    /// caching (Cargo's `target`).
    pub skip_names: &'static [&'static str],
}

/// The regular files below a service root with their size and modification time; `None` when
/// there are more entries than are looked at.
pub(super) struct Listing(Option<HashMap<String, (u64, Option<SystemTime>)>>);

/// Lists the regular files below `cwd`, the folder of the service `watch` describes (only the
/// untracked ones, unless its outputs are undeclared).
pub(super) fn list(cwd: &Path, watch: &Watch, check: &WriteCheck) -> Listing {
    list_at_most(cwd, watch, check, MAX_ENTRIES)
}

/// [`list`], looking at no more than `max` directory entries.
fn list_at_most(cwd: &Path, watch: &Watch, check: &WriteCheck, max: usize) -> Listing {
    let mut files = HashMap::new();
    let mut stack = vec![String::new()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(cwd.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > max {
                return Listing(None);
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let rel = join(&dir, &name);
            if kind.is_dir() {
                let skipped = SKIPPED.contains(&name.as_ref())
                    || watch.skip_names.contains(&name.as_ref())
                    || check.roots.contains(&join(&watch.root, &rel));
                if !skipped {
                    stack.push(rel);
                }
            } else if kind.is_file() {
                // A tracked file is a source, never reported: unless nobody declared what the
                // target writes (when a change to one keeps the run out of the cache), it is
                // not even looked at, which saves a `stat` per source file.
                if !watch.undeclared && (check.tracked)(&join(&watch.root, &rel)) {
                    continue;
                }
                let meta = entry.metadata().ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                files.insert(rel, (len, meta.and_then(|m| m.modified().ok())));
            }
        }
    }
    Listing(Some(files))
}

/// What a task wrote that a cache hit would not restore, and what else it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    /// Untracked or ignored files it created or changed that no `outputs` glob covers, counted
    /// by top-level entry of the service root: `("dist/", 312)`, `("out.txt", 1)`; sorted.
    pub groups: Vec<(String, usize)>,
    /// How many such files in all.
    pub files: usize,
    /// The first of them (relative to the service root, sorted), at most [`NAMED`].
    pub first: Vec<String>,
    /// Tracked files it changed and files it deleted, and the first few of them: a hit would
    /// not do the same either, so an undeclared target is not cached for them.
    pub other: usize,
    pub other_first: Vec<String>,
    /// A listing stopped at [`MAX_ENTRIES`]: what the task wrote is unknown.
    pub incomplete: bool,
    /// The target declares `outputs` (which then cover the rest of what it wrote).
    pub outputs_declared: bool,
    /// The result was stored in the cache anyway.
    pub cached: bool,
}

impl Writes {
    /// Whether there is anything to report: files a hit would not restore, a listing too large
    /// to compare, or changes that kept an undeclared target out of the cache.
    pub fn any(&self) -> bool {
        self.files > 0 || self.incomplete || (!self.cached && self.other > 0)
    }

    /// `dist/**` for a folder, the name itself for a file: the glob that would cover a group.
    pub fn glob(group: &str) -> String {
        match group.strip_suffix('/') {
            Some(dir) => format!("{dir}/**"),
            None => group.to_string(),
        }
    }
}

/// Compares two listings of one service root: every file new or changed in `after` that git does
/// not track and `outputs` do not cover, and every tracked file changed or file deleted.
pub(super) fn changed(
    before: &Listing,
    after: &Listing,
    outputs: &Globs,
    watch: &Watch,
    check: &WriteCheck,
) -> Writes {
    let mut writes = Writes {
        outputs_declared: !outputs.patterns.is_empty(),
        ..Writes::default()
    };
    let (Some(before), Some(after)) = (&before.0, &after.0) else {
        writes.incomplete = true;
        return writes;
    };
    let mut written: Vec<&String> = Vec::new();
    let mut other: Vec<&String> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    for (path, stamp) in after {
        if before.get(path) == Some(stamp) || outputs.is_match(path.as_bytes()) {
            continue;
        }
        if (check.tracked)(&join(&watch.root, path)) {
            other.push(path);
        } else {
            written.push(path);
        }
    }
    written.sort_unstable();
    other.sort_unstable();
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for path in &written {
        let group = match path.split_once('/') {
            Some((top, _)) => format!("{top}/"),
            None => path.to_string(),
        };
        *groups.entry(group).or_default() += 1;
    }
    writes.groups = groups.into_iter().collect();
    writes.files = written.len();
    writes.first = written.into_iter().take(NAMED).cloned().collect();
    writes.other = other.len();
    writes.other_first = other.into_iter().take(NAMED).cloned().collect();
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> Watch {
        Watch {
            root: "svc".into(),
            undeclared: true,
            skip_names: &["target"],
        }
    }

    #[test]
    fn groups_untracked_writes_outside_the_outputs_and_counts_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        for d in [
            "dist/js",
            "node_modules/x",
            "target/debug",
            "nested/src",
            "coverage",
        ] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        for f in ["same.txt", "grows.txt", "gone.txt", "tracked.txt"] {
            std::fs::write(p.join(f), "a").unwrap();
        }
        let check = WriteCheck {
            roots: HashSet::from(["svc/nested".to_string()]),
            tracked: Box::new(|p| p == "svc/tracked.txt"),
        };
        let before = list(p, &watch(), &check);
        for f in [
            "dist/js/a.js",
            "dist/b.js",
            "node_modules/x/y",
            "target/debug/app",
            "nested/src/gen.rs",
            "coverage/lcov.info",
            "out.log",
        ] {
            std::fs::write(p.join(f), "").unwrap();
        }
        std::fs::write(p.join("grows.txt"), "ab").unwrap();
        std::fs::write(p.join("tracked.txt"), "ab").unwrap();
        std::fs::remove_file(p.join("gone.txt")).unwrap();
        let after = list(p, &watch(), &check);
        let none = Globs::empty();
        let w = changed(&before, &after, &none, &watch(), &check);
        assert_eq!(
            w.groups,
            [
                ("coverage/".to_string(), 1),
                ("dist/".to_string(), 2),
                ("grows.txt".to_string(), 1),
                ("out.log".to_string(), 1)
            ]
        );
        assert_eq!(w.files, 5);
        assert_eq!(w.first[0], "coverage/lcov.info");
        assert_eq!(
            (w.other, w.other_first.clone()),
            (2, vec!["gone.txt".to_string(), "tracked.txt".to_string()])
        );
        assert!(w.any() && !w.outputs_declared && !w.incomplete);

        // Declared outputs cover what they match; the rest is named.
        let dist = Globs::new(vec!["dist/**".into(), "coverage/**".into()]).unwrap();
        let w = changed(&before, &after, &dist, &watch(), &check);
        assert_eq!(w.files, 2, "{w:?}");
        assert_eq!(w.first, ["grows.txt", "out.log"]);
        assert!(w.outputs_declared);

        let w = changed(&after, &list(p, &watch(), &check), &none, &watch(), &check);
        assert!(!w.any(), "{w:?}");

        // A target whose outputs someone declared never looks at tracked files.
        let declared = Watch {
            undeclared: false,
            ..watch()
        };
        let listed = |l: &Listing| l.0.as_ref().unwrap().contains_key("tracked.txt");
        assert!(!listed(&list(p, &declared, &check)) && listed(&after));

        // Past the bound, what the task did is unknown, and said so.
        let small = list_at_most(p, &watch(), &check, 3);
        let w = changed(&before, &small, &none, &watch(), &check);
        assert!(w.incomplete && w.any(), "{w:?}");
        assert_eq!(Writes::glob("dist/"), "dist/**");
        assert_eq!(Writes::glob("out.log"), "out.log");
    }
}
