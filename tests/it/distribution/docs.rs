//! `shockwave completions`, `man` and `schema`: generated from the command line and the config
//! types, printed anywhere (no repository needed), and valid for the tools that read them.

use std::process::Command;

use super::{source_dir, tool};
use crate::common::{OutputExt, TestRepo};

/// Runs shockwave in a directory that is not a repository: these commands read none.
fn outside_repo(args: &[&str]) -> String {
    let dir = TestRepo::empty_dir();
    let out = dir.run(args);
    out.success();
    assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
    out.stdout_str()
}

#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let script = outside_repo(&["completions", "bash"]);
    for word in [
        "affected",
        "run",
        "completions",
        "--base",
        "--format",
        "github",
    ] {
        assert!(script.contains(word), "{word} missing from:\n{script}");
    }
    // bash loads it and registers the function for `shockwave`.
    let dir = TestRepo::empty_dir();
    std::fs::write(dir.abs("shockwave.bash"), &script).unwrap();
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            "source ./shockwave.bash && complete -p shockwave",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    out.success();
    assert!(
        out.stdout_str().contains("_shockwave"),
        "{}",
        out.stdout_str()
    );
    // Asking it to complete `shockwave af` offers `affected`.
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            "source ./shockwave.bash; COMP_WORDS=(shockwave af); COMP_CWORD=1; \
             _shockwave shockwave af shockwave; printf '%s\\n' \"${COMPREPLY[@]}\"",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    out.success();
    assert_eq!(out.stdout_str().trim(), "affected", "{}", out.stderr_str());
}

#[test]
fn every_shell_gets_a_script() {
    for (shell, marker) in [
        ("zsh", "#compdef shockwave"),
        ("fish", "complete -c shockwave"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[shockwave]"),
    ] {
        let script = outside_repo(&["completions", shell]);
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("affected"), "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = TestRepo::empty_dir().run(&["completions", "tcsh"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("invalid value 'tcsh'"),
        "{}",
        out.stderr_str()
    );
    assert!(out.stderr_str().contains("bash"), "{}", out.stderr_str());
}

#[test]
fn the_manual_page_is_roff_naming_every_command() {
    let page = outside_repo(&["man"]);
    assert!(page.contains(".TH shockwave 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    for command in [
        "affected", "run", "hash", "graph", "check", "init", "schema",
    ] {
        assert!(page.contains(command), "{command} missing");
    }
    // `man` renders it when it is installed (it is not needed otherwise).
    if Command::new("man").arg("--version").output().is_ok() {
        let dir = TestRepo::empty_dir();
        std::fs::write(dir.abs("shockwave.1"), &page).unwrap();
        let out = Command::new("man")
            .args(["-l", "shockwave.1"])
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .current_dir(dir.path())
            .output()
            .unwrap();
        if out.status.success() {
            assert!(
                out.stdout_str().contains("affected"),
                "{}",
                out.stdout_str()
            );
        }
    }
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let generated = outside_repo(&["schema"]);
    let committed = std::fs::read_to_string(source_dir().join("schema/pipeline.schema.json"))
        .expect("read schema/pipeline.schema.json");
    assert!(
        committed == generated,
        "schema/pipeline.schema.json is out of date: run `cargo run -- schema > schema/pipeline.schema.json`"
    );
}

#[test]
fn the_schema_describes_keys_from_the_doc_comments() {
    let schema: serde_json::Value = serde_json::from_str(&outside_repo(&["schema"])).unwrap();
    let workspace = &schema["definitions"]["Workspace"]["properties"];
    let members = workspace["members"]["description"].as_str().unwrap();
    assert!(members.contains("Globs of directories"), "{members}");
    for key in [
        "global_env",
        "discover",
        "fsmonitor",
        "unowned",
        "default_base",
    ] {
        assert!(workspace[key]["description"].is_string(), "{key}");
    }
    let target = &schema["definitions"]["Target"]["properties"];
    for key in [
        "command",
        "needs",
        "inputs",
        "outputs",
        "env",
        "cache",
        "persistent",
        "interactive",
    ] {
        assert!(target[key]["description"].is_string(), "{key}");
    }
}

/// A validator other than shockwave (Python's `jsonschema`, Draft 7 as taplo uses it) accepts
/// the project's own pipeline.toml, the README's reference example and what `init` writes, and
/// flags a misspelt key, a wrong enum value and a secret in the file as an editor would.
#[test]
fn an_editor_validator_accepts_real_configs_and_flags_mistakes() {
    let Some(python) = tool("python3") else {
        return;
    };
    let repo = TestRepo::new();
    repo.write(
        "package.json",
        r#"{"name": "root", "private": true, "workspaces": ["packages/*"]}"#,
    )
    .write(
        "packages/a/package.json",
        r#"{"name": "a", "scripts": {"build": "true"}}"#,
    )
    .write(
        "packages/b/package.json",
        r#"{"name": "b", "dependencies": {"a": "*"}}"#,
    );
    repo.commit("workspace");
    repo.run(&["init"]).success();
    let init = repo.read("pipeline.toml");
    assert!(
        init.starts_with("#:schema ./schema/pipeline.schema.json\n"),
        "{init}"
    );

    let readme = std::fs::read_to_string(source_dir().join("README.md")).unwrap();
    let reference = readme
        .split("## pipeline.toml")
        .nth(1)
        .and_then(|s| s.split("```toml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's pipeline.toml example");
    let good = [
        (
            "pipeline.toml",
            std::fs::read_to_string(source_dir().join("pipeline.toml")).unwrap(),
        ),
        ("README example", reference.to_string()),
        ("init", init),
    ];
    let bad = [
        (
            "[targets.build]\ncomand = \"make\"\n",
            "'comand' was unexpected",
        ),
        (
            "[workspace]\nunowned = \"sometimes\"\n",
            "'sometimes' is not valid",
        ),
        (
            "[workspace]\ndiscover = [\"npm\", \"maven\"]\n",
            "is not valid under any",
        ),
        ("[remote_cache]\ntoken = \"x\"\n", "'token' was unexpected"),
    ];
    let script = r#"
import json, sys, tomllib
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
for path in sys.argv[2:]:
    errors = [e.message for e in validator.iter_errors(tomllib.load(open(path, "rb")))]
    print(json.dumps({"path": path, "errors": errors}))
"#;
    let dir = TestRepo::empty_dir();
    let mut args = vec![
        "-c".to_string(),
        script.to_string(),
        source_dir()
            .join("schema/pipeline.schema.json")
            .display()
            .to_string(),
    ];
    for (i, (_, text)) in good.iter().enumerate() {
        std::fs::write(dir.abs(format!("good{i}.toml")), text).unwrap();
        args.push(dir.abs(format!("good{i}.toml")).display().to_string());
    }
    for (i, (text, _)) in bad.iter().enumerate() {
        std::fs::write(dir.abs(format!("bad{i}.toml")), text).unwrap();
        args.push(dir.abs(format!("bad{i}.toml")).display().to_string());
    }
    let out = Command::new(python).args(&args).output().unwrap();
    if !out.status.success() && out.stderr_str().contains("No module named 'jsonschema'") {
        assert!(
            !super::in_ci(),
            "CI is set but Python's jsonschema is not installed"
        );
        eprintln!("skipped: Python's jsonschema is not installed");
        return;
    }
    out.success();
    let results: Vec<serde_json::Value> = out
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, (name, _)) in good.iter().enumerate() {
        assert_eq!(results[i]["errors"], serde_json::json!([]), "{name}");
    }
    for (i, (text, expected)) in bad.iter().enumerate() {
        let errors = results[good.len() + i]["errors"].to_string();
        assert!(errors.contains(expected), "{text}: {errors}");
    }
}
