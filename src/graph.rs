//! The service dependency graph. Built once from plain dependency lists, checked for cycles and then
//! frozen: a `ServiceGraph` that exists is acyclic, so later stages never re-check. It keeps the
//! petgraph graph (for export and algorithms) and flat adjacency lists for the hot paths. A node is
//! the position of its list in what `build` was given (the workspace's service ids); this module
//! knows nothing of the config, so it never validates names or reports errors in words.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// A node: the position of its dependency list in what [`ServiceGraph::build`] was given.
pub type NodeId = usize;

/// An acyclic graph of services; an edge `a → b` means `a` depends on `b`.
#[derive(Debug)]
pub struct ServiceGraph {
    graph: DiGraph<NodeId, ()>,
    /// `dependents[b]` = services that depend directly on `b`, sorted.
    dependents: Vec<Vec<NodeId>>,
    /// Every service, dependencies before dependents.
    topo: Vec<NodeId>,
}

impl ServiceGraph {
    /// Builds the graph from each node's direct dependencies (every id below the number of lists),
    /// or returns one cycle as a closed list of ids (`[a, b, a]`).
    pub fn build<'d>(
        deps: impl ExactSizeIterator<Item = &'d [NodeId]>,
    ) -> Result<Self, Vec<NodeId>> {
        let n = deps.len();
        let mut graph = DiGraph::with_capacity(n, n * 2);
        for id in 0..n {
            graph.add_node(id);
        }
        let mut dependents = vec![Vec::new(); n];
        for (id, list) in deps.enumerate() {
            for &dep in list {
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

    pub fn dependents_of(&self, id: NodeId) -> &[NodeId] {
        &self.dependents[id]
    }

    /// Every service, each after all its dependencies.
    pub fn topological(&self) -> &[NodeId] {
        &self.topo
    }

    /// Edges as `(dependent, dependency)` pairs, in a stable order.
    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.graph
            .edge_references()
            .map(|e| (e.source().index(), e.target().index()))
    }
}

/// Finds one cycle inside the first non-trivial strongly connected component, smallest name first.
fn find_cycle(graph: &DiGraph<NodeId, ()>) -> Vec<NodeId> {
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
        graph: &DiGraph<NodeId, ()>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn build(deps: &[&[NodeId]]) -> Result<ServiceGraph, Vec<NodeId>> {
        ServiceGraph::build(deps.iter().copied())
    }

    #[test]
    fn orders_dependencies_first_and_lists_dependents() {
        let g = build(&[&[1, 2], &[2], &[]]).unwrap();
        assert_eq!(g.topological(), [2, 1, 0]);
        assert_eq!(g.dependents_of(2), [0, 1]);
        assert!(g.dependents_of(0).is_empty());
    }

    #[test]
    fn a_cycle_is_returned_closed_from_its_smallest_node() {
        assert_eq!(build(&[&[], &[2], &[3], &[1]]).unwrap_err(), [1, 2, 3, 1]);
    }
}
