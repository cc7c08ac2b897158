//! Every error the program can end with, and the one place that maps them to exit codes.

use crate::config::ConfigError;
use crate::diagnostic::Rendered;
use crate::report::style::Style;
use crate::scm::ScmError;

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
    #[error("{0}")]
    Usage(String),
    /// An operation failed for a reason outside the user's input (exit 1).
    #[error("{0}")]
    Failed(String),
    #[error("failed to {action}: {source}")]
    Io {
        action: String,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) | CliError::Usage(_) => ExitCode::Usage,
            CliError::Scm(_) => ExitCode::Git,
            CliError::Io { .. } | CliError::Failed(_) => ExitCode::TaskFailed,
        }
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
                let file = super::display_path(&cwd, path);
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
            other => format!("{}: {other}", style.red("error")),
        }
    }
}
