//! Discovery of npm, pnpm and yarn workspaces through the real binary: the zero-config path, the
//! `[workspace] discover` setting and how explicit services refine discovered ones, the linking
//! rules of each package manager, scripts as targets, and every discovery error (exit 2, the
//! manifest named with its line).

mod common;

use std::collections::BTreeMap;

use common::{names, AffectedJson, OutputExt, TestRepo};

/// Each service's deps, from `graph --format json`.
fn graph(repo: &TestRepo, args: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut all = vec!["graph", "--format", "json"];
    all.extend_from_slice(args);
    let json = repo.run(&all).success().json();
    json["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            let deps = s["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            (s["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

fn deps(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    list.iter()
        .map(|(n, d)| (n.to_string(), names(d)))
        .collect()
}

fn package(name: &str, version: &str, dependencies: &[(&str, &str)]) -> String {
    let deps: Vec<String> = dependencies
        .iter()
        .map(|(n, r)| format!("\"{n}\": \"{r}\""))
        .collect();
    format!(
        "{{\n  \"name\": \"{name}\",\n  \"version\": \"{version}\",\n  \"dependencies\": {{ {} }}\n}}\n",
        deps.join(", ")
    )
}

/// An npm workspace: `b` needs `a` by a satisfied range, `web` needs `b` by `*` and asks for a
/// version of `a` the workspace does not have (fetched, no edge).
fn npm_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\", \"apps/*\"]}\n",
    )
    .write("packages/a/package.json", package("@x/a", "1.2.0", &[]))
    .write(
        "packages/b/package.json",
        package("@x/b", "1.0.0", &[("@x/a", "^1.0.0"), ("react", "^18")]),
    )
    .write(
        "apps/web/package.json",
        package("web", "0.0.1", &[("@x/b", "*"), ("@x/a", "^2.0.0")]),
    )
    .write("packages/a/index.js", "module.exports = 1;\n");
    repo.commit("init");
    repo
}

#[test]
fn without_a_config_the_npm_workspace_is_discovered() {
    let repo = npm_repo();
    assert_eq!(
        graph(&repo, &[]),
        deps(&[("@x/a", &[]), ("@x/b", &["@x/a"]), ("web", &["@x/b"])])
    );
    let out = repo.run(&["graph"]);
    assert_eq!(
        out.stderr_lines(),
        ["no pipeline.toml: 3 npm packages"],
        "said once"
    );
}

#[test]
fn zero_config_affected_follows_linked_edges() {
    let repo = npm_repo();
    repo.write("packages/a/index.js", "module.exports = 2;\n");
    repo.commit("change a");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["@x/a", "@x/b", "web"]));
    repo.write("apps/web/page.js", "x\n");
    repo.commit("change web");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn zero_config_root_manifest_is_a_global_input() {
    let repo = npm_repo();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\", \"apps/*\"], \"devDependencies\": {\"typescript\": \"5\"}}\n",
    );
    repo.commit("root devDependency");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["@x/a", "@x/b", "web"]));
}

#[test]
fn discover_setting_adds_services_that_explicit_tables_refine() {
    let repo = npm_repo();
    repo.write("proto/api.proto", "syntax = \"proto3\";\n").config(
        "[workspace]\ndiscover = [\"npm\"]\n\n[services.web]\ndeps = [\"@x/a\"]\npaths = [\"proto/**\"]\n",
    );
    repo.commit("config");
    assert_eq!(
        graph(&repo, &[]),
        deps(&[
            ("@x/a", &[]),
            ("@x/b", &["@x/a"]),
            ("web", &["@x/a", "@x/b"])
        ])
    );
    assert!(repo.run(&["graph"]).stderr_str().is_empty());
    repo.write("proto/api.proto", "syntax = \"proto3\"; // v2\n");
    repo.commit("proto");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn explicit_root_different_from_the_discovered_one_is_an_error() {
    let repo = npm_repo();
    repo.mkdir("elsewhere")
        .write("elsewhere/.keep", "")
        .config("[workspace]\ndiscover = \"auto\"\n[services.web]\nroot = \"elsewhere\"\n");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("two services are named `web`: root `elsewhere` here and discovered package in `apps/web`"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn members_name_the_services_and_discovery_adds_only_edges() {
    let repo = npm_repo();
    repo.config("[workspace]\nmembers = [\"packages/*\"]\ndiscover = [\"npm\"]\n");
    repo.commit("config");
    // Folder names, as members name them; `web` is no member, so neither is it a service.
    assert_eq!(graph(&repo, &[]), deps(&[("a", &[]), ("b", &["a"])]));
}

#[test]
fn an_unknown_discover_value_is_a_config_error() {
    let repo = npm_repo();
    repo.config("[workspace]\ndiscover = [\"npm\", \"maven\"]\n");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("discover: `maven` is not an ecosystem shockwave reads"),
        "{err}"
    );
    assert!(err.contains("pipeline.toml:2:"), "{err}");
}

#[test]
fn an_unparsable_package_json_is_named_with_its_line() {
    let repo = npm_repo();
    repo.write(
        "packages/b/package.json",
        "{\n  \"name\": \"@x/b\",\n  \"version\": 1.0.0\n}\n",
    );
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.starts_with("error: packages/b/package.json:3: cannot be parsed as package.json"),
        "{err}"
    );
}

/// A pnpm workspace: `b` asks for `a` by a plain range, `c` by `workspace:^`; `d` only as a
/// peer dependency; `e` through an `npm:` alias named like the local package.
fn pnpm_repo(package_manager: &str, extra: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        format!("{{\"name\": \"root\", \"private\": true, \"packageManager\": \"{package_manager}\"}}\n"),
    )
    .write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n")
    .write("packages/a/package.json", package("a", "1.0.0", &[]))
    .write("packages/b/package.json", package("b", "1.0.0", &[("a", "^1.0.0")]))
    .write("packages/c/package.json", package("c", "1.0.0", &[("a", "workspace:^")]))
    .write(
        "packages/d/package.json",
        "{\"name\": \"d\", \"version\": \"1.0.0\", \"peerDependencies\": {\"a\": \"^1.0.0\"}}\n",
    )
    .write("packages/e/package.json", package("e", "1.0.0", &[("a", "npm:a@^1.0.0")]));
    for (path, text) in extra {
        repo.write(path, text);
    }
    repo.commit("init");
    repo
}

#[test]
fn pnpm_9_links_plain_ranges_only_with_link_workspace_packages() {
    let expect_unlinked = deps(&[
        ("a", &[]),
        ("b", &[]),
        ("c", &["a"]),
        ("d", &[]),
        ("e", &[]),
    ]);
    let expect_linked = deps(&[
        ("a", &[]),
        ("b", &["a"]),
        ("c", &["a"]),
        ("d", &[]),
        ("e", &[]),
    ]);
    assert_eq!(graph(&pnpm_repo("pnpm@9.1.0", &[]), &[]), expect_unlinked);
    assert_eq!(
        graph(&pnpm_repo("pnpm@8.15.0", &[]), &[]),
        expect_linked,
        "pnpm 8 links by default"
    );
    let npmrc = [(".npmrc", "link-workspace-packages=true\n")];
    assert_eq!(graph(&pnpm_repo("pnpm@9.1.0", &npmrc), &[]), expect_linked);
    // pnpm-workspace.yaml wins over .npmrc.
    let both = [
        (".npmrc", "link-workspace-packages=true\n"),
        (
            "pnpm-workspace.yaml",
            "packages:\n  - 'packages/*'\nlinkWorkspacePackages: false\n",
        ),
    ];
    assert_eq!(graph(&pnpm_repo("pnpm@9.1.0", &both), &[]), expect_unlinked);
    let repo = pnpm_repo("pnpm@9.1.0", &[]);
    assert_eq!(
        repo.run(&["graph"]).stderr_lines(),
        ["no pipeline.toml: 5 pnpm packages"]
    );
}

#[test]
fn package_manager_is_detected_from_the_lockfile_without_package_manager() {
    let repo = npm_repo();
    repo.write("yarn.lock", "# yarn lockfile v1\n");
    repo.commit("yarn");
    assert_eq!(
        repo.run(&["graph"]).stderr_lines(),
        ["no pipeline.toml: 3 yarn packages"]
    );
    // Yarn links a satisfied range like npm.
    assert_eq!(graph(&repo, &[])["@x/b"], names(&["@x/a"]));
}

#[test]
fn workspaces_object_form_negated_patterns_and_nameless_packages() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"private\": true, \"workspaces\": {\"packages\": [\"packages/**\", \"!packages/legacy\"]}}\n",
    )
    .write("packages/a/package.json", package("a", "1.0.0", &[]))
    .write("packages/group/b/package.json", package("b", "1.0.0", &[("a", "*")]))
    .write("packages/legacy/package.json", package("legacy", "1.0.0", &[]))
    .write("packages/a/node_modules/dep/package.json", package("dep", "1.0.0", &[]))
    .write("packages/nameless/package.json", "{\"private\": true}\n");
    repo.commit("init");
    assert_eq!(graph(&repo, &[]), deps(&[("a", &[]), ("b", &["a"])]));
}

#[test]
fn scripts_become_targets_run_by_the_package_manager() {
    let repo = npm_repo();
    repo.write(
        "packages/a/package.json",
        "{\"name\": \"@x/a\", \"version\": \"1.2.0\", \"scripts\": {\"build\": \"x\"}}\n",
    )
    .write("bin/npm", "#!/bin/sh\necho \"npm $*\" >> \"$LOG\"\n")
    .chmod_exec("bin/npm", true);
    repo.config("[workspace]\ndiscover = \"auto\"\n[targets.build]\nneeds = [\"^build\"]\n[targets.lint]\ncommand = \"echo lint >> \\\"$LOG\\\"\"\n");
    repo.commit("scripts");
    let log = repo.abs("log.txt");
    let path = format!(
        "{}:{}",
        repo.abs("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let out = repo
        .command(&["run", "build", "lint", "--all", "--no-cache"])
        .env("PATH", path)
        .env("LOG", &log)
        .output()
        .unwrap();
    out.success();
    let mut lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    // Only `@x/a` has a build script; every service has the configured lint.
    assert_eq!(lines, ["lint", "lint", "lint", "npm run build"]);
}

#[test]
fn js_discovery_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "package.json",
            "{\"workspaces\": [\"../outside/*\"]}\n",
            "error: package.json:1: workspace pattern `../outside/*` leaves the repository",
        ),
        (
            "apps/web/package.json",
            "{\"name\": \"@x/a\", \"version\": \"1.0.0\"}\n",
            "two workspace packages are named `@x/a`",
        ),
        (
            "apps/web/package.json",
            "{\"name\": \"web\",\n \"dependencies\": {\n  \"ghost\": \"workspace:*\"}}\n",
            "error: apps/web/package.json:3: `ghost` uses the workspace: protocol, but no workspace package is named `ghost`",
        ),
        (
            "packages/a/package.json",
            "{\"name\": \"@x/a\", \"version\": \"1.2.0\", \"dependencies\": {\"web\": \"*\"}}\n",
            "dependency cycle: @x/a → web → @x/b → @x/a",
        ),
    ];
    for (file, text, expected) in cases {
        let repo = npm_repo();
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

/// npm, pnpm and yarn (1 and berry) all install a workspace whose pattern matches no folder with
/// a package.json (pnpm's own repository-style `examples/minimal/*`, a folder of sources): a note
/// in `check` and under `-v`, never an error.
#[test]
fn a_workspace_pattern_that_matches_no_package_is_a_note() {
    let repo = TestRepo::new();
    repo.write("package.json", "{\"name\": \"root\", \"private\": true}\n")
        .write(
            "pnpm-workspace.yaml",
            "packages:\n  - 'packages/*'\n  - 'examples/minimal/*'\n  - 'nowhere'\n",
        )
        .write("packages/a/package.json", package("a", "1.0.0", &[]))
        .write("examples/minimal/src/index.ts", "export {};\n");
    repo.commit("init");
    assert_eq!(graph(&repo, &[]), deps(&[("a", &[])]));
    let check = repo.run(&["check"]);
    let check = check.success();
    let out = check.stdout_str();
    assert!(
        out.starts_with(
            "note: pnpm-workspace.yaml:3: workspace pattern `examples/minimal/*` matches no folder with a package.json"
        ),
        "{out}"
    );
    assert!(
        out.contains("note: pnpm-workspace.yaml:4: workspace pattern `nowhere` matches no folder"),
        "{out}"
    );
    let verbose = repo.run(&["-v", "graph"]);
    let verbose = verbose.success();
    assert!(
        verbose
            .stderr_str()
            .contains("workspace pattern `examples/minimal/*` matches no folder"),
        "{}",
        verbose.stderr_str()
    );
    let quiet = repo.run(&["graph"]);
    let quiet = quiet.success();
    assert!(!quiet.stderr_str().contains("matches no folder"));
}

/// A pnpm workspace whose lockfile links an `npm:` alias to the workspace folder, as pnpm does
/// with `link-workspace-packages=true` (trpc's examples: `"@trpc/client": "npm:@trpc/client"`,
/// `version: link:../../../packages/client`): the specifier alone says fetched.
fn pnpm_alias_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("package.json", "{\"name\": \"root\", \"private\": true}\n")
        .write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n  - 'examples/*'\n")
        .write(".npmrc", "link-workspace-packages=true\n")
        .write("packages/client/package.json", package("is-odd", "3.0.1", &[]))
        .write("packages/client/index.js", "module.exports = 1;\n")
        .write(
            "examples/ex/package.json",
            package("ex", "1.0.0", &[("is-odd", "npm:is-odd@^3.0.0")]),
        )
        .write(
            "examples/other/package.json",
            package("other", "1.0.0", &[("is-odd", "npm:is-odd@^3.0.0")]),
        )
        .write(
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .: {}\n\n  examples/ex:\n    dependencies:\n      is-odd:\n        specifier: npm:is-odd@^3.0.0\n        version: link:../../packages/client\n\n  packages/client: {}\n",
        );
    repo.commit("init");
    repo
}

#[test]
fn a_pnpm_lockfile_link_is_an_edge_whatever_the_specifier() {
    let repo = pnpm_alias_repo();
    // `other` is not in the (stale) lockfile: its specifier decides, and an alias is fetched.
    assert_eq!(
        graph(&repo, &[]),
        deps(&[("ex", &["is-odd"]), ("is-odd", &[]), ("other", &[])])
    );
    repo.write("packages/client/index.js", "module.exports = 2;\n");
    repo.commit("change the library");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["ex", "is-odd"]));
    let explain = repo.run(&["affected", "--base", "HEAD~1", "--explain", "ex"]);
    let explain = explain.success();
    assert!(
        explain
            .stdout_str()
            .contains("deps:  is-odd (linked by pnpm-lock.yaml)"),
        "{}",
        explain.stdout_str()
    );
}

/// The lockfile wins against the specifier rules too: a plain range the rules would link is
/// no edge when the lockfile records a fetched package (the lockfile was written by a pnpm that
/// did not link it).
#[test]
fn a_pnpm_lockfile_that_fetches_removes_the_edge() {
    let repo = pnpm_repo(
        "pnpm@8.15.0",
        &[(
            "pnpm-lock.yaml",
            "lockfileVersion: '6.0'\n\nimporters:\n\n  packages/b:\n    dependencies:\n      a:\n        specifier: ^1.0.0\n        version: 1.0.0\n\npackages:\n\n  /a@1.0.0:\n    resolution: {integrity: sha512-x}\n    dev: false\n",
        )],
    );
    assert_eq!(
        graph(&repo, &[]),
        deps(&[
            ("a", &[]),
            ("b", &[]),
            ("c", &["a"]),
            ("d", &[]),
            ("e", &[]),
        ])
    );
}

/// npm links an `npm:` alias named like a workspace package to it: package-lock.json records
/// `node_modules/is-odd` as `"link": true` to `packages/client`, found from the example's folder
/// the way Node resolves it; a tag npm fetched gets a nested copy and no edge.
#[test]
fn a_package_lock_link_is_an_edge_whatever_the_specifier() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\", \"examples/*\"]}\n",
    )
    .write("packages/client/package.json", package("is-odd", "3.0.1", &[]))
    .write(
        "examples/ex/package.json",
        package("ex", "1.0.0", &[("is-odd", "npm:is-odd@^3.0.0")]),
    )
    .write(
        "examples/ex2/package.json",
        package("ex2", "1.0.0", &[("is-odd", "latest")]),
    )
    .write(
        "package-lock.json",
        r#"{
  "name": "root",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "root", "workspaces": ["packages/*", "examples/*"]},
    "examples/ex": {"version": "1.0.0", "dependencies": {"is-odd": "npm:is-odd@^3.0.0"}},
    "examples/ex2": {"version": "1.0.0", "dependencies": {"is-odd": "latest"}},
    "examples/ex2/node_modules/is-odd": {"version": "3.0.1", "integrity": "sha512-x"},
    "node_modules/ex": {"resolved": "examples/ex", "link": true},
    "node_modules/ex2": {"resolved": "examples/ex2", "link": true},
    "node_modules/is-odd": {"resolved": "packages/client", "link": true},
    "packages/client": {"name": "is-odd", "version": "3.0.1"}
  }
}
"#,
    );
    repo.commit("init");
    assert_eq!(
        graph(&repo, &[]),
        deps(&[("ex", &["is-odd"]), ("ex2", &[]), ("is-odd", &[])])
    );
}

/// yarn berry resolves the `npm:` alias descriptor to the workspace
/// (`"is-odd@npm:is-odd@^3.0.0, is-odd@workspace:packages/client"`).
#[test]
fn a_yarn_berry_workspace_resolution_is_an_edge_whatever_the_specifier() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"packageManager\": \"yarn@4.5.0\", \"workspaces\": [\"packages/*\", \"examples/*\"]}\n",
    )
    .write("packages/client/package.json", package("is-odd", "3.0.1", &[]))
    .write(
        "examples/ex/package.json",
        package("ex", "1.0.0", &[("is-odd", "npm:is-odd@^3.0.0")]),
    )
    .write(
        "yarn.lock",
        "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"ex@workspace:examples/ex\":\n  version: 0.0.0-use.local\n  resolution: \"ex@workspace:examples/ex\"\n  dependencies:\n    is-odd: \"npm:is-odd@^3.0.0\"\n  languageName: unknown\n  linkType: soft\n\n\"is-odd@npm:is-odd@^3.0.0, is-odd@workspace:packages/client\":\n  version: 0.0.0-use.local\n  resolution: \"is-odd@workspace:packages/client\"\n  languageName: unknown\n  linkType: soft\n\n\"root@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"root@workspace:.\"\n  languageName: unknown\n  linkType: soft\n",
    );
    repo.commit("init");
    assert_eq!(
        graph(&repo, &[]),
        deps(&[("ex", &["is-odd"]), ("is-odd", &[])])
    );
}
