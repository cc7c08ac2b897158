//! The closing lines of a run: the totals (`✓ 12 tasks: 3 ran, 9 from cache (75%), ...`), then each
//! failed task with the end of its log, so the reason is the last thing on screen.

use std::io::Write;

use super::Reporter;
use crate::exec::{RunEvent, RunOutcome, TaskStatus};
use crate::report::output::Stdout;
use crate::report::style::Style;
use crate::report::summary::{human_duration, tail};

/// Lines of a failed task's log shown again at the end.
const FAILED_TAIL: usize = 40;

pub struct Totals<'a> {
    labels: &'a [String],
    style: Style,
}

impl<'a> Totals<'a> {
    pub fn new(labels: &'a [String], style: Style) -> Self {
        Totals { labels, style }
    }
}

impl Reporter for Totals<'_> {
    fn on_event(&mut self, _event: &RunEvent) {}

    fn finish(&mut self, outcome: &RunOutcome) {
        let results = &outcome.results;
        let mut out = Stdout;
        let count =
            |f: &dyn Fn(&TaskStatus) -> bool| results.iter().filter(|r| f(&r.status)).count();
        let ran = count(&|s| *s == TaskStatus::Success);
        let cached = count(&|s| *s == TaskStatus::CachedLocal);
        let failed = count(&|s| matches!(s, TaskStatus::Failed { .. }));
        let skipped = count(&|s| *s == TaskStatus::Skipped);
        let saved: u64 = results.iter().map(|r| r.saved.as_millis() as u64).sum();
        let total = results.len();
        let pct = (cached * 100 + total / 2).checked_div(total).unwrap_or(0);
        let _ = writeln!(
            out,
            "\n{} {total} task{}: {ran} ran, {cached} from cache ({pct}%), {failed} failed, {skipped} skipped — {} saved, took {}{}",
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
