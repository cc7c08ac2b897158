//! Hostile and damaged cache entries, and concurrent runs sharing one cache (issue 6, "Cache
//! restore", items 2–7). Every case must end as a warning and a miss (the task runs for real),
//! quickly, with nothing written outside the target's declared outputs — never a hang, an abort or
//! a hit that restores what it should not.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{OutputExt, SummaryJson, TestRepo};

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

/// A service rooted at the repository root that declares every file an output: the globs admit
/// `.git/` and the cache directory, so only the cache's own rule keeps them out.
fn root_service_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.config(
        r#"
[services.app]
root = "."

[targets.build]
command = "mkdir -p out && echo app > out/app"
outputs = ["**"]
"#,
    )
    .write(".gitignore", "out/\n");
    repo.commit("init");
    repo
}

fn entry(repo: &TestRepo, hash: &str) -> PathBuf {
    repo.cache_dir().join(hash)
}

fn status(s: &serde_json::Value, task: &str) -> String {
    s.task(task)["status"].as_str().unwrap().to_string()
}

/// How long any single run may take here: every case below is decided in milliseconds, and the
/// defects guarded against hang (a FIFO) or grow without bound (`/dev/zero`) instead.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `shockwave run build --service SERVICE --summary FILE`, killing it (and failing the test)
/// if it has not ended within [`DEADLINE`].
fn build(repo: &TestRepo, service: &str) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut cmd = repo.command(&["run", "build", "--service", service]);
    cmd.arg("--summary").arg(&summary);
    let out = within_deadline(cmd);
    let text = std::fs::read_to_string(&summary).unwrap_or_else(|e| {
        panic!(
            "no summary ({e}); exit {}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, serde_json::from_str(&text).unwrap())
}

fn within_deadline(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shockwave");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "shockwave did not finish within {DEADLINE:?}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Builds `service` for real (storing a good entry) and returns its hash.
fn stored(repo: &TestRepo, service: &str) -> String {
    let task = format!("{service}:build");
    let hash = repo.task_hashes(&["build"])[&task].clone();
    let (out, s) = build(repo, service);
    out.success();
    assert_eq!(status(&s, &task), "success");
    assert!(entry(repo, &hash).join("meta.json").is_file());
    hash
}

/// Replaces the archive of the good entry for `hash` with `archive` and makes the metadata agree
/// with it (digest and compressed size): what a hostile writer of the cache directory can do. The
/// rest of the metadata stays as the real store wrote it.
fn forge(repo: &TestRepo, hash: &str, archive: &[u8]) {
    let dir = entry(repo, hash);
    std::fs::write(dir.join("outputs.tar.zst"), archive).unwrap();
    let meta_path = dir.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["archive_blake3"] = blake3::hash(archive).to_hex().to_string().into();
    meta["archive_bytes"] = archive.len().into();
    meta["duration_ms"] = 1234.into();
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
}

/// [`forge`] that also records the archive's real uncompressed size, so that only the contents
/// are hostile.
fn forge_consistent(repo: &TestRepo, hash: &str, archive: &[u8]) {
    forge(repo, hash, archive);
    let meta_path = entry(repo, hash).join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["tar_bytes"] = zstd::decode_all(archive).unwrap().len().into();
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
}

/// A tar.zst of regular files, names written verbatim.
fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(0);
        b.append_data(&mut h, name, *data).unwrap();
    }
    zstd::encode_all(b.into_inner().unwrap().as_slice(), 3).unwrap()
}

/// The member paths of an entry's archive.
fn members(repo: &TestRepo, hash: &str) -> Vec<String> {
    let bytes = std::fs::read(entry(repo, hash).join("outputs.tar.zst")).unwrap();
    let tar = zstd::decode_all(bytes.as_slice()).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The run missed with one warning containing `why`, ran the task, and stored a good entry again:
/// the run after it is a silent hit.
fn missed_then_replaced(repo: &TestRepo, service: &str, why: &str) {
    let task = format!("{service}:build");
    let (out, s) = build(repo, service);
    out.success();
    let err = out.stderr_str();
    assert_eq!(status(&s, &task), "success", "{err}");
    assert_eq!(s.task(&task)["cache"], "miss");
    assert!(err.contains(why), "expected a warning with {why:?}:\n{err}");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(!out.stdout_str().contains("planted"));
    repo.remove(format!("svc/{service}/bin"));
    let (out, s) = build(repo, service);
    out.success();
    assert_eq!(status(&s, &task), "cached-local", "{}", out.stderr_str());
    assert_eq!(out.stderr_str(), "");
    assert_eq!(
        repo.read(format!("svc/{service}/bin/out")),
        format!("{service}\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Item 2: only declared outputs, never `.git/` or the cache.

/// Issue 6, item 2: a restore wrote any member inside the service root (sources, `build.sh`).
#[test]
fn restore_refuses_members_outside_declared_outputs() {
    let repo = repo();
    let hash = stored(&repo, "a");
    forge_consistent(
        &repo,
        &hash,
        &archive(&[("bin/out", b"a\n"), ("build.sh", b"echo planted\n")]),
    );
    repo.remove("svc/a/bin");
    missed_then_replaced(
        &repo,
        "a",
        &format!(
            "warning: a:build: cache entry {hash} was refused: member `build.sh` is not a declared \
             output (outputs = `bin/**`)"
        ),
    );
    assert!(!repo.abs("svc/a/build.sh").exists());
}

/// Issue 6, item 2: with `outputs = ["**"]` at the repository root, an entry planted a git hook
/// (which git then runs) or further cache entries.
#[test]
fn restore_refuses_git_and_cache_members_whatever_the_globs_say() {
    let repo = root_service_repo();
    let hash = repo.task_hashes(&["build"])["app:build"].clone();
    let planted_entry = format!(".shockwave/cache/{}/meta.json", "f".repeat(64));
    for (member, why) in [
        (
            ".git/hooks/post-checkout",
            "member `.git/hooks/post-checkout` is inside a `.git` directory",
        ),
        (
            "vendor/lib/.git/config",
            "member `vendor/lib/.git/config` is inside a `.git` directory",
        ),
        (
            planted_entry.as_str(),
            "is inside the cache directory, which a cache entry never writes",
        ),
    ] {
        let (out, _) = build(&repo, "app");
        out.success();
        forge_consistent(
            &repo,
            &hash,
            &archive(&[
                ("out/app", b"app\n"),
                (member, b"#!/bin/sh\necho planted\n"),
            ]),
        );
        let (out, s) = build(&repo, "app");
        out.success();
        let err = out.stderr_str();
        assert_eq!(status(&s, "app:build"), "success", "{err}");
        assert!(
            err.contains(&format!("cache entry {hash} was refused: ")) && err.contains(why),
            "{member}: {err}"
        );
        assert!(!repo.abs(member).exists(), "{member} was restored");
    }
}

/// Issue 6, item 2: storing applies the same rule, so what is stored is what may be restored: a
/// `.git` directory and the cache directory inside the outputs are left out.
#[test]
fn store_leaves_out_git_and_cache_members_whatever_the_globs_say() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin/dep/.git && echo x > bin/dep/.git/config && cat in.txt > bin/out"
outputs = ["bin/**"]
"#,
    )
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n");
    repo.commit("init");
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    // A cache directory inside the declared outputs.
    let cache = repo.abs("svc/a/bin/cache");
    let run = |cache: &Path| {
        let mut cmd = repo.command(&["run", "build", "--all", "--cache-dir"]);
        cmd.arg(cache);
        within_deadline(cmd)
    };
    let out = run(&cache);
    out.success();
    assert_eq!(out.stderr_str(), "");
    let bytes = std::fs::read(cache.join(&hash).join("outputs.tar.zst")).unwrap();
    let tar = zstd::decode_all(bytes.as_slice()).unwrap();
    let names: Vec<String> = tar::Archive::new(tar.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["bin/out"]);
}

// ---------------------------------------------------------------------------------------------
// Item 3: temporary files never follow a planted link.

/// Issue 6, item 3: a symlink planted at the temporary name (`bin/.out.shockwave-tmp`) made a
/// normal hit write and chmod a file outside the service root.
#[test]
fn restore_never_follows_a_symlink_planted_at_a_temporary_name() {
    let repo = repo();
    stored(&repo, "a");
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A changed output, so that the hit rewrites it.
    repo.write("svc/a/bin/out", "changed\n");
    std::os::unix::fs::symlink(&victim, repo.abs("svc/a/bin/.out.shockwave-tmp")).unwrap();
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(
        status(&s, "a:build"),
        "cached-local",
        "{}",
        out.stderr_str()
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the victim was chmod-ed");
    let restored = std::fs::symlink_metadata(repo.abs("svc/a/bin/out")).unwrap();
    assert!(restored.is_file(), "bin/out is not a regular file");
    assert_eq!(repo.read("svc/a/bin/out"), "a\n");
}

// ---------------------------------------------------------------------------------------------
// Item 4: bounded reads.

/// Issue 6, item 4: a small archive that inflates far past what was stored aborted the run (a
/// 100 KB bomb of 3 GiB). Decompression stops at the uncompressed size recorded at store time.
#[test]
fn a_zstd_bomb_is_a_miss_not_an_abort() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let zeros = vec![0u8; 64 << 20];
    let bomb = archive(&[("bin/out", &zeros)]);
    assert!(bomb.len() < 100 << 10, "{} bytes", bomb.len());
    // The archive is replaced, the recorded uncompressed size is the real store's.
    forge(&repo, &hash, &bomb);
    repo.remove("svc/a/bin");
    missed_then_replaced(&repo, "a", "the archive inflates past the ");
}

/// Issue 6, item 4: a FIFO in place of an entry file hung the run, even through SIGTERM.
#[test]
fn entry_files_replaced_by_fifos_are_a_miss_quickly() {
    let repo = repo();
    stored(&repo, "a");
    for file in ["meta.json", "log", "outputs.tar.zst"] {
        let hash = repo.task_hashes(&["build"])["a:build"].clone();
        let path = entry(&repo, &hash).join(file);
        std::fs::remove_file(&path).unwrap();
        let made = Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        repo.remove("svc/a/bin");
        missed_then_replaced(
            &repo,
            "a",
            &format!("`{file}` is a FIFO, not a regular file"),
        );
    }
}

/// Issue 6, item 4: an archive replaced by a link to `/dev/zero` was read without end.
#[test]
fn an_archive_swapped_for_dev_zero_is_a_miss() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let archive = entry(&repo, &hash).join("outputs.tar.zst");
    std::fs::remove_file(&archive).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &archive).unwrap();
    repo.remove("svc/a/bin");
    missed_then_replaced(
        &repo,
        "a",
        "`outputs.tar.zst` is a symlink, not a regular file",
    );
}

/// Issue 6, item 4: a 10 GiB sparse archive was hashed whole before its size was compared.
#[test]
fn a_huge_sparse_archive_is_refused_before_it_is_read() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let archive = entry(&repo, &hash).join("outputs.tar.zst");
    let f = std::fs::File::options().write(true).open(&archive).unwrap();
    f.set_len(10 << 30).unwrap();
    drop(f);
    repo.remove("svc/a/bin");
    let started = Instant::now();
    missed_then_replaced(
        &repo,
        "a",
        "`outputs.tar.zst` is 10737418240 bytes, its metadata",
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Issue 6, item 4: `meta.json` is read with a bound too; a huge one is not ours.
#[test]
fn an_oversized_metadata_file_is_a_miss() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let path = entry(&repo, &hash).join("meta.json");
    let mut meta = std::fs::read(&path).unwrap();
    // Still valid JSON: trailing whitespace.
    meta.extend(std::iter::repeat_n(b' ', 1 << 20));
    std::fs::write(&path, meta).unwrap();
    repo.remove("svc/a/bin");
    missed_then_replaced(
        &repo,
        "a",
        "more than the 65536 a cache entry's metadata can have",
    );
}

// ---------------------------------------------------------------------------------------------
// Item 5: entries that lost their metadata or their directory.

/// Issue 6, item 5: an entry without `meta.json` missed and warned on every run until `cache
/// clean`; it is corrupt: removed once, then replaced by the fresh store.
#[test]
fn an_entry_without_metadata_is_removed_and_replaced() {
    let repo = repo();
    let hash = stored(&repo, "a");
    std::fs::remove_file(entry(&repo, &hash).join("meta.json")).unwrap();
    repo.remove("svc/a/bin");
    missed_then_replaced(
        &repo,
        "a",
        &format!("cache entry {hash} is corrupt (`meta.json` is missing)"),
    );
}

/// Issue 6, item 5: an entry that became a plain file, likewise.
#[test]
fn an_entry_that_became_a_plain_file_is_removed_and_replaced() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let dir = entry(&repo, &hash);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, "not an entry\n").unwrap();
    repo.remove("svc/a/bin");
    missed_then_replaced(
        &repo,
        "a",
        &format!("cache entry {hash} is corrupt (the entry is not a directory"),
    );
    assert!(dir.is_dir());
}

// ---------------------------------------------------------------------------------------------
// Item 6: concurrent runs in one worktree.

fn spawn_build(repo: &TestRepo, runs: &Path, summary: &Path) -> Child {
    repo.command(&["run", "build", "--service", "a", "--summary"])
        .arg(summary)
        .env("RUNS", runs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shockwave")
}

/// Every `*shockwave-tmp*` file under `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains("shockwave-tmp") {
                out.push(p);
            }
        }
    }
    out
}

/// Issue 6, item 6: two runs in one worktree raced on the same temporary names (one failed its
/// restore; another run's temporary file was left in the outputs). A lock per task hash makes the
/// second run wait for the first and restore what it stored: the command runs once.
#[test]
fn concurrent_runs_of_one_task_wait_for_each_other_instead_of_racing() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "echo ran >> \"$RUNS\" && sleep 2 && mkdir -p bin && cat in.txt > bin/out && cat in.txt > bin/copy"
outputs = ["bin/**"]
"#,
    )
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n");
    repo.commit("init");
    let scratch = tempfile::tempdir().unwrap();
    for round in 0..2 {
        // A new input each round: a new hash, so the first of the two runs really builds.
        repo.write("svc/a/in.txt", format!("a{round}\n"));
        let runs = scratch.path().join(format!("runs-{round}"));
        let summaries = [
            scratch.path().join(format!("s{round}-1.json")),
            scratch.path().join(format!("s{round}-2.json")),
        ];
        let children: Vec<Child> = summaries
            .iter()
            .map(|s| spawn_build(&repo, &runs, s))
            .collect();
        let mut statuses = Vec::new();
        for (child, summary) in children.into_iter().zip(&summaries) {
            let out = child.wait_with_output().unwrap();
            out.success();
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
            statuses.push(status(&s, "a:build"));
            assert_eq!(out.stderr_str(), "", "round {round}");
        }
        statuses.sort();
        assert_eq!(statuses, ["cached-local", "success"], "round {round}");
        assert_eq!(
            std::fs::read_to_string(&runs).unwrap(),
            "ran\n",
            "round {round}: the command ran more than once"
        );
        assert_eq!(repo.read("svc/a/bin/out"), format!("a{round}\n"));
        assert_eq!(temporaries(&repo.abs("svc/a")), Vec::<PathBuf>::new());
        assert!(common::dir_names(&repo.cache_dir())
            .iter()
            .all(|n| !n.starts_with(".tmp-")));
    }
}

// ---------------------------------------------------------------------------------------------
// Item 7: temporary directories of killed stores.

/// Plants the temporary directory a store of `hash` killed mid-way would leave: its writer's lock
/// file (which nobody holds any more) and `bytes` of archive.
fn killed_store(repo: &TestRepo, hash: &str, pid: u32, bytes: usize) -> PathBuf {
    let dir = repo
        .cache_dir()
        .join(format!(".tmp-{hash}-{pid}-1700000000000000000-0"));
    std::fs::create_dir_all(dir.join("entry")).unwrap();
    std::fs::write(dir.join(".writer"), b"").unwrap();
    std::fs::write(dir.join("entry/outputs.tar.zst"), vec![7u8; bytes]).unwrap();
    dir
}

/// Holds the lock file `lock` from another process, as a live writer does, until dropped.
struct HeldLock(Child);

impl HeldLock {
    fn take(lock: &Path) -> HeldLock {
        // The shell keeps descriptor 9 (and so the lock) open until its stdin closes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("exec 9>>\"$1\" && flock -x 9 && echo locked && read _")
            .arg("sh")
            .arg(lock)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "locked\n");
        HeldLock(child)
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.0.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.0.wait();
    }
}

/// Issue 6, item 7: temporary directories left by a killed store were not counted by `cache
/// stats` and survived `prune` for an hour. `stats` reports them, `prune` and `clean` remove those
/// whose writer is gone (the lock file in them is free) at once and keep a live writer's.
#[test]
fn incomplete_writes_are_counted_and_removed_when_their_writer_is_gone() {
    let repo = repo();
    let hash_a = stored(&repo, "a");
    let hash_b = repo.task_hashes(&["build"])["b:build"].clone();
    let dead = killed_store(&repo, &hash_a, 4_000_000, 1 << 20);
    let live = killed_store(&repo, &hash_b, std::process::id(), 1 << 20);
    let held = HeldLock::take(&live.join(".writer"));

    let stats = repo.run(&["cache", "stats"]).success().stdout_str();
    assert!(
        stats.contains(
            "; 2 incomplete writes (2.0 MiB) (the next run or `cache prune` removes those whose writer is gone)"
        ),
        "{stats}"
    );
    let pruned = repo
        .run(&["cache", "prune", "--max-size", "1G"])
        .success()
        .stdout_str();
    assert!(
        pruned.starts_with(
            "removed 0 least recently used entries (0 B) and 1 incomplete write (1.0 MiB); 1 entry left"
        ),
        "{pruned}"
    );
    assert!(!dead.exists(), "the dead writer's directory was kept");
    assert!(live.exists(), "a live writer's directory was removed");

    drop(held);
    let pruned = repo
        .run(&["cache", "prune", "--max-size", "1G"])
        .success()
        .stdout_str();
    assert!(
        pruned.contains("and 1 incomplete write (1.0 MiB)"),
        "{pruned}"
    );
    assert!(!live.exists());

    killed_store(&repo, &hash_b, 4_000_001, 1 << 20);
    let live = killed_store(&repo, &hash_a, std::process::id(), 1 << 10);
    let held = HeldLock::take(&live.join(".writer"));
    let cleaned = repo.run(&["cache", "clean"]).success().stdout_str();
    assert!(
        cleaned.starts_with("removed 1 entry (")
            && cleaned.ends_with(") and 1 incomplete write (1.0 MiB)\n"),
        "{cleaned}"
    );
    assert!(live.exists(), "clean removed a live writer's directory");
    drop(held);
    let cleaned = repo.run(&["cache", "clean"]).success().stdout_str();
    assert!(
        cleaned.ends_with("and 1 incomplete write (1.0 KiB)\n"),
        "{cleaned}"
    );
    assert_eq!(
        common::dir_names(&repo.cache_dir()),
        common::set(&[".gitignore"])
    );
    let stats = repo.run(&["cache", "stats"]).success().stdout_str();
    assert!(stats.ends_with("0 entries, 0 B, can save 0ms\n"), "{stats}");
}

/// What is stored is what may be restored: under `outputs = ["**"]` at the repository root, an
/// entry leaves out `.git/` and the cache, so restoring it needs no refusal.
#[test]
fn own_entries_restore_with_the_same_rule_they_were_stored_with() {
    let repo = root_service_repo();
    let hash = repo.task_hashes(&["build"])["app:build"].clone();
    let (out, _) = build(&repo, "app");
    out.success();
    let stored = members(&repo, &hash);
    assert!(stored.contains(&"out/app".to_string()), "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|m| !m.starts_with(".git/") && !m.starts_with(".shockwave/")),
        "{stored:?}"
    );
    repo.remove("out");
    let (out, s) = build(&repo, "app");
    out.success();
    assert_eq!(out.stderr_str(), "");
    assert_eq!(status(&s, "app:build"), "cached-local");
    assert_eq!(repo.read("out/app"), "app\n");
}

// ---------------------------------------------------------------------------------------------
// Found by review after the items above: limits an entry cannot set for itself, links in the
// cache directory's own layout, restores that must not delete, waits that must not be silent.

/// A `.locks` symlink made `cache clean` and `prune` unlink every file it pointed at.
#[test]
fn a_symlinked_lock_directory_never_makes_the_cache_delete_files_elsewhere() {
    let repo = repo();
    stored(&repo, "a");
    let victim = tempfile::tempdir().unwrap();
    let hashlike = "ab".repeat(32);
    for name in ["precious.txt", hashlike.as_str()] {
        std::fs::write(victim.path().join(name), b"keep").unwrap();
    }
    let locks = repo.cache_dir().join(".locks");
    std::fs::remove_dir_all(&locks).unwrap();
    std::os::unix::fs::symlink(victim.path(), &locks).unwrap();
    for args in [
        &["cache", "prune", "--max-size", "0"][..],
        &["cache", "clean"],
    ] {
        repo.run(args).success();
        for name in ["precious.txt", hashlike.as_str()] {
            assert!(victim.path().join(name).exists(), "{args:?} removed {name}");
        }
    }
    std::os::unix::fs::symlink(victim.path(), &locks).unwrap_or_default();
    let (out, _) = build(&repo, "b");
    out.success();
    assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 2);
}

/// A cache directory reached through a symlink committed to the repository points wherever the
/// commit wants: it is not used, and `cache clean` refuses it.
#[test]
fn a_committed_symlink_to_the_cache_directory_is_refused() {
    let repo = repo();
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("cache"), b"not a cache").unwrap();
    std::fs::create_dir(victim.path().join("sub")).unwrap();
    repo.symlink(victim.path().join("sub"), ".shockwave");
    repo.commit("a link where the cache goes");
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert!(
        out.stderr_str().contains("is reached through the symlink"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(
        std::fs::read_dir(victim.path().join("sub"))
            .unwrap()
            .count(),
        0
    );
    let clean = repo.run(&["cache", "clean"]);
    clean.expect_code(1);
    assert!(clean
        .stderr_str()
        .contains("is reached through the symlink"));
}

/// Only what the cache writes (hash-named entries, its temporaries, `.locks`) is removed.
#[test]
fn cache_clean_leaves_files_it_did_not_write() {
    let repo = repo();
    stored(&repo, "a");
    std::fs::write(repo.cache_dir().join("README"), b"mine").unwrap();
    repo.run(&["cache", "clean"]).success();
    assert_eq!(
        std::fs::read(repo.cache_dir().join("README")).unwrap(),
        b"mine"
    );
    assert!(common::dir_names(&repo.cache_dir())
        .iter()
        .all(|n| n == "README" || n == ".gitignore"));
}

/// 2 million copies of one member in a 94 KB archive took 17 s to "restore" as a hit.
#[test]
fn an_entry_repeating_a_member_is_refused() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let copies: Vec<(&str, &[u8])> = vec![("bin/out", b"planted\n"); 1000];
    forge_consistent(&repo, &hash, &archive(&copies));
    repo.remove("svc/a/bin");
    missed_then_replaced(&repo, "a", "member `bin/out` appears more than once");
}

/// An entry's own metadata sets the sizes it is checked against, so they have absolute bounds.
#[test]
fn an_entry_claiming_a_huge_log_is_refused_before_anything_is_allocated() {
    let repo = repo();
    let hash = stored(&repo, "a");
    let dir = entry(&repo, &hash);
    let log = std::fs::File::options()
        .write(true)
        .open(dir.join("log"))
        .unwrap();
    log.set_len(1 << 40).unwrap();
    drop(log);
    let meta_path = dir.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["log_bytes"] = (1u64 << 40).into();
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    repo.remove("svc/a/bin");
    missed_then_replaced(&repo, "a", "beyond the limits");
}

/// A cached file whose path is a directory in the worktree deleted that directory, files and
/// all; now the restore is refused, the directory stays, and the entry is removed (it could
/// never be restored there).
#[test]
fn restoring_a_file_never_deletes_a_directory_in_its_way() {
    let repo = TestRepo::new();
    repo.config(
        "[services.web]\nroot = \"web\"\n[targets.build]\ncommand = \"mkdir -p vendor && echo js > vendor/highlight.js\"\noutputs = [\"**/*.js\"]\n",
    )
    .write(".gitignore", "vendor/\n")
    .write("web/src.txt", "1\n");
    repo.commit("init");
    let hash = repo.task_hashes(&["build"])["web:build"].clone();
    repo.run(&["run", "build", "--all"]).success();
    repo.remove("web/vendor/highlight.js");
    repo.write("web/vendor/highlight.js/LICENSE", "keep me\n");
    let out = repo.run(&["run", "build", "--all"]);
    assert!(
        out.stderr_str().contains("is a directory with files in it"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(repo.read("web/vendor/highlight.js/LICENSE"), "keep me\n");
    assert!(
        !entry(&repo, &hash).exists(),
        "the unrestorable entry was kept"
    );
}

/// A symlinked output directory was followed when storing, archiving files from outside the
/// service root that a restore would then make real.
#[test]
fn an_output_directory_that_is_a_symlink_is_not_cached() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), b"secret key").unwrap();
    let repo = TestRepo::new();
    repo.config(&format!(
        "[services.app]\nroot = \"app\"\n[targets.build]\ncommand = \"ln -sfn {} bin\"\noutputs = [\"bin/**\"]\n",
        outside.path().display()
    ))
    .write(".gitignore", "bin\n")
    .write("app/src.txt", "1\n");
    repo.commit("init");
    let out = repo.run(&["run", "build", "--all"]);
    out.success();
    assert!(
        out.stderr_str()
            .contains("output directory `bin` is a symlink"),
        "{}",
        out.stderr_str()
    );
    let mut everything = Vec::new();
    for e in walk_files(&repo.cache_dir()) {
        everything.extend(std::fs::read(e).unwrap());
    }
    assert!(!String::from_utf8_lossy(&everything).contains("secret key"));
    assert!(
        common::dir_names(&repo.cache_dir())
            .iter()
            .all(|n| n.starts_with('.')),
        "an entry was stored"
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.extend(walk_files(&e.path()));
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// Waiting on another run's lock printed nothing at the default log level.
#[test]
fn waiting_for_another_runs_lock_says_so() {
    let repo = repo();
    let hash = repo.task_hashes(&["build"])["a:build"].clone();
    let locks = repo.cache_dir().join(".locks");
    std::fs::create_dir_all(&locks).unwrap();
    let mut holder = Command::new("flock")
        .arg(locks.join(&hash))
        .args(["sleep", "7"])
        .spawn()
        .expect("flock (util-linux) is installed");
    std::thread::sleep(Duration::from_millis(300));
    let (out, s) = build(&repo, "a");
    let _ = holder.kill();
    let _ = holder.wait();
    out.success();
    assert_eq!(status(&s, "a:build"), "success");
    assert!(
        out.stderr_str()
            .contains("waiting for another shockwave run"),
        "{}",
        out.stderr_str()
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 18: clean failure paths.

/// Issue 18, item 9: a restore killed with SIGKILL left its temporary file (88 MB in one case) in
/// the output folder, and no run, `prune` or `clean` ever removed it. The restore journals the
/// folders it writes temporary files into; the next run sees its writer is gone and removes them.
#[test]
fn a_restore_killed_half_way_leaves_nothing_once_the_next_run_starts() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin && head -c 48000000 /dev/urandom > bin/big && echo small > bin/small"
outputs = ["bin/**"]
"#,
    )
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n");
    repo.commit("init");
    stored(&repo, "a");
    let bin = repo.abs("svc/a/bin");
    let mut killed = false;
    for _ in 0..10 {
        std::fs::remove_dir_all(&bin).unwrap();
        let mut child = repo
            .command(&["run", "build", "--service", "a"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed() < DEADLINE {
            if !temporaries(&bin).is_empty() {
                child.kill().unwrap();
                killed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        child.wait().unwrap();
        if killed {
            break;
        }
    }
    assert!(killed, "never caught the restore with a temporary file");
    assert_eq!(
        temporaries(&bin).len(),
        1,
        "the kill left no temporary file"
    );
    let (out, s) = build(&repo, "a");
    out.success();
    assert_eq!(status(&s, "a:build"), "cached-local");
    assert_eq!(
        temporaries(&repo.abs("svc/a")),
        Vec::<PathBuf>::new(),
        "the killed restore's temporary file is still there"
    );
    assert!(
        common::dir_names(&repo.cache_dir())
            .iter()
            .all(|n| !n.starts_with(".tmp-")),
        "{:?}",
        common::dir_names(&repo.cache_dir())
    );
    assert_eq!(
        std::fs::metadata(bin.join("big")).unwrap().len(),
        48_000_000
    );
}

/// `git status --porcelain` in `repo`.
fn porcelain(repo: &TestRepo) -> String {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
}

/// Issue 18, item 10: on a full disk at first use the cache's `.gitignore` was created empty and
/// never repaired, so `git status` listed the whole cache. It is written through a temporary file
/// renamed into place, and rewritten whenever it does not ignore everything.
#[test]
fn the_cache_gitignore_is_repaired_when_it_does_not_ignore_everything() {
    let repo = repo();
    stored(&repo, "a");
    let ignore = repo.cache_dir().join(".gitignore");
    let right = std::fs::read_to_string(&ignore).unwrap();
    assert!(right.lines().any(|l| l == "*"), "{right}");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target");
    std::fs::write(&target, "not yours\n").unwrap();
    for wrong in ["", "# shockwave's task cache", "*.log\n", "link"] {
        std::fs::remove_file(&ignore).unwrap();
        if wrong == "link" {
            std::os::unix::fs::symlink(&target, &ignore).unwrap();
        } else {
            std::fs::write(&ignore, wrong).unwrap();
        }
        assert!(
            porcelain(&repo).contains("?? .shockwave/"),
            "{wrong:?}: {}",
            porcelain(&repo)
        );
        let (out, s) = build(&repo, "a");
        out.success();
        assert_eq!(status(&s, "a:build"), "cached-local");
        assert!(
            std::fs::symlink_metadata(&ignore).unwrap().is_file(),
            "{wrong:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&ignore).unwrap(),
            right,
            "{wrong:?}"
        );
        assert_eq!(porcelain(&repo), "", "{wrong:?}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not yours\n");
    // One that ignores everything in its own words is left as it is.
    std::fs::write(&ignore, "# mine\n*\n").unwrap();
    build(&repo, "a").0.success();
    assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "# mine\n*\n");
}

/// Issue 18, item 10, with the disk full at the first use: every write fails (a file size limit
/// of 0 stands in for the full disk). No empty `.gitignore` is left behind, and the next run,
/// with room again, writes a right one.
#[test]
fn a_full_disk_at_first_use_leaves_no_empty_gitignore() {
    let repo = TestRepo::new();
    repo.config(
        r#"
[services.a]
root = "a"

[targets.build]
command = "true"
"#,
    )
    .write("a/in.txt", "a\n");
    repo.commit("init");
    let plain = repo.command(&["run", "build", "--all"]);
    let mut full = Command::new("sh");
    full.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        .arg(plain.get_program())
        .args(plain.get_args())
        .current_dir(repo.path())
        .stdin(Stdio::null());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => full.env(k, v),
            None => full.env_remove(k),
        };
    }
    let out = full.output().unwrap();
    out.success();
    let ignore = repo.cache_dir().join(".gitignore");
    assert!(
        std::fs::read(&ignore).map_or(true, |t| !t.is_empty()),
        "an empty .gitignore was left"
    );
    repo.run(&["run", "build", "--all"]).success();
    assert!(std::fs::read_to_string(&ignore)
        .unwrap()
        .lines()
        .any(|l| l == "*"));
    assert_eq!(porcelain(&repo), "");
}
