//! Which files a task wrote below its service root, for a discovered script whose `outputs` are
//! not declared: such a run is not cached, since a cache hit could not restore what it wrote.
//! The look is by modification time, bounded, and never follows a link; installed packages
//! (`node_modules`), git's directory and shockwave's own are left out.

use std::path::Path;
use std::time::SystemTime;

/// Folders never looked into.
const SKIPPED: &[&str] = &["node_modules", ".git", ".shockwave"];

/// The most directory entries looked at; past it the files found so far are the answer.
const MAX_ENTRIES: usize = 100_000;

/// How many of the files found are named.
const NAMED: usize = 3;

/// The time as the kernel stamps files: from the clock it updates once per tick, so that a file
/// written after this moment never looks older than it (the precise clock runs up to a tick
/// ahead of the stamps).
pub(super) fn now() -> SystemTime {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    SystemTime::UNIX_EPOCH + std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The first few regular files below `root` modified after `since` (a file stamped in the very
/// tick the task started is taken as older: no command writes that fast) (relative to `root`,
/// sorted) and how many there are in all; `None` for the count when the look stopped at its
/// bound, so that what it wrote is unknown.
pub(super) fn written_since(root: &Path, since: SystemTime) -> (Vec<String>, Option<usize>) {
    let mut found = Vec::new();
    let mut stack = vec![String::new()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                found.sort_unstable();
                found.truncate(NAMED);
                return (found, None);
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
            } else if kind.is_file()
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t > since)
            {
                found.push(rel);
            }
        }
    }
    let count = found.len();
    found.sort_unstable();
    found.truncate(NAMED);
    (found, Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn finds_files_written_since_and_skips_installed_packages() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("dist/js")).unwrap();
        std::fs::create_dir_all(t.path().join("node_modules/x")).unwrap();
        std::fs::write(t.path().join("old.txt"), "").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        let f = std::fs::File::options()
            .write(true)
            .open(t.path().join("old.txt"))
            .unwrap();
        f.set_modified(old).unwrap();
        let since = SystemTime::now() - Duration::from_secs(60);
        for f in [
            "dist/js/a.js",
            "dist/b.js",
            "dist/c.js",
            "x.map",
            "node_modules/x/y",
        ] {
            std::fs::write(t.path().join(f), "").unwrap();
        }
        let (first, count) = written_since(t.path(), since);
        assert_eq!(count, Some(4));
        assert_eq!(first, ["dist/b.js", "dist/c.js", "dist/js/a.js"]);
    }
}
