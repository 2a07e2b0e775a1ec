//! Ordering the resource graph into layers, and naming a cycle when there
//! is one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::DeclId;

/// Resources grouped into layers, and each resource's direct dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layering {
    /// Layer 0 depends on nothing; layer n only on layers before it. Within
    /// a layer, declaration order.
    pub layers: Vec<Vec<DeclId>>,
    /// Direct dependencies, in deploy order.
    pub depends_on: BTreeMap<DeclId, Vec<DeclId>>,
}

/// A dependency cycle, in order: each depends on the next, the last on the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<DeclId>);

/// Orders `nodes` given `edges` as (dependency, dependent) pairs.
pub fn order(nodes: &[DeclId], edges: &[(DeclId, DeclId)]) -> Result<Layering, Cycle> {
    let mut graph: DiGraph<DeclId, ()> = DiGraph::with_capacity(nodes.len(), edges.len());
    let index: HashMap<DeclId, NodeIndex> =
        nodes.iter().map(|n| (*n, graph.add_node(*n))).collect();
    let mut seen = BTreeSet::new();
    for (dependency, dependent) in edges {
        let (Some(a), Some(b)) = (index.get(dependency), index.get(dependent)) else {
            continue;
        };
        if seen.insert((*a, *b)) {
            graph.add_edge(*a, *b, ());
        }
    }
    let mut in_degree: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, petgraph::Incoming).count())
        .collect();
    let mut ready: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|n| in_degree[n.index()] == 0)
        .collect();
    let mut layers = Vec::new();
    let mut placed = 0;
    while !ready.is_empty() {
        ready.sort_by_key(|n| graph[*n]);
        let mut next = Vec::new();
        for n in &ready {
            for m in graph.neighbors_directed(*n, petgraph::Outgoing) {
                in_degree[m.index()] -= 1;
                if in_degree[m.index()] == 0 {
                    next.push(m);
                }
            }
        }
        placed += ready.len();
        layers.push(ready.iter().map(|n| graph[*n]).collect::<Vec<_>>());
        ready = next;
    }
    if placed < nodes.len() {
        return Err(find_cycle(&graph));
    }
    let position: HashMap<DeclId, usize> = layers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let depends_on = graph
        .node_indices()
        .map(|n| {
            let mut deps: Vec<DeclId> = graph
                .neighbors_directed(n, petgraph::Incoming)
                .map(|m| graph[m])
                .collect();
            deps.sort_by_key(|d| position.get(d).copied().unwrap_or(usize::MAX));
            deps.dedup();
            (graph[n], deps)
        })
        .collect();
    Ok(Layering { layers, depends_on })
}

/// A cycle inside the first strongly connected component that has one,
/// starting from its earliest declaration and following dependents.
fn find_cycle(graph: &DiGraph<DeclId, ()>) -> Cycle {
    let component = tarjan_scc(graph)
        .into_iter()
        .filter(|c| c.len() > 1 || c.iter().any(|n| graph.contains_edge(*n, *n)))
        .min_by_key(|c| c.iter().map(|n| graph[*n]).min())
        .unwrap_or_default();
    let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
    let Some(start) = component.iter().copied().min_by_key(|n| graph[*n]) else {
        return Cycle(Vec::new());
    };
    // Walk dependency → dependent edges inside the component until a node
    // repeats; the repeated stretch is the cycle. Reverse it so each entry
    // depends on the next, as users read "a depends on b".
    let mut path = vec![start];
    let mut current = start;
    while let Some(next) = graph
        .neighbors_directed(current, petgraph::Outgoing)
        .filter(|m| members.contains(m))
        .min_by_key(|m| graph[*m])
    {
        if let Some(i) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<DeclId> = path[i..].iter().map(|n| graph[*n]).collect();
            cycle.reverse();
            let first = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, id)| **id)
                .map(|(i, _)| i)
                .unwrap_or(0);
            cycle.rotate_left(first);
            return Cycle(cycle);
        }
        path.push(next);
        current = next;
    }
    Cycle(path.iter().map(|n| graph[*n]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[usize]) -> Vec<DeclId> {
        v.iter().map(|i| DeclId(*i)).collect()
    }

    #[test]
    fn layers_follow_dependencies_and_declaration_order() {
        // 2 and 3 depend on 0; 3 also on 1; 4 on 3.
        let edges = [(0, 2), (0, 3), (1, 3), (3, 4)].map(|(a, b)| (DeclId(a), DeclId(b)));
        let l = order(&ids(&[0, 1, 2, 3, 4]), &edges).unwrap();
        assert_eq!(l.layers, vec![ids(&[0, 1]), ids(&[2, 3]), ids(&[4])]);
        assert_eq!(l.depends_on[&DeclId(3)], ids(&[0, 1]));
        assert_eq!(l.depends_on[&DeclId(0)], ids(&[]));
    }

    #[test]
    fn a_cycle_is_named_in_dependency_order() {
        // 1 depends on 0, 2 on 1, 0 on 2: 0 → 2 → 1 → 0 reads "0 depends on 2".
        let edges = [(0, 1), (1, 2), (2, 0), (3, 0)].map(|(a, b)| (DeclId(a), DeclId(b)));
        let Cycle(cycle) = order(&ids(&[0, 1, 2, 3]), &edges).unwrap_err();
        assert_eq!(cycle, ids(&[0, 2, 1]));
    }

    #[test]
    fn a_self_loop_is_a_cycle() {
        let Cycle(cycle) = order(&ids(&[0]), &[(DeclId(0), DeclId(0))]).unwrap_err();
        assert_eq!(cycle, ids(&[0]));
    }
}
