//! `affected`: the services a range of changes affects, and why.

use std::path::Path;

use super::{append_file, print};
use crate::affected::Impact;
use crate::cli::env::Env;
use crate::cli::select::{
    change_query, check_filters, compute_affected, filtered, service_id, workspace_cwd,
};
use crate::cli::settings::{AffectedSettings, ConfigAt, FsMonitorSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{args::AffectedFormat, CliError, ExitCode};
use crate::config::Workspace;
use crate::report::affected::{shards_output, AffectedView};
use crate::report::output::Stdout;
use crate::tasks::TaskGraph;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigAt,
    env: &Env,
    fs: &FsMonitorSettings,
    a: AffectedSettings,
) -> Result<ExitCode, CliError> {
    let loaded = Loaded::open(cwd, config)?;
    let explain = match &a.explain {
        Some(name) => Some(service_id(&loaded.ws, name)?),
        None => None,
    };
    if let Some((_, targets)) = &a.shards {
        crate::tasks::check_targets(&loaded.ws, targets)?;
    }
    let rel = workspace_cwd(&loaded.ws, cwd);
    check_filters(&loaded.ws, &a.filters, &rel)?;
    let query = change_query(&loaded.ws, &a.range)?;
    let mut ctx = loaded.into_context()?;
    ctx.watch(fs);
    let picked = (!a.filters.is_empty())
        .then(|| filtered(&ctx.ws, Some(&ctx), &a.filters, &rel))
        .transpose()?;
    let impact = compute_affected(&ctx, &a.range, query)?;
    let flags = a.range.flags(config.file.as_deref());
    let view = AffectedView {
        ws: &ctx.ws,
        changes: &impact.changes,
        affected: &impact.affected,
        dependents: impact.dependents,
        range_flags: &flags,
        kind: a.kind,
        only: picked.as_deref(),
    };
    let out = match (explain, a.format) {
        (Some(id), _) => view.explain(id, env.stdout),
        (None, AffectedFormat::Text) => view.text(env.stdout),
        (None, AffectedFormat::Json) => {
            Stdout::json(&view.json());
            String::new()
        }
        (None, AffectedFormat::Names) => view.names(),
        (None, AffectedFormat::Gotest) => view.gotest(),
        (None, AffectedFormat::Github) => {
            let mut lines = view.github();
            let shards = match &a.shards {
                Some((count, targets)) => {
                    let used = shards_used(&ctx.ws, &impact, *count, targets)?;
                    lines.push_str(&shards_output(used, *count));
                    Some(used)
                }
                None => None,
            };
            match &env.github_output {
                Some(path) => {
                    append_file(path, &lines)?;
                    view.github_written(shards)
                }
                None => lines,
            }
        }
    };
    print(&out);
    // The process ends here: freeing thousands of services one by one would only delay the exit.
    std::mem::forget(ctx);
    Ok(ExitCode::Success)
}

/// How many of `count` shards `run TARGETS --affected --shard K/N` gives work to: one per
/// requested task up to `count` (a split fills its shards in order). Without targets, every
/// shard when anything is affected: leaving out a shard that has work would lose its tasks.
fn shards_used(
    ws: &Workspace,
    impact: &Impact,
    count: usize,
    targets: &[String],
) -> Result<usize, CliError> {
    if impact.affected.count() == 0 {
        return Ok(0);
    }
    if targets.is_empty() {
        return Ok(count);
    }
    let services: Vec<_> = impact.affected.ids().collect();
    let graph = TaskGraph::build(ws, &services, targets).map_err(|e| CliError::task(ws, e))?;
    Ok(graph
        .tasks
        .iter()
        .filter(|t| t.requested)
        .count()
        .min(count))
}
