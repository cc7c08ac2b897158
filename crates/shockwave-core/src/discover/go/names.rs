//! Service names for Go modules and `package main` directories that are unique by construction,
//! so no workspace needs a user's help to tell two apart.
//!
//! Each unit is known by an import path (a module's path; a binary's package import path). Its
//! name is the shortest `/`-joined suffix of that path that no other unit's path ends with and that
//! no npm or Cargo package of the workspace is named (those keep their names; Go yields). A
//! trailing major-version element (`/v2`) is no part of a name: `github.com/acme/pay/v2` is `pay`.
//! So a name stays the path's last element wherever that was unique, and `kv-store/nats` and
//! `pubsub/nats` become `kv-store/nats` and `pubsub/nats`. When whole paths coincide (two
//! modules with one path and no go.work), the name is `PATH@DIR`: no suffix holds an `@`.
//!
//! Why this is unique: two suffixes of one length are equal only when the paths share that
//! suffix, which the count below rules out; suffixes of different lengths differ in their number
//! of `/`; and `PATH@DIR` differs from every suffix by its `@` and from another such name by the
//! directory.

use std::collections::HashMap;

/// One unit to name: its import path and its workspace-relative directory.
pub(crate) struct Unit<'a> {
    pub path: &'a str,
    pub dir: &'a str,
}

/// The path's elements that names are built from: a trailing major version dropped.
fn elements(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 && parts.last().is_some_and(|l| is_major(l)) {
        parts.pop();
    }
    parts
}

/// `v2`, `v10`: a major-version path element (`v0` and `v1` never are, but they are not names
/// either).
fn is_major(element: &str) -> bool {
    element.len() > 1
        && element.starts_with('v')
        && element[1..].bytes().all(|b| b.is_ascii_digit())
}

/// The last `k` of `parts`, joined.
fn suffix(parts: &[&str], k: usize) -> String {
    parts[parts.len() - k..].join("/")
}

/// A name for every unit, in order; `reserved` says which names other ecosystems hold.
pub(crate) fn unique_names(units: &[Unit<'_>], reserved: &dyn Fn(&str) -> bool) -> Vec<String> {
    let parts: Vec<Vec<&str>> = units.iter().map(|u| elements(u.path)).collect();
    // How many units end in each suffix; a unit's path is counted once per suffix length.
    let mut count: HashMap<String, usize> = HashMap::new();
    for p in &parts {
        for k in 1..=p.len() {
            *count.entry(suffix(p, k)).or_default() += 1;
        }
    }
    units
        .iter()
        .zip(&parts)
        .map(|(u, p)| {
            (1..=p.len())
                .map(|k| suffix(p, k))
                .find(|s| count[s] == 1 && !reserved(s))
                .unwrap_or_else(|| {
                    let dir = if u.dir.is_empty() { "." } else { u.dir };
                    format!("{}@{dir}", u.path)
                })
        })
        .collect()
}

/// The name of a Go package unit (a library package): its directory relative to the module root
/// in the form `go test` takes, `./pkg/auth`, or `.` for the module root. Nothing else can be
/// named so: module paths, folder names, npm and Cargo names never start with `.`.
pub(crate) fn package_name(rel_dir: &str) -> String {
    if rel_dir.is_empty() {
        ".".to_string()
    } else {
        format!("./{rel_dir}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[(&str, &str)], reserved: &[&str]) -> Vec<String> {
        let units: Vec<Unit> = paths
            .iter()
            .map(|&(path, dir)| Unit { path, dir })
            .collect();
        unique_names(&units, &|n| reserved.contains(&n))
    }

    #[test]
    fn the_last_element_when_it_is_unique() {
        assert_eq!(
            names(
                &[("github.com/acme/pay/v2", "pay"), ("example.com/user", "u")],
                &[]
            ),
            ["pay", "user"]
        );
        assert_eq!(names(&[("v2", "")], &[]), ["v2"]);
        assert_eq!(names(&[("example.com/vx", "")], &[]), ["vx"]);
    }

    #[test]
    fn a_shared_last_element_grows_to_a_unique_suffix() {
        assert_eq!(
            names(
                &[
                    ("ex.com/c/kv-store/nats", "kv-store/nats"),
                    ("ex.com/c/pubsub/nats", "pubsub/nats"),
                    ("ex.com/c/pubsub/kafka", "pubsub/kafka"),
                ],
                &[]
            ),
            ["kv-store/nats", "pubsub/nats", "kafka"]
        );
        // `pkg` is a suffix of `client/pkg`'s path too: both grow, the short one to its path.
        assert_eq!(
            names(
                &[
                    ("ex.com/m/client/pkg", "client/pkg"),
                    ("ex.com/m/pkg", "pkg")
                ],
                &[]
            ),
            ["client/pkg", "m/pkg"]
        );
    }

    #[test]
    fn go_yields_to_npm_and_cargo_names() {
        assert_eq!(
            names(&[("ex.com/web", "web"), ("ex.com/api", "api")], &["web"]),
            ["ex.com/web", "api"]
        );
        assert_eq!(names(&[("web", "web")], &["web"]), ["web@web"]);
    }

    #[test]
    fn equal_paths_are_told_apart_by_directory() {
        let got = names(
            &[("ex.com/x", ""), ("ex.com/x", "b"), ("ex.com/x/v2", "c")],
            &[],
        );
        assert_eq!(got, ["ex.com/x@.", "ex.com/x@b", "ex.com/x/v2@c"]);
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 3);
    }

    #[test]
    fn package_names_are_go_test_arguments() {
        assert_eq!(package_name("pkg/auth"), "./pkg/auth");
        assert_eq!(package_name(""), ".");
    }
}
