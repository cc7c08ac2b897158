//! `check`'s one line — `pipeline.toml: ok — 9 services, 12 dependency edges, 4 targets (build,
//! deploy, lint, test), 36 tasks`, saying where discovered services came from — and its warnings
//! about what is accepted but worth knowing (service cycles), after a `note:` line per thing
//! discovery accepted but is worth knowing (a workspace pattern that matches no package).

use crate::config::Workspace;

/// The line for a valid `ws` whose config is shown as `config`.
pub fn text(config: &str, ws: &Workspace) -> String {
    let edges: usize = ws
        .services()
        .iter()
        .map(|s| s.deps.len() + s.dev_deps.len())
        .sum();
    let tasks: usize = ws.services().iter().map(|s| s.targets.len()).sum();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let names = ws
        .target_names()
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let notes: String = ws
        .discovery_notes()
        .iter()
        .map(|n| format!("note: {n}\n"))
        .collect();
    let found = super::init::found(ws);
    let discovered = ws
        .services()
        .iter()
        .filter(|s| s.ecosystem.is_some())
        .count();
    let (head, services) = if ws.zero_config() {
        (
            format!("no {}: discovered {found}", crate::config::CONFIG_FILE),
            plural(ws.services().len(), "service", "services"),
        )
    } else if discovered > 0 {
        (
            config.to_string(),
            format!(
                "{} ({discovered} discovered: {found})",
                plural(ws.services().len(), "service", "services")
            ),
        )
    } else {
        (
            config.to_string(),
            plural(ws.services().len(), "service", "services"),
        )
    };
    format!(
        "{notes}{head}: ok — {services}, {}, {}{}, {}\n",
        plural(edges, "dependency edge", "dependency edges"),
        plural(ws.target_names().len(), "target", "targets"),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({names})")
        },
        plural(tasks, "task", "tasks")
    )
}

/// One sentence per group of services that depend on one another in a loop: accepted (package
/// managers install such workspaces), but a `^target` need across it cannot be ordered.
pub fn cycle_warnings(ws: &Workspace) -> Vec<String> {
    ws.graph()
        .cycles()
        .iter()
        .filter_map(|group| ws.graph().cycle_through(group[0]))
        .map(|cycle| {
            let names: Vec<&str> = cycle.iter().map(|&i| ws.service(i).name.as_str()).collect();
            format!(
                "dependency cycle: {}; `affected` follows it (a change to one affects them all), \
                 but a `^target` need across it cannot be ordered",
                names.join(" → ")
            )
        })
        .collect()
}
