//! The opt-in file monitor (`[workspace] fsmonitor = "watchman"`): with it on, every answer is
//! the one a full scan gives, whatever happened to the worktree and the index in between, and
//! whatever goes wrong with Watchman or the stored state.
//!
//! Each test starts its own Watchman server on a private socket (`WATCHMAN_SOCK`), so the
//! machine's own server and watches are never touched. Without the `watchman` binary the tests
//! print a note and pass, except under `CI`, where they fail (`.ci/run` installs it).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{OutputExt, TestRepo};

/// Whether `watchman` runs; outside CI a missing one is a note and a skipped test.
fn installed() -> bool {
    let installed = Command::new("watchman")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        assert!(
            !ci,
            "CI is set but `watchman` is not installed: the fsmonitor tests must run in CI (see .ci/run)"
        );
        eprintln!("note: watchman is not installed; skipping this fsmonitor test");
        return false;
    }
    true
}

/// A private Watchman server, stopped on drop.
struct Watchman {
    dir: tempfile::TempDir,
    child: Child,
}

impl Watchman {
    /// Starts a server, or `None` (with a note) when watchman is not installed outside CI.
    fn start() -> Option<Watchman> {
        if !installed() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("shockwave-watchman-")
            .tempdir()
            .unwrap();
        let child = Self::spawn(dir.path());
        Some(Watchman { dir, child })
    }

    fn spawn(dir: &Path) -> Child {
        let arg = |flag: &str, name: &str| format!("--{flag}={}", dir.join(name).display());
        let child = Command::new("watchman")
            .args([
                "--foreground",
                "--no-save-state",
                &arg("sockname", "sock"),
                &arg("statefile", "state"),
                &arg("logfile", "log"),
                &arg("pidfile", "pid"),
            ])
            // Its state directory would otherwise be derived from TMPDIR and the user name.
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start watchman");
        let sock = dir.join("sock");
        let t0 = Instant::now();
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "watchman did not open its socket; its log:\n{}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// Stops the server and starts another on the same socket: every old clock is unknown to it.
    fn restart(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.sock());
        self.child = Self::spawn(self.dir.path());
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watchman {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A command with the monitor on (`Some`) or off (`None`), debug logs on stderr.
fn cmd(repo: &TestRepo, wm: Option<&Watchman>, args: &[&str]) -> Command {
    let mut c = repo.command(args);
    c.env("RUST_LOG", "shockwave=debug");
    match wm {
        Some(wm) => c
            .env("SHOCKWAVE_FSMONITOR", "watchman")
            .env("WATCHMAN_SOCK", wm.sock())
            // Generous, so a loaded machine does not turn the fast path into a full scan.
            .env("SHOCKWAVE_FSMONITOR_TIMEOUT", "30s"),
        None => c.env("SHOCKWAVE_FSMONITOR", "off"),
    };
    c
}

fn output(mut c: Command) -> Output {
    c.output().expect("run shockwave")
}

/// The answers a user sees, with the monitor on or off: every task's hash with its inputs, and
/// the uncommitted changes with what they affect. Also says whether the scan was the targeted one.
fn answers(repo: &TestRepo, wm: Option<&Watchman>) -> (String, String, bool) {
    let hash = output(cmd(repo, wm, &["hash", "build", "--all", "--json"]));
    hash.success();
    let affected = output(cmd(
        repo,
        wm,
        &["affected", "--uncommitted", "--format", "json"],
    ));
    affected.success();
    let targeted = [&hash, &affected].iter().any(|o| {
        o.stderr_str()
            .contains("tracked directories may hold a change")
    });
    (hash.stdout_str(), affected.stdout_str(), targeted)
}

fn assert_same(repo: &TestRepo, wm: &Watchman, step: &str) -> bool {
    let (hash_on, affected_on, targeted) = answers(repo, Some(wm));
    let (hash_off, affected_off, _) = answers(repo, None);
    assert_eq!(hash_on, hash_off, "task hashes differ after {step}");
    assert_eq!(
        affected_on, affected_off,
        "affected --uncommitted differs after {step}"
    );
    targeted
}

const CONFIG: &str = r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "true"
outputs = ["dist/**"]

[services.a]
root = "svc/a"
deps = ["b"]
"#;

/// Three services with nested folders, ignored output, and a `side` branch that differs.
fn sample_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(CONFIG)
        .write(".gitignore", ".shockwave/\ndist/\n*.log\n")
        .write("README.md", "root\n");
    for svc in ["a", "b", "c"] {
        for f in [
            "main.go",
            "go.mod",
            "internal/x/x.go",
            "internal/y/y.go",
            "pkg/api.go",
        ] {
            repo.write(format!("svc/{svc}/{f}"), format!("{svc} {f}\n"));
        }
    }
    repo.write("svc/b/run.sh", "#!/bin/sh\n");
    repo.commit("initial");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("svc/a/side.go", "side\n")
        .write("svc/c/internal/x/x.go", "changed on side\n")
        .remove("svc/b/pkg");
    repo.commit("side");
    repo.git(&["checkout", "-q", "main"]);
    repo
}

/// A small deterministic generator (xorshift64*), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// Files and directories under `svc/` (relative paths), sorted.
fn worktree_entries(root: &Path) -> (Vec<String>, Vec<String>) {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let mut pending = vec![root.join("svc")];
    while let Some(dir) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in read.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if e.file_type().unwrap().is_dir() {
                dirs.push(rel);
                pending.push(path);
            } else {
                files.push(rel);
            }
        }
    }
    files.sort();
    dirs.sort();
    (files, dirs)
}

/// Applies one random change to the worktree or the index and says what it was.
fn random_step(repo: &TestRepo, rng: &mut Rng, n: usize) -> String {
    let (files, dirs) = worktree_entries(repo.path());
    let file = rng.pick(&files).cloned();
    let dir = rng.pick(&dirs).cloned().unwrap_or_else(|| "svc/a".into());
    match (rng.below(14), file) {
        (0 | 1, Some(f)) => {
            repo.write(&f, format!("edit {n}\n"));
            format!("editing {f}")
        }
        (2, _) => {
            let f = format!("{dir}/new-{n}.go");
            repo.write(&f, format!("new {n}\n"));
            format!("adding {f}")
        }
        (3, _) => {
            let f = format!("{dir}/fresh-{n}/deep/file.go");
            repo.write(&f, "fresh\n");
            format!("adding the new folder {f}")
        }
        (4, Some(f)) => {
            let to = format!("{dir}/moved-{n}.go");
            repo.rename(&f, &to);
            format!("moving {f} to {to}")
        }
        (5, Some(f)) => {
            repo.remove(&f);
            format!("deleting {f}")
        }
        (6, Some(f)) => {
            let exec = rng.below(2) == 0;
            repo.chmod_exec(&f, exec);
            format!("setting the exec bit of {f} to {exec}")
        }
        (7, Some(f)) => {
            // Same content, new stat data.
            let content = std::fs::read(repo.abs(&f)).unwrap();
            repo.write(&f, content);
            format!("rewriting {f} unchanged")
        }
        (8, _) => {
            let ignored = if rng.below(2) == 0 {
                format!("{dir}/dist/out-{n}.bin")
            } else {
                format!("{dir}/trace-{n}.log")
            };
            repo.write(&ignored, "ignored\n");
            format!("adding the ignored {ignored}")
        }
        (9, _) if dir != "svc/a" && dir != "svc/b" && dir != "svc/c" => {
            repo.remove(&dir);
            format!("deleting the folder {dir}")
        }
        (10, _) => {
            repo.git(&["add", "-A"]);
            "git add -A".into()
        }
        (11, _) => {
            repo.commit(&format!("step {n}"));
            "git commit".into()
        }
        (12, _) => {
            repo.commit(&format!("before checkout {n}"));
            let branch = repo.git(&["branch", "--show-current"]);
            let other = if branch == "main" { "side" } else { "main" };
            repo.git(&["checkout", "-q", other]);
            format!("git checkout {other}")
        }
        (13, _) => {
            let text = if rng.below(2) == 0 {
                ".shockwave/\ndist/\n*.log\n"
            } else {
                ".shockwave/\ndist/\n*.log\nnew-*.go\n"
            };
            repo.write(".gitignore", text);
            "editing .gitignore".into()
        }
        _ => {
            let f = format!("{dir}/other-{n}.txt");
            repo.write(&f, "other\n");
            format!("adding {f}")
        }
    }
}

// Issue 10, item 3: a warm monitor must never change an answer. After every step of a seeded
// random sequence of edits, new files, moves, deletions, mode changes, ignored files, `git add`,
// commits and checkouts, both the task hashes and `affected --uncommitted` are compared with the
// monitor on and off.
#[test]
fn random_changes_give_the_same_answers_with_and_without_the_monitor() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    assert_same(&repo, &wm, "the first commit");
    assert!(
        repo.abs(".shockwave/fsmonitor.json").is_file(),
        "the first run leaves a state for the next"
    );
    let mut rng = Rng(0x5eed_f5f5_1234_abcd);
    let mut targeted = 0;
    let steps = 60;
    for n in 0..steps {
        let what = random_step(&repo, &mut rng, n);
        if assert_same(&repo, &wm, &format!("step {n}: {what}")) {
            targeted += 1;
        }
    }
    // Most steps leave the index alone: those must have used the monitor, or the comparison
    // above compared two full scans.
    assert!(
        targeted >= steps / 3,
        "only {targeted} of {steps} steps scanned just what changed"
    );
}

// A file that was modified at the last run and not touched since is still modified: Watchman
// does not report it, the stored state must.
#[test]
fn a_change_made_before_the_last_run_is_still_seen() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    assert_same(&repo, &wm, "the first commit");
    repo.write("svc/c/main.go", "edited\n")
        .write("svc/c/untracked.go", "new\n")
        .remove("svc/c/go.mod");
    assert_same(&repo, &wm, "the edits");
    for run in 0..2 {
        let out = output(cmd(
            &repo,
            Some(&wm),
            &["affected", "--uncommitted", "--format", "json"],
        ));
        let stderr = out.success().stderr_str();
        assert!(
            stderr.contains("tracked directories may hold a change"),
            "run {run} did not use the monitor:\n{stderr}"
        );
        let doc = out.json();
        let changed: Vec<&str> = doc["changed_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            changed,
            ["svc/c/go.mod", "svc/c/main.go", "svc/c/untracked.go"],
            "run {run}"
        );
    }
}

/// Runs `affected --uncommitted` with the monitor on; its stderr.
fn debug_log(repo: &TestRepo, wm: &Watchman) -> String {
    output(cmd(
        repo,
        Some(wm),
        &["affected", "--uncommitted", "--format", "names"],
    ))
    .success()
    .stderr_str()
}

// Each doubtful case is a full scan with a debug line saying why, and the same answer.
#[test]
fn doubtful_states_fall_back_to_a_full_scan_and_say_why() {
    let Some(mut wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    let state = repo.abs(".shockwave/fsmonitor.json");
    assert!(debug_log(&repo, &wm).contains("no state from an earlier run"));
    assert!(debug_log(&repo, &wm).contains("may hold a change"));

    repo.write("svc/a/main.go", "staged\n");
    repo.git(&["add", "svc/a/main.go"]);
    let log = debug_log(&repo, &wm);
    assert!(log.contains("the index was rewritten"), "{log}");
    assert_same(&repo, &wm, "git add");

    repo.write("svc/b/.gitignore", "*.tmp\n");
    debug_log(&repo, &wm);
    repo.write("svc/b/.gitignore", "*.go\n");
    let log = debug_log(&repo, &wm);
    assert!(log.contains("`svc/b/.gitignore` changed"), "{log}");
    assert_same(&repo, &wm, "a changed .gitignore");

    wm.restart();
    let log = debug_log(&repo, &wm);
    assert!(log.contains("cannot say what changed"), "{log}");
    assert_same(&repo, &wm, "a restarted watchman");

    let recrawl = Command::new("watchman")
        .arg(format!("--sockname={}", wm.sock().display()))
        .args(["debug-recrawl"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(recrawl.status.success(), "{recrawl:?}");
    let log = debug_log(&repo, &wm);
    assert!(log.contains("full scan") && log.contains("ecrawl"), "{log}");

    for garbage in [&b"{not json"[..], b"{\"version\":99}", &[0xff; 64]] {
        std::fs::write(&state, garbage).unwrap();
        let log = debug_log(&repo, &wm);
        assert!(log.contains("full scan"), "{log}");
        assert_same(&repo, &wm, "a corrupt state file");
    }
    assert_same(&repo, &wm, "the corrupt states");
}

// No Watchman at all: the command works as without the monitor.
#[test]
fn an_unreachable_watchman_changes_nothing() {
    let repo = sample_repo();
    repo.write("svc/a/main.go", "edited\n");
    let expected = repo.affected_json(&["--uncommitted"]);
    let out = repo
        .command(&["affected", "--uncommitted", "--format", "json"])
        .env("RUST_LOG", "shockwave=debug")
        .env("SHOCKWAVE_FSMONITOR", "watchman")
        .env("WATCHMAN_SOCK", repo.abs("no-such-socket"))
        .output()
        .unwrap();
    assert!(
        out.success()
            .stderr_str()
            .contains("watchman is not available"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(out.json(), expected);
}

// `[workspace] fsmonitor` turns it on, `SHOCKWAVE_FSMONITOR=off` off again.
#[test]
fn the_config_key_enables_it_and_the_variable_overrides_it() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    repo.config(&format!("{CONFIG}\n").replacen(
        "[workspace]\n",
        "[workspace]\nfsmonitor = \"watchman\"\n",
        1,
    ));
    let state = repo.abs(".shockwave/fsmonitor.json");
    let run = |fsmonitor: Option<&str>| {
        let mut c = repo.command(&["hash", "build", "--all"]);
        c.env("WATCHMAN_SOCK", wm.sock())
            .env("SHOCKWAVE_FSMONITOR_TIMEOUT", "30s");
        if let Some(v) = fsmonitor {
            c.env("SHOCKWAVE_FSMONITOR", v);
        }
        c.output().unwrap().success().stdout_str()
    };
    let off = run(Some("off"));
    assert!(
        !state.exists(),
        "SHOCKWAVE_FSMONITOR=off wins over the config"
    );
    assert_eq!(run(None), off);
    assert!(state.is_file(), "the config key turns the monitor on");
}

#[test]
fn bad_settings_are_usage_errors() {
    let repo = sample_repo();
    let out = repo
        .command(&["affected"])
        .env("SHOCKWAVE_FSMONITOR", "yes")
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("SHOCKWAVE_FSMONITOR=yes: write `watchman` or `off`"),
        "{}",
        out.stderr_str()
    );
    let out = repo
        .command(&["affected"])
        .env("SHOCKWAVE_FSMONITOR_TIMEOUT", "soon")
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(out.stderr_str().contains("SHOCKWAVE_FSMONITOR_TIMEOUT"));

    repo.config("[workspace]\nmembers = [\"svc/*\"]\nfsmonitor = \"inotify\"\n");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(err.contains("pipeline.toml:3"), "{err}");
    assert!(err.contains("watchman"), "{err}");
}

// A submodule's checked-out commit can move with no file of the superproject's worktree
// changing (an empty commit inside it): the stored state keeps it in view.
#[test]
fn a_submodule_that_moves_without_a_file_change_is_seen() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let sub = TestRepo::new();
    sub.write("lib.c", "int x;\n");
    sub.commit("sub 1");
    let repo = sample_repo();
    let url = sub.path().display().to_string();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "svc/c/vendor/lib",
    ]);
    repo.commit("add submodule");
    assert_same(&repo, &wm, "adding the submodule");
    assert_same(&repo, &wm, "a second run");
    let inside = repo.abs("svc/c/vendor/lib");
    let status = repo
        .git_cmd(&[
            "-c",
            "user.name=Test User",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "moved",
        ])
        .current_dir(&inside)
        .status()
        .unwrap();
    assert!(status.success());
    let (_, affected, targeted) = answers(&repo, Some(&wm));
    assert!(targeted, "the monitor was not used");
    assert!(
        affected.contains("\"svc/c/vendor/lib\""),
        "the moved submodule is not a change:\n{affected}"
    );
    assert_same(&repo, &wm, "moving the submodule");
}

// Without `WATCHMAN_SOCK` the socket is the one `watchman get-sockname` names, which also starts
// the server; as root (CI) its state directory comes from TMPDIR. A private TMPDIR keeps the
// machine's own server out of it.
#[test]
fn without_watchman_sock_the_server_is_found_and_started_by_the_watchman_cli() {
    if !installed() {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("shockwave-wm-tmp-")
        .tempdir()
        .unwrap();
    let repo = sample_repo();
    let run = || {
        let out = repo
            .command(&["affected", "--uncommitted", "--format", "names"])
            .env("RUST_LOG", "shockwave=debug")
            .env("SHOCKWAVE_FSMONITOR", "watchman")
            .env("SHOCKWAVE_FSMONITOR_TIMEOUT", "30s")
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        out.success().stderr_str()
    };
    let first = run();
    let second = run();
    let stop = Command::new("watchman")
        .args(["--no-spawn", "shutdown-server"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(first.contains("no state from an earlier run"), "{first}");
    assert!(second.contains("may hold a change"), "{second}");
    let state = std::fs::read_to_string(repo.abs(".shockwave/fsmonitor.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let sock = state["sockname"].as_str().unwrap();
    assert!(
        Path::new(sock).starts_with(tmp.path()),
        "{sock} is not below TMPDIR"
    );
    assert!(stop.status.success(), "{stop:?}");
}

/// Whether the run's debug log says it scanned only what Watchman reported.
fn was_targeted(stderr: &str) -> bool {
    stderr.contains("tracked directories may hold a change")
}

// Issue 18, item 8: a write through a hard link from outside the worktree is invisible to
// Watchman (it reports a write under the name it was made through), and gave a false cache hit
// in 15 of 15 steps. A file with other links is looked at again every run.
#[test]
fn a_write_through_a_hard_link_from_outside_the_worktree_is_seen() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    // In the next second: git compares ctime to the second, so the refresh below records the
    // links' ctime only if its second differs.
    std::thread::sleep(Duration::from_millis(1100));
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("main.go");
    std::fs::hard_link(repo.abs("svc/a/main.go"), &link).unwrap();
    // Also a second name inside the worktree, untracked and ignored, written through as well.
    std::fs::hard_link(repo.abs("svc/b/main.go"), repo.abs("svc/b/trace.log")).unwrap();
    // Linking changed the files' ctime; git refreshes the index's stat data (as `git status`
    // does), so neither is a suspect the monitor's state would list again anyway.
    repo.git(&["update-index", "-q", "--refresh"]);
    assert_same(&repo, &wm, "the first run");
    assert_same(&repo, &wm, "a second run");
    for (n, (through, path)) in [
        (link.clone(), "svc/a/main.go"),
        (repo.abs("svc/b/trace.log"), "svc/b/main.go"),
    ]
    .into_iter()
    .enumerate()
    {
        // Written in place (same inode), as an editor or a tool holding the other name does.
        std::fs::write(&through, format!("changed through another name {n}\n")).unwrap();
        let (hash_on, affected_on, targeted) = answers(&repo, Some(&wm));
        assert!(targeted, "step {n}: the monitor was not used");
        assert!(
            affected_on.contains(&format!("\"{path}\"")),
            "step {n}: {path} is not a change:\n{affected_on}"
        );
        let (hash_off, affected_off, _) = answers(&repo, None);
        assert_eq!(hash_on, hash_off, "step {n}");
        assert_eq!(affected_on, affected_off, "step {n}");
    }
}

/// Writes `text` over the start of the file at `path` through a shared memory mapping: no
/// notification reaches Watchman.
fn write_through_mmap(path: &Path, text: &[u8]) {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    assert!(file.metadata().unwrap().len() >= text.len() as u64);
    // SAFETY: a fresh shared mapping of `text.len()` bytes of an open file that is at least that
    // long; written, synced and unmapped before the file is closed.
    unsafe {
        let map = libc::mmap(
            std::ptr::null_mut(),
            text.len(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(map, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(text.as_ptr(), map.cast::<u8>(), text.len());
        assert_eq!(libc::msync(map, text.len(), libc::MS_SYNC), 0);
        assert_eq!(libc::munmap(map, text.len()), 0);
    }
}

// What the monitor cannot see at all (a write through a shared mapping, a write through a link
// made after the last full scan) is missed for at most the runs or the time set for full scans.
#[test]
fn a_full_scan_every_few_runs_or_minutes_bounds_what_watchman_cannot_see() {
    let Some(wm) = Watchman::start() else {
        return;
    };
    let repo = sample_repo();
    let run = |env: &[(&str, &str)]| {
        let mut c = cmd(
            &repo,
            Some(&wm),
            &["affected", "--uncommitted", "--format", "json"],
        );
        c.envs(env.iter().copied());
        let out = output(c);
        (out.success().stdout_str(), out.stderr_str())
    };
    let every_3 = [("SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS", "3")];
    let (_, log) = run(&every_3);
    assert!(!was_targeted(&log), "the first run scans in full");
    // A full scan, then two runs that scan only what changed, then a full scan again.
    write_through_mmap(&repo.abs("svc/c/main.go"), b"C");
    let (first, log) = run(&every_3);
    assert!(was_targeted(&log), "{log}");
    assert!(
        !first.contains("svc/c/main.go"),
        "Watchman saw an mmap write?"
    );
    let (_, log) = run(&every_3);
    assert!(was_targeted(&log), "{log}");
    let (third, log) = run(&every_3);
    assert!(
        log.contains("full scan: 2 runs since the last full scan"),
        "{log}"
    );
    assert!(third.contains("\"svc/c/main.go\""), "{third}");
    let third: serde_json::Value = serde_json::from_str(&third).unwrap();
    assert_eq!(third, repo.affected_json(&["--uncommitted"]));

    // By time: a link made after the last full scan, written through, is seen once it is old.
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("x.go");
    std::fs::hard_link(repo.abs("svc/a/internal/x/x.go"), &link).unwrap();
    std::fs::write(&link, "changed through a new link\n").unwrap();
    let after = [("SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER", "2s")];
    let (_, log) = run(&after);
    if was_targeted(&log) {
        std::thread::sleep(Duration::from_millis(2100));
        let (_, log) = run(&after);
        assert!(log.contains("full scan: the last full scan is"), "{log}");
    }
    let (now, _) = run(&after);
    assert!(now.contains("\"svc/a/internal/x/x.go\""), "{now}");
}

#[test]
fn bad_full_scan_settings_are_usage_errors() {
    let repo = sample_repo();
    for (var, value, what) in [
        (
            "SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS",
            "0",
            "write a number of runs from 1 to 10000",
        ),
        (
            "SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS",
            "often",
            "write a number of runs",
        ),
        (
            "SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER",
            "2h",
            "SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER: `2h`",
        ),
    ] {
        let out = repo
            .command(&["affected"])
            .env(var, value)
            .output()
            .unwrap();
        out.expect_code(2);
        assert!(
            out.stderr_str().contains(what),
            "{var}={value}: {}",
            out.stderr_str()
        );
    }
}
