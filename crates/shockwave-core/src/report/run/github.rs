//! GitHub Actions: each task's log in a collapsible `::group::`, and an `::error::` annotation for
//! each failure so it shows on the run's summary page. Workflow commands take no colour.

use std::io::Write;

use super::{status_text, write_log, Reporter};
use crate::exec::{RunEvent, TaskStatus};
use crate::report::output::Stdout;
use crate::report::style::Style;

pub struct GithubGroups<'a> {
    labels: &'a [String],
}

impl<'a> GithubGroups<'a> {
    pub fn new(labels: &'a [String]) -> Self {
        GithubGroups { labels }
    }
}

impl Reporter for GithubGroups<'_> {
    fn on_event(&mut self, event: &RunEvent) {
        if let RunEvent::Finished { task, result } = event {
            let mut out = Stdout;
            let label = &self.labels[task.index()];
            let status = status_text(Style { color: false }, result);
            let _ = writeln!(out, "::group::{label} ({status})");
            write_log(&mut out, &result.log);
            let _ = writeln!(out, "::endgroup::");
            if matches!(result.status, TaskStatus::Failed { .. }) {
                let _ = writeln!(out, "::error title={label} failed::{status}");
            }
            let _ = out.flush();
        }
    }
}
