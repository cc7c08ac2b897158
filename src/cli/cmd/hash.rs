//! `hash`: each task's hash (and with `--explain` its inputs), or with `--diff` which inputs
//! differ between two listings.

use std::path::Path;

use super::{free_at_exit, print, read_input};
use crate::cli::prepare::{hash_tasks, prepare};
use crate::cli::settings::ConfigAt;
use crate::cli::settings::{FsMonitorSettings, HashFormat, HashSettings};
use crate::cli::{CliError, ExitCode};
use crate::exec::Plan;
use crate::hash::diff::{self, Listing};
use crate::report::output::Stdout;
use crate::report::{hash, hash_diff};

pub(super) fn run(
    cwd: &Path,
    config: &ConfigAt,
    fs: &FsMonitorSettings,
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
    let p = prepare(cwd, config, fs, &targets, &select)?;
    let hashes = hash_tasks(&p.ctx, &p.index, &p.graph);
    let plan = Plan::new(
        &p.ctx.ws,
        &p.graph,
        &hashes.hashes,
        targets,
        p.selection,
        false,
    );
    match format {
        HashFormat::Text => print(&hash::text(&plan, &hashes, false)),
        HashFormat::Explain => print(&hash::text(&plan, &hashes, true)),
        HashFormat::Json => Stdout::json(&hash::json(&p.ctx.ws, &plan, &hashes)),
    }
    drop(plan);
    free_at_exit(hashes);
    free_at_exit(p.index);
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
