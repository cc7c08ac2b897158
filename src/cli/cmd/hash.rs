//! `hash`: each task's hash (and with `--explain` its inputs), or with `--diff` which inputs
//! differ between two listings.

use std::path::Path;

use bstr::ByteSlice;
use serde_json::{json, Value};

use super::{labels, print};
use crate::cli::prepare::{hash_tasks, prepare, Prepared};
use crate::cli::settings::{HashFormat, HashSettings};
use crate::cli::{CliError, ExitCode};
use crate::hash::TaskHashes;

pub(super) fn run(
    cwd: &Path,
    config: Option<&Path>,
    h: HashSettings,
) -> Result<ExitCode, CliError> {
    let (targets, select, format) = match h {
        HashSettings::Diff(a, b) => {
            print(&crate::cli::hash_diff::diff_files(&a, &b)?);
            return Ok(ExitCode::Success);
        }
        HashSettings::List {
            targets,
            select,
            format,
        } => (targets, select, format),
    };
    let p = prepare(cwd, config, &targets, &select)?;
    let hashes = hash_tasks(&p.ctx, &p.index, &p.graph);
    let labels = labels(&p);
    let out = if format == HashFormat::Json {
        let tasks: Vec<Value> = p
            .graph
            .tasks
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut v = task_json(&p, &labels, &hashes, i);
                v.insert("fingerprint".into(), hashes.fingerprints[i].to_json());
                Value::Object(v)
            })
            .collect();
        format!(
            "{:#}\n",
            json!({"schema": 1, "global_files": hashes.global_files.iter().map(|(f, id, m)| json!([f.to_str_lossy(), format!("{m:o} {id}")])).collect::<Vec<_>>(), "tasks": tasks})
        )
    } else {
        let width = labels.iter().map(|l| l.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (i, label) in labels.iter().enumerate() {
            out.push_str(&format!("{label:width$}  {}\n", hashes.hashes[i].to_hex()));
            if format == HashFormat::Explain {
                let f = &hashes.fingerprints[i];
                out.push_str(&format!("  command   {}\n", f.command));
                out.push_str(&format!(
                    "  root      {}\n",
                    if f.root.is_empty() { "." } else { &f.root }
                ));
                if !f.outputs.is_empty() {
                    out.push_str(&format!("  outputs   {}\n", f.outputs.join(", ")));
                }
                for (k, v) in &f.env {
                    out.push_str(&format!(
                        "  env       {k}={}\n",
                        v.as_ref().map_or("(unset)".to_string(), |v| v.display())
                    ));
                }
                out.push_str(&format!(
                    "  global    {} ({} files)\n",
                    &f.global.to_hex()[..16],
                    hashes.global_files.len()
                ));
                for (l, h) in &f.needs {
                    out.push_str(&format!("  needs     {l} {}\n", &h.to_hex()[..16]));
                }
                out.push_str(&format!("  files     {}\n", f.files.len()));
                for (path, id, mode) in &f.files {
                    out.push_str(&format!(
                        "    {mode:o} {} {}\n",
                        id.to_hex_with_len(12),
                        path.to_str_lossy()
                    ));
                }
            }
        }
        out
    };
    print(&out);
    Ok(ExitCode::Success)
}

/// The fields every task listing starts with: `task`, `service`, `target`, `hash`.
pub(super) fn task_json(
    p: &Prepared,
    labels: &[String],
    hashes: &TaskHashes<'_>,
    i: usize,
) -> serde_json::Map<String, Value> {
    let t = &p.graph.tasks[i];
    json_map(json!({
        "task": labels[i],
        "service": p.ctx.ws.services[t.service].name,
        "target": &*t.target,
        "hash": hashes.hashes[i].to_hex().to_string(),
    }))
}

pub(super) fn json_map(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}
