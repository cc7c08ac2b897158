//! Discovery of Cargo workspaces through the real binary: members globs and `exclude`, path
//! dependencies in every table (`[target.*]` and `workspace = true` included), the members Cargo
//! adds on its own, and the errors (unparsable manifest, a glob naming nothing, a path leaving
//! the repository, a cycle).

mod common;

use std::collections::BTreeMap;

use common::{names, AffectedJson, OutputExt, TestRepo};

fn graph(repo: &TestRepo) -> BTreeMap<String, (String, Vec<String>)> {
    let json = repo.run(&["graph", "--format", "json"]).success().json();
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let deps = s["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            let root = s["root"].as_str().unwrap().to_string();
            (s["name"].as_str().unwrap().to_string(), (root, deps))
        })
        .collect()
}

fn krate(name: &str, deps: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{deps}")
}

/// `app` uses `core` directly, `util` through `[workspace.dependencies]`, `plat` only on unix, and
/// `bench-helper` as a dev-dependency outside the members globs (Cargo makes it a member).
/// `crates/old` is excluded; `serde` is external.
fn cargo_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nutil = { path = \"crates/util\" }\nserde = \"1\"\n",
    )
    .write(
        "crates/app/Cargo.toml",
        krate(
            "app",
            "[dependencies]\ncore = { path = \"../core\", version = \"0.1\" }\nutil.workspace = true\nserde = { workspace = true }\n\n[target.'cfg(unix)'.dependencies]\nplat = { path = \"../plat\" }\n\n[dev-dependencies]\nbench-helper = { path = \"../../tools/bench-helper\" }\n",
        ),
    )
    .write("crates/core/Cargo.toml", krate("core", ""))
    .write("crates/util/Cargo.toml", krate("util", "[build-dependencies]\ncore = { path = \"../core\" }\n"))
    .write("crates/plat/Cargo.toml", krate("plat", ""))
    .write("crates/old/Cargo.toml", krate("old", "[dependencies]\ncore = { path = \"../core\" }\n"))
    .write("tools/bench-helper/Cargo.toml", krate("bench-helper", ""));
    for c in ["app", "core", "util", "plat", "old"] {
        repo.write(format!("crates/{c}/src/lib.rs"), "\n");
    }
    repo.write("tools/bench-helper/src/lib.rs", "\n");
    repo.commit("init");
    repo
}

#[test]
fn cargo_workspace_members_and_path_edges() {
    let repo = cargo_repo();
    let g = graph(&repo);
    let expect: BTreeMap<String, (String, Vec<String>)> = [
        (
            "app",
            "crates/app",
            &["bench-helper", "core", "plat", "util"][..],
        ),
        ("bench-helper", "tools/bench-helper", &[]),
        ("core", "crates/core", &[]),
        ("plat", "crates/plat", &[]),
        ("util", "crates/util", &["core"]),
    ]
    .into_iter()
    .map(|(n, r, d)| (n.to_string(), (r.to_string(), names(d))))
    .collect();
    assert_eq!(g, expect, "`old` is excluded");
    assert_eq!(
        repo.run(&["graph"]).stderr_lines(),
        ["no pipeline.toml: 5 Cargo crates"]
    );
}

#[test]
fn cargo_change_affects_dependents_only() {
    let repo = cargo_repo();
    repo.write("crates/core/src/lib.rs", "pub fn f() {}\n");
    repo.commit("core");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["app", "core", "util"]));
    repo.write("crates/old/src/lib.rs", "pub fn f() {}\n");
    repo.commit("old");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert!(
        json.affected_names().is_empty(),
        "an excluded crate is no service"
    );
}

#[test]
fn single_package_is_one_service_at_the_root() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        krate("solo", "[dependencies]\nserde = \"1\"\n"),
    )
    .write("src/main.rs", "fn main() {}\n");
    repo.commit("init");
    let g = graph(&repo);
    assert_eq!(g["solo"], (String::new(), Vec::new()));
}

#[test]
fn cargo_errors_name_the_manifest_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion = 0.1.0\n",
            "error: crates/core/Cargo.toml:3: cannot be parsed as Cargo.toml",
        ),
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\",\n  \"nothing/*\"]\n",
            "error: Cargo.toml:3: workspace member `nothing/*` matches no folder with a Cargo.toml",
        ),
        (
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion = \"0.1.0\"\n[dependencies]\nx = { path = \"../../../x\" }\n",
            "error: crates/core/Cargo.toml:5: dependency `x` has path `../../../x`, outside the repository",
        ),
        (
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion = \"0.1.0\"\n[dependencies]\napp = { path = \"../app\" }\n",
            "dependency cycle: app → core → app",
        ),
        (
            "crates/core/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n",
            "two workspace crates are named `app`",
        ),
    ];
    for (file, text, expected) in cases {
        let repo = cargo_repo();
        repo.write(file, text);
        let out = repo.run(&["affected"]);
        out.expect_code(2);
        assert!(
            out.stderr_str().contains(expected),
            "{file}: expected {expected:?} in\n{}",
            out.stderr_str()
        );
    }
}

#[test]
fn a_dev_dependency_cycle_is_no_error_and_still_affects_the_tests_side() {
    let repo = cargo_repo();
    // `core`'s tests use `app`, which depends on `core`: Cargo allows this.
    repo.write(
        "crates/core/Cargo.toml",
        krate("core", "[dev-dependencies]\napp = { path = \"../app\" }\n"),
    );
    repo.commit("core tests use app");
    repo.run(&["check"]).success();
    let g = graph(&repo);
    assert_eq!(
        g["core"].1,
        Vec::<String>::new(),
        "no edge closes the cycle"
    );
    assert!(g["app"].1.contains(&"core".to_string()));

    repo.write("crates/app/src/lib.rs", "pub fn g() {}\n");
    repo.commit("app");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    // `util` builds with `core`, which counts as changed: dependents follow as for any change.
    assert_eq!(json.affected_names(), names(&["app", "core", "util"]));
    assert_eq!(json.reason_kinds("core"), ["file"]);

    // What `app` needs is what `core`'s tests build too.
    repo.write("crates/plat/src/lib.rs", "pub fn p() {}\n");
    repo.commit("plat");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.affected_names(),
        names(&["app", "core", "plat", "util"])
    );
}

/// The workspace of `tests/fixtures/lockfiles/cargo` with `lock` (a file of
/// `tests/fixtures/lockfiles/`) as its `Cargo.lock`, committed.
fn locked_workspace(lock: &str) -> TestRepo {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lockfiles");
    let repo = TestRepo::new();
    for file in [
        "Cargo.toml",
        "crates/a/Cargo.toml",
        "crates/a/src/lib.rs",
        "crates/b/Cargo.toml",
        "crates/b/src/lib.rs",
        "crates/c/Cargo.toml",
        "crates/c/src/lib.rs",
    ] {
        repo.write(
            file,
            std::fs::read(fixtures.join("cargo").join(file)).unwrap(),
        );
    }
    repo.write("Cargo.lock", std::fs::read(fixtures.join(lock)).unwrap());
    repo.commit("workspace");
    repo
}

/// Lockfiles cargo writes in format v1 (`rust-version` below 1.41) and v2 (below 1.53) are read
/// like v3 and v4: a change of `ryu` affects only `c`, also when cargo rewrites the file in a
/// newer format at the same time.
#[test]
fn cargo_lock_v1_and_v2_are_read() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lockfiles");
    for (base, head) in [
        ("cargo-old/v1.Cargo.lock", "cargo-old/v1.after.Cargo.lock"),
        ("cargo-old/v2.Cargo.lock", "cargo-old/v2.after.Cargo.lock"),
        ("cargo-old/v1.Cargo.lock", "cargo-old/v2.after.Cargo.lock"),
        ("cargo-old/v1.Cargo.lock", "cargo/after.Cargo.lock"),
    ] {
        let repo = locked_workspace(base);
        repo.write("Cargo.lock", std::fs::read(fixtures.join(head)).unwrap());
        repo.commit("update ryu");
        let json = repo.affected_json(&["--base", "HEAD~1"]);
        assert_eq!(json.affected_names(), names(&["c"]), "{base} → {head}");
        let reason = &json["affected"][0]["reasons"][0];
        assert_eq!(reason["kind"], "lockfile", "{base} → {head}: {reason}");
        assert_eq!(reason["added"], serde_json::json!(["ryu@1.0.23"]));
        assert_eq!(reason["removed"], serde_json::json!(["ryu@1.0.18"]));
    }
    // The format alone changing installs nothing new.
    let repo = locked_workspace("cargo-old/v1.Cargo.lock");
    repo.write(
        "Cargo.lock",
        std::fs::read(fixtures.join("cargo/Cargo.lock")).unwrap(),
    );
    repo.commit("cargo rewrote the lockfile");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert!(json.affected_names().is_empty(), "{json:#}");
}
