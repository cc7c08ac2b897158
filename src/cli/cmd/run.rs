//! `run`: execute the selected tasks in parallel, skipping cached work; `--dry-run` prints the
//! plan instead. Writes the run summary when asked and the GitHub step summary when there is one.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use super::hash::{json_map, task_json};
use super::{append_file, cache_dir, labels, print};
use crate::cache::LocalCache;
use crate::cli::args::DryRunFormat;
use crate::cli::env::Env;
use crate::cli::prepare::{hash_tasks, prepare, Prepared};
use crate::cli::settings::RunSettings;
use crate::cli::signals::handle_stop_signals;
use crate::cli::{CliError, ExitCode};
use crate::config::Workspace;
use crate::exec::{self, Interrupt, RunOptions, SelectedBy, Selection, TaskSpec, TaskStatus};
use crate::report::affected::AffectedView;
use crate::report::markdown;
use crate::report::run::{
    Blocks, GithubGroups, Notices, Progress, Reporter, Reporters, StartLines, Stream, Totals,
};
use crate::report::summary::{tail, Summary, TaskSummary, SUMMARY_SCHEMA};

pub(super) fn run(
    cwd: &Path,
    config: Option<&Path>,
    env: &Env,
    a: RunSettings,
) -> Result<ExitCode, CliError> {
    // Installed before hashing, so an early Ctrl-C still ends the run cleanly with 130. A dry
    // run starts nothing, so the default (exit at once) is right for it.
    let interrupt = Arc::new(Interrupt::new());
    if a.dry_run.is_none() {
        handle_stop_signals(interrupt.clone());
    }
    let p = prepare(cwd, config, &a.targets, &a.select)?;
    let hashes = hash_tasks(&p.ctx, &p.index, &p.graph);
    let labels = labels(&p);
    let cache = Arc::new(LocalCache::new(cache_dir(
        p.ctx.repo.workdir(),
        cwd,
        a.cache_dir.as_deref(),
    )));
    let cache_state = |i: usize| -> &'static str {
        let t = &p.graph.tasks[i];
        if !t.def.cache {
            "disabled"
        } else if a.no_cache {
            "off"
        } else if cache.contains(&hashes.hashes[i].to_hex()) {
            "hit"
        } else {
            "miss"
        }
    };
    let needed = needed_by(&p, &labels);

    if let Some(format) = a.dry_run {
        let states: Vec<&str> = (0..p.graph.len()).map(cache_state).collect();
        let out = match format {
            DryRunFormat::Json => {
                let tasks: Vec<Value> = p
                    .graph
                    .tasks
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let mut v = task_json(&p, &labels, &hashes, i);
                        v.extend(json_map(json!({
                            "cache": states[i],
                            "command": t.def.command,
                            "needs": t.needs.iter().map(|&n| &labels[n]).collect::<Vec<_>>(),
                            "requested": t.requested,
                            "needed_by": needed[i],
                            "reasons": service_reasons(&p.ctx.ws, &p.selection, t.service),
                        })));
                        Value::Object(v)
                    })
                    .collect();
                format!(
                    "{:#}\n",
                    json!({"schema": 1, "targets": a.targets, "selection": p.selection.by.as_str(), "tasks": tasks})
                )
            }
            DryRunFormat::Text => {
                let width = labels.iter().map(|l| l.len()).max().unwrap_or(0);
                let hits = states.iter().filter(|s| **s == "hit").count();
                let mut out = format!(
                    "plan: {} task{} for {} selected service{} ({}), {hits} cached\n",
                    p.graph.len(),
                    if p.graph.len() == 1 { "" } else { "s" },
                    p.selection.services.len(),
                    if p.selection.services.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    p.selection.by.as_str()
                );
                for (i, label) in labels.iter().enumerate() {
                    let hash = hashes.hashes[i].to_hex();
                    let state = match states[i] {
                        "hit" => "cache hit",
                        "miss" => "will run",
                        "disabled" => "will run (cache = false)",
                        _ => "will run (--no-cache)",
                    };
                    let why = match &needed[i] {
                        Some(by) => format!("  (needed by {by})"),
                        None => String::new(),
                    };
                    out.push_str(&format!(
                        "  {label:width$}  {}  {state}{why}\n",
                        &hash[..16]
                    ));
                }
                out
            }
        };
        print(&out);
        return Ok(ExitCode::Success);
    }

    let specs: Vec<TaskSpec> = p
        .graph
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let svc = &p.ctx.ws.services[t.service];
            let hash = hashes.hashes[i].to_hex().to_string();
            TaskSpec {
                label: labels[i].clone(),
                command: t.def.command.clone(),
                cwd: p.ctx.ws.root.join(&svc.root),
                cacheable: t.def.cache && !a.no_cache,
                outputs: t.def.outputs.clone(),
                env: vec![
                    ("SHOCKWAVE_SERVICE".into(), svc.name.clone()),
                    ("SHOCKWAVE_TARGET".into(), t.target.to_string()),
                    ("SHOCKWAVE_HASH".into(), hash.clone()),
                ],
                hash,
            }
        })
        .collect();
    let cache_states: Vec<&str> = (0..p.graph.len())
        .map(|i| {
            let t = &p.graph.tasks[i];
            if !t.def.cache {
                "disabled"
            } else if a.no_cache {
                "off"
            } else {
                "miss"
            }
        })
        .collect();
    let mut reporter = reporter(&labels, env, a.stream);
    let opts = RunOptions {
        jobs: a.jobs,
        keep_going: a.keep_going,
        stream: a.stream,
        heartbeat: a.heartbeat,
    };
    let outcome = exec::execute(
        &p.graph,
        specs,
        &opts,
        (!a.no_cache).then(|| cache.clone()),
        interrupt.clone(),
        &mut |e| reporter.on_event(e),
    );
    reporter.finish(&outcome);

    let tasks: Vec<TaskSummary> = p
        .graph
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = &outcome.results[i];
            let cache = match (&r.status, cache_states[i]) {
                (TaskStatus::CachedLocal, _) => "hit",
                (_, s) => s,
            };
            TaskSummary {
                task: labels[i].clone(),
                service: p.ctx.ws.services[t.service].name.clone(),
                target: t.target.to_string(),
                status: r.status.as_str().to_string(),
                hash: hashes.hashes[i].to_hex().to_string(),
                duration_ms: r.duration.as_millis() as u64,
                saved_ms: r.saved.as_millis() as u64,
                exit_code: match r.status {
                    TaskStatus::Failed { exit_code } => exit_code,
                    TaskStatus::Success => Some(0),
                    _ => None,
                },
                requested: t.requested,
                cache: cache.to_string(),
                skipped_because: r.skipped_because.map(|b| labels[b].clone()),
                reasons: service_reasons(&p.ctx.ws, &p.selection, t.service),
                needed_by: needed[i].clone(),
                log_tail: matches!(r.status, TaskStatus::Failed { .. }).then(|| tail(&r.log, 30)),
                fingerprint: hashes.fingerprints[i].to_json(),
            }
        })
        .collect();
    let changes = p.selection.impact.as_ref().map(|r| &r.changes);
    let summary = Summary {
        schema: SUMMARY_SCHEMA,
        shockwave: env!("CARGO_PKG_VERSION").to_string(),
        targets: a.targets.clone(),
        selection: p.selection.by.as_str().to_string(),
        base: changes.and_then(|c| c.base.clone()),
        head: changes.map(|c| c.head.clone()),
        merge_base: changes.and_then(|c| c.merge_base.map(|m| m.to_string())),
        duration_ms: outcome.duration.as_millis() as u64,
        interrupted: outcome.interrupted,
        totals: Summary::totals_of(&tasks),
        tasks,
    };
    if let Some(path) = &a.summary {
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| CliError::Io {
            action: format!("write the run summary to {}", path.display()),
            source: e,
        })?;
    }
    if let Some(step) = &env.step_summary {
        if let Err(e) = append_file(step, &markdown::render(&summary)) {
            tracing::warn!("{e}");
        }
    }
    if outcome.interrupted {
        return Ok(ExitCode::Interrupted);
    }
    if summary.totals.failed > 0 {
        return Ok(ExitCode::TaskFailed);
    }
    Ok(ExitCode::Success)
}

/// One requested task that (transitively) needs each task; `None` for requested ones.
fn needed_by(p: &Prepared, labels: &[String]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; p.graph.len()];
    // Walk in reverse topological order so dependents are labelled before what they need.
    for i in (0..p.graph.len()).rev() {
        let by = if p.graph.tasks[i].requested {
            Some(labels[i].clone())
        } else {
            out[i].clone()
        };
        for &n in &p.graph.tasks[i].needs {
            if !p.graph.tasks[n].requested && out[n].is_none() {
                out[n] = by.clone();
            }
        }
    }
    out
}

/// Reasons a task's service is in the run, as JSON (the summary's and dry run's `reasons`).
fn service_reasons(ws: &Workspace, sel: &Selection, service: usize) -> Vec<Value> {
    match &sel.impact {
        Some(r) => {
            let view = AffectedView {
                ws,
                changes: &r.changes,
                affected: &r.affected,
                dependents: r.dependents,
                range_flags: "",
            };
            r.affected.reasons[service]
                .iter()
                .map(|x| view.reason_json(x))
                .collect()
        }
        None if sel.services.binary_search(&service).is_ok() => {
            vec![
                json!({"kind": "selected", "by": if sel.by == SelectedBy::All { "--all" } else { "--service" }}),
            ]
        }
        None => Vec::new(),
    }
}

/// The reporters for where this run is: how task output appears (streamed, GitHub groups or
/// blocks), then warnings and the closing totals; on a live terminal all of it under a progress
/// line, in a log with a line per started command instead.
fn reporter<'a>(labels: &'a [String], env: &'a Env, stream: bool) -> Box<dyn Reporter + 'a> {
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
