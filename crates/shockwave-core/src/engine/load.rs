//! Finding and loading the workspace: the config file, the repository it lives in, and where the
//! workspace sits in that repository. A broken config is reported before a git problem, and a
//! missing repository only once the command has checked what it can against the config alone.

use std::path::{Path, PathBuf};

use super::error::EngineError;
use super::notice::{Notice, Notify};
use super::query::{ConfigLocation, FileMonitor};
use crate::cache::LocalCache;
use crate::config::{self, ConfigError, FsMonitorKind, Workspace};
use crate::paths::WsPrefix;
use crate::scm::{FsMonitor, Repo, ScmError};

/// The repository a loaded workspace lives in.
pub(super) struct Git {
    pub repo: Repo,
    /// Where the workspace root lies in the repository worktree.
    pub prefix: WsPrefix,
}

/// Why a loaded workspace has no repository to work with; reported when git work is asked for.
#[derive(Debug, Clone)]
pub(super) enum NoRepository {
    /// None was found (or it could not be opened).
    Missing(ScmError),
    /// The config lies outside the repository found around it.
    Outside { config: PathBuf, workdir: PathBuf },
}

impl From<NoRepository> for EngineError {
    fn from(e: NoRepository) -> EngineError {
        match e {
            NoRepository::Missing(e) => EngineError::Scm(e),
            NoRepository::Outside { config, workdir } => {
                EngineError::ConfigOutsideRepository { config, workdir }
            }
        }
    }
}

/// The loaded workspace and its repository, or the reason there is none.
pub(super) struct Loaded {
    pub ws: Workspace,
    git: Result<Git, NoRepository>,
    /// The directory the command runs in, relative to the workspace root (`""` at the root, or
    /// outside it): `--filter` folders are relative to it.
    pub cwd: String,
}

impl Loaded {
    /// The repository, or why there is none.
    pub fn git(&self) -> Result<&Git, EngineError> {
        self.git.as_ref().map_err(|e| e.clone().into())
    }

    /// The repository, to take its worktree scan from, with the workspace; or why there is no
    /// repository.
    pub fn git_mut(&mut self) -> Result<(&mut Git, &Workspace), EngineError> {
        match &mut self.git {
            Ok(git) => Ok((git, &self.ws)),
            Err(e) => Err(e.clone().into()),
        }
    }
}

/// What a session says only once, however often it loads.
#[derive(Debug, Default)]
pub(super) struct Said {
    discovered: bool,
    turbo: bool,
}

/// Whether `flag` was not set yet (it is now).
fn first_time(flag: &mut bool) -> bool {
    !std::mem::replace(flag, true)
}

/// Reads the config (`--config`, or the nearest pipeline.toml above `cwd`). Members and roots are
/// looked up as git sees the worktree when there is one, with the filesystem alone when not. The
/// repository's scans ask `monitor`, when there is one.
pub(super) fn load(
    cwd: &Path,
    config: &ConfigLocation,
    monitor: Option<&FileMonitor>,
    said: &mut Said,
    notify: Notify,
) -> Result<Loaded, EngineError> {
    let (ws, repo) = read(cwd, config, said, notify)?;
    let git = match repo {
        Ok(repo) => locate(&ws, repo),
        Err(e) => Err(NoRepository::Missing(e)),
    };
    let git = git.map(|mut git| {
        if let Some(monitor) = monitor {
            use_monitor(&mut git.repo, &ws, monitor);
        }
        git
    });
    let cwd = workspace_cwd(&ws, cwd);
    Ok(Loaded { ws, git, cwd })
}

type Read = (Workspace, Result<Repo, ScmError>);

fn read(
    cwd: &Path,
    config: &ConfigLocation,
    said: &mut Said,
    notify: Notify,
) -> Result<Read, EngineError> {
    let path = match config_path(cwd, config.file.as_deref()) {
        Ok(path) => path,
        Err(EngineError::Config(not_found @ ConfigError::NotFound { .. })) => {
            return discovered(cwd, not_found, said, notify)
        }
        Err(e) => return Err(e),
    };
    let started = std::time::Instant::now();
    match Repo::discover(&config::workspace_root(&path)) {
        Ok(repo) => {
            let ws = match repo.workspace_dirs(&config::workspace_root(&path))? {
                Some(mut dirs) => {
                    let cache = cache_dir(repo.workdir(), cwd, config.cache_dir.as_deref());
                    let cache = LocalCache::new(cache);
                    match cache.config_dir().filter(|_| config.keep_parsed) {
                        Some(parsed) => config::load_reusing(&path, &mut dirs, &parsed, &|| {
                            cache.make_config_dir()
                        })?,
                        None => config::load_with(&path, &mut dirs)?,
                    }
                }
                None => config::load(&path)?,
            };
            tracing::debug!(
                "{} and its repository loaded in {:.1} ms",
                path.display(),
                started.elapsed().as_secs_f64() * 1e3
            );
            if ws.services().is_empty() {
                warn_if_discovery_would_find(&repo, &ws);
            }
            warn_turbo_ignored(&ws, said);
            Ok((ws, Ok(repo)))
        }
        Err(e) => {
            tracing::debug!("reading {} without a repository: {e}", path.display());
            Ok((config::load(&path)?, Err(e)))
        }
    }
}

/// No pipeline.toml up to the repository root: the workspace discovered from that root, said
/// once; `not_found` when there is nothing to discover. Outside a repository that is the error,
/// since no command can work there without a config.
fn discovered(
    cwd: &Path,
    not_found: ConfigError,
    said: &mut Said,
    notify: Notify,
) -> Result<Read, EngineError> {
    let repo = Repo::discover(cwd)?;
    let root = std::fs::canonicalize(repo.workdir()).unwrap_or_else(|_| repo.workdir().into());
    let found = match repo.workspace_dirs(&root)? {
        Some(mut dirs) => config::discover_only(&root, &mut dirs)?,
        None => config::discover_only(&root, &mut crate::paths::FsDirs::new(&root))?,
    };
    let Some(ws) = found else {
        return Err(not_found.into());
    };
    // Said once: `watch` loads the workspace again on every round.
    if first_time(&mut said.discovered) {
        notify(&Notice::Discovered(&ws));
    }
    warn_turbo_ignored(&ws, said);
    Ok((ws, Ok(repo)))
}

/// Where the workspace sits in `repo`, or why it cannot be used there.
fn locate(ws: &Workspace, repo: Repo) -> Result<Git, NoRepository> {
    let prefix = match ws.root().strip_prefix(repo.workdir()) {
        Ok(rel) => WsPrefix::from_path(rel),
        Err(_) => {
            return Err(NoRepository::Outside {
                config: ws.config_path().to_path_buf(),
                workdir: repo.workdir().to_path_buf(),
            })
        }
    };
    Ok(Git { repo, prefix })
}

/// Lets the worktree scans ask the file monitor that the environment, or else the config,
/// chooses. Its state lives beside the default cache, in the worktree. `watch`'s own watcher,
/// when there is one, is the monitor.
fn use_monitor(repo: &mut Repo, ws: &Workspace, fs: &FileMonitor) {
    if let Some(seen) = &fs.seen {
        repo.use_seen_changes(seen.clone());
    } else if fs.kind(ws.fsmonitor()) == FsMonitorKind::Watchman {
        let state = repo.workdir().join(".shockwave").join("fsmonitor.json");
        repo.use_fsmonitor(FsMonitor {
            sock: fs.watchman_sock.clone(),
            timeout: fs.timeout,
            state,
            full_scan_runs: fs.full_scan_runs,
            full_scan_after: fs.full_scan_after,
        });
    }
}

/// turbo.json keys that change nothing here, named once.
fn warn_turbo_ignored(ws: &Workspace, said: &mut Said) {
    if !ws.turbo_ignored().is_empty() && first_time(&mut said.turbo) {
        tracing::warn!(
            "turbo.json keys with no equivalent in shockwave are ignored: {} (see the README's \"Coming from Turborepo\")",
            ws.turbo_ignored().join(", ")
        );
    }
}

/// A pipeline.toml that yields no service where discovery would find some (a `[workspace]`
/// table alone turns discovery off) would make every command answer "nothing affected": say so,
/// with the line to add.
fn warn_if_discovery_would_find(repo: &Repo, ws: &Workspace) {
    let found = match repo.workspace_dirs(ws.root()) {
        Ok(Some(mut dirs)) => config::discover_only(ws.root(), &mut dirs),
        _ => config::discover_only(ws.root(), &mut crate::paths::FsDirs::new(ws.root())),
    };
    match found {
        Ok(Some(discovered)) => tracing::warn!(
            "{} declares no services, but the workspace holds {}: add `discover = \"auto\"` under `[workspace]` to use them (or list them in `members`)",
            ws.config_path().display(),
            crate::report::init::found(&discovered)
        ),
        Ok(None) => {}
        // Manifests discovery cannot read: the config did not ask for them, so stay quiet.
        Err(e) => tracing::debug!("discovery in a config without services: {e}"),
    }
}

fn config_path(cwd: &Path, config: Option<&Path>) -> Result<PathBuf, EngineError> {
    Ok(match config {
        Some(p) => {
            if p.symlink_metadata().is_err() {
                return Err(EngineError::NoConfigFile {
                    path: p.to_path_buf(),
                });
            }
            p.to_path_buf()
        }
        None => config::find(cwd)?,
    })
}

/// `cwd` relative to the workspace root, `""` outside it.
fn workspace_cwd(ws: &Workspace, cwd: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    cwd.strip_prefix(ws.root())
        .map(crate::paths::slashed)
        .unwrap_or_default()
}

/// `--cache-dir` (relative to `cwd`), or `.shockwave/cache` under the repository worktree.
pub fn cache_dir(workdir: &Path, cwd: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => cwd.join(p),
        None => workdir.join(".shockwave").join("cache"),
    }
}
