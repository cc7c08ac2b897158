//! The GitHub Action's script (`action/run.sh`), run as the runner runs it: inputs as `INPUT_*`
//! variables, a fake `GITHUB_OUTPUT`, `GITHUB_PATH` and `GITHUB_EVENT_PATH`, in a temporary
//! repository. The binary under test is either on PATH (`version: path`) or installed from a
//! release folder served as `file://` URLs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::source_dir;
use crate::common::{hermetic, OutputExt, TestRepo, BIN};

/// Two services, `a` and `b`, and a second commit that changes only `b`: (repo, first, second).
fn repo() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    repo.config("[workspace]\nmembers = [\"svc/*\"]\n[targets.build]\ncommand = \"true\"\n")
        .write("svc/a/main.go", "package a\n")
        .write("svc/b/main.go", "package b\n");
    let first = repo.commit("two services");
    repo.write("svc/b/main.go", "package b // changed\n");
    let second = repo.commit("change b");
    (repo, first, second)
}

/// PATH without any shockwave, with `bin` first when given.
fn path_with(bin: Option<&Path>) -> std::ffi::OsString {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    let mut kept: Vec<PathBuf> = bin.map(Path::to_path_buf).into_iter().collect();
    kept.extend(std::env::split_paths(&dirs).filter(|d| !d.join("shockwave").exists()));
    std::env::join_paths(kept).unwrap()
}

/// A folder holding `shockwave`, a link to the binary under test.
fn bin_dir(work: &TestRepo) -> PathBuf {
    let dir = work.abs("path-bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(BIN, dir.join("shockwave")).unwrap();
    dir
}

struct Run {
    out: Output,
    outputs: BTreeMap<String, String>,
    github_path: String,
}

/// Runs the action's script in `repo` for `event` (name, JSON) with `inputs` and `env`.
fn run_action(
    repo: &TestRepo,
    work: &TestRepo,
    event: (&str, serde_json::Value),
    inputs: &[(&str, &str)],
    env: &[(&str, &std::ffi::OsStr)],
) -> Run {
    let output = work.abs("github_output");
    let github_path = work.abs("github_path");
    let event_path = work.abs("event.json");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&github_path, "").unwrap();
    std::fs::write(&event_path, event.1.to_string()).unwrap();
    let runner_temp = work.abs("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut cmd = Command::new("bash");
    hermetic(&mut cmd)
        .arg(source_dir().join("action/run.sh"))
        .current_dir(repo.path())
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_PATH", &github_path)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_EVENT_NAME", event.0)
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", &runner_temp)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env_remove("GITHUB_ACTION_PATH")
        .env_remove("GITHUB_BASE_REF");
    for (name, value) in inputs {
        cmd.env(
            format!("INPUT_{}", name.to_uppercase().replace('-', "_")),
            value,
        );
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Run {
        out,
        outputs,
        github_path: std::fs::read_to_string(&github_path).unwrap(),
    }
}

fn on_path(work: &TestRepo) -> std::ffi::OsString {
    path_with(Some(&bin_dir(work)))
}

/// The action on a push whose `before` is `before`, with the binary under test on PATH
/// (`version: path`) and `inputs`.
fn push_on_path(repo: &TestRepo, before: &str, inputs: &[(&str, &str)]) -> Run {
    let work = TestRepo::empty_dir();
    let path = on_path(&work);
    let mut all = vec![("version", "path")];
    all.extend_from_slice(inputs);
    let event = serde_json::json!({ "before": before });
    run_action(repo, &work, ("push", event), &all, &[("PATH", &path)])
}

#[test]
fn a_push_compares_with_the_commit_before_it() {
    let (repo, first, _) = repo();
    let run = push_on_path(&repo, &first, &[]);
    run.out.success();
    assert_eq!(run.outputs["affected"], r#"["b"]"#, "{:?}", run.outputs);
    assert_eq!(run.outputs["matrix"], r#"{"include":[{"service":"b"}]}"#);
    assert_eq!(run.outputs["any"], "true");
    assert_eq!(run.outputs["base"], first);
    assert!(!run.outputs.contains_key("shards"));
    assert!(
        run.github_path.is_empty(),
        "nothing installed: {}",
        run.github_path
    );
}

#[test]
fn a_pull_request_compares_with_its_base_commit() {
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    let path = on_path(&work);
    let event = serde_json::json!({"pull_request": {"base": {"sha": first, "ref": "main"}}});
    let run = run_action(
        &repo,
        &work,
        ("pull_request", event),
        &[("version", "path"), ("shards", "2"), ("targets", "build")],
        &[("PATH", &path)],
    );
    run.out.success();
    assert_eq!(run.outputs["affected"], r#"["b"]"#, "{:?}", run.outputs);
    assert_eq!(run.outputs["base"], first);
    assert_eq!(run.outputs["shards"], r#"{"include":[{"shard":"1/2"}]}"#);
}

#[test]
fn the_base_input_and_extra_arguments_win() {
    let (repo, first, second) = repo();
    let work = TestRepo::empty_dir();
    let path = on_path(&work);
    let event = serde_json::json!({"before": second});
    let run = run_action(
        &repo,
        &work,
        ("push", event),
        &[
            ("version", "path"),
            ("base", &first),
            ("args", "--dependents none"),
        ],
        &[("PATH", &path)],
    );
    run.out.success();
    assert_eq!(run.outputs["affected"], r#"["b"]"#, "{:?}", run.outputs);
    assert_eq!(run.outputs["base"], first);
}

#[test]
fn a_new_branch_leaves_the_base_to_shockwave() {
    let (repo, _, _) = repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("svc/a/main.go", "package a // changed\n");
    repo.commit("change a");
    let run = push_on_path(&repo, "0000000000000000000000000000000000000000", &[]);
    run.out.success();
    // No default_base, no origin: shockwave compares with `main`.
    assert_eq!(
        run.outputs["affected"],
        r#"["a"]"#,
        "{}",
        run.out.stderr_str()
    );
    assert_eq!(run.outputs["base"], "");
    assert!(
        run.out.stderr_str().contains("a new branch"),
        "{}",
        run.out.stderr_str()
    );
}

#[test]
fn go_packages_are_an_output_when_asked() {
    let repo = TestRepo::new();
    repo.write("go.mod", "module example.com/m\n\ngo 1.22\n")
        .write(
            "auth/auth.go",
            "package auth\n\nfunc Check() bool { return true }\n",
        )
        .write(
            "api/api.go",
            "package api\n\nimport \"example.com/m/auth\"\n\nvar Ok = auth.Check()\n",
        )
        .write("log/log.go", "package log\n");
    let first = repo.commit("module");
    repo.write(
        "auth/auth.go",
        "package auth\n\nfunc Check() bool { return false }\n",
    );
    repo.commit("change auth");
    let run = push_on_path(&repo, &first, &[("go-packages", "true")]);
    run.out.success();
    assert_eq!(
        run.outputs["packages"],
        "./api ./auth",
        "{}",
        run.out.stderr_str()
    );
}

#[test]
fn install_only_runs_nothing() {
    let (repo, first, _) = repo();
    let run = push_on_path(&repo, &first, &[("install-only", "true")]);
    run.out.success();
    assert!(run.outputs.is_empty(), "{:?}", run.outputs);
}

#[test]
fn a_missing_base_fails_with_shockwaves_exit_code() {
    let (repo, _, _) = repo();
    let run = push_on_path(&repo, "1111111111111111111111111111111111111111", &[]);
    run.out.expect_code(3);
    assert!(!run.outputs.contains_key("affected"));
}

#[test]
fn version_path_without_a_binary_says_so() {
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    let path = path_with(None);
    let event = serde_json::json!({"before": first});
    let run = run_action(
        &repo,
        &work,
        ("push", event),
        &[("version", "path")],
        &[("PATH", &path)],
    );
    run.out.expect_code(1);
    assert!(
        run.out.stderr_str().contains("no shockwave is on PATH"),
        "{}",
        run.out.stderr_str()
    );
}

/// A release folder as the release workflow lays it out: `download/vVERSION/` with the Linux
/// archive and `sha256.sum`. The archive's `shockwave` is a two-line script that runs the binary
/// under test: compressing the whole debug binary with xz would take minutes.
fn release(work: &TestRepo, tamper: bool) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let dir = work.abs(format!("releases/download/v{version}"));
    let stem = "shockwave-x86_64-unknown-linux-musl";
    std::fs::create_dir_all(dir.join(stem)).unwrap();
    let exe = dir.join(stem).join("shockwave");
    std::fs::write(&exe, format!("#!/bin/sh\nexec '{BIN}' \"$@\"\n")).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let asset = format!("{stem}.tar.xz");
    Command::new("tar")
        .args(["-cJf", &asset, stem])
        .current_dir(&dir)
        .output()
        .unwrap()
        .success();
    let sum = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&dir)
        .output()
        .unwrap();
    sum.success();
    let mut sums = sum.stdout_str();
    if tamper {
        sums = format!("{}{}", "0".repeat(64), &sums[64..]);
    }
    std::fs::write(
        dir.join("sha256.sum"),
        format!(
            "{}  shockwave-x86_64-apple-darwin.tar.xz\n{sums}",
            "1".repeat(64)
        ),
    )
    .unwrap();
    format!("file://{}", work.abs("releases").display())
}

#[test]
fn a_release_is_downloaded_checked_and_put_on_path() {
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    let url = release(&work, false);
    let path = path_with(None);
    let event = serde_json::json!({"before": first});
    let version = env!("CARGO_PKG_VERSION");
    let run = run_action(
        &repo,
        &work,
        ("push", event),
        &[("version", version), ("release-url", &url)],
        &[("PATH", &path)],
    );
    run.out.success();
    assert_eq!(
        run.outputs["affected"],
        r#"["b"]"#,
        "{}",
        run.out.stderr_str()
    );
    let installed = work.abs("runner_temp/shockwave-action/bin");
    assert_eq!(run.github_path.trim(), installed.display().to_string());
    assert!(installed.join("shockwave").is_file());
    assert!(
        run.out
            .stderr_str()
            .contains(&format!("shockwave {version} (commit ")),
        "{}",
        run.out.stderr_str()
    );
}

#[test]
fn a_windows_runner_gets_the_zip_with_shockwave_exe() {
    let unzip = Command::new("unzip")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !unzip {
        assert!(!super::in_ci(), "CI is set but unzip is not installed");
        eprintln!("skipped: unzip is not installed");
        return;
    }
    let Some(python) = super::tool("python3") else {
        return;
    };
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    // dist's Windows archive: a .zip with shockwave.exe at its root (here a script running the
    // binary under test).
    let version = env!("CARGO_PKG_VERSION");
    let dir = work.abs(format!("releases/download/v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let asset = "shockwave-x86_64-pc-windows-msvc.zip";
    let script = format!("#!/bin/sh\nexec '{BIN}' \"$@\"\n");
    Command::new(python)
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z: z.writestr('shockwave.exe', sys.argv[2])",
            asset,
            &script,
        ])
        .current_dir(&dir)
        .output()
        .unwrap()
        .success();
    let sum = Command::new("sha256sum")
        .arg(asset)
        .current_dir(&dir)
        .output()
        .unwrap();
    sum.success();
    std::fs::write(dir.join("sha256.sum"), sum.stdout_str()).unwrap();
    let url = format!("file://{}", work.abs("releases").display());
    let path = path_with(None);
    let run = run_action(
        &repo,
        &work,
        ("push", serde_json::json!({"before": first})),
        &[("version", version), ("release-url", &url)],
        &[("PATH", &path), ("RUNNER_OS", "Windows".as_ref())],
    );
    run.out.success();
    assert!(
        run.out.stderr_str().contains(asset),
        "{}",
        run.out.stderr_str()
    );
    assert_eq!(run.outputs["affected"], r#"["b"]"#);
    let installed = work.abs("runner_temp/shockwave-action/bin/shockwave.exe");
    assert!(installed.is_file());
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    let url = release(&work, true);
    let path = path_with(None);
    let event = serde_json::json!({"before": first});
    let run = run_action(
        &repo,
        &work,
        ("push", event),
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("release-url", &url),
        ],
        &[("PATH", &path)],
    );
    run.out.expect_code(1);
    let err = run.out.stderr_str();
    assert!(
        err.contains("::error title=shockwave::checksum mismatch"),
        "{err}"
    );
    assert!(!work
        .abs("runner_temp/shockwave-action/bin/shockwave")
        .exists());
    assert!(run.outputs.is_empty());
}

#[test]
fn without_a_release_it_falls_back_to_cargo_install() {
    let (repo, first, _) = repo();
    let work = TestRepo::empty_dir();
    // A stand-in cargo that records its arguments and "builds" the binary under test.
    let tools = work.abs("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let log = work.abs("cargo-args");
    std::fs::write(
        tools.join("cargo"),
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nwhile [ \"$1\" != --root ]; do shift; done\nmkdir -p \"$2/bin\" && cp '{}' \"$2/bin/shockwave\"\n",
            log.display(),
            BIN
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        tools.join("cargo"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = path_with(Some(&tools));
    let event = serde_json::json!({"before": first});
    let run = run_action(
        &repo,
        &work,
        ("push", event),
        &[
            ("version", "0.1.0"),
            (
                "release-url",
                &format!("file://{}", work.abs("no-releases").display()),
            ),
        ],
        &[("PATH", &path)],
    );
    run.out.success();
    assert_eq!(
        run.outputs["affected"],
        r#"["b"]"#,
        "{}",
        run.out.stderr_str()
    );
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(args.starts_with("install --locked --root "), "{args}");
    assert!(
        args.trim_end().ends_with("shockwave --version 0.1.0"),
        "{args}"
    );
    assert!(
        run.out.stderr_str().contains("cargo install --locked"),
        "{}",
        run.out.stderr_str()
    );
}

#[test]
fn the_action_declares_the_outputs_the_script_writes() {
    let text = std::fs::read_to_string(source_dir().join("action.yml")).unwrap();
    let Some(python) = super::tool("python3") else {
        return;
    };
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    out.success();
    let action: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    for name in ["affected", "matrix", "any", "shards", "packages", "base"] {
        assert_eq!(
            action["outputs"][name]["value"],
            format!("${{{{ steps.affected.outputs.{name} }}}}"),
            "{name}"
        );
    }
    let step = &action["runs"]["steps"][0];
    let script = step["run"].as_str().unwrap();
    assert!(
        script.contains("$GITHUB_ACTION_PATH/action/run.sh"),
        "{script}"
    );
    for input in action["inputs"].as_object().unwrap().keys() {
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        if input == "working-directory" {
            assert_eq!(step["working-directory"], "${{ inputs.working-directory }}");
        } else {
            assert_eq!(
                step["env"][&var],
                format!("${{{{ inputs.{input} }}}}"),
                "{input}"
            );
        }
    }
}
