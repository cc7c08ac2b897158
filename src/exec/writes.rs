//! Which files a task wrote or deleted below its service root, for a discovered script whose
//! `outputs` are not declared: such a run is not cached, since a cache hit could not restore what
//! it did. The service root is listed before the task starts and again after it ends (no clock is
//! trusted: the kernel may stamp files from a clock behind the one a process reads); a file that
//! is new, gone, or whose size or modification time changed was written. The listing is bounded,
//! never follows a link, and leaves out installed packages (`node_modules`), git's directory and
//! shockwave's own.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

/// Folders never looked into.
const SKIPPED: &[&str] = &["node_modules", ".git", ".shockwave"];

/// The most directory entries looked at; past it what the task did is unknown.
const MAX_ENTRIES: usize = 100_000;

/// How many of the files found are named.
const NAMED: usize = 3;

/// The regular files below a service root with their size and modification time; `None` when
/// there are more entries than are looked at.
pub(super) struct Listing(Option<HashMap<String, (u64, Option<SystemTime>)>>);

/// Lists the regular files below `root`.
pub(super) fn list(root: &Path) -> Listing {
    let mut files = HashMap::new();
    let mut stack = vec![String::new()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Listing(None);
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let rel = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            if kind.is_dir() {
                if !SKIPPED.contains(&name.as_ref()) {
                    stack.push(rel);
                }
            } else if kind.is_file() {
                let meta = entry.metadata().ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                files.insert(rel, (len, meta.and_then(|m| m.modified().ok())));
            }
        }
    }
    Listing(Some(files))
}

/// The first few files (relative to the root, sorted) that differ between `before` and `after`
/// — new, gone, or changed in size or modification time — and how many there are in all;
/// `None` for the count when either listing stopped at its bound, so that what the task did is
/// unknown.
pub(super) fn changed(before: &Listing, after: &Listing) -> (Vec<String>, Option<usize>) {
    let (Some(before), Some(after)) = (&before.0, &after.0) else {
        return (Vec::new(), None);
    };
    let mut found: Vec<&String> = after
        .iter()
        .filter(|(path, stamp)| before.get(*path) != Some(stamp))
        .map(|(path, _)| path)
        .chain(before.keys().filter(|path| !after.contains_key(*path)))
        .collect();
    let count = found.len();
    found.sort_unstable();
    found.truncate(NAMED);
    (found.into_iter().cloned().collect(), Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_new_changed_and_deleted_files_and_skips_installed_packages() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        std::fs::create_dir_all(p.join("dist/js")).unwrap();
        std::fs::create_dir_all(p.join("node_modules/x")).unwrap();
        for f in ["same.txt", "grows.txt", "gone.txt"] {
            std::fs::write(p.join(f), "a").unwrap();
        }
        let before = list(p);
        for f in ["dist/js/a.js", "dist/b.js", "node_modules/x/y"] {
            std::fs::write(p.join(f), "").unwrap();
        }
        std::fs::write(p.join("grows.txt"), "ab").unwrap();
        std::fs::remove_file(p.join("gone.txt")).unwrap();
        let (first, count) = changed(&before, &list(p));
        assert_eq!(count, Some(4));
        assert_eq!(first, ["dist/b.js", "dist/js/a.js", "gone.txt"]);
        let (first, count) = changed(&list(p), &list(p));
        assert_eq!((first.len(), count), (0, Some(0)));
    }
}
