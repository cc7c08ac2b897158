//! `check`: validate pipeline.toml, build every task of every service (so a cycle in `needs` is
//! found here rather than by the first `run` that reaches it) and print a one-line summary.

use std::path::Path;

use super::{open, print};
use crate::cli::error::display_path;
use crate::cli::{CliError, ExitCode};
use shockwave_core::config::ServiceId;
use shockwave_core::engine::ConfigLocation;

pub(super) fn run(cwd: &Path, config: &ConfigLocation) -> Result<ExitCode, CliError> {
    let session = open(cwd, config, None)?;
    let ws = session.workspace();
    let every: Vec<ServiceId> = ws.service_ids().collect();
    let targets: Vec<String> = ws.target_names().iter().cloned().collect();
    session.task_graph(&every, &targets)?;
    for warning in shockwave_core::report::check::cycle_warnings(ws) {
        tracing::warn!("{warning}");
    }
    print(&shockwave_core::report::check::text(
        &display_path(cwd, ws.config_path()),
        ws,
    ));
    Ok(ExitCode::Success)
}
