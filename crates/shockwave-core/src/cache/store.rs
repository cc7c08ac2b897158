//! Storing an entry: the outputs archived and hashed in one pass, the log and the metadata written
//! and synced in a temporary directory, then renamed into place whole, so a killed run never
//! leaves a partial entry. An entry over the size limits is not stored.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    archive, create_new, format_size, io, CacheError, LocalCache, Meta, ARCHIVE, ENTRY_VERSION,
    LOG, MAX_LOG_BYTES, MAX_TAR_BYTES, META,
};
use crate::config::Globs;

impl LocalCache {
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
        if log.len() as u64 > MAX_LOG_BYTES {
            return Err(CacheError::TooLarge(format!(
                "the task's log is {}, more than the {} an entry may hold",
                format_size(log.len() as u64),
                format_size(MAX_LOG_BYTES)
            )));
        }
        // The entry is written in a folder of a locked temporary directory, which is removed
        // (with whatever a failure left in it) when dropped.
        let tmp = self.temp_dir(hash)?;
        let tmp = tmp.path().join("entry");
        {
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
            if written.tar_bytes > MAX_TAR_BYTES {
                return Err(CacheError::TooLarge(format!(
                    "the task's outputs are {}, more than the {} an entry may hold",
                    format_size(written.tar_bytes),
                    format_size(MAX_TAR_BYTES)
                )));
            }
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
            self.place(&tmp, hash)
        }
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

fn write_synced(path: &Path, data: &[u8]) -> Result<(), CacheError> {
    let mut f = create_new(path).map_err(io("write a cache file", path))?;
    f.write_all(data).map_err(io("write a cache file", path))?;
    f.sync_data().map_err(io("flush a cache file", path))
}
