//! The parsed form of pipeline.toml kept in the local cache: a second load of the same text skips
//! the TOML parse, but never changes an answer. Edits are seen at once, validation still runs on
//! every load (with positions that point into the text), and a damaged or misplaced entry is only
//! a miss.

use crate::common;

use std::path::PathBuf;

use common::{names, AffectedJson, OutputExt, TestRepo};

const CONFIG: &str = r#"[workspace]
unowned = "ignore"

[targets.build]
command = "true"

[services.api]
root = "services/api"
deps = ["lib"]

[services.lib]
root = "libs/lib"
"#;

fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("services/api/main.txt", "api\n")
        .write("libs/lib/lib.txt", "lib\n")
        .config(CONFIG);
    repo.commit("init");
    repo
}

/// The files in the parsed-config folder of the cache at `dir`.
fn entries(dir: &std::path::Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir.join(".config")) {
        Ok(read) => read.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// `check -v`'s stderr: says whether the parsed form was reused.
fn check_log(repo: &TestRepo) -> String {
    let out = repo.run(&["-v", "check"]);
    out.success();
    out.stderr_str().to_string()
}

#[test]
fn the_second_load_reuses_the_parse_and_an_edit_is_seen_at_once() {
    let repo = repo();
    assert!(!check_log(&repo).contains("parsed config reused"));
    assert_eq!(entries(&repo.cache_dir()).len(), 1);
    assert!(check_log(&repo).contains("parsed config reused"));

    // A new service in the text: the old entry no longer matches, and the answer has it.
    repo.write("services/web/index.txt", "web\n")
        .config(&format!(
            "{CONFIG}\n[services.web]\nroot = \"services/web\"\ndeps = [\"lib\"]\n"
        ));
    repo.commit("add web");
    repo.write("libs/lib/lib.txt", "lib 2\n");
    let json = repo.affected_json(&["--uncommitted"]);
    assert_eq!(json.affected_names(), names(&["api", "lib", "web"]));
    assert!(check_log(&repo).contains("parsed config reused"));
    assert_eq!(
        entries(&repo.cache_dir()).len(),
        1,
        "one slot per config file"
    );
}

#[test]
fn validation_still_runs_on_a_reused_parse_and_points_into_the_text() {
    let repo = repo();
    repo.run(&["check"]).success();
    // The text is unchanged, so its parse is reused; the root it names is gone.
    std::fs::remove_dir_all(repo.abs("libs/lib")).unwrap();
    let out = repo.run(&["-v", "check"]);
    out.expect_code(2);
    let err = out.stderr_str();
    assert!(err.contains("parsed config reused"), "{err}");
    assert!(
        err.contains("root `libs/lib` does not exist"),
        "validation ran: {err}"
    );
    assert!(
        err.contains("pipeline.toml:12:8"),
        "the span is right: {err}"
    );
}

#[test]
fn a_damaged_entry_is_a_miss_and_is_replaced() {
    let repo = repo();
    repo.run(&["check"]).success();
    let found = entries(&repo.cache_dir());
    let [entry] = found.as_slice() else {
        panic!("one entry: {found:?}");
    };
    let good = std::fs::read(entry).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    for damaged in [
        bad,
        good[..good.len() / 2].to_vec(),
        Vec::new(),
        b"x".repeat(1 << 20),
    ] {
        std::fs::write(entry, &damaged).unwrap();
        let log = check_log(&repo);
        assert!(!log.contains("parsed config reused"), "{log}");
        assert_eq!(
            std::fs::read(entry).unwrap(),
            good,
            "replaced by a sound entry"
        );
    }
    assert_eq!(
        repo.run(&["affected", "--uncommitted", "--format", "names"])
            .success()
            .stdout_str(),
        ""
    );
}

#[test]
fn the_parsed_config_follows_the_cache_directory() {
    let repo = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    let by_env = elsewhere.path().join("cache");
    let out = repo
        .command(&["-v", "check"])
        .env("SHOCKWAVE_CACHE_DIR", &by_env)
        .output()
        .unwrap();
    out.success();
    assert_eq!(entries(&by_env).len(), 1);
    assert!(!repo.cache_dir().exists(), "the default cache is untouched");
    let by_flag = elsewhere.path().join("flag");
    repo.run(&[
        "run",
        "build",
        "--all",
        "--cache-dir",
        by_flag.to_str().unwrap(),
    ])
    .success();
    assert_eq!(entries(&by_flag).len(), 1);
    assert!(!repo.cache_dir().exists());
    // `cache clean` removes the parsed configs with the entries.
    repo.run(&["cache", "clean", "--cache-dir", by_flag.to_str().unwrap()])
        .success();
    assert!(entries(&by_flag).is_empty());
}

#[test]
fn a_linked_parsed_config_folder_is_never_written_through() {
    let repo = repo();
    // A sound entry for this text, in the folder the link points to: not read through it.
    repo.run(&["check"]).success();
    let outside = tempfile::tempdir().unwrap();
    std::fs::rename(repo.cache_dir().join(".config"), outside.path().join("c")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("c"), repo.cache_dir().join(".config")).unwrap();
    let log = check_log(&repo);
    assert!(!log.contains("parsed config reused"), "{log}");
    assert_eq!(
        std::fs::read_dir(outside.path().join("c")).unwrap().count(),
        1,
        "nothing written through the link"
    );
    assert!(repo
        .cache_dir()
        .join(".config")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn an_entry_reached_through_a_symlink_or_not_a_file_is_never_read() {
    let repo = repo();
    repo.run(&["check"]).success();
    let found = entries(&repo.cache_dir());
    let [entry] = found.as_slice() else {
        panic!("one entry: {found:?}");
    };
    // A sound entry, but behind a link: not followed.
    let outside = tempfile::tempdir().unwrap();
    let copy = outside.path().join("entry.bin");
    std::fs::rename(entry, &copy).unwrap();
    std::os::unix::fs::symlink(&copy, entry).unwrap();
    let log = check_log(&repo);
    assert!(!log.contains("parsed config reused"), "{log}");
    assert!(
        std::fs::symlink_metadata(entry).unwrap().is_file(),
        "the link was replaced by a fresh entry, not written through"
    );
    assert_eq!(
        std::fs::read(&copy).unwrap().len(),
        std::fs::read(entry).unwrap().len()
    );
    // A FIFO in its place would block a plain read: it is a miss at once.
    std::fs::remove_file(entry).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(entry)
        .status()
        .unwrap();
    assert!(status.success());
    let log = check_log(&repo);
    assert!(!log.contains("parsed config reused"), "{log}");
}

#[test]
fn an_entry_made_by_another_copy_of_the_executable_misses() {
    let repo = repo();
    repo.run(&["check"]).success();
    assert!(check_log(&repo).contains("parsed config reused"));
    // The same build at another path (another inode and change time): its key differs, as an
    // entry carried in by a commit would for any installed binary.
    let bin = tempfile::tempdir().unwrap();
    let other = bin.path().join("shockwave");
    std::fs::copy(env!("CARGO_BIN_EXE_shockwave"), &other).unwrap();
    let mut cmd = std::process::Command::new(&other);
    common::hermetic(&mut cmd);
    let out = cmd
        .args(["-v", "check"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    out.success();
    assert!(!out.stderr_str().contains("parsed config reused"));
}

#[test]
fn run_no_cache_and_the_cache_commands_leave_parsed_configs_alone() {
    let repo = repo();
    repo.run(&["run", "build", "--all", "--no-cache"]).success();
    assert!(!repo.cache_dir().exists(), "--no-cache wrote the cache");
    let typo = repo.abs("no-such-cache");
    repo.run(&["cache", "stats", "--cache-dir", typo.to_str().unwrap()])
        .success();
    assert!(
        !typo.exists(),
        "cache stats created the directory it was asked about"
    );
}
