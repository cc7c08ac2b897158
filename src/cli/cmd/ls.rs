//! `ls`: the services with their kind, root and targets, as `turbo ls` lists packages; `--filter`
//! picks some. Needs the repository only for a `[REV]` selector.

use std::path::Path;

use super::{open, print};
use crate::cli::args::LsFormat;
use crate::cli::settings::LsSettings;
use crate::cli::{CliError, ExitCode};
use shockwave_core::config::ServiceId;
use shockwave_core::engine::ConfigLocation;
use shockwave_core::report::ls;
use shockwave_core::report::output::Stdout;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    l: LsSettings,
) -> Result<ExitCode, CliError> {
    let session = open(cwd, config, None)?;
    session.check_filters(&l.filters)?;
    let ws = session.workspace();
    let picked = if l.filters.is_empty() {
        vec![true; ws.services().len()]
    } else {
        session.filtered(&l.filters)?
    };
    let ids: Vec<ServiceId> = ws.service_ids().filter(|i| picked[i.index()]).collect();
    match l.format {
        LsFormat::Text => print(&ls::text(ws, &ids)),
        LsFormat::Json => Stdout::json(&ls::json(ws, &ids)),
    }
    Ok(ExitCode::Success)
}
