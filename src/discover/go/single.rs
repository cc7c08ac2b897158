//! One Go module at the workspace root: its services are the `members` the pipeline names (those
//! holding Go packages) or, with none, every `package main` directory; each carries its package
//! closure. No service-level edges are made: ownership by package already reaches every service
//! whose closure a change lies in, and an edge would also affect it for the other service's tests
//! and unrelated packages.

use std::collections::BTreeMap;
use std::path::Path;

use super::closure::{closure, is_under};
use super::gomod::{GoMod, ReplaceTarget};
use super::last_element;
use super::packages::scan_module;
use crate::discover::{
    DiscoverError, DiscoveredService, Discovery, Ecosystem, LockFormat, LockUser, LockfileUse,
    NamedService,
};

pub(super) fn discover_module(
    root: &Path,
    module: &GoMod,
    named: &[NamedService],
) -> Result<Discovery, DiscoverError> {
    let graph = scan_module(root, "", &module.module)?;
    let services: Vec<(String, String)> = if named.is_empty() {
        binaries(&graph)?
    } else {
        named
            .iter()
            .filter(|n| graph.packages.keys().any(|d| is_under(d, &n.root)))
            .map(|n| (n.name.clone(), n.root.clone()))
            .collect()
    };
    let roots: Vec<&str> = services.iter().map(|(_, r)| r.as_str()).collect();
    let mut found = Discovery::default();
    let mut users = Vec::new();
    for (name, dir) in &services {
        let others: Vec<&str> = roots.iter().copied().filter(|r| r != dir).collect();
        let c = closure(&graph, dir, &others, &|_| false);
        let paths = replaced_dirs(module, &c.external);
        users.push(LockUser {
            service: name.clone(),
            key: dir.clone(),
            direct: c.external,
        });
        found.services.push(DiscoveredService {
            name: name.clone(),
            root: dir.clone(),
            ecosystem: Ecosystem::Go,
            manifest: "go.mod".into(),
            deps: Vec::new(),
            dev_deps: Vec::new(),
            scripts: Vec::new(),
            packages: c.packages,
            paths,
        });
    }
    found.services.sort_by(|a, b| a.name.cmp(&b.name));
    if !users.is_empty() {
        found.lockfiles.push(LockfileUse {
            path: "go.mod".into(),
            format: LockFormat::GoMod,
            users,
        });
    }
    Ok(found)
}

/// The directories that `replace M => ./dir` lines put in place of the modules providing
/// `external` imports, as `paths` globs: the build reads them, but they are nested modules that
/// the package walk skips, so without these a change there would affect nothing.
fn replaced_dirs(module: &GoMod, external: &[String]) -> Vec<String> {
    let provides = |m: &str, import: &str| {
        import
            .strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    let mut out: Vec<String> = module
        .replace
        .iter()
        .filter_map(|r| match &r.new {
            ReplaceTarget::Local(dir) if external.iter().any(|i| provides(&r.old, i)) => {
                Some(crate::glob::below(dir))
            }
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Every `package main` directory as `(name, dir)`, named after its folder (the module path's last
/// element for the root package); two with one name are an error naming both.
fn binaries(graph: &super::packages::ModuleGraph) -> Result<Vec<(String, String)>, DiscoverError> {
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    for p in graph.packages.values().filter(|p| p.main) {
        let name = if p.dir.is_empty() {
            last_element(&graph.module)
        } else {
            last_element(&p.dir)
        };
        if let Some(first) = by_name.insert(name, &p.dir) {
            return Err(DiscoverError {
                file: p.dir.clone(),
                line: None,
                message: format!(
                    "two `package main` directories are named `{name}`: {first} and {}; name them in pipeline.toml (`[workspace] members` or `[services.NAME]`)",
                    p.dir
                ),
            });
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect())
}
