//! Stopping a run from outside: the count of stop requests (Ctrl-C, SIGTERM, SIGHUP) and the
//! process groups of the commands running now, so each request reaches every one of them.
//!
//! The CLI calls [`Interrupt::request`] from its signal-handling thread (never from a signal
//! handler: this takes a lock). The first request sends SIGTERM to every group, every further one
//! SIGKILL; the scheduler watches the count to stop starting tasks, to send SIGKILL when the grace
//! period ends and to stop waiting after a second request.
//!
//! Windows has no process groups or signals: there a command's process tree is ended with
//! `taskkill /T` (politely for SIGTERM, `/F` for SIGKILL), addressed by the command's pid.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Interrupt {
    requests: AtomicUsize,
    /// Process group ids of the commands running now.
    groups: Mutex<HashSet<i32>>,
    /// Whether a scheduler is running tasks (so someone will act on a request).
    executing: AtomicBool,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one more stop request and signals every running command: SIGTERM for the first
    /// request, SIGKILL for every later one. Returns how many requests there have been.
    pub fn request(&self) -> usize {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        self.signal_all(if n == 1 { Stop::Term } else { Stop::Kill });
        n
    }

    /// How many stop requests there have been.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn is_requested(&self) -> bool {
        self.requests() > 0
    }

    /// Whether a run is executing tasks now; when not, nothing is left to stop.
    pub fn is_executing(&self) -> bool {
        self.executing.load(Ordering::SeqCst)
    }

    pub(super) fn set_executing(&self, on: bool) {
        self.executing.store(on, Ordering::SeqCst);
    }

    /// Sends `signal` to every registered process group; returns how many there were.
    pub(super) fn signal_all(&self, signal: Stop) -> usize {
        let Ok(groups) = self.groups.lock() else {
            return 0;
        };
        for &pgid in groups.iter() {
            kill_group(pgid, signal);
        }
        groups.len()
    }

    /// Registers the process group of a command that just started. A request that came in while it
    /// was starting missed it, so it gets that request's signal here. (The count is read after the
    /// group is registered, and `request` counts before it signals: one of the two always sees the
    /// other.)
    pub(super) fn register(&self, pgid: i32) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.insert(pgid);
        }
        match self.requests() {
            0 => {}
            1 => kill_group(pgid, Stop::Term),
            _ => kill_group(pgid, Stop::Kill),
        }
    }

    /// Forgets a group whose leader has exited (and not yet been reaped, so its id is not reused).
    pub(super) fn unregister(&self, pgid: i32) {
        if let Ok(mut groups) = self.groups.lock() {
            groups.remove(&pgid);
        }
    }
}

/// The two ways a running command is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// SIGTERM: asked to stop.
    Term,
    /// SIGKILL: made to.
    Kill,
}

/// Sends the group `pgid` the signal for `stop` (errors, such as a group already gone, ignored).
#[cfg(unix)]
pub(super) fn kill_group(pgid: i32, stop: Stop) {
    use rustix::process::{kill_process_group, Pid, Signal};
    let signal = match stop {
        Stop::Term => Signal::TERM,
        Stop::Kill => Signal::KILL,
    };
    if let Some(pgid) = Pid::from_raw(pgid) {
        let _ = kill_process_group(pgid, signal);
    }
}

/// Ends the process tree of the command with pid `pid`: `taskkill /T`, with `/F` for
/// [`Stop::Kill`] (errors, such as a tree already gone, ignored).
#[cfg(windows)]
pub(super) fn kill_group(pid: i32, stop: Stop) {
    let mut taskkill = std::process::Command::new("taskkill");
    taskkill.args(["/T", "/PID", &pid.to_string()]);
    if stop == Stop::Kill {
        taskkill.arg("/F");
    }
    let _ = taskkill
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
