//! The integration tests: one binary (linking the crate once), a module per area. Each test runs
//! the real `shockwave` binary in temporary git repositories built with `common`.

#[path = "../common/mod.rs"]
mod common;

mod affected;
mod agreement;
mod cache;
mod cache_hardening;
mod config_errors;
mod config_fuzz;
mod discover_cargo;
mod discover_go;
mod discover_js;
mod distribution;
mod format_fuzz;
mod formats;
mod fsmonitor;
mod git_errors;
mod hardening;
mod init;
mod json_bytes;
mod lockfiles;
mod parsed_config;
mod remote_cache;
mod remote_cache_faults;
mod review_regressions;
mod rng;
mod run;
mod shards;
mod signals;
mod turbo;
mod usage_errors;
mod watch;
mod worktree_edges;
