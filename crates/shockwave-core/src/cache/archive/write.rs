//! Writing an archive: walking what the scope admits, without following links, into tar.zst.

use super::*;
use crate::platform::NoFollow;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What [`write_archive`] wrote.
pub struct Written {
    pub files: u64,
    /// Size of the uncompressed tar stream: restoring never inflates more than this.
    pub tar_bytes: u64,
}

/// Archives the files under `root` that `scope` admits into `out` (tar, zstd-compressed), reading
/// each file as a stream. An output that no restore would accept (a symlink leaving the root, a
/// FIFO, a socket, a device) is an error: the task is then not cached, rather than cached in a form
/// that is refused on every later run.
pub fn write_archive<W: Write>(
    root: &Path,
    scope: &Scope,
    out: W,
) -> std::io::Result<(W, Written)> {
    let mut seen = std::collections::BTreeSet::new();
    for start in &scope.starts {
        // Non-UTF-8 starts match no glob (globs are UTF-8), so nothing below them is an output.
        if let Some(start) = start.to_str() {
            // The walk below never follows a link, but reading a start directory would: an
            // output directory that is a symlink (`bin -> /home/me/.ssh`) would archive files
            // from outside the service root, which restoring then makes real.
            if let Some(link) = symlink_on_the_way(root, Path::new(start))? {
                return Err(std::io::Error::other(format!(
                    "output directory `{}` is a symlink; a cache entry holds only what lies inside the service root",
                    link.display()
                )));
            }
            walk(root, start, scope, &mut seen)?;
        }
    }
    let files: Vec<String> = seen.into_iter().collect();
    let encoder = zstd::Encoder::new(out, 3)?;
    let mut builder = tar::Builder::new(Counting {
        inner: encoder,
        bytes: 0,
    });
    builder.follow_symlinks(false);
    let refuse = |rel: &str, why: String| {
        std::io::Error::other(format!(
            "output `{rel}` {why}; a cache entry can hold only regular files, directories and \
             symlinks that stay inside the service root"
        ))
    };
    for rel in &files {
        let full = root.join(rel);
        let meta = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&full)?;
            scope
                .check_symlink(Path::new(rel), &target)
                .map_err(|why| refuse(rel, format!("cannot be cached: {why}")))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            builder.append_link(&mut header, rel, &target)?;
        } else if kind.is_file() {
            // Opened without following a link or blocking on a FIFO swapped in since the walk.
            let file = std::fs::File::options()
                .read(true)
                .no_follow(true)
                .open(&full)?;
            let meta = file.metadata()?;
            if !meta.is_file() {
                return Err(refuse(rel, "stopped being a regular file".into()));
            }
            let len = meta.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(len);
            header.set_mode(crate::platform::mode_bits(&meta) & 0o777);
            // `take` keeps the member exactly as long as its header says, even if the file grows.
            builder.append_data(&mut header, rel, file.take(len))?;
        } else {
            return Err(refuse(rel, format!("is a {}", kind_name(&meta))));
        }
    }
    let counting = builder.into_inner()?;
    let written = Written {
        files: files.len() as u64,
        tar_bytes: counting.bytes,
    };
    Ok((counting.inner.finish()?, written))
}

/// What the file `meta` describes is, in words.
#[cfg(unix)]
pub fn kind_name(meta: &std::fs::Metadata) -> &'static str {
    use rustix::fs::FileType;
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode();
    // The raw mode is 32 bits on Linux and 16 on macOS; the file type bits fit in 16 either way.
    match FileType::from_raw_mode((mode & 0o170000) as _) {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// What the file `meta` describes is, in words.
#[cfg(windows)]
pub fn kind_name(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_file() {
        "regular file"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symlink"
    } else {
        "file of unknown type"
    }
}

/// Counts what passes through (the uncompressed tar stream).
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// [`write_archive`] into memory.
#[cfg(test)]
pub fn create(root: &Path, scope: &Scope) -> std::io::Result<(Vec<u8>, u64)> {
    write_archive(root, scope, Vec::new()).map(|(out, w)| (out, w.files))
}

fn walk(
    root: &Path,
    rel_dir: &str,
    scope: &Scope,
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
            if scope.declared(Path::new(rel_dir)) && scope.forbidden(Path::new(rel_dir)).is_none() {
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
        let rel = crate::paths::join(rel_dir, &name);
        if scope.forbidden(Path::new(&rel)).is_some() {
            continue;
        }
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(root, &rel, scope, out)?;
        } else if scope.declared(Path::new(&rel)) && !is_temp_name(&entry.file_name()) {
            out.insert(rel);
        }
    }
    Ok(())
}

/// The first of `rel` and its parents (below `root`) that is a symlink, if any.
fn symlink_on_the_way(root: &Path, rel: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut at = PathBuf::new();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(root.join(&at)) {
            Ok(m) if m.file_type().is_symlink() => return Ok(Some(at)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn is_temp_name(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes())
}
