//! Package-level closures of the services of one Go module: a service's own packages (with their
//! `_test.go` imports) and, transitively, every package of the module they import (without their
//! tests: `go build` and `go test` of the service never compile a dependency's tests), each with
//! the shortest chain of imports that reaches it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::packages::{ModuleGraph, Package};
use crate::discover::PackageInput;
use crate::paths::is_under;

/// One service's closure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceClosure {
    /// Sorted by directory.
    pub packages: Vec<PackageInput>,
    /// Import paths outside the module and outside the standard library (sorted, deduplicated).
    pub external: Vec<String>,
}

/// The standard library's import paths have no dot in their first element; every module path
/// outside it does (`github.com/…`, `golang.org/x/…`).
pub fn is_std(import: &str) -> bool {
    !import.split('/').next().unwrap_or("").contains('.')
}

/// The packages of `graph` a service rooted at `root` holds as its own: every package below
/// `root` that lies below none of `other_roots` deeper than `root` (another service's).
pub fn own_packages<'g>(graph: &'g ModuleGraph, root: &str, other_roots: &[&str]) -> Vec<&'g str> {
    let deeper: std::collections::HashSet<&str> = other_roots
        .iter()
        .copied()
        .filter(|o| o.len() > root.len() && is_under(o, root))
        .collect();
    // Whether a folder of `d` deeper than `root` (`d` itself included) is another root: one
    // lookup per such folder, not one test per other root.
    let in_deeper = |d: &str| {
        let mut at = d;
        while at.len() > root.len() {
            if deeper.contains(at) {
                return true;
            }
            at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
        }
        false
    };
    // The packages below `root` are one run of the sorted map, from `root` on.
    graph
        .packages
        .range::<str, _>((std::ops::Bound::Included(root), std::ops::Bound::Unbounded))
        .map(|(_, p)| p)
        .take_while(|p| p.dir.starts_with(root))
        .filter(|p| !p.data)
        .map(|p| p.dir.as_str())
        .filter(|d| is_under(d, root) && (deeper.is_empty() || !in_deeper(d)))
        .collect()
}

/// The closure of a service whose own packages are `own` (their tests count). `local` says
/// whether an import path outside this module is still a workspace module (not an external
/// dependency).
pub fn closure(graph: &ModuleGraph, own: &[&str], local: &dyn Fn(&str) -> bool) -> ServiceClosure {
    let start = own.iter().map(|&d| (d, None)).collect();
    walk(graph, start, &[], local)
}

/// The packages of `graph` that a service of another module reaches through its `imports` (a
/// module that uses this one as a local dependency): each imported package and what it imports,
/// without tests, each chain starting at `from` (the service's root).
pub fn imported(
    graph: &ModuleGraph,
    imports: &[String],
    from: &str,
    local: &dyn Fn(&str) -> bool,
) -> Vec<PackageInput> {
    let mut start: Vec<(&str, Option<&str>)> = Vec::new();
    for import in imports {
        if let Some(d) = graph.local_dir(import) {
            if let Some((key, _)) = graph.packages.get_key_value(&d) {
                start.push((key.as_str(), Some(from)));
            }
        }
    }
    start.sort_unstable();
    start.dedup();
    walk(graph, start, &[from], local).packages
}

/// Breadth-first over the imports from `start` (package dir, and for a package that is not the
/// service's own, the chain head it is reached from); `heads` are those chain heads, which are
/// no packages of `graph`.
fn walk<'g>(
    graph: &'g ModuleGraph,
    start: Vec<(&'g str, Option<&'g str>)>,
    heads: &[&str],
    local: &dyn Fn(&str) -> bool,
) -> ServiceClosure {
    // Package dir → the package (or chain head) it was reached from (`None` for an own package).
    let mut parent: HashMap<&str, Option<&str>> = HashMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for (d, from) in start {
        if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(d) {
            e.insert(from);
            queue.push_back(d);
        }
    }
    let mut external = BTreeSet::new();
    while let Some(dir) = queue.pop_front() {
        let pkg = &graph.packages[dir];
        let own_pkg = parent[dir].is_none();
        let tests = own_pkg.then_some(&pkg.test_imports).into_iter().flatten();
        for import in pkg.imports.iter().chain(tests) {
            // A path below the module's own that names no package of it lies in a nested
            // module (or nowhere): that is another module's package.
            let found = graph
                .local_dir(import)
                .and_then(|d| graph.packages.get_key_value(&d));
            match found {
                Some((key, _)) => {
                    parent.entry(key.as_str()).or_insert_with(|| {
                        queue.push_back(key.as_str());
                        Some(dir)
                    });
                }
                None if !is_std(import) && !local(import) => {
                    external.insert(import.clone());
                }
                None => {}
            }
        }
    }
    let mut packages: Vec<PackageInput> = parent
        .iter()
        .filter(|(dir, _)| !heads.contains(dir))
        .map(|(&dir, &from)| {
            let mut chain = vec![dir.to_string()];
            let mut at = from;
            while let Some(p) = at {
                chain.push(p.to_string());
                at = parent.get(p).copied().flatten();
            }
            chain.reverse();
            let tests = from.is_none();
            PackageInput {
                dir: dir.to_string(),
                tests,
                chain,
                assets: assets(&graph.packages[dir], tests),
            }
        })
        .collect();
    packages.sort_unstable();
    ServiceClosure {
        packages,
        external: external.into_iter().collect(),
    }
}

/// The asset folders of `pkg` that a build reads: all of them when its tests count, else those
/// not in a `testdata/` folder (only the package's own tests read those).
fn assets(pkg: &Package, tests: bool) -> Vec<String> {
    let below = |a: &str| -> bool {
        let rel = if pkg.dir.is_empty() {
            a
        } else {
            a.get(pkg.dir.len() + 1..).unwrap_or(a)
        };
        rel.split('/').any(|c| c == "testdata")
    };
    pkg.assets
        .iter()
        .filter(|a| tests || !below(a))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::go::packages::Package;

    fn pkg(dir: &str, imports: &[&str], test_imports: &[&str]) -> (String, Package) {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        (
            dir.to_string(),
            Package {
                dir: dir.to_string(),
                imports: v(imports),
                test_imports: v(test_imports),
                main: false,
                assets: Vec::new(),
                data: false,
            },
        )
    }

    fn graph() -> ModuleGraph {
        ModuleGraph {
            module: "ex.com/m".into(),
            root: String::new(),
            packages: [
                pkg(
                    "services/user",
                    &["ex.com/m/pkg/auth", "fmt", "github.com/google/uuid"],
                    &["ex.com/m/pkg/testutil"],
                ),
                pkg(
                    "services/user/internal/h",
                    &["ex.com/m/pkg/log"],
                    &["github.com/stretchr/testify/assert"],
                ),
                pkg("services/user/tools/migrate", &["ex.com/m/pkg/db"], &[]),
                pkg(
                    "pkg/auth",
                    &["ex.com/m/pkg/log", "golang.org/x/crypto/bcrypt"],
                    &["ex.com/m/pkg/mock"],
                ),
                pkg("pkg/log", &[], &[]),
                pkg(
                    "pkg/testutil",
                    &["ex.com/m/pkg/log"],
                    &["ex.com/m/pkg/never"],
                ),
                pkg("pkg/mock", &[], &[]),
                pkg("pkg/db", &[], &[]),
                pkg("pkg/never", &[], &[]),
                pkg("shared/other", &["ex.com/other/lib"], &[]),
            ]
            .into_iter()
            .collect(),
            nested: Vec::new(),
        }
    }

    #[test]
    fn own_packages_with_tests_and_dependencies_without() {
        let g = graph();
        let own = own_packages(
            &g,
            "services/user",
            &["services/user/tools/migrate", "pkg/auth"],
        );
        let c = closure(&g, &own, &|_| false);
        let got: Vec<(&str, bool, Vec<&str>)> = c
            .packages
            .iter()
            .map(|p| {
                (
                    p.dir.as_str(),
                    p.tests,
                    p.chain.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("pkg/auth", false, vec!["services/user", "pkg/auth"]),
                (
                    "pkg/log",
                    false,
                    vec!["services/user/internal/h", "pkg/log"]
                ),
                ("pkg/testutil", false, vec!["services/user", "pkg/testutil"]),
                ("services/user", true, vec!["services/user"]),
                (
                    "services/user/internal/h",
                    true,
                    vec!["services/user/internal/h"]
                ),
            ]
        );
        // pkg/mock is only imported by a dependency's test; pkg/never by a dependency's test too;
        // the nested binary is its own service.
        assert_eq!(
            c.external,
            [
                "github.com/google/uuid",
                "github.com/stretchr/testify/assert",
                "golang.org/x/crypto/bcrypt"
            ]
        );
    }

    #[test]
    fn other_workspace_modules_are_not_external() {
        let c = closure(&graph(), &["shared/other"], &|p| {
            p.starts_with("ex.com/other")
        });
        assert!(c.external.is_empty());
        let c = closure(&graph(), &["shared/other"], &|_| false);
        assert_eq!(c.external, ["ex.com/other/lib"]);
    }

    #[test]
    fn directory_and_std_rules() {
        assert!(is_std("net/http") && is_std("fmt") && !is_std("golang.org/x/net"));
    }
}
