//! Finding and loading the workspace: the config file, the repository it lives in, and where the
//! workspace sits in that repository. A broken config is reported before a git problem, and a
//! missing repository only once the command has checked what it can against the config alone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::settings::{ConfigAt, FsMonitorSettings};
use super::CliError;
use crate::cache::LocalCache;
use crate::config::{self, ConfigError, FsMonitorKind, Workspace};
use crate::scm::{FsMonitor, Repo, ScmError};

/// The loaded workspace and its repository.
pub(crate) struct Context {
    pub ws: Workspace,
    pub repo: Repo,
    /// The workspace root relative to the repository worktree (`""` when they coincide).
    pub prefix: String,
}

/// A loaded workspace whose repository may be missing: [`Loaded::into_context`] reports that.
pub(crate) struct Loaded {
    pub ws: Workspace,
    repo: Result<Repo, ScmError>,
}

impl Loaded {
    /// Reads the config (`--config`, or the nearest pipeline.toml above `cwd`). Members and roots
    /// are looked up as git sees the worktree when there is one, with the filesystem alone when not.
    pub fn open(cwd: &Path, config: &ConfigAt) -> Result<Loaded, CliError> {
        let path = match config_path(cwd, config.file.as_deref()) {
            Ok(path) => path,
            Err(CliError::Config(not_found @ ConfigError::NotFound { .. })) => {
                return Loaded::discovered(cwd, not_found)
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
                            Some(parsed) => {
                                config::load_reusing(&path, &mut dirs, &parsed, &|| {
                                    cache.make_config_dir()
                                })?
                            }
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
                if ws.services.is_empty() {
                    warn_if_discovery_would_find(&repo, &ws);
                }
                warn_turbo_ignored(&ws);
                Ok(Loaded { ws, repo: Ok(repo) })
            }
            Err(e) => {
                tracing::debug!("reading {} without a repository: {e}", path.display());
                Ok(Loaded {
                    ws: config::load(&path)?,
                    repo: Err(e),
                })
            }
        }
    }

    /// No pipeline.toml up to the repository root: the workspace discovered from that root, said
    /// in one line on stderr; `not_found` when there is nothing to discover. Outside a repository
    /// that is the error (exit 3), since no command can work there without a config.
    fn discovered(cwd: &Path, not_found: ConfigError) -> Result<Loaded, CliError> {
        let repo = Repo::discover(cwd)?;
        let root = std::fs::canonicalize(repo.workdir()).unwrap_or_else(|_| repo.workdir().into());
        let found = match repo.workspace_dirs(&root)? {
            Some(mut dirs) => config::discover_only(&root, &mut dirs)?,
            None => config::discover_only(&root, &mut config::FsDirs::new(&root))?,
        };
        let Some(ws) = found else {
            return Err(not_found.into());
        };
        let tasks = match ws.targets_file.file_name() {
            Some(name) if ws.targets_file != ws.config_path => {
                format!("; tasks from {}", name.to_string_lossy())
            }
            _ => String::new(),
        };
        // Said once per process: `watch` loads the workspace again on every round.
        if first_time(&SAID_DISCOVERED) {
            eprintln!(
                "no {}: {}{tasks}",
                config::CONFIG_FILE,
                crate::report::init::found(&ws)
            );
        }
        warn_turbo_ignored(&ws);
        Ok(Loaded { ws, repo: Ok(repo) })
    }

    /// The workspace with its repository, or the reason there is none.
    pub fn into_context(self) -> Result<Context, CliError> {
        let Loaded { ws, repo } = self;
        let repo = repo?;
        let prefix = match ws.root.strip_prefix(repo.workdir()) {
            Ok(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => {
                return Err(CliError::Usage(format!(
                    "{} is not inside the repository at {}; keep pipeline.toml in the repository",
                    ws.config_path.display(),
                    repo.workdir().display()
                )))
            }
        };
        Ok(Context { ws, repo, prefix })
    }
}

impl Context {
    /// Lets this command's worktree scans ask the file monitor that the environment, or else
    /// the config, chooses. Its state lives beside the default cache, in the worktree. `watch`'s
    /// own watcher, when there is one, is the monitor.
    pub fn watch(&mut self, fs: &FsMonitorSettings) {
        if let Some(seen) = &fs.seen {
            self.repo.use_seen_changes(seen.clone());
        } else if fs.kind(self.ws.fsmonitor) == FsMonitorKind::Watchman {
            let state = self
                .repo
                .workdir()
                .join(".shockwave")
                .join("fsmonitor.json");
            self.repo.use_fsmonitor(FsMonitor {
                sock: fs.watchman_sock.clone(),
                timeout: fs.timeout,
                state,
                full_scan_runs: fs.full_scan_runs,
                full_scan_after: fs.full_scan_after,
            });
        }
    }
}

static SAID_DISCOVERED: AtomicBool = AtomicBool::new(false);
static SAID_TURBO: AtomicBool = AtomicBool::new(false);

/// Whether `flag` was not set yet (it is now).
fn first_time(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::Relaxed)
}

/// turbo.json keys that change nothing here, named once.
fn warn_turbo_ignored(ws: &Workspace) {
    if !ws.turbo_ignored.is_empty() && first_time(&SAID_TURBO) {
        tracing::warn!(
            "turbo.json keys with no equivalent in shockwave are ignored: {} (see the README's \"Coming from Turborepo\")",
            ws.turbo_ignored.join(", ")
        );
    }
}

/// A pipeline.toml that yields no service where discovery would find some (a `[workspace]`
/// table alone turns discovery off) would make every command answer "nothing affected": say so,
/// with the line to add.
fn warn_if_discovery_would_find(repo: &Repo, ws: &Workspace) {
    let found = match repo.workspace_dirs(&ws.root) {
        Ok(Some(mut dirs)) => config::discover_only(&ws.root, &mut dirs),
        _ => config::discover_only(&ws.root, &mut config::FsDirs::new(&ws.root)),
    };
    match found {
        Ok(Some(discovered)) => tracing::warn!(
            "{} declares no services, but the workspace holds {}: add `discover = \"auto\"` under `[workspace]` to use them (or list them in `members`)",
            ws.config_path.display(),
            crate::report::init::found(&discovered)
        ),
        Ok(None) => {}
        // Manifests discovery cannot read: the config did not ask for them, so stay quiet.
        Err(e) => tracing::debug!("discovery in a config without services: {e}"),
    }
}

fn config_path(cwd: &Path, config: Option<&Path>) -> Result<PathBuf, CliError> {
    Ok(match config {
        Some(p) => {
            if p.symlink_metadata().is_err() {
                return Err(CliError::Usage(format!(
                    "--config {}: no such file; pass the path of a pipeline.toml",
                    p.display()
                )));
            }
            p.to_path_buf()
        }
        None => config::find(cwd)?,
    })
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

/// `--cache-dir` (relative to `cwd`), or `.shockwave/cache` under the repository worktree.
pub(crate) fn cache_dir(workdir: &Path, cwd: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => cwd.join(p),
        None => workdir.join(".shockwave").join("cache"),
    }
}
