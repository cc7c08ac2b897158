//! `pipeline.toml`: finding it, parsing it (with spans), validating it and producing the frozen
//! [`Workspace`] every later stage reads. All problems found are reported together, each with the
//! file, line and column and a sentence on what to do. This module never prints.

mod raw;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::diagnostic::{suggest, Diagnostic};
use crate::glob::{self, GlobError};
use crate::graph::ServiceGraph;
use raw::{RawConfig, RawTarget, SpannedStr};

pub use crate::glob::Globs;

/// The file name searched for when `--config` is not given.
pub const CONFIG_FILE: &str = "pipeline.toml";

/// Index of a service in [`Workspace::services`] (sorted by name).
pub type ServiceId = usize;

/// What to do with a changed file that no service owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UnownedPolicy {
    /// Report it (text output and a warning) and affect nothing.
    #[default]
    Warn,
    /// Treat it as a change to every service.
    All,
    /// Say nothing.
    Ignore,
}

impl UnownedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnownedPolicy::Warn => "warn",
            UnownedPolicy::All => "all",
            UnownedPolicy::Ignore => "ignore",
        }
    }
}

/// A dependency of a target on another target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// `"build"`: the same service's `build`.
    Own(String),
    /// `"^build"`: `build` of every dependency of the service.
    Deps(String),
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Need::Own(t) => f.write_str(t),
            Need::Deps(t) => write!(f, "^{t}"),
        }
    }
}

/// One target of one service, defaults and per-service overrides merged.
#[derive(Debug, Clone)]
pub struct Target {
    pub command: String,
    pub needs: Vec<Need>,
    /// Where each of `needs` is written in the config file (same order), for task-cycle errors.
    pub need_spans: Vec<Range<usize>>,
    /// Globs relative to the service root; `**` when not declared.
    pub inputs: Arc<Globs>,
    /// Globs relative to the service root whose matches are cached and restored.
    pub outputs: Arc<Globs>,
    /// Names of environment variables whose values enter the task hash (sorted, deduplicated).
    pub env: Vec<String>,
    pub cache: bool,
}

/// A service's targets by name.
pub type Targets = BTreeMap<String, Arc<Target>>;

/// A service (or library): a directory of the repository and what depends on it.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Workspace-relative, `/`-separated, no leading or trailing slash; empty for the workspace root.
    pub root: String,
    /// Direct dependencies, sorted by id.
    pub deps: Vec<ServiceId>,
    /// Extra workspace-relative globs whose files belong to this service.
    pub paths: Vec<String>,
    /// `paths`, compiled.
    pub path_globs: Arc<Globs>,
    pub targets: BTreeMap<String, Arc<Target>>,
    /// Every target's `outputs`, together: products of the service, never inputs of its tasks.
    pub outputs: Arc<Globs>,
}

/// The validated, frozen configuration.
#[derive(Debug)]
pub struct Workspace {
    /// The config file that was loaded.
    pub config_path: PathBuf,
    /// The directory holding the config file; every path in the config is relative to it.
    pub root: PathBuf,
    pub default_base: Option<String>,
    pub global_inputs: Globs,
    pub ignore: Globs,
    pub unowned: UnownedPolicy,
    /// Sorted by name; a [`ServiceId`] indexes this.
    pub services: Vec<Service>,
    /// Every target name defined anywhere, sorted.
    pub target_names: BTreeSet<String>,
    pub graph: ServiceGraph,
}

impl Workspace {
    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
    }

    pub fn service_names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.name.as_str())
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {CONFIG_FILE} found in {start} or any parent directory up to the repository root; create one or pass --config PATH")]
    NotFound { start: PathBuf },
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has {} error{}", diagnostics.len(), if diagnostics.len() == 1 { "" } else { "s" })]
    Invalid {
        path: PathBuf,
        source_text: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// Walks up from `start` looking for `pipeline.toml`, stopping after the directory that holds `.git`.
pub fn find(start: &Path) -> Result<PathBuf, ConfigError> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        // Anything by that name counts (a FIFO or directory too): `load` then says what is wrong
        // with it instead of this search claiming there is none.
        if candidate.symlink_metadata().is_ok() {
            return Ok(candidate);
        }
        if d.join(".git").exists() {
            break;
        }
        dir = d.parent();
    }
    Err(ConfigError::NotFound {
        start: start.to_path_buf(),
    })
}

/// The directory every path in the config at `path` is relative to: the one holding it,
/// canonicalized.
pub fn workspace_root(path: &Path) -> PathBuf {
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    };
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// Reads, parses and validates the config at `path`, finding `members` and checking roots in the
/// plain filesystem.
pub fn load(path: &Path) -> Result<Workspace, ConfigError> {
    load_with(path, &mut FsDirs::new(&workspace_root(path)))
}

/// Reads, parses and validates the config at `path`; `dirs` (rooted at [`workspace_root`]) says
/// which directories exist and which `members` may match.
pub fn load_with(path: &Path, dirs: &mut dyn WorkspaceDirs) -> Result<Workspace, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // A config is a small text file: refuse a FIFO or device (which would hang or never end) and
    // anything absurdly large before reading it.
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return Err(read_error(std::io::Error::other(if meta.is_file() {
            format!("it is larger than {} MiB", MAX_CONFIG_BYTES >> 20)
        } else {
            "it is not a regular file".to_string()
        })));
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                source_text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                diagnostics: vec![Diagnostic::new(format!(
                    "{CONFIG_FILE} is not valid UTF-8 (byte 0x{bad:02x})"
                ))
                .at(at..at + 1)
                .help("TOML files are UTF-8: re-save the file as UTF-8 or remove the byte")],
            });
        }
    };
    let root = workspace_root(path);
    parse_with(&text, path, &root, dirs).map_err(|diagnostics| ConfigError::Invalid {
        path: path.to_path_buf(),
        source_text: text,
        diagnostics,
    })
}

/// The directories of the workspace as `members` and `root` see them. [`FsDirs`] reads the
/// filesystem; the repository's view also leaves out what git ignores and, in a sparse checkout,
/// includes the directories the index holds outside the checked-out cone.
pub trait WorkspaceDirs {
    /// Whether workspace-relative `dir` is a directory (that a `root` may name).
    fn is_dir(&mut self, dir: &str) -> bool;
    /// Whether `dir`, or a directory above it, is one a `members` pattern must not match (git
    /// ignores it).
    fn is_excluded(&mut self, dir: &str) -> bool;
    /// The names of the subdirectories of `dir` (`""`: the workspace root) that a `members`
    /// pattern may match or descend into, in any order. Never `.git`, `.shockwave` or a symlink.
    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>>;
}

/// The workspace as the filesystem shows it (used outside a git repository).
pub struct FsDirs {
    root: PathBuf,
}

impl FsDirs {
    pub fn new(root: &Path) -> FsDirs {
        FsDirs {
            root: root.to_path_buf(),
        }
    }
}

impl WorkspaceDirs for FsDirs {
    fn is_dir(&mut self, dir: &str) -> bool {
        self.root.join(dir).is_dir()
    }

    fn is_excluded(&mut self, _dir: &str) -> bool {
        false
    }

    fn subdirs(&mut self, dir: &str) -> std::io::Result<Vec<String>> {
        list_subdirs(&self.root.join(dir))
    }
}

/// The real subdirectories of `dir` (symlinks are not followed), without `.git` and `.shockwave`
/// and without names that are not UTF-8 (a service is named after its folder).
pub fn list_subdirs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name == ".git" || name == ".shockwave" {
            continue;
        }
        out.push(name);
    }
    Ok(out)
}

/// Parses and validates config `text` whose paths are relative to `root`, in the filesystem.
pub fn parse(text: &str, path: &Path, root: &Path) -> Result<Workspace, Vec<Diagnostic>> {
    parse_with(text, path, root, &mut FsDirs::new(root))
}

/// Parses and validates config `text` whose paths are relative to `root`, as `dirs` shows it.
pub fn parse_with(
    text: &str,
    path: &Path,
    root: &Path,
    dirs: &mut dyn WorkspaceDirs,
) -> Result<Workspace, Vec<Diagnostic>> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim_end().to_string();
        let help = if msg.starts_with("unknown field") {
            "remove the key or fix its spelling; see the README's pipeline.toml reference"
        } else {
            "fix the TOML syntax or value type at this position"
        };
        let span = e.span().or_else(|| deepest_nesting(text));
        vec![Diagnostic::new(msg).at_opt(span).help(help)]
    })?;
    Validator {
        root,
        real_root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
        dirs,
        errors: Vec::new(),
        glob_cache: HashMap::new(),
        missing_command: BTreeMap::new(),
    }
    .run(raw, path)
}

/// The largest `pipeline.toml` read; a real one is a few hundred KB even with thousands of services.
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Where the text nests deepest (dotted keys, table headers, arrays, inline tables), for the one
/// TOML error that comes without a position: the parser's recursion limit. The span covers the
/// key or value at that depth.
fn deepest_nesting(text: &str) -> Option<Range<usize>> {
    let mut best: Option<(usize, usize)> = None;
    let mut open = 0usize;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let (mut depth, mut at) = (open, None);
        let mut in_string: Option<char> = None;
        for (i, c) in trimmed.char_indices() {
            match (in_string, c) {
                (Some(q), c) if c == q => in_string = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => in_string = Some(c),
                (None, '#') => break,
                (None, '.') => depth += 1,
                (None, '[' | '{') => {
                    open += 1;
                    depth = depth.max(open);
                    at.get_or_insert(i);
                }
                (None, ']' | '}') => open = open.saturating_sub(1),
                _ => {}
            }
        }
        if best.is_none_or(|(d, _)| depth > d) {
            let start = offset + (line.len() - trimmed.len()) + at.unwrap_or(0);
            best = Some((depth, start));
        }
        offset += line.len();
    }
    best.filter(|&(d, _)| d > 0).map(|(_, s)| s..s + 1)
}

struct Validator<'a> {
    root: &'a Path,
    /// `root` with every symlink resolved: a service root must resolve below it.
    real_root: PathBuf,
    dirs: &'a mut dyn WorkspaceDirs,
    errors: Vec<Diagnostic>,
    glob_cache: HashMap<Vec<String>, Arc<Globs>>,
    /// Default targets without a command → their key's span and the services that inherit them.
    missing_command: BTreeMap<String, (Range<usize>, Vec<String>)>,
}

/// A service as collected from `members` and `[services.*]`, before ids exist.
struct Draft {
    root: String,
    name_span: Option<Range<usize>>,
    deps: Vec<SpannedStr>,
    paths: Vec<String>,
    targets: BTreeMap<SpannedStr, RawTarget>,
}

impl Validator<'_> {
    fn run(mut self, raw: RawConfig, path: &Path) -> Result<Workspace, Vec<Diagnostic>> {
        let ws = raw.workspace;
        let global_inputs = self.globs(&ws.global_inputs, "global_inputs");
        let ignore = self.globs(&ws.ignore, "ignore");
        let unowned = ws.unowned.map(|u| u.into_inner()).unwrap_or_default();

        // Services found by `members`, named after their folder.
        let mut drafts: BTreeMap<String, Draft> = BTreeMap::new();
        for member in &ws.members {
            let written = member.get_ref();
            // A members pattern names directories: a trailing `/` is the directory itself here,
            // not "everything below it" as in the other globs (`services/*/` is `services/*`).
            let pattern = match written.trim_end_matches('/') {
                "" => written.as_str(),
                trimmed => trimmed,
            };
            let matcher = match glob::compile(pattern) {
                Ok(g) => g.compile_matcher(),
                Err(e) => {
                    self.errors.push(
                        Diagnostic::new(format!(
                            "invalid glob `{pattern}` in members: {}",
                            kind_of(&e)
                        ))
                        .at(member.span())
                        .help("fix the pattern; `*` matches one folder level, `**` any number"),
                    );
                    continue;
                }
            };
            if pattern.starts_with('/') || pattern.split('/').any(|p| p == "..") {
                let (message, help) = match normalize_rel(pattern) {
                    None => (
                        format!("members pattern `{pattern}` reaches outside the repository"),
                        "members patterns are relative to the directory holding pipeline.toml and cannot climb above it".to_string(),
                    ),
                    Some(plain) => (
                        format!("members pattern `{pattern}` contains `..`"),
                        format!("write the pattern without `..` (`{plain}`)"),
                    ),
                };
                self.errors
                    .push(Diagnostic::new(message).at(member.span()).help(help));
                continue;
            }
            let (start, found) = match expand_members(&mut *self.dirs, pattern, &matcher) {
                Ok(found) => found,
                Err(e) => {
                    self.errors.push(
                        Diagnostic::new(format!(
                            "failed to list directories for members pattern `{pattern}`: {e}"
                        ))
                        .at(member.span()),
                    );
                    continue;
                }
            };
            if found.is_empty() {
                continue;
            }
            // Listed directories are real ones (symlinks are not followed), so only the literal
            // start of the pattern can lead elsewhere: resolve it once.
            let real_start = match self.resolve(&start) {
                Resolved::Inside(real) => real,
                Resolved::Outside(target) => {
                    let first = &found[0];
                    let rest = first[start.len()..].trim_start_matches('/');
                    let target = if rest.is_empty() {
                        target
                    } else {
                        target.join(rest)
                    };
                    self.errors.push(
                        Diagnostic::new(format!(
                            "members pattern `{pattern}` matches `{first}`, which leads outside the repository (to {}) through a symlink",
                            target.display()
                        ))
                        .at(member.span())
                        .help("a service's root must stay inside the repository: remove the symlink or narrow the pattern"),
                    );
                    continue;
                }
                Resolved::InGitDir(real) => {
                    self.errors.push(
                        Diagnostic::new(format!(
                            "members pattern `{pattern}` matches `{real}`, inside git's own directory"
                        ))
                        .at(member.span())
                        .help("a service's root must be part of the worktree, not of `.git`"),
                    );
                    continue;
                }
                Resolved::Missing => continue,
            };
            for dir in found {
                let name = dir.rsplit('/').next().unwrap_or(&dir).to_string();
                let dir = if real_start == start {
                    dir
                } else {
                    let rest = dir[start.len()..].trim_start_matches('/');
                    match (real_start.as_str(), rest) {
                        (r, "") => r.to_string(),
                        ("", rest) => rest.to_string(),
                        (r, rest) => format!("{r}/{rest}"),
                    }
                };
                if let Some(existing) = drafts.get(&name) {
                    if existing.root != dir {
                        self.errors.push(
                            Diagnostic::new(format!(
                                "two services are named `{name}`: `{}` and `{dir}` (a member service is named after its folder)",
                                existing.root
                            ))
                            .at(member.span())
                            .help(format!("rename one folder, or declare one explicitly as [services.<other-name>] with root = \"{dir}\" and narrow the members globs")),
                        );
                    }
                    continue;
                }
                drafts.insert(
                    name,
                    Draft {
                        root: dir,
                        name_span: None,
                        deps: Vec::new(),
                        paths: Vec::new(),
                        targets: BTreeMap::new(),
                    },
                );
            }
        }

        // Explicit services add to or override the member ones.
        for (name, svc) in raw.services {
            let name_span = name.span();
            let name = name.into_inner();
            let explicit_root = svc.root.as_ref().and_then(|r| self.root_path(r));
            let paths = svc
                .paths
                .iter()
                .filter(|p| self.check_glob(p, "paths"))
                .map(|p| glob::normalize(p.get_ref()))
                .collect();
            match drafts.get_mut(&name) {
                Some(existing) => {
                    if let (Some(root), Some(span)) =
                        (&explicit_root, svc.root.as_ref().map(|r| r.span()))
                    {
                        if *root != existing.root && existing.name_span.is_none() {
                            self.errors.push(
                                Diagnostic::new(format!(
                                    "two services are named `{name}`: root `{root}` here and member folder `{}`",
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
                        continue;
                    };
                    drafts.insert(
                        name,
                        Draft {
                            root,
                            name_span: Some(name_span),
                            deps: svc.deps,
                            paths,
                            targets: svc.targets,
                        },
                    );
                }
            }
        }

        // Two explicit services may also share a root: that is allowed (deepest root wins, ties are
        // both owners), but the same name twice is impossible in TOML so nothing to check there.
        let names: Vec<String> = drafts.keys().cloned().collect();
        let id_of = |n: &str| names.binary_search_by(|x| x.as_str().cmp(n)).ok();

        let mut target_names: BTreeSet<String> =
            raw.targets.keys().map(|k| k.get_ref().clone()).collect();
        for d in drafts.values() {
            target_names.extend(d.targets.keys().map(|k| k.get_ref().clone()));
        }
        for (name, t) in &raw.targets {
            self.check_target_needs(t, &target_names, &format!("[targets.{}]", name.get_ref()));
        }

        let defaults_without_command: Vec<String> = raw
            .targets
            .iter()
            .filter(|(_, t)| t.command.is_none())
            .map(|(k, _)| k.get_ref().clone())
            .collect();
        let mut shared_defaults: Option<(Targets, Arc<Globs>)> = None;
        let mut services = Vec::with_capacity(drafts.len());
        let mut dep_spans: HashMap<(ServiceId, ServiceId), Range<usize>> = HashMap::new();
        for (name, d) in drafts {
            let self_id = services.len();
            let mut deps = Vec::with_capacity(d.deps.len());
            for dep in &d.deps {
                match id_of(dep.get_ref()) {
                    Some(id) if names[id] == name => self.errors.push(
                        Diagnostic::new(format!("service `{name}` depends on itself"))
                            .at(dep.span())
                            .help("remove it from `deps`"),
                    ),
                    Some(id) => {
                        dep_spans.insert((self_id, id), dep.span());
                        deps.push(id);
                    }
                    None => {
                        let mut help = String::from("declare that service or fix the name");
                        if let Some(s) = suggest(dep.get_ref(), names.iter().map(String::as_str)) {
                            help = format!("did you mean `{s}`? Otherwise {help}");
                        }
                        self.errors.push(
                            Diagnostic::new(format!(
                                "service `{name}` depends on `{}`, which is not a service",
                                dep.get_ref()
                            ))
                            .at(dep.span())
                            .help(help),
                        );
                    }
                }
            }
            deps.sort_unstable();
            deps.dedup();
            // Most services only inherit the defaults: merge (and validate) those once.
            let (targets, outputs) = match (&shared_defaults, d.targets.is_empty()) {
                (Some((targets, outputs)), true) => {
                    for target in &defaults_without_command {
                        if let Some(entry) = self.missing_command.get_mut(target) {
                            entry.1.push(name.clone());
                        }
                    }
                    (targets.clone(), outputs.clone())
                }
                _ => {
                    let targets =
                        self.merge_targets(&name, &raw.targets, &d.targets, &target_names);
                    let mut outputs: Vec<String> = targets
                        .values()
                        .flat_map(|t| t.outputs.patterns.iter().cloned())
                        .collect();
                    outputs.sort();
                    outputs.dedup();
                    let outputs = self.globs_for(outputs);
                    if d.targets.is_empty() {
                        shared_defaults = Some((targets.clone(), outputs.clone()));
                    }
                    (targets, outputs)
                }
            };
            let path_globs = self.globs_for(d.paths.clone());
            services.push(Service {
                name,
                root: d.root,
                deps,
                path_globs,
                paths: d.paths,
                targets,
                outputs,
            });
        }

        // One error per default target without a command, not one per service that inherits it.
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

        // The services only hold dependencies on known services, so a cycle can be found (and
        // reported together with the other problems) even when some `deps` entries were invalid.
        let graph = match ServiceGraph::build(services.iter().map(|s| s.deps.as_slice())) {
            Ok(g) => Some(g),
            Err(cycle) => {
                let chain: Vec<&str> = cycle.iter().map(|&i| services[i].name.as_str()).collect();
                let span = cycle
                    .windows(2)
                    .next()
                    .and_then(|w| dep_spans.get(&(w[0], w[1])).cloned());
                self.errors.push(
                    Diagnostic::new(format!("dependency cycle: {}", chain.join(" → ")))
                        .at_opt(span)
                        .help("services must form a DAG; remove one of the `deps` entries in this cycle"),
                );
                None
            }
        };
        let Some(graph) = graph.filter(|_| self.errors.is_empty()) else {
            return Err(self.errors);
        };
        Ok(Workspace {
            config_path: path.to_path_buf(),
            root: self.root.to_path_buf(),
            default_base: ws.default_base,
            global_inputs,
            ignore,
            unowned,
            services,
            target_names,
            graph,
        })
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
    fn resolve(&mut self, rel: &str) -> Resolved {
        let inside = |real: String| {
            if real.split('/').any(|c| c == ".git") {
                Resolved::InGitDir(real)
            } else {
                Resolved::Inside(real)
            }
        };
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

    fn check_glob(&mut self, pattern: &SpannedStr, field: &str) -> bool {
        match glob::compile(pattern.get_ref()) {
            Ok(_) => true,
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("invalid glob `{}` in {field}: {}", pattern.get_ref(), kind_of(&e)))
                        .at(pattern.span())
                        .help("fix the pattern; `*` matches within one folder, `**` across folders, `{a,b}` alternatives"),
                );
                false
            }
        }
    }

    fn globs(&mut self, patterns: &[SpannedStr], field: &str) -> Globs {
        let ok: Vec<String> = patterns
            .iter()
            .filter(|p| self.check_glob(p, field))
            .map(|p| p.get_ref().clone())
            .collect();
        Globs::new(ok).unwrap_or_else(|_| Globs::empty())
    }

    fn shared_globs(
        &mut self,
        patterns: Option<&Vec<SpannedStr>>,
        default: &[&str],
        field: &str,
    ) -> Arc<Globs> {
        let list: Vec<String> = match patterns {
            Some(ps) => ps
                .iter()
                .filter(|p| self.check_glob(p, field))
                .map(|p| p.get_ref().clone())
                .collect(),
            None => default.iter().map(|s| s.to_string()).collect(),
        };
        self.globs_for(list)
    }

    /// Compiled globs for a list of already validated patterns, shared between equal lists (with
    /// thousands of services, most lists are the same few).
    fn globs_for(&mut self, list: Vec<String>) -> Arc<Globs> {
        if let Some(g) = self.glob_cache.get(&list) {
            return g.clone();
        }
        let g = Arc::new(Globs::new(list.clone()).unwrap_or_else(|_| Globs::empty()));
        self.glob_cache.insert(list, g.clone());
        g
    }

    fn check_target_needs(&mut self, t: &RawTarget, known: &BTreeSet<String>, context: &str) {
        for need in t.needs.iter().flatten() {
            let name = need.get_ref().strip_prefix('^').unwrap_or(need.get_ref());
            if !known.contains(name) {
                let mut help =
                    String::from("define that target under [targets.NAME] or fix the name");
                if let Some(s) = suggest(name, known.iter().map(String::as_str)) {
                    help = format!("did you mean `{s}`? Otherwise {help}");
                }
                self.errors.push(
                    Diagnostic::new(format!(
                        "{context} needs `{}`, which is not a target",
                        need.get_ref()
                    ))
                    .at(need.span())
                    .help(help),
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
    ) -> BTreeMap<String, Arc<Target>> {
        let mut out = BTreeMap::new();
        let names: BTreeSet<&String> = defaults
            .keys()
            .chain(overrides.keys())
            .map(|k| k.get_ref())
            .collect();
        for name in names {
            let base = defaults
                .iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(_, v)| v);
            let over = overrides.iter().find(|(k, _)| k.get_ref() == name);
            if let Some((_, o)) = over {
                self.check_target_needs(o, known, &format!("[services.{service}.targets.{name}]"));
            }
            let over_span = over.map(|(k, _)| k.span());
            let over = over.map(|(_, v)| v);
            let pick = |f: fn(&RawTarget) -> Option<&Vec<SpannedStr>>| {
                over.and_then(f).or_else(|| base.and_then(f))
            };
            let command = over
                .and_then(|o| o.command.clone())
                .or_else(|| base.and_then(|b| b.command.clone()));
            let Some(command) = command else {
                match (over_span, defaults.keys().find(|k| k.get_ref() == name)) {
                    (Some(span), _) => self.errors.push(
                        Diagnostic::new(format!("target `{name}` of service `{service}` has no command"))
                            .at(span)
                            .help(format!("add command = \"...\" to [targets.{name}] or [services.{service}.targets.{name}]")),
                    ),
                    // Inherited as is from a default without a command: reported once per target.
                    (None, Some(key)) => self
                        .missing_command
                        .entry(name.clone())
                        .or_insert_with(|| (key.span(), Vec::new()))
                        .1
                        .push(service.to_string()),
                    (None, None) => {}
                }
                continue;
            };
            let (needs, need_spans) = pick(|t| t.needs.as_ref())
                .map(|ns| {
                    ns.iter()
                        .map(|n| {
                            let need = match n.get_ref().strip_prefix('^') {
                                Some(t) => Need::Deps(t.to_string()),
                                None => Need::Own(n.get_ref().clone()),
                            };
                            (need, n.span())
                        })
                        .unzip()
                })
                .unwrap_or_default();
            let inputs = self.shared_globs(pick(|t| t.inputs.as_ref()), &["**"], "inputs");
            let outputs = self.shared_globs(pick(|t| t.outputs.as_ref()), &[], "outputs");
            let mut env: Vec<String> = pick(|t| t.env.as_ref())
                .map(|e| e.iter().map(|s| s.get_ref().clone()).collect())
                .unwrap_or_default();
            env.sort();
            env.dedup();
            let cache = over
                .and_then(|o| o.cache)
                .or_else(|| base.and_then(|b| b.cache))
                .unwrap_or(true);
            out.insert(
                name.clone(),
                Arc::new(Target {
                    command,
                    needs,
                    need_spans,
                    inputs,
                    outputs,
                    env,
                    cache,
                }),
            );
        }
        out
    }
}

fn kind_of(e: &GlobError) -> String {
    e.to_string()
}

/// Normalises a config-relative path: `/` separators, no `.` parts, no trailing slash. `None` when
/// it is absolute or climbs above the workspace root.
pub fn normalize_rel(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') && Path::new(path).is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
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

/// Where a service root really is.
enum Resolved {
    /// Inside the workspace: its workspace-relative path with symlinks resolved.
    Inside(String),
    /// It leads out of the workspace, to this absolute path.
    Outside(PathBuf),
    /// Inside `.git` (workspace-relative path).
    InGitDir(String),
    /// No such directory.
    Missing,
}

/// Lists the directories that match a members pattern, as `dirs` shows them, and the literal
/// directory the pattern starts from (every match is that directory or below it). Only the part of
/// the tree the pattern can reach is read: `services/*` reads one directory. A directory `dirs`
/// excludes (git ignores it) is neither matched nor descended into.
fn expand_members(
    dirs: &mut dyn WorkspaceDirs,
    pattern: &str,
    matcher: &globset::GlobMatcher,
) -> std::io::Result<(String, Vec<String>)> {
    // The caller already dropped a trailing `/`; a written `/**` stays (any depth below).
    let (literal, rest) = glob::split_literal(pattern);
    let components = |s| str::split(s, '/').filter(|p| !p.is_empty());
    let start = components(literal).collect::<Vec<_>>().join("/");
    let rest: Vec<&str> = components(rest).collect();
    let unbounded = rest.contains(&"**");
    let depth = rest.len();
    let mut out = Vec::new();
    if !dirs.is_dir(&start) || dirs.is_excluded(&start) {
        return Ok((start, out));
    }
    if depth == 0 {
        out.push(start.clone());
        return Ok((start, out));
    }
    let mut stack = vec![(start.clone(), 0usize)];
    while let Some((dir, level)) = stack.pop() {
        let names = match dirs.subdirs(&dir) {
            Ok(n) => n,
            Err(e) if level == 0 => return Err(e),
            Err(_) => continue,
        };
        for name in names {
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if level < depth || unbounded {
                if matcher.is_match(&rel) && (level + 1 == depth || unbounded) {
                    out.push(rel.clone());
                }
                if level + 1 < depth || unbounded {
                    stack.push((rel, level + 1));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok((start, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(dir: &Path, text: &str) -> Result<Workspace, Vec<Diagnostic>> {
        parse(text, Path::new("pipeline.toml"), dir)
    }

    fn tree(dirs: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        t
    }

    #[test]
    fn members_name_services_after_folders() {
        let t = tree(&["services/a", "services/b", "libs/c", "libs/c/nested"]);
        let ws = parse_in(
            t.path(),
            "[workspace]\nmembers = [\"services/*\", \"libs/*\"]\n",
        )
        .unwrap();
        let names: Vec<_> = ws.service_names().collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(ws.services[2].root, "libs/c");
    }

    #[test]
    fn double_star_members_reach_any_depth() {
        let t = tree(&["pkgs/a", "pkgs/b/c"]);
        let ws = parse_in(t.path(), "[workspace]\nmembers = [\"pkgs/**\"]\n").unwrap();
        let names: Vec<_> = ws.service_names().collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

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
    fn service_override_merges_field_by_field() {
        let t = tree(&["s"]);
        let text = "[targets.build]\ncommand=\"make\"\noutputs=[\"bin/**\"]\nenv=[\"B\",\"A\"]\n[services.s]\nroot=\"s\"\n[services.s.targets.build]\ncommand=\"other\"\n";
        let ws = parse_in(t.path(), text).unwrap();
        let b = &ws.services[0].targets["build"];
        assert_eq!(b.command, "other");
        assert_eq!(b.outputs.patterns, ["bin/**"]);
        assert_eq!(b.env, ["A", "B"]);
        assert_eq!(b.inputs.patterns, ["**"]);
    }

    #[test]
    fn normalize_rel_rejects_escapes() {
        assert_eq!(normalize_rel("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_rel("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize_rel("../b"), None);
        assert_eq!(normalize_rel("/abs"), None);
    }
}
