//! The dry-run plan (`run --dry-run`, text or JSON), the fields every task listing starts with, and
//! why each task's service is in a run (the dry run's and the summary's `reasons`).

use serde_json::{json, Map, Value};

use super::reason::ReasonRecord;
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
        out.push_str(&super::shards::header(shard, k));
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

/// The plan as JSON (schema 1): every task with its hash, cache state, command, needs and reasons.
pub fn json(ws: &Workspace, plan: &Plan) -> Value {
    let tasks: Vec<Value> = plan
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut v = task_fields(ws, plan, i);
            v.insert("cache".into(), json!(t.cache.as_str()));
            if t.cache == CacheState::RemoteHit {
                v.insert("cache_source".into(), json!("remote"));
            }
            v.insert("command".into(), json!(t.def.command));
            let needs: Vec<&String> = t.needs.iter().map(|&n| &plan.labels[n.index()]).collect();
            v.insert("needs".into(), json!(needs));
            v.insert("requested".into(), json!(t.requested));
            v.insert(
                "needed_by".into(),
                json!(t.needed_by.map(|n| &plan.labels[n.index()])),
            );
            v.insert(
                "reasons".into(),
                json!(reasons(ws, &plan.selection, t.service)),
            );
            if let Some(o) = plan.shard.as_ref().and_then(|s| s.owner[i]) {
                v.insert("shard".into(), json!(o + 1));
            }
            Value::Object(v)
        })
        .collect();
    let mut out = json!({
        "schema": 1,
        "targets": plan.targets,
        "selection": plan.selection.by.as_str(),
        "tasks": tasks,
    });
    if let Some(s) = &plan.shard {
        for (key, value) in super::shards::json(plan, s) {
            out[key] = value;
        }
    }
    out
}

/// The fields every task listing starts with: `task`, `service`, `target`, `hash`.
pub fn task_fields(ws: &Workspace, plan: &Plan, i: usize) -> Map<String, Value> {
    let t = &plan.tasks[i];
    let mut v = Map::new();
    v.insert("task".into(), json!(plan.labels[i]));
    v.insert("service".into(), json!(ws.service(t.service).name));
    v.insert("target".into(), json!(&*t.target));
    v.insert("hash".into(), json!(t.hash.to_hex().to_string()));
    v
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
