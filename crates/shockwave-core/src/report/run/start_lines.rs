//! For a log rather than a terminal (CI, a file): a line when each command starts and, while it
//! runs long, "still running" lines, so a quiet command does not look hung.

use std::io::Write;

use super::Reporter;
use crate::exec::RunEvent;
use crate::report::output::Stdout;
use crate::report::style::human_duration;

pub struct StartLines<'a> {
    labels: &'a [String],
}

impl<'a> StartLines<'a> {
    pub fn new(labels: &'a [String]) -> Self {
        StartLines { labels }
    }
}

impl Reporter for StartLines<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        let line = match event {
            RunEvent::CommandStarted { task } => format!("started: {}", self.labels[task.index()]),
            RunEvent::StillRunning { task, running_for } => format!(
                "still running: {} ({})",
                self.labels[task.index()],
                human_duration(running_for.as_millis() as u64)
            ),
            _ => return,
        };
        let mut out = Stdout;
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
