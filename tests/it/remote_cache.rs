//! The remote cache against a real turborepo-remote-cache server: the main path (a second clone
//! gets every task from it and keeps it locally), read-only, tampered artifacts, signatures, a
//! 413, a refused token, dry runs, `cache stats`, and that the token and key never show. The
//! server comes from `SHOCKWAVE_TEST_REMOTE_CACHE_SERVER` (`.ci/run` installs it); see
//! `common/remote.rs` for when these tests skip.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::remote::{build, free_port, repo, statuses, warnings, Server, KEY, TOKEN};
use common::{with_summary, OutputExt, SummaryJson, TestRepo};

#[test]
fn a_fresh_clone_gets_every_task_from_the_remote_and_keeps_it_locally() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let first = repo("");
    let (out, s) = build(&first, &server.url(), &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    assert!(
        out.stdout_str()
            .contains("remote cache: uploaded 2 artifacts"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(server.artifacts("acme").len(), 2);

    // Another machine: a clone with an empty local cache, configured with Turborepo's names.
    let second = TestRepo::clone_from(&first, &[]);
    let mut cmd = second.command(&["run", "build", "--all"]);
    cmd.env("TURBO_API", server.url())
        .env("TURBO_TOKEN", TOKEN)
        .env("TURBO_TEAM", "acme");
    let (out, s) = with_summary(cmd);
    out.success();
    assert_eq!(statuses(&s), ["cached-remote", "cached-remote"]);
    assert_eq!(s.task("a:build")["cache"], "hit");
    assert_eq!(s.task("a:build")["cache_source"], "remote");
    assert_eq!(s["totals"]["cached_remote"], 2);
    assert!(out.stdout_str().contains("built a"), "the log is replayed");
    for svc in ["a", "b"] {
        for file in ["out", "random"] {
            let path = format!("svc/{svc}/bin/{file}");
            assert_eq!(
                std::fs::read(second.abs(&path)).unwrap(),
                std::fs::read(first.abs(&path)).unwrap(),
                "{path}"
            );
        }
    }
    assert!(warnings(&out).is_empty(), "{:?}", warnings(&out));

    // Written through: with the server gone, the next run hits locally.
    drop(server);
    second.remove("svc/a/bin");
    let (out, s) = with_summary(second.command(&["run", "build", "--all"]));
    out.success();
    assert_eq!(statuses(&s), ["cached-local", "cached-local"]);
    assert_eq!(second.read("svc/a/bin/out"), "a\n");
}

#[test]
fn read_only_reads_hits_and_uploads_nothing() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let first = repo("");
    let (out, _) = build(&first, &server.url(), &[], &["--remote-cache-read-only"]);
    out.success();
    assert!(server.artifacts("acme").is_empty());
    assert!(!out.stdout_str().contains("uploaded"));
    let (out, _) = build(
        &first,
        &server.url(),
        &[("TURBO_REMOTE_CACHE_READ_ONLY", "1")],
        &["--no-cache"],
    );
    out.success();
    assert!(
        server.artifacts("acme").is_empty(),
        "--no-cache uploads nothing either"
    );
    first.remove(".shockwave");
    build(&first, &server.url(), &[], &[]).0.success();
    assert_eq!(server.artifacts("acme").len(), 2);

    let second = TestRepo::clone_from(&first, &[]);
    let (out, s) = build(
        &second,
        &server.url(),
        &[("SHOCKWAVE_REMOTE_CACHE_READ_ONLY", "1")],
        &[],
    );
    out.success();
    assert_eq!(statuses(&s), ["cached-remote", "cached-remote"]);
    let third = TestRepo::clone_from(&first, &[]);
    let (out, s) = build(&third, &server.url(), &[], &["--no-remote-cache"]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
}

#[test]
fn a_tampered_artifact_is_refused_and_the_task_rebuilt() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let first = repo("");
    build(&first, &server.url(), &[], &[]).0.success();
    for artifact in server.artifacts("acme") {
        let mut bytes = std::fs::read(&artifact).unwrap();
        // Inside the outputs archive's data, which follows its 512-byte tar header.
        let header = bytes
            .windows(15)
            .position(|w| w == b"outputs.tar.zst")
            .expect("the artifact holds the outputs archive");
        bytes[header + 512 + 20] ^= 0x55;
        std::fs::write(&artifact, bytes).unwrap();
    }
    let second = TestRepo::clone_from(&first, &[]);
    let (out, s) = build(&second, &server.url(), &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "one warning for the kind: {w:?}");
    assert!(
        w[0].contains("refused") || w[0].contains("corrupt"),
        "{w:?}"
    );
    assert_eq!(second.read("svc/a/bin/out"), "a\n");
}

#[test]
fn signatures_hit_with_the_right_key_and_never_restore_with_another() {
    // The server keeps tags only when it has a key of its own (any value).
    let Some(server) = Server::start(&[("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "server-side")]) else {
        return;
    };
    let first = repo("signature = true");
    let key = [("SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY", KEY)];
    build(&first, &server.url(), &key, &[]).0.success();
    assert_eq!(server.artifacts("acme").len(), 2);

    let right = TestRepo::clone_from(&first, &[]);
    let (out, s) = build(&right, &server.url(), &key, &[]);
    out.success();
    assert_eq!(statuses(&s), ["cached-remote", "cached-remote"]);

    let wrong = TestRepo::clone_from(&first, &[]);
    let other = [("SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY", "another key")];
    let (out, s) = build(&wrong, &server.url(), &other, &["--remote-cache-read-only"]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("signature does not match"), "{w:?}");

    // A signed artifact replayed under another hash is refused too.
    let [a, b] = &server.artifacts("acme")[..] else {
        panic!("two artifacts");
    };
    std::fs::copy(a, b).unwrap();
    std::fs::copy(a.with_extension("tag"), b.with_extension("tag")).unwrap();
    let replay = TestRepo::clone_from(&first, &[]);
    let (out, s) = build(&replay, &server.url(), &key, &["--remote-cache-read-only"]);
    out.success();
    assert_eq!(
        s.with_status("cached-remote").len(),
        1,
        "{:?}",
        s.statuses()
    );
    assert_eq!(replay.read("svc/a/bin/out"), "a\n");
    assert_eq!(replay.read("svc/b/bin/out"), "b\n");
}

#[test]
fn unsigned_artifacts_are_refused_when_signatures_are_required() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let first = repo("");
    build(&first, &server.url(), &[], &[]).0.success();
    let second = TestRepo::clone_from(&first, &[]);
    let env = [
        ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE", "1"),
        ("TURBO_REMOTE_CACHE_SIGNATURE_KEY", KEY),
    ];
    let (out, s) = build(&second, &server.url(), &env, &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert!(w.len() == 1 && w[0].contains("not signed"), "{w:?}");
}

#[test]
fn a_refused_token_is_one_warning_and_the_remote_goes_off() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let repo = repo("");
    let started = Instant::now();
    let (out, s) = build(
        &repo,
        &server.url(),
        &[("SHOCKWAVE_REMOTE_CACHE_TOKEN", "wrong")],
        &[],
    );
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("the token was refused; check SHOCKWAVE_REMOTE_CACHE_TOKEN"),
        "{w:?}"
    );
    assert!(w[1].contains("off for the rest of this run"), "{w:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(server.artifacts("acme").is_empty());

    // No token at all: the warning says to set one.
    repo.remove(".shockwave");
    let mut cmd = repo.command(&["run", "build", "--all"]);
    cmd.env("SHOCKWAVE_REMOTE_CACHE_URL", server.url());
    let (out, _) = with_summary(cmd);
    out.success();
    let w = warnings(&out);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("without a token; set SHOCKWAVE_REMOTE_CACHE_TOKEN"),
        "{w:?}"
    );
}

#[test]
fn a_body_limit_413_is_one_warning_and_the_build_passes() {
    let Some(server) = Server::start(&[("BODY_LIMIT", "1000")]) else {
        return;
    };
    let repo = repo("");
    let (out, s) = build(&repo, &server.url(), &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("413") && w[0].contains("BODY_LIMIT"), "{w:?}");
    assert!(
        out.stdout_str().contains("2 failed"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn the_token_and_the_key_never_appear_anywhere() {
    let Some(server) = Server::start(&[("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "s")]) else {
        return;
    };
    let repo = repo("signature = true");
    let step = tempfile::NamedTempFile::new().unwrap();
    let key = [
        ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY", KEY),
        ("GITHUB_STEP_SUMMARY", step.path().to_str().unwrap()),
    ];
    let mut seen = Vec::new();
    let (out, s) = build(&repo, &server.url(), &key, &["-vv"]);
    seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
    seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
    seen.push(s.to_string());
    let out = repo
        .command(&["run", "build", "--all", "-vv", "--dry-run=json"])
        .env("SHOCKWAVE_REMOTE_CACHE_URL", server.url())
        .env("SHOCKWAVE_REMOTE_CACHE_TOKEN", TOKEN)
        .envs(key)
        .output()
        .unwrap();
    seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
    seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
    // A refused token and a bad key, at -vv.
    let other = TestRepo::clone_from(&repo, &[]);
    for env in [
        [("SHOCKWAVE_REMOTE_CACHE_TOKEN", "wrong-tok-secret"), key[0]],
        [
            ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY", "wrong-key-secret"),
            key[1],
        ],
    ] {
        let (out, s) = build(&other, &server.url(), &env, &["-vv"]);
        seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
        seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
        seen.push(s.to_string());
    }
    let out = repo
        .command(&["cache", "stats"])
        .env("SHOCKWAVE_REMOTE_CACHE_TOKEN", TOKEN)
        .output()
        .unwrap();
    seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
    seen.push(std::fs::read_to_string(step.path()).unwrap());
    let all = seen.join("\n");
    assert!(all.contains("debug"), "-vv logged nothing");
    for secret in [TOKEN, KEY, "wrong-tok-secret", "wrong-key-secret"] {
        assert!(!all.contains(secret), "`{secret}` leaked:\n{all}");
    }
}

/// Whether `text` shows any 8 characters of `secret` in a row, as they are or in hex: a dump
/// split over lines (ureq prints 16 bytes a line) still shows one such piece.
fn shows_part_of(text: &str, secret: &str) -> Option<String> {
    let flat: String = text.split_whitespace().collect();
    secret.as_bytes().windows(8).find_map(|w| {
        let plain = std::str::from_utf8(w).unwrap();
        let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
        (text.contains(plain) || flat.contains(&hex)).then(|| plain.to_owned())
    })
}

// At RUST_LOG=trace ureq dumped every request in hex, `authorization: Bearer <token>` included,
// for `run` and `cache stats`.
#[test]
fn the_token_and_the_key_never_appear_at_rust_log_trace() {
    // The server keeps tags only when it has a key of its own (any value).
    let Some(server) = Server::start(&[("TURBO_REMOTE_CACHE_SIGNATURE_KEY", "server-side")]) else {
        return;
    };
    let first = repo("signature = true");
    let second = TestRepo::clone_from(&first, &[]);
    let key = ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY", KEY);
    let mut seen = Vec::new();
    for log in ["trace", "ureq=trace,ureq_proto=trace,rustls=trace,trace"] {
        // Uploads from one clone, signed downloads in the other, then the stats.
        let (out, s) = build(&first, &server.url(), &[key, ("RUST_LOG", log)], &[]);
        out.success();
        seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
        seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
        if log == "trace" {
            assert_eq!(statuses(&s), ["success", "success"]);
            let (out, s) = build(&second, &server.url(), &[key, ("RUST_LOG", log)], &[]);
            out.success();
            assert_eq!(statuses(&s), ["cached-remote", "cached-remote"]);
            seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let out = first
            .command(&["cache", "stats"])
            .env("SHOCKWAVE_REMOTE_CACHE_URL", server.url())
            .env("SHOCKWAVE_REMOTE_CACHE_TOKEN", TOKEN)
            .env(key.0, key.1)
            .env("RUST_LOG", log)
            .output()
            .unwrap();
        out.success();
        seen.push(String::from_utf8_lossy(&out.stderr).into_owned());
        seen.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let all = seen.join("\n");
    assert!(all.contains("debug: "), "RUST_LOG=trace logged nothing");
    for secret in [TOKEN, KEY] {
        if let Some(part) = shows_part_of(&all, secret) {
            panic!("`{part}` of `{secret}` leaked:\n{all}");
        }
    }
    assert!(!all.to_ascii_lowercase().contains("authoriz"), "{all}");
}

#[test]
fn dry_run_and_cache_stats_ask_the_remote() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let first = repo("");
    build(&first, &server.url(), &[], &[]).0.success();
    let second = TestRepo::clone_from(&first, &[]);
    let remote = |cmd: &mut Command| {
        cmd.env("SHOCKWAVE_REMOTE_CACHE_URL", server.url())
            .env("SHOCKWAVE_REMOTE_CACHE_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let out = remote(&mut second.command(&["run", "build", "--all", "--dry-run"]));
    out.success();
    assert!(
        out.stdout_str().contains("2 cached"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(out.stdout_str().matches("cache hit (remote)").count(), 2);
    let out = remote(&mut second.command(&["run", "build", "--all", "--dry-run=json"]));
    assert_eq!(out.json()["tasks"][0]["cache_source"], "remote");
    assert!(
        common::entry_names(&second.cache_dir()).is_empty(),
        "a dry run downloads nothing"
    );
    let out = remote(&mut second.command(&["cache", "stats"]));
    out.success();
    let stats = out.stdout_str();
    assert!(
        stats.contains(&format!(
            "remote cache: {}, team acme, read-write, signatures off: answers",
            server.url()
        )),
        "{stats}"
    );
    let out = second
        .command(&["cache", "stats"])
        .env(
            "SHOCKWAVE_REMOTE_CACHE_URL",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .output()
        .unwrap();
    out.success();
    assert!(
        out.stdout_str()
            .contains("does not answer: cannot reach the server"),
        "{}",
        out.stdout_str()
    );
}

/// Issue 18, item 11: an artifact over the server's body limit was reported as `the connection to
/// the server broke off (Broken pipe)` (the server answers 413 and closes before reading the
/// body), and three of them switched the remote off. The 413 is read and named, and the smaller
/// artifacts are still uploaded.
#[test]
fn artifacts_over_the_body_limit_are_a_named_413_and_smaller_ones_still_upload() {
    let Some(server) = Server::start(&[("BODY_LIMIT", "200000")]) else {
        return;
    };
    let repo = common::remote::sized_repo(&[
        ("big1", 12_000_000),
        ("big2", 12_000_000),
        ("big3", 12_000_000),
        ("small1", 2_000),
        ("small2", 2_000),
    ]);
    let (out, s) = build(&repo, &server.url(), &[], &[]);
    out.success();
    assert_eq!(s.with_status("success").len(), 5);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("413: the server refused the 11.")
            && w[0].contains("artifact of `big")
            && w[0].contains("BODY_LIMIT")
            && w[0].contains("`outputs`"),
        "{w:?}"
    );
    assert_eq!(server.artifacts("acme").len(), 2, "the small ones");
    assert!(
        out.stdout_str()
            .contains("remote cache: uploaded 2 artifacts"),
        "{}",
        out.stdout_str()
    );
}
