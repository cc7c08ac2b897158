//! Cargo workspaces: the members `[workspace] members` names (globs, less `exclude`), the root
//! package, and the path dependencies inside the workspace that Cargo makes members on its own;
//! edges from `path` dependencies (directly, or through `workspace = true` and a path in
//! `[workspace.dependencies]`) in `[dependencies]`, `[build-dependencies]` and every
//! `[target.*]` table, dev-only edges from `[dev-dependencies]`. An excluded crate a member
//! depends on by path is no member: its folder belongs to that member. `Cargo.lock` at the root
//! resolves the rest, and the root `Cargo.toml` is judged per member by the keys it inherits
//! (see `lockfile::cargo`). What `cargo metadata` accepts is accepted; what it refuses is an
//! error naming the manifest and line. `manifest` reads one `Cargo.toml`; this file finds the
//! members and turns them into services and edges.

use std::collections::{BTreeMap, BTreeSet};

use super::files;
use super::lockfile::ROOT_PACKAGE;
use super::{
    DiscoverError, DiscoveredService, Discovery, Ecosystem, Kind, LockFormat, LockUser, LockfileUse,
};
use crate::confine::Root;
use crate::graph::ServiceId;
use crate::paths::WorkspaceDirs;

mod manifest;

use manifest::{check_package, manifest_of, parse, path_deps, DepTable, Member, PathDep};

/// The Cargo workspace (or single package) at `root`, or nothing when there is no Cargo.toml.
pub(super) fn discover(
    root: &Root,
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
            .any(|e| dir == e || crate::paths::is_below(dir.as_bytes(), e.as_bytes()))
    };
    let mut errors = Vec::new();
    // Folders to read as members, with the path dependency that named each (`None`: `members`).
    let mut pending: BTreeMap<String, Option<PathDep>> = BTreeMap::new();
    for m in ws.map(|w| w.members.as_slice()).unwrap_or_default() {
        let line = Some(files::line_at(&root_text, m.span().start));
        let pattern = m.get_ref().as_str();
        let literal = !pattern.contains(['*', '?', '[', '{']);
        // A folder named outright is read as Cargo reads it, wherever it is (`vendor/x`, a
        // folder git ignores); a glob walks the folders globs walk.
        let named = files::join("", pattern.trim_end_matches('/'))
            .filter(|_| literal)
            .map(|dir| files::is_file(root, &manifest_of(&dir)).map(|is| is.then_some(dir)));
        // A folder that cannot even be looked at (a path the file system refuses) is the
        // entry's fault: say so at the entry.
        let at_entry = |e: DiscoverError| match e.line {
            Some(_) => e,
            None => DiscoverError::new(
                "Cargo.toml",
                line,
                format!(
                    "workspace member `{pattern}`: {}: {}; fix or remove it",
                    e.file, e.message
                ),
            ),
        };
        let found = match named {
            Some(Ok(Some(dir))) => Ok(vec![dir]),
            Some(Err(e)) => Err(at_entry(e)),
            _ => files::expand(root, dirs, pattern, "Cargo.toml", line),
        };
        match found {
            Ok(found) => {
                // Cargo refuses an entry that names no folder (it reads a glob matching
                // nothing as a path) and a folder, not excluded, without a Cargo.toml; a glob
                // whose every folder is excluded is fine. Where a glob matches crates and also
                // a folder without a Cargo.toml, the crates are taken.
                let kept: Vec<String> = found.iter().filter(|d| !excluded(d)).cloned().collect();
                let mut with_manifest = Vec::new();
                for d in &kept {
                    match files::is_file(root, &manifest_of(d)) {
                        Ok(true) => with_manifest.push(d.clone()),
                        Ok(false) => {}
                        Err(e) => errors.push(at_entry(e)),
                    }
                }
                if found.is_empty() || (!kept.is_empty() && with_manifest.is_empty()) {
                    errors.push(DiscoverError::new(
                        "Cargo.toml",
                        line,
                        format!("workspace member `{pattern}` matches no folder with a Cargo.toml; fix or remove it"),
                    ));
                }
                pending.extend(with_manifest.into_iter().map(|d| (d, None)));
            }
            Err(e) => errors.push(e),
        }
    }
    let workspace_deps = ws.map(|w| &w.dependencies);
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    if root_package || ws.is_none() {
        pending.insert(String::new(), None);
    }
    // Path dependencies inside the workspace are members too, as Cargo makes them, unless
    // excluded: read members until no new directory turns up. Excluded ones (and, in a single
    // package, every path dependency) are built as plain path dependencies: `outside`.
    let mut outside: BTreeMap<String, Member> = BTreeMap::new();
    let mut outside_pending: BTreeMap<String, PathDep> = BTreeMap::new();
    while let Some((dir, origin)) = pending.pop_first() {
        if members.contains_key(&dir) {
            continue;
        }
        let member = if dir.is_empty() {
            match top.take() {
                Some(top) => top,
                None => continue,
            }
        } else {
            match read_crate(root, &dir, origin.as_ref()) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        };
        if let Err(e) = check_package(&member) {
            errors.push(e);
            continue;
        }
        for dep in path_deps(&member, workspace_deps, &root_text) {
            if members.contains_key(&dep.target) || dep.target == dir {
                continue;
            }
            if ws.is_some() && !excluded(&dep.target) {
                pending.entry(dep.target.clone()).or_insert(Some(dep));
            } else if !dir.is_empty() || ws.is_some() {
                outside_pending.entry(dep.target.clone()).or_insert(dep);
            }
        }
        members.insert(dir, member);
    }
    // What the excluded path dependencies need in turn, as Cargo builds them: their own
    // non-dev path dependencies.
    while let Some((dir, origin)) = outside_pending.pop_first() {
        if outside.contains_key(&dir) || members.contains_key(&dir) {
            continue;
        }
        match read_crate(root, &dir, Some(&origin)) {
            Ok(krate) => {
                for dep in path_deps(&krate, None, "").into_iter().filter(|d| !d.dev) {
                    if !outside.contains_key(&dep.target) && !members.contains_key(&dep.target) {
                        outside_pending.entry(dep.target.clone()).or_insert(dep);
                    }
                }
                outside.insert(dir, krate);
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    services(members, &outside, workspace_deps, &root_text, ws.is_some())
}

/// The crate in workspace-relative folder `dir`, named by `origin` (a path dependency) or by
/// `members`: an error when its Cargo.toml is missing or cannot be parsed, as in Cargo.
fn read_crate(root: &Root, dir: &str, origin: Option<&PathDep>) -> Result<Member, DiscoverError> {
    let manifest = manifest_of(dir);
    let read = files::read(root, &manifest).map_err(|e| match origin {
        // Not readable at all (too long a path, not a file): the dependency naming it is where
        // to look.
        Some(dep) if e.line.is_none() => dep.unreadable(&e),
        _ => e,
    })?;
    match read {
        Some(text) => parse(dir, &manifest, text),
        None => Err(match origin {
            Some(dep) => dep.missing(),
            None => DiscoverError::new(&manifest, None, "this workspace member has no Cargo.toml"),
        }),
    }
}

/// The services and their edges, with `Cargo.lock` resolving the rest.
fn services(
    members: BTreeMap<String, Member>,
    outside: &BTreeMap<String, Member>,
    workspace_deps: Option<&DepTable>,
    root_text: &str,
    workspace: bool,
) -> Result<Discovery, Vec<DiscoverError>> {
    let mut errors = Vec::new();
    let name_of = |m: &Member| m.name().to_owned();
    let mut by_name: BTreeMap<String, &Member> = BTreeMap::new();
    for m in members.values() {
        let name = name_of(m);
        if let Some(first) = by_name.get(&name) {
            errors.push(DiscoverError::new(
                &m.manifest,
                m.name_value()
                    .map(|v| files::line_at(&m.text, v.span().start)),
                format!(
                    "two workspace crates are named `{name}`: this one and {}; rename one",
                    files::at(
                        &first.manifest,
                        first
                            .name_value()
                            .map(|v| files::line_at(&first.text, v.span().start))
                    )
                ),
            ));
            continue;
        }
        by_name.insert(name, m);
    }
    let mut services = Vec::with_capacity(members.len());
    // Where each build edge is declared: (crate, dependency) → line in the crate's manifest.
    let mut edge_lines: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in members.values() {
        let own = name_of(m);
        let mut declared = |dep: &str, dev: bool, line: usize| {
            if !dev {
                edge_lines
                    .entry((own.clone(), dep.to_owned()))
                    .or_insert(line);
            }
        };
        // Edges by name: the ones a build needs, and the dev-dependencies (its tests, examples
        // and benches only: Cargo never builds a dependency's dev-dependencies).
        let (mut deps, mut dev_deps) = (BTreeSet::new(), BTreeSet::new());
        let mut paths = BTreeSet::new();
        for dep in path_deps(m, workspace_deps, root_text) {
            if let Some(target) = members.get(&dep.target) {
                let name = name_of(target);
                if name != own {
                    declared(&name, dep.dev, dep.entry_line);
                    if dep.dev { &mut dev_deps } else { &mut deps }.insert(name);
                }
            } else if outside.contains_key(&dep.target) {
                // An excluded crate it builds: its folder, and what it needs, are the member's
                // own inputs.
                let mut stack = vec![dep.target.clone()];
                let mut seen = BTreeSet::new();
                while let Some(dir) = stack.pop() {
                    if !seen.insert(dir.clone()) {
                        continue;
                    }
                    paths.insert(crate::glob::below(&dir));
                    let Some(krate) = outside.get(&dir) else {
                        continue;
                    };
                    for next in path_deps(krate, None, "").into_iter().filter(|d| !d.dev) {
                        match members.get(&next.target) {
                            Some(target) if name_of(target) != own => {
                                declared(&name_of(target), dep.dev, dep.entry_line);
                                if dep.dev { &mut dev_deps } else { &mut deps }
                                    .insert(name_of(target));
                            }
                            Some(_) => {}
                            None => stack.push(next.target),
                        }
                    }
                }
            }
        }
        dev_deps.retain(|d| !deps.contains(d));
        services.push(DiscoveredService {
            name: own,
            root: m.dir.clone(),
            ecosystem: Ecosystem::Cargo,
            manifest: m.manifest.clone(),
            name_line: m
                .name_value()
                .map(|v| files::line_at(&m.text, v.span().start)),
            deps: deps.into_iter().collect(),
            dev_deps: dev_deps.into_iter().collect(),
            scripts: super::default_targets(Ecosystem::Cargo, Kind::Service),
            packages: Vec::new(),
            kind: Kind::Service,
            paths: paths.into_iter().collect(),
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    if let Err(e) = check_cycle(&services, &edge_lines) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let users = services
        .iter()
        .map(|s| LockUser {
            service: s.name.clone(),
            key: s.name.clone(),
            direct: Vec::new(),
        })
        .collect();
    let mut lockfiles = vec![LockfileUse {
        path: "Cargo.lock".to_string(),
        format: LockFormat::CargoLock,
        target: None,
        users,
    }];
    if workspace {
        lockfiles.push(LockfileUse {
            path: "Cargo.toml".to_string(),
            format: LockFormat::CargoManifest,
            target: None,
            users: manifest_users(&members),
        });
    }
    Ok(Discovery {
        services,
        lockfiles,
        global_inputs: Vec::new(),
        ..Discovery::default()
    })
}

/// The members as users of the root manifest: each selects the keys it inherits, and the root
/// package its own sections too.
fn manifest_users(members: &BTreeMap<String, Member>) -> Vec<LockUser> {
    let mut users: Vec<LockUser> = members
        .values()
        .map(|m| {
            let mut direct = m.inherited();
            if m.dir.is_empty() {
                direct.push(ROOT_PACKAGE.to_owned());
            }
            LockUser {
                service: m.name().to_owned(),
                key: m.manifest.clone(),
                direct,
            }
        })
        .collect();
    users.sort_by(|a, b| a.service.cmp(&b.service));
    users
}

/// A cycle among the crates' build edges (sorted `services`), at the line of its first crate
/// that declares the first edge, with every edge's place: Cargo refuses one ("cyclic package
/// dependency"), while npm, pnpm, yarn and Go install theirs. Dev-dependencies are no edges
/// here: Cargo accepts a cycle through them.
fn check_cycle(
    services: &[DiscoveredService],
    edge_lines: &BTreeMap<(String, String), usize>,
) -> Result<(), DiscoverError> {
    let id = |name: &str| {
        services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(ServiceId::new)
    };
    let deps: Vec<Vec<ServiceId>> = services
        .iter()
        .map(|s| s.deps.iter().filter_map(|d| id(d)).collect())
        .collect();
    let graph =
        crate::graph::ServiceGraph::build(deps.iter().map(Vec::as_slice), std::iter::empty());
    let Some(cycle) = graph
        .cycles()
        .first()
        .and_then(|g| graph.cycle_through(g[0]))
    else {
        return Ok(());
    };
    let chain: Vec<&str> = cycle
        .iter()
        .map(|i| services[i.index()].name.as_str())
        .collect();
    let line_of = |from: ServiceId, to: ServiceId| {
        let name = |id: ServiceId| services[id.index()].name.clone();
        edge_lines.get(&(name(from), name(to))).copied()
    };
    let places: Vec<String> = cycle
        .windows(2)
        .map(|pair| {
            files::at(
                &services[pair[0].index()].manifest,
                line_of(pair[0], pair[1]),
            )
        })
        .collect();
    let first = &services[cycle[0].index()];
    Err(DiscoverError::new(
        &first.manifest,
        cycle.get(1).and_then(|&next| line_of(cycle[0], next)),
        format!(
            "dependency cycle: {} (declared at {}); Cargo refuses a cycle of dependencies: remove one of them (a `[dev-dependencies]` entry may close a cycle)",
            chain.join(" → "),
            places.join(", ")
        ),
    ))
}
