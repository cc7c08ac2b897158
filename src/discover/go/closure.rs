//! Package-level closures of the services of one Go module: a service's own packages (with their
//! `_test.go` imports) and, transitively, every package of the module they import (without their
//! tests: `go build` and `go test` of the service never compile a dependency's tests), each with
//! the shortest chain of imports that reaches it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::packages::ModuleGraph;
use crate::discover::PackageInput;

/// One service's closure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceClosure {
    /// Sorted by directory.
    pub packages: Vec<PackageInput>,
    /// Import paths outside the module and outside the standard library (sorted, deduplicated).
    pub external: Vec<String>,
}

/// Whether `dir` is `root` or lies below it (both workspace-relative).
pub fn is_under(dir: &str, root: &str) -> bool {
    root.is_empty()
        || dir == root
        || (dir.len() > root.len() && dir.starts_with(root) && dir.as_bytes()[root.len()] == b'/')
}

/// The standard library's import paths have no dot in their first element; every module path
/// outside it does (`github.com/…`, `golang.org/x/…`).
pub fn is_std(import: &str) -> bool {
    !import.split('/').next().unwrap_or("").contains('.')
}

/// The closure of the service rooted at `root`; `other_roots` are the other services' roots, whose
/// packages are never this service's own even when they lie below `root`. `local` says whether an
/// import path outside this module is still a workspace module (not an external dependency).
pub fn closure(
    graph: &ModuleGraph,
    root: &str,
    other_roots: &[&str],
    local: &dyn Fn(&str) -> bool,
) -> ServiceClosure {
    let own: Vec<&str> = graph
        .packages
        .keys()
        .map(String::as_str)
        .filter(|d| {
            is_under(d, root)
                && !other_roots
                    .iter()
                    .any(|o| o.len() > root.len() && is_under(o, root) && is_under(d, o))
        })
        .collect();
    // Package dir → the package it was reached from (`None` for an own package).
    let mut parent: HashMap<&str, Option<&str>> = own.iter().map(|&d| (d, None)).collect();
    let mut queue: VecDeque<&str> = own.iter().copied().collect();
    let mut external = BTreeSet::new();
    while let Some(dir) = queue.pop_front() {
        let pkg = &graph.packages[dir];
        let own_pkg = parent[dir].is_none();
        let tests = own_pkg.then_some(&pkg.test_imports).into_iter().flatten();
        for import in pkg.imports.iter().chain(tests) {
            match graph.local_dir(import) {
                Some(d) => {
                    if let Some((key, _)) = graph.packages.get_key_value(&d) {
                        parent.entry(key.as_str()).or_insert_with(|| {
                            queue.push_back(key.as_str());
                            Some(dir)
                        });
                    }
                }
                None if !is_std(import) && !local(import) => {
                    external.insert(import.clone());
                }
                None => {}
            }
        }
    }
    let mut packages: Vec<PackageInput> = parent
        .keys()
        .map(|&dir| {
            let mut chain = vec![dir.to_string()];
            let mut at = dir;
            while let Some(Some(p)) = parent.get(at) {
                chain.push(p.to_string());
                at = p;
            }
            chain.reverse();
            PackageInput {
                dir: dir.to_string(),
                tests: parent[dir].is_none(),
                chain,
            }
        })
        .collect();
    packages.sort_unstable();
    ServiceClosure {
        packages,
        external: external.into_iter().collect(),
    }
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
        }
    }

    #[test]
    fn own_packages_with_tests_and_dependencies_without() {
        let c = closure(
            &graph(),
            "services/user",
            &["services/user/tools/migrate"],
            &|_| false,
        );
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
        let c = closure(&graph(), "shared/other", &[], &|p| {
            p.starts_with("ex.com/other")
        });
        assert!(c.external.is_empty());
        let c = closure(&graph(), "shared/other", &[], &|_| false);
        assert_eq!(c.external, ["ex.com/other/lib"]);
    }

    #[test]
    fn directory_and_std_rules() {
        assert!(is_under("a/b", "a") && is_under("a", "a") && is_under("x", ""));
        assert!(!is_under("ab", "a") && !is_under("a", "a/b"));
        assert!(is_std("net/http") && is_std("fmt") && !is_std("golang.org/x/net"));
    }
}
