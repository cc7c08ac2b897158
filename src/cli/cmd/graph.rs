//! `graph`: the service dependency graph as dot, Mermaid or JSON, optionally only what a range
//! affects.

use std::path::Path;

use super::print;
use crate::cli::args::GraphFormat;
use crate::cli::select::{change_query, compute_affected};
use crate::cli::settings::ConfigAt;
use crate::cli::settings::{FsMonitorSettings, GraphSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{CliError, ExitCode};
use crate::report::graph::GraphView;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigAt,
    fs: &FsMonitorSettings,
    g: GraphSettings,
) -> Result<ExitCode, CliError> {
    let loaded = Loaded::open(cwd, config)?;
    let (ws, affected) = match &g.affected {
        Some(range) => {
            let query = change_query(&loaded.ws, range)?;
            let mut ctx = loaded.into_context()?;
            ctx.watch(fs);
            let impact = compute_affected(&ctx, range, query)?;
            let set: Vec<bool> = (0..ctx.ws.services.len())
                .map(|i| impact.affected.is_affected(i))
                .collect();
            (ctx.ws, Some(set))
        }
        None => (loaded.ws, None),
    };
    let view = GraphView {
        ws: &ws,
        only: affected.as_deref(),
        affected: affected.as_deref(),
    };
    let out = match g.format {
        GraphFormat::Dot => view.dot(),
        GraphFormat::Mermaid => view.mermaid(),
        GraphFormat::Json => format!("{:#}\n", view.json()),
    };
    print(&out);
    Ok(ExitCode::Success)
}
