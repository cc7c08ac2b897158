//! The task graph: a task is (service, target). Requested tasks pull in what their `needs` name —
//! `"build"` within the service, `"^build"` in every dependency — even for services that are not
//! affected. A target a service does not define is passed through: its needs are carried on to the
//! tasks that do exist. The graph is checked for cycles once and then only read.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use crate::config::{Need, ServiceId, Target, Workspace};

/// Index of a task in [`TaskGraph::tasks`].
pub type TaskIdx = usize;

#[derive(Debug, Clone)]
pub struct Task {
    pub service: ServiceId,
    pub target: Arc<str>,
    pub def: Arc<Target>,
    /// Tasks that must succeed first, sorted, no duplicates.
    pub needs: Vec<TaskIdx>,
    /// Asked for on the command line (as opposed to pulled in by `needs`).
    pub requested: bool,
    /// Services its needs passed through because they lack the target (a `^build` reaching a
    /// config package with no build script), sorted: nothing of theirs runs, but their files
    /// are what the task builds from, so they are inputs of its hash (as a Turborepo placeholder
    /// task's files are).
    pub through: Vec<ServiceId>,
}

impl Task {
    /// `service:target`
    pub fn label(&self, ws: &Workspace) -> String {
        format!("{}:{}", ws.services[self.service].name, self.target)
    }
}

/// An acyclic set of tasks in topological order: every task comes after everything it needs.
#[derive(Debug, Default)]
pub struct TaskGraph {
    pub tasks: Vec<Task>,
    /// `dependents[i]`: tasks that need task `i`.
    pub dependents: Vec<Vec<TaskIdx>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("task cycle: {chain}; {help}")]
    Cycle {
        /// `a:build → a:test → a:build`
        chain: String,
        /// What to change: the `needs` entry, or the dependency edge between services that a
        /// `^target` would have to order.
        help: String,
        /// Where the config writes the `needs` entry that closes the cycle.
        at: Option<Range<usize>>,
    },
    #[error("`{needed}` is persistent (it never ends), but a task of `{by}` needs it; drop it from that `needs` (run it alongside instead)")]
    NeedsPersistent {
        needed: String,
        by: String,
        /// Where the config writes the `needs` entry.
        at: Option<Range<usize>>,
    },
    #[error("no target named `{name}`; {}", match known.as_str() {
        "" => format!("no service defines a target yet: add `[targets.{name}]` with `command = \"...\"` to pipeline.toml (npm, pnpm and yarn packages get their package.json scripts, Cargo crates `build`, `test` and `lint`, Go units `build` and `test`)"),
        known => format!("{hint}defined targets: {known}"),
    })]
    UnknownTarget {
        name: String,
        hint: String,
        known: String,
    },
}

/// Fails on the first of `targets` that no service defines. Needs only the config, so a command
/// can check its targets before any git work.
pub fn check_targets(ws: &Workspace, targets: &[String]) -> Result<(), TaskError> {
    for t in targets {
        if !ws.target_names.contains(t) {
            let hint = crate::diagnostic::suggest(t, ws.target_names.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(TaskError::UnknownTarget {
                name: t.clone(),
                hint,
                known: ws
                    .target_names
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(())
}

/// What to change to break a task cycle. When the loop crosses services, a `^target` need is
/// ordering a cycle of service dependencies (which discovery accepts: package managers install
/// such workspaces): name the services, the `needs` entry and one dependency edge to drop.
fn cycle_help(ws: &Workspace, loop_: &[(ServiceId, &str)]) -> String {
    let cross = loop_.windows(2).rev().find(|w| w[0].0 != w[1].0);
    let Some(w) = cross else {
        return "change the targets' `needs` so that no task needs itself".to_string();
    };
    let (from, target) = w[0];
    let (to, needed) = w[1];
    let mut services: Vec<&str> = loop_
        .iter()
        .map(|&(s, _)| ws.services[s].name.as_str())
        .collect();
    services.dedup();
    let (a, b) = (&ws.services[from], &ws.services[to]);
    let manifest = match a.ecosystem {
        Some(e) if e.is_npm_family() => format!(" in {}", manifest_path(&a.root, "package.json")),
        Some(crate::discover::Ecosystem::Cargo) => {
            format!(" in {}", manifest_path(&a.root, "Cargo.toml"))
        }
        Some(crate::discover::Ecosystem::Go) => format!(" in {}", manifest_path(&a.root, "go.mod")),
        _ => " (its `deps`)".to_string(),
    };
    format!(
        "the services {} depend on one another in a loop, so `^{needed}` cannot run each one's dependencies first: \
         drop `^{needed}` from `[targets.{target}] needs` (or that service's own), or remove the dependency of `{}` on `{}`{manifest}",
        services.join(" → "),
        a.name,
        b.name
    )
}

fn manifest_path(root: &str, file: &str) -> String {
    if root.is_empty() {
        file.to_string()
    } else {
        format!("{root}/{file}")
    }
}

impl TaskGraph {
    /// Expands `targets` of `services` (ids) with everything they need.
    pub fn build(
        ws: &Workspace,
        services: &[ServiceId],
        targets: &[String],
    ) -> Result<TaskGraph, TaskError> {
        check_targets(ws, targets)?;
        let mut b = Builder {
            ws,
            index: HashMap::new(),
            nodes: Vec::new(),
            passthrough: HashMap::new(),
            stack: Vec::new(),
            cycle_of: None,
            unordered: Default::default(),
        };
        // A requested target the service does not define is skipped outright: passing it through
        // to the dependencies would run (say) their `deploy` although nobody selected them.
        // Pass-through applies to `needs` only.
        for &s in services {
            for t in targets {
                if ws.services[s].targets.contains_key(t.as_str()) {
                    for idx in b.resolve(s, t, None)?.0 {
                        b.nodes[idx].requested = true;
                    }
                }
            }
        }
        Ok(b.finish())
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The tasks with `keep[i]` set, still in topological order, each needing only the kept
    /// tasks among its needs (the others count as done); and for each the index it had here.
    pub fn subset(&self, keep: &[bool]) -> (TaskGraph, Vec<TaskIdx>) {
        let old: Vec<TaskIdx> = (0..self.len()).filter(|&i| keep[i]).collect();
        let mut new_index = vec![usize::MAX; self.len()];
        for (new, &o) in old.iter().enumerate() {
            new_index[o] = new;
        }
        let tasks: Vec<Task> = old
            .iter()
            .map(|&o| {
                let t = &self.tasks[o];
                Task {
                    needs: t
                        .needs
                        .iter()
                        .filter(|&&n| keep[n])
                        .map(|&n| new_index[n])
                        .collect(),
                    ..t.clone()
                }
            })
            .collect();
        let mut dependents = vec![Vec::new(); tasks.len()];
        for (i, t) in tasks.iter().enumerate() {
            for &n in &t.needs {
                dependents[n].push(i);
            }
        }
        (TaskGraph { tasks, dependents }, old)
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

struct Builder<'w> {
    ws: &'w Workspace,
    index: HashMap<(ServiceId, Arc<str>), TaskIdx>,
    nodes: Vec<Task>,
    /// Resolved pass-through (service, target) pairs: the real tasks they stand for, and the
    /// services passed through on the way (itself included).
    passthrough: HashMap<(ServiceId, String), Resolved>,
    /// The (service, target) pairs being resolved, for cycle reports.
    stack: Vec<(ServiceId, String)>,
    /// Each service's cycle group (an index into `ws.graph.cycles()`), when it is in one.
    cycle_of: Option<HashMap<ServiceId, usize>>,
    /// Cycle groups whose implied script order was dropped, with the script.
    unordered: std::collections::BTreeSet<(usize, String)>,
}

/// What a need resolves to: real tasks, and the services passed through to reach them.
type Resolved = (Vec<TaskIdx>, Vec<ServiceId>);

impl Builder<'_> {
    /// The real tasks that (service, target) stands for: itself if defined, otherwise what its
    /// needs resolve to. `via` is the span of the `needs` entry that led here.
    fn resolve(
        &mut self,
        service: ServiceId,
        target: &str,
        via: Option<&Range<usize>>,
    ) -> Result<Resolved, TaskError> {
        let key = (service, target.to_string());
        if let Some(pos) = self.stack.iter().position(|k| *k == key) {
            let mut chain: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(s, t)| format!("{}:{t}", self.ws.services[*s].name))
                .collect();
            chain.push(format!("{}:{target}", self.ws.services[service].name));
            let mut loop_: Vec<(ServiceId, &str)> = self.stack[pos..]
                .iter()
                .map(|(s, t)| (*s, t.as_str()))
                .collect();
            loop_.push((service, target));
            return Err(TaskError::Cycle {
                chain: chain.join(" → "),
                help: cycle_help(self.ws, &loop_),
                at: via.cloned(),
            });
        }
        let svc = &self.ws.services[service];
        if let Some(def) = svc.targets.get(target) {
            let name: Arc<str> = Arc::from(target);
            if let Some(&idx) = self.index.get(&(service, name.clone())) {
                return Ok((vec![idx], Vec::new()));
            }
            let def = def.clone();
            self.stack.push(key);
            let spans: Vec<Option<&Range<usize>>> = def.need_spans.iter().map(Some).collect();
            let (needs, through) = self.resolve_needs(service, &def.needs, &spans)?;
            self.stack.pop();
            let idx = self.nodes.len();
            self.nodes.push(Task {
                service,
                target: name.clone(),
                def,
                needs,
                requested: false,
                through,
            });
            self.index.insert((service, name), idx);
            return Ok((vec![idx], Vec::new()));
        }
        if let Some(found) = self.passthrough.get(&key) {
            return Ok(found.clone());
        }
        // Not defined here: carry the request through to the same target in every dependency.
        // (A `[targets.NAME]` default would have defined it here; another service's own `needs`
        // say nothing about this one.)
        let needs = vec![Need::Deps(target.to_string())];
        self.stack.push(key.clone());
        let (tasks, mut through) = self.resolve_needs(service, &needs, &[via])?;
        self.stack.pop();
        through.push(service);
        through.sort_unstable();
        through.dedup();
        let found = (tasks, through);
        self.passthrough.insert(key, found.clone());
        Ok(found)
    }

    /// `spans[i]` is where `needs[i]` is written (missing entries have no position).
    fn resolve_needs(
        &mut self,
        service: ServiceId,
        needs: &[Need],
        spans: &[Option<&Range<usize>>],
    ) -> Result<Resolved, TaskError> {
        let mut out = Vec::new();
        let mut through = Vec::new();
        let mut add = |(tasks, passed): Resolved| {
            out.extend(tasks);
            through.extend(passed);
        };
        for (i, need) in needs.iter().enumerate() {
            let via = spans.get(i).copied().flatten();
            match need {
                Need::Own(t) => add(self.resolve(service, t, via)?),
                Need::Deps(t) => {
                    let deps = self.ws.services[service].deps.clone();
                    for d in deps {
                        add(self.resolve(d, t, via)?);
                    }
                }
                Need::Of {
                    service: name,
                    target,
                } => {
                    // Validation checked the name; a service gone since is no task.
                    if let Some(other) = self.ws.service_id(name) {
                        add(self.resolve(other, target, via)?);
                    }
                }
                // Orders among the tasks the plan holds, pulls none in: see `order_scripts`.
                Need::ScriptDeps(_) => {}
            }
        }
        // A dev server never ends, so nothing can wait for it (as Turborepo refuses it).
        if let Some(&p) = out.iter().find(|&&t| self.nodes[t].def.persistent) {
            let needed = &self.nodes[p];
            return Err(TaskError::NeedsPersistent {
                needed: format!(
                    "{}:{}",
                    self.ws.services[needed.service].name, needed.target
                ),
                by: self.ws.services[service].name.clone(),
                at: spans.iter().flatten().next().map(|r| (*r).clone()),
            });
        }
        out.sort_unstable();
        out.dedup();
        through.sort_unstable();
        through.dedup();
        Ok((out, through))
    }

    /// The cycle group of each service in one.
    fn cycle_groups(&mut self) -> &HashMap<ServiceId, usize> {
        let ws = self.ws;
        self.cycle_of.get_or_insert_with(|| {
            ws.graph
                .cycles()
                .iter()
                .enumerate()
                .flat_map(|(g, members)| members.iter().map(move |&m| (m, g)))
                .collect()
        })
    }

    /// Adds the implied order of scripts ([`Need::ScriptDeps`]) among the tasks already planned,
    /// as the package managers order `run` over a workspace: a task waits for the same script of
    /// the nearest dependencies that have it in the plan, looking through the ones that do not.
    /// A loop of services is one unit: its members wait for what any member depends on outside
    /// the loop, and a dependent of any member waits for all of them; among themselves they are
    /// not ordered (noted in `unordered`).
    fn order_scripts(&mut self) {
        let implied: Vec<(TaskIdx, String)> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                t.def.needs.iter().filter_map(move |n| match n {
                    Need::ScriptDeps(target) => Some((i, target.clone())),
                    _ => None,
                })
            })
            .collect();
        if implied.is_empty() {
            return;
        }
        let groups = self.cycle_groups().clone();
        let planned = |idx: &HashMap<(ServiceId, Arc<str>), TaskIdx>,
                       s: ServiceId,
                       t: &Arc<str>| { idx.get(&(s, t.clone())).copied() };
        for (task, target) in implied {
            let target: Arc<str> = Arc::from(target.as_str());
            let service = self.nodes[task].service;
            let own_group = groups.get(&service).copied();
            let mut seen: std::collections::HashSet<ServiceId> = [service].into();
            let mut stack: Vec<ServiceId> = Vec::new();
            // The loop's members look through one another to what the loop depends on outside.
            let starts: Vec<ServiceId> = match own_group {
                Some(g) => self.ws.graph.cycles()[g].clone(),
                None => vec![service],
            };
            for s in starts {
                seen.insert(s);
                stack.extend(self.ws.services[s].deps.iter().copied());
            }
            let mut found: Vec<TaskIdx> = Vec::new();
            while let Some(d) = stack.pop() {
                if !seen.insert(d) {
                    continue;
                }
                let group = groups.get(&d).copied();
                let members: Vec<ServiceId> = match group {
                    Some(g) => self.ws.graph.cycles()[g].clone(),
                    None => vec![d],
                };
                let hits: Vec<TaskIdx> = members
                    .iter()
                    .filter_map(|&m| planned(&self.index, m, &target))
                    .collect();
                if hits.is_empty() {
                    for &m in &members {
                        seen.insert(m);
                        stack.extend(self.ws.services[m].deps.iter().copied());
                    }
                } else {
                    seen.extend(members.iter().copied());
                    found.extend(hits);
                }
            }
            if let Some(g) = own_group {
                let mates_planned = self.ws.graph.cycles()[g]
                    .iter()
                    .any(|&m| m != service && planned(&self.index, m, &target).is_some());
                if mates_planned {
                    self.unordered.insert((g, target.to_string()));
                }
            }
            let needs = &mut self.nodes[task].needs;
            needs.extend(found);
            needs.sort_unstable();
            needs.dedup();
        }
    }

    /// Orders the nodes so that each comes after everything it needs (the implied script order
    /// adds needs between nodes planned in any order), renumbering the needs. The needs stay
    /// acyclic: written ones were checked while resolving, and implied ones follow the service
    /// graph with its loops collapsed.
    fn sort(&mut self) {
        let n = self.nodes.len();
        if self
            .nodes
            .iter()
            .enumerate()
            .all(|(i, t)| t.needs.iter().all(|&x| x < i))
        {
            return;
        }
        let mut waiting: Vec<usize> = self.nodes.iter().map(|t| t.needs.len()).collect();
        let mut dependents: Vec<Vec<TaskIdx>> = vec![Vec::new(); n];
        for (i, t) in self.nodes.iter().enumerate() {
            for &x in &t.needs {
                dependents[x].push(i);
            }
        }
        let mut ready: std::collections::BTreeSet<TaskIdx> =
            (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        debug_assert_eq!(order.len(), n, "implied script order closed a loop");
        if order.len() != n {
            // Cannot happen (see above); keep the plan as it was rather than lose tasks.
            return;
        }
        let mut new_of = vec![0; n];
        for (new, &old) in order.iter().enumerate() {
            new_of[old] = new;
        }
        let mut old: Vec<Option<Task>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        for &o in &order {
            let mut t = old[o].take().expect("each node is placed once");
            for x in &mut t.needs {
                *x = new_of[*x];
            }
            t.needs.sort_unstable();
            self.nodes.push(t);
        }
        for idx in self.index.values_mut() {
            *idx = new_of[*idx];
        }
    }

    /// Adds the implied script order, sorts, and lists each task's dependents.
    fn finish(mut self) -> TaskGraph {
        self.order_scripts();
        self.sort();
        let mut by_group: std::collections::BTreeMap<usize, Vec<&str>> = Default::default();
        for (group, target) in &self.unordered {
            by_group.entry(*group).or_default().push(target);
        }
        for (group, targets) in by_group {
            let names: Vec<&str> = self.ws.graph.cycles()[group]
                .iter()
                .map(|&i| self.ws.services[i].name.as_str())
                .collect();
            tracing::warn!(
                "{} depend on one another in a loop: their `{}` scripts are not ordered among themselves (as pnpm does); write `needs` for those targets to order them",
                names.join(", "),
                targets.join("`, `")
            );
        }
        let mut dependents = vec![Vec::new(); self.nodes.len()];
        for (i, t) in self.nodes.iter().enumerate() {
            for &n in &t.needs {
                dependents[n].push(i);
            }
        }
        TaskGraph {
            tasks: self.nodes,
            dependents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use std::path::Path;

    fn ws(text: &str, dirs: &[&str]) -> (tempfile::TempDir, Workspace) {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let w = parse(text, Path::new("pipeline.toml"), t.path()).unwrap();
        (t, w)
    }

    fn labels(ws: &Workspace, g: &TaskGraph) -> Vec<String> {
        g.tasks.iter().map(|t| t.label(ws)).collect()
    }

    const BASE: &str = r#"
[workspace]
members = ["s/*"]
[targets.build]
command = "b"
needs = ["^build"]
[targets.test]
command = "t"
needs = ["build"]
[services.app]
deps = ["lib"]
[services.lib]
deps = ["core"]
"#;

    #[test]
    fn needs_expand_within_and_across_services() {
        let (_t, w) = ws(BASE, &["s/app", "s/lib", "s/core"]);
        let app = w.service_id("app").unwrap();
        let g = TaskGraph::build(&w, &[app], &["test".into()]).unwrap();
        assert_eq!(
            labels(&w, &g),
            ["core:build", "lib:build", "app:build", "app:test"]
        );
        assert!(g.tasks[3].requested && !g.tasks[0].requested);
        assert_eq!(g.tasks[3].needs, [2]);
        assert_eq!(g.tasks[2].needs, [1]);
    }

    #[test]
    fn undefined_target_passes_needs_through() {
        let text = r#"
[workspace]
members = ["s/*"]
[services.app]
deps = ["lib"]
[services.app.targets.build]
command = "b"
needs = ["^build"]
[services.lib]
deps = ["core"]
[services.core.targets.build]
command = "c"
"#;
        let (_t, w) = ws(text, &["s/app", "s/lib", "s/core"]);
        let app = w.service_id("app").unwrap();
        let g = TaskGraph::build(&w, &[app], &["build".into()]).unwrap();
        // lib defines no build, so app:build needs core:build directly.
        assert_eq!(labels(&w, &g), ["core:build", "app:build"]);
        assert_eq!(g.tasks[1].needs, [0]);
    }

    #[test]
    fn pass_through_ignores_other_services_needs() {
        // `acore` sorts first and its build needs its own `gen`; that must not be carried to
        // `lib`, which defines no build: app:build needs acore:build (which needs acore:gen).
        let text = r#"
[workspace]
members = ["s/*"]
[services.app]
deps = ["lib"]
[services.app.targets.build]
command = "b"
needs = ["^build"]
[services.lib]
deps = ["acore"]
[services.acore.targets.build]
command = "c"
needs = ["gen"]
[services.acore.targets.gen]
command = "g"
"#;
        let (_t, w) = ws(text, &["s/app", "s/lib", "s/acore"]);
        let app = w.service_id("app").unwrap();
        let g = TaskGraph::build(&w, &[app], &["build".into()]).unwrap();
        assert_eq!(labels(&w, &g), ["acore:gen", "acore:build", "app:build"]);
        assert_eq!(g.tasks[2].needs, [1]);
    }

    #[test]
    fn a_requested_target_a_service_lacks_is_skipped() {
        let text = r#"
[workspace]
members = ["s/*"]
[services.web]
deps = ["ui"]
[services.ui.targets.deploy]
command = "d"
"#;
        let (_t, w) = ws(text, &["s/web", "s/ui"]);
        let web = w.service_id("web").unwrap();
        let g = TaskGraph::build(&w, &[web], &["deploy".into()]).unwrap();
        assert!(g.is_empty(), "{:?}", labels(&w, &g));
    }

    #[test]
    fn cycle_is_reported_with_its_path() {
        let text = "[workspace]\nmembers=[\"s/*\"]\n[targets.a]\ncommand=\"x\"\nneeds=[\"b\"]\n[targets.b]\ncommand=\"y\"\nneeds=[\"a\"]\n";
        let (_t, w) = ws(text, &["s/one"]);
        let err = TaskGraph::build(&w, &[0], &["a".into()]).unwrap_err();
        assert_eq!(
            err.to_string().split(';').next().unwrap(),
            "task cycle: one:a → one:b → one:a"
        );
        // The position is the `needs` entry that closes the cycle: `"a"` in [targets.b].
        let TaskError::Cycle { at: Some(at), .. } = err else {
            panic!("no position in {err:?}");
        };
        assert_eq!(&text[at.clone()], "\"a\"");
        assert!(at.start > text.find("[targets.b]").unwrap());
    }

    /// Across a loop of services the help names the `^` need as written and the target it is
    /// written in (`^lint` in [targets.test], not `^test`), and the dependency to drop.
    #[test]
    fn a_caret_need_across_a_service_loop_names_the_need_and_the_edge() {
        let text = "[workspace]\nmembers=[\"s/*\"]\n[services.a]\ndeps=[\"b\"]\n[services.b]\ndeps=[]\n[targets.test]\ncommand=\"t\"\nneeds=[\"^lint\"]\n[targets.lint]\ncommand=\"l\"\n";
        let (_t, mut w) = ws(text, &["s/a", "s/b"]);
        // A discovered edge b → a closes the loop (written deps alone may not).
        w.services[1].deps = vec![0];
        w.graph = crate::graph::ServiceGraph::build(
            w.services.iter().map(|s| s.deps.as_slice()),
            std::iter::empty(),
        );
        // lint needs ^test: test(a) → lint(b) → test(a).
        let mut lint = (*w.services[1].targets["lint"]).clone();
        lint.needs = vec![Need::Deps("test".into())];
        let mut targets = (*w.services[1].targets).clone();
        targets.insert("lint".into(), Arc::new(lint));
        w.services[1].targets = Arc::new(targets);
        let err = TaskGraph::build(&w, &[0], &["test".into()]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("task cycle: a:test → b:lint → a:test;"),
            "{text}"
        );
        assert!(
            text.contains("drop `^test` from `[targets.lint] needs`")
                && text.contains("remove the dependency of `b` on `a` (its `deps`)"),
            "{text}"
        );
    }

    #[test]
    fn unknown_target_suggests() {
        let (_t, w) = ws(BASE, &["s/app", "s/lib", "s/core"]);
        let err = TaskGraph::build(&w, &[0], &["buidl".into()]).unwrap_err();
        assert!(err.to_string().contains("did you mean `build`?"), "{err}");
    }
}
