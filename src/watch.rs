//! Waiting for changes in the worktree: the OS's notifications (inotify, FSEvents, …) through
//! [notify](https://docs.rs/notify), one watch per folder git does not ignore, or polling when asked
//! or when the OS's watch limit is too low. Events are debounced: a round starts once the
//! worktree has been quiet for the debounce time. Reads (a task or a hash reading files) and
//! changes inside `.git` and shockwave's own folders never count. Nothing here knows about
//! tasks: a change only says "look again"; the task hashes decide what it touched.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::EventKind;
use notify::{Event, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};

/// How often the polling watcher looks.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often a wait looks at the stop request.
const TICK: Duration = Duration::from_millis(50);

/// Folder names whose contents never count, at any depth.
const SKIPPED: &[&str] = &[".git", ".shockwave"];

/// Watches a set of folders.
pub struct ChangeWatcher {
    watcher: Box<dyn Watcher + Send>,
    events: Receiver<notify::Result<Event>>,
    watched: HashSet<PathBuf>,
    /// More folders whose contents never count (a cache directory inside the worktree).
    skip: Vec<PathBuf>,
    /// How it watches, for the one line that says so.
    pub mode: &'static str,
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("failed to watch {path} for changes: {detail}")]
pub struct WatchError {
    pub path: PathBuf,
    pub detail: String,
}

impl ChangeWatcher {
    /// Watches `dirs` (each without its subfolders: the list holds those that count). With the
    /// OS's notifications unless `poll`; when the OS refuses more watches, polls instead and
    /// returns the warning to print.
    pub fn start(
        dirs: &[PathBuf],
        poll: bool,
        skip: Vec<PathBuf>,
    ) -> Result<(ChangeWatcher, Option<String>), WatchError> {
        if !poll {
            match Self::native(dirs, skip.clone()) {
                Ok(w) => return Ok((w, None)),
                Err((e, true)) => {
                    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                        .map(|s| format!(" (fs.inotify.max_user_watches = {})", s.trim()))
                        .unwrap_or_default();
                    let warning = format!(
                        "the OS allows fewer file watches{limit} than the {} folders of this repository: polling every {}s instead. Raise the limit for instant, idle-free watching: `sudo sysctl fs.inotify.max_user_watches=524288` (persist it in /etc/sysctl.d/)",
                        dirs.len(),
                        POLL_INTERVAL.as_secs()
                    );
                    tracing::debug!("native watcher refused: {}", e.detail);
                    return Ok((Self::polling(dirs, skip)?, Some(warning)));
                }
                Err((e, false)) => return Err(e),
            }
        }
        Ok((Self::polling(dirs, skip)?, None))
    }

    /// `Err((error, true))` when the OS's watch limit was reached.
    fn native(dirs: &[PathBuf], skip: Vec<PathBuf>) -> Result<ChangeWatcher, (WatchError, bool)> {
        let (tx, events) = mpsc::channel();
        let watcher = RecommendedWatcher::new(tx, notify::Config::default()).map_err(|e| {
            let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch);
            (watch_error(dirs.first(), &e), limit)
        })?;
        let mut w = ChangeWatcher {
            watcher: Box::new(watcher),
            events,
            watched: HashSet::new(),
            skip,
            mode: "the OS's file notifications",
        };
        for d in dirs {
            if let Err(e) = w.watcher.watch(d, RecursiveMode::NonRecursive) {
                let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
                    || matches!(&e.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ENOSPC));
                // A folder removed since it was listed is no reason to stop.
                if !limit && !d.exists() {
                    continue;
                }
                return Err((watch_error(Some(d), &e), limit));
            }
            w.watched.insert(d.clone());
        }
        Ok(w)
    }

    fn polling(dirs: &[PathBuf], skip: Vec<PathBuf>) -> Result<ChangeWatcher, WatchError> {
        let (tx, events) = mpsc::channel();
        let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
        let watcher = PollWatcher::new(tx, config).map_err(|e| watch_error(dirs.first(), &e))?;
        let mut w = ChangeWatcher {
            watcher: Box::new(watcher),
            events,
            watched: HashSet::new(),
            skip,
            mode: "polling",
        };
        for d in dirs {
            if w.watcher.watch(d, RecursiveMode::NonRecursive).is_ok() {
                w.watched.insert(d.clone());
            }
        }
        Ok(w)
    }

    /// How many folders are watched.
    pub fn watched_count(&self) -> usize {
        self.watched.len()
    }

    /// Makes the watched folders `dirs`: new ones are added, gone ones dropped.
    pub fn update(&mut self, dirs: &[PathBuf]) {
        let wanted: HashSet<&PathBuf> = dirs.iter().collect();
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|d| !wanted.contains(d))
            .cloned()
            .collect();
        for d in gone {
            let _ = self.watcher.unwatch(&d);
            self.watched.remove(&d);
        }
        for d in dirs {
            if !self.watched.contains(d)
                && self.watcher.watch(d, RecursiveMode::NonRecursive).is_ok()
            {
                self.watched.insert(d.clone());
            }
        }
    }

    /// Waits for a change that counts, then for `debounce` of quiet; the changed paths. `None`
    /// once `stop` says so.
    pub fn wait(&mut self, debounce: Duration, stop: &dyn Fn() -> bool) -> Option<Vec<PathBuf>> {
        let mut changed: Vec<PathBuf> = Vec::new();
        let mut quiet_from: Option<Instant> = None;
        loop {
            if stop() {
                return None;
            }
            if let Some(t) = quiet_from {
                if t.elapsed() >= debounce {
                    changed.sort();
                    changed.dedup();
                    return Some(changed);
                }
            }
            match self.events.recv_timeout(TICK) {
                Ok(Ok(event)) => {
                    let counted = self.counted(&event);
                    if !counted.is_empty() {
                        changed.extend(counted);
                        quiet_from = Some(Instant::now());
                    }
                }
                // The backend lost events (a queue overflow): look again, everything may have changed.
                Ok(Err(e)) => {
                    tracing::debug!("file watcher: {e}");
                    quiet_from = Some(Instant::now());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The paths of `event` that count as changes. (A new folder is watched from the end of the
    /// round its creation starts, once the ignore rules have said whether it counts: the round
    /// itself reads whatever was written into it before.)
    fn counted(&self, event: &Event) -> Vec<PathBuf> {
        if matches!(event.kind, EventKind::Access(_)) {
            return Vec::new();
        }
        event
            .paths
            .iter()
            .filter(|p| !self.ignored(p))
            .cloned()
            .collect()
    }

    fn ignored(&self, path: &Path) -> bool {
        path.components().any(|c| {
            c.as_os_str()
                .to_str()
                .is_some_and(|name| SKIPPED.contains(&name))
        }) || self.skip.iter().any(|s| path.starts_with(s))
    }
}

fn watch_error(path: Option<&PathBuf>, e: &notify::Error) -> WatchError {
    WatchError {
        path: path.cloned().unwrap_or_default(),
        detail: e.to_string(),
    }
}
