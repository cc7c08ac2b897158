//! Regressions found reviewing shards, discovery, lockfiles, Go closures and the file monitor:
//! each test pins one wrong answer or unchecked input that the first version of those features had.

use crate::common;

use common::{AffectedJson, OutputExt, TestRepo};

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

/// Two services with a `build` target that only prints.
fn two_services() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("a/a.txt", "a")
        .write("b/b.txt", "b")
        .config(
            "[services.a]\nroot = \"a\"\n[services.b]\nroot = \"b\"\n[targets.build]\ncommand = \"echo build\"\n",
        );
    repo.commit("init");
    repo
}

/// Durations in a timings file are untrusted: huge ones must not overflow the estimates.
#[test]
fn huge_timings_durations_do_not_overflow_the_split() {
    let repo = two_services();
    repo.write(
        "t.json",
        r#"{"schema":1,"tasks":[
            {"task":"a:build","status":"success","duration_ms":18446744073709551615},
            {"task":"b:build","status":"success","duration_ms":18446744073709551614}]}"#,
    );
    let out = repo.run(&[
        "run",
        "build",
        "--all",
        "--shards",
        "2",
        "--dry-run=json",
        "--timings",
        "t.json",
    ]);
    out.success();
    let json = out.json();
    let text = json.to_string();
    assert!(
        text.contains("a:build") && text.contains("b:build"),
        "{text}"
    );
}

/// Summaries given to `report` are untrusted: durations near `u64::MAX` must not overflow the
/// merged totals.
#[test]
fn report_of_summaries_with_huge_durations_does_not_overflow() {
    let repo = two_services();
    let (out, mut summary) = repo.run_summary(&["build", "--all"]);
    out.success();
    for t in summary["tasks"].as_array_mut().unwrap() {
        t["status"] = "cached-local".into();
        t["saved_ms"] = u64::MAX.into();
        t["duration_ms"] = u64::MAX.into();
    }
    summary["duration_ms"] = u64::MAX.into();
    repo.write("one.json", summary.to_string())
        .write("two.json", summary.to_string());
    let out = repo.run(&["report", "one.json", "two.json"]);
    out.success();
    assert!(
        out.stdout_str().contains("2 of 2 tasks from cache"),
        "{}",
        out.stdout_str()
    );
}

/// A Go single module with `replace M => ./third_party/m`: the replaced directory is a nested
/// module the package walk skips, but the services importing M build from it.
fn go_with_local_replace() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "go.mod",
        "module ex.com/m\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ./third_party/lib\n",
    )
    .write("third_party/lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
    .write("third_party/lib/lib.go", "package lib\n")
    .write(
        "services/api/main.go",
        "package main\n\nimport _ \"example.com/lib\"\n\nfunc main() {}\n",
    )
    .write("services/web/main.go", "package main\n\nfunc main() {}\n");
    repo.commit("init");
    repo
}

#[test]
fn go_local_replace_directory_affects_the_services_importing_it() {
    let repo = go_with_local_replace();
    repo.write("third_party/lib/lib.go", "package lib\n\nvar X = 1\n");
    repo.commit("change the replaced module");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    // The replaced folder is a nested module: a service of its own, and a `paths` input of api.
    assert_eq!(json.affected_names(), ["api", "lib"], "{json}");
}

#[test]
fn go_local_replace_directory_enters_the_importers_hash() {
    let repo = go_with_local_replace();
    repo.config(
        "[workspace]\nmembers = [\"services/*\"]\ndiscover = [\"go\"]\n[targets.build]\ncommand = \"true\"\n",
    );
    repo.commit("config");
    let api = hash_of(&repo, "build", "api:build");
    let web = hash_of(&repo, "build", "web:build");
    repo.write("third_party/lib/lib.go", "package lib\n\nvar X = 1\n");
    assert_ne!(api, hash_of(&repo, "build", "api:build"));
    assert_eq!(web, hash_of(&repo, "build", "web:build"));
}
