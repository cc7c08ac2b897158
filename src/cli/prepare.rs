//! What `run` and `hash` share before they part: the workspace, the selected services, the task
//! graph and the index of every input file. Usage errors come first, then git work.

use std::path::Path;

use super::select::{choose, select, workspace_cwd};
use super::settings::{ConfigAt, FsMonitorSettings, Select};
use super::workspace::{Context, Loaded};
use super::CliError;
use crate::exec::Selection;
use crate::hash::TaskHashes;
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
