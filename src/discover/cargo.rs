//! Cargo workspaces.

use std::path::Path;

use super::{DiscoverError, Discovery};
use crate::config::WorkspaceDirs;

pub(super) fn discover(
    _root: &Path,
    _dirs: &mut dyn WorkspaceDirs,
) -> Result<Discovery, Vec<DiscoverError>> {
    Ok(Discovery::default())
}
