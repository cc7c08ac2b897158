//! `graph`: the service dependency graph as dot, Mermaid or JSON, optionally only what a range
//! affects.

use std::path::Path;

use super::{open, print};
use crate::cli::args::GraphFormat;
use crate::cli::settings::GraphSettings;
use crate::cli::{CliError, ExitCode};
use shockwave_core::engine::{ConfigLocation, FileMonitor};
use shockwave_core::report::graph::GraphView;
use shockwave_core::report::output::Stdout;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    fs: &FileMonitor,
    g: GraphSettings,
) -> Result<ExitCode, CliError> {
    // Only a range's diff asks the file monitor.
    let session = open(cwd, config, g.affected.as_ref().map(|_| fs))?;
    session.check_filters(&g.filters)?;
    let (affected, picked) = match &g.affected {
        Some(range) => {
            let affecting = session.affected(range, &g.filters)?;
            let set: Vec<bool> = session
                .workspace()
                .service_ids()
                .map(|i| affecting.impact.affected.is_affected(i))
                .collect();
            (Some(set), affecting.picked)
        }
        None => {
            let picked = (!g.filters.is_empty())
                .then(|| session.filtered(&g.filters))
                .transpose()?;
            (None, picked)
        }
    };
    // Shown: what the filters pick, of what the range affects.
    let only: Option<Vec<bool>> = match (&affected, &picked) {
        (Some(a), Some(p)) => Some(a.iter().zip(p).map(|(a, p)| *a && *p).collect()),
        (Some(a), None) => Some(a.clone()),
        (None, p) => p.clone(),
    };
    let view = GraphView {
        ws: session.workspace(),
        only: only.as_deref(),
        affected: affected.as_deref(),
    };
    match g.format {
        GraphFormat::Dot => print(&view.dot()),
        GraphFormat::Mermaid => print(&view.mermaid()),
        GraphFormat::Json => Stdout::json(&view.json()),
    }
    Ok(ExitCode::Success)
}
