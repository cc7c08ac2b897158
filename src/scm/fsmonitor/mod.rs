//! Opt-in help from a file watcher (Watchman) for the worktree scan: instead of stat'ing every
//! tracked file, the scan looks only at the directories holding what Watchman reports changed
//! since the clock stored by the last run, plus every path that run reported: modified or unsure
//! (racy, intent-to-add), deleted, untracked, and the submodules, whose commits move where
//! Watchman does not look. The clock and those paths live in a state file ([`state`]) under
//! `.shockwave/`.
//!
//! Watchman hears of a write under the name it was made through, and not at all of a write
//! through a shared memory mapping. So every run also looks again at each tracked file that had
//! more than one link when last scanned (a write through its other name is invisible), and a run
//! scans in full once the last full scan is a set number of runs or a set time ago: what the
//! monitor cannot see is missed for at most that long.
//!
//! It never decides an answer on doubt: whenever anything is doubtful — no usable state, a state
//! written against another index, `HEAD`, `core.fileMode` or exclude file, a new watch or a
//! restarted Watchman (a fresh instance), a recrawl or any other warning, a changed `.gitignore`,
//! too many changes, a full scan due, Watchman missing, slow or failing — the scan is the full
//! one, and a debug line says why. Nothing here fails a command.

mod state;
mod watchman;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bstr::{BString, ByteSlice};

pub(super) use self::state::Stamp;
use self::state::{Basis, FullScan, State};
use self::watchman::{Client, Since, Watch};
use super::worktree::Scan;
use super::Repo;

/// More changed names than this and a full scan is as quick.
const MAX_CHANGED: usize = 50_000;

/// How the worktree scan may ask Watchman what changed.
#[derive(Debug, Clone)]
pub struct FsMonitor {
    /// `WATCHMAN_SOCK`, when set: the socket to use, as the watchman CLI does.
    pub sock: Option<PathBuf>,
    /// For all of the exchange with Watchman in one run.
    pub timeout: Duration,
    /// The state file (`.shockwave/fsmonitor.json` in the worktree).
    pub state: PathBuf,
    /// A full scan at least every this many runs...
    pub full_scan_runs: u32,
    /// ...and once the last one is this old: these bound how long a change Watchman cannot see
    /// goes unnoticed.
    pub full_scan_after: Duration,
}

/// One run's use of the monitor: what to scan, and what to store once scanned.
pub(super) struct Session {
    state: PathBuf,
    basis: Basis,
    /// The socket, watched root and clock this run's scan starts from, when Watchman gave one.
    next: Option<(PathBuf, String, String)>,
    /// The paths to look at again, when Watchman could say; `None` means a full scan.
    changed: Option<Vec<BString>>,
    /// The last full scan, when this run scans only what changed since.
    last_full: Option<FullScan>,
    /// When this run started, in milliseconds since the Unix epoch.
    started: u64,
}

impl FsMonitor {
    /// Asks Watchman what changed since the stored clock. `index_stamp` is the index file's
    /// identity taken before it was read, so a rewrite racing with the read is noticed next run.
    pub(super) fn begin(
        &self,
        repo: &Repo,
        index: &gix::index::File,
        index_stamp: Option<Stamp>,
        file_mode: bool,
    ) -> Session {
        let t0 = Instant::now();
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut session = Session {
            state: self.state.clone(),
            basis: basis(repo, index, index_stamp, file_mode),
            next: None,
            changed: None,
            last_full: None,
            started,
        };
        let stored = State::read(&self.state);
        let deadline = t0 + self.timeout;
        let stored_sock = stored.as_ref().ok().map(|s| s.sockname.as_path());
        let mut client = match Client::connect(self.sock.as_deref(), stored_sock, deadline) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("fsmonitor: full scan: watchman is not available: {e}");
                return session;
            }
        };
        let watch = match client.watch_project(repo.workdir()) {
            Ok(w) => w,
            Err(e) => {
                tracing::debug!("fsmonitor: full scan: cannot watch the worktree: {e}");
                return session;
            }
        };
        let usable = match &stored {
            Ok(s) if s.watch != watch.root => {
                Err("the stored clock is from another watched root".to_string())
            }
            Ok(s) => match s.basis.differs(&session.basis) {
                Some(why) => Err(why.to_string()),
                None => self.full_scan_due(&s.full_scan, started).map_or(Ok(s), Err),
            },
            Err(e) => Err(e.clone()),
        };
        match usable {
            Ok(s) => session.ask_since(&mut client, &watch, s),
            Err(why) => {
                tracing::debug!("fsmonitor: full scan: {why}");
                match client.clock(&watch) {
                    Ok(clock) => session.next = Some((client.sockname, watch.root, clock)),
                    Err(e) => tracing::debug!("fsmonitor: no clock for the next run: {e}"),
                }
            }
        }
        tracing::debug!("fsmonitor: asked watchman in {:?}", t0.elapsed());
        session
    }

    /// Why this run (starting at `now`, in ms) must scan in full after `last`, if it must.
    fn full_scan_due(&self, last: &FullScan, now: u64) -> Option<String> {
        let age = Duration::from_millis(now.saturating_sub(last.at));
        if last.runs_since.saturating_add(1) >= self.full_scan_runs {
            Some(format!(
                "{} runs since the last full scan (one at least every {}: SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS)",
                last.runs_since, self.full_scan_runs
            ))
        } else if now < last.at || age >= self.full_scan_after {
            Some(format!(
                "the last full scan is {}s old (one at least every {}s: SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER)",
                age.as_secs(),
                self.full_scan_after.as_secs_f64()
            ))
        } else {
            None
        }
    }
}

impl Session {
    fn ask_since(&mut self, client: &mut Client, watch: &Watch, stored: &State) {
        let (names, clock) = match client.since(watch, &stored.clock) {
            Ok((Since::Changed(names), clock)) => (names, clock),
            Ok((Since::Fresh, clock)) => {
                tracing::debug!(
                    "fsmonitor: full scan: watchman cannot say what changed since the stored clock (a new watch or a restarted server)"
                );
                self.next = Some((client.sockname.clone(), watch.root.clone(), clock));
                return;
            }
            Err(e) => {
                tracing::debug!("fsmonitor: full scan: the query failed: {e}");
                return;
            }
        };
        self.next = Some((client.sockname.clone(), watch.root.clone(), clock));
        if names.len() > MAX_CHANGED {
            tracing::debug!(
                "fsmonitor: full scan: {} paths changed, more than {MAX_CHANGED}",
                names.len()
            );
            return;
        }
        if stored.linked.len() > MAX_CHANGED {
            tracing::debug!(
                "fsmonitor: full scan: {} tracked files have other hard links, more than {MAX_CHANGED}",
                stored.linked.len()
            );
            return;
        }
        // Which untracked files are ignored may have changed anywhere below a .gitignore.
        if let Some(g) = names
            .iter()
            .find(|n| n.rsplit('/').next() == Some(".gitignore"))
        {
            tracing::debug!("fsmonitor: full scan: `{g}` changed");
            return;
        }
        tracing::debug!(
            "fsmonitor: {} paths changed since the last run; {} were changed or untracked then; looking again at {} hard-linked files",
            names.len(),
            stored.paths.len(),
            stored.linked.len()
        );
        // A file with another name may have been written through it, which Watchman does not
        // report under this one: it is looked at again every run, as if reported.
        let mut changed: Vec<BString> = names.into_iter().map(BString::from).collect();
        changed.extend(
            stored
                .paths
                .iter()
                .chain(&stored.linked)
                .map(|p| BString::from(p.as_str())),
        );
        self.changed = Some(changed);
        self.last_full = Some(stored.full_scan);
    }

    /// The paths to look at, or `None` for a full scan.
    pub(super) fn changed(&self) -> Option<&[BString]> {
        self.changed.as_deref()
    }

    /// Stores the clock this run started from with what its scan found, for the next run;
    /// `full` says whether that scan covered the whole worktree.
    pub(super) fn finish(self, index: &gix::index::State, scan: &Scan, full: bool) {
        let Some((sockname, watch, clock)) = self.next else {
            return;
        };
        let entries = index.entries();
        let tracked = scan
            .suspect
            .iter()
            .chain(&scan.deleted)
            .chain(&scan.submodules)
            .map(|&i| entries[i].path(index));
        let untracked = scan.untracked.iter().map(|p| p.as_bstr());
        let linked = scan.linked.iter().map(|&i| entries[i].path(index));
        let (Some(paths), Some(linked)) = (utf8(tracked.chain(untracked)), utf8(linked)) else {
            return;
        };
        let full_scan = match self.last_full {
            Some(last) if !full => FullScan {
                at: last.at,
                runs_since: last.runs_since.saturating_add(1),
            },
            _ => FullScan {
                at: self.started,
                runs_since: 0,
            },
        };
        let state = State::new(
            self.basis,
            sockname,
            (watch, clock),
            (paths, linked),
            full_scan,
        );
        if let Err(e) = state.write(&self.state) {
            tracing::debug!(
                "fsmonitor: cannot write {} ({e}); the next run scans in full",
                self.state.display()
            );
        }
    }
}

/// The paths as strings; `None` (with a debug line) when one is not UTF-8, which the state file
/// cannot hold.
fn utf8<'a>(paths: impl Iterator<Item = &'a bstr::BStr>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for p in paths {
        match p.to_str() {
            Ok(s) => out.push(s.to_string()),
            Err(_) => {
                tracing::debug!(
                    "fsmonitor: not storing a state: `{p}` is not UTF-8; the next run scans in full"
                );
                return None;
            }
        }
    }
    Some(out)
}

/// The index file's identity, to store with the state.
pub(super) fn index_stamp(path: &std::path::Path) -> Option<Stamp> {
    Stamp::of(path)
}

/// What the scan about to run depends on, besides the worktree.
fn basis(
    repo: &Repo,
    index: &gix::index::File,
    index_stamp: Option<Stamp>,
    file_mode: bool,
) -> Basis {
    let r = &repo.repo;
    let user_excludes = match r.config_snapshot().trusted_path("core.excludesFile") {
        Ok(Some(p)) => Some(p),
        Ok(None) => gix::path::env::xdg_config("ignore", &mut gix::path::env::var),
        // An unreadable value: gix fails to build the exclude stack the same way each time.
        Err(_) => None,
    };
    let mut excludes = vec![Stamp::of(&r.common_dir().join("info").join("exclude"))];
    excludes.push(user_excludes.as_deref().and_then(Stamp::of));
    Basis {
        worktree: repo.workdir().to_path_buf(),
        index: index_stamp,
        index_checksum: index.checksum().map(|c| c.to_string()),
        head: r.head_id().ok().map(|id| id.to_string()),
        file_mode,
        excludes,
    }
}
