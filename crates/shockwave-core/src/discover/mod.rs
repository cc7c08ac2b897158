//! Workspace discovery: services, their dependency edges and their external dependencies read
//! from the package managers' own manifests (npm / pnpm / yarn workspaces, Cargo workspaces, Go
//! modules and packages) instead of being written by hand in `pipeline.toml`.
//!
//! Discovery only reads: it turns manifest bytes into the plain values below and reports what it
//! cannot read as [`DiscoverError`]s naming the file (and line). It never decides what is
//! affected, never hashes and never prints; `config` turns a [`Discovery`] into services,
//! `affected` and `hash` consult the lockfile closures.
//!
//! Everything read here is untrusted input: manifests and lockfiles are size-bounded
//! ([`MAX_MANIFEST_BYTES`], [`MAX_LOCKFILE_BYTES`]), parsed in time linear in their size, paths
//! they name are confined to the workspace, and a malformed file
//! is an error with its position, never a panic.

mod cargo;
mod defaults;
mod files;
mod folders;
pub mod go;
mod js;
pub mod lockfile;
mod yaml;

pub use defaults::{default_command, default_targets};
pub use js::declared_dependencies;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::confine::{Refusal, Root};
use crate::paths::WorkspaceDirs;

/// The largest manifest read (`package.json`, `pnpm-workspace.yaml`, `.npmrc`, `Cargo.toml`,
/// `go.mod`, `go.work`). Real ones stay far below a megabyte (a `Cargo.toml` listing thousands
/// of features is a few hundred KB); parsing costs up to about 40 times the size in memory
/// (`toml` on a file of short keys), so this also bounds what one hostile manifest can take.
pub const MAX_MANIFEST_BYTES: u64 = 8 << 20;

/// The largest lockfile read (`package-lock.json`, `pnpm-lock.yaml`, `yarn.lock`,
/// `Cargo.lock`). The largest real ones are a pnpm-lock.yaml of 10–30 MB and a
/// package-lock.json of about 50 MB, in monorepos of thousands of packages.
pub const MAX_LOCKFILE_BYTES: u64 = 128 << 20;

/// A toolchain whose workspace can be discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Npm,
    Pnpm,
    Yarn,
    Cargo,
    Go,
    /// A folder with `pyproject.toml`, `setup.py`, `requirements.txt` or a `Pipfile`.
    Python,
    /// A folder with `pom.xml` or `build.gradle(.kts)`.
    Java,
    /// A folder with a `.sln`, `.csproj` or `.fsproj`.
    Dotnet,
    /// A folder whose only build manifest is a `Dockerfile`.
    Docker,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pnpm => "pnpm",
            Ecosystem::Yarn => "yarn",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Go => "go",
            Ecosystem::Python => "python",
            Ecosystem::Java => "java",
            Ecosystem::Dotnet => "dotnet",
            Ecosystem::Docker => "docker",
        }
    }

    /// npm, pnpm or yarn: packages with `scripts`, run through the package manager.
    pub fn is_npm_family(self) -> bool {
        matches!(self, Ecosystem::Npm | Ecosystem::Pnpm | Ecosystem::Yarn)
    }
}

/// What discovery found in one workspace.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Sorted by name; names are unique (a collision is a [`DiscoverError`]).
    pub services: Vec<DiscoveredService>,
    /// Lockfiles and module files whose changes are judged by each user's resolved external
    /// closure rather than by their bytes.
    pub lockfiles: Vec<LockfileUse>,
    /// Workspace-level manifests that belong to no service (the root `package.json` of a
    /// workspace, `pnpm-workspace.yaml`, `.npmrc`, a virtual Cargo manifest): a change there
    /// affects every service when the workspace has no pipeline.toml of its own.
    pub global_inputs: Vec<String>,
    /// What discovery noticed and accepted, as the package manager does (a workspace pattern
    /// that matches no package): shown by `check` and logged under `-v`, never fatal.
    pub notes: Vec<DiscoverError>,
    /// Edges the lockfile decided where the specifier rules would not have linked (an `npm:`
    /// alias pnpm linked), so that `--explain` can name the file.
    pub lock_links: Vec<LockLink>,
}

/// An edge a lockfile decided: `service` depends on `dep` because `file` records the link.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockLink {
    pub service: String,
    pub dep: String,
    /// Workspace-relative path of the lockfile.
    pub file: String,
}

/// One service found in a manifest.
#[derive(Debug, Clone)]
pub struct DiscoveredService {
    /// The package / crate name, or for Go the module path's or package directory's last part.
    pub name: String,
    /// Workspace-relative directory, `/`-separated, no trailing slash; `""` for the workspace root.
    pub root: String,
    pub ecosystem: Ecosystem,
    /// Workspace-relative path of the manifest it was read from (`packages/a/package.json`).
    pub manifest: String,
    /// The 1-based line of `manifest` that gives the name (`"name"`, `[package] name`), where
    /// a manifest does; `None` for a name taken from a folder or a module path.
    pub name_line: Option<usize>,
    /// Names of other discovered services it depends on (sorted, deduplicated): exactly the
    /// edges the toolchain itself links locally. They may form cycles (package managers install
    /// such workspaces); only a task graph that must order one refuses it.
    pub deps: Vec<String>,
    /// Names of discovered services it needs only for its own tests (Cargo `[dev-dependencies]`),
    /// sorted, deduplicated, none also in `deps`: a change there affects this service but not,
    /// through it, its dependents, and `^target` needs do not follow them.
    pub dev_deps: Vec<String>,
    /// The targets it has without configuration (sorted): an npm-family package's `scripts`
    /// names (run as `<package manager> run NAME`), a Cargo crate's or a Go unit's defaults
    /// ([`default_targets`]); each runs [`default_command`] unless `[targets.NAME]` has a command
    /// of its own.
    pub scripts: Vec<String>,
    /// More workspace-relative globs whose files belong to the service, as `[services.*] paths`:
    /// what it uses through a dependency the graph cannot hold (a Cargo dev-dependency that would
    /// close a cycle).
    pub paths: Vec<String>,
    /// Go single module: the package directories whose files are inputs of this service — its
    /// own packages and, transitively, every local package they import. Empty elsewhere.
    pub packages: Vec<PackageInput>,
    /// A deployable service, or a library package tested on its own (Go).
    pub kind: Kind,
}

/// What a unit is for: deploying (a service, an npm or Cargo package, a Go module or binary), or
/// testing alone (a Go library package).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Kind {
    #[default]
    Service,
    Package,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Package => "package",
        }
    }
}

/// One package directory in a service's closure (Go, single module).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageInput {
    /// Workspace-relative package directory; only the files directly in it belong to the package.
    pub dir: String,
    /// Whether its `_test.go` files count: yes for the service's own packages, no for the packages
    /// it imports (`go build` and `go test` of the service never read a dependency's tests).
    pub tests: bool,
    /// How the service reaches it, from the service's own package to this one
    /// (`["services/user", "pkg/auth", "pkg/log"]`); just `[dir]` for an own package.
    pub chain: Vec<String>,
    /// Folders below `dir` that hold no package of their own (an embedded `static/`, and when
    /// `tests` is set `testdata/`): their files belong to the package too.
    pub assets: Vec<String>,
}

/// The format of a lockfile or module file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockFormat {
    /// `package-lock.json` v2 / v3.
    NpmLock,
    /// `pnpm-lock.yaml` v6 – v9.
    PnpmLock,
    /// `yarn.lock`, v1 and berry.
    YarnLock,
    /// `Cargo.lock`, v1 – v4.
    CargoLock,
    /// `go.mod` of a Go single module (its `require`, `replace`, `exclude`, `go`, `toolchain`).
    GoMod,
    /// The root `Cargo.toml` of a Cargo workspace, judged per member by the values of it that
    /// reach the member's build (what it inherits, and what Cargo applies to every member).
    CargoManifest,
}

impl LockFormat {
    /// The largest file of this format read: a lockfile's bound, or for the manifests judged
    /// like lockfiles (`go.mod`, the root `Cargo.toml`) a manifest's.
    pub fn max_bytes(self) -> u64 {
        match self {
            LockFormat::GoMod | LockFormat::CargoManifest => MAX_MANIFEST_BYTES,
            _ => MAX_LOCKFILE_BYTES,
        }
    }

    /// `lockfile` or `manifest`, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            LockFormat::GoMod | LockFormat::CargoManifest => "manifest",
            _ => "lockfile",
        }
    }
}

/// A lockfile and the services that resolve external dependencies through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockfileUse {
    /// Workspace-relative path.
    pub path: String,
    pub format: LockFormat,
    /// When `path` is a symbolic link (or lies below one), the file it leads to, relative to the
    /// repository root: a change there is a change of the lockfile.
    pub target: Option<String>,
    pub users: Vec<LockUser>,
}

/// How one service is found in a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockUser {
    pub service: String,
    /// What identifies the service in the lockfile: the importer / workspace path for npm and
    /// pnpm (`packages/a`), the package name for yarn and Cargo, the service root for Go.
    pub key: String,
    /// The external dependencies the service asks for directly, where the lockfile alone does not
    /// say: `name@range` for yarn; for Go the external import paths of its package closure.
    /// Empty where the lockfile records them (npm, pnpm, Cargo).
    pub direct: Vec<String>,
}

/// A service's resolved external dependency closure at one revision: `name@version` entries
/// (for Go `module@version`, plus `go@X` / `toolchain@X` lines and `replace` targets).
pub type Closure = BTreeSet<String>;

/// A manifest or lockfile that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct DiscoverError {
    /// Workspace-relative path of the file at fault.
    pub file: String,
    /// 1-based line, where the format gives one.
    pub line: Option<usize>,
    /// What is wrong, and what to do about it.
    pub message: String,
}

/// Which toolchains' workspaces to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    /// npm, pnpm and yarn: one workspace whose package manager is detected.
    pub js: bool,
    pub cargo: bool,
    pub go: bool,
    /// Folders no workspace covers that hold their own build manifest (`package.json`,
    /// `pyproject.toml`, `pom.xml`, `*.csproj`, `Dockerfile`, …): one service each.
    pub folders: bool,
}

impl Sources {
    pub const ALL: Sources = Sources {
        js: true,
        cargo: true,
        go: true,
        folders: true,
    };
}

/// A service `members` already named: discovery then supplies only its edges (and, for Go, its
/// package closure), matched by root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedService {
    pub name: String,
    /// Workspace-relative, as in [`DiscoveredService::root`].
    pub root: String,
}

/// Reads every workspace `sources` asks for below `root` (the directory holding pipeline.toml,
/// or the repository root), seeing directories through `dirs` (git-ignored folders left out).
/// All problems found are returned together; names are unique across ecosystems. The edges may
/// form cycles.
pub fn discover(
    root: &Path,
    dirs: &mut dyn WorkspaceDirs,
    sources: Sources,
    named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    let root = &Root::open(root, dirs.boundary()).map_err(|e| {
        vec![DiscoverError::new(
            "",
            None,
            format!("failed to open the workspace folder: {e}"),
        )]
    })?;
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut keep = |r: Result<Discovery, Vec<DiscoverError>>, parts: &mut Vec<Discovery>| match r {
        Ok(d) => parts.push(d),
        Err(e) => errors.extend(e),
    };
    if sources.js {
        keep(js::discover(root, dirs), &mut parts);
    }
    if sources.cargo {
        keep(cargo::discover(root, dirs), &mut parts);
    }
    if sources.go {
        // npm and Cargo packages keep their names; a Go name never takes one of them.
        let taken: BTreeSet<&str> = parts
            .iter()
            .flat_map(|d| d.services.iter().map(|s| s.name.as_str()))
            .collect();
        let found = go::discover(root, dirs, named, &|n| taken.contains(n));
        keep(found, &mut parts);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if sources.folders {
        let claimed: Vec<&str> = parts
            .iter()
            .flat_map(|p| &p.services)
            .map(|s| s.root.as_str())
            .chain(named.iter().map(|n| n.root.as_str()))
            .collect();
        let npm_workspace = parts
            .iter()
            .flat_map(|p| &p.services)
            .any(|s| s.ecosystem.is_npm_family())
            || is_npm_workspace_root(root);
        let mut services = folders::discover(root, dirs, &claimed, npm_workspace);
        unique_folder_names(&mut services, parts.iter().flat_map(|p| &p.services));
        parts.push(Discovery {
            services,
            ..Discovery::default()
        });
    }
    let mut all = Discovery::default();
    let mut by_name: BTreeMap<String, DiscoveredService> = BTreeMap::new();
    for part in parts {
        for s in part.services {
            if let Some(first) = by_name.get(&s.name) {
                let at = files::at(&first.manifest, first.name_line);
                errors.push(DiscoverError {
                    file: s.manifest.clone(),
                    line: s.name_line,
                    message: format!(
                        "two services are named `{}`: this one and the one in {at}; rename one, or leave one toolchain out of `[workspace] discover`",
                        s.name
                    ),
                });
                continue;
            }
            by_name.insert(s.name.clone(), s);
        }
        all.lockfiles.extend(part.lockfiles);
        all.global_inputs.extend(part.global_inputs);
        all.notes.extend(part.notes);
        all.lock_links.extend(part.lock_links);
    }
    all.services = by_name.into_values().collect();
    for lock in &mut all.lockfiles {
        match root.open_file(&lock.path) {
            Ok(Some(opened)) if opened.linked => lock.target = Some(opened.path),
            Ok(_) | Err(Refusal::NotRegular(_)) => {}
            Err(e) => errors.push(DiscoverError::new(&lock.path, None, e.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    all.lockfiles.sort_by(|a, b| a.path.cmp(&b.path));
    all.global_inputs.sort();
    all.global_inputs.dedup();
    all.lock_links.sort();
    for note in &all.notes {
        tracing::info!("{note}");
    }
    Ok(all)
}

/// Whether the workspace root is an npm, pnpm or yarn workspace (even when that discovery is
/// off): a `pnpm-workspace.yaml`, or a root `package.json` with `workspaces`.
fn is_npm_workspace_root(root: &Root) -> bool {
    // What cannot be read here was reported by npm-family discovery, which ran first.
    if files::is_file(root, "pnpm-workspace.yaml").unwrap_or(false) {
        return true;
    }
    match files::read(root, "package.json") {
        Ok(Some(text)) => serde_json::from_str::<serde_json::Value>(&text)
            .is_ok_and(|v| v.get("workspaces").is_some()),
        _ => false,
    }
}

/// Folder services are named after their folder; where that name is taken (by a package, a
/// crate, a module or another folder), by their workspace-relative path, which no other folder
/// has.
fn unique_folder_names<'a>(
    folders: &mut [DiscoveredService],
    others: impl Iterator<Item = &'a DiscoveredService>,
) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for name in others.map(|s| s.name.clone()) {
        *count.entry(name).or_default() += 2;
    }
    for s in folders.iter() {
        *count.entry(s.name.clone()).or_default() += 1;
    }
    let mut taken: std::collections::BTreeSet<String> = count.keys().cloned().collect();
    for s in folders.iter_mut() {
        if count.get(&s.name).copied().unwrap_or(0) <= 1 {
            continue;
        }
        // The folder's path, or (a top-level folder's path being its name) the path with its
        // kind: `docs-python`; a number after that, which only a contrived tree needs.
        let kind = s.ecosystem.as_str();
        let mut name = s.root.clone();
        if taken.contains(&name) {
            name = format!("{}-{kind}", s.root);
        }
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{}-{kind}-{n}", s.root);
            n += 1;
        }
        taken.insert(name.clone());
        s.name = name;
    }
}

impl DiscoverError {
    pub(crate) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        DiscoverError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// CPU time the calling thread has used, for tests that bound the work a parse does: unlike
/// wall time, other builds loading the machine do not inflate it.
#[cfg(test)]
pub(crate) fn thread_cpu() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
