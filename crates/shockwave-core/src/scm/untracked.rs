//! The untracked entries a worktree scan met, reduced to the files git does not ignore. Untracked
//! entries are rare, so this runs after the parallel scan, serially; an untracked directory that
//! is not ignored is read here (with std, on every platform) down to its files.

use std::path::Path;

use bstr::{BString, ByteSlice};

use super::ignore::Ignores;

/// The ignore rules could not be read.
#[derive(Debug, thiserror::Error)]
#[error("failed to read .gitignore files: {0}")]
pub(super) struct IgnoresError(gix::Error);

/// An untracked entry seen while scanning, before the ignore check.
pub(super) enum Candidate {
    File(BString),
    Dir(BString),
}

/// Applies the ignore rules to the untracked entries, descending into untracked directories that
/// are not ignored. Sorted.
pub(super) fn not_ignored(
    repo: &gix::Repository,
    workdir: &Path,
    index: &gix::index::State,
    candidates: Vec<Candidate>,
) -> Result<Vec<BString>, IgnoresError> {
    let mut ignores = Ignores::new(repo, index).map_err(IgnoresError)?;
    let mut out = Vec::new();
    let mut pending: Vec<Candidate> = candidates;
    while let Some(c) = pending.pop() {
        match c {
            Candidate::File(p) => {
                if !ignores.ignores(p.as_bstr(), false) {
                    out.push(p);
                }
            }
            Candidate::Dir(p) => {
                if ignores.ignores(p.as_bstr(), true) {
                    continue;
                }
                let full = workdir.join(crate::platform::path(&p));
                // A nested repository is not part of this one.
                if full.join(".git").exists() {
                    continue;
                }
                let Ok(read) = std::fs::read_dir(&full) else {
                    continue;
                };
                for de in read.flatten() {
                    let mut child = p.clone();
                    child.push(b'/');
                    child.extend_from_slice(de.file_name().as_encoded_bytes());
                    if de.file_type().is_ok_and(|t| t.is_dir()) {
                        pending.push(Candidate::Dir(child));
                    } else {
                        pending.push(Candidate::File(child));
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
