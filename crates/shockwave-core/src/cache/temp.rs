//! The cache's temporary directories (`.tmp-*`): stores, transfers and restores in progress.
//! Each writer holds an exclusive `flock` on the `.writer` file inside its directory for as long
//! as it lives, and the kernel releases it however the process ends (`kill -9` included). So a
//! later run, `prune` or `clean` tells a dead writer's leftovers from a live writer's work without
//! trusting pids or clocks, and removes only the former. A directory without a `.writer` (one
//! being created this instant, or left by an older version) is removed only once it is old.
//!
//! A restore writes each output through a temporary file next to it, in the service's folders.
//! Before its first one it records those folders in a temporary directory of its own (the
//! journal, [`RESTORING`]), so that if it dies half-way the cleanup of that directory also removes
//! its temporary files there ([`archive::remove_dead_temps`]).

use super::*;

/// The lock file a temporary directory's writer holds.
const WRITER: &str = ".writer";
/// In a restore's journal directory: the folders it writes temporary files into.
const RESTORING: &str = "restoring";
/// The largest journal read back; a restore of more folders than fit is not journalled.
const MAX_JOURNAL: u64 = 16 << 20;
/// Fresh names tried before giving up on creating a temporary directory.
const ATTEMPTS: usize = 8;

/// A temporary directory in the cache, removed when dropped. Its writer lock is held until then.
pub struct TempDir {
    path: PathBuf,
    /// Always `Some` until dropped (Windows closes it first, see [`TempDir::drop`]).
    writer: Option<File>,
}

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Windows removes no folder while a file in it is open: there the lock goes first, and a
        // cleaner that takes it meanwhile only removes what this removes anyway.
        if cfg!(windows) {
            self.writer.take();
        }
        // Removed while the lock is still held (the field is dropped after this), so no cleaner
        // ever sees it unlocked before it is gone.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a restore records before it writes temporary files into a service's folders.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    /// The restoring process: its temporary files are named after it.
    pid: u32,
    /// The service root, absolute.
    root: PathBuf,
    /// Folders below `root` (relative; empty for the root itself).
    dirs: Vec<PathBuf>,
}

impl LocalCache {
    /// A fresh temporary directory for `hash`, locked as its writer's. It lives in the cache
    /// directory (same file system as the entries, so placing an entry is a rename).
    pub fn temp_dir(&self, hash: &str) -> Result<TempDir, CacheError> {
        self.ensure_dir()?;
        for _ in 0..ATTEMPTS {
            let path = self.dir.join(temp_dir_name(hash));
            std::fs::create_dir(&path).map_err(io("create a temporary cache entry", &path))?;
            match lock::try_lock(&path.join(WRITER)) {
                Ok(Some(file)) => {
                    return Ok(TempDir {
                        path,
                        writer: Some(file),
                    })
                }
                // A cleaner took the new directory for a dead writer's between the two steps: it
                // removes it; this writer takes another name.
                Ok(None) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&path);
                    return Err(io("lock a temporary cache entry", &path)(e));
                }
            }
        }
        Err(CacheError::Io {
            action: "create a temporary cache entry",
            path: self.dir.clone(),
            source: std::io::Error::other("every name tried was taken"),
        })
    }

    /// Records, before a restore of `hash` writes its first temporary file, the folders below
    /// `root` it writes them into. The journal lives as long as the returned directory; `None`
    /// (with a debug line) when it cannot be written: the restore goes on unjournalled.
    pub(super) fn journal_restore(
        &self,
        hash: &str,
        root: &Path,
        dirs: &[PathBuf],
    ) -> Option<TempDir> {
        let journal = Journal {
            pid: std::process::id(),
            root: std::path::absolute(root).ok()?,
            dirs: dirs.to_vec(),
        };
        // Not synced: it only matters if this process dies, not the machine, and a restore must
        // not wait for the disk.
        let written = self.temp_dir(hash).and_then(|tmp| {
            let path = tmp.path().join(RESTORING);
            let text = serde_json::to_vec(&journal).unwrap_or_default();
            create_new(&path)
                .and_then(|mut f| f.write_all(&text))
                .map_err(io("write a restore's journal", &path))?;
            Ok(tmp)
        });
        match written {
            Ok(tmp) => Some(tmp),
            Err(e) => {
                tracing::debug!("restoring {hash} without a journal: {e}");
                None
            }
        }
    }

    /// Temporary directories (and files) of writes in progress or killed, with their age.
    pub(super) fn temporaries(&self) -> Vec<(PathBuf, Duration)> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TMP_PREFIX))
            .map(|e| {
                let age = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_or(Duration::MAX, |t| t.elapsed().unwrap_or_default());
                (e.path(), age)
            })
            .collect()
    }

    /// Removes the temporary directory `path` (`age` old) if its writer is gone, with the
    /// temporary files a dead restore left in the folders its journal names; whether it did.
    pub(super) fn remove_if_writer_gone(&self, path: &Path, age: Duration) -> bool {
        // Held while removing: a writer that creates a directory by this name meanwhile cannot
        // lock it, and takes another.
        let _lock = match lock::lock_existing(&path.join(WRITER)) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return false,
            // No lock file: a directory being created this instant, one an older version left,
            // or a stray file. Only its age tells.
            Err(_) if age > STALE_TMP => None,
            Err(_) => return false,
        };
        // Windows removes no folder while a file in it is open: there the lock is let go first
        // (a writer that takes the name meanwhile loses its new directory, and fails or retries).
        #[cfg(windows)]
        drop(_lock);
        if let Some(journal) = read_journal(&path.join(RESTORING)) {
            let removed = archive::remove_dead_temps(&journal.root, &journal.dirs, journal.pid);
            if removed > 0 {
                tracing::debug!(
                    "removed {removed} temporary files of a restore into {} that was stopped",
                    journal.root.display()
                );
            }
        }
        entry::remove_any(path);
        std::fs::symlink_metadata(path).is_err()
    }

    /// Removes what writers that are gone left behind: their temporary directories in the cache,
    /// and a dead restore's temporary files among the outputs. Each run that uses the cache
    /// starts with this; it lists the cache directory once. Returns how many it removed.
    pub fn remove_leftovers(&self) -> usize {
        if self.check_dir().is_err() {
            return 0;
        }
        let removed = self
            .temporaries()
            .into_iter()
            .filter(|(path, age)| self.remove_if_writer_gone(path, *age))
            .count();
        if removed > 0 {
            tracing::debug!("removed {removed} temporary directories of writers that are gone");
        }
        removed
    }
}

/// A journal, if `path` is a regular file holding one.
fn read_journal(path: &Path) -> Option<Journal> {
    let file = File::options().read(true).no_follow(true).open(path).ok()?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut text = Vec::new();
    file.take(MAX_JOURNAL).read_to_end(&mut text).ok()?;
    let journal: Journal = serde_json::from_slice(&text).ok()?;
    journal.root.is_absolute().then_some(journal)
}

/// A name for a temporary directory: the hash (to say what it was for), the pid, the time and a
/// counter, so no two writers ever share one.
fn temp_dir_name(hash: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{TMP_PREFIX}{hash}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";

    #[test]
    fn a_temporary_directory_is_removed_only_once_its_writer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let fresh = Duration::from_secs(1);
        let live = cache.temp_dir(HASH).unwrap();
        let path = live.path().to_path_buf();
        // Its writer lives: never removed, however old.
        assert!(!cache.remove_if_writer_gone(&path, Duration::MAX));
        assert!(path.is_dir());
        drop(live);
        assert!(!path.exists(), "a writer removes its own directory");
        // What a killed writer leaves: its lock file, which nobody holds.
        let dead = cache.dir.join(temp_dir_name(HASH));
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join(WRITER), b"").unwrap();
        assert!(cache.remove_if_writer_gone(&dead, fresh));
        assert!(!dead.exists());
        // Without a lock file: only its age tells.
        let odd = cache.dir.join(".tmp-odd");
        std::fs::create_dir(&odd).unwrap();
        assert!(!cache.remove_if_writer_gone(&odd, fresh));
        assert!(cache.remove_if_writer_gone(&odd, STALE_TMP + fresh));
        assert!(!odd.exists());
    }

    #[test]
    fn temporary_names_never_repeat() {
        let names: std::collections::HashSet<String> =
            (0..1000).map(|_| temp_dir_name(HASH)).collect();
        assert_eq!(names.len(), 1000);
    }
}
