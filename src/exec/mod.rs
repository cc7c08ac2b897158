//! Runs a task graph: a scheduler that owns all run state on one thread, and `-j` worker threads that
//! restore from the cache or run commands via `sh -c` in the service root, each in its own process
//! group so an interrupt can stop everything a task started. The engine never prints: it emits
//! [`RunEvent`]s and the caller's reporter renders them.
//!
//! Stopping ([`Interrupt`]): the first request sends SIGTERM to every running command and stops
//! starting tasks; commands still running [`TERM_GRACE`] later get SIGKILL. A second request sends
//! SIGKILL at once, and the scheduler waits at most [`KILL_WAIT`] more for its workers. Nothing is
//! stored in the cache once a stop was requested; a store already under way when the run is
//! abandoned leaves at most a temporary directory, never an entry (entries are renamed into place).

mod interrupt;
mod plan;

pub use interrupt::Interrupt;
pub use plan::{CacheState, Plan, PlannedTask, SelectedBy, Selection};

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::{CacheError, LocalCache};
use crate::config::Globs;
use crate::tasks::{TaskGraph, TaskIdx};

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    Success,
    /// Outputs restored and log replayed from the local cache.
    CachedLocal,
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
            TaskStatus::Failed { .. } => "failed",
            TaskStatus::Skipped => "skipped",
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(self, TaskStatus::Success | TaskStatus::CachedLocal)
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
    /// they are gone (within [`KILL_WAIT`]).
    InterruptedAgain,
    /// `commands` were still running `grace` after SIGTERM: they got SIGKILL.
    GraceOver { commands: usize, grace: Duration },
}

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
}

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
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    pub stream: bool,
    /// How often to report a command that is still running (`None`: never).
    pub heartbeat: Option<Duration>,
}

pub struct RunOutcome {
    pub results: Vec<TaskResult>,
    pub interrupted: bool,
    pub duration: Duration,
}

enum Msg {
    Event(RunEvent),
    Done(TaskIdx, TaskResult),
}

/// How long to keep reading a command's output after it exited (for the last buffered lines).
const OUTPUT_GRACE: Duration = Duration::from_millis(300);

/// How long commands get to exit after SIGTERM before they get SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// After a second stop request, how long the scheduler still waits for its workers to report.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// Runs every task of `graph` (specs in the same order) and reports through `on_event`.
pub fn execute(
    graph: &TaskGraph,
    specs: Vec<TaskSpec>,
    opts: &RunOptions,
    cache: Option<Arc<LocalCache>>,
    interrupt: Arc<Interrupt>,
    on_event: &mut dyn FnMut(&RunEvent),
) -> RunOutcome {
    interrupt.set_executing(true);
    let outcome = schedule(graph, specs, opts, cache, &interrupt, on_event);
    interrupt.set_executing(false);
    outcome
}

fn schedule(
    graph: &TaskGraph,
    specs: Vec<TaskSpec>,
    opts: &RunOptions,
    cache: Option<Arc<LocalCache>>,
    interrupt: &Arc<Interrupt>,
    on_event: &mut dyn FnMut(&RunEvent),
) -> RunOutcome {
    let started = Instant::now();
    let n = graph.len();
    let specs: Arc<Vec<TaskSpec>> = Arc::new(specs);
    let mut remaining: Vec<usize> = graph.tasks.iter().map(|t| t.needs.len()).collect();
    let mut results: Vec<Option<TaskResult>> = vec![None; n];
    let mut ready: std::collections::VecDeque<TaskIdx> =
        (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut blocked = vec![false; n];
    let mut running = 0usize;
    let mut stop = false;
    let mut interrupted = false;
    // When each running command's next heartbeat is due, and when it started.
    let mut beats: Vec<Option<(Instant, Instant)>> = vec![None; n];

    let (job_tx, job_rx) = mpsc::channel::<TaskIdx>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
    let jobs = opts.jobs.max(1).min(n.max(1));
    let mut workers = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        let job_rx = job_rx.clone();
        let msg_tx = msg_tx.clone();
        let specs = specs.clone();
        let cache = cache.clone();
        let interrupt = interrupt.clone();
        let stream = opts.stream;
        workers.push(std::thread::spawn(move || loop {
            let next = job_rx.lock().map(|rx| rx.recv());
            let Ok(Ok(idx)) = next else { break };
            // A bug in one task's handling must not hang the run: report it as a failure.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_one(
                    idx,
                    &specs[idx],
                    cache.as_deref(),
                    &interrupt,
                    stream,
                    &msg_tx,
                )
            }))
            .unwrap_or_else(|_| TaskResult {
                status: TaskStatus::Failed { exit_code: None },
                duration: Duration::ZERO,
                log: b"shockwave: internal error while running this task (see the message above)\n"
                    .to_vec(),
                saved: Duration::ZERO,
                skipped_because: None,
            });
            if msg_tx.send(Msg::Done(idx, result)).is_err() {
                break;
            }
        }));
    }
    drop(msg_tx);

    // SIGTERM is sent by `Interrupt::request` itself; the scheduler follows up.
    let mut kill_deadline: Option<Instant> = None;
    // Set by a second stop request: stop waiting for workers then.
    let mut give_up: Option<Instant> = None;
    let mut abandoned = false;
    loop {
        let requests = interrupt.requests();
        if requests >= 1 && !interrupted {
            interrupted = true;
            stop = true;
            on_event(&RunEvent::Stopping {
                reason: StopReason::Interrupted { grace: TERM_GRACE },
            });
            kill_deadline = Some(Instant::now() + TERM_GRACE);
        }
        if requests >= 2 && give_up.is_none() {
            // `request` sent SIGKILL already, and `register` kills any group started since.
            on_event(&RunEvent::Stopping {
                reason: StopReason::InterruptedAgain,
            });
            kill_deadline = None;
            give_up = Some(Instant::now() + KILL_WAIT);
        }
        if kill_deadline.is_some_and(|d| Instant::now() >= d) {
            let commands = interrupt.signal_all(libc::SIGKILL);
            if commands > 0 {
                on_event(&RunEvent::Stopping {
                    reason: StopReason::GraceOver {
                        commands,
                        grace: TERM_GRACE,
                    },
                });
            }
            kill_deadline = None;
        }
        if let Some(every) = opts.heartbeat {
            let now = Instant::now();
            for (task, beat) in beats.iter_mut().enumerate() {
                if let Some((due, since)) = beat {
                    if now >= *due {
                        on_event(&RunEvent::StillRunning {
                            task,
                            running_for: now - *since,
                        });
                        *due += every;
                    }
                }
            }
        }
        while !stop && running < jobs {
            let Some(idx) = ready.pop_front() else { break };
            if blocked[idx] {
                continue;
            }
            running += 1;
            on_event(&RunEvent::Started { task: idx });
            if job_tx.send(idx).is_err() {
                break;
            }
        }
        if running == 0 && (stop || ready.is_empty()) {
            break;
        }
        if give_up.is_some_and(|d| Instant::now() >= d) {
            abandoned = true;
            break;
        }
        match msg_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Msg::Event(e)) => {
                if let (RunEvent::CommandStarted { task }, Some(every)) = (&e, opts.heartbeat) {
                    let now = Instant::now();
                    beats[*task] = Some((now + every, now));
                }
                on_event(&e);
            }
            Ok(Msg::Done(idx, result)) => {
                running -= 1;
                beats[idx] = None;
                let ok = result.status.succeeded();
                on_event(&RunEvent::Finished {
                    task: idx,
                    result: result.clone(),
                });
                results[idx] = Some(result);
                if ok {
                    for &d in &graph.dependents[idx] {
                        remaining[d] -= 1;
                        if remaining[d] == 0 && !blocked[d] {
                            ready.push_back(d);
                        }
                    }
                } else {
                    // Everything downstream of a failure is skipped, with the cause recorded.
                    let mut stack = vec![idx];
                    while let Some(t) = stack.pop() {
                        for &d in &graph.dependents[t] {
                            if !blocked[d] {
                                blocked[d] = true;
                                results[d] = Some(skipped(Some(idx)));
                                stack.push(d);
                            }
                        }
                    }
                    if !opts.keep_going && !stop {
                        stop = true;
                        on_event(&RunEvent::Stopping {
                            reason: StopReason::TaskFailed { task: idx },
                        });
                    }
                }
            }
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
    let results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| skipped(None)))
        .collect();
    RunOutcome {
        results,
        interrupted,
        duration: started.elapsed(),
    }
}

fn skipped(because: Option<TaskIdx>) -> TaskResult {
    TaskResult {
        status: TaskStatus::Skipped,
        duration: Duration::ZERO,
        log: Vec::new(),
        saved: Duration::ZERO,
        skipped_because: because,
    }
}

fn run_one(
    idx: TaskIdx,
    spec: &TaskSpec,
    cache: Option<&LocalCache>,
    interrupt: &Interrupt,
    stream: bool,
    tx: &mpsc::Sender<Msg>,
) -> TaskResult {
    let started = Instant::now();
    // Held until the task is restored, or has run and been stored: another shockwave run of the
    // same task in this cache waits here, then restores what this one stored.
    let _lock = match (spec.cacheable, cache) {
        (true, Some(cache)) => match cache.lock(&spec.hash, &|| interrupt.is_requested()) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return skipped(None),
            Err(e) => {
                let _ = tx.send(Msg::Event(RunEvent::CacheWarning {
                    task: idx,
                    during: CacheStep::Lock,
                    error: e,
                }));
                None
            }
        },
        _ => None,
    };
    if let (true, Some(cache)) = (spec.cacheable, cache) {
        match cache.restore(&spec.hash, &spec.cwd, &spec.outputs) {
            Ok(Some(hit)) => {
                return TaskResult {
                    status: TaskStatus::CachedLocal,
                    duration: started.elapsed(),
                    log: hit.log,
                    saved: Duration::from_millis(hit.meta.duration_ms),
                    skipped_because: None,
                }
            }
            Ok(None) => {}
            Err(e) => {
                let _ = tx.send(Msg::Event(RunEvent::CacheWarning {
                    task: idx,
                    during: CacheStep::Restore,
                    error: e,
                }));
            }
        }
    }
    if interrupt.is_requested() {
        return skipped(None);
    }
    let (status, log) = run_command(idx, spec, interrupt, stream, tx);
    let duration = started.elapsed();
    // A command that finished just as the run was interrupted may have seen the signal: keep its
    // result, but do not put it in the cache.
    let store = status == TaskStatus::Success && spec.cacheable && !interrupt.is_requested();
    if store {
        if let Some(cache) = cache {
            if let Err(e) = cache.store(
                &spec.hash,
                &spec.label,
                &spec.cwd,
                &spec.outputs,
                &log,
                duration,
            ) {
                let _ = tx.send(Msg::Event(RunEvent::CacheWarning {
                    task: idx,
                    during: CacheStep::Store,
                    error: e,
                }));
            }
        }
    }
    TaskResult {
        status,
        duration,
        log,
        saved: Duration::ZERO,
        skipped_because: None,
    }
}

/// Runs `sh -c command` in its own process group with stdout and stderr merged into one pipe.
fn run_command(
    idx: TaskIdx,
    spec: &TaskSpec,
    interrupt: &Interrupt,
    stream: bool,
    tx: &mpsc::Sender<Msg>,
) -> (TaskStatus, Vec<u8>) {
    let fail = |msg: String| (TaskStatus::Failed { exit_code: None }, msg.into_bytes());
    // std's pipe is close-on-exec on both ends, so commands other workers start meanwhile never
    // inherit a write end (which would hold off end-of-file here).
    let (reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return fail(format!("shockwave: failed to create a pipe: {e}\n")),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return fail(format!("shockwave: failed to create a pipe: {e}\n")),
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return fail(format!(
                "shockwave: failed to start `sh -c {}` in {}: {e}\n",
                spec.command,
                spec.cwd.display()
            ))
        }
    };
    // The command holds the pipe's write ends; drop it so the reader sees end-of-file.
    drop(cmd);
    let pid = child.id() as i32;
    interrupt.register(pid);
    let _ = tx.send(Msg::Event(RunEvent::CommandStarted { task: idx }));
    // Output is read on its own thread so that a background process that inherited the pipe
    // (`server &`) cannot hold the task open after the command itself has exited.
    let log = Arc::new(Mutex::new(Vec::new()));
    let detached = Arc::new(AtomicBool::new(false));
    let (eof_tx, eof_rx) = mpsc::channel::<()>();
    {
        let log = log.clone();
        let detached = detached.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if detached.load(Ordering::SeqCst) {
                            continue;
                        }
                        if stream {
                            let _ = tx.send(Msg::Event(RunEvent::Output {
                                task: idx,
                                line: line.clone(),
                            }));
                        }
                        if let Ok(mut l) = log.lock() {
                            l.extend_from_slice(&line);
                        }
                    }
                }
            }
            let _ = eof_tx.send(());
        });
    }
    // Unregister the group before reaping its leader: until then its id cannot be reused, so a
    // signal sent meanwhile never reaches an unrelated process.
    wait_exited(pid);
    interrupt.unregister(pid);
    let status = child.wait();
    let lingering = eof_rx.recv_timeout(OUTPUT_GRACE).is_err();
    detached.store(true, Ordering::SeqCst);
    let mut log = log.lock().map(|l| l.clone()).unwrap_or_default();
    if lingering {
        log.extend_from_slice(
            b"shockwave: stopped reading output: a background process started by this command still holds it open\n",
        );
    }
    match status {
        Ok(s) if s.success() => (TaskStatus::Success, log),
        Ok(s) => {
            if let Some(sig) = s.signal() {
                log.extend_from_slice(
                    format!("shockwave: command killed by signal {sig}\n").as_bytes(),
                );
            }
            (
                TaskStatus::Failed {
                    exit_code: s.code(),
                },
                log,
            )
        }
        Err(e) => {
            log.extend_from_slice(
                format!("shockwave: failed to wait for the command: {e}\n").as_bytes(),
            );
            (TaskStatus::Failed { exit_code: None }, log)
        }
    }
}

/// Blocks until process `pid` has exited, leaving it to be reaped (`WNOWAIT`).
fn wait_exited(pid: i32) {
    loop {
        // SAFETY: waitid(2) writes only into `info`, a zeroed siginfo_t that lives across the call.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}
