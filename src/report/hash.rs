//! The hash listing (`hash`): each task's hash; with `--explain` every input that went into it;
//! `--json` the same with full fingerprints (the input of `hash --diff`).

use std::fmt::Write as _;

use bstr::ByteSlice;
use serde_json::{json, Value};

use super::plan::task_fields;
use crate::config::Workspace;
use crate::exec::Plan;
use crate::hash::TaskHashes;

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
        let _ = writeln!(out, "  command   {}", f.command);
        let _ = writeln!(out, "  root      {}", super::root_text(&f.root));
        if !f.outputs.is_empty() {
            let _ = writeln!(out, "  outputs   {}", f.outputs.join(", "));
        }
        for (k, v) in &f.env {
            let value = v.as_ref().map_or("(unset)".to_string(), |v| v.display());
            let _ = writeln!(out, "  env       {k}={value}");
        }
        let _ = writeln!(
            out,
            "  global    {} ({} files)",
            &f.global.to_hex()[..16],
            hashes.global_files.len()
        );
        for (l, h) in &f.needs {
            let _ = writeln!(out, "  needs     {l} {}", &h.to_hex()[..16]);
        }
        let _ = writeln!(out, "  files     {}", f.files.len());
        for (path, id, mode) in &f.files {
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

/// The listing as JSON (schema 1): the global input files, and every task with its fingerprint.
pub fn json(ws: &Workspace, plan: &Plan, hashes: &TaskHashes<'_>) -> Value {
    let tasks: Vec<Value> = (0..plan.tasks.len())
        .map(|i| {
            let mut v = task_fields(ws, plan, i);
            v.insert("fingerprint".into(), hashes.fingerprints[i].to_json());
            Value::Object(v)
        })
        .collect();
    let global_files: Vec<Value> = hashes
        .global_files
        .iter()
        .map(|(f, id, m)| json!([f.to_str_lossy(), format!("{m:o} {id}")]))
        .collect();
    json!({"schema": 1, "global_files": global_files, "tasks": tasks})
}
