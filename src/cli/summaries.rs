//! Run summaries named on the command line — `report FILE...` and `run --timings FILE` — read as
//! untrusted files: a regular file, at most [`MAX_SUMMARY_BYTES`], UTF-8, JSON of summary
//! schema 1. Each problem is a message naming the file and what to do; the callers decide whether
//! it fails the command (`report` of one file) or is a warning (timings, one of several reports).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use shockwave_core::report::summary::{Summary, SUMMARY_SCHEMA};

/// A summary of 2,300 tasks with their fingerprints is about 40 MiB; this leaves room for much
/// larger runs while keeping a swapped-in `/dev/zero` or a huge file from exhausting memory.
pub const MAX_SUMMARY_BYTES: u64 = 512 << 20;

/// Reads and checks the summary at `path`.
pub fn read(path: &Path) -> Result<Summary<'static>, String> {
    let text = read_bounded(path)?;
    let summary: Summary<'static> =
        serde_json::from_str(&text).map_err(|e| not_a_summary(path, &e))?;
    check_schema(path, summary.schema)?;
    Ok(summary)
}

/// Each task's last known duration (ms) from the summaries at `paths`, later files winning: a
/// run's `duration_ms`, a cache hit's `saved_ms` (the run that produced the entry). Failed and
/// skipped tasks say nothing. A file that cannot be used is a warning and is left out.
pub fn timings(paths: &[PathBuf]) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for path in paths {
        match read_timings(path) {
            Ok(tasks) => {
                for (task, status, duration_ms, saved_ms) in tasks {
                    let d = match status.as_str() {
                        "success" => duration_ms,
                        "cached-local" | "cached-remote" if saved_ms > 0 => saved_ms,
                        _ => continue,
                    };
                    out.insert(task, d);
                }
            }
            Err(e) => tracing::warn!("--timings: {e}; its durations are not used"),
        }
    }
    out
}

/// The fields of a summary that estimates need, all optional so that one pass reads any schema's
/// file far enough to check it; fingerprints are skipped unread.
#[derive(Deserialize)]
struct Timed {
    schema: Option<u32>,
    #[serde(default)]
    tasks: Vec<TimedTask>,
}

#[derive(Deserialize)]
struct TimedTask {
    task: Option<String>,
    status: Option<String>,
    #[serde(default)]
    duration_ms: u64,
    #[serde(default)]
    saved_ms: u64,
}

/// Each task of the summary at `path` as (label, status, duration, saved).
fn read_timings(path: &Path) -> Result<Vec<(String, String, u64, u64)>, String> {
    let text = read_bounded(path)?;
    let timed: Timed = serde_json::from_str(&text).map_err(|e| not_a_summary(path, &e))?;
    check_schema(path, timed.schema.unwrap_or(0))?;
    timed
        .tasks
        .into_iter()
        .map(|t| match (t.task, t.status) {
            (Some(task), Some(status)) => Ok((task, status, t.duration_ms, t.saved_ms)),
            // A `hash --json` or dry-run listing has tasks, but no statuses.
            _ => Err(format!(
                "{} is not a shockwave run summary (a task without `task` or `status`); write one with `shockwave run ... --summary FILE`",
                path.display()
            )),
        })
        .collect()
}

fn not_a_summary(path: &Path, e: &serde_json::Error) -> String {
    format!(
        "{} is not a shockwave run summary ({e}); write one with `shockwave run ... --summary FILE`",
        path.display()
    )
}

fn check_schema(path: &Path, schema: u32) -> Result<(), String> {
    if schema == SUMMARY_SCHEMA {
        return Ok(());
    }
    Err(format!(
        "{} has summary schema {schema}, this shockwave reads schema {SUMMARY_SCHEMA}",
        path.display()
    ))
}

/// The file's text, refusing anything but a regular UTF-8 file of at most [`MAX_SUMMARY_BYTES`]
/// (a FIFO would block, a device would never end).
fn read_bounded(path: &Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let too_large = || {
        format!(
            "{} is larger than {} MiB, which no run summary is",
            path.display(),
            MAX_SUMMARY_BYTES >> 20
        )
    };
    if meta.len() > MAX_SUMMARY_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SUMMARY_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_SUMMARY_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 (at byte {}), so it is not a run summary",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
