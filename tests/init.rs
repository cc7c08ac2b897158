//! `shockwave init`: writes what discovery found as a pipeline.toml that `check` accepts and that
//! gives the same graph as the zero-config path; refuses to overwrite; says when there is nothing.

mod common;

use common::{OutputExt, TestRepo};

fn workspace() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    )
    .write(
        "packages/a/package.json",
        "{\"name\": \"@s/a\", \"version\": \"1.0.0\", \"scripts\": {\"build\": \"tsc\"}}\n",
    )
    .write(
        "packages/b/package.json",
        "{\"name\": \"b\", \"version\": \"1.0.0\", \"dependencies\": {\"@s/a\": \"^1\"}}\n",
    );
    repo.commit("init");
    repo
}

#[test]
fn init_writes_a_config_that_check_accepts_with_the_same_graph() {
    let repo = workspace();
    let before = repo.run(&["graph", "--format", "json"]).success().json();
    let out = repo.run_in("packages/a", &["init"]);
    out.success();
    assert!(
        out.stdout_str().contains("2 npm packages"),
        "{}",
        out.stdout_str()
    );
    let written = repo.read("pipeline.toml");
    assert!(written.contains("discover = \"auto\""), "{written}");
    assert!(written.contains("# [services.\"@s/a\"]"), "{written}");
    assert!(written.contains("# deps = [\"@s/a\"]"), "{written}");
    let check = repo.run(&["check"]);
    check.success();
    assert!(
        check
            .stdout_str()
            .contains("2 services (2 discovered: 2 npm packages), 1 dependency edge"),
        "{}",
        check.stdout_str()
    );
    let after = repo.run(&["graph", "--format", "json"]);
    assert!(after.stderr_str().is_empty(), "the config is found now");
    assert_eq!(after.json(), before);
}

#[test]
fn init_refuses_to_overwrite() {
    let repo = workspace();
    repo.config("[workspace]\nmembers = [\"packages/*\"]\n");
    let out = repo.run(&["init"]);
    out.expect_code(2);
    assert!(out
        .stderr_str()
        .contains("already exists; init never overwrites it"));
    assert_eq!(
        repo.read("pipeline.toml"),
        "[workspace]\nmembers = [\"packages/*\"]\n"
    );
}

#[test]
fn init_without_a_workspace_says_so() {
    let repo = TestRepo::new();
    repo.write("README.md", "hi\n");
    repo.commit("init");
    let out = repo.run(&["init"]);
    out.expect_code(2);
    assert!(out
        .stderr_str()
        .contains("found no npm, pnpm, yarn, Cargo or Go workspace"));
    assert!(!repo.abs("pipeline.toml").exists());
}
