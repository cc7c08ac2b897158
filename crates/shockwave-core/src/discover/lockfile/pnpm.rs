//! `pnpm-lock.yaml` v6 – v9: `importers` (one per workspace folder) name the resolved version
//! of each direct dependency; the dependency graph is `snapshots` (v9) or `packages` (v6, keys
//! with a leading `/`). A package's identity is its whole key — peer suffixes
//! (`@hookform/resolvers@3.10.0(react-hook-form@7.62.0)(zod@3.25.76)`) and patch hash
//! (`(patch_hash=…)`) included — and its `resolution` (integrity, tarball, git commit): a new
//! peer set from a `packageExtensions` entry, a changed patch or a re-published tarball changes
//! what is installed for exactly the packages whose snapshots it touches.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{offset_of, Graph, Resolved, Unreadable};
use crate::discover::files::join;
use crate::discover::LockUser;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock {
    lockfile_version: Option<Version>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    /// A lockfile without workspace has the root importer's fields at the top level.
    #[serde(flatten)]
    root: Importer,
    #[serde(default)]
    packages: BTreeMap<String, Snapshot>,
    snapshots: Option<BTreeMap<String, Snapshot>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Importer {
    #[serde(default)]
    dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, ImporterDep>,
}

/// `lockfileVersion`: a string since v6 (`'9.0'`), a number before.
#[derive(Deserialize)]
#[serde(untagged)]
enum Version {
    Text(String),
    Number(f64),
}

/// `{specifier, version}` (v6 and later); a bare version string is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum ImporterDep {
    Full { version: String },
    Bare(String),
}

impl ImporterDep {
    fn version(&self) -> &str {
        match self {
            ImporterDep::Full { version } | ImporterDep::Bare(version) => version,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    /// In `packages` only (v9 keys it without the peer suffix; v6 holds everything there).
    resolution: Option<Resolution>,
}

/// Where a package's files come from: a registry tarball's `integrity`, a `tarball` URL, a git
/// `repo` at a `commit`, or a local `directory`.
#[derive(Deserialize, Default)]
struct Resolution {
    integrity: Option<String>,
    tarball: Option<String>,
    repo: Option<String>,
    commit: Option<String>,
    directory: Option<String>,
}

/// How versions refer to graph keys.
#[derive(Clone, Copy)]
enum Keys {
    /// v6: `/name@version`.
    Slash,
    /// v7 and later: `name@version`.
    Plain,
}

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let mut lock: Lock = crate::discover::yaml::from_str(text).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line() as usize);
        Unreadable::on_line(line, format!("is not a pnpm lockfile: {e}"))
    })?;
    let keys = check_version(lock.lockfile_version.as_ref())
        .map_err(|m| Unreadable::at(text, offset_of(text, "lockfileVersion"), m))?;
    if lock.importers.is_empty() {
        lock.importers
            .insert(".".to_owned(), std::mem::take(&mut lock.root));
    }
    let snapshots = lock.snapshots.as_ref().unwrap_or(&lock.packages);
    let mut graph = Graph::default();
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(snapshots.len());
    for key in snapshots.keys() {
        let resolution = snapshots[key]
            .resolution
            .as_ref()
            .or_else(|| lock.packages.get(package_key(key))?.resolution.as_ref());
        ids.insert(key, graph.add(Some(label(key, resolution)))?);
    }
    // Importers are nodes too, unlabelled: a `link:` to a workspace folder walks through them.
    let mut importer_ids: HashMap<&str, usize> = HashMap::new();
    for path in lock.importers.keys() {
        importer_ids.insert(path, graph.add(None)?);
    }
    for (key, snapshot) in snapshots {
        let deps = snapshot
            .dependencies
            .iter()
            .chain(&snapshot.optional_dependencies);
        graph.edges[ids[key.as_str()]] = deps
            .filter_map(|(name, version)| find(&ids, keys, name, version))
            .collect();
    }
    let edges = |path: &str, importer: &Importer, dev: bool| -> Vec<usize> {
        let mut deps: Vec<(&String, &ImporterDep)> = importer
            .dependencies
            .iter()
            .chain(&importer.optional_dependencies)
            .collect();
        if dev {
            deps.extend(&importer.dev_dependencies);
        }
        deps.into_iter()
            .filter_map(|(name, dep)| match dep.version().strip_prefix("link:") {
                Some(rel) => join(path, rel)
                    .and_then(|target| importer_ids.get(importer_key(&target)).copied()),
                None => find(&ids, keys, name, dep.version()),
            })
            .collect()
    };
    for (path, importer) in &lock.importers {
        graph.edges[importer_ids[path.as_str()]] = edges(path, importer, false);
    }
    let starts = users
        .iter()
        .map(|user| {
            let key = importer_key(&user.key);
            let importer = lock.importers.get(key)?;
            Some(edges(key, importer, true))
        })
        .collect();
    Ok(Resolved { graph, starts })
}

/// A `lockfileVersion` this reader does not know, as written.
#[derive(Debug, thiserror::Error)]
#[error("lockfileVersion {0} is not supported (6 to 9 are): regenerate it with pnpm 8 or later (`pnpm install`)")]
struct UnsupportedVersion(String);

/// Accepts lockfile versions 6 to 9 and says how their keys are written.
fn check_version(version: Option<&Version>) -> Result<Keys, UnsupportedVersion> {
    let text = match version {
        Some(Version::Text(s)) => s.clone(),
        Some(Version::Number(n)) => n.to_string(),
        None => String::from("(none)"),
    };
    let major = text.split('.').next().and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(6) => Ok(Keys::Slash),
        Some(7..=9) => Ok(Keys::Plain),
        _ => Err(UnsupportedVersion(text)),
    }
}

/// The importer key of a workspace folder: `.` for the root.
fn importer_key(path: &str) -> &str {
    if path.is_empty() {
        "."
    } else {
        path
    }
}

/// The graph node a dependency's resolved version names: `name@version` (with the v6 slash),
/// or for an alias the version itself (`bar@1.0.0`, `/bar@1.0.0`).
fn find(ids: &HashMap<&str, usize>, keys: Keys, name: &str, version: &str) -> Option<usize> {
    let slash = match keys {
        Keys::Slash => "/",
        Keys::Plain => "",
    };
    [
        format!("{slash}{name}@{version}"),
        version.to_owned(),
        format!("/{version}"),
    ]
    .iter()
    .find_map(|key| ids.get(key.as_str()).copied())
}

/// The `packages` key of a v9 snapshot key: without the peer suffix and patch hash.
fn package_key(key: &str) -> &str {
    key.split_once('(').map_or(key, |(head, _)| head)
}

/// The closure entry of a package: its whole key without the v6 slash (peer suffixes and patch
/// hash kept), then where its files come from — ` (repo#commit)`, ` (tarball URL)` or
/// ` (directory)` — and last the integrity's first characters, ` #sha512-…` (enough to see a
/// re-published tarball; lists show it only where it is what changed).
fn label(key: &str, resolution: Option<&Resolution>) -> String {
    let mut out = key.strip_prefix('/').unwrap_or(key).to_owned();
    let Some(r) = resolution else {
        return out;
    };
    let mut source: Vec<&str> = Vec::new();
    let commit;
    match (&r.repo, &r.commit) {
        (Some(repo), Some(c)) => {
            commit = format!("{repo}#{c}");
            source.push(&commit);
        }
        (None, Some(c)) => source.push(c),
        _ => {}
    }
    source.extend(r.tarball.as_deref());
    source.extend(r.directory.as_deref());
    if !source.is_empty() {
        out.push_str(" (");
        out.push_str(&source.join(" "));
        out.push(')');
    }
    if let Some(integrity) = &r.integrity {
        out.push_str(" #");
        out.push_str(short_integrity(integrity));
    }
    out
}

/// `sha512-` and the first 16 characters of the digest (96 bits): a changed tarball shows, the
/// lists stay readable.
fn short_integrity(integrity: &str) -> &str {
    let digest_start = integrity.find('-').map_or(0, |i| i + 1);
    let end = integrity
        .char_indices()
        .nth(digest_start + 16)
        .map_or(integrity.len(), |(i, _)| i);
    &integrity[..end]
}
