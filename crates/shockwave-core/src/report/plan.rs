//! The dry-run plan (`run --dry-run`: text, or JSON streamed from serde structs), and why each
//! task's service is in a run (the dry run's and the summary's `reasons`).

use serde::Serialize;

use super::output::Seq;
use super::reason::ReasonRecord;
use super::shards;
use crate::config::{ServiceId, Workspace};
use crate::exec::{CacheState, Plan, SelectedBy, Selection};

/// `plan: 3 tasks for 2 selected services (affected), 1 cached`, then one line per task with its
/// short hash, whether it will run and which requested task pulled it in.
pub fn text(plan: &Plan) -> String {
    let width = plan.labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let n = plan.tasks.len();
    let services = plan.selection.services.len();
    let hits = plan
        .tasks
        .iter()
        .filter(|t| matches!(t.cache, CacheState::Hit | CacheState::RemoteHit))
        .count();
    let mut out = format!(
        "plan: {n} task{} for {services} selected service{} ({}), {hits} cached\n",
        if n == 1 { "" } else { "s" },
        if services == 1 { "" } else { "s" },
        plan.selection.by.as_str()
    );
    if let Some((shard, k)) = plan.shard.as_ref().and_then(|s| Some((s, s.this?))) {
        out.push_str(&shards::header(shard, k));
    }
    for (i, (t, label)) in plan.tasks.iter().zip(&plan.labels).enumerate() {
        let state = match t.cache {
            CacheState::Hit => "cache hit",
            CacheState::RemoteHit => "cache hit (remote)",
            CacheState::Miss => "will run",
            CacheState::Disabled => "will run (cache = false)",
            CacheState::Off => "will run (--no-cache)",
        };
        let mut why = match t.needed_by {
            Some(by) => format!("  (needed by {})", plan.labels[by.index()]),
            None => String::new(),
        };
        if let Some(s) = &plan.shard {
            if let Some(o) = s.owner[i].filter(|&o| Some(o) != s.this) {
                why.push_str(&format!(
                    ", requested by shard {}/{}",
                    o + 1,
                    s.partition.count()
                ));
            }
        }
        out.push_str(&format!(
            "  {label:width$}  {}  {state}{why}\n",
            &t.hash.to_hex()[..16]
        ));
    }
    out
}

/// The plan as JSON (schema 1): every task with its hash, cache state, command, needs and reasons,
/// streamed by [`Stdout::json`](super::output::Stdout::json).
pub fn json<'p>(ws: &'p Workspace, plan: &'p Plan) -> impl Serialize + 'p {
    let split = plan.shard.as_ref();
    PlanJson {
        estimate: split.map(shards::estimate),
        schema: 1,
        selection: plan.selection.by.as_str(),
        shard: split.and_then(shards::this_shard),
        shards: split.and_then(|s| shards::split(plan, s)),
        targets: &plan.targets,
        tasks: Seq(move || {
            plan.tasks
                .iter()
                .enumerate()
                .map(move |(i, t)| PlannedTaskJson {
                    cache: t.cache.as_str(),
                    cache_source: (t.cache == CacheState::RemoteHit).then_some("remote"),
                    command: &t.def.command,
                    hash: t.hash.to_hex().to_string(),
                    needed_by: t.needed_by.map(|n| plan.labels[n.index()].as_str()),
                    needs: Seq(move || {
                        t.needs
                            .iter()
                            .map(move |&n| plan.labels[n.index()].as_str())
                    }),
                    reasons: reasons(ws, &plan.selection, t.service),
                    requested: t.requested,
                    service: &ws.service(t.service).name,
                    shard: split.and_then(|s| s.owner[i]).map(|o| o + 1),
                    target: &t.target,
                    task: &plan.labels[i],
                })
        }),
    }
}

/// `run --dry-run=json`. Its fields, and those of the structs below, are declared in alphabetical
/// order because serde writes them in declaration order and earlier versions wrote sorted keys:
/// the output keeps its bytes.
#[derive(Serialize)]
struct PlanJson<'p, S, T> {
    /// A split run (`--shard K/N`, `--shards N`): what balanced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    estimate: Option<shards::EstimateJson<'p>>,
    schema: u32,
    /// `affected`, `all` or `services`.
    selection: &'static str,
    /// `--shard K/N`: which shard this plan is.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<shards::ShardJson>,
    /// `--shards N`: each shard's requested tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<S>,
    targets: &'p [String],
    /// [`PlannedTaskJson`]s in the plan's order.
    tasks: T,
}

/// One task of the dry-run JSON.
#[derive(Serialize)]
struct PlannedTaskJson<'p, N> {
    /// `hit`, `miss`, `disabled` or `off`.
    cache: &'static str,
    /// `remote` for a hit in the remote cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_source: Option<&'static str>,
    command: &'p str,
    hash: String,
    /// For a task pulled in by `needs`: one requested task that needs it (`null` otherwise).
    needed_by: Option<&'p str>,
    /// Labels of the tasks that must succeed first.
    needs: N,
    reasons: Vec<ReasonRecord<'p>>,
    requested: bool,
    service: &'p str,
    /// In a split run, for requested tasks: the shard (1-based) that requested it.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<usize>,
    target: &'p str,
    task: &'p str,
}

/// Why `service` is in the run: its affected reasons, or how it was selected by name; nothing for
/// a service only pulled in by `needs`.
pub fn reasons<'a>(
    ws: &'a Workspace,
    selection: &'a Selection,
    service: ServiceId,
) -> Vec<ReasonRecord<'a>> {
    match &selection.impact {
        Some(impact) => impact
            .affected
            .reasons_of(service)
            .iter()
            .map(|r| ReasonRecord::of(ws, r))
            .collect(),
        None if selection.services.binary_search(&service).is_ok() => {
            let by = match selection.by {
                SelectedBy::All => "--all".to_string(),
                SelectedBy::Filter => selection
                    .filters
                    .iter()
                    .map(|f| format!("--filter {f}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => "--service".to_string(),
            };
            vec![ReasonRecord::selected(by)]
        }
        None => Vec::new(),
    }
}
