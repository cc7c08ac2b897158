//! Cache warnings and why the run is stopping, as warnings on stderr (through `tracing`, like every
//! diagnostic). The engine reports what happened; the words are chosen here.

use super::Reporter;
use crate::cache::remote::{OffReason, RemoteEvent, MAX_FAILURES};
use crate::exec::{CacheStep, RunEvent, StopReason};
use crate::report::style::human_duration;

pub struct Notices<'a> {
    labels: &'a [String],
}

impl<'a> Notices<'a> {
    pub fn new(labels: &'a [String]) -> Self {
        Notices { labels }
    }

    fn stop_text(&self, reason: &StopReason) -> String {
        match reason {
            StopReason::TaskFailed { task } => format!(
                "{} failed: not starting more tasks (use --continue to keep going)",
                self.labels[task.index()]
            ),
            StopReason::Interrupted { grace } => format!(
                "interrupted: stopping every running command (SIGTERM now, SIGKILL after {}; interrupt again to kill them now)",
                human_duration(grace.as_millis() as u64)
            ),
            StopReason::InterruptedAgain => {
                "interrupted again: killed every running command (SIGKILL)".to_string()
            }
            StopReason::GraceOver { commands, grace } => format!(
                "{commands} command{} still running {} after SIGTERM: killed (SIGKILL)",
                if *commands == 1 { "" } else { "s" },
                human_duration(grace.as_millis() as u64)
            ),
        }
    }
}

impl Reporter for Notices<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::CacheWarning {
                task,
                during,
                error,
            } => {
                let label = &self.labels[task.index()];
                match during {
                    CacheStep::Lock => {
                        tracing::warn!("{label}: running without the cache's lock: {error}")
                    }
                    CacheStep::Restore => tracing::warn!("{label}: {error}"),
                    CacheStep::Store => {
                        tracing::warn!("{label}: could not save to the cache: {error}")
                    }
                }
            }
            RunEvent::UndeclaredWrites { task, writes } => {
                tracing::warn!("{}", crate::report::writes::warning(&self.labels[task.index()], writes));
            }
            RunEvent::Remote(RemoteEvent::Warning(e)) => tracing::warn!("remote cache: {e}"),
            RunEvent::Remote(RemoteEvent::Off(reason)) => tracing::warn!(
                "remote cache: off for the rest of this run ({}); tasks run or come from the local cache",
                match reason {
                    OffReason::Refused => "the server refused access".to_string(),
                    OffReason::Failures(n) => format!("{n} failures, the limit is {MAX_FAILURES}"),
                }
            ),
            RunEvent::Stopping { reason } => tracing::warn!("{}", self.stop_text(reason)),
            _ => {}
        }
    }
}
