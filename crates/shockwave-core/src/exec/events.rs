//! The interface between the scheduler and the reporters: every [`RunEvent`] a run emits, how each
//! task ended and how the run ended. Typed values only: no wording, which is the reporters' work.

use std::time::Duration;

use super::Writes;
use crate::cache::remote::RemoteEvent;
use crate::cache::CacheError;
use crate::tasks::TaskIdx;

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    Success,
    /// Outputs restored and log replayed from the local cache.
    CachedLocal,
    /// Downloaded from the remote cache, verified, kept locally, then restored like a local hit.
    CachedRemote,
    /// Non-zero exit, killed by a signal (`exit_code: None`), or could not start.
    Failed {
        exit_code: Option<i32>,
    },
    /// Not run: something it needs failed, the run stopped early, or it was interrupted.
    Skipped,
}

impl TaskStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Success => "success",
            TaskStatus::CachedLocal => "cached-local",
            TaskStatus::CachedRemote => "cached-remote",
            TaskStatus::Failed { .. } => "failed",
            TaskStatus::Skipped => "skipped",
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            TaskStatus::Success | TaskStatus::CachedLocal | TaskStatus::CachedRemote
        )
    }

    /// Restored from either cache.
    pub fn cached(&self) -> bool {
        matches!(self, TaskStatus::CachedLocal | TaskStatus::CachedRemote)
    }
}

/// Everything the reporter hears about a run.
#[derive(Debug)]
pub enum RunEvent {
    /// Handed to a worker: it restores the task from the cache or runs its command.
    Started {
        task: TaskIdx,
    },
    /// The task's command was started (it was not restored from the cache).
    CommandStarted {
        task: TaskIdx,
    },
    /// The task's command is still running; sent every `RunOptions::heartbeat`.
    StillRunning {
        task: TaskIdx,
        running_for: Duration,
    },
    /// One line of output, only under `stream`.
    Output {
        task: TaskIdx,
        line: Vec<u8>,
    },
    Finished {
        task: TaskIdx,
        result: TaskResult,
    },
    /// A cache problem: reported, never fatal. The task runs (or keeps its result) without the
    /// cache.
    CacheWarning {
        task: TaskIdx,
        during: CacheStep,
        error: CacheError,
    },
    /// A task wrote files below its service root that a cache hit would not restore (no
    /// `outputs` glob covers them), or, with no outputs declared by anyone, changed or deleted
    /// files, so that its result was not cached.
    UndeclaredWrites {
        task: TaskIdx,
        writes: Writes,
    },
    /// Something the remote cache reports: a warning, that it is off, how uploads went.
    Remote(RemoteEvent),
    /// The run stops starting tasks, or escalates how it stops the running ones.
    Stopping {
        reason: StopReason,
    },
}

/// What the worker was doing with the cache when a [`RunEvent::CacheWarning`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStep {
    /// Taking the task's lock: the task runs unlocked.
    Lock,
    /// Restoring an entry: the task runs.
    Restore,
    /// Storing a successful result: the result stands, the next run misses.
    Store,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A task failed and the run does not keep going.
    TaskFailed { task: TaskIdx },
    /// The first stop request: SIGTERM went to every running command; SIGKILL follows after
    /// `grace` for those still running.
    Interrupted { grace: Duration },
    /// A second stop request: SIGKILL went to every running command, and the run ends as soon as
    /// they are gone (within [`KILL_WAIT`](super::KILL_WAIT)).
    InterruptedAgain,
    /// `commands` were still running `grace` after SIGTERM: they got SIGKILL.
    GraceOver { commands: usize, grace: Duration },
}

/// What a task's worker reports when it is done.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub status: TaskStatus,
    pub duration: Duration,
    /// Captured (or replayed) combined stdout and stderr.
    pub log: Vec<u8>,
    /// For cache hits: how long the task took when it ran.
    pub saved: Duration,
    /// For skipped tasks: the failed task that caused it, if any.
    pub skipped_because: Option<TaskIdx>,
    /// For cache hits: the target declares no `outputs`, so only the log was replayed.
    pub log_only: bool,
    /// For a task that ran: what it wrote that a cache hit would not restore, when anything.
    pub writes: Option<Box<Writes>>,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    pub results: Vec<TaskResult>,
    pub interrupted: bool,
    pub duration: Duration,
}
