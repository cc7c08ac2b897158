//! The edge of the program: parses arguments, resolves settings, calls the engine, hands results to
//! reporters and maps every error to its documented exit code. The only module that knows clap, the
//! terminal and exit codes.

mod args;
mod error;
mod hash_diff;
mod logging;
mod run;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use tracing::warn;

pub use args::Cli;
use args::{
    AffectedArgs, AffectedFormat, Command, DependentsArg, GraphArgs, GraphFormat, OnMissingBase,
    RangeArgs,
};
pub use error::{CliError, ExitCode};

use crate::affected::{self, Affected, Dependents, Reason};
use crate::config::{self, Workspace};
use crate::report::affected::AffectedView;
use crate::report::graph::GraphView;
use crate::report::style::Style;
use crate::scm::{ChangeQuery, Changes, Repo, ScmError};

/// Runs the program and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            let _ = e.print();
            return code as i32;
        }
    };
    logging::init(cli.global.verbose, cli.global.quiet, stderr_style().color);
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    };
    // Output that could not be written is a failure, not a success with nothing to show; a closed
    // pipe is not (the reader had what it wanted).
    match crate::report::output::take_failure() {
        Some(source) if code == ExitCode::Success => {
            print_error(&CliError::Io {
                action: "write to stdout".into(),
                source,
            });
            ExitCode::TaskFailed as i32
        }
        _ => code as i32,
    }
}

/// Writes an error to stderr; a stderr that is gone is not worth a panic.
fn print_error(e: &CliError) {
    let _ = writeln!(std::io::stderr(), "{}", e.render(stderr_style()));
}

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

pub(crate) fn stdout_style() -> Style {
    Style {
        color: color_allowed() && std::io::stdout().is_terminal(),
    }
}

pub(crate) fn stderr_style() -> Style {
    Style {
        color: color_allowed() && std::io::stderr().is_terminal(),
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::Io {
        action: "read the current directory".into(),
        source: e,
    })?;
    match cli.command {
        Command::Check => cmd_check(&cwd, cli.global.config.as_deref()),
        Command::Affected(a) => cmd_affected(&cwd, cli.global.config.as_deref(), a),
        Command::Graph(g) => cmd_graph(&cwd, cli.global.config.as_deref(), g),
        Command::Run(r) => run::cmd_run(&cwd, cli.global.config.as_deref(), r),
        Command::Hash(h) => run::cmd_hash(&cwd, cli.global.config.as_deref(), h),
        Command::Cache(c) => run::cmd_cache(&cwd, cli.global.config.as_deref(), c),
        Command::Report(r) => run::cmd_report(r),
    }
}

/// The loaded workspace and its repository.
pub(crate) struct Context {
    pub ws: Workspace,
    pub repo: Repo,
    /// The workspace root relative to the repository worktree (`""` when they coincide).
    pub prefix: String,
}

pub(crate) fn load_workspace(cwd: &Path, config: Option<&Path>) -> Result<Workspace, CliError> {
    let path = config_path(cwd, config)?;
    // Members and roots are looked up as git sees the worktree when there is one; `check` also
    // works outside a repository, with the filesystem alone.
    match Repo::discover(&config::workspace_root(&path)) {
        Ok(repo) => load_in_repo(&path, &repo),
        Err(e) => {
            tracing::debug!("reading {} without a repository: {e}", path.display());
            Ok(config::load(&path)?)
        }
    }
}

fn load_in_repo(path: &Path, repo: &Repo) -> Result<Workspace, CliError> {
    match repo.workspace_dirs(&config::workspace_root(path))? {
        Some(mut dirs) => Ok(config::load_with(path, &mut dirs)?),
        None => Ok(config::load(path)?),
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

pub(crate) fn load_context(cwd: &Path, config: Option<&Path>) -> Result<Context, CliError> {
    let path = config_path(cwd, config)?;
    let repo = match Repo::discover(&config::workspace_root(&path)) {
        Ok(repo) => repo,
        Err(e) => {
            // A broken config is reported before a git problem, as when no repository is needed.
            config::load(&path)?;
            return Err(e.into());
        }
    };
    let ws = load_in_repo(&path, &repo)?;
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

/// The result of resolving a range and computing what it affects.
pub(crate) struct AffectedResult {
    pub changes: Changes,
    pub affected: Affected,
    pub dependents: Dependents,
}

pub(crate) fn change_query(ctx: &Context, range: &RangeArgs) -> Result<ChangeQuery, CliError> {
    if range.head.is_some() && range.uncommitted {
        return Err(CliError::Usage(
            "--uncommitted compares the worktree with HEAD, so it cannot be combined with --head; drop one of them".into(),
        ));
    }
    if range.head.is_some() && range.base.is_none() && ctx.ws.default_base.is_none() {
        return Err(CliError::Usage(
            "--head needs a base: pass --base REV or set workspace.default_base".into(),
        ));
    }
    let base = match (&range.base, range.uncommitted) {
        (Some(b), _) => Some(b.clone()),
        (None, true) => None,
        (None, false) => match &ctx.ws.default_base {
            Some(b) => Some(b.clone()),
            None => {
                return Err(CliError::Usage(
                    "no base revision: pass --base REV, set default_base in [workspace], or use --uncommitted".into(),
                ))
            }
        },
    };
    Ok(ChangeQuery {
        base,
        head: range.head.clone(),
        exact_base: range.exact_base,
        uncommitted: range.uncommitted,
    })
}

pub(crate) fn compute_affected(
    ctx: &Context,
    range: &RangeArgs,
) -> Result<AffectedResult, CliError> {
    let query = change_query(ctx, range)?;
    let dependents = match range.dependents {
        DependentsArg::None => Dependents::None,
        DependentsArg::Direct => Dependents::Direct,
        DependentsArg::Transitive => Dependents::Transitive,
    };
    let changes = match ctx.repo.changes(&query) {
        Ok(c) => c,
        Err(e) if range.on_missing_base == OnMissingBase::All && is_base_problem(&e, &query) => {
            warn!("{e}");
            warn!("--on-missing-base all: treating every service as affected");
            let detail = e.to_string();
            let changes = Changes {
                base: query.base.clone(),
                head: query.head.clone().unwrap_or_else(|| "HEAD".into()),
                base_id: None,
                head_id: None,
                merge_base: None,
                files: Vec::new(),
                uncommitted: query.uncommitted,
            };
            let affected = Affected::everything(&ctx.ws, Reason::MissingBase { detail });
            return Ok(AffectedResult {
                changes,
                affected,
                dependents,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mut changes = changes;
    let products = affected::drop_untracked_outputs(&ctx.ws, &ctx.prefix, &mut changes);
    if products > 0 {
        tracing::debug!("{products} untracked files are declared outputs, not changes");
    }
    let affected = affected::compute(&ctx.ws, &ctx.prefix, changes.paths(), dependents);
    if ctx.ws.unowned == config::UnownedPolicy::Warn && !affected.unowned_files.is_empty() {
        let n = affected.unowned_files.len();
        let first =
            bstr::ByteSlice::to_str_lossy(affected.unowned_files[0].as_slice()).into_owned();
        warn!(
            "{n} changed file{} owned by no service (first: {first}); add them to a service's `paths`, to `ignore`, or set unowned = \"ignore\"",
            if n == 1 { " is" } else { "s are" }
        );
    }
    Ok(AffectedResult {
        changes,
        affected,
        dependents,
    })
}

fn is_base_problem(e: &ScmError, q: &ChangeQuery) -> bool {
    match e {
        ScmError::MissingBase { .. } | ScmError::NoMergeBase { .. } => true,
        ScmError::UnknownRevision { rev, .. } => q.base.as_deref() == Some(rev.as_str()),
        _ => false,
    }
}

fn cmd_check(cwd: &Path, config: Option<&Path>) -> Result<ExitCode, CliError> {
    let ws = load_workspace(cwd, config)?;
    // Every task of every service: a cycle in `needs` is a config error, found here rather than by
    // the first `run` that reaches it.
    let every: Vec<config::ServiceId> = (0..ws.services.len()).collect();
    let targets: Vec<String> = ws.target_names.iter().cloned().collect();
    crate::tasks::TaskGraph::build(&ws, &every, &targets).map_err(|e| CliError::task(&ws, e))?;
    let edges: usize = ws.services.iter().map(|s| s.deps.len()).sum();
    let tasks: usize = ws.services.iter().map(|s| s.targets.len()).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let names = ws
        .target_names
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    write_stdout(&format!(
        "{}: ok — {}, {}, {}{}, {}\n",
        display_path(cwd, &ws.config_path),
        plural(ws.services.len(), "service", "services"),
        plural(edges, "dependency edge", "dependency edges"),
        plural(ws.target_names.len(), "target", "targets"),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({names})")
        },
        plural(tasks, "task", "tasks")
    ))?;
    Ok(ExitCode::Success)
}

fn cmd_affected(cwd: &Path, config: Option<&Path>, a: AffectedArgs) -> Result<ExitCode, CliError> {
    let ctx = load_context(cwd, config)?;
    let explain_id = match &a.explain {
        Some(name) => Some(service_id(&ctx.ws, name)?),
        None => None,
    };
    let result = compute_affected(&ctx, &a.range)?;
    let flags = range_flags(&a.range, config);
    let view = AffectedView {
        ws: &ctx.ws,
        changes: &result.changes,
        affected: &result.affected,
        dependents: result.dependents,
        range_flags: &flags,
    };
    let out = if let Some(id) = explain_id {
        view.explain(id, stdout_style())
    } else {
        match a.format {
            AffectedFormat::Text => view.text(stdout_style()),
            AffectedFormat::Json => format!("{:#}\n", view.json()),
            AffectedFormat::Names => view.names(),
            AffectedFormat::Github => {
                let lines = view.github();
                match std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty()) {
                    Some(path) => {
                        append_file(Path::new(&path), &lines)?;
                        format!(
                            "wrote affected, matrix and any ({} service{}) to $GITHUB_OUTPUT\n",
                            result.affected.count(),
                            if result.affected.count() == 1 {
                                ""
                            } else {
                                "s"
                            }
                        )
                    }
                    None => lines,
                }
            }
        }
    };
    write_stdout(&out)?;
    Ok(ExitCode::Success)
}

fn cmd_graph(cwd: &Path, config: Option<&Path>, g: GraphArgs) -> Result<ExitCode, CliError> {
    let (ws, affected) = if g.affected {
        let ctx = load_context(cwd, config)?;
        let r = compute_affected(&ctx, &g.range)?;
        let set: Vec<bool> = (0..ctx.ws.services.len())
            .map(|i| r.affected.is_affected(i))
            .collect();
        (ctx.ws, Some(set))
    } else {
        (load_workspace(cwd, config)?, None)
    };
    let view = GraphView {
        ws: &ws,
        only: affected.as_deref(),
        affected: affected.as_deref(),
    };
    let out = match g.format {
        GraphFormat::Dot => view.dot(),
        GraphFormat::Mermaid => view.mermaid(),
        GraphFormat::Json => format!("{:#}\n", view.json()),
    };
    write_stdout(&out)?;
    Ok(ExitCode::Success)
}

/// The flags that select the same range (and config) again, for hints that print a command.
pub(crate) fn range_flags(range: &RangeArgs, config: Option<&Path>) -> String {
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
    if range.on_missing_base == OnMissingBase::All {
        out.push_str(" --on-missing-base all");
    }
    out
}

pub(crate) fn service_id(ws: &Workspace, name: &str) -> Result<usize, CliError> {
    ws.service_id(name).ok_or_else(|| {
        let hint = crate::diagnostic::suggest(name, ws.service_names())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        CliError::Usage(format!(
            "no service named `{name}`; {hint}`shockwave graph --format json` lists them"
        ))
    })
}

/// Writes the product's output. Write errors surface once, when the command ends (see `main`).
pub(crate) fn write_stdout(s: &str) -> Result<(), CliError> {
    crate::report::output::Stdout::print(s);
    Ok(())
}

pub(crate) fn append_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| CliError::Io {
            action: format!("append to {}", path.display()),
            source: e,
        })
}

pub(crate) fn display_path(cwd: &Path, p: &Path) -> String {
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    match abs.strip_prefix(&cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => PathBuf::from(p).display().to_string(),
    }
}
