//! npm, pnpm and yarn workspaces: the packages the workspace globs name (`package.json`
//! `workspaces`, or `pnpm-workspace.yaml` for pnpm), their edges where the package manager links
//! the local package (rules in `link`), their `scripts`, and which lockfile resolves their
//! external dependencies. The workspace root's own `package.json` is no service: it holds the
//! workspace, as `turbo` and the package managers treat it.

mod link;
mod locked;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Deserialize;

use super::files;
use super::{
    DiscoverError, DiscoveredService, Discovery, Ecosystem, Kind, LockFormat, LockLink, LockUser,
    LockfileUse,
};
use crate::confine::Root;
use crate::paths::WorkspaceDirs;
use link::Spec;

/// The parts of a `package.json` discovery reads; everything else is ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageJson {
    name: Option<String>,
    version: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    workspaces: Option<Workspaces>,
    package_manager: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Workspaces {
    List(Vec<String>),
    Object {
        #[serde(default)]
        packages: Vec<String>,
    },
}

/// `pnpm-workspace.yaml`: the package globs and the linking setting.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PnpmWorkspace {
    #[serde(default)]
    packages: Vec<String>,
    link_workspace_packages: Option<LinkSetting>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LinkSetting {
    Flag(bool),
    /// `deep`: links at every depth, so also the workspace's own packages.
    Mode(String),
}

/// One workspace package, read.
struct Package {
    dir: String,
    manifest: String,
    text: String,
    json: PackageJson,
}

/// The npm-family workspace at `root`, or nothing when there is none.
pub(super) fn discover(
    root: &Root,
    dirs: &mut dyn WorkspaceDirs,
) -> Result<Discovery, Vec<DiscoverError>> {
    let one = |e| vec![e];
    let root_pkg = match files::read(root, "package.json").map_err(one)? {
        Some(text) => Some(parse_package("package.json", &text).map_err(one)?),
        None => None,
    };
    let pnpm_text = files::read(root, "pnpm-workspace.yaml").map_err(one)?;
    let pnpm_ws = match &pnpm_text {
        Some(text) => Some(parse_pnpm_workspace(text).map_err(one)?),
        None => None,
    };
    let (pm, major) = detect(root, root_pkg.as_ref(), pnpm_ws.is_some()).map_err(one)?;
    let (patterns, file, text) = match (pm, &pnpm_ws, &root_pkg) {
        (Ecosystem::Pnpm, Some(ws), _) => {
            (&ws.packages, "pnpm-workspace.yaml", pnpm_text.as_deref())
        }
        (Ecosystem::Pnpm, None, _) => return Ok(Discovery::default()),
        (_, _, Some(pkg)) => match &pkg.workspaces {
            Some(Workspaces::List(p) | Workspaces::Object { packages: p }) => {
                (p, "package.json", None)
            }
            None => return Ok(Discovery::default()),
        },
        (_, _, None) => return Ok(Discovery::default()),
    };
    let root_text = match text {
        Some(t) => t.to_string(),
        None => files::read(root, "package.json")
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    let (packages, mut notes) = packages(root, dirs, patterns, file, &root_text)?;
    let pnpm_links_ranges = pnpm_links_ranges(root, pnpm_ws.as_ref(), major);
    let lock_path = lockfile_path(pm);
    let links = match lock_path.map(|path| (path, files::read_lockfile(root, path))) {
        Some((path, Ok(Some(text)))) => match locked::read(pm, &text) {
            Ok(links) => links.map(|l| (path, l)),
            Err(e) => {
                notes.push(DiscoverError::new(
                    path,
                    None,
                    format!("cannot be read for the links it records ({e}); edges follow the specifiers"),
                ));
                None
            }
        },
        Some((_, Err(e))) => {
            notes.push(e);
            None
        }
        _ => None,
    };
    let rules = Rules {
        pm,
        pnpm_links_ranges,
        lockfile: links.as_ref().map(|(path, l)| (*path, l)),
    };
    let mut found = services(&packages, &rules)?;
    found.notes.extend(notes);
    found.global_inputs.push("package.json".to_string());
    for extra in ["pnpm-workspace.yaml", ".npmrc"] {
        if files::is_file(root, extra).map_err(|e| vec![e])? {
            found.global_inputs.push(extra.to_string());
        }
    }
    Ok(found)
}

/// The package in workspace-relative `dir`, or `None` when it holds no `package.json`.
fn read_package(root: &Root, dir: &str) -> Result<Option<Package>, DiscoverError> {
    let manifest = format!("{dir}/package.json");
    let Some(text) = files::read(root, &manifest)? else {
        return Ok(None);
    };
    let json = parse_package(&manifest, &text)?;
    Ok(Some(Package {
        dir: dir.to_string(),
        manifest,
        text,
        json,
    }))
}

/// Every dependency a `package.json` declares, as `name@specifier` (dependencies, dev and
/// optional), or `None` when it cannot be parsed: what yarn 1 resolves for the package, read at
/// each end of a comparison from that end's manifest.
pub fn declared_dependencies(text: &str) -> Option<Vec<String>> {
    let json: PackageJson = serde_json::from_str(text).ok()?;
    let tables = [
        &json.dependencies,
        &json.dev_dependencies,
        &json.optional_dependencies,
    ];
    let mut out: Vec<String> = tables
        .into_iter()
        .flatten()
        .map(|(name, spec)| format!("{name}@{spec}"))
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

fn parse_package(manifest: &str, text: &str) -> Result<PackageJson, DiscoverError> {
    serde_json::from_str(text).map_err(|e| {
        DiscoverError::new(
            manifest,
            Some(e.line()),
            format!("cannot be parsed as package.json: {e}"),
        )
    })
}

fn parse_pnpm_workspace(text: &str) -> Result<PnpmWorkspace, DiscoverError> {
    if text.trim().is_empty() {
        return Ok(PnpmWorkspace::default());
    }
    crate::discover::yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).filter(|&l| l > 0);
        DiscoverError::new(
            "pnpm-workspace.yaml",
            line,
            format!("cannot be parsed: {e}"),
        )
    })
}

/// The package manager: `packageManager` first, then the lockfile present, then
/// `pnpm-workspace.yaml`; npm otherwise. For pnpm also its major version when known.
fn detect(
    root: &Root,
    pkg: Option<&PackageJson>,
    pnpm_ws: bool,
) -> Result<(Ecosystem, Option<u64>), DiscoverError> {
    if let Some(found) = pkg
        .and_then(|p| p.package_manager.as_deref())
        .and_then(link::from_package_manager)
    {
        return Ok(found);
    }
    for (file, pm) in [
        ("pnpm-lock.yaml", Ecosystem::Pnpm),
        ("yarn.lock", Ecosystem::Yarn),
        ("package-lock.json", Ecosystem::Npm),
    ] {
        if files::is_file(root, file)? {
            return Ok((pm, None));
        }
    }
    Ok(if pnpm_ws {
        (Ecosystem::Pnpm, None)
    } else {
        (Ecosystem::Npm, None)
    })
}

/// Whether pnpm links plain ranges: `linkWorkspacePackages` in `pnpm-workspace.yaml`, else
/// `link-workspace-packages` in `.npmrc`, else pnpm's default (on before pnpm 9, off since).
fn pnpm_links_ranges(root: &Root, ws: Option<&PnpmWorkspace>, major: Option<u64>) -> bool {
    if let Some(setting) = ws.and_then(|w| w.link_workspace_packages.as_ref()) {
        return match setting {
            LinkSetting::Flag(on) => *on,
            LinkSetting::Mode(m) => m == "deep" || m == "true",
        };
    }
    if let Some(on) = files::read(root, ".npmrc")
        .ok()
        .flatten()
        .and_then(|t| link::npmrc_link_setting(&t))
    {
        return on;
    }
    let major = major.or_else(|| {
        files::read_lockfile(root, "pnpm-lock.yaml")
            .ok()
            .flatten()
            .and_then(|t| link::pnpm_major_from_lockfile(t.get(..4096).unwrap_or(&t)))
    });
    major.is_some_and(|m| m < 9)
}

/// The packages in the directories the workspace globs name (those holding a `package.json`),
/// sorted by directory; `!` patterns remove matches. A pattern that names no package is a note,
/// as npm, pnpm and yarn install such a workspace without a word.
fn packages(
    root: &Root,
    dirs: &mut dyn WorkspaceDirs,
    patterns: &[String],
    file: &str,
    text: &str,
) -> Result<(Vec<Package>, Vec<DiscoverError>), Vec<DiscoverError>> {
    let mut found = Vec::new();
    let mut negated = Vec::new();
    let mut errors = Vec::new();
    // Where the list is, for a pattern whose own line cannot be told (a YAML scalar folded over
    // lines, or written with escapes outside quotes): the key that holds the patterns.
    let yaml = file.ends_with(".yaml");
    let key = if yaml { "packages" } else { "workspaces" };
    let list_line = text
        .lines()
        .position(|l| {
            l.trim_start()
                .trim_start_matches(['"', '\''])
                .starts_with(key)
        })
        .map(|i| i + 1);
    for pattern in patterns {
        // As written, which may be with escapes (`"packages\/*"`), or as a plain YAML scalar.
        let line = files::string_line(text, pattern, yaml)
            .or_else(|| files::line_of(text, pattern))
            .or(list_line);
        if let Some(neg) = pattern.strip_prefix('!') {
            match crate::glob::compile(neg.trim_start_matches("./").trim_end_matches('/')) {
                Ok(g) => negated.push(g.compile_matcher()),
                Err(e) => errors.push(DiscoverError::new(
                    file,
                    line,
                    format!("invalid workspace pattern `{pattern}`: {e}"),
                )),
            }
            continue;
        }
        match files::expand(root, dirs, pattern, file, line) {
            Ok(matched) => found.push((
                pattern.as_str(),
                line,
                matched
                    .into_iter()
                    .filter(|d| !d.is_empty())
                    .collect::<Vec<_>>(),
            )),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Every folder is read once, in parallel; a folder without a package.json is no package.
    let negated_dir = |d: &str| negated.iter().any(|m| m.is_match(d));
    let mut candidates: Vec<&String> = found
        .iter()
        .flat_map(|(_, _, dirs)| dirs)
        .filter(|d| !negated_dir(d))
        .collect();
    candidates.sort();
    candidates.dedup();
    let read: Vec<(&String, Result<Option<Package>, DiscoverError>)> = candidates
        .into_par_iter()
        .map(|dir| (dir, read_package(root, dir)))
        .collect();
    let mut packages = BTreeMap::new();
    for (dir, r) in read {
        match r {
            Ok(Some(p)) => {
                packages.insert(dir.clone(), p);
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let notes = found
        .iter()
        .filter(|(_, _, dirs)| {
            !dirs
                .iter()
                .any(|d| packages.contains_key(d) || negated_dir(d))
        })
        .map(|(pattern, line, _)| {
            DiscoverError::new(
                file,
                *line,
                format!("workspace pattern `{pattern}` matches no folder with a package.json; the package manager skips it, and so does shockwave"),
            )
        })
        .collect();
    // A package without a name (test fixtures, mostly) is no service: nothing can depend on it
    // by name, and its files belong to the service around it, if any.
    let packages = packages
        .into_values()
        .filter(|p| p.json.name.as_deref().is_some_and(|n| !n.is_empty()))
        .collect();
    Ok((packages, notes))
}

/// How dependencies link in one workspace.
struct Rules<'a> {
    pm: Ecosystem,
    /// pnpm's `link-workspace-packages`, as resolved for the workspace.
    pnpm_links_ranges: bool,
    /// The lockfile's path and the links it records, when it records them.
    lockfile: Option<(&'a str, &'a locked::LockLinks)>,
}

/// The services, their linked edges and the lockfile that resolves the rest. An edge is what
/// the lockfile records for the package's folder and dependency name; where it records
/// nothing (no lockfile, a stale one), the specifier rules of `link` decide.
fn services(packages: &[Package], rules: &Rules) -> Result<Discovery, Vec<DiscoverError>> {
    let pm = rules.pm;
    let mut errors = Vec::new();
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    let by_dir: BTreeMap<&str, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.dir.as_str(), i))
        .collect();
    for (i, p) in packages.iter().enumerate() {
        let name = p.json.name.as_deref().unwrap_or_default();
        if let Some(&first) = by_name.get(name) {
            errors.push(DiscoverError::new(
                &p.manifest,
                files::line_of(&p.text, "\"name\""),
                format!(
                    "two workspace packages are named `{name}`: this one and {}; rename one",
                    files::at(
                        &packages[first].manifest,
                        files::line_of(&packages[first].text, "\"name\"")
                    )
                ),
            ));
            continue;
        }
        by_name.insert(name, i);
    }
    let mut services = Vec::with_capacity(packages.len());
    let mut users = Vec::with_capacity(packages.len());
    let mut lock_links = Vec::new();
    for p in packages {
        let own = p.json.name.clone().unwrap_or_default();
        let mut deps = Vec::new();
        let mut direct = Vec::new();
        let tables = [
            &p.json.dependencies,
            &p.json.dev_dependencies,
            &p.json.optional_dependencies,
        ];
        for (dep, spec) in tables.into_iter().flatten() {
            let local = by_name.get(dep.as_str()).map(|&i| &packages[i]);
            let by_rules = match link::classify(spec) {
                Spec::Workspace => match local {
                    Some(l) => Some(l),
                    None => {
                        errors.push(DiscoverError::new(
                            &p.manifest,
                            files::line_of(&p.text, &format!("\"{dep}\"")),
                            format!("`{dep}` uses the workspace: protocol, but no workspace package is named `{dep}`; fix the name or add the package to the workspace"),
                        ));
                        None
                    }
                },
                Spec::Path(path) => match files::join(&p.dir, path) {
                    Some(target) => by_dir.get(target.as_str()).map(|&i| &packages[i]),
                    None => {
                        errors.push(DiscoverError::new(
                            &p.manifest,
                            files::line_of(&p.text, &format!("\"{dep}\"")),
                            format!("`{dep}` points at `{path}`, outside the repository; local path dependencies must stay inside it"),
                        ));
                        None
                    }
                },
                Spec::Range(range) => local.filter(|l| {
                    link::range_links(
                        pm,
                        rules.pnpm_links_ranges,
                        range,
                        l.json.version.as_deref(),
                    )
                }),
                Spec::External => None,
            };
            let recorded = rules
                .lockfile
                .and_then(|(path, links)| Some((path, links.get(&p.dir, dep)?)));
            // The lockfile wins; it is named where the specifier rules alone would not link.
            let (linked, decided_by) = match recorded {
                Some((path, target)) => {
                    let by_lock = target.and_then(|t| by_dir.get(t)).map(|&i| &packages[i]);
                    (by_lock, by_rules.is_none().then_some(path))
                }
                None => (by_rules, None),
            };
            match linked {
                Some(l) => {
                    let name = l.json.name.clone().unwrap_or_default();
                    if name != own {
                        if let Some(file) = decided_by {
                            lock_links.push(LockLink {
                                service: own.clone(),
                                dep: name.clone(),
                                file: file.to_string(),
                            });
                        }
                        deps.push(name);
                    }
                }
                None => direct.push(format!("{dep}@{spec}")),
            }
        }
        deps.sort();
        deps.dedup();
        direct.sort();
        direct.dedup();
        let mut scripts: Vec<String> = p.json.scripts.keys().cloned().collect();
        scripts.sort();
        users.push(LockUser {
            service: own.clone(),
            key: match pm {
                Ecosystem::Yarn => own.clone(),
                _ => p.dir.clone(),
            },
            direct: if pm == Ecosystem::Yarn {
                direct
            } else {
                Vec::new()
            },
        });
        services.push(DiscoveredService {
            name: own,
            root: p.dir.clone(),
            ecosystem: pm,
            manifest: p.manifest.clone(),
            name_line: files::line_of(&p.text, "\"name\""),
            deps,
            dev_deps: Vec::new(),
            scripts,
            packages: Vec::new(),
            kind: Kind::Service,
            paths: Vec::new(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    lock_links.sort();
    lock_links.dedup();
    Ok(Discovery {
        services,
        lockfiles: lockfile(pm, users).into_iter().collect(),
        lock_links,
        ..Discovery::default()
    })
}

/// The lockfile the package manager writes, at the workspace root.
fn lockfile_path(pm: Ecosystem) -> Option<&'static str> {
    match pm {
        Ecosystem::Npm => Some("package-lock.json"),
        Ecosystem::Pnpm => Some("pnpm-lock.yaml"),
        Ecosystem::Yarn => Some("yarn.lock"),
        _ => None,
    }
}

/// The lockfile the package manager writes, with every package as a user. Whether it exists is
/// not checked: a lockfile added later is judged the same way.
fn lockfile(pm: Ecosystem, users: Vec<LockUser>) -> Option<LockfileUse> {
    let format = match pm {
        Ecosystem::Npm => LockFormat::NpmLock,
        Ecosystem::Pnpm => LockFormat::PnpmLock,
        Ecosystem::Yarn => LockFormat::YarnLock,
        _ => return None,
    };
    Some(LockfileUse {
        path: lockfile_path(pm)?.to_string(),
        format,
        target: None,
        users,
    })
}
