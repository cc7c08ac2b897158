//! Git and worktree edge cases: linked worktrees, build outputs that are not ignored, ignored member
//! folders, sparse checkouts, very deep trees, repository formats shockwave cannot read yet, and
//! service roots that lead out of the repository. Each test names what it guards (issue 6, items
//! 10–15 and 18).

use crate::common;

use std::path::Path;

use common::{names, set, AffectedJson, OutputExt, TestRepo};

/// `git worktree add` of a detached `HEAD` at `dir` (outside the repository).
fn add_worktree(repo: &TestRepo, dir: &Path) {
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "--detach",
        &dir.display().to_string(),
    ]);
}

/// A `shockwave` command run in `dir` with the hermetic test environment.
fn shockwave_in(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(common::BIN);
    common::hermetic(&mut cmd)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run shockwave")
}

// ---------------------------------------------------------------------------------------------
// Item 10: in a linked worktree `.git` is a file; like the `.git` directory it is git's, never an
// input of a task nor a change.

#[test]
fn linked_worktree_git_file_is_neither_input_nor_change() {
    let repo = TestRepo::new();
    // A service rooted at the workspace root sees the worktree's top-level `.git` file.
    repo.config(
        "[services.root]\nroot = \".\"\n[targets.build]\ncommand = \"true\"\n[services.a]\nroot = \"services/a\"\n",
    )
    .write("services/a/main.go", "package a\n");
    repo.commit("init");
    let main_hashes = repo.task_hashes(&["build"]);

    let outside = tempfile::tempdir().unwrap();
    for name in ["one", "two"] {
        let wt = outside.path().join(name);
        add_worktree(&repo, &wt);
        assert!(
            wt.join(".git").is_file(),
            "a linked worktree has a .git file"
        );
        // A `.git` file below the top (a nested checkout's link) is git's too.
        std::fs::write(wt.join("services/a/.git"), "gitdir: /nowhere\n").unwrap();

        let out = shockwave_in(&wt, &["affected", "--uncommitted", "--format", "json"]);
        let doc = out.success().json();
        assert!(doc.changed().is_empty(), "{doc:#}");
        assert!(doc.unowned_files().is_empty(), "{doc:#}");
        assert!(doc.affected_names().is_empty(), "{doc:#}");

        let explain = shockwave_in(&wt, &["hash", "build", "--all", "--explain"]);
        let text = explain.success().stdout_str();
        assert!(!text.contains(".git"), "{text}");

        // The hashes depend on the content only, not on where the worktree lives.
        let out = shockwave_in(&wt, &["hash", "build", "--all", "--json"]);
        let hashes: std::collections::BTreeMap<String, String> = out.success().json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["task"].as_str().unwrap().to_string(),
                    t["hash"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(hashes, main_hashes, "worktree {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11: untracked files that a service's targets declare as `outputs` are products, not
// changes: hashing leaves them out, and so does `--uncommitted`.

const BUILD_CONFIG: &str = "\
[workspace]
members = [\"services/*\"]
[targets.build]
command = \"mkdir -p bin && echo built > bin/app && echo log > build.log\"
outputs = [\"bin/**\", \"build.log\"]
";

#[test]
fn untracked_outputs_are_not_uncommitted_changes() {
    let repo = TestRepo::new();
    repo.config(BUILD_CONFIG)
        .write("services/a/main.go", "package a\n")
        .write("services/b/main.go", "package b\n")
        // A tracked file that matches `outputs` is a source as far as git goes.
        .write("services/b/bin/checked-in.txt", "v1\n");
    repo.commit("init");
    repo.run(&["run", "build", "--all"]).success();
    assert!(repo.abs("services/a/bin/app").is_file());

    let doc = repo.affected_json(&["--uncommitted"]);
    assert!(doc.affected_names().is_empty(), "{doc:#}");
    assert!(doc.changed().is_empty(), "{doc:#}");

    // An untracked file that is not an output still counts, and so does a tracked output.
    repo.write("services/a/notes.txt", "new\n")
        .write("services/b/bin/checked-in.txt", "v2\n");
    let doc = repo.affected_json(&["--uncommitted"]);
    assert_eq!(doc.affected_names(), names(&["a", "b"]), "{doc:#}");
    assert_eq!(
        doc.changed_paths(),
        set(&["services/a/notes.txt", "services/b/bin/checked-in.txt"])
    );
}

#[test]
fn untracked_outputs_of_a_nested_service_follow_the_deepest_root() {
    let repo = TestRepo::new();
    // `outer/bin/x` is an output of `outer`; `outer/inner/bin/x` is not an output of `inner`.
    repo.config(
        "[targets.build]\ncommand = \"true\"\n[services.outer]\nroot = \"outer\"\n[services.outer.targets.build]\noutputs = [\"bin/**\"]\n[services.inner]\nroot = \"outer/inner\"\n",
    )
    .write("outer/main.go", "")
    .write("outer/inner/main.go", "");
    repo.commit("init");
    repo.write("outer/bin/x", "").write("outer/inner/bin/x", "");
    let doc = repo.affected_json(&["--uncommitted"]);
    assert_eq!(doc.changed_paths(), set(&["outer/inner/bin/x"]), "{doc:#}");
    assert_eq!(doc.affected_names(), names(&["inner"]));
}

// ---------------------------------------------------------------------------------------------
// Item 12: a folder git ignores is not a service, however the members glob reads.

#[test]
fn members_skip_git_ignored_directories() {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"services/*\", \"pkgs/**\"]\n")
        .write(".gitignore", ".cache/\ngenerated/\n")
        .write("services/a/main.go", "package a\n")
        .write("services/.cache/blob", "x\n")
        .write("pkgs/p/main.go", "")
        // Below an ignored folder everything is ignored too.
        .write("pkgs/generated/q/main.go", "");
    repo.commit("init");
    let out = repo.run(&["graph", "--format", "json"]);
    let graph = out.success().json();
    let found: Vec<&str> = graph["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["a", "p"], "{graph:#}");
    let out = repo.run(&["check"]);
    assert!(
        out.success().stdout_str().contains("ok — 2 services"),
        "{}",
        out.stdout_str()
    );
}

// ---------------------------------------------------------------------------------------------
// Item 13: in a sparse checkout, services outside the cone are still services (and their committed
// changes affect them).

fn sparse_repo(sparse_index: bool) -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"services/*\"]\n[services.lib]\nroot = \"libs/lib\"\n[targets.build]\ncommand = \"true\"\n",
    )
    .write("services/a/main.go", "package a\n")
    .write("services/b/main.go", "package b\n")
    .write("libs/lib/lib.go", "package lib\n");
    repo.commit("init");
    repo.write("services/b/main.go", "package b // changed\n")
        .write("libs/lib/lib.go", "package lib // changed\n");
    repo.commit("change b and lib");
    let mut args = vec!["sparse-checkout", "set", "--cone"];
    if sparse_index {
        args.push("--sparse-index");
    }
    args.push("services/a");
    repo.git(&args);
    assert!(!repo.abs("services/b").exists(), "b is outside the cone");
    assert!(!repo.abs("libs").exists(), "libs is outside the cone");
    repo
}

#[test]
fn sparse_checkout_keeps_services_outside_the_cone() {
    for sparse_index in [false, true] {
        let repo = sparse_repo(sparse_index);
        let doc = repo.affected_json(&["--base", "HEAD~1"]);
        assert_eq!(
            doc.affected_names(),
            names(&["b", "lib"]),
            "sparse index: {sparse_index}\n{doc:#}"
        );
        assert!(doc.unowned_files().is_empty(), "{doc:#}");
        assert_eq!(doc.unaffected_names(), names(&["a"]));
        let out = repo.run(&["check"]);
        assert!(
            out.success().stdout_str().contains("ok — 3 services"),
            "{}",
            out.stdout_str()
        );
    }
}

#[test]
fn running_a_service_outside_the_sparse_cone_says_how_to_add_it() {
    let repo = sparse_repo(false);
    let out = repo.run(&["run", "build", "--service", "b"]);
    out.expect_code(1);
    assert!(
        out.stdout_str()
            .contains("in a sparse checkout, add it with `git sparse-checkout add`"),
        "{}",
        out.stdout_str()
    );
}

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

// ---------------------------------------------------------------------------------------------
// Item 15: repository formats shockwave cannot read yet are named, with exit 3.

#[test]
fn sha256_repository_is_named_as_unsupported() {
    let repo = TestRepo::empty_dir();
    repo.git(&["init", "-q", "--object-format=sha256", "-b", "main"]);
    repo.config("[workspace]\nmembers = [\"services/*\"]\n")
        .write("services/a/main.go", "");
    let out = repo.run(&["affected", "--uncommitted"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str().replace(&repo.path().display().to_string(), "[REPO]"),
        "error: the repository at [REPO]/.git uses SHA-256 object ids, which shockwave does not support yet; only SHA-1 repositories (git's default object format) can be read\n"
    );
    // `check` reads only the config, so it still works.
    repo.run(&["check"]).success();
}

#[test]
fn reftable_repository_is_named_as_unsupported() {
    let repo = TestRepo::empty_dir();
    let init = repo
        .git_cmd(&["init", "-q", "--ref-format=reftable", "-b", "main"])
        .output()
        .unwrap();
    if !init.status.success() {
        eprintln!(
            "skipped: this git cannot create reftable repositories ({})",
            String::from_utf8_lossy(&init.stderr).trim()
        );
        return;
    }
    for (key, value) in [("user.name", "T"), ("user.email", "t@example.com")] {
        repo.git(&["config", key, value]);
    }
    repo.config("[workspace]\nmembers = [\"services/*\"]\n")
        .write("services/a/main.go", "");
    repo.commit("init");
    let out = repo.run(&["affected", "--base", "HEAD"]);
    out.expect_code(3);
    assert_eq!(
        out.stderr_str().replace(&repo.path().display().to_string(), "[REPO]"),
        "error: the repository at [REPO]/.git uses the reftable ref storage, which shockwave does not support yet; convert it with `git refs migrate --ref-format=files` (git 2.46 or later)\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 18: a root or members pattern that leads out of the repository is a config error, before
// any command runs.

#[test]
fn root_symlink_leaving_the_repository_is_refused() {
    let repo = TestRepo::new();
    let outside = tempfile::tempdir().unwrap();
    let target = std::fs::canonicalize(outside.path()).unwrap();
    repo.symlink(&target, "services/evil")
        .write("services/good/main.go", "")
        .config(
            "[targets.build]\ncommand = \"touch ran\"\n[services.good]\nroot = \"services/good\"\n[services.evil]\nroot = \"services/evil\"\n",
        );
    repo.commit("a symlink out of the repository");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    let err = out
        .stderr_str()
        .replace(&target.display().to_string(), "[OUTSIDE]");
    assert!(
        err.contains("error: root `services/evil` leads outside the repository (to [OUTSIDE]) through a symlink\n --> pipeline.toml:6:8\n"),
        "{err}"
    );
    let out = repo.run(&["run", "build", "--all"]);
    out.expect_code(2);
    assert!(!target.join("ran").exists(), "nothing ran outside");
    assert!(
        !repo.abs("services/good/ran").exists(),
        "nothing ran at all"
    );
}

#[test]
fn members_reaching_outside_the_repository_are_refused() {
    let repo = TestRepo::new();
    repo.write("services/a/main.go", "")
        .config("[workspace]\nmembers = [\"services/*\", \"../*\"]\n");
    repo.commit("init");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "\
error: members pattern `../*` reaches outside the repository
 --> pipeline.toml:2:26
  |
2 | members = [\"services/*\", \"../*\"]
  |                          ^^^^^^
  = help: members patterns are relative to the directory holding pipeline.toml and cannot climb above it

error: pipeline.toml has 1 error
"
    );
}

#[test]
fn members_through_a_symlinked_folder_leaving_the_repository_are_refused() {
    let repo = TestRepo::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("x")).unwrap();
    let target = std::fs::canonicalize(outside.path()).unwrap();
    repo.symlink(&target, "services").config(
        "[workspace]\nmembers = [\"services/*\"]\n[targets.build]\ncommand = \"touch ran\"\n",
    );
    repo.commit("init");
    let out = repo.run(&["run", "build", "--all"]);
    out.expect_code(2);
    let err = out
        .stderr_str()
        .replace(&target.display().to_string(), "[OUTSIDE]");
    assert!(
        err.contains("error: members pattern `services/*` matches `services/x`, which leads outside the repository (to [OUTSIDE]/x) through a symlink\n"),
        "{err}"
    );
    assert!(!target.join("x/ran").exists(), "nothing ran outside");
}

#[test]
fn root_symlink_inside_the_repository_resolves_to_its_target() {
    let repo = TestRepo::new();
    repo.write("real/a/main.go", "package a\n")
        .symlink("../real/a", "services/a")
        .config("[services.a]\nroot = \"services/a\"\n[targets.build]\ncommand = \"true\"\n");
    repo.commit("init");
    repo.write("real/a/main.go", "package a // changed\n");
    let doc = repo.affected_json(&["--uncommitted"]);
    assert_eq!(doc.affected_names(), names(&["a"]), "{doc:#}");
}

#[test]
fn roots_inside_git_and_members_with_dot_dot_are_refused() {
    let repo = TestRepo::new();
    repo.write("libs/a/main.go", "").config(
        "[workspace]\nmembers = [\"services/../libs/*\"]\n[services.hooks]\nroot = \".git/hooks\"\n",
    );
    repo.commit("init");
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "\
error: members pattern `services/../libs/*` contains `..`
 --> pipeline.toml:2:12
  |
2 | members = [\"services/../libs/*\"]
  |            ^^^^^^^^^^^^^^^^^^^^
  = help: write the pattern without `..` (`libs/*`)

error: root `.git/hooks` is inside git's own directory (`.git/hooks`)
 --> pipeline.toml:4:8
  |
4 | root = \".git/hooks\"
  |        ^^^^^^^^^^^^
  = help: a service's root must be part of the worktree, not of `.git`

error: pipeline.toml has 2 errors
"
    );
}

// ---------------------------------------------------------------------------------------------
// A scan restricted to some services compares only the directories it enters with the index; its
// answers must be exactly those of a scan of everything.

#[test]
fn a_scoped_scan_hashes_exactly_as_a_full_scan() {
    let repo = TestRepo::new();
    repo.write(
        "pipeline.toml",
        "[workspace]\nglobal_inputs = [\"ci/**\"]\n[targets.build]\ncommand = \"true\"\n\
         [services.a]\nroot = \"svc/a\"\n[services.b]\nroot = \"svc/b\"\npaths = [\"proto/b/b.proto\"]\n\
         [services.gen]\nroot = \"svc/b/gen\"\n[services.top]\nroot = \"top\"\n",
    )
    .write("svc/a/main.go", "package main\n")
    .write("svc/a/x/deep.go", "package x\n")
    .write("svc/b/main.go", "package main\n")
    .write("svc/b/util/u.go", "package util\n")
    .write("svc/b.txt", "between\n")
    .write("proto/b/b.proto", "syntax\n")
    .write("top/t.sh", "echo\n")
    .write("ci/run.sh", "echo\n");
    std::fs::create_dir_all(repo.abs("svc/b/gen")).unwrap();
    repo.write("svc/b/gen/.keep", "");
    repo.commit("init");
    // `gen` is a service with nothing tracked but a placeholder; its generated file is untracked.
    repo.git(&["rm", "-q", "--cached", "svc/b/gen/.keep"]);
    repo.write("svc/b/gen/out.go", "package gen\n");
    repo.commit("untrack gen");

    let scoped = |service: &str| -> String {
        let json = repo
            .run(&["hash", "build", "--service", service, "--json"])
            .success()
            .json();
        json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["task"] == format!("{service}:build"))
            .unwrap_or_else(|| panic!("{json:#}"))["hash"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let edits: &[&dyn Fn()] = &[
        &|| {},
        &|| {
            repo.write("svc/a/main.go", "package main // edited\n");
        },
        &|| {
            repo.write("svc/b/util/new.go", "package util // untracked\n");
        },
        &|| {
            std::fs::remove_file(repo.abs("svc/a/x/deep.go")).unwrap();
        },
        &|| {
            repo.write("svc/b.txt", "changed between\n");
            repo.write("proto/b/b.proto", "syntax 2\n");
        },
        &|| {
            repo.write("svc/b/gen/more.go", "package gen // untracked\n");
            std::fs::remove_dir_all(repo.abs("svc/b/util")).unwrap();
        },
        &|| {
            repo.write("ci/run.sh", "echo changed\n");
            repo.write("top/t.sh", "echo changed\n");
        },
    ];
    for (step, edit) in edits.iter().enumerate() {
        edit();
        let full = repo.task_hashes(&["build"]);
        for service in ["a", "b", "gen", "top"] {
            assert_eq!(
                scoped(service),
                full[&format!("{service}:build")],
                "step {step}: {service} hashed differently when scanned alone"
            );
        }
    }
}
