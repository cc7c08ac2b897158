//! The release workflow cannot run here (it runs on GitHub when a tag is pushed): these tests
//! check what can be checked without it. Every workflow and every YAML example in the README
//! parses; the release builds each target the README, `cargo binstall`, the npm launcher and the
//! Action expect, under the asset names they download.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::{source_dir, tool};
use crate::common::OutputExt;

/// YAML documents parsed by Python's yaml (as JSON), or `None` when it is not installed here.
fn parse_yaml(docs: &[String]) -> Option<Vec<Value>> {
    let python = tool("python3")?;
    let script = "import json, sys, yaml\n\
                  for doc in json.load(sys.stdin):\n    print(json.dumps(yaml.safe_load(doc)))";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let input = serde_json::to_string(docs).unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    if out.stderr_str().contains("No module named 'yaml'") {
        assert!(
            !super::in_ci(),
            "CI is set but Python's yaml is not installed"
        );
        eprintln!("skipped: Python's yaml is not installed");
        return None;
    }
    out.success();
    Some(
        out.stdout_str()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

fn read(path: &str) -> String {
    std::fs::read_to_string(source_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The targets dist-workspace.toml builds.
fn release_targets() -> Vec<String> {
    let config: toml::Value = toml::from_str(&read("dist-workspace.toml")).unwrap();
    config["dist"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_workflows_and_the_readme_examples_parse() {
    let readme = read("README.md");
    let mut docs: Vec<String> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().to_string())
        .collect();
    let examples = docs.len();
    assert!(examples >= 5, "{examples} YAML examples in the README");
    for file in [
        ".github/workflows/release.yml",
        ".github/workflows/publish-npm.yml",
        "action.yml",
    ] {
        docs.push(read(file));
    }
    let Some(parsed) = parse_yaml(&docs) else {
        return;
    };
    for (i, doc) in parsed.iter().enumerate() {
        assert!(doc.is_object() || doc.is_array(), "document {i}: {doc}");
    }
    // The README's workflows use the action by its published name.
    assert!(readme.contains("uses: OWNER/shockwave@v1"));

    let release = &parsed[examples];
    // On a version tag; `on` is YAML 1.1's `true` to Python's yaml.
    let on = release.get("on").or_else(|| release.get("true")).unwrap();
    let tags = on["push"]["tags"].to_string();
    assert!(tags.contains("[0-9]+.[0-9]+.[0-9]+"), "{tags}");
    let jobs = release["jobs"].as_object().unwrap();
    for job in [
        "plan",
        "build-local-artifacts",
        "host",
        "custom-publish-npm",
    ] {
        assert!(jobs.contains_key(job), "{job} missing: {:?}", jobs.keys());
    }
    // dist writes the reusable workflow's path as `$/.github/…`: this repository at this commit.
    let publish = jobs["custom-publish-npm"]["uses"].as_str().unwrap();
    assert!(
        publish.ends_with("/.github/workflows/publish-npm.yml"),
        "{publish}"
    );
}

#[test]
fn every_platform_the_channels_name_is_built() {
    let targets = release_targets();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.iter().any(|t| t == target), "{target} is not built");
    }
    // The Action downloads the archive of the runner's target.
    let action = read("action/run.sh");
    for target in &targets {
        assert!(
            action.contains(target.as_str()),
            "action/run.sh does not know {target}"
        );
    }
    // The npm publish job packs one package per target, and the launcher lists each.
    let publish = read(".github/workflows/publish-npm.yml");
    let launcher: Value = serde_json::from_str(&read("npm/shockwave/package.json")).unwrap();
    let packages = launcher["optionalDependencies"].as_object().unwrap();
    assert_eq!(packages.len(), targets.len(), "{packages:?}");
    for target in &targets {
        assert!(
            publish.contains(target.as_str()),
            "publish-npm does not pack {target}"
        );
    }
    for package in packages.keys() {
        let platform = package.strip_prefix("@shockwave/").unwrap();
        assert!(
            publish.contains(&format!(":{platform}")),
            "{platform} is not packed"
        );
    }
}

#[test]
fn binstall_finds_the_archives_dist_names() {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    // dist names an archive `NAME-TARGET.tar.xz`, a folder of the same name inside.
    assert_eq!(
        binstall["pkg-url"].as_str(),
        Some("{ repo }/releases/download/v{ version }/{ name }-{ target }{ archive-suffix }")
    );
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("txz"));
    assert_eq!(
        binstall["bin-dir"].as_str(),
        Some("{ name }-{ target }/{ bin }{ binary-ext }")
    );
    // dist packs Windows as a .zip with the executable at its root.
    let windows = &binstall["overrides"]["x86_64-pc-windows-msvc"];
    assert_eq!(windows["pkg-fmt"].as_str(), Some("zip"));
    assert_eq!(windows["bin-dir"].as_str(), Some("{ bin }{ binary-ext }"));
    let repository = manifest["package"]["repository"].as_str().unwrap();
    assert!(
        repository.starts_with("https://github.com/"),
        "{repository}"
    );
}
