//! Long-running tasks (`persistent`: dev servers) under watch mode: each runs in its own process
//! group with its output streamed line by line under its label, is never cached and never waited
//! for, and is stopped (SIGTERM to the group, SIGKILL after [`super::TERM_GRACE`]) before it is
//! started again. Every group is registered with the [`Interrupt`], so a stop request reaches it
//! like any running task.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Interrupt, TaskSpec};

/// One running long-lived task.
struct Running {
    child: Child,
    /// The hash of the inputs it was started with.
    hash: String,
}

/// The long-running tasks started so far, by label.
pub struct Persistent {
    interrupt: Arc<Interrupt>,
    running: BTreeMap<String, Running>,
}

/// What [`Persistent::ensure`] did with a task.
#[derive(Debug, PartialEq, Eq)]
pub enum Ensured {
    /// Started for the first time.
    Started,
    /// Its inputs changed: stopped and started again.
    Restarted,
    /// Running with these inputs already.
    Unchanged,
    /// Could not be started (the reason is printed).
    Failed,
}

impl Persistent {
    pub fn new(interrupt: Arc<Interrupt>) -> Self {
        Persistent {
            interrupt,
            running: BTreeMap::new(),
        }
    }

    /// Starts the task unless it runs already with the same hash; restarts it when its hash
    /// changed or it has exited since.
    pub fn ensure(&mut self, spec: &TaskSpec) -> Ensured {
        let mut restarted = false;
        if let Some(r) = self.running.get_mut(&spec.label) {
            let alive = matches!(r.child.try_wait(), Ok(None));
            if alive && r.hash == spec.hash {
                return Ensured::Unchanged;
            }
            restarted = alive;
            self.stop(&spec.label);
        }
        match self.start(spec) {
            Some(r) => {
                self.running.insert(spec.label.clone(), r);
                if restarted {
                    Ensured::Restarted
                } else {
                    Ensured::Started
                }
            }
            None => Ensured::Failed,
        }
    }

    /// Labels of the tasks that have exited on their own, with their exit code; each is
    /// reported once (and started again by the next [`Self::ensure`]).
    pub fn exited(&mut self) -> Vec<(String, Option<i32>)> {
        let mut out = Vec::new();
        for (label, r) in &mut self.running {
            if let Ok(Some(status)) = r.child.try_wait() {
                out.push((label.clone(), status.code()));
            }
        }
        for (label, _) in &out {
            if let Some(mut r) = self.running.remove(label) {
                self.interrupt.unregister(r.child.id() as i32);
                let _ = r.child.wait();
            }
        }
        out
    }

    /// Stops the task with `label`, if it runs.
    pub fn stop(&mut self, label: &str) {
        if let Some(mut r) = self.running.remove(label) {
            stop_group(&mut r.child);
            self.interrupt.unregister(r.child.id() as i32);
        }
    }

    /// Stops every task.
    pub fn stop_all(&mut self) {
        let labels: Vec<String> = self.running.keys().cloned().collect();
        for l in labels {
            self.stop(&l);
        }
    }

    fn start(&self, spec: &TaskSpec) -> Option<Running> {
        let (reader, writer) = match std::io::pipe() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("shockwave: {}: failed to create a pipe: {e}", spec.label);
                return None;
            }
        };
        let writer2 = writer.try_clone().ok()?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&spec.command)
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer2);
        super::worker::own_process_group(&mut cmd);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "shockwave: {}: failed to start `sh -c {}` in {}: {e}",
                    spec.label,
                    spec.command,
                    spec.cwd.display()
                );
                return None;
            }
        };
        drop(cmd);
        self.interrupt.register(child.id() as i32);
        let prefix = format!("{} | ", spec.label);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if !line.ends_with(b"\n") {
                            line.push(b'\n');
                        }
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(prefix.as_bytes());
                        let _ = out.write_all(&line);
                        let _ = out.flush();
                    }
                }
            }
        });
        Some(Running {
            child,
            hash: spec.hash.clone(),
        })
    }
}

impl Drop for Persistent {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// SIGTERM to the group, SIGKILL if the leader has not exited after the grace period; reaped.
fn stop_group(child: &mut Child) {
    let pgid = child.id() as i32;
    super::interrupt::kill_group(pgid, super::interrupt::Stop::Term);
    let deadline = Instant::now() + super::TERM_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            // The leader is gone; what it started may not be.
            super::interrupt::kill_group(pgid, super::interrupt::Stop::Kill);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    super::interrupt::kill_group(pgid, super::interrupt::Stop::Kill);
    let _ = child.wait();
}
