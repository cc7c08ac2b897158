//! The edge of the program: parses arguments, resolves them with the environment into
//! [`Settings`], runs the command and maps every error to its documented exit code. The only module
//! that knows clap, the environment, the terminal and exit codes.

mod args;
mod cmd;
mod env;
mod error;
mod logging;
mod notices;
mod settings;
mod signals;
mod summaries;

use std::io::Write;

use clap::Parser;

pub(crate) use args::Cli;
pub(crate) use error::{CliError, ExitCode};

use settings::Settings;
use shockwave_core::report::style::Style;

/// Runs the program and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            let _ = e.print();
            return code as i32;
        }
    };
    let env = env::Env::read();
    let stderr = env.stderr;
    logging::init(cli.global.verbose, cli.global.quiet, &env);
    let code = match run(cli, env) {
        Ok(code) => code,
        Err(e) => {
            print_error(&e, stderr);
            e.exit_code()
        }
    };
    // Output that could not be written is a failure, not a success with nothing to show; a closed
    // pipe is not (the reader had what it wanted).
    match shockwave_core::report::output::take_failure() {
        Some(source) if code == ExitCode::Success => {
            let e = CliError::Io {
                action: "write to stdout".into(),
                source,
            };
            print_error(&e, stderr);
            ExitCode::TaskFailed as i32
        }
        _ => code as i32,
    }
}

/// Settings first, so a usage error never waits for (or is hidden by) git or disk work.
fn run(cli: Cli, env: env::Env) -> Result<ExitCode, CliError> {
    let settings = Settings::resolve(cli, env)?;
    let cwd = std::env::current_dir().map_err(|e| CliError::Io {
        action: "read the current directory".into(),
        source: e,
    })?;
    cmd::dispatch(settings, &cwd)
}

/// Writes an error to stderr; a stderr that is gone is not worth a panic.
pub(crate) fn print_error(e: &CliError, style: Style) {
    let _ = writeln!(std::io::stderr(), "{}", e.render(style));
}
