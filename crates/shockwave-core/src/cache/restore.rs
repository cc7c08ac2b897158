//! Restoring an entry: every file of it checked before it is read (a regular file of the size
//! its metadata records), the log's and the archive's digests verified, the archive checked
//! member by member against the target's outputs and only then extracted, from memory or, when
//! large, streamed from disk. A corrupt or unsafe entry is removed and reported; a plain miss is
//! `None`.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[cfg(unix)]
use rustix::fs::{Mode, OFlags};

use super::entry::{open_entry_dir, open_entry_file, read_meta, remove_any, Expect, MetaError};
use super::{
    archive, format_size, CacheError, LocalCache, Restored, ARCHIVE, IN_MEMORY_ARCHIVE, LOG,
    MAX_LOG_BYTES, MAX_TAR_BYTES, META,
};
use crate::config::Globs;
#[cfg(windows)]
use crate::platform::NoFollow;

impl LocalCache {
    /// Whether an entry that looks complete exists (metadata readable). Used by `--dry-run`, which
    /// must not read archives; `restore` verifies fully.
    pub fn contains(&self, hash: &str) -> bool {
        self.check_dir().is_ok()
            && open_entry_dir(&self.entry_dir(hash))
                .ok()
                .flatten()
                .is_some_and(|dir| read_meta(&dir).is_ok_and(|m| m.hash == hash))
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
        self.check_dir()?;
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
            Err(why) => return Err(corrupt(why.to_string())),
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
        if meta.log_bytes > MAX_LOG_BYTES || meta.tar_bytes > MAX_TAR_BYTES {
            return Err(corrupt(format!(
                "it records a {} log and {} of outputs, beyond the limits ({} and {})",
                format_size(meta.log_bytes),
                format_size(meta.tar_bytes),
                format_size(MAX_LOG_BYTES),
                format_size(MAX_TAR_BYTES)
            )));
        }
        // An entry that passed every check but cannot be written out (a file where the archive
        // has a directory, a full disk) is removed too: kept, it would fail the same way on every
        // run, and the fresh store after the task runs could never replace it.
        let unrestorable = |source: std::io::Error| {
            remove_any(&entry);
            CacheError::Io {
                action: "restore cached outputs",
                path: root.to_path_buf(),
                source,
            }
        };
        let mut log_file = open_entry_file(&dir, LOG, Expect::Exactly(meta.log_bytes))
            .map_err(|e| corrupt(e.to_string()))?;
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
        // Kept until the restore ends: should it die half-way, the journal names the folders
        // holding its temporary files, for the next run to clean up.
        let mut journal = None;
        let mut record = |dirs: &[PathBuf]| journal = self.journal_restore(hash, root, dirs);
        let mut file = open_entry_file(&dir, ARCHIVE, Expect::Exactly(meta.archive_bytes))
            .map_err(|e| corrupt(e.to_string()))?;
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
            archive::extract_tar(tar.as_slice(), root, &members, &mut record)
                .map_err(unrestorable)?;
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
            archive::extract_tar(open()?, root, &members, &mut record).map_err(unrestorable)?;
        }
        // Record the use for least-recently-used pruning.
        #[cfg(unix)]
        if let Ok(fd) = rustix::fs::openat(
            &dir,
            META,
            OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = File::from(fd).set_modified(SystemTime::now());
        }
        #[cfg(windows)]
        if let Ok(file) = File::options()
            .write(true)
            .no_follow(true)
            .open(dir.join(META))
        {
            let _ = file.set_modified(SystemTime::now());
        }
        Ok(Some(Restored { meta, log }))
    }
}
