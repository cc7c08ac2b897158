//! Reading manifests and expanding workspace globs, under the rules every ecosystem shares: a
//! manifest is a bounded regular UTF-8 file, a path it names stays inside the workspace, and a
//! glob never descends into `node_modules`, `target`, `vendor` or a folder git ignores.

use std::path::Path;

use super::{DiscoverError, MAX_LOCKFILE_BYTES, MAX_MANIFEST_BYTES};
use crate::config::{expand_members, WorkspaceDirs};
use crate::glob;

/// Folders no workspace glob enters: installed or built copies of packages, never members.
const SKIPPED: &[&str] = &["node_modules", "target", "vendor"];

/// The text of workspace-relative manifest `rel` (at most [`MAX_MANIFEST_BYTES`]), or `None`
/// when there is no such file.
pub(super) fn read(root: &Path, rel: &str) -> Result<Option<String>, DiscoverError> {
    read_bounded(root, rel, MAX_MANIFEST_BYTES, "manifest")
}

/// The text of workspace-relative lockfile `rel` (at most [`MAX_LOCKFILE_BYTES`]), or `None`
/// when there is no such file.
pub(super) fn read_lockfile(root: &Path, rel: &str) -> Result<Option<String>, DiscoverError> {
    read_bounded(root, rel, MAX_LOCKFILE_BYTES, "lockfile")
}

/// The text of workspace-relative file `rel`, a `kind` read up to `limit` bytes, or `None`
/// when there is no such file.
///
/// One `open` and one `fstat` of the opened file: with thousands of manifests a separate `stat`
/// per file is a noticeable part of discovery. `O_NONBLOCK` keeps the open of a FIFO from
/// waiting for a writer; it is refused by its type right after.
fn read_bounded(
    root: &Path,
    rel: &str,
    limit: u64,
    kind: &str,
) -> Result<Option<String>, DiscoverError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let path = root.join(rel);
    let fail = |m: String| DiscoverError::new(rel, None, m);
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path);
    let file = match opened {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(fail(format!("failed to read it: {e}"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("failed to read it: {e}")))?;
    if !meta.is_file() {
        return Err(fail("it is not a regular file".into()));
    }
    let too_large = |size: u64| {
        fail(format!(
            "it is {size} bytes, more than the {} MiB shockwave reads for a {kind}; no real \
             {kind} is that large: check what wrote it",
            limit >> 20
        ))
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("failed to read it: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        DiscoverError::new(rel, Some(line), "it is not valid UTF-8")
    })
}

/// Whether workspace-relative `rel` is a regular file.
pub(super) fn is_file(root: &Path, rel: &str) -> bool {
    root.join(rel).is_file()
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

/// `rel` joined to workspace-relative directory `base`, normalised (`/`-separated, no `.` or
/// `..`); `None` when it is absolute or climbs out of the workspace.
pub(super) fn join(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains('\\') {
        return None;
    }
    crate::config::join_rel(base, rel)
}

/// The directories workspace glob `pattern` (relative to `base`) matches, sorted. `file` and
/// `line` say where the pattern is written, for the errors: a pattern leaving the repository
/// (`..` above the root, an absolute path, a symlink), an invalid glob.
pub(super) fn expand(
    root: &Path,
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
    fn join_stays_inside() {
        assert_eq!(join(".", "packages/b").as_deref(), Some("packages/b"));
        assert_eq!(join("packages/a", "../b").as_deref(), Some("packages/b"));
        assert_eq!(join("a", "./x/").as_deref(), Some("a/x"));
        assert_eq!(join("a", "../../b"), None);
        assert_eq!(join("", "/etc"), None);
    }
}
