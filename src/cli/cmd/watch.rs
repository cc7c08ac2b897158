//! `watch`: run the selected tasks, then after every save rerun exactly the tasks whose hash
//! changed (and what needs them, whose hashes change with theirs), in graph order, with the same
//! reporters as `run`. A task is up to date once it succeeded (or came from the cache) with its
//! current hash; a failed one is retried on the next save. Persistent tasks (dev servers) are
//! started once their needs are up to date and restarted when their hash changes; they are never
//! waited for. Each round reloads the config: an invalid one is printed and the watch goes on
//! (dev servers keep running) until a save fixes it. Ctrl-C (SIGTERM, SIGHUP) stops the round
//! and every process group started, and exits 130.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::env::Env;
use crate::cli::settings::WatchSettings;
use crate::cli::signals::handle_stop_signals;
use crate::cli::{print_error, CliError, ExitCode};
use shockwave_core::cache::remote::RemoteCache;
use shockwave_core::cache::LocalCache;
use shockwave_core::engine::{ConfigLocation, FileMonitor, Prepared, Session, WatchedRepo};
use shockwave_core::exec::{self, Ensured, Interrupt, Persistent, Plan, RunOptions};
use shockwave_core::watch::ChangeWatcher;

/// What the watch remembers between rounds.
struct State {
    /// Label → the hash it last succeeded (or was restored) with.
    done: HashMap<String, String>,
    persistent: Persistent,
    /// Opened by the first round that can load the config, and reloaded by every round after.
    session: Option<Session>,
    /// The worktree: what the watcher saw, and what the last hash can lend the next.
    repo: WatchedRepo,
}

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    env: &Env,
    fs: &FileMonitor,
    w: WatchSettings,
) -> Result<ExitCode, CliError> {
    let interrupt = Arc::new(Interrupt::new());
    handle_stop_signals(interrupt.clone());
    let (repo, start) = WatchedRepo::discover(cwd)?;
    // A cache moved into the worktree is no change either.
    let skip: Vec<PathBuf> = w
        .run
        .cache_dir
        .as_ref()
        .map(|d| cwd.join(d))
        .into_iter()
        .collect();
    let (mut watcher, warning) = ChangeWatcher::start(&start.dirs, w.poll, skip, start.folders)
        .map_err(|e| CliError::Io {
            action: format!("watch {}", e.path.display()),
            source: std::io::Error::other(e.detail),
        })?;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    // Each round's worktree scan looks where the watcher saw changes.
    let fs = &repo.monitor(fs);
    let mut state = State {
        done: HashMap::new(),
        persistent: Persistent::new(interrupt.clone()),
        session: None,
        repo,
    };
    let mut said = round(cwd, config, env, fs, &w, &mut state, &interrupt);
    while !interrupt.is_requested() {
        if said {
            eprintln!(
                "watch: {} folders through {}; waiting for changes (Ctrl-C stops)",
                watcher.watched_count(),
                watcher.mode
            );
        }
        for (label, code) in state.persistent.exited() {
            let how = code.map_or("was killed by a signal".to_string(), |c| {
                format!("exited with code {c}")
            });
            eprintln!("watch: {label} {how}; it starts again on the next change");
        }
        let Some(changed) = watcher.wait(w.debounce, &|| interrupt.is_requested()) else {
            break;
        };
        tracing::debug!(
            "{} paths changed: {:?}{}",
            changed.paths.len(),
            changed.paths.iter().take(5).collect::<Vec<_>>(),
            if changed.lost {
                " (and events were lost)"
            } else {
                ""
            }
        );
        state.repo.saw(&changed);
        said = round(cwd, config, env, fs, &w, &mut state, &interrupt);
        // The watcher follows folders as they come and go; only when it lost track, or the
        // ignore rules changed, are all of them listed again.
        if changed.lost || changed.ignore_rules {
            if let Some(dirs) = state.repo.folders() {
                watcher.update(&dirs);
            }
        }
    }
    state.persistent.stop_all();
    Ok(ExitCode::Interrupted)
}

/// The session of this round: `slot`'s reloaded, or opened when there is none yet; and what the
/// round works on.
fn prepare<'s>(
    slot: &'s mut Option<Session>,
    cwd: &Path,
    config: &ConfigLocation,
    fs: &FileMonitor,
    w: &WatchSettings,
) -> Result<(&'s mut Session, Prepared), CliError> {
    let session = match slot.take() {
        Some(mut session) => match session.reload() {
            Ok(()) => session,
            Err(e) => {
                *slot = Some(session);
                return Err(e.into());
            }
        },
        None => super::open(cwd, config, Some(fs))?,
    };
    let session = slot.insert(session);
    let p = session.prepare(&w.run.select, &w.run.targets)?;
    Ok((session, p))
}

/// Says why a round runs nothing; whether it printed anything (it did).
fn nothing_runs(e: &CliError, env: &Env) -> bool {
    print_error(e, env.stderr);
    eprintln!("watch: nothing runs until this is fixed; dev servers keep running");
    true
}

/// One round: reload, hash, run what is not up to date, then (re)start persistent tasks.
/// Whether it printed anything (a round that finds everything up to date is silent).
fn round(
    cwd: &Path,
    config: &ConfigLocation,
    env: &Env,
    fs: &FileMonitor,
    w: &WatchSettings,
    state: &mut State,
    interrupt: &Arc<Interrupt>,
) -> bool {
    let started = std::time::Instant::now();
    let (session, p) = match prepare(&mut state.session, cwd, config, fs, w) {
        Ok(found) => found,
        Err(e) => return nothing_runs(&e, env),
    };
    let ws = session.workspace();
    let index = Arc::new(p.index);
    let ready = state
        .repo
        .hash(session, &index, &p.graph)
        .and_then(|hashes| {
            let cache = session.cache_dir(w.run.cache_dir.as_deref())?;
            Ok((hashes, cache, session.write_check(index.clone())?))
        });
    let (hashes, cache_dir, writes) = match ready {
        Ok(ready) => ready,
        Err(e) => return nothing_runs(&e.into(), env),
    };
    let labels: Vec<String> = p.graph.tasks().iter().map(|t| t.label(ws)).collect();
    let hex: Vec<String> = hashes.iter().map(|h| h.to_hex().to_string()).collect();
    let stale: Vec<bool> = p
        .graph
        .tasks()
        .iter()
        .enumerate()
        .map(|(i, t)| !t.def.persistent && state.done.get(&labels[i]) != Some(&hex[i]))
        .collect();
    tracing::debug!(
        "round: {} of {} tasks to run, hashed in {:?}",
        stale.iter().filter(|&&s| s).count(),
        labels.len(),
        started.elapsed()
    );
    let mut said = false;
    if stale.iter().any(|&s| s) {
        said = true;
        let (sub, old) = p.graph.subset(&stale);
        let sub_hashes: Vec<blake3::Hash> = old.iter().map(|&o| hashes[o.index()]).collect();
        let plan = Plan::new(
            ws,
            &sub,
            &sub_hashes,
            w.run.targets.clone(),
            p.selection,
            w.run.no_cache,
        );
        let cache = Arc::new(LocalCache::new(cache_dir));
        let remote = match w.run.remote.config(ws.remote_cache()) {
            Ok(r) => r.map(|c| Arc::new(RemoteCache::new(c))),
            Err(e) => {
                print_error(&e, env.stderr);
                None
            }
        };
        let opts = RunOptions {
            jobs: w.run.jobs,
            keep_going: w.run.keep_going,
            stream: w.run.stream,
            heartbeat: None,
            writes: Some(Arc::new(writes)),
        };
        let mut reporter = super::run::reporter(&plan.labels, env, w.run.stream);
        let outcome = exec::execute(
            &sub,
            plan.specs(ws),
            &opts,
            (!w.run.no_cache).then_some(cache),
            remote,
            interrupt.clone(),
            &mut |e| reporter.on_event(e),
        );
        reporter.finish(&outcome);
        for (i, r) in outcome.results.iter().enumerate() {
            let label = &plan.labels[i];
            if r.status.succeeded() {
                state
                    .done
                    .insert(label.clone(), hex[old[i].index()].clone());
            } else {
                state.done.remove(label);
            }
        }
    }
    if interrupt.is_requested() {
        return said;
    }
    for (i, t) in p.graph.tasks().iter().enumerate() {
        if !t.def.persistent {
            continue;
        }
        let label = &labels[i];
        let ready = t
            .needs
            .iter()
            .all(|&n| state.done.get(&labels[n.index()]) == Some(&hex[n.index()]));
        if !ready {
            state.persistent.stop(label);
            eprintln!("watch: {label} waits for what it needs to succeed");
            said = true;
            continue;
        }
        let spec = exec::task_spec(ws, t.service, &t.target, &t.def, label, &hashes[i], false);
        match state.persistent.ensure(&spec) {
            Ensured::Started => eprintln!("watch: started {label}"),
            Ensured::Restarted => eprintln!("watch: restarted {label}: its inputs changed"),
            Ensured::Unchanged => continue,
            Ensured::Failed => {}
        }
        said = true;
    }
    said
}
