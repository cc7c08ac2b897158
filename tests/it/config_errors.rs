//! Every configuration error a user can hit: the message, where it points (`file:line:col` with the
//! source line and a caret), what to do, and exit code 2. Outputs are compared verbatim, with the
//! temporary repository path redacted.

use crate::common;

use common::{OutputExt, TestRepo};

/// Stderr of a failed run with the repository path replaced by `[REPO]`.
fn stderr(repo: &TestRepo, out: &std::process::Output) -> String {
    out.stderr_str()
        .replace(&repo.path().display().to_string(), "[REPO]")
}

/// Writes `toml` as pipeline.toml (after creating `dirs`), runs `check` and expects exit 2 with
/// exactly `expected` on stderr and nothing on stdout.
fn check_fails(dirs: &[&str], toml: &str, expected: &str) {
    let repo = TestRepo::new();
    for d in dirs {
        repo.write(format!("{d}/main.go"), "package main\n");
    }
    repo.config(toml);
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert_eq!(
        out.stdout_str(),
        "",
        "nothing on stdout when the config is invalid"
    );
    let actual = stderr(&repo, &out);
    assert_eq!(
        actual, expected,
        "\n--- actual stderr\n{actual}\n--- expected\n{expected}"
    );
}

#[test]
fn unknown_key_is_named_with_its_position() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\nbogus = 1\n",
        "\
error: unknown field `bogus`, expected one of `members`, `default_base`, `global_inputs`, `global_env`, `ignore`, `unowned`, `discover`, `fsmonitor`
 --> pipeline.toml:3:1
  |
3 | bogus = 1
  | ^^^^^
  = help: remove the key or fix its spelling; see the README's pipeline.toml reference

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn unknown_key_in_a_service_table() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[services.a]\ndepz = [\"b\"]\n",
        "\
error: unknown field `depz`, expected one of `root`, `deps`, `paths`, `targets`
 --> pipeline.toml:5:1
  |
5 | depz = [\"b\"]
  | ^^^^
  = help: remove the key or fix its spelling; see the README's pipeline.toml reference

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn unknown_key_in_a_target() {
    check_fails(
        &[],
        "[targets.build]\ncomand = \"make\"\n",
        "\
error: unknown field `comand`, expected one of `command`, `needs`, `inputs`, `outputs`, `env`, `cache`, `persistent`, `interactive`
 --> pipeline.toml:2:1
  |
2 | comand = \"make\"
  | ^^^^^^
  = help: remove the key or fix its spelling; see the README's pipeline.toml reference

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn wrong_value_type() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = \"services/*\"\n",
        "\
error: invalid type: string \"services/*\", expected a sequence
 --> pipeline.toml:2:11
  |
2 | members = \"services/*\"
  |           ^^^^^^^^^^^^
  = help: fix the TOML syntax or value type at this position

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn duplicate_table() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n[workspace]\n",
        "\
error: duplicate key
 --> pipeline.toml:3:2
  |
3 | [workspace]
  |  ^^^^^^^^^
  = help: fix the TOML syntax or value type at this position

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn invalid_toml_syntax() {
    check_fails(
        &[],
        "[workspace]\nmembers = [\n",
        "\
error: unclosed array, expected `]`
 --> pipeline.toml:2:12
  |
2 | members = [
  |            ^
  = help: fix the TOML syntax or value type at this position

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn invalid_unowned_policy() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\nunowned = \"sometimes\"\n",
        "\
error: unknown variant `sometimes`, expected one of `warn`, `all`, `ignore`
 --> pipeline.toml:3:11
  |
3 | unowned = \"sometimes\"
  |           ^^^^^^^^^^^
  = help: fix the TOML syntax or value type at this position

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn unknown_dependency_suggests_the_closest_name() {
    check_fails(
        &["services/user-service", "libs/auth-lib"],
        "[workspace]\nmembers = [\"services/*\", \"libs/*\"]\n\n[services.user-service]\ndeps = [\"auht-lib\"]\n",
        "\
error: service `user-service` depends on `auht-lib`, which is not a service
 --> pipeline.toml:5:9
  |
5 | deps = [\"auht-lib\"]
  |         ^^^^^^^^^^
  = help: did you mean `auth-lib`? Otherwise declare that service or fix the name

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn dependency_on_itself() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n[services.a]\ndeps = [\"a\"]\n",
        "\
error: service `a` depends on itself
 --> pipeline.toml:4:9
  |
4 | deps = [\"a\"]
  |         ^^^
  = help: remove it from `deps`

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn dependency_cycle_is_printed_in_order() {
    check_fails(
        &["s/a", "s/b", "s/c"],
        "[workspace]\nmembers = [\"s/*\"]\n\n[services.a]\ndeps = [\"b\"]\n[services.b]\ndeps = [\"c\"]\n[services.c]\ndeps = [\"a\"]\n",
        "\
error: dependency cycle: a → b → c → a
 --> pipeline.toml:5:9
  |
5 | deps = [\"b\"]
  |         ^^^
  = help: services must form a DAG; remove one of the `deps` entries in this cycle

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn invalid_glob_in_each_field() {
    let repo = TestRepo::new();
    repo.write("s/a/main.go", "").config(
        "[workspace]\nmembers = [\"s/[*\"]\nignore = [\"{a,\"]\nglobal_inputs = [\"ci/[\"]\n\n[services.x]\nroot = \"s/a\"\npaths = [\"proto/[x\"]\n\n[targets.build]\ncommand = \"make\"\ninputs = [\"src/[\"]\noutputs = [\"bin/[\"]\n",
    );
    let out = repo.run(&["check"]);
    out.expect_code(2);
    // The message and the position of each error; the full layout is checked by the tests above.
    let summary: Vec<String> = stderr(&repo, &out)
        .lines()
        .filter(|l| l.starts_with("error:") || l.trim_start().starts_with("-->"))
        .map(|l| l.trim_start().to_string())
        .collect();
    assert_eq!(
        summary,
        [
            "error: invalid glob `ci/[` in global_inputs: unclosed character class; missing ']'",
            "--> pipeline.toml:4:18",
            "error: invalid glob `{a,` in ignore: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)",
            "--> pipeline.toml:3:11",
            "error: invalid glob `s/[*` in members: unclosed character class; missing ']'",
            "--> pipeline.toml:2:12",
            "error: invalid glob `proto/[x` in paths: unclosed character class; missing ']'",
            "--> pipeline.toml:8:10",
            "error: invalid glob `src/[` in inputs: unclosed character class; missing ']'",
            "--> pipeline.toml:12:11",
            "error: invalid glob `bin/[` in outputs: unclosed character class; missing ']'",
            "--> pipeline.toml:13:12",
            "error: pipeline.toml has 6 errors",
        ]
    );
}

#[test]
fn root_outside_the_repository() {
    check_fails(
        &[],
        "[services.x]\nroot = \"../x\"\n",
        "\
error: root `../x` is outside the repository
 --> pipeline.toml:2:8
  |
2 | root = \"../x\"
  |        ^^^^^^
  = help: use a path relative to the directory holding pipeline.toml, without `..` above it

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn absolute_root_is_outside_the_repository() {
    check_fails(
        &[],
        "[services.x]\nroot = \"/etc\"\n",
        "\
error: root `/etc` is outside the repository
 --> pipeline.toml:2:8
  |
2 | root = \"/etc\"
  |        ^^^^^^
  = help: use a path relative to the directory holding pipeline.toml, without `..` above it

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn missing_root_directory() {
    check_fails(
        &[],
        "[services.x]\nroot = \"services/x\"\n",
        "\
error: root `services/x` does not exist or is not a directory
 --> pipeline.toml:2:8
  |
2 | root = \"services/x\"
  |        ^^^^^^^^^^^^
  = help: create the directory or fix the path (it is relative to the directory holding pipeline.toml)

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn service_without_root_or_member_folder() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n[services.b]\ndeps = [\"a\"]\n",
        "\
error: service `b` has no `root` and no folder matched by `members` is named `b`
 --> pipeline.toml:3:11
  |
3 | [services.b]
  |           ^
  = help: add root = \"path/to/b\" to [services.b]

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn two_member_folders_with_one_name() {
    check_fails(
        &["services/auth", "libs/auth"],
        "[workspace]\nmembers = [\"services/*\", \"libs/*\"]\n",
        "\
error: two services are named `auth`: `services/auth` and `libs/auth` (a member service is named after its folder)
 --> pipeline.toml:2:26
  |
2 | members = [\"services/*\", \"libs/*\"]
  |                          ^^^^^^^^
  = help: rename one folder, or declare one explicitly as [services.<other-name>] with root = \"libs/auth\" and narrow the members globs

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn explicit_root_clashing_with_a_member_folder() {
    check_fails(
        &["services/auth", "other/auth"],
        "[workspace]\nmembers = [\"services/*\"]\n[services.auth]\nroot = \"other/auth\"\n",
        "\
error: two services are named `auth`: root `other/auth` here and member folder `services/auth`
 --> pipeline.toml:4:8
  |
4 | root = \"other/auth\"
  |        ^^^^^^^^^^^^
  = help: give this service another name, or drop `root` to configure the member service

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn needs_names_an_unknown_target() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"make\"\n[targets.test]\ncommand = \"make test\"\nneeds = [\"^biuld\"]\n",
        "\
error: [targets.test] needs `^biuld`, which is not a target
 --> pipeline.toml:8:10
  |
8 | needs = [\"^biuld\"]
  |          ^^^^^^^^
  = help: did you mean `build`? Otherwise define that target under [targets.NAME] or fix the name

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn needs_in_a_service_override() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.build]\ncommand = \"make\"\n\n[services.a.targets.build]\nneeds = [\"lint\"]\n",
        "\
error: [services.a.targets.build] needs `lint`, which is not a target
 --> pipeline.toml:8:10
  |
8 | needs = [\"lint\"]
  |          ^^^^^^
  = help: define that target under [targets.NAME] or fix the name

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn default_target_without_command_is_reported_once_at_its_table() {
    check_fails(
        &["services/a", "services/b"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[targets.test]\nneeds = []\n",
        "\
error: [targets.test] has no command, and services `a`, `b` do not set one
 --> pipeline.toml:4:10
  |
4 | [targets.test]
  |          ^^^^
  = help: add command = \"...\" to [targets.test], or to [services.NAME.targets.test] of each service

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn service_target_without_command() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[services.a.targets.lint]\ninputs = [\"**/*.go\"]\n",
        "\
error: target `lint` of service `a` has no command
 --> pipeline.toml:4:21
  |
4 | [services.a.targets.lint]
  |                     ^^^^
  = help: add command = \"...\" to [targets.lint] or [services.a.targets.lint]

error: pipeline.toml has 1 error
",
    );
}

#[test]
fn a_default_without_command_is_fine_when_every_service_sets_one() {
    let repo = TestRepo::new();
    repo.write("services/a/x", "")
        .config("[workspace]\nmembers = [\"services/*\"]\n[targets.deploy]\ncache = false\n[services.a.targets.deploy]\ncommand = \"./deploy.sh\"\n");
    repo.run(&["check"]).success();
}

#[test]
fn several_errors_are_reported_at_once() {
    check_fails(
        &["s/a", "s/b"],
        "\
[workspace]
members = [\"s/*\"]
ignore = [\"[\"]

[services.a]
deps = [\"b\", \"nope\"]
[services.b]
deps = [\"a\"]
[services.z]
root = \"../outside\"
",
        "\
error: invalid glob `[` in ignore: unclosed character class; missing ']'
 --> pipeline.toml:3:11
  |
3 | ignore = [\"[\"]
  |           ^^^
  = help: fix the pattern; `*` matches within one folder, `**` across folders, `{a,b}` alternatives

error: root `../outside` is outside the repository
  --> pipeline.toml:10:8
   |
10 | root = \"../outside\"
   |        ^^^^^^^^^^^^
   = help: use a path relative to the directory holding pipeline.toml, without `..` above it

error: service `a` depends on `nope`, which is not a service
 --> pipeline.toml:6:14
  |
6 | deps = [\"b\", \"nope\"]
  |              ^^^^^^
  = help: declare that service or fix the name

error: dependency cycle: a → b → a
 --> pipeline.toml:6:9
  |
6 | deps = [\"b\", \"nope\"]
  |         ^^^
  = help: services must form a DAG; remove one of the `deps` entries in this cycle

error: pipeline.toml has 4 errors
",
    );
}

#[test]
fn config_errors_come_before_git_errors() {
    // Not a git repository, and an invalid config: the config is what the user must fix first.
    let dir = TestRepo::empty_dir();
    dir.config("[workspace]\nbogus = 1\n");
    let out = dir.run(&["affected", "--base", "HEAD"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().starts_with("error: unknown field `bogus`"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn check_counts_in_the_singular() {
    let repo = TestRepo::new();
    repo.write("only/main.go", "package main\n");
    repo.config("[services.only]\nroot = \"only\"\n[targets.build]\ncommand = \"make\"\n");
    let out = repo.run(&["check"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "pipeline.toml: ok — 1 service, 0 dependency edges, 1 target (build), 1 task\n"
    );
}

#[test]
fn check_prints_a_one_line_summary() {
    let repo = TestRepo::new();
    for d in ["services/api", "services/web", "libs/log"] {
        repo.write(format!("{d}/main.go"), "package main\n");
    }
    repo.config(
        "\
[workspace]
members = [\"services/*\", \"libs/*\"]
[targets.build]
command = \"make\"
[targets.test]
command = \"make test\"
needs = [\"build\"]
[services.api]
deps = [\"log\"]
[services.web]
deps = [\"log\", \"api\"]
",
    );
    let out = repo.run(&["check"]);
    out.success();
    assert_eq!(
        out.stdout_str(),
        "pipeline.toml: ok — 3 services, 3 dependency edges, 2 targets (build, test), 6 tasks\n"
    );
    assert_eq!(out.stderr_str(), "");
}

#[test]
fn check_runs_from_a_subdirectory() {
    let repo = TestRepo::new();
    repo.write("services/api/main.go", "package main\n")
        .config("[workspace]\nmembers = [\"services/*\"]\n");
    let out = repo.run_in("services/api", &["check"]);
    out.success();
    assert!(
        out.stdout_str().contains(": ok — 1 service"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn config_not_found() {
    let repo = TestRepo::new();
    repo.write("services/api/main.go", "package main\n");
    let out = repo.run_in("services/api", &["affected", "--base", "HEAD"]);
    out.expect_code(2);
    let err = out
        .stderr_str()
        .replace(&repo.path().display().to_string(), "[REPO]");
    assert_eq!(
        err,
        "error: no pipeline.toml found in [REPO]/services/api or any parent directory up to the repository root; create one or pass --config PATH\n"
    );
}

#[test]
fn config_search_stops_at_the_repository_root() {
    // A pipeline.toml above the repository belongs to something else.
    let outer = TestRepo::empty_dir();
    outer.config("[workspace]\n").mkdir("inner");
    let inner = outer.abs("inner");
    let status = outer
        .git_cmd(&["init", "-q", "-b", "main"])
        .current_dir(&inner)
        .status()
        .unwrap();
    assert!(status.success());
    let out = outer
        .command(&["check"])
        .current_dir(&inner)
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("no pipeline.toml found"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn explicit_config_that_does_not_exist() {
    let repo = TestRepo::new();
    let out = repo.run(&["--config", "nope.toml", "check"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: --config nope.toml: no such file; pass the path of a pipeline.toml\n"
    );
}

#[test]
fn explicit_config_elsewhere_in_the_repository() {
    let repo = TestRepo::new();
    repo.write("mono/services/api/main.go", "package main\n")
        .write(
            "mono/ci/pipeline.toml",
            "[services.api]\nroot = \"../services/api\"\n",
        );
    // Paths are relative to the config's directory, and `..` within the repository is fine only
    // when it stays inside that directory: this root climbs out of it.
    let out = repo.run(&["--config", "mono/ci/pipeline.toml", "check"]);
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("root `../services/api` is outside the repository"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn bad_command_line_usage_exits_2() {
    let repo = TestRepo::new();
    repo.write("services/a/x", "")
        .config("[workspace]\nmembers = [\"services/*\"]\n");
    let out = repo.run(&["affected", "--dependents", "some"]);
    out.expect_code(2);
    assert!(
        out.stderr_str()
            .contains("invalid value 'some' for '--dependents <MODE>'"),
        "{}",
        out.stderr_str()
    );
    repo.run(&["affected", "--format", "yaml"]).expect_code(2);
    repo.run(&["frobnicate"]).expect_code(2);
}

/// With no `--base` and no `default_base`, the base is the CI's target branch, else the branch
/// origin/HEAD names, else `main`/`master`, said on stderr; with none of them it is a usage error
/// that names what was tried.
#[test]
fn the_base_defaults_to_the_ci_or_the_default_branch() {
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

    let out = repo.run(&["affected", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "a\nb\n", "against main");
    assert_eq!(
        out.stderr_str(),
        format!(
            "base: main (merge-base {}): the default branch; pass --base or set default_base to choose another\n",
            &repo.rev("main")[..7]
        )
    );
    let out = repo
        .command(&["affected", "--format", "names"])
        .env("GITHUB_BASE_REF", "develop")
        .output()
        .unwrap();
    out.success();
    assert_eq!(out.stdout_str(), "a\n", "against the pull request's target");
    assert!(
        out.stderr_str().starts_with("base: develop (merge-base "),
        "{}",
        out.stderr_str()
    );
    assert!(
        out.stderr_str()
            .contains(": the pull request's target branch ($GITHUB_BASE_REF);"),
        "{}",
        out.stderr_str()
    );
    // `--head` alone takes the same base.
    let out = repo.run(&["affected", "--head", "HEAD~1", "--format", "names"]);
    out.success();
    assert_eq!(out.stdout_str(), "b\n");

    // A target branch the clone lacks is still the base: the missing-base rules apply.
    let missing = |extra: &[&str]| {
        let mut args = vec!["affected", "--format", "names"];
        args.extend_from_slice(extra);
        repo.command(&args)
            .env("GITHUB_BASE_REF", "release")
            .output()
            .unwrap()
    };
    let out = missing(&[]);
    out.expect_code(3);
    assert!(
        out.stderr_str()
            .contains("revision `origin/release` does not exist"),
        "{}",
        out.stderr_str()
    );
    let out = missing(&["--on-missing-base", "all"]);
    out.success();
    assert_eq!(out.stdout_str(), "a\nb\n");

    repo.git(&["branch", "-q", "-m", "main", "trunk"]);
    let out = repo.run(&["affected"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr_str(),
        "error: no base revision: none of origin/main, main, origin/master, master exists; pass --base REV, set default_base in [workspace], or use --uncommitted\n"
    );
}

// A token written in pipeline.toml was refused with an excerpt that printed it
// (`7 | token = "tok_…"`): the error says where it is, the value is masked.
#[test]
fn a_token_in_the_config_is_located_without_being_printed() {
    check_fails(
        &["services/a"],
        "[workspace]\nmembers = [\"services/*\"]\n\n[remote_cache]\nurl = \"https://cache.example.com\"\ntoken = \"tok_committed_9a8b7c\"\n",
        "\
error: a token does not belong in a committed file; set SHOCKWAVE_REMOTE_CACHE_TOKEN in the environment instead
 --> pipeline.toml:6:9
  |
6 | token = ***
  |         ^^^
  = help: remove the `token` key (and rotate the token if this file was ever committed)

error: pipeline.toml has 1 error
",
    );
    // Another error on a secret's line (the signature key, which lives in the environment too)
    // masks it as well.
    check_fails(
        &["services/a"],
        "[remote_cache]\nsignature_key = \"key_committed_1f2e\"\n",
        "\
error: unknown field `signature_key`, expected one of `url`, `team`, `read_only`, `signature`, `timeout`, `token`
 --> pipeline.toml:2:1
  |
2 | signature_key = ***
  | ^^^^^^^^^^^^^
  = help: remove the key or fix its spelling; see the README's pipeline.toml reference

error: pipeline.toml has 1 error
",
    );
}
