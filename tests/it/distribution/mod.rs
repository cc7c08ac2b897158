//! How shockwave reaches its users: `--version`, shell completions, the manual page, the JSON
//! Schema of pipeline.toml, the npm packages, the GitHub Action and the release workflow. One
//! test binary, a module per channel.

mod action;
mod docs;
mod npm;
mod release;
mod version;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository this crate is built from.
fn source_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `CI` set to anything but empty, `0` or `false`: a tool a test needs must be there.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The tool `name` (an executable on PATH that answers `name --version`), or `None` with a
/// message when it is missing; under CI a missing tool fails the test instead (`.ci/run`
/// installs them).
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    let works = found.as_ref().is_some_and(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    match found {
        Some(p) if works => Some(p),
        _ if in_ci() => panic!("CI is set but `{name}` is not installed: .ci/run installs it"),
        _ => {
            eprintln!("skipped: `{name}` is not installed");
            None
        }
    }
}
