//! `graph`: the service dependency graph as dot, Mermaid or JSON, optionally only what a range
//! affects.

use std::path::Path;

use super::print;
use crate::cli::args::GraphFormat;
use crate::cli::select::{
    change_query, check_filters, compute_affected, filtered, needs_repo, workspace_cwd,
};
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
    let rel = workspace_cwd(&loaded.ws, cwd);
    check_filters(&loaded.ws, &g.filters, &rel)?;
    let (ws, affected, picked) = match &g.affected {
        Some(range) => {
            let query = change_query(&loaded.ws, range)?;
            let mut ctx = loaded.into_context()?;
            ctx.watch(fs);
            let picked = (!g.filters.is_empty())
                .then(|| filtered(&ctx.ws, Some(&ctx), &g.filters, &rel))
                .transpose()?;
            let impact = compute_affected(&ctx, range, query)?;
            let set: Vec<bool> = (0..ctx.ws.services.len())
                .map(|i| impact.affected.is_affected(i))
                .collect();
            (ctx.ws, Some(set), picked)
        }
        None if needs_repo(&g.filters) => {
            let ctx = loaded.into_context()?;
            let picked = filtered(&ctx.ws, Some(&ctx), &g.filters, &rel)?;
            (ctx.ws, None, Some(picked))
        }
        None => {
            let picked = (!g.filters.is_empty())
                .then(|| filtered(&loaded.ws, None, &g.filters, &rel))
                .transpose()?;
            (loaded.ws, None, picked)
        }
    };
    // Shown: what the filters pick, of what the range affects.
    let only: Option<Vec<bool>> = match (&affected, &picked) {
        (Some(a), Some(p)) => Some(a.iter().zip(p).map(|(a, p)| *a && *p).collect()),
        (Some(a), None) => Some(a.clone()),
        (None, p) => p.clone(),
    };
    let view = GraphView {
        ws: &ws,
        only: only.as_deref(),
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
