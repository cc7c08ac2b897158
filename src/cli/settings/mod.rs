//! `Settings`: the command line (`args.rs`) and the environment (`env.rs`) resolved into one
//! validated value before any git or disk work, so that a usage error exits 2 wherever it is run:
//! here each command's settings; the range and selection (`range`), the remote cache (`remote`)
//! and the file monitor (`monitor`) in their own files. What can only be checked against the
//! config — a base to compare with, service and target names — is checked by the engine's session
//! right after it reads the config, and still before git. Nothing here reads a file or the
//! repository.

mod monitor;
mod range;
mod remote;

use std::path::PathBuf;
use std::time::Duration;

pub(crate) use self::range::range_flags;
use self::range::{parse_filters, range, select};
pub use self::remote::RemoteSettings;
use super::args::{
    AffectedArgs, AffectedFormat, CacheAction, Cli, Command, DryRunFormat, GraphArgs, GraphFormat,
    HashArgs, KindArg, LsFormat, RunArgs,
};
use super::env::{BaseEnv, Env, RemoteEnv};
use super::CliError;
use shockwave_core::cache::parse_size;
use shockwave_core::engine::{ConfigLocation, FileMonitor, Range, Select};
use shockwave_core::filter::Selector;

/// Everything a command needs to know about how it was invoked.
#[derive(Debug)]
pub struct Settings {
    /// `--config`, and the cache directory that also keeps the config's parsed form.
    pub config: ConfigLocation,
    pub env: Env,
    pub command: CommandSettings,
    pub fsmonitor: FileMonitor,
}

#[derive(Debug)]
pub enum CommandSettings {
    Check,
    Init,
    Ls(LsSettings),
    Completions(clap_complete::Shell),
    Man,
    Schema,
    Affected(AffectedSettings),
    Graph(GraphSettings),
    // Boxed: the largest by far.
    Run(Box<RunSettings>),
    Watch(Box<WatchSettings>),
    Hash(HashSettings),
    Cache(CacheSettings),
    Report {
        files: Vec<PathBuf>,
        merge_json: Option<PathBuf>,
    },
}

#[derive(Debug)]
pub struct AffectedSettings {
    pub range: Range,
    pub format: AffectedFormat,
    /// `--explain SERVICE`, which replaces the format's output.
    pub explain: Option<String>,
    /// `--shards N` (with `--target`s): the `shards` output of `--format github`.
    pub shards: Option<(usize, Vec<String>)>,
    /// `--kind`: list only units of this kind.
    pub kind: Option<shockwave_core::discover::Kind>,
    /// `--filter`: list only the affected services these pick.
    pub filters: Vec<Selector>,
}

/// `ls`: how to print, and which services.
#[derive(Debug)]
pub struct LsSettings {
    pub format: LsFormat,
    pub filters: Vec<Selector>,
}

#[derive(Debug)]
pub struct GraphSettings {
    pub format: GraphFormat,
    /// `--filter`: only the services these pick.
    pub filters: Vec<Selector>,
    /// `--affected`: only the services this range affects.
    pub affected: Option<Range>,
}

#[derive(Debug)]
pub struct RunSettings {
    pub targets: Vec<String>,
    pub select: Select,
    /// At least 1.
    pub jobs: usize,
    pub keep_going: bool,
    pub dry_run: Option<DryRunFormat>,
    pub no_cache: bool,
    pub summary: Option<PathBuf>,
    pub stream: bool,
    pub cache_dir: Option<PathBuf>,
    pub heartbeat: Option<Duration>,
    pub remote: RemoteSettings,
    /// `--shard K/N` or `--shards N` (boxed: most runs are not split).
    pub shard: Option<Box<ShardSettings>>,
}

/// `watch`: a run's settings, and how changes are waited for.
#[derive(Debug)]
pub struct WatchSettings {
    pub run: RunSettings,
    /// Quiet time after a change before a round starts.
    pub debounce: Duration,
    /// Poll instead of the OS's notifications.
    pub poll: bool,
}

/// How a run is split over CI jobs.
#[derive(Debug)]
pub struct ShardSettings {
    pub count: usize,
    /// `--shard K/N`: this job is shard K (0-based here); `None` for `--shards N`, which lists
    /// the split (dry runs only).
    pub this: Option<usize>,
    /// `--timings FILE...`
    pub timings: Vec<PathBuf>,
}

#[derive(Debug)]
pub enum HashSettings {
    /// `--diff A B`
    Diff(PathBuf, PathBuf),
    List {
        targets: Vec<String>,
        // Boxed: far larger than the other variant.
        select: Box<Select>,
        format: HashFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFormat {
    Text,
    /// `--explain`: every input of every task.
    Explain,
    Json,
}

#[derive(Debug)]
pub struct CacheSettings {
    pub dir: Option<PathBuf>,
    pub action: CacheCommand,
    /// For `cache stats`, which also reports the remote cache.
    pub remote: RemoteSettings,
}

#[derive(Debug)]
pub enum CacheCommand {
    Stats,
    Clean,
    Prune { max_bytes: u64 },
}

impl Settings {
    /// Resolves and validates `cli` in the environment `env`, reading nothing else.
    pub fn resolve(cli: Cli, mut env: Env) -> Result<Settings, CliError> {
        let remote_env = std::mem::take(&mut env.remote);
        let fsmonitor = monitor::file_monitor(std::mem::take(&mut env.fsmonitor))?;
        let command = match cli.command {
            Command::Check => CommandSettings::Check,
            Command::Init => CommandSettings::Init,
            Command::Ls(l) => CommandSettings::Ls(LsSettings {
                format: l.format,
                filters: parse_filters(&l.filter)?,
            }),
            Command::Completions { shell } => CommandSettings::Completions(shell),
            Command::Man => CommandSettings::Man,
            Command::Schema => CommandSettings::Schema,
            Command::Affected(a) => {
                CommandSettings::Affected(AffectedSettings::resolve(a, &env.base)?)
            }
            Command::Graph(g) => CommandSettings::Graph(GraphSettings::resolve(g, &env.base)?),
            Command::Run(r) => {
                CommandSettings::Run(Box::new(RunSettings::resolve(r, remote_env, &env.base)?))
            }
            Command::Watch(w) => {
                let debounce = Duration::from_millis(w.debounce);
                let poll = w.poll;
                let run = RunArgs {
                    targets: w.targets,
                    select: w.select,
                    jobs: w.jobs,
                    keep_going: w.keep_going,
                    dry_run: None,
                    no_cache: w.no_cache,
                    no_remote_cache: w.no_remote_cache,
                    remote_cache_read_only: false,
                    summary: None,
                    stream: w.stream,
                    cache_dir: w.cache_dir,
                    shard: None,
                    shards: None,
                    timings: Vec::new(),
                    heartbeat_secs: 0,
                };
                CommandSettings::Watch(Box::new(WatchSettings {
                    run: RunSettings::resolve(run, remote_env, &env.base)?,
                    debounce,
                    poll,
                }))
            }
            Command::Hash(h) => CommandSettings::Hash(HashSettings::resolve(h, &env.base)?),
            Command::Cache(c) => CommandSettings::Cache(CacheSettings {
                remote: RemoteSettings::resolve(remote_env, false, false)?,
                dir: c.cache_dir,
                action: match c.action {
                    CacheAction::Stats => CacheCommand::Stats,
                    CacheAction::Clean => CacheCommand::Clean,
                    CacheAction::Prune { max_size } => CacheCommand::Prune {
                        max_bytes: parse_size(&max_size)
                            .map_err(|e| CliError::Usage(format!("--max-size: {e}")))?,
                    },
                },
            }),
            Command::Report(r) => CommandSettings::Report {
                files: r.files,
                merge_json: r.merge_json,
            },
        };
        // `run` and `cache` have `--cache-dir` (clap reads the variable there); the other
        // commands only keep the parsed config in the cache, wherever the variable moves it.
        let cache_dir = match &command {
            CommandSettings::Run(r) => r.cache_dir.clone(),
            CommandSettings::Watch(w) => w.run.cache_dir.clone(),
            CommandSettings::Cache(c) => c.dir.clone(),
            _ => env.cache_dir.clone(),
        };
        // `run --no-cache` leaves the cache alone, and `cache` only inspects it.
        let keep_parsed = match &command {
            CommandSettings::Run(r) => !r.no_cache,
            CommandSettings::Cache(_) => false,
            _ => true,
        };
        Ok(Settings {
            config: ConfigLocation {
                file: cli.global.config,
                cache_dir,
                keep_parsed,
            },
            env,
            command,
            fsmonitor,
        })
    }
}

impl AffectedSettings {
    fn resolve(a: AffectedArgs, env: &BaseEnv) -> Result<AffectedSettings, CliError> {
        if a.shards.is_some() && a.format != AffectedFormat::Github {
            return Err(CliError::Usage(
                "--shards adds the `shards` output of --format github; add --format github".into(),
            ));
        }
        Ok(AffectedSettings {
            range: range(a.range, env)?,
            format: a.format,
            explain: a.explain,
            shards: a.shards.map(|n| (n, a.target)),
            kind: a.kind.map(KindArg::kind),
            filters: parse_filters(&a.filter)?,
        })
    }
}

impl GraphSettings {
    fn resolve(g: GraphArgs, env: &BaseEnv) -> Result<GraphSettings, CliError> {
        // Without `--affected` the range flags select nothing, so they are not checked either.
        Ok(GraphSettings {
            format: g.format,
            filters: parse_filters(&g.filter)?,
            affected: g.affected.then(|| range(g.range, env)).transpose()?,
        })
    }
}

impl RunSettings {
    fn resolve(a: RunArgs, remote: RemoteEnv, env: &BaseEnv) -> Result<RunSettings, CliError> {
        if a.jobs == Some(0) {
            return Err(CliError::Usage(
                "-j 0: the number of parallel tasks must be at least 1".into(),
            ));
        }
        let shard = match (a.shard, a.shards) {
            (Some(s), _) => Some(Box::new(ShardSettings {
                count: s.count,
                this: Some(s.index - 1),
                timings: a.timings,
            })),
            (None, Some(_)) if a.dry_run.is_none() => {
                return Err(CliError::Usage(
                    "--shards N shows how a run would split; add --dry-run (or --dry-run=json), or run one shard with --shard K/N".into(),
                ))
            }
            (None, Some(count)) => Some(Box::new(ShardSettings {
                count,
                this: None,
                timings: a.timings,
            })),
            (None, None) if !a.timings.is_empty() => {
                return Err(CliError::Usage(
                    "--timings balances shards; add --shard K/N (or --shards N --dry-run)".into(),
                ))
            }
            (None, None) => None,
        };
        Ok(RunSettings {
            shard,
            targets: a.targets,
            select: select(a.select, env)?,
            jobs: a
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            keep_going: a.keep_going,
            dry_run: a.dry_run,
            no_cache: a.no_cache,
            summary: a.summary,
            stream: a.stream,
            cache_dir: a.cache_dir,
            heartbeat: (a.heartbeat_secs > 0).then(|| Duration::from_secs(a.heartbeat_secs)),
            remote: RemoteSettings::resolve(
                remote,
                a.no_cache || a.no_remote_cache,
                a.remote_cache_read_only,
            )?,
        })
    }
}

impl HashSettings {
    fn resolve(a: HashArgs, env: &BaseEnv) -> Result<HashSettings, CliError> {
        if let Some(files) = a.diff {
            let mut files = files.into_iter();
            return match (files.next(), files.next()) {
                (Some(x), Some(y)) => Ok(HashSettings::Diff(x, y)),
                // clap takes exactly two values for `--diff`.
                _ => Err(CliError::Usage("--diff takes two files, A and B".into())),
            };
        }
        Ok(HashSettings::List {
            targets: a.targets,
            select: Box::new(select(a.select, env)?),
            format: if a.json {
                HashFormat::Json
            } else if a.explain {
                HashFormat::Explain
            } else {
                HashFormat::Text
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use shockwave_core::engine::SelectBy;

    /// Why a command line was refused: by clap, or when its values were resolved.
    #[derive(Debug, thiserror::Error)]
    enum Refused {
        #[error(transparent)]
        Parse(#[from] clap::Error),
        #[error(transparent)]
        Resolve(#[from] CliError),
    }

    fn resolve(args: &[&str]) -> Result<CommandSettings, Refused> {
        let cli = Cli::try_parse_from(std::iter::once("shockwave").chain(args.iter().copied()))?;
        Ok(Settings::resolve(cli, Env::read())?.command)
    }

    #[test]
    fn flags_that_contradict_each_other_are_refused_without_reading_anything() {
        for args in [
            &["affected", "--head", "x", "--uncommitted"][..],
            &["run", "build", "--head", "x", "--uncommitted"],
            &["run", "build", "--all", "-j", "0"],
            &["cache", "prune", "--max-size", "lots"],
        ] {
            assert!(resolve(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn a_selection_by_name_lists_the_range_flags_it_ignores() {
        let Ok(CommandSettings::Run(r)) = resolve(&[
            "run",
            "build",
            "--service",
            "a",
            "--base",
            "main",
            "--uncommitted",
            "--dependents",
            "none",
        ]) else {
            panic!("not a run");
        };
        assert!(matches!(&r.select.by, SelectBy::Services(names) if names == &["a"]));
        assert_eq!(
            r.select.ignored,
            ["--base", "--uncommitted", "--dependents"]
        );
    }

    #[test]
    fn values_are_resolved_once() {
        let Ok(CommandSettings::Cache(c)) = resolve(&["cache", "prune", "--max-size", "2K"]) else {
            panic!("not a cache command");
        };
        assert!(matches!(c.action, CacheCommand::Prune { max_bytes: 2048 }));
        let Ok(CommandSettings::Run(r)) = resolve(&["run", "build", "--all"]) else {
            panic!("not a run");
        };
        assert!(r.jobs >= 1, "the default is the number of cores");
        let Ok(CommandSettings::Hash(HashSettings::Diff(a, b))) =
            resolve(&["hash", "--diff", "a.json", "b.json"])
        else {
            panic!("not a diff");
        };
        assert_eq!((a.to_str(), b.to_str()), (Some("a.json"), Some("b.json")));
    }
}
