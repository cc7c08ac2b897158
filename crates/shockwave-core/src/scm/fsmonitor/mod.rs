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
//! `shockwave watch` runs a file watcher of its own: [`SeenChanges`] hands its events to the scan
//! the same way, kept in memory between rounds instead of a state file, and Watchman is not asked.
//!
//! It never decides an answer on doubt: whenever anything is doubtful — no usable state, a state
//! written against another index, `HEAD`, `core.fileMode` or exclude file, a new watch or a
//! restarted Watchman (a fresh instance), a recrawl or any other warning, a changed `.gitignore`,
//! too many changes, a full scan due, Watchman missing, slow or failing, a watcher that lost
//! events — the scan is the full
//! one, and a debug line says why. Nothing here fails a command.

mod state;
mod watchman;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
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

/// What a file watcher in this process saw change (`shockwave watch`), for the next worktree
/// scan: the paths changed since the last scan began, and what that scan depended on and
/// reported. Shared between the watch loop, which adds, and each round's scan, which takes.
#[derive(Debug, Clone, Default)]
pub struct SeenChanges(Arc<Mutex<Seen>>);

#[derive(Debug, Default)]
struct Seen {
    /// The basis of the last scan that finished, and the paths it reported (modified or unsure,
    /// deleted, untracked, submodules); `None` until one finished.
    last: Option<(Basis, Vec<BString>)>,
    /// Repo-relative paths changed since the last scan began; `None` when events were lost.
    changed: Option<Vec<BString>>,
    /// The index as last read, with its file's stamp: read again only once rewritten.
    index: Option<(Stamp, Arc<gix::index::File>)>,
}

impl SeenChanges {
    /// Nothing seen yet: the first scan is a full one.
    pub fn new() -> SeenChanges {
        SeenChanges(Arc::new(Mutex::new(Seen {
            last: None,
            changed: Some(Vec::new()),
            index: None,
        })))
    }

    /// The index read when its file had `stamp`, if that was the last one read.
    pub(super) fn index(&self, stamp: Stamp) -> Option<Arc<gix::index::File>> {
        match &self.lock().index {
            Some((kept, index)) if *kept == stamp => Some(index.clone()),
            _ => None,
        }
    }

    /// Keeps the index just read (its file stamped `stamp` before the read) for the next scan.
    pub(super) fn keep_index(&self, stamp: Stamp, index: Arc<gix::index::File>) {
        self.lock().index = Some((stamp, index));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the absolute `paths` the watcher reported below `workdir` (others are no part of it).
    pub fn add(&self, workdir: &Path, paths: &[PathBuf]) {
        let mut seen = self.lock();
        let Some(changed) = seen.changed.as_mut() else {
            return;
        };
        for p in paths {
            if let Ok(rel) = p.strip_prefix(workdir) {
                changed.push(BString::from(rel.as_os_str().as_encoded_bytes()));
            }
        }
    }

    /// The watcher lost events: the next scan is a full one.
    pub fn lost(&self) {
        self.lock().changed = None;
    }

    /// Takes what changed for a scan about to start against `basis`; what the watcher adds from
    /// now on is for the next one. Until this scan finishes, a scan would be a full one.
    fn begin(&self, basis: Basis) -> Session {
        let mut seen = self.lock();
        let last = seen.last.take();
        let changed = seen.changed.replace(Vec::new());
        drop(seen);
        let mut session = Session {
            basis,
            sink: Sink::Memory(self.clone()),
            changed: None,
            last_full: None,
            started: 0,
        };
        let why = match (last, changed) {
            (None, _) => "no scan finished since the watch began",
            (_, None) => "the file watcher lost events",
            (Some((last, reported)), Some(changed)) => match last.differs(&session.basis) {
                Some(why) => why,
                None => {
                    session.changed = targeted("watch", changed, reported);
                    return session;
                }
            },
        };
        tracing::debug!("watch: full scan: {why}");
        session
    }
}

/// The paths to look at again: those changed since the last scan, and those it reported. `None`
/// (a full scan) when there are too many or a `.gitignore` changed.
/// `who` names the monitor in the debug lines.
fn targeted(who: &str, mut changed: Vec<BString>, reported: Vec<BString>) -> Option<Vec<BString>> {
    if changed.len() > MAX_CHANGED {
        tracing::debug!(
            "{who}: full scan: {} paths changed, more than {MAX_CHANGED}",
            changed.len()
        );
        return None;
    }
    // Which untracked files are ignored may have changed anywhere below a .gitignore.
    if let Some(g) = changed
        .iter()
        .find(|n| n.rsplit_str("/").next() == Some(b".gitignore".as_slice()))
    {
        tracing::debug!("{who}: full scan: `{g}` changed");
        return None;
    }
    tracing::debug!(
        "{who}: {} paths changed since the last scan, {} were changed or untracked then",
        changed.len(),
        reported.len()
    );
    changed.extend(reported);
    Some(changed)
}

/// Where a scan's result goes for the next one.
enum Sink {
    /// Watchman's state file, with the socket, watched root and clock this scan starts from, when
    /// Watchman gave one.
    File {
        state: PathBuf,
        next: Option<(PathBuf, String, String)>,
    },
    /// The watch's memory.
    Memory(SeenChanges),
}

/// One run's use of the monitor: what to scan, and what to store once scanned.
pub(super) struct Session {
    basis: Basis,
    sink: Sink,
    /// The paths to look at again, when the monitor could say; `None` means a full scan.
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
            basis: basis(repo, index, index_stamp, file_mode),
            sink: Sink::File {
                state: self.state.clone(),
                next: None,
            },
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
            Err(e) => Err(e.to_string()),
        };
        match usable {
            Ok(s) => session.ask_since(&mut client, &watch, s),
            Err(why) => {
                tracing::debug!("fsmonitor: full scan: {why}");
                match client.clock(&watch) {
                    Ok(clock) => session.set_next(client.sockname, watch.root, clock),
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

impl SeenChanges {
    /// A scan of `repo` may start from what this watcher saw.
    pub(super) fn session(
        &self,
        repo: &Repo,
        index: &gix::index::File,
        index_stamp: Option<Stamp>,
        file_mode: bool,
    ) -> Session {
        self.begin(basis(repo, index, index_stamp, file_mode))
    }
}

impl Session {
    fn set_next(&mut self, sockname: PathBuf, root: String, clock: String) {
        if let Sink::File { next, .. } = &mut self.sink {
            *next = Some((sockname, root, clock));
        }
    }

    fn ask_since(&mut self, client: &mut Client, watch: &Watch, stored: &State) {
        let (names, clock) = match client.since(watch, &stored.clock) {
            Ok((Since::Changed(names), clock)) => (names, clock),
            Ok((Since::Fresh, clock)) => {
                tracing::debug!(
                    "fsmonitor: full scan: watchman cannot say what changed since the stored clock (a new watch or a restarted server)"
                );
                self.set_next(client.sockname.clone(), watch.root.clone(), clock);
                return;
            }
            Err(e) => {
                tracing::debug!("fsmonitor: full scan: the query failed: {e}");
                return;
            }
        };
        self.set_next(client.sockname.clone(), watch.root.clone(), clock);
        if stored.linked.len() > MAX_CHANGED {
            tracing::debug!(
                "fsmonitor: full scan: {} tracked files have other hard links, more than {MAX_CHANGED}",
                stored.linked.len()
            );
            return;
        }
        tracing::debug!(
            "fsmonitor: looking again at {} hard-linked files",
            stored.linked.len()
        );
        // A file with another name may have been written through it, which Watchman does not
        // report under this one: it is looked at again every run, as if reported.
        let changed: Vec<BString> = names.into_iter().map(BString::from).collect();
        let reported = stored.paths.iter().chain(&stored.linked);
        let reported = reported.map(|p| BString::from(p.as_str())).collect();
        self.changed = targeted("fsmonitor", changed, reported);
        if self.changed.is_some() {
            self.last_full = Some(stored.full_scan);
        }
    }

    /// The paths to look at, or `None` for a full scan.
    pub(super) fn changed(&self) -> Option<&[BString]> {
        self.changed.as_deref()
    }

    /// Stores what this scan depended on with what it found, for the next one; `full` says
    /// whether that scan covered the whole worktree.
    pub(super) fn finish(self, index: &gix::index::State, scan: &Scan, full: bool) {
        let entries = index.entries();
        let tracked = scan
            .suspect
            .iter()
            .chain(&scan.deleted)
            .chain(&scan.submodules)
            .map(|&i| entries[i].path(index));
        let untracked = scan.untracked.iter().map(|p| p.as_bstr());
        let (state, sockname, watch, clock) = match self.sink {
            Sink::Memory(seen) => {
                let reported = tracked.chain(untracked).map(ToOwned::to_owned).collect();
                seen.lock().last = Some((self.basis, reported));
                return;
            }
            Sink::File {
                next: Some((sockname, watch, clock)),
                state,
            } => (state, sockname, watch, clock),
            Sink::File { next: None, .. } => return,
        };
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
        let stored = State::new(
            self.basis,
            sockname,
            (watch, clock),
            (paths, linked),
            full_scan,
        );
        if let Err(e) = stored.write(&state) {
            tracing::debug!(
                "fsmonitor: cannot write {} ({e}); the next run scans in full",
                state.display()
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
