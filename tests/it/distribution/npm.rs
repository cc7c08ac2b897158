//! `npx shockwave`: `npm/pack.sh` packs the wrapper and this platform's package around the
//! binary under test, and npm installs both offline, the way a registry install lays them out.

use std::path::Path;
use std::process::{Command, Output};

use super::{source_dir, tool};
use crate::common::{OutputExt, TestRepo, BIN};

/// An npm command that reads no user config and writes its cache under `home`.
fn npm(home: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("npm_config_cache", home.join("npm-cache"))
        .env("npm_config_userconfig", home.join("npmrc"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env_remove("SHOCKWAVE_BINARY")
        .output()
        .expect("run npm")
}

/// The binary under test without its debug information (`strip`, when installed): gzip and
/// npm take minutes over the 200+ MiB of a debug build, seconds without.
fn stripped(work: &TestRepo) -> std::path::PathBuf {
    let copy = work.abs("shockwave");
    std::fs::copy(BIN, &copy).unwrap();
    let _ = Command::new("strip")
        .arg("--strip-debug")
        .arg(&copy)
        .output();
    copy
}

/// `npm/pack.sh BINARY OUT [PLATFORM]`: the two tarballs it printed.
fn pack(binary: &Path, out: &Path, platform: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new("bash");
    cmd.arg(source_dir().join("npm/pack.sh"))
        .arg(binary)
        .arg(out);
    cmd.args(platform);
    let result = cmd.env_remove("SHOCKWAVE_VERSION").output().unwrap();
    result.success();
    let tarballs: Vec<String> = result.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(tarballs.len(), 2, "{}", result.stdout_str());
    tarballs
}

fn this_platform() -> String {
    let out = Command::new("node")
        .args(["-p", "process.platform + '-' + process.arch"])
        .output()
        .unwrap();
    out.success();
    out.stdout_str().trim().to_string()
}

#[test]
fn npx_shockwave_runs_the_packed_binary_installed_offline() {
    if tool("npm").is_none() || tool("node").is_none() {
        return;
    }
    let work = TestRepo::empty_dir();
    let tarballs = pack(&stripped(&work), &work.abs("out"), None);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        tarballs[0].ends_with(&format!("/shockwave-{version}.tgz")),
        "{tarballs:?}"
    );
    assert!(
        tarballs[1].ends_with(&format!("/shockwave-{}-{version}.tgz", this_platform())),
        "{tarballs:?}"
    );

    // A project installing both tarballs with no network: the wrapper's other platforms are
    // optional dependencies npm cannot fetch and skips.
    let project = work.abs("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{"name": "app", "private": true}"#,
    )
    .unwrap();
    let home = work.abs("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut args = vec!["install", "--offline", "--no-save"];
    args.extend(tarballs.iter().map(String::as_str));
    let out = npm(&home, &project, &args);
    assert!(
        out.status.success(),
        "npm install failed:\n{}{}",
        out.stdout_str(),
        out.stderr_str()
    );

    let out = npm(
        &home,
        &project,
        &["exec", "--offline", "--", "shockwave", "--version"],
    );
    assert!(
        out.status.success(),
        "{}{}",
        out.stdout_str(),
        out.stderr_str()
    );
    assert!(
        out.stdout_str()
            .starts_with(&format!("shockwave {version} (commit ")),
        "{}",
        out.stdout_str()
    );

    // The exit code and the output are the binary's: a usage error is 2 through the launcher.
    let launcher = project.join("node_modules/.bin/shockwave");
    let out = Command::new(&launcher)
        .arg("--no-such-flag")
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("--no-such-flag"),
        "{}",
        out.stderr_str()
    );

    // Without the platform package (installed with --omit=optional, or a lockfile from
    // another platform) the launcher says what is missing and how to get it.
    std::fs::remove_dir_all(project.join(format!("node_modules/@shockwave/{}", this_platform())))
        .unwrap();
    let out = Command::new(&launcher).arg("--version").output().unwrap();
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains(&format!("@shockwave/{}", this_platform())),
        "{err}"
    );
    assert!(err.contains("--omit=optional"), "{err}");
}

#[test]
fn pack_refuses_a_platform_the_wrapper_does_not_list_and_a_missing_binary() {
    if tool("npm").is_none() || tool("node").is_none() {
        return;
    }
    let work = TestRepo::empty_dir();
    let out = Command::new("bash")
        .arg(source_dir().join("npm/pack.sh"))
        .args([BIN, work.abs("out").to_str().unwrap(), "plan9-mips"])
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("plan9-mips is not a platform"),
        "{}",
        out.stderr_str()
    );

    let out = Command::new("bash")
        .arg(source_dir().join("npm/pack.sh"))
        .args([
            work.abs("nope").to_str().unwrap(),
            work.abs("out").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("is not a file"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn another_platform_is_packed_with_its_os_and_cpu() {
    if tool("npm").is_none() || tool("node").is_none() {
        return;
    }
    let work = TestRepo::empty_dir();
    let (tarballs, manifest, files) = pack_other(&work, "darwin-arm64");
    assert_eq!(manifest["name"], "@shockwave/darwin-arm64");
    assert_eq!(manifest["os"], serde_json::json!(["darwin"]));
    assert_eq!(manifest["cpu"], serde_json::json!(["arm64"]));
    assert!(files.contains("package/bin/shockwave\n"), "{files}");

    let wrapper = Command::new("tar")
        .args(["-xzOf", &tarballs[0], "package/package.json"])
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&wrapper.stdout_str()).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(manifest["version"], version);
    for (name, v) in manifest["optionalDependencies"].as_object().unwrap() {
        assert_eq!(v, version, "{name}");
    }
}

#[test]
fn the_windows_package_holds_shockwave_exe() {
    if tool("npm").is_none() || tool("node").is_none() {
        return;
    }
    let work = TestRepo::empty_dir();
    let (_, manifest, files) = pack_other(&work, "win32-x64");
    assert_eq!(manifest["name"], "@shockwave/win32-x64");
    assert_eq!(manifest["os"], serde_json::json!(["win32"]));
    assert_eq!(manifest["cpu"], serde_json::json!(["x64"]));
    assert_eq!(manifest["files"], serde_json::json!(["bin/shockwave.exe"]));
    assert!(files.contains("package/bin/shockwave.exe\n"), "{files}");
}

/// Packs a stand-in binary as `platform`'s package: the two tarballs, the platform package's
/// manifest and the list of its files.
fn pack_other(work: &TestRepo, platform: &str) -> (Vec<String>, serde_json::Value, String) {
    // Any file will do as the binary of another platform.
    let binary = work.abs("shockwave-other");
    std::fs::write(&binary, "\u{cf}\u{fa}").unwrap();
    let tarballs = pack(&binary, &work.abs("out"), Some(platform));
    let listing = Command::new("tar")
        .args(["-xzOf", &tarballs[1], "package/package.json"])
        .output()
        .unwrap();
    listing.success();
    let manifest: serde_json::Value = serde_json::from_str(&listing.stdout_str()).unwrap();
    let files = Command::new("tar")
        .args(["-tzf", &tarballs[1]])
        .output()
        .unwrap();
    (tarballs, manifest, files.stdout_str())
}
