//! The remote cache against a real turborepo-remote-cache server (the main path, read-only,
//! tampering, signatures, 413, a refused token), and against a small in-test HTTP server for the
//! faults a real one does not produce on demand (slow answers, 500s, truncated bodies).
//!
//! The real server is the npm package turborepo-remote-cache; `.ci/run` installs it and sets
//! `SHOCKWAVE_TEST_REMOTE_CACHE_SERVER` to its executable. Without that variable these tests are
//! skipped with a message, except under `CI`, where a missing server fails them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{with_summary, OutputExt, SummaryJson, TestRepo};

const TOKEN: &str = "tok-9f3c1e-secret";
const KEY: &str = "key-51b7aa-secret";

/// A turborepo-remote-cache process on a free 127.0.0.1 port, storing under a temporary
/// directory (`<storage>/<team>/<hash>`, the tag beside it as `<hash>.tag`). Killed on drop.
struct Server {
    child: Child,
    port: u16,
    storage: tempfile::TempDir,
}

/// The server's executable, or `None` (with a message) when it is not installed here.
fn server_bin() -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    match std::env::var_os("SHOCKWAVE_TEST_REMOTE_CACHE_SERVER") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        Some(p) => panic!(
            "SHOCKWAVE_TEST_REMOTE_CACHE_SERVER={} does not exist",
            Path::new(&p).display()
        ),
        None if ci => panic!(
            "CI is set but SHOCKWAVE_TEST_REMOTE_CACHE_SERVER is not: the remote cache tests must run in CI (see .ci/run)"
        ),
        None => {
            eprintln!(
                "skipped: set SHOCKWAVE_TEST_REMOTE_CACHE_SERVER to a turborepo-remote-cache executable to run this test (see the README)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn start(extra: &[(&str, &str)]) -> Option<Server> {
        let bin = server_bin()?;
        let storage = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("STORAGE_PROVIDER", "local")
            .env("STORAGE_PATH", storage.path())
            .env("STORAGE_PATH_USE_TMP_FOLDER", "false")
            .env("TURBO_TOKEN", TOKEN)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_LEVEL", "error")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start turborepo-remote-cache");
        let server = Server {
            child,
            port,
            storage,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The stored artifacts of `team` (not their tags).
    fn artifacts(&self, team: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.storage.path().join(team))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_none());
        files.sort();
        files
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two services whose `build` writes `bin/out`; the team is in the file, the URL comes from the
/// environment (it changes with the port).
fn repo(extra_config: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.config(&format!(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "mkdir -p bin && cat in.txt > bin/out && head -c 3000 /dev/urandom > bin/random && echo built $SHOCKWAVE_SERVICE"
outputs = ["bin/**"]

[remote_cache]
team = "acme"
{extra_config}
"#
    ))
    .write(".gitignore", "bin/\n")
    .write("svc/a/in.txt", "a\n")
    .write("svc/b/in.txt", "b\n");
    repo.commit("init");
    repo
}

/// `shockwave run build --all` with the remote at `url` and `env`, and its summary.
fn build(
    repo: &TestRepo,
    url: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Output, serde_json::Value) {
    let mut cmd = repo.command(&["run", "build", "--all"]);
    cmd.args(args)
        .env("SHOCKWAVE_REMOTE_CACHE_URL", url)
        .env("SHOCKWAVE_REMOTE_CACHE_TOKEN", TOKEN)
        .envs(env.iter().copied());
    with_summary(cmd)
}

fn statuses(s: &serde_json::Value) -> Vec<String> {
    s.statuses().into_values().collect()
}

fn warnings(out: &Output) -> Vec<String> {
    out.stderr_lines()
        .into_iter()
        .filter(|l| l.contains("remote cache"))
        .collect()
}

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

/// A stand-in server on 127.0.0.1 answering every request with `answer` after reading it.
fn mock(answer: fn(&mut TcpStream, &str)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                let mut length = 0u64;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let _ = std::io::copy(&mut reader.take(length.min(1 << 20)), &mut std::io::sink());
                answer(&mut stream, &head);
            });
        }
    });
    url
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
        out.stderr_str().contains("needs a team") || out.stderr_str().contains("no key"),
        "{}",
        out.stderr_str()
    );
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
        second.cache_dir().read_dir().is_err(),
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
