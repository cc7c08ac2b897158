//! The service dependency graph. Built once from the validated services, checked for cycles and then
//! frozen: a `ServiceGraph` that exists is acyclic, so later stages never re-check. It keeps the
//! petgraph graph (for export and algorithms) and flat adjacency lists for the hot paths.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::config::{Service, ServiceId};

/// An acyclic graph of services; an edge `a → b` means `a` depends on `b`.
#[derive(Debug)]
pub struct ServiceGraph {
    graph: DiGraph<ServiceId, ()>,
    /// `dependents[b]` = services that depend directly on `b`, sorted.
    dependents: Vec<Vec<ServiceId>>,
    /// Every service, dependencies before dependents.
    topo: Vec<ServiceId>,
}

impl ServiceGraph {
    /// Builds the graph, or returns one cycle as a closed list of ids (`[a, b, a]`).
    pub fn build(services: &[Service]) -> Result<Self, Vec<ServiceId>> {
        let mut graph = DiGraph::with_capacity(services.len(), services.len() * 2);
        for id in 0..services.len() {
            graph.add_node(id);
        }
        let mut dependents = vec![Vec::new(); services.len()];
        for (id, s) in services.iter().enumerate() {
            for &dep in &s.deps {
                graph.add_edge(NodeIndex::new(id), NodeIndex::new(dep), ());
                dependents[dep].push(id);
            }
        }
        for d in &mut dependents {
            d.sort_unstable();
        }
        match petgraph::algo::toposort(&graph, None) {
            Ok(order) => {
                // toposort puts dependents first (edges point at dependencies); we want the reverse.
                let topo = order.into_iter().rev().map(NodeIndex::index).collect();
                Ok(ServiceGraph {
                    graph,
                    dependents,
                    topo,
                })
            }
            Err(_) => Err(find_cycle(&graph)),
        }
    }

    pub fn deps_of<'s>(&self, services: &'s [Service], id: ServiceId) -> &'s [ServiceId] {
        &services[id].deps
    }

    pub fn dependents_of(&self, id: ServiceId) -> &[ServiceId] {
        &self.dependents[id]
    }

    /// Every service, each after all its dependencies.
    pub fn topological(&self) -> &[ServiceId] {
        &self.topo
    }

    /// Edges as `(dependent, dependency)` pairs, in a stable order.
    pub fn edges(&self) -> impl Iterator<Item = (ServiceId, ServiceId)> + '_ {
        self.graph
            .edge_references()
            .map(|e| (e.source().index(), e.target().index()))
    }
}

/// Finds one cycle inside the first non-trivial strongly connected component, smallest name first.
fn find_cycle(graph: &DiGraph<ServiceId, ()>) -> Vec<ServiceId> {
    let mut sccs: Vec<Vec<NodeIndex>> = tarjan_scc(graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    for c in &mut sccs {
        c.sort();
    }
    sccs.sort();
    let Some(scc) = sccs.first() else {
        return Vec::new();
    };
    let start = scc[0];
    // Depth-first search within the component for a path back to `start`.
    let mut path = vec![start];
    let mut visited = vec![false; graph.node_count()];
    visited[start.index()] = true;
    fn dfs(
        graph: &DiGraph<ServiceId, ()>,
        scc: &[NodeIndex],
        start: NodeIndex,
        path: &mut Vec<NodeIndex>,
        visited: &mut [bool],
    ) -> bool {
        let cur = *path.last().expect("path starts non-empty");
        let mut next: Vec<NodeIndex> = graph.neighbors(cur).filter(|n| scc.contains(n)).collect();
        next.sort();
        for n in next {
            if n == start {
                path.push(n);
                return true;
            }
            if !visited[n.index()] {
                visited[n.index()] = true;
                path.push(n);
                if dfs(graph, scc, start, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    dfs(graph, scc, start, &mut path, &mut visited);
    path.into_iter().map(|n| graph[n]).collect()
}
