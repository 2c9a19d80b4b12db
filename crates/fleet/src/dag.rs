//! The `dependsOn` graph between units: order, and cycles named in full.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::collections::BTreeMap;

/// Order `units` (name -> names it depends on) so every unit comes after its
/// dependencies. Ties keep the input order. Errors name a missing
/// dependency or the units of a cycle, in cycle order.
pub fn order(units: &[(String, Vec<String>)]) -> Result<Vec<String>, String> {
    let index: BTreeMap<&str, usize> = units
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let mut graph = DiGraph::<usize, ()>::new();
    let nodes: Vec<_> = (0..units.len()).map(|i| graph.add_node(i)).collect();
    for (i, (name, deps)) in units.iter().enumerate() {
        for dep in deps {
            let Some(&j) = index.get(dep.as_str()) else {
                return Err(format!("unit {name} depends on {dep}, which is not a unit"));
            };
            if i == j {
                return Err(format!("dependency cycle: {name} -> {name}"));
            }
            graph.add_edge(nodes[j], nodes[i], ());
        }
    }
    for scc in tarjan_scc(&graph) {
        if scc.len() > 1 {
            let members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
            return Err(format!(
                "dependency cycle: {}",
                describe_cycle(units, &members)
            ));
        }
    }
    // Kahn's algorithm, always taking the earliest ready unit: stable order.
    let mut remaining: Vec<usize> = units.iter().map(|(_, d)| d.len()).collect();
    let mut done = vec![false; units.len()];
    let mut out = Vec::with_capacity(units.len());
    while out.len() < units.len() {
        let Some(next) = (0..units.len()).find(|&i| !done[i] && remaining[i] == 0) else {
            return Err("dependency cycle".into());
        };
        done[next] = true;
        out.push(units[next].0.clone());
        for (i, (_, deps)) in units.iter().enumerate() {
            remaining[i] -= deps.iter().filter(|d| **d == units[next].0).count();
        }
    }
    Ok(out)
}

/// Walk the cycle within `members` from its first unit: `a -> b -> c -> a`,
/// where `x -> y` reads "x depends on y".
fn describe_cycle(units: &[(String, Vec<String>)], members: &[usize]) -> String {
    let mut members = members.to_vec();
    members.sort_unstable();
    let in_cycle = |name: &str| members.iter().find(|&&m| units[m].0 == name).copied();
    let start = members[0];
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = units[current]
            .1
            .iter()
            .filter_map(|d| in_cycle(d))
            .find(|n| *n == start || !path.contains(n));
        match next {
            Some(n) if n == start => break,
            Some(n) => {
                path.push(n);
                current = n;
            }
            None => break,
        }
    }
    let mut names: Vec<&str> = path.iter().map(|&i| units[i].0.as_str()).collect();
    names.push(units[start].0.as_str());
    names.join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(spec: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        spec.iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn orders_dependencies_first_and_keeps_ties_stable() {
        let u = units(&[
            ("apps", &["infra"]),
            ("infra", &["crds"]),
            ("crds", &[]),
            ("misc", &[]),
        ]);
        assert_eq!(order(&u).unwrap(), ["crds", "infra", "apps", "misc"]);
    }

    #[test]
    fn cycles_are_named() {
        let u = units(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &[])]);
        assert_eq!(order(&u).unwrap_err(), "dependency cycle: a -> b -> c -> a");
        let u = units(&[("a", &["a"])]);
        assert_eq!(order(&u).unwrap_err(), "dependency cycle: a -> a");
    }

    #[test]
    fn missing_dependency_is_named() {
        let u = units(&[("a", &["ghost"])]);
        assert_eq!(
            order(&u).unwrap_err(),
            "unit a depends on ghost, which is not a unit"
        );
    }
}
