//! The closing lines of a run: the totals (`✓ 12 tasks: 3 ran, 9 from cache (75%), ...`), then each
//! failed task with the end of its log, so the reason is the last thing on screen.

use std::io::Write;

use super::Reporter;
use crate::cache::format_size;
use crate::cache::remote::{RemoteEvent, UploadReport};
use crate::exec::{RunEvent, RunOutcome, TaskStatus};
use crate::report::output::Stdout;
use crate::report::style::human_duration;
use crate::report::style::Style;
use crate::report::summary::tail;

/// Lines of a failed task's log shown again at the end.
const FAILED_TAIL: usize = 40;

pub struct Totals<'a> {
    labels: &'a [String],
    style: Style,
    uploads: Option<UploadReport>,
}

impl<'a> Totals<'a> {
    pub fn new(labels: &'a [String], style: Style) -> Self {
        Totals {
            labels,
            style,
            uploads: None,
        }
    }
}

/// `uploaded 12 artifacts (48.0 MiB) in 1.9s`, then what was skipped, failed or left pending.
pub fn uploads_line(u: &UploadReport) -> String {
    let mut line = format!(
        "remote cache: uploaded {} artifact{} ({}) in {}",
        u.uploaded,
        if u.uploaded == 1 { "" } else { "s" },
        format_size(u.bytes),
        human_duration(u.duration.as_millis() as u64)
    );
    for (n, what) in [
        (u.skipped, "skipped"),
        (u.failed, "failed"),
        (u.abandoned, "still pending at the end (left)"),
    ] {
        if n > 0 {
            line.push_str(&format!(", {n} {what}"));
        }
    }
    line
}

impl Reporter for Totals<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        if let RunEvent::Remote(RemoteEvent::Uploads(u)) = event {
            self.uploads = Some(*u);
        }
    }

    fn finish(&mut self, outcome: &RunOutcome) {
        let results = &outcome.results;
        let mut out = Stdout;
        let count =
            |f: &dyn Fn(&TaskStatus) -> bool| results.iter().filter(|r| f(&r.status)).count();
        let ran = count(&|s| *s == TaskStatus::Success);
        let cached = count(&|s| s.cached());
        let remote = count(&|s| *s == TaskStatus::CachedRemote);
        let failed = count(&|s| matches!(s, TaskStatus::Failed { .. }));
        let skipped = count(&|s| *s == TaskStatus::Skipped);
        let saved: u64 = results.iter().map(|r| r.saved.as_millis() as u64).sum();
        let total = results.len();
        let pct = (cached * 100 + total / 2).checked_div(total).unwrap_or(0);
        let log_only = results
            .iter()
            .filter(|r| r.status.cached() && r.log_only)
            .count();
        let mut remote = if remote > 0 {
            format!(", {remote} of them remote")
        } else {
            String::new()
        };
        // Hits of targets without `outputs` restored nothing but their logs.
        if log_only > 0 {
            remote.push_str(&format!(", {log_only} log only"));
        }
        if let Some(u) = self.uploads.filter(|u| *u != UploadReport::default()) {
            let _ = writeln!(out, "\n{}", uploads_line(&u));
        }
        let _ = writeln!(
            out,
            "\n{} {total} task{}: {ran} ran, {cached} from cache ({pct}%{remote}), {failed} failed, {skipped} skipped — {} saved, took {}{}",
            if failed > 0 || outcome.interrupted {
                self.style.red("✗")
            } else {
                self.style.green("✓")
            },
            if total == 1 { "" } else { "s" },
            human_duration(saved),
            human_duration(outcome.duration.as_millis() as u64),
            if outcome.interrupted { " (interrupted)" } else { "" }
        );
        for (i, r) in results.iter().enumerate() {
            if let TaskStatus::Failed { exit_code } = &r.status {
                let code = exit_code.map_or("killed".to_string(), |c| format!("exit code {c}"));
                let _ = writeln!(
                    out,
                    "\n{} {} ({code}); last lines of its log:",
                    self.style.red("failed:"),
                    self.labels[i]
                );
                for line in tail(&r.log, FAILED_TAIL).lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
}
