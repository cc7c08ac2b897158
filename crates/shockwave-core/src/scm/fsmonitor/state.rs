//! What one run leaves for the next: the Watchman clock its scan started from, what that scan
//! depended on (the index file, `HEAD`, `core.fileMode`, the exclude files outside the
//! worktree), the paths it found changed, deleted or untracked, which the next run must look
//! at again even if nothing touched them since, the tracked files with other hard links, which
//! every run looks at again, and when the last full scan was. Written to a temporary file and renamed; read as
//! untrusted input: bounded in size, parsed strictly, every path checked. Anything wrong with it
//! only means a full scan.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bump when the meaning of a field changes: older files are then ignored. 2: hard-linked files
/// and the last full scan.
const VERSION: u32 = 2;

/// The largest state file read.
const MAX_BYTES: u64 = 32 << 20;

/// The longest clock string accepted (Watchman's look like `c:1700000000:1234:1:42`).
const MAX_CLOCK: usize = 256;

/// The longest repo-relative path accepted.
const MAX_PATH: usize = 4096;

/// Identity of a file, enough to notice it was rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::scm) struct Stamp {
    pub size: u64,
    pub ino: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stamp {
    /// The file's stamp, `None` when it does not exist (or cannot be stat'ed).
    pub(in crate::scm) fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let stamp = {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                size: m.size(),
                ino: m.ino(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            }
        };
        // Windows has no inode or ctime: the creation time stands for the ctime.
        #[cfg(windows)]
        let stamp = Stamp {
            size: m.len(),
            ino: 0,
            mtime: crate::platform::since_epoch(m.modified()),
            ctime: crate::platform::since_epoch(m.created()),
        };
        Some(stamp)
    }
}

/// What a scan's result depends on besides the worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Basis {
    /// The worktree, absolute.
    pub worktree: PathBuf,
    /// The index file as it was before it was read.
    pub index: Option<Stamp>,
    /// The index's trailing checksum (absent with `index.skipHash`).
    pub index_checksum: Option<String>,
    pub head: Option<String>,
    pub file_mode: bool,
    /// `info/exclude` and the user's excludes file.
    pub excludes: Vec<Option<Stamp>>,
}

impl Basis {
    /// Why `self` (stored) does not describe the run about to scan with `now`, if it does not.
    pub fn differs(&self, now: &Basis) -> Option<&'static str> {
        if self.worktree != now.worktree {
            Some("it was written for another worktree")
        } else if self.index != now.index || self.index_checksum != now.index_checksum {
            Some("the index was rewritten since (git add, commit, checkout, status...)")
        } else if self.head != now.head {
            Some("HEAD moved since")
        } else if self.file_mode != now.file_mode {
            Some("core.fileMode changed since")
        } else if self.excludes != now.excludes {
            Some("an exclude file outside the worktree changed since")
        } else {
            None
        }
    }
}

/// The stored state.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct State {
    pub version: u32,
    pub basis: Basis,
    /// The socket of the Watchman that issued `clock`.
    pub sockname: PathBuf,
    /// The watched root `clock` belongs to.
    pub watch: String,
    pub clock: String,
    /// Repo-relative paths the last scan found modified (or unsure), deleted or untracked, and
    /// its submodules.
    pub paths: Vec<String>,
    /// Repo-relative paths of tracked files that had more than one link when last scanned.
    pub linked: Vec<String>,
    pub full_scan: FullScan,
}

/// When the last full scan was, to bound how long a change the monitor cannot see is missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FullScan {
    /// Its start, in seconds since the Unix epoch.
    pub at: u64,
    /// Runs since, that scanned only what Watchman reported.
    pub runs_since: u32,
}

/// Why the stored state cannot be used: the run scans in full.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no state from an earlier run")]
    Missing,
    #[error("cannot read {} ({source})", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is larger than {} MiB", .0.display(), MAX_BYTES >> 20)]
    TooLarge(PathBuf),
    #[error("{} is not a state this version wrote ({source})", .path.display())]
    NotOurs {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state version {0} is not {VERSION}")]
    Version(u32),
    #[error("the stored clock is malformed")]
    Clock,
    #[error("the stored path `{}` is not repo-relative", .0.escape_debug())]
    Path(String),
}

impl State {
    pub fn new(
        basis: Basis,
        sockname: PathBuf,
        (watch, clock): (String, String),
        (paths, linked): (Vec<String>, Vec<String>),
        full_scan: FullScan,
    ) -> State {
        State {
            version: VERSION,
            basis,
            sockname,
            watch,
            clock,
            paths,
            linked,
            full_scan,
        }
    }

    /// Reads the state at `path`; `Err` says why it cannot be used (missing included).
    pub fn read(path: &Path) -> Result<State, StateError> {
        let unreadable = |source| StateError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StateError::Missing,
            _ => unreadable(e),
        })?;
        let mut text = Vec::new();
        file.take(MAX_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(unreadable)?;
        if text.len() as u64 > MAX_BYTES {
            return Err(StateError::TooLarge(path.to_path_buf()));
        }
        let state: State = serde_json::from_slice(&text).map_err(|source| StateError::NotOurs {
            path: path.to_path_buf(),
            source,
        })?;
        state.check()?;
        Ok(state)
    }

    fn check(&self) -> Result<(), StateError> {
        if self.version != VERSION {
            return Err(StateError::Version(self.version));
        }
        if self.clock.is_empty()
            || self.clock.len() > MAX_CLOCK
            || !self.clock.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(StateError::Clock);
        }
        if let Some(bad) = self
            .paths
            .iter()
            .chain(&self.linked)
            .find(|p| !is_relative_path(p))
        {
            return Err(StateError::Path(bad.clone()));
        }
        Ok(())
    }

    /// Writes the state to `path` through a temporary file renamed into place, so a reader sees
    /// a whole state or the previous one.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), self)?;
        tmp.as_file_mut().flush()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// `a/b/c`: not empty, not absolute, no `.` or `..` or empty component, no NUL.
pub(super) fn is_relative_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PATH
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(paths: Vec<String>) -> State {
        State::new(
            Basis {
                worktree: "/w".into(),
                index: None,
                index_checksum: None,
                head: None,
                file_mode: true,
                excludes: vec![None],
            },
            "/tmp/sock".into(),
            ("/w".into(), "c:1:2:3:4".into()),
            (paths, vec!["linked/x".into()]),
            FullScan {
                at: 1_700_000_000,
                runs_since: 3,
            },
        )
    }

    #[test]
    fn a_written_state_reads_back_and_a_bad_one_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("sub/fsmonitor.json");
        sample(vec!["a/b.txt".into()]).write(&path).unwrap();
        let back = State::read(&path).unwrap();
        assert_eq!(back.paths, ["a/b.txt"]);
        assert_eq!(back.linked, ["linked/x"]);
        assert_eq!(back.full_scan.runs_since, 3);
        assert_eq!(back.basis.differs(&sample(vec![]).basis), None);

        for bad in ["../x", "/etc/passwd", "a//b", "a/./b", ""] {
            sample(vec![bad.into()]).write(&path).unwrap();
            assert!(State::read(&path).is_err(), "{bad:?}");
        }
        std::fs::write(&path, b"{\"version\":1}").unwrap();
        assert!(State::read(&path).is_err());
        std::fs::write(&path, b"not json").unwrap();
        assert!(State::read(&path)
            .unwrap_err()
            .to_string()
            .contains("not a state"));
        let mut wrong_clock = sample(vec![]);
        wrong_clock.clock = "c:1\n2".into();
        wrong_clock.write(&path).unwrap();
        assert!(State::read(&path).is_err());
        assert!(State::read(&t.path().join("missing.json"))
            .unwrap_err()
            .to_string()
            .contains("no state"));
    }

    #[test]
    fn a_changed_basis_says_what_changed() {
        let a = sample(vec![]).basis;
        let mut b = a.clone();
        b.head = Some("abc".into());
        assert_eq!(a.differs(&b), Some("HEAD moved since"));
        let mut c = a.clone();
        c.index_checksum = Some("00".into());
        assert!(a.differs(&c).unwrap().contains("index"));
    }
}
