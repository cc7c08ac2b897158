//! How a run splits over shards, for the dry run: a header for one shard's plan (`--shard K/N`),
//! and for the whole split (`--shards N`) a small table in text and each shard's requested tasks
//! in JSON, with the estimates that balanced them.

use std::fmt::Write as _;

use serde::Serialize;

use super::style::human_duration;
use crate::exec::Plan;
use crate::shard::ShardPlan;

/// How many task labels a row of the text table names before `and N more`.
const NAMED: usize = 4;

/// Where the estimates came from: `durations on record for 20 of 23 requested tasks (the rest
/// at their target's median)`.
fn estimate_line(s: &ShardPlan) -> String {
    let requested = s.partition.owner.iter().filter(|o| o.is_some()).count();
    if s.with_history == 0 {
        return format!(
            "no durations on record: every task counts {} (pass --timings SUMMARY.json from an earlier run)",
            human_duration(crate::shard::DEFAULT_ESTIMATE_MS)
        );
    }
    format!(
        "durations on record for {} of {requested} requested tasks (the rest at their target's median)",
        s.with_history
    )
}

/// `longest shard 13.0s, ideal 12.0s (+8%)`
fn balance_line(p: &crate::shard::Partition) -> String {
    let ideal = p.ideal();
    let over = (p.max_load() as f64 / ideal.max(1) as f64 - 1.0) * 100.0;
    format!(
        "longest shard {}, ideal {} (+{over:.0}%)",
        human_duration(p.max_load()),
        human_duration(ideal)
    )
}

/// The line above one shard's plan: `shard 2/4: 6 of 23 requested tasks, estimated 12.3s; …`.
pub fn header(s: &ShardPlan, k: usize) -> String {
    let p = &s.partition;
    let mine = p.owner.iter().filter(|o| **o == Some(k)).count();
    let requested = p.owner.iter().filter(|o| o.is_some()).count();
    format!(
        "shard {}/{}: {mine} of {requested} requested tasks, estimated {}; {}\nestimates: {}\n",
        k + 1,
        p.count(),
        human_duration(p.loads[k]),
        balance_line(p),
        estimate_line(s)
    )
}

/// The whole split as a table: each shard's number of requested tasks, estimate and first tasks.
pub fn table(plan: &Plan, s: &ShardPlan) -> String {
    let p = &s.partition;
    let mut out = format!(
        "{} requested tasks over {} shards; {}\nestimates: {}\n\n",
        p.owner.iter().filter(|o| o.is_some()).count(),
        p.count(),
        balance_line(p),
        estimate_line(s)
    );
    let _ = writeln!(
        out,
        "  {:>7}  {:>5}  {:>9}  requested tasks",
        "shard", "tasks", "estimated"
    );
    for (k, members) in p.members().iter().enumerate() {
        let mut names: Vec<&str> = members
            .iter()
            .take(NAMED)
            .map(|&i| plan.labels[i.index()].as_str())
            .collect();
        let more = format!("and {} more", members.len().saturating_sub(NAMED));
        if members.len() > NAMED {
            names.push(&more);
        }
        let _ = writeln!(
            out,
            "  {:>7}  {:>5}  {:>9}  {}",
            format!("{}/{}", k + 1, p.count()),
            members.len(),
            human_duration(p.loads[k]),
            if members.is_empty() {
                "(empty)".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    out
}

/// The estimates behind a split, the dry-run JSON's `estimate`. Fields in alphabetical order, the
/// order earlier versions wrote.
#[derive(Serialize)]
pub struct EstimateJson<'s> {
    ideal_ms: u64,
    longest_shard_ms: u64,
    longest_task_ms: u64,
    /// [`ShardPlan::digest`]
    partition: &'s str,
    total_ms: u64,
    with_history: usize,
}

/// `--shard K/N`: the dry-run JSON's `shard`.
#[derive(Serialize)]
pub struct ShardJson {
    count: usize,
    estimated_ms: u64,
    /// 1-based.
    index: usize,
}

/// One shard of `--shards N`, in the dry-run JSON's `shards`.
#[derive(Serialize)]
struct ShardTasksJson<'p> {
    estimated_ms: u64,
    /// `K/N`
    shard: String,
    /// Labels of its requested tasks.
    tasks: Vec<&'p str>,
}

/// What balanced the split `s`, either way it is shown.
pub fn estimate(s: &ShardPlan) -> EstimateJson<'_> {
    let p = &s.partition;
    EstimateJson {
        ideal_ms: p.ideal(),
        longest_shard_ms: p.max_load(),
        longest_task_ms: p.longest,
        partition: &s.digest,
        total_ms: p.total,
        with_history: s.with_history,
    }
}

/// `--shard K/N`: which shard the plan is; `None` for `--shards N`.
pub fn this_shard(s: &ShardPlan) -> Option<ShardJson> {
    s.this.map(|k| ShardJson {
        count: s.partition.count(),
        estimated_ms: s.partition.loads[k],
        index: k + 1,
    })
}

/// `--shards N`: every shard with its requested tasks; `None` for `--shard K/N`.
pub fn split<'p>(plan: &'p Plan, s: &ShardPlan) -> Option<impl Serialize + 'p> {
    if s.this.is_some() {
        return None;
    }
    let p = &s.partition;
    let shards: Vec<ShardTasksJson<'p>> = p
        .members()
        .iter()
        .enumerate()
        .map(|(k, members)| ShardTasksJson {
            estimated_ms: p.loads[k],
            shard: format!("{}/{}", k + 1, p.count()),
            tasks: members
                .iter()
                .map(|&i| plan.labels[i.index()].as_str())
                .collect(),
        })
        .collect();
    Some(shards)
}
