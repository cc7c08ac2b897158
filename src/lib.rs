//! shockwave: which services does this change touch — and then build, test and deploy only those.
//!
//! The modules follow the data: `paths` and `glob` → `discover` → `config` (with `diagnostic`)
//! → `scm` → `ownership` → `graph` → `affected` → `tasks` / `hash` → `cache` → `exec` →
//! `report`. `engine` drives them for a command through one session, and `cli` at the edge is
//! the only part that knows the terminal, clap and exit codes.
//!
//! Public are only what the binary (`cli::main`) and the integration tests use; every other
//! module is private to the crate.

// No `unsafe` anywhere but the raw directory syscalls of the Linux worktree scan
// (`scm/sys/linux.rs`, which alone opts out, with `expect`).
#![deny(unsafe_code)]

mod affected;
mod cache;
pub mod cli;
pub mod config;
mod confine;
pub mod diagnostic;
pub mod discover;
mod engine;
mod exec;
mod filter;
mod glob;
mod graph;
mod hash;
mod lockfiles;
mod ownership;
pub mod paths;
mod platform;
mod report;
mod scm;
mod shard;
pub mod tasks;
mod watch;
