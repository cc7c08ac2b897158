//! Git and worktree edge cases: linked worktrees, build outputs that are not ignored, ignored member
//! folders, sparse checkouts, very deep trees, repository formats shockwave cannot read yet, and
//! service roots that lead out of the repository. Each test names what it guards (issue 6, items
//! 10–15 and 18).

mod common;

use common::{set, AffectedJson, TestRepo};

// ---------------------------------------------------------------------------------------------
// Item 14: the worktree scan costs heap, not stack, per directory level.

/// `depth` nested directories named `name` below `base`, with a file at the bottom.
fn chain(repo: &TestRepo, base: &str, name: &str, depth: usize) -> String {
    let mut path = base.to_string();
    for _ in 0..depth {
        path.push('/');
        path.push_str(name);
    }
    let file = format!("{path}/leaf.txt");
    repo.write(&file, "leaf\n");
    file
}

#[test]
fn worktree_scan_survives_very_deep_trees() {
    let repo = TestRepo::new();
    repo.config("[services.root]\nroot = \".\"\n[targets.build]\ncommand = \"true\"\n");
    let deep = chain(&repo, "deep", "d", 1000);
    chain(&repo, "wide", "a", 300);
    chain(&repo, "wide", "b", 300);
    repo.commit("deep trees");
    let before = repo.task_hashes(&["build"]);
    // The scan really reaches the bottom: a change there changes the hash.
    repo.write(&deep, "changed\n");
    let after = repo.task_hashes(&["build"]);
    assert_ne!(before, after);
    let doc = repo.affected_json(&["--uncommitted"]);
    assert_eq!(doc.changed_paths(), set(&[deep.as_str()]));
}
