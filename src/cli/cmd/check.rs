//! `check`: validate pipeline.toml, build every task of every service (so a cycle in `needs` is
//! found here rather than by the first `run` that reaches it) and print a one-line summary.

use std::path::Path;

use super::print;
use crate::cli::settings::ConfigAt;
use crate::cli::workspace::{display_path, Loaded};
use crate::cli::{CliError, ExitCode};
use crate::config::ServiceId;
use crate::tasks::TaskGraph;

pub(super) fn run(cwd: &Path, config: &ConfigAt) -> Result<ExitCode, CliError> {
    let ws = Loaded::open(cwd, config)?.ws;
    let every: Vec<ServiceId> = (0..ws.services.len()).collect();
    let targets: Vec<String> = ws.target_names.iter().cloned().collect();
    TaskGraph::build(&ws, &every, &targets).map_err(|e| CliError::task(&ws, e))?;
    for warning in crate::report::check::cycle_warnings(&ws) {
        tracing::warn!("{warning}");
    }
    print(&crate::report::check::text(
        &display_path(cwd, &ws.config_path),
        &ws,
    ));
    Ok(ExitCode::Success)
}
