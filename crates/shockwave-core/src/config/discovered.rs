//! `[workspace] discover`: reading the setting, running discovery and laying what it found under
//! the config. Discovered services become drafts that `[services.NAME]` may refine; with `members`
//! the members name the services and discovery supplies only their edges (matched by root).
//! Discovery's own errors name manifests, not pipeline.toml, and stop validation at once.

use std::collections::BTreeMap;

use super::validator::{Draft, Found, Validator};
use crate::diagnostic::Diagnostic;
use crate::discover::{self, DiscoverError, Discovery, NamedService, Sources};
use crate::glob::Globs;

impl Validator<'_> {
    /// Runs discovery when `setting` (or a missing pipeline.toml) asks for it and adds what it
    /// found to `drafts`; the lockfiles and global inputs are returned.
    pub(super) fn discovered(
        &mut self,
        drafts: &mut BTreeMap<String, Draft>,
        setting: Option<&super::raw::Spanned<toml::Value>>,
        edges_only: bool,
    ) -> Result<Discovery, Vec<DiscoverError>> {
        let sources = match (self.zero_config, setting) {
            (true, _) => Sources::ALL,
            (false, None) => return Ok(Discovery::default()),
            (false, Some(v)) => match self.sources(v) {
                Some(s) => s,
                None => return Ok(Discovery::default()),
            },
        };
        let named: Vec<NamedService> = drafts
            .iter()
            .map(|(name, d)| NamedService {
                name: name.clone(),
                root: d.root.clone(),
            })
            .collect();
        let mut found = discover::discover(self.root, &mut *self.dirs, sources, &named)?;
        if !edges_only {
            for s in std::mem::take(&mut found.services) {
                let draft = Draft {
                    root: s.root,
                    found: Some(Box::new(Found {
                        ecosystem: s.ecosystem,
                        package: s.name.clone(),
                        deps: s.deps,
                        dev_deps: s.dev_deps,
                        scripts: s.scripts,
                        packages: s.packages,
                        kind: s.kind,
                        paths: s.paths,
                    })),
                    ..Draft::default()
                };
                drafts.insert(s.name, draft);
            }
            return Ok(found);
        }
        // `members` named the services: a discovered one lends its edges to the member at its
        // root, and its dependencies are renamed after the members at theirs.
        let by_root: BTreeMap<String, String> = drafts
            .iter()
            .map(|(name, d)| (d.root.clone(), name.clone()))
            .collect();
        let renamed: BTreeMap<String, String> = found
            .services
            .iter()
            .filter_map(|s| Some((s.name.clone(), by_root.get(&s.root)?.clone())))
            .collect();
        for s in std::mem::take(&mut found.services) {
            let Some(member) = renamed.get(&s.name) else {
                continue;
            };
            if let Some(draft) = drafts.get_mut(member) {
                draft.found = Some(Box::new(Found {
                    ecosystem: s.ecosystem,
                    package: s.name.clone(),
                    deps: s
                        .deps
                        .iter()
                        .filter_map(|d| renamed.get(d).cloned())
                        .collect(),
                    dev_deps: s
                        .dev_deps
                        .iter()
                        .filter_map(|d| renamed.get(d).cloned())
                        .collect(),
                    scripts: s.scripts,
                    packages: s.packages,
                    kind: s.kind,
                    paths: s.paths,
                }));
            }
        }
        found
            .lock_links
            .retain_mut(|l| match (renamed.get(&l.service), renamed.get(&l.dep)) {
                (Some(service), Some(dep)) => {
                    l.service = service.clone();
                    l.dep = dep.clone();
                    true
                }
                _ => false,
            });
        for lock in &mut found.lockfiles {
            lock.users.retain_mut(|u| match renamed.get(&u.service) {
                Some(member) => {
                    u.service = member.clone();
                    true
                }
                None => false,
            });
        }
        Ok(found)
    }

    /// `discover = "auto"` or a list of `"npm"`, `"pnpm"`, `"yarn"`, `"cargo"`, `"go"`, `"folders"`
    /// (the first three all read the one npm-family workspace, whose package manager is detected;
    /// `"folders"` finds the folders no workspace covers that hold a build manifest).
    fn sources(&mut self, value: &super::raw::Spanned<toml::Value>) -> Option<Sources> {
        let help =
            "write discover = \"auto\", or a list such as discover = [\"npm\", \"cargo\", \"go\", \"folders\"]";
        let mut sources = Sources {
            js: false,
            cargo: false,
            go: false,
            folders: false,
        };
        match value.get_ref() {
            toml::Value::String(s) if s == "auto" => return Some(Sources::ALL),
            toml::Value::Array(items) => {
                for item in items {
                    match item.as_str() {
                        Some("npm" | "pnpm" | "yarn") => sources.js = true,
                        Some("cargo") => sources.cargo = true,
                        Some("go") => sources.go = true,
                        Some("folders") => sources.folders = true,
                        other => {
                            let shown = other.map_or_else(|| item.to_string(), str::to_string);
                            self.errors.push(
                                Diagnostic::new(format!(
                                    "discover: `{shown}` is not an ecosystem shockwave reads"
                                ))
                                .at(value.span())
                                .help(help),
                            );
                            return None;
                        }
                    }
                }
            }
            other => {
                self.errors.push(
                    Diagnostic::new(format!(
                        "discover: expected \"auto\" or a list, found {other}"
                    ))
                    .at(value.span())
                    .help(help),
                );
                return None;
            }
        }
        Some(sources)
    }

    /// The valid `global_inputs` as written, plus (without a pipeline.toml) the workspace-level manifests.
    pub(super) fn global_inputs(&self, mut patterns: Vec<String>, manifests: &[String]) -> Globs {
        if self.zero_config {
            patterns.extend(manifests.iter().cloned());
        }
        Globs::new(patterns).unwrap_or_else(|_| Globs::empty())
    }
}
