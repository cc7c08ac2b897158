//! shockwave: which services does this change touch — and then build, test and deploy only those.
//!
//! The modules follow the data: `paths` and `glob` → `discover` → `config` (with `diagnostic`)
//! → `scm` → `ownership` → `graph` → `affected` → `tasks` / `hash` → `cache` → `exec` →
//! `report`. `engine` drives them for a command through one session; the command line (the
//! `shockwave` package) at the edge is the only part that knows the terminal, clap and exit codes.
//!
//! Public are only the modules the command line (the `shockwave` package: `cli`, the binary and
//! the integration tests) uses; every other module is private to this crate.

// No `unsafe` anywhere but the raw directory syscalls of the Linux worktree scan
// (`scm/sys/linux.rs`, which alone opts out, with `expect`).
#![deny(unsafe_code)]

pub mod affected;
pub mod cache;
pub mod config;
mod confine;
pub mod diagnostic;
pub mod discover;
pub mod engine;
pub mod exec;
pub mod filter;
mod glob;
mod graph;
pub mod hash;
mod lockfiles;
mod ownership;
pub mod paths;
mod platform;
pub mod report;
mod scm;
pub mod shard;
pub mod tasks;
pub mod watch;
