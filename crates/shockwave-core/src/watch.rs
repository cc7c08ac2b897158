//! Waiting for changes in the worktree: the OS's notifications (inotify, FSEvents, …) through
//! [notify](https://docs.rs/notify), one watch per folder git does not ignore, or polling when asked
//! or when the OS's watch limit is too low. Events are debounced: a round starts once the
//! worktree has been quiet for the debounce time. Reads (a task or a hash reading files),
//! changes inside `.git` and shockwave's own folders, and paths git ignores (build outputs such as
//! `dist/` or `bin/`, which the tasks themselves write) never count, and a folder git ignores is
//! never watched. A folder that appears is watched at once with the folders below it, and all of
//! them count as changed. Nothing here knows about tasks: a change only says "look again"; the
//! task hashes decide what it touched.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{EventKind, RemoveKind};
use notify::{Event, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};

/// How often the polling watcher looks.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often a wait looks at the stop request.
const TICK: Duration = Duration::from_millis(50);

/// Folder names whose contents never count, at any depth.
const SKIPPED: &[&str] = &[".git", ".shockwave"];

/// What a watcher asks the repository: git's ignore rules, and the folders below one that appears.
pub trait Folders: Send {
    /// For each absolute path (and whether it is a folder): whether git ignores it or a folder
    /// above it. The rules are read anew for each call, so an edited `.gitignore` counts at once.
    fn ignored(&mut self, paths: &[(PathBuf, bool)]) -> Vec<bool>;
    /// The folders to watch below `dir` (which counts), those git ignores left out.
    fn below(&mut self, dir: &Path) -> Vec<PathBuf>;
}

/// What one wait saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The paths that count, sorted: changed files and folders, and every folder below one that
    /// appeared.
    pub paths: Vec<PathBuf>,
    /// Whether the OS lost events (its queue overflowed): anything may have changed.
    pub lost: bool,
    /// Whether a `.gitignore` changed: the folders that count may be others now.
    pub ignore_rules: bool,
}

/// Watches a set of folders.
pub struct ChangeWatcher {
    watcher: Box<dyn Watcher + Send>,
    events: Receiver<notify::Result<Event>>,
    watched: HashSet<PathBuf>,
    /// More folders whose contents never count (a cache directory inside the worktree).
    skip: Vec<PathBuf>,
    folders: Box<dyn Folders>,
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
        folders: Box<dyn Folders>,
    ) -> Result<(ChangeWatcher, Option<String>), WatchError> {
        let mut warning = None;
        let backend = if poll {
            Backend::polling(dirs)?
        } else {
            match Backend::native(dirs) {
                Ok(b) => b,
                Err((e, true)) => {
                    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                        .map(|s| format!(" (fs.inotify.max_user_watches = {})", s.trim()))
                        .unwrap_or_default();
                    warning = Some(format!(
                        "the OS allows fewer file watches{limit} than the {} folders of this repository: polling every {}s instead. Raise the limit for instant, idle-free watching: `sudo sysctl fs.inotify.max_user_watches=524288` (persist it in /etc/sysctl.d/)",
                        dirs.len(),
                        POLL_INTERVAL.as_secs()
                    ));
                    tracing::debug!("native watcher refused: {}", e.detail);
                    Backend::polling(dirs)?
                }
                Err((e, false)) => return Err(e),
            }
        };
        let w = ChangeWatcher {
            watcher: backend.watcher,
            events: backend.events,
            watched: backend.watched,
            skip,
            folders,
            mode: backend.mode,
        };
        Ok((w, warning))
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

    /// Waits for a change that counts, then for `debounce` of quiet; what changed. `None` once
    /// `stop` says so.
    pub fn wait(&mut self, debounce: Duration, stop: &dyn Fn() -> bool) -> Option<Changes> {
        let mut changes = Changes::default();
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
                    changes.paths.sort();
                    changes.paths.dedup();
                    return Some(changes);
                }
                timeout = timeout.min(debounce - quiet);
            }
            let first = match self.events.recv_timeout(timeout) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return None,
            };
            // What else is already there is judged with it, against one reading of the rules.
            let mut batch = vec![first];
            batch.extend(self.events.try_iter());
            if self.take(batch, &mut changes) {
                quiet_from = Some(Instant::now());
            }
        }
    }

    /// Adds what counts in `batch` to `changes`; whether anything did. A folder that appears is
    /// watched at once, with the folders below it, so that what is written into them next is
    /// seen too; a folder that went is no longer watched.
    fn take(&mut self, batch: Vec<notify::Result<Event>>, changes: &mut Changes) -> bool {
        let mut counted = false;
        let mut candidates: Vec<(PathBuf, bool)> = Vec::new();
        for event in batch {
            let event = match event {
                Ok(event) => event,
                // The backend lost events (a queue overflow): look again, everything may have changed.
                Err(e) => {
                    tracing::debug!("file watcher: {e}");
                    changes.lost = true;
                    counted = true;
                    continue;
                }
            };
            if matches!(event.kind, EventKind::Access(_)) {
                continue;
            }
            let removed_dir = matches!(event.kind, EventKind::Remove(RemoveKind::Folder));
            for p in event.paths {
                if self.skipped(&p) {
                    continue;
                }
                let is_dir = removed_dir
                    || std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir())
                    || self.watched.contains(&p);
                candidates.push((p, is_dir));
            }
        }
        if candidates.is_empty() {
            return counted;
        }
        let ignored = self.folders.ignored(&candidates);
        for ((p, is_dir), ignored) in candidates.into_iter().zip(ignored) {
            if ignored {
                continue;
            }
            counted = true;
            if p.file_name().is_some_and(|n| n == ".gitignore") {
                changes.ignore_rules = true;
            }
            if is_dir {
                if !p.is_dir() {
                    let gone: Vec<PathBuf> = self
                        .watched
                        .iter()
                        .filter(|d| d.starts_with(&p))
                        .cloned()
                        .collect();
                    for d in gone {
                        let _ = self.watcher.unwatch(&d);
                        self.watched.remove(&d);
                    }
                } else if !self.watched.contains(&p) {
                    let below = self.folders.below(&p);
                    for d in std::iter::once(&p).chain(&below) {
                        if self.watcher.watch(d, RecursiveMode::NonRecursive).is_ok() {
                            self.watched.insert(d.clone());
                        }
                    }
                    changes.paths.extend(below);
                }
            }
            changes.paths.push(p);
        }
        counted
    }

    /// `.git`, shockwave's own folders and the skipped ones.
    fn skipped(&self, path: &Path) -> bool {
        path.components().any(|c| {
            c.as_os_str()
                .to_str()
                .is_some_and(|name| SKIPPED.contains(&name))
        }) || self.skip.iter().any(|s| path.starts_with(s))
    }
}

/// A notify watcher with the folders it was given.
struct Backend {
    watcher: Box<dyn Watcher + Send>,
    events: Receiver<notify::Result<Event>>,
    watched: HashSet<PathBuf>,
    mode: &'static str,
}

impl Backend {
    /// `Err((error, true))` when the OS's watch limit was reached.
    fn native(dirs: &[PathBuf]) -> Result<Backend, (WatchError, bool)> {
        let (tx, events) = mpsc::channel();
        let mut watcher = RecommendedWatcher::new(tx, notify::Config::default()).map_err(|e| {
            let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch);
            (watch_error(dirs.first(), &e), limit)
        })?;
        let mut watched = HashSet::new();
        for d in dirs {
            if let Err(e) = watcher.watch(d, RecursiveMode::NonRecursive) {
                let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
                    || matches!(&e.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ENOSPC));
                // A folder removed since it was listed is no reason to stop.
                if !limit && !d.exists() {
                    continue;
                }
                return Err((watch_error(Some(d), &e), limit));
            }
            watched.insert(d.clone());
        }
        Ok(Backend {
            watcher: Box::new(watcher),
            events,
            watched,
            mode: "the OS's file notifications",
        })
    }

    fn polling(dirs: &[PathBuf]) -> Result<Backend, WatchError> {
        let (tx, events) = mpsc::channel();
        let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
        let mut watcher =
            PollWatcher::new(tx, config).map_err(|e| watch_error(dirs.first(), &e))?;
        let mut watched = HashSet::new();
        for d in dirs {
            if watcher.watch(d, RecursiveMode::NonRecursive).is_ok() {
                watched.insert(d.clone());
            }
        }
        Ok(Backend {
            watcher: Box::new(watcher),
            events,
            watched,
            mode: "polling",
        })
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

    /// Git ignores every `out` folder.
    struct OutIgnored;

    impl Folders for OutIgnored {
        fn ignored(&mut self, paths: &[(PathBuf, bool)]) -> Vec<bool> {
            paths
                .iter()
                .map(|(p, _)| p.components().any(|c| c.as_os_str() == "out"))
                .collect()
        }
        fn below(&mut self, dir: &Path) -> Vec<PathBuf> {
            let mut out = Vec::new();
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                if e.path().is_dir() && e.file_name() != "out" {
                    out.push(e.path());
                    out.extend(self.below(&e.path()));
                }
            }
            out
        }
    }

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
            folders: Box::new(OutIgnored),
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
            assert_eq!(changed.paths, [PathBuf::from("/repo/a.txt")]);
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
            changed.paths,
            [PathBuf::from("/repo/a.txt"), PathBuf::from("/repo/b.txt")]
        );
        assert!(!changed.lost && !changed.ignore_rules);
    }

    fn created(path: &Path) -> notify::Result<Event> {
        Ok(Event::new(EventKind::Create(notify::event::CreateKind::Any)).add_path(path.into()))
    }

    #[test]
    fn what_git_ignores_never_counts_and_is_never_watched() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pkg/out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("bin"), "").unwrap();
        let (mut w, tx) = fed();
        // A build creating its output folder and writing into it.
        tx.send(created(&out)).unwrap();
        tx.send(created(&out.join("bin"))).unwrap();
        // Then a save.
        let saved = dir.path().join("pkg/main.go");
        tx.send(modified(saved.to_str().unwrap())).unwrap();
        let changed = w.wait(Duration::from_millis(1), &|| false).unwrap();
        assert_eq!(changed.paths, [saved]);
        assert_eq!(w.watched_count(), 0, "the ignored folder is not watched");
    }

    #[test]
    fn a_folder_that_appears_is_watched_with_what_is_below_it_and_all_of_it_counts() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        std::fs::create_dir_all(new.join("a/b")).unwrap();
        std::fs::create_dir_all(new.join("a/out/c")).unwrap();
        let (mut w, tx) = fed();
        // Only the top folder's creation was seen: the rest was made before it was watched.
        tx.send(created(&new)).unwrap();
        let changed = w.wait(Duration::from_millis(1), &|| false).unwrap();
        assert_eq!(changed.paths, [new.clone(), new.join("a"), new.join("a/b")]);
        assert_eq!(w.watched_count(), 3);
        // Gone again: no longer watched, nor anything below it.
        std::fs::remove_dir_all(&new).unwrap();
        tx.send(Ok(
            Event::new(EventKind::Remove(RemoveKind::Folder)).add_path(new.clone())
        ))
        .unwrap();
        w.wait(Duration::from_millis(1), &|| false).unwrap();
        assert_eq!(w.watched_count(), 0);
    }

    #[test]
    fn lost_events_and_gitignore_edits_are_said() {
        let (mut w, tx) = fed();
        tx.send(Err(notify::Error::generic("queue overflow")))
            .unwrap();
        let changed = w.wait(Duration::from_millis(1), &|| false).unwrap();
        assert!(changed.lost && changed.paths.is_empty());
        tx.send(modified("/repo/pkg/.gitignore")).unwrap();
        let changed = w.wait(Duration::from_millis(1), &|| false).unwrap();
        assert!(changed.ignore_rules && !changed.lost);
    }
}
