//! The local task cache: per task hash, the task's outputs as a tar.zst archive, its captured log
//! and metadata (exit code, duration, digests). An entry is written to a temporary directory and
//! renamed into place, so a killed run never leaves a partial entry; it is verified (digests) before
//! anything is restored, and a corrupt entry is removed and reported as a miss. Restoring writes
//! only the target's declared outputs (see [`archive::Scope`]). Callers treat every error here as a
//! warning: the cache is an optimisation and never fails a build.

mod archive;
mod size;

pub use size::{format_size, parse_size};

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Globs;

/// Bump when the entry layout changes; entries of another version are misses.
const ENTRY_VERSION: u32 = 1;
const META: &str = "meta.json";
const LOG: &str = "log";
const ARCHIVE: &str = "outputs.tar.zst";
/// Archives up to this size (compressed) are restored from memory; larger ones stream from disk.
const IN_MEMORY_ARCHIVE: u64 = 16 << 20;

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
    pub log_blake3: String,
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
}

pub struct LocalCache {
    dir: PathBuf,
}

impl LocalCache {
    pub fn new(dir: PathBuf) -> Self {
        LocalCache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_dir(&self, hash: &str) -> PathBuf {
        self.dir.join(hash)
    }

    /// Creates the directory, with a `.gitignore` so the cache never shows up as untracked files
    /// (which would change input hashes and slow down status).
    fn ensure_dir(&self) -> Result<(), CacheError> {
        std::fs::create_dir_all(&self.dir).map_err(io("create the cache directory", &self.dir))?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# shockwave's task cache: never commit it\n*\n")
                .map_err(io("write the cache's .gitignore", &ignore))?;
        }
        Ok(())
    }

    /// Whether an entry that looks complete exists (metadata readable). Used by `--dry-run`, which
    /// must not read archives; `restore` verifies fully.
    pub fn contains(&self, hash: &str) -> bool {
        self.read_meta(hash)
            .is_ok_and(|m| m.version == ENTRY_VERSION && m.hash == hash)
    }

    fn read_meta(&self, hash: &str) -> Result<Meta, String> {
        let path = self.entry_dir(hash).join(META);
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable metadata: {e}"))
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
        if !entry.join(META).exists() {
            return Ok(None);
        }
        let corrupt = |why: String| {
            let _ = std::fs::remove_dir_all(&entry);
            CacheError::Corrupt {
                hash: hash.to_string(),
                why,
            }
        };
        let meta = self.read_meta(hash).map_err(corrupt)?;
        if meta.version != ENTRY_VERSION || meta.hash != hash {
            return Err(corrupt(format!(
                "metadata is for {} version {}",
                meta.hash, meta.version
            )));
        }
        let archive_path = entry.join(ARCHIVE);
        let log =
            std::fs::read(entry.join(LOG)).map_err(|e| corrupt(format!("log unreadable: {e}")))?;
        if blake3::hash(&log).to_hex().as_str() != meta.log_blake3 {
            return Err(corrupt("log digest mismatch".into()));
        }
        let refuse = |why: archive::CheckError| {
            let _ = std::fs::remove_dir_all(&entry);
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
        if meta.archive_bytes <= IN_MEMORY_ARCHIVE {
            // The common case: read once, decompress once, check and extract from memory.
            let compressed = std::fs::read(&archive_path)
                .map_err(|e| corrupt(format!("archive unreadable: {e}")))?;
            if compressed.len() as u64 != meta.archive_bytes
                || blake3::hash(&compressed).to_hex().as_str() != meta.archive_blake3
            {
                return Err(corrupt(mismatch.into()));
            }
            let tar = zstd::decode_all(compressed.as_slice())
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            let members = archive::check_tar(tar.as_slice(), &scope).map_err(refuse)?;
            archive::extract_tar(tar.as_slice(), root, members)
                .map_err(io("restore cached outputs", root))?;
        } else {
            // Large outputs stream from disk: memory stays flat whatever their size.
            let (digest, bytes) = digest_file(&archive_path)
                .map_err(|e| corrupt(format!("archive unreadable: {e}")))?;
            if bytes != meta.archive_bytes || digest != meta.archive_blake3 {
                return Err(corrupt(mismatch.into()));
            }
            let open = || {
                std::fs::File::open(&archive_path)
                    .and_then(|f| zstd::Decoder::new(std::io::BufReader::new(f)))
                    .map_err(|e| corrupt(format!("archive unreadable: {e}")))
            };
            let members = archive::check_tar(open()?, &scope).map_err(refuse)?;
            archive::extract_tar(open()?, root, members)
                .map_err(io("restore cached outputs", root))?;
        }
        // Record the use for least-recently-used pruning.
        if let Ok(f) = std::fs::File::options().write(true).open(entry.join(META)) {
            let _ = f.set_modified(SystemTime::now());
        }
        Ok(Some(Restored { meta, log }))
    }

    /// Stores a successful task's outputs (files under `root` matching `outputs`, minus what no
    /// restore would write) and log.
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
        let final_dir = self.entry_dir(hash);
        if final_dir.join(META).exists() {
            return Ok(());
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let tmp = self
            .dir
            .join(format!(".tmp-{hash}-{}-{nanos}", std::process::id()));
        let result = (|| {
            std::fs::create_dir_all(&tmp).map_err(io("create a temporary cache entry", &tmp))?;
            let archive_path = tmp.join(ARCHIVE);
            let file = std::fs::File::create(&archive_path)
                .map_err(io("write a cache file", &archive_path))?;
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
                log_blake3: blake3::hash(log).to_hex().to_string(),
                files: written.files,
                created_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs(),
            };
            let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
            write_synced(&tmp.join(META), &json)?;
            match std::fs::rename(&tmp, &final_dir) {
                Ok(()) => Ok(()),
                // Another run stored the same hash first: same inputs, same entry; keep theirs.
                Err(_) if final_dir.join(META).exists() => Ok(()),
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
            if name.starts_with('.') || !path.is_dir() {
                continue;
            }
            let meta_path = path.join(META);
            let used = std::fs::metadata(&meta_path)
                .and_then(|m| m.modified())
                .unwrap_or(UNIX_EPOCH);
            let saved = self.read_meta(&name).map(|m| m.duration_ms).unwrap_or(0);
            let bytes: u64 = std::fs::read_dir(&path)
                .map(|r| {
                    r.flatten()
                        .filter_map(|f| f.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            out.push((path, bytes, used, saved));
        }
        out
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for (_, bytes, _, saved) in self.entries() {
            s.entries += 1;
            s.bytes += bytes;
            s.saved_ms += saved;
        }
        s
    }

    /// Removes every entry (and leftovers of interrupted writes). Returns what was removed.
    pub fn clean(&self) -> Result<Stats, CacheError> {
        let before = self.stats();
        if self.dir.exists() {
            for e in std::fs::read_dir(&self.dir)
                .map_err(io("list the cache directory", &self.dir))?
                .flatten()
            {
                if e.file_name() == ".gitignore" {
                    continue;
                }
                let p = e.path();
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(io("remove a cache entry", &p))?;
            }
        }
        Ok(before)
    }

    /// Removes least recently used entries until the cache holds at most `max_bytes`; also removes
    /// temporary directories of interrupted writes older than an hour.
    pub fn prune(&self, max_bytes: u64) -> Result<(Stats, Stats), CacheError> {
        if let Ok(read) = std::fs::read_dir(&self.dir) {
            for e in read.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(3600));
                if e.file_name().to_string_lossy().starts_with(".tmp-") && stale {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let mut entries = self.entries();
        entries.sort_by_key(|e| e.2);
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        let mut removed = Stats::default();
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
        Ok((removed, self.stats()))
    }
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

/// The blake3 digest (hex) and length of a file, read as a stream.
fn digest_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut file = std::fs::File::open(path)?;
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hasher.finalize().to_hex().to_string(), bytes))
}

fn write_synced(path: &Path, data: &[u8]) -> Result<(), CacheError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(io("write a cache file", path))?;
    f.write_all(data).map_err(io("write a cache file", path))?;
    f.sync_data().map_err(io("flush a cache file", path))
}
