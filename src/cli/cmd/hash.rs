//! `hash`: each task's hash (and with `--explain` its inputs), or with `--diff` which inputs
//! differ between two listings.

use std::path::Path;

use super::{free_at_exit, open, print, read_input};
use crate::cli::settings::{HashFormat, HashSettings};
use crate::cli::{CliError, ExitCode};
use shockwave_core::engine::{ConfigLocation, FileMonitor, Prepared};
use shockwave_core::exec::Plan;
use shockwave_core::hash::diff::{self, Listing};
use shockwave_core::report::output::Stdout;
use shockwave_core::report::{hash, hash_diff};

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    fs: &FileMonitor,
    h: HashSettings,
) -> Result<ExitCode, CliError> {
    let (targets, select, format) = match h {
        HashSettings::Diff(a, b) => {
            let (a, b) = (read_listing(&a)?, read_listing(&b)?);
            print(&hash_diff::text(&diff::diff(&a, &b)));
            return Ok(ExitCode::Success);
        }
        HashSettings::List {
            targets,
            select,
            format,
        } => (targets, select, format),
    };
    let mut session = open(cwd, config, Some(fs))?;
    let Prepared {
        selection,
        graph,
        index,
    } = session.prepare(&select, &targets)?;
    let ws = session.workspace();
    let hashes = session.hash(&index, &graph)?;
    let plan = Plan::new(ws, &graph, &hashes.hashes, targets, selection, false);
    match format {
        HashFormat::Text => print(&hash::text(&plan, &hashes, false)),
        HashFormat::Explain => print(&hash::text(&plan, &hashes, true)),
        HashFormat::Json => Stdout::json(&hash::json(ws, &plan, &hashes)),
    }
    drop(plan);
    free_at_exit(hashes);
    free_at_exit(index);
    Ok(ExitCode::Success)
}

fn read_listing(path: &Path) -> Result<Listing, CliError> {
    Listing::parse(&read_input(path)?).map_err(|why| {
        CliError::Usage(format!(
            "{} is not a `shockwave hash --json` output or run summary: {why}",
            path.display()
        ))
    })
}
