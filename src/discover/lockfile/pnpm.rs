//! `pnpm-lock.yaml` v6 – v9: `importers` (one per workspace folder) name the resolved version
//! of each direct dependency; the dependency graph is `snapshots` (v9) or `packages` (v6, keys
//! with a leading `/`). Keys carry peer suffixes (`ajv-keywords@5.1.0(ajv@8.20.0)`): each is
//! its own node, labelled without the suffix since the peers are entries of their own.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{Graph, Resolved};
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
}

/// How versions refer to graph keys.
#[derive(Clone, Copy)]
enum Keys {
    /// v6: `/name@version`.
    Slash,
    /// v7 and later: `name@version`.
    Plain,
}

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, String> {
    let mut lock: Lock =
        serde_saphyr::from_str(text).map_err(|e| format!("is not a pnpm lockfile: {e}"))?;
    let keys = check_version(lock.lockfile_version.as_ref())?;
    if lock.importers.is_empty() {
        lock.importers
            .insert(".".to_owned(), std::mem::take(&mut lock.root));
    }
    let snapshots = lock.snapshots.as_ref().unwrap_or(&lock.packages);
    let mut graph = Graph::default();
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(snapshots.len());
    for key in snapshots.keys() {
        ids.insert(key, graph.add(Some(label(key)))?);
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

/// Accepts lockfile versions 6 to 9 and says how their keys are written.
fn check_version(version: Option<&Version>) -> Result<Keys, String> {
    let text = match version {
        Some(Version::Text(s)) => s.clone(),
        Some(Version::Number(n)) => n.to_string(),
        None => String::from("(none)"),
    };
    let major = text.split('.').next().and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(6) => Ok(Keys::Slash),
        Some(7..=9) => Ok(Keys::Plain),
        _ => Err(format!(
            "lockfileVersion {text} is not supported (6 to 9 are): regenerate it with pnpm 8 or \
             later (`pnpm install`)"
        )),
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

/// `name@version` of a graph key, without the v6 slash and the peer suffix.
fn label(key: &str) -> String {
    let key = key.strip_prefix('/').unwrap_or(key);
    key.split_once('(').map_or(key, |(head, _)| head).to_owned()
}
