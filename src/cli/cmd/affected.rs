//! `affected`: the services a range of changes affects, and why.

use std::path::Path;

use super::{append_file, free_at_exit, open, print};
use crate::cli::env::Env;
use crate::cli::settings::{range_flags, AffectedSettings};
use crate::cli::{args::AffectedFormat, CliError, ExitCode};
use shockwave_core::affected::Impact;
use shockwave_core::engine::{ConfigLocation, FileMonitor, Session};
use shockwave_core::report::affected::{shards_output, AffectedView};
use shockwave_core::report::output::Stdout;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    env: &Env,
    fs: &FileMonitor,
    a: AffectedSettings,
) -> Result<ExitCode, CliError> {
    let session = open(cwd, config, Some(fs))?;
    let explain = match &a.explain {
        Some(name) => Some(session.service_id(name)?),
        None => None,
    };
    if let Some((_, targets)) = &a.shards {
        session.check_targets(targets)?;
    }
    let affecting = session.affected(&a.range, &a.filters)?;
    let (impact, picked) = (&affecting.impact, affecting.picked.as_deref());
    let flags = range_flags(&a.range, config.file.as_deref());
    let view = AffectedView {
        ws: session.workspace(),
        changes: &impact.changes,
        affected: &impact.affected,
        dependents: impact.dependents,
        range_flags: &flags,
        kind: a.kind,
        only: picked,
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
                    let used = shards_used(&session, impact, *count, targets)?;
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
    free_at_exit(affecting);
    free_at_exit(session);
    Ok(ExitCode::Success)
}

/// How many of `count` shards `run TARGETS --affected --shard K/N` gives work to: one per
/// requested task up to `count` (a split fills its shards in order). Without targets, every
/// shard when anything is affected: leaving out a shard that has work would lose its tasks.
fn shards_used(
    session: &Session,
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
    let graph = session.task_graph(&services, targets)?;
    Ok(graph
        .tasks()
        .iter()
        .filter(|t| t.requested)
        .count()
        .min(count))
}
