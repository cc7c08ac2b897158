//! `shockwave run` end to end: the cache (hits, restores, what invalidates it), the scheduler
//! (`-j`, failures, `--continue`, Ctrl-C), dry runs, the run summary and its Markdown report, `hash`
//! (`--json`, `--explain`, `--diff`) and the errors a task graph can produce. Every test runs the real
//! binary in a temporary git repository and asserts on parsed JSON, exact lines and exit codes.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{set, with_summary, OutputExt, SummaryJson, TestRepo};
use serde_json::Value;

/// Four services: `app` → `lib` → `core`, and `other` on its own. `build` concatenates the
/// service's `*.txt` into `bin/out` (mode 755) with a `bin/latest` symlink to it, after its
/// dependencies' builds; `test` checks `bin/out` exists. `bin/` is ignored by git.
const CHAIN: &str = r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin && cat *.txt > bin/out && chmod 755 bin/out && ln -sf out bin/latest && echo built $SHOCKWAVE_SERVICE"
needs = ["^build"]
outputs = ["bin/**"]
env = ["CHAIN_FLAG"]

[targets.test]
command = "test -x bin/out && echo tested $SHOCKWAVE_SERVICE"
needs = ["build"]

[services.lib]
deps = ["core"]

[services.app]
deps = ["lib"]
"#;

fn chain() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(CHAIN).write(".gitignore", "bin/\n");
    for s in ["core", "lib", "app", "other"] {
        repo.write(format!("svc/{s}/{s}.txt"), format!("{s} v1\n"));
    }
    repo.commit("init");
    repo
}

fn run_all(repo: &TestRepo, targets: &[&str]) -> (std::process::Output, Value) {
    let mut args: Vec<&str> = targets.to_vec();
    args.extend_from_slice(&["--all", "-j", "4"]);
    repo.run_summary(&args)
}

/// The binary with the hermetic environment, for commands that need no repository.
fn shockwave() -> Command {
    let mut cmd = Command::new(common::BIN);
    common::hermetic(&mut cmd);
    cmd
}

fn all_tasks(services: &[&str], targets: &[&str]) -> BTreeSet<String> {
    services
        .iter()
        .flat_map(|s| targets.iter().map(move |t| format!("{s}:{t}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The cache: hits, restores and what invalidates an entry.

#[test]
fn second_run_is_all_cached_and_restores_deleted_outputs() {
    let repo = chain();
    let (out, first) = run_all(&repo, &["build", "test"]);
    out.success();
    let every = all_tasks(&["app", "core", "lib", "other"], &["build", "test"]);
    assert_eq!(first.with_status("success"), every, "{first:#}");
    assert!(first["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["cache"] == "miss"));
    let built = repo.read("svc/app/bin/out");
    assert_eq!(built, "app v1\n");

    for s in ["core", "lib", "app", "other"] {
        repo.remove(format!("svc/{s}/bin"));
    }
    let (out, second) = run_all(&repo, &["build", "test"]);
    out.success();
    assert_eq!(second.with_status("cached-local"), every, "{second:#}");
    assert!(second["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["cache"] == "hit"));
    assert_eq!(second["totals"]["cached"], 8);
    assert_eq!(second["totals"]["success"], 0);
    // The hashes did not move, and every hit saved the duration of the run that made it.
    for t in second["tasks"].as_array().unwrap() {
        let label = t["task"].as_str().unwrap();
        assert_eq!(t["hash"], first.task(label)["hash"], "{label}");
        assert_eq!(t["saved_ms"], first.task(label)["duration_ms"], "{label}");
    }
    // Outputs are back byte for byte, with their mode and the symlink.
    use std::os::unix::fs::PermissionsExt;
    for s in ["core", "lib", "app", "other"] {
        assert_eq!(repo.read(format!("svc/{s}/bin/out")), format!("{s} v1\n"));
        let mode = std::fs::metadata(repo.abs(format!("svc/{s}/bin/out")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{s}: mode {mode:o}");
        assert_eq!(
            std::fs::read_link(repo.abs(format!("svc/{s}/bin/latest"))).unwrap(),
            Path::new("out")
        );
    }
    // The log is replayed.
    let stdout = out.stdout_str();
    assert!(
        stdout.contains("==> app:build cached, replaying log"),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "built app"), "{stdout}");
}

#[test]
fn sample_monorepo_second_run_is_cached_and_restores_bin() {
    let repo = TestRepo::from_fixture();
    let (out, first) = run_all(&repo, &["build"]);
    out.success();
    assert_eq!(first["totals"]["tasks"], 10);
    assert_eq!(first["totals"]["success"], 10);
    let app = std::fs::read(repo.abs("fixtures/services/user-service/bin/app")).unwrap();
    let lib = std::fs::read(repo.abs("fixtures/libs/auth-lib/bin/lib.a")).unwrap();
    repo.remove("fixtures/services/user-service/bin")
        .remove("fixtures/libs/auth-lib/bin");

    let (out, second) = run_all(&repo, &["build"]);
    out.success();
    assert_eq!(second.with_status("cached-local").len(), 10, "{second:#}");
    assert_eq!(
        std::fs::read(repo.abs("fixtures/services/user-service/bin/app")).unwrap(),
        app
    );
    assert_eq!(
        std::fs::read(repo.abs("fixtures/libs/auth-lib/bin/lib.a")).unwrap(),
        lib
    );
}

#[test]
fn editing_one_file_reruns_exactly_its_service_and_dependents() {
    let repo = TestRepo::from_fixture();
    run_all(&repo, &["build", "test"]).0.success();
    let auth = repo.read("fixtures/libs/auth-lib/auth.go");
    repo.write(
        "fixtures/libs/auth-lib/auth.go",
        format!("{auth}\n// a comment\n"),
    );
    let (out, s) = run_all(&repo, &["build", "test"]);
    out.success();
    let rerun = all_tasks(
        &["auth-lib", "user-service", "payment-service", "api-gateway"],
        &["build", "test"],
    );
    assert_eq!(s.with_status("success"), rerun, "{s:#}");
    let cached = all_tasks(
        &[
            "log-lib",
            "db-lib",
            "money-lib",
            "order-service",
            "catalog-service",
            "notification-service",
        ],
        &["build", "test"],
    );
    assert_eq!(s.with_status("cached-local"), cached, "{s:#}");
    assert_eq!(s["totals"]["tasks"], 20);
}

#[test]
fn editing_a_committed_file_in_the_small_repo_reruns_its_dependents() {
    let repo = chain();
    run_all(&repo, &["build"]).0.success();
    repo.write("svc/lib/lib.txt", "lib v2\n");
    repo.commit("lib v2");
    let (out, s) = run_all(&repo, &["build"]);
    out.success();
    assert_eq!(s.with_status("success"), set(&["lib:build", "app:build"]));
    assert_eq!(
        s.with_status("cached-local"),
        set(&["core:build", "other:build"])
    );
    assert_eq!(repo.read("svc/lib/bin/out"), "lib v2\n");
}

#[test]
fn declared_env_var_reruns_its_target_and_undeclared_does_not() {
    let repo = chain();
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = repo.command(&["run", "build", "--service", "other", "core"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let (out, s) = with_summary(cmd);
        out.success();
        s
    };
    let s = run(&[("CHAIN_FLAG", "1")]);
    assert_eq!(s.with_status("success").len(), 2);
    let s = run(&[("CHAIN_FLAG", "1"), ("UNDECLARED_VAR", "x")]);
    assert_eq!(
        s.with_status("cached-local"),
        set(&["core:build", "other:build"]),
        "an undeclared variable must not change the hash"
    );
    let s = run(&[("CHAIN_FLAG", "2"), ("UNDECLARED_VAR", "y")]);
    assert_eq!(
        s.with_status("success"),
        set(&["core:build", "other:build"]),
        "a declared variable's value is an input"
    );
    let shown = s.task("core:build")["fingerprint"]["env"]["CHAIN_FLAG"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        shown.starts_with("set, blake3:") && shown.len() == "set, blake3:".len() + 8,
        "a value is shown as its short digest, got {shown:?}"
    );
    // Unset is a value of its own, distinct from any string.
    let s = run(&[]);
    assert_eq!(s.with_status("success").len(), 2);
    assert_eq!(
        s.task("core:build")["fingerprint"]["env"]["CHAIN_FLAG"],
        Value::Null
    );
    // Back to "1": the first entry is still there.
    let s = run(&[("CHAIN_FLAG", "1")]);
    assert_eq!(s.with_status("cached-local").len(), 2);
}

#[test]
fn two_clones_at_different_paths_hash_identically() {
    let origin = TestRepo::from_fixture();
    let a = TestRepo::clone_from(&origin, &[]);
    let b = TestRepo::clone_from(&origin, &[]);
    assert_ne!(a.path(), b.path());
    // The same uncommitted edit in both: hashed from disk, it must still agree.
    for r in [&a, &b] {
        r.write(
            "fixtures/services/order-service/main.go",
            "package main\n// edited\n",
        );
    }
    let ja = a
        .run(&["hash", "build", "test", "--all", "--json"])
        .success()
        .json();
    let jb = b
        .run(&["hash", "build", "test", "--all", "--json"])
        .success()
        .json();
    assert_eq!(ja, jb, "hash --json differs between clones");
    assert_eq!(ja["tasks"].as_array().unwrap().len(), 20);
    // And the edit did count: the origin (unedited) hashes order-service differently.
    let ho = origin.task_hashes(&["build"]);
    let ha = a.task_hashes(&["build"]);
    assert_ne!(ho["order-service:build"], ha["order-service:build"]);
    assert_eq!(ho["user-service:build"], ha["user-service:build"]);
}

#[test]
fn outputs_of_one_target_are_not_inputs_of_its_siblings() {
    // `bin/` is not ignored by git here, so `build`'s outputs are untracked files in the service.
    let repo = TestRepo::new();
    repo.config(CHAIN);
    for s in ["core", "lib", "app", "other"] {
        repo.write(format!("svc/{s}/{s}.txt"), format!("{s} v1\n"));
    }
    repo.commit("init");
    let (out, _) = run_all(&repo, &["test"]);
    out.success();
    let (out, s) = run_all(&repo, &["test"]);
    out.success();
    assert_eq!(
        s.statuses().values().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"cached-local".to_string()]),
        "{s:#}"
    );
}

#[test]
fn a_tracked_file_a_target_also_writes_stays_an_input() {
    // The build stamps its committed package.json (as trpc's does): the committed content is
    // what it reads, so a change to it is a new key, and a hit never restores the old stamp.
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p dist && cp package.json dist/from.json && echo stamped >> package.json"
outputs = ["package.json", "dist/**"]
"#,
    );
    repo.write("svc/pkg/package.json", "{\"version\": \"1.0.0\"}\n");
    repo.write(".gitignore", "dist/\n");
    repo.commit("init");
    let before = repo.task_hashes(&["build"])["pkg:build"].clone();
    let (out, _) = run_all(&repo, &["build"]);
    out.success();
    repo.write("svc/pkg/package.json", "{\"version\": \"2.0.0\"}\n");
    repo.commit("release 2.0.0");
    let after = repo.task_hashes(&["build"])["pkg:build"].clone();
    assert_ne!(
        before, after,
        "a change to a tracked output is a change to the key"
    );
    let (out, s) = run_all(&repo, &["build"]);
    out.success();
    assert_eq!(s.task("pkg:build")["status"], "success", "{s:#}");
    assert_eq!(
        repo.read("svc/pkg/dist/from.json"),
        "{\"version\": \"2.0.0\"}\n"
    );
}

#[test]
fn cache_false_tasks_always_run() {
    let repo = chain();
    repo.write(
        "pipeline.toml",
        format!("{CHAIN}\n[targets.deploy]\ncommand = \"echo deploying\"\nneeds = [\"build\"]\ncache = false\n"),
    );
    repo.commit("deploy");
    for round in 0..2 {
        let (out, s) = repo.run_summary(&["deploy", "--service", "core"]);
        out.success();
        assert_eq!(s.task("core:deploy")["status"], "success", "round {round}");
        assert_eq!(s.task("core:deploy")["cache"], "disabled", "round {round}");
        let build = if round == 0 {
            "success"
        } else {
            "cached-local"
        };
        assert_eq!(s.task("core:build")["status"], build, "round {round}");
    }
    let deploy_hash = repo.task_hashes(&["deploy"])["core:deploy"].clone();
    assert!(!repo.cache_dir().join(&deploy_hash).exists());
    // The dry run says so too.
    let plan = repo
        .run(&["run", "deploy", "--service", "core", "--dry-run=json"])
        .success()
        .json();
    let deploy = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "core:deploy")
        .unwrap();
    assert_eq!(deploy["cache"], "disabled");
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let repo = chain();
    let (out, s) = repo.run_summary(&["build", "--service", "core", "--no-cache"]);
    out.success();
    assert_eq!(s.task("core:build")["cache"], "off");
    assert!(common::dir_names(&repo.cache_dir())
        .iter()
        .all(|n| n.starts_with('.')));
    repo.run(&["run", "build", "--service", "core"]).success();
    let (_, s) = repo.run_summary(&["build", "--service", "core", "--no-cache"]);
    assert_eq!(s.task("core:build")["status"], "success");
}

// ---------------------------------------------------------------------------------------------
// Failures.

/// `aaa` fails (exit 3) after printing; `bbb` needs it; `ccc` and `ddd` are independent and
/// touch a marker file when they run.
fn failing() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "echo ran > ran.marker && echo built $SHOCKWAVE_SERVICE"
needs = ["^build"]
outputs = ["ran.marker"]

[services.aaa.targets.build]
command = "for i in $(seq 1 50); do echo line $i; done; echo boom >&2; exit 3"

[services.bbb]
deps = ["aaa"]
"#,
    )
    .write(".gitignore", "*.marker\n");
    for s in ["aaa", "bbb", "ccc", "ddd"] {
        repo.write(format!("svc/{s}/x.txt"), s);
    }
    repo.commit("init");
    repo
}

#[test]
fn failure_with_continue_skips_dependents_and_runs_the_rest() {
    let repo = failing();
    let (out, s) = repo.run_summary(&["build", "--all", "--continue", "-j", "1"]);
    out.expect_code(1);
    let statuses: BTreeMap<String, String> = s.statuses();
    let expected: BTreeMap<String, String> = [
        ("aaa:build", "failed"),
        ("bbb:build", "skipped"),
        ("ccc:build", "success"),
        ("ddd:build", "success"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses, expected);
    assert_eq!(s.task("bbb:build")["skipped_because"], "aaa:build");
    assert_eq!(s.task("aaa:build")["exit_code"], 3);
    assert!(s.task("aaa:build")["log_tail"]
        .as_str()
        .unwrap()
        .ends_with("line 50\nboom"));
    assert_eq!(
        s.task("aaa:build")["log_tail"]
            .as_str()
            .unwrap()
            .lines()
            .count(),
        30
    );
    assert_eq!(s["totals"]["failed"], 1);
    assert_eq!(s["totals"]["skipped"], 1);
    assert!(!repo.abs("svc/bbb/ran.marker").exists());
    assert!(repo.abs("svc/ccc/ran.marker").exists());

    // The failed task was not cached; the successful ones were.
    let hashes = repo.task_hashes(&["build"]);
    assert!(!repo.cache_dir().join(&hashes["aaa:build"]).exists());
    assert!(repo.cache_dir().join(&hashes["ccc:build"]).exists());

    // The end of stdout names the failure and shows the last 40 lines of its log.
    let lines = out.lines();
    let at = lines
        .iter()
        .position(|l| l == "failed: aaa:build (exit code 3); last lines of its log:")
        .unwrap_or_else(|| panic!("no failure block in\n{}", out.stdout_str()));
    let tail: Vec<String> = lines[at + 1..].to_vec();
    let mut expected: Vec<String> = (12..=50).map(|i| format!("  line {i}")).collect();
    expected.push("  boom".into());
    assert_eq!(tail, expected);
    let headline = lines.iter().find(|l| l.starts_with("✗ 4 tasks:")).unwrap();
    assert!(
        headline.starts_with("✗ 4 tasks: 2 ran, 0 from cache (0%), 1 failed, 1 skipped"),
        "{headline}"
    );

    // A second run reruns the failure (it was not cached) and takes the rest from the cache.
    let (out, s) = repo.run_summary(&["build", "--all", "--continue", "-j", "1"]);
    out.expect_code(1);
    assert_eq!(s.task("aaa:build")["status"], "failed");
    assert_eq!(
        s.with_status("cached-local"),
        set(&["ccc:build", "ddd:build"])
    );
}

#[test]
fn failure_without_continue_starts_nothing_new() {
    let repo = failing();
    // With one job, tasks start in plan order; `aaa:build` is first in the plan.
    let plan = repo
        .run(&["run", "build", "--all", "--dry-run=json"])
        .success()
        .json();
    assert_eq!(plan["tasks"][0]["task"], "aaa:build");
    let (out, s) = repo.run_summary(&["build", "--all", "-j", "1"]);
    out.expect_code(1);
    assert_eq!(s.with_status("failed"), set(&["aaa:build"]));
    assert_eq!(
        s.with_status("skipped"),
        set(&["bbb:build", "ccc:build", "ddd:build"]),
        "{s:#}"
    );
    assert_eq!(s.task("bbb:build")["skipped_because"], "aaa:build");
    // Tasks that were merely not started have no cause.
    assert!(s.task("ccc:build").get("skipped_because").is_none());
    for svc in ["bbb", "ccc", "ddd"] {
        assert!(
            !repo.abs(format!("svc/{svc}/ran.marker")).exists(),
            "{svc} ran"
        );
    }
    assert!(
        out.stderr_str()
            .contains("aaa:build failed: not starting more tasks"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn running_tasks_finish_after_a_failure() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[targets.build]
command = "sleep 0.3 && echo slow done"
[services.fast.targets.build]
command = "exit 1"
"#,
    );
    repo.write("svc/fast/x", "1").write("svc/slow/x", "1");
    repo.commit("init");
    let (out, s) = repo.run_summary(&["build", "--all", "-j", "2"]);
    out.expect_code(1);
    assert_eq!(s.task("fast:build")["status"], "failed");
    assert_eq!(s.task("slow:build")["status"], "success");
}

// ---------------------------------------------------------------------------------------------
// Parallelism.

/// Runs four independent 0.3 s tasks that log `start <ns>` / `end <ns>` to a shared file and
/// returns the most that ran at once.
fn max_overlap(jobs: &str) -> usize {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[targets.work]
command = "echo start $(date +%s%N) >> \"$TIMES\"; sleep 0.3; echo end $(date +%s%N) >> \"$TIMES\""
"#,
    );
    for s in ["a", "b", "c", "d"] {
        repo.write(format!("svc/{s}/x"), s);
    }
    repo.commit("init");
    let times = tempfile::NamedTempFile::new().unwrap();
    let out = repo
        .command(&["run", "work", "--all", "--no-cache", "-j", jobs])
        .env("TIMES", times.path())
        .output()
        .unwrap();
    out.success();
    let text = std::fs::read_to_string(times.path()).unwrap();
    let mut events: Vec<(u128, i32)> = text
        .lines()
        .map(|l| {
            let (kind, ns) = l.split_once(' ').unwrap();
            let ns: u128 = ns
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad line {l:?}"));
            // Ends sort before starts at the same instant.
            (ns, if kind == "start" { 1 } else { -1 })
        })
        .collect();
    assert_eq!(events.len(), 8, "{text}");
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    max as usize
}

#[test]
fn jobs_two_runs_exactly_two_at_once() {
    assert_eq!(max_overlap("2"), 2);
}

#[test]
fn jobs_one_runs_one_at_a_time() {
    assert_eq!(max_overlap("1"), 1);
}

#[test]
fn jobs_zero_is_a_usage_error() {
    let repo = chain();
    let out = repo.run(&["run", "build", "--all", "-j", "0"]);
    out.expect_code(2);
    assert!(out.stderr_str().contains("-j 0"), "{}", out.stderr_str());
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C. Processes are inspected through /proc.

#[cfg(target_os = "linux")]
mod interrupt {
    use super::*;
    use std::process::{Child, Output, Stdio};

    /// Whether `pid` is running. A zombie (state Z) has exited; it lingers only until its parent
    /// (perhaps an init that does not reap) collects it.
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => {
                let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
                !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X'))
            }
            Err(_) => false,
        }
    }

    /// Processes whose parent is `pid`.
    fn children(pid: i32) -> Vec<i32> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|s| s.parse::<i32>().ok());
                if ppid == Some(pid) {
                    out.push(p);
                }
            }
        }
        out
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
    }

    /// Starts `shockwave ARGS` with `PIDS` set to `pids`, its output captured.
    fn spawn(repo: &TestRepo, args: &[&str], pids: &Path) -> Child {
        repo.command(args)
            .env("PIDS", pids)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Sends `signal` to shockwave and waits (at most 10 s) for it to exit; returns its output and
    /// how long it took.
    fn interrupt(mut child: Child, signal: i32) -> (Output, Duration) {
        // SAFETY: kill(2) on the pid of a child we spawned and have not waited for yet.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let sent = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if sent.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("shockwave did not exit within 10 s of signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = sent.elapsed();
        (child.wait_with_output().unwrap(), took)
    }

    #[test]
    fn sigint_kills_running_commands_and_caches_nothing() {
        let repo = TestRepo::new();
        repo.config(
            r#"
[workspace]
members = ["svc/*"]
# `fg` sleeps in the foreground (a child of the shell); `bg` in the background, waited for.
[services.fg.targets.build]
command = "echo $$ > \"$PIDS/fg.pid\"; sleep 30; echo out > out"
outputs = ["out"]
[services.bg.targets.build]
command = "sleep 30 & echo $! > \"$PIDS/bg-sleep.pid\"; echo $$ > \"$PIDS/bg.pid\"; wait; echo out > out"
outputs = ["out"]
"#,
        );
        repo.write("svc/fg/x", "1").write("svc/bg/x", "1");
        repo.commit("init");
        let hashes = repo.task_hashes(&["build"]);
        let pids = tempfile::tempdir().unwrap();
        let summary = pids.path().join("summary.json");
        let summary_arg = summary.to_str().unwrap();
        let child = spawn(
            &repo,
            &["run", "build", "--all", "-j", "2", "--summary", summary_arg],
            pids.path(),
        );

        let pid = |name: &str| read_pid(&pids.path().join(name));
        let mut watched = Vec::new();
        wait_for("both commands to start", Duration::from_secs(10), || {
            if let (Some(fg), Some(bg), Some(bg_sleep)) =
                (pid("fg.pid"), pid("bg.pid"), pid("bg-sleep.pid"))
            {
                watched = vec![fg, bg, bg_sleep];
                // The foreground sleep: the shell's child.
                watched.extend(children(fg));
            }
            watched.len() == 4
        });
        for &p in &watched {
            assert!(alive(p), "{p} is not running");
        }

        let (out, _) = interrupt(child, libc::SIGINT);
        out.expect_code(130);
        for &p in &watched {
            assert!(!alive(p), "process {p} survived the interrupt");
        }
        assert!(
            out.stdout_str().contains("(interrupted)"),
            "{}",
            out.stdout_str()
        );
        let s: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
        assert_eq!(s["interrupted"], true);
        assert_eq!(s["totals"]["success"], 0);
        assert_eq!(s["totals"]["cached"], 0);
        // Nothing half-done in the cache.
        let entries = common::dir_names(&repo.cache_dir());
        for (task, hash) in &hashes {
            assert!(!entries.contains(hash), "{task} was cached");
        }
        assert!(
            entries.iter().all(|e| !e.starts_with(".tmp-")),
            "{entries:?}"
        );
        assert!(!repo.abs("svc/fg/out").exists());
    }

    #[test]
    fn commands_that_ignore_sigterm_are_killed_after_three_seconds() {
        let repo = TestRepo::new();
        repo.config(
            r#"
[workspace]
members = ["svc/*"]
[targets.build]
command = "trap '' TERM; echo $$ > \"$PIDS/stubborn.pid\"; sleep 30; echo never"
"#,
        );
        repo.write("svc/stubborn/x", "1");
        repo.commit("init");
        let pids = tempfile::tempdir().unwrap();
        let child = spawn(&repo, &["run", "build", "--all"], pids.path());
        let mut watched = Vec::new();
        wait_for("the command to start", Duration::from_secs(10), || {
            if let Some(sh) = read_pid(&pids.path().join("stubborn.pid")) {
                watched = std::iter::once(sh).chain(children(sh)).collect();
            }
            watched.len() >= 2
        });
        // SIGTERM interrupts like SIGINT does.
        let (out, took) = interrupt(child, libc::SIGTERM);
        out.expect_code(130);
        assert!(
            took >= Duration::from_millis(2500),
            "exited after {took:?}, before SIGKILL was due"
        );
        for &p in &watched {
            assert!(!alive(p), "process {p} survived SIGKILL");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Summary and report.

#[test]
fn summary_has_the_documented_schema() {
    let repo = chain();
    let (out, s) = repo.run_summary(&["test", "--service", "app"]);
    out.success();
    let keys: BTreeSet<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "schema",
            "shockwave",
            "targets",
            "selection",
            "base",
            "head",
            "merge_base",
            "duration_ms",
            "interrupted",
            "totals",
            "tasks"
        ])
    );
    assert_eq!(s["schema"], 1);
    assert_eq!(s["selection"], "services");
    assert_eq!(s["targets"], serde_json::json!(["test"]));
    assert_eq!(s["interrupted"], false);
    let totals: BTreeSet<&str> = s["totals"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        totals,
        BTreeSet::from(["tasks", "success", "cached", "failed", "skipped", "saved_ms"])
    );
    let test = s.task("app:test");
    assert_eq!(test["requested"], true);
    assert_eq!(test["exit_code"], 0);
    assert_eq!(test["hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        test["reasons"],
        serde_json::json!([{"kind": "selected", "by": "--service"}])
    );
    assert!(test.get("needed_by").is_none());
    let core = s.task("core:build");
    assert_eq!(core["requested"], false);
    assert_eq!(core["needed_by"], "app:test");
    assert_eq!(core["reasons"], serde_json::json!([]));
    assert!(core["fingerprint"]["files"]
        .as_object()
        .unwrap()
        .contains_key("svc/core/core.txt"));
    // Tasks are listed in execution order.
    let order: Vec<&str> = s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["core:build", "lib:build", "app:build", "app:test"]);
}

#[test]
fn report_matches_the_summary_and_lists_failures_first() {
    let repo = failing();
    // Cache ccc and ddd first, then run everything so the report has hits, a failure and a skip.
    repo.run(&["run", "build", "--service", "ccc", "ddd"])
        .success();
    let step = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(step.path(), "earlier step\n").unwrap();
    let mut cmd = repo.command(&["run", "build", "--all", "--continue"]);
    cmd.env("GITHUB_STEP_SUMMARY", step.path());
    let (out, s) = with_summary(cmd);
    out.expect_code(1);
    let t = &s["totals"];
    assert_eq!(
        (
            t["tasks"].as_u64(),
            t["success"].as_u64(),
            t["cached"].as_u64(),
            t["failed"].as_u64(),
            t["skipped"].as_u64()
        ),
        (Some(4), Some(0), Some(2), Some(1), Some(1)),
        "{s:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    std::fs::write(&file, serde_json::to_string(&s).unwrap()).unwrap();
    let report = repo.run(&["report", file.to_str().unwrap()]);
    report.success();
    let md = report.stdout_str();
    let headline = md.lines().find(|l| l.starts_with("**")).unwrap();
    let n = |k: &str| t[k].as_u64().unwrap();
    let pct = (n("cached") * 100 + n("tasks") / 2) / n("tasks");
    assert!(
        headline.starts_with(&format!(
            "**{} of {} tasks from cache ({pct}%), ",
            n("cached"),
            n("tasks")
        )),
        "{headline}"
    );
    assert!(
        headline.contains(&format!(
            " · {} ran · {} failed · {} skipped · took ",
            n("success"),
            n("failed"),
            n("skipped")
        )),
        "{headline}"
    );
    assert!(headline.starts_with("**2 of 4 tasks from cache (50%), "));
    let failed = md.find("### ❌ Failed").expect("a failed section");
    let tasks = md.find("### Tasks").expect("a task table");
    assert!(failed < tasks);
    assert!(md.contains("#### `aaa:build` (exit 3, "), "{md}");
    assert!(md.contains("line 50\nboom\n```"), "{md}");
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Service"))
        .collect();
    assert_eq!(rows.len(), 4, "{md}");
    assert!(
        rows[0].starts_with("| aaa | build | ❌ failed |"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("| bbb | build | ⏭️ skipped (`aaa:build` failed) |"),
        "{}",
        rows[1]
    );
    assert!(md.contains("- **ccc**: selected by `--all`"), "{md}");

    // The run appended the same Markdown to $GITHUB_STEP_SUMMARY, after what was there.
    let appended = std::fs::read_to_string(step.path()).unwrap();
    assert_eq!(appended, format!("earlier step\n{md}"));

    // `report` appends there too.
    let step2 = dir.path().join("step2.md");
    let again = repo
        .command(&["report", file.to_str().unwrap()])
        .env("GITHUB_STEP_SUMMARY", &step2)
        .output()
        .unwrap();
    assert_eq!(again.success().stdout_str(), md);
    assert_eq!(std::fs::read_to_string(&step2).unwrap(), md);
}

#[test]
fn report_percentage_is_rounded_from_the_totals() {
    let repo = chain();
    repo.run(&["run", "build", "--service", "core", "other"])
        .success();
    // lib:build runs; core:build (needed) and other:build come from the cache: 2 of 3.
    let (out, s) = repo.run_summary(&["build", "--service", "lib", "other"]);
    out.success();
    assert_eq!(s["totals"]["cached"], 2);
    assert_eq!(s["totals"]["tasks"], 3);
    assert!(
        out.stdout_str()
            .contains("✓ 3 tasks: 1 ran, 2 from cache (67%), 0 failed, 0 skipped"),
        "{}",
        out.stdout_str()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    std::fs::write(&file, serde_json::to_string(&s).unwrap()).unwrap();
    let md = repo
        .run(&["report", file.to_str().unwrap()])
        .success()
        .stdout_str();
    assert!(md.contains("**2 of 3 tasks from cache (67%), "), "{md}");
    assert!(
        md.contains(" · 1 ran · 0 failed · 0 skipped · took "),
        "{md}"
    );
    assert!(!md.contains("### ❌ Failed"));
}

#[test]
fn report_of_a_non_summary_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.json");
    std::fs::write(&file, "{\"schema\": 1}").unwrap();
    let out = shockwave().arg("report").arg(&file).output().unwrap();
    out.expect_code(2);
    assert!(out.stderr_str().contains("is not a shockwave run summary"));
}

/// A summary whose reasons or fingerprints hold a value of the wrong type (edited by hand) is
/// refused, naming the file and where the value is, rather than reported as if it said nothing.
#[test]
fn report_of_a_summary_with_a_mistyped_field_names_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let task = r#"{"task": "a:build", "service": "a", "target": "build", "status": "success",
        "hash": "", "duration_ms": 1, "saved_ms": 0, "requested": true, "cache": "miss",
        "reasons": [{"kind": "file", "path": 7}]}"#;
    let doc = format!(
        r#"{{"schema": 1, "shockwave": "0", "targets": ["build"], "selection": "all",
        "base": null, "head": null, "merge_base": null, "duration_ms": 1, "interrupted": false,
        "totals": {{"tasks": 1, "success": 1, "cached": 0, "failed": 0, "skipped": 0,
        "saved_ms": 0}}, "tasks": [{task}]}}"#
    );
    std::fs::write(&file, &doc).unwrap();
    let out = shockwave().arg("report").arg(&file).output().unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(&format!(
            "{} is not a shockwave run summary (invalid type: integer `7`, expected a string at line 6 column",
            file.display()
        )),
        "{}",
        out.stderr_str()
    );
    // With the value fixed, the same summary is reported.
    std::fs::write(&file, doc.replace(r#""path": 7"#, r#""path": "a/x.go""#)).unwrap();
    let out = shockwave().arg("report").arg(&file).output().unwrap();
    assert!(
        out.success()
            .stdout_str()
            .contains("- **a**: changed `a/x.go`"),
        "{}",
        out.stdout_str()
    );
}

/// Likewise for `hash --diff`: a fingerprint field of the wrong type is a usage error naming the
/// file and the position, not a difference between two values.
#[test]
fn hash_diff_of_a_mistyped_fingerprint_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(
        &a,
        r#"{"tasks": [{"task": "x:build", "hash": "1", "fingerprint": {"version": 3}}]}"#,
    )
    .unwrap();
    std::fs::write(
        &b,
        r#"{"tasks": [{"task": "x:build", "hash": "2", "fingerprint": {"version": "3"}}]}"#,
    )
    .unwrap();
    let out = shockwave()
        .args(["hash", "--diff"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(&format!(
            "{} is not a `shockwave hash --json` output or run summary: invalid type: string \"3\", expected u32 at line 1 column",
            b.display()
        )),
        "{}",
        out.stderr_str()
    );
}

// ---------------------------------------------------------------------------------------------
// Dry run.

#[test]
fn dry_run_runs_nothing_and_shows_hits_and_misses() {
    let repo = chain();
    repo.run(&["run", "build", "--service", "lib"]).success();
    repo.remove("svc/lib/bin").remove("svc/core/bin");
    let hashes = repo.task_hashes(&["build"]);
    let out = repo.run(&["run", "build", "--all", "--dry-run"]);
    out.success();
    let short = |t: &str| hashes[t][..16].to_string();
    assert_eq!(
        out.lines(),
        vec![
            "plan: 4 tasks for 4 selected services (all), 2 cached".to_string(),
            format!("  core:build   {}  cache hit", short("core:build")),
            format!("  lib:build    {}  cache hit", short("lib:build")),
            format!("  app:build    {}  will run", short("app:build")),
            format!("  other:build  {}  will run", short("other:build")),
        ]
    );
    for s in ["core", "lib", "app", "other"] {
        assert!(
            !repo.abs(format!("svc/{s}/bin")).exists(),
            "{s} ran or restored"
        );
    }
}

#[test]
fn dry_run_json_schema() {
    let repo = chain();
    repo.run(&["run", "build", "--service", "core"]).success();
    let plan = repo
        .run(&["run", "test", "--service", "app", "--dry-run=json"])
        .success()
        .json();
    let keys: BTreeSet<&str> = plan
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["schema", "targets", "selection", "tasks"])
    );
    assert_eq!(plan["schema"], 1);
    assert_eq!(plan["selection"], "services");
    let tasks = plan["tasks"].as_array().unwrap();
    let order: Vec<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap()).collect();
    assert_eq!(order, ["core:build", "lib:build", "app:build", "app:test"]);
    for t in tasks {
        let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "task",
                "service",
                "target",
                "hash",
                "cache",
                "command",
                "needs",
                "requested",
                "needed_by",
                "reasons"
            ])
        );
    }
    let hashes = repo.task_hashes(&["test"]);
    assert_eq!(tasks[0]["hash"], hashes["core:build"]);
    assert_eq!(tasks[0]["cache"], "hit");
    assert_eq!(tasks[1]["cache"], "miss");
    assert_eq!(tasks[3]["needs"], serde_json::json!(["app:build"]));
    assert_eq!(tasks[3]["requested"], true);
    assert_eq!(tasks[3]["needed_by"], Value::Null);
    assert_eq!(tasks[0]["needed_by"], "app:test");
    assert_eq!(tasks[0]["service"], "core");
    assert_eq!(tasks[0]["target"], "build");
    assert_eq!(
        tasks[3]["command"],
        "test -x bin/out && echo tested $SHOCKWAVE_SERVICE"
    );
    // --no-cache shows `off`.
    let plan = repo
        .run(&[
            "run",
            "build",
            "--service",
            "core",
            "--dry-run=json",
            "--no-cache",
        ])
        .success()
        .json();
    assert_eq!(plan["tasks"][0]["cache"], "off");
}

#[test]
fn nothing_affected_runs_nothing_and_succeeds() {
    let repo = chain();
    repo.write("README.txt", "not in any service\n");
    repo.commit("docs");
    let (out, s) = repo.run_summary(&["build", "--base", "HEAD~1"]);
    out.success();
    assert_eq!(s["tasks"], serde_json::json!([]));
    assert_eq!(s["totals"]["tasks"], 0);
    assert!(
        out.stdout_str()
            .contains("✓ 0 tasks: 0 ran, 0 from cache (0%), 0 failed, 0 skipped"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_target_a_service_lacks_passes_through_to_its_dependencies() {
    // `lib` defines no build: app:build needs acore:build directly, and acore:build keeps its
    // own needs (acore:gen) — acore's `needs` are not carried over to lib.
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[services.app]
deps = ["lib"]
[services.app.targets.build]
command = "echo app"
needs = ["^build"]
[services.lib]
deps = ["acore"]
[services.acore.targets.build]
command = "echo acore"
needs = ["gen"]
[services.acore.targets.gen]
command = "echo gen"
"#,
    );
    for s in ["app", "lib", "acore"] {
        repo.write(format!("svc/{s}/x"), s);
    }
    repo.commit("init");
    let plan = repo
        .run(&["run", "build", "--service", "app", "--dry-run=json"])
        .success()
        .json();
    let tasks: Vec<(String, Value)> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap().to_string(), t["needs"].clone()))
        .collect();
    assert_eq!(
        tasks,
        vec![
            ("acore:gen".to_string(), serde_json::json!([])),
            ("acore:build".to_string(), serde_json::json!(["acore:gen"])),
            ("app:build".to_string(), serde_json::json!(["acore:build"])),
        ]
    );
}

#[test]
fn needs_pull_in_builds_of_unaffected_dependencies() {
    let repo = chain();
    repo.run(&["run", "build", "--all"]).success();
    repo.write("svc/app/app.txt", "app v2\n");
    repo.commit("app v2");
    let plan = repo
        .run(&["run", "test", "--base", "HEAD~1", "--dry-run=json"])
        .success()
        .json();
    assert_eq!(plan["selection"], "affected");
    let tasks: BTreeMap<String, Value> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap().to_string(), t.clone()))
        .collect();
    assert_eq!(
        tasks.keys().cloned().collect::<BTreeSet<_>>(),
        set(&["core:build", "lib:build", "app:build", "app:test"])
    );
    for dep in ["core:build", "lib:build"] {
        assert_eq!(tasks[dep]["needed_by"], "app:test", "{dep}");
        assert_eq!(tasks[dep]["requested"], false, "{dep}");
        assert_eq!(tasks[dep]["reasons"], serde_json::json!([]), "{dep}");
        assert_eq!(tasks[dep]["cache"], "hit", "{dep}");
    }
    assert_eq!(tasks["app:build"]["cache"], "miss");
    assert_eq!(tasks["app:test"]["requested"], true);
    assert_eq!(
        tasks["app:test"]["reasons"],
        serde_json::json!([{"kind": "file", "path": "svc/app/app.txt"}])
    );

    // The real run agrees, and records the range.
    let (out, s) = repo.run_summary(&["test", "--base", "HEAD~1"]);
    out.success();
    assert_eq!(s["selection"], "affected");
    assert_eq!(s["base"], "HEAD~1");
    assert_eq!(s["merge_base"], repo.rev("HEAD~1"));
    assert_eq!(s.task("lib:build")["needed_by"], "app:test");
    assert_eq!(s.with_status("success"), set(&["app:build", "app:test"]));
    assert_eq!(
        s.with_status("cached-local"),
        set(&["core:build", "lib:build"])
    );
}

// ---------------------------------------------------------------------------------------------
// hash

#[test]
fn hash_explain_lists_every_input_file() {
    let repo = chain();
    repo.write("svc/core/extra.txt", "untracked\n");
    let out = repo.run(&["hash", "build", "--service", "core", "--explain"]);
    out.success();
    let lines = out.lines();
    let hashes = repo.task_hashes(&["build"]);
    assert_eq!(lines[0], format!("core:build  {}", hashes["core:build"]));
    let blob = |p: &str| repo.git(&["hash-object", p])[..12].to_string();
    for p in ["svc/core/core.txt", "svc/core/extra.txt"] {
        let line = format!("    100644 {} {p}", blob(p));
        assert!(
            lines.contains(&line),
            "missing {line:?} in\n{}",
            out.stdout_str()
        );
    }
    assert!(
        lines.contains(&"  files     2".to_string()),
        "{}",
        out.stdout_str()
    );
    assert!(lines.contains(&"  env       CHAIN_FLAG=(unset)".to_string()));
    assert!(lines.contains(&"  outputs   bin/**".to_string()));
    assert!(lines.contains(&"  root      svc/core".to_string()));
}

#[test]
fn hash_diff_names_the_changed_file_and_env_var() {
    let repo = chain();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let old_blob = repo.git(&["hash-object", "svc/core/core.txt"]);
    let out = repo.run(&["hash", "build", "--all", "--json"]);
    std::fs::write(&a, &out.success().stdout).unwrap();
    repo.write("svc/core/core.txt", "core v2\n");
    let new_blob = repo.git(&["hash-object", "svc/core/core.txt"]);
    let out = repo
        .command(&["hash", "build", "--all", "--json"])
        .env("CHAIN_FLAG", "on")
        .output()
        .unwrap();
    std::fs::write(&b, &out.success().stdout).unwrap();
    let diff = repo.run(&["hash", "--diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    diff.success();
    let text = diff.stdout_str();
    let lines = diff.lines();
    let block = |label: &str| -> Vec<String> {
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("{label}: ")))
            .unwrap_or_else(|| panic!("no {label} in\n{text}"));
        lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with("  "))
            .cloned()
            .collect()
    };
    assert_eq!(
        block("core:build"),
        vec![
            "  env CHAIN_FLAG: (unset) → set (value hidden)".to_string(),
            format!(
                "  file changed: svc/core/core.txt ({} → {})",
                &old_blob[..7],
                &new_blob[..7]
            ),
        ]
    );
    assert_eq!(
        block("lib:build"),
        vec![
            "  env CHAIN_FLAG: (unset) → set (value hidden)".to_string(),
            "  needed task core:build changed hash (see its own entry)".to_string(),
        ]
    );
    assert_eq!(lines.last().unwrap(), "0 tasks with identical hashes");

    // Identical listings say so.
    let same = repo.run(&["hash", "--diff", b.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(
        same.success().stdout_str(),
        "4 tasks with identical hashes\n"
    );

    // An exec-bit change shows the modes; run summaries work as inputs too.
    let (out, before) = repo.run_summary(&["build", "--service", "other", "--no-cache"]);
    out.success();
    repo.chmod_exec("svc/other/other.txt", true);
    let (out, after) = repo.run_summary(&["build", "--service", "other", "--no-cache"]);
    out.success();
    std::fs::write(&a, before.to_string()).unwrap();
    std::fs::write(&b, after.to_string()).unwrap();
    let diff = repo.run(&["hash", "--diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let blob = &repo.git(&["hash-object", "svc/other/other.txt"])[..7];
    assert_eq!(
        diff.success().stdout_str(),
        format!(
            "other:build: {} → {}\n  file changed: svc/other/other.txt (100644 {blob} → 100755 {blob})\n0 tasks with identical hashes\n",
            &before.task("other:build")["hash"].as_str().unwrap()[..16],
            &after.task("other:build")["hash"].as_str().unwrap()[..16],
        )
    );
}

#[test]
fn hash_diff_of_a_non_json_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.txt"));
    std::fs::write(&a, "{\"schema\": 1, \"tasks\": []}").unwrap();
    std::fs::write(&b, "this is not json\n").unwrap();
    let out = shockwave()
        .args(["hash", "--diff"])
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("is not a `shockwave hash --json` output or run summary"),
        "{}",
        out.stderr_str()
    );
    let missing = shockwave()
        .args(["hash", "--diff"])
        .arg(&a)
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    missing.expect_code(2);
}

// ---------------------------------------------------------------------------------------------
// Task graph and selection errors.

#[test]
fn needs_cycle_is_a_usage_error_naming_the_cycle() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.a]\ncommand = \"true\"\nneeds = [\"b\"]\n[targets.b]\ncommand = \"true\"\nneeds = [\"a\"]\n",
    );
    repo.write("svc/one/x", "1");
    repo.commit("init");
    let out = repo.run(&["run", "a", "--all"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(err.contains("one:a → one:b → one:a"), "{err}");
    assert_eq!(out.stdout_str(), "");
    let out = repo.run(&["hash", "b", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("one:b → one:a → one:b"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn unknown_target_is_a_usage_error_with_a_suggestion() {
    let repo = chain();
    let out = repo.run(&["run", "nosuchtarget", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("no target named `nosuchtarget`"),
        "{}",
        out.stderr_str()
    );
    assert!(out.stderr_str().contains("defined targets: build, test"));
    let out = repo.run(&["run", "tset", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("did you mean `test`?"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn run_without_a_selection_or_base_is_a_usage_error() {
    let repo = chain();
    let out = repo.run(&["run", "build"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("nothing selected"),
        "{}",
        out.stderr_str()
    );
    assert!(common::entry_names(&repo.cache_dir()).is_empty());
}

#[test]
fn unknown_service_is_a_usage_error() {
    let repo = chain();
    let out = repo.run(&["run", "build", "--service", "nope"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("no service named `nope`"),
        "{}",
        out.stderr_str()
    );
    let out = repo.run(&["run", "build", "--service", "lbi"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("did you mean `lib`?"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn a_missing_base_revision_is_a_git_error() {
    let repo = chain();
    let out = repo.run(&["run", "build", "--base", "no-such-branch"]);
    out.expect_code(3);
}

// ---------------------------------------------------------------------------------------------
// Output: GitHub groups and streaming.

#[test]
fn github_actions_wraps_each_log_in_a_group() {
    let repo = chain();
    let out = repo
        .command(&["run", "build", "--service", "core", "other", "-j", "1"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    out.success();
    let lines = out.lines();
    for s in ["core", "other"] {
        let open = lines
            .iter()
            .position(|l| l.starts_with(&format!("::group::{s}:build (ran in ")))
            .unwrap_or_else(|| panic!("no group for {s} in\n{}", out.stdout_str()));
        assert_eq!(lines[open + 1], format!("built {s}"));
        assert_eq!(lines[open + 2], "::endgroup::");
    }
    // Cache hits are grouped too, with the replayed log.
    let out = repo
        .command(&["run", "build", "--service", "core"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    out.success();
    let lines = out.lines();
    assert!(
        lines[0].starts_with("::group::core:build (cached, replaying log (saved "),
        "{lines:?}"
    );
    assert_eq!(lines[1], "built core");
    assert_eq!(lines[2], "::endgroup::");
}

#[test]
fn github_actions_marks_failures_as_errors() {
    let repo = failing();
    let out = repo
        .command(&["run", "build", "--service", "aaa"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    out.expect_code(1);
    let lines = out.lines();
    // The start line stays outside the group, so a long task shows in the log as it starts.
    assert_eq!(lines[0], "started: aaa:build");
    assert!(lines[1].starts_with("::group::aaa:build (failed with exit code 3 after "));
    let end = lines.iter().position(|l| l == "::endgroup::").unwrap();
    assert_eq!(lines[end - 1], "boom");
    assert!(lines[end + 1].starts_with("::error title=aaa:build failed::failed with exit code 3"));
}

#[test]
fn stream_prefixes_every_line_with_the_task() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"echo one; echo two >&2; printf three\"\n",
    );
    repo.write("svc/a/x", "1");
    repo.commit("init");
    let out = repo.run(&["run", "build", "--all", "--stream"]);
    out.success();
    let lines = out.lines();
    let prefixed: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("a:build | "))
        .collect();
    assert_eq!(
        prefixed,
        ["a:build | one", "a:build | two", "a:build | three"]
    );
    assert!(
        lines.iter().any(|l| l.starts_with("a:build: ran in ")),
        "{lines:?}"
    );

    // A cache hit's replayed log carries the prefix too.
    let out = repo.run(&["run", "build", "--all", "--stream"]);
    out.success();
    let lines = out.lines();
    assert!(
        lines[0].starts_with("a:build: cached, replaying log only (no outputs declared; saved "),
        "{lines:?}"
    );
    assert_eq!(
        lines[1..4],
        ["a:build | one", "a:build | two", "a:build | three"]
    );
}

#[test]
fn commands_run_in_the_service_root_with_shockwave_variables() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"pwd; echo $SHOCKWAVE_SERVICE $SHOCKWAVE_TARGET $SHOCKWAVE_HASH $FROM_CALLER\"\n",
    );
    repo.write("svc/a/x", "1");
    repo.commit("init");
    let mut cmd = repo.command(&["run", "build", "--all"]);
    cmd.env("FROM_CALLER", "inherited");
    let (out, s) = with_summary(cmd);
    out.success();
    let hash = s.task("a:build")["hash"].as_str().unwrap().to_string();
    let lines = out.lines();
    let at = lines
        .iter()
        .position(|l| l.starts_with("==> a:build ran in "))
        .unwrap();
    assert_eq!(lines[at + 1], repo.abs("svc/a").display().to_string());
    assert_eq!(lines[at + 2], format!("a build {hash} inherited"));
}

// ---------------------------------------------------------------------------------------------
// Cache directory placement (more in tests/cache.rs).

#[test]
fn cache_dir_flag_and_env_move_the_cache() {
    let repo = chain();
    let elsewhere = tempfile::tempdir().unwrap();
    let flag_dir: PathBuf = elsewhere.path().join("by-flag");
    let env_dir: PathBuf = elsewhere.path().join("by-env");
    let hash = repo.task_hashes(&["build"])["core:build"].clone();

    repo.run(&[
        "run",
        "build",
        "--service",
        "core",
        "--cache-dir",
        flag_dir.to_str().unwrap(),
    ])
    .success();
    assert!(flag_dir.join(&hash).join("meta.json").is_file());
    // `task_hashes` above kept only the parsed config in the default directory.
    assert!(common::entry_names(&repo.cache_dir()).is_empty());

    let out = repo
        .command(&["run", "build", "--service", "core"])
        .env("SHOCKWAVE_CACHE_DIR", &env_dir)
        .output()
        .unwrap();
    out.success();
    assert!(env_dir.join(&hash).join("meta.json").is_file());
    assert!(common::entry_names(&repo.cache_dir()).is_empty());

    // A hit through the flag, a miss in the default location.
    let (_, s) = repo.run_summary(&[
        "build",
        "--service",
        "core",
        "--cache-dir",
        flag_dir.to_str().unwrap(),
    ]);
    assert_eq!(s.task("core:build")["status"], "cached-local");
    let (_, s) = repo.run_summary(&["build", "--service", "core"]);
    assert_eq!(s.task("core:build")["status"], "success");
    assert!(repo.cache_dir().join(&hash).is_dir());
    // The cache writes its own .gitignore, so it never shows up as untracked.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

// ---------------------------------------------------------------------------------------------
// What the worktree scan must notice (regressions found in review).

/// One service `api` with a nested directory, `build` over every file.
fn nested() -> TestRepo {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"true\"\n")
        .write("svc/api/main.txt", "main\n")
        .write("svc/api/pkg/p.txt", "p\n")
        .write("svc/api/pkg/deep/d.txt", "d\n");
    repo.commit("init");
    repo
}

#[test]
fn deleting_a_tracked_directory_changes_the_hash() {
    let repo = nested();
    let before = repo.task_hashes(&["build"])["api:build"].clone();
    repo.remove("svc/api/pkg");
    let after = repo.task_hashes(&["build"])["api:build"].clone();
    assert_ne!(before, after, "a deleted directory must change the inputs");
    let explain = repo.run(&["hash", "build", "--all", "--explain"]);
    let text = explain.success().stdout_str();
    assert!(
        text.contains("svc/api/main.txt") && !text.contains("pkg/"),
        "{text}"
    );
    // The directory replaced by a file of the same name is a change too.
    repo.write("svc/api/pkg", "now a file\n");
    let replaced = repo.task_hashes(&["build"])["api:build"].clone();
    assert_ne!(replaced, before);
    assert_ne!(replaced, after);
}

#[test]
fn staging_a_new_file_does_not_change_the_hash() {
    let repo = nested();
    repo.write("svc/api/a_new.txt", "new\n");
    let untracked = repo.task_hashes(&["build"])["api:build"].clone();
    repo.git(&["add", "svc/api/a_new.txt"]);
    let staged = repo.task_hashes(&["build"])["api:build"].clone();
    assert_eq!(
        untracked, staged,
        "the same content must hash the same, tracked or not"
    );
}

#[test]
fn exec_bit_counts_unless_core_filemode_is_false() {
    let repo = nested();
    let before = repo.task_hashes(&["build"])["api:build"].clone();
    repo.chmod_exec("svc/api/main.txt", true);
    let with_mode = repo.task_hashes(&["build"])["api:build"].clone();
    assert_ne!(before, with_mode);
    repo.git(&["config", "core.fileMode", "false"]);
    let ignored = repo.task_hashes(&["build"])["api:build"].clone();
    assert_eq!(
        before, ignored,
        "git ignores the exec bit here, so must the hash"
    );
}

#[test]
fn a_submodule_checked_out_at_another_commit_changes_the_hash() {
    let sub = TestRepo::new();
    sub.write("lib.c", "int x = 1;\n");
    sub.commit("sub 1");
    sub.write("lib.c", "int x = 2;\n");
    sub.commit("sub 2");
    let repo = nested();
    let url = sub.path().display().to_string();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "svc/api/vendor",
    ]);
    repo.commit("add submodule");
    let before = repo.task_hashes(&["build"])["api:build"].clone();
    let inside = repo.abs("svc/api/vendor");
    let checkout = |rev: &str| {
        let out = repo
            .git_cmd(&["checkout", "-q", rev])
            .current_dir(&inside)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    checkout("HEAD~1");
    let moved = repo.task_hashes(&["build"])["api:build"].clone();
    assert_ne!(
        before, moved,
        "the submodule's checked-out commit is an input"
    );
    checkout("-");
    assert_eq!(repo.task_hashes(&["build"])["api:build"], before);
}

#[test]
fn non_ascii_text_in_user_json_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, r#"{"tasks":[{"task":"x:build","hash":"aaaaaaaaaaaaaaaéé","fingerprint":{"files":{"f":"100644 ééééééééé"}}}]}"#).unwrap();
    std::fs::write(&b, r#"{"tasks":[{"task":"x:build","hash":"bbbbbbbbbbbbbbbbb","fingerprint":{"files":{"f":"100644 b"}}}]}"#).unwrap();
    let out = shockwave()
        .arg("hash")
        .arg("--diff")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    out.success();
    assert!(
        out.stdout_str().contains("x:build: aaaaaaaaaaaaaaaé → "),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_background_process_holding_the_output_does_not_hold_the_task() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.serve]\ncommand = \"(sleep 4; echo late) & echo started\"\ncache = false\n",
    )
    .write("svc/a/x", "x");
    repo.commit("init");
    let start = Instant::now();
    let out = repo.run(&["run", "serve", "--all"]);
    out.success();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    let text = out.stdout_str();
    assert!(text.contains("started"), "{text}");
    assert!(
        text.contains("a background process started by this command still holds it open"),
        "{text}"
    );
    assert!(!text.contains("late"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Outputs never silently missing: what a task wrote that a cache hit would not restore.

/// One service `web`; `.gitignore` ignores `dist/`, `coverage/` and `*.tsbuildinfo`.
fn web(config: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.config(config)
        .write(".gitignore", "dist/\ncoverage/\n*.tsbuildinfo\n")
        .write("svc/web/src.txt", "v1\n")
        .write("svc/web/committed.txt", "v1\n");
    repo.commit("init");
    repo
}

/// A command written without `outputs` is cached, and the folders it wrote are named once, with
/// the glob to add; a hit says it replayed the log only, in the terminal, the summary and the
/// report.
#[test]
fn a_target_without_outputs_names_what_a_hit_will_not_restore() {
    let repo = web(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"mkdir -p dist/js && for i in 1 2 3; do echo $i > dist/js/$i.js; done && echo x > app.tsbuildinfo\"\n",
    );
    let (out, summary) = repo.run_summary(&["build", "--all"]);
    out.success();
    assert_eq!(
        out.stderr_str(),
        "warning: web:build wrote app.tsbuildinfo, dist/ (3 files) but declares no outputs; a cache hit will not restore them: add outputs = [\"app.tsbuildinfo\", \"dist/**\"] to [targets.build] in pipeline.toml\n"
    );
    let record = &summary.task("web:build")["undeclared_outputs"];
    assert_eq!(record["files"], 4);
    assert_eq!(record["cached"], true);
    assert_eq!(record["folders"][1]["glob"], "dist/**");

    repo.remove("svc/web/dist");
    let (out, summary) = repo.run_summary(&["build", "--all"]);
    out.success();
    assert_eq!(
        out.stderr_str(),
        "",
        "a hit writes nothing, so says nothing of it"
    );
    assert!(
        out.stdout_str()
            .contains("web:build cached, replaying log only (no outputs declared; saved "),
        "{}",
        out.stdout_str()
    );
    assert!(
        out.stdout_str().contains("1 from cache (100%, 1 log only)"),
        "{}",
        out.stdout_str()
    );
    assert!(!repo.abs("svc/web/dist").exists(), "nothing was restored");
    assert_eq!(summary.task("web:build")["restored"], "log_only");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    std::fs::write(&file, summary.to_string()).unwrap();
    let md = shockwave().arg("report").arg(&file).output().unwrap();
    md.success();
    assert!(
        md.stdout_str()
            .contains("| web | build | ⚡ cached (log only) |"),
        "{}",
        md.stdout_str()
    );
}

/// Declared outputs that miss some of what the task wrote: the files they do not cover are
/// named, the rest is cached and restored.
#[test]
fn declared_outputs_that_miss_files_name_them() {
    let repo = web(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"mkdir -p dist/js dist/types && echo a > dist/js/a.js && echo t > dist/types/a.d.ts\"\noutputs = [\"dist/js/**\"]\n",
    );
    let (out, summary) = repo.run_summary(&["build", "--all"]);
    out.success();
    assert_eq!(
        out.stderr_str(),
        "warning: web:build wrote 1 file its outputs do not cover (dist/types/a.d.ts); a cache hit will not restore them: add \"dist/**\" to the outputs of [targets.build]\n"
    );
    assert_eq!(
        summary.task("web:build")["undeclared_outputs"]["first"],
        serde_json::json!(["dist/types/a.d.ts"])
    );
    repo.remove("svc/web/dist");
    let (out, summary) = repo.run_summary(&["build", "--all"]);
    out.success();
    assert_eq!(summary.task("web:build")["restored"], "outputs_and_log");
    assert_eq!(repo.read("svc/web/dist/js/a.js"), "a\n");
    assert!(!repo.abs("svc/web/dist/types").exists());
}

/// What is not reported: tracked files a task changed (sources, which git shows), files inside
/// another service's root below this one, and a task whose outputs cover all it wrote.
#[test]
fn tracked_files_nested_services_and_covered_outputs_are_not_reported() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[services.inner]\nroot = \"svc/web/inner\"\n[targets.build]\ncommand = \"if [ -f committed.txt ]; then echo v2 > committed.txt; fi; if [ -d inner ]; then echo x > inner/gen.txt; fi; mkdir -p dist && echo x > dist/a.js\"\noutputs = [\"dist/**\"]\n",
    )
    .write(".gitignore", "dist/\ngen.txt\n")
    .write("svc/web/committed.txt", "v1\n")
    .write("svc/web/inner/x.txt", "1\n");
    repo.commit("init");
    let (out, summary) = repo.run_summary(&["build", "--all", "-j", "1"]);
    out.success();
    assert_eq!(out.stderr_str(), "");
    assert!(summary
        .task("web:build")
        .get("undeclared_outputs")
        .is_none());
}

/// Files a task wrote that git ignores are never changes: `--uncommitted` sees none of them.
#[test]
fn ignored_files_a_task_wrote_are_no_uncommitted_changes() {
    let repo = web(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"mkdir -p dist coverage && echo x > dist/a.js && echo y > coverage/lcov.info && echo z > app.tsbuildinfo\"\n[targets.test]\ncommand = \"true\"\n",
    );
    repo.run(&["run", "build", "--all"]).success();
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json["changed_files"], serde_json::json!([]));
    assert_eq!(json["affected"], serde_json::json!([]));
    let out = repo.run(&["run", "test", "--uncommitted"]);
    out.success();
    assert!(out.stdout_str().contains("0 tasks"), "{}", out.stdout_str());
}
