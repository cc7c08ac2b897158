//! Every error the program can end with, and the one place that maps them to exit codes. Engine
//! errors keep their types up to here; nothing below `cli` decides an exit code.

use crate::cache::CacheError;
use crate::config::{ConfigError, Workspace};
use crate::diagnostic::{Diagnostic, Rendered};
use crate::report::style::Style;
use crate::scm::ScmError;
use crate::tasks::TaskError;

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
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Scm(#[from] ScmError),
    /// A task graph that cannot be built from what the command line asked for (exit 2).
    #[error(transparent)]
    Task(#[from] TaskError),
    /// A cache command (`cache clean`, `cache prune`) that could not do its work (exit 1). During a
    /// run, cache problems are warnings and never end up here.
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Usage(String),
    #[error("failed to {action}: {source}")]
    Io {
        action: String,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) | CliError::Task(_) | CliError::Usage(_) => ExitCode::Usage,
            CliError::Scm(_) => ExitCode::Git,
            CliError::Cache(_) | CliError::Io { .. } => ExitCode::TaskFailed,
        }
    }

    /// A task-graph error of `ws`. A cycle the config can point at is a config error, shown with the
    /// `needs` entry that closes it; anything else keeps its type.
    pub fn task(ws: &Workspace, e: TaskError) -> CliError {
        let positioned = match &e {
            TaskError::Cycle {
                at: Some(at),
                chain,
                help,
            } => Some((at, format!("task cycle: {chain}"), help.clone())),
            TaskError::NeedsPersistent { at: Some(at), .. } => Some((
                at,
                e.to_string(),
                "drop it from `needs`; a persistent task runs alongside the others".to_string(),
            )),
            _ => None,
        };
        if let Some((at, message, help)) = positioned {
            if let Ok(source_text) = crate::config::read_config(&ws.targets_file, &ws.root) {
                return CliError::Config(ConfigError::Invalid {
                    path: ws.targets_file.clone(),
                    source_text,
                    diagnostics: vec![Diagnostic::new(message).at(at.clone()).help(help)],
                });
            }
        }
        CliError::Task(e)
    }

    /// The message for stderr: config problems with their source lines, others as one sentence.
    pub fn render(&self, style: Style) -> String {
        match self {
            CliError::Config(ConfigError::Invalid {
                path,
                source_text,
                diagnostics,
            }) => {
                let cwd = std::env::current_dir().unwrap_or_default();
                let file = super::workspace::display_path(&cwd, path);
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
            CliError::Config(ConfigError::Discover { errors }) => errors
                .iter()
                .map(|e| format!("{}: {e}", style.red("error")))
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("{}: {other}", style.red("error")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documented exit codes (README "Exit codes"), one per kind of error.
    #[test]
    fn each_kind_of_error_has_its_documented_exit_code() {
        let io = || std::io::Error::other("disk on fire");
        let cases = [
            (CliError::Usage("bad flag".into()), 2),
            (
                CliError::Task(TaskError::UnknownTarget {
                    name: "biuld".into(),
                    hint: String::new(),
                    known: "build".into(),
                }),
                2,
            ),
            (
                CliError::Config(ConfigError::NotFound {
                    start: "/nowhere".into(),
                }),
                2,
            ),
            (CliError::Scm(ScmError::UnbornHead), 3),
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
