//! `check`'s one line: `pipeline.toml: ok — 9 services, 12 dependency edges, 4 targets (build,
//! deploy, lint, test), 36 tasks`, after a `note:` line per thing discovery accepted but is worth
//! knowing (a workspace pattern that matches no package).

use crate::config::Workspace;

/// The line for a valid `ws` whose config is shown as `config`.
pub fn text(config: &str, ws: &Workspace) -> String {
    let edges: usize = ws.services.iter().map(|s| s.deps.len()).sum();
    let tasks: usize = ws.services.iter().map(|s| s.targets.len()).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let names = ws
        .target_names
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let notes: String = ws
        .discovery_notes
        .iter()
        .map(|n| format!("note: {n}\n"))
        .collect();
    format!(
        "{notes}{config}: ok — {}, {}, {}{}, {}\n",
        plural(ws.services.len(), "service", "services"),
        plural(edges, "dependency edge", "dependency edges"),
        plural(ws.target_names.len(), "target", "targets"),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({names})")
        },
        plural(tasks, "task", "tasks")
    )
}
