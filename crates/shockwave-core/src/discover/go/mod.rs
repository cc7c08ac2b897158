//! Go discovery: modules from `go.work` or the `go.mod` files of the workspace, and in the root
//! module the binaries and library packages with their package-level closures, read from the
//! import sections of the `.go` files alone.
//!
//! The module at the workspace root (a root `go.mod`, or `use .` in a go.work) works at package
//! level: every `package main` directory is a service (or the `members` pipeline.toml names, when
//! it names some) and every other package directory is a unit of kind `package`, each carrying
//! its package closure. Every other module — a go.work member, or a `go.mod` nested below the
//! root or found below a root without one — is one service rooted at its directory, with edges
//! where a `require` of another workspace module resolves locally (`go.work` membership, or a
//! `replace` to the module's directory).

pub mod closure;
pub mod gomod;
pub mod lexer;
mod names;
pub mod packages;
pub mod providers;
mod workspace;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rayon::prelude::*;

use self::closure::{closure, imported, own_packages};
use self::gomod::{parse_go_mod, parse_go_work, GoWork, ReplaceTarget};
use self::names::{package_name, unique_names, Unit};
use self::packages::{scan_module, ModuleGraph};
use self::providers::Providers;
use self::workspace::Module;
use super::{
    files, DiscoverError, DiscoveredService, Discovery, Ecosystem, Kind, LockFormat, LockUser,
    LockfileUse, NamedService,
};
use crate::confine::Root;
use crate::paths::join;
use crate::paths::WorkspaceDirs;

/// The Go services below `root`; `named` are the services `members` already names, `reserved`
/// says which names npm and Cargo packages hold (a Go name never takes one).
pub fn discover(
    root: &Root,
    dirs: &mut dyn WorkspaceDirs,
    named: &[NamedService],
    reserved: &dyn Fn(&str) -> bool,
) -> Result<Discovery, Vec<DiscoverError>> {
    let one = |e: DiscoverError| vec![e];
    let (modules, work) = match files::read(root, "go.work").map_err(one)? {
        Some(text) => {
            let work = parse_go_work("go.work", &text).map_err(one)?;
            (workspace::load_work(root, &work)?, Some(work))
        }
        None => match files::read(root, "go.mod").map_err(one)? {
            Some(text) => {
                let go_mod = parse_go_mod("go.mod", &text).map_err(one)?;
                let m = Module {
                    dir: String::new(),
                    manifest: "go.mod".into(),
                    go_mod,
                };
                (vec![m], None)
            }
            None => (workspace::find_all(root)?, None),
        },
    };
    let mut mods = scan(root, modules)?;
    if work.is_none() {
        // Modules nested in another are where its package walk stopped; a go.work lists its own.
        let mut known: BTreeSet<String> = mods.iter().map(|s| s.m.dir.clone()).collect();
        loop {
            let new: Vec<String> = mods
                .iter()
                .flat_map(|s| s.graph.nested.iter())
                .filter(|d| !known.contains(*d))
                .filter(|d| !d.split('/').any(|c| c == "node_modules") && !dirs.is_excluded(d))
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if new.is_empty() {
                break;
            }
            known.extend(new.iter().cloned());
            mods.extend(scan(root, workspace::read_modules(root, &new)?)?);
        }
        mods.sort_by(|a, b| a.m.dir.cmp(&b.m.dir));
    }
    let mut found = Layout {
        mods: &mods,
        work: work.as_ref(),
        // The first module, by directory, wins a path two share.
        by_path: Providers::new(
            mods.iter()
                .enumerate()
                .rev()
                .map(|(i, s)| (s.m.go_mod.module.as_str(), i)),
        ),
        local_replaces: mods
            .iter()
            .map(|s| LocalReplaces::new(&s.m.go_mod))
            .collect(),
    }
    .discover(named, reserved)
    .map_err(one)?;
    if work.is_some() {
        found.global_inputs.push("go.work".into());
    }
    Ok(found)
}

/// A module with its packages.
struct Scanned {
    m: Module,
    graph: ModuleGraph,
}

fn scan(root: &Root, modules: Vec<Module>) -> Result<Vec<Scanned>, Vec<DiscoverError>> {
    modules
        .into_par_iter()
        .map(|m| {
            let graph = scan_module(root.path(), &m.dir, &m.go_mod.module)?;
            Ok(Scanned { m, graph })
        })
        .collect::<Result<Vec<_>, DiscoverError>>()
        .map_err(|e| vec![e])
}

/// The modules of one workspace and how they resolve one another.
struct Layout<'a> {
    /// Sorted by directory.
    mods: &'a [Scanned],
    work: Option<&'a GoWork>,
    /// Module path → index (the first module, by directory, when two share a path).
    by_path: Providers<'a>,
    /// Per module, its `replace` lines to a folder.
    local_replaces: Vec<LocalReplaces<'a>>,
}

/// The `replace` lines of one go.mod that point at a folder, indexed both ways they are asked.
struct LocalReplaces<'a> {
    /// `(old module path, folder)`.
    pairs: HashSet<(&'a str, &'a str)>,
    /// The replaced module paths, each to its index in `dirs`.
    olds: Providers<'a>,
    /// Per replaced module path, its folders.
    dirs: Vec<Vec<&'a str>>,
}

impl<'a> LocalReplaces<'a> {
    fn new(go_mod: &'a gomod::GoMod) -> Self {
        let mut by_old: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut pairs = HashSet::new();
        for r in &go_mod.replace {
            if let ReplaceTarget::Local(dir) = &r.new {
                by_old.entry(&r.old).or_default().push(dir);
                pairs.insert((r.old.as_str(), dir.as_str()));
            }
        }
        LocalReplaces {
            pairs,
            olds: Providers::new(by_old.keys().copied().zip(0..)),
            dirs: by_old.into_values().collect(),
        }
    }
}

/// A service of the root module before it is named: its folder, whether it is a binary, and
/// (members) the name pipeline.toml gives it.
struct RootUnit {
    dir: String,
    kind: Kind,
    name: Option<String>,
}

impl Layout<'_> {
    /// The module providing an import path: the longest module path that is the import path or
    /// a `/`-separated prefix of it.
    fn provider(&self, import: &str) -> Option<usize> {
        self.by_path.provider(import)
    }

    /// Whether module `from` builds with workspace module `to`'s folder rather than a download:
    /// both are in the go.work, or `from` replaces `to` with its folder.
    fn resolves_locally(&self, from: usize, to: usize) -> bool {
        let t = &self.mods[to].m;
        from != to
            && (self.work.is_some()
                || self.local_replaces[from]
                    .pairs
                    .contains(&(t.go_mod.module.as_str(), t.dir.as_str())))
    }

    fn discover(
        &self,
        named: &[NamedService],
        reserved: &dyn Fn(&str) -> bool,
    ) -> Result<Discovery, DiscoverError> {
        let root = self.mods.iter().position(|s| s.m.dir.is_empty());
        let mut units: Vec<RootUnit> = Vec::new();
        if let Some(r) = root {
            let graph = &self.mods[r].graph;
            if named.is_empty() {
                units.extend(
                    graph
                        .packages
                        .values()
                        .filter(|p| !p.data)
                        .map(|p| RootUnit {
                            dir: p.dir.clone(),
                            kind: if p.main { Kind::Service } else { Kind::Package },
                            name: None,
                        }),
                );
            } else {
                units.extend(
                    named
                        .iter()
                        .filter(|n| {
                            // The packages below a root are one run of the sorted map.
                            graph
                                .packages
                                .range::<str, _>((
                                    std::ops::Bound::Included(n.root.as_str()),
                                    std::ops::Bound::Unbounded,
                                ))
                                .take_while(|(d, _)| d.starts_with(n.root.as_str()))
                                .any(|(d, _)| crate::paths::is_under(d, &n.root))
                        })
                        .map(|n| RootUnit {
                            dir: n.root.clone(),
                            kind: Kind::Service,
                            name: Some(n.name.clone()),
                        }),
                );
            }
        }
        // Binaries and the other modules share one naming; packages are named by folder.
        let import_paths: Vec<String> = units
            .iter()
            .filter(|u| u.kind == Kind::Service && u.name.is_none())
            .map(|u| match root {
                Some(r) => join(&self.mods[r].m.go_mod.module, &u.dir),
                None => u.dir.clone(),
            })
            .collect();
        let mut to_name: Vec<Unit> = import_paths
            .iter()
            .zip(
                units
                    .iter()
                    .filter(|u| u.kind == Kind::Service && u.name.is_none()),
            )
            .map(|(path, u)| Unit { path, dir: &u.dir })
            .collect();
        let others: Vec<usize> = (0..self.mods.len()).filter(|&i| Some(i) != root).collect();
        to_name.extend(others.iter().map(|&i| Unit {
            path: &self.mods[i].m.go_mod.module,
            dir: &self.mods[i].m.dir,
        }));
        let mut names = unique_names(&to_name, reserved).into_iter();
        for u in units
            .iter_mut()
            .filter(|u| u.kind == Kind::Service && u.name.is_none())
        {
            u.name = names.next();
        }
        let module_names: HashMap<usize, String> = others.iter().copied().zip(names).collect();

        let mut found = Discovery::default();
        if let Some(r) = root {
            self.root_services(r, &units, &mut found);
        }
        for &i in &others {
            self.module_service(i, root, &module_names, &mut found);
        }
        found.services.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The binaries and packages of the root module `r`, each with its closure.
    fn root_services(&self, r: usize, units: &[RootUnit], found: &mut Discovery) {
        let Scanned { m, graph } = &self.mods[r];
        let binaries: Vec<&str> = units
            .iter()
            .filter(|u| u.kind == Kind::Service)
            .map(|u| u.dir.as_str())
            .collect();
        let built: Vec<(DiscoveredService, LockUser)> = units
            .par_iter()
            .map(|u| {
                let own = match u.kind {
                    Kind::Service => own_packages(graph, &u.dir, &binaries),
                    Kind::Package => vec![u.dir.as_str()],
                };
                let c = closure(graph, &own, &|_| false);
                let name = match (&u.name, u.kind) {
                    (Some(n), _) => n.clone(),
                    (None, _) => package_name(&u.dir),
                };
                let service = DiscoveredService {
                    name: name.clone(),
                    root: u.dir.clone(),
                    ecosystem: Ecosystem::Go,
                    manifest: m.manifest.clone(),
                    name_line: None,
                    deps: Vec::new(),
                    dev_deps: Vec::new(),
                    scripts: crate::discover::default_targets(Ecosystem::Go, u.kind),
                    paths: self.local_dirs(r, &c.external),
                    packages: c.packages,
                    kind: u.kind,
                };
                let user = LockUser {
                    service: name,
                    key: u.dir.clone(),
                    direct: c.external,
                };
                (service, user)
            })
            .collect();
        let mut users = Vec::with_capacity(built.len());
        for (service, user) in built {
            found.services.push(service);
            users.push(user);
        }
        if !users.is_empty() {
            found.lockfiles.push(LockfileUse {
                path: m.manifest.clone(),
                format: LockFormat::GoMod,
                target: None,
                users,
            });
        }
    }

    /// The folders of the modules that module `from` builds locally and that provide one of
    /// `external`: a `replace M => ./dir` of a module providing one (a nested module the package
    /// walk skips), or a go.work member, with the local modules those require in turn. They are
    /// `paths` of the service: its build reads them.
    fn local_dirs(&self, from: usize, external: &[String]) -> Vec<String> {
        // The folders `from` replaces a module with, found from the imports: each import walks
        // the replaced paths that are prefixes of it, rather than every replace every import.
        let replaces = &self.local_replaces[from];
        let mut out: Vec<String> = external
            .iter()
            .flat_map(|i| replaces.olds.matches(i))
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .flat_map(|g| replaces.dirs[g].iter().map(|dir| crate::glob::below(dir)))
            .collect();
        // The modules it imports from, and what they require in turn, as long as `from` (the main
        // module: only its replacements apply) builds them locally.
        let mut seen: Vec<usize> = external
            .iter()
            .filter_map(|i| self.provider(i))
            .filter(|&t| self.resolves_locally(from, t))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let mut known: HashSet<usize> = seen.iter().copied().collect();
        let mut next = 0;
        while next < seen.len() {
            let t = seen[next];
            next += 1;
            for r in &self.mods[t].m.go_mod.require {
                if let Some(u) = self.by_path.get(r.path.as_str()) {
                    if self.resolves_locally(from, u) && known.insert(u) {
                        seen.push(u);
                    }
                }
            }
        }
        out.extend(
            seen.iter()
                .map(|&t| crate::glob::below(&self.mods[t].m.dir)),
        );
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Module `i` as one service: its local `require` edges, and when it builds the root module
    /// `root` locally, the root module's packages it imports with their closures.
    fn module_service(
        &self,
        i: usize,
        root: Option<usize>,
        names: &HashMap<usize, String>,
        found: &mut Discovery,
    ) {
        let Scanned { m, graph } = &self.mods[i];
        let own: Vec<&str> = graph
            .packages
            .values()
            .filter(|p| !p.data)
            .map(|p| p.dir.as_str())
            .collect();
        let all_external = closure(graph, &own, &|_| false).external;
        let mut deps: Vec<String> = m
            .go_mod
            .require
            .iter()
            .filter_map(|r| self.by_path.get(r.path.as_str()))
            .filter(|&t| Some(t) != root && self.resolves_locally(i, t))
            .filter_map(|t| names.get(&t).cloned())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        let root_local = root.filter(|&r| {
            let path = &self.mods[r].m.go_mod.module;
            m.go_mod.require.iter().any(|q| &q.path == path) && self.resolves_locally(i, r)
        });
        let packages = match root_local {
            Some(r) => {
                let into_root: Vec<String> = all_external
                    .iter()
                    .filter(|imp| self.provider(imp) == Some(r))
                    .cloned()
                    .collect();
                imported(&self.mods[r].graph, &into_root, &m.dir, &|_| false)
            }
            None => Vec::new(),
        };
        let external: Vec<String> = all_external
            .into_iter()
            .filter(|imp| {
                self.provider(imp)
                    .is_none_or(|t| !self.resolves_locally(i, t))
            })
            .collect();
        let name = names[&i].clone();
        found.lockfiles.push(LockfileUse {
            path: m.manifest.clone(),
            format: LockFormat::GoMod,
            target: None,
            users: vec![LockUser {
                service: name.clone(),
                key: m.dir.clone(),
                direct: external,
            }],
        });
        found.services.push(DiscoveredService {
            name,
            root: m.dir.clone(),
            ecosystem: Ecosystem::Go,
            manifest: m.manifest.clone(),
            name_line: None,
            deps,
            dev_deps: Vec::new(),
            scripts: crate::discover::default_targets(Ecosystem::Go, Kind::Service),
            paths: Vec::new(),
            packages,
            kind: Kind::Service,
        });
    }
}
