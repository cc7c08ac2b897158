//! Runs a task graph: a scheduler that owns all run state on one thread, and `-j` worker threads
//! (`worker.rs`) that restore from the cache or run commands via `sh -c` in the service root, each
//! in its own process group so an interrupt can stop everything a task started. The engine never
//! prints: it emits [`RunEvent`]s (`events.rs`) and the caller's reporters render them. With a
//! remote cache, a local miss is looked up there, stores are uploaded in the background, and the
//! run ends by waiting (at most the remote's timeout) for those uploads.
//!
//! Stopping ([`Interrupt`]): the first request sends SIGTERM to every running command and stops
//! starting tasks; commands still running [`TERM_GRACE`] later get SIGKILL. A second request sends
//! SIGKILL at once, and the scheduler waits at most [`KILL_WAIT`] more for its workers. Nothing is
//! stored in the cache once a stop was requested; a store already under way when the run is
//! abandoned leaves at most a temporary directory, never an entry (entries are renamed into place),
//! and the next run removes it once it sees its writer is gone.

mod events;
mod interrupt;
mod persistent;
mod plan;
mod worker;
mod writes;

pub use events::{CacheStep, RunEvent, RunOutcome, StopReason, TaskResult, TaskStatus};
pub use interrupt::Interrupt;
pub use persistent::{Ensured, Persistent};
pub use plan::{task_spec, CacheState, Plan, SelectedBy, Selection};
pub use writes::{Watch, WriteCheck, Writes, MAX_ENTRIES};

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::remote::{RemoteCache, RemoteEvent};
use crate::cache::LocalCache;
use crate::config::Globs;
use crate::tasks::{TaskGraph, TaskIdx};
use worker::{skipped, Caches, Msg};

/// What one task needs to run, resolved by the caller.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub label: String,
    pub command: String,
    pub cwd: PathBuf,
    pub hash: String,
    /// Read from and write to the cache (`cache = true` and no `--no-cache`).
    pub cacheable: bool,
    pub outputs: Arc<Globs>,
    pub env: Vec<(String, String)>,
    /// A cacheable task: `cwd` is listed before and after its command runs, and the files it
    /// wrote that a cache hit would not restore are reported (see [`Watch`] for when such a run
    /// is not cached at all).
    pub watch: Option<Watch>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    pub stream: bool,
    /// How often to report a command that is still running (`None`: never).
    pub heartbeat: Option<Duration>,
    /// What the workers need to judge the files a watched task wrote; without it no task is
    /// watched.
    pub writes: Option<Arc<WriteCheck>>,
}

/// How long commands get to exit after SIGTERM before they get SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// After a second stop request, how long the scheduler still waits for its workers to report.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// How long the scheduler waits for a worker's message before it looks at the clock again
/// (heartbeats, the SIGKILL deadline).
const TICK: Duration = Duration::from_millis(50);

/// Runs every task of `graph` (specs in the same order) and reports through `on_event`. With a
/// `remote` cache (used only together with `cache`), local misses are looked up there, and the
/// run ends by waiting (bounded) for its uploads.
pub fn execute(
    graph: &TaskGraph,
    specs: Vec<TaskSpec>,
    opts: &RunOptions,
    cache: Option<Arc<LocalCache>>,
    remote: Option<Arc<RemoteCache>>,
    interrupt: Arc<Interrupt>,
    on_event: &mut dyn FnMut(&RunEvent),
) -> RunOutcome {
    interrupt.set_executing(true);
    // What earlier runs that died left behind (temporary directories in the cache, a killed
    // restore's temporary files among the outputs) goes before this run adds its own.
    if let Some(local) = &cache {
        local.remove_leftovers();
    }
    let caches = Caches {
        remote: remote.filter(|_| cache.is_some()),
        local: cache,
    };
    let outcome = schedule(graph, specs, opts, &caches, &interrupt, on_event);
    if let Some(remote) = &caches.remote {
        let report = remote.finish_uploads(outcome.interrupted);
        for e in remote.events() {
            on_event(&RunEvent::Remote(e));
        }
        on_event(&RunEvent::Remote(RemoteEvent::Uploads(report)));
    }
    interrupt.set_executing(false);
    outcome
}

fn schedule(
    graph: &TaskGraph,
    specs: Vec<TaskSpec>,
    opts: &RunOptions,
    caches: &Caches,
    interrupt: &Arc<Interrupt>,
    on_event: &mut dyn FnMut(&RunEvent),
) -> RunOutcome {
    let started = Instant::now();
    let mut s = Scheduler::new(graph, opts, on_event);
    let (job_tx, job_rx) = mpsc::channel::<TaskIdx>();
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
    let jobs = opts.jobs.max(1).min(graph.len().max(1));
    let workers = worker::spawn(jobs, job_rx, &msg_tx, specs, caches, interrupt, opts);
    drop(msg_tx);

    let mut abandoned = false;
    loop {
        s.follow_interrupt(interrupt);
        s.heartbeats();
        s.start_ready(jobs, &job_tx);
        if s.running == 0 && (s.stop || s.ready.is_empty()) {
            break;
        }
        if s.give_up.is_some_and(|d| Instant::now() >= d) {
            abandoned = true;
            break;
        }
        match msg_rx.recv_timeout(TICK) {
            Ok(Msg::Event(e)) => s.worker_event(&e),
            Ok(Msg::Done(idx, result)) => s.finished(idx, result),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(job_tx);
    // After a second stop request, a worker still busy (a large restore, say) is left behind: the
    // process is about to exit.
    if !abandoned {
        for w in workers {
            let _ = w.join();
        }
    }
    let results = s
        .results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| skipped(None)))
        .collect();
    RunOutcome {
        results,
        interrupted: s.interrupted,
        duration: started.elapsed(),
    }
}

/// The run state, owned by the scheduler's thread and changed nowhere else.
struct Scheduler<'a> {
    graph: &'a TaskGraph,
    opts: &'a RunOptions,
    on_event: &'a mut dyn FnMut(&RunEvent),
    /// For each task, how many of its needs have not succeeded yet.
    remaining: Vec<usize>,
    results: Vec<Option<TaskResult>>,
    /// Tasks whose needs all succeeded, in the order they became ready.
    ready: VecDeque<TaskIdx>,
    /// Downstream of a failure: never started.
    blocked: Vec<bool>,
    running: usize,
    /// Start no more tasks.
    stop: bool,
    interrupted: bool,
    /// When each running command's next heartbeat is due, and when it started.
    beats: Vec<Option<(Instant, Instant)>>,
    /// When the commands still running after SIGTERM get SIGKILL (SIGTERM is sent by
    /// `Interrupt::request` itself; the scheduler follows up).
    kill_deadline: Option<Instant>,
    /// Set by a second stop request: stop waiting for workers then.
    give_up: Option<Instant>,
}

impl<'a> Scheduler<'a> {
    fn new(
        graph: &'a TaskGraph,
        opts: &'a RunOptions,
        on_event: &'a mut dyn FnMut(&RunEvent),
    ) -> Self {
        let n = graph.len();
        let remaining: Vec<usize> = graph.tasks().iter().map(|t| t.needs.len()).collect();
        Scheduler {
            graph,
            opts,
            on_event,
            ready: graph
                .task_ids()
                .filter(|i| remaining[i.index()] == 0)
                .collect(),
            remaining,
            results: vec![None; n],
            blocked: vec![false; n],
            running: 0,
            stop: false,
            interrupted: false,
            beats: vec![None; n],
            kill_deadline: None,
            give_up: None,
        }
    }

    fn emit(&mut self, e: &RunEvent) {
        (self.on_event)(e);
    }

    /// Acts on new stop requests, and sends SIGKILL once the grace period is over.
    fn follow_interrupt(&mut self, interrupt: &Interrupt) {
        let requests = interrupt.requests();
        if requests >= 1 && !self.interrupted {
            self.interrupted = true;
            self.stop = true;
            self.emit(&RunEvent::Stopping {
                reason: StopReason::Interrupted { grace: TERM_GRACE },
            });
            self.kill_deadline = Some(Instant::now() + TERM_GRACE);
        }
        if requests >= 2 && self.give_up.is_none() {
            // `request` sent SIGKILL already, and `register` kills any group started since.
            self.emit(&RunEvent::Stopping {
                reason: StopReason::InterruptedAgain,
            });
            self.kill_deadline = None;
            self.give_up = Some(Instant::now() + KILL_WAIT);
        }
        if self.kill_deadline.is_some_and(|d| Instant::now() >= d) {
            let commands = interrupt.signal_all(interrupt::Stop::Kill);
            if commands > 0 {
                self.emit(&RunEvent::Stopping {
                    reason: StopReason::GraceOver {
                        commands,
                        grace: TERM_GRACE,
                    },
                });
            }
            self.kill_deadline = None;
        }
    }

    fn heartbeats(&mut self) {
        let Some(every) = self.opts.heartbeat else {
            return;
        };
        let now = Instant::now();
        let graph = self.graph;
        for task in graph.task_ids() {
            if let Some((due, since)) = self.beats[task.index()] {
                if now >= due {
                    self.emit(&RunEvent::StillRunning {
                        task,
                        running_for: now - since,
                    });
                    self.beats[task.index()] = Some((due + every, since));
                }
            }
        }
    }

    /// Hands ready tasks to the workers while fewer than `jobs` run.
    fn start_ready(&mut self, jobs: usize, job_tx: &mpsc::Sender<TaskIdx>) {
        while !self.stop && self.running < jobs {
            let Some(idx) = self.ready.pop_front() else {
                break;
            };
            if self.blocked[idx.index()] {
                continue;
            }
            self.running += 1;
            self.emit(&RunEvent::Started { task: idx });
            if job_tx.send(idx).is_err() {
                break;
            }
        }
    }

    fn worker_event(&mut self, e: &RunEvent) {
        if let (RunEvent::CommandStarted { task }, Some(every)) = (e, self.opts.heartbeat) {
            let now = Instant::now();
            self.beats[task.index()] = Some((now + every, now));
        }
        self.emit(e);
    }

    /// A task ended: release what needs it, or skip everything downstream of a failure.
    fn finished(&mut self, idx: TaskIdx, result: TaskResult) {
        self.running -= 1;
        self.beats[idx.index()] = None;
        let ok = result.status.succeeded();
        self.emit(&RunEvent::Finished {
            task: idx,
            result: result.clone(),
        });
        self.results[idx.index()] = Some(result);
        let graph = self.graph;
        if ok {
            for &d in graph.dependents_of(idx) {
                self.remaining[d.index()] -= 1;
                if self.remaining[d.index()] == 0 && !self.blocked[d.index()] {
                    self.ready.push_back(d);
                }
            }
            return;
        }
        // Everything downstream of a failure is skipped, with the cause recorded.
        let mut stack = vec![idx];
        while let Some(t) = stack.pop() {
            for &d in graph.dependents_of(t) {
                if !self.blocked[d.index()] {
                    self.blocked[d.index()] = true;
                    self.results[d.index()] = Some(skipped(Some(idx)));
                    stack.push(d);
                }
            }
        }
        if !self.opts.keep_going && !self.stop {
            self.stop = true;
            self.emit(&RunEvent::Stopping {
                reason: StopReason::TaskFailed { task: idx },
            });
        }
    }
}
