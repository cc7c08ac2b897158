//! The task graph: a task is (service, target). Requested tasks pull in what their `needs` name —
//! `"build"` within the service, `"^build"` in every dependency — even for services that are not
//! affected. A target a service does not define is passed through: its needs are carried on to the
//! tasks that do exist. The graph is checked for cycles once and then only read. This file holds
//! the graph's values and errors; `build` expands the requested tasks into it.

use std::ops::Range;
use std::sync::Arc;

use crate::config::{ServiceId, Target, Workspace};

/// A task, by its position in its [`TaskGraph`]. Its own type, so that it cannot be passed where
/// a service's id is meant; only the crate makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskIdx(usize);

impl TaskIdx {
    #[inline]
    pub(crate) const fn new(index: usize) -> TaskIdx {
        TaskIdx(index)
    }

    /// The position, for lists kept in the graph's order.
    #[inline]
    pub const fn index(self) -> usize {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub service: ServiceId,
    pub target: Arc<str>,
    pub def: Arc<Target>,
    /// Tasks that must succeed first, sorted, no duplicates.
    pub needs: Vec<TaskIdx>,
    /// Asked for on the command line (as opposed to pulled in by `needs`).
    pub requested: bool,
    /// Services its needs passed through because they lack the target (a `^build` reaching a
    /// config package with no build script), sorted: nothing of theirs runs, but their files
    /// are what the task builds from, so they are inputs of its hash (as a Turborepo placeholder
    /// task's files are).
    pub through: Vec<ServiceId>,
}

impl Task {
    /// `service:target`
    pub fn label(&self, ws: &Workspace) -> String {
        format!("{}:{}", ws.service(self.service).name, self.target)
    }
}

/// An acyclic set of tasks in topological order: every task comes after everything it needs.
/// Built only here (`build`, [`TaskGraph::subset`]) and read through its accessors afterwards.
#[derive(Debug, Default)]
pub struct TaskGraph {
    tasks: Vec<Task>,
    /// `dependents[i]`: tasks that need task `i`.
    dependents: Vec<Vec<TaskIdx>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("task cycle: {chain}; {help}")]
    Cycle {
        /// `a:build → a:test → a:build`
        chain: String,
        /// What to change: the `needs` entry, or the dependency edge between services that a
        /// `^target` would have to order.
        help: String,
        /// Where the config writes the `needs` entry that closes the cycle.
        at: Option<Range<usize>>,
    },
    #[error("`{needed}` is persistent (it never ends), but a task of `{by}` needs it; drop it from that `needs` (run it alongside instead)")]
    NeedsPersistent {
        needed: String,
        by: String,
        /// Where the config writes the `needs` entry.
        at: Option<Range<usize>>,
    },
    #[error("no target named `{name}`; {}", match known.as_str() {
        "" => format!("no service defines a target yet: add `[targets.{name}]` with `command = \"...\"` to pipeline.toml (npm, pnpm and yarn packages get their package.json scripts, Cargo crates `build`, `test` and `lint`, Go units `build` and `test`)"),
        known => format!("{hint}defined targets: {known}"),
    })]
    UnknownTarget {
        name: String,
        hint: String,
        known: String,
    },
}

/// Fails on the first of `targets` that no service defines. Needs only the config, so a command
/// can check its targets before any git work.
pub fn check_targets(ws: &Workspace, targets: &[String]) -> Result<(), TaskError> {
    for t in targets {
        if !ws.target_names().contains(t) {
            let hint = crate::diagnostic::suggest(t, ws.target_names().iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(TaskError::UnknownTarget {
                name: t.clone(),
                hint,
                known: ws
                    .target_names()
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

mod build;
#[cfg(test)]
mod tests;

impl TaskGraph {
    /// The graph of `tasks` (each needing only tasks before it), with each task's dependents.
    fn from_tasks(tasks: Vec<Task>) -> TaskGraph {
        let mut dependents = vec![Vec::new(); tasks.len()];
        for (i, t) in tasks.iter().enumerate() {
            for &n in &t.needs {
                dependents[n.index()].push(TaskIdx::new(i));
            }
        }
        TaskGraph { tasks, dependents }
    }

    /// A graph of `tasks` as given, in any order, with no dependents listed: for tests of what
    /// reads only the tasks.
    #[cfg(test)]
    pub(crate) fn unordered_for_test(tasks: Vec<Task>) -> TaskGraph {
        let dependents = vec![Vec::new(); tasks.len()];
        TaskGraph { tasks, dependents }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Every task, in topological order (a task's position is its [`TaskIdx`]).
    #[inline]
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The task `i` stands for.
    #[inline]
    pub fn task(&self, i: TaskIdx) -> &Task {
        &self.tasks[i.index()]
    }

    /// Every task's index, in order.
    pub fn task_ids(&self) -> impl ExactSizeIterator<Item = TaskIdx> + DoubleEndedIterator {
        (0..self.tasks.len()).map(TaskIdx::new)
    }

    /// Every task with its index, in order.
    pub fn tasks_by_idx(
        &self,
    ) -> impl ExactSizeIterator<Item = (TaskIdx, &Task)> + DoubleEndedIterator {
        self.task_ids().zip(&self.tasks)
    }

    /// The tasks that need task `i`.
    #[inline]
    pub fn dependents_of(&self, i: TaskIdx) -> &[TaskIdx] {
        &self.dependents[i.index()]
    }

    /// The tasks with `keep[i]` set, still in topological order, each needing only the kept
    /// tasks among its needs (the others count as done); and for each the index it had here.
    pub fn subset(&self, keep: &[bool]) -> (TaskGraph, Vec<TaskIdx>) {
        self.subset_requesting(keep, |i| self.task(i).requested)
    }

    /// As [`TaskGraph::subset`], each kept task requested when `requested` says so of the index
    /// it had here.
    pub fn subset_requesting(
        &self,
        keep: &[bool],
        requested: impl Fn(TaskIdx) -> bool,
    ) -> (TaskGraph, Vec<TaskIdx>) {
        let old: Vec<TaskIdx> = self.task_ids().filter(|i| keep[i.index()]).collect();
        let mut new_index = vec![TaskIdx::new(usize::MAX); self.len()];
        for (new, &o) in old.iter().enumerate() {
            new_index[o.index()] = TaskIdx::new(new);
        }
        let tasks: Vec<Task> = old
            .iter()
            .map(|&o| {
                let t = self.task(o);
                Task {
                    needs: t
                        .needs
                        .iter()
                        .filter(|n| keep[n.index()])
                        .map(|n| new_index[n.index()])
                        .collect(),
                    requested: requested(o),
                    ..t.clone()
                }
            })
            .collect();
        (TaskGraph::from_tasks(tasks), old)
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}
