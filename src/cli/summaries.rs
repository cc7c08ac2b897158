//! Run summaries named on the command line — `report FILE...` and `run --timings FILE` — read as
//! untrusted files: a regular file, at most [`MAX_SUMMARY_BYTES`], UTF-8, JSON of summary
//! schema 1. Each problem is a [`SummaryFileError`] naming the file and what to do; the callers
//! decide whether it fails the command (`report` of one file) or is a warning (timings, one of
//! several reports).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use shockwave_core::report::summary::{Summary, SUMMARY_SCHEMA};

/// Why a summary named on the command line cannot be used: each names the file, and what to do
/// when there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum SummaryFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is larger than {} MiB, which no run summary is", path.display(), MAX_SUMMARY_BYTES >> 20)]
    TooLarge { path: PathBuf },
    #[error("{} is not UTF-8 (at byte {valid_up_to}), so it is not a run summary", path.display())]
    NotUtf8 { path: PathBuf, valid_up_to: usize },
    #[error("{} is not a shockwave run summary ({source}); write one with `shockwave run ... --summary FILE`", path.display())]
    NotASummary {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A `hash --json` or dry-run listing has tasks, but no statuses.
    #[error("{} is not a shockwave run summary (a task without `task` or `status`); write one with `shockwave run ... --summary FILE`", path.display())]
    TaskWithoutStatus { path: PathBuf },
    #[error("{} has summary schema {schema}, this shockwave reads schema {SUMMARY_SCHEMA}", path.display())]
    Schema { path: PathBuf, schema: u32 },
}

/// A summary of 2,300 tasks with their fingerprints is about 40 MiB; this leaves room for much
/// larger runs while keeping a swapped-in `/dev/zero` or a huge file from exhausting memory.
pub const MAX_SUMMARY_BYTES: u64 = 512 << 20;

/// Reads and checks the summary at `path`.
pub fn read(path: &Path) -> Result<Summary<'static>, SummaryFileError> {
    let text = read_bounded(path)?;
    let summary: Summary<'static> =
        serde_json::from_str(&text).map_err(|e| not_a_summary(path, e))?;
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
fn read_timings(path: &Path) -> Result<Vec<(String, String, u64, u64)>, SummaryFileError> {
    let text = read_bounded(path)?;
    let timed: Timed = serde_json::from_str(&text).map_err(|e| not_a_summary(path, e))?;
    check_schema(path, timed.schema.unwrap_or(0))?;
    timed
        .tasks
        .into_iter()
        .map(|t| match (t.task, t.status) {
            (Some(task), Some(status)) => Ok((task, status, t.duration_ms, t.saved_ms)),
            _ => Err(SummaryFileError::TaskWithoutStatus {
                path: path.to_owned(),
            }),
        })
        .collect()
}

fn not_a_summary(path: &Path, e: serde_json::Error) -> SummaryFileError {
    SummaryFileError::NotASummary {
        path: path.to_owned(),
        source: e,
    }
}

fn check_schema(path: &Path, schema: u32) -> Result<(), SummaryFileError> {
    if schema == SUMMARY_SCHEMA {
        return Ok(());
    }
    Err(SummaryFileError::Schema {
        path: path.to_owned(),
        schema,
    })
}

/// The file's text, refusing anything but a regular UTF-8 file of at most [`MAX_SUMMARY_BYTES`]
/// (a FIFO would block, a device would never end).
fn read_bounded(path: &Path) -> Result<String, SummaryFileError> {
    let cannot = |e: std::io::Error| SummaryFileError::Read {
        path: path.to_owned(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(SummaryFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let too_large = || SummaryFileError::TooLarge {
        path: path.to_owned(),
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
    String::from_utf8(bytes).map_err(|e| SummaryFileError::NotUtf8 {
        path: path.to_owned(),
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}
