//! `ls`: the services with their kind, root and targets, as `turbo ls` lists packages; `--filter`
//! picks some. Needs the repository only for a `[REV]` selector.

use std::path::Path;

use super::print;
use crate::cli::args::LsFormat;
use crate::cli::select::{check_filters, filtered, needs_repo, workspace_cwd};
use crate::cli::settings::{ConfigAt, LsSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{CliError, ExitCode};
use crate::report::ls;

pub(super) fn run(cwd: &Path, config: &ConfigAt, l: LsSettings) -> Result<ExitCode, CliError> {
    let loaded = Loaded::open(cwd, config)?;
    let rel = workspace_cwd(&loaded.ws, cwd);
    check_filters(&loaded.ws, &l.filters, &rel)?;
    let (ws, picked) = if l.filters.is_empty() {
        let n = loaded.ws.services.len();
        (loaded.ws, vec![true; n])
    } else if needs_repo(&l.filters) {
        let ctx = loaded.into_context()?;
        let picked = filtered(&ctx.ws, Some(&ctx), &l.filters, &rel)?;
        (ctx.ws, picked)
    } else {
        let picked = filtered(&loaded.ws, None, &l.filters, &rel)?;
        (loaded.ws, picked)
    };
    let ids: Vec<usize> = (0..ws.services.len()).filter(|&i| picked[i]).collect();
    print(&match l.format {
        LsFormat::Text => ls::text(&ws, &ids),
        LsFormat::Json => ls::json(&ws, &ids),
    });
    Ok(ExitCode::Success)
}
