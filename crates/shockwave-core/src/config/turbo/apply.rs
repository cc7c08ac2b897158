//! Laying a root turbo.json over validation's drafts: its package-specific tasks, the root
//! package's own tasks (as a service `//`), and every npm-family package's own turbo.json, each
//! key of which refines the root's task of the same name. A package it names that the workspace
//! does not have is an error at its position.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use super::read::read_package;
use super::{overlay, Turbo, MAX_TURBO_BYTES, ROOT_PACKAGE};
use crate::config::validator::{Draft, Found, Validator};
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::discover::{Ecosystem, Kind};

impl Validator<'_> {
    /// Lays the turbo.json's package-specific tasks, the root package's tasks and every
    /// package's own turbo.json over the drafts (after discovery and `[services.*]`).
    pub(in crate::config) fn apply_turbo(
        &mut self,
        drafts: &mut BTreeMap<String, Draft>,
        turbo: &Turbo,
    ) {
        let has_root = !turbo.root_tasks.is_empty();
        for (name, span) in &turbo.package_refs {
            if name != ROOT_PACKAGE && !drafts.contains_key(name) {
                let hint = crate::diagnostic::suggest(name, drafts.keys().map(String::as_str))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.errors.push(
                    Diagnostic::new(format!("`{name}` is not a package of this workspace{hint}"))
                        .at(span.clone())
                        .help("use the `name` of a workspace package's package.json, or remove the entry")
                        .in_file(&turbo.file),
                );
            }
        }
        for (name, tasks) in &turbo.packages {
            if let Some(d) = drafts.get_mut(name) {
                d.targets
                    .extend(tasks.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let known = turbo.task_names();
        let manager = drafts
            .values()
            .filter_map(|d| d.found.as_ref())
            .map(|f| f.ecosystem)
            .find(|e| e.is_npm_family())
            .unwrap_or(Ecosystem::Npm);
        let packages: Vec<(String, String)> = drafts
            .iter()
            .filter(|(_, d)| !d.root.is_empty())
            .filter(|(_, d)| {
                d.found
                    .as_ref()
                    .is_some_and(|f| f.ecosystem.is_npm_family())
            })
            .map(|(n, d)| (n.clone(), d.root.clone()))
            .collect();
        for (name, dir) in packages {
            match read_package(self.root, &dir, &known) {
                Ok(None) => {}
                Ok(Some((tasks, ignored))) => {
                    self.turbo_ignored.extend(ignored);
                    if let Some(d) = drafts.get_mut(&name) {
                        for (k, v) in tasks {
                            match d.targets.get_mut(&k) {
                                Some(existing) => overlay(existing, v),
                                None => {
                                    d.targets.insert(k, v);
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    let file = Arc::new(SourceFile {
                        name: format!("{dir}/turbo.json"),
                        text: e.text,
                    });
                    self.errors
                        .extend(e.diagnostics.into_iter().map(|d| d.in_file(&file)));
                }
            }
        }
        if has_root {
            let wanted: BTreeSet<&String> = turbo.root_tasks.keys().map(|k| k.get_ref()).collect();
            let mut scripts: Vec<String> = root_scripts(self.root)
                .into_iter()
                .filter(|s| wanted.contains(s))
                .collect();
            scripts.sort();
            drafts.insert(
                ROOT_PACKAGE.to_string(),
                Draft {
                    root: String::new(),
                    targets: turbo.root_tasks.clone(),
                    found: Some(Box::new(Found {
                        package: ROOT_PACKAGE.to_string(),
                        ecosystem: manager,
                        deps: Vec::new(),
                        dev_deps: Vec::new(),
                        scripts,
                        packages: Vec::new(),
                        kind: Kind::Service,
                        paths: Vec::new(),
                    })),
                    ..Draft::default()
                },
            );
        }
    }
}

/// The script names of the root package.json (empty when it cannot be read).
fn root_scripts(root: &Path) -> Vec<String> {
    let path = root.join("package.json");
    let small =
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_TURBO_BYTES);
    let value: Option<serde_json::Value> = small
        .then(|| std::fs::read(&path).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok());
    value
        .as_ref()
        .and_then(|v| v.get("scripts"))
        .and_then(|s| s.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
