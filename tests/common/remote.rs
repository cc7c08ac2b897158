//! Helpers for the remote cache tests: a turborepo-remote-cache process per test (the real
//! server, from `SHOCKWAVE_TEST_REMOTE_CACHE_SERVER`), a stand-in HTTP server for faults, and a
//! two-service repository whose builds go through the remote.
//!
//! Without `SHOCKWAVE_TEST_REMOTE_CACHE_SERVER` the real-server tests are skipped with a message,
//! except under `CI`, where a missing server fails them.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{with_summary, OutputExt, SummaryJson, TestRepo};

pub const TOKEN: &str = "tok-9f3c1e-secret";
pub const KEY: &str = "key-51b7aa-secret";

/// A turborepo-remote-cache process on a free 127.0.0.1 port, storing under a temporary
/// directory (`<storage>/<team>/<hash>`, the tag beside it as `<hash>.tag`). Killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub storage: tempfile::TempDir,
}

/// The server's executable, or `None` (with a message) when it is not installed here.
pub fn server_bin() -> Option<PathBuf> {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start(extra: &[(&str, &str)]) -> Option<Server> {
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
        // Ready means answering the API, not only accepting connections: a server that accepts
        // before its routes are up fails the first upload.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers_status(port) {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The stored artifacts of `team` (not their tags).
    pub fn artifacts(&self, team: &str) -> Vec<PathBuf> {
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

/// A repository of services under `svc/` whose `build` runs `command` and outputs `bin/`; the team
/// is in the file, the URL comes from the environment (it changes with the port). `files` are
/// written and committed with it.
fn remote_repo(command: &str, extra_config: &str, files: &[(String, String)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.config(&format!(
        r#"
[workspace]
members = ["svc/*"]

[targets.build]
command = "{command}"
outputs = ["bin/**"]

[remote_cache]
team = "acme"
{extra_config}
"#
    ))
    .write(".gitignore", "bin/\n");
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.commit("init");
    repo
}

/// Two services whose `build` writes `bin/out` and 3,000 random bytes.
pub fn repo(extra_config: &str) -> TestRepo {
    let files =
        [("a", "a\n"), ("b", "b\n")].map(|(svc, text)| (format!("svc/{svc}/in.txt"), text.into()));
    remote_repo(
        "mkdir -p bin && cat in.txt > bin/out && head -c 3000 /dev/urandom > bin/random && echo built $SHOCKWAVE_SERVICE",
        extra_config,
        &files,
    )
}

/// One service per `(name, bytes)` whose `build` writes `bytes` random bytes to `bin/random`, so
/// its artifact is about that large.
pub fn sized_repo(services: &[(&str, u64)]) -> TestRepo {
    let files: Vec<(String, String)> = services
        .iter()
        .map(|(name, bytes)| (format!("svc/{name}/size"), bytes.to_string()))
        .collect();
    remote_repo(
        "mkdir -p bin && head -c $(cat size) /dev/urandom > bin/random && echo built $SHOCKWAVE_SERVICE",
        "",
        &files,
    )
}

/// `shockwave run build --all` with the remote at `url` and `env`, and its summary.
pub fn build(
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

pub fn statuses(s: &serde_json::Value) -> Vec<String> {
    s.statuses().into_values().collect()
}

pub fn warnings(out: &Output) -> Vec<String> {
    out.stderr_lines()
        .into_iter()
        .filter(|l| l.contains("remote cache"))
        .collect()
}

/// A stand-in server on 127.0.0.1 answering every request with `answer` after reading it.
pub fn mock(answer: fn(&mut TcpStream, &str)) -> String {
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

/// A stand-in server on 127.0.0.1 that reads each request's head (its lines, and its
/// `content-length`) and leaves the rest to `handle`: reading the body or not, answering or not.
/// `handle` returns whether to read another request on the same connection.
pub fn raw_server(
    handle: impl Fn(&mut TcpStream, &mut BufReader<TcpStream>, &str, u64) -> bool
        + Send
        + Sync
        + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::sync::Arc::new(handle);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let handle = handle.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let (mut head, mut length) = (String::new(), 0u64);
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {
                                let lower = line.to_ascii_lowercase();
                                if let Some(v) = lower.strip_prefix("content-length:") {
                                    length = v.trim().parse().unwrap_or(0);
                                }
                                head.push_str(&line);
                            }
                        }
                    }
                    if !handle(&mut stream, &mut reader, &head, length) {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Whether the server on `port` answers `GET /v8/artifacts/status` with 200.
fn answers_status(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /v8/artifacts/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    if conn.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}
