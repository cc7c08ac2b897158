//! Every error a session returns, typed. The messages are the ones the user reads; which exit
//! code each kind ends with is decided by the CLI alone.

use std::path::PathBuf;

use crate::config::{ConfigError, Workspace};
use crate::diagnostic::Diagnostic;
use crate::filter::FilterError;
use crate::scm::ScmError;
use crate::tasks::TaskError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Scm(#[from] ScmError),
    /// A task graph that cannot be built from what was asked for.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// A `--filter` selector that names no service or folder the config has.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// `--config` names a file that does not exist.
    #[error("--config {}: no such file; pass the path of a pipeline.toml", path.display())]
    NoConfigFile { path: PathBuf },
    /// The config lies outside the repository found around it.
    #[error("{} is not inside the repository at {}; keep pipeline.toml in the repository", config.display(), workdir.display())]
    ConfigOutsideRepository { config: PathBuf, workdir: PathBuf },
    #[error("no service named `{name}`; {}`shockwave graph --format json` lists them", match suggestion {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    })]
    UnknownService {
        name: String,
        /// The closest name the config has, when one is close.
        suggestion: Option<String>,
    },
    /// A range without a base, and none of the usual bases exists.
    #[error("no base revision: none of {} exists; pass --base REV, set default_base in [workspace], or use --uncommitted", tried.join(", "))]
    NoBase { tried: Vec<String> },
    /// Neither services, `--all` nor a base to find the affected ones with.
    #[error("nothing selected: pass --all, --service NAME, or a base for --affected (--base REV, default_base in [workspace], or --uncommitted)")]
    NothingSelected,
    /// The head of the range is not the commit the worktree holds, where tasks run.
    #[error("{} is {wanted}, but tasks run in the worktree, which is at HEAD ({checked_out}): the services would be chosen from one commit and built from another; check out {head} first, or {}",
        match var { Some(var) => format!("${var} ({head})"), None => format!("--head {head}") },
        match var { Some(var) => format!("unset {var}"), None => "drop --head".to_string() })]
    HeadNotCheckedOut {
        head: String,
        /// The variable the head came from; `None` for `--head`.
        var: Option<&'static str>,
        /// The head's commit, short.
        wanted: String,
        /// HEAD's commit, short.
        checked_out: String,
    },
}

impl EngineError {
    /// A task-graph error of `ws`. A cycle the config can point at is a config error, shown with
    /// the `needs` entry that closes it; anything else keeps its type.
    pub(super) fn task(ws: &Workspace, e: TaskError) -> EngineError {
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
            if let Ok(source_text) = crate::config::read_config(ws.targets_file(), ws.root()) {
                return EngineError::Config(ConfigError::Invalid {
                    path: ws.targets_file().to_path_buf(),
                    source_text,
                    diagnostics: vec![Diagnostic::new(message).at(at.clone()).help(help)],
                });
            }
        }
        EngineError::Task(e)
    }
}
