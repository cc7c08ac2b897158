//! Reading manifests and expanding workspace globs, under the rules every ecosystem shares: a
//! manifest is a bounded regular UTF-8 file, a path it names stays inside the workspace, and a
//! glob never descends into `node_modules`, `target`, `vendor` or a folder git ignores.

use std::path::Path;

use super::{DiscoverError, MAX_LOCKFILE_BYTES, MAX_MANIFEST_BYTES};
use crate::confine::{Refusal, Root};
use crate::glob;
use crate::paths::{expand_members, WorkspaceDirs};

/// Folders no workspace glob enters: installed or built copies of packages, never members.
const SKIPPED: &[&str] = &["node_modules", "target", "vendor"];

/// The text of workspace-relative manifest `rel` (at most [`MAX_MANIFEST_BYTES`]), or `None`
/// when there is no such file.
pub(super) fn read(root: &Root, rel: &str) -> Result<Option<String>, DiscoverError> {
    read_bounded(root, rel, MAX_MANIFEST_BYTES, "manifest")
}

/// The text of workspace-relative lockfile `rel` (at most [`MAX_LOCKFILE_BYTES`]), or `None`
/// when there is no such file.
pub(super) fn read_lockfile(root: &Root, rel: &str) -> Result<Option<String>, DiscoverError> {
    read_bounded(root, rel, MAX_LOCKFILE_BYTES, "lockfile")
}

/// The text of workspace-relative file `rel`, a `kind` read up to `limit` bytes, or `None`
/// when there is no such file.
///
/// Read through [`Root`]: a symbolic link is followed only while it stays inside the repository
/// (and out of `.git`), and only a regular file is read, so no manifest error can quote another
/// file. A link that leaves, dangles or loops is an error here, never an absent file.
fn read_bounded(
    root: &Root,
    rel: &str,
    limit: u64,
    kind: &str,
) -> Result<Option<String>, DiscoverError> {
    let fail = |m: String| DiscoverError::new(rel, None, m);
    let Some((_, bytes)) = root.read(rel, limit).map_err(|e| fail(e.to_string()))? else {
        return Ok(None);
    };
    let bytes = bytes.map_err(|size| {
        fail(format!(
            "it is {size} bytes, more than the {} MiB shockwave reads for a {kind}; no real \
             {kind} is that large: check what wrote it",
            limit >> 20
        ))
    })?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        DiscoverError::new(rel, Some(line), "it is not valid UTF-8")
    })
}

/// Whether workspace-relative `rel` is a regular file inside the repository; an error where
/// [`read`] would refuse it (a link that leaves), so that what is refused is never skipped.
pub(super) fn is_file(root: &Root, rel: &str) -> Result<bool, DiscoverError> {
    match root.open_file(rel) {
        Ok(found) => Ok(found.is_some()),
        Err(Refusal::NotRegular(_)) => Ok(false),
        Err(e) => Err(DiscoverError::new(rel, None, e.to_string())),
    }
}

/// `file:line` as errors name a place, or `file` when there is no line.
pub(super) fn at(file: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_owned(),
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line where `needle` first appears in `text`, for errors about a value a parser without
/// positions (JSON objects by key) has read.
pub(super) fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|at| line_at(text, at))
}

/// The line of the first quoted string in `text` whose value is `value`, however it is written
/// (`"packages\/*"`, `"\u0070ackages/*"`): JSON strings, and for YAML (`yaml`) its double- and
/// single-quoted scalars too. One pass over the text; only literals holding an escape are decoded.
pub(super) fn string_line(text: &str, value: &str, yaml: bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        // A YAML comment runs to the end of its line (an apostrophe in it quotes nothing).
        if yaml && quote == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            i = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| i + n);
            continue;
        }
        // A YAML quoted scalar starts a value, never the middle of a word (`don't`).
        let starts_value = || {
            bytes[..i]
                .iter()
                .rev()
                .find(|b| **b != b' ' && **b != b'\t')
                .is_none_or(|b| matches!(b, b'\n' | b'-' | b':' | b'[' | b'{' | b','))
        };
        if quote != b'"' && !(yaml && quote == b'\'' && starts_value()) {
            i += 1;
            continue;
        }
        // The closing quote on the same line: a backslash escapes in a double-quoted string, a
        // doubled quote in a single-quoted one.
        let mut end = i + 1;
        let mut escaped = false;
        loop {
            match bytes.get(end) {
                None | Some(b'\n') => return None,
                Some(b'\\') if quote == b'"' => {
                    escaped = true;
                    end += 1;
                }
                Some(b'\'') if quote == b'\'' && bytes.get(end + 1) == Some(&b'\'') => {
                    escaped = true;
                    end += 1;
                }
                Some(&q) if q == quote => break,
                Some(_) => {}
            }
            end += 1;
        }
        let literal = text.get(i..=end)?;
        let matches = if !escaped {
            &literal[1..literal.len() - 1] == value
        } else if yaml {
            serde_saphyr::from_str::<String>(literal).is_ok_and(|v| v == value)
        } else {
            serde_json::from_str::<String>(literal).is_ok_and(|v| v == value)
        };
        if matches {
            return Some(line_at(text, i));
        }
        i = end + 1;
    }
    None
}

/// `rel` joined to workspace-relative directory `base`, normalised (`/`-separated, no `.` or
/// `..`); `None` when it is absolute or climbs out of the workspace.
pub(super) fn join(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains('\\') {
        return None;
    }
    crate::paths::join_rel(base, rel)
}

/// The directories workspace glob `pattern` (relative to `base`) matches, sorted. `file` and
/// `line` say where the pattern is written, for the errors: a pattern leaving the repository
/// (`..` above the root, an absolute path, a symlink), an invalid glob.
pub(super) fn expand(
    root: &Root,
    dirs: &mut dyn WorkspaceDirs,
    pattern: &str,
    file: &str,
    line: Option<usize>,
) -> Result<Vec<String>, DiscoverError> {
    let fail = |m: String| DiscoverError::new(file, line, m);
    let trimmed = pattern.trim_end_matches('/');
    let Some(normal) = join("", trimmed) else {
        return Err(fail(format!(
            "workspace pattern `{pattern}` leaves the repository; patterns are relative to the workspace root"
        )));
    };
    if trimmed.split('/').any(|p| p == "..") {
        return Err(fail(format!(
            "workspace pattern `{pattern}` contains `..`; write it as `{normal}`"
        )));
    }
    let matcher = glob::compile(&normal)
        .map_err(|e| fail(format!("invalid workspace pattern `{pattern}`: {e}")))?
        .compile_matcher();
    let (start, found) = expand_members(&mut Pruned(dirs), &normal, &matcher)
        .map_err(|e| fail(format!("failed to list directories for `{pattern}`: {e}")))?;
    if !found.is_empty() {
        // Listed directories are real ones (symlinks are not followed); only the literal start
        // of the pattern can lead elsewhere.
        let root = root.path();
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let leaves = std::fs::canonicalize(root.join(&start))
            .map(|real| !real.starts_with(&real_root))
            .unwrap_or(false);
        if leaves {
            return Err(fail(format!(
                "workspace pattern `{pattern}` leads outside the repository through the symlink `{start}`"
            )));
        }
    }
    Ok(found)
}

/// The workspace's directories without the folders no glob enters.
struct Pruned<'a>(&'a mut dyn WorkspaceDirs);

impl WorkspaceDirs for Pruned<'_> {
    fn boundary(&self) -> &Path {
        self.0.boundary()
    }

    fn is_dir(&mut self, dir: &str) -> bool {
        self.0.is_dir(dir)
    }

    fn is_excluded(&mut self, dir: &str) -> bool {
        dir.split('/').any(|part| SKIPPED.contains(&part)) || self.0.is_excluded(dir)
    }

    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>> {
        let mut names = self.0.subdirs(dir)?;
        names.retain(|n| !SKIPPED.contains(&n.as_str()));
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn string_lines_see_through_escapes() {
        use super::string_line;
        let json = "{\n  \"name\": \"x\",\n  \"workspaces\": [\n    \"apps/*\",\n    \"packages\\/*\",\n    \"\\u0074ools/*\"\n  ]\n}\n";
        assert_eq!(string_line(json, "apps/*", false), Some(4));
        assert_eq!(string_line(json, "packages/*", false), Some(5));
        assert_eq!(string_line(json, "tools/*", false), Some(6));
        assert_eq!(string_line(json, "nothing", false), None);
        let yaml =
            "# don't\npackages:\n  - 'it''s/*'\n  - \"\\x6Cibs/*\"\n  - plain's/*\n  - 'x/*'\n";
        assert_eq!(string_line(yaml, "it's/*", true), Some(3));
        assert_eq!(string_line(yaml, "libs/*", true), Some(4));
        assert_eq!(string_line(yaml, "x/*", true), Some(6));
        // Unterminated and odd input never panics.
        for text in ["\"", "\"\\", "'", "\"a\\\"", "\"é\\"] {
            let _ = string_line(text, "a", true);
            let _ = string_line(text, "a", false);
        }
    }

    #[test]
    fn join_stays_inside() {
        assert_eq!(join(".", "packages/b").as_deref(), Some("packages/b"));
        assert_eq!(join("packages/a", "../b").as_deref(), Some("packages/b"));
        assert_eq!(join("a", "./x/").as_deref(), Some("a/x"));
        assert_eq!(join("a", "../../b"), None);
        assert_eq!(join("", "/etc"), None);
    }
}
