//! Workspace-relative paths as the config and the manifests write them: `/`-separated text,
//! normalised lexically, and whether one directory lies below another. Pure functions over
//! strings, shared by config, discovery and hashing.

use std::path::Path;

/// Relative path `rel` as `/`-separated text, whatever the platform's separator (parts that are
/// not UTF-8 are replaced: they cannot match a path git or the config writes).
pub fn slashed(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

pub fn normalize_rel(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') && Path::new(path).is_absolute() {
        return None;
    }
    join_rel("", path)
}

/// `/`-separated relative path `rel` laid over directory `base` (both workspace-relative), with
/// empty and `.` parts dropped and `..` resolved lexically; `None` when it climbs above the
/// workspace root. The one path normalisation config and discovery share; callers decide first
/// which absolute forms to refuse.
pub fn join_rel(base: &str, rel: &str) -> Option<String> {
    // Most paths are already normal: keep them as written.
    let plain = |p: &str| p.split('/').all(|c| !matches!(c, "" | "." | ".."));
    if base.is_empty() && plain(rel) {
        return Some(rel.to_string());
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Workspace-relative `dir` and `name` joined with a `/`; either may be `""` (the root, nothing).
pub fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => dir.to_owned(),
        _ => format!("{dir}/{name}"),
    }
}

/// Whether `dir` is `root` or lies below it (both workspace-relative, no trailing `/`; `""` is
/// the workspace root, which holds everything).
pub fn is_under(dir: &str, root: &str) -> bool {
    root.is_empty() || dir == root || is_below(dir.as_bytes(), root.as_bytes())
}

/// Whether `path` lies strictly below directory `dir` (a `/` follows `dir` in it). `dir` is not
/// empty; `path` may carry a trailing `/`.
pub fn is_below(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// `path` relative to directory `dir` when it lies strictly below it; with `dir` `""` (the
/// root), `path` itself.
pub fn strip_dir<'p>(path: &'p [u8], dir: &str) -> Option<&'p [u8]> {
    if dir.is_empty() {
        return Some(path);
    }
    is_below(path, dir.as_bytes()).then(|| &path[dir.len() + 1..])
}

#[cfg(test)]
mod tests {
    use super::{is_below, is_under, normalize_rel, strip_dir};

    #[test]
    fn strip_dir_leaves_the_part_below() {
        assert_eq!(strip_dir(b"a/b/c", "a/b"), Some(&b"c"[..]));
        assert_eq!(strip_dir(b"a/b", ""), Some(&b"a/b"[..]));
        assert_eq!(strip_dir(b"a/bc", "a/b"), None);
        assert_eq!(strip_dir(b"a/b", "a/b"), None);
    }

    #[test]
    fn is_under_respects_component_boundaries() {
        assert!(is_under("a/b", "a") && is_under("a", "a") && is_under("x", ""));
        assert!(!is_under("ab", "a") && !is_under("a", "a/b"));
        assert!(is_below(b"a/b/", b"a") && !is_below(b"a", b"a") && !is_below(b"ab/", b"a"));
    }

    #[test]
    fn normalize_rel_rejects_escapes() {
        assert_eq!(normalize_rel("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_rel("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_rel("../b"), None);
        assert_eq!(normalize_rel("/abs"), None);
    }
}
