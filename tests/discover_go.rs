//! Go discovery end to end: a single module with no pipeline.toml (services are the `package main`
//! directories, ownership is by package closure, the reason names the import chain), `members`
//! naming the services, go.work and multi-module workspaces with their edges, and the errors a
//! broken go.mod or go.work gives.

mod common;

use common::{names, AffectedJson, OutputExt, TestRepo};

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

#[test]
fn zero_config_services_are_the_package_main_directories() {
    let repo = shop();
    let json = change(&repo, "pkg/log/log.go");
    // Shared packages are no services: only the binaries are.
    assert_eq!(all_services(&json), names(&["order", "user"]));
    assert_eq!(json.affected_names(), names(&["order", "user"]));
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
    assert_eq!(json.affected_names(), names(&["user"]));
    assert_eq!(json.unaffected_names(), names(&["order"]));
}

#[test]
fn a_dependency_test_file_affects_nothing() {
    let repo = shop();
    let json = change(&repo, "pkg/auth/auth_test.go");
    assert!(json.affected_names().is_empty(), "{json:#}");
    // And a package only a dependency's test imports belongs to no closure.
    let json = change(&repo, "pkg/mock/mock.go");
    assert!(json.affected_names().is_empty(), "{json:#}");
}

#[test]
fn an_own_test_file_and_its_imports_affect_the_service() {
    let repo = shop();
    let json = change(&repo, "services/user/main_test.go");
    assert_eq!(json.affected_names(), names(&["user"]));
    assert_eq!(json.reason_kinds("user"), ["file"]);
    let json = change(&repo, "pkg/testutil/testutil.go");
    assert_eq!(json.affected_names(), names(&["user"]));
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
    assert!(json.affected_names().is_empty(), "{json:#}");
}

#[test]
fn nested_modules_vendor_and_testdata_are_skipped() {
    let repo = shop();
    repo.write("tools/go.mod", "module example.com/tools\n")
        .write("tools/gen/main.go", "package main\n\nfunc main() {}\n")
        .write("vendor/x/main.go", "package main\n")
        .write("pkg/log/testdata/main.go", "package main\n")
        .write("_old/main.go", "package main\n")
        .write(".hidden/main.go", "package main\n");
    repo.commit("nested module and skipped folders");
    let json = change(&repo, "pkg/log/log.go");
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
    // A dependency's test is no input; the mock it imports neither.
    repo.git(&["checkout", "--", "."]);
    repo.write("pkg/auth/auth_test.go", "package auth_test\n// edited\n");
    repo.write("pkg/mock/mock.go", "package mock\n// edited\n");
    assert_eq!(repo.task_hashes(&["build"]), before);
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
fn two_binaries_with_one_name_are_an_error() {
    let repo = shop();
    repo.write("services/a/cmd/server/main.go", "package main\n")
        .write("services/b/cmd/server/main.go", "package main\n");
    repo.commit("two servers");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("services/a/cmd/server") && err.contains("services/b/cmd/server"),
        "{err}"
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
    assert_eq!(
        all_services(&json),
        names(&["auth", "order", "platform", "user"])
    );
    assert_eq!(json.affected_names(), names(&["auth", "user"]));
    assert_eq!(json.reason_kinds("user"), ["dependency"]);
    let json = change(&repo, "tool.go");
    assert_eq!(json.affected_names(), names(&["platform"]));
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
fn module_name_collisions_and_bad_use_lines_are_errors() {
    let repo = workspace();
    repo.write("services/order/go.mod", "module example.com/x/auth\n");
    repo.commit("collide");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("libs/auth/go.mod") && err.contains("services/order/go.mod"),
        "{err}"
    );

    assert!(err.contains("members"), "{err}");
    // Naming the services by folder resolves it; the edges still come from go.work.
    repo.write(
        "pipeline.toml",
        "[workspace]\nmembers = [\"libs/*\", \"services/*\"]\ndiscover = [\"go\"]\n",
    );
    repo.commit("name them");
    let json = change(&repo, "libs/auth/auth.go");
    assert_eq!(json.affected_names(), names(&["auth", "user"]));
    assert_eq!(all_services(&json), names(&["auth", "order", "user"]));

    let repo = workspace();
    repo.write("go.work", "go 1.22\n\nuse ./libs/auth\nuse ./missing\n");
    repo.commit("missing module");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("go.work:4"),
        "{}",
        out.stderr_str()
    );

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
