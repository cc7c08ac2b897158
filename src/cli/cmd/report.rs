//! `report FILE`: a run summary as Markdown for a pull request, also appended to the GitHub step
//! summary when there is one.

use std::path::Path;

use super::{append_file, print, read_input};
use crate::cli::env::Env;
use crate::cli::{CliError, ExitCode};
use crate::report::markdown;
use crate::report::summary::{Summary, SUMMARY_SCHEMA};

pub(super) fn run(env: &Env, file: &Path) -> Result<ExitCode, CliError> {
    let summary = read_summary(file)?;
    let md = markdown::render(&summary);
    if let Some(step) = &env.step_summary {
        append_file(step, &md)?;
    }
    print(&md);
    Ok(ExitCode::Success)
}

fn read_summary(path: &Path) -> Result<Summary, CliError> {
    let text = read_input(path)?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a shockwave run summary ({e}); write one with `shockwave run ... --summary FILE`",
            path.display()
        ))
    })?;
    if summary.schema != SUMMARY_SCHEMA {
        return Err(CliError::Usage(format!(
            "{} has summary schema {}, this shockwave reads schema {SUMMARY_SCHEMA}",
            path.display(),
            summary.schema
        )));
    }
    Ok(summary)
}
