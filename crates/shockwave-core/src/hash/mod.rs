//! Task hashing. A task's hash is blake3 over a typed, versioned fingerprint with sorted contents:
//! service, target, command, root, declared outputs, every input file's workspace-relative path and
//! git content id, declared env names and values, the global-inputs hash and the hashes of the tasks
//! it needs. Nothing machine-specific (absolute paths, timestamps, map iteration order) enters it, so
//! the same tree hashes the same in any clone. File lists are gathered per service in parallel.

use std::collections::HashMap;

use bstr::BStr;
use rayon::prelude::*;

use crate::config::{Need, ServiceId, Workspace};
use crate::ownership::Ownership;
use crate::paths::WsPrefix;
use crate::scm::RepoIndex;
use crate::tasks::{Task, TaskGraph};
use encode::Encoder;
use env::{env_digests, needs_names};
use files::{
    dep_closure, dev_closure, is_tracked, nested_roots, select_inputs, service_files, with_files_of,
};
use fingerprint::{OwnPart, TASK_DOMAIN};

pub mod diff;
mod encode;
mod env;
mod files;
mod fingerprint;
mod reuse;

pub use reuse::{rehash_tasks, Kept, Since};

pub use env::{env_names, EnvSource};
pub use files::{input_scope, matching_files};
pub use fingerprint::{EnvDigest, FileInput, Fingerprint, FingerprintRecord, FINGERPRINT_VERSION};

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

/// Hashes every task in `graph`.
pub fn hash_tasks<'a>(
    ws: &Workspace,
    prefix: &WsPrefix,
    index: &'a RepoIndex,
    graph: &TaskGraph,
    env: &EnvSource<'_>,
    locks: &LockInputs,
) -> TaskHashes<'a> {
    let global = Global::new(ws, prefix, index, graph, env);
    let parts = own_parts(
        &OwnInputs {
            ws,
            prefix,
            index,
            graph,
            env,
            locks,
            global: &global,
        },
        |_| true,
    );
    let labels: Vec<String> = graph.tasks().iter().map(|t| t.label(ws)).collect();
    let mut hashes: Vec<blake3::Hash> = Vec::with_capacity(graph.len());
    let mut fingerprints: Vec<Fingerprint<'a>> = Vec::with_capacity(graph.len());
    for (t, part) in graph.tasks().iter().zip(parts) {
        let (part, mut e) = part.expect("every task was asked for");
        let fp = Fingerprint::new(part, needs_of(t, &labels, &hashes));
        fp.encode_chained(&mut e);
        hashes.push(e.finish());
        fingerprints.push(fp);
    }
    TaskHashes {
        fingerprints,
        hashes,
        global_files: global.files,
    }
}

/// The label and hash of every task `t` needs, sorted by label (its hashes come first in
/// `hashes`: the graph is in topological order); `labels` are the graph's tasks' labels.
fn needs_of(t: &Task, labels: &[String], hashes: &[blake3::Hash]) -> Vec<(String, blake3::Hash)> {
    let mut needs: Vec<(String, blake3::Hash)> = t
        .needs
        .iter()
        .map(|n| (labels[n.index()].clone(), hashes[n.index()]))
        .collect();
    needs.sort_by(|a, b| a.0.cmp(&b.0));
    needs
}

/// The global inputs' files and hash, and every variable's name when a pattern needs them.
struct Global<'a> {
    files: Vec<FileInput<'a>>,
    hash: blake3::Hash,
    all_names: Vec<String>,
}

impl<'a> Global<'a> {
    fn new(
        ws: &Workspace,
        prefix: &WsPrefix,
        index: &'a RepoIndex,
        graph: &TaskGraph,
        env: &EnvSource<'_>,
    ) -> Self {
        let all_names = if needs_names(ws.global_env())
            || graph.tasks().iter().any(|t| needs_names(&t.def.env))
        {
            (env.names)()
        } else {
            Vec::new()
        };
        let files = matching_files(index, prefix, ws.global_inputs());
        let global_env = env_digests(&env_names(ws.global_env(), &all_names), env);
        let hash = global_hash(&ws.global_inputs().patterns, &files, &global_env);
        Global {
            files,
            hash,
            all_names,
        }
    }
}

/// What the own part of a task's hash (all but its needs and lockfiles) is made from.
struct OwnInputs<'x, 'a> {
    ws: &'x Workspace,
    prefix: &'x WsPrefix,
    index: &'a RepoIndex,
    graph: &'x TaskGraph,
    env: &'x EnvSource<'x>,
    locks: &'x LockInputs,
    global: &'x Global<'a>,
}

/// The own part of every task `want` asks for, and that part encoded; `None` for the others,
/// whose files are then not even listed.
fn own_parts<'a>(
    inp: &OwnInputs<'_, 'a>,
    want: impl Fn(usize) -> bool + Sync,
) -> Vec<Option<(OwnPart<'a>, Encoder)>> {
    let OwnInputs {
        ws,
        prefix,
        index,
        graph,
        env,
        locks,
        global,
    } = *inp;
    let wanted: Vec<&Task> = graph
        .tasks()
        .iter()
        .enumerate()
        .filter(|&(i, _)| want(i))
        .map(|(_, t)| t)
        .collect();
    // Files per service, gathered once per service however many of its targets run.
    let mut services: Vec<ServiceId> = wanted.iter().map(|t| t.service).collect();
    services.sort_unstable();
    services.dedup();
    let ownership = Ownership::new(ws);
    let nested = nested_roots(ws);
    let dev_inputs: HashMap<ServiceId, Vec<ServiceId>> = services
        .iter()
        .filter(|&&s| !ws.service(s).dev_deps.is_empty())
        .map(|&s| (s, dev_closure(ws, s)))
        .collect();
    // A script ordered only by the implied `^NAME` may run without its dependencies' tasks in
    // the plan (nothing pulls them in), so their files enter its hash directly (with its
    // dev-dependencies' files, as for its service's other tasks): a change in any of them is
    // never a stale cache hit.
    let dep_inputs: HashMap<ServiceId, Vec<ServiceId>> = wanted
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
    listed.extend(wanted.iter().flat_map(|t| t.through.iter().copied()));
    listed.sort_unstable();
    listed.dedup();
    let mut files_of: HashMap<ServiceId, Vec<FileInput<'a>>> = listed
        .par_iter()
        .map(|&s| {
            let mut files = service_files(ws, prefix, index, &ownership, s, nested[s.index()]);
            if let Some(replaced) = locks.replaced.get(s.index()).filter(|r| !r.is_empty()) {
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
    graph
        .tasks()
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            if !want(i) {
                return None;
            }
            let svc = ws.service(t.service);
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
            let part = OwnPart {
                version: FINGERPRINT_VERSION,
                service: svc.name.clone(),
                target: t.target.to_string(),
                command: t.def.command.clone(),
                root: svc.root.clone(),
                outputs: t.def.outputs.patterns.clone(),
                files,
                env: task_env(&t.def.env, &global.all_names, env),
                global: global.hash,
                lockfiles: locks
                    .digests
                    .get(t.service.index())
                    .cloned()
                    .unwrap_or_default(),
            };
            let mut own = Encoder::new(TASK_DOMAIN);
            part.encode(&mut own);
            own.compact();
            Some((part, own))
        })
        .collect()
}

/// A task's declared variables and the digests of their values.
fn task_env(
    patterns: &[String],
    all_names: &[String],
    env: &EnvSource<'_>,
) -> Vec<(String, Option<EnvDigest>)> {
    match needs_names(patterns) {
        true => env_digests(&env_names(patterns, all_names), env),
        false => env_digests(patterns, env),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bstr::ByteSlice;
    use gix::ObjectId;

    static EMPTY: std::sync::LazyLock<ObjectId> =
        std::sync::LazyLock::new(|| ObjectId::empty_blob(gix::hash::Kind::Sha1));

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

    const GOLDEN_GLOBAL: &str = "a42254ff214f985f779db8be8f8fdc1379dd2d4d2a41ed84aa9e155653887fad";
}
