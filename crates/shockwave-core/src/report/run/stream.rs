//! `--stream`: every line of output as it comes, prefixed with `service:target |`, and a status line
//! when each task ends. A cache hit's log is replayed under its status line.

use std::io::Write;

use super::{status_text, write_prefixed, Reporter};
use crate::exec::RunEvent;
use crate::report::output::Stdout;
use crate::report::style::Style;
use crate::tasks::TaskIdx;

pub struct Stream<'a> {
    labels: &'a [String],
    style: Style,
}

impl<'a> Stream<'a> {
    pub fn new(labels: &'a [String], style: Style) -> Self {
        Stream { labels, style }
    }

    fn prefix(&self, task: TaskIdx) -> String {
        self.style.dim(&format!("{} |", self.labels[task.index()]))
    }
}

impl Reporter for Stream<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        let mut out = Stdout;
        match event {
            RunEvent::Output { task, line } => {
                write_prefixed(&mut out, &self.prefix(*task), line);
                let _ = out.flush();
            }
            RunEvent::Finished { task, result } => {
                let label = &self.labels[task.index()];
                let _ = writeln!(
                    out,
                    "{} {}",
                    self.style.bold(&format!("{label}:")),
                    status_text(self.style, result)
                );
                // A hit's log is replayed here; a run's was streamed as it came.
                if result.status.cached() {
                    let prefix = self.prefix(*task);
                    for line in result.log.split_inclusive(|&b| b == b'\n') {
                        write_prefixed(&mut out, &prefix, line);
                    }
                }
                let _ = out.flush();
            }
            _ => {}
        }
    }
}
