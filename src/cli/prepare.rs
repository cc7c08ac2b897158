//! What `run` and `hash` share before they part: the workspace, the selected services, the task
//! graph and the index of every input file. Usage errors come first, then git work.

use std::path::Path;

use super::select::{choose, select, workspace_cwd};
use super::settings::{ConfigAt, FsMonitorSettings, Select};
use super::workspace::{Context, Loaded};
use super::CliError;
use crate::exec::Selection;
use bstr::BString;

use crate::discover::LockfileUse;
use crate::hash::{LockInputs, Since, TaskHashes};
use crate::scm::RepoIndex;
use crate::tasks::{self, TaskGraph};

pub(crate) struct Prepared {
    pub ctx: Context,
    pub selection: Selection,
    pub graph: TaskGraph,
    pub index: RepoIndex,
}

pub(crate) fn prepare(
    cwd: &Path,
    config: &ConfigAt,
    fs: &FsMonitorSettings,
    targets: &[String],
    s: &Select,
) -> Result<Prepared, CliError> {
    let loaded = Loaded::open(cwd, config)?;
    let rel = workspace_cwd(&loaded.ws, cwd);
    let chosen = choose(&loaded.ws, s, &rel)?;
    tasks::check_targets(&loaded.ws, targets)?;
    let mut ctx = loaded.into_context()?;
    ctx.watch(fs);
    let selection = select(&ctx, s, chosen, &rel)?;
    let graph = TaskGraph::build(&ctx.ws, &selection.services, targets)
        .map_err(|e| CliError::task(&ctx.ws, e))?;
    let t0 = std::time::Instant::now();
    // `--uncommitted` already scanned the whole worktree: reuse that scan.
    let index = match ctx.repo.take_full_index() {
        Some(full) => full,
        None => RepoIndex::load(
            &ctx.repo,
            &crate::hash::input_scope(&ctx.ws, &ctx.prefix, &graph),
        )?,
    };
    tracing::debug!(
        "read the index and worktree status in {:?}; {} files hashed from disk (modified or untracked)",
        t0.elapsed(),
        index.hashed_from_disk()
    );
    Ok(Prepared {
        ctx,
        selection,
        graph,
        index,
    })
}

/// Every task's hash and fingerprint.
pub(crate) fn hash_tasks<'a>(
    ctx: &Context,
    index: &'a RepoIndex,
    graph: &TaskGraph,
) -> TaskHashes<'a> {
    let t0 = std::time::Instant::now();
    let locks = crate::lockfiles::lock_inputs(&ctx.repo, &ctx.prefix, &ctx.ws);
    let hashes = crate::hash::hash_tasks(
        &ctx.ws,
        &ctx.prefix,
        index,
        graph,
        &crate::hash::EnvSource {
            value: &super::env::task_var,
            names: &super::env::task_var_names,
        },
        &locks,
    );
    tracing::debug!("hashed {} tasks in {:?}", graph.len(), t0.elapsed());
    hashes
}

/// What `watch` keeps between rounds so that a round hashes only what its changes can reach.
#[derive(Default)]
pub(crate) struct Rehash {
    kept: crate::hash::Kept,
    /// The lockfile inputs, with what they were read for: the lockfiles and their users, and
    /// the services in order (the digests are by service id).
    locks: Option<(Vec<LockfileUse>, Vec<String>, LockInputs)>,
}

/// Every task's hash, as [`hash_tasks`] gives it, hashing again only the tasks `since` can
/// have changed and reading the lockfiles again only when one of them (or the root
/// `package.json`, or the workspace's lockfile users) changed.
pub(crate) fn rehash_tasks(
    ctx: &Context,
    index: &RepoIndex,
    graph: &TaskGraph,
    r: &mut Rehash,
    since: Since<'_>,
) -> Vec<blake3::Hash> {
    let t0 = std::time::Instant::now();
    let names: Vec<String> = ctx.ws.services.iter().map(|s| s.name.clone()).collect();
    let lock_read = |path: &str| -> BString {
        BString::from(match ctx.prefix.as_str() {
            "" => path.to_string(),
            p => format!("{p}/{path}"),
        })
    };
    let locks_kept = match (&since, &r.locks) {
        (Since::Paths(paths), Some((uses, was, _))) => {
            *uses == ctx.ws.lockfiles
                && *was == names
                && !paths.iter().any(|changed| {
                    *changed == lock_read("package.json")
                        || uses.iter().any(|u| {
                            *changed == lock_read(&u.path)
                                || u.target.as_deref().is_some_and(|t| changed == t)
                        })
                })
        }
        _ => false,
    };
    if !locks_kept {
        let locks = crate::lockfiles::lock_inputs(&ctx.repo, &ctx.prefix, &ctx.ws);
        r.locks = Some((ctx.ws.lockfiles.clone(), names, locks));
    }
    let locks = &r.locks.as_ref().expect("just read").2;
    let (hashes, rehashed) = crate::hash::rehash_tasks(
        &ctx.ws,
        &ctx.prefix,
        index,
        graph,
        &crate::hash::EnvSource {
            value: &super::env::task_var,
            names: &super::env::task_var_names,
        },
        locks,
        &mut r.kept,
        since,
    );
    tracing::debug!(
        "hashed {} tasks in {:?}: {rehashed} listed their files again, lockfiles {}",
        graph.len(),
        t0.elapsed(),
        if locks_kept { "kept" } else { "read" }
    );
    // Every test that watches checks that reusing gives the hashes a full hash gives.
    #[cfg(debug_assertions)]
    {
        let full = hash_tasks(ctx, index, graph);
        assert_eq!(
            hashes, full.hashes,
            "hashing again after a change differs from hashing in full"
        );
    }
    hashes
}
