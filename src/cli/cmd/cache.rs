//! `cache stats | clean | prune`: inspect or trim the local cache.

use std::path::Path;

use super::{cache_dir, print};
use crate::cache::{format_size, LocalCache, Stats};
use crate::cli::settings::{CacheCommand, CacheSettings};
use crate::cli::workspace::Loaded;
use crate::cli::{CliError, ExitCode};

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
    let out = match c.action {
        CacheCommand::Stats => {
            let s = cache.stats();
            let incomplete = if s.incomplete > 0 {
                format!(
                    "; {} (`cache prune` removes those whose writer is gone)",
                    incomplete_writes(&s)
                )
            } else {
                String::new()
            };
            format!(
                "{}: {} entr{}, {}, can save {}{incomplete}\n",
                dir.display(),
                s.entries,
                if s.entries == 1 { "y" } else { "ies" },
                format_size(s.bytes),
                crate::report::summary::human_duration(s.saved_ms)
            )
        }
        CacheCommand::Clean => {
            let s = cache.clean()?;
            let incomplete = if s.incomplete > 0 {
                format!(" and {}", incomplete_writes(&s))
            } else {
                String::new()
            };
            format!(
                "removed {} entr{} ({}){incomplete}\n",
                s.entries,
                if s.entries == 1 { "y" } else { "ies" },
                format_size(s.bytes)
            )
        }
        CacheCommand::Prune { max_bytes: max } => {
            let (removed, left) = cache.prune(max)?;
            let incomplete = if removed.incomplete > 0 {
                format!(" and {}", incomplete_writes(&removed))
            } else {
                String::new()
            };
            format!(
                "removed {} least recently used entr{} ({}){incomplete}; {} entr{} left ({}, limit {})\n",
                removed.entries,
                if removed.entries == 1 { "y" } else { "ies" },
                format_size(removed.bytes),
                left.entries,
                if left.entries == 1 { "y" } else { "ies" },
                format_size(left.bytes),
                format_size(max)
            )
        }
    };
    print(&out);
    Ok(ExitCode::Success)
}

/// `2 incomplete writes (5.0 MiB)`: temporary directories of stores in progress or killed.
fn incomplete_writes(s: &Stats) -> String {
    format!(
        "{} incomplete write{} ({})",
        s.incomplete,
        if s.incomplete == 1 { "" } else { "s" },
        format_size(s.incomplete_bytes)
    )
}
