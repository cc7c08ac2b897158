//! `cache stats | clean | prune`: inspect or trim the local cache.

use std::path::Path;

use super::{cache_dir, print};
use crate::cache::LocalCache;
use crate::cli::settings::{CacheCommand, CacheSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{CliError, ExitCode};
use crate::report::cache as report;

pub(super) fn run(
    cwd: &Path,
    config: Option<&Path>,
    c: CacheSettings,
) -> Result<ExitCode, CliError> {
    let dir = match &c.dir {
        Some(d) => cache_dir(Path::new("/"), cwd, Some(d)),
        None => {
            let ctx = Loaded::open(cwd, config)?.into_context()?;
            cache_dir(ctx.repo.workdir(), cwd, None)
        }
    };
    let cache = LocalCache::new(dir.clone());
    print(&match c.action {
        CacheCommand::Stats => report::stats(&dir, &cache.stats()),
        CacheCommand::Clean => report::cleaned(&cache.clean()?),
        CacheCommand::Prune { max_bytes } => {
            let (removed, left) = cache.prune(max_bytes)?;
            report::pruned(&removed, &left, max_bytes)
        }
    });
    Ok(ExitCode::Success)
}
