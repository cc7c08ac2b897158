//! `TestRepo`: a temporary git repository to run the real `shockwave` binary in.
//!
//! Test files use it with `mod common;`. The repository gets a repo-local identity, no signing and
//! fixed, increasing commit dates (so runs are reproducible), and every `git` or `shockwave` process
//! runs with an environment stripped of the variables that would make it look at another repository
//! or another configuration (`GIT_DIR` from a hook, the user's `~/.gitconfig`, `GITHUB_OUTPUT`, ...).
//!
//! The git CLI builds repositories and serves as an oracle here; the product never runs it.

#![allow(
    dead_code,
    reason = "every test crate uses a different subset of the harness"
)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

pub mod remote;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_shockwave");

/// Variables removed from every child process: they would point git at another repository, pull in
/// the developer's configuration, or switch shockwave into GitHub Actions mode.
const SCRUBBED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "GITHUB_OUTPUT",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    // A pull request's target branch, which chooses the base when none is given.
    "GITHUB_BASE_REF",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "BUILDKITE_PULL_REQUEST_BASE_BRANCH",
    "SYSTEM_PULLREQUEST_TARGETBRANCH",
    "BITBUCKET_PR_DESTINATION_BRANCH",
    "CHANGE_TARGET",
    // The commit before a push, and Nx's base and head (Turborepo's go with TURBO_ below).
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "CI_COMMIT_BEFORE_SHA",
    "GIT_PREVIOUS_SUCCESSFUL_COMMIT",
    "NX_BASE",
    "NX_HEAD",
    "RUST_LOG",
    "CLICOLOR_FORCE",
    // A file monitor socket of the developer's; the fsmonitor tests start their own.
    "WATCHMAN_SOCK",
];

/// Applies the hermetic environment shared by `git` and `shockwave` children.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    // Whatever settings the product grows, the developer's own must not leak into tests.
    for (var, _) in std::env::vars_os() {
        // Turborepo's remote cache variables are read too (TURBO_TOKEN, TURBO_API, ...).
        let name = var.to_string_lossy();
        if name.starts_with("SHOCKWAVE_") || name.starts_with("TURBO_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
}

/// A temporary git repository on branch `main`, deleted on drop.
pub struct TestRepo {
    /// Held for its `Drop`, which deletes the directory.
    dir: tempfile::TempDir,
    /// The canonical path of the worktree (temp dirs may sit behind a symlink, e.g. on macOS).
    root: PathBuf,
    /// Number of commits made through [`TestRepo::commit`], for increasing commit dates.
    commits: AtomicU64,
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRepo {
    /// `git init -b main` with a repo-local user and signing off.
    pub fn new() -> TestRepo {
        let repo = Self::empty_dir();
        repo.git(&["init", "-q", "-b", "main"]);
        repo.configure();
        repo
    }

    /// A temporary directory that is not a git repository (yet).
    pub fn empty_dir() -> TestRepo {
        let dir = tempfile::Builder::new()
            .prefix("shockwave-test-")
            .tempdir()
            .expect("create a temporary directory");
        let root = std::fs::canonicalize(dir.path()).expect("canonicalize the temporary directory");
        TestRepo {
            dir,
            root,
            commits: AtomicU64::new(0),
        }
    }

    /// `git clone <extra args> file://<source> <tmp>`, configured like [`TestRepo::new`].
    pub fn clone_from(source: &TestRepo, extra: &[&str]) -> TestRepo {
        let repo = Self::empty_dir();
        let url = format!("file://{}", source.path().display());
        let mut args = vec!["clone", "-q"];
        args.extend_from_slice(extra);
        args.push(&url);
        args.push(".");
        repo.git(&args);
        repo.configure();
        repo
    }

    /// The sample monorepo: the project's `pipeline.toml` and `fixtures/`, committed as one commit
    /// on `main` (build outputs that `fixtures/.gitignore` ignores are left out).
    pub fn from_fixture() -> TestRepo {
        let repo = Self::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_tree(&source.join("fixtures"), &repo.abs("fixtures"));
        std::fs::copy(source.join("pipeline.toml"), repo.abs("pipeline.toml"))
            .expect("copy pipeline.toml");
        repo.git(&["clean", "-q", "-f", "-d", "-X"]);
        repo.commit("sample monorepo");
        repo
    }

    fn configure(&self) {
        for (key, value) in [
            ("user.name", "Test User"),
            ("user.email", "test@example.com"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("core.autocrlf", "false"),
            ("core.fileMode", "true"),
            ("core.symlinks", "true"),
            ("core.quotePath", "true"),
            ("init.defaultBranch", "main"),
            ("advice.detachedHead", "false"),
            ("merge.ff", "false"),
        ] {
            self.git(&["config", key, value]);
        }
    }

    /// The worktree root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// An absolute path inside the worktree.
    pub fn abs(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a file (creating parent directories); `path` may be any bytes via `OsStr`.
    pub fn write(&self, path: impl AsRef<Path>, content: impl AsRef<[u8]>) -> &Self {
        let p = self.abs(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        // Replace a symlink rather than write through it.
        if p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            std::fs::remove_file(&p).unwrap();
        }
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        self
    }

    /// Writes `pipeline.toml` at the repository root.
    pub fn config(&self, toml: &str) -> &Self {
        self.write("pipeline.toml", toml)
    }

    /// Creates directories (git does not track empty ones: they exist only in the worktree).
    pub fn mkdir(&self, path: impl AsRef<Path>) -> &Self {
        std::fs::create_dir_all(self.abs(path)).unwrap();
        self
    }

    pub fn read(&self, path: impl AsRef<Path>) -> String {
        std::fs::read_to_string(self.abs(path)).unwrap()
    }

    /// Removes a file, symlink or directory tree.
    pub fn remove(&self, path: impl AsRef<Path>) -> &Self {
        let p = self.abs(path);
        let meta = p
            .symlink_metadata()
            .unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
        if meta.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
        self
    }

    /// Moves a file or directory (creating the destination's parents).
    pub fn rename(&self, from: impl AsRef<Path>, to: impl AsRef<Path>) -> &Self {
        let to = self.abs(to);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::rename(self.abs(from), &to).unwrap();
        self
    }

    /// Sets (`true`) or clears (`false`) the owner/group/other exec bits.
    pub fn chmod_exec(&self, path: impl AsRef<Path>, exec: bool) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        let p = self.abs(path);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        let mode = if exec { mode | 0o111 } else { mode & !0o111 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    /// Creates a symlink at `link` pointing to `target` (kept verbatim, usually relative).
    pub fn symlink(&self, target: impl AsRef<Path>, link: impl AsRef<Path>) -> &Self {
        let link = self.abs(link);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::os::unix::fs::symlink(target, &link).unwrap();
        self
    }

    /// `git add -A && git commit`, returning the new commit's id. Empty commits are allowed.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit_staged(message)
    }

    /// Commits what is staged, leaving the rest of the worktree alone.
    pub fn commit_staged(&self, message: &str) -> String {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        let date = format!("@{} +0000", 1_700_000_000 + n * 60);
        let out = self
            .git_cmd(&[
                "commit",
                "-q",
                "--allow-empty",
                "--no-verify",
                "-m",
                message,
            ])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("run git commit");
        check_git(&["commit", message], &out);
        self.rev("HEAD")
    }

    /// `git merge --no-ff` of `branch` into the current branch, returning the merge commit.
    pub fn merge(&self, branch: &str, message: &str) -> String {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        let date = format!("@{} +0000", 1_700_000_000 + n * 60);
        let out = self
            .git_cmd(&["merge", "-q", "--no-ff", "--no-edit", "-m", message, branch])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("run git merge");
        check_git(&["merge", branch], &out);
        self.rev("HEAD")
    }

    /// The full id of a revision.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")])
    }

    /// A `git` command in the repository with the hermetic environment, not yet run.
    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        hermetic(&mut cmd).current_dir(&self.root).args(args);
        cmd
    }

    /// Runs `git` and returns its trimmed stdout; panics with its stderr when it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().expect("run git");
        check_git(args, &out);
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Runs `git` with raw byte output (for `-z` formats and non-UTF-8 paths).
    pub fn git_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.git_cmd(args).output().expect("run git");
        check_git(args, &out);
        out.stdout
    }

    /// A `shockwave` command in the repository root with the hermetic environment, not yet run.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(BIN);
        hermetic(&mut cmd).current_dir(&self.root).args(args);
        cmd
    }

    /// Runs `shockwave` with `args` in the repository root.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().expect("run shockwave")
    }

    /// Runs `shockwave` with `args` in `dir` (relative to the repository root).
    pub fn run_in<S: AsRef<OsStr>>(&self, dir: impl AsRef<Path>, args: &[S]) -> Output {
        self.command(args)
            .current_dir(self.abs(dir))
            .output()
            .expect("run shockwave")
    }

    /// `shockwave affected --format json ARGS`, which must succeed; the parsed document.
    pub fn affected_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["affected", "--format", "json"];
        all.extend_from_slice(args);
        self.run(&all).success().json()
    }
}

/// Copies a directory tree, keeping permissions and symlinks.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

fn check_git(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "git {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Assertions and accessors on a finished process.
pub trait OutputExt {
    fn code(&self) -> i32;
    fn stdout_str(&self) -> String;
    fn stderr_str(&self) -> String;
    /// Panics (showing stdout and stderr) unless the exit code is `code`.
    fn expect_code(&self, code: i32) -> &Self;
    /// Same as `expect_code(0)`.
    fn success(&self) -> &Self {
        self.expect_code(0)
    }
    /// Stdout parsed as JSON.
    fn json(&self) -> Value;
    /// Stdout lines.
    fn lines(&self) -> Vec<String> {
        self.stdout_str().lines().map(str::to_string).collect()
    }
    /// Stderr lines.
    fn stderr_lines(&self) -> Vec<String> {
        self.stderr_str().lines().map(str::to_string).collect()
    }
}

impl OutputExt for Output {
    fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("terminated by a signal: {}", self.status))
    }

    fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    fn stderr_str(&self) -> String {
        String::from_utf8(self.stderr.clone()).expect("stderr is UTF-8")
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit code {code}, got {}\n--- stdout\n{}--- stderr\n{}",
            self.status,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&self.stdout),
                String::from_utf8_lossy(&self.stderr)
            )
        })
    }
}

/// Accessors for the `affected --format json` document (schema 1).
pub trait AffectedJson {
    /// Names of the affected services, in output order.
    fn affected_names(&self) -> Vec<String>;
    /// Names of the unaffected services.
    fn unaffected_names(&self) -> Vec<String>;
    /// The reasons of an affected service (panics if it is not affected).
    fn reasons(&self, service: &str) -> Vec<Value>;
    /// The `kind` of each reason of an affected service.
    fn reason_kinds(&self, service: &str) -> Vec<String>;
    /// `changed_files` as `(path, status, old_path)`.
    fn changed(&self) -> Vec<(String, String, Option<String>)>;
    /// Every changed path: each `path` and each `old_path`.
    fn changed_paths(&self) -> BTreeSet<String>;
    /// The status of a changed path (panics if it is not listed).
    fn status_of(&self, path: &str) -> String;
    fn unowned_files(&self) -> Vec<String>;
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("expected a string, got {s}"))
                .to_string()
        })
        .collect()
}

impl AffectedJson for Value {
    fn affected_names(&self) -> Vec<String> {
        self["affected"]
            .as_array()
            .expect("`affected` is an array")
            .iter()
            .map(|a| a["name"].as_str().expect("`name` is a string").to_string())
            .collect()
    }

    fn unaffected_names(&self) -> Vec<String> {
        strings(&self["unaffected"])
    }

    fn reasons(&self, service: &str) -> Vec<Value> {
        self["affected"]
            .as_array()
            .expect("`affected` is an array")
            .iter()
            .find(|a| a["name"] == service)
            .unwrap_or_else(|| panic!("`{service}` is not affected in {self:#}"))["reasons"]
            .as_array()
            .expect("`reasons` is an array")
            .clone()
    }

    fn reason_kinds(&self, service: &str) -> Vec<String> {
        self.reasons(service)
            .iter()
            .map(|r| r["kind"].as_str().expect("`kind` is a string").to_string())
            .collect()
    }

    fn changed(&self) -> Vec<(String, String, Option<String>)> {
        self["changed_files"]
            .as_array()
            .expect("`changed_files` is an array")
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().expect("`path` is a string").to_string(),
                    f["status"]
                        .as_str()
                        .expect("`status` is a string")
                        .to_string(),
                    f.get("old_path")
                        .map(|o| o.as_str().expect("`old_path` is a string").to_string()),
                )
            })
            .collect()
    }

    fn changed_paths(&self) -> BTreeSet<String> {
        self.changed()
            .into_iter()
            .flat_map(|(p, _, old)| std::iter::once(p).chain(old))
            .collect()
    }

    fn status_of(&self, path: &str) -> String {
        self.changed()
            .into_iter()
            .find(|(p, _, _)| p == path)
            .unwrap_or_else(|| panic!("`{path}` is not in changed_files of {self:#}"))
            .1
    }

    fn unowned_files(&self) -> Vec<String> {
        strings(&self["unowned_files"])
    }
}

/// `["a", "b"]` as owned strings, for comparisons with the accessors above.
pub fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// `run`: summaries, statuses and the cache directory.

/// Runs `cmd` (a `shockwave run ...` command) with `--summary FILE` appended, returning the process
/// output and the parsed summary. The summary file lives outside the repository, so it never becomes
/// an untracked input.
pub fn with_summary(mut cmd: Command) -> (Output, Value) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("summary.json");
    let out = cmd
        .arg("--summary")
        .arg(&path)
        .output()
        .expect("run shockwave");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no summary at {} ({e}); exit {}\n--- stdout\n{}--- stderr\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = serde_json::from_str(&text).expect("the summary is JSON");
    (out, summary)
}

/// Accessors for the run summary (`run --summary FILE`, schema 1).
pub trait SummaryJson {
    /// `task label → status` for every task.
    fn statuses(&self) -> std::collections::BTreeMap<String, String>;
    /// Labels of the tasks with `status`.
    fn with_status(&self, status: &str) -> BTreeSet<String>;
    /// The entry of one task (panics if it is not in the summary).
    fn task(&self, label: &str) -> &Value;
}

impl SummaryJson for Value {
    fn statuses(&self) -> std::collections::BTreeMap<String, String> {
        self["tasks"]
            .as_array()
            .expect("`tasks` is an array")
            .iter()
            .map(|t| {
                (
                    t["task"].as_str().expect("`task` is a string").to_string(),
                    t["status"]
                        .as_str()
                        .expect("`status` is a string")
                        .to_string(),
                )
            })
            .collect()
    }

    fn with_status(&self, status: &str) -> BTreeSet<String> {
        self.statuses()
            .into_iter()
            .filter(|(_, s)| s == status)
            .map(|(t, _)| t)
            .collect()
    }

    fn task(&self, label: &str) -> &Value {
        self["tasks"]
            .as_array()
            .expect("`tasks` is an array")
            .iter()
            .find(|t| t["task"] == label)
            .unwrap_or_else(|| panic!("no task `{label}` in {self:#}"))
    }
}

/// The tasks of a dry-run plan in its order: `(label, command, requested)`.
pub fn plan_tasks(plan: &Value) -> Vec<(String, String, bool)> {
    plan["tasks"]
        .as_array()
        .expect("`tasks` is an array")
        .iter()
        .map(|t| {
            (
                t["task"].as_str().expect("`task` is a string").to_string(),
                t["command"].as_str().unwrap_or_default().to_string(),
                t["requested"] == true,
            )
        })
        .collect()
}

/// `label → command` of every task of a dry-run plan.
pub fn plan_commands(plan: &Value) -> std::collections::BTreeMap<String, String> {
    plan_tasks(plan)
        .into_iter()
        .map(|(label, command, _)| (label, command))
        .collect()
}

/// `["a", "b"]` as a set of owned strings.
pub fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl TestRepo {
    /// `shockwave run ARGS --summary FILE`: the output and the parsed summary.
    pub fn run_summary(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        with_summary(self.command(&all))
    }

    /// `shockwave hash TARGETS --all --json`: `task label → hash`.
    pub fn task_hashes(&self, targets: &[&str]) -> std::collections::BTreeMap<String, String> {
        let mut all = vec!["hash"];
        all.extend_from_slice(targets);
        all.extend_from_slice(&["--all", "--json"]);
        self.run(&all).success().json()["tasks"]
            .as_array()
            .expect("`tasks` is an array")
            .iter()
            .map(|t| {
                (
                    t["task"].as_str().unwrap().to_string(),
                    t["hash"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// `shockwave run ARGS --dry-run=json`, which must succeed: the plan.
    pub fn dry_run(&self, args: &[&str]) -> Value {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.push("--dry-run=json");
        self.run(&all).success().json()
    }

    /// The default cache directory, `.shockwave/cache` under the worktree.
    pub fn cache_dir(&self) -> PathBuf {
        self.abs(".shockwave/cache")
    }
}

/// Names of the entries of a directory (empty when it does not exist).
/// The task entries (and anything else not starting with a dot) in a cache directory.
pub fn entry_names(dir: &Path) -> BTreeSet<String> {
    let mut names = dir_names(dir);
    names.retain(|n| !n.starts_with('.'));
    names
}

pub fn dir_names(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(read) => read
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}
