//! Lockfile-aware affected through the real binary, on zero-config workspaces copied from
//! `tests/fixtures/lockfiles/` (real lockfiles of npm, pnpm, yarn 1, yarn 4 and cargo): a
//! lockfile change affects only the package whose resolved closure changed (plus its
//! dependents), an unreadable lockfile affects every user with the reason, and lockfile churn
//! that does not concern a package leaves its task hash alone. For a Go single module, a go.mod
//! change affects only the services whose package closure imports the module it moves (every
//! service for the `go` line), and go.sum alone affects nothing.

use crate::common;

use std::path::Path;

use common::{names, AffectedJson, OutputExt, SummaryJson, TestRepo};
use serde_json::{json, Value};

/// The workspace of `tests/fixtures/lockfiles/<name>`, committed, without the `after.` and
/// older-version variants of its lockfile.
fn workspace(name: &str) -> TestRepo {
    let repo = TestRepo::new();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(name);
    copy(&source, &source, &repo);
    repo.commit("workspace");
    repo
}

fn copy(root: &Path, dir: &Path, repo: &TestRepo) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap();
        if path.is_dir() {
            copy(root, &path, repo);
        } else if !file.starts_with("after.") && !file.starts_with("v2.") && !file.starts_with("v6")
        {
            repo.write(
                path.strip_prefix(root).unwrap(),
                std::fs::read(&path).unwrap(),
            );
        }
    }
}

/// Replaces `lockfile` with the fixture's `after.` twin (only `c`'s ms moved) and commits.
fn update(repo: &TestRepo, name: &str, lockfile: &str) {
    let after = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(name)
        .join(format!("after.{lockfile}"));
    repo.write(lockfile, std::fs::read(after).unwrap());
    repo.commit("update ms");
}

fn reasons(json: &Value, service: &str) -> Vec<Value> {
    let entry = json["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == service);
    entry.unwrap_or_else(|| panic!("{service} not affected: {json:#}"))["reasons"]
        .as_array()
        .unwrap()
        .clone()
}

/// The lockfile update affects `c` alone, with the entries that moved.
fn only_c_is_affected(name: &str, lockfile: &str, added: &str, removed: &str) {
    let repo = workspace(name);
    update(&repo, name, lockfile);
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let want =
        json!({"kind": "lockfile", "file": lockfile, "added": [added], "removed": [removed]});
    assert_eq!(reasons(&json, "c"), vec![want]);
    assert_eq!(json["unowned_files"], json!([]), "{json:#}");
    let text = repo
        .run(&["affected", "--base", "HEAD~1"])
        .success()
        .stdout_str();
    assert!(
        text.contains(&format!("lockfile    {lockfile} (+{added} −{removed})")),
        "{text}"
    );
}

#[test]
fn npm_lockfile_update_affects_only_the_package_it_changes() {
    // npm also re-hoisted ms (the root copy became 2.1.3 and debug's nested one went away):
    // b's closure is the same, so b is not affected.
    only_c_is_affected("npm", "package-lock.json", "ms@2.1.3", "ms@2.1.2");
}

#[test]
fn pnpm_lockfile_update_affects_only_the_package_it_changes() {
    only_c_is_affected("pnpm", "pnpm-lock.yaml", "ms@2.1.3", "ms@2.1.2");
}

#[test]
fn yarn_v1_lockfile_update_affects_only_the_package_it_changes() {
    only_c_is_affected("yarn1", "yarn.lock", "ms@2.1.3", "ms@2.1.2");
}

#[test]
fn yarn_berry_lockfile_update_affects_only_the_package_it_changes() {
    only_c_is_affected("berry", "yarn.lock", "ms@2.1.3", "ms@2.1.2");
}

#[test]
fn cargo_lockfile_update_affects_only_the_crate_it_changes() {
    only_c_is_affected("cargo", "Cargo.lock", "ryu@1.0.23", "ryu@1.0.18");
}

#[test]
fn a_dependency_version_change_reaches_the_dependents_through_the_edge() {
    // is-number moves for `a`; `b` links `a`, so npm installs it for `b` too.
    let repo = workspace("npm");
    let lock = repo.read("package-lock.json").replace(
        "\"node_modules/is-number\": {\n      \"version\": \"7.0.0\"",
        "\"node_modules/is-number\": {\n      \"version\": \"7.0.1\"",
    );
    assert_ne!(
        lock,
        repo.read("package-lock.json"),
        "the fixture has is-number 7.0.0 at the root"
    );
    repo.write("package-lock.json", lock);
    repo.commit("bump is-number");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["a", "b"]), "{json:#}");
    let change = json!({"kind": "lockfile", "file": "package-lock.json",
        "added": ["is-number@7.0.1"], "removed": ["is-number@7.0.0"]});
    assert_eq!(reasons(&json, "a"), vec![change.clone()]);
    assert!(reasons(&json, "b").contains(&change), "{json:#}");
}

#[test]
fn an_unreadable_lockfile_affects_every_package_that_uses_it() {
    let repo = workspace("npm");
    repo.write(
        "package-lock.json",
        "{\"lockfileVersion\": 3, \"packages\": ",
    );
    repo.commit("truncate the lockfile");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["a", "b", "c"]), "{json:#}");
    for service in ["a", "b", "c"] {
        let reasons = reasons(&json, service);
        let unreadable = reasons.iter().find(|r| r["kind"] == "lockfile_unreadable");
        let unreadable = unreadable.unwrap_or_else(|| panic!("{reasons:?}"));
        assert_eq!(unreadable["file"], "package-lock.json");
        assert!(
            unreadable["detail"]
                .as_str()
                .unwrap()
                .contains("is not valid JSON"),
            "{unreadable}"
        );
    }
    let text = repo
        .run(&["affected", "--base", "HEAD~1"])
        .success()
        .stdout_str();
    assert!(
        text.contains("package-lock.json could not be read"),
        "{text}"
    );
}

#[test]
fn an_unknown_lockfile_version_affects_every_package_with_the_version_named() {
    let repo = workspace("pnpm");
    let lock = repo
        .read("pnpm-lock.yaml")
        .replace("lockfileVersion: '9.0'", "lockfileVersion: '5.4'");
    repo.write("pnpm-lock.yaml", lock);
    repo.commit("downgrade");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["a", "b", "c"]), "{json:#}");
    let detail = reasons(&json, "a")[0]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("lockfileVersion 5.4 is not supported (6 to 9 are)"),
        "{detail}"
    );
}

#[test]
fn uncommitted_lockfile_edits_are_read_from_the_worktree() {
    let repo = workspace("cargo");
    let after = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles/cargo/after.Cargo.lock");
    repo.write("Cargo.lock", std::fs::read(after).unwrap());
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
}

#[test]
fn lockfile_churn_that_does_not_concern_a_package_keeps_its_task_hash() {
    let repo = workspace("npm");
    add_build_scripts(&repo);
    repo.commit("build scripts");
    let before = repo.task_hashes(&["build"]);
    assert_eq!(before.len(), 3, "{before:?}");
    update(&repo, "npm", "package-lock.json");
    let after = repo.task_hashes(&["build"]);
    assert_eq!(before["a:build"], after["a:build"]);
    assert_eq!(before["b:build"], after["b:build"]);
    assert_ne!(before["c:build"], after["c:build"]);
    // The cache agrees: a and b hit, c runs.
    repo.run(&["run", "build", "--all"]).success();
    update_back(&repo);
    let (_, summary) = repo.run_summary(&["build", "--all"]);
    let statuses = summary.statuses();
    assert_eq!(statuses["a:build"], "cached-local", "{statuses:?}");
    assert_eq!(statuses["b:build"], "cached-local", "{statuses:?}");
    assert_eq!(statuses["c:build"], "success", "{statuses:?}");
}

/// Gives the npm workspace's packages a `build` script, so that they have task hashes.
fn add_build_scripts(repo: &TestRepo) {
    for p in ["a", "b", "c"] {
        let path = format!("packages/{p}/package.json");
        let manifest = repo
            .read(&path)
            .replacen('{', "{ \"scripts\": { \"build\": \"true\" },", 1);
        repo.write(&path, manifest);
    }
}

/// Restores the committed-before lockfile in the worktree (a second, opposite churn).
fn update_back(repo: &TestRepo) {
    let before = repo.git(&["show", "HEAD~1:package-lock.json"]);
    repo.write("package-lock.json", before);
}

/// A Go single module: `user` reaches `github.com/google/uuid` through the shared `pkg/ids`,
/// `order` imports `github.com/sirupsen/logrus` directly.
fn go_shop(go_mod: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("go.mod", go_mod)
        .write("go.sum", "github.com/google/uuid v1.6.0 h1:a\n")
        .write(
            "services/user/main.go",
            "package main\n\nimport \"example.com/shop/pkg/ids\"\n\nfunc main() { ids.New() }\n",
        )
        .write(
            "pkg/ids/ids.go",
            "package ids\n\nimport \"github.com/google/uuid\"\n\nfunc New() string { return uuid.NewString() }\n",
        )
        .write(
            "services/order/main.go",
            "package main\n\nimport log \"github.com/sirupsen/logrus/hooks/writer\"\n\nfunc main() { _ = log.Hook{} }\n",
        );
    repo.commit("init");
    repo
}

const GO_MOD: &str = "module example.com/shop\n\ngo 1.22\n\nrequire (\n\tgithub.com/google/uuid v1.6.0\n\tgithub.com/sirupsen/logrus v1.9.0\n)\n";

fn go_mod_change(from: &str, to: &str) -> Value {
    let repo = go_shop(GO_MOD);
    repo.write("go.mod", GO_MOD.replace(from, to));
    repo.commit("go.mod");
    repo.affected_json(&["--base", "HEAD~1"])
}

#[test]
fn a_go_require_change_affects_only_the_services_importing_that_module() {
    let json = go_mod_change("uuid v1.6.0", "uuid v1.6.1");
    // user imports uuid through the library package pkg/ids, a unit of its own.
    assert_eq!(
        json.affected_names(),
        names(&["./pkg/ids", "user"]),
        "{json:#}"
    );
    assert_eq!(
        reasons(&json, "user"),
        [json!({"kind": "lockfile", "file": "go.mod",
                "added": ["github.com/google/uuid@v1.6.1"],
                "removed": ["github.com/google/uuid@v1.6.0"]})]
    );
    assert!(json["unowned_files"].as_array().unwrap().is_empty());

    // A package path below the module's own path belongs to that module.
    let json = go_mod_change("logrus v1.9.0", "logrus v1.9.3");
    assert_eq!(json.affected_names(), names(&["order"]), "{json:#}");
}

#[test]
fn a_go_replace_of_one_module_affects_only_its_importers() {
    let json = go_mod_change(
        ")\n",
        ")\n\nreplace github.com/sirupsen/logrus => github.com/fork/logrus v1.9.1\n",
    );
    assert_eq!(json.affected_names(), names(&["order"]), "{json:#}");
}

#[test]
fn a_go_directive_change_affects_every_go_service() {
    let json = go_mod_change("go 1.22", "go 1.23");
    assert_eq!(
        json.affected_names(),
        names(&["./pkg/ids", "order", "user"]),
        "{json:#}"
    );
    assert_eq!(json.reason_kinds("order"), ["lockfile"]);
}

#[test]
fn a_go_sum_change_alone_affects_nothing_and_is_not_unowned() {
    let repo = go_shop(GO_MOD);
    repo.write("go.sum", "github.com/google/uuid v1.6.0 h1:b\n");
    repo.commit("go.sum");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert!(json.affected_names().is_empty(), "{json:#}");
    assert!(
        json["unowned_files"].as_array().unwrap().is_empty(),
        "{json:#}"
    );
}

#[test]
fn an_unparsable_go_mod_is_an_error_at_head_and_affects_every_go_service_at_base() {
    const BROKEN: &str =
        "module example.com/shop\n\ngo 1.22\n\nrequire (\n\tgithub.com/google/uuid\n";
    let repo = go_shop(GO_MOD);
    repo.write("go.mod", BROKEN);
    repo.commit("broken go.mod");
    // At head go.mod is also what discovery reads: a manifest error, with its line.
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("go.mod:6: `require (` block is never closed"),
        "{}",
        out.stderr_str()
    );
    // Mended at head, unreadable at base: every user of it is affected, saying why.
    repo.write("go.mod", GO_MOD);
    repo.commit("mended go.mod");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.affected_names(),
        names(&["./pkg/ids", "order", "user"]),
        "{json:#}"
    );
    assert_eq!(json.reason_kinds("user"), ["lockfile_unreadable"]);
}

#[test]
fn go_mod_churn_for_one_module_keeps_the_other_services_task_hashes() {
    let repo = go_shop(GO_MOD);
    repo.write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"go\"]\n\n[targets.build]\ncommand = \"true\"\n",
    );
    repo.commit("pipeline");
    let hashes = |repo: &TestRepo| -> Vec<(String, String)> {
        let json = repo
            .run(&["hash", "build", "--all", "--json"])
            .success()
            .json();
        let mut v: Vec<(String, String)> = json["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{json:#}"))
            .iter()
            .map(|t| {
                (
                    t["service"].as_str().unwrap().to_string(),
                    t["hash"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = hashes(&repo);
    // ./pkg/ids (the library package user imports uuid through), order, user.
    assert_eq!(before.len(), 3, "{before:?}");
    repo.write("go.mod", GO_MOD.replace("logrus v1.9.0", "logrus v1.9.3"));
    repo.commit("bump logrus");
    let after = hashes(&repo);
    assert_eq!(after[0], before[0], "pkg/ids does not import logrus");
    assert_eq!(after[2], before[2], "user does not import logrus");
    assert_ne!(after[1], before[1], "order does");
}

/// The lockfile reason of `service` in the affected JSON.
fn lockfile_reason(json: &Value, service: &str) -> Value {
    reasons(json, service)
        .into_iter()
        .find(|r| r["kind"] == "lockfile")
        .unwrap_or_else(|| panic!("no lockfile reason for {service}: {json:#}"))
}

/// pnpm: a package's identity is its whole snapshot key. A new peer in `ajv-keywords`' suffix
/// (what a `packageExtensions` entry does) changes what `c` installs, and nothing else.
#[test]
fn a_pnpm_peer_suffix_change_affects_the_packages_whose_snapshots_it_changes() {
    let repo = workspace("pnpm");
    let lock = repo.read("pnpm-lock.yaml");
    let changed = lock.replace("5.1.0(ajv@8.20.0)", "5.1.0(ajv@8.20.0)(is-number@6.0.0)");
    assert_ne!(
        changed, lock,
        "the fixture has ajv-keywords with ajv as a peer"
    );
    repo.write("pnpm-lock.yaml", changed);
    repo.commit("packageExtensions: ajv-keywords peers on is-number");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let reason = lockfile_reason(&json, "c");
    assert_eq!(
        reason["added"],
        json!(["ajv-keywords@5.1.0(ajv@8.20.0)(is-number@6.0.0)"])
    );
    assert_eq!(reason["removed"], json!(["ajv-keywords@5.1.0(ajv@8.20.0)"]));
}

/// pnpm: a re-published tarball (same version, new integrity) is a change, shown with the
/// integrity since that is what moved.
#[test]
fn a_pnpm_integrity_change_affects_the_packages_that_install_it() {
    let repo = workspace("pnpm");
    let lock = repo.read("pnpm-lock.yaml");
    let changed = lock.replace(
        "sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT",
        "sha512-0000000000000000000000000000000000000000000000",
    );
    assert_ne!(changed, lock, "the fixture has ms 2.1.2's integrity");
    repo.write("pnpm-lock.yaml", changed);
    repo.commit("ms 2.1.2 re-published");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let reason = lockfile_reason(&json, "c");
    assert_eq!(
        reason["added"],
        json!(["ms@2.1.2 #sha512-0000000000000000"])
    );
    assert_eq!(
        reason["removed"],
        json!(["ms@2.1.2 #sha512-sGkPx+VjMtmA6MX2"])
    );
}

/// yarn 1 records no workspace: each end's closure starts from that end's own manifest ranges.
/// `c` moves from `ms@^2.0.0` (2.1.2) to `ms@^2.1.3` (2.1.3): both entries are listed.
#[test]
fn a_yarn_v1_range_change_lists_both_ends() {
    let repo = workspace("yarn1");
    let manifest = repo.read("packages/c/package.json");
    repo.write(
        "packages/c/package.json",
        manifest.replace("\"ms\": \"^2.0.0\"", "\"ms\": \"^2.1.3\""),
    );
    let lock = repo.read("yarn.lock");
    let start = lock.find("ms@^2.0.0:").unwrap();
    let end = lock.find("ms@^2.1.3:").unwrap();
    repo.write("yarn.lock", format!("{}{}", &lock[..start], &lock[end..]));
    repo.commit("ms ^2.1.3");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let reason = lockfile_reason(&json, "c");
    assert_eq!(reason["added"], json!(["ms@2.1.3"]));
    assert_eq!(reason["removed"], json!(["ms@2.1.2"]));
}

/// The npm workspace with build scripts, its lockfile moved to `locks/` and committed as a
/// symbolic link to it.
fn linked_npm_lockfile() -> TestRepo {
    let repo = workspace("npm");
    add_build_scripts(&repo);
    repo.rename("package-lock.json", "locks/package-lock.json")
        .symlink("locks/package-lock.json", "package-lock.json");
    repo.commit("the lockfile lives in locks/");
    repo
}

// A lockfile committed as a link inside the repository used to read as absent: a change to its
// target gave identical task hashes and `0 of 3 services affected`.
#[test]
fn a_lockfile_linked_inside_the_repository_is_read_through_the_link() {
    let repo = linked_npm_lockfile();
    let before = repo.task_hashes(&["build"]);
    assert_eq!(before.len(), 3, "{before:?}");
    let after = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles/npm/after.package-lock.json");
    repo.write("locks/package-lock.json", std::fs::read(after).unwrap());

    // In the worktree: the target's change is the lockfile's, judged by closure.
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let want = json!({"kind": "lockfile", "file": "package-lock.json", "added": ["ms@2.1.3"], "removed": ["ms@2.1.2"]});
    assert_eq!(reasons(&json, "c"), vec![want.clone()]);
    assert_eq!(json["unowned_files"], json!([]), "{json:#}");
    let hashes = repo.task_hashes(&["build"]);
    assert_eq!(before["a:build"], hashes["a:build"]);
    assert_eq!(before["b:build"], hashes["b:build"]);
    assert_ne!(before["c:build"], hashes["c:build"]);

    // Committed: the changed path is the target; the lockfile at each end is read through the
    // link in that commit's tree.
    repo.commit("update ms");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    assert_eq!(reasons(&json, "c"), vec![want]);
    assert_eq!(json["unowned_files"], json!([]), "{json:#}");
}

#[test]
fn a_lockfile_link_that_leaves_the_repository_is_an_error_not_an_absent_file() {
    let repo = linked_npm_lockfile();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("package-lock.json");
    std::fs::write(&secret, "TURBO_TOKEN=tok-lockfile-outside\n").unwrap();
    repo.remove("package-lock.json")
        .symlink(&secret, "package-lock.json");
    repo.commit("link out");
    for args in [
        &["affected", "--base", "HEAD~1"][..],
        &["hash", "build", "--all"],
    ] {
        let out = repo.run(args);
        out.expect_code(2);
        let stderr = out.stderr_str();
        assert!(
            stderr.contains("error: package-lock.json: it leads outside the repository"),
            "{stderr}"
        );
        assert!(!stderr.contains("tok-lockfile-outside") && !out.stdout_str().contains("tok-"));
    }
}

/// The fixture `lockfile` (or its `after.` twin) with a root dev dependency `tool@version`
/// written the way each package manager records it: npm's `packages[""]`, pnpm's importer
/// `.`, yarn berry's `workspace:.` entry, and for yarn 1 an entry the root's range resolves to.
fn with_root_tool(name: &str, lockfile: &str, after: bool, version: &str) -> String {
    let file = if after {
        format!("after.{lockfile}")
    } else {
        lockfile.to_owned()
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(name)
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let integrity = "sha512-9lGBdPO1Tbpd3uVtiBwNbR1vQmbMsYdSQi5TtYjHbtUsXGp1eRoXGmnX7Aswp2JY5XlxsSb1Dq5bs5m+6Ilxgg==";
    let replace = |text: &str, from: &str, to: &str| {
        assert!(text.contains(from), "{from:?} not in the {name} fixture");
        text.replacen(from, to, 1)
    };
    match name {
        "npm" => {
            let mut lock: Value = serde_json::from_str(&text).unwrap();
            let packages = &mut lock["packages"];
            packages[""]["devDependencies"] = json!({"tool": "^1.0.0"});
            packages["node_modules/tool"] =
                json!({"version": version, "integrity": integrity, "dev": true});
            serde_json::to_string_pretty(&lock).unwrap()
        }
        "pnpm" => {
            let text = replace(
                &text,
                "  .: {}\n",
                &format!(
                    "  .:\n    devDependencies:\n      tool:\n        specifier: ^1.0.0\n        version: {version}\n"
                ),
            );
            let text = replace(
                &text,
                "\npackages:\n\n",
                &format!("\npackages:\n\n  tool@{version}:\n    resolution: {{integrity: {integrity}}}\n\n"),
            );
            replace(
                &text,
                "\nsnapshots:\n\n",
                &format!("\nsnapshots:\n\n  tool@{version}: {{}}\n\n"),
            )
        }
        "berry" => {
            let text = replace(
                &text,
                "  resolution: \"shop@workspace:.\"\n",
                "  resolution: \"shop@workspace:.\"\n  dependencies:\n    tool: \"npm:^1.0.0\"\n",
            );
            format!(
                "{text}\n\"tool@npm:^1.0.0\":\n  version: {version}\n  resolution: \"tool@npm:{version}\"\n  checksum: 10c0/0123456789abcdef\n  languageName: node\n  linkType: hard\n"
            )
        }
        "yarn1" => format!(
            "{text}\ntool@^1.0.0:\n  version \"{version}\"\n  resolved \"https://registry.yarnpkg.com/tool/-/tool-{version}.tgz#0123456789abcdef\"\n  integrity {integrity}\n"
        ),
        _ => unreachable!("no root tool for {name}"),
    }
}

/// A change of the root package's closure alone — its dev dependency `tool` moves — affects
/// every package with the `root` lockfile reason and changes every package's task hashes, as
/// Node resolves the root's dependencies from every package's folder. A change inside one
/// package's closure next to it still affects only that package.
fn root_closure_reaches_every_package(name: &str, lockfile: &str) {
    let repo = workspace(name);
    add_build_scripts(&repo);
    let manifest = repo.read("package.json").replacen(
        '{',
        "{ \"devDependencies\": { \"tool\": \"^1.0.0\" },",
        1,
    );
    repo.write("package.json", manifest);
    repo.write(lockfile, with_root_tool(name, lockfile, false, "1.0.0"));
    repo.commit("root tool");
    let before = repo.task_hashes(&["build"]);
    assert_eq!(before.len(), 3, "{before:?}");

    repo.write(lockfile, with_root_tool(name, lockfile, false, "1.0.1"));
    repo.commit("bump the root tool");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["a", "b", "c"]), "{json:#}");
    let want = json!({"kind": "lockfile", "file": lockfile, "root": true,
        "added": ["tool@1.0.1"], "removed": ["tool@1.0.0"]});
    for service in ["a", "b", "c"] {
        let lockfile_reasons: Vec<Value> = reasons(&json, service)
            .into_iter()
            .filter(|r| r["kind"] == "lockfile")
            .collect();
        assert_eq!(lockfile_reasons, vec![want.clone()], "{service}");
    }
    let text = repo
        .run(&["affected", "--base", "HEAD~1"])
        .success()
        .stdout_str();
    let line = format!("lockfile    {lockfile} (root package: +tool@1.0.1 −tool@1.0.0)");
    assert!(text.contains(&line), "{text}");
    let bumped = repo.task_hashes(&["build"]);
    for task in ["a:build", "b:build", "c:build"] {
        assert_ne!(before[task], bumped[task], "{task}");
    }

    // c's ms moves, the root's closure stays: c alone, with its own closure's reason.
    repo.write(lockfile, with_root_tool(name, lockfile, true, "1.0.1"));
    repo.commit("update ms");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let want = json!({"kind": "lockfile", "file": lockfile,
        "added": ["ms@2.1.3"], "removed": ["ms@2.1.2"]});
    assert_eq!(reasons(&json, "c"), vec![want]);
    let after = repo.task_hashes(&["build"]);
    assert_eq!(bumped["a:build"], after["a:build"]);
    assert_eq!(bumped["b:build"], after["b:build"]);
    assert_ne!(bumped["c:build"], after["c:build"]);
}

/// A change that moves many entries lists the first [`LISTED`](50) of each side, sorted, and
/// counts the rest in `more_added` / `more_removed`: a long chain shared by many users is never
/// listed in full once per user. Text output counts them too.
#[test]
fn a_long_lockfile_change_lists_the_first_fifty_entries_and_counts_the_rest() {
    let repo = workspace("pnpm");
    let lock = repo.read("pnpm-lock.yaml");
    // ms 2.1.2 (`c`'s) now depends on a chain of 70 packages.
    let mut changed = lock.replace(
        "  ms@2.1.2: {}\n",
        "  ms@2.1.2:\n    dependencies:\n      x00: 1.0.0\n",
    );
    assert_ne!(changed, lock, "the fixture has ms 2.1.2's snapshot");
    for i in 0..70 {
        if i + 1 < 70 {
            changed.push_str(&format!(
                "\n  x{i:02}@1.0.0:\n    dependencies:\n      x{:02}: 1.0.0\n",
                i + 1
            ));
        } else {
            changed.push_str(&format!("\n  x{i:02}@1.0.0: {{}}\n"));
        }
    }
    repo.write("pnpm-lock.yaml", changed);
    repo.commit("ms 2.1.2 grows a chain");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["c"]), "{json:#}");
    let reason = lockfile_reason(&json, "c");
    let added: Vec<String> = (0..50).map(|i| format!("x{i:02}@1.0.0")).collect();
    assert_eq!(reason["added"], json!(added), "{reason:#}");
    assert_eq!(reason["more_added"], json!(20), "{reason:#}");
    assert_eq!(reason["removed"], json!([]), "{reason:#}");
    assert_eq!(reason.get("more_removed"), None, "{reason:#}");
    let text = repo
        .run(&["affected", "--base", "HEAD~1"])
        .success()
        .stdout_str();
    assert!(
        text.contains("(+x00@1.0.0 +x01@1.0.0 +x02@1.0.0 +67 more)"),
        "{text}"
    );
}

#[test]
fn npm_root_package_closure_change_affects_every_package() {
    root_closure_reaches_every_package("npm", "package-lock.json");
}

#[test]
fn pnpm_root_importer_closure_change_affects_every_package() {
    root_closure_reaches_every_package("pnpm", "pnpm-lock.yaml");
}

#[test]
fn yarn_berry_root_workspace_closure_change_affects_every_package() {
    root_closure_reaches_every_package("berry", "yarn.lock");
}

#[test]
fn yarn_v1_root_ranges_closure_change_affects_every_package() {
    root_closure_reaches_every_package("yarn1", "yarn.lock");
}

/// A root package that is a service itself (turbo.json's `//#lint`) installs the root closure:
/// its change affects it with the same reason as every package.
#[test]
fn a_root_closure_change_affects_the_root_package_service() {
    let repo = workspace("pnpm");
    repo.write(
        "package.json",
        r#"{ "name": "shop", "private": true, "scripts": { "lint": "true" },
             "devDependencies": { "tool": "^1.0.0" } }"#,
    );
    repo.write(
        "turbo.json",
        r#"{ "tasks": { "build": {}, "//#lint": {} } }"#,
    );
    repo.write(
        "pnpm-lock.yaml",
        with_root_tool("pnpm", "pnpm-lock.yaml", false, "1.0.0"),
    );
    repo.commit("root tool");
    repo.write(
        "pnpm-lock.yaml",
        with_root_tool("pnpm", "pnpm-lock.yaml", false, "1.0.1"),
    );
    repo.commit("bump the root tool");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.affected_names(),
        names(&["//", "a", "b", "c"]),
        "{json:#}"
    );
    let want = json!({"kind": "lockfile", "file": "pnpm-lock.yaml", "root": true,
        "added": ["tool@1.0.1"], "removed": ["tool@1.0.0"]});
    assert_eq!(reasons(&json, "//"), vec![want]);
}
