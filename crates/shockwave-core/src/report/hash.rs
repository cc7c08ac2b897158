//! The hash listing (`hash`): each task's hash; with `--explain` every input that went into it;
//! `--json` the same with full fingerprints (the input of `hash --diff`).

use std::fmt::Write as _;

use bstr::ByteSlice;
use serde::Serialize;

use super::output::Seq;
use crate::config::Workspace;
use crate::exec::Plan;
use crate::hash::{FingerprintRecord, TaskHashes};

/// One line per task (`label  hash`); with `explain`, its inputs below it.
pub fn text(plan: &Plan, hashes: &TaskHashes<'_>, explain: bool) -> String {
    let width = plan.labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (i, label) in plan.labels.iter().enumerate() {
        let _ = writeln!(out, "{label:width$}  {}", hashes.hashes[i].to_hex());
        if !explain {
            continue;
        }
        let f = &hashes.fingerprints[i];
        let _ = writeln!(out, "  command   {}", f.command());
        let _ = writeln!(out, "  root      {}", super::root_text(f.root()));
        if !f.outputs().is_empty() {
            let _ = writeln!(out, "  outputs   {}", f.outputs().join(", "));
        }
        for (k, v) in f.env() {
            let value = v.as_ref().map_or("(unset)".to_string(), |v| v.display());
            let _ = writeln!(out, "  env       {k}={value}");
        }
        let _ = writeln!(
            out,
            "  global    {} ({} files)",
            &f.global().to_hex()[..16],
            hashes.global_files.len()
        );
        for (l, h) in f.needs() {
            let _ = writeln!(out, "  needs     {l} {}", &h.to_hex()[..16]);
        }
        let _ = writeln!(out, "  files     {}", f.files().len());
        for (path, id, mode) in f.files() {
            let _ = writeln!(
                out,
                "    {mode:o} {} {}",
                id.to_hex_with_len(12),
                path.to_str_lossy()
            );
        }
    }
    out
}

/// The listing as JSON (schema 1): the global input files, and every task with its fingerprint,
/// streamed by [`Stdout::json`](super::output::Stdout::json).
pub fn json<'h>(
    ws: &'h Workspace,
    plan: &'h Plan,
    hashes: &'h TaskHashes<'h>,
) -> impl Serialize + 'h {
    HashListing {
        global_files: Seq(move || {
            hashes
                .global_files
                .iter()
                .map(|(f, id, m)| (f.to_str_lossy(), format!("{m:o} {id}")))
        }),
        schema: 1,
        tasks: Seq(move || {
            plan.tasks.iter().enumerate().map(move |(i, t)| ListedTask {
                fingerprint: hashes.fingerprints[i].record(),
                hash: t.hash.to_hex().to_string(),
                service: &ws.service(t.service).name,
                target: &t.target,
                task: &plan.labels[i],
            })
        }),
    }
}

/// `hash --json`. Fields in alphabetical order, the order earlier versions wrote (see
/// [`FingerprintRecord`]); `hash --diff` reads it back with the fields of a run summary's tasks.
#[derive(Serialize)]
struct HashListing<G, T> {
    /// `[path, "<mode> <content id>"]` of every file behind the global-inputs hash.
    global_files: G,
    schema: u32,
    /// [`ListedTask`]s in the plan's order.
    tasks: T,
}

/// One task of `hash --json`: the fields every task listing starts with and its fingerprint.
#[derive(Serialize)]
struct ListedTask<'h> {
    fingerprint: FingerprintRecord<'h>,
    hash: String,
    service: &'h str,
    target: &'h str,
    task: &'h str,
}
