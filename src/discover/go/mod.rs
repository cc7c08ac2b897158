//! Go discovery: modules from `go.work` or the `go.mod` files below the workspace root, and in a
//! single module the services (`package main` directories or `members`) with their package-level
//! closures, read from the import sections of the `.go` files alone.
//!
//! Two layouts, as Go users build them:
//! - **several modules** (a `go.work`, or `go.mod` files below a root that has none): one service
//!   per module, edges where a `require` of another workspace module resolves locally (a
//!   `replace` to its directory, or `go.work` membership);
//! - **one module** (a root `go.mod`, no `go.work`): services are the `members` the pipeline
//!   names or else every `package main` directory, and each carries its package closure.

pub mod closure;
pub mod gomod;
pub mod lexer;
pub mod packages;
mod single;
mod workspace;

use std::path::Path;

use super::{DiscoverError, Discovery, NamedService};
use crate::config::WorkspaceDirs;

/// The Go services below `root`; `named` are the services `members` already names.
pub fn discover(
    root: &Path,
    _dirs: &mut dyn WorkspaceDirs,
    named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    let one = |e: DiscoverError| vec![e];
    if let Some(text) = super::files::read(root, "go.work").map_err(one)? {
        let work = gomod::parse_go_work("go.work", &text).map_err(one)?;
        return workspace::discover_work(root, &work, named);
    }
    if let Some(text) = super::files::read(root, "go.mod").map_err(one)? {
        let module = gomod::parse_go_mod("go.mod", &text).map_err(one)?;
        return single::discover_module(root, &module, named).map_err(one);
    }
    workspace::discover_modules(root, named)
}

/// The service name a Go path gives: its last element, skipping a major-version suffix
/// (`github.com/acme/pay/v2` → `pay`).
pub(crate) fn last_element(path: &str) -> &str {
    let mut parts = path.rsplit('/').filter(|p| !p.is_empty());
    let last = parts.next().unwrap_or(path);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match parts.next() {
        Some(prev) if is_major => prev,
        _ => last,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_come_from_the_last_path_element() {
        use super::last_element;
        assert_eq!(last_element("github.com/acme/pay"), "pay");
        assert_eq!(last_element("github.com/acme/pay/v2"), "pay");
        assert_eq!(last_element("services/user-service"), "user-service");
        assert_eq!(last_element("v2"), "v2");
        assert_eq!(last_element("example.com/vx"), "vx");
    }
}
