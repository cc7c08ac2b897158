//! Usage errors exit 2 wherever they are run. Flags are checked before anything is read, and what
//! needs the config (a base to compare with, service and target names) right after the config and
//! before any git work — so outside a repository, too, these are usage errors rather than "not a
//! git repository" (exit 3). Every case runs in a plain directory and in a repository.

use crate::common;

use common::{OutputExt, TestRepo};

const CONFIG: &str =
    "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"echo built\"\n";

/// One service `one` with a `build` target and no `default_base`: outside a repository, and the
/// same files committed in one.
fn both_places() -> [(&'static str, TestRepo); 2] {
    let plain = TestRepo::empty_dir();
    plain.config(CONFIG).write("svc/one/x.txt", "1\n");
    let repo = TestRepo::new();
    repo.config(CONFIG).write("svc/one/x.txt", "1\n");
    repo.commit("init");
    [("outside a repository", plain), ("in a repository", repo)]
}

/// Runs `args` in both places and checks each exits 2 with a message containing `expected`.
fn usage_error(args: &[&str], expected: &str) {
    for (place, dir) in both_places() {
        let out = dir.run(args);
        out.expect_code(2);
        let err = out.stderr_str();
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{} {place}: expected {expected:?} in:\n{err}",
            args.join(" ")
        );
        assert_eq!(out.stdout_str(), "", "{} {place}", args.join(" "));
    }
}

const HEAD_AND_UNCOMMITTED: &str =
    "--uncommitted compares the worktree with HEAD, so it cannot be combined with --head";

#[test]
fn head_with_uncommitted_is_refused_by_every_command_that_takes_a_range() {
    for args in [
        &["affected", "--head", "HEAD", "--uncommitted"][..],
        &["graph", "--affected", "--head", "HEAD", "--uncommitted"],
        &["run", "build", "--head", "HEAD", "--uncommitted"],
        &["hash", "build", "--head", "HEAD", "--uncommitted"],
    ] {
        usage_error(args, HEAD_AND_UNCOMMITTED);
    }
}

#[test]
fn head_with_uncommitted_is_refused_before_looking_for_a_config() {
    let dir = TestRepo::empty_dir();
    let out = dir.run(&["affected", "--head", "HEAD", "--uncommitted"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(HEAD_AND_UNCOMMITTED),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn graph_without_affected_ignores_the_range_flags() {
    for (_, dir) in both_places() {
        dir.run(&["graph", "--head", "HEAD", "--uncommitted"])
            .success();
    }
}

#[test]
fn an_invalid_prune_size_is_refused() {
    usage_error(
        &["cache", "prune", "--max-size", "bogus"],
        "--max-size: invalid size `bogus`: expected a number with an optional unit, like 500M or 2G",
    );
    usage_error(
        &["cache", "prune", "--max-size", "12 parsecs"],
        "--max-size: invalid size unit `parsecs` in `12 parsecs`: use K, M, G or T",
    );
}

#[test]
fn zero_parallel_tasks_are_refused() {
    usage_error(
        &["run", "build", "--all", "-j", "0"],
        "-j 0: the number of parallel tasks must be at least 1",
    );
}

#[test]
fn a_run_that_selects_nothing_is_refused() {
    usage_error(
        &["run", "build"],
        "nothing selected: pass --all, --service NAME, or a base for --affected",
    );
}

#[test]
fn an_unknown_service_is_refused() {
    let expected = "no service named `nope`; `shockwave graph --format json` lists them";
    usage_error(&["run", "build", "--service", "nope"], expected);
    usage_error(&["hash", "build", "--service", "one", "nope"], expected);
    usage_error(
        &["affected", "--base", "HEAD", "--explain", "nope"],
        expected,
    );
    usage_error(
        &["affected", "--base", "HEAD", "--explain", "onr"],
        "no service named `onr`; did you mean `one`?",
    );
}

#[test]
fn an_unknown_target_is_refused() {
    usage_error(
        &["run", "biuld", "--all"],
        "no target named `biuld`; did you mean `build`? defined targets: build",
    );
    usage_error(
        &["hash", "deploy", "--service", "one"],
        "no target named `deploy`; defined targets: build",
    );
}

/// The checks above run before git, not instead of it: without a usage error, a missing
/// repository is still exit 3.
#[test]
fn outside_a_repository_a_valid_command_is_still_a_git_error() {
    let [(_, plain), _] = both_places();
    for args in [
        &["affected", "--base", "HEAD"][..],
        &["run", "build", "--all"],
        &["hash", "build", "--service", "one"],
        &["cache", "prune", "--max-size", "1G"],
    ] {
        let out = plain.run(args);
        out.expect_code(3);
        assert!(
            out.stderr_str().contains("is not inside a git repository"),
            "{}: {}",
            args.join(" "),
            out.stderr_str()
        );
    }
}

/// A workspace whose services define no target at all says how to define one, instead of an
/// empty list.
#[test]
fn an_unknown_target_with_none_defined_says_how_to_define_one() {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"services/*\"]\n")
        .write("services/api/main.py", "print(1)\n");
    repo.commit("init");
    let out = repo.run(&["run", "test", "--all"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: no target named `test`; no service defines a target yet: add `[targets.test]` with `command = \"...\"` to pipeline.toml (npm, pnpm and yarn packages get their package.json scripts, Cargo crates `build`, `test` and `lint`, Go units `build` and `test`)\n"
    );
}
