//! `hash --diff A B`: why did a task's hash change between two runs? Reads two `hash --json` outputs
//! or run summaries (both list tasks with their fingerprints) and names the inputs that differ.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use super::CliError;

struct Listing {
    tasks: BTreeMap<String, (String, Value)>,
}

fn load(path: &Path) -> Result<Listing, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let bad = |why: &str| {
        CliError::Usage(format!(
            "{} is not a `shockwave hash --json` output or run summary: {why}",
            path.display()
        ))
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let tasks = v
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `tasks` list"))?;
    let mut out = BTreeMap::new();
    for t in tasks {
        let label = t
            .get("task")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a task without `task`"))?;
        let hash = t.get("hash").and_then(Value::as_str).unwrap_or_default();
        out.insert(
            label.to_string(),
            (
                hash.to_string(),
                t.get("fingerprint").cloned().unwrap_or(Value::Null),
            ),
        );
    }
    Ok(Listing { tasks: out })
}

pub fn diff_files(a: &Path, b: &Path) -> Result<String, CliError> {
    let (a, b) = (load(a)?, load(b)?);
    let mut out = String::new();
    let mut same = 0;
    for (label, (ha, fa)) in &a.tasks {
        let Some((hb, fb)) = b.tasks.get(label) else {
            let _ = writeln!(out, "{label}: only in A");
            continue;
        };
        if ha == hb {
            same += 1;
            continue;
        }
        let _ = writeln!(out, "{label}: {} → {}", short(ha), short(hb));
        let lines = diff_fingerprints(fa, fb);
        if lines.is_empty() {
            let _ = writeln!(
                out,
                "  (no fingerprint recorded; cannot say which input differs)"
            );
        }
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
    for label in b.tasks.keys().filter(|l| !a.tasks.contains_key(*l)) {
        let _ = writeln!(out, "{label}: only in B");
    }
    let _ = writeln!(
        out,
        "{same} task{} with identical hashes",
        if same == 1 { "" } else { "s" }
    );
    Ok(out)
}

fn short(h: &str) -> &str {
    crate::report::summary::prefix(h, 16)
}

fn str_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(none)".to_string(),
    }
}

fn diff_fingerprints(a: &Value, b: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for key in ["version", "command", "root", "outputs"] {
        if a.get(key) != b.get(key) {
            lines.push(format!("{key}: {} → {}", str_of(a, key), str_of(b, key)));
        }
    }
    let empty = Map::new();
    let map = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (ea, eb) = (map(a, "env"), map(b, "env"));
    for (k, va, vb) in changed_keys(&ea, &eb) {
        lines.push(env_change(k, va, vb));
    }
    if a.get("global") != b.get("global") {
        lines.push("global inputs changed (a file matching workspace.global_inputs)".to_string());
    }
    let (na, nb) = (map(a, "needs"), map(b, "needs"));
    for (k, va, vb) in changed_keys(&na, &nb) {
        match (va, vb) {
            (Some(_), Some(_)) => {
                lines.push(format!("needed task {k} changed hash (see its own entry)"))
            }
            (None, Some(_)) => lines.push(format!("now needs {k}")),
            (Some(_), None) => lines.push(format!("no longer needs {k}")),
            (None, None) => {}
        }
    }
    let (fa, fb) = (map(a, "files"), map(b, "files"));
    for (k, va, vb) in changed_keys(&fa, &fb) {
        match (va, vb) {
            (Some(x), Some(y)) => lines.push(format!("file changed: {k} ({})", file_change(x, y))),
            (None, Some(_)) => lines.push(format!("file added: {k}")),
            (Some(_), None) => lines.push(format!("file removed: {k}")),
            (None, None) => {}
        }
    }
    lines
}

/// A file entry is `"<mode> <content id>"` (older listings: just the id). Shows the short ids, and
/// the modes too when they differ (an exec-bit change).
fn file_change(a: &Value, b: &Value) -> String {
    let split = |v: &Value| -> (String, String) {
        let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        match s.split_once(' ') {
            Some((mode, id)) => (mode.to_string(), id.to_string()),
            None => (String::new(), s),
        }
    };
    let ((ma, ia), (mb, ib)) = (split(a), split(b));
    let short7 = |id: &str| crate::report::summary::prefix(id, 7).to_string();
    if ma == mb {
        format!("{} → {}", short7(&ia), short7(&ib))
    } else {
        format!("{ma} {} → {mb} {}", short7(&ia), short7(&ib))
    }
}

/// One line for a changed env entry. Values are never printed, whatever the summaries hold (older
/// ones carried them in clear): only whether the variable is declared, set, and whether it changed.
fn env_change(name: &str, a: Option<&Value>, b: Option<&Value>) -> String {
    let state = |v: Option<&Value>| match v {
        None => "(not declared)",
        Some(Value::Null) => "(unset)",
        Some(_) => "set",
    };
    match (a, b) {
        (Some(x), Some(y)) if !x.is_null() && !y.is_null() => {
            format!("env {name} changed (value hidden)")
        }
        _ => format!("env {name}: {} → {} (value hidden)", state(a), state(b)),
    }
}

fn changed_keys<'a>(
    a: &'a Map<String, Value>,
    b: &'a Map<String, Value>,
) -> Vec<(&'a String, Option<&'a Value>, Option<&'a Value>)> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then_some((k, x, y))
        })
        .collect()
}
