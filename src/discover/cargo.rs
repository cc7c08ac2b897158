//! Cargo workspaces: the members `[workspace] members` names (globs, less `exclude`), the root
//! package, and the path dependencies inside the workspace that Cargo makes members on its own;
//! edges from `path` dependencies (directly, or through `workspace = true` and a path in
//! `[workspace.dependencies]`) in `[dependencies]`, `[build-dependencies]` and every
//! `[target.*]` table, dev-only edges from `[dev-dependencies]`. An excluded crate a member
//! depends on by path is no member: its folder belongs to that member. `Cargo.lock` at the root
//! resolves the rest, and the root `Cargo.toml` is judged per member by the keys it inherits
//! (see `lockfile::cargo`). What `cargo metadata` accepts is accepted; what it refuses is an
//! error naming the manifest and line.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::files;
use super::lockfile::{manifest_key, ROOT_PACKAGE};
use super::{
    DiscoverError, DiscoveredService, Discovery, Ecosystem, Kind, LockFormat, LockUser, LockfileUse,
};
use crate::config::WorkspaceDirs;
use crate::confine::Root;

type DepTable = BTreeMap<String, Spanned<toml::Value>>;

/// The parts of a `Cargo.toml` discovery reads.
#[derive(Debug, Default, Deserialize)]
struct Manifest {
    /// Every key, for the name and for the ones inherited from the workspace. `[project]` is
    /// the old name Cargo still reads.
    #[serde(alias = "project")]
    package: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    workspace: Option<WorkspaceTable>,
    lints: Option<toml::Value>,
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

impl Member {
    /// The package name; `""` before [`check_package`] has refused a member without one.
    fn name(&self) -> &str {
        self.name_value()
            .and_then(|v| v.get_ref().as_str())
            .unwrap_or_default()
    }

    fn name_value(&self) -> Option<&Spanned<toml::Value>> {
        self.parsed.package.as_ref()?.get_ref().get("name")
    }

    /// Every dependency table: `(table, whether it holds dev-dependencies)`.
    fn dep_tables(&self) -> impl Iterator<Item = (&DepTable, bool)> {
        let p = &self.parsed;
        [(&p.dependencies, false), (&p.dev, true), (&p.build, false)]
            .into_iter()
            .chain(
                p.target
                    .values()
                    .flat_map(|t| [(&t.dependencies, false), (&t.dev, true), (&t.build, false)]),
            )
    }

    /// The keys of the root manifest this member inherits (`workspace.package.rust-version`,
    /// `workspace.dependencies.serde`, `workspace.lints`), sorted: the `key.workspace = true`
    /// of its `[package]`, of every dependency table and `[lints]`.
    fn inherited(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        if let Some(package) = &self.parsed.package {
            for (key, value) in package.get_ref() {
                if inherits(value.get_ref()) {
                    out.insert(manifest_key(&["workspace", "package", key]));
                }
            }
        }
        for (table, _) in self.dep_tables() {
            for (key, value) in table {
                if inherits(value.get_ref()) {
                    out.insert(manifest_key(&["workspace", "dependencies", key]));
                }
            }
        }
        if self.parsed.lints.as_ref().is_some_and(inherits) {
            out.insert("workspace.lints".to_owned());
        }
        out.into_iter().collect()
    }
}

/// `{ workspace = true }`, however it is written.
fn inherits(value: &toml::Value) -> bool {
    value.get("workspace").and_then(toml::Value::as_bool) == Some(true)
}

/// A member's `[package]` with a `name` string, or the error Cargo gives too.
fn check_package(member: &Member) -> Result<(), DiscoverError> {
    let Some(package) = &member.parsed.package else {
        return Err(DiscoverError::new(
            &member.manifest,
            Some(1),
            "this workspace member has no [package]; add one or leave the folder out of `members`",
        ));
    };
    match member.name_value() {
        Some(name) if name.get_ref().is_str() => Ok(()),
        Some(name) => Err(DiscoverError::new(
            &member.manifest,
            Some(files::line_at(&member.text, name.span().start)),
            "`package.name` must be a string",
        )),
        None => Err(DiscoverError::new(
            &member.manifest,
            Some(files::line_at(&member.text, package.span().start)),
            "this [package] has no `name`; Cargo needs one",
        )),
    }
}

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
            .any(|e| dir == e || dir.starts_with(&format!("{e}/")))
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

/// A path dependency, resolved.
struct PathDep {
    key: String,
    /// Workspace-relative folder.
    target: String,
    /// Written in `[dev-dependencies]` (of any target).
    dev: bool,
    /// Where it is written (the member's manifest, or the root's `[workspace.dependencies]`),
    /// the 1-based line and the path as written: for the error when the folder has no manifest.
    file: String,
    line: usize,
    path: String,
    /// The line of the entry in the member's own manifest (`b.workspace = true` when inherited):
    /// where the edge is declared, for a cycle.
    entry_line: usize,
}

impl PathDep {
    /// A path dependency whose `Cargo.toml` cannot be read (`e`), at the line declaring it.
    fn unreadable(&self, e: &DiscoverError) -> DiscoverError {
        DiscoverError::new(
            &self.file,
            Some(self.line),
            format!(
                "dependency `{}` has path `{}`, whose Cargo.toml cannot be read ({}: {}); fix the path",
                self.key, self.path, e.file, e.message
            ),
        )
    }

    /// Cargo's refusal of a path dependency whose folder holds no `Cargo.toml`.
    fn missing(&self) -> DiscoverError {
        DiscoverError::new(
            &self.file,
            Some(self.line),
            format!(
                "dependency `{}` has path `{}`, where there is no Cargo.toml; fix the path or add the crate",
                self.key, self.path
            ),
        )
    }
}

/// Every path dependency of `m` in every table, directly or through `workspace = true`. A path
/// that leaves the workspace (a crate beside the repository) is no edge: Cargo builds it, but
/// its files are out of shockwave's sight.
fn path_deps(m: &Member, workspace_deps: Option<&DepTable>, root_text: &str) -> Vec<PathDep> {
    let mut out = Vec::new();
    for (table, dev) in m.dep_tables() {
        for (key, value) in table {
            let (path, base, file, text, span) = if inherits(value.get_ref()) {
                let Some(w) = workspace_deps.and_then(|w| w.get(key)) else {
                    continue;
                };
                let path = w.get_ref().get("path");
                (path, "", "Cargo.toml", root_text, w.span())
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
            if let Some(target) = files::join(base, path) {
                out.push(PathDep {
                    key: key.clone(),
                    target,
                    dev,
                    file: file.to_owned(),
                    line: files::line_at(text, span.start),
                    path: path.to_owned(),
                    entry_line: files::line_at(&m.text, value.span().start),
                });
            }
        }
    }
    out
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
    };
    let deps: Vec<Vec<usize>> = services
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
    let chain: Vec<&str> = cycle.iter().map(|&i| services[i].name.as_str()).collect();
    let line_of = |from: usize, to: usize| {
        edge_lines
            .get(&(services[from].name.clone(), services[to].name.clone()))
            .copied()
    };
    let places: Vec<String> = cycle
        .windows(2)
        .map(|pair| files::at(&services[pair[0]].manifest, line_of(pair[0], pair[1])))
        .collect();
    let first = &services[cycle[0]];
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
