//! `hash`: each task's hash (and with `--explain` its inputs), or with `--diff` which inputs
//! differ between two listings.

use std::path::Path;

use super::print;
use crate::cli::prepare::{hash_tasks, prepare};
use crate::cli::settings::{HashFormat, HashSettings};
use crate::cli::{CliError, ExitCode};
use crate::exec::Plan;
use crate::report::hash;

pub(super) fn run(
    cwd: &Path,
    config: Option<&Path>,
    h: HashSettings,
) -> Result<ExitCode, CliError> {
    let (targets, select, format) = match h {
        HashSettings::Diff(a, b) => {
            print(&crate::cli::hash_diff::diff_files(&a, &b)?);
            return Ok(ExitCode::Success);
        }
        HashSettings::List {
            targets,
            select,
            format,
        } => (targets, select, format),
    };
    let p = prepare(cwd, config, &targets, &select)?;
    let hashes = hash_tasks(&p.ctx, &p.index, &p.graph);
    let plan = Plan::new(
        &p.ctx.ws,
        &p.graph,
        &hashes.hashes,
        targets,
        p.selection,
        false,
    );
    print(&match format {
        HashFormat::Text => hash::text(&plan, &hashes, false),
        HashFormat::Explain => hash::text(&plan, &hashes, true),
        HashFormat::Json => format!("{:#}\n", hash::json(&p.ctx.ws, &plan, &hashes)),
    });
    Ok(ExitCode::Success)
}
