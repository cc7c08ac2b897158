//! The part of the worktree a scan covers, and the questions the scan asks of it while walking
//! down: is this path in scope, is this whole directory, does anything in scope lie below it. Pure
//! byte-prefix logic: nothing here reads the disk or knows about the index.

use std::cmp::Ordering;

/// The part of the worktree a scan covers: repo-relative path prefixes (a directory with a trailing
/// `/`, or an exact file path). Tasks only ever read files below their services' roots, their
/// `paths` and the global inputs, so only those need their stat data checked.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Sorted; none is a prefix of another. Empty string: everything.
    prefixes: Vec<Vec<u8>>,
}

impl Scope {
    pub fn everything() -> Scope {
        Scope {
            prefixes: vec![Vec::new()],
        }
    }

    pub fn new(mut prefixes: Vec<Vec<u8>>) -> Scope {
        prefixes.sort();
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            // Sorted order puts "a/" right before everything it covers.
            if kept.last().is_some_and(|k| p.starts_with(k)) {
                continue;
            }
            kept.push(p);
        }
        Scope { prefixes: kept }
    }

    pub fn is_everything(&self) -> bool {
        self.prefixes.first().is_some_and(|p| p.is_empty())
    }

    /// Whether some prefix of the scope is a prefix of `path`. Because no prefix covers another,
    /// the only candidate is the greatest prefix not above `path`.
    pub fn contains(&self, path: &[u8]) -> bool {
        let i = self.prefixes.partition_point(|p| p.as_slice() <= path);
        i > 0 && path.starts_with(&self.prefixes[i - 1])
    }

    /// Whether everything below directory `dir` is in scope.
    pub(super) fn contains_dir(&self, dir: &[u8]) -> bool {
        if dir.is_empty() {
            return self.is_everything();
        }
        // `contains("dir/")`, without building that path: the greatest prefix not above it.
        let i = self
            .prefixes
            .partition_point(|p| cmp_dir(p, dir) != Ordering::Greater);
        i > 0 && is_dir_prefix(&self.prefixes[i - 1], dir)
    }

    /// Whether some of the scope lies below directory `dir`.
    pub(super) fn reaches_into(&self, dir: &[u8]) -> bool {
        if dir.is_empty() {
            return !self.prefixes.is_empty();
        }
        let i = self
            .prefixes
            .partition_point(|p| cmp_dir(p, dir) == Ordering::Less);
        self.prefixes
            .get(i)
            .is_some_and(|p| crate::paths::is_below(p, dir))
    }

    /// Whether a scan must enter directory `dir`: all of it is in scope, or some part below it.
    pub(super) fn leads_into(&self, dir: &[u8]) -> bool {
        self.contains_dir(dir) || self.reaches_into(dir)
    }
}

/// How `p` sorts against the directory prefix `dir/`, without building it.
fn cmp_dir(p: &[u8], dir: &[u8]) -> Ordering {
    let n = p.len().min(dir.len());
    match p[..n].cmp(&dir[..n]) {
        Ordering::Equal if p.len() <= dir.len() => Ordering::Less,
        Ordering::Equal => p[dir.len()].cmp(&b'/').then(if p.len() == dir.len() + 1 {
            Ordering::Equal
        } else {
            Ordering::Greater
        }),
        other => other,
    }
}

/// Whether prefix `p` covers `dir/` (is a prefix of it).
fn is_dir_prefix(p: &[u8], dir: &[u8]) -> bool {
    match p.len().cmp(&(dir.len() + 1)) {
        Ordering::Greater => false,
        Ordering::Equal => p.starts_with(dir) && p[dir.len()] == b'/',
        Ordering::Less => dir.starts_with(p),
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    fn scope(p: &[&str]) -> Scope {
        Scope::new(p.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    /// The allocation-free directory questions answer as `contains` and a search for `dir/`.
    #[test]
    fn directory_questions_agree_with_the_slashed_path() {
        let prefixes = [
            "", "a", "a/", "a/b", "a/b/", "a.b/", "a-", "a/b/c/", "ab/", "b/x.txt", "a0/", "a/bc/",
        ];
        let dirs = [
            "a", "a/b", "a/b/c", "ab", "a.b", "b", "a/bc", "a0", "z", "a/b/c/d",
        ];
        for n in 0..=prefixes.len() {
            for start in 0..prefixes.len() {
                let chosen: Vec<&str> = prefixes
                    .iter()
                    .cycle()
                    .skip(start)
                    .take(n)
                    .copied()
                    .collect();
                let s = scope(&chosen);
                for dir in dirs {
                    let d = format!("{dir}/").into_bytes();
                    let i = s.prefixes.partition_point(|p| p.as_slice() < d.as_slice());
                    let reaches = s.prefixes.get(i).is_some_and(|p| p.starts_with(&d));
                    let dir = dir.as_bytes();
                    assert_eq!(s.contains_dir(dir), s.contains(&d), "{chosen:?} {d:?}");
                    assert_eq!(s.reaches_into(dir), reaches, "{chosen:?} {d:?}");
                }
            }
        }
    }

    #[test]
    fn covered_prefixes_collapse() {
        let s = scope(&["a/b/", "a/", "c/x.txt", "c/y/"]);
        assert_eq!(s.prefixes.len(), 3);
        assert!(s.contains(b"a/b/c.go") && s.contains(b"a/z") && s.contains(b"c/x.txt"));
        assert!(!s.contains(b"ab/x") && !s.contains(b"c/z.txt") && !s.contains(b"b"));
    }

    #[test]
    fn directories_inside_and_on_the_way() {
        let s = scope(&["services/api/", "go.work"]);
        assert!(s.contains_dir(b"services/api") && s.contains_dir(b"services/api/cmd"));
        assert!(!s.contains_dir(b"services") && s.reaches_into(b"services"));
        assert!(!s.reaches_into(b"services/web") && !s.contains_dir(b"services/apis"));
        assert!(s.reaches_into(b"") && !s.contains_dir(b""));
        assert!(Scope::everything().contains_dir(b"") && Scope::everything().contains(b"x"));
    }
}
