//! The parsed form of a `pipeline.toml`, kept between runs so that an unchanged file is not parsed
//! as TOML again: with thousands of services the parse is most of the cost of loading the config.
//!
//! An entry is the [`RawConfig`] in postcard, in one file per config path in the local cache's
//! `.config` folder. It is used only when it is a regular file (never read through a symlink),
//! its key matches, its checksum holds, it decodes to the end, and every span it carries lies on
//! character boundaries of the text. The key is the blake3 of the config's exact text and this
//! executable's identity, including its inode and change time: a rebuilt or reinstalled binary
//! misses, and an entry made elsewhere (one a commit carries into the worktree) cannot know the
//! key. Anything else is a miss, and the file is parsed as usual. Only a config that went on to validate is stored, so a file with a `token` (always
//! refused) never reaches the disk. Validation runs on every load, hit or miss, so its answers (roots
//! that exist, names that resolve) are never taken from the cache.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::raw::{RawConfig, RawTarget, SpannedStr};
use super::roots::parents_to_list;
use crate::platform::NoFollow;

/// The first bytes of every entry; the last byte is the layout's version.
const MAGIC: &[u8; 8] = b"swcfg\0\0\x01";

/// Magic, key and checksum.
const HEADER: usize = 8 + 32 + 32;

/// Where the parsed form of one config file is kept, and the key its text gives it.
pub(super) struct Slot {
    file: PathBuf,
    key: [u8; 32],
}

impl Slot {
    /// The slot for the config at `config` (whose text is `text`) in `dir`; `None` when this
    /// executable cannot be identified, as a rebuilt binary may read the file differently.
    pub(super) fn new(dir: &Path, config: &Path, text: &str) -> Option<Slot> {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let mut key = blake3::Hasher::new();
        key.update(MAGIC);
        key.update(env!("CARGO_PKG_VERSION").as_bytes());
        key.update(exe.as_os_str().as_encoded_bytes());
        key.update(&meta.len().to_le_bytes());
        key.update(&mtime.as_nanos().to_le_bytes());
        // A rebuilt binary copied over the old one keeps neither its inode nor its ctime. Windows
        // has neither: the size and modification time above stand for the build there.
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            for n in [meta.dev(), meta.ino()] {
                key.update(&n.to_le_bytes());
            }
            for n in [meta.ctime(), meta.ctime_nsec()] {
                key.update(&n.to_le_bytes());
            }
        }
        key.update(&(text.len() as u64).to_le_bytes());
        key.update(text.as_bytes());
        let config = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
        let name = blake3::hash(config.as_os_str().as_encoded_bytes()).to_hex();
        Some(Slot {
            file: dir.join(format!("config-{}.bin", &name[..16])),
            key: *key.finalize().as_bytes(),
        })
    }

    /// The parsed form of `text` stored in this slot, if a sound one is there.
    #[cfg(test)]
    pub(super) fn load(&self, text: &str) -> Option<RawConfig> {
        self.read(text)?.decode(text)
    }

    /// The entry in this slot for `text`, checked but not yet decoded.
    pub(super) fn read(&self, text: &str) -> Option<Entry> {
        let miss = |why: &str| {
            tracing::debug!("parsed config {}: {why}", self.file.display());
            None
        };
        // Never through a symlink, never a FIFO or device (which could block or never end).
        let Ok(file) = std::fs::File::options()
            .read(true)
            .no_follow(true)
            .open(&self.file)
        else {
            return miss("not there, or not a plain file");
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return miss("not a regular file");
        }
        // The parsed form is never much larger than the text (spans and lengths are varints).
        let limit = (text.len() as u64).saturating_mul(8) + 65_536 + HEADER as u64;
        let mut bytes = Vec::new();
        if file.take(limit + 1).read_to_end(&mut bytes).is_err() {
            return miss("unreadable");
        }
        if bytes.len() as u64 > limit || bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return miss("not an entry of this layout");
        }
        if bytes[8..40] != self.key {
            return miss("made from another text or another build");
        }
        let payload = &bytes[HEADER..];
        if blake3::hash(payload).as_bytes() != &bytes[40..72] {
            return miss("checksum does not match");
        }
        let (parents, rest) = match postcard::take_from_bytes::<Vec<String>>(payload) {
            Ok(decoded) => decoded,
            Err(e) => return miss(&format!("does not decode: {e}")),
        };
        let raw_at = bytes.len() - rest.len();
        Some(Entry {
            file: self.file.clone(),
            bytes,
            raw_at,
            parents,
        })
    }

    /// The entry for `raw`, ready to [`Slot::store`]; `None` for a config this cache leaves alone
    /// (one with `discover` or a `token`, whose free-form values postcard cannot read back).
    /// The root folders to list come first, so that listing them can start before the rest
    /// is decoded.
    pub(super) fn encode(&self, raw: &RawConfig) -> Option<Vec<u8>> {
        let free_form = raw.workspace.discover.is_some()
            || raw.remote_cache.as_ref().is_some_and(|r| r.token.is_some());
        if free_form {
            return None;
        }
        let parents = parents_to_list(
            raw.services
                .values()
                .filter_map(|s| s.root.as_ref().map(|r| r.get_ref().as_str())),
        );
        let mut payload = postcard::to_allocvec(&parents).ok()?;
        payload.extend(postcard::to_allocvec(raw).ok()?);
        let mut entry = Vec::with_capacity(HEADER + payload.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&self.key);
        entry.extend_from_slice(blake3::hash(&payload).as_bytes());
        entry.extend_from_slice(&payload);
        Some(entry)
    }

    /// Writes `entry` whole or not at all (a temporary file renamed over the slot). A failure is
    /// only a debug line: the next run parses the file again. The folder must exist (the cache
    /// makes it: `LocalCache::config_dir`).
    pub(super) fn store(&self, entry: &[u8]) {
        let write = || -> std::io::Result<()> {
            let dir = self.file.parent().unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut tmp, entry)?;
            tmp.persist(&self.file).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!("parsed config not stored in {}: {e}", self.file.display());
        }
    }
}

/// A stored entry whose key and checksum hold: the root folders its config lists, and the
/// parsed config still to decode.
pub(super) struct Entry {
    file: PathBuf,
    bytes: Vec<u8>,
    raw_at: usize,
    /// The parent folders validation lists (see `roots`), as the text gives them.
    pub(super) parents: Vec<String>,
}

impl Entry {
    /// The parsed config, if it decodes to the last byte with every span inside `text`.
    pub(super) fn decode(&self, text: &str) -> Option<RawConfig> {
        let miss = |why: &str| {
            tracing::debug!("parsed config {}: {why}", self.file.display());
            None
        };
        let raw = match postcard::take_from_bytes::<RawConfig>(&self.bytes[self.raw_at..]) {
            Ok((raw, [])) => raw,
            Ok(_) => return miss("trailing bytes"),
            Err(e) => return miss(&format!("does not decode: {e}")),
        };
        if !spans_fit(&raw, text) {
            return miss("a span lies outside the text");
        }
        tracing::debug!("parsed config reused from {}", self.file.display());
        Some(raw)
    }
}

/// Whether every span in `raw` is a range of `text` between character boundaries, so that a
/// diagnostic can quote it.
fn spans_fit(raw: &RawConfig, text: &str) -> bool {
    let fits = |r: Range<usize>| {
        r.start <= r.end && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    };
    let all = |list: &[SpannedStr]| list.iter().all(|s| fits(s.span()));
    let some = |list: &Option<Vec<SpannedStr>>| list.as_deref().is_none_or(all);
    let target = |(name, t): (&SpannedStr, &RawTarget)| {
        fits(name.span()) && some(&t.needs) && some(&t.inputs) && some(&t.outputs) && some(&t.env)
    };
    let ws = &raw.workspace;
    let remote = raw.remote_cache.as_ref().is_none_or(|r| {
        r.url.as_ref().is_none_or(|u| fits(u.span()))
            && r.timeout.as_ref().is_none_or(|t| fits(t.span()))
            && r.token.as_ref().is_none_or(|t| fits(t.span()))
    });
    all(&ws.members)
        && all(&ws.global_inputs)
        && all(&ws.ignore)
        && ws.unowned.as_ref().is_none_or(|u| fits(u.span()))
        && ws.discover.as_ref().is_none_or(|d| fits(d.span()))
        && remote
        && raw.targets.iter().all(target)
        && raw.services.iter().all(|(name, s)| {
            fits(name.span())
                && s.root.as_ref().is_none_or(|r| fits(r.span()))
                && all(&s.deps)
                && all(&s.paths)
                && s.targets.iter().all(target)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[workspace]
members = ["services/*"]
unowned = "all"

[targets.build]
command = "make"
inputs = ["src/**"]

[services.api]
root = "services/api"
deps = ["lib"]
"#;

    fn slot(dir: &Path) -> Slot {
        Slot::new(dir, &dir.join("pipeline.toml"), TEXT).unwrap()
    }

    fn stored(dir: &Path) -> Slot {
        let slot = slot(dir);
        let raw = RawConfig::parse(TEXT).unwrap();
        slot.store(&slot.encode(&raw).unwrap());
        slot
    }

    #[test]
    fn a_stored_entry_reads_back_as_the_same_parse() {
        let t = tempfile::tempdir().unwrap();
        let raw = stored(t.path()).load(TEXT).expect("a hit");
        let fresh = RawConfig::parse(TEXT).unwrap();
        assert_eq!(format!("{raw:?}"), format!("{fresh:?}"));
        let api = raw.services.iter().next().unwrap();
        assert_eq!(&TEXT[api.0.span()], "api");
        assert_eq!(
            &TEXT[api.1.root.as_ref().unwrap().span()],
            "\"services/api\""
        );
    }

    #[test]
    fn another_text_misses() {
        let t = tempfile::tempdir().unwrap();
        stored(t.path());
        let edited = TEXT.replace("make", "make all");
        let slot = Slot::new(t.path(), &t.path().join("pipeline.toml"), &edited).unwrap();
        assert!(slot.load(&edited).is_none());
    }

    #[test]
    fn every_damaged_entry_misses_and_never_panics() {
        let t = tempfile::tempdir().unwrap();
        let slot = stored(t.path());
        let good = std::fs::read(&slot.file).unwrap();
        assert!(slot.load(TEXT).is_some());
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            std::fs::write(&slot.file, &bad).unwrap();
            assert!(slot.load(TEXT).is_none(), "byte {i} flipped still hit");
        }
        for len in [0, 7, HEADER - 1, HEADER, good.len() - 1] {
            std::fs::write(&slot.file, &good[..len]).unwrap();
            assert!(slot.load(TEXT).is_none(), "cut to {len} still hit");
        }
        let mut longer = good.clone();
        longer.push(0);
        std::fs::write(&slot.file, &longer).unwrap();
        assert!(slot.load(TEXT).is_none(), "a trailing byte still hit");
    }

    #[test]
    fn a_well_formed_entry_with_a_span_outside_the_text_misses() {
        let t = tempfile::tempdir().unwrap();
        let slot = slot(t.path());
        // A parse of a longer text carries spans past the end of TEXT.
        let longer = format!("{}\n{TEXT}", " ".repeat(TEXT.len()));
        let raw = RawConfig::parse(&longer).unwrap();
        slot.store(&slot.encode(&raw).unwrap());
        assert!(slot.load(TEXT).is_none());
        let raw = RawConfig::parse(TEXT).unwrap();
        assert!(spans_fit(&raw, TEXT));
        assert!(!spans_fit(&raw, &TEXT[..TEXT.len() / 2]));
    }

    #[test]
    fn discover_and_token_configs_are_not_stored() {
        let t = tempfile::tempdir().unwrap();
        let slot = slot(t.path());
        let with_discover = RawConfig::parse("[workspace]\ndiscover = \"auto\"\n").unwrap();
        assert!(slot.encode(&with_discover).is_none());
        let with_token = RawConfig::parse("[remote_cache]\ntoken = \"s3cret\"\n").unwrap();
        assert!(slot.encode(&with_token).is_none());
    }
}
