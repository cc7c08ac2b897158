//! `cache stats | clean | prune` in words.

use std::path::Path;

use super::style::human_duration;
use crate::cache::remote::{RemoteConfig, RemoteError};
use crate::cache::{format_size, Stats};

/// `remote cache: https://cache.example.com, team acme, read-write, signatures off: answers (enabled)`
pub fn remote(c: &RemoteConfig, status: &Result<String, RemoteError>) -> String {
    format!(
        "remote cache: {}, team {}, {}, signatures {}: {}\n",
        c.url,
        c.team,
        if c.read_only {
            "read-only"
        } else {
            "read-write"
        },
        match (&c.signature_key, c.require_signature) {
            (Some(_), true) => "required",
            (Some(_), false) => "on (unsigned artifacts accepted)",
            (None, _) => "off",
        },
        match status {
            Ok(s) => format!("answers ({s})"),
            Err(e) => format!("does not answer: {e}"),
        }
    )
}

/// `/repo/.shockwave/cache: 12 entries, 3.1 MiB, can save 4m 10s`
pub fn stats(dir: &Path, s: &Stats) -> String {
    let incomplete = if s.incomplete > 0 {
        format!(
            "; {} (the next run or `cache prune` removes those whose writer is gone)",
            incomplete_writes(s)
        )
    } else {
        String::new()
    };
    format!(
        "{}: {} {}, {}, can save {}{incomplete}\n",
        dir.display(),
        s.entries,
        entries(s.entries),
        format_size(s.bytes),
        human_duration(s.saved_ms)
    )
}

/// `removed 12 entries (3.1 MiB)`
pub fn cleaned(removed: &Stats) -> String {
    format!(
        "removed {} {} ({}){}\n",
        removed.entries,
        entries(removed.entries),
        format_size(removed.bytes),
        and_incomplete(removed)
    )
}

/// `removed 3 least recently used entries (1.0 MiB); 9 entries left (2.1 MiB, limit 2.5 MiB)`
pub fn pruned(removed: &Stats, left: &Stats, limit: u64) -> String {
    format!(
        "removed {} least recently used {} ({}){}; {} {} left ({}, limit {})\n",
        removed.entries,
        entries(removed.entries),
        format_size(removed.bytes),
        and_incomplete(removed),
        left.entries,
        entries(left.entries),
        format_size(left.bytes),
        format_size(limit)
    )
}

fn entries(n: u64) -> &'static str {
    if n == 1 {
        "entry"
    } else {
        "entries"
    }
}

/// ` and 2 incomplete writes (5.0 MiB)` when a removal took any.
fn and_incomplete(removed: &Stats) -> String {
    if removed.incomplete > 0 {
        format!(" and {}", incomplete_writes(removed))
    } else {
        String::new()
    }
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
