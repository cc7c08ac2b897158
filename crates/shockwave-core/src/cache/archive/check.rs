//! Checking an archive before anything is written: every member, its type, its path and the
//! scope, with bounds on its size and member count.

use super::*;
use std::io::Read;
use std::path::Path;

/// Ends a stream with an error once it yields more than `limit` bytes: a decompression bomb then
/// costs at most the size recorded when the archive was stored, however far it would inflate.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte more than allowed, so that going past the limit is seen, not truncated.
        let want = usize::try_from(self.left.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "the archive inflates past the {} bytes recorded when it was stored",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// [`check_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn check(compressed: &[u8], scope: &Scope) -> Result<Vec<Member>, CheckError> {
    let bytes =
        zstd::decode_all(compressed).map_err(|e| CheckError::Corrupt(format!("zstd: {e}")))?;
    check_tar(bytes.as_slice(), scope)
}

/// The most members an entry may hold: far more than any build's outputs, few enough that
/// checking them costs seconds at worst.
pub const MAX_MEMBERS: usize = 1_000_000;

/// Reads the (decompressed) tar stream and checks every member. Nothing is written.
pub fn check_tar<R: Read>(stream: R, scope: &Scope) -> Result<Vec<Member>, CheckError> {
    let mut archive = tar::Archive::new(stream);
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| CheckError::Corrupt(format!("tar: {e}")))?;
    for entry in entries {
        if members.len() >= MAX_MEMBERS {
            return Err(CheckError::Unsafe(format!(
                "it holds more than {MAX_MEMBERS} members"
            )));
        }
        let entry = entry.map_err(|e| CheckError::Corrupt(format!("tar: {e}")))?;
        let raw = entry
            .path()
            .map_err(|e| CheckError::Corrupt(format!("tar path: {e}")))?
            .into_owned();
        let path = safe_relative(&raw).ok_or_else(|| {
            CheckError::Unsafe(format!(
                "member `{}` is absolute or leaves the service root",
                raw.display()
            ))
        })?;
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                members.push(Member::File { path, mode });
            }
            tar::EntryType::Directory => members.push(Member::Dir { path }),
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| CheckError::Corrupt(format!("tar link: {e}")))?
                    .ok_or_else(|| CheckError::Corrupt("symlink without target".into()))?
                    .into_owned();
                scope
                    .check_symlink(&path, &target)
                    .map_err(|e| CheckError::Unsafe(e.to_string()))?;
                members.push(Member::Symlink { path, target });
            }
            other => {
                return Err(CheckError::Unsafe(format!(
                    "member `{}` has unsupported type {other:?} (only files, directories and symlinks are restored)",
                    path.display()
                )))
            }
        }
    }
    // Each path once, and nothing below a file of the same archive: a repeated member costs a
    // restore its time (2 million copies of one file in a 94 KB archive) and a file-then-directory
    // pair cannot be extracted at all, so such an entry would fail on every run.
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    for m in &members {
        if !seen.insert(m.path()) {
            return Err(CheckError::Unsafe(format!(
                "member `{}` appears more than once",
                m.path().display()
            )));
        }
    }
    // Nothing may lie below a file or a symlink of the same archive. Below a file it cannot be
    // extracted at all, so such an entry would fail on every run; below a symlink it would be
    // written through that link, wherever it points (`d/l` → `..`, then `d/l/m` → `../..` is the
    // root's parent, not `d`).
    let leaves: std::collections::HashMap<&Path, bool> = members
        .iter()
        .filter_map(|m| match m {
            Member::File { path, .. } => Some((path.as_path(), false)),
            Member::Symlink { path, .. } => Some((path.as_path(), true)),
            Member::Dir { .. } => None,
        })
        .collect();
    for m in &members {
        let path = m.path();
        let Some((leaf, is_link)) = path
            .ancestors()
            .skip(1)
            .find_map(|a| leaves.get(a).map(|&link| (a, link)))
        else {
            continue;
        };
        let (kind, error): (_, fn(String) -> CheckError) = if is_link {
            ("symlink", CheckError::Unsafe)
        } else {
            ("file", CheckError::Corrupt)
        };
        return Err(error(format!(
            "member `{}` lies under the {kind} `{}` in the same archive",
            path.display(),
            leaf.display()
        )));
    }
    check_scope(&members, scope)?;
    Ok(members)
}

/// Every file and symlink must be a declared output, and every directory lie on the way to or
/// below where outputs are declared; nothing may be in a `.git` directory or the cache, whatever
/// the globs say.
fn check_scope(members: &[Member], scope: &Scope) -> Result<(), CheckError> {
    for m in members {
        let path = m.path();
        if let Some(why) = scope.forbidden(path) {
            return Err(CheckError::Unsafe(format!(
                "member `{}` is {why}, which a cache entry never writes",
                path.display()
            )));
        }
        let admitted = match m {
            Member::Dir { .. } => scope.directory_admitted(path),
            Member::File { .. } | Member::Symlink { .. } => scope.declared(path),
        };
        if !admitted {
            return Err(CheckError::Unsafe(format!(
                "{} `{}` is not a declared output ({})",
                if matches!(m, Member::Dir { .. }) {
                    "directory member"
                } else {
                    "member"
                },
                path.display(),
                scope.describe_outputs()
            )));
        }
    }
    Ok(())
}
