//! `completions`, `man` and `schema`: what shells, `man` and editors read about shockwave,
//! generated from the command line and the config types themselves so that none can drift. None
//! of them reads the repository.

use clap::CommandFactory;

use super::print;
use crate::cli::{Cli, CliError, ExitCode};

/// A completion script for `shell`, generated from the clap definition.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<ExitCode, CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shockwave", &mut out);
    print(&String::from_utf8_lossy(&out));
    Ok(ExitCode::Success)
}

/// The manual page, in roff.
pub(super) fn man() -> Result<ExitCode, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CliError::Io {
            action: "render the manual page".into(),
            source: e,
        })?;
    print(&String::from_utf8_lossy(&out));
    Ok(ExitCode::Success)
}

/// The JSON Schema of pipeline.toml.
pub(super) fn schema() -> Result<ExitCode, CliError> {
    print(&shockwave_core::config::pipeline_schema());
    Ok(ExitCode::Success)
}
