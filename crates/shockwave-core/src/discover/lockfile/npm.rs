//! `package-lock.json` v2 / v3: the `packages` map, keyed by install location
//! (`node_modules/debug/node_modules/ms`), resolved the way Node does — from the depending
//! package's folder upwards through every `node_modules` on the way to the root.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::node_modules::Locations;
use super::{offset_of, package_label, Graph, Resolved, Unreadable};
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

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, Unreadable> {
    let lock: Lock = serde_json::from_str(text)
        .map_err(|e| Unreadable::on_line(e.line(), format!("is not valid JSON: {e}")))?;
    let version = match lock.lockfile_version {
        Some(2 | 3) => None,
        Some(v) => Some(v.to_string()),
        None => Some("(none)".to_owned()),
    };
    if let Some(v) = version {
        let at = offset_of(text, "\"lockfileVersion\"");
        return Err(Unreadable::at(text, at, unsupported(&v)));
    }
    let locations: Vec<&str> = lock.packages.keys().map(String::as_str).collect();
    let ids: HashMap<&str, usize> = locations.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut graph = Graph::default();
    for (location, entry) in &lock.packages {
        graph.add(label(location, entry))?;
    }
    // Every dependency of every package, then of every user, resolved in one pass.
    let mut questions: Vec<(&str, &str)> = Vec::new();
    for (location, entry) in &lock.packages {
        if !entry.link {
            questions.extend(entry.runtime_deps().map(|dep| (location.as_str(), dep)));
        }
    }
    let known: Vec<Option<&Entry>> = users.iter().map(|u| lock.packages.get(&u.key)).collect();
    for (user, entry) in users.iter().zip(&known) {
        if let Some(entry) = entry {
            let all = entry
                .runtime_deps()
                .chain(entry.dev_dependencies.keys().map(String::as_str));
            questions.extend(all.map(|dep| (user.key.as_str(), dep)));
        }
    }
    let mut answers = Locations::new(locations.iter().copied())
        .resolve(&questions)
        .into_iter();
    for (id, entry) in lock.packages.values().enumerate() {
        graph.edges[id] = if entry.link {
            // A link stands for the folder it points at; its dependencies are that folder's.
            entry
                .resolved
                .as_deref()
                .and_then(|target| ids.get(target).copied())
                .into_iter()
                .collect()
        } else {
            let n = entry.runtime_deps().count();
            answers.by_ref().take(n).flatten().collect()
        };
    }
    let starts = known
        .iter()
        .map(|entry| {
            let entry = (*entry)?;
            let n = entry.runtime_deps().count() + entry.dev_dependencies.len();
            Some(answers.by_ref().take(n).flatten().collect())
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
