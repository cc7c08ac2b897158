//! Git problems end with exit code 3 and one sentence saying what to do: not a repository, a
//! revision that does not exist, a base that a shallow clone does not have. `--on-missing-base all`
//! turns a missing base into "everything is affected" instead, and says so.

use crate::common;

use common::{names, AffectedJson, OutputExt, TestRepo};

const CONFIG: &str = "[workspace]\nmembers = [\"services/*\"]\n";

/// Two services and seven commits, each touching `services/a`.
fn history() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(CONFIG)
        .write("services/b/main.go", "package b\n");
    for i in 1..=7 {
        repo.write("services/a/main.go", format!("package a // {i}\n"));
        repo.commit(&format!("change {i}"));
    }
    repo.git(&["branch", "old", "HEAD~3"]);
    repo
}

#[test]
fn not_a_git_repository() {
    let dir = TestRepo::empty_dir();
    dir.config(CONFIG).write("services/a/main.go", "");
    let out = dir.run(&["affected", "--base", "HEAD"]);
    out.expect_code(3);
    let err = out
        .stderr_str()
        .replace(&dir.path().display().to_string(), "[DIR]");
    assert!(
        err.starts_with("error: [DIR] is not inside a git repository ("),
        "{err}"
    );
    assert!(
        err.ends_with("); run shockwave inside a git checkout or pass --config for one\n"),
        "{err}"
    );
    assert_eq!(out.stdout_str(), "");
    // `check` only reads the config, so it works outside a repository.
    dir.run(&["check"]).success();
}

#[test]
fn unknown_base_revision_is_named() {
    let repo = history();
    let out = repo.run(&["affected", "--base", "nope"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: revision `nope` does not exist in this repository; check the name, or fetch it first (`git fetch origin nope`)\n"
    );
    assert_eq!(out.stdout_str(), "");
}

#[test]
fn unknown_remote_base_suggests_fetching_the_branch() {
    let repo = history();
    let out = repo.run(&["affected", "--base", "origin/release"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: revision `origin/release` does not exist in this repository; check the name, or fetch it first (`git fetch origin release`)\n"
    );
}

#[test]
fn unknown_head_revision_is_named() {
    let repo = history();
    let out = repo.run(&["affected", "--base", "HEAD~1", "--head", "feature/x"]);
    out.expect_code(3);
    assert!(
        out.stderr_str()
            .contains("revision `feature/x` does not exist"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn unknown_default_base_is_named() {
    let repo = history();
    repo.config(&format!("{CONFIG}default_base = \"origin/main\"\n"));
    let out = repo.run(&["affected"]);
    out.expect_code(3);
    assert!(
        out.stderr_str()
            .contains("revision `origin/main` does not exist"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn base_beyond_the_root_commit() {
    let repo = history();
    let out = repo.run(&["affected", "--base", "HEAD~20"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: revision `HEAD~20` does not exist in this repository; check the name, and that the history it refers to is in this clone\n"
    );
}

#[test]
fn uncommitted_with_head_is_refused() {
    let repo = history();
    let out = repo.run(&[
        "affected",
        "--base",
        "HEAD~1",
        "--head",
        "HEAD",
        "--uncommitted",
    ]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("cannot be combined with --head"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn empty_repository_has_no_head() {
    let repo = TestRepo::new();
    repo.config(CONFIG).write("services/a/main.go", "");
    let out = repo.run(&["affected", "--base", "HEAD"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: HEAD does not point to a commit yet (empty repository); commit something first or use --uncommitted alone\n"
    );
    // The worktree alone still works: everything is untracked.
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["a"]));
}

#[test]
fn unrelated_histories_have_no_merge_base() {
    let repo = history();
    repo.git(&["checkout", "-q", "--orphan", "other"]);
    repo.write("services/b/main.go", "package b // other\n");
    repo.commit("unrelated root");
    let out = repo.run(&["affected", "--base", "main", "--head", "other"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: `main` and `other` have no common ancestor; pass --exact-base to compare their trees directly\n"
    );
    // As suggested: comparing the trees works.
    let json = repo.affected_json(&["--base", "main", "--head", "other", "--exact-base"]);
    assert!(json.affected_names().contains(&"b".to_string()), "{json:#}");
}

/// The expected one-sentence error for a base missing from a shallow clone.
fn missing_base_message(rev: &str, boundary: &str) -> String {
    format!(
        "error: base `{rev}` is not in this clone (shallow clone with {boundary}): fetch full history (`fetch-depth: 0` in actions/checkout) or run `git fetch --deepen=200`, or pass --on-missing-base all to treat every service as affected\n"
    )
}

#[test]
fn shallow_clone_with_base_beyond_the_boundary() {
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--depth", "1"]);
    assert_eq!(clone.git(&["rev-parse", "--is-shallow-repository"]), "true");
    let out = clone.run(&["affected", "--base", "HEAD~5"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        missing_base_message("HEAD~5", "1 boundary commit")
    );
    assert_eq!(out.stdout_str(), "");
}

#[test]
fn shallow_clone_with_base_just_past_the_boundary() {
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--depth", "2"]);
    // HEAD~1 is the boundary commit itself: present, so the range works.
    let json = clone.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["a"]));
    let out = clone.run(&["affected", "--base", "HEAD~2"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        missing_base_message("HEAD~2", "1 boundary commit")
    );
}

#[test]
fn shallow_clone_without_the_base_branch() {
    let origin = history();
    let clone = TestRepo::clone_from(
        &origin,
        &["--depth", "1", "--single-branch", "--branch", "main"],
    );
    let out = clone.run(&["affected", "--base", "origin/old"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        missing_base_message("origin/old", "1 boundary commit")
    );
}

#[test]
fn shallow_clone_with_both_tips_but_no_shared_history() {
    // Both branch tips were fetched at depth 1: their merge base is not in the clone, and the
    // parentless boundary commits must not be mistaken for unrelated histories.
    let origin = history();
    let clone = TestRepo::clone_from(
        &origin,
        &["--depth", "1", "--single-branch", "--branch", "main"],
    );
    clone.git(&[
        "fetch",
        "-q",
        "--depth",
        "1",
        "origin",
        "old:refs/remotes/origin/old",
    ]);
    let out = clone.run(&["affected", "--base", "origin/old"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        missing_base_message("origin/old", "2 boundary commits")
    );
    // With --exact-base no history is needed: both trees are there.
    let json = clone.affected_json(&["--base", "origin/old", "--exact-base"]);
    assert_eq!(json.affected_names(), names(&["a"]));
    assert_eq!(
        json.changed_paths(),
        ["services/a/main.go".to_string()].into()
    );
}

#[test]
fn shallow_clone_after_deepening_works() {
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--depth", "1"]);
    clone.run(&["affected", "--base", "HEAD~5"]).expect_code(3);
    clone.git(&["fetch", "-q", "--deepen=10"]);
    let json = clone.affected_json(&["--base", "HEAD~5"]);
    assert_eq!(json.affected_names(), names(&["a"]));
    assert_eq!(json["merge_base"], origin.rev("HEAD~5"));
}

#[test]
fn missing_base_with_on_missing_base_all_affects_everything() {
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--depth", "1"]);
    let out = clone.run(&[
        "affected",
        "--base",
        "HEAD~5",
        "--on-missing-base",
        "all",
        "--format",
        "json",
    ]);
    out.success();
    let json = out.json();
    assert_eq!(json.affected_names(), names(&["a", "b"]));
    assert!(json.unaffected_names().is_empty());
    for service in ["a", "b"] {
        assert_eq!(json.reason_kinds(service), ["missing_base"]);
        let detail = json.reasons(service)[0]["detail"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(detail.contains("fetch-depth: 0"), "{detail}");
    }
    assert_eq!(json["merge_base"], serde_json::Value::Null);
    assert_eq!(json["changed_files"], serde_json::json!([]));
    // It is not silent: the reason is on stderr.
    let err = out.stderr_lines();
    assert_eq!(err.len(), 2, "{err:?}");
    assert!(
        err[0].starts_with("warning: base `HEAD~5` is not in this clone"),
        "{err:?}"
    );
    assert_eq!(
        err[1],
        "warning: --on-missing-base all: treating every service as affected"
    );
}

#[test]
fn missing_base_branch_with_on_missing_base_all_in_text_and_names() {
    let origin = history();
    let clone = TestRepo::clone_from(
        &origin,
        &["--depth", "1", "--single-branch", "--branch", "main"],
    );
    let out = clone.run(&[
        "affected",
        "--base",
        "origin/old",
        "--on-missing-base",
        "all",
        "--format",
        "names",
    ]);
    out.success();
    assert_eq!(out.stdout_str(), "a\nb\n");
    let out = clone.run(&[
        "affected",
        "--base",
        "origin/old",
        "--on-missing-base",
        "all",
    ]);
    out.success();
    let text = out.stdout_str();
    assert!(
        text.starts_with(
            "2 of 2 services affected — 0 changed files (origin/old → HEAD (base unavailable))\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  no base     base `origin/old` is not in this clone"),
        "{text}"
    );
}

#[test]
fn on_missing_base_all_does_not_hide_a_bad_head() {
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--depth", "1"]);
    let out = clone.run(&[
        "affected",
        "--base",
        "HEAD~5",
        "--head",
        "nope",
        "--on-missing-base",
        "all",
    ]);
    out.expect_code(3);
    assert!(
        out.stderr_str().contains("revision `nope` does not exist"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn missing_base_in_a_full_clone_is_an_unknown_revision() {
    // Not shallow: a base that is not there was never fetched or is misspelt, so the message is
    // about the name rather than the clone depth.
    let origin = history();
    let clone = TestRepo::clone_from(&origin, &["--single-branch", "--branch", "main"]);
    let out = clone.run(&["affected", "--base", "origin/old"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str(),
        "error: revision `origin/old` does not exist in this repository; check the name, or fetch it first (`git fetch origin old`)\n"
    );
}

/// Outside a repository and with no pipeline.toml, the error is that there is no repository
/// (exit 3), not that no pipeline.toml was found.
#[test]
fn outside_a_repository_without_a_config_the_repository_is_named_first() {
    let dir = TestRepo::empty_dir();
    dir.write("package.json", "{\"workspaces\": [\"packages/*\"]}\n")
        .write("packages/a/package.json", "{\"name\": \"a\"}\n");
    for args in [&["affected"][..], &["run", "build", "--all"], &["check"]] {
        let out = dir.run(args);
        out.expect_code(3);
        let err = out
            .stderr_str()
            .replace(&dir.path().display().to_string(), "[DIR]");
        assert!(
            err.starts_with("error: [DIR] is not inside a git repository ("),
            "{args:?}: {err}"
        );
        assert!(!err.contains("no pipeline.toml"), "{args:?}: {err}");
    }
}
