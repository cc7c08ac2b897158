//! Validation: from the raw shapes to the frozen [`Workspace`], collecting every problem as a
//! [`Diagnostic`] with the span of the text at fault and a sentence on what to do, so that one run
//! reports them all. This file holds the order of the work and the checks shared by its steps
//! (roots, deps, globs, the service graph); `members` and `targets` add their own steps to the same
//! [`Validator`]. Validation reads directories (to resolve roots) but never writes or prints.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::members::WorkspaceDirs;
use super::model::{RemoteCacheFile, Service, ServiceId, Workspace};
use super::raw::{RawConfig, RawRemoteCache, RawService, RawTarget, SpannedStr};
use super::roots::Listings;
use super::targets::{Defaults, MissingCommands, Scripts};
use crate::diagnostic::{suggest, Diagnostic};
use crate::discover::{DiscoverError, Ecosystem, Kind, PackageInput};
use crate::glob::{self, Globs};
use crate::graph::ServiceGraph;

/// The state of one validation: where the workspace is, how its directories are seen, and what
/// has been found wrong so far.
pub(super) struct Validator<'a> {
    pub(super) root: &'a Path,
    /// `root` with every symlink resolved: a service root must resolve below it.
    pub(super) real_root: PathBuf,
    /// Parent folders of many roots, listed once (see `roots`).
    pub(super) listings: Listings,
    pub(super) dirs: &'a mut dyn WorkspaceDirs,
    pub(super) errors: Vec<Diagnostic>,
    glob_cache: FxHashMap<Vec<String>, Arc<Globs>>,
    pub(super) missing_command: MissingCommands,
    /// No pipeline.toml: everything comes from discovery, and the workspace-level manifests are
    /// global inputs.
    pub(super) zero_config: bool,
    /// The root turbo.json, used when the config writes no targets.
    pub(super) turbo: Option<super::turbo::Turbo>,
    /// turbo.json keys with no equivalent, for one warning.
    pub(super) turbo_ignored: Vec<String>,
}

/// Why validation produced no workspace.
pub(super) enum Rejected {
    /// Problems in pipeline.toml, at their positions in it.
    Invalid(Vec<Diagnostic>),
    /// Manifests discovery could not use.
    Discover(Vec<DiscoverError>),
}

/// A service as collected from `members`, discovery and `[services.*]`, before ids exist.
#[derive(Default)]
pub(super) struct Draft {
    pub(super) root: String,
    pub(super) name_span: Option<Range<usize>>,
    pub(super) deps: Vec<SpannedStr>,
    pub(super) paths: Vec<String>,
    pub(super) targets: BTreeMap<SpannedStr, RawTarget>,
    /// What discovery read from the service's manifest.
    pub(super) found: Option<Box<Found>>,
}

/// A discovered service's part of a [`Draft`].
pub(super) struct Found {
    pub(super) ecosystem: Ecosystem,
    /// The name its manifest gives it (a Cargo crate's package name, which `cargo -p` takes),
    /// whatever `members` named the service.
    pub(super) package: String,
    /// Names of the services it links (only services that exist among the drafts).
    pub(super) deps: Vec<String>,
    /// Names of the services it needs only for its tests.
    pub(super) dev_deps: Vec<String>,
    pub(super) scripts: Vec<String>,
    pub(super) packages: Vec<PackageInput>,
    pub(super) kind: Kind,
    /// Globs added to the service's `paths`.
    pub(super) paths: Vec<String>,
}

/// Where a service root really is.
pub(super) enum Resolved {
    /// Inside the workspace: its workspace-relative path with symlinks resolved.
    Inside(String),
    /// It leads out of the workspace, to this absolute path.
    Outside(PathBuf),
    /// Inside `.git` (workspace-relative path).
    InGitDir(String),
    /// No such directory.
    Missing,
}

/// Where each valid `deps` entry is written: `(dependent, dependency, span)`, for cycle errors. A
/// list, not a map: it is only searched when there is a cycle to report.
type DepSpans = Vec<(ServiceId, ServiceId, Range<usize>)>;

impl<'a> Validator<'a> {
    pub(super) fn new(root: &'a Path, dirs: &'a mut dyn WorkspaceDirs) -> Self {
        Validator {
            root,
            real_root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
            dirs,
            listings: Listings::default(),
            errors: Vec::new(),
            glob_cache: FxHashMap::default(),
            missing_command: BTreeMap::new(),
            zero_config: false,
            turbo: None,
            turbo_ignored: Vec::new(),
        }
    }

    /// Validates `raw` (read from `path`). The steps run in a fixed order — workspace globs,
    /// members, explicit services, the defaults' needs, each service's deps and targets, targets
    /// without a command, the cycle — and that is the order the diagnostics are reported in.
    pub(super) fn run(mut self, mut raw: RawConfig, path: &Path) -> Result<Workspace, Rejected> {
        // turbo.json supplies the targets only where the config writes none.
        let turbo = self.turbo.take().filter(|_| {
            raw.targets.is_empty() && raw.services.values().all(|s| s.targets.is_empty())
        });
        let mut targets_file = path.to_path_buf();
        if let Some(t) = &turbo {
            raw.targets = t.targets.clone();
            raw.workspace
                .global_inputs
                .extend(t.global_inputs.iter().cloned());
            // As turbo treats it: a change to the root turbo.json can change any task.
            raw.workspace
                .global_inputs
                .push(super::raw::Spanned::new(0..0, t.file.name.clone()));
            raw.workspace
                .global_env
                .extend(t.global_env.iter().cloned());
            self.turbo_ignored.extend(t.ignored.iter().cloned());
            targets_file = self.root.join(&t.file.name);
        }
        let ws = raw.workspace;
        let written_globals = self.valid_patterns(&ws.global_inputs, "global_inputs");
        let ignore = self.globs(&ws.ignore, "ignore");
        let unowned = ws.unowned.map(|u| u.into_inner()).unwrap_or_default();

        let mut drafts = self.member_drafts(&ws.members);
        self.list_root_parents(
            raw.services
                .values()
                .filter_map(|s| s.root.as_ref().map(|r| r.get_ref().as_str())),
        );
        let discovery = self
            .discovered(&mut drafts, ws.discover.as_ref(), !ws.members.is_empty())
            .map_err(Rejected::Discover)?;
        let global_inputs = self.global_inputs(written_globals, &discovery.global_inputs);
        for (name, svc) in raw.services {
            self.add_explicit(&mut drafts, name, svc);
        }
        if let Some(t) = &turbo {
            self.apply_turbo(&mut drafts, t);
        }
        if turbo.is_none() {
            // (turbo.json's references were checked against the packages by `apply_turbo`.)
            self.check_need_services(&raw.targets, &drafts);
        }
        let mut target_names = self.target_names(&raw.targets, drafts.values().map(|d| &d.targets));
        for found in drafts.values().filter_map(|d| d.found.as_ref()) {
            target_names.extend(found.scripts.iter().cloned());
        }

        // Two explicit services may also share a root: that is allowed (deepest root wins, ties are
        // both owners), but the same name twice is impossible in TOML so nothing to check there.
        let names: Vec<String> = drafts.keys().cloned().collect();
        let ids: FxHashMap<&str, ServiceId> = names
            .iter()
            .enumerate()
            .map(|(id, n)| (n.as_str(), id))
            .collect();
        let mut defaults = Defaults::new(&raw.targets);
        let mut services = Vec::with_capacity(drafts.len());
        let mut dep_spans = DepSpans::new();
        for (name, d) in drafts {
            let mut deps = self.service_deps(
                &name,
                services.len(),
                &d.deps,
                (&names, &ids),
                &mut dep_spans,
            );
            // A unit with no default targets is a plain service: a `[targets.*]` default
            // without a command is reported for it, as for a service written by hand.
            let scripts = d
                .found
                .as_ref()
                .filter(|f| f.ecosystem.is_npm_family() || !f.scripts.is_empty())
                .map(|f| Scripts {
                    ecosystem: f.ecosystem,
                    kind: f.kind,
                    package: &f.package,
                    names: &f.scripts,
                })
                // A target without a command runs a discovered unit's default of that name: a
                // discovered service without one has no such target (as turbo.json's tasks
                // reach only the packages of the JavaScript workspace), and the root package
                // (`//`) has only the targets its own table writes.
                .or_else(|| {
                    let root_package = name == super::turbo::ROOT_PACKAGE;
                    (turbo.is_some() || d.found.is_some() || root_package).then_some(Scripts {
                        ecosystem: Ecosystem::Npm,
                        kind: Kind::Service,
                        package: "",
                        names: &[],
                    })
                });
            let (targets, outputs) =
                self.service_targets(&name, &d.targets, &mut defaults, &target_names, scripts);
            let mut paths = d.paths;
            if let Some(found) = &d.found {
                paths.extend(found.paths.iter().cloned());
                paths.sort();
                paths.dedup();
            }
            let path_globs = self.globs_for(&paths);
            let (ecosystem, packages, dev_deps, kind) = match d.found {
                Some(found) => {
                    deps.extend(found.deps.iter().filter_map(|dep| ids.get(dep.as_str())));
                    deps.sort_unstable();
                    deps.dedup();
                    // A dependency also written or linked as a normal one is a normal one.
                    let mut dev: Vec<ServiceId> = found
                        .dev_deps
                        .iter()
                        .filter_map(|dep| ids.get(dep.as_str()).copied())
                        .filter(|dep| deps.binary_search(dep).is_err())
                        .collect();
                    dev.sort_unstable();
                    dev.dedup();
                    (Some(found.ecosystem), found.packages, dev, found.kind)
                }
                None => (None, Vec::new(), Vec::new(), Kind::Service),
            };
            services.push(Service {
                name,
                root: d.root,
                deps,
                dev_deps,
                path_globs,
                paths,
                targets,
                outputs,
                ecosystem,
                packages,
                kind,
            });
        }
        self.report_missing_commands();

        let remote_cache = self.remote_cache(raw.remote_cache.unwrap_or_default());
        let graph = self.service_graph(&services, &dep_spans);
        let Some(graph) = graph.filter(|_| self.errors.is_empty()) else {
            return Err(Rejected::Invalid(self.errors));
        };
        Ok(Workspace {
            config_path: path.to_path_buf(),
            zero_config: self.zero_config,
            root: self.root.to_path_buf(),
            default_base: ws.default_base,
            global_inputs,
            global_env: {
                let mut env: Vec<String> =
                    ws.global_env.iter().map(|e| e.get_ref().clone()).collect();
                env.sort();
                env.dedup();
                env
            },
            targets_file,
            turbo_ignored: self.turbo_ignored,
            ignore,
            unowned,
            fsmonitor: ws.fsmonitor.unwrap_or_default(),
            services,
            target_names,
            graph,
            remote_cache,
            lockfiles: discovery.lockfiles,
            discovery_notes: discovery.notes,
            lock_links: discovery.lock_links,
        })
    }

    /// Every `"service#target"` need names a service, in the defaults and the services'
    /// overrides.
    fn check_need_services(
        &mut self,
        defaults: &BTreeMap<SpannedStr, RawTarget>,
        drafts: &BTreeMap<String, Draft>,
    ) {
        let written = defaults
            .values()
            .chain(drafts.values().flat_map(|d| d.targets.values()));
        let mut unknown = Vec::new();
        for t in written {
            for need in t.needs.iter().flatten() {
                if let super::model::Need::Of { service, .. } =
                    super::targets::parse_need(need.get_ref())
                {
                    if !drafts.contains_key(&service) {
                        unknown.push((service, need.span()));
                    }
                }
            }
        }
        for (service, span) in unknown {
            let hint = suggest(&service, drafts.keys().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            self.errors.push(
                Diagnostic::new(format!("needs names service `{service}`, which does not exist{hint}"))
                    .at(span)
                    .help("write `SERVICE#TARGET` with the name of a service, or `^TARGET` for every dependency"),
            );
        }
    }

    /// Checks `[remote_cache]`: no token, an http(s) URL, a readable timeout.
    fn remote_cache(&mut self, raw: RawRemoteCache) -> RemoteCacheFile {
        if let Some(token) = &raw.token {
            self.errors.push(
                Diagnostic::new(
                    "a token does not belong in a committed file; set SHOCKWAVE_REMOTE_CACHE_TOKEN in the environment instead",
                )
                .at(token.span())
                .help("remove the `token` key (and rotate the token if this file was ever committed)"),
            );
        }
        if let Some(url) = &raw.url {
            if let Err(why) = super::remote::check_url(url.get_ref()) {
                self.errors.push(
                    Diagnostic::new(format!("remote_cache.url: {why}"))
                        .at(url.span())
                        .help("write the server's base URL, such as `https://cache.example.com`"),
                );
            }
        }
        let timeout =
            raw.timeout
                .as_ref()
                .and_then(|t| match super::remote::parse_duration(t.get_ref()) {
                    Ok(d) => Some(d),
                    Err(why) => {
                        self.errors.push(
                            Diagnostic::new(format!("remote_cache.timeout: {why}"))
                                .at(t.span())
                                .help("write a duration such as \"30s\", \"500ms\" or \"2m\""),
                        );
                        None
                    }
                });
        RemoteCacheFile {
            url: raw.url.map(|u| u.into_inner()),
            team: raw.team,
            read_only: raw.read_only,
            signature: raw.signature,
            timeout,
        }
    }

    /// Adds `[services.NAME]` to the member services: it configures the member of that name, or
    /// is a service of its own with an explicit `root`.
    fn add_explicit(
        &mut self,
        drafts: &mut BTreeMap<String, Draft>,
        name: SpannedStr,
        svc: RawService,
    ) {
        let name_span = name.span();
        let name = name.into_inner();
        let explicit_root = svc.root.as_ref().and_then(|r| self.root_path(r));
        let paths = self
            .valid_patterns(&svc.paths, "paths")
            .iter()
            .map(|p| glob::normalize(p))
            .collect();
        match drafts.get_mut(&name) {
            Some(existing) => {
                if let (Some(root), Some(span)) =
                    (&explicit_root, svc.root.as_ref().map(|r| r.span()))
                {
                    if *root != existing.root && existing.name_span.is_none() {
                        let what = match existing.found {
                            Some(_) => "discovered package in",
                            None => "member folder",
                        };
                        self.errors.push(
                            Diagnostic::new(format!(
                                "two services are named `{name}`: root `{root}` here and {what} `{}`",
                                existing.root
                            ))
                            .at(span)
                            .help("give this service another name, or drop `root` to configure the member service"),
                        );
                    }
                }
                existing.name_span = Some(name_span);
                existing.deps = svc.deps;
                existing.paths = paths;
                existing.targets = svc.targets;
            }
            None => {
                let Some(root) = explicit_root else {
                    if svc.root.is_none() {
                        self.errors.push(
                            Diagnostic::new(format!(
                                "service `{name}` has no `root` and no folder matched by `members` is named `{name}`"
                            ))
                            .at(name_span)
                            .help(format!("add root = \"path/to/{name}\" to [services.{name}]")),
                        );
                    }
                    return;
                };
                drafts.insert(
                    name,
                    Draft {
                        root,
                        name_span: Some(name_span),
                        deps: svc.deps,
                        paths,
                        targets: svc.targets,
                        found: None,
                    },
                );
            }
        }
    }

    /// The ids of service `name`'s `deps` (sorted, deduplicated; `names` is every service, sorted,
    /// with the id of each), noting where each is written. Unknown names and the service itself
    /// are reported.
    fn service_deps(
        &mut self,
        name: &str,
        self_id: ServiceId,
        deps: &[SpannedStr],
        (names, by_name): (&[String], &FxHashMap<&str, ServiceId>),
        dep_spans: &mut DepSpans,
    ) -> Vec<ServiceId> {
        let mut ids = Vec::with_capacity(deps.len());
        for dep in deps {
            match by_name.get(dep.get_ref().as_str()).copied().ok_or(()) {
                Ok(id) if id == self_id => self.errors.push(
                    Diagnostic::new(format!("service `{name}` depends on itself"))
                        .at(dep.span())
                        .help("remove it from `deps`"),
                ),
                Ok(id) => {
                    dep_spans.push((self_id, id, dep.span()));
                    ids.push(id);
                }
                Err(_) => self.unknown_name(
                    dep,
                    dep.get_ref(),
                    names,
                    format!(
                        "service `{name}` depends on `{}`, which is not a service",
                        dep.get_ref()
                    ),
                    "declare that service or fix the name",
                ),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The service graph, or `None` with a cycle reported when the `deps` written in
    /// pipeline.toml close one among themselves. Cycles through discovered edges are accepted,
    /// as the package managers accept them (`check` warns); only ordering tasks across one fails.
    fn service_graph(
        &mut self,
        services: &[Service],
        dep_spans: &DepSpans,
    ) -> Option<ServiceGraph> {
        let mut written: Vec<Vec<ServiceId>> = vec![Vec::new(); services.len()];
        for (from, to, _) in dep_spans {
            written[*from].push(*to);
        }
        let only_written =
            ServiceGraph::build(written.iter().map(Vec::as_slice), std::iter::empty());
        if let Some(group) = only_written.cycles().first() {
            let cycle = only_written
                .cycle_through(group[0])
                .unwrap_or_else(|| group.clone());
            let chain: Vec<&str> = cycle.iter().map(|&i| services[i].name.as_str()).collect();
            // Point at the last written entry of the loop, as a dependency written twice is
            // reported where it is written last.
            let span = cycle.windows(2).find_map(|w| {
                dep_spans
                    .iter()
                    .rfind(|(from, to, _)| (*from, *to) == (w[0], w[1]))
                    .map(|(_, _, span)| span.clone())
            });
            self.errors.push(
                Diagnostic::new(format!("dependency cycle: {}", chain.join(" → ")))
                    .at_opt(span)
                    .help(
                        "services must form a DAG; remove one of the `deps` entries in this cycle",
                    ),
            );
            return None;
        }
        Some(ServiceGraph::build(
            services.iter().map(|s| s.deps.as_slice()),
            services.iter().map(|s| s.dev_deps.as_slice()),
        ))
    }

    /// Validates a `root` value: relative, an existing directory, inside the workspace once
    /// symlinks are followed, and not inside `.git`. Returns where it really is.
    fn root_path(&mut self, root: &SpannedStr) -> Option<String> {
        let value = root.get_ref();
        let normalized = match normalize_rel(value) {
            Some(n) => n,
            None => {
                self.errors.push(
                    Diagnostic::new(format!("root `{value}` is outside the repository"))
                        .at(root.span())
                        .help("use a path relative to the directory holding pipeline.toml, without `..` above it"),
                );
                return None;
            }
        };
        match self.resolve(&normalized) {
            Resolved::Inside(real) => Some(real),
            Resolved::Outside(target) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "root `{value}` leads outside the repository (to {}) through a symlink",
                        target.display()
                    ))
                    .at(root.span())
                    .help("a service's root must stay inside the repository: point the symlink inside it, or name the directory itself"),
                );
                None
            }
            Resolved::InGitDir(real) => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "root `{value}` is inside git's own directory (`{real}`)"
                    ))
                    .at(root.span())
                    .help("a service's root must be part of the worktree, not of `.git`"),
                );
                None
            }
            Resolved::Missing => {
                self.errors.push(
                    Diagnostic::new(format!("root `{value}` does not exist or is not a directory"))
                        .at(root.span())
                        .help("create the directory or fix the path (it is relative to the directory holding pipeline.toml)"),
                );
                None
            }
        }
    }

    /// Where the workspace-relative directory `rel` really is, symlinks followed. A directory
    /// that only the repository knows (outside a sparse checkout's cone) is taken as written:
    /// git records it as a tree, so it holds no symlink.
    pub(super) fn resolve(&mut self, rel: &str) -> Resolved {
        let inside = |real: String| {
            if real.split('/').any(|c| c == ".git") {
                Resolved::InGitDir(real)
            } else {
                Resolved::Inside(real)
            }
        };
        if let Some(real) = self.listings.lookup(rel) {
            return inside(real);
        }
        let full = self.root.join(rel);
        match std::fs::canonicalize(&full) {
            Ok(real) => {
                let Ok(below) = real.strip_prefix(&self.real_root) else {
                    return Resolved::Outside(real);
                };
                if !real.is_dir() {
                    return Resolved::Missing;
                }
                match below.to_str() {
                    Some(r) => inside(r.to_string()),
                    // A non-UTF-8 target: keep the written (UTF-8) path.
                    None => inside(rel.to_string()),
                }
            }
            Err(_) if self.dirs.is_dir(rel) => inside(rel.to_string()),
            Err(_) => Resolved::Missing,
        }
    }

    /// Reports `written` for naming `name`, which is none of `known`: `message`, with `otherwise`
    /// as the help, led by the closest known name when `name` looks like a typo of it.
    pub(super) fn unknown_name<'k>(
        &mut self,
        written: &SpannedStr,
        name: &str,
        known: impl IntoIterator<Item = &'k String>,
        message: String,
        otherwise: &str,
    ) {
        let help = match suggest(name, known.into_iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`? Otherwise {otherwise}"),
            None => otherwise.to_string(),
        };
        self.errors
            .push(Diagnostic::new(message).at(written.span()).help(help));
    }

    /// The patterns that compile, as written; each one that does not is reported.
    pub(super) fn valid_patterns(&mut self, patterns: &[SpannedStr], field: &str) -> Vec<String> {
        patterns
            .iter()
            .filter(|p| self.check_glob(p, field))
            .map(|p| p.get_ref().clone())
            .collect()
    }

    fn check_glob(&mut self, pattern: &SpannedStr, field: &str) -> bool {
        match glob::compile(pattern.get_ref()) {
            Ok(_) => true,
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("invalid glob `{}` in {field}: {e}", pattern.get_ref()))
                        .at(pattern.span())
                        .help("fix the pattern; `*` matches within one folder, `**` across folders, `{a,b}` alternatives"),
                );
                false
            }
        }
    }

    fn globs(&mut self, patterns: &[SpannedStr], field: &str) -> Globs {
        let ok = self.valid_patterns(patterns, field);
        Globs::new(ok).unwrap_or_else(|_| Globs::empty())
    }

    /// The compiled valid `patterns`, or `default` when the field is not written.
    pub(super) fn shared_globs(
        &mut self,
        patterns: Option<&Vec<SpannedStr>>,
        default: &[&str],
        field: &str,
    ) -> Arc<Globs> {
        let list: Vec<String> = match patterns {
            Some(ps) => self.valid_patterns(ps, field),
            None => default.iter().map(|s| s.to_string()).collect(),
        };
        self.globs_for(&list)
    }

    /// Compiled globs for a list of already validated patterns, shared between equal lists (with
    /// thousands of services, most lists are the same few).
    pub(super) fn globs_for(&mut self, list: &[String]) -> Arc<Globs> {
        if let Some(g) = self.glob_cache.get(list) {
            return g.clone();
        }
        let g = Arc::new(Globs::new(list.to_vec()).unwrap_or_else(|_| Globs::empty()));
        self.glob_cache.insert(list.to_vec(), g.clone());
        g
    }
}

/// Normalises a config-relative path: `/` separators, no `.` parts, no trailing slash. `None` when
/// it is absolute or climbs above the workspace root.
pub(super) fn normalize_rel(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') && Path::new(path).is_absolute() {
        return None;
    }
    join_rel("", path)
}

/// `/`-separated relative path `rel` laid over directory `base` (both workspace-relative), with
/// empty and `.` parts dropped and `..` resolved lexically; `None` when it climbs above the
/// workspace root. The one path normalisation config and discovery share; callers decide first
/// which absolute forms to refuse.
pub fn join_rel(base: &str, rel: &str) -> Option<String> {
    // Most paths are already normal: keep them as written.
    let plain = |p: &str| p.split('/').all(|c| !matches!(c, "" | "." | ".."));
    if base.is_empty() && plain(rel) {
        return Some(rel.to_string());
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalize_rel;
    use crate::config::testing::{parse_in, tree};

    #[test]
    fn reports_every_error_at_once() {
        let t = tree(&["services/a"]);
        let text = "[workspace]\nmembers = [\"services/*\"]\nignore = [\"[\"]\n[services.a]\ndeps = [\"nope\"]\n[services.z]\nroot = \"../outside\"\n";
        let errs = parse_in(t.path(), text).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].message.contains("invalid glob `[`"));
        assert!(errs
            .iter()
            .any(|e| e.message.contains("outside the repository")));
        assert!(errs
            .iter()
            .any(|e| e.message.contains("`nope`, which is not a service")));
    }

    #[test]
    fn cycle_is_named() {
        let t = tree(&["a", "b", "c"]);
        let text = "[services.a]\nroot=\"a\"\ndeps=[\"b\"]\n[services.b]\nroot=\"b\"\ndeps=[\"c\"]\n[services.c]\nroot=\"c\"\ndeps=[\"a\"]\n";
        let errs = parse_in(t.path(), text).unwrap_err();
        assert!(
            errs[0].message.contains("a → b → c → a"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn normalize_rel_rejects_escapes() {
        assert_eq!(normalize_rel("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_rel("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_rel("../b"), None);
        assert_eq!(normalize_rel("/abs"), None);
    }
}
