//! Output archives: tar (via the `tar` crate) compressed with zstd. Creation collects the files under
//! a service root that match the output globs; restoring first checks every member — relative
//! path, no `..`, no absolute path, symlinks that stay inside the root, only files, directories and
//! symlinks — and only then writes anything, each file through a temporary name and a rename.
//! Everything streams: an archive is never held in memory whole, so large outputs cost disk, not RAM.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::config::Globs;

/// Files up to this size are compared with what is already in place before being rewritten.
const SAME_FILE_CHECK: u64 = 1 << 20;

pub enum CheckError {
    Unsafe(String),
    Corrupt(String),
}

pub enum Member {
    File { path: PathBuf, mode: u32 },
    Symlink { path: PathBuf, target: PathBuf },
    Dir { path: PathBuf },
}

/// Archives the files under `root` matching `outputs` into `out` (tar, zstd-compressed), reading
/// each file as a stream. Returns `out` and the number of files.
pub fn write_archive<W: Write>(root: &Path, outputs: &Globs, out: W) -> std::io::Result<(W, u64)> {
    let mut files = Vec::new();
    if !outputs.is_empty() {
        let mut starts: Vec<String> = outputs
            .patterns
            .iter()
            .map(|p| {
                let p = p.strip_prefix("./").unwrap_or(p);
                let meta = p.find(['*', '?', '[', '{', '\\']).unwrap_or(p.len());
                p[..meta]
                    .rfind('/')
                    .map_or(String::new(), |i| p[..i].to_string())
            })
            .collect();
        starts.sort();
        starts.dedup();
        let mut seen = std::collections::BTreeSet::new();
        for start in starts {
            walk(root, &start, outputs, &mut seen)?;
        }
        files.extend(seen);
    }
    let encoder = zstd::Encoder::new(out, 3)?;
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    for rel in &files {
        let full = root.join(rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            builder.append_link(&mut header, rel, &target)?;
        } else {
            let file = std::fs::File::open(&full)?;
            let len = file.metadata()?.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(len);
            header.set_mode(meta.permissions().mode() & 0o777);
            // `take` keeps the member exactly as long as its header says, even if the file grows.
            builder.append_data(&mut header, rel, file.take(len))?;
        }
    }
    let encoder = builder.into_inner()?;
    Ok((encoder.finish()?, files.len() as u64))
}

/// [`write_archive`] into memory.
#[cfg(test)]
pub fn create(root: &Path, outputs: &Globs) -> std::io::Result<(Vec<u8>, u64)> {
    write_archive(root, outputs, Vec::new())
}

fn walk(
    root: &Path,
    rel_dir: &str,
    outputs: &Globs,
    out: &mut std::collections::BTreeSet<String>,
) -> std::io::Result<()> {
    let dir = if rel_dir.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel_dir)
    };
    let read = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            if outputs.set.is_match(rel_dir) {
                out.insert(rel_dir.to_string());
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in read {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if rel_dir.is_empty() && (name == ".git" || name == ".shockwave") {
            continue;
        }
        let rel = if rel_dir.is_empty() {
            name
        } else {
            format!("{rel_dir}/{name}")
        };
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(root, &rel, outputs, out)?;
        } else if outputs.set.is_match(&rel) {
            out.insert(rel);
        }
    }
    Ok(())
}

/// [`check_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn check(compressed: &[u8]) -> Result<Vec<Member>, CheckError> {
    let bytes =
        zstd::decode_all(compressed).map_err(|e| CheckError::Corrupt(format!("zstd: {e}")))?;
    check_tar(bytes.as_slice())
}

/// Reads the (decompressed) tar stream and checks every member. Nothing is written.
pub fn check_tar<R: Read>(stream: R) -> Result<Vec<Member>, CheckError> {
    let mut archive = tar::Archive::new(stream);
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| CheckError::Corrupt(format!("tar: {e}")))?;
    for entry in entries {
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
                // Lexical normalisation is only sound while no component is a symlink: `a/..` is not
                // the directory holding `a` when `a` is a link. Only leading `..` are accepted.
                let mut named = false;
                for c in target.components() {
                    match c {
                        Component::Normal(_) => named = true,
                        Component::ParentDir if named => {
                            return Err(CheckError::Unsafe(format!(
                                "symlink `{}` → `{}` has `..` after a name, which could climb through another symlink",
                                path.display(),
                                target.display()
                            )))
                        }
                        _ => {}
                    }
                }
                let parent = path.parent().unwrap_or(Path::new(""));
                if target.is_absolute() || safe_relative(&parent.join(&target)).is_none() {
                    return Err(CheckError::Unsafe(format!(
                        "symlink `{}` → `{}` points outside the service root",
                        path.display(),
                        target.display()
                    )));
                }
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
    // A member below an archived symlink would be written through that link, wherever it points
    // (`d/l` → `..`, then `d/l/m` → `../..` is the root's parent, not `d`).
    let links: std::collections::HashSet<&Path> = members
        .iter()
        .filter_map(|m| match m {
            Member::Symlink { path, .. } => Some(path.as_path()),
            _ => None,
        })
        .collect();
    if !links.is_empty() {
        for m in &members {
            let path = match m {
                Member::File { path, .. } | Member::Symlink { path, .. } | Member::Dir { path } => {
                    path
                }
            };
            if let Some(link) = path.ancestors().skip(1).find(|a| links.contains(a)) {
                return Err(CheckError::Unsafe(format!(
                    "member `{}` lies under the symlink `{}` in the same archive",
                    path.display(),
                    link.display()
                )));
            }
        }
    }
    Ok(members)
}

/// Lexically normalises a relative path; `None` if it is absolute or climbs above its start.
fn safe_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// [`extract_tar`] of a compressed archive in memory.
#[cfg(test)]
pub fn extract(compressed: &[u8], root: &Path, members: Vec<Member>) -> std::io::Result<()> {
    extract_tar(zstd::decode_all(compressed)?.as_slice(), root, members)
}

/// Writes the `members` that [`check_tar`] accepted under `root`, reading the same tar stream
/// again. Every entry must be the checked member at its position, so an archive swapped in
/// between cannot write anything unchecked. Existing files are replaced atomically.
pub fn extract_tar<R: Read>(stream: R, root: &Path, members: Vec<Member>) -> std::io::Result<()> {
    // A symlink already in the worktree (say a committed `bin -> /elsewhere`) would carry writes
    // out of the service root: refuse before writing anything.
    for m in &members {
        let path = match m {
            Member::Dir { path } | Member::File { path, .. } | Member::Symlink { path, .. } => path,
        };
        let mut at = root.to_path_buf();
        let mut parts = path.components().peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                break;
            }
            at.push(part);
            if std::fs::symlink_metadata(&at).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(std::io::Error::other(format!(
                    "refusing to restore `{}` through the symlink `{}` in the service root",
                    path.display(),
                    at.display()
                )));
            }
        }
    }
    let mut archive = tar::Archive::new(stream);
    let mut entries = archive.entries()?;
    for m in members {
        let mut entry = entries
            .next()
            .ok_or_else(|| std::io::Error::other("the archive changed after it was checked"))??;
        let same = match &m {
            Member::Dir { path } | Member::File { path, .. } | Member::Symlink { path, .. } => {
                entry
                    .path()
                    .ok()
                    .and_then(|p| safe_relative(p.as_ref()))
                    .as_deref()
                    == Some(path.as_path())
            }
        };
        if !same {
            return Err(std::io::Error::other(
                "the archive changed after it was checked",
            ));
        }
        match m {
            Member::Dir { path } => std::fs::create_dir_all(root.join(path))?,
            Member::File { path, mode } => {
                let dest = root.join(&path);
                // An identical file already in place (same size, mode and bytes) is left alone:
                // no write, no rename, and its mtime stays, which keeps later tools quiet.
                let mut data = None;
                if let Ok(existing) = std::fs::symlink_metadata(&dest) {
                    let size = entry.size();
                    if existing.is_file()
                        && existing.len() == size
                        && size <= SAME_FILE_CHECK
                        && existing.permissions().mode() & 0o777 == mode
                    {
                        let mut bytes = Vec::with_capacity(size as usize);
                        entry.read_to_end(&mut bytes)?;
                        if std::fs::read(&dest).is_ok_and(|old| old == bytes) {
                            continue;
                        }
                        data = Some(bytes);
                    }
                }
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let tmp = dest.with_file_name(format!(
                    ".{}.shockwave-tmp",
                    dest.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ));
                let mut file = std::fs::File::create(&tmp)?;
                match data {
                    Some(bytes) => file.write_all(&bytes)?,
                    None => {
                        std::io::copy(&mut entry, &mut file)?;
                    }
                }
                drop(file);
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
                if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
                    std::fs::remove_dir_all(&dest)?;
                }
                std::fs::rename(&tmp, &dest)?;
            }
            Member::Symlink { path, target } => {
                let dest = root.join(&path);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                match std::fs::symlink_metadata(&dest) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dest)?,
                    Ok(_) => std::fs::remove_file(&dest)?,
                    Err(_) => {}
                }
                std::os::unix::fs::symlink(&target, &dest)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_zst(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        zstd::encode_all(b.into_inner().unwrap().as_slice(), 1).unwrap()
    }

    fn raw_header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_old();
        // Write the name bytes directly: the builder's own checks would reject `..`.
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    #[test]
    fn refuses_parent_and_absolute_paths() {
        for bad in ["../evil", "a/../../evil", "/etc/evil"] {
            let a = tar_zst(|b| {
                let h = raw_header(bad, tar::EntryType::Regular, 1);
                b.append(&h, &b"x"[..]).unwrap();
            });
            assert!(
                matches!(check(&a), Err(CheckError::Unsafe(_))),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn refuses_escaping_symlinks_but_keeps_inner_ones() {
        let bad = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "bin/link", "../../outside").unwrap();
        });
        assert!(matches!(check(&bad), Err(CheckError::Unsafe(_))));
        let good = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "bin/link", "../lib/x").unwrap();
        });
        assert!(check(&good).is_ok());
    }

    #[test]
    fn refuses_members_below_an_archived_symlink() {
        // `d/e/l` → `..` is `d`; `d/e/l/m` → `../..` reads as `d` but really is the root's parent.
        let bad = tar_zst(|b| {
            for (path, target) in [("d/e/l", ".."), ("d/e/l/m", "../..")] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        });
        assert!(
            matches!(check(&bad), Err(CheckError::Unsafe(w)) if w.contains("under the symlink `d/e/l`"))
        );
    }

    #[test]
    fn refuses_symlink_targets_with_dotdot_after_a_name() {
        let bad = tar_zst(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "e", "d/l/../..").unwrap();
        });
        assert!(matches!(check(&bad), Err(CheckError::Unsafe(_))));
    }

    #[test]
    fn round_trip_keeps_modes_and_links() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("bin/sub")).unwrap();
        std::fs::write(src.path().join("bin/app"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            src.path().join("bin/app"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(src.path().join("bin/sub/data"), b"d").unwrap();
        std::os::unix::fs::symlink("app", src.path().join("bin/latest")).unwrap();
        std::fs::write(src.path().join("main.go"), b"not an output").unwrap();
        let globs = Globs::new(vec!["bin/**".into()]).unwrap();
        let (archive, n) = create(src.path(), &globs).unwrap();
        assert_eq!(n, 3);
        let dst = tempfile::tempdir().unwrap();
        extract(&archive, dst.path(), check(&archive).ok().unwrap()).unwrap();
        let mode = std::fs::metadata(dst.path().join("bin/app"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(dst.path().join("bin/latest")).unwrap(),
            Path::new("app")
        );
        assert!(!dst.path().join("main.go").exists());
    }
}
