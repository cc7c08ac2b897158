//! Signals sent to `shockwave run` (Ctrl-C twice, SIGHUP) and what a CI log shows of long tasks.
//!
//! Every test runs the real binary on real process groups and inspects processes through /proc.
//! Waits are polls with bounded timeouts; whatever a test started is killed when it ends, pass or
//! fail.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::{OutputExt, TestRepo};
use serde_json::Value;

/// Whether `pid` is running. A zombie (state Z) has exited; it lingers only until its parent (perhaps
/// an init that does not reap) collects it.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&p: &i32| p > 1)
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// A running `shockwave run` and the pids of the commands it started. Dropping it kills whatever is
/// left, so a failing assertion does not leave `sleep 1000` behind.
struct Run {
    child: Option<Child>,
    pids: tempfile::TempDir,
    watched: Vec<i32>,
}

impl Run {
    /// Starts `shockwave ARGS` in `repo` with `PIDS` naming a directory for the commands' pid files.
    fn start(repo: &TestRepo, args: &[&str]) -> Run {
        let pids = tempfile::tempdir().unwrap();
        let child = repo
            .command(args)
            .env("PIDS", pids.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Run {
            child: Some(child),
            pids,
            watched: Vec::new(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.pids.path().join(name)
    }

    /// Waits for every named pid file and watches those processes.
    fn watch(&mut self, names: &[&str]) {
        let mut found = Vec::new();
        wait_for("the commands to start", Duration::from_secs(20), || {
            found = names
                .iter()
                .filter_map(|n| read_pid(&self.file(n)))
                .collect();
            found.len() == names.len()
        });
        for &p in &found {
            assert!(alive(p), "{p} is not running");
        }
        self.watched = found;
    }

    fn signal(&self, sig: i32) {
        signal(self.child.as_ref().unwrap().id() as i32, sig);
    }

    /// Waits (at most 10 s) for shockwave to exit.
    fn wait(&mut self) -> Output {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "shockwave did not exit within 10 s\n--- stdout\n{}--- stderr\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// Asserts that every watched process is gone (allowing a moment for SIGKILL to land).
    fn assert_all_gone(&self, after: &str) {
        let deadline = Instant::now() + Duration::from_secs(1);
        for &p in &self.watched {
            while alive(p) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(!alive(p), "process {p} survived {after}");
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for &p in &self.watched {
            if alive(p) {
                // SAFETY: as in `signal`; the pid came from a command this test started. Each
                // command's shell leads its own process group: killing the group takes its
                // children too (for other pids there is no such group and this does nothing).
                unsafe {
                    libc::kill(-p, libc::SIGKILL);
                    libc::kill(p, libc::SIGKILL);
                }
            }
        }
    }
}

/// Asserts that the cache holds neither an entry for any of `hashes` nor a temporary directory.
fn assert_nothing_cached(repo: &TestRepo, hashes: &std::collections::BTreeMap<String, String>) {
    let entries = common::dir_names(&repo.cache_dir());
    for (task, hash) in hashes {
        assert!(!entries.contains(hash), "{task} was cached: {entries:?}");
    }
    assert!(
        entries.iter().all(|e| !e.starts_with(".tmp")),
        "half-written entries left: {entries:?}"
    );
}

fn summary(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the summary was written")).unwrap()
}

// Issue 6, item 8: a second Ctrl-C used to exit at once and leave a command that survives SIGTERM
// running. It must SIGKILL every running command first, then exit 130.
#[test]
fn second_ctrl_c_kills_commands_that_survive_sigterm_then_exits_130() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
# The shell survives SIGTERM (its trap notes the signal and the loop goes on); its background child
# ignores SIGTERM altogether.
[targets.build]
command = """
trap 'echo term > "$PIDS/term"' TERM
sh -c 'trap "" TERM; echo $$ > "$PIDS/child.pid"; exec sleep 1000' &
echo $$ > "$PIDS/sh.pid"
while :; do sleep 0.2; done
"""
outputs = ["out"]
"#,
    );
    repo.write("svc/stubborn/x", "1");
    repo.commit("init");
    let hashes = repo.task_hashes(&["build"]);
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let mut run = Run::start(
        &repo,
        &[
            "run",
            "build",
            "--all",
            "--summary",
            summary_path.to_str().unwrap(),
        ],
    );
    run.watch(&["sh.pid", "child.pid"]);

    run.signal(libc::SIGINT);
    // The first Ctrl-C reached the commands as SIGTERM, and both are still there.
    wait_for(
        "SIGTERM to reach the command",
        Duration::from_secs(5),
        || run.file("term").exists(),
    );
    for &p in &run.watched {
        assert!(
            alive(p),
            "{p} did not survive SIGTERM: the test proves nothing"
        );
    }

    run.signal(libc::SIGINT);
    let second = Instant::now();
    let out = run.wait();
    let took = second.elapsed();
    out.expect_code(130);
    run.assert_all_gone("the second Ctrl-C");
    // Well before the 3 s after which the first Ctrl-C would have sent SIGKILL anyway.
    assert!(took < Duration::from_secs(2), "exited {took:?} after it");
    let s = summary(&summary_path);
    assert_eq!(s["interrupted"], true);
    assert_eq!(s["totals"]["success"], 0);
    assert_nothing_cached(&repo, &hashes);
    assert!(
        out.stdout_str().contains("(interrupted)"),
        "{}",
        out.stdout_str()
    );
}

// Issue 6, item 9: SIGHUP (a closed terminal, a dropped ssh session) used to kill shockwave with
// exit 129 and leave its commands running. It is handled like SIGTERM.
#[test]
fn sighup_stops_running_commands_like_sigterm_and_caches_nothing() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[targets.build]
command = "echo $$ > \"$PIDS/$SHOCKWAVE_SERVICE.pid\"; sleep 1000; echo out > out"
outputs = ["out"]
"#,
    );
    repo.write("svc/a/x", "1").write("svc/b/x", "1");
    repo.commit("init");
    let hashes = repo.task_hashes(&["build"]);
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let mut run = Run::start(
        &repo,
        &[
            "run",
            "build",
            "--all",
            "-j",
            "2",
            "--summary",
            summary_path.to_str().unwrap(),
        ],
    );
    run.watch(&["a.pid", "b.pid"]);

    run.signal(libc::SIGHUP);
    let out = run.wait();
    out.expect_code(130);
    run.assert_all_gone("SIGHUP");
    let s = summary(&summary_path);
    assert_eq!(s["interrupted"], true);
    assert_eq!(s["totals"]["success"], 0);
    assert_nothing_cached(&repo, &hashes);
    assert!(!repo.abs("svc/a/out").exists() && !repo.abs("svc/b/out").exists());
}

// Issue 6, item 22: in CI nothing was printed for a task until it finished, so a long test looked
// hung. A plain start line per command, and a heartbeat while it runs.
#[test]
fn ci_log_has_a_start_line_per_command_and_a_heartbeat_for_long_ones() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[services.slow.targets.build]
command = "sleep 2.5; echo slow done > out"
outputs = ["out"]
[services.quick.targets.build]
command = "echo quick done > out"
outputs = ["out"]
"#,
    );
    repo.write("svc/slow/x", "1").write("svc/quick/x", "1");
    repo.commit("init");
    let run = |ci: &str| {
        repo.command(&["run", "build", "--all", "-j", "2"])
            .env("CI", ci)
            .env("SHOCKWAVE_HEARTBEAT_SECS", "1")
            .output()
            .unwrap()
    };

    let out = run("true");
    out.success();
    let text = out.stdout_str();
    let lines = out.lines();
    assert!(!text.contains('\x1b'), "escape codes in a CI log:\n{text}");
    for label in ["slow:build", "quick:build"] {
        let start = lines
            .iter()
            .position(|l| *l == format!("started: {label}"))
            .unwrap_or_else(|| panic!("no start line for {label} in\n{text}"));
        let end = lines
            .iter()
            .position(|l| l.starts_with(&format!("==> {label} ran in ")))
            .unwrap_or_else(|| panic!("no result for {label} in\n{text}"));
        assert!(start < end, "{text}");
    }
    let beats: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("still running: "))
        .collect();
    assert!(
        !beats.is_empty()
            && beats
                .iter()
                .all(|l| l.starts_with("still running: slow:build (")),
        "heartbeats for the slow task only:\n{text}"
    );
    assert!(beats.len() <= 3, "one heartbeat a second:\n{text}");

    // A cache hit runs no command: it gets its result line, not a start line.
    let again = run("1");
    again.success();
    assert!(
        !again.stdout_str().contains("started: "),
        "{}",
        again.stdout_str()
    );
}

// The heartbeat interval can be turned off, and a bad value is a usage error naming the variable.
#[test]
fn heartbeat_interval_zero_turns_heartbeats_off_and_garbage_is_refused() {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"sleep 1.5\"\n");
    repo.write("svc/a/x", "1");
    repo.commit("init");
    let out = repo
        .command(&["run", "build", "--all", "--no-cache"])
        .env("CI", "true")
        .env("SHOCKWAVE_HEARTBEAT_SECS", "0")
        .output()
        .unwrap();
    out.success();
    assert!(
        !out.stdout_str().contains("still running"),
        "{}",
        out.stdout_str()
    );
    let out = repo
        .command(&["run", "build", "--all"])
        .env("SHOCKWAVE_HEARTBEAT_SECS", "soon")
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("SHOCKWAVE_HEARTBEAT_SECS") || out.stderr_str().contains("soon"),
        "{}",
        out.stderr_str()
    );
}
