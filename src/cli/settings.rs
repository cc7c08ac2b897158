//! `Settings`: the command line (`args.rs`) and the environment (`env.rs`) resolved into one
//! validated value before any git or disk work, so that a usage error exits 2 wherever it is run.
//! What can only be checked against the config — a base to compare with, service and target names
//! — is checked by the engine's session right after it reads the config, and still before git.
//! Nothing here reads a file or the repository.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::{
    AffectedArgs, AffectedFormat, CacheAction, Cli, Command, DependentsArg, DryRunFormat,
    GraphArgs, GraphFormat, HashArgs, KindArg, LsFormat, OnMissingBase, RangeArgs, RunArgs,
    SelectArgs,
};
use super::env::{BaseEnv, Env, FsMonitorEnv, RemoteEnv};
use super::CliError;
use crate::affected::Dependents;
use crate::cache::parse_size;
use crate::cache::remote::{RemoteConfig, Secret};
use crate::config::{FsMonitorKind, RemoteCacheFile};
use crate::engine::{ConfigLocation, FileMonitor, Range, Select, SelectBy};
use crate::filter::Selector;

/// The default per-request timeout of the remote cache.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one run waits for Watchman before it scans the worktree in full: a full scan of a
/// large repository takes about this long.
const FSMONITOR_TIMEOUT: Duration = Duration::from_millis(500);
/// With the file monitor on, a full scan at least every this many runs...
const FSMONITOR_FULL_SCAN_RUNS: u32 = 50;
/// ...and once the last one is this old.
const FSMONITOR_FULL_SCAN_AFTER: Duration = Duration::from_secs(300);
/// The most `SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS` may say.
const MAX_FULL_SCAN_RUNS: u32 = 10_000;

/// Everything a command needs to know about how it was invoked.
#[derive(Debug)]
pub struct Settings {
    /// `--config`, and the cache directory that also keeps the config's parsed form.
    pub config: ConfigLocation,
    pub env: Env,
    pub command: CommandSettings,
    pub fsmonitor: FileMonitor,
}

/// The file monitor as the environment sets it; `[workspace] fsmonitor` decides when
/// `SHOCKWAVE_FSMONITOR` is unset ([`FileMonitor::kind`]).
fn file_monitor(env: FsMonitorEnv) -> Result<FileMonitor, CliError> {
    let kind = match env.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("watchman") => Some(FsMonitorKind::Watchman),
        Some("off") => Some(FsMonitorKind::Off),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "SHOCKWAVE_FSMONITOR={other}: write `watchman` or `off`"
            )))
        }
    };
    let timeout = match env.timeout.as_deref() {
        None => FSMONITOR_TIMEOUT,
        Some(t) => crate::config::parse_duration(t)
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_FSMONITOR_TIMEOUT: {e}")))?,
    };
    let full_scan_runs = match env.full_scan_runs.as_deref() {
        None => FSMONITOR_FULL_SCAN_RUNS,
        Some(n) => n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=MAX_FULL_SCAN_RUNS).contains(n))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "SHOCKWAVE_FSMONITOR_FULL_SCAN_RUNS={n}: write a number of runs from 1 to {MAX_FULL_SCAN_RUNS}"
                ))
            })?,
    };
    let full_scan_after = match env.full_scan_after.as_deref() {
        None => FSMONITOR_FULL_SCAN_AFTER,
        Some(t) => crate::config::parse_duration(t)
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_FSMONITOR_FULL_SCAN_AFTER: {e}")))?,
    };
    Ok(FileMonitor {
        kind,
        timeout,
        watchman_sock: env.watchman_sock,
        full_scan_runs,
        full_scan_after,
        seen: None,
    })
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
    pub kind: Option<crate::discover::Kind>,
    /// `--filter`: list only the affected services these pick.
    pub filters: Vec<Selector>,
}

/// `ls`: how to print, and which services.
#[derive(Debug)]
pub struct LsSettings {
    pub format: LsFormat,
    pub filters: Vec<Selector>,
}

/// Each `--filter` parsed: a syntax error is a usage error, before anything is read.
fn parse_filters(raw: &[String]) -> Result<Vec<Selector>, CliError> {
    raw.iter()
        .map(|f| Selector::parse(f).map_err(|e| CliError::Usage(e.to_string())))
        .collect()
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

/// The remote cache as the flags and the environment set it, checked; the config file's
/// `[remote_cache]` fills in what they leave unset ([`RemoteSettings::config`]).
#[derive(Debug, Default)]
pub struct RemoteSettings {
    /// `--no-remote-cache` or `--no-cache`.
    pub off: bool,
    pub url: Option<String>,
    pub team: Option<String>,
    /// `--remote-cache-read-only`, or the variable.
    pub read_only: Option<bool>,
    pub signature: Option<bool>,
    pub timeout: Option<Duration>,
    pub token: Option<Secret>,
    pub signature_key: Option<Secret>,
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
        let fsmonitor = file_monitor(std::mem::take(&mut env.fsmonitor))?;
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

/// The range the flags ask for, the variables filling in a base and a head the flags leave
/// out.
fn range(a: RangeArgs, env: &BaseEnv) -> Result<Range, CliError> {
    if a.head.is_some() && a.uncommitted {
        return Err(CliError::Usage(
            "--uncommitted compares the worktree with HEAD, so it cannot be combined with --head; drop one of them".into(),
        ));
    }
    let (base, base_var) = match (a.base, &env.base) {
        (Some(b), _) => (Some(b), None),
        (None, Some((var, value))) => (Some(value.clone()), Some(*var)),
        (None, None) => (None, None),
    };
    let (head, head_var) = match (a.head, &env.head) {
        (Some(h), _) => (Some(h), None),
        (None, Some((var, value))) if a.uncommitted => {
            return Err(CliError::Usage(format!(
                "{var}={value} sets the head, and --uncommitted compares the worktree with HEAD; unset {var} or drop --uncommitted"
            )))
        }
        (None, Some((var, value))) => (Some(value.clone()), Some(*var)),
        (None, None) => (None, None),
    };
    Ok(Range {
        base,
        base_var,
        head,
        head_var,
        exact_base: a.exact_base,
        uncommitted: a.uncommitted,
        all_on_missing_base: a.on_missing_base == OnMissingBase::All,
        dependents: match a.dependents {
            DependentsArg::None => Dependents::None,
            DependentsArg::Direct => Dependents::Direct,
            DependentsArg::Transitive => Dependents::Transitive,
        },
        ci_base: env.ci_branch.clone(),
        push_before: env.push_before.clone(),
    })
}

/// The flags that select this range (and config) again, shell-quoted, for hints that print a
/// command: ` --config ci/pipeline.toml --base origin/main --uncommitted`.
pub(crate) fn range_flags(range: &Range, config: Option<&Path>) -> String {
    use crate::report::affected::shell_quote;
    let mut out = String::new();
    if let Some(c) = config {
        out.push_str(&format!(" --config {}", shell_quote(&c.to_string_lossy())));
    }
    if let Some(b) = &range.base {
        out.push_str(&format!(" --base {}", shell_quote(b)));
    }
    if let Some(h) = &range.head {
        out.push_str(&format!(" --head {}", shell_quote(h)));
    }
    if range.exact_base {
        out.push_str(" --exact-base");
    }
    if range.uncommitted {
        out.push_str(" --uncommitted");
    }
    if range.all_on_missing_base {
        out.push_str(" --on-missing-base all");
    }
    out
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

/// Which services a `run` or `hash` covers: by name, all, or what a range affects.
fn select(s: SelectArgs, env: &BaseEnv) -> Result<Select, CliError> {
    let r = s.range;
    let kind = s.kind.map(KindArg::kind);
    let filters = parse_filters(&s.filter)?;
    if !s.all && s.service.is_empty() {
        // With `--filter`, the range narrows the selection only when the command line asks
        // for one (`--affected`, `--base`, `--uncommitted`): a base from `default_base` or
        // a variable does not turn `--filter web...` into "web... if affected".
        let asked = s.affected || (!filters.is_empty() && (r.base.is_some() || r.uncommitted));
        let range = range(r, env)?;
        return Ok(Select {
            head: range.head.clone(),
            head_var: range.head_var,
            by: SelectBy::Affected { range, asked },
            ignored: Vec::new(),
            kind,
            filters,
        });
    }
    let ignored = [
        (r.base.is_some(), "--base"),
        (r.head.is_some(), "--head"),
        (r.exact_base, "--exact-base"),
        (r.uncommitted, "--uncommitted"),
        (
            r.on_missing_base != OnMissingBase::Fail,
            "--on-missing-base",
        ),
        (r.dependents != DependentsArg::Transitive, "--dependents"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect();
    let by = if s.all {
        SelectBy::All
    } else {
        SelectBy::Services(s.service)
    };
    // A selection by name has no range: the variables that name one do not apply.
    Ok(Select {
        head: r.head,
        head_var: None,
        by,
        ignored,
        kind,
        filters,
    })
}

impl RemoteSettings {
    fn resolve(env: RemoteEnv, off: bool, read_only: bool) -> Result<RemoteSettings, CliError> {
        let flag = |v: Option<(&str, String)>| -> Result<Option<bool>, CliError> {
            let Some((name, value)) = v else {
                return Ok(None);
            };
            match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(Some(true)),
                "0" | "false" | "no" => Ok(Some(false)),
                _ => Err(CliError::Usage(format!(
                    "{name}={value}: write 1 or 0 (true or false)"
                ))),
            }
        };
        if let Some(url) = &env.url {
            crate::config::check_url(url)
                .map_err(|e| CliError::Usage(format!("the remote cache URL: {e}")))?;
        }
        let timeout = env
            .timeout
            .as_deref()
            .map(crate::config::parse_duration)
            .transpose()
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_REMOTE_CACHE_TIMEOUT: {e}")))?;
        Ok(RemoteSettings {
            off,
            read_only: if read_only {
                Some(true)
            } else {
                flag(env.read_only)?
            },
            signature: flag(env.signature)?,
            url: env.url,
            team: env.team,
            timeout,
            token: env.token,
            signature_key: env.signature_key,
        })
    }

    /// The remote cache to use with the config file's `[remote_cache]`: `None` when it is off or
    /// has no URL. A URL without a team, or signatures without a key, are usage errors.
    pub fn config(&self, file: &RemoteCacheFile) -> Result<Option<RemoteConfig>, CliError> {
        let Some(url) = self.url.clone().or_else(|| file.url.clone()) else {
            return Ok(None);
        };
        if self.off {
            return Ok(None);
        }
        let team = self.team.clone().or_else(|| file.team.clone()).ok_or_else(|| {
            CliError::Usage(format!(
                "the remote cache {url} needs a team: set remote_cache.team in pipeline.toml or SHOCKWAVE_REMOTE_CACHE_TEAM"
            ))
        })?;
        let require_signature = self.signature.or(file.signature).unwrap_or(false);
        if require_signature && self.signature_key.is_none() {
            return Err(CliError::Usage(
                "remote_cache.signature is on but no key is set: set SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY (or TURBO_REMOTE_CACHE_SIGNATURE_KEY)".into(),
            ));
        }
        Ok(Some(RemoteConfig {
            url,
            team,
            read_only: self.read_only.or(file.read_only).unwrap_or(false),
            signature_key: self.signature_key.clone(),
            require_signature,
            timeout: self.timeout.or(file.timeout).unwrap_or(REMOTE_TIMEOUT),
            token: self.token.clone(),
        }))
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

    fn resolve(args: &[&str]) -> Result<CommandSettings, String> {
        let cli = Cli::try_parse_from(std::iter::once("shockwave").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Settings::resolve(cli, Env::read())
            .map(|s| s.command)
            .map_err(|e| e.to_string())
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

    #[test]
    fn the_remote_is_resolved_from_flags_environment_and_file() {
        let file = RemoteCacheFile {
            url: Some("https://file.example".into()),
            team: Some("file-team".into()),
            read_only: Some(false),
            signature: None,
            timeout: Some(Duration::from_secs(5)),
        };
        let env = |pairs: &[(&'static str, &str)]| RemoteEnv {
            url: pairs.iter().find(|p| p.0 == "url").map(|p| p.1.to_string()),
            read_only: pairs
                .iter()
                .find(|p| p.0 == "ro")
                .map(|p| ("SHOCKWAVE_REMOTE_CACHE_READ_ONLY", p.1.to_string())),
            signature: pairs
                .iter()
                .find(|p| p.0 == "sig")
                .map(|p| ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE", p.1.to_string())),
            ..RemoteEnv::default()
        };
        let resolve = |e: RemoteEnv, off: bool, ro: bool| RemoteSettings::resolve(e, off, ro);
        let c = resolve(env(&[("url", "http://env.example")]), false, false)
            .unwrap()
            .config(&file)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.url.as_str(), c.team.as_str()),
            ("http://env.example", "file-team")
        );
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(!c.read_only && !c.require_signature && c.token.is_none());
        let ro = resolve(env(&[("ro", "1")]), false, false).unwrap();
        assert!(ro.config(&file).unwrap().unwrap().read_only);
        let flag = resolve(env(&[("ro", "0")]), false, true).unwrap();
        assert!(
            flag.config(&file).unwrap().unwrap().read_only,
            "the flag wins"
        );
        let off = resolve(env(&[]), true, false).unwrap();
        assert!(off.config(&file).unwrap().is_none());
        let none = resolve(env(&[]), false, false).unwrap();
        assert!(none.config(&RemoteCacheFile::default()).unwrap().is_none());
        let no_key = resolve(env(&[("sig", "true")]), false, false).unwrap();
        assert!(no_key
            .config(&file)
            .unwrap_err()
            .to_string()
            .contains("no key"));
        let no_team = RemoteCacheFile {
            team: None,
            ..file.clone()
        };
        assert!(none
            .config(&no_team)
            .unwrap_err()
            .to_string()
            .contains("needs a team"));
        assert!(resolve(env(&[("ro", "perhaps")]), false, false).is_err());
        assert!(resolve(env(&[("url", "ftp://x")]), false, false).is_err());
    }
}
