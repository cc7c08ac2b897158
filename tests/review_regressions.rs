//! Regressions found reviewing shards, discovery, lockfiles, Go closures and the file monitor:
//! each test pins one wrong answer or unchecked input that the first version of those features had.

mod common;

use common::{AffectedJson, TestRepo};

/// A task hash of `label` from `hash TARGET --all --json`.
fn hash_of(repo: &TestRepo, target: &str, label: &str) -> String {
    repo.task_hashes(&[target])
        .get(label)
        .unwrap_or_else(|| panic!("no task {label}"))
        .clone()
}

/// A Go service imports a package below a nested service's root: that package is in its closure,
/// so a change there must change its task hash, not only make it affected.
#[test]
fn go_package_below_a_nested_service_root_enters_the_importers_hash() {
    let repo = TestRepo::new();
    repo.write("go.mod", "module ex.com/m\n\ngo 1.22\n")
        .write(
            "services/app/main.go",
            "package main\n\nimport _ \"ex.com/m/services/app/tools/gen/lib\"\n\nfunc main() {}\n",
        )
        .write(
            "services/app/tools/gen/main.go",
            "package main\n\nfunc main() {}\n",
        )
        .write("services/app/tools/gen/lib/lib.go", "package lib\n")
        .config(
            "[workspace]\nmembers = [\"services/app\", \"services/app/tools/gen\"]\ndiscover = [\"go\"]\n\n[targets.build]\ncommand = \"true\"\n",
        );
    repo.commit("init");
    let before = hash_of(&repo, "build", "app:build");
    repo.write(
        "services/app/tools/gen/lib/lib.go",
        "package lib\n\nvar X = 1\n",
    );
    let after = hash_of(&repo, "build", "app:build");
    assert_ne!(
        before, after,
        "a closure file changed but app's hash did not"
    );
    let json = repo.affected_json(&["--uncommitted"]);
    assert!(json.affected_names().contains(&"app".to_string()), "{json}");
}
