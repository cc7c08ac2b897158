//! The repository a `watch` follows: the folders its watcher watches, as git sees them, and what
//! the watcher saw, which each round's worktree scan looks at instead of scanning in full.

use std::path::{Path, PathBuf};

use bstr::BString;

use super::error::EngineError;
use super::inputs::{self, Rehash};
use super::query::FileMonitor;
use super::Session;
use crate::scm::{GitFolders, Repo, RepoIndex, SeenChanges};
use crate::tasks::TaskGraph;
use crate::watch::{Changes, Folders};

/// The most changed paths kept between two hashes (as the worktree scan's own limit).
const MAX_REMEMBERED: usize = 50_000;

/// The worktree being watched.
pub struct WatchedRepo {
    workdir: PathBuf,
    seen: SeenChanges,
    /// The last hash's parts and what changed since, so a round hashes again only that.
    rehash: Rehash,
}

/// What a watcher starts with.
pub struct Watchable {
    /// Every folder to watch (each without its subfolders: the list holds those that count).
    pub dirs: Vec<PathBuf>,
    /// What answers the watcher's questions about the folders that come and go.
    pub folders: Box<dyn Folders>,
}

impl WatchedRepo {
    /// The repository around `cwd`, and what its watcher starts with.
    pub fn discover(cwd: &Path) -> Result<(WatchedRepo, Watchable), EngineError> {
        let repo = Repo::discover(cwd)?;
        let workdir = repo.workdir().to_path_buf();
        let dirs = repo.watched_dirs()?;
        let watched = WatchedRepo {
            workdir,
            seen: SeenChanges::new(),
            rehash: Rehash::default(),
        };
        let folders = Box::new(GitFolders::new(repo));
        Ok((watched, Watchable { dirs, folders }))
    }

    /// The file monitor of the rounds: what the watcher saw, in place of Watchman.
    pub fn monitor(&self, fs: &FileMonitor) -> FileMonitor {
        FileMonitor {
            seen: Some(self.seen.clone()),
            ..fs.clone()
        }
    }

    /// Records what one wait saw, for the next round's scan and hash.
    pub fn saw(&mut self, changed: &Changes) {
        if changed.lost {
            self.seen.lost();
        } else {
            self.seen.add(&self.workdir, &changed.paths);
        }
        if changed.lost || changed.ignore_rules {
            self.rehash.since = None;
        } else if let Some(since) = self.rehash.since.as_mut() {
            since.extend(
                changed
                    .paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(&self.workdir).ok())
                    .map(|rel| BString::from(rel.as_os_str().as_encoded_bytes())),
            );
            // Saves piling up while the config stays broken: past this, hashing everything
            // again costs less than remembering.
            if since.len() > MAX_REMEMBERED {
                self.rehash.since = None;
            }
        }
    }

    /// Every task's hash, hashing again only what changed since the last one (all of them the
    /// first time, or when what changed is not known).
    pub fn hash(
        &mut self,
        session: &Session,
        index: &RepoIndex,
        graph: &TaskGraph,
    ) -> Result<Vec<blake3::Hash>, EngineError> {
        let l = &session.loaded;
        Ok(inputs::rehash(
            l.git()?,
            &l.ws,
            index,
            graph,
            &session.options.task_env,
            &mut self.rehash,
        ))
    }

    /// Every folder to watch, listed anew; `None` when they cannot be listed now.
    pub fn folders(&self) -> Option<Vec<PathBuf>> {
        Repo::discover(&self.workdir)
            .ok()
            .and_then(|r| r.watched_dirs().ok())
    }
}
