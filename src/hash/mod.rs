//! Task hashing. A task's hash is blake3 over a typed, versioned fingerprint with sorted contents:
//! service, target, command, root, declared outputs, every input file's workspace-relative path and
//! git content id, declared env names and values, the global-inputs hash and the hashes of the tasks
//! it needs. Nothing machine-specific (absolute paths, timestamps, map iteration order) enters it, so
//! the same tree hashes the same in any clone. File lists are gathered per service in parallel.

use std::collections::HashMap;

use bstr::{BStr, ByteSlice};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::config::{Globs, Need, ServiceId, Workspace};
use crate::discover::go::closure::is_under;
use crate::discover::PackageInput;
use crate::glob;
use crate::ownership::Ownership;
use crate::scm::{RepoIndex, Scope};
use crate::tasks::TaskGraph;
use encode::{Encode, Encoder};

pub mod diff;
mod encode;

/// Bump to invalidate every cache entry when the fingerprint's meaning changes.
/// 2: env values enter as their keyed digest ([`EnvDigest`]) rather than as raw bytes, and the
/// global-inputs hash counts its lists.
/// 3: a lockfile enters as the digest of each using service's resolved closure
/// ([`Fingerprint::lockfiles`]) instead of as a file.
pub const FINGERPRINT_VERSION: u32 = 3;

/// One input file: workspace-relative path, content id and git mode (borrowed from the index).
pub type FileInput<'a> = (&'a BStr, &'a gix::oid, u32);

/// Everything that went into one task's hash.
#[derive(Debug, Clone)]
pub struct Fingerprint<'a> {
    pub version: u32,
    pub service: String,
    pub target: String,
    pub command: String,
    pub root: String,
    pub outputs: Vec<String>,
    /// Sorted by path.
    pub files: Vec<FileInput<'a>>,
    /// Declared variables and the digests of their values (`None`: unset), sorted by name. The
    /// values themselves are never kept: they may be secrets, and a fingerprint is printed, logged
    /// and stored in summaries.
    pub env: Vec<(String, Option<EnvDigest>)>,
    pub global: blake3::Hash,
    /// Label (`service:target`) and hash of every needed task, sorted by label.
    pub needs: Vec<(String, blake3::Hash)>,
    /// Each lockfile the service resolves external dependencies through (workspace-relative
    /// path) and the digest of its closure there, sorted by path: what it installs, so churn in
    /// the lockfile that does not concern it leaves the hash alone.
    pub lockfiles: Vec<(String, blake3::Hash)>,
}

/// A keyed blake3 digest of one environment variable's value: what enters the task hash and the
/// only form in which a value is ever shown or stored. Equal values give equal digests, so a
/// summary still shows that a value changed, but the value cannot be read back from it. The key
/// is derived from the variable's name, so the same secret under two names shows two digests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EnvDigest(blake3::Hash);

impl EnvDigest {
    pub fn of(name: &str, value: &[u8]) -> EnvDigest {
        let mut h = blake3::Hasher::new_derive_key("shockwave 2026-12 env value digest v1");
        for part in [name.as_bytes(), value] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        EnvDigest(h.finalize())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The short form every output uses: `set, blake3:1a2b3c4d`.
    pub fn display(&self) -> String {
        format!("set, blake3:{}", &self.0.to_hex()[..8])
    }
}

/// Shows only the short digest, so a `{:?}` in a log line cannot leak more than any output does.
impl std::fmt::Debug for EnvDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// The fields in the order they are hashed: the one place that defines a task hash's bytes.
impl Encode for Fingerprint<'_> {
    fn encode(&self, e: &mut Encoder) {
        self.encode_own(e);
        self.encode_chained(e);
    }
}

/// The domain every task hash starts with.
const TASK_DOMAIN: &[u8] = b"shockwave-task\0";

impl Fingerprint<'_> {
    #[cfg(test)]
    pub fn hash(&self) -> blake3::Hash {
        Encoder::new(TASK_DOMAIN).put(self).finish()
    }

    /// The fields known before the needs are hashed (all but the last two), so that the bulk
    /// of every task's hash, its files, can be computed in parallel.
    fn encode_own(&self, e: &mut Encoder) {
        e.put(&self.version)
            .put(&self.service)
            .put(&self.target)
            .put(&self.command)
            .put(&self.root)
            .put(&self.outputs)
            .put(&self.files)
            .put(&self.env)
            .put(&self.global);
    }

    /// The fields that follow: the needs' hashes, then the lockfiles.
    fn encode_chained(&self, e: &mut Encoder) {
        e.put(&self.needs).put(&self.lockfiles);
    }

    /// The fingerprint as JSON (the format `hash --json` and run summaries carry).
    pub fn to_json(&self) -> Value {
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(p, id, mode)| {
                (
                    p.to_str_lossy().into_owned(),
                    json!(format!("{mode:o} {id}")),
                )
            })
            .collect();
        let env: serde_json::Map<String, Value> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.as_ref().map(EnvDigest::display))))
            .collect();
        let needs: serde_json::Map<String, Value> = self
            .needs
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.to_hex().to_string())))
            .collect();
        let lockfiles: serde_json::Map<String, Value> = self
            .lockfiles
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.to_hex().to_string())))
            .collect();
        json!({
            "version": self.version,
            "lockfiles": lockfiles,
            "command": self.command,
            "root": self.root,
            "outputs": self.outputs,
            "env": env,
            "global": self.global.to_hex().to_string(),
            "needs": needs,
            "files": files,
        })
    }
}

/// Hashes of every task in a graph, in the graph's order.
pub struct TaskHashes<'a> {
    pub fingerprints: Vec<Fingerprint<'a>>,
    pub hashes: Vec<blake3::Hash>,
    /// The files behind the global-inputs hash.
    pub global_files: Vec<FileInput<'a>>,
}

/// The hash of the global inputs: their patterns, every file they match and the global
/// variables (which enter only when there are some, so that a config without them keeps its
/// hashes).
fn global_hash(
    patterns: &[String],
    files: &[FileInput<'_>],
    env: &[(String, Option<EnvDigest>)],
) -> blake3::Hash {
    let mut e = Encoder::new(b"shockwave-global\0");
    e.put(patterns).put(files);
    if !env.is_empty() {
        e.put(&env.to_vec());
    }
    e.finish()
}

/// The lockfile closures of every service (indexed by id), from [`crate::lockfiles::digests`],
/// and the workspace-relative paths whose bytes those digests replace in its file inputs.
#[derive(Debug, Default)]
pub struct LockInputs {
    pub digests: Vec<Vec<(String, blake3::Hash)>>,
    pub replaced: Vec<Vec<String>>,
}

/// Where variable values come from (the process environment in the CLI).
pub struct EnvSource<'e> {
    /// The value of one variable.
    pub value: &'e (dyn Fn(&str) -> Option<Vec<u8>> + Sync),
    /// Every variable's name, for patterns with `*`.
    pub names: &'e (dyn Fn() -> Vec<String> + Sync),
}

/// The variables `patterns` name: the names as written, each `*` pattern's matches among `all`,
/// less the names a `!` pattern matches; sorted, deduplicated.
pub fn env_names(patterns: &[String], all: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in patterns.iter().filter(|p| !p.starts_with('!')) {
        if p.contains('*') {
            out.extend(all.iter().filter(|n| wildcard(p, n)).cloned());
        } else {
            out.push(p.clone());
        }
    }
    let excluded: Vec<&str> = patterns
        .iter()
        .filter_map(|p| p.strip_prefix('!'))
        .collect();
    out.retain(|n| !excluded.iter().any(|x| wildcard(x, n)));
    out.sort();
    out.dedup();
    out
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn wildcard(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether any of `patterns` needs the list of every variable.
fn needs_names(patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| p.contains('*') || p.starts_with('!'))
}

/// Each variable and the digest of its value (`None`: unset).
fn env_digests(names: &[String], env: &EnvSource<'_>) -> Vec<(String, Option<EnvDigest>)> {
    names
        .iter()
        .map(|k| (k.clone(), (env.value)(k).map(|v| EnvDigest::of(k, &v))))
        .collect()
}

/// Hashes every task in `graph`.
pub fn hash_tasks<'a>(
    ws: &Workspace,
    prefix: &str,
    index: &'a RepoIndex,
    graph: &TaskGraph,
    env: &EnvSource<'_>,
    locks: &LockInputs,
) -> TaskHashes<'a> {
    let all_names =
        if needs_names(&ws.global_env) || graph.tasks.iter().any(|t| needs_names(&t.def.env)) {
            (env.names)()
        } else {
            Vec::new()
        };
    let global_files = matching_files(index, prefix, &ws.global_inputs);
    let global_env = env_digests(&env_names(&ws.global_env, &all_names), env);
    let global = global_hash(&ws.global_inputs.patterns, &global_files, &global_env);

    // Files per service, gathered once per service however many of its targets run.
    let mut services: Vec<ServiceId> = graph.tasks.iter().map(|t| t.service).collect();
    services.sort_unstable();
    services.dedup();
    let ownership = Ownership::new(ws);
    let nested = nested_roots(ws);
    let dev_inputs: HashMap<ServiceId, Vec<ServiceId>> = services
        .iter()
        .filter(|&&s| !ws.services[s].dev_deps.is_empty())
        .map(|&s| (s, dev_closure(ws, s)))
        .collect();
    // A script ordered only by the implied `^NAME` may run without its dependencies' tasks in
    // the plan (nothing pulls them in), so their files enter its hash directly (with its
    // dev-dependencies' files, as for its service's other tasks): a change in any of them is
    // never a stale cache hit.
    let dep_inputs: HashMap<ServiceId, Vec<ServiceId>> = graph
        .tasks
        .iter()
        .filter(|t| t.def.needs.iter().any(|n| matches!(n, Need::ScriptDeps(_))))
        .map(|t| t.service)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|s| {
            let mut extra = dep_closure(ws, s);
            extra.extend(dev_inputs.get(&s).into_iter().flatten());
            extra.sort_unstable();
            extra.dedup();
            (s, extra)
        })
        .collect();
    let mut listed = services.clone();
    listed.extend(dev_inputs.values().flatten());
    listed.extend(dep_inputs.values().flatten());
    listed.extend(graph.tasks.iter().flat_map(|t| t.through.iter().copied()));
    listed.sort_unstable();
    listed.dedup();
    let mut files_of: HashMap<ServiceId, Vec<FileInput<'a>>> = listed
        .par_iter()
        .map(|&s| {
            let mut files = service_files(ws, prefix, index, &ownership, s, nested[s]);
            if let Some(replaced) = locks.replaced.get(s).filter(|r| !r.is_empty()) {
                files.retain(|(path, ..)| !replaced.iter().any(|r| r.as_bytes() == *path));
            }
            (s, files)
        })
        .collect();
    // Both from each service's own files (a dependency's dev-dependencies are no input here).
    let with_deps: HashMap<ServiceId, Vec<FileInput<'a>>> = dep_inputs
        .iter()
        .map(|(&s, extra)| (s, with_files_of(&files_of[&s], extra, &files_of)))
        .collect();
    // A service's tests build its dev-dependencies, so their files are inputs of its tasks too,
    // although a change there reaches none of its dependents.
    let with_dev: Vec<(ServiceId, Vec<FileInput<'a>>)> = dev_inputs
        .iter()
        .map(|(&s, extra)| (s, with_files_of(&files_of[&s], extra, &files_of)))
        .collect();
    files_of.extend(with_dev);

    // Per-task file selection is independent work; the needs' hashes are chained afterwards in
    // topological order, which is cheap.
    let partial: Vec<(Fingerprint<'a>, Encoder)> = graph
        .tasks
        .par_iter()
        .map(|t| {
            let svc = &ws.services[t.service];
            let implied = t.def.needs.iter().any(|n| matches!(n, Need::ScriptDeps(_)));
            let all = match with_deps.get(&t.service) {
                Some(files) if implied => files,
                _ => &files_of[&t.service],
            };
            // What its needs passed through (services without the target) it builds from.
            let through;
            let all = if t.through.is_empty() {
                all
            } else {
                through = with_files_of(all, &t.through, &files_of);
                &through
            };
            let tracked = |path: &BStr| is_tracked(index, prefix, path);
            let files = select_inputs(
                svc.root.as_str(),
                all,
                (&t.def.inputs, &svc.outputs),
                tracked,
            );
            let fp = Fingerprint {
                version: FINGERPRINT_VERSION,
                service: svc.name.clone(),
                target: t.target.to_string(),
                command: t.def.command.clone(),
                root: svc.root.clone(),
                outputs: t.def.outputs.patterns.clone(),
                files,
                env: match needs_names(&t.def.env) {
                    true => env_digests(&env_names(&t.def.env, &all_names), env),
                    false => env_digests(&t.def.env, env),
                },
                global,
                needs: Vec::new(),
                lockfiles: locks.digests.get(t.service).cloned().unwrap_or_default(),
            };
            let mut own = Encoder::new(TASK_DOMAIN);
            fp.encode_own(&mut own);
            own.compact();
            (fp, own)
        })
        .collect();
    let (mut fingerprints, own): (Vec<_>, Vec<_>) = partial.into_iter().unzip();
    let mut hashes: Vec<blake3::Hash> = Vec::with_capacity(graph.tasks.len());
    for (i, t) in graph.tasks.iter().enumerate() {
        let mut needs: Vec<(String, blake3::Hash)> = t
            .needs
            .iter()
            .map(|&n| (graph.tasks[n].label(ws), hashes[n]))
            .collect();
        needs.sort_by(|a, b| a.0.cmp(&b.0));
        fingerprints[i].needs = needs;
        let mut e = own[i].clone();
        fingerprints[i].encode_chained(&mut e);
        hashes.push(e.finish());
    }
    TaskHashes {
        fingerprints,
        hashes,
        global_files,
    }
}

/// The services `id`'s dev-dependencies are built from: each dev-dependency and, transitively,
/// the services it needs to build (not their own dev-dependencies, which its tests never build),
/// `id` itself left out.
fn dev_closure(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    closure_from(ws, id, &ws.services[id].dev_deps)
}

/// Every service `id` depends on through normal edges, transitively, `id` itself left out.
fn dep_closure(ws: &Workspace, id: ServiceId) -> Vec<ServiceId> {
    closure_from(ws, id, &ws.services[id].deps)
}

/// `start` and, transitively, what each needs to build (normal edges; loops walked once),
/// sorted, `id` left out.
fn closure_from(ws: &Workspace, id: ServiceId, start: &[ServiceId]) -> Vec<ServiceId> {
    let mut seen = vec![false; ws.services.len()];
    seen[id] = true;
    let mut stack = start.to_vec();
    let mut out = Vec::new();
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        out.push(s);
        stack.extend(ws.services[s].deps.iter().filter(|&&d| !seen[d]));
    }
    out.sort_unstable();
    out
}

/// `own` with the files of `extra` services added, in path order, each path once.
fn with_files_of<'a>(
    own: &[FileInput<'a>],
    extra: &[ServiceId],
    files_of: &HashMap<ServiceId, Vec<FileInput<'a>>>,
) -> Vec<FileInput<'a>> {
    let mut files = own.to_vec();
    for e in extra {
        files.extend(files_of[e].iter().copied());
    }
    files.sort_by(|a, b| a.0.cmp(b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    files
}

/// For each service: does another service's root lie inside its root?
fn nested_roots(ws: &Workspace) -> Vec<bool> {
    let mut roots: Vec<&str> = ws.services.iter().map(|s| s.root.as_str()).collect();
    roots.sort_unstable();
    ws.services
        .iter()
        .map(|s| {
            if s.root.is_empty() {
                return roots.iter().any(|r| !r.is_empty());
            }
            // The first root sorting after `root/` is below it if there is any.
            let below = format!("{}/", s.root);
            let i = roots.partition_point(|r| *r < below.as_str());
            roots.get(i).is_some_and(|r| r.starts_with(&below))
        })
        .collect()
}

/// Repo-relative directory prefix (with trailing `/`, or empty) for a workspace-relative dir.
fn repo_dir(prefix: &str, dir: &str) -> String {
    match (prefix.is_empty(), dir.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!("{dir}/"),
        (false, true) => format!("{prefix}/"),
        (false, false) => format!("{prefix}/{dir}/"),
    }
}

/// Files owned by a service: under its root (minus nested services' roots) and matching its `paths`.
/// Paths are workspace-relative.
fn service_files<'a>(
    ws: &Workspace,
    prefix: &str,
    index: &'a RepoIndex,
    ownership: &Ownership,
    id: ServiceId,
    has_nested: bool,
) -> Vec<FileInput<'a>> {
    let svc = &ws.services[id];
    let strip = if prefix.is_empty() {
        0
    } else {
        prefix.len() + 1
    };
    let mut out = Vec::new();
    let mut owners = Vec::new();
    index.for_each_under(repo_dir(prefix, &svc.root).as_bytes(), |path, oid, mode| {
        let rel = path[strip..].as_bstr();
        if has_nested {
            owners.clear();
            ownership.root_owners(rel, &mut owners);
            if !owners.contains(&id) {
                return;
            }
        }
        out.push((rel, oid, mode));
    });
    if !svc.paths.is_empty() {
        out.extend(matching_files(index, prefix, &svc.path_globs));
    }
    // Packages below the root are in its listing already, unless a nested service's root took
    // them out of it (the service may still import them).
    for p in svc
        .packages
        .iter()
        .filter(|p| has_nested || !is_under(&p.dir, &svc.root))
    {
        package_files(index, prefix, p, &mut out);
    }
    // Tracked files come in path order, then untracked ones: the fingerprint needs one order,
    // or `git add` alone would change the hash. (A stable sort merges the sorted runs cheaply.)
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The files of one Go package of a service's closure (workspace-relative): those directly in its
/// directory (a subdirectory is another package), without `_test.go` files when the service only
/// imports it.
fn package_files<'a>(
    index: &'a RepoIndex,
    prefix: &str,
    p: &PackageInput,
    out: &mut Vec<FileInput<'a>>,
) {
    let strip = if prefix.is_empty() {
        0
    } else {
        prefix.len() + 1
    };
    let name_at = strip + if p.dir.is_empty() { 0 } else { p.dir.len() + 1 };
    index.for_each_under(repo_dir(prefix, &p.dir).as_bytes(), |path, oid, mode| {
        let name = &path[name_at..];
        if !name.contains(&b'/') && (p.tests || !name.ends_with(b"_test.go")) {
            out.push((path[strip..].as_bstr(), oid, mode));
        }
    });
    // Asset folders (an embedded `static/`, a test's `testdata/`): every file directly in each.
    for a in &p.assets {
        let name_at = strip + a.len() + 1;
        index.for_each_under(repo_dir(prefix, a).as_bytes(), |path, oid, mode| {
            if !path[name_at..].contains(&b'/') {
                out.push((path[strip..].as_bstr(), oid, mode));
            }
        });
    }
}

/// Files (workspace-relative) matching workspace-relative `globs`, reading only the parts of the
/// index below each pattern's literal directory prefix.
pub fn matching_files<'a>(index: &'a RepoIndex, prefix: &str, globs: &Globs) -> Vec<FileInput<'a>> {
    if globs.is_empty() {
        return Vec::new();
    }
    let scan = scan_prefixes(prefix, &globs.patterns);
    let strip = if prefix.is_empty() {
        0
    } else {
        prefix.len() + 1
    };
    let mut out = Vec::new();
    for dir in scan {
        index.for_each_under(dir.as_bytes(), |path, oid, mode| {
            let rel = path[strip..].as_bstr();
            if globs.is_match(rel) {
                out.push((rel, oid, mode));
            }
        });
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Repo-relative prefixes below which every match of workspace-relative `patterns` lies: a pattern
/// without glob characters names one path; otherwise its literal directory. Covered prefixes
/// are dropped ("a/" covers "a/b/").
fn scan_prefixes(prefix: &str, patterns: &[String]) -> Vec<String> {
    let mut prefixes: Vec<String> = patterns
        .iter()
        .filter(|p| !p.starts_with('!'))
        .map(|p| match glob::split_literal(p) {
            (literal, "") if prefix.is_empty() => literal.to_string(),
            (literal, "") => format!("{prefix}/{literal}"),
            (dir, _) => repo_dir(prefix, dir),
        })
        .collect();
    prefixes.sort();
    let mut scan: Vec<String> = Vec::new();
    for d in prefixes {
        if !scan.iter().any(|s| d.starts_with(s.as_str())) {
            scan.push(d);
        }
    }
    scan
}

/// The part of the worktree whose files can enter the hashes of `graph`'s tasks: the roots of
/// their services, of the services whose files they read as well (dev-dependencies, and the
/// dependencies of a script ordered by the implied `^NAME`), those services' `paths` and the
/// global inputs.
pub fn input_scope(ws: &Workspace, prefix: &str, graph: &TaskGraph) -> Scope {
    let mut services: Vec<ServiceId> = graph.tasks.iter().map(|t| t.service).collect();
    services.sort_unstable();
    services.dedup();
    let mut read_too: Vec<ServiceId> = Vec::new();
    for &s in &services {
        if !ws.services[s].dev_deps.is_empty() {
            read_too.extend(dev_closure(ws, s));
        }
    }
    let mut implied: Vec<ServiceId> = graph
        .tasks
        .iter()
        .filter(|t| t.def.needs.iter().any(|n| matches!(n, Need::ScriptDeps(_))))
        .map(|t| t.service)
        .collect();
    implied.sort_unstable();
    implied.dedup();
    for s in implied {
        read_too.extend(dep_closure(ws, s));
    }
    services.extend(read_too);
    services.extend(graph.tasks.iter().flat_map(|t| t.through.iter().copied()));
    services.sort_unstable();
    services.dedup();
    let mut prefixes: Vec<Vec<u8>> = Vec::with_capacity(services.len() + 4);
    for &s in &services {
        let svc = &ws.services[s];
        prefixes.push(repo_dir(prefix, &svc.root).into_bytes());
        prefixes.extend(
            scan_prefixes(prefix, &svc.paths)
                .into_iter()
                .map(String::into_bytes),
        );
        prefixes.extend(
            svc.packages
                .iter()
                .flat_map(|p| std::iter::once(&p.dir).chain(&p.assets))
                .map(|d| repo_dir(prefix, d).into_bytes()),
        );
    }
    prefixes.extend(
        scan_prefixes(prefix, &ws.global_inputs.patterns)
            .into_iter()
            .map(String::into_bytes),
    );
    Scope::new(prefixes)
}

/// The service files a task reads: matching its inputs (relative to the root), and not the
/// untracked files matching the outputs of any of the service's targets (those are products; what
/// produced them is in the needs' hashes). A tracked file is a source whatever `outputs` say, as
/// it is for `affected`: a build that rewrites a committed file (a `package.json` it stamps) reads
/// the committed content, so a change to it must change the key. `tracked` says whether git
/// tracks a (workspace-relative) path; it is asked only about files matching the outputs.
fn select_inputs<'a>(
    root: &str,
    files: &[FileInput<'a>],
    (inputs, outputs): (&Globs, &Globs),
    tracked: impl Fn(&BStr) -> bool,
) -> Vec<FileInput<'a>> {
    let all_inputs = inputs.patterns.len() == 1 && inputs.patterns[0] == "**";
    let strip = if root.is_empty() { 0 } else { root.len() + 1 };
    files
        .iter()
        .filter(|(path, _, _)| {
            // Files outside the root come from `paths` and are always inputs.
            let Some(rel) = under_root(path, root, strip) else {
                return true;
            };
            if all_inputs && outputs.is_empty() {
                return true;
            }
            (all_inputs || inputs.is_match(rel))
                && (outputs.is_empty() || !outputs.is_match(rel) || tracked(path))
        })
        .cloned()
        .collect()
}

/// Whether git tracks the workspace-relative `path` of the workspace at `prefix`.
fn is_tracked(index: &RepoIndex, prefix: &str, path: &BStr) -> bool {
    if prefix.is_empty() {
        return index.is_tracked(path);
    }
    let mut full = Vec::with_capacity(prefix.len() + 1 + path.len());
    full.extend_from_slice(prefix.as_bytes());
    full.push(b'/');
    full.extend_from_slice(path);
    index.is_tracked(full.as_bstr())
}

fn under_root<'p>(path: &'p BStr, root: &str, strip: usize) -> Option<&'p [u8]> {
    if root.is_empty() {
        return Some(path);
    }
    (path.len() > strip && path.starts_with(root.as_bytes()) && path[root.len()] == b'/')
        .then(|| &path.as_bytes()[strip..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::ObjectId;

    static EMPTY: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_blob(gix::hash::Kind::Sha1));

    fn fp() -> Fingerprint<'static> {
        Fingerprint {
            version: FINGERPRINT_VERSION,
            service: "api".into(),
            target: "build".into(),
            command: "make".into(),
            root: "services/api".into(),
            outputs: vec!["bin/**".into()],
            files: vec![(b"services/api/main.go".as_bstr(), EMPTY.as_ref(), 0o100644)],
            env: vec![("GOFLAGS".into(), Some(EnvDigest::of("GOFLAGS", b"-v")))],
            global: blake3::hash(b"g"),
            needs: vec![],
            lockfiles: vec![("package-lock.json".into(), blake3::hash(b"closure"))],
        }
    }

    /// A fingerprint with every field set, pinned to its hash. If this test fails, every user's
    /// cache would silently become misses: bump FINGERPRINT_VERSION (and this value) on purpose,
    /// or undo the change to the encoding.
    #[test]
    fn golden_fingerprint_hash() {
        let mut f = fp();
        f.version = 3;
        f.needs = vec![("lib:build".into(), blake3::hash(b"lib"))];
        f.env.push(("UNSET".into(), None));
        assert_eq!(
            FINGERPRINT_VERSION, 3,
            "the version is part of the golden value"
        );
        assert_eq!(f.hash().to_hex().as_str(), GOLDEN_TASK);
        // `hash_tasks` hashes the two halves apart, keeping the first across a compaction.
        let mut own = Encoder::new(TASK_DOMAIN);
        f.encode_own(&mut own);
        own.compact();
        let mut e = own.clone();
        f.encode_chained(&mut e);
        assert_eq!(e.finish().to_hex().as_str(), GOLDEN_TASK);
    }

    const GOLDEN_TASK: &str = "1808ad4ddbebc29d63cbf16e5a12a657dcffd8968cea3852440b524e89c23eaf";

    #[test]
    fn golden_global_hash() {
        let files = [(b"ci/build.sh".as_bstr(), EMPTY.as_ref(), 0o100755)];
        let h = global_hash(&["ci/**".into()], &files, &[]);
        assert_eq!(h.to_hex().as_str(), GOLDEN_GLOBAL);
        // A pattern cannot stand in for a file, nor a file for a pattern.
        assert_ne!(
            global_hash(&["ci/**".into(), "x".into()], &[], &[]),
            global_hash(&["ci/**".into()], &files, &[])
        );
        assert_ne!(global_hash(&[], &files, &[]), h);
        // A global variable, set or not, changes it.
        let unset = [("CI".to_string(), None)];
        assert_ne!(global_hash(&["ci/**".into()], &files, &unset), h);
    }

    #[test]
    fn env_patterns_expand_against_the_names_set() {
        let all: Vec<String> = ["NEXT_PUBLIC_A", "NEXT_PUBLIC_SECRET", "PATH", "API_URL"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let patterns: Vec<String> = ["NEXT_PUBLIC_*", "!*SECRET", "API_URL", "UNSET"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            env_names(&patterns, &all),
            ["API_URL", "NEXT_PUBLIC_A", "UNSET"]
        );
        assert!(wildcard("A*B*C", "AxxBxC") && !wildcard("A*B*C", "AxxC"));
        assert!(wildcard("*", "") && !wildcard("AB*", "A") && wildcard("*AB", "AB"));
    }

    const GOLDEN_GLOBAL: &str = "a42254ff214f985f779db8be8f8fdc1379dd2d4d2a41ed84aa9e155653887fad";

    #[test]
    fn every_field_changes_the_hash() {
        let base = fp().hash();
        type Change = Box<dyn Fn(&mut Fingerprint<'static>)>;
        let changes: Vec<(&str, Change)> = vec![
            ("version", Box::new(|f| f.version += 1)),
            ("service", Box::new(|f| f.service.push('x'))),
            ("target", Box::new(|f| f.target.push('x'))),
            ("command", Box::new(|f| f.command.push(' '))),
            ("root", Box::new(|f| f.root.push('x'))),
            ("outputs added", Box::new(|f| f.outputs.push("x/**".into()))),
            ("outputs changed", Box::new(|f| f.outputs[0].push('x'))),
            ("files removed", Box::new(|f| f.files.clear())),
            (
                "file path",
                Box::new(|f| f.files[0].0 = b"services/api/main2.go".as_bstr()),
            ),
            ("file id", Box::new(|f| f.files[0].1 = &OTHER)),
            ("file mode", Box::new(|f| f.files[0].2 = 0o100755)),
            ("env name", Box::new(|f| f.env[0].0.push('X'))),
            (
                "env value",
                Box::new(|f| f.env[0].1 = Some(EnvDigest::of("GOFLAGS", b"-x"))),
            ),
            ("env unset", Box::new(|f| f.env[0].1 = None)),
            ("env removed", Box::new(|f| f.env.clear())),
            ("global", Box::new(|f| f.global = blake3::hash(b"h"))),
            (
                "needs added",
                Box::new(|f| f.needs.push(("lib:build".into(), blake3::hash(b"x")))),
            ),
        ];
        for (what, change) in &changes {
            let mut f = fp();
            change(&mut f);
            assert_ne!(f.hash(), base, "{what} did not change the hash");
        }
        let with_need = |label: &str, h: &[u8]| {
            let mut f = fp();
            f.needs.push((label.into(), blake3::hash(h)));
            f.hash()
        };
        assert_ne!(with_need("lib:build", b"x"), with_need("lib:test", b"x"));
        assert_ne!(with_need("lib:build", b"x"), with_need("lib:build", b"y"));
        assert_eq!(
            fp().hash(),
            base,
            "the hash is a pure function of the fingerprint"
        );
    }

    static OTHER: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_tree(gix::hash::Kind::Sha1));

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let mut a = fp();
        a.service = "ab".into();
        a.target = "c".into();
        let mut b = fp();
        b.service = "a".into();
        b.target = "bc".into();
        assert_ne!(a.hash(), b.hash());
        // An element moved from one list to the next.
        let mut a = fp();
        a.outputs = vec!["x".into(), "y".into()];
        a.files.clear();
        let mut b = fp();
        b.outputs = vec!["x".into()];
        b.files.clear();
        b.env.insert(0, ("y".into(), None));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn env_digest_shows_no_value_and_depends_on_name_and_value() {
        let d = EnvDigest::of("TOKEN", b"hunter2");
        assert!(!format!("{d:?} {}", d.display()).contains("hunter2"));
        assert_eq!(d, EnvDigest::of("TOKEN", b"hunter2"));
        assert_ne!(d, EnvDigest::of("TOKEN", b"hunter3"));
        assert_ne!(d, EnvDigest::of("OTHER", b"hunter2"));
        assert!(!format!("{:?}", fp()).contains("-v\""));
    }
}
