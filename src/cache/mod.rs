//! The local task cache: per task hash, the task's outputs as a tar.zst archive, its captured log
//! and metadata (exit code, duration, sizes, digests). An entry is written to a temporary directory
//! and renamed into place, so a killed run never leaves a partial entry; it is verified before
//! anything is restored — each file must be a regular file of the size its metadata records (checked
//! before it is read, so a FIFO, a device or a huge sparse file costs nothing) with the recorded
//! digest, and decompression stops at the size recorded when it was stored. A corrupt entry is
//! removed and reported as a miss. Restoring writes only the target's declared outputs (see
//! [`archive::Scope`]). A lock per task hash ([`LocalCache::lock`]) makes concurrent runs in one
//! cache wait for each other instead of racing. Callers treat every error here as a warning: the
//! cache is an optimisation and never fails a build.

mod archive;
mod size;

pub use size::{format_size, parse_size};

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::config::Globs;

/// Bump when the entry layout changes; entries of another version are misses, replaced by the next
/// store. 2: sizes of the log and of the uncompressed archive.
const ENTRY_VERSION: u32 = 2;
const META: &str = "meta.json";
const LOG: &str = "log";
const ARCHIVE: &str = "outputs.tar.zst";
/// Lock files, one per task hash, live here.
const LOCKS: &str = ".locks";
/// Temporary directories of stores in progress (or of killed ones) start with this.
const TMP_PREFIX: &str = ".tmp-";
/// A `meta.json` is a few hundred bytes; anything much larger is not ours.
const MAX_META: u64 = 64 << 10;
/// Archives whose compressed and uncompressed sizes are both at most this are restored from
/// memory; larger ones stream from disk.
const IN_MEMORY_ARCHIVE: u64 = 16 << 20;
/// A temporary directory whose writer cannot be identified is stale after this long.
const STALE_TMP: Duration = Duration::from_secs(600);
/// A temporary directory whose task lock is held (by its writer, or by a later run of the same
/// task) is still stale after this long: no store takes that long.
const STALE_TMP_LOCKED: Duration = Duration::from_secs(3600);

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

/// Only the version, read first: an entry of another version may have another layout.
#[derive(Deserialize)]
struct MetaVersion {
    version: u32,
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

/// The lock on one task hash; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct TaskLock {
    _file: File,
}

pub struct LocalCache {
    dir: PathBuf,
}

/// Why an entry's `meta.json` could not be used.
enum MetaError {
    Missing,
    /// Written by another version of shockwave: a plain miss.
    OtherVersion,
    Corrupt(String),
}

impl LocalCache {
    pub fn new(dir: PathBuf) -> Self {
        LocalCache { dir }
    }

    fn entry_dir(&self, hash: &str) -> PathBuf {
        self.dir.join(hash)
    }

    /// Creates the directory, with a `.gitignore` so the cache never shows up as untracked files
    /// (which would change input hashes and slow down status).
    fn ensure_dir(&self) -> Result<(), CacheError> {
        std::fs::create_dir_all(&self.dir).map_err(io("create the cache directory", &self.dir))?;
        let ignore = self.dir.join(".gitignore");
        // Whatever is there already (even a dangling symlink) is left alone, never written through.
        if std::fs::symlink_metadata(&ignore).is_err() {
            match create_new(&ignore) {
                Ok(mut f) => f
                    .write_all(b"# shockwave's task cache: never commit it\n*\n")
                    .map_err(io("write the cache's .gitignore", &ignore))?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io("write the cache's .gitignore", &ignore)(e)),
            }
        }
        Ok(())
    }

    /// Whether an entry that looks complete exists (metadata readable). Used by `--dry-run`, which
    /// must not read archives; `restore` verifies fully.
    pub fn contains(&self, hash: &str) -> bool {
        open_entry_dir(&self.entry_dir(hash))
            .ok()
            .flatten()
            .is_some_and(|dir| read_meta(&dir).is_ok_and(|m| m.hash == hash))
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
        self.ensure_dir()?;
        let locks = self.dir.join(LOCKS);
        std::fs::create_dir_all(&locks).map_err(io("create the cache's lock directory", &locks))?;
        let path = locks.join(hash);
        let mut pause = Duration::from_millis(10);
        let mut waited = false;
        loop {
            if let Some(file) = try_lock(&path).map_err(io("lock a cache entry", &path))? {
                return Ok(Some(TaskLock { _file: file }));
            }
            if cancelled() {
                return Ok(None);
            }
            if !waited {
                tracing::info!(
                    "waiting for another shockwave run that is running or restoring the task with hash {hash}"
                );
                waited = true;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Verifies the entry for `hash` and restores its outputs under `root`, writing only what the
    /// `outputs` globs match. `Ok(None)` is a plain miss; a corrupt or unsafe entry is removed and
    /// returned as an error (the caller warns and runs the task).
    pub fn restore(
        &self,
        hash: &str,
        root: &Path,
        outputs: &Globs,
    ) -> Result<Option<Restored>, CacheError> {
        let entry = self.entry_dir(hash);
        let corrupt = |why: String| {
            remove_any(&entry);
            CacheError::Corrupt {
                hash: hash.to_string(),
                why,
            }
        };
        let dir = match open_entry_dir(&entry) {
            Ok(Some(dir)) => dir,
            Ok(None) => return Ok(None),
            Err(why) => return Err(corrupt(why)),
        };
        let meta = match read_meta(&dir) {
            Ok(meta) => meta,
            Err(MetaError::Missing) => return Err(corrupt(format!("`{META}` is missing"))),
            // Another version's entry: a miss, replaced by this run's store.
            Err(MetaError::OtherVersion) => return Ok(None),
            Err(MetaError::Corrupt(why)) => return Err(corrupt(why)),
        };
        if meta.hash != hash {
            return Err(corrupt(format!("metadata is for {}", meta.hash)));
        }
        let mut log_file =
            open_entry_file(&dir, LOG, Expect::Exactly(meta.log_bytes)).map_err(corrupt)?;
        let mut log = Vec::with_capacity(meta.log_bytes as usize);
        (&mut log_file)
            .take(meta.log_bytes)
            .read_to_end(&mut log)
            .map_err(|e| corrupt(format!("log unreadable: {e}")))?;
        if blake3::hash(&log).to_hex().as_str() != meta.log_blake3 {
            return Err(corrupt("log digest mismatch".into()));
        }
        let refuse = |why: archive::CheckError| {
            remove_any(&entry);
            match why {
                archive::CheckError::Unsafe(why) => CacheError::Unsafe {
                    hash: hash.to_string(),
                    why,
                },
                archive::CheckError::Corrupt(why) => CacheError::Corrupt {
                    hash: hash.to_string(),
                    why,
                },
            }
        };
        let scope = archive::Scope::new(outputs, root, &self.dir);
        let mismatch = "archive digest mismatch (truncated or modified)";
        let mut file =
            open_entry_file(&dir, ARCHIVE, Expect::Exactly(meta.archive_bytes)).map_err(corrupt)?;
        if meta.archive_bytes <= IN_MEMORY_ARCHIVE && meta.tar_bytes <= IN_MEMORY_ARCHIVE {
            // The common case: read once, decompress once, check and extract from memory.
            let mut compressed = Vec::with_capacity(meta.archive_bytes as usize);
            (&mut file)
                .take(meta.archive_bytes)
                .read_to_end(&mut compressed)
                .map_err(|e| corrupt(format!("archive unreadable: {e}")))?;
            if blake3::hash(&compressed).to_hex().as_str() != meta.archive_blake3 {
                return Err(corrupt(mismatch.into()));
            }
            let mut tar = Vec::with_capacity(meta.tar_bytes as usize);
            zstd::Decoder::new(compressed.as_slice())
                .map(|d| archive::Bounded::new(d, meta.tar_bytes))
                .and_then(|mut d| d.read_to_end(&mut tar))
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            let members = archive::check_tar(tar.as_slice(), &scope).map_err(refuse)?;
            archive::extract_tar(tar.as_slice(), root, members)
                .map_err(io("restore cached outputs", root))?;
        } else {
            // Large outputs stream from disk: memory stays flat whatever their size. The one open
            // descriptor is read three times (digest, check, extract), so a file renamed over the
            // archive meanwhile is never read.
            let mut hasher = blake3::Hasher::new();
            std::io::copy(&mut (&mut file).take(meta.archive_bytes), &mut hasher)
                .map_err(|e| corrupt(format!("archive unreadable: {e}")))?;
            if hasher.finalize().to_hex().as_str() != meta.archive_blake3 {
                return Err(corrupt(mismatch.into()));
            }
            let file = &file;
            let open = move || {
                let mut at = file;
                at.rewind()
                    .and_then(|()| zstd::Decoder::new(file))
                    .map(|d| archive::Bounded::new(d, meta.tar_bytes))
                    .map_err(|e| corrupt(format!("archive unreadable: {e}")))
            };
            let members = archive::check_tar(open()?, &scope).map_err(refuse)?;
            archive::extract_tar(open()?, root, members)
                .map_err(io("restore cached outputs", root))?;
        }
        // Record the use for least-recently-used pruning.
        if let Ok(fd) = rustix::fs::openat(
            &dir,
            META,
            OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = File::from(fd).set_modified(SystemTime::now());
        }
        Ok(Some(Restored { meta, log }))
    }

    /// Stores a successful task's outputs (files under `root` matching `outputs`, minus what no
    /// restore would write) and log. The caller holds the task's [`lock`](Self::lock).
    pub fn store(
        &self,
        hash: &str,
        task: &str,
        root: &Path,
        outputs: &Globs,
        log: &[u8],
        duration: Duration,
    ) -> Result<(), CacheError> {
        self.ensure_dir()?;
        if self.contains(hash) {
            return Ok(());
        }
        let final_dir = self.entry_dir(hash);
        let tmp = self.dir.join(temp_dir_name(hash));
        let result = (|| {
            std::fs::create_dir(&tmp).map_err(io("create a temporary cache entry", &tmp))?;
            let archive_path = tmp.join(ARCHIVE);
            let file =
                create_new(&archive_path).map_err(io("write a cache file", &archive_path))?;
            let out = HashingWriter {
                inner: std::io::BufWriter::new(file),
                hasher: blake3::Hasher::new(),
                bytes: 0,
            };
            let scope = archive::Scope::new(outputs, root, &self.dir);
            let (out, written) = archive::write_archive(root, &scope, out)
                .map_err(io("archive the task's outputs", root))?;
            let (archive_blake3, archive_bytes) = (out.hasher.finalize(), out.bytes);
            out.inner
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_data())
                .map_err(io("flush a cache file", &archive_path))?;
            write_synced(&tmp.join(LOG), log)?;
            let meta = Meta {
                version: ENTRY_VERSION,
                hash: hash.to_string(),
                task: task.to_string(),
                exit_code: 0,
                duration_ms: duration.as_millis() as u64,
                archive_blake3: archive_blake3.to_hex().to_string(),
                archive_bytes,
                tar_bytes: written.tar_bytes,
                log_blake3: blake3::hash(log).to_hex().to_string(),
                log_bytes: log.len() as u64,
                files: written.files,
                created_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs(),
            };
            let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
            write_synced(&tmp.join(META), &json)?;
            // Whatever is in the way is not a usable entry (`contains` said so above, and the
            // caller's lock keeps other writers out): an entry of another version, one without
            // metadata, a plain file.
            if std::fs::symlink_metadata(&final_dir).is_ok() {
                remove_any(&final_dir);
            }
            match std::fs::rename(&tmp, &final_dir) {
                Ok(()) => Ok(()),
                // Another run stored the same hash first: same inputs, same entry; keep theirs.
                Err(_) if self.contains(hash) => Ok(()),
                Err(e) => Err(CacheError::Io {
                    action: "move the cache entry into place",
                    path: final_dir.clone(),
                    source: e,
                }),
            }
        })();
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    /// Lists complete entries with their size, last use and saved time.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime, u64)> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in read.flatten() {
            let path = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let used = std::fs::symlink_metadata(path.join(META))
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            let saved = open_entry_dir(&path)
                .ok()
                .flatten()
                .and_then(|dir| read_meta(&dir).ok())
                .map_or(0, |m| m.duration_ms);
            out.push((path.clone(), flat_size(&path), used, saved));
        }
        out
    }

    /// Temporary directories of stores in progress or killed, with their size and age.
    fn incomplete(&self) -> Vec<(PathBuf, u64, Duration)> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        read.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TMP_PREFIX))
            .map(|e| {
                let path = e.path();
                let age = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_or(Duration::MAX, |t| t.elapsed().unwrap_or_default());
                let size = flat_size(&path);
                (path, size, age)
            })
            .collect()
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for (_, bytes, _, saved) in self.entries() {
            s.entries += 1;
            s.bytes += bytes;
            s.saved_ms += saved;
        }
        for (_, bytes, _) in self.incomplete() {
            s.incomplete += 1;
            s.incomplete_bytes += bytes;
        }
        s
    }

    /// Removes every entry and the leftovers of interrupted writes. Returns what was removed.
    pub fn clean(&self) -> Result<Stats, CacheError> {
        let before = self.stats();
        if self.dir.exists() {
            for e in std::fs::read_dir(&self.dir)
                .map_err(io("list the cache directory", &self.dir))?
                .flatten()
            {
                let name = e.file_name();
                if name == ".gitignore" {
                    continue;
                }
                let p = e.path();
                if name == LOCKS {
                    self.remove_idle_locks(|_| true)?;
                    // Still there only while a lock is held, by a run that is using the cache.
                    let _ = std::fs::remove_dir(&p);
                    continue;
                }
                let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(io("remove a cache entry", &p))?;
            }
        }
        Ok(before)
    }

    /// Removes least recently used entries until the cache holds at most `max_bytes`, and the
    /// temporary directories of stores whose writer is gone. Returns what was removed and what is
    /// left.
    pub fn prune(&self, max_bytes: u64) -> Result<(Stats, Stats), CacheError> {
        let mut removed = Stats::default();
        for (path, bytes, age) in self.incomplete() {
            if self.writer_is_gone(&path, age) && std::fs::remove_dir_all(&path).is_ok() {
                removed.incomplete += 1;
                removed.incomplete_bytes += bytes;
            }
        }
        let mut entries = self.entries();
        entries.sort_by_key(|e| e.2);
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        for (path, bytes, _, saved) in &entries {
            if total <= max_bytes {
                break;
            }
            std::fs::remove_dir_all(path).map_err(io("remove a cache entry", path))?;
            total -= bytes;
            removed.entries += 1;
            removed.bytes += bytes;
            removed.saved_ms += saved;
        }
        // Lock files of entries that are gone, unless a run holds them.
        self.remove_idle_locks(|hash| !self.entry_dir(hash).exists())?;
        Ok((removed, self.stats()))
    }

    /// Whether the store that wrote the temporary directory `path` has ended: its writer holds the
    /// lock of its hash for as long as it runs, so a lock nobody holds means the writer is dead.
    fn writer_is_gone(&self, path: &Path, age: Duration) -> bool {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hash = name
            .strip_prefix(TMP_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(hash) = hash else {
            return age > STALE_TMP;
        };
        match try_lock(&self.dir.join(LOCKS).join(hash)) {
            // Free: the writer is gone. (Held here only for the check.)
            Ok(Some(_held)) => true,
            Ok(None) => age > STALE_TMP_LOCKED,
            Err(_) => age > STALE_TMP,
        }
    }

    /// Removes the lock files whose hash `remove` accepts and that no process holds.
    fn remove_idle_locks(&self, remove: impl Fn(&str) -> bool) -> Result<(), CacheError> {
        let locks = self.dir.join(LOCKS);
        let Ok(read) = std::fs::read_dir(&locks) else {
            return Ok(());
        };
        for e in read.flatten() {
            let name = e.file_name();
            if !remove(&name.to_string_lossy()) {
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

/// A name for a store's temporary directory: the hash (so `prune` can ask the hash's lock whether
/// the writer still runs), the pid, the time and a counter, so no two writers ever share one.
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

/// Takes the exclusive lock on the lock file `path` without waiting; `Ok(None)` when another
/// process (or another descriptor in this one) holds it.
fn try_lock(path: &Path) -> std::io::Result<Option<File>> {
    loop {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        // A cleaner unlinks a lock file only while holding it: if ours was unlinked between the
        // open and the lock, the lock guards nothing anyone else can find. Take the new file.
        let (held, named) = (file.metadata()?, std::fs::symlink_metadata(path));
        if named.is_ok_and(|n| n.ino() == held.ino() && n.dev() == held.dev()) {
            return Ok(Some(file));
        }
    }
}

/// Opens an entry's directory without following a symlink. `Ok(None)`: no entry. `Err`: the
/// entry is not a directory (a plain file, a symlink): corrupt.
fn open_entry_dir(entry: &Path) -> Result<Option<OwnedFd>, String> {
    match rustix::fs::open(
        entry,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
            Err("the entry is not a directory (a file or a symlink is in its place)".into())
        }
        Err(e) => Err(format!("cannot open the entry: {e}")),
    }
}

/// The size an entry file must have.
enum Expect {
    Exactly(u64),
    AtMost(u64),
}

/// Opens `name` in the entry directory for reading and checks it before anything is read: it
/// must be a regular file (not a symlink, a FIFO or a device: opened with `O_NOFOLLOW|O_NONBLOCK`,
/// so neither is followed nor blocks) of the expected size.
fn open_entry_file(dir: &OwnedFd, name: &str, expect: Expect) -> Result<File, String> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::NOENT => format!("`{name}` is missing"),
        Errno::LOOP => format!("`{name}` is a symlink, not a regular file"),
        e => format!("`{name}` unreadable: {e}"),
    })?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| format!("`{name}` unreadable: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "`{name}` is a {}, not a regular file",
            archive::kind_name(meta.mode())
        ));
    }
    match expect {
        Expect::Exactly(n) if meta.len() != n => Err(format!(
            "`{name}` is {} bytes, its metadata records {n} (truncated or modified)",
            meta.len()
        )),
        Expect::AtMost(n) if meta.len() > n => Err(format!(
            "`{name}` is {} bytes, more than the {n} a cache entry's metadata can have",
            meta.len()
        )),
        _ => Ok(file),
    }
}

/// Reads and parses an entry's `meta.json`, bounded in size.
fn read_meta(dir: &OwnedFd) -> Result<Meta, MetaError> {
    let file = open_entry_file(dir, META, Expect::AtMost(MAX_META)).map_err(|why| {
        if why.ends_with("is missing") {
            MetaError::Missing
        } else {
            MetaError::Corrupt(why)
        }
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
fn remove_any(path: &Path) {
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

/// Total size of the files directly in `dir` (entries are flat).
fn flat_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Passes writes through while hashing them, so an archive's digest costs no second read.
struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Creates a file that did not exist, never through a symlink.
fn create_new(path: &Path) -> std::io::Result<File> {
    File::options()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), CacheError> {
    let mut f = create_new(path).map_err(io("write a cache file", path))?;
    f.write_all(data).map_err(io("write a cache file", path))?;
    f.sync_data().map_err(io("flush a cache file", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "00ff";

    #[test]
    fn a_held_lock_makes_others_wait_until_it_is_released_or_they_give_up() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let held = cache.lock(HASH, &|| false).unwrap().unwrap();
        // flock conflicts between descriptors even within one process.
        assert!(cache.lock(HASH, &|| true).unwrap().is_none());
        let other = cache.lock("11ee", &|| true).unwrap();
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
        drop(cache.lock("11ee", &|| false).unwrap());
        cache.remove_idle_locks(|_| true).unwrap();
        let locks = dir.path().join("cache").join(LOCKS);
        assert!(locks.join(HASH).exists());
        assert!(!locks.join("11ee").exists());
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

    #[test]
    fn a_temporary_directory_is_stale_once_its_writer_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        cache.ensure_dir().unwrap();
        let tmp = cache.dir.join(temp_dir_name(HASH));
        let fresh = Duration::from_secs(1);
        let held = cache.lock(HASH, &|| false).unwrap().unwrap();
        assert!(!cache.writer_is_gone(&tmp, fresh));
        assert!(cache.writer_is_gone(&tmp, STALE_TMP_LOCKED + fresh));
        drop(held);
        assert!(cache.writer_is_gone(&tmp, fresh));
        // A name without a hash: only its age tells.
        let odd = cache.dir.join(".tmp-odd");
        assert!(!cache.writer_is_gone(&odd, fresh));
        assert!(cache.writer_is_gone(&odd, STALE_TMP + fresh));
    }

    #[test]
    fn temporary_names_never_repeat() {
        let names: std::collections::HashSet<String> =
            (0..1000).map(|_| temp_dir_name(HASH)).collect();
        assert_eq!(names.len(), 1000);
    }
}
