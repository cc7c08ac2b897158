//! `affected`: the services a range of changes affects, and why.

use std::path::Path;

use super::{append_file, print};
use crate::cli::env::Env;
use crate::cli::select::{change_query, compute_affected, service_id};
use crate::cli::settings::AffectedSettings;
use crate::cli::workspace::Loaded;
use crate::cli::{args::AffectedFormat, CliError, ExitCode};
use crate::report::affected::AffectedView;

pub(super) fn run(
    cwd: &Path,
    config: Option<&Path>,
    env: &Env,
    a: AffectedSettings,
) -> Result<ExitCode, CliError> {
    let loaded = Loaded::open(cwd, config)?;
    let explain = match &a.explain {
        Some(name) => Some(service_id(&loaded.ws, name)?),
        None => None,
    };
    let query = change_query(&loaded.ws, &a.range)?;
    let ctx = loaded.into_context()?;
    let impact = compute_affected(&ctx, &a.range, query)?;
    let flags = a.range.flags(config);
    let view = AffectedView {
        ws: &ctx.ws,
        changes: &impact.changes,
        affected: &impact.affected,
        dependents: impact.dependents,
        range_flags: &flags,
    };
    let out = match (explain, a.format) {
        (Some(id), _) => view.explain(id, env.stdout),
        (None, AffectedFormat::Text) => view.text(env.stdout),
        (None, AffectedFormat::Json) => format!("{:#}\n", view.json()),
        (None, AffectedFormat::Names) => view.names(),
        (None, AffectedFormat::Github) => {
            let lines = view.github();
            match &env.github_output {
                Some(path) => {
                    append_file(path, &lines)?;
                    view.github_written()
                }
                None => lines,
            }
        }
    };
    print(&out);
    // The process ends here: freeing thousands of services one by one would only delay the exit.
    std::mem::forget(ctx);
    Ok(ExitCode::Success)
}
