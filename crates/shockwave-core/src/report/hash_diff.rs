//! `hash --diff A B` in words: a line per task that differs, then a line per input that made its
//! hash differ, then how many tasks hash the same. Env values are never shown, whatever the
//! listings hold (older summaries carried them in clear): only whether a variable is declared, set,
//! and whether it changed.

use std::fmt::Write as _;

use serde_json::Value;

use super::summary::prefix;
use crate::hash::diff::{
    Change, EnvState, FileChange, FileEntry, InputDiff, ListingDiff, TaskDiff,
};

pub fn text(d: &ListingDiff) -> String {
    let mut out = String::new();
    for task in &d.tasks {
        match task {
            TaskDiff::OnlyInA(label) => {
                let _ = writeln!(out, "{label}: only in A");
            }
            TaskDiff::OnlyInB(label) => {
                let _ = writeln!(out, "{label}: only in B");
            }
            TaskDiff::Changed {
                label,
                from,
                to,
                inputs,
            } => {
                let _ = writeln!(out, "{label}: {} → {}", prefix(from, 16), prefix(to, 16));
                if inputs.is_empty() {
                    let _ = writeln!(
                        out,
                        "  (no fingerprint recorded; cannot say which input differs)"
                    );
                }
                for input in inputs {
                    let _ = writeln!(out, "  {}", input_text(input));
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "{} task{} with identical hashes",
        d.same,
        if d.same == 1 { "" } else { "s" }
    );
    out
}

fn input_text(input: &InputDiff) -> String {
    match input {
        InputDiff::Field { name, from, to } => {
            format!("{name}: {} → {}", field_text(from), field_text(to))
        }
        InputDiff::Env { name, from, to } => match (from, to) {
            (EnvState::Set, EnvState::Set) => format!("env {name} changed (value hidden)"),
            _ => format!(
                "env {name}: {} → {} (value hidden)",
                env_text(*from),
                env_text(*to)
            ),
        },
        InputDiff::Global => {
            "global inputs changed (a file matching workspace.global_inputs)".to_string()
        }
        InputDiff::Need { label, change } => match change {
            Change::Changed => format!("needed task {label} changed hash (see its own entry)"),
            Change::Added => format!("now needs {label}"),
            Change::Removed => format!("no longer needs {label}"),
        },
        InputDiff::File { path, change } => match change {
            FileChange::Changed { from, to } => {
                format!("file changed: {path} ({})", file_change_text(from, to))
            }
            FileChange::Added => format!("file added: {path}"),
            FileChange::Removed => format!("file removed: {path}"),
        },
    }
}

fn field_text(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(none)".to_string(),
    }
}

fn env_text(s: EnvState) -> &'static str {
    match s {
        EnvState::NotDeclared => "(not declared)",
        EnvState::Unset => "(unset)",
        EnvState::Set => "set",
    }
}

/// The short content ids, and the modes too when they differ (an exec-bit change).
fn file_change_text(a: &FileEntry, b: &FileEntry) -> String {
    let (ia, ib) = (prefix(&a.id, 7), prefix(&b.id, 7));
    if a.mode == b.mode {
        format!("{ia} → {ib}")
    } else {
        format!("{} {ia} → {} {ib}", a.mode, b.mode)
    }
}
