//! Locks per task hash: `flock` on `.locks/HASH`, held while a task is restored, or run and
//! stored, so concurrent runs sharing a cache wait for each other instead of racing.

use super::*;

/// Waiting this long for another run's lock on a task earns a warning...
const LOCK_WARN_AFTER: Duration = Duration::from_secs(5);
/// ...and after this long the task runs without the lock (and without the cache's help): a
/// stopped run in another terminal must not hang every later one.
const LOCK_GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// The lock on one task hash; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct TaskLock {
    _file: File,
}

/// Takes the exclusive lock on the lock file `path` without waiting; `Ok(None)` when another
/// process (or another descriptor in this one) holds it.
pub(super) fn try_lock(path: &Path) -> std::io::Result<Option<File>> {
    loop {
        let mut options = File::options();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o666);
        let file = options.no_follow(false).open(path)?;
        if !lock_now(&file)? {
            return Ok(None);
        }
        // A cleaner unlinks a lock file only while holding it: if ours was unlinked between the
        // open and the lock, the lock guards nothing anyone else can find. Take the new file.
        if still_named(&file, path)? {
            return Ok(Some(file));
        }
    }
}

/// Takes the exclusive lock on the existing lock file `path` without waiting and without
/// creating it; `Ok(None)` when another process holds it (or the name was replaced meanwhile),
/// `Err` when there is no such regular file.
pub(super) fn lock_existing(path: &Path) -> std::io::Result<Option<File>> {
    let file = File::options().read(true).no_follow(true).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a lock file"));
    }
    if !lock_now(&file)? {
        return Ok(None);
    }
    Ok(still_named(&file, path)?.then_some(file))
}

/// Takes the exclusive lock on `file` without waiting: `false` when another holds it.
#[cfg(unix)]
fn lock_now(file: &File) -> std::io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Takes the exclusive lock on `file` without waiting (`LockFileEx`): `false` when another
/// holds it.
#[cfg(windows)]
#[expect(
    clippy::incompatible_msrv,
    reason = "Windows builds need Rust 1.89, which has `File::try_lock`; the README says so"
)]
fn lock_now(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Whether `path` still names the open `file`.
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> std::io::Result<bool> {
    let (held, named) = (file.metadata()?, std::fs::symlink_metadata(path));
    Ok(named.is_ok_and(|n| n.ino() == held.ino() && n.dev() == held.dev()))
}

/// Whether `path` still names a lock file. Windows's std gives no file identity to compare, so
/// a lock file removed and recreated between the open and the lock is not noticed there.
#[cfg(windows)]
fn still_named(_file: &File, path: &Path) -> std::io::Result<bool> {
    Ok(std::fs::symlink_metadata(path).is_ok_and(|n| n.is_file()))
}

impl LocalCache {
    /// The lock directory, created as a real directory: anything else by that name (a symlink
    /// planted to make `clean` unlink files elsewhere) is removed first.
    pub(super) fn locks_dir(&self) -> Result<PathBuf, CacheError> {
        let locks = self.dir.join(LOCKS);
        match std::fs::symlink_metadata(&locks) {
            Ok(m) if m.is_dir() => return Ok(locks),
            Ok(_) => {
                std::fs::remove_file(&locks).map_err(io("remove a non-directory .locks", &locks))?
            }
            Err(_) => {}
        }
        match std::fs::create_dir(&locks) {
            Ok(()) => Ok(locks),
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && std::fs::symlink_metadata(&locks).is_ok_and(|m| m.is_dir()) =>
            {
                Ok(locks)
            }
            Err(e) => Err(io("create the cache's lock directory", &locks)(e)),
        }
    }

    /// Takes the lock on `hash`, waiting while another process (or thread) holds it, for as long
    /// as `cancelled` says no. Hold it across [`restore`](Self::restore) and across running the
    /// task and [`store`](Self::store): a concurrent run of the same task then waits and restores
    /// what the first one stored. `Ok(None)`: cancelled while waiting.
    pub fn lock(
        &self,
        hash: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<TaskLock>, CacheError> {
        self.lock_with_limits(hash, cancelled, LOCK_WARN_AFTER, LOCK_GIVE_UP_AFTER)
    }

    pub(super) fn lock_with_limits(
        &self,
        hash: &str,
        cancelled: &dyn Fn() -> bool,
        warn_after: Duration,
        give_up_after: Duration,
    ) -> Result<Option<TaskLock>, CacheError> {
        self.ensure_dir()?;
        let path = self.locks_dir()?.join(hash);
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(10);
        let mut warned = false;
        loop {
            if let Some(file) = try_lock(&path).map_err(io("lock a cache entry", &path))? {
                return Ok(Some(TaskLock { _file: file }));
            }
            if cancelled() {
                return Ok(None);
            }
            let waited = started.elapsed();
            if waited >= give_up_after {
                return Err(CacheError::LockTimeout { waited });
            }
            if !warned && waited >= warn_after {
                tracing::warn!(
                    "waiting for another shockwave run that is running or restoring the task with hash {hash} (lock {}); after {}s this run goes on without the cache",
                    path.display(),
                    give_up_after.as_secs()
                );
                warned = true;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Removes the lock files whose hash `remove` accepts and that no process holds.
    pub(super) fn remove_idle_locks(
        &self,
        remove: impl Fn(&str) -> bool,
    ) -> Result<(), CacheError> {
        let locks = self.dir.join(LOCKS);
        // Never listed through a link: a `.locks` symlink would have this unlink files elsewhere.
        if !std::fs::symlink_metadata(&locks).is_ok_and(|m| m.is_dir()) {
            return Ok(());
        }
        let Ok(read) = std::fs::read_dir(&locks) else {
            return Ok(());
        };
        for e in read.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !is_hash_name(&name) || !remove(&name) {
                continue;
            }
            let path = e.path();
            // Unlinked while held, so a process that opened it meanwhile sees it is stale.
            if let Ok(Some(_held)) = try_lock(&path) {
                std::fs::remove_file(&path).map_err(io("remove a cache lock file", &path))?;
            }
        }
        Ok(())
    }
}
