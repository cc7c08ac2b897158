//! shockwave: which services does this change touch — and then build, test and deploy only those.
//!
//! The modules follow the data: `config` (with `glob` and `diagnostic`) → `scm` → `ownership` →
//! `graph` → `affected` → `tasks` / `hash` → `cache` → `exec` → `report`, with `cli` at the edge as
//! the only part that knows the terminal, clap and exit codes.

// No `unsafe` anywhere but the raw directory syscalls of the Linux worktree scan
// (`scm/sys/linux.rs`, which alone opts out, with `expect`).
#![deny(unsafe_code)]

pub mod affected;
pub mod cache;
pub mod cli;
pub mod config;
pub mod confine;
pub mod diagnostic;
pub mod discover;
pub mod engine;
pub mod exec;
pub mod filter;
pub mod glob;
pub mod graph;
pub mod hash;
pub mod lockfiles;
pub mod ownership;
pub mod platform;
pub mod report;
pub mod scm;
pub mod shard;
pub mod tasks;
pub mod watch;
