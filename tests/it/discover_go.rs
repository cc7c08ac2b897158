//! Go discovery end to end: a single module with no pipeline.toml (services are the `package main`
//! directories, library packages are units of kind `package`, ownership is by package closure,
//! the reason names the import chain), `members` naming the services, go.work and multi-module
//! workspaces with their edges and names that never collide, a root module with nested modules,
//! and the errors a broken go.mod or go.work gives.

use crate::common;

use common::{names, plan_commands, AffectedJson, OutputExt, TestRepo};

const MODULE: &str =
    "module example.com/shop\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n";

/// The microservices layout: one module, two binaries, shared packages no service owns.
///
/// user → pkg/auth → pkg/log; user's own test imports pkg/testutil; order → pkg/log;
/// pkg/auth's test imports pkg/mock (which no build of a service reads).
fn shop() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("go.mod", MODULE)
        .write("go.sum", "github.com/google/uuid v1.6.0 h1:x\n")
        .write(
            "services/user/main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/shop/pkg/auth\"\n\t\"github.com/google/uuid\"\n)\n\nfunc main() { fmt.Println(auth.Check(), uuid.New()) }\n",
        )
        .write(
            "services/user/main_test.go",
            "package main\n\nimport (\n\t\"testing\"\n\n\t\"example.com/shop/pkg/testutil\"\n)\n\nfunc TestMain(t *testing.T) { testutil.Run(t) }\n",
        )
        .write(
            "services/order/main.go",
            "// Command order serves orders.\npackage main\n\nimport log \"example.com/shop/pkg/log\"\n\nfunc main() { log.Info() }\n",
        )
        .write(
            "pkg/auth/auth.go",
            "package auth\n\nimport \"example.com/shop/pkg/log\"\n\nfunc Check() bool { log.Info(); return true }\n",
        )
        .write(
            "pkg/auth/auth_test.go",
            "package auth_test\n\nimport \"example.com/shop/pkg/mock\"\n\nvar _ = mock.X\n",
        )
        .write("pkg/log/log.go", "package log\n\nfunc Info() {}\n")
        .write("pkg/mock/mock.go", "package mock\n\nvar X = 1\n")
        .write("pkg/testutil/testutil.go", "package testutil\n\nimport \"testing\"\n\nfunc Run(t *testing.T) {}\n");
    repo.commit("init");
    repo
}

/// Changes `path` (appending a line), commits, and returns `affected --base HEAD~1` as JSON.
fn change(repo: &TestRepo, path: &str) -> serde_json::Value {
    let text = repo.read(path);
    repo.write(path, format!("{text}// changed\n"));
    repo.commit(&format!("change {path}"));
    repo.affected_json(&["--base", "HEAD~1"])
}

fn all_services(json: &serde_json::Value) -> Vec<String> {
    let mut all = json.affected_names();
    all.extend(json.unaffected_names());
    all.sort();
    all
}

/// The affected units of one kind, from `affected --format json`.
fn affected_of_kind(json: &serde_json::Value, kind: &str) -> Vec<String> {
    json["affected"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn zero_config_services_are_the_package_main_directories() {
    let repo = shop();
    let json = change(&repo, "pkg/log/log.go");
    // Shared packages are no services: only the binaries are.
    assert_eq!(
        affected_of_kind(&json, "service"),
        names(&["order", "user"])
    );
    let services = repo.affected_json(&["--base", "HEAD~1", "--kind", "service"]);
    assert_eq!(all_services(&services), names(&["order", "user"]));
    // Every library package is a unit of kind `package`, named as `go test` takes it.
    let packages = repo.affected_json(&["--base", "HEAD~1", "--kind", "package"]);
    assert_eq!(
        all_services(&packages),
        names(&["./pkg/auth", "./pkg/log", "./pkg/mock", "./pkg/testutil"])
    );
    // pkg/log, and pkg/auth that imports it.
    assert_eq!(
        packages.affected_names(),
        names(&["./pkg/auth", "./pkg/log"])
    );
}

#[test]
fn the_reason_names_the_import_chain() {
    let repo = shop();
    let json = change(&repo, "pkg/log/log.go");
    assert_eq!(
        json.reasons("user"),
        [
            serde_json::json!({"kind": "package", "path": "pkg/log/log.go", "chain": ["user", "pkg/auth", "pkg/log"]})
        ]
    );
    assert_eq!(
        json.reasons("order"),
        [
            serde_json::json!({"kind": "package", "path": "pkg/log/log.go", "chain": ["order", "pkg/log"]})
        ]
    );
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    assert!(
        out.stdout_str().contains("user ← pkg/auth ← pkg/log"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_shared_package_change_affects_exactly_its_importers() {
    let repo = shop();
    let json = change(&repo, "pkg/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["./pkg/auth", "user"]));
    assert_eq!(json.reason_kinds("./pkg/auth"), ["file"]);
    assert_eq!(affected_of_kind(&json, "service"), names(&["user"]));
}

#[test]
fn a_test_file_affects_only_its_package_and_a_test_import_its_importer() {
    let repo = shop();
    let json = change(&repo, "pkg/auth/auth_test.go");
    assert_eq!(json.affected_names(), names(&["./pkg/auth"]), "{json:#}");
    // pkg/mock is imported only by pkg/auth's test: that package is affected, no service is.
    let json = change(&repo, "pkg/mock/mock.go");
    assert_eq!(json.affected_names(), names(&["./pkg/auth", "./pkg/mock"]));
    assert_eq!(
        json.reasons("./pkg/auth"),
        [
            serde_json::json!({"kind": "package", "path": "pkg/mock/mock.go", "chain": ["./pkg/auth", "pkg/mock"]})
        ]
    );
}

#[test]
fn testdata_and_embedded_folders_belong_to_their_package() {
    let repo = shop();
    repo.write("pkg/auth/testdata/case.json", "{}\n")
        .write("pkg/auth/testdata/deep/more.txt", "x\n")
        .write("pkg/log/static/index.html", "<html>\n")
        .write("pkg/log/static/css/site.css", "body {}\n");
    repo.commit("data");
    // testdata is read by the package's own tests only.
    let json = change(&repo, "pkg/auth/testdata/deep/more.txt");
    assert_eq!(json.affected_names(), names(&["./pkg/auth"]), "{json:#}");
    assert!(json["unowned_files"].as_array().unwrap().is_empty());
    // An embedded folder is part of the package's build: its importers are affected too.
    let json = change(&repo, "pkg/log/static/css/site.css");
    assert_eq!(
        json.affected_names(),
        names(&["./pkg/auth", "./pkg/log", "order", "user"]),
        "{json:#}"
    );
    assert_eq!(
        json.reasons("order"),
        [
            serde_json::json!({"kind": "package", "path": "pkg/log/static/css/site.css", "chain": ["order", "pkg/log"]})
        ]
    );
}

#[test]
fn an_own_test_file_and_its_imports_affect_the_service() {
    let repo = shop();
    let json = change(&repo, "services/user/main_test.go");
    assert_eq!(json.affected_names(), names(&["user"]));
    assert_eq!(json.reason_kinds("user"), ["file"]);
    let json = change(&repo, "pkg/testutil/testutil.go");
    assert_eq!(json.affected_names(), names(&["./pkg/testutil", "user"]));
    assert_eq!(
        json.reasons("user")[0]["chain"],
        serde_json::json!(["user", "pkg/testutil"])
    );
}

#[test]
fn an_external_import_is_not_a_local_package() {
    let repo = shop();
    // github.com/google/uuid is external: a local folder of that name is not the package.
    repo.write("github.com/google/uuid/uuid.go", "package uuid\n");
    repo.commit("a look-alike folder");
    let json = change(&repo, "github.com/google/uuid/uuid.go");
    assert_eq!(
        json.affected_names(),
        names(&["./github.com/google/uuid"]),
        "{json:#}"
    );
}

#[test]
fn vendor_testdata_and_hidden_folders_hold_no_binary() {
    let repo = shop();
    repo.write("vendor/x/main.go", "package main\n")
        .write("pkg/log/testdata/main.go", "package main\n")
        .write("_old/main.go", "package main\n")
        .write(".hidden/main.go", "package main\n");
    repo.commit("skipped folders");
    let json = repo.affected_json(&["--base", "HEAD~1", "--kind", "service"]);
    assert_eq!(all_services(&json), names(&["order", "user"]));
}

#[test]
fn closure_files_are_task_inputs() {
    let repo = shop();
    repo.write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"go\"]\n\n[targets.build]\ncommand = \"true\"\n",
    );
    repo.commit("pipeline");
    let before = repo.task_hashes(&["build"]);
    assert!(before.contains_key("user:build"), "{before:?}");
    repo.write("pkg/log/log.go", "package log\n\nfunc Info() { _ = 1 }\n");
    let after = repo.task_hashes(&["build"]);
    assert_ne!(before["user:build"], after["user:build"]);
    assert_ne!(before["order:build"], after["order:build"]);
    // A dependency's test is no input of a service; the mock it imports neither. Both are
    // inputs of the package whose test it is.
    repo.git(&["checkout", "--", "."]);
    repo.write("pkg/auth/auth_test.go", "package auth_test\n// edited\n");
    repo.write("pkg/mock/mock.go", "package mock\n// edited\n");
    let after = repo.task_hashes(&["build"]);
    for task in ["user:build", "order:build", "./pkg/log:build"] {
        assert_eq!(before[task], after[task], "{task}");
    }
    assert_ne!(before["./pkg/auth:build"], after["./pkg/auth:build"]);
}

#[test]
fn members_name_the_services_and_discovery_gives_their_closures() {
    let repo = shop();
    repo.write(
        "pipeline.toml",
        "[workspace]\nmembers = [\"services/*\"]\ndiscover = [\"go\"]\n",
    )
    .write("services/user/internal/h/h.go", "package h\n")
    .write(
        "services/user/cmd.go",
        "package main\n\nimport _ \"example.com/shop/services/user/internal/h\"\n",
    );
    repo.commit("members");
    let json = change(&repo, "pkg/log/log.go");
    assert_eq!(json.affected_names(), names(&["order", "user"]));
    let json = change(&repo, "services/user/internal/h/h.go");
    assert_eq!(json.affected_names(), names(&["user"]));
}

#[test]
fn two_binaries_with_one_folder_name_get_longer_names() {
    let repo = shop();
    repo.write("services/a/cmd/server/main.go", "package main\n")
        .write("services/b/cmd/server/main.go", "package main\n")
        .write("services/b/cmd/user/main.go", "package main\n");
    repo.commit("two servers");
    let json = repo.affected_json(&["--base", "HEAD~1", "--kind", "service"]);
    assert_eq!(
        all_services(&json),
        names(&[
            "a/cmd/server",
            "b/cmd/server",
            "cmd/user",
            "order",
            "services/user"
        ])
    );
}

#[test]
fn a_bad_go_mod_is_an_error_with_its_line() {
    let repo = shop();
    repo.write(
        "go.mod",
        "module example.com/shop\n\nrequire (\n\tgithub.com/google/uuid\n)\n",
    );
    repo.commit("broken go.mod");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("go.mod:4"),
        "{}",
        out.stderr_str()
    );

    repo.write(
        "go.mod",
        "module example.com/shop\n\nreplace example.com/x => ../outside\n",
    );
    repo.commit("replace out of the repository");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("go.mod:3") && err.contains("leaves the repository"),
        "{err}"
    );
}

/// go.work: every used module is a service (the root `.` too); `require` of another member is an
/// edge, an external `require` is none.
fn workspace() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "go.work",
        "go 1.22\n\nuse (\n\t.\n\t./libs/auth\n\t./services/user\n\t./services/order\n)\n",
    )
    .write("go.mod", "module example.com/platform\n\ngo 1.22\n")
    .write("tool.go", "package platform\n")
    .write("libs/auth/go.mod", "module example.com/auth\n\ngo 1.22\n")
    .write("libs/auth/auth.go", "package auth\n")
    .write(
        "services/user/go.mod",
        "module example.com/user/v2\n\ngo 1.22\n\nrequire example.com/auth v0.0.0\n",
    )
    .write(
        "services/user/main.go",
        "package main\n\nimport _ \"example.com/auth\"\n\nfunc main() {}\n",
    )
    .write(
        "services/order/go.mod",
        "module example.com/order\n\ngo 1.22\n\nrequire github.com/acme/auth v1.0.0\n",
    )
    .write(
        "services/order/main.go",
        "package main\n\nimport _ \"github.com/acme/auth\"\n\nfunc main() {}\n",
    );
    repo.commit("init");
    repo
}

#[test]
fn go_work_modules_are_services_with_require_edges() {
    let repo = workspace();
    let json = change(&repo, "libs/auth/auth.go");
    // The root module (`use .`) works at package level: its root package is the unit `.`.
    assert_eq!(all_services(&json), names(&[".", "auth", "order", "user"]));
    assert_eq!(json.affected_names(), names(&["auth", "user"]));
    assert_eq!(json.reason_kinds("user"), ["dependency"]);
    let json = change(&repo, "tool.go");
    assert_eq!(json.affected_names(), names(&["."]));
}

#[test]
fn without_go_work_only_a_local_replace_links_a_module() {
    let repo = TestRepo::new();
    repo.write("libs/auth/go.mod", "module example.com/auth\n")
        .write("libs/auth/auth.go", "package auth\n")
        .write(
            "services/user/go.mod",
            "module example.com/user\n\nrequire example.com/auth v0.0.0\n\nreplace example.com/auth => ../../libs/auth\n",
        )
        .write("services/user/main.go", "package main\n")
        .write(
            "services/order/go.mod",
            "module example.com/order\n\nrequire example.com/auth v1.2.0\n",
        )
        .write("services/order/main.go", "package main\n");
    repo.commit("init");
    let json = change(&repo, "libs/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["auth", "user"]));
    assert_eq!(json.unaffected_names(), names(&["order"]));
}

#[test]
fn modules_sharing_a_last_element_get_unique_names_and_hints_still_work() {
    let repo = workspace();
    repo.write("services/order/go.mod", "module example.com/x/auth\n");
    repo.commit("collide");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        all_services(&json),
        names(&[".", "example.com/auth", "user", "x/auth"])
    );
    let json = change(&repo, "libs/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["example.com/auth", "user"]));
    assert_eq!(
        json.reasons("user"),
        [serde_json::json!({"kind": "dependency", "via": ["example.com/auth"]})]
    );

    // Naming a module in its own table refines it, whatever name it was given.
    repo.write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"go\"]\n\n[services.\"x/auth\"]\npaths = [\"docs/order/**\"]\n",
    )
    .write("docs/order/api.md", "api\n");
    repo.commit("configure one");
    let json = change(&repo, "docs/order/api.md");
    // (`.`, the root package, holds every folder below it that is no package of its own.)
    assert_eq!(json.affected_names(), names(&[".", "x/auth"]));

    // Naming the services by folder with `members` works as well; the edges come from go.work.
    repo.write(
        "pipeline.toml",
        "[workspace]\nmembers = [\"libs/*\", \"services/*\"]\ndiscover = [\"go\"]\n",
    );
    repo.commit("name them");
    let json = change(&repo, "libs/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["auth", "user"]));
    assert_eq!(all_services(&json), names(&["auth", "order", "user"]));
}

#[test]
fn bad_use_lines_are_errors() {
    let repo = workspace();
    repo.write("go.work", "go 1.22\n\nuse ./libs/auth\nuse ./missing\n");
    repo.commit("missing module");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("go.work:4") && out.stderr_str().contains("remove the line"),
        "{}",
        out.stderr_str()
    );
    // Following the hint works: without the line the workspace is read.
    repo.write("go.work", "go 1.22\n\nuse ./libs/auth\n");
    repo.commit("hint followed");
    let json = change(&repo, "libs/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["auth"]));

    repo.write("go.work", "use ../elsewhere\n");
    repo.commit("outside");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("go.work:1")
            && out.stderr_str().contains("leaves the repository"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn go_work_names_never_collide() {
    let repo = TestRepo::new();
    let mut work = String::from("go 1.22\n\nuse (\n");
    for dir in [
        "client/pkg",
        "pkg",
        "kv-store/nats",
        "pubsub/nats",
        "pubsub/kafka",
    ] {
        work.push_str(&format!("\t./{dir}\n"));
        let short = dir.rsplit('/').next().unwrap();
        repo.write(
            format!("{dir}/go.mod"),
            format!("module github.com/acme/c/{dir}\n\ngo 1.22\n"),
        )
        .write(
            format!("{dir}/{short}.go"),
            format!("package {}\n", short.replace('-', "")),
        );
    }
    work.push_str(")\n");
    repo.write("go.work", work);
    repo.commit("init");
    let json = change(&repo, "pubsub/nats/nats.go");
    assert_eq!(
        all_services(&json),
        names(&[
            "c/pkg",
            "client/pkg",
            "kafka",
            "kv-store/nats",
            "pubsub/nats"
        ])
    );
    assert_eq!(json.affected_names(), names(&["pubsub/nats"]));
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "pubsub/nats\n");
}

#[test]
fn a_go_name_yields_to_an_npm_package() {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"name": "root", "private": true, "workspaces": ["web/*"]}"#,
    )
    .write(
        "web/api/package.json",
        r#"{"name": "api", "version": "1.0.0"}"#,
    )
    .write("go.work", "go 1.22\n\nuse ./services/api\n")
    .write("services/api/go.mod", "module example.com/services/api\n")
    .write("services/api/main.go", "package main\n");
    repo.commit("init");
    let json = change(&repo, "services/api/main.go");
    assert_eq!(json.affected_names(), names(&["services/api"]));
    assert!(all_services(&json).contains(&"api".to_string()));
}

/// A root module with nested modules and no go.work (prometheus' layout): the root module at
/// package level, each nested module a service of its own.
fn mixed() -> TestRepo {
    let repo = shop();
    repo.write(
        "internal/tools/go.mod",
        "module example.com/shop/internal/tools\n\ngo 1.22\n\nrequire example.com/shop v0.1.0\n",
    )
    .write(
        "internal/tools/tools.go",
        "package tools\n\nimport _ \"example.com/shop/pkg/log\"\n",
    )
    .write(
        "web/ui/tools/go.mod",
        "module example.com/shop/web/ui/tools\n\ngo 1.22\n",
    )
    .write("web/ui/tools/main.go", "package main\n\nfunc main() {}\n")
    .write("web/ui/tools/gen/gen.go", "package gen\n");
    repo.commit("nested modules");
    repo
}

#[test]
fn nested_modules_are_services_of_their_own() {
    let repo = mixed();
    let json = change(&repo, "web/ui/tools/gen/gen.go");
    assert_eq!(json.affected_names(), names(&["ui/tools"]), "{json:#}");
    assert!(json["unowned_files"].as_array().unwrap().is_empty());
    let json = repo.affected_json(&["--base", "HEAD~1", "--kind", "service"]);
    assert_eq!(
        all_services(&json),
        names(&["internal/tools", "order", "ui/tools", "user"])
    );
    // The nested module requires the root module by version: Go downloads it, so a change to
    // the root module's package it imports does not reach it.
    let json = change(&repo, "pkg/log/log.go");
    assert!(!json
        .affected_names()
        .contains(&"internal/tools".to_string()));
}

#[test]
fn a_nested_module_that_replaces_the_root_module_imports_its_packages() {
    let repo = mixed();
    repo.write(
        "internal/tools/go.mod",
        "module example.com/shop/internal/tools\n\ngo 1.22\n\nrequire example.com/shop v0.1.0\n\nreplace example.com/shop => ../..\n",
    );
    repo.commit("build against the root module");
    let json = change(&repo, "pkg/log/log.go");
    assert!(json
        .affected_names()
        .contains(&"internal/tools".to_string()));
    assert_eq!(
        json.reasons("internal/tools"),
        [
            serde_json::json!({"kind": "package", "path": "pkg/log/log.go", "chain": ["internal/tools", "pkg/log"]})
        ]
    );
    let json = change(&repo, "pkg/auth/auth.go");
    assert!(!json
        .affected_names()
        .contains(&"internal/tools".to_string()));
}

#[test]
fn the_root_module_reaches_a_nested_module_it_replaces_or_shares_a_go_work_with() {
    let repo = mixed();
    repo.write(
        "go.mod",
        format!("{MODULE}\nrequire example.com/shop/web/ui/tools v0.0.0\n\nreplace example.com/shop/web/ui/tools => ./web/ui/tools\n"),
    )
    .write(
        "services/order/gen.go",
        "package main\n\nimport _ \"example.com/shop/web/ui/tools/gen\"\n",
    );
    repo.commit("order uses the generator");
    let json = change(&repo, "web/ui/tools/gen/gen.go");
    assert_eq!(
        json.affected_names(),
        names(&["order", "ui/tools"]),
        "{json:#}"
    );

    // The same through a go.work: the root module still works at package level.
    repo.write("go.mod", MODULE).write(
        "go.work",
        "go 1.22\n\nuse (\n\t.\n\t./internal/tools\n\t./web/ui/tools\n)\n",
    );
    repo.commit("go.work");
    let json = change(&repo, "web/ui/tools/gen/gen.go");
    assert_eq!(
        json.affected_names(),
        names(&["order", "ui/tools"]),
        "{json:#}"
    );
    let json = change(&repo, "pkg/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["./pkg/auth", "user"]));
}

#[test]
fn members_and_discover_go_in_a_mixed_layout() {
    let repo = mixed();
    repo.write(
        "pipeline.toml",
        "[workspace]\nmembers = [\"services/*\", \"internal/tools\"]\ndiscover = [\"go\"]\n\n[services.ui-tools]\nroot = \"web/ui/tools\"\n",
    );
    repo.commit("members");
    let json = change(&repo, "pkg/log/log.go");
    assert_eq!(json.affected_names(), names(&["order", "user"]));
    let json = change(&repo, "internal/tools/tools.go");
    assert_eq!(json.affected_names(), names(&["tools"]), "{json:#}");
    let json = change(&repo, "web/ui/tools/gen/gen.go");
    assert_eq!(json.affected_names(), names(&["ui-tools"]), "{json:#}");
}

#[test]
fn kind_filters_every_format_and_gotest_lists_packages() {
    let repo = shop();
    change(&repo, "pkg/log/log.go");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    let kinds: Vec<(&str, &str)> = json["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("./pkg/auth", "package"),
            ("./pkg/log", "package"),
            ("order", "service"),
            ("user", "service")
        ]
    );
    let out = repo.run(&[
        "affected", "--base", "HEAD~1", "--format", "github", "--kind", "service",
    ]);
    out.success();
    assert!(
        out.stdout_str()
            .contains(r#"matrix={"include":[{"service":"order"},{"service":"user"}]}"#),
        "{}",
        out.stdout_str()
    );
    let out = repo.run(&[
        "affected", "--base", "HEAD~1", "--format", "names", "--kind", "service",
    ]);
    assert_eq!(out.stdout_str(), "order\nuser\n");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "gotest"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "./pkg/auth ./pkg/log ./services/order ./services/user\n"
    );
    let out = repo.run(&[
        "affected", "--base", "HEAD~1", "--format", "gotest", "--kind", "package",
    ]);
    assert_eq!(out.stdout_str(), "./pkg/auth ./pkg/log\n");
    // Nothing affected: nothing printed, so `go test $(...)` is never run on the current folder.
    repo.write("README.md", "readme\n");
    repo.commit("docs");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "gotest"]);
    out.success();
    assert_eq!(out.stdout_str(), "");
}

#[test]
fn a_package_is_tested_with_go_test_in_its_folder() {
    let repo = shop();
    let out = repo.run(&["run", "test", "--all", "--dry-run=json"]);
    out.success();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("./pkg/auth:test") || text.contains("\"./pkg/auth\""),
        "{text}"
    );
    assert!(text.contains("go test ."), "{text}");
    // A binary tests every package below its folder.
    assert!(text.contains("user:test"), "{text}");
    assert!(text.contains("go test ./..."), "{text}");
}

#[test]
fn run_kind_service_leaves_packages_out_of_a_deploy() {
    let repo = shop();
    repo.write(
        "pipeline.toml",
        "[workspace]\ndiscover = [\"go\"]\n\n[targets.deploy]\ncommand = \"echo deploy\"\n",
    );
    repo.commit("deploy target");
    let out = repo.run(&["run", "deploy", "--all", "--dry-run=json"]);
    out.success();
    assert!(
        out.stdout_str().contains("./pkg/log"),
        "{}",
        out.stdout_str()
    );
    let out = repo.run(&[
        "run",
        "deploy",
        "--all",
        "--kind",
        "service",
        "--dry-run=json",
    ]);
    out.success();
    let text = out.stdout_str();
    assert!(
        !text.contains("./pkg/") && text.contains("user") && text.contains("order"),
        "{text}"
    );
}

#[test]
fn the_root_module_reads_what_its_local_modules_require_in_turn() {
    let repo = TestRepo::new();
    repo.write(
        "go.work",
        "go 1.22\n\nuse (\n\t.\n\t./libs/a\n\t./libs/b\n)\n",
    )
    .write(
        "go.mod",
        "module example.com/m\n\ngo 1.22\n\nrequire example.com/a v0.0.0\n",
    )
    .write(
        "cmd/app/main.go",
        "package main\n\nimport _ \"example.com/a\"\n\nfunc main() {}\n",
    )
    .write(
        "libs/a/go.mod",
        "module example.com/a\n\ngo 1.22\n\nrequire example.com/b v0.0.0\n",
    )
    .write("libs/a/a.go", "package a\n\nimport _ \"example.com/b\"\n")
    .write("libs/b/go.mod", "module example.com/b\n\ngo 1.22\n")
    .write("libs/b/b.go", "package b\n");
    repo.commit("init");
    let json = change(&repo, "libs/b/b.go");
    assert_eq!(json.affected_names(), names(&["a", "app", "b"]), "{json:#}");
}

#[test]
fn a_test_that_imports_a_testdata_package_reaches_what_it_imports() {
    let repo = shop();
    repo.write(
        "internal/testdata/hello/hello.go",
        "package hello\n\nimport _ \"example.com/shop/pkg/log\"\n",
    )
    .write(
        "pkg/auth/hello_test.go",
        "package auth\n\nimport _ \"example.com/shop/internal/testdata/hello\"\n",
    );
    repo.commit("a test server in testdata");
    let json = repo.affected_json(&["--base", "HEAD~1", "--kind", "package"]);
    // The testdata package is no unit of its own (`go test ./...` never lists it).
    assert!(!all_services(&json).iter().any(|n| n.contains("testdata")));
    let json = change(&repo, "internal/testdata/hello/hello.go");
    assert_eq!(json.affected_names(), names(&["./pkg/auth"]), "{json:#}");
}

// A `use` listed twice in go.work named one file twice; Go refuses it at the second line
// ("appears multiple times in workspace"), and the error names both.
#[test]
fn a_use_listed_twice_names_both_lines() {
    let repo = TestRepo::new();
    repo.write("go.work", "go 1.22\n\nuse ./a\nuse ./b\nuse (\n\ta/\n)\n")
        .write("a/go.mod", "module example.com/a\n\ngo 1.22\n")
        .write("a/main.go", "package main\n\nfunc main() {}\n")
        .write("b/go.mod", "module example.com/b\n\ngo 1.22\n")
        .write("b/main.go", "package main\n\nfunc main() {}\n");
    repo.commit("init");
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "error: go.work:6: `use a` names a folder go.work:3 already uses; Go refuses a folder used twice"
        ),
        "{}",
        out.stderr_str()
    );
}

/// With no pipeline.toml a Go package has `build` and `test` of itself, a service (a binary's
/// folder) of every package below it, compiled without leaving a binary behind; a
/// `[targets.test]` command wins.
#[test]
fn go_units_get_build_and_test_with_go_commands() {
    let repo = shop();
    let plan = |args: &[&str]| plan_commands(&repo.dry_run(args));
    let all = plan(&["build", "test", "--all"]);
    assert_eq!(all["./pkg/auth:build"], "go build .");
    assert_eq!(all["./pkg/auth:test"], "go test .");
    assert_eq!(all["user:build"], "go build -o /dev/null ./...");
    assert_eq!(all["user:test"], "go test ./...");
    repo.config(
        "[workspace]\ndiscover = \"auto\"\n[targets.test]\ncommand = \"go test -race ./...\"\n",
    );
    let overridden = plan(&["test", "--service", "user"]);
    assert_eq!(overridden["user:test"], "go test -race ./...");
}
