//! Reading an entry without trusting it: its directory and files opened without following links
//! or blocking, each checked for type and size before a byte is read.

use super::*;

/// Only the version, read first: an entry of another version may have another layout.
#[derive(Deserialize)]
pub(super) struct MetaVersion {
    version: u32,
}

/// Why an entry's `meta.json` could not be used.
pub(super) enum MetaError {
    Missing,
    /// Written by another version of shockwave: a plain miss.
    OtherVersion,
    Corrupt(String),
}

/// Why an entry's directory or one of its files cannot be used: the entry is corrupt.
#[derive(Debug, thiserror::Error)]
pub(super) enum EntryError {
    #[error("the entry is not a directory (a file or a symlink is in its place)")]
    NotADirectory,
    #[error("cannot open the entry: {0}")]
    Open(std::io::Error),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{0}` is a symlink, not a regular file")]
    Symlink(String),
    #[error("`{name}` unreadable: {source}")]
    Unreadable {
        name: String,
        source: std::io::Error,
    },
    #[error("`{name}` is a {kind}, not a regular file")]
    NotAFile { name: String, kind: &'static str },
    #[error("`{name}` is {size} bytes, its metadata records {expected} (truncated or modified)")]
    WrongSize {
        name: String,
        size: u64,
        expected: u64,
    },
    #[error("`{name}` is {size} bytes, more than the {limit} a cache entry's metadata can have")]
    TooLarge { name: String, size: u64, limit: u64 },
}

impl EntryError {
    fn unreadable(name: &str) -> impl FnOnce(std::io::Error) -> EntryError + '_ {
        move |source| EntryError::Unreadable {
            name: name.to_owned(),
            source,
        }
    }
}

/// An entry's directory, open (on Windows: its path, checked to be a directory and not a link).
#[cfg(unix)]
pub(super) type EntryDir = OwnedFd;
#[cfg(windows)]
pub(super) type EntryDir = PathBuf;

/// Opens an entry's directory without following a symlink. `Ok(None)`: no entry. `Err`: the
/// entry is not a directory (a plain file, a symlink): corrupt.
#[cfg(unix)]
pub(super) fn open_entry_dir(entry: &Path) -> Result<Option<OwnedFd>, EntryError> {
    match rustix::fs::open(
        entry,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::NOTDIR) | Err(Errno::LOOP) => Err(EntryError::NotADirectory),
        Err(e) => Err(EntryError::Open(e.into())),
    }
}

#[cfg(windows)]
pub(super) fn open_entry_dir(entry: &Path) -> Result<Option<PathBuf>, EntryError> {
    match std::fs::symlink_metadata(entry) {
        Ok(m) if m.is_dir() => Ok(Some(entry.to_path_buf())),
        Ok(_) => Err(EntryError::NotADirectory),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EntryError::Open(e)),
    }
}

/// The size an entry file must have.
pub(super) enum Expect {
    Exactly(u64),
    AtMost(u64),
}

/// Opens `name` in the entry directory for reading and checks it before anything is read: it
/// must be a regular file (not a symlink, a FIFO or a device: opened with `O_NOFOLLOW|O_NONBLOCK`,
/// so neither is followed nor blocks) of the expected size.
pub(super) fn open_entry_file(
    dir: &EntryDir,
    name: &str,
    expect: Expect,
) -> Result<File, EntryError> {
    let file = open_in_entry(dir, name)?;
    let meta = file.metadata().map_err(EntryError::unreadable(name))?;
    if !meta.is_file() {
        return Err(EntryError::NotAFile {
            name: name.to_owned(),
            kind: archive::kind_name(&meta),
        });
    }
    match expect {
        Expect::Exactly(n) if meta.len() != n => Err(EntryError::WrongSize {
            name: name.to_owned(),
            size: meta.len(),
            expected: n,
        }),
        Expect::AtMost(n) if meta.len() > n => Err(EntryError::TooLarge {
            name: name.to_owned(),
            size: meta.len(),
            limit: n,
        }),
        _ => Ok(file),
    }
}

/// Opens `name` in the entry directory for reading, without following a link or blocking.
#[cfg(unix)]
fn open_in_entry(dir: &OwnedFd, name: &str) -> Result<File, EntryError> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::NOENT => EntryError::Missing(name.to_owned()),
        Errno::LOOP => EntryError::Symlink(name.to_owned()),
        e => EntryError::unreadable(name)(e.into()),
    })?;
    Ok(File::from(fd))
}

/// Opens `name` in the entry directory for reading; a link in its place is refused.
#[cfg(windows)]
fn open_in_entry(dir: &Path, name: &str) -> Result<File, EntryError> {
    use crate::platform::NoFollow;
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => return Err(EntryError::Symlink(name.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EntryError::Missing(name.to_owned()))
        }
        _ => {}
    }
    File::options()
        .read(true)
        .no_follow(true)
        .open(&path)
        .map_err(EntryError::unreadable(name))
}

/// Reads and parses an entry's `meta.json`, bounded in size.
pub(super) fn read_meta(dir: &EntryDir) -> Result<Meta, MetaError> {
    let file = open_entry_file(dir, META, Expect::AtMost(MAX_META)).map_err(|why| match why {
        EntryError::Missing(_) => MetaError::Missing,
        why => MetaError::Corrupt(why.to_string()),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_META)
        .read_to_end(&mut bytes)
        .map_err(|e| MetaError::Corrupt(format!("`{META}` unreadable: {e}")))?;
    let unreadable = |e: serde_json::Error| MetaError::Corrupt(format!("unreadable metadata: {e}"));
    let version: MetaVersion = serde_json::from_slice(&bytes).map_err(unreadable)?;
    if version.version != ENTRY_VERSION {
        return Err(MetaError::OtherVersion);
    }
    serde_json::from_slice(&bytes).map_err(unreadable)
}

/// Removes an entry whatever it is (directory, file, symlink); errors are ignored, as the next
/// store replaces whatever is left.
pub(super) fn remove_any(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}
