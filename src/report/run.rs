//! The human run reporter: each task's output as one block when it finishes (a `::group::` under
//! GitHub Actions), or streamed with a `service:target` prefix; a closing summary with the logs of
//! failed tasks. On a terminal a progress line names the running tasks; in a log (CI, a file) each
//! command gets a plain start line and, while it runs long, "still running" lines.

use std::io::Write;
use std::time::Duration;

use super::style::Style;
use super::summary::{human_duration, tail};
use crate::exec::{RunEvent, StopReason, TaskResult, TaskStatus};
use crate::tasks::TaskIdx;

pub struct HumanReporter<'a> {
    pub labels: Vec<String>,
    pub style: Style,
    pub github: bool,
    pub stream: bool,
    /// Draw a progress line on stderr, at most as wide as this says the terminal is. Without one,
    /// output is a log: start lines and heartbeats instead.
    pub progress: Option<&'a dyn Fn() -> usize>,
    done: usize,
    /// Tasks handed to workers and not finished, in the order they started.
    running: Vec<TaskIdx>,
    progress_drawn: bool,
    warnings: Vec<String>,
}

/// Lines of a failed task's log shown again at the end.
const FAILED_TAIL: usize = 40;

impl<'a> HumanReporter<'a> {
    pub fn new(
        labels: Vec<String>,
        style: Style,
        github: bool,
        stream: bool,
        progress: Option<&'a dyn Fn() -> usize>,
    ) -> Self {
        HumanReporter {
            labels,
            style,
            github,
            stream,
            progress,
            done: 0,
            running: Vec::new(),
            progress_drawn: false,
            warnings: Vec::new(),
        }
    }

    // The progress line is best effort: a terminal that went away (SIGHUP) must not stop the run,
    // so write errors are ignored.
    fn clear_progress(&mut self) {
        if self.progress_drawn {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
            self.progress_drawn = false;
        }
    }

    fn draw_progress(&mut self) {
        if let Some(width) = self.progress {
            let running: Vec<&str> = self.running.iter().map(|&t| &*self.labels[t]).collect();
            let line = progress_line(self.done, self.labels.len(), &running, width());
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            self.progress_drawn = true;
        }
    }

    /// One plain line of a log (no progress line to keep clear of, no escape codes).
    fn log_line(&self, out: &mut impl Write, line: &str) {
        if self.progress.is_none() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn status_text(&self, r: &TaskResult) -> String {
        let d = human_duration(r.duration.as_millis() as u64);
        match &r.status {
            TaskStatus::Success => self.style.green(&format!("ran in {d}")),
            TaskStatus::CachedLocal => self.style.cyan(&format!(
                "cached, replaying log (saved {})",
                human_duration(r.saved.as_millis() as u64)
            )),
            TaskStatus::Failed { exit_code: Some(c) } => self
                .style
                .red(&format!("failed with exit code {c} after {d}")),
            TaskStatus::Failed { exit_code: None } => self
                .style
                .red(&format!("failed (killed or not started) after {d}")),
            TaskStatus::Skipped => self.style.dim("skipped"),
        }
    }

    pub fn on_event(&mut self, e: &RunEvent) {
        let mut out = crate::report::output::Stdout;
        match e {
            RunEvent::Started { task } => {
                self.running.push(*task);
                self.draw_progress();
            }
            RunEvent::CommandStarted { task } => {
                self.log_line(&mut out, &format!("started: {}", self.labels[*task]));
            }
            RunEvent::StillRunning { task, running_for } => {
                self.log_line(
                    &mut out,
                    &format!(
                        "still running: {} ({})",
                        self.labels[*task],
                        human_duration(running_for.as_millis() as u64)
                    ),
                );
            }
            RunEvent::Output { task, line } => {
                self.clear_progress();
                let _ = write!(
                    out,
                    "{} ",
                    self.style.dim(&format!("{} |", self.labels[*task]))
                );
                let _ = out.write_all(line);
                if !line.ends_with(b"\n") {
                    let _ = out.write_all(b"\n");
                }
                let _ = out.flush();
                self.draw_progress();
            }
            RunEvent::Finished { task, result } => {
                self.running.retain(|t| t != task);
                self.done += 1;
                self.clear_progress();
                let label = &self.labels[*task];
                let status = self.status_text(result);
                if self.stream {
                    let _ = writeln!(out, "{} {status}", self.style.bold(&format!("{label}:")));
                    // A hit's log is replayed here; a run's was streamed as it came.
                    if result.status == TaskStatus::CachedLocal {
                        let prefix = self.style.dim(&format!("{label} |"));
                        for line in result.log.split_inclusive(|&b| b == b'\n') {
                            let _ = write!(out, "{prefix} ");
                            let _ = out.write_all(line);
                            if !line.ends_with(b"\n") {
                                let _ = out.write_all(b"\n");
                            }
                        }
                    }
                } else if self.github {
                    let _ = writeln!(out, "::group::{label} ({})", strip_ansi(&status));
                    let _ = out.write_all(&result.log);
                    if !result.log.is_empty() && !result.log.ends_with(b"\n") {
                        let _ = out.write_all(b"\n");
                    }
                    let _ = writeln!(out, "::endgroup::");
                    if matches!(result.status, TaskStatus::Failed { .. }) {
                        let _ =
                            writeln!(out, "::error title={label} failed::{}", strip_ansi(&status));
                    }
                } else {
                    let _ = writeln!(out, "{} {status}", self.style.bold(&format!("==> {label}")));
                    let _ = out.write_all(&result.log);
                    if !result.log.is_empty() && !result.log.ends_with(b"\n") {
                        let _ = out.write_all(b"\n");
                    }
                }
                let _ = out.flush();
                self.draw_progress();
            }
            RunEvent::CacheWarning { task, message } => {
                self.clear_progress();
                let msg = format!("{}: {message}", self.labels[*task]);
                tracing::warn!("{msg}");
                self.warnings.push(msg);
                self.draw_progress();
            }
            RunEvent::Stopping { reason } => {
                self.clear_progress();
                tracing::warn!("{}", self.stop_text(reason));
                self.draw_progress();
            }
        }
    }

    fn stop_text(&self, reason: &StopReason) -> String {
        match reason {
            StopReason::TaskFailed { task } => format!(
                "{} failed: not starting more tasks (use --continue to keep going)",
                self.labels[*task]
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

    /// The closing lines: totals, then failed tasks with the end of their logs.
    pub fn finish(&mut self, results: &[TaskResult], took: Duration, interrupted: bool) {
        self.clear_progress();
        let mut out = crate::report::output::Stdout;
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
            if failed > 0 || interrupted { self.style.red("✗") } else { self.style.green("✓") },
            if total == 1 { "" } else { "s" },
            human_duration(saved),
            human_duration(took.as_millis() as u64),
            if interrupted { " (interrupted)" } else { "" }
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
                let t = tail(&r.log, FAILED_TAIL);
                for line in t.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
}

/// `shockwave 3/10 done, 2 running: api:build, web:test`, cut to fit in `width` columns (one is
/// left free so the terminal never wraps): the names that fit, then `+N more`; a first name too
/// long to fit is cut with `…`.
fn progress_line(done: usize, total: usize, running: &[&str], width: usize) -> String {
    let max = width.saturating_sub(1);
    let len = |s: &str| s.chars().count();
    let mut line = format!("shockwave {done}/{total} done, {} running", running.len());
    if !running.is_empty() {
        line.push(':');
        for (i, name) in running.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let rest = running.len() - i - 1;
            let more = if rest > 0 {
                format!(", +{rest} more")
            } else {
                String::new()
            };
            let room = max.saturating_sub(len(&line) + len(sep) + len(&more));
            if len(name) <= room {
                line.push_str(sep);
                line.push_str(name);
            } else if i == 0 && room >= 4 {
                line.push_str(sep);
                line.extend(name.chars().take(room - 1));
                line.push('…');
                line.push_str(&more);
                break;
            } else {
                let more = format!("{sep}+{} more", running.len() - i);
                if len(&line) + len(&more) <= max {
                    line.push_str(&more);
                }
                break;
            }
        }
    }
    line.chars().take(max).collect()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c2 in chars.by_ref() {
                if c2 == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 6, item 22: the progress line used to say only how many tasks were running.
    #[test]
    fn progress_line_names_the_running_tasks() {
        assert_eq!(
            progress_line(3, 10, &["api:build", "web:test"], 80),
            "shockwave 3/10 done, 2 running: api:build, web:test"
        );
        assert_eq!(
            progress_line(0, 4, &[], 80),
            "shockwave 0/4 done, 0 running"
        );
    }

    #[test]
    fn progress_line_fits_the_terminal_width() {
        let running = ["api:build", "web:test", "user-service:test", "payment:lint"];
        let line = progress_line(1, 9, &running, 60);
        assert_eq!(
            line,
            "shockwave 1/9 done, 4 running: api:build, web:test, +2 more"
        );
        assert!(line.chars().count() < 60);
        for width in 0..80 {
            let line = progress_line(1, 9, &running, width);
            assert!(
                line.chars().count() < width.max(1),
                "{width}: {line:?} is too wide"
            );
        }
        // A long first name is cut (by characters, not bytes) rather than left out.
        let line = progress_line(0, 2, &["éééééééééééééééééééé", "b:test"], 50);
        assert_eq!(line, "shockwave 0/2 done, 2 running: éééééééé…, +1 more");
    }
}
