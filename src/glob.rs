//! Glob semantics shared by every stage that reads a pattern from `pipeline.toml`: how a pattern is
//! compiled (`*` stays within a path component, `**` crosses them, a trailing `/` means "everything
//! below", a leading `./` is dropped), which characters make it a glob, the literal directory it
//! starts from (so callers read only the part of a tree it can match) and how long it may be.
//! Config, ownership, hashing and the output cache all ask this module, so a pattern means the same
//! thing wherever it is used. It never reads the filesystem and knows nothing of the config's shape.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

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
#[derive(Debug, Clone)]
pub struct Globs {
    pub patterns: Vec<String>,
    pub set: GlobSet,
}

impl Globs {
    pub fn empty() -> Self {
        Globs {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Compiles `patterns`; the first invalid one is returned with its index.
    pub fn new(patterns: Vec<String>) -> Result<Self, (usize, GlobError)> {
        let mut builder = GlobSetBuilder::new();
        for (i, p) in patterns.iter().enumerate() {
            builder.add(compile(p).map_err(|e| (i, e))?);
        }
        let set = builder.build().map_err(|e| (0, GlobError::Invalid(e)))?;
        Ok(Globs { patterns, set })
    }
}

/// Compiles one glob with the semantics used everywhere (see the module docs).
pub fn compile(pattern: &str) -> Result<Glob, GlobError> {
    if pattern.len() > MAX_GLOB_BYTES {
        return Err(GlobError::TooLong(pattern.len()));
    }
    GlobBuilder::new(&normalize(pattern))
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
