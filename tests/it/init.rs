//! `shockwave init`: writes what discovery found as a pipeline.toml that `check` accepts and that
//! gives the same graph as the zero-config path; refuses to overwrite; says when there is nothing.

use crate::common;

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

/// `init` writes the file as any new file (0666 less the umask), not with a temporary file's
/// 0600, and names the workspace's own package manager and the Cargo defaults.
#[test]
fn init_writes_a_readable_file_naming_the_package_manager() {
    use std::os::unix::fs::PermissionsExt;
    let repo = workspace();
    repo.write("pnpm-workspace.yaml", "packages:\n  - packages/*\n")
        .write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .write("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n")
        .write(
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nversion = \"0.1.0\"\n",
        )
        .write("crates/core/src/lib.rs", "\n");
    repo.commit("pnpm and cargo");
    repo.run(&["init"]).success();
    let mode = std::fs::metadata(repo.abs("pipeline.toml"))
        .unwrap()
        .permissions()
        .mode();
    // The test process's umask decides; group and others can read under the usual 022.
    let umask = current_umask();
    assert_eq!(
        mode & 0o777,
        0o666 & !umask,
        "mode {mode:o}, umask {umask:o}"
    );
    let written = repo.read("pipeline.toml");
    assert!(
        written.contains("run through pnpm\n# (`pnpm run NAME`)"),
        "{written}"
    );
    assert!(written.contains("`cargo build -p NAME`"), "{written}");
    repo.run(&["check"]).success();
}

/// The umask of this process, read from /proc (setting it would race with other tests' threads).
fn current_umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("Umask:"))
        .expect("Umask line in /proc/self/status");
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

/// Outside a git repository with nothing to discover, init says first that this is no
/// repository.
#[test]
fn init_outside_a_repository_says_so_first() {
    let dir = TestRepo::empty_dir();
    dir.write("README.md", "hi\n");
    let out = dir.run(&["init"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.starts_with(&format!(
            "error: {} is not inside a git repository, and holds no npm",
            dir.path().display()
        )),
        "{err}"
    );
}
