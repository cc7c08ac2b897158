//! Go workspaces: `go.work` / `go.mod` modules and, in a single module, package-level closures.
//! Not read yet: this finds nothing.

use std::path::Path;

use super::{DiscoverError, Discovery, NamedService};
use crate::config::WorkspaceDirs;

/// The Go services below `root`; `named` are the services `members` already names.
pub fn discover(
    _root: &Path,
    _dirs: &mut dyn WorkspaceDirs,
    _named: &[NamedService],
) -> Result<Discovery, Vec<DiscoverError>> {
    Ok(Discovery::default())
}
