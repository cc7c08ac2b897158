//! Reading one turbo.json: the file found and read within bounds, its JSON (comments and
//! trailing commas allowed) turned key by key into pipeline.toml settings, every problem collected
//! with its position and every key without an equivalent kept for the warning.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use jsonc_parser::ast::{Object, ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

use super::{PackageTasks, Turbo, TurboError, MAX_TURBO_BYTES, ROOT_PACKAGE, TURBO_FILES};
use crate::config::model::Need;
use crate::config::raw::{RawTarget, Spanned, SpannedStr};
use crate::config::targets::parse_need;
use crate::diagnostic::{Diagnostic, SourceFile};

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
        let rel = crate::paths::join(dir, file);
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
