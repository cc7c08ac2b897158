//! The service dependency graph, built once from plain dependency lists and then frozen. Package
//! managers and toolchains accept cycles between workspace packages (a loop through
//! `devDependencies` installs fine), so a `ServiceGraph` may hold them: what spreads a change
//! follows reachability, and only a task graph that must *order* a cycle refuses it (`tasks`).
//! Two kinds of edge: a normal dependency, whose change reaches the dependent and everything that
//! depends on it, and a dev-only dependency (Cargo `[dev-dependencies]`), which reaches the
//! dependent's own tests and stops there. This module knows nothing of the config, so it never
//! validates names or reports errors in words.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// A service, by its position in the workspace's services (sorted by name) and so of its
/// dependency list in what [`ServiceGraph::build`] was given. Its own type, so that it cannot
/// be passed where a task's index is meant; only the crate makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(usize);

impl ServiceId {
    #[inline]
    pub(crate) const fn new(index: usize) -> ServiceId {
        ServiceId(index)
    }

    /// The position, for lists kept in the services' order.
    #[inline]
    pub const fn index(self) -> usize {
        self.0
    }
}

/// What a dependency edge carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// Built into the dependent: a change reaches the dependent and, through it, its dependents.
    Normal,
    /// Needed only by the dependent's own tests: a change reaches the dependent and stops.
    Dev,
}

/// A graph of services; an edge `a → b` means `a` depends on `b`.
#[derive(Debug)]
pub struct ServiceGraph {
    graph: DiGraph<ServiceId, EdgeKind>,
    /// `dependents[b]` = services that depend on `b` through a normal edge, sorted.
    dependents: Vec<Vec<ServiceId>>,
    /// `dev_dependents[b]` = services that depend on `b` only for their tests, sorted.
    dev_dependents: Vec<Vec<ServiceId>>,
    /// The strongly connected components of more than one service (or one that needs itself)
    /// over normal edges, each sorted, smallest first.
    cycles: Vec<Vec<ServiceId>>,
}

impl ServiceGraph {
    /// Builds the graph from each node's direct normal dependencies and its dev-only ones
    /// (`dev` may be shorter than `deps`: missing lists are empty). Every id must be below the
    /// number of lists.
    pub fn build<'d>(
        deps: impl ExactSizeIterator<Item = &'d [ServiceId]>,
        dev: impl Iterator<Item = &'d [ServiceId]>,
    ) -> Self {
        let n = deps.len();
        let mut graph = DiGraph::with_capacity(n, n * 2);
        for id in 0..n {
            graph.add_node(ServiceId::new(id));
        }
        let mut dependents = vec![Vec::new(); n];
        let mut dev_dependents = vec![Vec::new(); n];
        for (id, list) in deps.enumerate() {
            for &dep in list {
                graph.add_edge(NodeIndex::new(id), node(dep), EdgeKind::Normal);
                dependents[dep.index()].push(ServiceId::new(id));
            }
        }
        for (id, list) in dev.enumerate().take(n) {
            for &dep in list {
                graph.add_edge(NodeIndex::new(id), node(dep), EdgeKind::Dev);
                dev_dependents[dep.index()].push(ServiceId::new(id));
            }
        }
        for d in dependents.iter_mut().chain(dev_dependents.iter_mut()) {
            d.sort_unstable();
            d.dedup();
        }
        let cycles = normal_cycles(&graph);
        ServiceGraph {
            graph,
            dependents,
            dev_dependents,
            cycles,
        }
    }

    /// Services that depend on `id` through a normal edge.
    pub fn dependents_of(&self, id: ServiceId) -> &[ServiceId] {
        &self.dependents[id.index()]
    }

    /// Services that depend on `id` only for their own tests.
    pub fn dev_dependents_of(&self, id: ServiceId) -> &[ServiceId] {
        &self.dev_dependents[id.index()]
    }

    /// Groups of services that depend on one another around a loop of normal edges: each sorted,
    /// the groups in order of their smallest id.
    pub fn cycles(&self) -> &[Vec<ServiceId>] {
        &self.cycles
    }

    /// A shortest loop from `id` through its cycle group and back, closed (`[a, b, a]`); `None`
    /// when `id` is in no cycle.
    pub fn cycle_through(&self, id: ServiceId) -> Option<Vec<ServiceId>> {
        let group = self.cycles.iter().find(|c| c.binary_search(&id).is_ok())?;
        Some(find_loop(&self.graph, group, id))
    }

    /// Edges as `(dependent, dependency, kind)`, in a stable order.
    pub fn edges(&self) -> impl Iterator<Item = (ServiceId, ServiceId, EdgeKind)> + '_ {
        self.graph
            .edge_references()
            .map(|e| (service_of(e.source()), service_of(e.target()), *e.weight()))
    }
}

/// The graph's node for a service: nodes are added in the services' order.
fn node(id: ServiceId) -> NodeIndex {
    NodeIndex::new(id.index())
}

/// The service a node stands for.
fn service_of(node: NodeIndex) -> ServiceId {
    ServiceId::new(node.index())
}

/// The components of the normal-edge graph that hold a loop.
fn normal_cycles(graph: &DiGraph<ServiceId, EdgeKind>) -> Vec<Vec<ServiceId>> {
    let normal = graph.filter_map(
        |_, &n| Some(n),
        |_, &k| (k == EdgeKind::Normal).then_some(k),
    );
    let mut sccs: Vec<Vec<ServiceId>> = tarjan_scc(&normal)
        .into_iter()
        .filter(|c| c.len() > 1 || normal.contains_edge(c[0], c[0]))
        .map(|c| {
            let mut ids: Vec<ServiceId> = c.into_iter().map(service_of).collect();
            ids.sort_unstable();
            ids
        })
        .collect();
    sccs.sort();
    sccs
}

/// A loop through the normal edges of `group` (a sorted cycle component) from `start` back to
/// it: breadth-first, so the loop is a shortest one.
fn find_loop(
    graph: &DiGraph<ServiceId, EdgeKind>,
    group: &[ServiceId],
    start: ServiceId,
) -> Vec<ServiceId> {
    let inside = |n: ServiceId| group.binary_search(&n).is_ok();
    let mut parent: std::collections::HashMap<ServiceId, ServiceId> = Default::default();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(cur) = queue.pop_front() {
        let mut next: Vec<ServiceId> = graph
            .edges(node(cur))
            .filter(|e| *e.weight() == EdgeKind::Normal)
            .map(|e| service_of(e.target()))
            .filter(|&n| inside(n))
            .collect();
        next.sort_unstable();
        for n in next {
            if n == start {
                // start → … → cur → start: walk the parents back from `cur`.
                let mut walk = vec![cur];
                while let Some(&p) = parent.get(walk.last().expect("walk starts non-empty")) {
                    walk.push(p);
                }
                walk.reverse();
                walk.push(start);
                return walk;
            }
            if n != start && !parent.contains_key(&n) {
                parent.insert(n, cur);
                queue.push_back(n);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[usize]) -> Vec<ServiceId> {
        list.iter().copied().map(ServiceId::new).collect()
    }

    fn build(deps: &[&[usize]]) -> ServiceGraph {
        let deps: Vec<Vec<ServiceId>> = deps.iter().map(|d| ids(d)).collect();
        ServiceGraph::build(deps.iter().map(Vec::as_slice), std::iter::empty())
    }

    #[test]
    fn lists_dependents_sorted() {
        let g = build(&[&[1, 2], &[2], &[]]);
        assert_eq!(g.dependents_of(ServiceId::new(2)), ids(&[0, 1]));
        assert!(g.dependents_of(ServiceId::new(0)).is_empty());
        assert!(g.cycles().is_empty());
    }

    #[test]
    fn a_cycle_is_kept_and_walked_from_the_node_asked_for() {
        let g = build(&[&[], &[2], &[3], &[1]]);
        assert_eq!(g.cycles(), [ids(&[1, 2, 3])]);
        assert_eq!(
            g.cycle_through(ServiceId::new(3)).unwrap(),
            ids(&[3, 1, 2, 3])
        );
        assert_eq!(g.cycle_through(ServiceId::new(0)), None);
        assert_eq!(g.dependents_of(ServiceId::new(1)), ids(&[3]));
    }

    #[test]
    fn the_loop_is_a_shortest_one() {
        // 0 → 1 → 0 and 0 → 2 → 3 → 0: the walk takes the two-step loop.
        let g = build(&[&[1, 2], &[0], &[3], &[0]]);
        assert_eq!(g.cycle_through(ServiceId::new(0)).unwrap(), ids(&[0, 1, 0]));
        assert_eq!(
            g.cycle_through(ServiceId::new(2)).unwrap(),
            ids(&[2, 3, 0, 2])
        );
        let g = build(&[&[0]]);
        assert_eq!(g.cycle_through(ServiceId::new(0)).unwrap(), ids(&[0, 0]));
    }

    #[test]
    fn dev_edges_are_their_own_kind_and_close_no_cycle() {
        // 0 depends on 1; 1 dev-depends on 0 (its tests use 0): no cycle.
        let (deps, dev) = ([ids(&[1]), ids(&[])], [ids(&[]), ids(&[0])]);
        let g = ServiceGraph::build(
            deps.iter().map(Vec::as_slice),
            dev.iter().map(Vec::as_slice),
        );
        assert!(g.cycles().is_empty());
        assert_eq!(g.dev_dependents_of(ServiceId::new(0)), ids(&[1]));
        assert!(g.dependents_of(ServiceId::new(0)).is_empty());
        let kinds: Vec<EdgeKind> = g.edges().map(|(_, _, k)| k).collect();
        assert_eq!(kinds, [EdgeKind::Normal, EdgeKind::Dev]);
    }
}
