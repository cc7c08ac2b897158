//! Local entries as one artifact for the remote cache: [`LocalCache::export`] packs an entry's
//! three files (metadata, log, outputs archive) into a plain tar, [`LocalCache::import`] unpacks a
//! downloaded one into a temporary directory of the cache and renames it into place as an entry.
//! Importing checks only the artifact's shape (three known regular files, bounded sizes); what
//! they hold is verified by [`LocalCache::restore`] afterwards, the one verification path for every
//! entry wherever it came from. Nothing here talks to the network.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use super::entry::{open_entry_dir, open_entry_file, read_meta, remove_any, Expect};
use super::{
    create_new, io, CacheError, LocalCache, TempDir, ARCHIVE, LOG, MAX_LOG_BYTES, MAX_META, META,
};

/// Why a downloaded artifact is not an entry.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot unpack: {0}")]
    Unpack(std::io::Error),
    #[error("not a tar: {0}")]
    NotATar(std::io::Error),
    #[error("unexpected member `{0}`")]
    Unexpected(String),
    #[error("`{0}` is not one regular file")]
    NotOneFile(String),
    #[error("`{name}` is {size} bytes, beyond the limit")]
    TooLarge { name: String, size: u64 },
    #[error("truncated: {0}")]
    Unreadable(std::io::Error),
    #[error("`{0}` is truncated")]
    Truncated(String),
    #[error("`{META}` is missing")]
    NoMeta,
    #[error(transparent)]
    Place(#[from] CacheError),
}

impl LocalCache {
    /// Writes `hash`'s entry as a tar to `out`; returns its size and the task's label. `Ok(None)`:
    /// there is no usable entry (pruned meanwhile, another version).
    pub fn export(&self, hash: &str, out: &mut File) -> Result<Option<(u64, String)>, CacheError> {
        self.check_dir()?;
        let Ok(Some(dir)) = open_entry_dir(&self.entry_dir(hash)) else {
            return Ok(None);
        };
        let Ok(meta) = read_meta(&dir) else {
            return Ok(None);
        };
        if meta.hash != hash {
            return Ok(None);
        }
        let json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        let path = self.entry_dir(hash);
        let mut tar = tar::Builder::new(std::io::BufWriter::new(&mut *out));
        append(&mut tar, META, json.len() as u64, json.as_slice(), &path)?;
        for (name, size) in [(LOG, meta.log_bytes), (ARCHIVE, meta.archive_bytes)] {
            let Ok(file) = open_entry_file(&dir, name, Expect::Exactly(size)) else {
                return Ok(None);
            };
            append(&mut tar, name, size, file.take(size), &path)?;
        }
        tar.into_inner()
            .map_err(io("write an artifact", &path))?
            .flush()
            .map_err(io("write an artifact", &path))?;
        let len = out
            .metadata()
            .map_err(io("write an artifact", &path))?
            .len();
        Ok(Some((len, meta.task)))
    }

    /// Unpacks the artifact `tar` for `hash` into `tmp` (from [`temp_dir`](Self::temp_dir)) and
    /// moves it into place as the entry. The caller holds the task's lock and restores (verifies)
    /// the entry next. `Err(why)`: the artifact is not an entry.
    pub fn import(&self, hash: &str, tar: &mut File, tmp: &TempDir) -> Result<(), ImportError> {
        let entry = tmp.path().join("entry");
        std::fs::create_dir(&entry).map_err(ImportError::Unpack)?;
        let mut seen = Vec::new();
        let mut archive = tar::Archive::new(std::io::BufReader::new(tar));
        for file in archive.entries().map_err(ImportError::NotATar)? {
            let mut file = file.map_err(ImportError::NotATar)?;
            let name = file
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let limit = match name.as_str() {
                META => MAX_META,
                LOG => MAX_LOG_BYTES,
                ARCHIVE => u64::MAX,
                _ => return Err(ImportError::Unexpected(name)),
            };
            if !file.header().entry_type().is_file() || seen.contains(&name) {
                return Err(ImportError::NotOneFile(name));
            }
            let size = file.size();
            if size > limit {
                return Err(ImportError::TooLarge { name, size });
            }
            let path = entry.join(&name);
            let mut out = create_new(&path).map_err(ImportError::Unpack)?;
            let copied = std::io::copy(&mut (&mut file).take(size), &mut out)
                .map_err(ImportError::Unreadable)?;
            if copied != size {
                return Err(ImportError::Truncated(name));
            }
            seen.push(name);
        }
        if !seen.iter().any(|n| n == META) {
            return Err(ImportError::NoMeta);
        }
        Ok(self.place(&entry, hash)?)
    }

    /// Renames the complete entry directory `from` into place for `hash`. Whatever is in the way
    /// is not a usable entry (the caller checked, and its lock keeps other writers out): an entry
    /// of another version, one without metadata, a plain file.
    pub(super) fn place(&self, from: &Path, hash: &str) -> Result<(), CacheError> {
        let final_dir = self.entry_dir(hash);
        if std::fs::symlink_metadata(&final_dir).is_ok() {
            remove_any(&final_dir);
        }
        match std::fs::rename(from, &final_dir) {
            Ok(()) => Ok(()),
            // Another run stored the same hash first: same inputs, same entry; keep theirs.
            Err(_) if self.contains(hash) => Ok(()),
            Err(e) => Err(CacheError::Io {
                action: "move the cache entry into place",
                path: final_dir,
                source: e,
            }),
        }
    }
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: impl Read,
    path: &Path,
) -> Result<(), CacheError> {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data)
        .map_err(io("write an artifact", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff";

    fn import(
        cache: &LocalCache,
        build: impl FnOnce(&mut tar::Builder<&mut File>),
    ) -> Result<(), ImportError> {
        let tmp = cache.temp_dir(HASH).unwrap();
        let path = tmp.path().join("artifact.tar");
        let mut file = File::create(&path).unwrap();
        let mut tar = tar::Builder::new(&mut file);
        build(&mut tar);
        tar.finish().unwrap();
        drop(tar);
        cache.import(HASH, &mut File::open(&path).unwrap(), &tmp)
    }

    fn member(tar: &mut tar::Builder<&mut File>, name: &str, kind: tar::EntryType, data: &[u8]) {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_entry_type(kind);
        h.set_mode(0o644);
        tar.append_data(&mut h, name, data).unwrap();
    }

    #[test]
    fn an_artifact_holds_only_the_three_entry_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let refused = [
            import(&cache, |t| {
                member(t, "bin/out", tar::EntryType::Regular, b"x")
            }),
            import(&cache, |t| member(t, META, tar::EntryType::Symlink, b"")),
            import(&cache, |t| {
                member(t, META, tar::EntryType::Regular, b"{}");
                member(t, META, tar::EntryType::Regular, b"{}");
            }),
            import(&cache, |t| {
                member(t, LOG, tar::EntryType::Regular, b"no meta")
            }),
            import(&cache, |t| {
                member(
                    t,
                    META,
                    tar::EntryType::Regular,
                    &vec![b' '; MAX_META as usize + 1],
                )
            }),
        ];
        for r in &refused {
            assert!(r.is_err(), "{refused:?}");
        }
        assert!(
            !cache.entry_dir(HASH).exists(),
            "nothing refused was moved into place"
        );
        // A well-formed one is moved in; what it holds is `restore`'s to check.
        import(&cache, |t| member(t, META, tar::EntryType::Regular, b"{}")).unwrap();
        assert!(cache.entry_dir(HASH).join(META).is_file());
    }
}
