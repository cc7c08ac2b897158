//! The local cache on disk: damaged entries are misses that get replaced, crafted archives are
//! refused before anything is written, and `cache stats | clean | prune` manage the directory.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{OutputExt, SummaryJson, TestRepo};
use serde_json::json;

/// Two independent services whose `build` writes `bin/out` (ignored by git).
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin && cat in.txt > bin/out && echo built $SHOCKWAVE_SERVICE"
outputs = ["bin/**"]
"#,
    )
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n")
    .write("svc/b/in.txt", "b\n");
    repo.commit("init");
    repo
}

fn build(repo: &TestRepo, service: &str) -> (std::process::Output, serde_json::Value) {
    repo.run_summary(&["build", "--service", service])
}

fn entry(repo: &TestRepo, hash: &str) -> PathBuf {
    repo.cache_dir().join(hash)
}

fn status(s: &serde_json::Value, task: &str) -> String {
    s.task(task)["status"].as_str().unwrap().to_string()
}

/// Damages the archive of `a:build`'s entry with `damage`, then checks the next run warns, reruns
/// the task, writes a fresh entry, and that the run after that is a hit again.
fn damaged_entry_is_a_miss_and_replaced(damage: impl FnOnce(&Path), why: &str) {
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    build(&repo, "a").0.success();
    let archive = entry(&repo, &hash).join("outputs.tar.zst");
    let good = std::fs::read(&archive).unwrap();
    damage(&archive);
    repo.remove("svc/a/bin");

    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert_eq!(s.task("a:build")["cache"], "miss");
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "warning: a:build: cache entry {hash} is corrupt ({why}"
        )),
        "{err}"
    );
    assert_eq!(repo.read("svc/a/bin/out"), "a\n");
    // The entry was replaced by a good one (the archive is deterministic).
    assert_eq!(std::fs::read(&archive).unwrap(), good);

    repo.remove("svc/a/bin");
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "cached-local");
    assert_eq!(out.stderr_str(), "");
    assert_eq!(repo.read("svc/a/bin/out"), "a\n");
}

#[test]
fn flipped_bytes_are_a_miss_and_the_entry_is_replaced() {
    damaged_entry_is_a_miss_and_replaced(
        |archive| {
            let mut bytes = std::fs::read(archive).unwrap();
            let mid = bytes.len() / 2;
            for b in &mut bytes[mid..mid + 4] {
                *b ^= 0xff;
            }
            std::fs::write(archive, bytes).unwrap();
        },
        "archive digest mismatch",
    );
}

#[test]
fn a_truncated_archive_is_a_miss_and_the_entry_is_replaced() {
    damaged_entry_is_a_miss_and_replaced(
        |archive| {
            let len = std::fs::metadata(archive).unwrap().len();
            let f = std::fs::File::options().write(true).open(archive).unwrap();
            f.set_len(len / 2).unwrap();
        },
        "`outputs.tar.zst` is ",
    );
}

#[test]
fn unreadable_metadata_is_a_miss() {
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    build(&repo, "a").0.success();
    std::fs::write(entry(&repo, &hash).join("meta.json"), "{ not json").unwrap();
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert!(
        out.stderr_str().contains("is corrupt (unreadable metadata"),
        "{}",
        out.stderr_str()
    );
    let (_, s) = build(&repo, "a");
    assert_eq!(status(&s, "a:build"), "cached-local");
}

#[test]
fn a_damaged_log_is_a_miss() {
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    build(&repo, "a").0.success();
    // As long as the real log (`built a`), so that the digest, not the size, tells them apart.
    std::fs::write(entry(&repo, &hash).join("log"), "forged!\n").unwrap();
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert!(
        out.stderr_str().contains("(log digest mismatch)"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("forged"));
}

// ---------------------------------------------------------------------------------------------
// Crafted archives.

/// A tar header whose name is written byte for byte (the `tar` builder refuses `..` and absolute
/// names, which is the point of these tests).
fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

enum M<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
    Dir(&'a str),
}

fn archive(members: &[M]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        match m {
            M::File(name, data) => {
                let h = raw_header(name, tar::EntryType::Regular, data.len() as u64, None);
                b.append(&h, *data).unwrap();
            }
            M::Link(name, target) => {
                let h = raw_header(name, tar::EntryType::Symlink, 0, Some(target));
                b.append(&h, std::io::empty()).unwrap();
            }
            M::Dir(name) => {
                let h = raw_header(name, tar::EntryType::Directory, 0, None);
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    zstd::encode_all(b.into_inner().unwrap().as_slice(), 3).unwrap()
}

/// Writes a complete, digest-consistent cache entry for `hash` holding `archive`.
fn plant(cache: &Path, hash: &str, task: &str, archive: &[u8]) {
    let dir = cache.join(hash);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    let log = b"planted log\n";
    std::fs::write(dir.join("outputs.tar.zst"), archive).unwrap();
    std::fs::write(dir.join("log"), log).unwrap();
    let tar_bytes = zstd::decode_all(archive).map_or(0, |t| t.len());
    let meta = json!({
        "version": 2,
        "hash": hash,
        "task": task,
        "exit_code": 0,
        "duration_ms": 1234,
        "archive_blake3": blake3::hash(archive).to_hex().to_string(),
        "archive_bytes": archive.len(),
        "tar_bytes": tar_bytes,
        "log_blake3": blake3::hash(log).to_hex().to_string(),
        "log_bytes": log.len(),
        "files": 1,
        "created_unix": 1_700_000_000u64,
    });
    std::fs::write(
        dir.join("meta.json"),
        serde_json::to_vec_pretty(&meta).unwrap(),
    )
    .unwrap();
}

/// Every file and symlink under `dir`, relative, sorted (skipping `.git`).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel == ".git" {
                continue;
            }
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Plants `bad` as `a:build`'s entry in a repository whose service `a` is nested two levels deep
/// (`svc/a`), runs, and checks the entry was refused before anything was written: the task ran
/// for real, the warning names the entry, nothing appeared outside `svc/a`,
/// and the cache holds a good entry again.
fn refused(bad: &[M], why: &str) {
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    build(&repo, "b").0.success();
    let before: Vec<String> = tree(repo.path())
        .into_iter()
        .filter(|p| !p.starts_with("svc/a/") && !p.starts_with(".shockwave/"))
        .collect();

    let bad = archive(bad);
    plant(&repo.cache_dir(), &hash, "a:build", &bad);

    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success", "{s:#}");
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "warning: a:build: cache entry {hash} was refused: {why}"
        )),
        "{err}"
    );
    assert!(!out.stdout_str().contains("planted log"));
    let after: Vec<String> = tree(repo.path())
        .into_iter()
        .filter(|p| !p.starts_with("svc/a/") && !p.starts_with(".shockwave/"))
        .collect();
    assert_eq!(before, after, "files appeared outside the service root");
    assert_eq!(tree(&repo.abs("svc/a")), ["bin/out", "in.txt"]);
    // The refused entry was replaced by the real run's.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(entry(&repo, &hash).join("meta.json")).unwrap())
            .unwrap();
    assert_ne!(meta["duration_ms"], 1234);
    repo.remove("svc/a/bin");
    let (_, s) = build(&repo, "a");
    assert_eq!(status(&s, "a:build"), "cached-local");
}

#[test]
fn an_archive_member_with_dotdot_is_refused() {
    refused(
        &[M::File("bin/planted", b"x"), M::File("../escaped", b"x")],
        "member `../escaped` is absolute or leaves the service root",
    );
}

#[test]
fn an_archive_member_with_dotdot_inside_is_refused() {
    refused(
        &[M::File("bin/../../../escaped", b"x")],
        "member `bin/../../../escaped` is absolute or leaves the service root",
    );
}

#[test]
fn an_absolute_archive_member_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("abs-escaped");
    let name = target.to_str().unwrap().to_string();
    refused(
        &[M::File("bin/planted", b"x"), M::File(&name, b"x")],
        &format!("member `{name}` is absolute or leaves the service root"),
    );
    assert!(!target.exists());
}

#[test]
fn an_escaping_symlink_is_refused() {
    refused(
        &[M::Link("bin/x", "../../../outside")],
        "symlink `bin/x` → `../../../outside` points outside the service root",
    );
}

#[test]
fn an_absolute_symlink_is_refused() {
    refused(
        &[M::Link("bin/x", "/etc")],
        "symlink `bin/x` → `/etc` points outside the service root",
    );
}

#[test]
fn writing_through_an_archived_symlink_is_refused() {
    // `d1/d2/l` → `..` is `d1`, inside the root. Read lexically, `d1/d2/l/m` → `../..` is `d1`
    // too, but `d1/d2/l/m` really is `d1/m`, so it points at the root's parent, and
    // `d1/d2/l/m/pwned` would land in `svc/`. Each member alone looks harmless.
    refused(
        &[
            M::Dir("d1/d2/"),
            M::Link("d1/d2/l", ".."),
            M::Link("d1/d2/l/m", "../.."),
            M::File("d1/d2/l/m/pwned", b"x"),
        ],
        "member `d1/d2/l/m` lies under the symlink `d1/d2/l` in the same archive",
    );
}

#[test]
fn a_symlink_target_that_climbs_through_another_symlink_is_refused() {
    // `d1/d2/l` → `../../x` is `x`, inside the root. `e` → `d1/d2/l/../..` reads as `d1`, but
    // `d1/d2/l/..` is really the root, so `e` would point at the root's parent.
    refused(
        &[
            M::Dir("d1/d2/"),
            M::Dir("x/"),
            M::Link("d1/d2/l", "../../x"),
            M::Link("e", "d1/d2/l/../.."),
        ],
        "symlink `e` → `d1/d2/l/../..` has `..` after a name",
    );
}

#[test]
fn a_hard_link_member_is_refused() {
    let repo_root_file = "in.txt";
    let mut b = tar::Builder::new(Vec::new());
    let h = raw_header("bin/hard", tar::EntryType::Link, 0, Some(repo_root_file));
    b.append(&h, std::io::empty()).unwrap();
    let bytes = zstd::encode_all(b.into_inner().unwrap().as_slice(), 3).unwrap();
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    plant(&repo.cache_dir(), &hash, "a:build", &bytes);
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert!(
        out.stderr_str().contains("has unsupported type"),
        "{}",
        out.stderr_str()
    );
}

// ---------------------------------------------------------------------------------------------
// cache stats | clean | prune

fn entry_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// A size as `cache stats` prints it (binary units, one decimal above 1 KiB).
fn human(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn set_used(entry: &Path, when: SystemTime) {
    let f = std::fs::File::options()
        .write(true)
        .open(entry.join("meta.json"))
        .unwrap();
    f.set_modified(when).unwrap();
}

#[test]
fn stats_clean_and_prune() {
    let repo = repo();
    let dir = repo.cache_dir();
    let stats = repo.run(&["cache", "stats"]);
    assert_eq!(
        stats.success().stdout_str(),
        format!("{}: 0 entries, 0 B, can save 0ms\n", dir.display())
    );

    let hashes = repo.task_hashes(&["build"]);
    repo.run(&["run", "build", "--all"]).success();
    let (ea, eb) = (
        entry(&repo, &hashes["a:build"]),
        entry(&repo, &hashes["b:build"]),
    );
    let (sa, sb) = (entry_size(&ea), entry_size(&eb));
    let meta = |e: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(e.join("meta.json")).unwrap()).unwrap()
    };
    let saved =
        meta(&ea)["duration_ms"].as_u64().unwrap() + meta(&eb)["duration_ms"].as_u64().unwrap();
    let line = repo.run(&["cache", "stats"]).success().stdout_str();
    let prefix = format!(
        "{}: 2 entries, {}, can save ",
        dir.display(),
        human(sa + sb)
    );
    assert!(
        line.starts_with(&prefix),
        "{line:?} does not start with {prefix:?}"
    );
    assert!(
        line.ends_with(&format!("can save {saved}ms\n")) || saved >= 1000,
        "{line}"
    );

    // prune keeps the most recently used entry that fits: `a` was used last.
    let now = SystemTime::now();
    set_used(&eb, now - Duration::from_secs(600));
    set_used(&ea, now - Duration::from_secs(60));
    let limit = sa.max(sb).to_string();
    let out = repo.run(&["cache", "prune", "--max-size", &limit]);
    let text = out.success().stdout_str();
    assert!(
        text.starts_with(&format!(
            "removed 1 least recently used entry ({sb} B); 1 entry left ({sa} B, limit "
        )),
        "{text}"
    );
    assert!(ea.is_dir() && !eb.exists());

    // A restore counts as a use: restore `a`, make `b` again (newer on disk), then restore `a`
    // again; pruning to one entry must keep `a`.
    repo.run(&["run", "build", "--service", "b"]).success();
    set_used(&ea, now - Duration::from_secs(600));
    set_used(&eb, now - Duration::from_secs(60));
    repo.remove("svc/a/bin");
    let (_, s) = build(&repo, "a");
    assert_eq!(status(&s, "a:build"), "cached-local");
    let out = repo.run(&["cache", "prune", "--max-size", &limit]);
    out.success();
    assert!(ea.is_dir() && !eb.exists(), "the restored entry was pruned");

    // --max-size 1: everything goes.
    let out = repo.run(&["cache", "prune", "--max-size", "1"]);
    assert_eq!(
        out.success().stdout_str(),
        format!("removed 1 least recently used entry ({sa} B); 0 entries left (0 B, limit 1 B)\n")
    );
    assert!(!ea.exists());

    // clean removes everything, keeps the .gitignore, and says how much.
    repo.run(&["run", "build", "--all"]).success();
    let total = entry_size(&ea) + entry_size(&eb);
    let out = repo.run(&["cache", "clean"]);
    assert_eq!(
        out.success().stdout_str(),
        format!("removed 2 entries ({})\n", human(total))
    );
    assert_eq!(common::dir_names(&dir), common::set(&[".gitignore"]));
    assert_eq!(
        repo.run(&["cache", "stats"]).success().stdout_str(),
        format!("{}: 0 entries, 0 B, can save 0ms\n", dir.display())
    );
    let (_, s) = build(&repo, "a");
    assert_eq!(status(&s, "a:build"), "success");
}

#[test]
fn prune_sizes_use_binary_units() {
    let repo = repo();
    repo.run(&["run", "build", "--all"]).success();
    let out = repo.run(&["cache", "prune", "--max-size", "2G"]);
    assert!(out
        .success()
        .stdout_str()
        .starts_with("removed 0 least recently used entries (0 B); 2 entries left"));
    let out = repo.run(&["cache", "prune", "--max-size", "1K"]);
    let text = out.success().stdout_str();
    assert!(text.contains("limit 1.0 KiB)"), "{text}");
}

#[test]
fn prune_with_a_bad_size_is_a_usage_error() {
    let repo = repo();
    for bad in ["12parsecs", "", "M", "-1"] {
        let out = repo.run(&["cache", "prune", "--max-size", bad]);
        out.expect_code(2);
        assert!(
            out.stderr_str().contains("--max-size"),
            "{bad}: {}",
            out.stderr_str()
        );
    }
    let out = repo.run(&["cache", "prune"]);
    out.expect_code(2);
}

#[test]
fn cache_commands_follow_cache_dir_and_the_environment() {
    let repo = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path().join("c");
    repo.run(&[
        "run",
        "build",
        "--all",
        "--cache-dir",
        dir.to_str().unwrap(),
    ])
    .success();
    let by_flag = repo.run(&["cache", "stats", "--cache-dir", dir.to_str().unwrap()]);
    assert!(by_flag
        .success()
        .stdout_str()
        .starts_with(&format!("{}: 2 entries, ", dir.display())));
    let by_flag_first = repo.run(&["cache", "--cache-dir", dir.to_str().unwrap(), "stats"]);
    assert_eq!(by_flag_first.success().stdout_str(), by_flag.stdout_str());
    let by_env = repo
        .command(&["cache", "stats"])
        .env("SHOCKWAVE_CACHE_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(by_env.success().stdout_str(), by_flag.stdout_str());
    // The default location is untouched.
    assert!(!repo.cache_dir().exists());
    // A relative --cache-dir is relative to the working directory.
    repo.mkdir("tools");
    repo.run_in(
        "tools",
        &["run", "build", "--all", "--cache-dir", "rel-cache"],
    )
    .success();
    assert!(repo.abs("tools/rel-cache").is_dir());
    let out = repo.run_in("tools", &["cache", "clean", "--cache-dir", "rel-cache"]);
    assert_eq!(
        out.success()
            .stdout_str()
            .lines()
            .next()
            .unwrap()
            .split(' ')
            .nth(1),
        Some("2")
    );
    // clean with the environment variable empties the other directory.
    let out = repo
        .command(&["cache", "clean"])
        .env("SHOCKWAVE_CACHE_DIR", &dir)
        .output()
        .unwrap();
    out.success();
    assert_eq!(common::dir_names(&dir), common::set(&[".gitignore"]));
}

#[test]
fn restoring_through_a_symlink_in_the_worktree_is_refused() {
    let repo = repo();
    // Ignore `bin` whether it is a directory or a symlink, so the swap below keeps the hash.
    repo.write(".gitignore", "bin\n")
        .commit("ignore bin links too");
    build(&repo, "a").0.success();
    // A symlink where the outputs go would carry the restore outside the service root.
    repo.remove("svc/a/bin").mkdir("outside");
    repo.symlink("../../outside", "svc/a/bin");
    let (out, s) = build(&repo, "a");
    out.success();
    let err = out.stderr_str();
    assert!(
        err.contains("refusing to restore `bin/out` through the symlink"),
        "{err}"
    );
    // The entry was not used: the task ran for real.
    assert_eq!(status(&s, "a:build"), "success");
    assert_eq!(s.task("a:build")["cache"], "miss");
}

#[test]
fn large_outputs_round_trip_through_the_cache() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]
[targets.build]
command = "mkdir -p bin && head -c 12000000 /dev/urandom > bin/blob && cat in.txt > bin/small"
outputs = ["bin/**"]
"#,
    )
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n");
    repo.commit("init");
    build(&repo, "a").0.success();
    let original = std::fs::read(repo.abs("svc/a/bin/blob")).unwrap();
    assert_eq!(original.len(), 12_000_000);
    repo.remove("svc/a/bin");
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "cached-local");
    assert!(std::fs::read(repo.abs("svc/a/bin/blob")).unwrap() == original);
    assert_eq!(repo.read("svc/a/bin/small"), "a\n");
}

#[test]
fn restore_leaves_identical_files_alone_and_rewrites_changed_ones() {
    let repo = repo();
    build(&repo, "a").0.success();
    let out = repo.abs("svc/a/bin/out");
    // An old mtime on the identical output: a restore must not touch the file.
    let touched = std::process::Command::new("touch")
        .args(["-d", "@1000000000"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(touched.success());
    let mtime = || std::fs::metadata(&out).unwrap().modified().unwrap();
    let before = mtime();
    let (run, s) = build(&repo, "a");
    run.success();
    assert_eq!(status(&s, "a:build"), "cached-local");
    assert_eq!(mtime(), before, "an identical output was rewritten");
    // A changed output is put back.
    std::fs::write(&out, "tampered\n").unwrap();
    let (run, s) = build(&repo, "a");
    run.success();
    assert_eq!(status(&s, "a:build"), "cached-local");
    assert_eq!(repo.read("svc/a/bin/out"), "a\n");
}
