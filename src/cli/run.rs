//! `run`, `hash`, `cache` and `report`: selecting services, building and hashing the task graph,
//! executing it and writing summaries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bstr::ByteSlice;
use serde_json::{json, Value};

use super::args::{
    CacheAction, CacheArgs, DependentsArg, DryRunFormat, HashArgs, OnMissingBase, ReportArgs,
    RunArgs, SelectArgs,
};
use super::{
    compute_affected, load_context, stdout_style, write_stdout, AffectedResult, CliError, Context,
    ExitCode,
};
use crate::cache::{format_size, parse_size, LocalCache};
use crate::exec::{self, Interrupt, RunOptions, TaskSpec, TaskStatus};
use crate::hash::{hash_tasks, TaskHashes};
use crate::report::affected::AffectedView;
use crate::report::markdown;
use crate::report::run::HumanReporter;
use crate::report::summary::{tail, Summary, TaskSummary, SUMMARY_SCHEMA};
use crate::scm::RepoIndex;
use crate::tasks::TaskGraph;

/// The services a run covers and why.
struct Selection {
    services: Vec<usize>,
    how: &'static str,
    affected: Option<AffectedResult>,
}

fn select(ctx: &Context, s: &SelectArgs) -> Result<Selection, CliError> {
    let r = &s.range;
    // Tasks run in the worktree, which is at HEAD: selecting services from another commit would
    // build code that is not the code that was diffed.
    if let Some(head) = &r.head {
        let wanted = ctx.repo.head_id(Some(head))?;
        let checked_out = ctx.repo.head_id(None)?;
        if wanted != checked_out {
            return Err(CliError::Usage(format!(
                "--head {head} is {}, but tasks run in the worktree, which is at HEAD ({}): the services would be chosen from one commit and built from another; check out {head} first, or drop --head",
                wanted.to_hex_with_len(7),
                checked_out.to_hex_with_len(7)
            )));
        }
    }
    if s.all || !s.service.is_empty() {
        let ignored: Vec<&str> = [
            (r.base.is_some(), "--base"),
            (r.head.is_some(), "--head"),
            (r.exact_base, "--exact-base"),
            (r.uncommitted, "--uncommitted"),
            (
                r.on_missing_base != OnMissingBase::Fail,
                "--on-missing-base",
            ),
            (r.dependents != DependentsArg::Transitive, "--dependents"),
        ]
        .into_iter()
        .filter_map(|(set, flag)| set.then_some(flag))
        .collect();
        if !ignored.is_empty() {
            tracing::warn!(
                "{} ignored: {} selects services by name, not by what changed; drop {} or use --affected",
                ignored.join(", "),
                if s.all { "--all" } else { "--service" },
                if ignored.len() == 1 { "it" } else { "them" }
            );
        }
    }
    if s.all {
        return Ok(Selection {
            services: (0..ctx.ws.services.len()).collect(),
            how: "all",
            affected: None,
        });
    }
    if !s.service.is_empty() {
        let mut ids = Vec::new();
        for name in &s.service {
            ids.push(super::service_id(&ctx.ws, name)?);
        }
        ids.sort_unstable();
        ids.dedup();
        return Ok(Selection {
            services: ids,
            how: "services",
            affected: None,
        });
    }
    let base_known = s.range.base.is_some() || s.range.uncommitted || ctx.ws.default_base.is_some();
    if !s.affected && !base_known {
        return Err(CliError::Usage(
            "nothing selected: pass --all, --service NAME, or a base for --affected (--base REV, default_base in [workspace], or --uncommitted)".into(),
        ));
    }
    let r = compute_affected(ctx, &s.range)?;
    Ok(Selection {
        services: r.affected.ids().collect(),
        how: "affected",
        affected: Some(r),
    })
}

/// Reasons a task's service is in the run, as JSON (the summary's and dry run's `reasons`).
fn service_reasons(ctx: &Context, sel: &Selection, service: usize) -> Vec<Value> {
    match &sel.affected {
        Some(r) => {
            let view = AffectedView {
                ws: &ctx.ws,
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
                json!({"kind": "selected", "by": if sel.how == "all" { "--all" } else { "--service" }}),
            ]
        }
        None => Vec::new(),
    }
}

struct Prepared {
    ctx: Context,
    selection: Selection,
    graph: TaskGraph,
    index: RepoIndex,
    labels: Vec<String>,
}

impl Prepared {
    fn hashes(&self) -> TaskHashes<'_> {
        let t0 = std::time::Instant::now();
        let env = |k: &str| std::env::var_os(k).map(|v| v.into_encoded_bytes());
        let hashes = hash_tasks(
            &self.ctx.ws,
            &self.ctx.prefix,
            &self.index,
            &self.graph,
            &env,
        );
        tracing::debug!("hashed {} tasks in {:?}", self.graph.len(), t0.elapsed());
        hashes
    }
}

fn prepare(
    cwd: &Path,
    config: Option<&Path>,
    targets: &[String],
    s: &SelectArgs,
) -> Result<Prepared, CliError> {
    let mut ctx = load_context(cwd, config)?;
    let selection = select(&ctx, s)?;
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
    let labels = graph.tasks.iter().map(|t| t.label(&ctx.ws)).collect();
    Ok(Prepared {
        ctx,
        selection,
        graph,
        index,
        labels,
    })
}

/// The fields every task listing starts with: `task`, `service`, `target`, `hash`.
fn task_json(p: &Prepared, hashes: &TaskHashes<'_>, i: usize) -> serde_json::Map<String, Value> {
    let t = &p.graph.tasks[i];
    json_map(json!({
        "task": p.labels[i],
        "service": p.ctx.ws.services[t.service].name,
        "target": &*t.target,
        "hash": hashes.hashes[i].to_hex().to_string(),
    }))
}

fn json_map(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// One requested task that (transitively) needs each task; `None` for requested ones.
fn needed_by(p: &Prepared) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; p.graph.len()];
    // Walk in reverse topological order so dependents are labelled before what they need.
    for i in (0..p.graph.len()).rev() {
        let by = if p.graph.tasks[i].requested {
            Some(p.labels[i].clone())
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

fn cache_dir(ctx_workdir: &Path, cwd: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => cwd.join(p),
        None => ctx_workdir.join(".shockwave").join("cache"),
    }
}

pub(super) fn cmd_run(cwd: &Path, config: Option<&Path>, a: RunArgs) -> Result<ExitCode, CliError> {
    if a.jobs == Some(0) {
        return Err(CliError::Usage(
            "-j 0: the number of parallel tasks must be at least 1".into(),
        ));
    }
    // Installed before hashing, so an early Ctrl-C still ends the run cleanly with 130. A dry
    // run starts nothing, so the default (exit at once) is right for it.
    let interrupt = Arc::new(Interrupt::new());
    if a.dry_run.is_none() {
        handle_stop_signals(interrupt.clone());
    }
    let p = prepare(cwd, config, &a.targets, &a.select)?;
    let hashes = p.hashes();
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
    let needed = needed_by(&p);

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
                        let mut v = task_json(&p, &hashes, i);
                        v.extend(json_map(json!({
                            "cache": states[i],
                            "command": t.def.command,
                            "needs": t.needs.iter().map(|&n| &p.labels[n]).collect::<Vec<_>>(),
                            "requested": t.requested,
                            "needed_by": needed[i],
                            "reasons": service_reasons(&p.ctx, &p.selection, t.service),
                        })));
                        Value::Object(v)
                    })
                    .collect();
                format!(
                    "{:#}\n",
                    json!({"schema": 1, "targets": a.targets, "selection": p.selection.how, "tasks": tasks})
                )
            }
            DryRunFormat::Text => {
                let width = p.labels.iter().map(|l| l.len()).max().unwrap_or(0);
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
                    p.selection.how
                );
                for (i, label) in p.labels.iter().enumerate() {
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
        write_stdout(&out)?;
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
                label: p.labels[i].clone(),
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
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    // A live progress line needs a terminal that is not a CI log; everywhere else each command
    // gets a plain start line and heartbeats instead.
    let progress = !github && !in_ci() && stderr_is_live_terminal();
    let mut reporter = HumanReporter::new(
        p.labels.clone(),
        stdout_style(),
        github,
        a.stream,
        progress.then_some(terminal_width as fn() -> usize),
    );
    let opts = RunOptions {
        jobs,
        keep_going: a.keep_going,
        stream: a.stream,
        heartbeat: (a.heartbeat_secs > 0).then(|| Duration::from_secs(a.heartbeat_secs)),
    };
    let outcome = exec::execute(
        &p.graph,
        specs,
        &opts,
        (!a.no_cache).then(|| cache.clone()),
        interrupt.clone(),
        &mut |e| reporter.on_event(e),
    );
    reporter.finish(&outcome.results, outcome.duration, outcome.interrupted);

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
                task: p.labels[i].clone(),
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
                skipped_because: r.skipped_because.map(|b| p.labels[b].clone()),
                reasons: service_reasons(&p.ctx, &p.selection, t.service),
                needed_by: needed[i].clone(),
                log_tail: matches!(r.status, TaskStatus::Failed { .. }).then(|| tail(&r.log, 30)),
                fingerprint: hashes.fingerprints[i].to_json(),
            }
        })
        .collect();
    let changes = p.selection.affected.as_ref().map(|r| &r.changes);
    let summary = Summary {
        schema: SUMMARY_SCHEMA,
        shockwave: env!("CARGO_PKG_VERSION").to_string(),
        targets: a.targets.clone(),
        selection: p.selection.how.to_string(),
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
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        if let Err(e) = super::append_file(Path::new(&step), &markdown::render(&summary)) {
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

/// After a second stop request, how long the run may take to stop its commands and write its
/// summary before the process exits regardless (say, output blocked on a stalled pipe).
const HARD_EXIT_AFTER: Duration = Duration::from_secs(5);

/// SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) all stop the run the same
/// way, through [`Interrupt::request`]: the first stops it gracefully, the second kills every
/// running command at once. The run then ends with exit code 130.
fn handle_stop_signals(interrupt: Arc<Interrupt>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "failed to install signal handlers ({e}): Ctrl-C will not stop running commands"
            );
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("shockwave-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if interrupt.request() < 2 {
                    continue;
                }
                // Every running command got SIGKILL. When no tasks are executing (still hashing,
                // or already done), nothing waits to be stopped: exit now. Otherwise the
                // scheduler returns within `exec::KILL_WAIT`, and this is the backstop.
                if interrupt.is_executing() {
                    std::thread::sleep(HARD_EXIT_AFTER);
                }
                std::process::exit(ExitCode::Interrupted as i32);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "failed to start the signal-handling thread ({e}): Ctrl-C will not stop running commands"
        );
    }
}

/// `CI` set to anything but empty, `0` or `false` (GitLab, CircleCI, Buildkite, Travis and GitHub
/// Actions all set `CI=true`).
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether stderr is a terminal that can redraw a line in place.
fn stderr_is_live_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Columns of the terminal on stderr; `COLUMNS` or 80 when it does not say.
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes only into `ws`, a zeroed winsize that lives across the call.
    let cols = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 {
            ws.ws_col as usize
        } else {
            0
        }
    };
    if cols > 0 {
        return cols;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c > 0)
        .unwrap_or(80)
}

pub(super) fn cmd_hash(
    cwd: &Path,
    config: Option<&Path>,
    a: HashArgs,
) -> Result<ExitCode, CliError> {
    if let Some(files) = &a.diff {
        let out = super::hash_diff::diff_files(&files[0], &files[1])?;
        write_stdout(&out)?;
        return Ok(ExitCode::Success);
    }
    let p = prepare(cwd, config, &a.targets, &a.select)?;
    let hashes = p.hashes();
    let out = if a.json {
        let tasks: Vec<Value> = p
            .graph
            .tasks
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut v = task_json(&p, &hashes, i);
                v.insert("fingerprint".into(), hashes.fingerprints[i].to_json());
                Value::Object(v)
            })
            .collect();
        format!(
            "{:#}\n",
            json!({"schema": 1, "global_files": hashes.global_files.iter().map(|(f, id, m)| json!([f.to_str_lossy(), format!("{m:o} {id}")])).collect::<Vec<_>>(), "tasks": tasks})
        )
    } else {
        let width = p.labels.iter().map(|l| l.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (i, label) in p.labels.iter().enumerate() {
            out.push_str(&format!("{label:width$}  {}\n", hashes.hashes[i].to_hex()));
            if a.explain {
                let f = &hashes.fingerprints[i];
                out.push_str(&format!("  command   {}\n", f.command));
                out.push_str(&format!(
                    "  root      {}\n",
                    if f.root.is_empty() { "." } else { &f.root }
                ));
                if !f.outputs.is_empty() {
                    out.push_str(&format!("  outputs   {}\n", f.outputs.join(", ")));
                }
                for (k, v) in &f.env {
                    out.push_str(&format!(
                        "  env       {k}={}\n",
                        v.as_ref().map_or("(unset)".to_string(), |v| v.display())
                    ));
                }
                out.push_str(&format!(
                    "  global    {} ({} files)\n",
                    &f.global.to_hex()[..16],
                    hashes.global_files.len()
                ));
                for (l, h) in &f.needs {
                    out.push_str(&format!("  needs     {l} {}\n", &h.to_hex()[..16]));
                }
                out.push_str(&format!("  files     {}\n", f.files.len()));
                for (path, id, mode) in &f.files {
                    out.push_str(&format!(
                        "    {mode:o} {} {}\n",
                        id.to_hex_with_len(12),
                        path.to_str_lossy()
                    ));
                }
            }
        }
        out
    };
    write_stdout(&out)?;
    Ok(ExitCode::Success)
}

pub(super) fn cmd_cache(
    cwd: &Path,
    config: Option<&Path>,
    a: CacheArgs,
) -> Result<ExitCode, CliError> {
    let dir = match &a.cache_dir {
        Some(d) => cache_dir(Path::new("/"), cwd, Some(d)),
        None => {
            let ctx = load_context(cwd, config)?;
            cache_dir(ctx.repo.workdir(), cwd, None)
        }
    };
    let cache = LocalCache::new(dir.clone());
    let out = match a.action {
        CacheAction::Stats => {
            let s = cache.stats();
            let incomplete = if s.incomplete > 0 {
                format!(
                    "; {} (`cache prune` removes those whose writer is gone)",
                    incomplete_writes(&s)
                )
            } else {
                String::new()
            };
            format!(
                "{}: {} entr{}, {}, can save {}{incomplete}\n",
                dir.display(),
                s.entries,
                if s.entries == 1 { "y" } else { "ies" },
                format_size(s.bytes),
                crate::report::summary::human_duration(s.saved_ms)
            )
        }
        CacheAction::Clean => {
            let s = cache.clean()?;
            let incomplete = if s.incomplete > 0 {
                format!(" and {}", incomplete_writes(&s))
            } else {
                String::new()
            };
            format!(
                "removed {} entr{} ({}){incomplete}\n",
                s.entries,
                if s.entries == 1 { "y" } else { "ies" },
                format_size(s.bytes)
            )
        }
        CacheAction::Prune { max_size } => {
            let max =
                parse_size(&max_size).map_err(|e| CliError::Usage(format!("--max-size: {e}")))?;
            let (removed, left) = cache.prune(max)?;
            let incomplete = if removed.incomplete > 0 {
                format!(" and {}", incomplete_writes(&removed))
            } else {
                String::new()
            };
            format!(
                "removed {} least recently used entr{} ({}){incomplete}; {} entr{} left ({}, limit {})\n",
                removed.entries,
                if removed.entries == 1 { "y" } else { "ies" },
                format_size(removed.bytes),
                left.entries,
                if left.entries == 1 { "y" } else { "ies" },
                format_size(left.bytes),
                format_size(max)
            )
        }
    };
    write_stdout(&out)?;
    Ok(ExitCode::Success)
}

/// `2 incomplete writes (5.0 MiB)`: temporary directories of stores in progress or killed.
fn incomplete_writes(s: &crate::cache::Stats) -> String {
    format!(
        "{} incomplete write{} ({})",
        s.incomplete,
        if s.incomplete == 1 { "" } else { "s" },
        format_size(s.incomplete_bytes)
    )
}

pub(super) fn read_summary(path: &Path) -> Result<Summary, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a shockwave run summary ({e}); write one with `shockwave run ... --summary FILE`",
            path.display()
        ))
    })?;
    if summary.schema != SUMMARY_SCHEMA {
        return Err(CliError::Usage(format!(
            "{} has summary schema {}, this shockwave reads schema {SUMMARY_SCHEMA}",
            path.display(),
            summary.schema
        )));
    }
    Ok(summary)
}

pub(super) fn cmd_report(a: ReportArgs) -> Result<ExitCode, CliError> {
    let summary = read_summary(&a.file)?;
    let md = markdown::render(&summary);
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        super::append_file(Path::new(&step), &md)?;
    }
    write_stdout(&md)?;
    Ok(ExitCode::Success)
}
