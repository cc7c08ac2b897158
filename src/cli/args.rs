//! The command line as clap sees it: raw values, no I/O. `Settings` (in `mod.rs`) resolves them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "shockwave",
    version,
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
    #[command(flatten)]
    pub range: RangeArgs,
}
