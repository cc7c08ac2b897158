//! The remote cache's failure modes that need no real server, or that a real one cannot produce
//! on demand: a server that is down, slow answers, 500s, truncated bodies (a stand-in server on
//! 127.0.0.1), and the configuration errors. Each passes the build with one clear warning, in
//! bounded time.

use crate::common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::remote::{build, free_port, mock, raw_server, repo, statuses, warnings};
use common::{OutputExt, SummaryJson, TestRepo};

#[test]
fn a_server_that_is_down_costs_one_warning_and_no_time() {
    let repo = repo("");
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert!(w[0].contains("cannot reach the server"), "{w:?}");
    assert!(w.len() <= 2, "{w:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_slow_server_is_bounded_by_the_timeout() {
    let url = mock(|s, _| {
        std::thread::sleep(Duration::from_secs(30));
        let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
    });
    let repo = repo("timeout = \"1s\"");
    let started = Instant::now();
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let w = warnings(&out);
    assert!(w[0].contains("did not answer in time"), "{w:?}");
}

#[test]
fn server_errors_switch_the_remote_off() {
    let url = mock(|s, _| {
        let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
    });
    let repo = TestRepo::new();
    let mut config =
        String::from("[targets.build]\ncommand = \"echo ok\"\n[remote_cache]\nteam = \"acme\"\n");
    for i in 0..6 {
        config.push_str(&format!("[services.s{i}]\nroot = \"s{i}\"\n"));
        repo.write(format!("s{i}/f"), "x");
    }
    repo.config(&config);
    repo.commit("init");
    let (out, s) = build(&repo, &url, &[], &["-j", "1"]);
    out.success();
    assert_eq!(s.with_status("success").len(), 6);
    let w = warnings(&out);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("500: the server failed"), "{w:?}");
    assert!(w[1].contains("3 failures"), "{w:?}");
}

#[test]
fn a_truncated_download_is_a_miss() {
    let url = mock(|s, head| {
        if head.starts_with("GET") {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nshort");
        } else {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        }
    });
    let repo = repo("");
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    let w = warnings(&out);
    assert!(w.len() == 1 && w[0].contains("ended early"), "{w:?}");
}

#[test]
fn a_token_in_pipeline_toml_is_a_config_error() {
    let repo = TestRepo::new();
    let build = "[targets.build]\ncommand = \"true\"\n[services.a]\nroot = \".\"\n";
    repo.config(&format!(
        "{build}[remote_cache]\nurl = \"https://cache.example.com\"\ntoken = \"abc\"\n"
    ));
    repo.commit("init");
    let out = repo.run(&["run", "build", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains(
            "a token does not belong in a committed file; set SHOCKWAVE_REMOTE_CACHE_TOKEN"
        ),
        "{}",
        out.stderr_str()
    );
    for (var, value, what) in [
        (
            "SHOCKWAVE_REMOTE_CACHE_TIMEOUT",
            "soon",
            "SHOCKWAVE_REMOTE_CACHE_TIMEOUT",
        ),
        (
            "SHOCKWAVE_REMOTE_CACHE_READ_ONLY",
            "maybe",
            "SHOCKWAVE_REMOTE_CACHE_READ_ONLY=maybe",
        ),
        (
            "SHOCKWAVE_REMOTE_CACHE_URL",
            "cache.example.com",
            "not an http",
        ),
    ] {
        let out = repo
            .command(&["run", "build", "--all"])
            .env(var, value)
            .output()
            .unwrap();
        out.expect_code(2);
        assert!(
            out.stderr_str().contains(what),
            "{var}: {}",
            out.stderr_str()
        );
    }
    repo.config(&format!(
        "{build}[remote_cache]\nurl = \"https://cache.example.com\"\nsignature = true\n"
    ));
    let out = repo.run(&["run", "build", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("needs a team"),
        "{}",
        out.stderr_str()
    );
    repo.config(&format!(
        "{build}[remote_cache]\nurl = \"https://cache.example.com\"\nteam = \"t\"\nsignature = true\n"
    ));
    let out = repo.run(&["run", "build", "--all"]);
    out.expect_code(2);
    assert!(
        out.stderr_str().contains("no key is set"),
        "{}",
        out.stderr_str()
    );
    // Values in the file are checked with their position.
    for (table, what) in [
        (
            "url = \"cache.example.com\"",
            "remote_cache.url: `cache.example.com` is not an http",
        ),
        (
            "timeout = \"soon\"",
            "remote_cache.timeout: `soon` is not a duration",
        ),
    ] {
        repo.config(&format!("{build}[remote_cache]\n{table}\n"));
        let out = repo.run(&["check"]);
        out.expect_code(2);
        assert!(out.stderr_str().contains(what), "{}", out.stderr_str());
        assert!(
            out.stderr_str().contains("pipeline.toml:"),
            "{}",
            out.stderr_str()
        );
    }
}

const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";

/// A server that answers lookups with 404 (`HEAD` only after `head_delay`) and, given an upload,
/// stops reading: it never reads the body and never answers.
fn server_that_stops_reading(head_delay: Duration) -> String {
    raw_server(move |stream, _, head, _| {
        if head.starts_with("PUT") {
            std::thread::sleep(Duration::from_secs(60));
            return false;
        }
        if head.starts_with("HEAD") {
            std::thread::sleep(head_delay);
        }
        stream.write_all(NOT_FOUND).is_ok()
    })
}

/// Issue 18, item 9: uploads still under way when the run stopped waiting for them (a server
/// that stops reading) left their temporary directories in the cache (`cache stats`: `2
/// incomplete writes`). The run removes them as it leaves them.
#[test]
fn uploads_left_pending_at_the_end_leave_no_temporary_directories() {
    // Each upload asks first (1.5 s), then sends; the run waits 3 s for both, which is not
    // enough: both are still sending when it stops waiting.
    let url = server_that_stops_reading(Duration::from_millis(1500));
    let repo = repo("timeout = \"3s\"");
    let started = Instant::now();
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(statuses(&s), ["success", "success"]);
    assert!(started.elapsed() < Duration::from_secs(15));
    let text = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert!(text.contains("still pending at the end"), "{text}");
    let dir = repo.cache_dir();
    let temporaries: Vec<String> = common::dir_names(&dir)
        .into_iter()
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert_eq!(temporaries, Vec::<String>::new());
    let stats = repo.run(&["cache", "stats"]).success().stdout_str();
    assert!(!stats.contains("incomplete"), "{stats}");
}

/// A server that answers lookups with 404, takes uploads up to `limit` bytes, and refuses a larger
/// one as soon as it has its headers: with `answer`, a 413, then it closes without reading the
/// body (the peer's writes then fail); without, it only closes.
fn server_with_body_limit(limit: u64, answer: bool) -> String {
    raw_server(move |stream, reader, head, length| {
        if !head.starts_with("PUT") {
            return stream.write_all(NOT_FOUND).is_ok();
        }
        if length > limit {
            if answer {
                let _ = stream.write_all(
                    b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 39\r\nconnection: close\r\n\r\n{\"message\":\"Request body is too large\"}",
                );
            }
            // Closed with the body unread: the kernel resets the connection.
            return false;
        }
        let _ = std::io::copy(
            &mut std::io::Read::take(reader, length),
            &mut std::io::sink(),
        );
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
            .is_ok()
    })
}

/// Issue 18, item 11: a server that answers 413 and closes before reading an upload made every
/// large upload `the connection to the server broke off (Broken pipe)`, and three of them switched
/// the remote off. The answer is read after the failed write.
#[test]
fn a_413_sent_before_the_body_is_read_is_named_and_keeps_the_remote_on() {
    let url = server_with_body_limit(100_000, true);
    let repo = common::remote::sized_repo(&[
        ("big1", 12_000_000),
        ("big2", 12_000_000),
        ("big3", 12_000_000),
        ("small", 2_000),
    ]);
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(s.with_status("success").len(), 4);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("413: the server refused the 11.") && w[0].contains("BODY_LIMIT"),
        "{w:?}"
    );
    assert!(
        out.stdout_str()
            .contains("remote cache: uploaded 1 artifact"),
        "{}",
        out.stdout_str()
    );
}

/// When the server closes without answering, the failure says how large the upload was and that
/// a body limit is one cause.
#[test]
fn an_upload_cut_off_without_an_answer_names_its_size_and_the_body_limit() {
    let url = server_with_body_limit(100_000, false);
    let repo = common::remote::sized_repo(&[("big", 12_000_000)]);
    let (out, s) = build(&repo, &url, &[], &[]);
    out.success();
    assert_eq!(s.with_status("success").len(), 1);
    let w = warnings(&out);
    assert!(
        w[0].contains("broke off while sending a 11.")
            && w[0].contains("MiB artifact")
            && w[0].contains("BODY_LIMIT"),
        "{w:?}"
    );
}
