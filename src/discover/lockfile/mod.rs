//! Lockfile closures: for each service that resolves external dependencies through a lockfile,
//! the set of external `name@version` entries the package manager installs for it, read from
//! one revision's lockfile bytes. `affected` compares two revisions' closures; `hash` digests one.
//!
//! One file per format (`npm`, `pnpm`, `yarn`, `cargo`, `gomod`); each turns the bytes into a
//! [`Graph`] of resolved packages and the starting nodes of every user, and the walk below is
//! shared. Parsing is pure: no I/O, no printing.
//!
//! What a closure holds, in every format: the external packages reachable from the user through
//! the dependencies the lockfile records for it (its own dev dependencies included), and through
//! workspace-local packages it links — those are not entries themselves, but their external
//! non-dev dependencies are, because the package manager installs them for the user too. yarn v1
//! does not record workspace packages, so there a closure starts from the user's declared ranges
//! only (a linked package's externals reach the user through the dependency edge instead).
//!
//! Lockfiles are untrusted: the size is bounded ([`MAX_MANIFEST_BYTES`]), the parsers used have
//! nesting limits, the walk is iterative with a bounded number of nodes, and a user the lockfile
//! does not know gets a closure that says so ([`missing_entry`]) rather than an empty one.

mod cargo;
mod gomod;
pub(crate) mod node_modules;
mod npm;
mod pnpm;
mod yarn;

pub(crate) use yarn::with_final_newline;

pub use cargo::{manifest_entry_key, manifest_key, ROOT_PACKAGE};

use super::{Closure, DiscoverError, LockFormat, LockUser, MAX_MANIFEST_BYTES};

/// The most resolved packages one lockfile may hold. The largest public lockfiles hold tens of
/// thousands; this bounds the memory a hostile file can make the walk use.
const MAX_NODES: usize = 1 << 20;

/// Each user's resolved external closure, in the order of `users`.
///
/// `bytes` are one revision's lockfile. An error means the file cannot be used at all (not
/// UTF-8, not the format, a version this parser does not know); its `file` is the format's
/// usual file name, which the caller replaces with the path it read.
pub fn closures(
    format: LockFormat,
    bytes: &[u8],
    users: &[LockUser],
) -> Result<Vec<Closure>, DiscoverError> {
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(error(
            format,
            format!(
                "is {} bytes, more than the {MAX_MANIFEST_BYTES} read",
                bytes.len()
            ),
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| error(format, format!("is not UTF-8 ({e})")))?;
    let resolved = match format {
        LockFormat::NpmLock => npm::resolve(text, users),
        LockFormat::PnpmLock => pnpm::resolve(text, users),
        LockFormat::YarnLock => yarn::resolve(text, users),
        LockFormat::CargoLock => cargo::resolve(text, users),
        LockFormat::GoMod => gomod::resolve(text, users),
        LockFormat::CargoManifest => {
            return cargo::manifest_closures(text, users).map_err(|m| error(format, m))
        }
    }
    .map_err(|m| error(format, m))?;
    Ok(resolved.closures(users))
}

/// The usual file name of a format, for messages.
pub fn file_name(format: LockFormat) -> &'static str {
    match format {
        LockFormat::NpmLock => "package-lock.json",
        LockFormat::PnpmLock => "pnpm-lock.yaml",
        LockFormat::YarnLock => "yarn.lock",
        LockFormat::CargoLock => "Cargo.lock",
        LockFormat::GoMod => "go.mod",
        LockFormat::CargoManifest => "Cargo.toml",
    }
}

fn error(format: LockFormat, message: String) -> DiscoverError {
    DiscoverError {
        file: file_name(format).to_owned(),
        line: None,
        message,
    }
}

/// The closure entry of a user the lockfile has no entry for: the lockfile is older than the
/// manifests. It keeps the closure from looking empty (and equal to another empty one), so the
/// user counts as changed when it appears or disappears.
pub fn missing_entry(key: &str) -> String {
    format!("<{key} not in lockfile>")
}

/// Resolved packages of one lockfile: a node per package instance, its label (`None` for a
/// workspace-local package, which is walked through but is no entry) and its dependency edges.
#[derive(Debug, Default)]
struct Graph {
    labels: Vec<Option<String>>,
    edges: Vec<Vec<usize>>,
}

impl Graph {
    fn add(&mut self, label: Option<String>) -> Result<usize, String> {
        if self.labels.len() >= MAX_NODES {
            return Err(format!("holds more than {MAX_NODES} packages"));
        }
        self.labels.push(label);
        self.edges.push(Vec::new());
        Ok(self.labels.len() - 1)
    }

    /// Every labelled node reachable from `starts` (the starts included).
    fn closure(&self, starts: &[usize]) -> Closure {
        let mut seen = vec![false; self.labels.len()];
        let mut stack: Vec<usize> = starts.to_vec();
        let mut out = Closure::new();
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut seen[node], true) {
                continue;
            }
            if let Some(label) = &self.labels[node] {
                out.insert(label.clone());
            }
            stack.extend(self.edges[node].iter().filter(|&&n| !seen[n]));
        }
        out
    }
}

/// A parsed lockfile: its graph and, per user, the nodes the user depends on directly, or
/// `None` when the lockfile does not know the user.
struct Resolved {
    graph: Graph,
    starts: Vec<Option<Vec<usize>>>,
}

impl Resolved {
    fn closures(&self, users: &[LockUser]) -> Vec<Closure> {
        users
            .iter()
            .zip(&self.starts)
            .map(|(user, starts)| match starts {
                Some(starts) => self.graph.closure(starts),
                None => Closure::from([missing_entry(&user.key)]),
            })
            .collect()
    }
}

/// The closure entry of an installed package: `name@version`, followed by where it came from
/// (` (git+ssh://…#abc123)`) unless that is a registry tarball of that version. A git, URL,
/// file or patched package keeps its version when its commit or content moves; the source is
/// what changes then. `resolved` is npm's / yarn 1's `resolved` or berry's `resolution`.
fn package_label(name: &str, version: &str, resolved: Option<&str>) -> String {
    match resolved.filter(|r| !r.is_empty() && !from_registry(name, version, r)) {
        Some(source) => format!("{name}@{version} ({source})"),
        None => format!("{name}@{version}"),
    }
}

/// Whether `resolved` is a registry's: berry's `name@npm:version`, or a tarball URL in the
/// registries' `…/-/basename-version.tgz` layout (a `#hash` or `?query` after it aside).
fn from_registry(name: &str, version: &str, resolved: &str) -> bool {
    if let Some(v) = resolved
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix("@npm:"))
    {
        return v == version;
    }
    let url = resolved.split(['#', '?']).next().unwrap_or(resolved);
    let base = name.rsplit('/').next().unwrap_or(name);
    url.starts_with("http")
        && url
            .rsplit_once("/-/")
            .is_some_and(|(_, file)| file == format!("{base}-{version}.tgz"))
}

/// `name@range` split at the `@` that ends the name (a scoped name starts with one).
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

#[cfg(test)]
mod tests;
