//! `check`: validate pipeline.toml, build every task of every service (so a cycle in `needs` is
//! found here rather than by the first `run` that reaches it) and print a one-line summary.

use std::path::Path;

use super::print;
use crate::cli::workspace::{display_path, Loaded};
use crate::cli::{CliError, ExitCode};
use crate::config::ServiceId;
use crate::tasks::TaskGraph;

pub(super) fn run(cwd: &Path, config: Option<&Path>) -> Result<ExitCode, CliError> {
    let ws = Loaded::open(cwd, config)?.ws;
    let every: Vec<ServiceId> = (0..ws.services.len()).collect();
    let targets: Vec<String> = ws.target_names.iter().cloned().collect();
    TaskGraph::build(&ws, &every, &targets).map_err(|e| CliError::task(&ws, e))?;
    let edges: usize = ws.services.iter().map(|s| s.deps.len()).sum();
    let tasks: usize = ws.services.iter().map(|s| s.targets.len()).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let names = ws
        .target_names
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    print(&format!(
        "{}: ok — {}, {}, {}{}, {}\n",
        display_path(cwd, &ws.config_path),
        plural(ws.services.len(), "service", "services"),
        plural(edges, "dependency edge", "dependency edges"),
        plural(ws.target_names.len(), "target", "targets"),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({names})")
        },
        plural(tasks, "task", "tasks")
    ));
    Ok(ExitCode::Success)
}
