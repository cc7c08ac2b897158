//! Hashing again after a change, for `watch`: a task whose definition, variables and global
//! inputs are unchanged, and in none of whose input folders a path changed, keeps the own part
//! of its hash (everything but its needs and lockfiles) from the last time; only the other tasks
//! list and hash their files again. Every task's needs and lockfiles are then chained anew, in
//! graph order, exactly as [`hash_tasks`](super::hash_tasks) does, so the hashes are the same as
//! a full hash of the same tree.
//!
//! Which folders a task reads is known from the workspace: its service's root, `paths` and Go
//! packages, and those of the services it reads files from (dev-dependencies, the dependencies
//! of a script ordered by the implied `^NAME`, services its needs passed through). A changed
//! path below any of them hashes the task again; so does any change to how the workspace is laid
//! out (a service added, moved or given other `paths`), because ownership may move with it.

use std::collections::HashMap;

use bstr::{BString, ByteSlice};

use super::encode::Encoder;
use super::files::{dep_closure, dev_closure, scan_prefixes};
use super::{
    needs_of, own_parts, task_env, EnvSource, Global, LockInputs, OwnInputs, FINGERPRINT_VERSION,
};
use crate::config::{Need, ServiceId, Workspace};
use crate::paths::WsPrefix;
use crate::scm::RepoIndex;
use crate::tasks::{Task, TaskGraph};

/// What is kept of the last hash: each task's own part, by label, with the key it was made under.
#[derive(Default)]
pub struct Kept {
    tasks: HashMap<String, KeptTask>,
}

struct KeptTask {
    /// Everything but the files that the own part depends on (see [`task_key`]).
    key: blake3::Hash,
    own: Encoder,
}

/// What changed in the worktree since the last hash.
pub enum Since<'p> {
    /// Not known (the first hash, events lost, new ignore rules): every task is hashed again.
    Unknown,
    /// These paths, relative to the repository root.
    Paths(&'p [BString]),
}

/// Every task's hash, as [`hash_tasks`](super::hash_tasks) would give it, reusing what `kept`
/// holds for the tasks `since` cannot have changed, and keeping this hash's parts for next time.
/// Also says how many tasks listed and hashed their files again.
#[allow(clippy::too_many_arguments)]
pub fn rehash_tasks(
    ws: &Workspace,
    prefix: &WsPrefix,
    index: &RepoIndex,
    graph: &TaskGraph,
    env: &EnvSource<'_>,
    locks: &LockInputs,
    kept: &mut Kept,
    since: Since<'_>,
) -> (Vec<blake3::Hash>, usize) {
    let global = Global::new(ws, prefix, index, graph, env);
    let touched = touched_services(ws, prefix, since);
    let layout = layout_digest(ws);
    let labels: Vec<String> = graph.tasks().iter().map(|t| t.label(ws)).collect();
    let reads: Vec<Vec<ServiceId>> = graph.tasks().iter().map(|t| read_services(ws, t)).collect();
    let keys: Vec<blake3::Hash> = graph
        .tasks()
        .iter()
        .zip(&reads)
        .map(|(t, reads)| task_key(ws, t, reads, (&global, env, locks), layout))
        .collect();
    // The own parts kept for tasks nothing can have changed; the others are hashed again.
    let reused: Vec<Option<Encoder>> = (0..graph.tasks().len())
        .map(|i| {
            let untouched = touched
                .as_ref()
                .is_some_and(|t| !reads[i].iter().any(|&s| t[s.index()]));
            let k = kept.tasks.remove(&labels[i])?;
            (untouched && k.key == keys[i]).then_some(k.own)
        })
        .collect();
    let fresh = own_parts(
        &OwnInputs {
            ws,
            prefix,
            index,
            graph,
            env,
            locks,
            global: &global,
        },
        |i| reused[i].is_none(),
    );
    let rehashed = reused.iter().filter(|r| r.is_none()).count();
    let owns: Vec<Encoder> = fresh
        .into_iter()
        .zip(reused)
        .map(|(part, reused)| match part {
            Some((_, own)) => own,
            None => reused.expect("own_parts hashes every task whose part is not reused"),
        })
        .collect();
    let mut hashes: Vec<blake3::Hash> = Vec::with_capacity(graph.tasks().len());
    for (t, own) in graph.tasks().iter().zip(&owns) {
        let lockfiles = locks
            .digests
            .get(t.service.index())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut e = own.clone();
        e.put(&needs_of(t, &labels, &hashes)).put(lockfiles);
        hashes.push(e.finish());
    }
    kept.tasks = labels
        .into_iter()
        .zip(keys.into_iter().zip(owns))
        .map(|(label, (key, own))| (label, KeptTask { key, own }))
        .collect();
    (hashes, rehashed)
}

/// For each service, whether a path in `since` lies in a folder its files come from; `None` when
/// that is not known.
fn touched_services(ws: &Workspace, prefix: &WsPrefix, since: Since<'_>) -> Option<Vec<bool>> {
    let Since::Paths(paths) = since else {
        return None;
    };
    let mut paths: Vec<&[u8]> = paths.iter().map(|p| p.as_bytes()).collect();
    paths.sort_unstable();
    paths.dedup();
    // Whether a changed path lies below `dir` (a folder with its `/`, a file, or everything
    // when empty), or is `dir` or one of the folders above it (a folder moved or removed).
    let any_under = |dir: &[u8]| {
        let i = paths.partition_point(|p| *p < dir);
        let below = paths.get(i).is_some_and(|p| p.starts_with(dir));
        let trimmed = dir.strip_suffix(b"/").unwrap_or(dir);
        below
            || std::iter::once(trimmed.len())
                .chain(trimmed.find_iter("/"))
                .any(|end| paths.binary_search(&&trimmed[..end]).is_ok())
    };
    Some(
        ws.services()
            .iter()
            .map(|svc| {
                any_under(prefix.dir_prefix(&svc.root).as_bytes())
                    || scan_prefixes(prefix, &svc.paths)
                        .iter()
                        .any(|d| any_under(d.as_bytes()))
                    || svc.packages.iter().any(|p| {
                        std::iter::once(&p.dir)
                            .chain(&p.assets)
                            .any(|d| any_under(prefix.dir_prefix(d).as_bytes()))
                    })
            })
            .collect(),
    )
}

/// The services task `t` reads files from: its own, its dev-dependencies' closure, its
/// dependencies' when it is ordered by the implied `^NAME`, and those its needs passed through.
fn read_services(ws: &Workspace, t: &Task) -> Vec<ServiceId> {
    let mut out = vec![t.service];
    if !ws.service(t.service).dev_deps.is_empty() {
        out.extend(dev_closure(ws, t.service));
    }
    if t.def.needs.iter().any(|n| matches!(n, Need::ScriptDeps(_))) {
        out.extend(dep_closure(ws, t.service));
    }
    out.extend(t.through.iter().copied());
    out
}

/// A digest of where every service's files are: roots, `paths` and Go packages, in order. When
/// it changes, which service owns a file may have changed anywhere.
fn layout_digest(ws: &Workspace) -> blake3::Hash {
    let mut e = Encoder::new(b"shockwave-watch-layout\0");
    for svc in ws.services() {
        e.put(&svc.name).put(&svc.root).put(&svc.paths);
        for p in &svc.packages {
            e.put(&p.dir)
                .put(&u32::from(p.tests))
                .put(&p.assets)
                .put(&p.chain);
        }
        e.put(&svc.outputs.patterns);
    }
    e.finish()
}

/// Everything task `t`'s own part depends on besides the content of its files: its definition,
/// variables, the global inputs, the lockfile paths whose bytes its files leave out, the
/// services it reads files from (`reads`) and the workspace's layout.
fn task_key(
    ws: &Workspace,
    t: &Task,
    reads: &[ServiceId],
    (global, env, locks): (&Global<'_>, &EnvSource<'_>, &LockInputs),
    layout: blake3::Hash,
) -> blake3::Hash {
    let svc = ws.service(t.service);
    let mut e = Encoder::new(b"shockwave-watch-task\0");
    e.put(&FINGERPRINT_VERSION)
        .put(&layout)
        .put(&global.hash)
        .put(&svc.name)
        .put(&*t.target)
        .put(&t.def.command)
        .put(&t.def.outputs.patterns)
        .put(&t.def.inputs.patterns)
        .put(&task_env(&t.def.env, &global.all_names, env))
        .put(
            locks
                .replaced
                .get(t.service.index())
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
    for &s in reads {
        e.put(&ws.service(s).name);
    }
    e.finish()
}
