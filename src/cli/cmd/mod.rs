//! One file per subcommand. Each takes its resolved settings, calls the engine and hands what it
//! returns to `report`; none of them parses flags or reads the environment.

mod affected;
mod cache;
mod check;
mod docs;
mod graph;
mod hash;
mod init;
mod ls;
mod report;
mod run;
mod watch;

use std::io::Write;
use std::path::Path;

use super::settings::{CommandSettings, Settings};
use super::{CliError, ExitCode};
use shockwave_core::engine::{ConfigLocation, FileMonitor, Session, SessionOptions};
use shockwave_core::hash::EnvSource;

/// Runs the command `s` describes, from the current directory `cwd`.
pub(super) fn dispatch(s: Settings, cwd: &Path) -> Result<ExitCode, CliError> {
    let config = &s.config;
    match s.command {
        CommandSettings::Check => check::run(cwd, config),
        CommandSettings::Init => init::run(cwd, config),
        CommandSettings::Ls(l) => ls::run(cwd, config, l),
        CommandSettings::Completions(shell) => docs::completions(shell),
        CommandSettings::Man => docs::man(),
        CommandSettings::Schema => docs::schema(),
        CommandSettings::Affected(a) => affected::run(cwd, config, &s.env, &s.fsmonitor, a),
        CommandSettings::Graph(g) => graph::run(cwd, config, &s.fsmonitor, g),
        CommandSettings::Run(r) => run::run(cwd, config, &s.env, &s.fsmonitor, *r),
        CommandSettings::Watch(w) => watch::run(cwd, config, &s.env, &s.fsmonitor, *w),
        CommandSettings::Hash(h) => hash::run(cwd, config, &s.fsmonitor, h),
        CommandSettings::Cache(c) => cache::run(cwd, config, c),
        CommandSettings::Report { files, merge_json } => {
            report::run(&s.env, &files, merge_json.as_deref())
        }
    }
}

/// Opens the engine's session on the config `config` names, its worktree scans asking `monitor`
/// (`None`: they scan in full).
fn open(
    cwd: &Path,
    config: &ConfigLocation,
    monitor: Option<&FileMonitor>,
) -> Result<Session, CliError> {
    Ok(Session::open(cwd, session_options(config, monitor))?)
}

fn session_options(config: &ConfigLocation, monitor: Option<&FileMonitor>) -> SessionOptions {
    SessionOptions {
        config: config.clone(),
        monitor: monitor.cloned(),
        task_env: EnvSource {
            value: &super::env::task_var,
            names: &super::env::task_var_names,
        },
        notify: super::notices::say,
    }
}

/// Leaves `value` for the operating system to reclaim when the process ends, instead of freeing
/// it piece by piece: the index and the task hashes of a large repository are hundreds of
/// thousands of allocations, several milliseconds to free just before exiting. Only for values
/// whose drop does nothing but free memory.
fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Writes the product's output. Write errors surface once, when the command ends (see `cli::main`).
fn print(text: &str) {
    shockwave_core::report::output::Stdout::print(text);
}

/// Writes `text` to `path` through a temporary file in the same directory, renamed into place: a
/// reader (a CI step uploading the summary) sees the old file or the new one, never half of one,
/// even if this process is killed while writing. The file gets the mode any new file gets (0666
/// less the umask: 0644 usually), not the 0600 of a temporary file: it is the user's file.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    #[cfg_attr(
        not(unix),
        expect(unused_mut, reason = "only Unix sets the mode of the file")
    )]
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir)?;
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

/// The largest file read as `hash --diff` input: a `hash --json` listing of 100k tasks with every
/// input file is well under this.
const MAX_INPUT_BYTES: u64 = 512 << 20;

/// A file named on the command line; one that cannot be read, or is absurdly large, is a usage
/// error.
fn read_input(path: &Path) -> Result<String, CliError> {
    use std::io::Read;
    let fail = |why: String| CliError::Usage(format!("cannot read {}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let too_large = || {
        fail(format!(
            "it is larger than {} MiB; pass a `hash --json` listing or a run summary",
            MAX_INPUT_BYTES >> 20
        ))
    };
    // A regular file says its size up front; anything else is read up to the limit.
    if file.metadata().is_ok_and(|m| m.len() > MAX_INPUT_BYTES) {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(text)
}
