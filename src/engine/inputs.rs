//! The files a task graph reads, and the hashes they give: the index of every input file (the
//! scan `--uncommitted` made reused), each task's hash and fingerprint, and what the workers need
//! to tell a task's own writes from files git tracks.

use std::sync::Arc;

use super::error::EngineError;
use super::load::Git;
use crate::config::Workspace;
use crate::exec::WriteCheck;
use crate::hash::{EnvSource, TaskHashes};
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

/// What the workers need to tell the files a task wrote that a cache hit would not restore:
/// every service root (whose folders belong to their own tasks), and whether git tracks a path.
pub(super) fn write_check(ws: &Workspace, prefix: &str, index: Arc<RepoIndex>) -> WriteCheck {
    let prefix = match prefix {
        "" => String::new(),
        p => format!("{p}/"),
    };
    WriteCheck {
        roots: ws.services.iter().map(|s| s.root.clone()).collect(),
        tracked: Box::new(move |path| {
            let path = format!("{prefix}{path}");
            index.is_tracked(bstr::ByteSlice::as_bstr(path.as_bytes()))
        }),
    }
}
