//! `cache stats | clean | prune`: inspect or trim the local cache; `stats` also asks the remote
//! cache, when one is configured, whether it answers.

use std::path::Path;

use super::{cache_dir, print};
use crate::cache::remote::RemoteCache;
use crate::cache::LocalCache;
use crate::cli::settings::ConfigAt;
use crate::cli::settings::{CacheCommand, CacheSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{CliError, ExitCode};
use crate::report::cache as report;

pub(super) fn run(cwd: &Path, config: &ConfigAt, c: CacheSettings) -> Result<ExitCode, CliError> {
    // With `--cache-dir`, a config is read only for `cache stats`' remote line, and may be absent.
    let (dir, remote_file) = match &c.dir {
        Some(d) => {
            let file = matches!(c.action, CacheCommand::Stats)
                .then(|| Loaded::open(cwd, config).ok())
                .flatten()
                .map(|l| l.ws.remote_cache);
            (cache_dir(Path::new("/"), cwd, Some(d)), file)
        }
        None => {
            let ctx = Loaded::open(cwd, config)?.into_context()?;
            let file = ctx.ws.remote_cache.clone();
            (cache_dir(ctx.repo.workdir(), cwd, None), Some(file))
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
