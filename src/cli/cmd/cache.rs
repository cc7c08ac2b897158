//! `cache stats | clean | prune`: inspect or trim the local cache; `stats` also asks the remote
//! cache, when one is configured, whether it answers.

use std::path::Path;

use super::{open, print};
use crate::cli::settings::{CacheCommand, CacheSettings};
use crate::cli::{CliError, ExitCode};
use shockwave_core::cache::remote::RemoteCache;
use shockwave_core::cache::LocalCache;
use shockwave_core::engine::{cache_dir, ConfigLocation};
use shockwave_core::report::cache as report;

pub(super) fn run(
    cwd: &Path,
    config: &ConfigLocation,
    c: CacheSettings,
) -> Result<ExitCode, CliError> {
    // With `--cache-dir`, a config is read only for `cache stats`' remote line, and may be absent.
    let (dir, remote_file) = match &c.dir {
        Some(d) => {
            let file = matches!(c.action, CacheCommand::Stats)
                .then(|| open(cwd, config, None).ok())
                .flatten()
                .map(|s| s.workspace().remote_cache().clone());
            (cache_dir(Path::new("/"), cwd, Some(d)), file)
        }
        None => {
            let session = open(cwd, config, None)?;
            let file = session.workspace().remote_cache().clone();
            (session.cache_dir(None)?, Some(file))
        }
    };
    let cache = LocalCache::new(dir.clone());
    print(&match c.action {
        CacheCommand::Stats => {
            let mut text = report::stats(&dir, &cache.stats());
            if let Some(remote) = c.remote.config(&remote_file.unwrap_or_default())? {
                let remote = RemoteCache::new(remote);
                text.push_str(&report::remote(remote.config(), &remote.status()));
            }
            text
        }
        CacheCommand::Clean => report::cleaned(&cache.clean()?),
        CacheCommand::Prune { max_bytes } => {
            let (removed, left) = cache.prune(max_bytes)?;
            report::pruned(&removed, &left, max_bytes)
        }
    });
    Ok(ExitCode::Success)
}
