//! `run`: execute the selected tasks in parallel, skipping cached work; `--dry-run` prints the
//! plan instead. Writes the run summary when asked and the GitHub step summary when there is one.

use std::path::Path;
use std::sync::Arc;

use super::{append_file, cache_dir, free_at_exit, print, write_whole};
use crate::cache::remote::RemoteCache;
use crate::cache::LocalCache;
use crate::cli::args::DryRunFormat;
use crate::cli::env::Env;
use crate::cli::prepare::{hash_tasks, prepare};
use crate::cli::settings::ConfigAt;
use crate::cli::settings::{FsMonitorSettings, RunSettings};
use crate::cli::signals::handle_stop_signals;
use crate::cli::summaries;
use crate::cli::{CliError, ExitCode};
use crate::config::Workspace;
use crate::exec::{self, Interrupt, Plan, RunEvent, RunOptions, WriteCheck};
use crate::report::run::{
    Blocks, GithubGroups, Notices, Progress, Reporter, Reporters, StartLines, Stream, Totals,
};
use crate::report::summary::Summary;
use crate::report::{markdown, plan, shards};
use crate::scm::RepoIndex;
use crate::shard;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigAt,
    env: &Env,
    fs: &FsMonitorSettings,
    a: RunSettings,
) -> Result<ExitCode, CliError> {
    // Installed before hashing, so an early Ctrl-C still ends the run cleanly with 130. A dry
    // run starts nothing, so the default (exit at once) is right for it.
    let interrupt = Arc::new(Interrupt::new());
    if a.dry_run.is_none() {
        handle_stop_signals(interrupt.clone());
    }
    let mut p = prepare(cwd, config, fs, &a.targets, &a.select)?;
    let ws = &p.ctx.ws;
    let shard = a.shard.as_ref().map(|s| {
        let labels: Vec<String> = p.graph.tasks.iter().map(|t| t.label(ws)).collect();
        let known = summaries::timings(&s.timings);
        let (graph, plan) = shard::split(
            std::mem::take(&mut p.graph),
            &labels,
            &known,
            s.count,
            s.this,
        );
        p.graph = graph;
        plan
    });
    let remote = a
        .remote
        .config(&ws.remote_cache)?
        .map(|c| Arc::new(RemoteCache::new(c)));
    // Shared with the workers, which ask whether a file a task wrote is tracked.
    let index = Arc::new(p.index);
    let hashes = hash_tasks(&p.ctx, &index, &p.graph);
    let mut plan = Plan::new(
        ws,
        &p.graph,
        &hashes.hashes,
        a.targets,
        p.selection,
        a.no_cache,
    );
    plan.shard = shard;
    let cache = Arc::new(LocalCache::new(cache_dir(
        p.ctx.repo.workdir(),
        cwd,
        a.cache_dir.as_deref(),
    )));

    if let Some(format) = a.dry_run {
        plan.probe(&cache);
        if let Some(remote) = &remote {
            plan.probe_remote(remote);
            for e in remote.events() {
                Notices::new(&plan.labels).on_event(&RunEvent::Remote(e));
            }
        }
        print(&match format {
            DryRunFormat::Text => match plan.shard.as_ref().filter(|s| s.this.is_none()) {
                Some(s) => shards::table(&plan, s),
                None => plan::text(&plan),
            },
            DryRunFormat::Json => format!("{:#}\n", plan::json(ws, &plan)),
        });
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
        writes: Some(Arc::new(write_check(ws, &p.ctx.prefix, index.clone()))),
    };
    let outcome = exec::execute(
        &p.graph,
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
