//! Target merging: each service's targets are the `[targets.*]` defaults with its
//! `[services.NAME.targets.*]` overrides laid over them field by field. Needs are checked against
//! every target name defined anywhere, and a target left without a command is reported — once per
//! default target, however many services inherit it. Services that only inherit the defaults share
//! one merged copy. This never decides which tasks run; that is the task graph's work.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::model::{Need, Target, Targets};
use super::raw::{RawTarget, SpannedStr};
use super::validator::Validator;
use crate::diagnostic::Diagnostic;
use crate::discover::{default_command, Ecosystem, Kind};
use crate::glob::Globs;

/// A service's merged targets, shared, and all their `outputs` together.
pub(super) type Merged = (Arc<Targets>, Arc<Globs>);

/// The `[targets.*]` defaults, and their merged form once a service that only inherits them has
/// been seen (with thousands of services, most are such services).
pub(super) struct Defaults<'r> {
    raw: &'r BTreeMap<SpannedStr, RawTarget>,
    /// The defaults without a command: every service inheriting them as they are lacks one.
    without_command: Vec<String>,
    merged: Option<Merged>,
    /// The same for discovered units without overrides, by what their default commands depend
    /// on (most packages of a workspace share a few sets of scripts).
    by_scripts: BTreeMap<ScriptsKey, Merged>,
}

/// A `needs` entry as written: `"^build"` (every dependency's), `"web#build"` (one service's,
/// split at the last `#`; `//` names the root package) or `"build"` (the same service's).
pub(crate) fn parse_need(written: &str) -> Need {
    if let Some(t) = written.strip_prefix('^') {
        return Need::Deps(t.to_string());
    }
    match written.rsplit_once('#') {
        Some((service, target)) if !service.is_empty() && !target.is_empty() => Need::Of {
            service: service.to_string(),
            target: target.to_string(),
        },
        _ => Need::Own(written.to_string()),
    }
}

/// What a discovered unit's default commands depend on: the ecosystem, the kind, the package name
/// where a command names it (Cargo's `-p`), and the target names.
type ScriptsKey = (Ecosystem, Kind, Option<String>, Vec<String>);

/// A discovered unit's default targets: an npm-family package's `scripts` (run as `<package
/// manager> run NAME`), a Cargo crate's or Go unit's `build`/`test`/`lint`, each used where no
/// command is configured.
#[derive(Clone, Copy)]
pub(super) struct Scripts<'s> {
    pub(super) ecosystem: Ecosystem,
    pub(super) kind: Kind,
    /// The name its manifest gives it.
    pub(super) package: &'s str,
    /// Sorted.
    pub(super) names: &'s [String],
}

impl Scripts<'_> {
    fn key(&self) -> ScriptsKey {
        let package = (self.ecosystem == Ecosystem::Cargo).then(|| self.package.to_string());
        (self.ecosystem, self.kind, package, self.names.to_vec())
    }

    /// The default command of target `name`, when the unit has one.
    fn command(&self, name: &str) -> Option<String> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok()?;
        default_command(self.ecosystem, self.kind, self.package, name)
    }
}

impl<'r> Defaults<'r> {
    pub(super) fn new(raw: &'r BTreeMap<SpannedStr, RawTarget>) -> Self {
        let without_command = raw
            .iter()
            .filter(|(_, t)| t.command.is_none())
            .map(|(k, _)| k.get_ref().clone())
            .collect();
        Defaults {
            raw,
            without_command,
            merged: None,
            by_scripts: BTreeMap::new(),
        }
    }
}

impl Validator<'_> {
    /// Every target name defined anywhere, sorted; the needs of the defaults are checked against
    /// them here (a service's overrides are checked when they are merged).
    pub(super) fn target_names<'t>(
        &mut self,
        defaults: &BTreeMap<SpannedStr, RawTarget>,
        overrides: impl Iterator<Item = &'t BTreeMap<SpannedStr, RawTarget>>,
    ) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = defaults.keys().map(|k| k.get_ref().clone()).collect();
        for targets in overrides {
            names.extend(targets.keys().map(|k| k.get_ref().clone()));
        }
        for (name, t) in defaults {
            self.check_target_needs(t, &names, &format!("[targets.{}]", name.get_ref()));
        }
        names
    }

    /// A service's merged targets and all their `outputs` together.
    pub(super) fn service_targets(
        &mut self,
        service: &str,
        overrides: &BTreeMap<SpannedStr, RawTarget>,
        defaults: &mut Defaults<'_>,
        known: &BTreeSet<String>,
        scripts: Option<Scripts<'_>>,
    ) -> Merged {
        if let Some(key) = scripts.filter(|_| overrides.is_empty()).map(|s| s.key()) {
            if let Some((targets, outputs)) = defaults.by_scripts.get(&key) {
                return (targets.clone(), outputs.clone());
            }
            let merged = self.merged_targets(service, overrides, defaults, known, scripts);
            defaults.by_scripts.insert(key, merged.clone());
            return merged;
        }
        if overrides.is_empty() && scripts.is_none() {
            if let Some((targets, outputs)) = &defaults.merged {
                for target in &defaults.without_command {
                    if let Some(entry) = self.missing_command.get_mut(target) {
                        entry.1.push(service.to_string());
                    }
                }
                return (targets.clone(), outputs.clone());
            }
        }
        let merged = self.merged_targets(service, overrides, defaults, known, scripts);
        if overrides.is_empty() && scripts.is_none() {
            defaults.merged = Some(merged.clone());
        }
        merged
    }

    /// The merged targets of one service and all their `outputs` together.
    fn merged_targets(
        &mut self,
        service: &str,
        overrides: &BTreeMap<SpannedStr, RawTarget>,
        defaults: &Defaults<'_>,
        known: &BTreeSet<String>,
        scripts: Option<Scripts<'_>>,
    ) -> Merged {
        let targets = self.merge_targets(service, defaults.raw, overrides, known, scripts);
        let mut outputs: Vec<String> = targets
            .values()
            .flat_map(|t| t.outputs.patterns.iter().cloned())
            .collect();
        outputs.sort();
        outputs.dedup();
        let outputs = self.globs_for(&outputs);
        (Arc::new(targets), outputs)
    }

    /// One error per default target without a command, not one per service that inherits it.
    pub(super) fn report_missing_commands(&mut self) {
        for (target, (span, users)) in std::mem::take(&mut self.missing_command) {
            let who = match users.as_slice() {
                [one] => format!("service `{one}` does not set one"),
                many => format!(
                    "services {} do not set one",
                    many.iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.errors.push(
                Diagnostic::new(format!("[targets.{target}] has no command, and {who}"))
                    .at(span)
                    .help(format!(
                        "add command = \"...\" to [targets.{target}], or to [services.NAME.targets.{target}] of each service"
                    )),
            );
        }
    }

    fn check_target_needs(&mut self, t: &RawTarget, known: &BTreeSet<String>, context: &str) {
        for need in t.needs.iter().flatten() {
            let name = match parse_need(need.get_ref()) {
                Need::Own(t) | Need::Deps(t) | Need::ScriptDeps(t) => t,
                Need::Of { target, .. } => target,
            };
            let name = name.as_str();
            if !known.contains(name) {
                self.unknown_name(
                    need,
                    name,
                    known,
                    format!(
                        "{context} needs `{}`, which is not a target",
                        need.get_ref()
                    ),
                    "define that target under [targets.NAME] or fix the name",
                );
            }
        }
    }

    fn merge_targets(
        &mut self,
        service: &str,
        defaults: &BTreeMap<SpannedStr, RawTarget>,
        overrides: &BTreeMap<SpannedStr, RawTarget>,
        known: &BTreeSet<String>,
        scripts: Option<Scripts<'_>>,
    ) -> Targets {
        let script_names = scripts.map(|s| s.names).unwrap_or_default();
        let names: BTreeSet<&String> = defaults
            .keys()
            .chain(overrides.keys())
            .map(|k| k.get_ref())
            .chain(script_names)
            .collect();
        let mut out = BTreeMap::new();
        for name in names {
            let base = defaults.iter().find(|(k, _)| k.get_ref() == name);
            let over = overrides.iter().find(|(k, _)| k.get_ref() == name);
            let fallback = scripts.map(|s| (s.ecosystem, s.command(name)));
            if let Some(target) = self.merge_target(service, name, base, over, known, fallback) {
                out.insert(name.clone(), Arc::new(target));
            }
        }
        out
    }

    /// Target `name` of `service`: the override's fields where it sets them, else the default's.
    /// `None` (reported, or noted for [`Self::report_missing_commands`]) without a command.
    fn merge_target(
        &mut self,
        service: &str,
        name: &str,
        base: Option<(&SpannedStr, &RawTarget)>,
        over: Option<(&SpannedStr, &RawTarget)>,
        known: &BTreeSet<String>,
        script: Option<(Ecosystem, Option<String>)>,
    ) -> Option<Target> {
        if let Some((_, o)) = over {
            self.check_target_needs(o, known, &format!("[services.{service}.targets.{name}]"));
        }
        let (base_key, base) = (base.map(|(k, _)| k), base.map(|(_, v)| v));
        let (over_key, over) = (over.map(|(k, _)| k), over.map(|(_, v)| v));
        let pick = |f: fn(&RawTarget) -> Option<&Vec<SpannedStr>>| {
            over.and_then(f).or_else(|| base.and_then(f))
        };
        let command = over
            .and_then(|o| o.command.clone())
            .or_else(|| base.and_then(|b| b.command.clone()));
        // A discovered unit runs its default command (an npm-family package its own script);
        // one without it simply has no such target, as `turbo` and `npm run --workspaces
        // --if-present` treat a package without the script.
        let from_script = command.is_none() && matches!(script, Some((_, Some(_))));
        let npm_script = from_script && script.as_ref().is_some_and(|(e, _)| e.is_npm_family());
        let command = match (command, script) {
            (Some(c), _) => Some(c),
            (None, Some((_, script))) => Some(script?),
            (None, None) => None,
        };
        let Some(command) = command else {
            match (over_key, base_key) {
                (Some(key), _) => self.errors.push(
                    Diagnostic::new(format!("target `{name}` of service `{service}` has no command"))
                        .at(key.span())
                        .help(format!("add command = \"...\" to [targets.{name}] or [services.{service}.targets.{name}]")),
                ),
                // Inherited as is from a default without a command: reported once per target.
                (None, Some(key)) => self
                    .missing_command
                    .entry(name.to_string())
                    .or_insert_with(|| (key.span(), Vec::new()))
                    .1
                    .push(service.to_string()),
                (None, None) => {}
            }
            return None;
        };
        let written_needs = pick(|t| t.needs.as_ref());
        // A discovered package's script with no `needs` written runs after the same script of
        // its workspace dependencies, as the package managers order `run` over a workspace.
        // Cargo and Go order their own builds: their defaults need nothing.
        let implied = written_needs.is_none() && npm_script;
        let (mut needs, need_spans): (Vec<Need>, Vec<_>) = written_needs
            .map(|ns| {
                ns.iter()
                    .map(|n| (parse_need(n.get_ref()), n.span()))
                    .unzip()
            })
            .unwrap_or_default();
        if implied {
            needs.push(Need::ScriptDeps(name.to_string()));
        }
        let inputs = self.shared_globs(pick(|t| t.inputs.as_ref()), &["**"], "inputs");
        let outputs = self.shared_globs(pick(|t| t.outputs.as_ref()), &[], "outputs");
        let mut env: Vec<String> = pick(|t| t.env.as_ref())
            .map(|e| e.iter().map(|s| s.get_ref().clone()).collect())
            .unwrap_or_default();
        env.sort();
        env.dedup();
        let flag =
            |f: fn(&RawTarget) -> Option<bool>| over.and_then(f).or_else(|| base.and_then(f));
        let persistent = flag(|t| t.persistent).unwrap_or(false);
        let interactive = flag(|t| t.interactive).unwrap_or(false);
        // A dev server never ends and a task reading the terminal cannot be replayed.
        let cache = flag(|t| t.cache).unwrap_or(true) && !persistent && !interactive;
        Some(Target {
            command,
            needs,
            need_spans,
            inputs,
            outputs,
            env,
            cache,
            persistent,
            interactive,
            script: from_script,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{parse_in, tree};
    use crate::config::ServiceId;

    #[test]
    fn service_override_merges_field_by_field() {
        let t = tree(&["s"]);
        let text = "[targets.build]\ncommand=\"make\"\noutputs=[\"bin/**\"]\nenv=[\"B\",\"A\"]\n[services.s]\nroot=\"s\"\n[services.s.targets.build]\ncommand=\"other\"\n";
        let ws = parse_in(t.path(), text).unwrap();
        let b = &ws.service(ServiceId::new(0)).targets["build"];
        assert_eq!(b.command, "other");
        assert_eq!(b.outputs.patterns, ["bin/**"]);
        assert_eq!(b.env, ["A", "B"]);
        assert_eq!(b.inputs.patterns, ["**"]);
    }
}
