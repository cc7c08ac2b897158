//! The affected set: every service a change touches, each with the reasons why — the changed files
//! it owns, the dependency chain through which a change reaches it, a global input, an unowned file
//! under `unowned = "all"`, or a base that could not be found. Pure computation over the frozen
//! workspace; never prints.

use bstr::{BStr, BString, ByteSlice};

use crate::config::{ServiceId, UnownedPolicy, Workspace};
use crate::ownership::{Ownership, PathClass};
use crate::paths::WsPrefix;
use crate::scm::Changes;

/// How far a change spreads to the services that depend on a changed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dependents {
    /// Only the services that own changed files.
    None,
    /// Plus their direct dependents.
    Direct,
    /// Plus every transitive dependent.
    #[default]
    Transitive,
}

/// Why a service is affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It owns this changed path (by root or `paths`).
    File { path: BString },
    /// A dependency is affected: `via[0]` is the direct dependency, the last element owns a change.
    /// `dev`: the first edge is a dev-only one (the service's tests use `via[0]`), so the change
    /// reaches this service and goes no further through it.
    Dependency { via: Vec<ServiceId>, dev: bool },
    /// A `global_inputs` path changed.
    Global { path: BString },
    /// The base revision was not available, so everything is assumed changed.
    MissingBase { detail: String },
    /// A path owned by nobody changed and `unowned = "all"`.
    Unowned { path: BString },
    /// A file of a Go package in the service's closure changed: `chain` runs from the service
    /// through the packages that import one another down to the package holding `path`.
    Package { path: BString, chain: Vec<String> },
    /// A lockfile it uses changed what it installs: `name@version` entries of its resolved
    /// external closure at head that were not at base, and the reverse (each sorted, at most
    /// [`crate::discover::lockfile::LISTED`]), and how many more of each there are. With
    /// `root`, the closure is the root package's, which every package installing through the
    /// lockfile can resolve (see [`crate::lockfiles`]).
    Lockfile {
        file: BString,
        added: Vec<String>,
        removed: Vec<String>,
        root: bool,
        more_added: usize,
        more_removed: usize,
    },
    /// A lockfile it uses changed and could not be read at base or head, so it is assumed to
    /// change everything it installs.
    LockfileUnreadable { file: BString, detail: String },
    /// A value of a workspace manifest that reaches its build changed: `key` is the dotted key
    /// (`workspace.package.rust-version`, `profile.release.lto`).
    Manifest { file: BString, key: String },
    /// A workspace manifest changed and could not be parsed at base or head, so every value
    /// of it is assumed changed.
    ManifestUnreadable { file: BString, detail: String },
}

impl Reason {
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::File { .. } => "file",
            Reason::Dependency { .. } => "dependency",
            Reason::Global { .. } => "global",
            Reason::MissingBase { .. } => "missing_base",
            Reason::Unowned { .. } => "unowned",
            Reason::Package { .. } => "package",
            Reason::Lockfile { .. } => "lockfile",
            Reason::LockfileUnreadable { .. } => "lockfile_unreadable",
            Reason::Manifest { .. } => "manifest",
            Reason::ManifestUnreadable { .. } => "manifest_unreadable",
        }
    }
}

/// The result: per service (indexed by id) its reasons, empty when unaffected.
#[derive(Debug, Clone)]
pub struct Affected {
    pub reasons: Vec<Vec<Reason>>,
    /// Changed paths no service owns (workspace-relative), whatever the `unowned` policy.
    pub unowned_files: Vec<BString>,
    /// Changed paths dropped by `ignore`.
    pub ignored_files: usize,
}

impl Affected {
    pub fn is_affected(&self, id: ServiceId) -> bool {
        !self.reasons_of(id).is_empty()
    }

    /// Why service `id` is affected; empty when it is not.
    pub fn reasons_of(&self, id: ServiceId) -> &[Reason] {
        &self.reasons[id.index()]
    }

    /// Affected service ids in name order.
    pub fn ids(&self) -> impl Iterator<Item = ServiceId> + '_ {
        (0..self.reasons.len())
            .map(ServiceId::new)
            .filter(|&i| self.is_affected(i))
    }

    pub fn count(&self) -> usize {
        self.ids().count()
    }

    /// Every service affected for one reason (used when the base is missing).
    pub fn everything(ws: &Workspace, reason: Reason) -> Affected {
        Affected {
            reasons: vec![vec![reason]; ws.services().len()],
            unowned_files: Vec::new(),
            ignored_files: 0,
        }
    }
}

/// What the changed lockfiles affect, judged by what they install (`lockfiles::impact` computes
/// it before [`compute_with_lockfiles`] reads it).
#[derive(Debug, Default)]
pub struct LockfileImpact {
    /// Workspace-relative paths judged there, which ownership must not judge again (sorted).
    pub handled: Vec<BString>,
    /// Direct reasons, per service.
    pub reasons: Vec<(ServiceId, Reason)>,
}

impl LockfileImpact {
    pub fn handles(&self, rel: &BStr) -> bool {
        self.handled
            .binary_search_by(|p| p.as_bstr().cmp(rel))
            .is_ok()
    }
}

/// One range's changes and what they affect, as a command computed them.
#[derive(Debug)]
pub struct Impact {
    pub changes: Changes,
    pub affected: Affected,
    pub dependents: Dependents,
}

/// Drops the untracked files that are products, not changes: those every owner declares as an
/// output of one of its targets (under its root), as hashing leaves them out of its inputs. A
/// tracked file always counts, whatever the outputs say: git has it as a source. Returns how many
/// were dropped.
pub fn drop_untracked_outputs(ws: &Workspace, prefix: &WsPrefix, changes: &mut Changes) -> usize {
    if !changes.files.iter().any(|f| f.untracked)
        || ws.services().iter().all(|s| s.outputs.is_empty())
    {
        return 0;
    }
    let ownership = Ownership::new(ws);
    let (mut owners, mut scratch) = (Vec::new(), Vec::new());
    let before = changes.files.len();
    changes.files.retain(|f| {
        if !f.untracked {
            return true;
        }
        let Some(rel) = prefix.strip(f.path.as_bstr()) else {
            return true;
        };
        let class = ownership.classify(rel, &mut owners, &mut scratch);
        !(class == PathClass::Owned && owners.iter().all(|&id| ownership.is_output_of(id, rel)))
    });
    before - changes.files.len()
}

/// Computes the affected services for `paths` (repo-relative; the old side of renames included).
#[cfg(test)]
pub fn compute<'p>(
    ws: &Workspace,
    prefix: &WsPrefix,
    paths: impl IntoIterator<Item = &'p BStr>,
    dependents: Dependents,
) -> Affected {
    compute_with_lockfiles(ws, prefix, paths, dependents, &LockfileImpact::default())
}

/// The affected services for `paths`, with the changed lockfiles judged by what they install: their paths are not
/// judged by ownership, and the services whose closures changed carry `locks`' reasons.
pub fn compute_with_lockfiles<'p>(
    ws: &Workspace,
    prefix: &WsPrefix,
    paths: impl IntoIterator<Item = &'p BStr>,
    dependents: Dependents,
    locks: &LockfileImpact,
) -> Affected {
    let n = ws.services().len();
    let ownership = Ownership::new(ws);
    let mut direct: Vec<Vec<Reason>> = vec![Vec::new(); n];
    let mut global: Vec<BString> = Vec::new();
    let mut unowned_files = Vec::new();
    let mut ignored_files = 0;
    let mut owners = Vec::new();
    let mut scratch = Vec::new();
    let mut by_package = Vec::new();
    for path in paths {
        let Some(rel) = prefix.strip(path) else {
            continue;
        };
        if locks.handles(rel) {
            continue;
        }
        match ownership.classify_into(rel, &mut owners, &mut scratch, Some(&mut by_package)) {
            PathClass::Ignored => ignored_files += 1,
            PathClass::Global => global.push(rel.to_owned()),
            PathClass::Unowned => unowned_files.push(rel.to_owned()),
            PathClass::Owned => {
                for &id in &owners {
                    direct[id.index()].push(match by_package.iter().find(|(i, _)| *i == id) {
                        Some((_, p)) => Reason::Package {
                            path: rel.to_owned(),
                            chain: package_chain(ws.service(id), p),
                        },
                        None => Reason::File {
                            path: rel.to_owned(),
                        },
                    });
                }
            }
        }
    }
    for (id, reason) in &locks.reasons {
        direct[id.index()].push(reason.clone());
    }
    for list in &mut direct {
        list.sort_by(|a, b| reason_path(a).cmp(reason_path(b)));
        list.dedup();
    }
    if !global.is_empty() || (ws.unowned() == UnownedPolicy::All && !unowned_files.is_empty()) {
        global.sort();
        global.dedup();
        let extra: Vec<Reason> = global
            .iter()
            .map(|p| Reason::Global { path: p.clone() })
            .chain(
                (ws.unowned() == UnownedPolicy::All)
                    .then(|| {
                        unowned_files
                            .iter()
                            .map(|p| Reason::Unowned { path: p.clone() })
                    })
                    .into_iter()
                    .flatten(),
            )
            .collect();
        for list in &mut direct {
            list.extend(extra.iter().cloned());
        }
    }
    unowned_files.sort();
    unowned_files.dedup();

    let reasons = propagate(ws, direct, dependents);
    Affected {
        reasons,
        unowned_files,
        ignored_files,
    }
}

/// The service's name, then the packages from the one it imports first down to the changed one
/// (the service's own root package is the service itself and is not repeated).
fn package_chain(
    service: &crate::config::Service,
    p: &crate::discover::PackageInput,
) -> Vec<String> {
    let skip = usize::from(p.chain.first() == Some(&service.root));
    std::iter::once(service.name.clone())
        .chain(
            p.chain[skip..]
                .iter()
                .map(|d| if d.is_empty() { ".".into() } else { d.clone() }),
        )
        .collect()
}

fn reason_path(r: &Reason) -> &[u8] {
    match r {
        Reason::File { path }
        | Reason::Global { path }
        | Reason::Unowned { path }
        | Reason::Package { path, .. } => path.as_bytes(),
        Reason::Lockfile { file: path, .. }
        | Reason::LockfileUnreadable { file: path, .. }
        | Reason::Manifest { file: path, .. }
        | Reason::ManifestUnreadable { file: path, .. } => path.as_bytes(),
        _ => b"",
    }
}

/// Adds dependency reasons: a service is reached through each affected direct dependency, and
/// each such reason carries the shortest chain down to a directly changed service. Distances come
/// from a breadth-first walk over the dependents, so cycles between services are walked once; a
/// chain that leads back to the service itself says nothing new and is left out. Dev-only edges
/// reach their dependent and stop there.
fn propagate(
    ws: &Workspace,
    mut reasons: Vec<Vec<Reason>>,
    dependents: Dependents,
) -> Vec<Vec<Reason>> {
    let n = ws.services().len();
    if dependents == Dependents::None {
        return reasons;
    }
    let is_direct: Vec<bool> = reasons.iter().map(|r| !r.is_empty()).collect();
    // Distance to the nearest directly changed service over normal edges.
    let mut dist: Vec<Option<u32>> = vec![None; n];
    let mut queue = std::collections::VecDeque::new();
    for id in ws.service_ids().filter(|i| is_direct[i.index()]) {
        dist[id.index()] = Some(0);
        queue.push_back(id);
    }
    while let Some(cur) = queue.pop_front() {
        let d = dist[cur.index()].unwrap_or(0);
        if dependents == Dependents::Direct && d > 0 {
            continue;
        }
        for &dependent in ws.graph().dependents_of(cur) {
            if dist[dependent.index()].is_none() {
                dist[dependent.index()] = Some(d + 1);
                queue.push_back(dependent);
            }
        }
    }
    let reached = |dep: ServiceId| match dependents {
        Dependents::Direct => is_direct[dep.index()],
        _ => dist[dep.index()].is_some(),
    };
    // The dependency that leads to the nearest change (the smallest id among equals).
    let next: Vec<Option<ServiceId>> = ws
        .services_by_id()
        .map(|(id, svc)| {
            if is_direct[id.index()] {
                return None;
            }
            svc.deps
                .iter()
                .copied()
                .filter(|&dep| reached(dep))
                .min_by_key(|dep| dist[dep.index()].unwrap_or(0))
        })
        .collect();
    let chain = |id: ServiceId, dep: ServiceId| -> Option<Vec<ServiceId>> {
        let mut via = vec![dep];
        let mut cur = dep;
        while !is_direct[cur.index()] {
            cur = next[cur.index()]?;
            if cur == id || via.len() > n {
                return None;
            }
            via.push(cur);
        }
        (dep != id).then_some(via)
    };
    for ((id, svc), r) in ws.services_by_id().zip(reasons.iter_mut()) {
        let normal = svc.deps.iter().map(|&d| (d, false));
        let dev = svc.dev_deps.iter().map(|&d| (d, true));
        for (dep, is_dev) in normal.chain(dev) {
            if !reached(dep) {
                continue;
            }
            if let Some(via) = chain(id, dep) {
                r.push(Reason::Dependency { via, dev: is_dev });
            }
        }
        // Shortest chains first among the dependency reasons, after the direct ones.
        let split = r
            .iter()
            .position(|x| matches!(x, Reason::Dependency { .. }))
            .unwrap_or(r.len());
        r[split..].sort_by_key(|x| match x {
            Reason::Dependency { via, .. } => via.len(),
            _ => 0,
        });
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::path::Path;

    fn shop() -> (tempfile::TempDir, Workspace) {
        let t = tempfile::tempdir().unwrap();
        for d in ["s/user", "s/order", "l/auth", "l/log", "proto"] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let text = r#"
[workspace]
members = ["s/*", "l/*"]
global_inputs = ["go.work"]
ignore = ["**/*.md"]
[services.user]
deps = ["auth"]
[services.auth]
deps = ["log"]
[services.order]
deps = ["log"]
paths = ["proto/**"]
"#;
        let w = parse(text, Path::new("pipeline.toml"), t.path()).unwrap();
        (t, w)
    }

    fn names(ws: &Workspace, a: &Affected) -> Vec<String> {
        a.ids().map(|i| ws.service(i).name.clone()).collect()
    }

    fn run(ws: &Workspace, paths: &[&str], d: Dependents) -> Affected {
        compute(
            ws,
            &WsPrefix::default(),
            paths.iter().map(|p| p.as_bytes().as_bstr()),
            d,
        )
    }

    #[test]
    fn transitive_chain_is_recorded() {
        let (_t, ws) = shop();
        let a = run(&ws, &["l/log/log.go"], Dependents::Transitive);
        assert_eq!(names(&ws, &a), ["auth", "log", "order", "user"]);
        let user = ws.service_id("user").unwrap();
        let via: Vec<&str> = match &a.reasons_of(user)[0] {
            Reason::Dependency { via, .. } => {
                via.iter().map(|&i| ws.service(i).name.as_str()).collect()
            }
            r => panic!("unexpected {r:?}"),
        };
        assert_eq!(via, ["auth", "log"]);
    }

    #[test]
    fn a_dev_edge_reaches_its_dependent_and_stops_there() {
        let (_t, ws) = shop();
        // `log`'s tests use `user` (which needs `log`): Cargo accepts such a dev-dependency.
        let (log, user) = (
            ws.service_id("log").unwrap(),
            ws.service_id("user").unwrap(),
        );
        let ws = ws.with_services_edited(|s| s[log.index()].dev_deps = vec![user]);
        let a = run(&ws, &["s/user/main.go"], Dependents::Transitive);
        assert_eq!(names(&ws, &a), ["log", "user"], "not log's dependents");
        assert_eq!(
            a.reasons_of(log),
            [Reason::Dependency {
                via: vec![user],
                dev: true
            }]
        );
        // A change to `log` reaches `user` through `auth`; the dev edge back adds no reason.
        let a = run(&ws, &["l/log/log.go"], Dependents::Transitive);
        assert_eq!(names(&ws, &a), ["auth", "log", "order", "user"]);
        assert_eq!(a.reasons_of(log).len(), 1);
    }

    #[test]
    fn dependents_modes_limit_spread() {
        let (_t, ws) = shop();
        assert_eq!(
            names(&ws, &run(&ws, &["l/log/x"], Dependents::None)),
            ["log"]
        );
        assert_eq!(
            names(&ws, &run(&ws, &["l/log/x"], Dependents::Direct)),
            ["auth", "log", "order"]
        );
    }

    #[test]
    fn ignore_global_and_unowned() {
        let (_t, ws) = shop();
        let a = run(&ws, &["s/user/README.md"], Dependents::Transitive);
        assert_eq!(a.count(), 0);
        assert_eq!(a.ignored_files, 1);
        let a = run(&ws, &["go.work"], Dependents::Transitive);
        assert_eq!(a.count(), 4);
        let a = run(&ws, &["Makefile"], Dependents::Transitive);
        assert_eq!(a.count(), 0);
        assert_eq!(a.unowned_files, [BString::from("Makefile")]);
        let a = run(&ws, &["proto/o.proto"], Dependents::Transitive);
        assert_eq!(names(&ws, &a), ["order"]);
    }
}
