//! Looking after the cache directory: what it holds (`stats`), and removing entries (`clean`,
//! `prune`) — only ever what the cache itself wrote.

use super::*;

impl LocalCache {
    /// Lists complete entries with their size, last use and saved time.
    pub(super) fn entries(&self) -> Vec<(PathBuf, u64, SystemTime, u64)> {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in read.flatten() {
            let path = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !is_hash_name(&name) || !e.file_type().is_ok_and(|t| t.is_dir()) {
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
    pub(super) fn incomplete(&self) -> Vec<(PathBuf, u64, Duration)> {
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
        self.check_dir()?;
        let before = self.stats();
        if self.dir.exists() {
            for e in std::fs::read_dir(&self.dir)
                .map_err(io("list the cache directory", &self.dir))?
                .flatten()
            {
                let name = e.file_name();
                let p = e.path();
                if name == CONFIGS {
                    // Never followed: a `.config` that is not a real directory stays. Another
                    // command may be storing a config meanwhile: what is left is re-made anyway.
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        if let Err(e) = std::fs::remove_dir_all(&p) {
                            tracing::debug!(
                                "parsed configs in {} not all removed: {e}",
                                p.display()
                            );
                        }
                    }
                    continue;
                }
                if name == LOCKS {
                    self.remove_idle_locks(|_| true)?;
                    // Still there only while a lock is held, by a run that is using the cache.
                    let _ = std::fs::remove_dir(&p);
                    continue;
                }
                // Only what the cache itself writes is removed: whatever else someone put in the
                // directory is theirs.
                let lossy = name.to_string_lossy();
                if !is_hash_name(&lossy) && !lossy.starts_with(TMP_PREFIX) {
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
        self.check_dir()?;
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
}

/// Total size of the files directly in `dir` (entries are flat).
pub(super) fn flat_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
