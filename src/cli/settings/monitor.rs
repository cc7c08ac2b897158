//! The file monitor as `SHOCKWAVE_FSMONITOR` and its companions set it, checked.

use std::time::Duration;

use crate::cli::env::FsMonitorEnv;
use crate::cli::CliError;
use shockwave_core::config::FsMonitorKind;
use shockwave_core::engine::FileMonitor;

/// How long one run waits for Watchman before it scans the worktree in full: a full scan of a
/// large repository takes about this long.
const FSMONITOR_TIMEOUT: Duration = Duration::from_millis(500);
/// With the file monitor on, a full scan at least every this many runs...
const FSMONITOR_FULL_SCAN_RUNS: u32 = 50;
/// ...and once the last one is this old.
const FSMONITOR_FULL_SCAN_AFTER: Duration = Duration::from_secs(300);
/// The most `SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS` may say.
const MAX_FULL_SCAN_RUNS: u32 = 10_000;

/// The monitor the variables ask for; `[workspace] fsmonitor` decides when
/// `SHOCKWAVE_FSMONITOR` is unset ([`FileMonitor::kind`]).
pub(super) fn file_monitor(env: FsMonitorEnv) -> Result<FileMonitor, CliError> {
    let kind = match env.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("watchman") => Some(FsMonitorKind::Watchman),
        Some("off") => Some(FsMonitorKind::Off),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "SHOCKWAVE_FSMONITOR={other}: write `watchman` or `off`"
            )))
        }
    };
    let timeout = match env.timeout.as_deref() {
        None => FSMONITOR_TIMEOUT,
        Some(t) => shockwave_core::config::parse_duration(t)
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_FSMONITOR_TIMEOUT: {e}")))?,
    };
    let full_scan_runs = match env.full_scan_runs.as_deref() {
        None => FSMONITOR_FULL_SCAN_RUNS,
        Some(n) => n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=MAX_FULL_SCAN_RUNS).contains(n))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS={n}: write a number of runs from 1 to {MAX_FULL_SCAN_RUNS}"
                ))
            })?,
    };
    let full_scan_after = match env.full_scan_after.as_deref() {
        None => FSMONITOR_FULL_SCAN_AFTER,
        Some(t) => shockwave_core::config::parse_duration(t)
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER: {e}")))?,
    };
    Ok(FileMonitor {
        kind,
        timeout,
        watchman_sock: env.watchman_sock,
        full_scan_runs,
        full_scan_after,
        seen: None,
    })
}
