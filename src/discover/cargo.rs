//! Cargo workspaces: the members `[workspace] members` names (globs, less `exclude`), the root
//! package, and the path dependencies inside the workspace that Cargo makes members on its own;
//! edges from `path` dependencies (directly, or through `workspace = true` and a path in
//! `[workspace.dependencies]`) in `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`
//! and every `[target.*]` table. `Cargo.lock` at the root resolves the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::files;
use super::{
    DiscoverError, DiscoveredService, Discovery, Ecosystem, LockFormat, LockUser, LockfileUse,
};
use crate::config::WorkspaceDirs;

type DepTable = BTreeMap<String, Spanned<toml::Value>>;

/// The parts of a `Cargo.toml` discovery reads.
#[derive(Debug, Default, Deserialize)]
struct Manifest {
    package: Option<Package>,
    workspace: Option<WorkspaceTable>,
    // The top-level tables are written out rather than flattened: serde's `flatten` buffers
    // values, which loses the spans errors point at.
    #[serde(default)]
    dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev: DepTable,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build: DepTable,
    #[serde(default)]
    target: BTreeMap<String, DepTables>,
}

#[derive(Debug, Default, Deserialize)]
struct DepTables {
    #[serde(default)]
    dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev: DepTable,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build: DepTable,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WorkspaceTable {
    #[serde(default)]
    members: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    dependencies: DepTable,
}

/// One member, read.
struct Member {
    dir: String,
    manifest: String,
    text: String,
    parsed: Manifest,
}

/// The Cargo workspace (or single package) at `root`, or nothing when there is no Cargo.toml.
pub(super) fn discover(
    root: &Path,
    dirs: &mut dyn WorkspaceDirs,
) -> Result<Discovery, Vec<DiscoverError>> {
    let one = |e| vec![e];
    let Some(text) = files::read(root, "Cargo.toml").map_err(one)? else {
        return Ok(Discovery::default());
    };
    let mut top = parse("", "Cargo.toml", text).map_err(one)?;
    let workspace = top.parsed.workspace.take();
    let ws = workspace.as_ref();
    let root_text = top.text.clone();
    let root_package = top.parsed.package.is_some();
    let mut top = Some(top);
    let exclude: Vec<String> = ws
        .map(|w| {
            w.exclude
                .iter()
                .filter_map(|e| files::join("", e))
                .collect()
        })
        .unwrap_or_default();
    let excluded = |dir: &str| {
        exclude
            .iter()
            .any(|e| dir == e || dir.starts_with(&format!("{e}/")))
    };
    let mut errors = Vec::new();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for m in ws.map(|w| w.members.as_slice()).unwrap_or_default() {
        let line = Some(files::line_at(&root_text, m.span().start));
        match files::expand(root, dirs, m.get_ref(), "Cargo.toml", line) {
            Ok(found) => {
                let with_manifest: Vec<String> = found
                    .into_iter()
                    .filter(|d| files::is_file(root, &manifest_of(d)) && !excluded(d))
                    .collect();
                if with_manifest.is_empty() {
                    errors.push(DiscoverError::new(
                        "Cargo.toml",
                        line,
                        format!("workspace member `{}` matches no folder with a Cargo.toml; fix or remove it", m.get_ref()),
                    ));
                }
                pending.extend(with_manifest);
            }
            Err(e) => errors.push(e),
        }
    }
    let workspace_deps = ws.map(|w| &w.dependencies);
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    if root_package || ws.is_none() {
        pending.insert(String::new());
    }
    // Path dependencies inside the workspace are members too, as Cargo makes them: read members
    // until no new directory turns up.
    while let Some(dir) = pending.pop_first() {
        if members.contains_key(&dir) {
            continue;
        }
        let member = if dir.is_empty() {
            match top.take() {
                Some(top) => top,
                None => continue,
            }
        } else {
            let manifest = manifest_of(&dir);
            match files::read(root, &manifest)
                .and_then(|t| parse(&dir, &manifest, t.unwrap_or_default()))
            {
                Ok(m) => m,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        };
        if member.parsed.package.is_none() {
            errors.push(DiscoverError::new(
                &member.manifest,
                Some(1),
                "this workspace member has no [package]; add one or leave the folder out of `members`",
            ));
            continue;
        }
        for (_, target, _) in path_deps(&member, workspace_deps, &root_text, &mut errors) {
            if ws.is_some() && !excluded(&target) && !members.contains_key(&target) {
                pending.insert(target);
            }
        }
        members.insert(dir, member);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    services(
        members,
        workspace_deps,
        &root_text,
        ws.is_some() && !root_package,
    )
}

/// The services and their edges, with `Cargo.lock` resolving the rest.
fn services(
    members: BTreeMap<String, Member>,
    workspace_deps: Option<&DepTable>,
    root_text: &str,
    virtual_root: bool,
) -> Result<Discovery, Vec<DiscoverError>> {
    let mut errors = Vec::new();
    let name_of = |m: &Member| {
        m.parsed
            .package
            .as_ref()
            .map(|p| p.name.get_ref().clone())
            .unwrap_or_default()
    };
    let mut by_name: BTreeMap<String, &Member> = BTreeMap::new();
    for m in members.values() {
        let name = name_of(m);
        if let Some(first) = by_name.get(&name) {
            errors.push(DiscoverError::new(
                &m.manifest,
                m.parsed
                    .package
                    .as_ref()
                    .map(|p| files::line_at(&m.text, p.name.span().start)),
                format!(
                    "two workspace crates are named `{name}`: this one and {}; rename one",
                    first.manifest
                ),
            ));
            continue;
        }
        by_name.insert(name, m);
    }
    // Edges by name: the ones a build needs, and the dev-dependencies (tests and examples only).
    let mut edges: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for m in members.values() {
        let own = name_of(m);
        let entry = edges.entry(own.clone()).or_default();
        for (_, target, dev) in path_deps(m, workspace_deps, root_text, &mut errors) {
            let Some(dep) = members.get(&target).map(name_of).filter(|d| *d != own) else {
                continue;
            };
            if dev {
                entry.1.insert(dep);
            } else {
                entry.0.insert(dep);
            }
        }
    }
    let test_only = place_dev_edges(&mut edges);
    let root_of: BTreeMap<String, &str> = members
        .values()
        .map(|m| (name_of(m), m.dir.as_str()))
        .collect();
    let mut services = Vec::with_capacity(members.len());
    for m in members.values() {
        let own = name_of(m);
        let deps = edges
            .get(&own)
            .map(|(normal, _)| normal.iter().cloned().collect())
            .unwrap_or_default();
        let paths = test_only
            .get(&own)
            .into_iter()
            .flatten()
            .filter_map(|name| root_of.get(name))
            .map(|root| crate::glob::below(root))
            .collect();
        services.push(DiscoveredService {
            name: own,
            root: m.dir.clone(),
            ecosystem: Ecosystem::Cargo,
            manifest: m.manifest.clone(),
            deps,
            dev_deps: Vec::new(),
            scripts: Vec::new(),
            packages: Vec::new(),
            paths,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let users = services
        .iter()
        .map(|s| LockUser {
            service: s.name.clone(),
            key: s.name.clone(),
            direct: Vec::new(),
        })
        .collect();
    Ok(Discovery {
        services,
        lockfiles: vec![LockfileUse {
            path: "Cargo.lock".to_string(),
            format: LockFormat::CargoLock,
            users,
        }],
        global_inputs: if virtual_root {
            vec!["Cargo.toml".to_string()]
        } else {
            Vec::new()
        },
        ..Discovery::default()
    })
}

/// Cargo allows a dev-dependency cycle (`a`'s tests use `b`, which depends on `a`); a service graph
/// cannot hold one. Each dev-dependency becomes an edge, in name order, unless it would close a
/// cycle; then the dependent instead gets the dependency and everything that dependency needs as
/// its own files (returned per service), so a change there still affects it and enters its task
/// hashes. Build edges are left alone: a cycle among them is Cargo's error too.
fn place_dev_edges(
    edges: &mut BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
) -> BTreeMap<String, BTreeSet<String>> {
    let names: Vec<String> = edges.keys().cloned().collect();
    let mut test_only: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in &names {
        let dev = std::mem::take(&mut edges.get_mut(name).expect("listed above").1);
        for dep in dev {
            let reach = reachable(edges, &dep);
            if reach.contains(name) {
                let used = test_only.entry(name.clone()).or_default();
                used.extend(reach.into_iter().filter(|n| n != name));
            } else if let Some(e) = edges.get_mut(name) {
                e.0.insert(dep);
            }
        }
    }
    test_only
}

/// `from` and every service it reaches through the edges placed so far.
fn reachable(
    edges: &BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    from: &str,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([from.to_string()]);
    let mut stack = vec![from.to_string()];
    while let Some(n) = stack.pop() {
        for d in edges.get(&n).map(|e| &e.0).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

/// Every path dependency of `m` in every table: `(dependency key, workspace-relative target,
/// whether it is a dev-dependency)`. A path leaving the repository is reported into `errors`.
fn path_deps(
    m: &Member,
    workspace_deps: Option<&DepTable>,
    root_text: &str,
    errors: &mut Vec<DiscoverError>,
) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let p = &m.parsed;
    let tables = [(&p.dependencies, false), (&p.dev, true), (&p.build, false)]
        .into_iter()
        .chain(
            p.target
                .values()
                .flat_map(|t| [(&t.dependencies, false), (&t.dev, true), (&t.build, false)]),
        );
    for (table, dev) in tables {
        for (key, value) in table {
            let inherited = value
                .get_ref()
                .get("workspace")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            let (path, base, file, text, span) = if inherited {
                let Some(w) = workspace_deps.and_then(|w| w.get(key)) else {
                    continue;
                };
                (
                    w.get_ref().get("path"),
                    "",
                    "Cargo.toml",
                    root_text,
                    w.span(),
                )
            } else {
                let path = value.get_ref().get("path");
                (
                    path,
                    m.dir.as_str(),
                    m.manifest.as_str(),
                    m.text.as_str(),
                    value.span(),
                )
            };
            let Some(path) = path.and_then(toml::Value::as_str) else {
                continue;
            };
            match files::join(base, path) {
                Some(target) => out.push((key.clone(), target, dev)),
                None => errors.push(DiscoverError::new(
                    file,
                    Some(files::line_at(text, span.start)),
                    format!("dependency `{key}` has path `{path}`, outside the repository; path dependencies must stay inside it"),
                )),
            }
        }
    }
    out
}

fn manifest_of(dir: &str) -> String {
    if dir.is_empty() {
        "Cargo.toml".to_string()
    } else {
        format!("{dir}/Cargo.toml")
    }
}

fn parse(dir: &str, manifest: &str, text: String) -> Result<Member, DiscoverError> {
    match toml::from_str::<Manifest>(&text) {
        Ok(parsed) => Ok(Member {
            dir: dir.to_string(),
            manifest: manifest.to_string(),
            text,
            parsed,
        }),
        Err(e) => Err(DiscoverError::new(
            manifest,
            e.span().map(|s| files::line_at(&text, s.start)),
            format!("cannot be parsed as Cargo.toml: {}", e.message().trim_end()),
        )),
    }
}
