//! `Cargo.lock` v3 / v4, read with `toml` and serde: `[[package]]` tables with `name`,
//! `version`, `source` (absent for workspace and path crates) and `dependencies`, each written
//! `name`, `name version` or `name version (source)` — as much as tells the packages apart.
//! Dev, build and every target's dependencies are all recorded, so all count.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Graph, Resolved};
use crate::discover::LockUser;

/// The registry whose crates are labelled `name@version` alone.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

#[derive(Deserialize)]
struct Lock {
    version: Option<u32>,
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub(super) fn resolve(text: &str, users: &[LockUser]) -> Result<Resolved, String> {
    let lock: Lock = toml::from_str(text).map_err(|e| format!("is not a Cargo lockfile: {e}"))?;
    match lock.version {
        Some(3 | 4) => {}
        other => {
            return Err(format!(
                "version {} is not supported (3 and 4 are): regenerate it with a recent cargo \
                 (`cargo generate-lockfile`)",
                other.map_or_else(|| "1 or 2".to_owned(), |v| v.to_string())
            ))
        }
    }
    let mut graph = Graph::default();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (id, package) in lock.package.iter().enumerate() {
        graph.add(label(package))?;
        by_name.entry(&package.name).or_default().push(id);
    }
    for (id, package) in lock.package.iter().enumerate() {
        graph.edges[id] = package
            .dependencies
            .iter()
            .filter_map(|dep| find(&lock.package, &by_name, dep))
            .collect();
    }
    let starts = users
        .iter()
        .map(|user| {
            let ids = by_name.get(user.key.as_str())?;
            let local = ids.iter().find(|&&id| lock.package[id].source.is_none())?;
            Some(graph.edges[*local].clone())
        })
        .collect();
    Ok(Resolved { graph, starts })
}

/// `name@version` for a crates.io crate, `name@version (source)` for another registry or a git
/// revision (whose commit can change under the same version); `None` for a local crate.
fn label(package: &Package) -> Option<String> {
    let source = package.source.as_deref()?;
    Some(if source == CRATES_IO {
        format!("{}@{}", package.name, package.version)
    } else {
        format!("{}@{} ({source})", package.name, package.version)
    })
}

/// The package a `dependencies` entry names.
fn find(packages: &[Package], by_name: &HashMap<&str, Vec<usize>>, dep: &str) -> Option<usize> {
    let mut parts = dep.splitn(3, ' ');
    let name = parts.next()?;
    let version = parts.next();
    let source = parts
        .next()
        .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
    by_name.get(name)?.iter().copied().find(|&id| {
        let package = &packages[id];
        version.is_none_or(|v| package.version == v)
            && source.is_none_or(|s| package.source.as_deref() == Some(s))
    })
}
