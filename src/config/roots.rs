//! Resolving many explicit service roots at once. Thousands of `[services.*]` tables usually name
//! roots in a few parent folders (`services/a`, `services/b`, …); resolving each one alone costs a
//! `readlink` per path component and a `stat`. Instead, a parent that holds several roots is
//! resolved once and listed once: an entry the listing reports as a real directory (not a
//! symlink) of a real directory inside the workspace is, exactly, the directory it names. Anything
//! else — a symlink, a name not listed, a parent that is not plain — is left to
//! [`Validator::resolve`], which follows links and reports what is wrong. This only reads
//! directories; it never decides that a root is invalid.

use rustc_hash::{FxHashMap, FxHashSet};

use super::validate::{normalize_rel, Resolved, Validator};

/// Below this many roots in one parent, resolving each root alone is cheaper than listing it.
const MIN_ROOTS_TO_LIST: usize = 8;

/// Parent folders listed in advance: workspace-relative parent as written (normalized) → where it
/// really is and the names of its entries that are real directories.
#[derive(Default)]
pub(super) struct Listings {
    parents: FxHashMap<String, Listing>,
}

struct Listing {
    /// The parent's workspace-relative path with symlinks resolved.
    real: String,
    dirs: FxHashSet<String>,
}

impl Listings {
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
        Some(if listing.real.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", listing.real)
        })
    }
}

impl Validator<'_> {
    /// Lists, once each, the parent folders that hold several of `roots` (as written in the
    /// config), so that [`Validator::resolve`] finds those roots without a system call.
    pub(super) fn list_root_parents<'r>(&mut self, roots: impl Iterator<Item = &'r str>) {
        let mut per_parent: FxHashMap<String, usize> = FxHashMap::default();
        for root in roots {
            let Some(rel) = normalize_rel(root) else {
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
            *per_parent.entry(parent.to_string()).or_default() += 1;
        }
        for (parent, count) in per_parent {
            if count < MIN_ROOTS_TO_LIST {
                continue;
            }
            // A parent inside `.git` or elsewhere odd is left to the per-root path and its errors.
            let Resolved::Inside(real) = self.resolve(&parent) else {
                continue;
            };
            if let Some(dirs) = real_subdirs(&self.real_root.join(&real)) {
                self.listings.parents.insert(parent, Listing { real, dirs });
            }
        }
    }
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
