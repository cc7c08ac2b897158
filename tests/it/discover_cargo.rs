//! Discovery of Cargo workspaces through the real binary: members globs and `exclude`, path
//! dependencies in every table (`[target.*]` and `workspace = true` included), the members Cargo
//! adds on its own, and the errors (unparsable manifest, a glob naming nothing, a path leaving
//! the repository, a cycle).

use crate::common;

use std::collections::BTreeMap;

use common::{names, plan_commands, AffectedJson, OutputExt, TestRepo};

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

pub(super) fn krate(name: &str, deps: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n{deps}")
}

/// `app` uses `core` directly, `util` through `[workspace.dependencies]`, `plat` only on unix, and
/// `bench-helper` as a dev-dependency outside the members globs (Cargo makes it a member; a
/// dev-only edge).
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
        ("app", "crates/app", &["core", "plat", "util"][..]),
        ("bench-helper", "tools/bench-helper", &[]),
        ("core", "crates/core", &[]),
        ("plat", "crates/plat", &[]),
        ("util", "crates/util", &["core"]),
    ]
    .into_iter()
    .map(|(n, r, d)| (n.to_string(), (r.to_string(), names(d))))
    .collect();
    assert_eq!(g, expect, "`old` is excluded");
    let json = repo.run(&["graph", "--format", "json"]).success().json();
    assert_eq!(
        json["services"][0]["dev_deps"],
        serde_json::json!(["bench-helper"]),
        "a dev-dependency is a dev-only edge"
    );
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

/// A manifest is read up to 8 MiB: a larger one (its parse would take some 40 times its size in
/// memory) is an error naming the file, its size and the bound, before any of it is parsed.
#[test]
fn a_manifest_over_the_size_bound_is_refused_with_its_size() {
    let repo = cargo_repo();
    let mut text = krate("core", "");
    // 9 MiB of comment: valid TOML, and no real manifest is anywhere near that large.
    let line = format!("# {}\n", "x".repeat(1022));
    text.push_str(&line.repeat(9 * 1024));
    repo.write("crates/core/Cargo.toml", &text);
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    let stderr = out.stderr_str();
    assert!(
        stderr.contains(&format!(
            "crates/core/Cargo.toml: it is {} bytes, more than the 8 MiB shockwave reads for a manifest",
            text.len()
        )),
        "{stderr}"
    );
}

/// `[dev-dependencies]` are dev-only edges, as Cargo builds them: a change reaches the crate
/// whose tests use the dependency, and stops there — Cargo never builds a dependency's
/// dev-dependencies, so the crates depending on it are not affected through it. A cycle through
/// a dev-dependency (`core`'s tests use `app`, which depends on `core`) is accepted, as Cargo
/// accepts it.
#[test]
fn a_dev_dependency_reaches_the_crate_that_tests_with_it_and_no_further() {
    let repo = cargo_repo();
    repo.write(
        "crates/core/Cargo.toml",
        krate(
            "core",
            "[dev-dependencies]
app = { path = \"../app\" }\n",
        ),
    );
    repo.commit("core tests use app");
    repo.run(&["check"]).success();
    let json = repo.run(&["graph", "--format", "json"]).success().json();
    let core = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "core")
        .unwrap()
        .clone();
    assert_eq!(core["deps"], serde_json::json!([]), "{core}");

    repo.write("crates/app/src/lib.rs", "pub fn g() {}\n");
    repo.commit("app");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    // `util` builds with `core` but never with `core`'s tests.
    assert_eq!(json.affected_names(), names(&["app", "core"]));
    let reason = &json.reasons("core")[0];
    assert_eq!(reason["kind"], "dependency", "{reason}");
    assert_eq!(reason["dev"], true, "{reason}");
    let explain = repo
        .run(&["affected", "--base", "HEAD~1", "--explain", "core"])
        .success()
        .stdout_str();
    assert!(explain.contains("dev-dependency"), "{explain}");

    // What `app` needs reaches `core`'s tests through it, and stops there too.
    repo.write("crates/plat/src/lib.rs", "pub fn p() {}\n");
    repo.commit("plat");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["app", "core", "plat"]));
}

/// A dev-dependency's files, and those of what it needs, stay inputs of the dependent's tasks:
/// `cargo test` there builds them, so a change must not give it a cache hit. Its dependents'
/// tasks are left alone.
#[test]
fn a_dev_dependency_enters_the_task_hash_of_the_crate_testing_with_it() {
    let repo = cargo_repo();
    repo.write(
        "crates/core/Cargo.toml",
        krate("core", "[dev-dependencies]\napp = { path = \"../app\" }\n"),
    )
    .write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"cargo\"]\n\n[targets.test]\ncommand = \"cargo test\"\n",
    );
    repo.commit("core tests use app");
    let before = repo.task_hashes(&["test"]);
    repo.write("crates/plat/src/lib.rs", "pub fn p() {}\n");
    let after = repo.task_hashes(&["test"]);
    let changed: Vec<&str> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    // `app:test` takes `plat` in only through `needs = ["^build"]`, as for any build edge;
    // `core:test` has no such need to follow a dev edge, so it hashes `plat`'s files itself.
    assert_eq!(changed, ["core:test", "plat:test"]);
}

/// What Cargo accepts in a committed workspace, discovery accepts: a `members` glob whose every
/// folder is excluded, a member under `vendor/` named outright, a path dependency beside the
/// repository, and an excluded path dependency, whose folder (and what it needs) then belongs
/// to the crate that builds it.
#[test]
fn what_cargo_accepts_is_accepted() {
    let repo = cargo_repo();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\", \"legacy/*\", \"vendor/patched\"]\nexclude = [\"crates/old\", \"legacy/v1\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nutil = { path = \"crates/util\" }\nserde = \"1\"\n",
    )
    .write("legacy/v1/Cargo.toml", krate("v1", ""))
    .write("legacy/v1/src/lib.rs", "\n")
    .write("vendor/patched/Cargo.toml", krate("patched", ""))
    .write("vendor/patched/src/lib.rs", "\n")
    .write(
        "crates/plat/Cargo.toml",
        krate(
            "plat",
            "[dependencies]\nold = { path = \"../old\" }\nsibling = { path = \"../../../sibling-repo\" }\n",
        ),
    );
    repo.commit("excluded path dependency");
    repo.run(&["check"]).success();
    let g = graph(&repo);
    assert!(!g.contains_key("old") && !g.contains_key("v1"), "{g:?}");
    assert_eq!(
        g["patched"].0, "vendor/patched",
        "a folder named outright, where globs never look"
    );
    // `old` needs `core`: `plat` builds `core` through it.
    assert_eq!(g["plat"].1, names(&["core"]));

    repo.write("crates/old/src/lib.rs", "pub fn o() {}\n");
    repo.commit("old");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["app", "plat"]));
}

/// Where Cargo refuses, discovery does too, naming the file and line: a path dependency to a
/// folder without a Cargo.toml, and a `members` glob naming only such folders.
#[test]
fn what_cargo_refuses_is_an_error_with_file_and_line() {
    let repo = cargo_repo();
    repo.write(
        "crates/plat/Cargo.toml",
        krate("plat", "[dependencies]\ngone = { path = \"../gone\" }\n"),
    );
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "crates/plat/Cargo.toml:7: dependency `gone` has path `../gone`, where there is no Cargo.toml"
        ),
        "{}",
        out.stderr_str()
    );
    let repo = cargo_repo();
    repo.write("docs/guide/README.md", "guide\n").write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\",\n  \"docs/*\"]\n",
    );
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "Cargo.toml:3: workspace member `docs/*` matches no folder with a Cargo.toml"
        ),
        "{}",
        out.stderr_str()
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

/// A workspace whose root manifest is also the package `app` (which depends on `core`), with
/// members inheriting from it: `core` its `rust-version` and `serde`; `lic` its `license` and
/// lints (`[lints] workspace = true`); `tgt` `itoa` in a `[target.*]` table and `lints` written
/// `lints.workspace = true`; `plain` nothing.
fn inheriting_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"
rust-version.workspace = true

[dependencies]
core = { path = "crates/core" }

[workspace]
members = ["crates/*"]
resolver = "2"

[workspace.package]
rust-version = "1.70"
license = "MIT"

[workspace.dependencies]
serde = "1"
itoa = "1"

[workspace.lints.clippy]
pedantic = "warn"

[workspace.metadata.release]
tag = true

[profile.release]
lto = true
"#,
    )
    .write("src/main.rs", "fn main() {}\n")
    .write(
        "crates/core/Cargo.toml",
        krate(
            "core",
            "rust-version = { workspace = true }\n[dependencies]\nserde.workspace = true\n",
        )
        .replacen("\n\n", "\n", 1),
    )
    .write(
        "crates/lic/Cargo.toml",
        krate("lic", "license.workspace = true\n[lints]\nworkspace = true\n").replacen("\n\n", "\n", 1),
    )
    .write(
        "crates/tgt/Cargo.toml",
        krate(
            "tgt",
            "[target.'cfg(unix)'.dependencies]\nitoa = { workspace = true }\n[lints]\nworkspace = true\n",
        ),
    )
    .write("crates/plain/Cargo.toml", krate("plain", ""));
    for c in ["core", "lic", "tgt", "plain"] {
        repo.write(format!("crates/{c}/src/lib.rs"), "\n");
    }
    repo.commit("init");
    repo
}

/// Edits the root manifest (`from` → `to`), commits, and returns `affected --dependents none`
/// of that commit as `service → [key of each reason]`.
fn root_change(repo: &TestRepo, from: &str, to: &str) -> BTreeMap<String, Vec<String>> {
    let text = repo.read("Cargo.toml");
    assert!(text.contains(from), "{from:?} not in the root manifest");
    repo.write("Cargo.toml", text.replacen(from, to, 1));
    repo.commit(&format!("{from} → {to}"));
    let json = repo.affected_json(&["--base", "HEAD~1", "--dependents", "none"]);
    json["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let keys = a["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    assert_eq!(r["kind"], "manifest", "{r}");
                    assert_eq!(r["file"], "Cargo.toml", "{r}");
                    r["key"].as_str().unwrap().to_owned()
                })
                .collect();
            (a["name"].as_str().unwrap().to_owned(), keys)
        })
        .collect()
}

fn keyed(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    list.iter()
        .map(|(name, keys)| (name.to_string(), names(keys)))
        .collect()
}

#[test]
fn an_inherited_key_affects_exactly_the_members_that_inherit_it() {
    let repo = inheriting_repo();
    let rv = "workspace.package.rust-version";
    assert_eq!(
        root_change(&repo, "rust-version = \"1.70\"", "rust-version = \"1.75\""),
        keyed(&[("app", &[rv]), ("core", &[rv])])
    );
    assert_eq!(
        root_change(
            &repo,
            "license = \"MIT\"",
            "license = \"MIT OR Apache-2.0\""
        ),
        keyed(&[("lic", &["workspace.package.license"])])
    );
    assert_eq!(
        root_change(
            &repo,
            "serde = \"1\"",
            "serde = { version = \"1\", features = [\"derive\"] }"
        ),
        keyed(&[("core", &["workspace.dependencies.serde"])])
    );
    // A dependency inherited in a `[target.*]` table counts.
    assert_eq!(
        root_change(&repo, "itoa = \"1\"", "itoa = \"1.0.5\""),
        keyed(&[("tgt", &["workspace.dependencies.itoa"])])
    );
    // `[lints] workspace = true` and `lints.workspace = true` alike; a new lint too.
    let pedantic = "workspace.lints.clippy.pedantic";
    assert_eq!(
        root_change(
            &repo,
            "pedantic = \"warn\"",
            "pedantic = \"deny\"\nunwrap_used = \"warn\""
        ),
        keyed(&[
            ("lic", &[pedantic, "workspace.lints.clippy.unwrap_used"]),
            ("tgt", &[pedantic, "workspace.lints.clippy.unwrap_used"]),
        ])
    );
    // A key nobody inherits affects nobody.
    assert_eq!(
        root_change(
            &repo,
            "itoa = \"1.0.5\"",
            "itoa = \"1.0.5\"\nlibc = \"0.2\""
        ),
        keyed(&[])
    );
}

#[test]
fn what_cargo_applies_to_every_member_affects_every_member() {
    let all = |key: &str| {
        let keys: &[&str] = &[key];
        ["app", "core", "lic", "plain", "tgt"]
            .iter()
            .map(|n| (n.to_string(), names(keys)))
            .collect::<BTreeMap<_, _>>()
    };
    let repo = inheriting_repo();
    assert_eq!(
        root_change(&repo, "lto = true", "lto = \"thin\""),
        all("profile.release.lto")
    );
    assert_eq!(
        root_change(
            &repo,
            "[profile.release]",
            "[patch.crates-io]\nserde = { path = \"../serde\" }\n\n[profile.release]"
        ),
        all("patch.crates-io.serde")
    );
    assert_eq!(
        root_change(&repo, "resolver = \"2\"", "resolver = \"3\""),
        all("workspace.resolver")
    );
    assert_eq!(
        root_change(
            &repo,
            "members = [\"crates/*\"]",
            "members = [\"crates/*\"]\nexclude = [\"fixtures\"]"
        ),
        all("workspace.exclude")
    );
}

#[test]
fn the_root_package_sections_affect_it_and_its_dependents() {
    let repo = inheriting_repo();
    assert_eq!(
        root_change(
            &repo,
            "core = { path = \"crates/core\" }",
            "core = { path = \"crates/core\" }\nanyhow = \"1\""
        ),
        keyed(&[("app", &["dependencies.anyhow"])])
    );
    assert_eq!(
        root_change(&repo, "edition = \"2021\"", "edition = \"2024\""),
        keyed(&[("app", &["package.edition"])])
    );
    // Without `--dependents none`, the crates that depend on the root package follow as usual.
    repo.write(
        "crates/plain/Cargo.toml",
        krate("plain", "[dependencies]\napp = { path = \"../..\" }\n"),
    );
    repo.commit("plain uses app");
    root_change(&repo, "edition = \"2024\"", "edition = \"2021\"");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["app", "plain"]));
    assert_eq!(json.reason_kinds("plain"), ["dependency"]);
}

#[test]
fn what_cargo_ignores_affects_nothing() {
    let repo = inheriting_repo();
    assert_eq!(
        root_change(&repo, "tag = true", "tag = false"),
        keyed(&[]),
        "Cargo ignores [workspace.metadata]"
    );
    assert_eq!(
        root_change(
            &repo,
            "rust-version = \"1.70\"",
            "# the MSRV\nrust-version   =   '1.70'"
        ),
        keyed(&[]),
        "comments and layout"
    );
    assert_eq!(
        root_change(
            &repo,
            "[workspace.lints.clippy]\npedantic = \"warn\"",
            "[workspace.lints]\nclippy = { pedantic = \"warn\" }"
        ),
        keyed(&[]),
        "the same table written inline"
    );
}

#[test]
fn a_root_manifest_unparsable_at_the_base_affects_every_member() {
    let repo = inheriting_repo();
    let good = repo.read("Cargo.toml");
    repo.write("Cargo.toml", good.replace("lto = true", "lto = "));
    repo.commit("broken");
    repo.write("Cargo.toml", good);
    repo.commit("fixed");
    let json = repo.affected_json(&["--base", "HEAD~1", "--dependents", "none"]);
    assert_eq!(
        json.affected_names(),
        names(&["app", "core", "lic", "plain", "tgt"])
    );
    let reason = &json.reasons("plain")[0];
    assert_eq!(reason["kind"], "manifest_unreadable", "{reason}");
    assert_eq!(reason["file"], "Cargo.toml");
    assert!(
        reason["detail"]
            .as_str()
            .unwrap()
            .contains("cannot be parsed as Cargo.toml"),
        "{reason}"
    );
}

#[test]
fn text_and_explain_name_the_key() {
    let repo = inheriting_repo();
    root_change(&repo, "rust-version = \"1.70\"", "rust-version = \"1.75\"");
    let text = repo
        .run(&["affected", "--base", "HEAD~1"])
        .success()
        .stdout_str();
    assert!(
        text.contains("workspace.package.rust-version in Cargo.toml"),
        "{text}"
    );
    let explain = repo
        .run(&["affected", "--base", "HEAD~1", "--explain", "core"])
        .success()
        .stdout_str();
    assert!(
        explain.contains("manifest    workspace.package.rust-version in Cargo.toml"),
        "{explain}"
    );
}

/// The task hash takes each member's closure of the root manifest in place of the file: a
/// change re-hashes exactly the tasks of the members it affects.
#[test]
fn the_task_hash_follows_the_root_manifest_closure() {
    let repo = inheriting_repo();
    repo.write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"cargo\"]\n\n[targets.test]\ncommand = \"cargo test\"\n",
    );
    repo.commit("pipeline");
    let before = repo.task_hashes(&["test"]);
    assert_eq!(before.len(), 5, "{before:?}");
    let edit = |from: &str, to: &str| {
        let text = repo.read("Cargo.toml");
        repo.write("Cargo.toml", text.replacen(from, to, 1));
        repo.task_hashes(&["test"])
    };
    let changed = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| -> Vec<String> {
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let after = edit("tag = true", "tag = false");
    assert_eq!(changed(&before, &after), Vec::<String>::new());
    let after = edit("license = \"MIT\"", "license = \"MIT OR Apache-2.0\"");
    assert_eq!(changed(&before, &after), names(&["lic:test"]));
    let after = edit("lto = true", "lto = false");
    assert_eq!(changed(&before, &after).len(), 5);
}

/// `[project]`, the name `[package]` had until 2016, still read by Cargo (rust-lang/cargo's own
/// manifest used it), names the crate too.
#[test]
fn the_old_project_table_is_a_package() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[project]\nname = \"old\"\nversion = \"0.1.0\"\n\n[workspace]\nmembers = [\"lib\"]\n",
    )
    .write("src/main.rs", "fn main() {}\n")
    .write(
        "lib/Cargo.toml",
        "[project]\nname = \"lib\"\nversion = \"0.1.0\"\n",
    )
    .write("lib/src/lib.rs", "\n");
    repo.commit("init");
    let g = graph(&repo);
    assert_eq!(g.keys().collect::<Vec<_>>(), ["lib", "old"]);
    let text = repo.read("Cargo.toml");
    repo.write("Cargo.toml", text.replace("0.1.0", "0.2.0"));
    repo.commit("bump");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["old"]));
    assert_eq!(json.reasons("old")[0]["key"], "project.version");
}

// Discovered cycles and name collisions had no line; each error now names the line that
// declares it, and the other place too.
#[test]
fn a_cycle_and_a_name_collision_name_the_lines_that_declare_them() {
    let repo = cargo_repo();
    repo.write(
        "crates/core/Cargo.toml",
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\n[dependencies]\napp = { path = \"../app\" }\n",
    );
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "error: crates/app/Cargo.toml:7: dependency cycle: app → core → app (declared at crates/app/Cargo.toml:7, crates/core/Cargo.toml:5)"
        ),
        "{}",
        out.stderr_str()
    );

    let repo = cargo_repo();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"web\"]}\n",
    )
    .write(
        "web/package.json",
        "{\n  \"private\": true,\n  \"name\": \"core\"\n}\n",
    );
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "error: crates/core/Cargo.toml:2: two services are named `core`: this one and the one in web/package.json:3"
        ),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn a_path_dependency_to_a_missing_folder_names_the_line_that_declares_it() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "crates/plat/Cargo.toml",
            "[dependencies]\nmissing = { path = \"../missing\" }\n",
            "crates/plat/Cargo.toml:7: dependency `missing` has path `../missing`",
        ),
        (
            "crates/plat/Cargo.toml",
            "[target.'cfg(unix)'.dev-dependencies]\nmissing = { path = \"../missing\" }\n",
            "crates/plat/Cargo.toml:7: dependency `missing` has path `../missing`",
        ),
        (
            "crates/old/Cargo.toml",
            "[dependencies]\nmissing = { path = \"../missing\" }\n",
            "crates/old/Cargo.toml:7: dependency `missing` has path `../missing`",
        ),
        (
            "crates/plat/Cargo.toml",
            "[build-dependencies]\nmissing = { path = \"../missing\", package = \"other\" }\n",
            "crates/plat/Cargo.toml:7: dependency `missing` has path `../missing`",
        ),
    ];
    for (file, deps, expected) in cases {
        let repo = cargo_repo();
        let name = file.split('/').nth(1).unwrap();
        repo.write(file, krate(name, deps));
        if name == "old" {
            // Excluded, but built as a path dependency of `plat`.
            repo.write(
                "crates/plat/Cargo.toml",
                krate("plat", "[dependencies]\nold = { path = \"../old\" }\n"),
            );
        }
        let out = repo.run(&["affected"]);
        out.expect_code(2);
        let stderr = out.stderr_str();
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(!stderr.contains("missing/Cargo.toml"), "{stderr}");
    }
}

/// With no pipeline.toml every crate has `build`, `test` and `lint`, each Cargo's own command for
/// that package; a `[targets.NAME]` command wins, and with `members` naming a crate after its
/// folder, `-p` still takes the package name.
#[test]
fn crates_get_build_test_and_lint_with_cargo_commands() {
    let repo = cargo_repo();
    let plan = plan_commands(&repo.dry_run(&["build", "test", "lint", "--all"]));
    assert_eq!(plan["core:build"], "cargo build -p core");
    assert_eq!(plan["app:test"], "cargo test -p app");
    assert_eq!(plan["util:lint"], "cargo clippy -p util");
    // Cargo orders its own builds: a crate's build needs nothing.
    let plan = repo
        .run(&["run", "build", "--all", "--dry-run=json"])
        .success()
        .json();
    let app = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "app:build")
        .unwrap();
    assert_eq!(app["needs"], serde_json::json!([]), "{app}");

    repo.config(
        "[workspace]\ndiscover = \"auto\"\n[targets.lint]\ncommand = \"cargo clippy -p $SHOCKWAVE_SERVICE -- -D warnings\"\n",
    );
    let plan = plan_commands(&repo.dry_run(&["lint", "test", "--service", "core"]));
    assert_eq!(
        plan["core:lint"],
        "cargo clippy -p $SHOCKWAVE_SERVICE -- -D warnings"
    );
    assert_eq!(plan["core:test"], "cargo test -p core");

    repo.config("[workspace]\nmembers = [\"crates/*\"]\ndiscover = [\"cargo\"]\n")
        .write("crates/core/Cargo.toml", krate("acme-core", ""));
    let plan = plan_commands(&repo.dry_run(&["build", "--service", "core"]));
    assert_eq!(plan["core:build"], "cargo build -p acme-core");
}
