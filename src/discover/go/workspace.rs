//! Several Go modules: those a `go.work` uses, or with none every `go.mod` below the workspace
//! root. Each module is a service rooted at its directory; it depends on another workspace module
//! it `require`s when that requirement resolves locally — through `go.work` membership or a
//! `replace` to the module's directory — and not when Go would download it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::closure::closure;
use super::gomod::{parse_go_mod, GoMod, GoWork, Replace, ReplaceTarget};
use super::last_element;
use super::packages::{join, scan_module};
use crate::discover::{
    files, DiscoverError, DiscoveredService, Discovery, Ecosystem, LockFormat, LockUser,
    LockfileUse, NamedService,
};

/// The most directories searched for `go.mod` files, so a pathological tree cannot stall
/// discovery.
const MAX_DIRS: usize = 200_000;

/// One module of the workspace.
struct Module {
    dir: String,
    manifest: String,
    go_mod: GoMod,
}

/// The modules `work` uses.
pub(super) fn discover_work(
    root: &Path,
    work: &GoWork,
    named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    let mut modules = Vec::new();
    let mut errors = Vec::new();
    for (dir, line) in &work.uses {
        let manifest = join(dir, "go.mod");
        match read_module(root, dir, &manifest) {
            Ok(Some(m)) => modules.push(m),
            Ok(None) => errors.push(DiscoverError {
                file: "go.work".into(),
                line: Some(*line),
                message: format!(
                    "`use {}` names a directory without a go.mod: add one or remove the line",
                    if dir.is_empty() { "." } else { dir }
                ),
            }),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut found = services(root, &modules, Some(work), named)?;
    found.global_inputs.push("go.work".into());
    Ok(found)
}

/// Every `go.mod` below `root` (which has none of its own, nor a go.work).
pub(super) fn discover_modules(
    root: &Path,
    named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    let mut dirs = Vec::new();
    find_modules(root, "", &mut dirs, &mut 0).map_err(|e| vec![e])?;
    let mut modules = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        match read_module(root, &dir, &join(&dir, "go.mod")) {
            Ok(Some(m)) => modules.push(m),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    services(root, &modules, None, named)
}

fn read_module(root: &Path, dir: &str, manifest: &str) -> Result<Option<Module>, DiscoverError> {
    let Some(text) = files::read(root, manifest)? else {
        return Ok(None);
    };
    Ok(Some(Module {
        dir: dir.to_string(),
        manifest: manifest.to_string(),
        go_mod: parse_go_mod(manifest, &text)?,
    }))
}

/// Directories below `dir` holding a go.mod, skipping what Go skips and never following links.
fn find_modules(
    root: &Path,
    dir: &str,
    out: &mut Vec<String>,
    seen: &mut usize,
) -> Result<(), DiscoverError> {
    *seen += 1;
    if *seen > MAX_DIRS {
        return Err(DiscoverError {
            file: dir.to_string(),
            line: None,
            message: format!("more than {MAX_DIRS} directories searched for go.mod files: add a go.work that lists the modules"),
        });
    }
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Ok(());
    };
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let (Ok(name), Ok(kind)) = (entry.file_name().into_string(), entry.file_type()) else {
            continue;
        };
        if name == "go.mod" && kind.is_file() {
            out.push(dir.to_string());
        } else if kind.is_dir()
            && !name.starts_with(['.', '_'])
            && !matches!(name.as_str(), "testdata" | "vendor" | "node_modules")
        {
            subdirs.push(name);
        }
    }
    subdirs.sort_unstable();
    for name in subdirs {
        find_modules(root, &join(dir, &name), out, seen)?;
    }
    Ok(())
}

/// One service per module, the local `require` edges, and each module's go.mod as the lockfile
/// of its service. A module at the root of a member pipeline.toml names takes that name, so two
/// modules with one last path element can be told apart there.
fn services(
    root: &Path,
    modules: &[Module],
    work: Option<&GoWork>,
    named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    let name_of = |m: &Module| -> String {
        named.iter().find(|n| n.root == m.dir).map_or_else(
            || last_element(&m.go_mod.module).to_string(),
            |n| n.name.clone(),
        )
    };
    let mut errors = Vec::new();
    let mut names: BTreeMap<String, &Module> = BTreeMap::new();
    let mut by_path: HashMap<&str, &Module> = HashMap::new();
    for m in modules {
        let name = name_of(m);
        if let Some(first) = names.insert(name.clone(), m) {
            errors.push(DiscoverError {
                file: m.manifest.clone(),
                line: None,
                message: format!(
                    "two Go modules give the service name `{name}`: {} ({}) and this one ({}); list the module folders in pipeline.toml's `[workspace] members` (each service is then named after its folder, `{}`)",
                    first.manifest, first.go_mod.module, m.go_mod.module, m.dir
                ),
            });
        }
        by_path.insert(&m.go_mod.module, m);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let is_local = |import: &str| {
        by_path.keys().any(|p| {
            import
                .strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
        })
    };
    let mut found = Discovery::default();
    for (name, m) in &names {
        let replaces_here = |r: &Replace, dep: &Module| {
            r.old == dep.go_mod.module && r.new == ReplaceTarget::Local(dep.dir.clone())
        };
        let mut deps: Vec<String> = m
            .go_mod
            .require
            .iter()
            .filter_map(|r| by_path.get(r.path.as_str()).filter(|d| d.dir != m.dir))
            .filter(|dep| work.is_some() || m.go_mod.replace.iter().any(|r| replaces_here(r, dep)))
            .map(|dep| name_of(dep))
            .collect();
        deps.sort_unstable();
        deps.dedup();
        let graph = scan_module(root, &m.dir, &m.go_mod.module).map_err(|e| vec![e])?;
        let external = closure(&graph, &m.dir, &[], &is_local).external;
        found.lockfiles.push(LockfileUse {
            path: m.manifest.clone(),
            format: LockFormat::GoMod,
            users: vec![LockUser {
                service: name.to_string(),
                key: m.dir.clone(),
                direct: external,
            }],
        });
        found.services.push(DiscoveredService {
            name: name.to_string(),
            root: m.dir.clone(),
            ecosystem: Ecosystem::Go,
            manifest: m.manifest.clone(),
            deps,
            dev_deps: Vec::new(),
            scripts: Vec::new(),
            packages: Vec::new(),
            paths: Vec::new(),
        });
    }
    Ok(found)
}
