//! Run reporters: what people see while tasks run. The scheduler emits typed [`RunEvent`]s and
//! knows nothing about their wording; each reporter here renders one concern, and the CLI composes
//! them for the place it runs in:
//!
//! - how a task's output appears: [`Blocks`] (one block per task), [`GithubGroups`] (`::group::`
//!   under GitHub Actions) or [`Stream`] (lines as they come, prefixed with `service:target`);
//! - [`StartLines`]: in a log (CI, a file), a line when each command starts and "still running"
//!   lines while it runs long;
//! - [`Progress`]: on a terminal, a progress line on stderr that names the running tasks, kept
//!   clear of everything the reporters it wraps write;
//! - [`Notices`]: cache warnings and why the run is stopping, on stderr;
//! - [`Totals`]: the closing totals and the end of each failed task's log.
//!
//! A new output (JUnit, a remote-cache line) is a new file here and a line where the CLI composes
//! reporters; it touches no scheduling code. Reporters write stdout only through
//! [`Stdout`](super::output::Stdout).

mod blocks;
mod github;
mod notices;
mod progress;
mod start_lines;
mod stream;
mod totals;

pub use blocks::Blocks;
pub use github::GithubGroups;
pub use notices::Notices;
pub use progress::Progress;
pub use start_lines::StartLines;
pub use stream::Stream;
pub use totals::Totals;

use std::io::Write;

use super::style::human_duration;
use super::style::Style;
use crate::exec::{RunEvent, RunOutcome, TaskResult, TaskStatus};

/// Renders a run from its events.
pub trait Reporter {
    /// One event, in the order the scheduler emitted them.
    fn on_event(&mut self, event: &RunEvent);

    /// The run is over: no event follows.
    fn finish(&mut self, _outcome: &RunOutcome) {}
}

/// Several reporters fed the same events, in order.
pub struct Reporters<'a>(pub Vec<Box<dyn Reporter + 'a>>);

impl Reporter for Reporters<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        for r in &mut self.0 {
            r.on_event(event);
        }
    }

    fn finish(&mut self, outcome: &RunOutcome) {
        for r in &mut self.0 {
            r.finish(outcome);
        }
    }
}

/// How a task ended, in a few words: `ran in 1.2s`, `cached, replaying log (saved 3.0s)`, ...
fn status_text(style: Style, r: &TaskResult) -> String {
    let d = human_duration(r.duration.as_millis() as u64);
    match &r.status {
        TaskStatus::Success => style.green(&format!("ran in {d}")),
        TaskStatus::CachedLocal | TaskStatus::CachedRemote => {
            let source = if r.status == TaskStatus::CachedRemote {
                " (remote)"
            } else {
                ""
            };
            let saved = human_duration(r.saved.as_millis() as u64);
            // A hit of a target without `outputs` brings back nothing but its log: say so, so
            // that a missing `dist/` is never a surprise.
            if r.log_only {
                style.cyan(&format!(
                    "cached{source}, replaying log only (no outputs declared; saved {saved})"
                ))
            } else {
                style.cyan(&format!("cached{source}, replaying log (saved {saved})"))
            }
        }
        TaskStatus::Failed { exit_code: Some(c) } => {
            style.red(&format!("failed with exit code {c} after {d}"))
        }
        TaskStatus::Failed { exit_code: None } => {
            style.red(&format!("failed (killed or not started) after {d}"))
        }
        TaskStatus::Skipped => style.dim("skipped"),
    }
}

// Write errors on stdout are recorded by `Stdout` itself and reported when the command ends, so
// these helpers ignore them.

/// A task's log as it was captured, ending with a newline unless it is empty.
fn write_log(out: &mut impl Write, log: &[u8]) {
    let _ = out.write_all(log);
    if !log.is_empty() && !log.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
}

/// One line of a task's output after `prefix` and a space, ending with a newline.
fn write_prefixed(out: &mut impl Write, prefix: &str, line: &[u8]) {
    let _ = write!(out, "{prefix} ");
    let _ = out.write_all(line);
    if !line.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
}
