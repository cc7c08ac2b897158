//! What a command asks the engine, as plain values resolved before any git or disk work: where
//! the config is, which file monitor the scans may ask, which revisions to compare and which
//! services to cover. The CLI builds these from flags and the environment; nothing here reads
//! either.

use std::path::PathBuf;
use std::time::Duration;

use crate::affected::Dependents;
use crate::config::FsMonitorKind;
use crate::filter::Selector;
use crate::scm::SeenChanges;

/// Where the config is, and where its parsed form is kept between runs.
#[derive(Debug, Clone)]
pub struct ConfigLocation {
    /// `--config`: the pipeline.toml to use instead of searching upwards.
    pub file: Option<PathBuf>,
    /// `--cache-dir` or `SHOCKWAVE_CACHE_DIR` (relative to the working directory); the default
    /// is `.shockwave/cache` under the repository root.
    pub cache_dir: Option<PathBuf>,
    /// Whether the parsed config may be read from and kept in the cache (not with
    /// `run --no-cache`, which leaves the cache alone, nor for `cache` itself).
    pub keep_parsed: bool,
}

/// The file monitor as the environment sets it; `[workspace] fsmonitor` decides when
/// `SHOCKWAVE_FSMONITOR` is unset ([`FileMonitor::kind`]).
#[derive(Debug, Clone)]
pub struct FileMonitor {
    /// `SHOCKWAVE_FSMONITOR`.
    pub kind: Option<FsMonitorKind>,
    pub timeout: Duration,
    /// `WATCHMAN_SOCK`.
    pub watchman_sock: Option<PathBuf>,
    /// A full scan at least every this many runs (`SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS`)...
    pub full_scan_runs: u32,
    /// ...and once the last is this old (`SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER`).
    pub full_scan_after: Duration,
    /// What `watch`'s own file watcher saw: when set, the scans use it and not Watchman.
    pub seen: Option<SeenChanges>,
}

impl FileMonitor {
    /// The monitor to use: the variable's choice, else the config file's.
    pub fn kind(&self, file: FsMonitorKind) -> FsMonitorKind {
        self.kind.unwrap_or(file)
    }
}

/// Which commits (and worktree changes) to compare; `--head` and `--uncommitted` never together.
#[derive(Debug, Clone)]
pub struct Range {
    /// `--base`, else the first of `SHOCKWAVE_BASE`, `TURBO_SCM_BASE`, `NX_BASE`.
    pub base: Option<String>,
    /// The variable `base` came from; `None` for `--base` (or no base).
    pub base_var: Option<&'static str>,
    /// `--head`, else the first of `SHOCKWAVE_HEAD`, `TURBO_SCM_HEAD`, `NX_HEAD`.
    pub head: Option<String>,
    /// The variable `head` came from; `None` for `--head` (or no head).
    pub head_var: Option<&'static str>,
    pub exact_base: bool,
    pub uncommitted: bool,
    /// `--on-missing-base all`: a base that is not in the clone affects everything.
    pub all_on_missing_base: bool,
    pub dependents: Dependents,
    /// The pull request's target branch the CI says (`GITHUB_BASE_REF`, …): the first choice
    /// for a base when neither `--base`, a variable nor `default_base` gives one.
    pub ci_base: Option<CiBase>,
    /// The commit before a push, as the CI says: the next choice.
    pub push_before: Option<PushBefore>,
}

/// The target branch of a pull or merge request, as the CI that builds it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiBase {
    /// The branch name (`main`), without `refs/heads/`.
    pub branch: String,
    /// The variable that said so.
    pub var: &'static str,
}

/// Where a push build says what its branch pointed to before the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushBefore {
    /// GitHub Actions, `GITHUB_EVENT_NAME=push`: the `before` of the event payload in the file
    /// `GITHUB_EVENT_PATH` names (read only when the base is needed).
    GithubEvent(PathBuf),
    /// A commit id a variable holds: GitLab's `CI_COMMIT_BEFORE_SHA`, the Jenkins git plugin's
    /// `GIT_PREVIOUS_SUCCESSFUL_COMMIT`.
    Commit { var: &'static str, id: String },
}

/// All zeros: git's "no commit", which a push that creates a branch has as its `before`.
pub fn is_null_commit(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// Which services' tasks a `run` or `hash` covers.
#[derive(Debug)]
pub struct Select {
    /// `--head` (or a variable naming the head of the range), which must be the checked-out
    /// commit whatever selects the services: tasks run in the worktree.
    pub head: Option<String>,
    /// The variable `head` came from; `None` for `--head`.
    pub head_var: Option<&'static str>,
    pub by: SelectBy,
    /// Range flags that a selection by name does not use (`--base`, ...), for a warning.
    pub ignored: Vec<&'static str>,
    /// `--kind`: only units of this kind.
    pub kind: Option<crate::discover::Kind>,
    /// `--filter`: the services these pick (and, when a range is asked for, are affected).
    pub filters: Vec<Selector>,
}

#[derive(Debug)]
pub enum SelectBy {
    All,
    Services(Vec<String>),
    /// The services `range` affects; `asked`: `--affected` was given rather than implied.
    Affected {
        range: Range,
        asked: bool,
    },
}
