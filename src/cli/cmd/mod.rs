//! One file per subcommand. Each takes its resolved settings, calls the engine and hands what it
//! returns to `report`; none of them parses flags or reads the environment.

mod affected;
mod cache;
mod check;
mod graph;
mod hash;
mod init;
mod report;
mod run;

use std::io::Write;
use std::path::Path;

use super::settings::{CommandSettings, Settings};
use super::{CliError, ExitCode};

/// Runs the command `s` describes, from the current directory `cwd`.
pub(super) fn dispatch(s: Settings, cwd: &Path) -> Result<ExitCode, CliError> {
    let config = s.config.as_deref();
    match s.command {
        CommandSettings::Check => check::run(cwd, config),
        CommandSettings::Init => init::run(cwd, config),
        CommandSettings::Affected(a) => affected::run(cwd, config, &s.env, a),
        CommandSettings::Graph(g) => graph::run(cwd, config, g),
        CommandSettings::Run(r) => run::run(cwd, config, &s.env, r),
        CommandSettings::Hash(h) => hash::run(cwd, config, h),
        CommandSettings::Cache(c) => cache::run(cwd, config, c),
        CommandSettings::Report { file } => report::run(&s.env, &file),
    }
}

/// Writes the product's output. Write errors surface once, when the command ends (see `cli::main`).
fn print(text: &str) {
    crate::report::output::Stdout::print(text);
}

/// Writes `text` to `path` through a temporary file in the same directory, renamed into place: a
/// reader (a CI step uploading the summary) sees the old file or the new one, never half of one,
/// even if this process is killed while writing.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn append_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| CliError::Io {
            action: format!("append to {}", path.display()),
            source: e,
        })
}

/// A file named on the command line; one that cannot be read is a usage error.
fn read_input(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// `--cache-dir` (relative to `cwd`), or `.shockwave/cache` under the repository worktree.
fn cache_dir(workdir: &Path, cwd: &Path, flag: Option<&Path>) -> std::path::PathBuf {
    match flag {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => cwd.join(p),
        None => workdir.join(".shockwave").join("cache"),
    }
}
