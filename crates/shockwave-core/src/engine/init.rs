//! Where `init` looks for a workspace: the root of the repository around the working directory
//! (the directory itself outside one), and what discovery finds there, as git sees the folders
//! when there is a repository.

use std::path::{Path, PathBuf};

use super::error::EngineError;
use crate::config::{self, Workspace};
use crate::paths::FsDirs;
use crate::scm::Repo;

/// The folder a new pipeline.toml describes.
pub struct InitRoot {
    root: PathBuf,
    repo: Option<Repo>,
}

impl InitRoot {
    /// The repository's root around `cwd`, or `cwd` outside a repository.
    pub fn find(cwd: &Path) -> InitRoot {
        let repo = Repo::discover(cwd).ok();
        let root = repo.as_ref().map_or(cwd, |r| r.workdir());
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        InitRoot { root, repo }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn in_repository(&self) -> bool {
        self.repo.is_some()
    }

    /// The workspace discovery finds at the root; `None` when there is none.
    pub fn discover(&self) -> Result<Option<Workspace>, EngineError> {
        let root = &self.root;
        let dirs = self
            .repo
            .as_ref()
            .map(|r| r.workspace_dirs(root))
            .transpose()?;
        Ok(match dirs {
            Some(Some(mut dirs)) => config::discover_only(root, &mut dirs)?,
            _ => config::discover_only(root, &mut FsDirs::new(root))?,
        })
    }
}
