//! Turborepo repositories through the real binary: turbo.json (and package-level turbo.json)
//! read as the targets when pipeline.toml writes none, every key's effect on plans and hashes,
//! the warning for keys with no equivalent, the errors with their positions, and `init`
//! converting the file into a pipeline.toml that behaves the same.

use crate::common;

use std::collections::BTreeMap;

use common::{OutputExt, TestRepo};

const TURBO: &str = r#"{
  // Comments and trailing commas are JSONC.
  "$schema": "https://turborepo.com/schema.json",
  "ui": "stream",
  "globalDependencies": ["tsconfig.base.json"],
  "globalEnv": ["REGION_*", "!REGION_SECRET"],
  "tasks": {
    "build": {
      "dependsOn": ["^build"],
      "outputs": ["dist/**", "!dist/tmp/**"],
      "env": ["API_URL"],
      "outputLogs": "new-only",
    },
    "test": { "dependsOn": ["build"], "inputs": ["$TURBO_DEFAULT$", "!README.md"] },
    "web#deploy": { "dependsOn": ["build", "lib#build"], "cache": false },
    "//#lint": {},
    "dev": { "persistent": true, "cache": false },
  },
}
"#;

fn package(name: &str, deps: &[&str], scripts: &[(&str, &str)]) -> String {
    let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\": \"*\"")).collect();
    let scripts: Vec<String> = scripts
        .iter()
        .map(|(k, v)| format!("\"{k}\": \"{v}\""))
        .collect();
    format!(
        "{{\"name\": \"{name}\", \"version\": \"1.0.0\", \"dependencies\": {{{}}}, \"scripts\": {{{}}}}}\n",
        deps.join(", "),
        scripts.join(", ")
    )
}

/// An npm workspace with turbo.json: `web` needs `lib`; `docs` has no build script.
fn turbo_repo() -> TestRepo {
    let repo = TestRepo::new();
    let build = "mkdir -p dist && echo built > dist/out.txt";
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"], \"scripts\": {\"lint\": \"echo lint\"}}\n",
    )
    .write("turbo.json", TURBO)
    .write("tsconfig.base.json", "{}\n")
    .write(
        "packages/lib/package.json",
        package("lib", &[], &[("build", build), ("test", "echo test"), ("dev", "echo dev")]),
    )
    .write("packages/lib/README.md", "lib\n")
    .write("packages/lib/index.js", "1\n")
    .write(
        "packages/web/package.json",
        package(
            "web",
            &["lib"],
            &[("build", build), ("test", "echo test"), ("deploy", "echo deploy")],
        ),
    )
    .write("packages/docs/package.json", package("docs", &[], &[("test", "echo test")]))
    .write(".gitignore", "dist/\n");
    repo.commit("turbo workspace");
    repo
}

/// The dry-run plan: task label → the labels it needs.
fn plan(repo: &TestRepo, args: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--dry-run=json");
    let json = repo.run(&all).success().json();
    json["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let needs = t["needs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (t["task"].as_str().unwrap().to_string(), needs)
        })
        .collect()
}

fn needs(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    list.iter()
        .map(|(t, n)| (t.to_string(), n.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn turbo_json_supplies_the_tasks_and_their_order() {
    let repo = turbo_repo();
    let got = plan(&repo, &["build", "test", "deploy", "lint", "--all"]);
    assert_eq!(
        got,
        needs(&[
            ("//:lint", &[]),
            ("docs:test", &[]),
            ("lib:build", &[]),
            ("lib:test", &["lib:build"]),
            ("web:build", &["lib:build"]),
            ("web:deploy", &["lib:build", "web:build"]),
            ("web:test", &["web:build"]),
        ])
    );
    let out = repo.run(&["check"]);
    assert!(
        out.stderr_str()
            .contains("`ui` (turbo.json:4), `outputLogs` (turbo.json:12)"),
        "one warning names the ignored keys: {}",
        out.stderr_str()
    );
}

#[test]
fn a_turbo_task_without_depends_on_needs_nothing_and_hashes_only_its_package() {
    // turbo gives `web#lint` no dependencies and only web's inputs: the package managers'
    // implied order applies only when no turbo.json says the order.
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    )
    .write("turbo.json", "{\"tasks\": {\"lint\": {}}}\n")
    .write(
        "packages/lib/package.json",
        package("lib", &[], &[("lint", "echo lint")]),
    )
    .write("packages/lib/index.js", "1\n")
    .write(
        "packages/web/package.json",
        package("web", &["lib"], &[("lint", "echo lint")]),
    );
    repo.commit("init");
    assert_eq!(
        plan(&repo, &["lint", "--all"]),
        needs(&[("lib:lint", &[]), ("web:lint", &[])])
    );
    let before = repo.task_hashes(&["lint"]);
    repo.write("packages/lib/index.js", "2\n");
    repo.commit("lib changes");
    let after = repo.task_hashes(&["lint"]);
    assert_ne!(before["lib:lint"], after["lib:lint"]);
    assert_eq!(
        before["web:lint"], after["web:lint"],
        "lib's files are no input of web:lint"
    );
}

#[test]
fn turbo_outputs_are_restored_on_a_cache_hit() {
    let repo = turbo_repo();
    repo.run(&["run", "build", "--service", "lib"]).success();
    assert_eq!(repo.read("packages/lib/dist/out.txt"), "built\n");
    repo.remove("packages/lib/dist");
    let out = repo
        .run(&["run", "build", "--service", "lib"])
        .success()
        .stdout_str();
    assert!(out.contains("1 from cache"), "{out}");
    assert_eq!(repo.read("packages/lib/dist/out.txt"), "built\n");
}

#[test]
fn turbo_inputs_env_and_global_settings_reach_the_hashes() {
    let repo = turbo_repo();
    let base = repo.task_hashes(&["build", "test"]);
    // `!README.md` takes the readme out of test's inputs, not build's.
    repo.write("packages/lib/README.md", "changed\n");
    let readme = repo.task_hashes(&["build", "test"]);
    assert_ne!(base["lib:build"], readme["lib:build"]);
    assert_eq!(base["docs:test"], readme["docs:test"]);
    assert_ne!(
        base["lib:test"], readme["lib:test"],
        "it needs lib:build, whose hash changed"
    );
    repo.git(&["checkout", "packages/lib/README.md"]);

    // A globalDependencies file changes every task.
    repo.write("tsconfig.base.json", "{\"x\": 1}\n");
    let global = repo.task_hashes(&["build", "test"]);
    assert!(
        base.iter().all(|(k, v)| global[k] != *v),
        "{base:?} {global:?}"
    );
    repo.git(&["checkout", "tsconfig.base.json"]);

    let with_env = |vars: &[(&str, &str)]| {
        let mut cmd = repo.command(&["hash", "build", "test", "--all", "--json"]);
        cmd.envs(vars.iter().copied());
        let out = cmd.output().unwrap();
        out.success().json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["task"].as_str().unwrap().to_string(),
                    t["hash"].as_str().unwrap().to_string(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    let plain = with_env(&[]);
    assert_eq!(plain, base);
    // `env` names a variable of build; `globalEnv` a wildcard less one name.
    let api = with_env(&[("API_URL", "x")]);
    assert_ne!(api["lib:build"], plain["lib:build"]);
    assert_eq!(api["docs:test"], plain["docs:test"]);
    let region = with_env(&[("REGION_EU", "1")]);
    assert!(plain.iter().all(|(k, v)| region[k] != *v));
    let secret = with_env(&[("REGION_SECRET", "1")]);
    assert_eq!(secret, plain, "`!REGION_SECRET` is left out");
}

#[test]
fn package_level_turbo_json_refines_the_root_task() {
    let repo = turbo_repo();
    repo.write(
        "packages/web/turbo.json",
        r#"{ "extends": ["//"], "tasks": { "build": { "outputs": ["out/**"] } } }"#,
    );
    repo.commit("web's own turbo.json");
    let json = repo
        .run(&["run", "build", "--all", "--dry-run=json"])
        .success()
        .json();
    let web = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "web:build")
        .cloned()
        .unwrap();
    assert_eq!(
        web["needs"],
        serde_json::json!(["lib:build"]),
        "dependsOn is inherited"
    );
    let hashes_before = repo.task_hashes(&["build"]);
    repo.write("packages/web/out/x.txt", "output\n");
    assert_eq!(
        repo.task_hashes(&["build"]),
        hashes_before,
        "out/ is web's output, no input"
    );

    repo.write("packages/web/turbo.json", r#"{ "tasks": { "build": {} } }"#);
    let out = repo.run(&["affected", "--base", "HEAD"]);
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("packages/web/turbo.json has no `extends`"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn bad_turbo_json_is_an_error_with_its_position() {
    let repo = turbo_repo();
    let cases: &[(&str, &str, &str)] = &[
        (
            r#""test": { "dependsOn": ["build"]"#,
            r#""test": { "dependsOn": ["biuld"]"#,
            "turbo.json:14:29",
        ),
        (r#""build": {"#, r#""build" {"#, "turbo.json:8:13"),
        (r#""web#deploy""#, r#""wbe#deploy""#, "turbo.json:15:5"),
        (
            r#""test": { "dependsOn": ["build"]"#,
            r#""test": { "dependsOn": ["dev"]"#,
            "turbo.json:14:29",
        ),
        (
            r#""dependsOn": ["^build"]"#,
            r#""dependsOn": ["^build", "test"]"#,
            "turbo.json:9:",
        ),
    ];
    for (from, to, at) in cases {
        repo.write("turbo.json", TURBO.replacen(from, to, 1));
        let out = repo.run(&["run", "test", "--all", "--dry-run"]);
        out.expect_code(2);
        let err = out.stderr_str();
        assert!(err.contains(at), "{to}: {err}");
    }
    repo.write(
        "turbo.json",
        TURBO.replacen(
            r#""test": { "dependsOn": ["build"]"#,
            r#""test": { "dependsOn": ["biuld"]"#,
            1,
        ),
    );
    let err = repo.run(&["check"]).stderr_str();
    assert!(err.contains("did you mean `build`?"), "{err}");
}

#[test]
fn a_pipeline_toml_with_targets_ignores_turbo_json() {
    let repo = turbo_repo();
    repo.config("[workspace]\ndiscover = \"auto\"\n[targets.build]\ncommand = \"true\"\n");
    let got = plan(&repo, &["build", "--all"]);
    assert_eq!(
        got.keys().count(),
        3,
        "every package gets the written build: {got:?}"
    );
    assert!(got.values().all(|n| n.is_empty()), "no dependsOn: {got:?}");
}

#[test]
fn turbo_1x_pipeline_key_and_env_dependencies() {
    let repo = turbo_repo();
    repo.write(
        "turbo.json",
        r#"{ "pipeline": { "build": { "dependsOn": ["^build", "$API_URL"], "outputs": ["dist/**"] } } }"#,
    );
    let got = plan(&repo, &["build", "--all"]);
    assert_eq!(got["web:build"], vec!["lib:build".to_string()]);
    let mut cmd = repo.command(&["hash", "build", "--all", "--json"]);
    cmd.env("API_URL", "y");
    let with = cmd.output().unwrap().success().json();
    let without = repo
        .run(&["hash", "build", "--all", "--json"])
        .success()
        .json();
    assert_ne!(with["tasks"][0]["hash"], without["tasks"][0]["hash"]);
}

#[test]
fn init_converts_turbo_json_into_a_pipeline_toml_that_plans_and_hashes_the_same() {
    let repo = turbo_repo();
    repo.write(
        "packages/web/turbo.json",
        r#"{ "extends": ["//"], "tasks": { "build": { "outputs": ["out/**"] } } }"#,
    );
    repo.commit("web's own turbo.json");
    let targets = ["build", "test", "deploy", "lint"];
    let mut args: Vec<&str> = targets.to_vec();
    args.push("--all");
    let from_turbo = plan(&repo, &args);
    let hashes_turbo = repo.task_hashes(&targets);
    repo.run(&["init"]).success();
    let written = repo.read("pipeline.toml");
    assert!(
        written.contains("[services.web.targets.build]"),
        "{written}"
    );
    assert!(
        written.contains("global_env = [\"!REGION_SECRET\", \"REGION_*\"]"),
        "{written}"
    );
    // Both files committed, so that each setting sees the same tree.
    repo.commit("pipeline.toml from init");
    let from_toml = plan(&repo, &args);
    assert_eq!(from_turbo, from_toml);
    let hashes_toml = repo.task_hashes(&targets);
    for (task, hash) in &hashes_turbo {
        // The root package owns the files at the root, pipeline.toml among them now.
        if !task.starts_with("//:") {
            assert_eq!(&hashes_toml[task], hash, "{task}");
        }
    }
    let stderr = repo.run(&["check"]).stderr_str();
    assert!(
        !stderr.contains("turbo.json keys"),
        "turbo.json is not read: {stderr}"
    );
}

#[test]
fn a_dependency_without_the_script_is_an_input_of_the_tasks_that_pass_through_it() {
    let repo = turbo_repo();
    // `config` has no build script: web's `^build` passes through it, as turbo's placeholder
    // task does, and web builds from its files.
    repo.write("packages/config/package.json", package("config", &[], &[]))
        .write("packages/config/base.json", "{}\n")
        .write(
            "packages/web/package.json",
            package(
                "web",
                &["lib", "config"],
                &[
                    ("build", "true"),
                    ("test", "echo test"),
                    ("deploy", "echo deploy"),
                ],
            ),
        );
    repo.commit("a config package");
    let before = repo.task_hashes(&["build"]);
    repo.write("packages/config/base.json", "{\"strict\": true}\n");
    let after = repo.task_hashes(&["build"]);
    assert_ne!(before["web:build"], after["web:build"]);
    assert_eq!(before["lib:build"], after["lib:build"]);
}
