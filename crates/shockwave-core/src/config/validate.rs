//! Validation: from the raw shapes to the frozen [`Workspace`], collecting every problem as a
//! [`Diagnostic`] with the span of the text at fault and a sentence on what to do, so that one run
//! reports them all. This file holds the order of the work and the steps that are no other file's
//! (explicit services, deps, `[remote_cache]`, the service graph); the state and the checks the
//! steps share are [`Validator`]'s (`validator`), and `members`, `discovered`, `targets` and
//! `turbo` add their own steps to it. Validation reads directories (to resolve roots) but never
//! writes or prints.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use rustc_hash::FxHashMap;

use super::model::{Need, RemoteCacheFile, Service, ServiceId, Workspace};
use super::raw::{RawConfig, RawRemoteCache, RawService, RawTarget, Spanned, SpannedStr};
use super::remote::{check_url, parse_duration};
use super::targets::{parse_need, Defaults, Scripts};
use super::turbo::{Turbo, ROOT_PACKAGE};
use super::validator::{Draft, Validator};
use crate::diagnostic::{suggest, Diagnostic};
use crate::discover::{DiscoverError, Ecosystem, Kind};
use crate::glob;
use crate::graph::ServiceGraph;

/// Why validation produced no workspace.
pub(super) enum Rejected {
    /// Problems in pipeline.toml, at their positions in it.
    Invalid(Vec<Diagnostic>),
    /// Manifests discovery could not use.
    Discover(Vec<DiscoverError>),
}

/// Where each valid `deps` entry is written: `(dependent, dependency, span)`, for cycle errors. A
/// list, not a map: it is only searched when there is a cycle to report.
type DepSpans = Vec<(ServiceId, ServiceId, Range<usize>)>;

impl Validator<'_> {
    /// Validates `raw` (read from `path`). The steps run in a fixed order — workspace globs,
    /// members, explicit services, the defaults' needs, each service's deps and targets, targets
    /// without a command, the cycle — and that is the order the diagnostics are reported in.
    /// `turbo`: the root turbo.json, used when the config writes no targets.
    pub(super) fn run(
        mut self,
        mut raw: RawConfig,
        path: &Path,
        turbo: Option<Turbo>,
    ) -> Result<Workspace, Rejected> {
        // turbo.json supplies the targets only where the config writes none.
        let turbo = turbo.filter(|_| {
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
                .push(Spanned::new(0..0, t.file.name.clone()));
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
            .map(|(id, n)| (n.as_str(), ServiceId::new(id)))
            .collect();
        let mut defaults = Defaults::new(&raw.targets);
        let mut services = Vec::with_capacity(drafts.len());
        let mut dep_spans = DepSpans::new();
        for (name, d) in drafts {
            let mut deps = self.service_deps(
                &name,
                ServiceId::new(services.len()),
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
                    let root_package = name == ROOT_PACKAGE;
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
                if let Need::Of { service, .. } = parse_need(need.get_ref()) {
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
            if let Err(why) = check_url(url.get_ref()) {
                self.errors.push(
                    Diagnostic::new(format!("remote_cache.url: {why}"))
                        .at(url.span())
                        .help("write the server's base URL, such as `https://cache.example.com`"),
                );
            }
        }
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| match parse_duration(t.get_ref()) {
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
            written[from.index()].push(*to);
        }
        let only_written =
            ServiceGraph::build(written.iter().map(Vec::as_slice), std::iter::empty());
        if let Some(group) = only_written.cycles().first() {
            let cycle = only_written
                .cycle_through(group[0])
                .unwrap_or_else(|| group.clone());
            let chain: Vec<&str> = cycle
                .iter()
                .map(|i| services[i.index()].name.as_str())
                .collect();
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
}

#[cfg(test)]
mod tests {
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
}
