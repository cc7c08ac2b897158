//! One task on a worker thread: take its cache lock, restore it from the cache, or run its command
//! via `sh -c` in its own process group and store the result. Events go back to the scheduler over
//! a channel; the scheduler alone decides what runs next.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::writes::{self, WriteCheck};
use super::{CacheStep, Interrupt, RunEvent, RunOptions, TaskResult, TaskSpec, TaskStatus};
use crate::cache::remote::RemoteCache;
use crate::cache::LocalCache;
use crate::tasks::TaskIdx;

/// What a worker tells the scheduler.
pub(super) enum Msg {
    Event(RunEvent),
    Done(TaskIdx, TaskResult),
}

/// How long to keep reading a command's output after it exited (for the last buffered lines).
const OUTPUT_GRACE: Duration = Duration::from_millis(300);

pub(super) fn skipped(because: Option<TaskIdx>) -> TaskResult {
    TaskResult {
        status: TaskStatus::Skipped,
        duration: Duration::ZERO,
        log: Vec::new(),
        saved: Duration::ZERO,
        skipped_because: because,
        log_only: false,
        writes: None,
    }
}

/// The caches a worker uses: the local one, and the remote one behind it.
#[derive(Clone, Default)]
pub(super) struct Caches {
    pub(super) local: Option<Arc<LocalCache>>,
    pub(super) remote: Option<Arc<RemoteCache>>,
}

impl Caches {
    /// Forwards what the remote cache has to report.
    fn forward(&self, tx: &mpsc::Sender<Msg>) {
        for e in self.remote.iter().flat_map(|r| r.events()) {
            let _ = tx.send(Msg::Event(RunEvent::Remote(e)));
        }
    }
}

fn run_one(
    idx: TaskIdx,
    spec: &TaskSpec,
    caches: &Caches,
    interrupt: &Interrupt,
    (stream, check): (bool, Option<&WriteCheck>),
    tx: &mpsc::Sender<Msg>,
) -> TaskResult {
    let started = Instant::now();
    let log_only = spec.outputs.patterns.is_empty();
    let cache = caches.local.as_deref();
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
                    log_only,
                    writes: None,
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
        if let Some(remote) = &caches.remote {
            let hit = remote.fetch(&spec.hash, cache, &spec.cwd, &spec.outputs);
            caches.forward(tx);
            if let Some(hit) = hit {
                return TaskResult {
                    status: TaskStatus::CachedRemote,
                    duration: started.elapsed(),
                    log: hit.log,
                    saved: Duration::from_millis(hit.meta.duration_ms),
                    skipped_because: None,
                    log_only,
                    writes: None,
                };
            }
        }
    }
    if interrupt.is_requested() {
        return skipped(None);
    }
    let watch = spec.watch.as_ref().zip(check);
    let before = watch.map(|(w, c)| writes::list(&spec.cwd, w, c));
    let (status, log) = run_command(idx, spec, interrupt, stream, tx);
    let duration = started.elapsed();
    // A command that finished just as the run was interrupted may have seen the signal: keep its
    // result, but do not put it in the cache.
    let mut store = status == TaskStatus::Success && spec.cacheable && !interrupt.is_requested();
    let mut wrote = None;
    if let (Some(before), Some((w, c)), true) = (before, watch, store) {
        let after = writes::list(&spec.cwd, w, c);
        let mut found = writes::changed(&before, &after, &spec.outputs, w, c);
        // Nobody said what this target writes: a run that changed anything a hit would not
        // redo is not cached, so that a hit never silently leaves it out.
        if w.undeclared && (found.files > 0 || found.other > 0 || found.incomplete) {
            store = false;
        }
        found.cached = store;
        if found.any() {
            let _ = tx.send(Msg::Event(RunEvent::UndeclaredWrites {
                task: idx,
                writes: found.clone(),
            }));
            wrote = Some(Box::new(found));
        }
    }
    if store {
        if let Some(cache) = &caches.local {
            match cache.store(
                &spec.hash,
                &spec.label,
                &spec.cwd,
                &spec.outputs,
                &log,
                duration,
            ) {
                Ok(()) => {
                    if let Some(remote) = &caches.remote {
                        remote.upload(cache, &spec.hash, duration);
                    }
                }
                Err(e) => {
                    let _ = tx.send(Msg::Event(RunEvent::CacheWarning {
                        task: idx,
                        during: CacheStep::Store,
                        error: e,
                    }));
                }
            }
        }
    }
    TaskResult {
        status,
        duration,
        log,
        saved: Duration::ZERO,
        skipped_because: None,
        log_only: false,
        writes: wrote,
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
        .stderr(writer2);
    own_process_group(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            // The usual cause of a missing root is a sparse checkout that leaves the service out.
            let hint = if !spec.cwd.exists() {
                " (the service's directory is not in the worktree: in a sparse checkout, add it with `git sparse-checkout add`)"
            } else if cfg!(windows) && e.kind() == std::io::ErrorKind::NotFound {
                " (on Windows commands run with `sh -c` too: put the `bin` folder of Git for Windows, which holds `sh.exe`, on PATH)"
            } else {
                ""
            };
            return fail(format!(
                "shockwave: failed to start `sh -c {}` in {}: {e}{hint}\n",
                spec.command,
                spec.cwd.display()
            ));
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
            #[cfg(unix)]
            if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&s) {
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

/// Starts the command in a process group of its own (its pid is the group id), so a stop reaches
/// everything it started. Windows has no process groups: there the pid stands for the tree.
pub(super) fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    #[cfg(windows)]
    let _ = cmd;
}

/// Blocks until process `pid` has exited, leaving it to be reaped (`WNOWAIT`).
#[cfg(unix)]
fn wait_exited(pid: i32) {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    loop {
        match waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            _ => return,
        }
    }
}

/// On Windows the pid is not reused while the `Child` holds the process's handle, which it does
/// until it is dropped after `wait`: nothing to wait for here.
#[cfg(windows)]
fn wait_exited(_pid: i32) {}

/// Starts `jobs` worker threads that take task indices from `jobs_rx` until it closes.
pub(super) fn spawn(
    jobs: usize,
    jobs_rx: mpsc::Receiver<TaskIdx>,
    msg_tx: &mpsc::Sender<Msg>,
    specs: Vec<TaskSpec>,
    caches: &Caches,
    interrupt: &Arc<Interrupt>,
    opts: &RunOptions,
) -> Vec<std::thread::JoinHandle<()>> {
    let stream = opts.stream;
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let specs = Arc::new(specs);
    (0..jobs)
        .map(|_| {
            let jobs_rx = jobs_rx.clone();
            let msg_tx = msg_tx.clone();
            let specs = specs.clone();
            let caches = caches.clone();
            let interrupt = interrupt.clone();
            let check = opts.writes.clone();
            std::thread::spawn(move || loop {
                let next = jobs_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(idx)) = next else { break };
                // A bug in one task's handling must not hang the run: report it as a failure.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_one(
                        idx,
                        &specs[idx.index()],
                        &caches,
                        &interrupt,
                        (stream, check.as_deref()),
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
                    log_only: false,
                    writes: None,
                });
                if msg_tx.send(Msg::Done(idx, result)).is_err() {
                    break;
                }
            })
        })
        .collect()
}
