//! The run summary (`run --summary FILE`): a versioned JSON record of every task — status, hash,
//! duration, time saved by the cache, why its service was in the run — plus each task's fingerprint
//! so `hash --diff` can explain cache misses between two runs. `report` reads it back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SUMMARY_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
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
    pub tasks: Vec<TaskSummary>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    pub tasks: usize,
    pub success: usize,
    pub cached: usize,
    pub failed: usize,
    pub skipped: usize,
    pub saved_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSummary {
    /// `service:target`
    pub task: String,
    pub service: String,
    pub target: String,
    /// `success`, `failed`, `skipped` or `cached-local`.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    /// Why the task's service is in the run (affected reasons, or how it was selected).
    pub reasons: Vec<Value>,
    /// For tasks pulled in by `needs`: one requested task that needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed_by: Option<String>,
    /// The last lines of the log, for failed tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    #[serde(default)]
    pub fingerprint: Value,
}

impl Summary {
    pub fn totals_of(tasks: &[TaskSummary]) -> Totals {
        let mut t = Totals {
            tasks: tasks.len(),
            ..Totals::default()
        };
        for task in tasks {
            match task.status.as_str() {
                "success" => t.success += 1,
                "cached-local" => t.cached += 1,
                "failed" => t.failed += 1,
                _ => t.skipped += 1,
            }
            t.saved_ms += task.saved_ms;
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

/// `4m 10s`, `12.3s`, `850ms`.
pub fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{}h {}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(12_300), "12.3s");
        assert_eq!(human_duration(250_000), "4m 10s");
    }

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
