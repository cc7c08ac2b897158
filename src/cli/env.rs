//! The process's surroundings, read once at start-up: the environment variables the CLI reacts to
//! and whether stdout and stderr are terminals. This is the only code that reads the environment.
//! Variables that stand in for a flag (`SHOCKWAVE_CACHE_DIR`, `SHOCKWAVE_HEARTBEAT_SECS`) are
//! declared on their flags in `args.rs`, so clap reads them with the command line and `--help`
//! names them. Nothing here touches git or the disk.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

use shockwave_core::cache::remote::Secret;
use shockwave_core::engine::{is_null_commit, CiBase, PushBefore};
use shockwave_core::report::style::Style;

/// The remote cache's variables as set, ours first, then Turborepo's names when ours are unset.
/// Checked in `settings/remote.rs`. The token and the key are [`Secret`]s from the moment they
/// are read.
#[derive(Debug, Default)]
pub struct RemoteEnv {
    pub url: Option<String>,
    pub team: Option<String>,
    /// (variable, value)
    pub read_only: Option<(&'static str, String)>,
    pub signature: Option<(&'static str, String)>,
    pub timeout: Option<String>,
    pub token: Option<Secret>,
    pub signature_key: Option<Secret>,
}

impl RemoteEnv {
    fn read(non_empty: &dyn Fn(&str) -> Option<OsString>) -> RemoteEnv {
        let var = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|&n| non_empty(n).map(|v| (n, v.to_string_lossy().into_owned())))
        };
        RemoteEnv {
            url: var(&["SHOCKWAVE_REMOTE_CACHE_URL", "TURBO_API"]).map(|v| v.1),
            team: var(&["SHOCKWAVE_REMOTE_CACHE_TEAM", "TURBO_TEAM"]).map(|v| v.1),
            read_only: var(&[
                "SHOCKWAVE_REMOTE_CACHE_READ_ONLY",
                "TURBO_REMOTE_CACHE_READ_ONLY",
            ]),
            signature: var(&["SHOCKWAVE_REMOTE_CACHE_SIGNATURE"]),
            timeout: var(&["SHOCKWAVE_REMOTE_CACHE_TIMEOUT"]).map(|v| v.1),
            token: var(&["SHOCKWAVE_REMOTE_CACHE_TOKEN", "TURBO_TOKEN"]).map(|v| Secret::new(v.1)),
            signature_key: var(&[
                "SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY",
                "TURBO_REMOTE_CACHE_SIGNATURE_KEY",
            ])
            .map(|v| Secret::new(v.1)),
        }
    }
}

/// The file monitor's variables as set.
#[derive(Debug, Default)]
pub struct FsMonitorEnv {
    pub kind: Option<String>,
    pub timeout: Option<String>,
    pub watchman_sock: Option<PathBuf>,
    /// `SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS`.
    pub full_scan_runs: Option<String>,
    /// `SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER`.
    pub full_scan_after: Option<String>,
}

#[derive(Debug)]
pub struct Env {
    /// `GITHUB_OUTPUT`, when set and not empty: where `affected --format github` appends.
    pub github_output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`, when set and not empty: where `run` and `report` append Markdown.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_ACTIONS=true`: task output goes in `::group::` blocks.
    pub github_actions: bool,
    /// `CI` set to anything but empty, `0` or `false` (GitLab, CircleCI, Buildkite, Travis and
    /// GitHub Actions all set `CI=true`).
    pub ci: bool,
    /// `RUST_LOG`, which overrides `-v` and `-q`.
    pub rust_log: Option<String>,
    /// Colour on stdout: a terminal, `NO_COLOR` unset or empty, `TERM` not `dumb`.
    pub stdout: Style,
    /// Colour on stderr, by the same rules.
    pub stderr: Style,
    /// Stderr is a terminal that can redraw a line in place (`TERM` is not `dumb`).
    pub stderr_live: bool,
    /// The remote cache's settings and secrets.
    pub remote: RemoteEnv,
    /// `SHOCKWAVE_FSMONITOR`, `SHOCKWAVE_FSMONITOR_TIMEOUT`, `SHOCKWAVE_FSMONITOR_FULL_SCAN_*`
    /// and Watchman's own `WATCHMAN_SOCK`, as set; checked in `settings/monitor.rs`.
    pub fsmonitor: FsMonitorEnv,
    /// `SHOCKWAVE_CACHE_DIR`, for the commands without `--cache-dir` (which read it through
    /// clap): where they keep the parsed config.
    pub cache_dir: Option<PathBuf>,
    /// Where the base and head come from when the command line does not say: variables that
    /// name them, and what the CI says it is building.
    pub base: BaseEnv,
    /// `COLUMNS`, when it is a positive number: the width of a terminal that does not say.
    columns: Option<usize>,
}

/// The variables that choose the base and head of a range when `--base`/`--head` are not given,
/// and what the CI says it is building. Read once; nothing here opens a file.
#[derive(Debug, Clone, Default)]
pub struct BaseEnv {
    /// `SHOCKWAVE_BASE`, else Turborepo's `TURBO_SCM_BASE`, else Nx's `NX_BASE`: (variable, value).
    pub base: Option<(&'static str, String)>,
    /// `SHOCKWAVE_HEAD`, else `TURBO_SCM_HEAD`, else `NX_HEAD`.
    pub head: Option<(&'static str, String)>,
    /// The target branch of the pull or merge request the CI is building, when it says.
    pub ci_branch: Option<CiBase>,
    /// The commit a push build's branch pointed to before the push, when the CI says.
    pub push_before: Option<PushBefore>,
}

/// The variables naming a base, ours first, then Turborepo's, then Nx's.
const BASE_VARS: &[&str] = &["SHOCKWAVE_BASE", "TURBO_SCM_BASE", "NX_BASE"];
/// The variables naming a head, in the same order.
const HEAD_VARS: &[&str] = &["SHOCKWAVE_HEAD", "TURBO_SCM_HEAD", "NX_HEAD"];

/// The variables CI systems set to a pull request's target branch, first match wins. Each is set
/// only for pull/merge request builds (empty or unset on a push).
const CI_BASE_VARS: &[&str] = &[
    "GITHUB_BASE_REF",                     // GitHub Actions
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", // GitLab CI
    "BUILDKITE_PULL_REQUEST_BASE_BRANCH",  // Buildkite
    "SYSTEM_PULLREQUEST_TARGETBRANCH",     // Azure Pipelines (may be `refs/heads/main`)
    "BITBUCKET_PR_DESTINATION_BRANCH",     // Bitbucket Pipelines
    "CHANGE_TARGET",                       // Jenkins multibranch
];

/// The variables holding the commit before a push, first match wins. GitLab sets its variable
/// to forty zeros where there is none (a new branch, merge request and scheduled pipelines).
const PUSH_BEFORE_VARS: &[&str] = &[
    "CI_COMMIT_BEFORE_SHA",           // GitLab CI
    "GIT_PREVIOUS_SUCCESSFUL_COMMIT", // Jenkins git plugin
];

/// The target branch the CI says, from the first of [`CI_BASE_VARS`] set.
fn ci_base(var: impl Fn(&str) -> Option<String>) -> Option<CiBase> {
    CI_BASE_VARS.iter().find_map(|&name| {
        let value = var(name)?;
        let branch = value.trim().trim_start_matches("refs/heads/");
        (!branch.is_empty()).then(|| CiBase {
            branch: branch.to_string(),
            var: name,
        })
    })
}

impl BaseEnv {
    pub fn read(var: impl Fn(&str) -> Option<String>) -> BaseEnv {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                let value = var(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_string()))
            })
        };
        let github_push = var("GITHUB_EVENT_NAME").is_some_and(|e| e == "push");
        let push_before = match var("GITHUB_EVENT_PATH").filter(|p| github_push && !p.is_empty()) {
            Some(path) => Some(PushBefore::GithubEvent(PathBuf::from(path))),
            None => first(PUSH_BEFORE_VARS)
                .filter(|(_, id)| !is_null_commit(id))
                .map(|(var, id)| PushBefore::Commit { var, id }),
        };
        BaseEnv {
            base: first(BASE_VARS),
            head: first(HEAD_VARS),
            ci_branch: ci_base(&var),
            push_before,
        }
    }
}

impl Env {
    pub fn read() -> Env {
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let color = non_empty("NO_COLOR").is_none() && !dumb;
        let stderr_terminal = std::io::stderr().is_terminal();
        Env {
            github_output: non_empty("GITHUB_OUTPUT").map(PathBuf::from),
            step_summary: non_empty("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            ci: non_empty("CI").is_some_and(|v| v != "0" && v != "false"),
            rust_log: std::env::var("RUST_LOG").ok(),
            base: BaseEnv::read(|k| std::env::var(k).ok()),
            stdout: Style {
                color: color && std::io::stdout().is_terminal(),
            },
            stderr: Style {
                color: color && stderr_terminal,
            },
            stderr_live: stderr_terminal && !dumb,
            remote: RemoteEnv::read(&non_empty),
            fsmonitor: FsMonitorEnv {
                kind: non_empty("SHOCKWAVE_FSMONITOR").map(|v| v.to_string_lossy().into_owned()),
                timeout: non_empty("SHOCKWAVE_FSMONITOR_TIMEOUT")
                    .map(|v| v.to_string_lossy().into_owned()),
                watchman_sock: non_empty("WATCHMAN_SOCK").map(PathBuf::from),
                full_scan_runs: non_empty("SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS")
                    .map(|v| v.to_string_lossy().into_owned()),
                full_scan_after: non_empty("SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER")
                    .map(|v| v.to_string_lossy().into_owned()),
            },
            cache_dir: non_empty("SHOCKWAVE_CACHE_DIR").map(PathBuf::from),
            columns: std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.parse().ok())
                .filter(|&c: &usize| c > 0),
        }
    }

    /// Columns of the terminal on stderr now (it may have been resized); `COLUMNS` or 80 when it
    /// does not say.
    pub fn terminal_width(&self) -> usize {
        let cols = terminal_size::terminal_size_of(std::io::stderr())
            .map_or(0, |(terminal_size::Width(cols), _)| usize::from(cols));
        if cols > 0 {
            cols
        } else {
            self.columns.unwrap_or(80)
        }
    }
}

/// The value of a variable a task declares in `env`, as it enters the task's hash. Unlike the
/// variables above, which ones are read depends on the config.
pub fn task_var(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(OsString::into_encoded_bytes)
}

/// The names of every variable set, for `env` patterns with `*` (names that are not UTF-8 can
/// match no pattern and are left out).
pub fn task_var_names() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect()
}
