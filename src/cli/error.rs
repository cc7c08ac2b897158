//! Every error the program can end with, and the one place that maps them to exit codes. Engine
//! errors keep their types up to here; nothing below `cli` decides an exit code.

use std::path::{Path, PathBuf};

use crate::cli::summaries::SummaryFileError;
use shockwave_core::cache::CacheError;
use shockwave_core::config::ConfigError;
use shockwave_core::diagnostic::Rendered;
use shockwave_core::engine::EngineError;
use shockwave_core::report::style::Style;

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// A task failed.
    TaskFailed = 1,
    /// Bad usage or configuration.
    Usage = 2,
    /// A git problem: not a repository, missing revision, missing base.
    Git = 3,
    /// Interrupted by SIGINT, SIGTERM or SIGHUP.
    Interrupted = 130,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// What the engine could not do: a config, git or task-graph problem, or a request the
    /// workspace cannot answer (an unknown service, no base to compare with).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A cache command (`cache clean`, `cache prune`) that could not do its work (exit 1). During a
    /// run, cache problems are warnings and never end up here.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// `report FILE` of a single file that is not a run summary it can read.
    #[error(transparent)]
    Summary(#[from] SummaryFileError),
    #[error("{0}")]
    Usage(String),
    #[error("failed to {action}: {source}")]
    Io {
        action: String,
        source: std::io::Error,
    },
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> CliError {
        CliError::Engine(EngineError::Config(e))
    }
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Engine(EngineError::Scm(_)) => ExitCode::Git,
            CliError::Engine(_) | CliError::Summary(_) | CliError::Usage(_) => ExitCode::Usage,
            CliError::Cache(_) | CliError::Io { .. } => ExitCode::TaskFailed,
        }
    }

    /// The message for stderr: config problems with their source lines, others as one sentence.
    pub fn render(&self, style: Style) -> String {
        match self {
            CliError::Engine(EngineError::Config(ConfigError::Invalid {
                path,
                source_text,
                diagnostics,
            })) => {
                let cwd = std::env::current_dir().unwrap_or_default();
                let file = display_path(&cwd, path);
                let body = Rendered {
                    file: &file,
                    source: source_text,
                    diagnostics,
                }
                .to_string();
                let n = diagnostics.len();
                format!(
                    "{body}\n{}: {file} has {n} error{}",
                    style.red("error"),
                    if n == 1 { "" } else { "s" }
                )
            }
            CliError::Engine(EngineError::Config(ConfigError::Discover { errors })) => errors
                .iter()
                .map(|e| format!("{}: {e}", style.red("error")))
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("{}: {other}", style.red("error")),
        }
    }
}

/// `p` relative to `cwd` when it lies below it, as given otherwise.
pub(crate) fn display_path(cwd: &Path, p: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    match abs.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => PathBuf::from(p).display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shockwave_core::engine::WatchedRepo;
    use shockwave_core::tasks::TaskError;

    // The documented exit codes (README "Exit codes"), one per kind of error.
    #[test]
    fn each_kind_of_error_has_its_documented_exit_code() {
        let io = || std::io::Error::other("disk on fire");
        // A git error as the engine returns it: a folder outside any repository.
        let outside = tempfile::tempdir().unwrap();
        let Err(git) = WatchedRepo::discover(outside.path()) else {
            panic!("{} is inside a repository", outside.path().display());
        };
        assert!(matches!(git, EngineError::Scm(_)), "{git}");
        let cases = [
            (CliError::Usage("bad flag".into()), 2),
            (
                CliError::Engine(EngineError::Task(TaskError::UnknownTarget {
                    name: "biuld".into(),
                    hint: String::new(),
                    known: "build".into(),
                })),
                2,
            ),
            (
                CliError::from(ConfigError::NotFound {
                    start: "/nowhere".into(),
                }),
                2,
            ),
            (
                CliError::Engine(EngineError::UnknownService {
                    name: "apii".into(),
                    suggestion: Some("api".into()),
                }),
                2,
            ),
            (CliError::Engine(git), 3),
            (
                CliError::Summary(SummaryFileError::NotAFile {
                    path: "/tmp".into(),
                }),
                2,
            ),
            (
                CliError::Cache(CacheError::Io {
                    action: "remove a cache entry",
                    path: "/cache/x".into(),
                    source: io(),
                }),
                1,
            ),
            (
                CliError::Io {
                    action: "write to stdout".into(),
                    source: io(),
                },
                1,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code() as i32, code, "{error}");
        }
    }
}
