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

    /// Temporary directories of writes in progress or killed, with their size and age.
    pub(super) fn incomplete(&self) -> Vec<(PathBuf, u64, Duration)> {
        self.temporaries()
            .into_iter()
            .map(|(path, age)| {
                let size = tree_size(&path);
                (path, size, age)
            })
            .collect()
    }

    /// Removes the temporary directories whose writer is gone (see [`temp`](super::temp)),
    /// counting them into `removed`.
    fn remove_incomplete(&self, removed: &mut Stats) {
        for (path, bytes, age) in self.incomplete() {
            if self.remove_if_writer_gone(&path, age) {
                removed.incomplete += 1;
                removed.incomplete_bytes += bytes;
            }
        }
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

    /// Removes every entry and the leftovers of interrupted writes (a live writer's temporary
    /// directory stays). Returns what was removed.
    pub fn clean(&self) -> Result<Stats, CacheError> {
        self.check_dir()?;
        let mut removed = Stats::default();
        self.remove_incomplete(&mut removed);
        for (_, bytes, _, saved) in self.entries() {
            removed.entries += 1;
            removed.bytes += bytes;
            removed.saved_ms += saved;
        }
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
                // directory is theirs. Temporary directories were handled above.
                if !is_hash_name(&name.to_string_lossy()) {
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
        Ok(removed)
    }

    /// Removes least recently used entries until the cache holds at most `max_bytes`, and the
    /// temporary directories of stores whose writer is gone. Returns what was removed and what is
    /// left.
    pub fn prune(&self, max_bytes: u64) -> Result<(Stats, Stats), CacheError> {
        self.check_dir()?;
        let mut removed = Stats::default();
        self.remove_incomplete(&mut removed);
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

/// Total size of the files in the temporary directory (or file) `path`: an entry being written
/// sits in a folder of it. Symlinks are not followed.
fn tree_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(p) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(read) = std::fs::read_dir(&p) {
                pending.extend(read.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    total
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
