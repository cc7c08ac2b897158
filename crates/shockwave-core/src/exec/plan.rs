//! What a run will do, decided before anything runs: the selected services and why, and each task
//! with its hash, its cache state and who needs it. The dry run prints a plan, the run executes it
//! and the summary records it; reporters read it. Nothing here runs or prints.

use std::sync::Arc;

use super::{TaskSpec, Watch};
use crate::affected::Impact;
use crate::cache::remote::RemoteCache;
use crate::cache::LocalCache;
use crate::config::{ServiceId, Target, Workspace};
use crate::tasks::{TaskGraph, TaskIdx};

/// How the services of a run were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectedBy {
    /// `--all`
    All,
    /// `--service NAME...`
    Services,
    /// What a range of changes affects.
    Affected,
    /// `--filter` selectors.
    Filter,
}

impl SelectedBy {
    /// The name summaries and dry runs record: `all`, `services`, `affected`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectedBy::All => "all",
            SelectedBy::Services => "services",
            SelectedBy::Affected => "affected",
            SelectedBy::Filter => "filter",
        }
    }
}

/// The services a run covers and why.
#[derive(Debug)]
pub struct Selection {
    /// Sorted, no duplicates.
    pub services: Vec<ServiceId>,
    pub by: SelectedBy,
    /// The changes and affected set, when selected by what changed.
    pub impact: Option<Impact>,
    /// The `--filter` selectors as written, when there were any.
    pub filters: Vec<String>,
}

/// How many remote lookups a dry run makes at the same time.
const REMOTE_PROBES: usize = 8;

/// Whether a task's result may come from the cache, and (for a dry run) whether it will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// An entry for the task's hash is stored (known only once [`Plan::probe`] looked).
    Hit,
    /// Not in the local cache, and the remote cache has an artifact for it (dry runs only, see
    /// [`Plan::probe_remote`]).
    RemoteHit,
    /// Cacheable; no entry found (or none looked for yet).
    Miss,
    /// `cache = false` on the target.
    Disabled,
    /// `--no-cache`.
    Off,
}

impl CacheState {
    /// The name summaries and dry runs record: `hit`, `miss`, `disabled`, `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheState::Hit | CacheState::RemoteHit => "hit",
            CacheState::Miss => "miss",
            CacheState::Disabled => "disabled",
            CacheState::Off => "off",
        }
    }
}

/// One task of a plan.
#[derive(Debug, Clone)]
pub struct PlannedTask {
    pub service: ServiceId,
    pub target: Arc<str>,
    pub def: Arc<Target>,
    pub hash: blake3::Hash,
    /// Tasks that must succeed first.
    pub needs: Vec<TaskIdx>,
    /// Asked for on the command line, rather than pulled in by `needs`.
    pub requested: bool,
    /// For a task pulled in by `needs`: one requested task that (transitively) needs it.
    pub needed_by: Option<TaskIdx>,
    pub cache: CacheState,
}

/// Everything a run will do, in the task graph's order: what `--dry-run` prints, what the run
/// executes and what its summary records.
#[derive(Debug)]
pub struct Plan {
    /// The targets asked for, as given.
    pub targets: Vec<String>,
    pub selection: Selection,
    /// `service:target` of each task.
    pub labels: Vec<String>,
    pub tasks: Vec<PlannedTask>,
    /// How the run was split over shards (`--shard K/N`, `--shards N`).
    pub shard: Option<crate::shard::ShardPlan>,
}

impl Plan {
    /// The plan for `graph` whose tasks hash to `hashes` (same order). `no_cache`: `--no-cache`.
    pub fn new(
        ws: &Workspace,
        graph: &TaskGraph,
        hashes: &[blake3::Hash],
        targets: Vec<String>,
        selection: Selection,
        no_cache: bool,
    ) -> Plan {
        let needed_by = needed_by(graph);
        let tasks = graph
            .tasks()
            .iter()
            .zip(hashes)
            .zip(needed_by)
            .map(|((t, &hash), needed_by)| PlannedTask {
                service: t.service,
                target: t.target.clone(),
                def: t.def.clone(),
                hash,
                needs: t.needs.clone(),
                requested: t.requested,
                needed_by,
                cache: if !t.def.cache {
                    CacheState::Disabled
                } else if no_cache {
                    CacheState::Off
                } else {
                    CacheState::Miss
                },
            })
            .collect();
        Plan {
            targets,
            selection,
            labels: graph.tasks().iter().map(|t| t.label(ws)).collect(),
            tasks,
            shard: None,
        }
    }

    /// Marks each cacheable task whose entry `cache` holds as a hit (for a dry run: a real run
    /// finds out when it restores).
    pub fn probe(&mut self, cache: &LocalCache) {
        for t in &mut self.tasks {
            if t.cache == CacheState::Miss && cache.contains(&t.hash.to_hex()) {
                t.cache = CacheState::Hit;
            }
        }
    }

    /// Asks `remote` about each task still a miss after [`probe`](Self::probe) (`HEAD`, a few
    /// at a time); the ones it has become [`CacheState::RemoteHit`]. A failing remote leaves
    /// them misses.
    pub fn probe_remote(&mut self, remote: &RemoteCache) {
        let mut misses: Vec<&mut PlannedTask> = self
            .tasks
            .iter_mut()
            .filter(|t| t.cache == CacheState::Miss)
            .collect();
        for chunk in misses.chunks_mut(REMOTE_PROBES) {
            std::thread::scope(|s| {
                for t in chunk.iter_mut() {
                    s.spawn(|| {
                        if remote.has(&t.hash.to_hex()) {
                            t.cache = CacheState::RemoteHit;
                        }
                    });
                }
            });
        }
    }

    /// What each worker needs to run its task, in the plan's order.
    pub fn specs(&self, ws: &Workspace) -> Vec<TaskSpec> {
        self.tasks
            .iter()
            .zip(&self.labels)
            .map(|(t, label)| {
                let cacheable = matches!(
                    t.cache,
                    CacheState::Hit | CacheState::RemoteHit | CacheState::Miss
                );
                task_spec(ws, t.service, &t.target, &t.def, label, &t.hash, cacheable)
            })
            .collect()
    }
}

/// What a worker needs to run task `target` of `service` whose hash is `hash`.
pub fn task_spec(
    ws: &Workspace,
    service: ServiceId,
    target: &str,
    def: &Target,
    label: &str,
    hash: &blake3::Hash,
    cacheable: bool,
) -> TaskSpec {
    let svc = ws.service(service);
    let hash = hash.to_hex().to_string();
    // Cargo builds into `target/` on its own, whatever the target says: never an output worth
    // caching, and often the largest folder there is.
    let skip_names: &'static [&'static str] =
        if svc.ecosystem == Some(crate::discover::Ecosystem::Cargo) {
            &["target"]
        } else {
            &[]
        };
    TaskSpec {
        label: label.to_string(),
        command: def.command.clone(),
        cwd: ws.root().join(&svc.root),
        cacheable,
        outputs: def.outputs.clone(),
        watch: cacheable.then(|| Watch {
            root: svc.root.clone(),
            undeclared: def.script && def.outputs.patterns.is_empty(),
            skip_names,
        }),
        env: vec![
            ("SHOCKWAVE_SERVICE".into(), svc.name.clone()),
            ("SHOCKWAVE_TARGET".into(), target.to_string()),
            ("SHOCKWAVE_HASH".into(), hash.clone()),
        ],
        hash,
    }
}

/// For each task, one requested task that (transitively) needs it; `None` for requested ones.
fn needed_by(graph: &TaskGraph) -> Vec<Option<TaskIdx>> {
    let mut out: Vec<Option<TaskIdx>> = vec![None; graph.len()];
    // Walk in reverse topological order so dependents are labelled before what they need.
    for (i, t) in graph.tasks_by_idx().rev() {
        let by = if t.requested { Some(i) } else { out[i.index()] };
        for &n in &t.needs {
            if !graph.task(n).requested && out[n.index()].is_none() {
                out[n.index()] = by;
            }
        }
    }
    out
}
