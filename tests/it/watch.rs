//! `shockwave watch` through the real binary, with real file edits in temporary repositories: the
//! first round, a save that reruns a library and its dependents only, a save that reruns nothing,
//! a save during a round, a dev server restarted on its inputs, a config error while watching,
//! and Ctrl-C leaving no process behind.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestRepo;

/// How long any one expected thing may take to happen.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `shockwave watch` whose output is collected as it comes.
struct Watch {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Watch {
    fn start(repo: &TestRepo, args: &[&str]) -> Watch {
        let mut all = vec!["watch", "--debounce", "50"];
        all.extend_from_slice(args);
        let mut child = repo
            .command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start watch");
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Watch { child, out }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until the output holds `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) {
        let start = Instant::now();
        while self.output().matches(text).count() < times {
            assert!(
                start.elapsed() < PATIENCE,
                "waited for {times}× `{text}`; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGINT and waits for the exit code.
    fn interrupt(mut self) -> (i32, String) {
        unsafe_kill(self.child.id() as i32, libc::SIGINT);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code().unwrap_or(-1), self.output());
            }
            assert!(
                start.elapsed() < PATIENCE,
                "watch did not stop:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) on a child we started; no memory is involved.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Lines a task appended to `log` so far.
fn runs(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until `log` has `n` lines.
fn wait_lines(log: &Path, n: usize, watch: &Watch) -> Vec<String> {
    let start = Instant::now();
    loop {
        let lines = runs(log);
        if lines.len() >= n {
            return lines;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "waited for {n} runs in {}, have {lines:?}; output:\n{}",
            log.display(),
            watch.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Services `lib`, `app` (needs lib) and `other`; each build appends its name to a log outside
/// the repository.
fn repo_with_log() -> (TestRepo, tempfile::TempDir, PathBuf) {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("runs");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"echo $SHOCKWAVE_SERVICE >> {log}\"\nneeds = [\"^build\"]\n\n[services.app]\ndeps = [\"lib\"]\n",
        log = log.display()
    ))
    .write("services/lib/lib.txt", "1\n")
    .write("services/app/app.txt", "1\n")
    .write("services/other/other.txt", "1\n");
    repo.commit("three services");
    (repo, logs, log)
}

#[test]
fn a_save_reruns_exactly_what_it_affects() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["build", "--all"]);
    let first = wait_lines(&log, 3, &watch);
    let at = |name: &str| first.iter().position(|l| l == name).unwrap();
    assert!(at("lib") < at("app"), "lib is built before app: {first:?}");
    watch.wait_for("waiting for changes", 1);

    repo.write("services/lib/lib.txt", "2\n");
    let after = wait_lines(&log, 5, &watch);
    assert_eq!(&after[3..], ["lib", "app"], "lib and its dependent only");
    watch.wait_for("waiting for changes", 2);

    // Not an input of any task: nothing runs.
    repo.write("notes.md", "hello\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(runs(&log).len(), 5, "{}", watch.output());

    // Back to content already built: a cache hit, no command runs.
    repo.write("services/lib/lib.txt", "1\n");
    watch.wait_for("from cache", 2);
    assert_eq!(runs(&log).len(), 5);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_save_during_a_round_starts_the_next_one() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("runs");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"cat slow.txt >> {log}; sleep 1\"\n",
        log = log.display()
    ))
    .write("services/slow/slow.txt", "v1\n");
    repo.commit("one slow service");
    let watch = Watch::start(&repo, &["build", "--all"]);
    wait_lines(&log, 1, &watch);
    // Written while the first run still sleeps: the task read v1, so it runs again.
    repo.write("services/slow/slow.txt", "v2\n");
    let lines = wait_lines(&log, 2, &watch);
    assert_eq!(lines, ["v1", "v2"]);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_dev_server_restarts_when_its_inputs_change_and_ctrl_c_stops_it() {
    let logs = tempfile::tempdir().unwrap();
    let starts = logs.path().join("starts");
    let pids = logs.path().join("pids");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"true\"\n\n[targets.dev]\ncommand = \"echo start >> {starts}; sleep 300 & echo $! >> {pids}; wait\"\nneeds = [\"build\"]\npersistent = true\n",
        starts = starts.display(),
        pids = pids.display()
    ))
    .write("services/web/index.txt", "1\n")
    .write("services/api/api.txt", "1\n");
    repo.commit("a web service");
    let watch = Watch::start(&repo, &["dev", "--service", "web"]);
    watch.wait_for("started web:dev", 1);
    wait_lines(&starts, 1, &watch);

    // Another service's file: the server keeps running.
    repo.write("services/api/api.txt", "2\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(runs(&starts).len(), 1, "{}", watch.output());

    repo.write("services/web/index.txt", "2\n");
    watch.wait_for("restarted web:dev", 1);
    wait_lines(&starts, 2, &watch);
    let (code, out) = watch.interrupt();
    assert_eq!(code, 130, "{out}");
    // Every `sleep` the servers started is gone.
    for pid in runs(&pids) {
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "process {pid} outlived the watch");
    }
}

#[test]
fn a_config_error_while_watching_is_printed_and_the_watch_goes_on() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["build", "--all"]);
    wait_lines(&log, 3, &watch);
    let good = repo.read("pipeline.toml");
    repo.write("pipeline.toml", "[workspace\n");
    watch.wait_for("pipeline.toml:1:", 1);
    watch.wait_for("nothing runs until this is fixed", 1);
    repo.write("services/other/other.txt", "2\n");
    repo.write("pipeline.toml", &good);
    let lines = wait_lines(&log, 4, &watch);
    assert_eq!(lines[3], "other");
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_failed_task_is_retried_on_the_next_save() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("runs");
    let flag = logs.path().join("ok");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"echo run >> {log}; test -f {flag}\"\n",
        log = log.display(),
        flag = flag.display()
    ))
    .write("services/a/a.txt", "1\n")
    .write("services/b/b.txt", "1\n");
    repo.commit("two services");
    let watch = Watch::start(&repo, &["build", "--service", "a"]);
    wait_lines(&log, 1, &watch);
    watch.wait_for("1 failed", 1);
    // Whatever made it fail is fixed outside the repository; a save elsewhere retries it.
    std::fs::write(&flag, "").unwrap();
    repo.write("services/b/b.txt", "2\n");
    wait_lines(&log, 2, &watch);
    watch.wait_for("0 failed", 1);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn polling_sees_the_same_saves() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["build", "--service", "other", "--poll"]);
    wait_lines(&log, 1, &watch);
    watch.wait_for("through polling", 1);
    repo.write("services/other/other.txt", "2\n");
    assert_eq!(wait_lines(&log, 2, &watch), ["other", "other"]);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

/// How many rounds a `-v` watch has started.
fn rounds(watch: &Watch) -> usize {
    watch.output().matches("debug: round: ").count()
}

#[test]
fn what_tasks_write_where_git_ignores_it_starts_no_round() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("runs");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"mkdir -p out/deep && echo built > out/deep/bin && echo done >> build.log && echo $SHOCKWAVE_SERVICE >> {log}\"\noutputs = [\"out/**\"]\n",
        log = log.display()
    ))
    .write(".gitignore", "out/\n*.log\n")
    .write("services/a/a.txt", "1\n");
    repo.commit("a service whose build writes ignored files");
    let watch = Watch::start(&repo, &["-v", "build", "--all"]);
    wait_lines(&log, 1, &watch);
    watch.wait_for("waiting for changes", 1);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(rounds(&watch), 1, "{}", watch.output());

    // Ignored files written by hand start nothing either.
    repo.write("services/a/by-hand.log", "x\n");
    repo.write("services/a/out/deep/bin", "x\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(rounds(&watch), 1, "{}", watch.output());

    // A save does.
    repo.write("services/a/a.txt", "2\n");
    assert_eq!(wait_lines(&log, 2, &watch), ["a", "a"]);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_folder_made_between_two_saves_is_watched_with_everything_in_it() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["build", "--service", "other"]);
    wait_lines(&log, 1, &watch);
    watch.wait_for("waiting for changes", 1);
    // Made in one go: the folders below `new` exist before the watcher hears of `new`.
    std::fs::create_dir_all(repo.path().join("services/other/new/deeper")).unwrap();
    repo.write("services/other/new/deeper/a.txt", "1\n");
    assert_eq!(wait_lines(&log, 2, &watch), ["other", "other"]);
    watch.wait_for("waiting for changes", 2);
    // Its folders are watched now: a later save in the deepest one is seen.
    repo.write("services/other/new/deeper/a.txt", "2\n");
    assert_eq!(wait_lines(&log, 3, &watch).len(), 3);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_round_scans_only_where_the_watcher_saw_changes_and_what_differed_before() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["-v", "build", "--all"]);
    wait_lines(&log, 3, &watch);
    watch.wait_for("waiting for changes", 1);
    assert!(
        watch
            .output()
            .contains("watch: full scan: no scan finished"),
        "{}",
        watch.output()
    );

    repo.write("services/lib/lib.txt", "2\n");
    assert_eq!(&wait_lines(&log, 5, &watch)[3..], ["lib", "app"]);
    watch.wait_for("waiting for changes", 2);
    watch.wait_for(
        "watch: 1 paths changed since the last scan, 0 were changed or untracked then",
        1,
    );
    watch.wait_for("round: 2 of 3 tasks to run", 1);

    // No event names lib.txt now, but it still differs from the index: looked at again, so lib
    // keeps its hash and only other runs.
    repo.write("services/other/other.txt", "2\n");
    assert_eq!(wait_lines(&log, 6, &watch)[5], "other");
    watch.wait_for(
        "watch: 1 paths changed since the last scan, 1 were changed or untracked then",
        1,
    );
    watch.wait_for("round: 1 of 3 tasks to run", 1);

    // The index rewritten behind the watcher's back (`.git` is not watched): a full scan.
    repo.git(&["add", "services/lib/lib.txt"]);
    repo.write("services/other/other.txt", "3\n");
    assert_eq!(wait_lines(&log, 7, &watch)[6], "other");
    watch.wait_for("watch: full scan: the index was rewritten", 1);
    watch.wait_for("round: 1 of 3 tasks to run", 2);
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_folder_moved_out_of_the_worktree_and_back_counts_as_deleted_then_restored() {
    let (repo, logs, log) = repo_with_log();
    repo.write("services/lib/deep/er/x.txt", "1\n");
    repo.commit("a nested folder in lib");
    let watch = Watch::start(&repo, &["build", "--all"]);
    wait_lines(&log, 3, &watch);
    watch.wait_for("waiting for changes", 1);
    // All the watcher hears is that `deep` went: its files are deleted all the same.
    let away = logs.path().join("deep");
    std::fs::rename(repo.path().join("services/lib/deep"), &away).unwrap();
    assert_eq!(&wait_lines(&log, 5, &watch)[3..], ["lib", "app"]);
    watch.wait_for("waiting for changes", 2);
    // Back as it was: the hashes of the first round, restored from the cache.
    std::fs::rename(&away, repo.path().join("services/lib/deep")).unwrap();
    watch.wait_for("from cache", 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(runs(&log).len(), 5, "{}", watch.output());
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

/// The `-v` line in which a round says how many tasks listed their files again.
fn listed_again(watch: &Watch) -> Vec<String> {
    watch
        .output()
        .lines()
        .filter_map(|l| l.split_once(" tasks in ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once(": ").map(|(_, what)| what.to_string()))
        .collect()
}

#[test]
fn a_round_hashes_again_only_the_tasks_whose_folders_changed() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["-v", "build", "--all"]);
    wait_lines(&log, 3, &watch);
    watch.wait_for("waiting for changes", 1);
    assert_eq!(
        listed_again(&watch),
        ["3 listed their files again, lockfiles read"]
    );

    // lib's files changed; app's hash changes through its need on lib, not through its files.
    repo.write("services/lib/lib.txt", "2\n");
    assert_eq!(&wait_lines(&log, 5, &watch)[3..], ["lib", "app"]);
    watch.wait_for("waiting for changes", 2);
    assert_eq!(
        listed_again(&watch)[1],
        "1 listed their files again, lockfiles kept"
    );

    // The target's definition changed: every task is hashed again, and runs.
    let config = repo.read("pipeline.toml");
    repo.write("pipeline.toml", config.replace(">> ", "| tr a-z a-z >> "));
    let lines = wait_lines(&log, 8, &watch);
    let mut last: Vec<&str> = lines[5..].iter().map(String::as_str).collect();
    last.sort_unstable();
    assert_eq!(last, ["app", "lib", "other"], "{}", watch.output());
    watch.wait_for("waiting for changes", 3);
    assert_eq!(
        listed_again(&watch)[2],
        "3 listed their files again, lockfiles kept"
    );
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_save_in_a_folder_a_service_lists_in_paths_reruns_it() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("runs");
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"echo $SHOCKWAVE_SERVICE >> {log}\"\n\n[services.api]\npaths = [\"proto/api/**\"]\n",
        log = log.display()
    ))
    .write("services/api/main.txt", "1\n")
    .write("services/web/main.txt", "1\n")
    .write("proto/api/api.proto", "1\n");
    repo.commit("api reads proto/api");
    let watch = Watch::start(&repo, &["build", "--all"]);
    wait_lines(&log, 2, &watch);
    watch.wait_for("waiting for changes", 1);
    repo.write("proto/api/api.proto", "2\n");
    assert_eq!(wait_lines(&log, 3, &watch)[2], "api");
    watch.wait_for("waiting for changes", 2);
    // A new folder there, made in one go, counts too.
    std::fs::create_dir_all(repo.path().join("proto/api/v2")).unwrap();
    repo.write("proto/api/v2/more.proto", "1\n");
    assert_eq!(wait_lines(&log, 4, &watch)[3], "api");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(runs(&log).len(), 4, "{}", watch.output());
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn saves_made_while_the_config_is_broken_are_not_lost() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["build", "--all"]);
    wait_lines(&log, 3, &watch);
    watch.wait_for("waiting for changes", 1);
    let good = repo.read("pipeline.toml");
    repo.write("pipeline.toml", "[workspace\n");
    watch.wait_for("nothing runs until this is fixed", 1);
    // A round of its own, which fails on the config as well.
    repo.write("services/other/other.txt", "2\n");
    watch.wait_for("nothing runs until this is fixed", 2);
    repo.write("pipeline.toml", &good);
    let lines = wait_lines(&log, 4, &watch);
    assert_eq!(lines[3], "other");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(runs(&log).len(), 4, "{}", watch.output());
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_round_reads_the_index_again_only_once_it_was_rewritten() {
    let (repo, _logs, log) = repo_with_log();
    let watch = Watch::start(&repo, &["-v", "build", "--all"]);
    wait_lines(&log, 3, &watch);
    watch.wait_for("waiting for changes", 1);
    let reads = |watch: &Watch| watch.output().matches("debug: read the index (").count();
    // Listing the folders to watch read it too.
    let first = reads(&watch);

    repo.write("services/other/other.txt", "2\n");
    assert_eq!(wait_lines(&log, 4, &watch)[3], "other");
    watch.wait_for("waiting for changes", 2);
    watch.wait_for("its file is as the last round read it", 1);
    assert_eq!(reads(&watch), first, "{}", watch.output());

    // `git rm --cached` rewrites the index: read again, and other.txt is untracked now.
    repo.git(&["rm", "-q", "--cached", "services/other/other.txt"]);
    repo.write("services/other/other.txt", "3\n");
    assert_eq!(wait_lines(&log, 5, &watch)[4], "other");
    watch.wait_for("waiting for changes", 3);
    assert_eq!(reads(&watch), first + 1, "{}", watch.output());
    let (code, _) = watch.interrupt();
    assert_eq!(code, 130);
}
