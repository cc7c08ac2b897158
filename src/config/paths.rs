//! Workspace-relative paths as the config writes them: `/`-separated text, normalised lexically.
//! The one normalisation config and discovery share; pure functions over strings.

use std::path::Path;

pub(super) fn normalize_rel(path: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::normalize_rel;

    #[test]
    fn normalize_rel_rejects_escapes() {
        assert_eq!(normalize_rel("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_rel("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_rel("../b"), None);
        assert_eq!(normalize_rel("/abs"), None);
    }
}
