//! Regression tests for defects a hostile or careless user could hit: secrets in outputs, config
//! errors without a position, task-graph cycles that `check` missed, lost output, hints that
//! reproduce another range. Each test is named after what it guards.

use crate::common;

use std::path::Path;

use common::{OutputExt, TestRepo};

/// Two services with a declared secret variable.
const SECRET_CONFIG: &str = r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin && cat *.txt > bin/out"
outputs = ["bin/**"]
env = ["DEPLOY_TOKEN"]

[services.app]
deps = ["core"]
"#;

const SECRET: &str = "tok-9f8e7d6c5b4a-do-not-print";

fn secret_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(SECRET_CONFIG).write(".gitignore", "bin/\n");
    for s in ["core", "app"] {
        repo.write(format!("svc/{s}/{s}.txt"), format!("{s}\n"));
    }
    repo.commit("init");
    repo
}

/// Every byte under `dir`, concatenated (files only, symlinks not followed).
fn all_bytes_under(dir: &Path, out: &mut Vec<u8>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for e in read.flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            all_bytes_under(&e.path(), out);
        } else if ft.is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            // Archives are compressed: look inside them too.
            match zstd_decode(&bytes) {
                Some(plain) => out.extend_from_slice(&plain),
                None => out.extend_from_slice(&bytes),
            }
        }
    }
}

fn zstd_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return None;
    }
    zstd::decode_all(bytes).ok()
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains(SECRET),
        "{what} contains the secret value:\n{text}"
    );
}

#[test]
fn env_values_never_appear_in_any_output_summary_log_or_cache_entry() {
    let repo = secret_repo();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("run.json");
    let step_summary = dir.path().join("step.md");
    let with_secret = |args: &[&str]| {
        let mut cmd = repo.command(args);
        cmd.env("DEPLOY_TOKEN", SECRET)
            .env("GITHUB_STEP_SUMMARY", &step_summary)
            .env("RUST_LOG", "trace");
        cmd.output().unwrap()
    };
    let mut outputs = Vec::new();
    let run = with_secret(&[
        "run",
        "build",
        "--all",
        "-vv",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    run.success();
    outputs.push(("run", run));
    for args in [
        &["hash", "build", "--all", "--explain"][..],
        &["hash", "build", "--all", "--json"],
        &["run", "build", "--all", "--dry-run"],
        &["run", "build", "--all", "--dry-run=json"],
        &["report", summary.to_str().unwrap()],
    ] {
        outputs.push((args[0], with_secret(args)));
    }
    // A diff between a listing with the secret and one without it.
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, &outputs[2].1.stdout).unwrap();
    let other = repo.run(&["hash", "build", "--all", "--json"]);
    std::fs::write(&b, &other.success().stdout).unwrap();
    let diff = with_secret(&["hash", "--diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        diff.stdout_str()
            .contains("env DEPLOY_TOKEN: set → (unset) (value hidden)"),
        "{}",
        diff.stdout_str()
    );
    outputs.push(("hash --diff", diff));

    for (what, out) in &outputs {
        assert_no_secret(&format!("{what} stdout"), &out.stdout);
        assert_no_secret(&format!("{what} stderr"), &out.stderr);
    }
    assert_no_secret("the summary", &std::fs::read(&summary).unwrap());
    assert_no_secret(
        "$GITHUB_STEP_SUMMARY",
        &std::fs::read(&step_summary).unwrap(),
    );
    let mut cache = Vec::new();
    all_bytes_under(&repo.abs(".shockwave"), &mut cache);
    assert!(!cache.is_empty(), "the run stored cache entries");
    assert_no_secret("the cache directory", &cache);

    // What is shown instead: a short digest, equal for equal values, different for different ones.
    let explain = outputs[1].1.stdout_str();
    let digest_line = explain
        .lines()
        .find(|l| l.trim_start().starts_with("env       DEPLOY_TOKEN="))
        .unwrap_or_else(|| panic!("no env line in\n{explain}"))
        .to_string();
    assert!(
        digest_line.contains("DEPLOY_TOKEN=set, blake3:"),
        "{digest_line}"
    );
    let again = with_secret(&["hash", "build", "--all", "--explain"]);
    assert!(again.stdout_str().contains(&digest_line));
    let changed = repo
        .command(&["hash", "build", "--all", "--explain"])
        .env("DEPLOY_TOKEN", "another value")
        .output()
        .unwrap();
    assert!(!changed.stdout_str().contains(&digest_line));
}

// ---------------------------------------------------------------------------------------------
// Config errors always carry a position.

/// Runs `check` on `config` (raw bytes) in a repository with `svc/one`, expecting exit 2; stderr.
fn check_error(config: &[u8]) -> String {
    let repo = TestRepo::new();
    repo.write("svc/one/x.txt", "1\n");
    repo.write("pipeline.toml", config);
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert_eq!(out.stdout_str(), "");
    out.stderr_str()
}

#[test]
fn check_reports_a_task_cycle_at_the_needs_entry_that_closes_it() {
    let err = check_error(
        b"[workspace]\nmembers = [\"svc/*\"]\n[targets.a]\ncommand = \"true\"\nneeds = [\"b\"]\n[targets.b]\ncommand = \"true\"\nneeds = [\"a\"]\n",
    );
    assert_eq!(
        err,
        "\
error: task cycle: one:a → one:b → one:a
 --> pipeline.toml:8:10
  |
8 | needs = [\"a\"]
  |          ^^^
  = help: change the targets' `needs` so that no task needs itself

error: pipeline.toml has 1 error
"
    );
}

#[test]
fn task_cycle_through_a_dependency_points_at_the_caret_need() {
    // `app:build` needs `^build`; `lib:build` needs `app`'s test through its own deps... a cycle
    // across services: lib:build → ^build (app) and app:build → ^build (lib) cannot both hold in
    // a DAG of services, so the cycle goes through a target of the same service instead.
    let repo = TestRepo::new();
    for s in ["app", "lib"] {
        repo.write(format!("svc/{s}/x.txt"), "1\n");
    }
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"true\"\nneeds = [\"^build\"]\n[services.app]\ndeps = [\"lib\"]\n[services.lib.targets.build]\ncommand = \"true\"\nneeds = [\"gen\"]\n[services.lib.targets.gen]\ncommand = \"true\"\nneeds = [\"build\"]\n",
    );
    repo.commit("init");
    for args in [
        &["check"][..],
        &["run", "build", "--all"],
        &["hash", "build", "--service", "app"],
    ] {
        let out = repo.run(args);
        out.expect_code(2);
        let err = out.stderr_str();
        assert!(
            err.contains("task cycle: lib:build → lib:gen → lib:build")
                || err.contains("task cycle: lib:gen → lib:build → lib:gen"),
            "{args:?}: {err}"
        );
        assert!(err.contains(" --> pipeline.toml:"), "{args:?}: {err}");
    }
}

#[test]
fn config_error_past_column_65535_has_a_position_and_a_short_excerpt() {
    let mut config = b"[workspace]\nmembers = [\"svc/*\"]\n".to_vec();
    config.extend(std::iter::repeat_n(b'k', 70_000));
    config.extend(b" = 1\n");
    let err = check_error(&config);
    assert!(
        err.contains(" --> pipeline.toml:3:1\n"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(
        err.len() < 2_000,
        "the excerpt is bounded: {} bytes",
        err.len()
    );
    // A position far to the right of a long line.
    let mut config = b"[workspace]\nmembers = [\"svc/*\"]\ndefault_base = \"".to_vec();
    config.extend(std::iter::repeat_n(b'v', 70_000));
    config.extend(b"\" x\n");
    let err = check_error(&config);
    assert!(
        err.contains(" --> pipeline.toml:3:70019\n"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

#[test]
fn invalid_utf8_in_the_config_is_reported_at_its_byte() {
    let err = check_error(b"[workspace]\nmembers = [\"svc/*\", \"\xff\"]\n");
    assert!(
        err.starts_with(
            "error: pipeline.toml is not valid UTF-8 (byte 0xff)\n --> pipeline.toml:2:22\n"
        ),
        "{err}"
    );
}

#[test]
fn deeply_nested_keys_are_reported_at_the_line_that_nests_too_deep() {
    let deep = format!(
        "[workspace]\nmembers = [\"svc/*\"]\n{}b = 1\n",
        "a.".repeat(300)
    );
    let err = check_error(deep.as_bytes());
    assert!(
        err.contains(" --> pipeline.toml:3:"),
        "{}",
        &err[..err.len().min(2000)]
    );
    let deep = format!(
        "[workspace]\nmembers = [\"svc/*\"]\n[services.{}]\n",
        vec!["a"; 300].join(".")
    );
    let err = check_error(deep.as_bytes());
    assert!(
        err.contains(" --> pipeline.toml:3:"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

#[test]
fn a_config_that_is_not_a_regular_file_is_refused_without_reading_it() {
    let repo = TestRepo::new();
    repo.write("svc/one/x.txt", "1\n");
    let fifo = repo.abs("pipeline.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = repo.run(&["check"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("it is not a regular file"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn an_overlong_glob_is_refused_with_its_position_not_compiled() {
    // A 200 KB literal pattern used to spend minutes building globset's prefix automaton.
    let config = format!(
        "[workspace]\nmembers = [\"svc/*\"]\n[targets.t]\ncommand = \"true\"\ninputs = [\"{}\"]\n",
        "1979-05-27T07:32:00Z".repeat(10_000)
    );
    let started = std::time::Instant::now();
    let err = check_error(config.as_bytes());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        err.contains("globs are limited to 4096 bytes"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(
        err.contains(" --> pipeline.toml:5:11\n"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

// ---------------------------------------------------------------------------------------------
// Output that cannot be written.

/// A small repository with one service and a build that writes one line.
fn one_service() -> TestRepo {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"echo built\"\n");
    repo.write("svc/one/x.txt", "1\n");
    repo.commit("init");
    repo
}

/// Runs `args` with stdout connected to a pipe whose reading end is already closed.
fn with_closed_stdout(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = repo.command(args);
    cmd.stdout(writer).stderr(std::process::Stdio::piped());
    cmd.output().unwrap()
}

#[test]
fn a_closed_stdout_pipe_is_a_quiet_exit_for_every_command() {
    let repo = one_service();
    for args in [
        &["check"][..],
        &["affected", "--base", "HEAD", "--uncommitted"],
        &["graph"],
        &["hash", "build", "--all"],
        &["run", "build", "--all"],
        &["cache", "stats"],
    ] {
        let out = with_closed_stdout(&repo, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", out.stderr_str());
        assert!(
            !out.stderr_str().contains("panicked"),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
}

#[test]
fn a_full_disk_on_stdout_exits_1_and_says_so() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: this system has no /dev/full");
        return;
    }
    let repo = one_service();
    for args in [&["check"][..], &["graph"], &["run", "build", "--all"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = repo.command(args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", out.stderr_str());
        assert!(
            out.stderr_str()
                .contains("error: failed to write to stdout: No space left on device"),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hints and flags that would silently mean another range.

#[test]
fn the_explain_hint_reproduces_the_range_it_was_printed_for() {
    let repo = one_service();
    for i in 0..8 {
        repo.write(format!("svc/one/f{i}.txt"), "1\n");
    }
    repo.commit("eight files");
    repo.write("svc/one/later.txt", "1\n");
    repo.commit("a later commit");
    let out = repo.run(&["affected", "--base", "HEAD~2", "--head", "HEAD~1"]);
    out.success();
    let text = out.stdout_str();
    let hint = text
        .lines()
        .find_map(|l| l.split_once("more changed files (").map(|(_, h)| h))
        .and_then(|h| h.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no hint in\n{text}"))
        .to_string();
    assert_eq!(
        hint,
        "shockwave affected --base HEAD~2 --head HEAD~1 --explain one"
    );
    let args: Vec<&str> = hint.split(' ').skip(1).collect();
    let explained = repo.run(&args);
    explained.success();
    let ex = explained.stdout_str();
    for i in 0..8 {
        assert!(ex.contains(&format!("svc/one/f{i}.txt")), "{ex}");
    }
    assert!(
        !ex.contains("later.txt"),
        "the hint explained another range:\n{ex}"
    );
}

#[test]
fn run_and_hash_refuse_a_head_other_than_the_checked_out_commit() {
    let repo = one_service();
    repo.write("svc/one/y.txt", "2\n");
    repo.commit("second");
    for cmd in ["run", "hash"] {
        let out = repo.run(&[cmd, "build", "--base", "HEAD~1", "--head", "HEAD~1"]);
        out.expect_code(2);
        assert!(
            out.stderr_str().contains("--head HEAD~1 is ")
                && out
                    .stderr_str()
                    .contains("tasks run in the worktree, which is at HEAD"),
            "{cmd}: {}",
            out.stderr_str()
        );
        // Naming the checked-out commit is fine.
        repo.run(&[cmd, "build", "--base", "HEAD~1", "--head", "HEAD"])
            .success();
    }
}

#[test]
fn range_flags_ignored_by_a_selection_by_name_are_named_in_a_warning() {
    let repo = one_service();
    let out = repo.run(&[
        "run",
        "build",
        "--service",
        "one",
        "--base",
        "HEAD",
        "--uncommitted",
    ]);
    out.success();
    assert!(
        out.stderr_str().contains(
            "--base, --uncommitted ignored: --service selects services by name, not by what changed"
        ),
        "{}",
        out.stderr_str()
    );
    let out = repo.run(&["hash", "build", "--all", "--dependents", "none"]);
    out.success();
    assert!(
        out.stderr_str()
            .contains("--dependents ignored: --all selects services by name"),
        "{}",
        out.stderr_str()
    );
    let quiet = repo.run(&["run", "build", "--service", "one"]);
    assert!(
        !quiet.stderr_str().contains("ignored"),
        "{}",
        quiet.stderr_str()
    );
}

#[test]
fn nothing_affected_counts_every_changed_path_exactly_once() {
    let repo = TestRepo::new();
    repo.config(
        "[workspace]\nmembers = [\"svc/*\"]\nignore = [\"**/*.md\"]\nunowned = \"ignore\"\n[targets.build]\ncommand = \"true\"\n",
    );
    repo.write("svc/one/x.txt", "1\n");
    repo.commit("init");
    repo.write("svc/one/README.md", "docs\n")
        .write("NOTES.md", "notes\n")
        .write("tools/fmt.sh", "echo\n");
    repo.commit("docs and a tool");
    let out = repo.run(&["affected", "--base", "HEAD~1"]);
    out.success();
    assert!(
        out.stdout_str().ends_with(
            "nothing to do: 2 changed paths match `ignore` and 1 changed path belongs to no service\n"
        ),
        "{}",
        out.stdout_str()
    );
}

/// `hash --diff` refuses an input over its size limit before reading it: a usage error naming the
/// file and the limit, not an allocation of whatever the file holds.
#[test]
fn hash_diff_refuses_an_oversized_input_without_reading_it() {
    let repo = TestRepo::from_fixture();
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.json");
    // Sparse: 600 MiB on paper, no disk.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let small = dir.path().join("small.json");
    std::fs::write(&small, "{}").unwrap();
    let out = repo.run(&[
        "hash",
        "--diff",
        huge.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("huge.json") && err.contains("larger than 512 MiB"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Manifests, lockfiles and pipeline.toml committed as symbolic links.

/// The fake token a file outside the repository holds.
const OUTSIDE_TOKEN: &str = "tok-outside-0c1d2e3f";

/// A folder outside any repository with a credentials-like file (that is also malformed YAML,
/// JSON and TOML, so a parse error would quote it) and a `package.json` of its own.
fn outside() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secret.env"),
        format!("TURBO_TOKEN={OUTSIDE_TOKEN}\n//registry.npmjs.org/:_authToken={OUTSIDE_TOKEN}\n[: {{\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    std::fs::write(
        dir.path().join("pkg/package.json"),
        "{\"name\": \"evil-outside\", \"scripts\": {\"build\": \"echo pwned\"}}\n",
    )
    .unwrap();
    dir
}

/// An npm workspace with one real package.
fn npm_workspace() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        "{\"name\": \"root\", \"private\": true, \"workspaces\": [\"packages/*\"]}\n",
    )
    .write(
        "packages/a/package.json",
        "{\"name\": \"a\", \"scripts\": {\"build\": \"true\"}}\n",
    );
    repo
}

/// Runs the commands that read manifests, at every log level, with the token also in the
/// environment: the token is never printed, and each run fails naming `file`.
fn assert_refused_without_a_trace(repo: &TestRepo, file: &str) {
    for args in [
        &["affected", "--base", "HEAD", "--format", "json"][..],
        &["graph", "--format", "json"],
        &["check"],
        &["run", "build", "--all", "--dry-run"],
    ] {
        let out = repo
            .command(args)
            .env("TURBO_TOKEN", OUTSIDE_TOKEN)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        assert!(
            !stdout.contains(OUTSIDE_TOKEN) && !stderr.contains(OUTSIDE_TOKEN),
            "{args:?} printed the token:\n{stdout}\n{stderr}"
        );
        assert!(!stdout.contains("evil-outside"), "{args:?}: {stdout}");
        out.expect_code(2);
        assert!(
            stderr.contains(&format!("{file}: it leads ")),
            "{args:?}: {stderr}"
        );
    }
}

// `ln -s /proc/self/environ pnpm-workspace.yaml` used to print the environment, TURBO_TOKEN
// included, in the YAML error's excerpt.
#[test]
fn a_manifest_linked_to_proc_self_environ_is_never_read() {
    let repo = npm_workspace();
    repo.symlink("/proc/self/environ", "pnpm-workspace.yaml");
    repo.commit("link");
    assert_refused_without_a_trace(&repo, "pnpm-workspace.yaml");
}

#[test]
fn manifests_and_configs_linked_outside_the_repository_are_refused() {
    let out = outside();
    let secret = out.path().join("secret.env");
    let pkg = out.path().join("pkg/package.json");
    // A package whose package.json leads out used to be accepted as the service `evil-outside`.
    let cases: [(&str, &Path); 5] = [
        ("packages/evil/package.json", &pkg),
        ("pnpm-workspace.yaml", &secret),
        (".npmrc", &secret),
        ("Cargo.toml", &secret),
        ("pipeline.toml", &secret),
    ];
    for (file, target) in cases {
        let repo = npm_workspace();
        repo.symlink(target, file);
        repo.commit("link");
        assert_refused_without_a_trace(&repo, file);
    }
    // Relative links climbing out, and folders on the way that lead out, are refused too.
    let repo = npm_workspace();
    repo.symlink(out.path().join("pkg"), "vendor-link");
    repo.symlink(
        "../../vendor-link/package.json",
        "packages/evil/package.json",
    );
    repo.commit("link through a folder");
    assert_refused_without_a_trace(&repo, "packages/evil/package.json");
}

#[test]
fn a_manifest_linked_into_dot_git_is_refused() {
    // actions/checkout keeps the token in `.git/config` (`http.extraheader`).
    let repo = npm_workspace();
    repo.git(&[
        "config",
        "http.https://github.com/.extraheader",
        &format!("AUTHORIZATION: basic {OUTSIDE_TOKEN}"),
    ]);
    repo.symlink(".git/config", "pnpm-workspace.yaml");
    repo.commit("link");
    assert_refused_without_a_trace(&repo, "pnpm-workspace.yaml");
}

#[test]
fn manifests_linked_inside_the_repository_are_followed() {
    let repo = npm_workspace();
    repo.write(
        "shared/b.json",
        "{\"name\": \"b\", \"dependencies\": {\"a\": \"*\"}, \"scripts\": {\"build\": \"true\"}}\n",
    )
    .symlink("../../shared/b.json", "packages/b/package.json");
    repo.commit("b's manifest lives in shared/");
    let graph = repo.run(&["graph", "--format", "json"]).success().json();
    let text = graph.to_string();
    assert!(
        text.contains("\"b\"") && text.contains("\"a\""),
        "{graph:#}"
    );
    repo.run(&["check"]).success();
}
