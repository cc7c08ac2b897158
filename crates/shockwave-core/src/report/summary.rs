//! The run summary (`run --summary FILE`): a versioned JSON record of every task — status, hash,
//! duration, time saved by the cache, why its service was in the run — plus each task's fingerprint
//! so `hash --diff` can explain cache misses between two runs. `report` reads it back.

use serde::{Deserialize, Serialize};

use crate::config::Workspace;
use crate::exec::{CacheState, Plan, RunOutcome, TaskStatus};
use crate::hash::{Fingerprint, FingerprintRecord};
use crate::report::reason::ReasonRecord;
use crate::report::writes::WritesRecord;

pub const SUMMARY_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary<'a> {
    pub schema: u32,
    pub shockwave: String,
    pub targets: Vec<String>,
    /// `affected`, `all` or `services`.
    pub selection: String,
    pub base: Option<String>,
    pub head: Option<String>,
    pub merge_base: Option<String>,
    pub duration_ms: u64,
    pub interrupted: bool,
    pub totals: Totals,
    pub tasks: Vec<TaskSummary<'a>>,
    /// A sharded run (`--shard K/N`): which shard it was and how the run was split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRecord>,
    /// A merged summary (`report --merge-json`): one line per summary that went into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardLine>,
}

/// Which shard of a split run a summary records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// 1-based.
    pub index: usize,
    pub count: usize,
    /// A digest of who owns which requested task: equal in every shard of one split.
    pub partition: String,
    /// The estimated total of this shard's requested tasks.
    pub estimated_ms: u64,
}

/// One summary merged into another: its shard (if it was one) and its own totals, or why it
/// could not be read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShardLine {
    /// The file it was read from, as given.
    pub file: String,
    /// `2/4`; absent for a summary of an unsharded run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// [`ShardRecord::partition`]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_ms: Option<u64>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub totals: Totals,
    /// Why the file could not be merged; nothing else is set then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    pub tasks: usize,
    pub success: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
    pub saved_ms: u64,
    /// How many of `cached` came from the remote cache (absent when none did).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_remote: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSummary<'a> {
    /// `service:target`
    pub task: String,
    pub service: String,
    pub target: String,
    /// `success`, `failed`, `skipped`, `cached-local` or `cached-remote`.
    pub status: String,
    pub hash: String,
    pub duration_ms: u64,
    /// For cache hits: the duration of the run that produced the entry.
    pub saved_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Asked for on the command line, rather than pulled in by `needs`.
    pub requested: bool,
    /// `hit`, `miss`, `disabled` (`cache = false`) or `off` (`--no-cache`).
    pub cache: String,
    /// For hits: `local` or `remote`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    /// Why the task's service is in the run (affected reasons, or how it was selected).
    pub reasons: Vec<ReasonRecord<'a>>,
    /// For tasks pulled in by `needs`: one requested task that needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_by: Option<String>,
    /// In a sharded run, for tasks some shard requested: that shard (1-based). A task with
    /// another shard's number was run (or restored) here because one of this shard's needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<usize>,
    /// The last lines of the log, for failed tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// For cache hits: `outputs_and_log`, or `log_only` when the target declares no `outputs`
    /// (nothing but the log came back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
    /// For a task that ran: the files it wrote that a cache hit would not restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undeclared_outputs: Option<WritesRecord>,
    /// What its hash came from (`null` in a merged summary's line for a task that has none).
    #[serde(default)]
    pub fingerprint: Option<FingerprintRecord<'a>>,
}

/// Lines of a failed task's log kept in the summary.
const LOG_TAIL: usize = 30;

impl<'a> Summary<'a> {
    /// The record of a finished run: `plan` as it was executed, with each task's `outcome` and
    /// the `fingerprints` its hash came from (same order).
    pub fn of(
        ws: &'a Workspace,
        plan: &'a Plan,
        outcome: &RunOutcome,
        fingerprints: &'a [Fingerprint<'_>],
    ) -> Summary<'a> {
        let tasks: Vec<TaskSummary<'a>> = plan
            .tasks
            .iter()
            .zip(&outcome.results)
            .zip(fingerprints)
            .enumerate()
            .map(|(i, ((t, r), fingerprint))| {
                let failed = matches!(r.status, TaskStatus::Failed { .. });
                TaskSummary {
                    task: plan.labels[i].clone(),
                    service: ws.service(t.service).name.clone(),
                    target: t.target.to_string(),
                    status: r.status.as_str().to_string(),
                    hash: t.hash.to_hex().to_string(),
                    duration_ms: r.duration.as_millis() as u64,
                    saved_ms: r.saved.as_millis() as u64,
                    exit_code: match r.status {
                        TaskStatus::Failed { exit_code } => exit_code,
                        TaskStatus::Success => Some(0),
                        _ => None,
                    },
                    requested: t.requested,
                    cache: if r.status.cached() {
                        CacheState::Hit
                    } else {
                        t.cache
                    }
                    .as_str()
                    .to_string(),
                    cache_source: match r.status {
                        TaskStatus::CachedLocal => Some("local".into()),
                        TaskStatus::CachedRemote => Some("remote".into()),
                        _ => None,
                    },
                    skipped_because: r.skipped_because.map(|b| plan.labels[b.index()].clone()),
                    reasons: super::plan::reasons(ws, &plan.selection, t.service),
                    needed_by: t.needed_by.map(|n| plan.labels[n.index()].clone()),
                    shard: plan.shard.as_ref().and_then(|s| s.owner[i]).map(|o| o + 1),
                    log_tail: failed.then(|| tail(&r.log, LOG_TAIL)),
                    restored: r.status.cached().then(|| {
                        if r.log_only {
                            "log_only"
                        } else {
                            "outputs_and_log"
                        }
                        .to_string()
                    }),
                    undeclared_outputs: r.writes.as_deref().map(WritesRecord::from),
                    fingerprint: Some(fingerprint.record()),
                }
            })
            .collect();
        let changes = plan.selection.impact.as_ref().map(|i| &i.changes);
        Summary {
            schema: SUMMARY_SCHEMA,
            shockwave: env!("CARGO_PKG_VERSION").to_string(),
            targets: plan.targets.clone(),
            selection: plan.selection.by.as_str().to_string(),
            base: changes.and_then(|c| c.base.clone()),
            head: changes.map(|c| c.head.clone()),
            merge_base: changes.and_then(|c| c.merge_base.map(|m| m.to_string())),
            duration_ms: outcome.duration.as_millis() as u64,
            interrupted: outcome.interrupted,
            totals: Summary::totals_of(&tasks),
            tasks,
            shard: plan.shard.as_ref().and_then(|s| {
                s.this.map(|k| ShardRecord {
                    index: k + 1,
                    count: s.partition.count(),
                    partition: s.digest.clone(),
                    estimated_ms: s.partition.loads[k],
                })
            }),
            shards: Vec::new(),
        }
    }

    pub fn totals_of(tasks: &[TaskSummary<'_>]) -> Totals {
        let mut t = Totals {
            tasks: tasks.len(),
            ..Totals::default()
        };
        for task in tasks {
            match task.status.as_str() {
                "success" => t.success += 1,
                "cached-local" => t.cached += 1,
                "cached-remote" => {
                    t.cached += 1;
                    t.cached_remote += 1;
                }
                "failed" => t.failed += 1,
                _ => t.skipped += 1,
            }
            // Merged summaries come from files: a wild `saved_ms` must not overflow the sum.
            t.saved_ms = t.saved_ms.saturating_add(task.saved_ms);
        }
        t
    }
}

/// The last `n` lines of a log, lossily decoded.
pub fn tail(log: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(log);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

/// At most `n` characters of `s` (user-supplied JSON may hold any text: never slice bytes).
pub fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_respects_characters() {
        assert_eq!(prefix("abcdef", 3), "abc");
        assert_eq!(prefix("ab", 3), "ab");
        assert_eq!(prefix("aéé", 2), "aé");
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail(b"", 3), "");
    }
}
