//! The engine a command drives, through one [`Session`]: it loads the workspace and finds its
//! repository, checks what a command asks against the config alone, then does the git work —
//! what a range changed, what the changed lockfiles touch, what that affects — and plans: the
//! task graph, the index of its input files, the task hashes. `cli/`, `watch` rounds and tests
//! call it alike; it never prints (its [`Notice`]s and typed [`EngineError`]s are rendered by the
//! caller) and never decides an exit code.
//!
//! A session is reusable: `watch` opens one and reloads it on every round.

mod base;
mod error;
mod impact;
mod init;
mod inputs;
mod load;
mod notice;
mod push_event;
mod query;
mod select;
#[cfg(test)]
mod tests;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use base::BaseChoice;
pub use error::EngineError;
pub use init::InitRoot;
pub use load::cache_dir;
pub use notice::{Notice, Notify};
pub use query::{
    is_null_commit, CiBase, ConfigLocation, FileMonitor, PushBefore, Range, Select, SelectBy,
};
pub use select::Affecting;
pub use watch::WatchedRepo;

use crate::config::{ServiceId, Workspace};
use crate::exec::{Selection, WriteCheck};
use crate::filter::Selector;
use crate::hash::{EnvSource, TaskHashes};
use crate::scm::RepoIndex;
use crate::tasks::TaskGraph;

/// How a session works: where its config is, what its scans and hashes may ask of the
/// surroundings, and where it says what it has to say.
pub struct SessionOptions {
    pub config: ConfigLocation,
    /// The file monitor the worktree scans ask; `None`: they scan in full.
    pub monitor: Option<FileMonitor>,
    /// Where the variables that tasks declare in `env` are read, for their hashes.
    pub task_env: EnvSource<'static>,
    pub notify: Notify,
}

/// A loaded workspace and its repository, and what a command asks of them.
pub struct Session {
    /// The directory the command runs in.
    cwd: PathBuf,
    options: SessionOptions,
    said: load::Said,
    loaded: load::Loaded,
}

/// The services a `run` or `hash` covers, their tasks, and the content id of every file those
/// tasks read.
pub struct Prepared {
    pub selection: Selection,
    pub graph: TaskGraph,
    pub index: RepoIndex,
}

impl Session {
    /// Loads the config (`options.config`, or the nearest pipeline.toml above `cwd`; the workspace
    /// discovered at the repository root when there is none) and finds its repository. A config
    /// error is returned here; a missing repository only by the first call that needs git.
    pub fn open(cwd: &Path, options: SessionOptions) -> Result<Session, EngineError> {
        let mut said = load::Said::default();
        let loaded = load::load(
            cwd,
            &options.config,
            options.monitor.as_ref(),
            &mut said,
            options.notify,
        )?;
        Ok(Session {
            cwd: cwd.to_path_buf(),
            options,
            said,
            loaded,
        })
    }

    /// Loads the config and the repository again, as [`Session::open`] did. On an error the
    /// session keeps what it had.
    pub fn reload(&mut self) -> Result<(), EngineError> {
        let o = &self.options;
        self.loaded = load::load(
            &self.cwd,
            &o.config,
            o.monitor.as_ref(),
            &mut self.said,
            o.notify,
        )?;
        Ok(())
    }

    pub fn workspace(&self) -> &Workspace {
        &self.loaded.ws
    }

    /// The id of the service named `name`; an unknown name is an error with a suggestion.
    pub fn service_id(&self, name: &str) -> Result<ServiceId, EngineError> {
        select::service_id(&self.loaded.ws, name)
    }

    /// Fails on the first of `targets` that no service defines.
    pub fn check_targets(&self, targets: &[String]) -> Result<(), EngineError> {
        Ok(crate::tasks::check_targets(&self.loaded.ws, targets)?)
    }

    /// Checks `filters` against the config alone: a name no service has, a folder that does not
    /// exist.
    pub fn check_filters(&self, filters: &[Selector]) -> Result<(), EngineError> {
        select::check_filters(&self.loaded, filters)
    }

    /// The cache directory: `flag` (relative to the working directory), or `.shockwave/cache` in
    /// the repository's worktree.
    pub fn cache_dir(&self, flag: Option<&Path>) -> Result<PathBuf, EngineError> {
        let git = self.loaded.git()?;
        Ok(cache_dir(git.repo.workdir(), &self.cwd, flag))
    }

    /// What `range` affects, and with `filters` which services they pick: filters checked
    /// against the config, then the repository asked.
    pub fn affected(&self, range: &Range, filters: &[Selector]) -> Result<Affecting, EngineError> {
        let l = &self.loaded;
        select::check_filters(l, filters)?;
        let query = base::change_query(l.ws.default_base(), range);
        l.git()?;
        select::affected(l, range, query, filters, self.options.notify)
    }

    /// The services `filters` pick, indexed by id; git is asked only by `[REV]` selectors.
    pub fn filtered(&self, filters: &[Selector]) -> Result<Vec<bool>, EngineError> {
        select::filtered(&self.loaded, filters, self.options.notify)
    }

    /// The services `select` covers and why, with the tasks of `targets`: checked against the
    /// config alone, then against the repository.
    pub fn selection(&self, select: &Select, targets: &[String]) -> Result<Selection, EngineError> {
        let l = &self.loaded;
        let chosen = select::choose(l, select)?;
        self.check_targets(targets)?;
        l.git()?;
        select::select(l, select, chosen, self.options.notify)
    }

    /// The tasks of `targets` for `services`, built and checked (a cycle is shown where the
    /// config closes it).
    pub fn task_graph(
        &self,
        services: &[ServiceId],
        targets: &[String],
    ) -> Result<TaskGraph, EngineError> {
        let ws = &self.loaded.ws;
        TaskGraph::build(ws, services, targets).map_err(|e| EngineError::task(ws, e))
    }

    /// The content id of every file `graph`'s tasks may read.
    pub fn input_index(&mut self, graph: &TaskGraph) -> Result<RepoIndex, EngineError> {
        let (git, ws) = self.loaded.git_mut()?;
        inputs::input_index(git, ws, graph)
    }

    /// What a `run` or `hash` of `targets` works on: the selection, its task graph and the
    /// index of their inputs.
    pub fn prepare(
        &mut self,
        select: &Select,
        targets: &[String],
    ) -> Result<Prepared, EngineError> {
        let selection = self.selection(select, targets)?;
        let graph = self.task_graph(&selection.services, targets)?;
        let index = self.input_index(&graph)?;
        Ok(Prepared {
            selection,
            graph,
            index,
        })
    }

    /// Every task's hash and fingerprint, from the files in `index`.
    pub fn hash<'a>(
        &self,
        index: &'a RepoIndex,
        graph: &TaskGraph,
    ) -> Result<TaskHashes<'a>, EngineError> {
        let l = &self.loaded;
        Ok(inputs::hash(
            l.git()?,
            &l.ws,
            index,
            graph,
            &self.options.task_env,
        ))
    }

    /// What the workers need to tell the files a task wrote that a cache hit would not restore.
    pub fn write_check(&self, index: Arc<RepoIndex>) -> Result<WriteCheck, EngineError> {
        let l = &self.loaded;
        Ok(inputs::write_check(&l.ws, &l.git()?.prefix, index))
    }
}
