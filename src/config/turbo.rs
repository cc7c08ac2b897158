//! Turborepo's `turbo.json` as a source of targets: with no targets written in pipeline.toml, a
//! repository's root `turbo.json` (or `turbo.jsonc`) and the package-level ones that `extends`
//! it say what each task needs, reads, writes and depends on, exactly as `turbo run` would use
//! them. Every key becomes the pipeline.toml setting with the same meaning (`init` writes those
//! settings out), so shockwave behaves the same with the converted file as with turbo.json alone.
//! A key with no equivalent is kept for one warning; a malformed file is an error with its
//! position. Reading is bounded and never follows a link out of the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use jsonc_parser::ast::{Object, ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

use super::model::Need;
use super::raw::{RawTarget, Spanned, SpannedStr};
use super::targets::parse_need;
use super::validate::{Draft, Found, Validator};
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::discover::{Ecosystem, Kind};

/// The names Turborepo reads, in its order of preference.
pub const TURBO_FILES: [&str; 2] = ["turbo.json", "turbo.jsonc"];

/// The largest turbo.json read: real ones are a few KB.
const MAX_TURBO_BYTES: u64 = 4 << 20;

/// The root package's name in `dependsOn` and task keys (`//#lint`).
pub const ROOT_PACKAGE: &str = "//";

/// What a turbo.json says, as pipeline.toml settings.
#[derive(Debug)]
pub struct Turbo {
    pub file: Arc<SourceFile>,
    /// `tasks.NAME`: `[targets.NAME]`.
    pub targets: BTreeMap<SpannedStr, RawTarget>,
    /// `tasks."pkg#NAME"`: `[services.pkg.targets.NAME]`, complete (such an entry replaces the
    /// generic task for that package rather than refining it).
    pub packages: BTreeMap<String, BTreeMap<SpannedStr, RawTarget>>,
    /// `tasks."//#NAME"`: the root package's own tasks.
    pub root_tasks: BTreeMap<SpannedStr, RawTarget>,
    /// `globalDependencies` (and 1.x `globalDotEnv`), and task `inputs` written from the
    /// repository root (`$TURBO_ROOT$/…`), which are global here.
    pub global_inputs: Vec<SpannedStr>,
    pub global_env: Vec<SpannedStr>,
    /// Keys with no equivalent: `key (file:line)`.
    pub ignored: Vec<String>,
    /// Packages named in task keys or `dependsOn`, with where, to be checked against the
    /// workspace's packages.
    pub package_refs: Vec<(String, Range<usize>)>,
}

/// Why a turbo.json could not be used: the file and its problems, at their positions.
#[derive(Debug)]
pub struct TurboError {
    pub path: std::path::PathBuf,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Top-level keys that configure turbo itself and change nothing about what a task is.
const TOOL_KEYS: &[&str] = &[
    "ui",
    "daemon",
    "envMode",
    "remoteCache",
    "cacheDir",
    "concurrency",
    "dangerouslyDisablePackageManagerCheck",
    "futureFlags",
    "boundaries",
    "noUpdateNotifier",
    "experimentalUI",
    "tags",
];

/// The root turbo.json of the workspace at `root`, if it has one.
pub fn read_root(root: &Path) -> Result<Option<Turbo>, TurboError> {
    let Some((name, text)) = read_file(root, "")? else {
        return Ok(None);
    };
    let mut reader = Reader::new(name.clone(), text);
    let turbo = reader.root();
    reader.finish(root, &name).map(|()| Some(turbo))
}

/// A package turbo.json's tasks and its keys with no equivalent.
pub type PackageTasks = (BTreeMap<SpannedStr, RawTarget>, Vec<String>);

/// A package's own turbo.json (`extends: ["//"]`): its `tasks`, each refining the root's task of
/// the same name key by key. `known` holds every task name the root defines.
pub fn read_package(
    root: &Path,
    package_dir: &str,
    known: &BTreeSet<String>,
) -> Result<Option<PackageTasks>, TurboError> {
    let Some((name, text)) = read_file(root, package_dir)? else {
        return Ok(None);
    };
    let mut reader = Reader::new(name.clone(), text);
    let tasks = reader.package(known);
    let ignored = std::mem::take(&mut reader.ignored);
    reader.finish(root, &name).map(|()| Some((tasks, ignored)))
}

/// The text of `dir`'s turbo.json, refused when it is not a small regular UTF-8 file inside the
/// repository (links are followed only while they stay inside it).
fn read_file(root: &Path, dir: &str) -> Result<Option<(String, String)>, TurboError> {
    let boundary = crate::confine::Boundary::open(root).map_err(|e| TurboError {
        path: root.to_path_buf(),
        text: String::new(),
        diagnostics: vec![Diagnostic::new(format!(
            "cannot open {}: {e}",
            root.display()
        ))],
    })?;
    for file in TURBO_FILES {
        let rel = if dir.is_empty() {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        };
        let refuse = |why: String| TurboError {
            path: root.join(&rel),
            text: String::new(),
            diagnostics: vec![Diagnostic::new(format!("{rel} {why}"))
                .help("make it a regular JSON file inside the repository")],
        };
        let bytes = match boundary.read(&rel, MAX_TURBO_BYTES) {
            Ok(None) => continue,
            Ok(Some((_, Ok(bytes)))) => bytes,
            Ok(Some((_, Err(len)))) => {
                return Err(refuse(format!(
                    "is {len} bytes, over the {} MiB read; a real one is a few KB",
                    MAX_TURBO_BYTES >> 20
                )))
            }
            Err(why) => return Err(refuse(format!("cannot be read: {why}"))),
        };
        let text = String::from_utf8(bytes).map_err(|_| refuse("is not UTF-8".into()))?;
        return Ok(Some((rel, text)));
    }
    Ok(None)
}

/// Reads one file, collecting its problems.
struct Reader {
    file: Arc<SourceFile>,
    errors: Vec<Diagnostic>,
    ignored: Vec<String>,
    package_refs: Vec<(String, Range<usize>)>,
}

fn range(r: &impl Ranged) -> Range<usize> {
    r.start()..r.end()
}

impl Reader {
    fn new(name: String, text: String) -> Self {
        Reader {
            file: Arc::new(SourceFile { name, text }),
            errors: Vec::new(),
            ignored: Vec::new(),
            package_refs: Vec::new(),
        }
    }

    fn finish(self, root: &Path, name: &str) -> Result<(), TurboError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        Err(TurboError {
            path: root.join(name),
            text: self.file.text.clone(),
            diagnostics: self.errors,
        })
    }

    fn error(&mut self, span: Range<usize>, message: String, help: &str) {
        self.errors
            .push(Diagnostic::new(message).at(span).help(help.to_string()));
    }

    fn ignore(&mut self, key: &str, span: Range<usize>) {
        let (line, _) = crate::diagnostic::line_col(&self.file.text, span.start);
        self.ignored
            .push(format!("`{key}` ({}:{line})", self.file.name));
    }

    /// The whole of `text` (this file's) as an object, or an error where it is not one.
    fn parse<'t>(&mut self, text: &'t str) -> Option<Object<'t>> {
        let options = ParseOptions::default();
        match jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &options) {
            Err(e) => {
                let r = e.range();
                let message = e.kind().to_string();
                self.error(
                    r.start..r.end.max(r.start + 1),
                    format!("{} is not valid JSON: {message}", self.file.name),
                    "fix the JSON at this position (comments and trailing commas are fine)",
                );
                None
            }
            Ok(parsed) => match parsed.value {
                Some(Value::Object(o)) => Some(o),
                Some(other) => {
                    self.error(
                        range(&other),
                        format!("{} must hold a JSON object", self.file.name),
                        "write the settings as { \"tasks\": { … } }",
                    );
                    None
                }
                None => Some(Object {
                    range: jsonc_parser::common::Range::new(0, 0),
                    properties: Vec::new(),
                }),
            },
        }
    }

    fn root(&mut self) -> Turbo {
        let mut turbo = Turbo {
            file: self.file.clone(),
            targets: BTreeMap::new(),
            packages: BTreeMap::new(),
            root_tasks: BTreeMap::new(),
            global_inputs: Vec::new(),
            global_env: Vec::new(),
            ignored: Vec::new(),
            package_refs: Vec::new(),
        };
        let file = self.file.clone();
        let Some(top) = self.parse(&file.text) else {
            return turbo;
        };
        let mut tasks = None;
        for prop in &top.properties {
            let key = prop_name(&prop.name);
            let span = range(&prop.name);
            match key {
                "$schema" => {}
                "tasks" | "pipeline" => tasks = Some(&prop.value),
                "globalDependencies" | "globalDotEnv" => {
                    let items = self.strings(&prop.value, key);
                    let items = self.checked_globs(items, key);
                    turbo.global_inputs.extend(items);
                }
                "globalEnv" => turbo.global_env = self.strings(&prop.value, key),
                // Every variable reaches every task here (Turborepo's loose mode), so there is
                // nothing to pass through.
                "globalPassThroughEnv" => {
                    self.strings(&prop.value, key);
                }
                "extends" => self.ignore(key, span),
                k if TOOL_KEYS.contains(&k) => self.ignore(key, span),
                _ => self.ignore(key, span),
            }
        }
        let Some(tasks) = tasks else {
            turbo.ignored = std::mem::take(&mut self.ignored);
            return turbo;
        };
        let Some(tasks) = self.object(tasks, "tasks") else {
            return turbo;
        };
        let mut defined = BTreeSet::new();
        for prop in &tasks.properties {
            let key = prop_name(&prop.name);
            let key_span = range(&prop.name);
            let Some(task) = self.object(&prop.value, key) else {
                continue;
            };
            let (package, name) = match key.rsplit_once('#') {
                Some((p, n)) if !p.is_empty() && !n.is_empty() => (Some(p), n),
                _ => (None, key),
            };
            defined.insert(name.to_string());
            let mut root_inputs = Vec::new();
            let target = self.task(task, package.is_some(), &mut root_inputs);
            turbo.global_inputs.extend(root_inputs);
            let spanned = Spanned::new(key_span.clone(), name.to_string());
            match package {
                Some(ROOT_PACKAGE) => {
                    turbo.root_tasks.insert(spanned, target);
                }
                Some(p) => {
                    self.package_refs.push((p.to_string(), key_span));
                    turbo
                        .packages
                        .entry(p.to_string())
                        .or_default()
                        .insert(spanned, target);
                }
                None => {
                    // An absent `dependsOn` is no ordering at all (a package's turbo.json that
                    // extends the task may still write one).
                    let mut target = target;
                    target.needs.get_or_insert_with(Vec::new);
                    turbo.targets.insert(spanned, target);
                }
            }
        }
        let all: Vec<&RawTarget> = turbo
            .targets
            .values()
            .chain(turbo.root_tasks.values())
            .chain(turbo.packages.values().flat_map(|t| t.values()))
            .collect();
        self.check_needs(all, &defined);
        turbo.ignored = std::mem::take(&mut self.ignored);
        turbo.package_refs = std::mem::take(&mut self.package_refs);
        turbo
    }

    /// A package-level file: it must extend the root one, and holds only plain task names.
    fn package(&mut self, known: &BTreeSet<String>) -> BTreeMap<SpannedStr, RawTarget> {
        let mut out = BTreeMap::new();
        let file = self.file.clone();
        let Some(top) = self.parse(&file.text) else {
            return out;
        };
        let mut extends = false;
        for prop in &top.properties {
            let key = prop_name(&prop.name);
            match key {
                "$schema" => {}
                "extends" => {
                    let items = self.strings(&prop.value, key);
                    extends = items.iter().any(|i| i.get_ref() == ROOT_PACKAGE);
                    if !extends {
                        self.error(
                            range(&prop.value),
                            format!("{}: `extends` must include \"//\"", self.file.name),
                            "write \"extends\": [\"//\"] (a package's turbo.json refines the root one)",
                        );
                        extends = true;
                    }
                }
                "tasks" | "pipeline" => {
                    let Some(tasks) = self.object(&prop.value, key) else {
                        continue;
                    };
                    for t in &tasks.properties {
                        let name = prop_name(&t.name);
                        let span = range(&t.name);
                        if name.contains('#') {
                            self.error(
                                span,
                                format!("{}: a package's turbo.json cannot define `{name}`", self.file.name),
                                "write the plain task name here (this file is the package's), or move the entry to the root turbo.json",
                            );
                            continue;
                        }
                        let Some(obj) = self.object(&t.value, name) else {
                            continue;
                        };
                        let mut root_inputs = Vec::new();
                        let target = self.task(obj, false, &mut root_inputs);
                        if let Some(first) = root_inputs.first() {
                            let at = first.span();
                            self.error(
                                at,
                                format!("{}: `$TURBO_ROOT$` inputs are only read in the root turbo.json", self.file.name),
                                "move this input to the root turbo.json's task, or to globalDependencies",
                            );
                        }
                        out.insert(Spanned::new(span, name.to_string()), target);
                    }
                }
                _ => self.ignore(key, range(&prop.name)),
            }
        }
        if !extends {
            self.error(
                0..1,
                format!("{} has no `extends`", self.file.name),
                "add \"extends\": [\"//\"] (Turborepo requires it in a package's turbo.json)",
            );
        }
        let mut all_known = known.clone();
        all_known.extend(out.keys().map(|k| k.get_ref().clone()));
        self.check_needs(out.values().collect(), &all_known);
        out
    }

    /// Every `dependsOn` task name is a task defined somewhere.
    fn check_needs(&mut self, targets: Vec<&RawTarget>, defined: &BTreeSet<String>) {
        for t in targets {
            for need in t.needs.iter().flatten() {
                let (name, package) = match parse_need(need.get_ref()) {
                    Need::Own(n) | Need::Deps(n) | Need::ScriptDeps(n) => (n, None),
                    Need::Of { service, target } => (target, Some(service)),
                };
                if let Some(p) = package.filter(|p| p != ROOT_PACKAGE) {
                    self.package_refs.push((p, need.span()));
                }
                if !defined.contains(&name) {
                    let hint =
                        crate::diagnostic::suggest(&name, defined.iter().map(String::as_str))
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                    self.error(
                        need.span(),
                        format!(
                            "dependsOn names `{}`, but no task `{name}` is defined{hint}",
                            need.get_ref()
                        ),
                        "define that task under \"tasks\", or fix the name",
                    );
                }
            }
        }
    }

    /// One task's settings. `whole`: a `pkg#task` entry, which stands alone, so every setting
    /// is written out with Turborepo's default.
    fn task(&mut self, obj: &Object, whole: bool, root_inputs: &mut Vec<SpannedStr>) -> RawTarget {
        let mut t = RawTarget::default();
        let mut dot_env = Vec::new();
        for prop in &obj.properties {
            let key = prop_name(&prop.name);
            match key {
                "dependsOn" => {
                    let mut needs = Vec::new();
                    for item in self.strings(&prop.value, key) {
                        // 1.x: `$NAME` in dependsOn is an environment dependency.
                        match item.get_ref().strip_prefix('$') {
                            Some(var) => t
                                .env
                                .get_or_insert_with(Vec::new)
                                .push(Spanned::new(item.span(), var.to_string())),
                            None => needs.push(item),
                        }
                    }
                    t.needs = Some(needs);
                }
                "inputs" => {
                    let mut inputs = Vec::new();
                    for item in self.strings(&prop.value, key) {
                        let value = item.get_ref();
                        if value == "$TURBO_DEFAULT$" {
                            inputs.push(Spanned::new(item.span(), "**".to_string()));
                        } else if let Some(rest) = value.strip_prefix("$TURBO_ROOT$/") {
                            root_inputs.push(Spanned::new(item.span(), rest.to_string()));
                        } else {
                            inputs.push(item);
                        }
                    }
                    // Only `$TURBO_ROOT$` inputs: the package's own files are no input.
                    if inputs.is_empty() && !root_inputs.is_empty() {
                        inputs.push(Spanned::new(
                            prop.value.start()..prop.value.start(),
                            "!**".into(),
                        ));
                    }
                    t.inputs = Some(self.checked_globs(inputs, key));
                }
                "outputs" => {
                    let items = self.strings(&prop.value, key);
                    t.outputs = Some(self.checked_globs(items, key));
                }
                "env" => {
                    let items = self.strings(&prop.value, key);
                    t.env.get_or_insert_with(Vec::new).extend(items);
                }
                "passThroughEnv" => {
                    self.strings(&prop.value, key);
                }
                "dotEnv" => dot_env = self.strings(&prop.value, key),
                "cache" => t.cache = self.boolean(&prop.value, key),
                "persistent" => t.persistent = self.boolean(&prop.value, key),
                "interactive" => t.interactive = self.boolean(&prop.value, key),
                "description" => {}
                _ => self.ignore(key, range(&prop.name)),
            }
        }
        if !dot_env.is_empty() {
            if let Some(inputs) = &mut t.inputs {
                inputs.extend(dot_env);
            }
        }
        if whole {
            t.needs.get_or_insert_with(Vec::new);
            t.outputs.get_or_insert_with(Vec::new);
            t.env.get_or_insert_with(Vec::new);
            t.inputs
                .get_or_insert_with(|| vec![Spanned::new(0..0, "**".to_string())]);
            t.cache.get_or_insert(true);
            t.persistent.get_or_insert(false);
            t.interactive.get_or_insert(false);
        }
        t
    }

    /// The patterns of `items` that compile as globs; the others are errors at their position.
    fn checked_globs(&mut self, items: Vec<SpannedStr>, key: &str) -> Vec<SpannedStr> {
        items
            .into_iter()
            .filter(|p| {
                let pattern = p.get_ref().strip_prefix('!').unwrap_or(p.get_ref());
                match crate::glob::compile(pattern) {
                    Ok(_) => true,
                    Err(e) => {
                        self.error(
                            p.span(),
                            format!("`{key}`: `{}` is not a valid glob: {e}", p.get_ref()),
                            "fix the pattern",
                        );
                        false
                    }
                }
            })
            .collect()
    }

    fn object<'v, 'a>(&mut self, value: &'v Value<'a>, key: &str) -> Option<&'v Object<'a>> {
        match value {
            Value::Object(o) => Some(o),
            other => {
                self.error(
                    range(other),
                    format!("`{key}` must be an object"),
                    "write it as { … }",
                );
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value, key: &str) -> Option<bool> {
        match value {
            Value::BooleanLit(b) => Some(b.value),
            other => {
                self.error(
                    range(other),
                    format!("`{key}` must be true or false"),
                    "write true or false",
                );
                None
            }
        }
    }

    fn strings(&mut self, value: &Value, key: &str) -> Vec<SpannedStr> {
        let Value::Array(items) = value else {
            self.error(
                range(value),
                format!("`{key}` must be a list of strings"),
                "write it as [\"…\"]",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in &items.elements {
            match item {
                Value::StringLit(s) => out.push(Spanned::new(range(s), s.value.to_string())),
                other => self.error(
                    range(other),
                    format!("`{key}` must hold only strings"),
                    "quote the entry",
                ),
            }
        }
        out
    }
}

fn prop_name<'a>(name: &'a ObjectPropName) -> &'a str {
    match name {
        ObjectPropName::String(s) => &s.value,
        ObjectPropName::Word(w) => w.value,
    }
}

impl Validator<'_> {
    /// Lays the turbo.json's package-specific tasks, the root package's tasks and every
    /// package's own turbo.json over the drafts (after discovery and `[services.*]`).
    pub(super) fn apply_turbo(&mut self, drafts: &mut BTreeMap<String, Draft>, turbo: &Turbo) {
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
        let mut known: BTreeSet<String> =
            turbo.targets.keys().map(|k| k.get_ref().clone()).collect();
        known.extend(turbo.root_tasks.keys().map(|k| k.get_ref().clone()));
        known.extend(
            turbo
                .packages
                .values()
                .flat_map(|t| t.keys().map(|k| k.get_ref().clone())),
        );
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

/// A package-level setting laid over the root's: each key it writes replaces the root's.
fn overlay(base: &mut RawTarget, over: RawTarget) {
    base.needs = over.needs.or(base.needs.take());
    base.inputs = over.inputs.or(base.inputs.take());
    base.outputs = over.outputs.or(base.outputs.take());
    base.env = over.env.or(base.env.take());
    base.cache = over.cache.or(base.cache);
    base.persistent = over.persistent.or(base.persistent);
    base.interactive = over.interactive.or(base.interactive);
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

/// The targets of the turbo.json at `root` written as pipeline.toml tables: `[targets.*]` for its
/// tasks, `[services."pkg".targets.*]` for `pkg#task` entries and packages' own turbo.json, the
/// root package as a service of its own. `packages`: each npm-family package's name and folder;
/// `manager` runs the root package's scripts.
/// (Its global inputs and variables are the workspace's, written by `init` with the others.)
pub fn pipeline_tables(
    root: &Path,
    packages: &[(String, String)],
    manager: Ecosystem,
) -> Result<Option<String>, TurboError> {
    let Some(turbo) = read_root(root)? else {
        return Ok(None);
    };
    let mut known: BTreeSet<String> = turbo.targets.keys().map(|k| k.get_ref().clone()).collect();
    known.extend(turbo.root_tasks.keys().map(|k| k.get_ref().clone()));
    known.extend(
        turbo
            .packages
            .values()
            .flat_map(|t| t.keys().map(|k| k.get_ref().clone())),
    );
    let mut per_service: BTreeMap<String, BTreeMap<String, RawTarget>> = BTreeMap::new();
    for (name, tasks) in &turbo.packages {
        let entry = per_service.entry(name.clone()).or_default();
        entry.extend(tasks.iter().map(|(k, v)| (k.get_ref().clone(), v.clone())));
    }
    for (name, dir) in packages {
        if let Some((tasks, _)) = read_package(root, dir, &known)? {
            let entry = per_service.entry(name.clone()).or_default();
            for (k, v) in tasks {
                match entry.get_mut(k.get_ref()) {
                    Some(existing) => overlay(existing, v),
                    None => {
                        entry.insert(k.into_inner(), v);
                    }
                }
            }
        }
    }
    let mut out = String::new();
    out.push_str("# Tasks converted from turbo.json: dependsOn → needs (`pkg#task` as written), inputs\n# ($TURBO_DEFAULT$ → \"**\"), outputs, env, cache, persistent, interactive.\n");
    for (name, t) in &turbo.targets {
        out.push_str(&format!("\n[targets.{}]\n", key(name.get_ref())));
        write_target(&mut out, t, None);
    }
    for (service, tasks) in &per_service {
        for (name, t) in tasks {
            out.push_str(&format!(
                "\n[services.{}.targets.{}]\n",
                key(service),
                key(name)
            ));
            write_target(&mut out, t, None);
        }
    }
    if !turbo.root_tasks.is_empty() {
        out.push_str(&format!(
            "\n# The root package's own tasks (`//#task` in turbo.json).\n[services.{}]\nroot = \".\"\n",
            key(ROOT_PACKAGE)
        ));
        for (name, t) in &turbo.root_tasks {
            out.push_str(&format!(
                "\n[services.{}.targets.{}]\n",
                key(ROOT_PACKAGE),
                key(name.get_ref())
            ));
            let command =
                crate::discover::default_command(manager, Kind::Service, "", name.get_ref());
            write_target(&mut out, t, command.as_deref());
        }
    }
    Ok(Some(out))
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}

fn write_target(out: &mut String, t: &RawTarget, command: Option<&str>) {
    let list = |v: &[SpannedStr]| {
        let items: Vec<String> = v
            .iter()
            .map(|s| toml::Value::String(s.get_ref().clone()).to_string())
            .collect();
        format!("[{}]", items.join(", "))
    };
    if let Some(c) = command {
        out.push_str(&format!(
            "command = {}\n",
            toml::Value::String(c.to_string())
        ));
    }
    for (name, value) in [
        ("needs", &t.needs),
        ("inputs", &t.inputs),
        ("outputs", &t.outputs),
        ("env", &t.env),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{name} = {}\n", list(v)));
        }
    }
    for (name, value) in [
        ("cache", t.cache),
        ("persistent", t.persistent),
        ("interactive", t.interactive),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{name} = {v}\n"));
        }
    }
}
