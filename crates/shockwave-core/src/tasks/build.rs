//! Building the task graph: each requested (service, target) resolved through its `needs`, a
//! target a service lacks passed through to what its needs reach, cycles reported once with what
//! to change, and the tasks put in topological order.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::{check_targets, Task, TaskError, TaskGraph, TaskIdx};
use crate::config::{Need, ServiceId, Workspace};

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
                if ws.service(s).targets.contains_key(t.as_str()) {
                    for idx in b.resolve(s, t, None)?.0 {
                        b.nodes[idx.index()].requested = true;
                    }
                }
            }
        }
        Ok(b.finish())
    }
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
        .map(|&(s, _)| ws.service(s).name.as_str())
        .collect();
    services.dedup();
    let (a, b) = (ws.service(from), ws.service(to));
    let manifest = match a.ecosystem {
        Some(e) if e.is_npm_family() => {
            format!(" in {}", crate::paths::join(&a.root, "package.json"))
        }
        Some(crate::discover::Ecosystem::Cargo) => {
            format!(" in {}", crate::paths::join(&a.root, "Cargo.toml"))
        }
        Some(crate::discover::Ecosystem::Go) => {
            format!(" in {}", crate::paths::join(&a.root, "go.mod"))
        }
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
                .map(|(s, t)| format!("{}:{t}", self.ws.service(*s).name))
                .collect();
            chain.push(format!("{}:{target}", self.ws.service(service).name));
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
        let svc = self.ws.service(service);
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
            let idx = TaskIdx::new(self.nodes.len());
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
                    let deps = self.ws.service(service).deps.clone();
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
        if let Some(&p) = out.iter().find(|t| self.nodes[t.index()].def.persistent) {
            let needed = &self.nodes[p.index()];
            return Err(TaskError::NeedsPersistent {
                needed: format!("{}:{}", self.ws.service(needed.service).name, needed.target),
                by: self.ws.service(service).name.clone(),
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
            ws.graph()
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
                    Need::ScriptDeps(target) => Some((TaskIdx::new(i), target.clone())),
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
            let service = self.nodes[task.index()].service;
            let own_group = groups.get(&service).copied();
            let mut seen: std::collections::HashSet<ServiceId> = [service].into();
            let mut stack: Vec<ServiceId> = Vec::new();
            // The loop's members look through one another to what the loop depends on outside.
            let starts: Vec<ServiceId> = match own_group {
                Some(g) => self.ws.graph().cycles()[g].clone(),
                None => vec![service],
            };
            for s in starts {
                seen.insert(s);
                stack.extend(self.ws.service(s).deps.iter().copied());
            }
            let mut found: Vec<TaskIdx> = Vec::new();
            while let Some(d) = stack.pop() {
                if !seen.insert(d) {
                    continue;
                }
                let group = groups.get(&d).copied();
                let members: Vec<ServiceId> = match group {
                    Some(g) => self.ws.graph().cycles()[g].clone(),
                    None => vec![d],
                };
                let hits: Vec<TaskIdx> = members
                    .iter()
                    .filter_map(|&m| planned(&self.index, m, &target))
                    .collect();
                if hits.is_empty() {
                    for &m in &members {
                        seen.insert(m);
                        stack.extend(self.ws.service(m).deps.iter().copied());
                    }
                } else {
                    seen.extend(members.iter().copied());
                    found.extend(hits);
                }
            }
            if let Some(g) = own_group {
                let mates_planned = self.ws.graph().cycles()[g]
                    .iter()
                    .any(|&m| m != service && planned(&self.index, m, &target).is_some());
                if mates_planned {
                    self.unordered.insert((g, target.to_string()));
                }
            }
            let needs = &mut self.nodes[task.index()].needs;
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
            .all(|(i, t)| t.needs.iter().all(|x| x.index() < i))
        {
            return;
        }
        let mut waiting: Vec<usize> = self.nodes.iter().map(|t| t.needs.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, t) in self.nodes.iter().enumerate() {
            for x in &t.needs {
                dependents[x.index()].push(i);
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
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
                *x = TaskIdx::new(new_of[x.index()]);
            }
            t.needs.sort_unstable();
            self.nodes.push(t);
        }
        for idx in self.index.values_mut() {
            *idx = TaskIdx::new(new_of[idx.index()]);
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
            let names: Vec<&str> = self.ws.graph().cycles()[group]
                .iter()
                .map(|&i| self.ws.service(i).name.as_str())
                .collect();
            tracing::warn!(
                "{} depend on one another in a loop: their `{}` scripts are not ordered among themselves (as pnpm does); write `needs` for those targets to order them",
                names.join(", "),
                targets.join("`, `")
            );
        }
        TaskGraph::from_tasks(self.nodes)
    }
}
