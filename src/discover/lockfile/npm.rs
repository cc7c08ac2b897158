//! `package-lock.json` v2 / v3: the `packages` map, keyed by install location
//! (`node_modules/debug/node_modules/ms`), resolved the way Node does — from the depending
//! package's folder upwards through every `node_modules` on the way to the root.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{package_label, Graph, Resolved};
use crate::discover::LockUser;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock {
    lockfile_version: Option<u64>,
    #[serde(default)]
    packages: BTreeMap<String, Entry>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
}

impl Entry {
    /// What npm installs for this package when something depends on it: everything but its
    /// dev dependencies (npm ≥ 7 installs peers).
    fn runtime_deps(&self) -> impl Iterator<Item = &str> {
        self.dependencies
            .keys()
            .chain(self.optional_dependencies.keys())
            .chain(self.peer_dependencies.keys())
            .map(String::as_str)
    }
}

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, String> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| format!("is not valid JSON: {e}"))?;
    match lock.lockfile_version {
        Some(2 | 3) => {}
        Some(v) => return Err(unsupported(&v.to_string())),
        None => return Err(unsupported("(none)")),
    }
    let locations: Vec<&str> = lock.packages.keys().map(String::as_str).collect();
    let ids: HashMap<&str, usize> = locations.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut graph = Graph::default();
    for (location, entry) in &lock.packages {
        graph.add(label(location, entry))?;
    }
    for (id, (location, entry)) in lock.packages.iter().enumerate() {
        graph.edges[id] = if entry.link {
            // A link stands for the folder it points at; its dependencies are that folder's.
            entry
                .resolved
                .as_deref()
                .and_then(|target| ids.get(target).copied())
                .into_iter()
                .collect()
        } else {
            entry
                .runtime_deps()
                .filter_map(|dep| find(&ids, location, dep))
                .collect()
        };
    }
    let starts = users
        .iter()
        .map(|user| {
            let entry = lock.packages.get(&user.key)?;
            let all = entry
                .runtime_deps()
                .chain(entry.dev_dependencies.keys().map(String::as_str));
            Some(all.filter_map(|dep| find(&ids, &user.key, dep)).collect())
        })
        .collect();
    Ok(Resolved { graph, starts })
}

fn unsupported(version: &str) -> String {
    format!(
        "lockfileVersion {version} is not supported (2 and 3 are): regenerate it with npm 7 or \
         later (`npm install --lockfile-version 3`)"
    )
}

/// `name@version` of an installed package, `None` for the root, a workspace folder or a link
/// (they are local; what they depend on is walked through).
fn label(location: &str, entry: &Entry) -> Option<String> {
    if entry.link || !location.contains("node_modules/") {
        return None;
    }
    let name = match &entry.name {
        Some(name) => name.as_str(),
        None => location
            .rsplit_once("node_modules/")
            .map_or(location, |(_, n)| n),
    };
    Some(package_label(
        name,
        entry.version.as_deref().unwrap_or(""),
        entry.resolved.as_deref(),
    ))
}

/// Where Node finds `dep` required from the package at `from`: `from/node_modules/dep`, then
/// the same in each ancestor folder, up to the root's `node_modules/dep`.
fn find(ids: &HashMap<&str, usize>, from: &str, dep: &str) -> Option<usize> {
    let mut dir = from;
    let mut candidate = String::with_capacity(from.len() + dep.len() + 14);
    loop {
        candidate.clear();
        if !dir.is_empty() {
            candidate.push_str(dir);
            candidate.push('/');
        }
        candidate.push_str("node_modules/");
        candidate.push_str(dep);
        if let Some(&id) = ids.get(candidate.as_str()) {
            return Some(id);
        }
        if dir.is_empty() {
            return None;
        }
        dir = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
}
