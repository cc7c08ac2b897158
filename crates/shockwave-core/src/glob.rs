//! Glob semantics shared by every stage that reads a pattern from `pipeline.toml`: how a pattern is
//! compiled (`*` stays within a path component, `**` crosses them, a trailing `/` means "everything
//! below", a leading `./` is dropped), which characters make it a glob, the literal directory it
//! starts from (so callers read only the part of a tree it can match) and how long it may be.
//! Config, ownership, hashing and the output cache all ask this module, so a pattern means the same
//! thing wherever it is used. It never reads the filesystem and knows nothing of the config's shape.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use rustc_hash::FxHashMap;

/// The characters that make a pattern a glob rather than a literal path. A backslash counts: it
/// escapes the next character, so what follows it is not read literally.
pub const METACHARS: [char; 5] = ['*', '?', '[', '{', '\\'];

/// The longest glob accepted. Paths themselves stop at 4 KiB (`PATH_MAX`), and a pattern far
/// longer than any path can match nothing while costing time to compile (globset's literal-prefix
/// automaton grows with the pattern).
pub const MAX_GLOB_BYTES: usize = 4096;

/// Why a glob was refused.
#[derive(Debug, thiserror::Error)]
pub enum GlobError {
    #[error("{}", .0.kind())]
    Invalid(globset::Error),
    #[error("it is {0} bytes long; globs are limited to {MAX_GLOB_BYTES} bytes")]
    TooLong(usize),
}

/// A compiled list of globs plus the patterns it came from (for explanations and hashing).
///
/// Most patterns start with a literal directory (`pkg/auth/*.go`, `dist/**`): those are kept by
/// that directory, and only the rest of the pattern (`*.go`, `**`) is compiled, once for all the
/// patterns that share it. A path is then checked against the patterns of its own ancestors
/// only. Thousands of `paths` globs thus cost a handful of small automata instead of one huge
/// one (compiling 3,726 Go package globs into one set took most of a second). A pattern matches
/// exactly the paths its whole-pattern glob does: its literal start is compared byte for byte,
/// and the rest is the same glob syntax applied to what follows.
#[derive(Debug, Clone)]
pub struct Globs {
    pub patterns: Vec<String>,
    /// Fully literal patterns: the path each names → pattern indices.
    exact: FxHashMap<Box<[u8]>, Vec<usize>>,
    /// Literal directory → (index into `rests`, pattern index).
    by_dir: FxHashMap<Box<[u8]>, Vec<(usize, usize)>>,
    /// The distinct remainders after a literal directory, compiled.
    rests: Vec<GlobMatcher>,
    /// Patterns without a literal directory, as one set, and the pattern index of each.
    rooted: GlobSet,
    rooted_ids: Vec<usize>,
    /// Patterns written with a leading `!` (without it): a path they match is matched by none.
    negated: Option<Box<Globs>>,
}

impl Globs {
    pub fn empty() -> Self {
        Globs {
            patterns: Vec::new(),
            exact: FxHashMap::default(),
            by_dir: FxHashMap::default(),
            rests: Vec::new(),
            rooted: GlobSet::empty(),
            rooted_ids: Vec::new(),
            negated: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Compiles `patterns`; the first invalid one is returned with its index.
    pub fn new(patterns: Vec<String>) -> Result<Self, (usize, GlobError)> {
        let mut exact: FxHashMap<Box<[u8]>, Vec<usize>> = FxHashMap::default();
        let mut by_dir: FxHashMap<Box<[u8]>, Vec<(usize, usize)>> = FxHashMap::default();
        let mut rest_ids: FxHashMap<String, usize> = FxHashMap::default();
        let mut rests = Vec::new();
        let mut rooted = GlobSetBuilder::new();
        let mut rooted_ids = Vec::new();
        let mut negated = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if let Some(excluded) = p.strip_prefix('!') {
                compile(excluded).map_err(|e| (i, e))?;
                negated.push(excluded.to_string());
                continue;
            }
            // The whole pattern must compile, whichever part of it is used.
            let whole = compile(p).map_err(|e| (i, e))?;
            let normalized = normalize(p);
            // `split_literal` would drop a second `./`, which the whole pattern keeps literally.
            let parts = if normalized.starts_with("./") {
                ("", normalized.as_str())
            } else {
                split_literal(&normalized)
            };
            match parts {
                (path, "") => exact.entry(path.as_bytes().into()).or_default().push(i),
                ("", _) => {
                    rooted.add(whole);
                    rooted_ids.push(i);
                }
                (dir, rest) => {
                    let rest = &rest[1..];
                    let id = match rest_ids.get(rest) {
                        Some(&id) => id,
                        None => {
                            let m = build(rest).map_err(|e| (i, e))?.compile_matcher();
                            rests.push(m);
                            rest_ids.insert(rest.to_string(), rests.len() - 1);
                            rests.len() - 1
                        }
                    };
                    by_dir
                        .entry(dir.as_bytes().into())
                        .or_default()
                        .push((id, i));
                }
            }
        }
        let rooted = rooted.build().map_err(|e| (0, GlobError::Invalid(e)))?;
        let negated = match negated.is_empty() {
            true => None,
            // Each was compiled above, so only the index of the first is unknown here.
            false => Some(Box::new(Globs::new(negated).map_err(|(_, e)| (0, e))?)),
        };
        Ok(Globs {
            patterns,
            exact,
            by_dir,
            rests,
            rooted,
            rooted_ids,
            negated,
        })
    }

    /// The patterns that add paths (those without a leading `!`).
    pub fn positive(&self) -> impl Iterator<Item = &str> {
        self.patterns
            .iter()
            .map(String::as_str)
            .filter(|p| !p.starts_with('!'))
    }

    /// Whether a `!` pattern excludes `path`.
    fn excluded(&self, path: &[u8]) -> bool {
        self.negated.as_ref().is_some_and(|n| n.is_match(path))
    }

    /// Whether some pattern matches `path` (`/`-separated, relative) and no `!` pattern does.
    pub fn is_match(&self, path: &[u8]) -> bool {
        (self.exact.contains_key(path)
            || self.by_dir_matches(path, &mut |_| false)
            || (!self.rooted_ids.is_empty() && self.rooted.is_match(as_path(path))))
            && !self.excluded(path)
    }

    /// Appends the index of every pattern matching `path` to `out` (unsorted); none when a `!`
    /// pattern excludes it.
    pub fn matches_into(&self, path: &[u8], out: &mut Vec<usize>) {
        if self.excluded(path) {
            return;
        }
        if let Some(ids) = self.exact.get(path) {
            out.extend_from_slice(ids);
        }
        self.by_dir_matches(path, &mut |i| {
            out.push(i);
            true
        });
        if !self.rooted_ids.is_empty() {
            let found = self.rooted.matches(as_path(path));
            out.extend(found.into_iter().map(|m| self.rooted_ids[m]));
        }
    }

    /// Calls `found` with each pattern kept under one of `path`'s ancestors that matches it,
    /// until `found` returns false; whether any matched.
    fn by_dir_matches(&self, path: &[u8], found: &mut dyn FnMut(usize) -> bool) -> bool {
        let mut any = false;
        if self.by_dir.is_empty() {
            return any;
        }
        for (slash, _) in path.iter().enumerate().filter(|(_, &b)| b == b'/') {
            let Some(entries) = self.by_dir.get(&path[..slash]) else {
                continue;
            };
            let rest = as_path(&path[slash + 1..]);
            for &(rest_id, i) in entries {
                if self.rests[rest_id].is_match(rest) {
                    any = true;
                    if !found(i) {
                        return any;
                    }
                }
            }
        }
        any
    }
}

fn as_path(bytes: &[u8]) -> &Path {
    crate::platform::path(bytes)
}

/// Compiles one glob with the semantics used everywhere (see the module docs).
pub fn compile(pattern: &str) -> Result<Glob, GlobError> {
    if pattern.len() > MAX_GLOB_BYTES {
        return Err(GlobError::TooLong(pattern.len()));
    }
    build(&normalize(pattern))
}

/// Compiles an already normalized pattern.
fn build(pattern: &str) -> Result<Glob, GlobError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(GlobError::Invalid)
}

/// The pattern as it is compiled: without a leading `./`, and with a trailing `/` spelled out as
/// `/**`.
pub fn normalize(pattern: &str) -> String {
    let p = without_dot_slash(pattern);
    if p.ends_with('/') {
        format!("{p}**")
    } else {
        p.to_string()
    }
}

/// The pattern matching everything below the literal directory `dir` (`""`: the whole tree),
/// its glob characters escaped.
pub fn below(dir: &str) -> String {
    let mut out = String::with_capacity(dir.len() + 3);
    for c in dir.chars() {
        if METACHARS.contains(&c) || matches!(c, ']' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    if !dir.is_empty() {
        out.push('/');
    }
    out.push_str("**");
    out
}

/// Whether `pattern` names one path rather than a set of them.
pub fn is_literal(pattern: &str) -> bool {
    !pattern.contains(METACHARS)
}

/// The directory part of a pattern before its first glob character, without a leading `./`:
/// `ci/**` → `ci`, `proto/user/*.proto` → `proto/user`, `go.work` → `` (a literal pattern's
/// directory is its parent). Every match lies in that directory or below it.
pub fn literal_dir(pattern: &str) -> &str {
    dir_before_meta(without_dot_slash(pattern))
}

/// Splits a pattern (without its leading `./`) into the literal start every match shares and the
/// rest: `services/*/api` → (`services`, `/*/api`). A literal pattern is all start:
/// `go.work` → (`go.work`, ``).
pub fn split_literal(pattern: &str) -> (&str, &str) {
    let p = without_dot_slash(pattern);
    if is_literal(p) {
        (p, "")
    } else {
        p.split_at(dir_before_meta(p).len())
    }
}

fn without_dot_slash(pattern: &str) -> &str {
    pattern.strip_prefix("./").unwrap_or(pattern)
}

fn dir_before_meta(p: &str) -> &str {
    let meta = p.find(METACHARS).unwrap_or(p.len());
    p[..meta].rfind('/').map_or("", |slash| &p[..slash])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Matching by literal directory answers exactly as one set of the whole patterns does.
    #[test]
    fn split_matching_agrees_with_whole_patterns() {
        let patterns = [
            "pkg/auth/*.go",
            "pkg/auth/**",
            "pkg/**/*.go",
            "pkg/auth",
            "pkg/auth/",
            "./pkg/a*/x",
            "**/*.md",
            "*.go",
            "go.work",
            "a/b/c.txt",
            "a/b/**/c",
            "a/{b,c}/d",
            "a/[bc]/d",
            "a/b?/d",
            "a\\*b/x",
            "a/**",
            "a/b/",
            "docs/*",
            "x/y.z/**/*.rs",
            "a.b/*",
            "pkg/auth.go",
            "services/*/api/**",
            "**",
            "**/b/**",
            "a/b/c.txt/**",
            "././x/*.go",
            "./././y",
        ];
        let paths = [
            "pkg/auth/a.go",
            "pkg/auth/sub/b.go",
            "pkg/auth",
            "pkg/auth.go",
            "pkg/authz/a.go",
            "pkg/ab/x",
            "README.md",
            "docs/a.md",
            "docs/sub/b.md",
            "main.go",
            "go.work",
            "a/b/c.txt",
            "a/b/c",
            "a/b/x/y/c",
            "a/c/d",
            "a/d/d",
            "a/bb/d",
            "a*b/x",
            "a/b",
            "x/y.z/q/r.rs",
            "a.b/c",
            "ab/c",
            "services/web/api/v1/x.proto",
            "services/web/api",
            "b/q",
            "q/b/r/s",
            "a/b/c.txt/z",
            "",
            "a",
            "pkg/auth/",
            "a//b",
            "x/a.go",
            "./x/a.go",
            "y",
            "./y",
            "././y",
        ];
        let mut whole = GlobSetBuilder::new();
        for p in patterns {
            whole.add(compile(p).unwrap());
        }
        let whole = whole.build().unwrap();
        // Every subset of a sliding window, so patterns meet in every combination of parts.
        for width in [1, 2, 3, patterns.len()] {
            for start in 0..patterns.len() {
                let chosen: Vec<usize> =
                    (start..start + width).map(|i| i % patterns.len()).collect();
                let globs =
                    Globs::new(chosen.iter().map(|&i| patterns[i].to_string()).collect()).unwrap();
                for path in paths {
                    let mut want: Vec<usize> = whole
                        .matches(path)
                        .into_iter()
                        .filter_map(|m| chosen.iter().position(|&c| c == m))
                        .collect();
                    want.sort_unstable();
                    want.dedup();
                    let mut got = Vec::new();
                    globs.matches_into(path.as_bytes(), &mut got);
                    got.sort_unstable();
                    got.dedup();
                    assert_eq!(got, want, "{chosen:?} on {path:?}");
                    assert_eq!(globs.is_match(path.as_bytes()), !want.is_empty());
                }
            }
        }
    }

    #[test]
    fn below_a_directory_matches_only_inside_it_whatever_its_name() {
        let g = compile(&below("third_party/a[1]*"))
            .unwrap()
            .compile_matcher();
        assert!(g.is_match("third_party/a[1]*/x/y.go"));
        assert!(!g.is_match("third_party/a1x/y.go"));
        assert_eq!(below(""), "**");
        assert_eq!(below("a/b"), "a/b/**");
    }

    #[test]
    fn literal_dir_stops_at_glob() {
        assert_eq!(literal_dir("ci/**"), "ci");
        assert_eq!(literal_dir("go.work"), "");
        assert_eq!(literal_dir("proto/user/*.proto"), "proto/user");
        assert_eq!(literal_dir("**/*.md"), "");
    }

    #[test]
    fn split_literal_keeps_literal_patterns_whole() {
        assert_eq!(split_literal("./services/*/api"), ("services", "/*/api"));
        assert_eq!(split_literal("a/b*c/d"), ("a", "/b*c/d"));
        assert_eq!(split_literal("*.md"), ("", "*.md"));
        assert_eq!(split_literal("./go.work"), ("go.work", ""));
    }

    #[test]
    fn trailing_slash_means_everything_below() {
        let g = compile("./bin/").unwrap().compile_matcher();
        assert!(g.is_match("bin/a/b.o"));
        assert!(!g.is_match("binary"));
        assert!(!compile("*.o")
            .unwrap()
            .compile_matcher()
            .is_match("bin/a.o"));
    }
}
