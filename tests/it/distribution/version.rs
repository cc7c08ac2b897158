//! `shockwave --version` names the release and the commit it was built from; the commit is read
//! from `.git` as plain files by `build/commit.rs`, tested here on checkouts of every layout.

#[path = "../../../build/commit.rs"]
mod commit;

use std::process::Command;

use super::source_dir;
use crate::common::{OutputExt, TestRepo};

#[test]
fn version_names_the_release_and_the_commit() {
    let out = TestRepo::empty_dir().run(&["--version"]);
    out.success();
    let line = out.stdout_str();
    let prefix = format!("shockwave {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .trim_end()
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{line}"
    );
    // Built from this checkout (unless a packager named another commit): its HEAD.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(source_dir())
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(head) = head {
        if std::env::var_os("SHOCKWAVE_COMMIT").is_none() {
            assert_eq!(commit, &head.stdout_str()[..12], "{line}");
        }
    }
}

#[test]
fn the_commit_is_read_from_a_branch_a_packed_ref_and_a_detached_head() {
    let repo = TestRepo::new();
    repo.write("a", "1");
    let first = repo.commit("first");
    assert_eq!(
        commit::from_checkout(repo.path()).as_deref(),
        Some(first.as_str())
    );
    // From a folder below the root too.
    repo.mkdir("sub/dir");
    assert_eq!(
        commit::from_checkout(&repo.abs("sub/dir")).as_deref(),
        Some(first.as_str())
    );
    repo.write("a", "2");
    let second = repo.commit("second");
    repo.git(&["pack-refs", "--all", "--prune"]);
    assert!(!repo.abs(".git/refs/heads/main").exists());
    assert_eq!(
        commit::from_checkout(repo.path()).as_deref(),
        Some(second.as_str())
    );
    repo.git(&["checkout", "-q", "--detach", &first]);
    assert_eq!(
        commit::from_checkout(repo.path()).as_deref(),
        Some(first.as_str())
    );
}

#[test]
fn the_commit_is_read_from_a_linked_worktree() {
    let repo = TestRepo::new();
    repo.write("a", "1");
    let first = repo.commit("first");
    let wt = TestRepo::empty_dir();
    let path = wt.abs("linked");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "other",
        path.to_str().unwrap(),
    ]);
    repo.write("a", "2");
    repo.commit("second on main");
    assert_eq!(
        commit::from_checkout(&path).as_deref(),
        Some(first.as_str())
    );
}

#[test]
fn outside_a_checkout_there_is_no_commit() {
    let dir = TestRepo::empty_dir();
    // A temporary directory has no `.git` above it on a sane machine; if one has, skip.
    if dir.path().ancestors().any(|d| d.join(".git").exists()) {
        return;
    }
    assert_eq!(commit::from_checkout(dir.path()), None);
    dir.write(".git/HEAD", "ref: refs/heads/main\n");
    assert_eq!(commit::from_checkout(dir.path()), None, "an unborn branch");
}
