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
//! ([`MAX_MANIFEST_BYTES`]), paths they name are confined to the workspace, and a malformed file
//! is an error with its position, never a panic.

pub mod lockfile;

use std::collections::BTreeSet;

/// The largest manifest or lockfile read. Real lockfiles of very large monorepos reach tens of MB.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// A toolchain whose workspace can be discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Npm,
    Pnpm,
    Yarn,
    Cargo,
    Go,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pnpm => "pnpm",
            Ecosystem::Yarn => "yarn",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Go => "go",
        }
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
    /// Names of other discovered services it depends on (sorted, deduplicated): exactly the
    /// edges the toolchain itself links locally.
    pub deps: Vec<String>,
    /// npm-family `scripts` names (sorted): each becomes a target run as `<package manager> run
    /// NAME` unless `[targets.NAME]` has a command of its own.
    pub scripts: Vec<String>,
    /// Go single module: the package directories whose files are inputs of this service — its
    /// own packages and, transitively, every local package they import. Empty elsewhere.
    pub packages: Vec<PackageInput>,
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
    /// `Cargo.lock` v3 / v4.
    CargoLock,
    /// `go.mod` of a Go single module (its `require`, `replace`, `exclude`, `go`, `toolchain`).
    GoMod,
}

/// A lockfile and the services that resolve external dependencies through it.
#[derive(Debug, Clone)]
pub struct LockfileUse {
    /// Workspace-relative path.
    pub path: String,
    pub format: LockFormat,
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
