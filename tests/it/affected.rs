//! `shockwave affected` against real repositories: which changes are seen (ranges, merge bases,
//! the worktree, renames, deletions, modes, symlinks, submodules, odd file names, merges), who owns
//! them (roots, `paths`, `ignore`, `global_inputs`, `unowned`), and how far they spread (`--dependents`).

use crate::common;

use common::{names, plan_tasks, AffectedJson, OutputExt, TestRepo};
use serde_json::json;

/// Three services, no dependencies: every affected service owns a change itself.
const FLAT: &str = "\
[workspace]
members = [\"services/*\", \"libs/*\"]
";

fn flat_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(FLAT)
        .write("services/api/main.go", "package api\n")
        .write(
            "services/api/handler.go",
            "package api\n\nfunc Handle() {}\n",
        )
        .write("services/web/main.go", "package web\n")
        .write("libs/log/log.go", "package log\n");
    repo.commit("init");
    repo
}

// ---------------------------------------------------------------------------------------------
// Ranges

/// main and feature diverge from `init`: main changes `api` afterwards, feature changes `web`.
fn diverged() -> (TestRepo, String) {
    let repo = flat_repo();
    let init = repo.rev("HEAD");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("services/web/main.go", "package web // feature\n");
    repo.commit("feature: web");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("services/api/main.go", "package api // main moved on\n");
    repo.commit("main: api");
    repo.git(&["checkout", "-q", "feature"]);
    (repo, init)
}

#[test]
fn merge_base_is_the_default_comparison() {
    let (repo, init) = diverged();
    let json = repo.affected_json(&["--base", "main"]);
    assert_eq!(json.affected_names(), names(&["web"]));
    assert_eq!(json.unaffected_names(), names(&["api", "log"]));
    assert_eq!(json["base"], "main");
    assert_eq!(json["head"], "HEAD");
    assert_eq!(json["merge_base"], init.as_str());
    assert_eq!(
        json.changed(),
        [("services/web/main.go".into(), "modified".into(), None)]
    );
}

#[test]
fn exact_base_compares_the_two_trees() {
    let (repo, _) = diverged();
    let json = repo.affected_json(&["--base", "main", "--exact-base"]);
    assert_eq!(json.affected_names(), names(&["api", "web"]));
    assert_eq!(json["merge_base"], repo.rev("main").as_str());
    assert_eq!(
        json.changed_paths(),
        [
            "services/api/main.go".to_string(),
            "services/web/main.go".to_string()
        ]
        .into()
    );
}

#[test]
fn head_can_be_another_branch() {
    let (repo, init) = diverged();
    repo.git(&["checkout", "-q", "main"]);
    let json = repo.affected_json(&["--base", "main", "--head", "feature"]);
    assert_eq!(json.affected_names(), names(&["web"]));
    assert_eq!(json["head"], "feature");
    assert_eq!(json["merge_base"], init.as_str());
    // And the other way round: what main gained since feature branched off.
    let json = repo.affected_json(&["--base", "feature", "--head", "main"]);
    assert_eq!(json.affected_names(), names(&["api"]));
}

#[test]
fn any_revspec_works() {
    let (repo, init) = diverged();
    let short = &init[..10];
    let json = repo.affected_json(&["--base", short, "--head", "feature"]);
    assert_eq!(json.affected_names(), names(&["web"]));
    let json = repo.affected_json(&["--base", "main~1", "--head", "main^{commit}"]);
    assert_eq!(json.affected_names(), names(&["api"]));
    repo.git(&["tag", "-a", "-m", "release 1", "v1", &init]);
    let json = repo.affected_json(&["--base", "v1"]);
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn default_base_is_used_when_no_base_is_given() {
    let (repo, init) = diverged();
    repo.config(&format!("{FLAT}default_base = \"main\"\n"));
    let json = repo.affected_json(&[]);
    assert_eq!(json["base"], "main");
    assert_eq!(json["merge_base"], init.as_str());
    assert_eq!(json.affected_names(), names(&["web"]));
    // --base overrides it.
    let json = repo.affected_json(&["--base", "HEAD"]);
    assert_eq!(json["base"], "HEAD");
    assert!(json.affected_names().is_empty());
}

#[test]
fn same_base_and_head_is_no_change() {
    let repo = flat_repo();
    let out = repo.run(&["affected", "--base", "HEAD"]);
    out.success();
    let short = &repo.rev("HEAD")[..7];
    assert_eq!(
        out.stdout_str(),
        format!("0 of 3 services affected — 0 changed files (HEAD ({short}) → HEAD)\n\nnothing to do: nothing changed\n")
    );
    assert_eq!(out.stderr_str(), "");
}

// ---------------------------------------------------------------------------------------------
// The worktree

#[test]
fn uncommitted_counts_staged_unstaged_and_untracked_but_not_ignored() {
    let repo = flat_repo();
    repo.write(".gitignore", "*.log\nbuild/\n");
    repo.commit("ignore logs");
    repo.write("services/api/new.go", "package api\n");
    repo.git(&["add", "services/api/new.go"]); // staged
    repo.write("services/web/main.go", "package web // edited\n"); // unstaged
    repo.write("libs/log/extra.go", "package log\n"); // untracked
    repo.write("services/web/debug.log", "noise\n"); // ignored
    repo.write("services/web/build/out.bin", "noise\n"); // ignored directory
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [
            ("libs/log/extra.go".into(), "added".into(), None),
            ("services/api/new.go".into(), "added".into(), None),
            ("services/web/main.go".into(), "modified".into(), None),
        ]
    );
    assert_eq!(json.affected_names(), names(&["api", "log", "web"]));
    assert_eq!(json["base"], serde_json::Value::Null);
    assert_eq!(json["merge_base"], serde_json::Value::Null);
    assert_eq!(json["uncommitted"], true);
}

#[test]
fn uncommitted_lists_files_in_untracked_directories_one_by_one() {
    let repo = flat_repo();
    repo.write("services/api/newpkg/a.go", "1\n")
        .write("services/api/newpkg/deeper/b.go", "1\n")
        .write("libs/newlib/x.go", "1\n");
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed_paths(),
        [
            "libs/newlib/x.go",
            "services/api/newpkg/a.go",
            "services/api/newpkg/deeper/b.go"
        ]
        .map(String::from)
        .into()
    );
    // `libs/newlib` is a new member folder: a service of its own, already.
    assert_eq!(json.affected_names(), names(&["api", "newlib"]));
}

#[test]
fn uncommitted_respects_every_kind_of_ignore_rule() {
    let repo = flat_repo();
    repo.write(".gitignore", "*.log\n")
        .write("services/web/.gitignore", "dist/\n")
        .write("services/api/generated.log", "tracked although ignored\n");
    repo.git(&["add", "-f", "services/api/generated.log"]);
    repo.commit("ignore rules");
    std::fs::write(repo.path().join(".git/info/exclude"), "*.tmp\n").unwrap();
    repo.write("services/api/x.log", "ignored by .gitignore\n")
        .write(
            "services/web/dist/bundle.js",
            "ignored by a nested .gitignore\n",
        )
        .write("libs/log/scratch.tmp", "ignored by info/exclude\n")
        .write(
            "services/api/generated.log",
            "a tracked file counts even if it matches .gitignore\n",
        );
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [("services/api/generated.log".into(), "modified".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["api"]));
}

#[test]
fn uncommitted_from_a_subdirectory_sees_the_whole_repository() {
    let repo = flat_repo();
    repo.write("libs/log/log.go", "package log // edit\n");
    let out = repo.run_in(
        "services/api",
        &["affected", "--uncommitted", "--format", "names"],
    );
    out.success();
    assert_eq!(out.stdout_str(), "log\n");
}

#[test]
fn uncommitted_intent_to_add() {
    let repo = flat_repo();
    repo.write("services/web/later.go", "1\n");
    repo.git(&["add", "-N", "services/web/later.go"]);
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [("services/web/later.go".into(), "added".into(), None)]
    );
}

#[test]
fn uncommitted_same_size_edit_right_after_commit() {
    // The index's stat data cannot tell these apart (same size, same second): the content must.
    for round in 0..5 {
        let repo = flat_repo();
        repo.write("services/web/main.go", "package wXb\n");
        let json = repo.affected_json(&["--uncommitted"]);
        assert_eq!(json.affected_names(), names(&["web"]), "round {round}");
    }
}

#[test]
fn uncommitted_in_a_linked_worktree() {
    let repo = flat_repo();
    let other = tempfile::tempdir().unwrap();
    let wt = other.path().join("wt");
    repo.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    std::fs::write(
        wt.join("services/web/main.go"),
        "package web // in the worktree\n",
    )
    .unwrap();
    let out = repo
        .command(&["affected", "--uncommitted", "--format", "names"])
        .current_dir(&wt)
        .output()
        .unwrap();
    out.success();
    assert_eq!(out.stdout_str(), "web\n");
    // The main worktree is unaffected by it.
    let json = repo.affected_json(&["--uncommitted"]);
    assert!(json.changed().is_empty(), "{json:#}");
    // A commit in the linked worktree, compared with main from there.
    let status = repo
        .git_cmd(&["commit", "-q", "-am", "side"])
        .current_dir(&wt)
        .status()
        .unwrap();
    assert!(status.success());
    let out = repo
        .command(&["affected", "--base", "main", "--format", "names"])
        .current_dir(&wt)
        .output()
        .unwrap();
    out.success();
    assert_eq!(out.stdout_str(), "web\n");
}

#[test]
fn uncommitted_deletions_staged_and_unstaged() {
    let repo = flat_repo();
    repo.write("services/web/keep.go", "package web\n");
    repo.commit("keep web's folder alive");
    repo.remove("services/api/handler.go"); // unstaged deletion
    repo.git(&["rm", "-q", "services/web/main.go"]); // staged deletion
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [
            ("services/api/handler.go".into(), "deleted".into(), None),
            ("services/web/main.go".into(), "deleted".into(), None),
        ]
    );
    assert_eq!(json.affected_names(), names(&["api", "web"]));
}

#[test]
fn uncommitted_staged_then_reverted_in_the_worktree_still_counts() {
    // The index differs from HEAD even though the worktree matches it again.
    let repo = flat_repo();
    repo.write("services/api/main.go", "package api // staged\n");
    repo.git(&["add", "services/api/main.go"]);
    repo.write("services/api/main.go", "package api\n");
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["api"]));
}

#[test]
fn uncommitted_with_a_clean_worktree_is_empty() {
    let repo = flat_repo();
    let out = repo.run(&["affected", "--uncommitted"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "0 of 3 services affected — 0 changed files (worktree against HEAD)\n\nnothing to do: nothing changed\n"
    );
}

#[test]
fn uncommitted_adds_to_a_committed_range() {
    let repo = flat_repo();
    repo.write("services/api/main.go", "package api // committed\n");
    repo.commit("api");
    repo.write("libs/log/log.go", "package log // dirty\n");
    let json = repo.affected_json(&["--base", "HEAD~1", "--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["api", "log"]));
    assert_eq!(json["base"], "HEAD~1");
    assert_eq!(json["uncommitted"], true);
    let out = repo.run(&["affected", "--base", "HEAD~1", "--uncommitted"]);
    let first = out.lines()[0].clone();
    assert!(first.ends_with(" + uncommitted changes)"), "{first}");
    // Without --uncommitted the dirty file is not part of the range.
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["api"]));
}

// ---------------------------------------------------------------------------------------------
// Kinds of change

#[test]
fn rename_across_services_affects_both() {
    let repo = flat_repo();
    repo.git(&["mv", "services/api/handler.go", "services/web/handler.go"]);
    repo.commit("move handler to web");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [(
            "services/web/handler.go".into(),
            "renamed".into(),
            Some("services/api/handler.go".into())
        )]
    );
    assert_eq!(json.affected_names(), names(&["api", "web"]));
    assert_eq!(
        json.reasons("api"),
        [json!({"kind": "file", "path": "services/api/handler.go"})]
    );
    assert_eq!(
        json.reasons("web"),
        [json!({"kind": "file", "path": "services/web/handler.go"})]
    );
}

#[test]
fn rename_out_of_every_service_affects_the_old_owner() {
    let repo = flat_repo();
    repo.rename("services/api/handler.go", "attic/handler.go");
    repo.commit("retire handler");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.status_of("attic/handler.go"), "renamed");
    assert_eq!(json.affected_names(), names(&["api"]));
    assert_eq!(json.unowned_files(), ["attic/handler.go"]);
}

#[test]
fn rename_with_edits_is_a_deletion_and_an_addition() {
    // Only exact-content renames are paired; both sides count either way.
    let repo = flat_repo();
    repo.remove("services/api/handler.go");
    repo.write(
        "services/web/handler.go",
        "package web\n\nfunc Handle() {}\n",
    );
    repo.commit("move and edit");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [
            ("services/api/handler.go".into(), "deleted".into(), None),
            ("services/web/handler.go".into(), "added".into(), None),
        ]
    );
    assert_eq!(json.affected_names(), names(&["api", "web"]));
}

#[test]
fn deletion_affects_the_owner() {
    let repo = flat_repo();
    repo.remove("services/api/handler.go");
    repo.commit("drop handler");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/api/handler.go".into(), "deleted".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["api"]));
}

#[test]
fn deleting_a_whole_member_service_leaves_its_files_unowned() {
    // The config is read from the worktree, where the folder (and so the member service) is gone.
    let repo = flat_repo();
    repo.remove("services/web");
    repo.commit("retire web");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "json"]);
    out.success();
    let json = out.json();
    assert_eq!(
        json.changed(),
        [("services/web/main.go".into(), "deleted".into(), None)]
    );
    assert!(json.affected_names().is_empty());
    assert_eq!(json.unaffected_names(), names(&["api", "log"]));
    assert_eq!(json.unowned_files(), ["services/web/main.go"]);
    assert!(
        out.stderr_str()
            .starts_with("warning: 1 changed file is owned by no service"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn exec_bit_change_is_a_modification() {
    let repo = flat_repo();
    repo.write("services/web/deploy.sh", "#!/bin/sh\n");
    repo.commit("deploy script");
    repo.chmod_exec("services/web/deploy.sh", true);
    repo.commit("make it executable");
    assert_eq!(
        repo.git(&["diff", "--name-status", "HEAD~1"]),
        "M\tservices/web/deploy.sh"
    );
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/web/deploy.sh".into(), "modified".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["web"]));
    // The worktree flow sees it too.
    repo.chmod_exec("services/web/deploy.sh", false);
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [("services/web/deploy.sh".into(), "modified".into(), None)]
    );
}

#[test]
fn file_replaced_by_a_symlink_is_a_type_change() {
    let repo = flat_repo();
    repo.remove("services/web/main.go");
    repo.symlink("../api/main.go", "services/web/main.go");
    repo.commit("share main");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/web/main.go".into(), "type_changed".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["web"]));
    // And back: symlink → file.
    repo.remove("services/web/main.go");
    repo.write("services/web/main.go", "package web\n");
    repo.commit("unshare");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.status_of("services/web/main.go"), "type_changed");
}

#[test]
fn symlink_target_change_is_a_modification() {
    let repo = flat_repo();
    repo.symlink("main.go", "services/web/current.go");
    repo.commit("link");
    repo.remove("services/web/current.go");
    repo.symlink("../api/main.go", "services/web/current.go");
    repo.commit("relink");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/web/current.go".into(), "modified".into(), None)]
    );
    // The link's owner is affected, not the owner of what it points to.
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn directory_replaced_by_a_file() {
    let repo = flat_repo();
    repo.write("services/api/conf/a.yaml", "a: 1\n")
        .write("services/api/conf/b.yaml", "b: 1\n");
    repo.commit("conf dir");
    repo.remove("services/api/conf");
    repo.write("services/api/conf", "a: 1\nb: 1\n");
    repo.commit("conf file");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [
            ("services/api/conf".into(), "added".into(), None),
            ("services/api/conf/a.yaml".into(), "deleted".into(), None),
            ("services/api/conf/b.yaml".into(), "deleted".into(), None),
        ]
    );
    assert_eq!(json.affected_names(), names(&["api"]));
}

/// A second repository to use as a submodule.
fn submodule_source() -> TestRepo {
    let sub = TestRepo::new();
    sub.write("lib.c", "int x;\n");
    sub.commit("sub 1");
    sub
}

#[test]
fn submodule_pointer_change_counts_its_path() {
    let sub = submodule_source();
    let repo = flat_repo();
    let url = sub.path().display().to_string();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "services/web/vendor/lib",
    ]);
    repo.commit("add submodule");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [
            (".gitmodules".into(), "added".into(), None),
            ("services/web/vendor/lib".into(), "added".into(), None),
        ]
    );
    assert_eq!(json.affected_names(), names(&["web"]));
    assert_eq!(json.unowned_files(), [".gitmodules"]);

    // Move the submodule to a new commit: only the gitlink changes.
    sub.write("lib.c", "int x = 2;\n");
    let new_sub_head = sub.commit("sub 2");
    let inside = repo.abs("services/web/vendor/lib");
    let status = repo
        .git_cmd(&["-c", "protocol.file.allow=always", "fetch", "-q", "origin"])
        .current_dir(&inside)
        .status()
        .unwrap();
    assert!(status.success());
    let status = repo
        .git_cmd(&["checkout", "-q", &new_sub_head])
        .current_dir(&inside)
        .status()
        .unwrap();
    assert!(status.success());
    // The worktree flow sees the new pointer before it is committed...
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(
        json.changed(),
        [("services/web/vendor/lib".into(), "modified".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["web"]));
    // ...and the range after.
    repo.commit("bump submodule");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/web/vendor/lib".into(), "modified".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn service_that_is_a_submodule_is_affected_by_its_pointer() {
    // A member folder that is itself a submodule: moving the pointer changes the service.
    let sub = submodule_source();
    let repo = flat_repo();
    let url = sub.path().display().to_string();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "services/payments",
    ]);
    repo.commit("add payments as a submodule");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.status_of("services/payments"), "added");
    assert_eq!(json.affected_names(), names(&["payments"]));
    assert_eq!(
        json.reasons("payments"),
        [json!({"kind": "file", "path": "services/payments"})]
    );
    assert_eq!(json.unowned_files(), [".gitmodules"]);
}

#[test]
fn non_utf8_file_names_are_printed_lossily() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let repo = flat_repo();
    let name = OsStr::from_bytes(b"services/api/caf\xe9.go");
    repo.write(name, "package api\n");
    repo.commit("latin-1 name");
    assert_eq!(
        repo.git_bytes(&["diff", "-z", "--name-only", "HEAD~1"]),
        b"services/api/caf\xe9.go\0"
    );
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed(),
        [("services/api/caf\u{FFFD}.go".into(), "added".into(), None)]
    );
    assert_eq!(json.affected_names(), names(&["api"]));
    for format in ["text", "names", "github"] {
        let out = repo.run(&["affected", "--base", "HEAD~1", "--format", format]);
        out.success();
        assert_eq!(out.stderr_str(), "", "{format}");
    }
    let text = repo.run(&["affected", "--base", "HEAD~1"]).stdout_str();
    assert!(
        text.contains("  changed     services/api/caf\u{FFFD}.go\n"),
        "{text}"
    );

    // Untracked, renamed and deleted under a non-UTF-8 name, and a non-UTF-8 directory.
    repo.write(
        OsStr::from_bytes(b"services/web/\xff\xfe/x.go"),
        "package web\n",
    );
    repo.rename(name, OsStr::from_bytes(b"libs/log/caf\xe9.go"));
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["api", "log", "web"]));
    repo.commit("more odd names");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["api", "log", "web"]));
    assert_eq!(json.status_of("libs/log/caf\u{FFFD}.go"), "renamed");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--explain", "web"]);
    out.success();
    assert!(
        out.stdout_str().contains("\u{FFFD}\u{FFFD}/x.go"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn unicode_and_special_characters_in_names() {
    let repo = flat_repo();
    for name in [
        "services/api/ünïcödé.go",
        "services/api/with space.go",
        "services/api/quote\"d.go",
        "services/api/tab\tname.go",
    ] {
        repo.write(name, "package api\n");
    }
    repo.commit("odd names");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.changed_paths(),
        [
            "services/api/quote\"d.go",
            "services/api/tab\tname.go",
            "services/api/with space.go",
            "services/api/ünïcödé.go",
        ]
        .map(String::from)
        .into()
    );
}

#[test]
fn partial_clone_without_blobs_works() {
    // actions/checkout with `filter: blob:none`: trees are there, blobs are fetched on demand, and
    // change detection never needs a blob.
    let origin = flat_repo();
    origin.git(&["config", "uploadpack.allowFilter", "true"]);
    origin.write("services/web/main.go", "package web // 2\n");
    origin.commit("web");
    let clone = TestRepo::clone_from(&origin, &["--filter=blob:none", "--no-checkout"]);
    clone.git(&["checkout", "-q", "main"]);
    let json = clone.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["web"]));
}

#[test]
fn treeless_clone_is_a_git_error_not_a_wrong_answer() {
    // With `filter: tree:0` the base commit's tree is not in the clone; gix does not fetch it.
    let origin = flat_repo();
    origin.git(&["config", "uploadpack.allowFilter", "true"]);
    origin.write("services/web/main.go", "package web // 2\n");
    origin.commit("web");
    let clone = TestRepo::clone_from(&origin, &["--filter=tree:0"]);
    let out = clone.run(&["affected", "--base", "HEAD~1"]);
    out.expect_code(3);
    assert_eq!(out.stdout_str(), "");
}

// ---------------------------------------------------------------------------------------------
// Merges

/// main: init → api change → merge of feature (which changed web).
fn merged() -> TestRepo {
    let repo = flat_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("services/web/main.go", "package web // feature\n");
    repo.commit("feature: web");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("services/api/main.go", "package api // main\n");
    repo.commit("main: api");
    repo.merge("feature", "Merge feature");
    repo
}

#[test]
fn merge_commit_against_its_first_parent_shows_what_the_merge_brought_in() {
    // What CI on main sees for a push of a merge: head is the merge, base its first parent.
    let repo = merged();
    assert_eq!(
        repo.git(&["rev-list", "--parents", "-n1", "HEAD"])
            .split(' ')
            .count(),
        3
    );
    let json = repo.affected_json(&["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(json["merge_base"], repo.rev("HEAD~1").as_str());
    assert_eq!(json.affected_names(), names(&["web"]));
    // Against the second parent: what main had that feature did not.
    let json = repo.affected_json(&["--base", "HEAD^2"]);
    assert_eq!(json.affected_names(), names(&["api"]));
    // Against the fork point: both sides.
    let json = repo.affected_json(&["--base", "HEAD~2"]);
    assert_eq!(json.affected_names(), names(&["api", "web"]));
}

#[test]
fn branch_that_merged_main_in_shows_only_its_own_changes() {
    // A pull request kept up to date by merging main into it.
    let repo = flat_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("services/web/main.go", "package web // feature\n");
    repo.commit("feature: web");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("services/api/main.go", "package api // main\n");
    repo.commit("main: api");
    repo.git(&["checkout", "-q", "feature"]);
    repo.merge("main", "Merge main into feature");
    let json = repo.affected_json(&["--base", "main"]);
    assert_eq!(json["merge_base"], repo.rev("main").as_str());
    assert_eq!(json.affected_names(), names(&["web"]));
    // main moves on after that: still only the branch's own change.
    repo.git(&["checkout", "-q", "main"]);
    repo.write("libs/log/log.go", "package log // later\n");
    repo.commit("main: log");
    repo.git(&["checkout", "-q", "feature"]);
    let json = repo.affected_json(&["--base", "main"]);
    assert_eq!(json.affected_names(), names(&["web"]));
    let json = repo.affected_json(&["--base", "main", "--exact-base"]);
    assert_eq!(json.affected_names(), names(&["log", "web"]));
}

#[test]
fn criss_cross_merge_uses_a_merge_base_git_would_use() {
    // Two merge bases: either is a valid answer, but it must be one of them.
    let repo = flat_repo();
    repo.git(&["checkout", "-q", "-b", "b1"]);
    repo.write("services/api/a.go", "1\n");
    repo.commit("b1 1");
    repo.git(&["checkout", "-q", "-b", "b2", "main"]);
    repo.write("services/web/a.go", "1\n");
    repo.commit("b2 1");
    repo.git(&["checkout", "-q", "b1"]);
    repo.merge("b2~0", "merge b2 into b1");
    repo.git(&["checkout", "-q", "b2"]);
    repo.merge("b1~1", "merge b1~1 into b2");
    repo.git(&["checkout", "-q", "b1"]);
    repo.write("libs/log/a.go", "1\n");
    repo.commit("b1 2");
    let all = repo.git(&["merge-base", "--all", "b1", "b2"]);
    assert_eq!(all.lines().count(), 2, "criss-cross expected: {all}");
    let json = repo.affected_json(&["--base", "b2", "--head", "b1"]);
    let mb = json["merge_base"].as_str().unwrap().to_string();
    assert!(all.lines().any(|l| l == mb), "{mb} not in {all}");
    let expected = repo.git(&["diff", "--name-only", "--no-renames", &mb, "b1"]);
    let expected: std::collections::BTreeSet<String> = expected.lines().map(String::from).collect();
    assert_eq!(json.changed_paths(), expected);
}

// ---------------------------------------------------------------------------------------------
// Where the config lives

#[test]
fn runs_from_a_subdirectory() {
    let repo = flat_repo();
    repo.write("services/api/main.go", "package api // edit\n");
    repo.commit("edit");
    let out = repo.run_in(
        "services/api",
        &["affected", "--base", "HEAD~1", "--format", "names"],
    );
    out.success();
    assert_eq!(out.stdout_str(), "api\n");
}

#[test]
fn workspace_in_a_subdirectory_of_the_repository() {
    let repo = TestRepo::new();
    repo.write(
        "mono/pipeline.toml",
        "[workspace]\nmembers = [\"services/*\"]\n",
    )
    .write("mono/services/api/main.go", "package api\n")
    .write("mono/services/web/main.go", "package web\n")
    .write("other/services/api/main.go", "not ours\n");
    repo.commit("init");
    repo.write("mono/services/api/main.go", "package api // edit\n")
        .write("other/services/api/main.go", "still not ours\n")
        .write("README", "top level\n");
    repo.commit("edit");
    let out = repo.run_in(
        "mono",
        &["affected", "--base", "HEAD~1", "--format", "json"],
    );
    out.success();
    let json = out.json();
    assert_eq!(json.affected_names(), names(&["api"]));
    // Paths outside the workspace are listed as changed but belong to no one and warn no one.
    assert!(json.unowned_files().is_empty(), "{json:#}");
    assert_eq!(out.stderr_str(), "");
    assert_eq!(
        json.reasons("api"),
        [json!({"kind": "file", "path": "services/api/main.go"})]
    );
    // The same through --config from the repository root.
    let json = repo.affected_json(&["--config", "mono/pipeline.toml", "--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["api"]));
}

/// `(name, root)` of every service, as `graph --format json` lists them.
fn services(repo: &TestRepo) -> Vec<(String, String)> {
    let json = repo.run(&["graph", "--format", "json"]).success().json();
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["root"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn members_patterns_name_service_folders() {
    let repo = TestRepo::new();
    for d in [
        "services/api",
        "services/web/src",
        "apps/shop/services/cart",
        "apps/shop/services/pay",
        "tools/lint",
    ] {
        repo.write(format!("{d}/x"), "1\n");
    }
    repo.write("services/not-a-dir", "1\n");
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, r)| (n.to_string(), r.to_string()))
            .collect()
    };
    for (members, expected) in [
        (
            "\"services/*\"",
            pairs(&[("api", "services/api"), ("web", "services/web")]),
        ),
        // A trailing slash names the same folders.
        (
            "\"services/*/\"",
            pairs(&[("api", "services/api"), ("web", "services/web")]),
        ),
        (
            "\"./services/*\"",
            pairs(&[("api", "services/api"), ("web", "services/web")]),
        ),
        (
            "\"apps/*/services/*\", \"tools/lint\"",
            pairs(&[
                ("cart", "apps/shop/services/cart"),
                ("lint", "tools/lint"),
                ("pay", "apps/shop/services/pay"),
            ]),
        ),
        ("\"services/{api,nope}\"", pairs(&[("api", "services/api")])),
    ] {
        repo.config(&format!("[workspace]\nmembers = [{members}]\n"));
        assert_eq!(services(&repo), expected, "members = [{members}]");
    }
}

// ---------------------------------------------------------------------------------------------
// Ownership

#[test]
fn deepest_root_wins() {
    let repo = TestRepo::new();
    repo.config(
        "\
[services.web]
root = \"apps/web\"
[services.admin]
root = \"apps/web/admin\"
[services.webby]
root = \"apps/webby\"
",
    )
    .write("apps/web/main.ts", "1\n")
    .write("apps/web/admin/main.ts", "1\n")
    .write("apps/webby/main.ts", "1\n");
    repo.commit("init");
    repo.write("apps/web/admin/deep/er/x.ts", "1\n");
    repo.commit("admin");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["admin"]));
    repo.write("apps/web/administrator.ts", "1\n");
    repo.commit("web, not admin: a name prefix is not a directory");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["web"]));
    repo.write("apps/webby/x.ts", "2\n");
    repo.commit("webby");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["webby"]));
}

#[test]
fn root_service_owns_what_no_deeper_service_owns() {
    let repo = TestRepo::new();
    repo.config("[services.everything]\nroot = \".\"\n[services.api]\nroot = \"api\"\n")
        .write("api/main.go", "1\n")
        .write("Makefile", "all:\n");
    repo.commit("init");
    repo.write("Makefile", "all: build\n")
        .write("api/main.go", "2\n");
    repo.commit("both");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["api", "everything"]));
    assert_eq!(
        json.reasons("everything"),
        [json!({"kind": "file", "path": "Makefile"})]
    );
    assert_eq!(
        json.reasons("api"),
        [json!({"kind": "file", "path": "api/main.go"})]
    );
}

#[test]
fn services_sharing_a_root_both_own_its_files() {
    let repo = flat_repo();
    repo.config(&format!(
        "{FLAT}[services.\"@shop/web-docs\"]\nroot = \"services/web\"\n"
    ));
    repo.commit("second service on web's folder");
    repo.write("services/web/main.go", "package web // edit\n");
    repo.commit("web");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["@shop/web-docs", "web"]));
}

#[test]
fn paths_globs_add_owners() {
    let repo = TestRepo::new();
    repo.config(
        "\
[workspace]
members = [\"services/*\"]
[services.user]
paths = [\"proto/user/**\"]
[services.gateway]
paths = [\"proto/**/*.proto\", \"openapi.yaml\"]
",
    )
    .write("services/user/main.go", "1\n")
    .write("services/gateway/main.go", "1\n")
    .write("services/billing/main.go", "1\n")
    .write("proto/user/user.proto", "1\n")
    .write("proto/user/README.txt", "1\n")
    .write("openapi.yaml", "1\n");
    repo.commit("init");
    repo.write("proto/user/user.proto", "2\n");
    repo.commit("proto");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["gateway", "user"]));
    repo.write("proto/user/README.txt", "2\n");
    repo.commit("not a .proto");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["user"]));
    repo.write("openapi.yaml", "2\n");
    repo.commit("spec");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["gateway"]));
    // A root owner and a `paths` owner at once.
    repo.config(
        "\
[workspace]
members = [\"services/*\"]
[services.gateway]
paths = [\"services/user/api/**\"]
",
    );
    repo.write("services/user/api/v1.go", "1\n");
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["gateway", "user"]));
}

#[test]
fn ignore_is_applied_first() {
    let repo = TestRepo::new();
    repo.config(
        "\
[workspace]
members = [\"services/*\"]
ignore = [\"**/*.md\", \"docs/\"]
global_inputs = [\"ci/**\"]
[services.api]
paths = [\"docs/api/**\"]
",
    )
    .write("services/api/main.go", "1\n")
    .write("services/web/main.go", "1\n");
    repo.commit("init");
    repo.write("services/api/README.md", "docs\n")
        .write("ci/README.md", "global, but ignored\n")
        .write("docs/api/guide.txt", "owned by paths, but ignored\n");
    repo.commit("docs only");
    let text = repo.run(&["affected", "--base", "HEAD~1"]);
    assert!(
        text.success()
            .stdout_str()
            .ends_with("nothing to do: all 3 changed paths match `ignore`\n"),
        "{}",
        text.stdout_str()
    );
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "json"]);
    out.success();
    let json = out.json();
    assert!(json.affected_names().is_empty(), "{json:#}");
    assert!(json.unowned_files().is_empty());
    assert_eq!(
        json.changed().len(),
        3,
        "ignored files are still listed as changed"
    );
    assert_eq!(out.stderr_str(), "");
}

#[test]
fn global_inputs_affect_every_service() {
    let repo = TestRepo::new();
    repo.config(
        "\
[workspace]
members = [\"services/*\"]
global_inputs = [\"go.work\", \"ci/**\"]
",
    )
    .write("services/api/main.go", "1\n")
    .write("services/web/main.go", "1\n")
    .write("go.work", "go 1.22\n")
    .write("ci/build.sh", "echo\n");
    repo.commit("init");
    repo.write("ci/build.sh", "echo build\n")
        .write("services/api/main.go", "2\n");
    repo.commit("ci");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), names(&["api", "web"]));
    assert_eq!(
        json.reasons("api"),
        [
            json!({"kind": "file", "path": "services/api/main.go"}),
            json!({"kind": "global", "path": "ci/build.sh"})
        ]
    );
    assert_eq!(
        json.reasons("web"),
        [json!({"kind": "global", "path": "ci/build.sh"})]
    );
    let text = repo.run(&["affected", "--base", "HEAD~1"]).stdout_str();
    assert!(
        text.contains("\nweb\n  global      ci/build.sh (global input)\n"),
        "{text}"
    );
}

/// A repository where `tools/fmt.sh` (owned by nobody) changes, under the given `unowned` policy.
fn unowned_change(policy: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.config(&format!(
        "[workspace]\nmembers = [\"services/*\"]\nunowned = \"{policy}\"\n"
    ))
    .write("services/api/main.go", "1\n")
    .write("services/web/main.go", "1\n")
    .write("tools/fmt.sh", "1\n");
    repo.commit("init");
    repo.write("tools/fmt.sh", "2\n")
        .write("tools/lint.sh", "1\n");
    repo.commit("tools");
    repo
}

#[test]
fn unowned_warn_reports_and_affects_nothing() {
    let repo = unowned_change("warn");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "json"]);
    out.success();
    assert_eq!(
        out.stderr_str(),
        "warning: 2 changed files are owned by no service (first: tools/fmt.sh); add them to a service's `paths`, to `ignore`, or set unowned = \"ignore\"\n"
    );
    let json = out.json();
    assert!(json.affected_names().is_empty());
    assert_eq!(json.unowned_files(), ["tools/fmt.sh", "tools/lint.sh"]);
    let text = repo.run(&["affected", "--base", "HEAD~1"]).stdout_str();
    assert!(
        text.contains("\nunowned files (changed, but no service owns them; unowned = \"warn\"):\n  tools/fmt.sh\n  tools/lint.sh\n"),
        "{text}"
    );
    // Warnings go away with -q; the data does not.
    let out = repo.run(&["-q", "affected", "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(out.stderr_str(), "");
    assert_eq!(
        out.json().unowned_files(),
        ["tools/fmt.sh", "tools/lint.sh"]
    );
}

#[test]
fn unowned_warn_is_the_default() {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"services/*\"]\n")
        .write("services/api/main.go", "1\n");
    repo.commit("init");
    repo.write("Makefile", "all:\n");
    repo.commit("make");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    assert!(
        out.stderr_str()
            .starts_with("warning: 1 changed file is owned by no service (first: Makefile)"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn unowned_all_affects_every_service() {
    let repo = unowned_change("all");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "json"]);
    out.success();
    assert_eq!(out.stderr_str(), "");
    let json = out.json();
    assert_eq!(json.affected_names(), names(&["api", "web"]));
    for service in ["api", "web"] {
        assert_eq!(
            json.reasons(service),
            [
                json!({"kind": "unowned", "path": "tools/fmt.sh"}),
                json!({"kind": "unowned", "path": "tools/lint.sh"})
            ]
        );
    }
    assert_eq!(json.unowned_files(), ["tools/fmt.sh", "tools/lint.sh"]);
}

#[test]
fn unowned_ignore_says_nothing() {
    let repo = unowned_change("ignore");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "json"]);
    out.success();
    assert_eq!(out.stderr_str(), "");
    let json = out.json();
    assert!(json.affected_names().is_empty());
    // The JSON still records them: it is data for tools, not a warning.
    assert_eq!(json.unowned_files(), ["tools/fmt.sh", "tools/lint.sh"]);
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    let short = &repo.rev("HEAD~1")[..7];
    assert_eq!(
        out.stdout_str(),
        format!("0 of 2 services affected — 2 changed files (HEAD~1 ({short}) → HEAD)\n\nnothing to do: all 2 changed paths belong to no service\n")
    );
    assert_eq!(out.stderr_str(), "");
}

// ---------------------------------------------------------------------------------------------
// Dependents

/// `log` ← `auth` ← `api` (api depends on auth, auth on log), plus `web` depending on `auth` and an
/// unrelated `billing`.
fn chain() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        "\
[workspace]
members = [\"services/*\", \"libs/*\"]
[services.auth]
deps = [\"log\"]
[services.api]
deps = [\"auth\"]
[services.web]
deps = [\"auth\", \"log\"]
",
    );
    for d in [
        "libs/log",
        "libs/auth",
        "services/api",
        "services/web",
        "services/billing",
    ] {
        repo.write(format!("{d}/main.go"), "1\n");
    }
    repo.commit("init");
    repo.write("libs/log/main.go", "2\n");
    repo.commit("log");
    repo
}

#[test]
fn dependents_none_direct_transitive() {
    let repo = chain();
    let none = repo.affected_json(&["--base", "HEAD~1", "--dependents", "none"]);
    assert_eq!(none.affected_names(), names(&["log"]));
    let direct = repo.affected_json(&["--base", "HEAD~1", "--dependents", "direct"]);
    assert_eq!(direct.affected_names(), names(&["auth", "log", "web"]));
    assert_eq!(
        direct.reasons("auth"),
        [json!({"kind": "dependency", "via": ["log"]})]
    );
    let transitive = repo.affected_json(&["--base", "HEAD~1", "--dependents", "transitive"]);
    assert_eq!(
        transitive.affected_names(),
        names(&["api", "auth", "log", "web"])
    );
    assert_eq!(transitive.unaffected_names(), names(&["billing"]));
    // Transitive is the default.
    assert_eq!(repo.affected_json(&["--base", "HEAD~1"]), transitive);
}

#[test]
fn dependency_reasons_carry_the_chain() {
    let repo = chain();
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.reasons("log"),
        [json!({"kind": "file", "path": "libs/log/main.go"})]
    );
    assert_eq!(
        json.reasons("auth"),
        [json!({"kind": "dependency", "via": ["log"]})]
    );
    assert_eq!(
        json.reasons("api"),
        [json!({"kind": "dependency", "via": ["auth", "log"]})]
    );
    // web reaches log directly and through auth: both, shortest first.
    assert_eq!(
        json.reasons("web"),
        [
            json!({"kind": "dependency", "via": ["log"]}),
            json!({"kind": "dependency", "via": ["auth", "log"]})
        ]
    );
}

#[test]
fn dependency_chain_in_text_output() {
    let repo = chain();
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    let short = &repo.rev("HEAD~1")[..7];
    assert_eq!(
        out.stdout_str(),
        format!(
            "\
4 of 5 services affected — 1 changed file (HEAD~1 ({short}) → HEAD)

api
  dependency  api ← auth ← log

auth
  dependency  auth ← log

log
  changed     libs/log/main.go

web
  dependency  web ← log
  dependency  web ← auth ← log
"
        )
    );
}

#[test]
fn a_changed_dependent_lists_its_own_reasons_first() {
    let repo = chain();
    repo.write("services/api/main.go", "2\n");
    repo.commit("api too");
    let json = repo.affected_json(&["--base", "HEAD~2"]);
    assert_eq!(
        json.reasons("api"),
        [
            json!({"kind": "file", "path": "services/api/main.go"}),
            json!({"kind": "dependency", "via": ["auth", "log"]})
        ]
    );
    let text = repo.run(&["affected", "--base", "HEAD~2"]).stdout_str();
    assert!(
        text.contains("\napi\n  changed     services/api/main.go\n  (also reached through 1 affected dependency)\n"),
        "{text}"
    );
    // With --dependents none only the direct owners remain.
    let json = repo.affected_json(&["--base", "HEAD~2", "--dependents", "none"]);
    assert_eq!(json.affected_names(), names(&["api", "log"]));
    assert_eq!(
        json.reasons("api"),
        [json!({"kind": "file", "path": "services/api/main.go"})]
    );
}

#[test]
fn dependents_direct_stops_after_one_hop() {
    let repo = chain();
    repo.write("libs/auth/main.go", "2\n");
    repo.commit("auth");
    // Only auth changed in this commit: api and web depend on it directly; log is upstream.
    let json = repo.affected_json(&["--base", "HEAD~1", "--dependents", "direct"]);
    assert_eq!(json.affected_names(), names(&["api", "auth", "web"]));
    assert_eq!(
        json.reasons("web"),
        [json!({"kind": "dependency", "via": ["auth"]})]
    );
}

// ---------------------------------------------------------------------------------------------
// The sample monorepo in fixtures/

#[test]
fn sample_monorepo_proto_change_reaches_its_consumers() {
    let repo = TestRepo::from_fixture();
    repo.write(
        "fixtures/proto/order/order.proto",
        format!(
            "{}\n// new field\n",
            repo.read("fixtures/proto/order/order.proto")
        ),
    );
    repo.commit("order proto");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(
        json.affected_names(),
        names(&["api-gateway", "notification-service", "order-service"])
    );
    assert_eq!(
        json.reasons("notification-service"),
        [json!({"kind": "file", "path": "fixtures/proto/order/order.proto"})]
    );
}

#[test]
fn sample_monorepo_library_change_spreads_to_dependents() {
    let repo = TestRepo::from_fixture();
    repo.write(
        "fixtures/libs/log-lib/log.go",
        format!("{}\n// tweak\n", repo.read("fixtures/libs/log-lib/log.go")),
    );
    repo.write("fixtures/libs/log-lib/README.md", "docs are ignored\n");
    repo.commit("log-lib");
    // default_base is HEAD~1 in the sample.
    let json = repo.affected_json(&[]);
    assert_eq!(json.unaffected_names(), names(&["money-lib"]));
    assert_eq!(
        json.reasons("payment-service"),
        [json!({"kind": "dependency", "via": ["auth-lib", "log-lib"]})]
    );
    // A global input affects all ten.
    repo.write(
        "fixtures/go.work",
        format!("{}\n", repo.read("fixtures/go.work")),
    );
    repo.commit("go.work");
    assert_eq!(repo.affected_json(&[]).affected_names().len(), 10);
}

/// `members = ["."]` makes a service of the workspace root; it has no folder name of its own that
/// is the same in every clone, so it is `root`, never an empty name.
#[test]
fn the_workspace_root_as_a_member_is_named_root() {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\".\", \"services/*\"]\n")
        .write("main.go", "package main\n")
        .write("services/api/main.go", "package main\n");
    repo.commit("init");
    repo.write("main.go", "package main\n// changed\n");
    repo.commit("change");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "root\n");
}

/// A polyglot microservices repository, as the reference ones are laid out: Go modules, and
/// beside them a Node, a Python, a Java, a .NET and a Dockerfile-only service, each in its own
/// folder with its own build manifest. With no pipeline.toml every one is a service named after
/// its folder; a `package.json` in a test-data folder is not.
fn polyglot() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "src/checkout/go.mod",
        "module example.com/checkout\n\ngo 1.22\n",
    )
    .write("src/checkout/main.go", "package main\n\nfunc main() {}\n")
    .write(
        "src/currency/package.json",
        "{\"name\": \"currency\", \"scripts\": {\"test\": \"true\"}}\n",
    )
    .write("src/currency/server.js", "1;\n")
    .write("src/email/requirements.txt", "grpcio==1.60.0\n")
    .write("src/email/email_server.py", "pass\n")
    .write("src/ad/build.gradle", "plugins { id 'java' }\n")
    .write("src/ad/src/main/java/Ad.java", "class Ad {}\n")
    .write("src/cart/cart.sln", "\n")
    .write("src/cart/src/cart.csproj", "<Project/>\n")
    .write("src/cart/tests/cart.tests.csproj", "<Project/>\n")
    .write("src/edge/Dockerfile", "FROM nginx\n")
    .write("src/email/testdata/fixtures/package.json", "{}\n")
    .write("Dockerfile", "FROM scratch\n")
    .write("README.md", "shop\n");
    repo.commit("init");
    repo
}

#[test]
fn every_service_of_a_polyglot_repository_is_found_with_no_config() {
    let repo = polyglot();
    let out = repo.run(&["check"]);
    out.success();
    assert!(
        out.stdout_str().starts_with(
            "no pipeline.toml: discovered 1 .NET service, 1 Docker service, 1 Go module, 1 Java service, 1 Python service, 1 npm package: ok — 6 services"
        ),
        "{}",
        out.stdout_str()
    );
    repo.write("src/cart/tests/CartTests.cs", "class T {}\n")
        .write("src/email/email_server.py", "pass # changed\n")
        .write("src/email/testdata/fixtures/package.json", "{\"a\": 1}\n")
        .write("src/ad/src/main/java/Ad.java", "class Ad { }\n");
    repo.commit("change three services");
    let json = repo.affected_json(&["--base", "HEAD~1"]);
    assert_eq!(json.affected_names(), ["ad", "cart", "email"]);
    assert_eq!(json.unaffected_names(), ["checkout", "currency", "edge"]);
    // The standalone Node service's scripts are targets, run by npm.
    let out = repo.run(&["run", "test", "--service", "currency"]);
    out.success();
}

#[test]
fn a_folder_service_named_like_a_package_takes_its_path() {
    let repo = polyglot();
    repo.write("tools/checkout/Dockerfile", "FROM scratch\n")
        .write("checkout/requirements.txt", "flask\n");
    repo.commit("a second and a third checkout");
    let out = repo.run(&["affected", "--base", "HEAD~1", "--format", "names"]);
    out.success();
    // A top-level folder's path is its name: its kind tells it apart.
    assert_eq!(out.stdout_str(), "checkout-python\ntools/checkout\n");
}

// ---------------------------------------------------------------------------------------------
// The default base: `--base`, the variables (ours, Turborepo's, Nx's), `default_base`, the CI's
// pull request branch or push, `origin/HEAD`, `main`/`master`; one stderr line says which.

/// `a` and `b`; `main` changes nothing after `init`, `develop` changes `b`, `feature` (checked
/// out, from `develop`) changes `a`.
fn branches() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("services/a/x", "")
        .write("services/b/x", "")
        .config("[workspace]\nmembers = [\"services/*\"]\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "develop"]);
    repo.write("services/b/x", "b");
    repo.commit("b on develop");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("services/a/x", "a");
    repo.commit("a on feature");
    repo
}

/// `affected --format names ARGS` with `env`: (stdout, stderr), which must succeed.
fn names_with(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let mut all = vec!["affected", "--format", "names"];
    all.extend_from_slice(args);
    let mut cmd = repo.command(&all);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    out.success();
    (out.stdout_str(), out.stderr_str())
}

#[test]
fn turbo_and_nx_base_variables_are_used_when_ours_are_unset() {
    let repo = branches();
    let develop = repo.rev("develop");
    let short = &develop[..7];
    for var in ["SHOCKWAVE_BASE", "TURBO_SCM_BASE", "NX_BASE"] {
        let (out, err) = names_with(&repo, &[], &[(var, "develop")]);
        assert_eq!(out, "a\n", "{var}");
        assert_eq!(
            err,
            format!("base: develop (merge-base {short}): ${var}; pass --base to choose another\n"),
            "{var}"
        );
    }
    // Ours first, then Turborepo's, then Nx's; `--base` above them all, without a word.
    let (_, err) = names_with(
        &repo,
        &[],
        &[("TURBO_SCM_BASE", "develop"), ("NX_BASE", "main")],
    );
    assert!(err.contains("$TURBO_SCM_BASE"), "{err}");
    let (_, err) = names_with(
        &repo,
        &[],
        &[("SHOCKWAVE_BASE", "main"), ("TURBO_SCM_BASE", "develop")],
    );
    assert!(err.starts_with("base: main (merge-base"), "{err}");
    let (out, err) = names_with(&repo, &["--base", "main"], &[("NX_BASE", "develop")]);
    assert_eq!((out.as_str(), err.as_str()), ("a\nb\n", ""));
    // A variable wins over `default_base`, which says nothing.
    repo.config("[workspace]\nmembers = [\"services/*\"]\ndefault_base = \"main\"\n");
    let (out, err) = names_with(&repo, &[], &[]);
    assert_eq!((out.as_str(), err.as_str()), ("a\nb\n", ""));
    let (out, _) = names_with(&repo, &[], &[("NX_BASE", "develop")]);
    assert_eq!(out, "a\n");
}

#[test]
fn turbo_and_nx_head_variables_set_the_head() {
    let repo = branches();
    for var in ["SHOCKWAVE_HEAD", "TURBO_SCM_HEAD", "NX_HEAD"] {
        let (out, _) = names_with(&repo, &["--base", "main"], &[(var, "develop")]);
        assert_eq!(out, "b\n", "{var}");
    }
    let (out, _) = names_with(
        &repo,
        &["--base", "main", "--head", "HEAD"],
        &[("NX_HEAD", "develop")],
    );
    assert_eq!(out, "a\nb\n", "--head wins");
    // A head from a variable and --uncommitted contradict each other, as the flags do.
    let out = repo
        .command(&["affected", "--uncommitted"])
        .env("NX_HEAD", "develop")
        .output()
        .unwrap();
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: NX_HEAD=develop sets the head, and --uncommitted compares the worktree with HEAD; unset NX_HEAD or drop --uncommitted\n"
    );
    // Tasks run in the worktree: a head that is not checked out is refused, naming the variable.
    repo.config("[workspace]\nmembers = [\"services/*\"]\n[targets.build]\ncommand = \"true\"\n");
    let out = repo
        .command(&["run", "build", "--base", "main"])
        .env("TURBO_SCM_HEAD", "develop")
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .starts_with("error: $TURBO_SCM_HEAD (develop) is "),
        "{}",
        out.stderr_str()
    );
    assert!(out.stderr_str().contains("or unset TURBO_SCM_HEAD"));
}

#[test]
fn a_github_push_compares_with_the_commit_before_it() {
    let repo = branches();
    let before = repo.rev("develop");
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    let push = |payload: &str| {
        std::fs::write(&event, payload).unwrap();
        let path = event.to_str().unwrap().to_string();
        names_with(
            &repo,
            &[],
            &[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &path)],
        )
    };
    let (out, err) = push(&format!(
        "{{\"ref\": \"refs/heads/feature\", \"before\": \"{before}\", \"after\": \"x\"}}"
    ));
    assert_eq!(out, "a\n");
    assert_eq!(
        err,
        format!(
            "base: {before} (merge-base {}): the commit before this push (`before` in $GITHUB_EVENT_PATH); pass --base or set default_base to choose another\n",
            &before[..7]
        )
    );
    // A push that created the branch has no `before`: the default branch is the base.
    let (out, err) = push(&format!("{{\"before\": \"{}\"}}", "0".repeat(40)));
    assert_eq!(out, "a\nb\n");
    assert!(err.starts_with("base: main (merge-base"), "{err}");
    assert!(err.contains("the default branch"), "{err}");
    // A payload that is not an event is a warning, and the next way of finding a base is used.
    let (out, err) = push("not json");
    assert_eq!(out, "a\nb\n");
    assert!(
        err.starts_with("warning: cannot read the push event ")
            && err.contains("($GITHUB_EVENT_PATH): line 1: not a JSON event payload"),
        "{err}"
    );
    // Not a push (a pull request's event): the payload is not read for `before`.
    let path = event.to_str().unwrap().to_string();
    std::fs::write(&event, format!("{{\"before\": \"{before}\"}}")).unwrap();
    let (out, _) = names_with(
        &repo,
        &[],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &path),
        ],
    );
    assert_eq!(out, "a\nb\n");
}

#[test]
fn a_gitlab_push_compares_with_the_commit_before_it() {
    let repo = branches();
    let before = repo.rev("develop");
    let (out, err) = names_with(&repo, &[], &[("CI_COMMIT_BEFORE_SHA", &before)]);
    assert_eq!(out, "a\n");
    assert!(
        err.contains("the commit before this push ($CI_COMMIT_BEFORE_SHA)"),
        "{err}"
    );
    // GitLab's forty zeros (a new branch, a merge request pipeline) mean none.
    let (out, _) = names_with(&repo, &[], &[("CI_COMMIT_BEFORE_SHA", &"0".repeat(40))]);
    assert_eq!(out, "a\nb\n");
    // The merge request's target branch comes first.
    let (out, err) = names_with(
        &repo,
        &[],
        &[
            ("CI_COMMIT_BEFORE_SHA", &repo.rev("main")),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop"),
        ],
    );
    assert_eq!(out, "a\n");
    assert!(
        err.contains("$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        "{err}"
    );
}

#[test]
fn origin_head_names_the_default_branch_of_a_clone() {
    let source = branches();
    let clone = TestRepo::clone_from(&source, &[]);
    clone.git(&["checkout", "-q", "feature"]);
    clone.git(&["remote", "set-head", "origin", "develop"]);
    let (out, err) = names_with(&clone, &[], &[]);
    assert_eq!(out, "a\n");
    assert_eq!(
        err,
        format!(
            "base: origin/develop (merge-base {}): the branch origin/HEAD points to; pass --base or set default_base to choose another\n",
            &source.rev("develop")[..7]
        )
    );
}

/// A base found in a shallow clone that lacks it is never a silent guess: exit 3 with the fetch
/// hint, after the line saying which base it was.
#[test]
fn a_found_base_missing_from_a_shallow_clone_exits_3() {
    let source = branches();
    let clone = TestRepo::clone_from(&source, &["--depth", "1", "--branch", "feature"]);
    let before = source.rev("develop");
    let out = clone
        .command(&["affected"])
        .env("CI_COMMIT_BEFORE_SHA", &before)
        .output()
        .unwrap();
    out.expect_code(3);
    let err = out.stderr_str();
    assert!(
        err.starts_with(&format!(
            "base: {before}: the commit before this push ($CI_COMMIT_BEFORE_SHA); pass --base"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: base `{before}` is not in this clone (shallow clone with 1 boundary commit): fetch full history (`fetch-depth: 0` in actions/checkout) or run `git fetch --deepen=200`"
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// `--filter` with Turborepo's syntax, and `ls`.

/// An npm workspace: `web` and `docs` (apps) use `@acme/ui`, which uses `@acme/utils`.
fn turbo_workspace() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"private\": true, \"workspaces\": [\"apps/*\", \"packages/*\"]}\n",
    );
    for (dir, name, scripts, deps) in [
        (
            "apps/web",
            "web",
            "\"build\": \"x\", \"lint\": \"x\"",
            "\"@acme/ui\": \"*\"",
        ),
        (
            "apps/docs",
            "docs",
            "\"build\": \"x\"",
            "\"@acme/ui\": \"*\"",
        ),
        (
            "packages/ui",
            "@acme/ui",
            "\"build\": \"x\"",
            "\"@acme/utils\": \"*\"",
        ),
        (
            "packages/utils",
            "@acme/utils",
            "\"build\": \"x\", \"test\": \"x\"",
            "",
        ),
    ] {
        repo.write(
            format!("{dir}/package.json"),
            format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\", \"scripts\": {{{scripts}}}, \"dependencies\": {{{deps}}}}}\n"),
        )
        .write(format!("{dir}/index.js"), "1;\n");
    }
    repo.commit("init");
    repo
}

/// The names `ls --format json --filter F...` lists, run in `dir`.
fn ls_filtered(repo: &TestRepo, dir: &str, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["ls", "--format", "json"];
    for f in filters {
        args.push("--filter");
        args.push(f);
    }
    repo.run_in(dir, &args).success().json()["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn filter_selects_as_turborepo_does() {
    let repo = turbo_workspace();
    let ls = |filters: &[&str]| ls_filtered(&repo, ".", filters);
    assert_eq!(ls(&["web"]), names(&["web"]));
    assert_eq!(ls(&["@acme/*"]), names(&["@acme/ui", "@acme/utils"]));
    assert_eq!(
        ls(&["ui"]),
        names(&["@acme/ui"]),
        "an unscoped name finds its one scope"
    );
    // `name...`: it and what it depends on; `...name`: it and what depends on it; `^` leaves
    // it out.
    assert_eq!(ls(&["web..."]), names(&["@acme/ui", "@acme/utils", "web"]));
    assert_eq!(ls(&["web^..."]), names(&["@acme/ui", "@acme/utils"]));
    assert_eq!(ls(&["...@acme/ui"]), names(&["@acme/ui", "docs", "web"]));
    assert_eq!(ls(&["...^@acme/ui"]), names(&["docs", "web"]));
    assert_eq!(
        ls(&["...@acme/ui..."]),
        names(&["@acme/ui", "@acme/utils", "docs", "web"])
    );
    // Folders, relative to the current directory; braces combine with a name.
    assert_eq!(ls(&["./apps/*"]), names(&["docs", "web"]));
    assert_eq!(ls(&["{packages/ui}"]), names(&["@acme/ui"]));
    assert_eq!(ls(&["w*{./apps/*}"]), names(&["web"]));
    assert_eq!(ls_filtered(&repo, "apps", &["./web"]), names(&["web"]));
    assert_eq!(
        ls_filtered(&repo, "apps", &["../packages/*"]),
        names(&["@acme/ui", "@acme/utils"])
    );
    // Several filters: their union, less what `!` filters pick; `!` alone: everything less it.
    assert_eq!(ls(&["web", "docs"]), names(&["docs", "web"]));
    assert_eq!(ls(&["./apps/*", "!docs"]), names(&["web"]));
    assert_eq!(ls(&["!./apps/*"]), names(&["@acme/ui", "@acme/utils"]));
}

#[test]
fn filter_changed_since_a_revision() {
    let repo = turbo_workspace();
    repo.write("packages/utils/index.js", "2;\n");
    repo.commit("utils");
    let ls = |filters: &[&str]| ls_filtered(&repo, ".", filters);
    assert_eq!(ls(&["[HEAD~1]"]), names(&["@acme/utils"]));
    assert_eq!(
        ls(&["...[HEAD~1]"]),
        names(&["@acme/ui", "@acme/utils", "docs", "web"])
    );
    assert_eq!(ls(&["[HEAD~1...HEAD~1]"]), names(&[]));
    // `[REV]` takes uncommitted changes too; `NAME...[REV]`: NAME when it or a dependency changed.
    repo.write("apps/docs/index.js", "2;\n");
    assert_eq!(ls(&["[HEAD]"]), names(&["docs"]));
    assert_eq!(ls(&["web...[HEAD~1]"]), names(&["web"]));
    assert_eq!(ls(&["web...[HEAD]"]), names(&[]));
    assert_eq!(
        ls(&["./apps/*[HEAD]"]).len(),
        0,
        "a location is a folder, all of it"
    );
    assert_eq!(ls(&["{./apps/*}[HEAD]"]), names(&["docs"]));

    // `run`, `affected` and `graph` take the same filters.
    let plan = repo.dry_run(&["build", "--filter", "web..."]);
    let tasks: Vec<String> = plan_tasks(&plan).into_iter().map(|t| t.0).collect();
    assert_eq!(tasks, ["@acme/utils:build", "@acme/ui:build", "web:build"]);
    assert_eq!(plan["selection"], "filter");
    assert_eq!(
        plan["tasks"][2]["reasons"],
        json!([{"kind": "selected", "by": "--filter web..."}])
    );
    // With a range asked for, the filter narrows what it affects.
    let plan = repo.dry_run(&["build", "--filter", "./apps/*", "--base", "HEAD~1"]);
    let requested: Vec<String> = plan_tasks(&plan)
        .into_iter()
        .filter(|t| t.2)
        .map(|t| t.0)
        .collect();
    assert_eq!(requested, ["docs:build", "web:build"]);
    let out = repo.run(&[
        "affected", "--base", "HEAD~1", "--filter", "@acme/*", "--format", "names",
    ]);
    assert_eq!(out.success().stdout_str(), "@acme/ui\n@acme/utils\n");
    let graph = repo
        .run(&["graph", "--format", "json", "--filter", "...^@acme/ui"])
        .success()
        .json();
    let shown: Vec<&str> = graph["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["docs", "web"]);
}

#[test]
fn filter_errors_name_the_selector_and_where() {
    let repo = turbo_workspace();
    let fails = |filter: &str, code: i32| {
        let out = repo.run(&["ls", "--filter", filter]);
        out.expect_code(code);
        out.stderr_str()
    };
    assert_eq!(
        fails("web{apps", 2),
        "error: invalid --filter `web{apps`: `{` is never closed (column 4)\n  --filter web{apps\n              ^\n  = help: write the folder as `{apps/web}`\n"
    );
    let err = fails("...", 2);
    assert!(
        err.contains("invalid --filter `...`: nothing to select (column 1)"),
        "{err}"
    );
    // A name with no `*` that no service has, and a folder that does not exist, are errors.
    let err = fails("wbe", 2);
    assert!(
        err.contains("error: --filter `wbe`: no service named `wbe`; did you mean `web`? `shockwave ls` lists them"),
        "{err}"
    );
    let err = fails("./pakcages/*", 2);
    assert!(
        err.contains("error: --filter `./pakcages/*`: there is no folder `pakcages`"),
        "{err}"
    );
    let err = fails("../../x", 2);
    assert!(err.contains("the folder leaves the workspace"), "{err}");
    // A pattern that matches nothing is a warning naming it.
    let out = repo.run(&["ls", "--filter", "zz*", "--filter", "web"]);
    out.success();
    assert!(
        out.stderr_str()
            .contains("warning: --filter `zz*` selects nothing: it matches no service"),
        "{}",
        out.stderr_str()
    );
    // A syntax error is a usage error before anything is read, even outside a repository.
    let dir = TestRepo::empty_dir();
    let out = dir.run(&["run", "build", "--filter", "[main"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("`[` is never closed"),
        "{}",
        out.stderr_str()
    );
    // `--filter` picks services itself: not with `--all` or `--service`.
    repo.run(&["run", "build", "--all", "--filter", "web"])
        .expect_code(2);
}

#[test]
fn ls_lists_services_with_kind_root_and_targets() {
    let repo = turbo_workspace();
    let out = repo.run(&["ls"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "NAME         KIND     ECOSYSTEM  ROOT            TARGETS\n\
         @acme/ui     service  npm        packages/ui     build\n\
         @acme/utils  service  npm        packages/utils  build, test\n\
         docs         service  npm        apps/docs       build\n\
         web          service  npm        apps/web        build, lint\n\
         \n4 services\n"
    );
    let json = repo.run(&["ls", "--format", "json"]).success().json();
    assert_eq!(json["schema"], 1);
    assert_eq!(
        json["services"][0],
        json!({"name": "@acme/ui", "kind": "service", "ecosystem": "npm", "root": "packages/ui", "targets": ["build"], "deps": ["@acme/utils"]})
    );
    // A service pipeline.toml declares has no ecosystem; the workspace root shows as `.`.
    let repo = TestRepo::new();
    repo.config("[services.root]\nroot = \".\"\n[targets.build]\ncommand = \"true\"\n");
    repo.commit("init");
    let json = repo.run(&["ls", "--format", "json"]).success().json();
    assert_eq!(
        json["services"],
        json!([{"name": "root", "kind": "service", "ecosystem": null, "root": ".", "targets": ["build"], "deps": []}])
    );
}
