//! A progress line on stderr for a terminal: `shockwave 3/10 done, 2 running: api:build, web:test`,
//! redrawn in place. It wraps the reporters that write the run's output and clears itself before
//! any of them writes, so their lines never mix with it. Best effort: a terminal that went away
//! (SIGHUP) must not stop the run, so its write errors are ignored.

use std::io::Write;

use super::Reporter;
use crate::exec::{RunEvent, RunOutcome};
use crate::tasks::TaskIdx;

pub struct Progress<'a, R> {
    inner: R,
    labels: &'a [String],
    /// The terminal's width now (it may be resized during the run).
    width: Box<dyn Fn() -> usize + 'a>,
    done: usize,
    /// Tasks handed to workers and not finished, in the order they started.
    running: Vec<TaskIdx>,
    drawn: bool,
}

impl<'a, R: Reporter> Progress<'a, R> {
    pub fn new(inner: R, labels: &'a [String], width: Box<dyn Fn() -> usize + 'a>) -> Self {
        Progress {
            inner,
            labels,
            width,
            done: 0,
            running: Vec::new(),
            drawn: false,
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    fn draw(&mut self) {
        let running: Vec<&str> = self
            .running
            .iter()
            .map(|&t| &*self.labels[t.index()])
            .collect();
        let line = progress_line(self.done, self.labels.len(), &running, (self.width)());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }
}

impl<R: Reporter> Reporter for Progress<'_, R> {
    fn on_event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started { task } => {
                self.running.push(*task);
                self.inner.on_event(event);
            }
            // Under a progress line nothing is written for these: the line shows what runs.
            RunEvent::CommandStarted { .. } | RunEvent::StillRunning { .. } => {
                self.inner.on_event(event);
                return;
            }
            RunEvent::Finished { task, .. } => {
                self.running.retain(|t| t != task);
                self.done += 1;
                self.clear();
                self.inner.on_event(event);
            }
            RunEvent::Output { .. }
            | RunEvent::CacheWarning { .. }
            | RunEvent::UndeclaredWrites { .. }
            | RunEvent::Remote(_)
            | RunEvent::Stopping { .. } => {
                self.clear();
                self.inner.on_event(event);
            }
        }
        self.draw();
    }

    fn finish(&mut self, outcome: &RunOutcome) {
        self.clear();
        self.inner.finish(outcome);
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
