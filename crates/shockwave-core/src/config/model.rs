//! The frozen configuration every later stage reads: the [`Workspace`] with its services, their
//! targets and the service graph. Values here are already validated (roots exist and stay inside
//! the repository, names resolve, globs compile, written `deps` close no cycle); nothing here checks or
//! reports anything, and nothing outside `config` builds these values.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::discover::{DiscoverError, Ecosystem, Kind, LockLink, LockfileUse, PackageInput};
use crate::glob::Globs;
use crate::graph::ServiceGraph;
pub use crate::graph::ServiceId;

/// What to do with a changed file that no service owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnownedPolicy {
    /// Report it (text output and a warning) and affect nothing.
    #[default]
    Warn,
    /// Treat it as a change to every service.
    All,
    /// Say nothing.
    Ignore,
}

impl UnownedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnownedPolicy::Warn => "warn",
            UnownedPolicy::All => "all",
            UnownedPolicy::Ignore => "ignore",
        }
    }
}

/// `[workspace] fsmonitor`: which file watcher, if any, may tell the worktree scan what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsMonitorKind {
    /// Stat every tracked file on every run.
    #[default]
    Off,
    /// Ask a running Watchman which files changed since the last run.
    Watchman,
}

/// A dependency of a target on another target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// `"build"`: the same service's `build`.
    Own(String),
    /// `"^build"`: `build` of every dependency of the service.
    Deps(String),
    /// The same script of every workspace dependency, for a discovered package's script whose
    /// `needs` nobody wrote (as `pnpm -r run` and `yarn workspaces foreach --topological` order
    /// them). Dependencies in a loop with the service are not ordered, as pnpm does, instead of
    /// failing as a written `^build` across a loop does.
    ScriptDeps(String),
    /// `"web#build"`: `build` of the service named `web` (Turborepo's `pkg#task`; `//` is the
    /// repository's root package).
    Of { service: String, target: String },
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Own(t) => f.write_str(t),
            Need::Deps(t) | Need::ScriptDeps(t) => write!(f, "^{t}"),
            Need::Of { service, target } => write!(f, "{service}#{target}"),
        }
    }
}

/// One target of one service, defaults and per-service overrides merged.
#[derive(Debug, Clone)]
pub struct Target {
    pub command: String,
    pub needs: Vec<Need>,
    /// Where each of `needs` is written in the config file (same order), for task-cycle errors;
    /// shorter than `needs` when the last ones are implied ([`Need::ScriptDeps`]).
    pub need_spans: Vec<Range<usize>>,
    /// Globs relative to the service root; `**` when not declared.
    pub inputs: Arc<Globs>,
    /// Globs relative to the service root whose matches are cached and restored.
    pub outputs: Arc<Globs>,
    /// Names of environment variables whose values enter the task hash (sorted, deduplicated);
    /// `*` matches any run of characters and a leading `!` takes matching names out again.
    pub env: Vec<String>,
    pub cache: bool,
    /// A long-running process (a dev server): never cached, and no task may need it.
    pub persistent: bool,
    /// Reads from the terminal: never cached.
    pub interactive: bool,
    /// The command is a discovered package's own script: what it writes is not declared unless
    /// `outputs` says, so a run watches for files it writes outside them (`exec`).
    pub script: bool,
}

/// A service's targets by name.
pub type Targets = BTreeMap<String, Arc<Target>>;

/// A service (or library): a directory of the repository and what depends on it.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Workspace-relative, `/`-separated, no leading or trailing slash; empty for the workspace root.
    pub root: String,
    /// Direct dependencies, sorted by id. They may form cycles through discovered edges.
    pub deps: Vec<ServiceId>,
    /// Dependencies needed only by this service's own tests (Cargo `[dev-dependencies]`), sorted,
    /// none also in `deps`: a change there affects this service, not its dependents.
    pub dev_deps: Vec<ServiceId>,
    /// Extra workspace-relative globs whose files belong to this service.
    pub paths: Vec<String>,
    /// `paths`, compiled.
    pub path_globs: Arc<Globs>,
    /// Shared: services that only inherit the defaults hold one copy.
    pub targets: Arc<Targets>,
    /// Every target's `outputs`, together: products of the service, never inputs of its tasks.
    pub outputs: Arc<Globs>,
    /// The toolchain whose manifest it was discovered from; `None` for a service written only
    /// in pipeline.toml.
    pub ecosystem: Option<Ecosystem>,
    /// Go single module: the package directories whose files belong to this service's closure.
    pub packages: Vec<PackageInput>,
    /// A deployable service, or a Go library package (tested, never deployed).
    pub kind: Kind,
}

/// The validated, frozen configuration. Only `config` builds one (its fields are visible there
/// alone); everything else reads it through the accessors.
#[derive(Debug)]
pub struct Workspace {
    /// The config file that was loaded; with no pipeline.toml (`zero_config`), where it would be.
    pub(super) config_path: PathBuf,
    /// No pipeline.toml: everything was discovered from the manifests.
    pub(super) zero_config: bool,
    /// The directory holding the config file; every path in the config is relative to it.
    pub(super) root: PathBuf,
    pub(super) default_base: Option<String>,
    pub(super) global_inputs: Globs,
    /// Environment variables whose values enter every task's hash (patterns as in
    /// [`Target::env`]).
    pub(super) global_env: Vec<String>,
    /// Where the targets are written, for errors that point at a `needs`: the config file, or the
    /// `turbo.json` they were read from.
    pub(super) targets_file: PathBuf,
    /// The turbo.json keys read but with no equivalent here, for one warning.
    pub(super) turbo_ignored: Vec<String>,
    pub(super) ignore: Globs,
    pub(super) unowned: UnownedPolicy,
    /// `SHOCKWAVE_FSMONITOR` overrides it (`cli::settings`).
    pub(super) fsmonitor: FsMonitorKind,
    /// Sorted by name; a [`ServiceId`] indexes this.
    pub(super) services: Vec<Service>,
    /// Every target name defined anywhere, sorted.
    pub(super) target_names: BTreeSet<String>,
    pub(super) graph: ServiceGraph,
    /// `[remote_cache]` as written; the environment and flags override it (`cli::settings`).
    pub(super) remote_cache: RemoteCacheFile,
    /// Lockfiles whose changes are judged by each user's resolved closure (discovery only).
    pub(super) lockfiles: Vec<LockfileUse>,
    /// What discovery accepted but is worth knowing (`check` prints them).
    pub(super) discovery_notes: Vec<DiscoverError>,
    /// Discovered edges a lockfile decided (sorted), for `--explain`.
    pub(super) lock_links: Vec<LockLink>,
}

/// The `[remote_cache]` table, validated; every key is optional.
#[derive(Debug, Default, Clone)]
pub struct RemoteCacheFile {
    pub url: Option<String>,
    pub team: Option<String>,
    pub read_only: Option<bool>,
    pub signature: Option<bool>,
    pub timeout: Option<std::time::Duration>,
}

impl Workspace {
    /// The config file that was loaded; with no pipeline.toml (`zero_config`), where it would be.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// No pipeline.toml: everything was discovered from the manifests.
    pub fn zero_config(&self) -> bool {
        self.zero_config
    }

    /// The directory holding the config file; every path in the config is relative to it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn default_base(&self) -> Option<&str> {
        self.default_base.as_deref()
    }

    pub fn global_inputs(&self) -> &Globs {
        &self.global_inputs
    }

    /// Environment variables whose values enter every task's hash.
    pub fn global_env(&self) -> &[String] {
        &self.global_env
    }

    /// Where the targets are written: the config file, or the `turbo.json` they were read from.
    pub fn targets_file(&self) -> &Path {
        &self.targets_file
    }

    /// The turbo.json keys read but with no equivalent here.
    pub fn turbo_ignored(&self) -> &[String] {
        &self.turbo_ignored
    }

    pub fn ignore(&self) -> &Globs {
        &self.ignore
    }

    pub fn unowned(&self) -> UnownedPolicy {
        self.unowned
    }

    /// As configured; `SHOCKWAVE_FSMONITOR` overrides it (`cli::settings`).
    pub fn fsmonitor(&self) -> FsMonitorKind {
        self.fsmonitor
    }

    /// Every service, sorted by name; a [`ServiceId`] is a position here.
    #[inline]
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Every target name defined anywhere, sorted.
    pub fn target_names(&self) -> &BTreeSet<String> {
        &self.target_names
    }

    pub fn graph(&self) -> &ServiceGraph {
        &self.graph
    }

    /// `[remote_cache]` as written.
    pub fn remote_cache(&self) -> &RemoteCacheFile {
        &self.remote_cache
    }

    /// Lockfiles whose changes are judged by each user's resolved closure.
    pub fn lockfiles(&self) -> &[LockfileUse] {
        &self.lockfiles
    }

    /// What discovery accepted but is worth knowing.
    pub fn discovery_notes(&self) -> &[DiscoverError] {
        &self.discovery_notes
    }

    /// Discovered edges a lockfile decided (sorted).
    pub fn lock_links(&self) -> &[LockLink] {
        &self.lock_links
    }

    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(ServiceId::new)
    }

    /// The service `id` stands for.
    #[inline]
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.index()]
    }

    /// Every service's id, in the services' order.
    pub fn service_ids(&self) -> impl ExactSizeIterator<Item = ServiceId> + DoubleEndedIterator {
        (0..self.services.len()).map(ServiceId::new)
    }

    /// Every service with its id, in order.
    pub fn services_by_id(
        &self,
    ) -> impl ExactSizeIterator<Item = (ServiceId, &Service)> + DoubleEndedIterator {
        self.service_ids().zip(&self.services)
    }

    /// The lockfile that decided the discovered edge from `service` to `dep`, if one did.
    pub fn linked_by(&self, service: &str, dep: &str) -> Option<&str> {
        self.lock_links
            .iter()
            .find(|l| l.service == service && l.dep == dep)
            .map(|l| l.file.as_str())
    }

    pub fn service_names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.name.as_str())
    }
}

#[cfg(test)]
impl Workspace {
    /// This workspace with `edit` applied to its services and the service graph built again
    /// from their dependency lists: for tests of later stages that need a shape only discovery
    /// gives (an edge a manifest decides, a dev-dependency).
    pub(crate) fn with_services_edited(mut self, edit: impl FnOnce(&mut [Service])) -> Workspace {
        edit(&mut self.services);
        self.graph = ServiceGraph::build(
            self.services.iter().map(|s| s.deps.as_slice()),
            self.services.iter().map(|s| s.dev_deps.as_slice()),
        );
        self
    }
}
