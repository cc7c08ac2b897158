//! Resolving many explicit service roots at once. Thousands of `[services.*]` tables usually name
//! roots in a few parent folders (`services/a`, `services/b`, …); resolving each one alone costs a
//! `readlink` per path component and a `stat`. Instead, a parent that holds several roots is
//! resolved once and listed once: an entry the listing reports as a real directory (not a
//! symlink) of a real directory inside the workspace is, exactly, the directory it names. Anything
//! else — a symlink, a name not listed, a parent that is not plain — is left to
//! `Validator::resolve`, which follows links and reports what is wrong. This only reads
//! directories; it never decides that a root is invalid.

use rustc_hash::{FxHashMap, FxHashSet};

use std::path::Path;

use crate::paths::normalize_rel;

/// Below this many roots in one parent, resolving each root alone is cheaper than listing it.
const MIN_ROOTS_TO_LIST: usize = 8;

/// Parent folders listed in advance: workspace-relative parent as written (normalized) → where it
/// really is and the names of its entries that are real directories.
#[derive(Default)]
pub(super) struct Listings {
    parents: FxHashMap<String, Listing>,
    /// Made before validation started, from the same text.
    preset: bool,
}

struct Listing {
    /// The parent's workspace-relative path with symlinks resolved.
    real: String,
    dirs: FxHashSet<String>,
}

impl Listings {
    /// These listings, marked as made before validation started (from the same text).
    pub(super) fn preset(mut self) -> Listings {
        self.preset = true;
        self
    }

    /// Whether they were made before validation started: then there is nothing to list.
    pub(super) fn is_preset(&self) -> bool {
        self.preset
    }

    /// Where normalized root `rel` really is, when a listing shows it as a plain directory.
    pub(super) fn lookup(&self, rel: &str) -> Option<String> {
        let (parent, name) = match rel.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", rel),
        };
        let listing = self.parents.get(parent)?;
        if !listing.dirs.contains(name) {
            return None;
        }
        Some(if listing.real == parent {
            rel.to_string()
        } else if listing.real.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", listing.real)
        })
    }
}

/// The parent folders (normalized, workspace-relative) that hold enough of `roots` (as written)
/// to be listed rather than resolved root by root, sorted. A function of the text alone.
pub(super) fn parents_to_list<'r>(roots: impl Iterator<Item = &'r str>) -> Vec<String> {
    let mut per_parent: FxHashMap<String, usize> = FxHashMap::default();
    for root in roots {
        let Some(rel) = normalize_rel(root) else {
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        match per_parent.get_mut(parent) {
            Some(count) => *count += 1,
            None => {
                per_parent.insert(parent.to_string(), 1);
            }
        }
    }
    let mut parents: Vec<String> = per_parent
        .into_iter()
        .filter(|&(_, count)| count >= MIN_ROOTS_TO_LIST)
        .map(|(parent, _)| parent)
        .collect();
    parents.sort_unstable();
    parents
}

/// Lists `parents` of the workspace at `root`. Reads only the filesystem (no `WorkspaceDirs`), so
/// it can run while the config is still being decoded. A parent that does not resolve to a plain
/// directory inside the workspace (and outside `.git`) is not listed: its roots are resolved one
/// by one, with their errors.
pub(super) fn list_parents(root: &Path, parents: &[String]) -> Listings {
    let mut listings = Listings::default();
    if parents.is_empty() {
        return listings;
    }
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    for parent in parents {
        let Ok(real) = std::fs::canonicalize(root.join(parent)) else {
            continue;
        };
        let Some(below) = real.strip_prefix(&real_root).ok().and_then(Path::to_str) else {
            continue;
        };
        if below.split('/').any(|c| c == ".git") {
            continue;
        }
        if let Some(dirs) = real_subdirs(&real) {
            let real = below.to_string();
            listings
                .parents
                .insert(parent.clone(), Listing { real, dirs });
        }
    }
    listings
}

/// The names of `dir`'s entries that are directories and not symlinks (as the directory entry
/// says, or `lstat` when the file system does not say), or `None` when it cannot be read.
fn real_subdirs(dir: &std::path::Path) -> Option<FxHashSet<String>> {
    let mut out = FxHashSet::default();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        if !entry.file_type().ok()?.is_dir() {
            continue;
        }
        if let Ok(name) = entry.file_name().into_string() {
            out.insert(name);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::MIN_ROOTS_TO_LIST;
    use crate::config::testing::{parse_in, tree};

    /// `[services.sN]` with root `services/sN` for every N below `n`, plus `extra` tables.
    fn config(n: usize, extra: &str) -> String {
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("[services.s{i}]\nroot = \"services/s{i}\"\n"));
        }
        text + extra
    }

    fn dirs(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("services/s{i}")).collect()
    }

    #[test]
    fn roots_in_a_listed_parent_resolve_as_written() {
        let n = MIN_ROOTS_TO_LIST * 2;
        let names = dirs(n);
        let t = tree(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let ws = parse_in(t.path(), &config(n, "")).unwrap();
        assert_eq!(ws.services.len(), n);
        assert!(ws.services.iter().all(|s| names.contains(&s.root)));
    }

    #[test]
    fn a_listed_parent_still_reports_missing_and_escaping_roots() {
        let n = MIN_ROOTS_TO_LIST * 2;
        let names = dirs(n);
        let t = tree(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("services/evil")).unwrap();
        std::fs::write(t.path().join("services/file"), "").unwrap();
        let extra = "[services.evil]\nroot = \"services/evil\"\n[services.gone]\nroot = \"services/gone\"\n[services.file]\nroot = \"services/file\"\n";
        let errs = parse_in(t.path(), &config(n, extra)).unwrap_err();
        let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(errs.len(), 3, "{messages:?}");
        assert!(messages
            .iter()
            .any(|m| m.starts_with("root `services/evil` leads outside the repository")));
        assert!(messages.contains(&"root `services/gone` does not exist or is not a directory"));
        assert!(messages.contains(&"root `services/file` does not exist or is not a directory"));
    }

    #[test]
    fn a_symlink_in_a_listed_parent_resolves_to_its_target() {
        let n = MIN_ROOTS_TO_LIST * 2;
        let mut names = dirs(n);
        names.push("real/a".to_string());
        let t = tree(&names.iter().map(String::as_str).collect::<Vec<_>>());
        std::os::unix::fs::symlink("../real/a", t.path().join("services/link")).unwrap();
        let ws = parse_in(
            t.path(),
            &config(n, "[services.link]\nroot = \"services/link\"\n"),
        )
        .unwrap();
        let link = ws.service_id("link").unwrap();
        assert_eq!(ws.service(link).root, "real/a");
    }

    #[test]
    fn a_symlinked_parent_is_resolved_before_it_is_listed() {
        let n = MIN_ROOTS_TO_LIST * 2;
        let real: Vec<String> = (0..n).map(|i| format!("real/s{i}")).collect();
        let t = tree(&real.iter().map(String::as_str).collect::<Vec<_>>());
        std::os::unix::fs::symlink("real", t.path().join("services")).unwrap();
        let ws = parse_in(t.path(), &config(n, "")).unwrap();
        assert!(ws.services.iter().all(|s| real.contains(&s.root)));
    }
}
