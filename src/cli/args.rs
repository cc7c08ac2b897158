//! The command line as clap sees it: raw values, no I/O and no checks beyond clap's own.
//! [`Settings`](super::Settings) (`settings/`) resolves and validates them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use shockwave_core::shard::{ShardError, ShardSpec};

fn parse_shard(s: &str) -> Result<ShardSpec, ShardError> {
    s.parse::<ShardSpec>()
}

/// `shockwave --version`: the release and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHOCKWAVE_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "shockwave",
    version = VERSION,
    about = "Which services does this change touch? Then build, test and deploy only those.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path to pipeline.toml (default: search upwards from the current directory)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the services affected by a change, and why
    Affected(AffectedArgs),
    /// Print the service dependency graph
    Graph(GraphArgs),
    /// Validate pipeline.toml and print a one-line summary
    Check,
    /// Run targets of the affected (or selected) services, in parallel, skipping cached work
    Run(RunArgs),
    /// Print each task's hash, or explain the difference between two hash listings
    Hash(HashArgs),
    /// Inspect or trim the local cache
    Cache(CacheArgs),
    /// Render a run summary (run --summary FILE) as Markdown for a pull request
    Report(ReportArgs),
    /// Write a pipeline.toml listing the services workspace discovery finds
    Init,
    /// Run targets, then rerun exactly what each save affects; restart dev servers
    Watch(WatchArgs),
    /// List the services with their kind, root and targets
    Ls(LsArgs),
    /// Print a shell completion script (e.g. `shockwave completions bash > /etc/bash_completion.d/shockwave`)
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `shockwave man | man -l -`)
    Man,
    /// Print the JSON Schema of pipeline.toml, for editors that check and complete it
    Schema,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Targets to run and keep up to date, e.g. `build test` or `dev`
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Parallel tasks (default: number of cores)
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep running what does not depend on a failed task
    #[arg(long = "continue")]
    pub keep_going: bool,
    /// Neither read nor write the cache (local and remote)
    #[arg(long)]
    pub no_cache: bool,
    /// Neither read nor write the remote cache; the local one is used
    #[arg(long)]
    pub no_remote_cache: bool,
    /// Stream output as it happens, each line prefixed with `service:target`
    #[arg(long)]
    pub stream: bool,
    /// Cache directory (default: .shockwave/cache under the repository root)
    #[arg(long, env = "SHOCKWAVE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Milliseconds of quiet after a change before a round starts
    #[arg(
        long,
        env = "SHOCKWAVE_WATCH_DEBOUNCE_MS",
        value_name = "MS",
        default_value_t = 100
    )]
    pub debounce: u64,
    /// Look for changes every second instead of asking the OS (network file systems, containers)
    #[arg(long)]
    pub poll: bool,
}

/// `--filter`, Turborepo's selector syntax.
pub const FILTER_HELP: &str = "Select services as Turborepo does (repeatable): `web`, `@acme/*`, `web...` (and its dependencies), `...web` (and its dependents), `./apps/*` or `{apps/web}` (folders), `[main]` (changed since main), `!docs` (exclude)";

/// Which services' tasks to include.
#[derive(Debug, Args, Clone)]
pub struct SelectArgs {
    /// The services affected by the change (default when a base is known)
    #[arg(long, conflicts_with_all = ["all", "service"])]
    pub affected: bool,
    /// Every service
    #[arg(long, conflicts_with = "service")]
    pub all: bool,
    /// These services (repeatable, or several names after one flag)
    #[arg(long, value_name = "NAME", num_args = 1.., action = clap::ArgAction::Append)]
    pub service: Vec<String>,
    #[arg(long, short = 'F', value_name = "SELECTOR", action = clap::ArgAction::Append, conflicts_with_all = ["all", "service"], help = FILTER_HELP)]
    pub filter: Vec<String>,
    /// With --affected or --all: only units of this kind (`service`: no Go library packages)
    #[arg(long, value_enum, value_name = "KIND", conflicts_with = "service")]
    pub kind: Option<KindArg>,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Targets to run, e.g. `build test`
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Parallel tasks (default: number of cores)
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep running what does not depend on a failed task
    #[arg(long = "continue")]
    pub keep_going: bool,
    /// Print the plan (hashes, cache status) without running anything; `--dry-run=json` for JSON
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "text", value_name = "FORMAT")]
    pub dry_run: Option<DryRunFormat>,
    /// Neither read nor write the cache (local and remote)
    #[arg(long)]
    pub no_cache: bool,
    /// Neither read nor write the remote cache; the local one is used
    #[arg(long)]
    pub no_remote_cache: bool,
    /// Read hits from the remote cache, never upload (pull requests from forks)
    #[arg(long)]
    pub remote_cache_read_only: bool,
    /// Write the run summary JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Stream output as it happens, each line prefixed with `service:target`
    #[arg(long)]
    pub stream: bool,
    /// Cache directory (default: .shockwave/cache under the repository root)
    #[arg(long, env = "SHOCKWAVE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Run shard K of N: a share of the requested tasks, balanced by --timings, and what they need
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with = "shards")]
    pub shard: Option<ShardSpec>,
    /// With --dry-run: show how the requested tasks split over N shards
    #[arg(long, value_name = "N", value_parser = shockwave_core::shard::parse_count)]
    pub shards: Option<usize>,
    /// Earlier run summaries whose durations balance the shards (repeatable; later files win)
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    pub timings: Vec<PathBuf>,
    /// Seconds between "still running" lines for a long command in a log (0: none)
    #[arg(
        long,
        env = "SHOCKWAVE_HEARTBEAT_SECS",
        value_name = "SECS",
        default_value_t = 60,
        hide = true
    )]
    pub heartbeat_secs: u64,
}

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Targets to hash
    #[arg(value_name = "TARGET", required_unless_present = "diff")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// List every input of every task
    #[arg(long, conflicts_with = "json")]
    pub explain: bool,
    /// Machine-readable output (the input of --diff)
    #[arg(long)]
    pub json: bool,
    /// Compare two `hash --json` outputs or run summaries and say which inputs differ
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["targets", "explain", "json"])]
    pub diff: Option<Vec<PathBuf>>,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
    /// Cache directory (default: .shockwave/cache under the repository root)
    #[arg(long, env = "SHOCKWAVE_CACHE_DIR", value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Number of entries, size and the time they can save
    Stats,
    /// Remove every entry
    Clean,
    /// Remove least recently used entries until the cache fits in SIZE
    Prune {
        /// e.g. 500M, 2G (binary units)
        #[arg(long, value_name = "SIZE")]
        max_size: String,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Summaries written by `run --summary FILE`; several (the shards of a run) are merged
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Also write the merged summary to OUT (usable as the next run's --timings)
    #[arg(long, value_name = "OUT")]
    pub merge_json: Option<PathBuf>,
}

/// Which commits (and worktree changes) to compare.
#[derive(Debug, Args, Clone)]
pub struct RangeArgs {
    /// Base revision (default: workspace.default_base); any revspec git accepts
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Head revision
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Compare base..head as they are, instead of from merge-base(base, head)
    #[arg(long)]
    pub exact_base: bool,
    /// Add staged, unstaged and untracked files (alone: the worktree against HEAD)
    #[arg(long)]
    pub uncommitted: bool,
    /// What to do when the base is not in the clone (shallow clone, unfetched ref)
    #[arg(long, value_enum, default_value_t = OnMissingBase::Fail, value_name = "POLICY")]
    pub on_missing_base: OnMissingBase,
    /// How far changes spread to dependents
    #[arg(long, value_enum, default_value_t = DependentsArg::Transitive, value_name = "MODE")]
    pub dependents: DependentsArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMissingBase {
    /// Exit with code 3 and say how to fetch the base
    Fail,
    /// Treat every service as affected (reason `missing_base`)
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DependentsArg {
    None,
    Direct,
    Transitive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AffectedFormat {
    Text,
    Json,
    Names,
    Github,
    /// The affected Go packages as `go test` arguments (`./pkg/auth ./tsdb`), on one line
    Gotest,
}

/// Which kind of unit to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Deployable services (npm and Cargo packages, Go modules and binaries)
    Service,
    /// Go library packages, tested on their own
    Package,
}

impl KindArg {
    pub fn kind(self) -> shockwave_core::discover::Kind {
        match self {
            KindArg::Service => shockwave_core::discover::Kind::Service,
            KindArg::Package => shockwave_core::discover::Kind::Package,
        }
    }
}

#[derive(Debug, Args)]
pub struct AffectedArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = AffectedFormat::Text)]
    pub format: AffectedFormat,
    /// Print the full reasoning for one service (affected or not)
    #[arg(long, value_name = "SERVICE", conflicts_with = "format")]
    pub explain: Option<String>,
    /// With --format github: also write `shards`, a matrix of `run --shard K/N` jobs
    #[arg(long, value_name = "N", value_parser = shockwave_core::shard::parse_count)]
    pub shards: Option<usize>,
    /// With --shards: the targets the shard jobs run, so that shards with nothing to do are left out
    #[arg(long, value_name = "TARGET", num_args = 1.., action = clap::ArgAction::Append, requires = "shards")]
    pub target: Vec<String>,
    /// List only units of this kind (`service` for a deploy matrix)
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<KindArg>,
    /// List only the affected services these selectors pick (Turborepo's syntax, repeatable)
    #[arg(long, short = 'F', value_name = "SELECTOR", action = clap::ArgAction::Append)]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Only the affected services (uses --base/--head/--uncommitted)
    #[arg(long)]
    pub affected: bool,
    /// Only the services these selectors pick (Turborepo's syntax, repeatable)
    #[arg(long, short = 'F', value_name = "SELECTOR", action = clap::ArgAction::Append)]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub range: RangeArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    #[arg(long, value_enum, default_value_t = LsFormat::Text)]
    pub format: LsFormat,
    #[arg(long, short = 'F', value_name = "SELECTOR", action = clap::ArgAction::Append, help = FILTER_HELP)]
    pub filter: Vec<String>,
}
