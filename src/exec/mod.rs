//! Runs a task graph: a scheduler that owns all run state on one thread, and `-j` worker threads that
//! restore from the cache or run commands via `sh -c` in the service root, each in its own process
//! group so an interrupt can stop everything a task started. The engine never prints: it emits
//! [`RunEvent`]s and the caller's reporter renders them.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::LocalCache;
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
    Started {
        task: TaskIdx,
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
    /// A cache problem: reported, never fatal.
    CacheWarning {
        task: TaskIdx,
        message: String,
    },
    /// The run stops starting tasks (failure without `--continue`, or an interrupt).
    Stopping {
        why: String,
    },
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

/// Process groups of running commands, so an interrupt can kill them.
type Running = Arc<Mutex<HashSet<i32>>>;

/// Runs every task of `graph` (specs in the same order) and reports through `on_event`.
pub fn execute(
    graph: &TaskGraph,
    specs: Vec<TaskSpec>,
    opts: &RunOptions,
    cache: Option<Arc<LocalCache>>,
    interrupt: Arc<AtomicBool>,
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

    let (job_tx, job_rx) = mpsc::channel::<TaskIdx>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
    let pgroups: Running = Arc::new(Mutex::new(HashSet::new()));
    let jobs = opts.jobs.max(1).min(n.max(1));
    let mut workers = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        let job_rx = job_rx.clone();
        let msg_tx = msg_tx.clone();
        let specs = specs.clone();
        let cache = cache.clone();
        let pgroups = pgroups.clone();
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
                    &pgroups,
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

    let mut kill_deadline: Option<Instant> = None;
    loop {
        if interrupt.load(Ordering::SeqCst) && !interrupted {
            interrupted = true;
            stop = true;
            on_event(&RunEvent::Stopping {
                why: "interrupted: stopping every running command".into(),
            });
            signal_groups(&pgroups, libc::SIGTERM);
            kill_deadline = Some(Instant::now() + Duration::from_secs(3));
        }
        if let Some(deadline) = kill_deadline {
            if Instant::now() >= deadline {
                signal_groups(&pgroups, libc::SIGKILL);
                kill_deadline = None;
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
        match msg_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Msg::Event(e)) => on_event(&e),
            Ok(Msg::Done(idx, result)) => {
                running -= 1;
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
                            why: format!(
                                "{} failed: not starting more tasks (use --continue to keep going)",
                                specs[idx].label
                            ),
                        });
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(job_tx);
    for w in workers {
        let _ = w.join();
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

fn signal_groups(pgroups: &Running, signal: i32) {
    if let Ok(set) = pgroups.lock() {
        for &pgid in set.iter() {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
            unsafe {
                libc::kill(-pgid, signal);
            }
        }
    }
}

fn run_one(
    idx: TaskIdx,
    spec: &TaskSpec,
    cache: Option<&LocalCache>,
    pgroups: &Running,
    interrupt: &AtomicBool,
    stream: bool,
    tx: &mpsc::Sender<Msg>,
) -> TaskResult {
    let started = Instant::now();
    // Held until the task is restored, or has run and been stored: another shockwave run of the
    // same task in this cache waits here, then restores what this one stored.
    let _lock = match (spec.cacheable, cache) {
        (true, Some(cache)) => match cache.lock(&spec.hash, &|| interrupt.load(Ordering::SeqCst)) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return skipped(None),
            Err(e) => {
                let _ = tx.send(Msg::Event(RunEvent::CacheWarning {
                    task: idx,
                    message: format!("running without the cache's lock: {e}"),
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
                    message: e.to_string(),
                }));
            }
        }
    }
    if interrupt.load(Ordering::SeqCst) {
        return skipped(None);
    }
    let (status, log) = run_command(idx, spec, pgroups, stream, tx);
    let duration = started.elapsed();
    // A command that finished just as the run was interrupted may have seen the signal: keep its
    // result, but do not put it in the cache.
    let store =
        status == TaskStatus::Success && spec.cacheable && !interrupt.load(Ordering::SeqCst);
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
                    message: format!("could not save to the cache: {e}"),
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
    pgroups: &Running,
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
    if let Ok(mut set) = pgroups.lock() {
        set.insert(pid);
    }
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
    let status = child.wait();
    if let Ok(mut set) = pgroups.lock() {
        set.remove(&pid);
    }
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
