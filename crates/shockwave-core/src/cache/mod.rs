//! The local task cache: per task hash, the task's outputs as a tar.zst archive, its captured log
//! and metadata (exit code, duration, sizes, digests). An entry is written to a temporary directory
//! and renamed into place, so a killed run never leaves a partial entry; it is verified before
//! anything is restored — each file must be a regular file of the size its metadata records (checked
//! before it is read, so a FIFO, a device or a huge sparse file costs nothing) with the recorded
//! digest, and decompression stops at the size recorded when it was stored. A corrupt entry is
//! removed and reported as a miss. Restoring writes only the target's declared outputs (see
//! [`archive::Scope`]). A lock per task hash ([`LocalCache::lock`]) makes concurrent runs in one
//! cache wait for each other instead of racing. Callers treat every error here as a warning: the
//! cache is an optimisation and never fails a build. `restore.rs` verifies and restores an entry,
//! `store.rs` writes one; `transfer.rs` turns an entry into one artifact
//! and back for the remote cache (`remote/`), whose downloads come back through [`LocalCache::restore`]
//! like any local entry.

mod archive;
mod entry;
mod lock;
mod maintenance;
pub mod remote;
mod restore;
mod size;
mod store;
mod temp;
mod transfer;

pub use temp::TempDir;

use entry::{open_entry_dir, read_meta};

pub use size::{format_size, parse_size};

use std::fs::File;
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::fd::OwnedFd;
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(unix)]
use rustix::fs::{Mode, OFlags};
#[cfg(unix)]
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::platform::NoFollow;

/// Bump when the entry layout changes; entries of another version are misses, replaced by the next
/// store. 2: sizes of the log and of the uncompressed archive.
const ENTRY_VERSION: u32 = 2;
const META: &str = "meta.json";
const LOG: &str = "log";
const ARCHIVE: &str = "outputs.tar.zst";
/// Lock files, one per task hash, live here.
const LOCKS: &str = ".locks";

/// The folder of parsed `pipeline.toml` files (see `config::parsed`), not task entries.
const CONFIGS: &str = ".config";
/// Temporary directories (and files) of writes in progress, or of killed ones, start with this.
const TMP_PREFIX: &str = ".tmp-";
/// The cache directory's `.gitignore`: everything in it is ignored.
const IGNORE_FILE: &[u8] = b"# shockwave's task cache: never commit it\n*\n";
/// The most of a `.gitignore` read to check it.
const MAX_IGNORE_FILE: u64 = 64 << 10;
/// A `meta.json` is a few hundred bytes; anything much larger is not ours.
const MAX_META: u64 = 64 << 10;
/// Archives whose compressed and uncompressed sizes are both at most this are restored from
/// memory; larger ones stream from disk.
const IN_MEMORY_ARCHIVE: u64 = 16 << 20;
/// A temporary directory without a writer lock (one being created, or an older version's) is
/// stale after this long.
const STALE_TMP: Duration = Duration::from_secs(600);
/// The largest log an entry may hold (it is read whole to be replayed); a task that writes more
/// is not cached.
const MAX_LOG_BYTES: u64 = 256 << 20;
/// The largest uncompressed archive an entry may hold. The sizes come from the entry itself, so
/// they need an absolute bound of their own.
const MAX_TAR_BYTES: u64 = 64 << 30;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to {action} ({path}): {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cache entry {hash} is corrupt ({why}); it was removed and the task runs again")]
    Corrupt { hash: String, why: String },
    #[error("cache entry {hash} was refused: {why}; it was removed and the task runs again")]
    Unsafe { hash: String, why: String },
    #[error("the cache directory {dir} is reached through the symlink {link} inside the repository (a commit could point it anywhere); the cache is not used: remove the link, or pass --cache-dir")]
    LinkedDir { dir: PathBuf, link: PathBuf },
    #[error("gave up after waiting {}s for another run that holds the lock of this task", waited.as_secs())]
    LockTimeout { waited: Duration },
    #[error("not cached: {0}")]
    TooLarge(String),
}

fn io<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> CacheError + 'p {
    move |source| CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What is stored next to the outputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    pub hash: String,
    pub task: String,
    pub exit_code: i32,
    pub duration_ms: u64,
    pub archive_blake3: String,
    pub archive_bytes: u64,
    /// Size of the uncompressed tar stream: decompression stops there.
    pub tar_bytes: u64,
    pub log_blake3: String,
    pub log_bytes: u64,
    pub files: u64,
    pub created_unix: u64,
}

/// A verified hit, after its outputs were restored.
#[derive(Debug)]
pub struct Restored {
    pub meta: Meta,
    pub log: Vec<u8>,
}

/// Summary of the cache directory.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub entries: u64,
    pub bytes: u64,
    /// Sum of the durations of the cached tasks: what one full hit saves.
    pub saved_ms: u64,
    /// Temporary directories of stores that are in progress or were killed.
    pub incomplete: u64,
    pub incomplete_bytes: u64,
}

pub struct LocalCache {
    dir: PathBuf,
    /// Whether `dir` was found to be safe to use (see [`LocalCache::check_dir`]), checked once.
    checked: std::sync::OnceLock<Result<(), (PathBuf, PathBuf)>>,
    /// Set once this process found (or made) the `.gitignore` right.
    ignore_checked: std::sync::OnceLock<()>,
}

impl LocalCache {
    pub fn new(dir: PathBuf) -> Self {
        LocalCache {
            dir,
            checked: std::sync::OnceLock::new(),
            ignore_checked: std::sync::OnceLock::new(),
        }
    }

    /// Refuses a cache directory reached through a symlink that lies inside a git worktree: a
    /// commit can carry `.shockwave -> /home/me`, and `cache clean` would then empty that. A
    /// symlink outside any repository (`--cache-dir /fast/cache` on a linked volume) is the
    /// user's own choice and is followed.
    fn check_dir(&self) -> Result<(), CacheError> {
        let checked = self.checked.get_or_init(|| {
            let Some(repo) = self
                .dir
                .ancestors()
                .skip(1)
                .find(|a| a.join(".git").exists())
            else {
                return Ok(());
            };
            let Ok(below) = self.dir.strip_prefix(repo) else {
                return Ok(());
            };
            let mut at = repo.to_path_buf();
            for part in below.components() {
                at.push(part);
                if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err((self.dir.clone(), at));
                }
            }
            Ok(())
        });
        checked
            .clone()
            .map_err(|(dir, link)| CacheError::LinkedDir { dir, link })
    }

    /// Where the cache keeps parsed configs, if the cache directory may be used at all (see
    /// [`LocalCache::check_dir`]); nothing is created. Statistics and pruning leave that folder
    /// alone; `clean` removes it.
    pub fn config_dir(&self) -> Option<PathBuf> {
        if let Err(e) = self.check_dir() {
            tracing::debug!("no parsed configs in the cache: {e}");
            return None;
        }
        let dir = self.dir.join(CONFIGS);
        // Nothing there yet is fine; a symlink or a file in its place is never read through.
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if !m.is_dir() => {
                tracing::debug!("no parsed configs: {} is not a directory", dir.display());
                None
            }
            _ => Some(dir),
        }
    }

    /// Creates the parsed-config folder as a real directory, with the cache's `.gitignore`; false
    /// when that cannot be done. A symlink or file by that name is never followed or replaced.
    pub fn make_config_dir(&self) -> bool {
        let name = CONFIGS;
        if let Err(e) = self.ensure_dir() {
            tracing::debug!("no {name} in the cache: {e}");
            return false;
        }
        let dir = self.dir.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                tracing::debug!("no {name} in the cache: {e}");
                return false;
            }
        }
        std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir())
    }

    fn entry_dir(&self, hash: &str) -> PathBuf {
        self.dir.join(hash)
    }

    /// Creates the directory, with a `.gitignore` so the cache never shows up as untracked files
    /// (which would change input hashes and slow down status). The `.gitignore` is checked once
    /// per process and repaired when it does not ignore everything ([`ignore_file_is_right`]).
    fn ensure_dir(&self) -> Result<(), CacheError> {
        self.check_dir()?;
        std::fs::create_dir_all(&self.dir).map_err(io("create the cache directory", &self.dir))?;
        if self.ignore_checked.get().is_none() {
            self.repair_ignore_file()?;
            let _ = self.ignore_checked.set(());
        }
        Ok(())
    }

    /// Writes the cache's `.gitignore` unless it already ignores everything. It is written to a
    /// temporary file and renamed into place, so a full disk or a killed run leaves the old file
    /// (or none), never an empty or partial one; the rename replaces whatever had the name (a
    /// symlink is replaced, never written through). A directory by that name is left alone.
    fn repair_ignore_file(&self) -> Result<(), CacheError> {
        let ignore = self.dir.join(".gitignore");
        if ignore_file_is_right(&ignore) {
            return Ok(());
        }
        if std::fs::symlink_metadata(&ignore).is_ok_and(|m| m.is_dir()) {
            tracing::warn!(
                "{} is a directory, so git may list the cache as untracked files; remove it",
                ignore.display()
            );
            return Ok(());
        }
        let failed = |e| io("write the cache's .gitignore", &ignore)(e);
        // Named like the cache's other temporary files, so a killed writer's is cleaned up.
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}gitignore-"))
            .tempfile_in(&self.dir)
            .map_err(failed)?;
        tmp.write_all(IGNORE_FILE)
            .and_then(|()| tmp.as_file().sync_data())
            .map_err(failed)?;
        tmp.persist(&ignore).map_err(|e| failed(e.error))?;
        tracing::debug!("wrote {}", ignore.display());
        Ok(())
    }
}

/// Whether `name` is a task hash (64 lowercase hex digits): the only names the cache writes for
/// entries and lock files, and so the only ones it ever removes.
fn is_hash_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether the `.gitignore` at `path` is a regular file with a line `*`, which makes git ignore
/// everything in the directory. Empty (a first write cut short by a full disk), missing,
/// unreadable, a symlink or anything else: no, and it is rewritten.
fn ignore_file_is_right(path: &Path) -> bool {
    let Ok(file) = File::options().read(true).no_follow(true).open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut text = Vec::new();
    if file.take(MAX_IGNORE_FILE).read_to_end(&mut text).is_err() {
        return false;
    }
    text.split(|&b| b == b'\n')
        .any(|line| line.strip_suffix(b"\r").unwrap_or(line) == b"*")
}

/// Creates a file that did not exist, never through a symlink.
pub(super) fn create_new(path: &Path) -> std::io::Result<File> {
    File::options()
        .write(true)
        .create_new(true)
        .no_follow(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::lock::try_lock;
    use super::*;

    const HASH: &str = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";
    const OTHER_HASH: &str = "11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee11ee";

    #[test]
    fn a_held_lock_makes_others_wait_until_it_is_released_or_they_give_up() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let held = cache.lock(HASH, &|| false).unwrap().unwrap();
        // flock conflicts between descriptors even within one process.
        assert!(cache.lock(HASH, &|| true).unwrap().is_none());
        let other = cache.lock(OTHER_HASH, &|| true).unwrap();
        assert!(other.is_some(), "another hash's lock is independent");
        let waiter = std::thread::scope(|s| {
            let waiter = s.spawn(|| cache.lock(HASH, &|| false).unwrap().is_some());
            std::thread::sleep(Duration::from_millis(100));
            assert!(!waiter.is_finished(), "the second locker did not wait");
            drop(held);
            waiter.join().unwrap()
        });
        assert!(waiter);
    }

    #[test]
    fn idle_lock_files_are_removed_and_held_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let held = cache.lock(HASH, &|| false).unwrap().unwrap();
        drop(cache.lock(OTHER_HASH, &|| false).unwrap());
        cache.remove_idle_locks(|_| true).unwrap();
        let locks = dir.path().join("cache").join(LOCKS);
        assert!(locks.join(HASH).exists());
        assert!(!locks.join(OTHER_HASH).exists());
        // Names the cache never writes are left alone.
        std::fs::write(locks.join("not-a-lock"), b"").unwrap();
        cache.remove_idle_locks(|_| true).unwrap();
        assert!(locks.join("not-a-lock").exists());
        drop(held);
        // A lock file unlinked after it was opened is not trusted: the locker takes the new one.
        let path = locks.join(HASH);
        let first = try_lock(&path).unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
        let second = try_lock(&path).unwrap();
        assert!(
            second.is_some(),
            "a lock on an unlinked file blocked a new locker"
        );
        drop(first);
    }
}
