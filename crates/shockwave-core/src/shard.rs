//! Splitting one run over N CI jobs: which shard each requested task belongs to, balanced by
//! estimated duration. The partition is a pure function of the task labels, the task graph's
//! `needs` and the estimates — never of cache state, time, host or file order — so every job
//! computes the same split on its own and each requested task is requested in exactly one shard.
//! Reading the estimates from earlier summaries is the CLI's business; nothing here does I/O.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::tasks::{TaskGraph, TaskIdx};

/// The largest N: a GitHub Actions matrix holds at most 256 jobs.
pub const MAX_SHARDS: usize = 256;

/// The estimate for a task when no task of the run has any history.
pub const DEFAULT_ESTIMATE_MS: u64 = 1000;

/// The longest estimate a task may have (30 days): durations come from summary files, and every
/// sum of up to 2^32 such estimates must fit a `u64`.
pub const MAX_ESTIMATE_MS: u64 = 30 * 24 * 3600 * 1000;

/// How much balance grouping tasks that share needs may cost, relative to plain longest-first.
const GROUPING_SLACK: f64 = 0.05;

/// `--shard K/N`: this job is shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

/// Why a `--shard K/N` or `--shards N` value is refused, naming the value as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("`{0}`: expected K/N with 1 ≤ K ≤ N, such as 2/4 (the 2nd of 4 shards)")]
    NotASpec(String),
    #[error("`{0}`: at most {MAX_SHARDS} shards")]
    TooMany(String),
    #[error("`{0}`: expected a number of shards from 1 to {MAX_SHARDS}")]
    NotACount(String),
}

impl FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<ShardSpec, ShardError> {
        let not_a_spec = || ShardError::NotASpec(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(not_a_spec)?;
        let (Ok(index), Ok(count)) = (k.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(not_a_spec());
        };
        if index == 0 || index > count {
            return Err(not_a_spec());
        }
        if count > MAX_SHARDS {
            return Err(ShardError::TooMany(s.to_owned()));
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `--shards N` (1 ≤ N ≤ [`MAX_SHARDS`]).
pub fn parse_count(s: &str) -> Result<usize, ShardError> {
    match s.trim().parse::<usize>() {
        Ok(n @ 1..=MAX_SHARDS) => Ok(n),
        _ => Err(ShardError::NotACount(s.to_owned())),
    }
}

/// Duration estimates (ms) for every task of `graph`: its own history in `known` (by label),
/// else the median of the known tasks with the same target, else the median of all known tasks
/// of the graph, else [`DEFAULT_ESTIMATE_MS`]. Never 0, so every assigned task weighs something,
/// and never over [`MAX_ESTIMATE_MS`], so no sum of them overflows.
pub fn estimates(graph: &TaskGraph, labels: &[String], known: &HashMap<String, u64>) -> Vec<u64> {
    let own: Vec<Option<u64>> = labels
        .iter()
        .map(|l| known.get(l).map(|&d| d.min(MAX_ESTIMATE_MS)))
        .collect();
    let mut by_target: HashMap<&str, Vec<u64>> = HashMap::new();
    let mut all = Vec::new();
    for (t, d) in graph.tasks().iter().zip(&own) {
        if let Some(d) = *d {
            by_target.entry(&t.target).or_default().push(d);
            all.push(d);
        }
    }
    let fallback = median(&mut all).unwrap_or(DEFAULT_ESTIMATE_MS);
    let medians: HashMap<&str, u64> = by_target
        .into_iter()
        .filter_map(|(t, mut v)| median(&mut v).map(|m| (t, m)))
        .collect();
    graph
        .tasks()
        .iter()
        .zip(own)
        .map(|(t, d)| {
            d.or_else(|| medians.get(&*t.target).copied())
                .unwrap_or(fallback)
                .max(1)
        })
        .collect()
}

fn median(v: &mut [u64]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2
    } else {
        v[mid]
    })
}

/// Which shard each requested task belongs to, and what each shard is estimated to cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Per task of the graph: the shard (0-based) whose requested task it is; `None` for tasks
    /// only pulled in by `needs`.
    pub owner: Vec<Option<usize>>,
    /// Per shard: the estimated total (ms) of its requested tasks.
    pub loads: Vec<u64>,
    /// The estimated total (ms) of all requested tasks.
    pub total: u64,
    /// The longest requested task's estimate (ms).
    pub longest: u64,
}

impl Partition {
    pub fn count(&self) -> usize {
        self.loads.len()
    }

    /// The best any split can do: `max(total / N, longest task)`.
    pub fn ideal(&self) -> u64 {
        (self.total.div_ceil(self.count() as u64)).max(self.longest)
    }

    /// The longest shard's estimate.
    pub fn max_load(&self) -> u64 {
        self.loads.iter().copied().max().unwrap_or(0)
    }

    /// Requested tasks per shard, in the graph's order.
    pub fn members(&self) -> Vec<Vec<TaskIdx>> {
        let mut out = vec![Vec::new(); self.count()];
        for (i, o) in self.owner.iter().enumerate() {
            if let Some(s) = o {
                out[*s].push(TaskIdx::new(i));
            }
        }
        out
    }

    /// A short digest of who owns what, recorded in each shard's summary so that `report` can
    /// tell when shards were split differently (another base, another timings file).
    pub fn digest(&self, labels: &[String]) -> String {
        let mut pairs: Vec<(&str, usize)> = self
            .owner
            .iter()
            .zip(labels)
            .filter_map(|(o, l)| o.map(|s| (l.as_str(), s)))
            .collect();
        pairs.sort_unstable();
        let mut h = blake3::Hasher::new();
        h.update(&(self.count() as u64).to_le_bytes());
        for (label, shard) in pairs {
            h.update(&(label.len() as u64).to_le_bytes());
            h.update(label.as_bytes());
            h.update(&(shard as u64).to_le_bytes());
        }
        h.finalize().to_hex()[..16].to_string()
    }
}

/// A split as a plan carries it: the partition of the whole run and, for each task of the plan
/// (all of the run, or one shard's part of it), the shard that requested it.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    /// `Some(k)`: the plan is shard `k` (0-based); `None`: the whole run, listed by shard.
    pub this: Option<usize>,
    /// Per task of the plan: the shard (0-based) whose requested task it is.
    pub owner: Vec<Option<usize>>,
    pub partition: Partition,
    /// [`Partition::digest`]
    pub digest: String,
    /// How many requested tasks of the whole run had a duration on record.
    pub with_history: usize,
}

/// Splits the requested tasks of `graph` into `n` shards by the `estimates` (ms, per task).
///
/// Longest task first, each to the least loaded shard; a second pass also prefers, among the
/// shards it still fits in (within [`GROUPING_SLACK`] of the ideal), the one that already needs
/// most of what the task needs, so shared builds are not repeated in every job. That pass is kept
/// only when it repeats less work across the shards (needed tasks held by several shards, by
/// estimate) and its longest shard stays within the slack of plain longest-first. Either way a task
/// goes to an empty shard while there is one, so the non-empty shards are always the first
/// `min(requested tasks, n)`: a plan job can omit the rest without building the graph's split.
pub fn partition(graph: &TaskGraph, labels: &[String], estimates: &[u64], n: usize) -> Partition {
    let n = n.max(1);
    let mut items: Vec<TaskIdx> = graph
        .tasks_by_idx()
        .filter(|(_, t)| t.requested)
        .map(|(i, _)| i)
        .collect();
    // Ties broken by label, never by position: the graph's order follows the config.
    items.sort_by(|a, b| {
        let (a, b) = (a.index(), b.index());
        estimates[b]
            .cmp(&estimates[a])
            .then_with(|| labels[a].cmp(&labels[b]))
    });
    let total: u64 = items.iter().map(|i| estimates[i.index()]).sum();
    let longest = items.first().map_or(0, |i| estimates[i.index()]);

    let plain = assign(graph, &items, estimates, n, None);
    let ideal = total.div_ceil(n as u64).max(longest);
    let cap = (ideal as f64 * (1.0 + GROUPING_SLACK)) as u64;
    let grouped = assign(graph, &items, estimates, n, Some(cap));
    let max = |p: &Assignment| p.loads.iter().copied().max().unwrap_or(0);
    let keep_grouped = grouped.held < plain.held
        && max(&grouped) as f64 <= max(&plain) as f64 * (1.0 + GROUPING_SLACK);
    let Assignment { owner, loads, .. } = if keep_grouped { grouped } else { plain };
    Partition {
        owner,
        loads,
        total,
        longest,
    }
}

/// One greedy pass's result.
struct Assignment {
    /// Per task: the shard that requested it.
    owner: Vec<Option<usize>>,
    /// Per shard: the estimates of its requested tasks, summed.
    loads: Vec<u64>,
    /// Every shard's tasks and their needs, by estimate, summed: what the jobs run together at
    /// worst (no cache hits), so lower means less repeated work.
    held: u64,
}

/// One greedy pass over `items` (longest first). With `cap`, a task prefers the shard that
/// already holds most of its needs (by estimate) among those it fits in under `cap`.
fn assign(
    graph: &TaskGraph,
    items: &[TaskIdx],
    estimates: &[u64],
    n: usize,
    cap: Option<u64>,
) -> Assignment {
    let mut owner = vec![None; graph.len()];
    let mut loads = vec![0u64; n];
    let mut used = vec![false; n];
    let mut held = 0u64;
    // Per shard: which tasks its requested tasks need (themselves included).
    let mut holds: Vec<Vec<bool>> = vec![vec![false; graph.len()]; n];
    let mut closure = Closure::new(graph.len());
    for &item in items {
        let w = estimates[item.index()];
        let least = (0..n)
            .min_by_key(|&s| (loads[s], s))
            .expect("at least one shard");
        let shard = match (cap, used.iter().position(|u| !u)) {
            (_, Some(empty)) => empty,
            (None, None) => least,
            (Some(cap), None) => {
                let needs = closure.of(graph, item);
                (0..n)
                    .filter(|&s| loads[s] + w <= cap)
                    .map(|s| {
                        let shared: u64 = needs
                            .iter()
                            .filter(|t| holds[s][t.index()])
                            .map(|t| estimates[t.index()])
                            .sum();
                        (s, shared)
                    })
                    .filter(|&(_, shared)| shared > 0)
                    .max_by_key(|&(s, shared)| {
                        (shared, std::cmp::Reverse(loads[s]), std::cmp::Reverse(s))
                    })
                    .map_or(least, |(s, _)| s)
            }
        };
        owner[item.index()] = Some(shard);
        loads[shard] += w;
        used[shard] = true;
        for t in closure.of(graph, item) {
            if !holds[shard][t.index()] {
                holds[shard][t.index()] = true;
                held += estimates[t.index()];
            }
        }
    }
    Assignment { owner, loads, held }
}

/// The transitive needs of one task at a time (the task included), reusing its buffers.
struct Closure {
    seen: Vec<u32>,
    stamp: u32,
    out: Vec<TaskIdx>,
    stack: Vec<TaskIdx>,
    of: Option<TaskIdx>,
}

impl Closure {
    fn new(len: usize) -> Closure {
        Closure {
            seen: vec![0; len],
            stamp: 0,
            out: Vec::new(),
            stack: Vec::new(),
            of: None,
        }
    }

    fn of(&mut self, graph: &TaskGraph, start: TaskIdx) -> &[TaskIdx] {
        if self.of != Some(start) {
            self.of = Some(start);
            self.stamp += 1;
            self.out.clear();
            self.stack.clear();
            self.stack.push(start);
            self.seen[start.index()] = self.stamp;
            while let Some(t) = self.stack.pop() {
                self.out.push(t);
                for &n in &graph.task(t).needs {
                    if self.seen[n.index()] != self.stamp {
                        self.seen[n.index()] = self.stamp;
                        self.stack.push(n);
                    }
                }
            }
        }
        &self.out
    }
}

/// The part of `graph` one shard runs: the requested tasks `partition` gives it and everything
/// they need (requested elsewhere or not). Returns that graph, still in topological order, and
/// for each of its tasks the index it had in `graph`.
pub fn restrict(
    graph: &TaskGraph,
    partition: &Partition,
    shard: usize,
) -> (TaskGraph, Vec<TaskIdx>) {
    let mut keep = vec![false; graph.len()];
    // Reverse topological order: a kept task marks what it needs before those are visited.
    for (i, t) in graph.tasks_by_idx().rev() {
        if partition.owner[i.index()] == Some(shard) {
            keep[i.index()] = true;
        }
        if keep[i.index()] {
            for n in &t.needs {
                keep[n.index()] = true;
            }
        }
    }
    // Everything a kept task needs is kept, so no need is dropped.
    graph.subset_requesting(&keep, |o| partition.owner[o.index()] == Some(shard))
}

/// Splits `graph` (whose tasks are `labels`) into `count` shards by the durations `known` from
/// earlier runs, and returns the graph this job runs — shard `this` (0-based) and what it
/// needs, or all of `graph` when `this` is `None` — with the split as its plan records it.
pub fn split(
    graph: TaskGraph,
    labels: &[String],
    known: &HashMap<String, u64>,
    count: usize,
    this: Option<usize>,
) -> (TaskGraph, ShardPlan) {
    let est = estimates(&graph, labels, known);
    let partition = partition(&graph, labels, &est, count);
    let with_history = graph
        .tasks()
        .iter()
        .zip(labels)
        .filter(|(t, l)| t.requested && known.contains_key(*l))
        .count();
    let digest = partition.digest(labels);
    let (graph, owner) = match this {
        Some(k) => {
            let (sub, old) = restrict(&graph, &partition, k);
            let owner = old.iter().map(|o| partition.owner[o.index()]).collect();
            (sub, owner)
        }
        None => {
            let owner = partition.owner.clone();
            (graph, owner)
        }
    };
    let plan = ShardPlan {
        this,
        owner,
        partition,
        digest,
        with_history,
    };
    (graph, plan)
}

#[cfg(test)]
mod tests;
