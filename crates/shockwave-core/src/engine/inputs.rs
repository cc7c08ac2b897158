//! The files a task graph reads, and the hashes they give: the index of every input file (the
//! scan `--uncommitted` made reused), each task's hash and fingerprint, and what the workers need
//! to tell a task's own writes from files git tracks.

use std::sync::Arc;

use bstr::BString;

use super::error::EngineError;
use super::load::Git;
use crate::config::Workspace;
use crate::discover::LockfileUse;
use crate::exec::WriteCheck;
use crate::hash::{EnvSource, Kept, LockInputs, Since, TaskHashes};
use crate::paths::WsPrefix;
use crate::scm::RepoIndex;
use crate::tasks::TaskGraph;

/// The content id of every file `graph`'s tasks may read.
pub(super) fn input_index(
    git: &mut Git,
    ws: &Workspace,
    graph: &TaskGraph,
) -> Result<RepoIndex, EngineError> {
    let t0 = std::time::Instant::now();
    // `--uncommitted` already scanned the whole worktree: reuse that scan.
    let index = match git.repo.take_full_index() {
        Some(full) => full,
        None => RepoIndex::load(&git.repo, &crate::hash::input_scope(ws, &git.prefix, graph))?,
    };
    tracing::debug!(
        "read the index and worktree status in {:?}; {} files hashed from disk (modified or untracked)",
        t0.elapsed(),
        index.hashed_from_disk()
    );
    Ok(index)
}

/// Every task's hash and fingerprint.
pub(super) fn hash<'a>(
    git: &Git,
    ws: &Workspace,
    index: &'a RepoIndex,
    graph: &TaskGraph,
    env: &EnvSource<'_>,
) -> TaskHashes<'a> {
    let t0 = std::time::Instant::now();
    let locks = crate::lockfiles::lock_inputs(&git.repo, &git.prefix, ws);
    let hashes = crate::hash::hash_tasks(ws, &git.prefix, index, graph, env, &locks);
    tracing::debug!("hashed {} tasks in {:?}", graph.len(), t0.elapsed());
    hashes
}

/// What a watch keeps between rounds so that a round hashes only what its changes can reach.
#[derive(Default)]
pub(super) struct Rehash {
    kept: Kept,
    /// The lockfile inputs, with what they were read for: the lockfiles and their users, and
    /// the services in order (the digests are by service id).
    locks: Option<(Vec<LockfileUse>, Vec<String>, LockInputs)>,
    /// The paths (relative to the repository root) changed since the last hash, `None` when
    /// that is not known (before the first, after lost events or new ignore rules).
    pub(super) since: Option<Vec<BString>>,
}

/// Every task's hash, as [`hash`] gives it, hashing again only the tasks `r.since` can have
/// changed and reading the lockfiles again only when one of them (or the root `package.json`,
/// or the workspace's lockfile users) changed. What changes from now on is for the next one.
pub(super) fn rehash(
    git: &Git,
    ws: &Workspace,
    index: &RepoIndex,
    graph: &TaskGraph,
    env: &EnvSource<'_>,
    r: &mut Rehash,
) -> Vec<blake3::Hash> {
    let t0 = std::time::Instant::now();
    let names: Vec<String> = ws.services().iter().map(|s| s.name.clone()).collect();
    let in_repo = |path: &str| BString::from(git.prefix.repo_path(path));
    let since = match &r.since {
        Some(paths) => Since::Paths(paths),
        None => Since::Unknown,
    };
    let locks_kept = match (&since, &r.locks) {
        (Since::Paths(paths), Some((uses, was, _))) => {
            *uses == ws.lockfiles()
                && *was == names
                && !paths.iter().any(|changed| {
                    *changed == in_repo("package.json")
                        || uses.iter().any(|u| {
                            *changed == in_repo(&u.path)
                                || u.target.as_deref().is_some_and(|t| changed == t)
                        })
                })
        }
        _ => false,
    };
    if !locks_kept {
        let locks = crate::lockfiles::lock_inputs(&git.repo, &git.prefix, ws);
        r.locks = Some((ws.lockfiles().to_vec(), names, locks));
    }
    let locks = &r.locks.as_ref().expect("just read").2;
    let (hashes, rehashed) = crate::hash::rehash_tasks(
        ws,
        &git.prefix,
        index,
        graph,
        env,
        locks,
        &mut r.kept,
        since,
    );
    r.since = Some(Vec::new());
    tracing::debug!(
        "hashed {} tasks in {:?}: {rehashed} listed their files again, lockfiles {}",
        graph.len(),
        t0.elapsed(),
        if locks_kept { "kept" } else { "read" }
    );
    // Every test that watches checks that reusing gives the hashes a full hash gives.
    #[cfg(debug_assertions)]
    {
        let full = hash(git, ws, index, graph, env);
        assert_eq!(
            hashes, full.hashes,
            "hashing again after a change differs from hashing in full"
        );
    }
    hashes
}

/// What the workers need to tell the files a task wrote that a cache hit would not restore:
/// every service root (whose folders belong to their own tasks), and whether git tracks a path.
pub(super) fn write_check(ws: &Workspace, prefix: &WsPrefix, index: Arc<RepoIndex>) -> WriteCheck {
    let prefix = prefix.clone();
    WriteCheck {
        roots: ws.services().iter().map(|s| s.root.clone()).collect(),
        tracked: Box::new(move |path| {
            let mut buf = Vec::with_capacity(prefix.strip_len() + path.len());
            index.is_tracked(prefix.repo_path_in(path.as_bytes(), &mut buf))
        }),
    }
}
