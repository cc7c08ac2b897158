//! `run`: execute the selected tasks in parallel, skipping cached work; `--dry-run` prints the
//! plan instead. Writes the run summary when asked and the GitHub step summary when there is one.

use std::path::Path;
use std::sync::Arc;

use super::{append_file, free_at_exit, open, print, write_whole};
use crate::cli::args::DryRunFormat;
use crate::cli::env::Env;
use crate::cli::settings::RunSettings;
use crate::cli::signals::handle_stop_signals;
use crate::cli::summaries;
use crate::cli::{CliError, ExitCode};
use shockwave_core::cache::remote::RemoteCache;
use shockwave_core::cache::LocalCache;
use shockwave_core::engine::{ConfigLocation, FileMonitor, Prepared};
use shockwave_core::exec::{self, Interrupt, Plan, RunEvent, RunOptions};
use shockwave_core::report::output::Stdout;
use shockwave_core::report::run::{
    Blocks, GithubGroups, Notices, Progress, Reporter, Reporters, StartLines, Stream, Totals,
};
use shockwave_core::report::summary::Summary;
use shockwave_core::report::{markdown, plan, shards};
use shockwave_core::shard;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    env: &Env,
    fs: &FileMonitor,
    a: RunSettings,
) -> Result<ExitCode, CliError> {
    // Installed before hashing, so an early Ctrl-C still ends the run cleanly with 130. A dry
    // run starts nothing, so the default (exit at once) is right for it.
    let interrupt = Arc::new(Interrupt::new());
    if a.dry_run.is_none() {
        handle_stop_signals(interrupt.clone());
    }
    let mut session = open(cwd, config, Some(fs))?;
    let Prepared {
        selection,
        graph,
        index,
    } = session.prepare(&a.select, &a.targets)?;
    let ws = session.workspace();
    let (graph, shard) = match &a.shard {
        Some(s) => {
            let labels: Vec<String> = graph.tasks().iter().map(|t| t.label(ws)).collect();
            let known = summaries::timings(&s.timings);
            let (graph, plan) = shard::split(graph, &labels, &known, s.count, s.this);
            (graph, Some(plan))
        }
        None => (graph, None),
    };
    let remote = a
        .remote
        .config(ws.remote_cache())?
        .map(|c| Arc::new(RemoteCache::new(c)));
    // Shared with the workers, which ask whether a file a task wrote is tracked.
    let index = Arc::new(index);
    let hashes = session.hash(&index, &graph)?;
    let mut plan = Plan::new(ws, &graph, &hashes.hashes, a.targets, selection, a.no_cache);
    plan.shard = shard;
    let cache = Arc::new(LocalCache::new(session.cache_dir(a.cache_dir.as_deref())?));

    if let Some(format) = a.dry_run {
        plan.probe(&cache);
        if let Some(remote) = &remote {
            plan.probe_remote(remote);
            for e in remote.events() {
                Notices::new(&plan.labels).on_event(&RunEvent::Remote(e));
            }
        }
        match format {
            DryRunFormat::Text => print(&match plan.shard.as_ref().filter(|s| s.this.is_none()) {
                Some(s) => shards::table(&plan, s),
                None => plan::text(&plan),
            }),
            DryRunFormat::Json => Stdout::json(&plan::json(ws, &plan)),
        }
        drop(plan);
        free_at_exit(hashes);
        free_at_exit(index);
        return Ok(ExitCode::Success);
    }

    let mut reporter = reporter(&plan.labels, env, a.stream);
    let opts = RunOptions {
        jobs: a.jobs,
        keep_going: a.keep_going,
        stream: a.stream,
        heartbeat: a.heartbeat,
        writes: Some(Arc::new(session.write_check(index.clone())?)),
    };
    let outcome = exec::execute(
        &graph,
        plan.specs(ws),
        &opts,
        (!a.no_cache).then_some(cache),
        remote,
        interrupt,
        &mut |e| reporter.on_event(e),
    );
    reporter.finish(&outcome);

    let summary = Summary::of(ws, &plan, &outcome, &hashes.fingerprints);
    if let Some(path) = &a.summary {
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        write_whole(path, &(text + "\n")).map_err(|e| CliError::Io {
            action: format!("write the run summary to {}", path.display()),
            source: e,
        })?;
    }
    if let Some(step) = &env.step_summary {
        if let Err(e) = append_file(step, &markdown::render(&summary)) {
            tracing::warn!("{e}");
        }
    }
    let code = if outcome.interrupted {
        ExitCode::Interrupted
    } else if summary.totals.failed > 0 {
        ExitCode::TaskFailed
    } else {
        ExitCode::Success
    };
    drop(summary);
    drop(reporter);
    drop(plan);
    free_at_exit(hashes);
    free_at_exit(index);
    Ok(code)
}

/// The reporters for where this run is: how task output appears (streamed, GitHub groups or
/// blocks), then warnings and the closing totals; on a live terminal all of it under a progress
/// line, in a log with a line per started command instead.
pub(super) fn reporter<'a>(
    labels: &'a [String],
    env: &'a Env,
    stream: bool,
) -> Box<dyn Reporter + 'a> {
    let output: Box<dyn Reporter + 'a> = if stream {
        Box::new(Stream::new(labels, env.stdout))
    } else if env.github_actions {
        Box::new(GithubGroups::new(labels))
    } else {
        Box::new(Blocks::new(labels, env.stdout))
    };
    let mut parts = vec![
        output,
        Box::new(Notices::new(labels)),
        Box::new(Totals::new(labels, env.stdout)),
    ];
    // A progress line needs a terminal that is not a CI log.
    if !env.github_actions && !env.ci && env.stderr_live {
        let width = Box::new(|| env.terminal_width());
        return Box::new(Progress::new(Reporters(parts), labels, width));
    }
    parts.push(Box::new(StartLines::new(labels)));
    Box::new(Reporters(parts))
}
