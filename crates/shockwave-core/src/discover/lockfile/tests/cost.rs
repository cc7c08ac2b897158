//! Hostile lockfiles whose reading used to cost the square of their size (or worse): each is
//! generated at a size where the old code took far longer than the bound (minutes of CPU in a
//! debug build), and must now read within it. The bound is on the thread's CPU time, which
//! other builds loading the machine do not inflate; it only guards against a return to
//! quadratic reading, and speed figures are in `bench/hostile_lockfiles.py`.
//!
//! And one lockfile that is only large: a pnpm-lock.yaml of 100,000 packages.

use std::time::Duration;

use super::*;

/// A pnpm-lock.yaml of 100,000 packages (about 7 MB, the shape pnpm 9 writes) is read: the
/// YAML budget grows with the text, where a fixed one refused lockfiles of large monorepos and
/// made every user affected.
#[test]
fn a_pnpm_lockfile_of_100000_packages_is_read() {
    const N: usize = 100_000;
    let mut lock = String::from(
        "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  packages/a:\n    dependencies:\n      p0:\n        specifier: ^1.0.0\n        version: 1.0.0\n\npackages:\n\n",
    );
    for i in 0..N {
        lock.push_str(&format!(
            "  p{i}@1.0.0:\n    resolution: {{integrity: sha512-{i:0>20}}}\n    engines: {{node: '>=8'}}\n\n"
        ));
    }
    lock.push_str("snapshots:\n\n");
    for i in 0..N {
        // Chains of ten packages: p0 reaches p1 … p9.
        if i % 10 == 9 {
            lock.push_str(&format!("  p{i}@1.0.0: {{}}\n\n"));
        } else {
            lock.push_str(&format!(
                "  p{i}@1.0.0:\n    dependencies:\n      p{}: 1.0.0\n\n",
                i + 1
            ));
        }
    }
    assert!(lock.len() > 5 << 20, "{} bytes", lock.len());
    let users = [user("a", "packages/a", &[])];
    let got = closures(LockFormat::PnpmLock, lock.as_bytes(), &users).unwrap();
    assert_eq!(got[0].len(), 10, "{:?}", got[0]);
    assert!(
        got[0].iter().any(|e| e.starts_with("p9@1.0.0")),
        "{:?}",
        got[0]
    );
}

/// Far above what a linear reading of these inputs takes in a debug build (a few seconds),
/// far below what the quadratic one took (minutes).
const BOUND: Duration = Duration::from_secs(30);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = crate::discover::thread_cpu();
    let out = f();
    let took = crate::discover::thread_cpu() - start;
    assert!(took < BOUND, "{what} took {took:?} of CPU");
    out
}

/// One install location of 200,000 parts (400 KB) with ten dependencies: Node's walk up
/// from it, one candidate string per folder, copied 200,000 folders × 400 KB per dependency.
#[test]
fn a_deep_npm_location_resolves_in_linear_time() {
    let deep = vec!["x"; 200_000].join("/");
    let deps: Vec<String> = (0..10).map(|i| format!("\"d{i}\": \"1\"")).collect();
    let mut packages = vec![
        r#""": {"name": "root"}"#.to_owned(),
        r#""packages/a": {"dependencies": {"d0": "1"}}"#.to_owned(),
        format!(
            r#""{deep}": {{"version": "1.0.0", "dependencies": {{{}}}}}"#,
            deps.join(", ")
        ),
    ];
    packages.extend((0..10).map(|i| format!(r#""node_modules/d{i}": {{"version": "1.0.{i}"}}"#)));
    let lock = format!(
        r#"{{"lockfileVersion": 3, "packages": {{{}}}}}"#,
        packages.join(", ")
    );
    let users = [user("a", "packages/a", &[]), user("deep", &deep, &[])];
    let got = timed("a 200,000-part location", || {
        closures(LockFormat::NpmLock, lock.as_bytes(), &users).unwrap()
    });
    assert_eq!(got[0], set(&["d0@1.0.0"]));
    assert_eq!(got[1].len(), 10, "every dependency found at the root");
}

/// 60,000 crates of one name, each depending on a version of it that is not there: each
/// dependency was looked for among all of them.
#[test]
fn many_cargo_packages_of_one_name_resolve_in_linear_time() {
    let mut lock = String::from(
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"x 0.0.7\"]\n",
    );
    for i in 0..60_000 {
        lock.push_str(&format!(
            "\n[[package]]\nname = \"x\"\nversion = \"0.0.{i}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\ndependencies = [\"x 9.9.9\"]\n"
        ));
    }
    let users = [user("app", "app", &[])];
    let got = timed("60,000 packages of one name", || {
        closures(LockFormat::CargoLock, lock.as_bytes(), &users).unwrap()
    });
    assert_eq!(got[0], set(&["x@0.0.7"]));
}

/// 30,000 requirements and 30,000 replaces of other modules: each requirement scanned
/// every replace (and every exclude).
#[test]
fn a_go_mod_with_many_requires_and_replaces_reads_in_linear_time() {
    let mut text = String::from("module example.com/m\n\ngo 1.22\n\nrequire (\n");
    for i in 0..30_000 {
        text.push_str(&format!("\texample.com/r{i} v1.0.0\n"));
    }
    text.push_str(")\n\nreplace (\n");
    for i in 0..30_000 {
        text.push_str(&format!("\texample.com/o{i} => example.com/p{i} v1.0.0\n"));
    }
    text.push_str("\texample.com/r7 => ./r7\n)\n\nexclude example.com/r7 v0.9.0\n");
    let users = [user("app", "", &["example.com/r7/pkg"])];
    let got = timed("30,000 requires and replaces", || {
        closures(LockFormat::GoMod, text.as_bytes(), &users).unwrap()
    });
    assert_eq!(
        got[0],
        set(&[
            "go@1.22",
            "example.com/r7@v1.0.0",
            "example.com/r7 => ./r7",
            "example.com/r7@v0.9.0 excluded"
        ])
    );
}

/// A yarn.lock whose last line is 200 KB long with no newline after it: the parser read it
/// a character at a time, searching the rest for a line end each time.
#[test]
fn a_long_last_line_without_newline_reads_in_linear_time() {
    let tail = "a".repeat(200_000);
    let v1 = format!(
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\nms@^2.0.0:\n  version \"2.1.3\"\n  integrity {tail}"
    );
    let berry = format!(
        "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"ms@npm:^2.0.0\":\n  version: 2.1.3\n  resolution: \"ms@npm:2.1.3\"\n  checksum: {tail}"
    );
    let users = [user("a", "a", &["ms@^2.0.0"])];
    for (what, text) in [("yarn 1", v1), ("berry", berry)] {
        let got = timed(what, || {
            closures(LockFormat::YarnLock, text.as_bytes(), &users).unwrap()
        });
        if what == "yarn 1" {
            assert_eq!(got[0], set(&["ms@2.1.3"]), "{what}");
        }
    }
}
