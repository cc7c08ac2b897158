//! Discovery of npm, pnpm and yarn workspaces through the real binary: the zero-config path, the
//! `[workspace] discover` setting and how explicit services refine discovered ones, the linking
//! rules of each package manager, scripts as targets, and every discovery error (exit 2, the
//! manifest named with its line).

use crate::common;

use std::collections::BTreeMap;

use common::{names, AffectedJson, OutputExt, SummaryJson, TestRepo};

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

/// A workspace whose packages need one another in a loop through `devDependencies`, as jest's
/// `@jest/environment → @jest/fake-timers → @jest/test-utils → @jest/environment` does: npm,
/// pnpm and yarn install it, so discovery accepts it. `app` depends on the loop, `other` not.
fn cycle_repo() -> TestRepo {
    let repo = TestRepo::new();
    let dev = |name: &str, dev: &str| {
        format!(
            "{{\"name\": \"{name}\", \"version\": \"1.0.0\", \"scripts\": {{\"build\": \"true\"}}, \"devDependencies\": {{\"{dev}\": \"*\"}}}}\n"
        )
    };
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    )
    .write("packages/env/package.json", dev("env", "timers"))
    .write("packages/timers/package.json", dev("timers", "utils"))
    .write("packages/utils/package.json", dev("utils", "env"))
    .write(
        "packages/app/package.json",
        "{\"name\": \"app\", \"version\": \"1.0.0\", \"scripts\": {\"build\": \"true\"}, \"dependencies\": {\"env\": \"*\"}}\n",
    )
    .write(
        "packages/other/package.json",
        package("other", "1.0.0", &[]),
    )
    .write("packages/utils/index.js", "module.exports = 1;\n");
    repo.commit("init");
    repo
}

#[test]
fn a_package_cycle_is_accepted_and_a_change_reaches_every_package_of_it() {
    let repo = cycle_repo();
    repo.write("packages/utils/index.js", "module.exports = 2;\n");
    repo.commit("change utils");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), ["app", "env", "timers", "utils"]);
    assert_eq!(json.unaffected_names(), ["other"]);
    // Each reason is the shortest chain down to the change, and none leads back to itself.
    let reasons = |name: &str| -> Vec<serde_json::Value> {
        json["affected"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["reasons"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(
        reasons("app"),
        [serde_json::json!({"kind": "dependency", "via": ["env", "timers", "utils"]})]
    );
    assert_eq!(reasons("utils").len(), 1, "{:?}", reasons("utils"));
    assert_eq!(reasons("utils")[0]["kind"], "file");
    // `--dependents direct` stops one step away, inside the loop too.
    let direct = repo.affected_json(&["--base", "HEAD~1", "--dependents", "direct"]);
    assert_eq!(direct.affected_names(), ["timers", "utils"]);

    let explain = repo.run(&["affected", "--base", "HEAD~1", "--explain", "env"]);
    explain.success();
    let text = explain.stdout_str();
    assert_eq!(
        text.matches("cycle: env → timers → utils → env").count(),
        1,
        "the loop is shown once:\n{text}"
    );
}

#[test]
fn check_warns_about_a_package_cycle_and_only_ordering_across_it_fails() {
    let repo = cycle_repo();
    let check = repo.run(&["check"]);
    check.success();
    assert!(
        check
            .stderr_str()
            .contains("warning: dependency cycle: env → timers → utils → env"),
        "{}",
        check.stderr_str()
    );
    assert!(
        check
            .stdout_str()
            .starts_with("no pipeline.toml: discovered 5 npm packages: ok — 5 services"),
        "{}",
        check.stdout_str()
    );
    // The scripts' implied order leaves the loop out, so the cycle is no obstacle.
    repo.run(&["run", "build", "--all"]).success();

    // `^build` must build each dependency first, which a loop cannot give: exit 2, naming the
    // services, the need and one dependency to drop.
    repo.config("[workspace]\ndiscover = \"auto\"\n[targets.build]\nneeds = [\"^build\"]\n");
    repo.commit("order builds");
    for args in [&["run", "build", "--all"][..], &["check"]] {
        let out = repo.run(args);
        out.expect_code(2);
        let err = out.stderr_str();
        assert!(err.contains("task cycle: "), "{err}");
        assert!(
            err.contains("depend on one another in a loop, so `^build` cannot run each one's dependencies first"),
            "{err}"
        );
        assert!(
            err.contains("drop `^build` from `[targets.build] needs`"),
            "{err}"
        );
        assert!(
            err.contains("or remove the dependency of `") && err.contains("/package.json"),
            "{err}"
        );
    }
}

#[test]
fn a_config_without_services_says_which_line_turns_discovery_on() {
    let repo = npm_repo();
    repo.config("[workspace]\nunowned = \"all\"\n");
    repo.write("packages/a/index.js", "module.exports = 3;\n");
    repo.commit("config without services");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    let err = out.stderr_str();
    assert!(
        err.contains("pipeline.toml declares no services, but the workspace holds 3 npm packages: add `discover = \"auto\"` under `[workspace]`"),
        "{err}"
    );
    // Following the hint gives the services.
    repo.config("[workspace]\nunowned = \"all\"\ndiscover = \"auto\"\n");
    repo.commit("discover");
    let json = repo.affected_json(&["--base", "HEAD~2"]);
    assert_eq!(json.affected_names(), ["@x/a", "@x/b", "web"]);
    let out = repo.run(&["check"]);
    out.success();
    assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
    assert!(
        out.stdout_str().starts_with(
            "pipeline.toml: ok — 3 services (3 discovered: 3 npm packages), 2 dependency edges"
        ),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn check_without_a_config_says_where_the_services_came_from() {
    let repo = npm_repo();
    let out = repo.run(&["check"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "no pipeline.toml: discovered 3 npm packages: ok — 3 services, 2 dependency edges, 0 targets, 0 tasks\n"
    );
}

/// A fake `npm` on PATH that logs when each package's script starts and ends.
fn logging_npm(repo: &TestRepo) -> (String, std::path::PathBuf) {
    repo.write(
        "bin/npm",
        "#!/bin/sh\necho \"start ${PWD##*/}\" >> \"$LOG\"\nsleep 0.3\necho \"end ${PWD##*/}\" >> \"$LOG\"\n",
    )
    .chmod_exec("bin/npm", true);
    let path = format!(
        "{}:{}",
        repo.abs("bin").display(),
        std::env::var("PATH").unwrap()
    );
    (path, repo.abs("log.txt"))
}

/// With no pipeline.toml, a package's script runs after the same script of its workspace
/// dependencies, as `pnpm -r run build` and `yarn workspaces foreach --topological` order them.
#[test]
fn zero_config_scripts_run_after_those_of_their_dependencies() {
    let repo = npm_repo();
    let build = |name: &str, deps: &str| {
        format!("{{\"name\": \"{name}\", \"version\": \"1.2.0\", \"scripts\": {{\"build\": \"x\"}}, \"dependencies\": {{{deps}}}}}\n")
    };
    repo.write("packages/a/package.json", build("@x/a", ""))
        .write(
            "packages/b/package.json",
            build("@x/b", "\"@x/a\": \"^1.0.0\""),
        )
        .write("apps/web/package.json", build("web", "\"@x/b\": \"*\""));
    let (path, log) = logging_npm(&repo);
    repo.commit("scripts");
    let out = repo
        .command(&["run", "build", "--all", "-j", "3"])
        .env("PATH", path)
        .env("LOG", &log)
        .output()
        .unwrap();
    out.success();
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "start a",
            "end a",
            "start b",
            "end b",
            "start web",
            "end web"
        ],
        "dependencies first"
    );
}

/// In a loop of packages the implied order is dropped for the loop, with a warning, as pnpm
/// does; the rest of the graph is still ordered.
#[test]
fn zero_config_scripts_in_a_package_cycle_run_with_a_warning() {
    let repo = cycle_repo();
    let (path, log) = logging_npm(&repo);
    repo.commit("fake npm");
    let out = repo
        .command(&["run", "build", "--all", "-j", "4"])
        .env("PATH", path)
        .env("LOG", &log)
        .output()
        .unwrap();
    out.success();
    assert!(
        out.stderr_str().contains(
            "warning: env, timers, utils depend on one another in a loop: their `build` scripts are not ordered among themselves"
        ),
        "{}",
        out.stderr_str()
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let at = |line: &str| {
        text.lines()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line} in {text}"))
    };
    for dep in ["env", "timers", "utils"] {
        assert!(at(&format!("end {dep}")) < at("start app"), "{text}");
    }
}

/// A discovered script with no declared `outputs` that writes files is not cached (a hit could
/// not restore them) and says so, naming the folder and the glob to declare, in the warning and
/// the summary; one that writes nothing is cached as before, and its hit says it replayed the
/// log only; declaring `outputs` caches and restores them.
#[test]
fn a_script_that_writes_undeclared_files_is_not_cached() {
    let repo = npm_repo();
    repo.write(
        "packages/a/package.json",
        "{\"name\": \"@x/a\", \"version\": \"1.2.0\", \"scripts\": {\"build\": \"x\", \"lint\": \"x\"}}\n",
    )
    .write(
        "bin/npm",
        "#!/bin/sh\nif [ \"$2\" = build ]; then mkdir -p dist && echo built > dist/index.js; fi\necho \"$2\" >> \"$LOG\"\n",
    )
    .chmod_exec("bin/npm", true)
    .write(".gitignore", "dist/\nlog.txt\n");
    repo.commit("scripts");
    let path = format!(
        "{}:{}",
        repo.abs("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let log = repo.abs("log.txt");
    let run = |args: &[&str]| {
        repo.command(args)
            .env("PATH", &path)
            .env("LOG", &log)
            .output()
            .unwrap()
    };
    for round in 0..2 {
        // One at a time: a task running beside another of the same service sees its files too.
        let mut cmd = repo.command(&["run", "build", "lint", "--service", "@x/a", "-j", "1"]);
        cmd.env("PATH", &path).env("LOG", &log);
        let (out, summary) = common::with_summary(cmd);
        out.success();
        assert!(
            out.stderr_str().contains(
                "warning: @x/a:build wrote dist/ (1 file) but declares no outputs; not cached, since a cache hit would not restore them: add outputs = [\"dist/**\"] to [targets.build] in pipeline.toml\n"
            ),
            "round {round}: {}",
            out.stderr_str()
        );
        assert_eq!(
            summary.task("@x/a:build")["undeclared_outputs"],
            serde_json::json!({
                "files": 1,
                "folders": [{"path": "dist/", "files": 1, "glob": "dist/**"}],
                "first": ["dist/index.js"],
                "complete": true,
                "cached": false
            })
        );
        if round == 1 {
            let lint = summary.task("@x/a:lint");
            assert_eq!(lint["status"], "cached-local");
            assert_eq!(lint["restored"], "log_only");
            assert!(
                out.stdout_str()
                    .contains("@x/a:lint cached, replaying log only (no outputs declared; saved "),
                "{}",
                out.stdout_str()
            );
        }
    }
    // build ran twice, lint once (its second run came from the cache).
    let ran = std::fs::read_to_string(&log).unwrap();
    assert_eq!(ran.matches("build").count(), 2, "{ran}");
    assert_eq!(ran.matches("lint").count(), 1, "{ran}");

    // Declared, the output is cached and a hit restores it.
    repo.config("[workspace]\ndiscover = \"auto\"\n[targets.build]\noutputs = [\"dist/**\"]\n");
    repo.commit("declare outputs");
    run(&["run", "build", "--service", "@x/a"]).success();
    repo.remove("packages/a/dist");
    let out = run(&["run", "build", "--service", "@x/a"]);
    out.success();
    assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
    assert_eq!(repo.read("packages/a/dist/index.js"), "built\n");
    assert_eq!(
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("build")
            .count(),
        3
    );
}

/// A workspace from package.json texts: `(folder, name, scripts, dependencies)`.
fn workspace(packages: &[(&str, &str, &[&str], &[&str])]) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    );
    for (folder, name, scripts, deps) in packages {
        let scripts: Vec<String> = scripts.iter().map(|s| format!("\"{s}\": \"x\"")).collect();
        let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\": \"*\"")).collect();
        repo.write(
            format!("packages/{folder}/package.json"),
            format!(
                "{{\"name\": \"{name}\", \"version\": \"1.0.0\", \"scripts\": {{{}}}, \"dependencies\": {{{}}}}}\n",
                scripts.join(", "),
                deps.join(", ")
            ),
        )
        .write(format!("packages/{folder}/index.js"), "1;\n");
    }
    repo
}

/// The implied order only orders what was selected: `run dev --service app` starts app's dev
/// server alone, as `pnpm --filter app run dev` does, never a dependency's.
#[test]
fn the_implied_script_order_pulls_in_no_task() {
    let repo = workspace(&[
        ("utils", "utils", &["dev", "test"], &[]),
        ("app", "app", &["dev", "test"], &["utils"]),
    ]);
    let (path, log) = logging_npm(&repo);
    repo.commit("init");
    let out = repo
        .command(&["run", "dev", "test", "--service", "app", "-j", "1"])
        .env("PATH", path)
        .env("LOG", &log)
        .output()
        .unwrap();
    out.success();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "start app\nend app\nstart app\nend app\n"
    );
}

/// A script whose dependencies have no such script still reruns when their files change: their
/// files are inputs of its hash, since no task of theirs is in its needs.
#[test]
fn a_dependency_without_the_script_still_invalidates_the_cache() {
    let repo = workspace(&[
        ("utils", "utils", &[], &[]),
        ("app", "app", &["test"], &["utils"]),
    ]);
    let (path, log) = logging_npm(&repo);
    repo.commit("init");
    let run = || {
        repo.command(&["run", "test", "--all"])
            .env("PATH", &path)
            .env("LOG", &log)
            .output()
            .unwrap()
    };
    run().success();
    run().success();
    let ran = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("start app")
            .count()
    };
    assert_eq!(ran(), 1, "the second run is a cache hit");
    repo.write("packages/utils/index.js", "2;\n");
    repo.commit("change utils");
    run().success();
    assert_eq!(ran(), 2, "a change in a dependency reruns the test");
    // Uncommitted too: the dependency's folder is scanned.
    repo.write("packages/utils/index.js", "3;\n");
    run().success();
    assert_eq!(ran(), 3);
}

/// A loop of packages is ordered as one unit: its members wait for what any of them depends on
/// outside it, and a dependent of any member waits for all of them.
#[test]
fn a_package_loop_is_ordered_as_one_unit() {
    let repo = workspace(&[
        ("d", "d", &["build"], &[]),
        ("a", "a", &["build"], &["b"]),
        ("b", "b", &["build"], &["d", "a"]),
        ("c", "c", &["build"], &["a"]),
    ]);
    let (path, log) = logging_npm(&repo);
    repo.commit("init");
    let out = repo
        .command(&["run", "build", "--all", "-j", "4"])
        .env("PATH", path)
        .env("LOG", &log)
        .output()
        .unwrap();
    out.success();
    let text = std::fs::read_to_string(&log).unwrap();
    let at = |line: &str| {
        text.lines()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line} in {text}"))
    };
    for member in ["a", "b"] {
        assert!(at("end d") < at(&format!("start {member}")), "{text}");
        assert!(at(&format!("end {member}")) < at("start c"), "{text}");
    }
    // Dry run: the plan says so too, whatever the timing.
    let plan = repo.run(&["run", "build", "--all", "--dry-run=json"]);
    plan.success();
    let json = plan.json();
    let needs = |label: &str| -> Vec<String> {
        let mut n: Vec<String> = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["task"] == label)
            .unwrap_or_else(|| panic!("{label} in {json}"))["needs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(needs("a:build"), ["d:build"]);
    assert_eq!(needs("b:build"), ["d:build"]);
    assert_eq!(needs("c:build"), ["a:build", "b:build"]);
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

// A workspace pattern written with JSON (or YAML) escapes had no line: its error is found where
// the pattern is written, however it is spelled.
#[test]
fn a_pattern_written_with_escapes_is_named_with_its_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "package.json",
            "{\n  \"private\": true,\n  \"workspaces\": [\n    \"packages/*\",\n    \"..\\/outside/*\"\n  ]\n}\n",
            "error: package.json:5: workspace pattern `../outside/*` leaves the repository",
        ),
        (
            "package.json",
            "{\n  \"workspaces\": [\"packages/*\",\n    \"\\u0070kgs/[*\"]\n}\n",
            "error: package.json:3: invalid workspace pattern `pkgs/[*`",
        ),
        (
            "pnpm-workspace.yaml",
            "# the packages\npackages:\n  - 'packages/*'\n  - \"\\x2Fabs/*\"\n",
            "error: pnpm-workspace.yaml:4: workspace pattern `/abs/*` leaves the repository",
        ),
        (
            // A quoted scalar folded over two lines is written nowhere as it reads: the error
            // names the line of the list that holds it.
            "pnpm-workspace.yaml",
            "# the packages\npackages:\n  - \"packa[ges/*\n    more\"\n",
            "error: pnpm-workspace.yaml:2: invalid workspace pattern `packa[ges/* more`",
        ),
    ];
    for (file, text, expected) in cases {
        let repo = TestRepo::new();
        repo.write("packages/a/package.json", "{\"name\": \"a\"}\n")
            .write("package.json", "{\"name\": \"root\", \"private\": true}\n")
            .write(file, text);
        repo.commit("init");
        let out = repo.run(&["affected"]);
        out.expect_code(2);
        assert!(
            out.stderr_str().contains(expected),
            "{file}: expected {expected:?} in\n{}",
            out.stderr_str()
        );
    }
}
