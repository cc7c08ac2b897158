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
            // Wake at the end of the debounce, not at the next tick: a short debounce is short.
            let mut timeout = TICK;
            if let Some(t) = quiet_from {
                let quiet = t.elapsed();
                if quiet >= debounce {
                    changed.sort();
                    changed.dedup();
                    return Some(changed);
                }
                timeout = timeout.min(debounce - quiet);
            }
            match self.events.recv_timeout(timeout) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Sender;

    /// A watcher of nothing whose events the test sends itself.
    fn fed() -> (ChangeWatcher, Sender<notify::Result<Event>>) {
        let (tx, events) = mpsc::channel();
        let (unused, _) = mpsc::channel();
        let watcher = PollWatcher::new(unused, notify::Config::default()).unwrap();
        let w = ChangeWatcher {
            watcher: Box::new(watcher),
            events,
            watched: HashSet::new(),
            skip: Vec::new(),
            mode: "test",
        };
        (w, tx)
    }

    fn modified(path: &str) -> notify::Result<Event> {
        Ok(Event::new(EventKind::Modify(notify::event::ModifyKind::Any)).add_path(path.into()))
    }

    #[test]
    fn a_debounce_shorter_than_the_tick_ends_when_it_ends() {
        let (mut w, tx) = fed();
        // The best of a few tries, so that a busy machine's scheduling does not decide.
        let mut best = Duration::MAX;
        for _ in 0..3 {
            tx.send(modified("/repo/a.txt")).unwrap();
            let start = Instant::now();
            let changed = w.wait(Duration::from_millis(1), &|| false).unwrap();
            best = best.min(start.elapsed());
            assert_eq!(changed, [PathBuf::from("/repo/a.txt")]);
        }
        assert!(best < TICK * 3 / 4, "a 1 ms debounce took {best:?}");
    }

    #[test]
    fn changes_within_the_debounce_make_one_round() {
        let (mut w, tx) = fed();
        tx.send(modified("/repo/a.txt")).unwrap();
        tx.send(modified("/repo/b.txt")).unwrap();
        tx.send(Ok(Event::new(EventKind::Access(
            notify::event::AccessKind::Any,
        ))
        .add_path("/repo/c.txt".into())))
            .unwrap();
        tx.send(modified("/repo/.git/index")).unwrap();
        let changed = w.wait(Duration::from_millis(30), &|| false).unwrap();
        assert_eq!(
            changed,
            [PathBuf::from("/repo/a.txt"), PathBuf::from("/repo/b.txt")]
        );
    }
}
