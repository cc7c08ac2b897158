//! `init`: discover the workspace at the repository root (or the current directory outside a
//! repository) and write what was found as a `pipeline.toml` there. Never overwrites one.

use std::path::Path;

use super::{print, write_whole};
use crate::cli::{CliError, ExitCode};
use shockwave_core::config;
use shockwave_core::engine::{ConfigLocation, InitRoot};

pub(super) fn run(cwd: &Path, config: &ConfigLocation) -> Result<ExitCode, CliError> {
    let found_root = InitRoot::find(cwd);
    let root = found_root.path();
    let path = config
        .file
        .as_deref()
        .map_or_else(|| root.join(config::CONFIG_FILE), Path::to_path_buf);
    if path.symlink_metadata().is_ok() {
        return Err(CliError::Usage(format!(
            "{} already exists; init never overwrites it (remove it first to start over)",
            path.display()
        )));
    }
    let Some(ws) = found_root.discover()? else {
        return Err(CliError::Usage(if found_root.in_repository() {
            format!(
                "found no npm, pnpm, yarn, Cargo or Go workspace in {}; write {} by hand (see the README)",
                root.display(),
                config::CONFIG_FILE
            )
        } else {
            format!(
                "{} is not inside a git repository, and holds no npm, pnpm, yarn, Cargo or Go workspace; run init at the root of a git checkout, or write {} by hand (see the README)",
                root.display(),
                config::CONFIG_FILE
            )
        }));
    };
    let npm: Vec<_> = ws
        .services()
        .iter()
        .filter(|s| s.ecosystem.is_some_and(|e| e.is_npm_family()))
        .collect();
    let packages: Vec<(String, String)> = npm
        .iter()
        .filter(|s| !s.root.is_empty())
        .map(|s| (s.name.clone(), s.root.clone()))
        .collect();
    let manager = npm
        .first()
        .and_then(|s| s.ecosystem)
        .unwrap_or(shockwave_core::discover::Ecosystem::Npm);
    let tables = config::turbo_tables(root, &packages, manager).map_err(|e| {
        CliError::from(config::ConfigError::Invalid {
            path: e.path,
            source_text: e.text,
            diagnostics: e.diagnostics,
        })
    })?;
    let toml = shockwave_core::report::init::pipeline_toml(&ws, tables.as_deref());
    write_whole(&path, &toml).map_err(|e| CliError::Io {
        action: format!("write {}", path.display()),
        source: e,
    })?;
    print(&format!(
        "wrote {}: {}\n",
        path.display(),
        shockwave_core::report::init::found(&ws)
    ));
    Ok(ExitCode::Success)
}
