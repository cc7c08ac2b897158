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
//! Lockfiles are untrusted: the size is bounded ([`LockFormat::max_bytes`]), the parsers used
//! have nesting limits (YAML a node budget sized to the text, [`crate::discover::yaml`]), every
//! parse and index is linear in the text, the walk is iterative with a bounded number of nodes,
//! closures are walked one user at a time and never all held ([`Closures`]), and a user the
//! lockfile does not know gets a closure that says so ([`missing_entry`]) rather than an empty
//! one.

mod cargo;
mod compare;
mod gomod;
pub(crate) mod node_modules;
mod npm;
mod pnpm;
mod yarn;

pub(crate) use yarn::with_final_newline;

pub use cargo::{manifest_entry_key, manifest_key, ROOT_PACKAGE};
pub use compare::{Change, Comparison, LISTED};

use std::cell::RefCell;

use super::{Closure, DiscoverError, LockFormat, LockUser};

/// The most resolved packages one lockfile may hold. The largest public lockfiles hold tens of
/// thousands; this bounds the memory a hostile file can make the walk use.
const MAX_NODES: usize = 1 << 20;

/// One revision's lockfile read for `users`: each user's closure is walked when asked for, as
/// its sorted entries or its digest, and never stored. So the memory is the lockfile's graph
/// whatever the number of users, even when a thousand users share one long chain of packages.
///
/// `bytes` are one revision's lockfile. An error means the file cannot be used at all (not
/// UTF-8, too large, not the format, a version this parser does not know); its `file` is the
/// format's usual file name, which the caller replaces with the path it read.
pub fn read(
    format: LockFormat,
    bytes: &[u8],
    users: &[LockUser],
) -> Result<Closures, DiscoverError> {
    let limit = format.max_bytes();
    if bytes.len() as u64 > limit {
        return Err(error(
            format,
            format!(
                "is {} bytes, more than the {} MiB read for a {}",
                bytes.len(),
                limit >> 20,
                format.kind()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        let message = format!("is not UTF-8 (at line {line}: {e})");
        DiscoverError::new(file_name(format), Some(line), message)
    })?;
    let resolved = match format {
        LockFormat::NpmLock => npm::resolve(text, users),
        LockFormat::PnpmLock => pnpm::resolve(text, users),
        LockFormat::YarnLock => yarn::resolve(text, users),
        LockFormat::CargoLock => cargo::resolve(text, users),
        LockFormat::GoMod => gomod::resolve(text, users),
        LockFormat::CargoManifest => cargo::manifest_resolve(text, users),
    }
    .map_err(|e| DiscoverError::new(file_name(format), e.line, e.message))?;
    Ok(Closures::new(resolved, users))
}

/// Each user's closure as a set, in the order of `users`: [`read`], every closure collected.
/// For tests and small inputs; [`Closures`] is what keeps memory bounded.
pub fn closures(
    format: LockFormat,
    bytes: &[u8],
    users: &[LockUser],
) -> Result<Vec<Closure>, DiscoverError> {
    let read = read(format, bytes, users)?;
    Ok((0..read.len())
        .map(|user| read.entries(user).into_iter().map(str::to_owned).collect())
        .collect())
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
    DiscoverError::new(file_name(format), None, message)
}

/// Why a lockfile cannot be used, and the line at fault where there is one (not for what is
/// wrong with the whole file, such as holding too many packages).
#[derive(Debug)]
struct Unreadable {
    line: Option<usize>,
    message: String,
}

impl Unreadable {
    /// What is wrong at byte `offset` of `text`; the message says the line too, since it is
    /// what a `lockfile_unreadable` reason shows.
    fn at(text: &str, offset: usize, message: impl std::fmt::Display) -> Unreadable {
        let line = line_at(text, offset);
        Unreadable {
            line: Some(line),
            message: format!("{message} (at line {line})"),
        }
    }

    /// A parser's error that names its line in its message already.
    fn on_line(line: usize, message: String) -> Unreadable {
        Unreadable {
            line: Some(line.max(1)),
            message,
        }
    }
}

impl From<String> for Unreadable {
    fn from(message: String) -> Unreadable {
        Unreadable {
            line: None,
            message,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Where `key` is written in `text` (its first occurrence), for an error about its value.
fn offset_of(text: &str, key: &str) -> usize {
    text.find(key).unwrap_or(0)
}

/// The closure entry of a user the lockfile has no entry for: the lockfile is older than the
/// manifests. It keeps the closure from looking empty (and equal to another empty one), so the
/// user counts as changed when it appears or disappears.
pub fn missing_entry(key: &str) -> String {
    format!("<{key} not in lockfile>")
}

/// A closure's digest: its entries in byte order, each length-prefixed. It stands for the
/// lockfile in task hashes, so it never changes for the same entries.
pub fn digest<'a>(entries: impl IntoIterator<Item = &'a str>) -> blake3::Hash {
    let mut h = blake3::Hasher::new_derive_key("shockwave 2027-01 lockfile closure v1");
    for entry in entries {
        h.update(&(entry.len() as u64).to_le_bytes());
        h.update(entry.as_bytes());
    }
    h.finalize()
}

/// Resolved packages of one lockfile: a node per package instance (or per entry of a module
/// file or manifest), its label (`None` for a node that is no entry itself: a workspace-local
/// package, which is walked through, or a group of entries several users share) and its edges.
#[derive(Debug, Default)]
struct Graph {
    labels: Vec<Option<String>>,
    edges: Vec<Vec<usize>>,
}

impl Graph {
    fn add(&mut self, label: Option<String>) -> Result<usize, Unreadable> {
        if self.labels.len() >= MAX_NODES {
            return Err(format!("holds more than {MAX_NODES} packages").into());
        }
        self.labels.push(label);
        self.edges.push(Vec::new());
        Ok(self.labels.len() - 1)
    }
}

/// A parsed lockfile: its graph and, per user, the nodes the user depends on directly, or
/// `None` when the lockfile does not know the user.
struct Resolved {
    graph: Graph,
    starts: Vec<Option<Vec<usize>>>,
}

/// Every user's closure of one lockfile, walked on demand (see [`read`]).
pub struct Closures {
    graph: Graph,
    /// Per user, where its walk starts.
    starts: Vec<Vec<usize>>,
    /// Per node, the rank of its label among the distinct labels in byte order (`u32::MAX`
    /// for an unlabelled node): a closure is sorted and deduplicated by sorting ranks.
    rank: Vec<u32>,
    /// Per rank, a node with that label.
    by_rank: Vec<usize>,
    /// Reused by every walk: per node, the number of the last walk that reached it.
    seen: RefCell<(u32, Vec<u32>)>,
}

impl Closures {
    fn new(resolved: Resolved, users: &[LockUser]) -> Closures {
        let Resolved { mut graph, starts } = resolved;
        let starts = users
            .iter()
            .zip(starts)
            .map(|(user, starts)| match starts {
                Some(starts) => starts,
                // One node more per user at most: within the graph's bound by far.
                None => {
                    graph.labels.push(Some(missing_entry(&user.key)));
                    graph.edges.push(Vec::new());
                    vec![graph.labels.len() - 1]
                }
            })
            .collect::<Vec<_>>();
        let mut labelled: Vec<usize> = (0..graph.labels.len())
            .filter(|&n| graph.labels[n].is_some())
            .collect();
        labelled.sort_unstable_by(|&a, &b| graph.labels[a].cmp(&graph.labels[b]));
        let mut rank = vec![u32::MAX; graph.labels.len()];
        let mut by_rank: Vec<usize> = Vec::new();
        for &node in &labelled {
            let same = by_rank
                .last()
                .is_some_and(|&last| graph.labels[last] == graph.labels[node]);
            if !same {
                by_rank.push(node);
            }
            rank[node] = (by_rank.len() - 1) as u32;
        }
        let nodes = graph.labels.len();
        Closures {
            graph,
            starts,
            rank,
            by_rank,
            seen: RefCell::new((0, vec![0; nodes])),
        }
    }

    /// Closures of `users` users from a lockfile that does not exist: empty, since nothing is
    /// installed.
    pub fn absent(users: usize) -> Closures {
        Closures {
            graph: Graph::default(),
            starts: vec![Vec::new(); users],
            rank: Vec::new(),
            by_rank: Vec::new(),
            seen: RefCell::new((0, Vec::new())),
        }
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// User `user`'s closure: every labelled node reachable from its starts, as distinct
    /// entries in byte order (the order of a [`Closure`]).
    pub fn entries(&self, user: usize) -> Vec<&str> {
        let mut ranks = self.ranks(user);
        ranks.sort_unstable();
        ranks.dedup();
        ranks
            .into_iter()
            .filter_map(|r| self.graph.labels[self.by_rank[r as usize]].as_deref())
            .collect()
    }

    /// The digest of user `user`'s closure ([`digest`] of its entries).
    pub fn digest(&self, user: usize) -> blake3::Hash {
        digest(self.entries(user))
    }

    /// Every distinct label, in byte order (rank order).
    fn labels_sorted(&self) -> Vec<&str> {
        self.by_rank
            .iter()
            .filter_map(|&node| self.graph.labels[node].as_deref())
            .collect()
    }

    /// The label ranks reachable from `user`'s starts, in walk order, with repeats where two
    /// nodes share a label.
    fn ranks(&self, user: usize) -> Vec<u32> {
        let mut guard = self.seen.borrow_mut();
        let (walk, seen) = &mut *guard;
        *walk = walk.wrapping_add(1);
        if *walk == 0 {
            // After 2³² walks: forget every mark rather than confuse an old one for new.
            seen.fill(0);
            *walk = 1;
        }
        let walk = *walk;
        let mut stack: Vec<usize> = self.starts[user].clone();
        let mut out = Vec::new();
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut seen[node], walk) == walk {
                continue;
            }
            if self.rank[node] != u32::MAX {
                out.push(self.rank[node]);
            }
            stack.extend(self.graph.edges[node].iter().filter(|&&n| seen[n] != walk));
        }
        out
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
