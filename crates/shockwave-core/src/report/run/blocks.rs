//! Each task's output as one block when it finishes: `==> service:target ran in 1.2s`, then its log.

use std::io::Write;

use super::{status_text, write_log, Reporter};
use crate::exec::RunEvent;
use crate::report::output::Stdout;
use crate::report::style::Style;

pub struct Blocks<'a> {
    labels: &'a [String],
    style: Style,
}

impl<'a> Blocks<'a> {
    pub fn new(labels: &'a [String], style: Style) -> Self {
        Blocks { labels, style }
    }
}

impl Reporter for Blocks<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        if let RunEvent::Finished { task, result } = event {
            let mut out = Stdout;
            let label = &self.labels[task.index()];
            let _ = writeln!(
                out,
                "{} {}",
                self.style.bold(&format!("==> {label}")),
                status_text(self.style, result)
            );
            write_log(&mut out, &result.log);
            let _ = out.flush();
        }
    }
}
