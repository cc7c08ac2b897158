//! A Watchman client for the three questions the scan asks: which root watches this worktree
//! (`watch-project`), what time it is there (`clock`), and which names changed since a clock
//! (`query` with `since`). It speaks Watchman's JSON protocol over its unix socket, one request
//! and one response line at a time, every read and write bounded by one deadline and every
//! response by [`MAX_RESPONSE`] bytes. The socket is `WATCHMAN_SOCK`, the one stored with the last
//! run, or what `watchman get-sockname` prints. Every failure is a `String` saying what went
//! wrong; the caller falls back to a full scan. Never reads or writes a file of the worktree.

use std::io::{BufRead, BufReader, Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, MetadataExt};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The longest response read. A query listing this much means too much changed to gain anything
/// over a full scan anyway.
const MAX_RESPONSE: u64 = 16 << 20;

/// The longest `get-sockname` output read.
const MAX_SOCKNAME_OUTPUT: u64 = 64 << 10;

/// A connection to the Watchman server.
pub(super) struct Client {
    reader: BufReader<UnixStream>,
    deadline: Instant,
    /// The socket path, stored with the state so the next run can skip `get-sockname`.
    pub sockname: PathBuf,
}

/// The root that watches a worktree, and where the worktree sits in it.
pub(super) struct Watch {
    pub root: String,
    /// `None` when the worktree is the watched root.
    pub relative: Option<String>,
}

/// What changed since a clock.
pub(super) enum Since {
    /// Watchman cannot say (a new watch, a restarted server, a clock it does not know).
    Fresh,
    /// Names relative to the worktree (files and directories, present or not).
    Changed(Vec<String>),
}

impl Client {
    /// Connects to the first socket that answers: `env_sock` (`WATCHMAN_SOCK`), then `stored`
    /// (the last run's, if it is still a socket of ours), then the one `watchman get-sockname`
    /// names, which also starts the server if none runs.
    pub(super) fn connect(
        env_sock: Option<&Path>,
        stored: Option<&Path>,
        deadline: Instant,
    ) -> Result<Client, String> {
        if cfg!(windows) {
            tracing::warn!("{NOT_ON_WINDOWS}");
            return Err(NOT_ON_WINDOWS.into());
        }
        if let Some(sock) = env_sock {
            return Client::open(sock.to_path_buf(), deadline);
        }
        if let Some(sock) = stored.filter(|s| is_own_socket(s)) {
            match Client::open(sock.to_path_buf(), deadline) {
                Ok(c) => return Ok(c),
                Err(e) => tracing::debug!("fsmonitor: stored socket does not answer ({e})"),
            }
        }
        Client::open(sockname(deadline)?, deadline)
    }

    #[cfg(windows)]
    fn open(_sockname: PathBuf, _deadline: Instant) -> Result<Client, String> {
        Err(NOT_ON_WINDOWS.into())
    }

    #[cfg(unix)]
    fn open(sockname: PathBuf, deadline: Instant) -> Result<Client, String> {
        let stream = UnixStream::connect(&sockname)
            .map_err(|e| format!("cannot connect to {} ({e})", sockname.display()))?;
        Ok(Client {
            reader: BufReader::new(stream),
            deadline,
            sockname,
        })
    }

    /// `watch-project`: the root watching `worktree`, which Watchman creates if needed.
    pub(super) fn watch_project(&mut self, worktree: &Path) -> Result<Watch, String> {
        let worktree = worktree
            .to_str()
            .ok_or("the worktree path is not UTF-8, which the JSON protocol cannot carry")?;
        let r = self.call(&json!(["watch-project", worktree]))?;
        let root = string_field(&r, "watch")?;
        let relative = match r.get("relative_path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => None,
            Some(_) => return Err("`relative_path` is not a string".into()),
        };
        Ok(Watch { root, relative })
    }

    /// `clock`: the root's current clock, after Watchman has caught up with the file system.
    pub(super) fn clock(&mut self, watch: &Watch) -> Result<String, String> {
        let sync = self.remaining_ms();
        let r = self.call(&json!(["clock", watch.root, { "sync_timeout": sync }]))?;
        string_field(&r, "clock")
    }

    /// `query` since `clock`: the names that changed below the worktree, and the clock now.
    pub(super) fn since(&mut self, watch: &Watch, clock: &str) -> Result<(Since, String), String> {
        let mut q = json!({
            "since": clock,
            "fields": ["name"],
            "empty_on_fresh_instance": true,
            "sync_timeout": self.remaining_ms(),
            // git's own directory changes on every commit and is never an input.
            "expression": ["not", ["anyof", ["name", ".git"], ["dirname", ".git"]]],
        });
        if let Some(rel) = &watch.relative {
            q["relative_root"] = json!(rel);
        }
        let r = self.call(&json!(["query", watch.root, q]))?;
        let now = string_field(&r, "clock")?;
        if r.get("is_fresh_instance").and_then(Value::as_bool) != Some(false) {
            return Ok((Since::Fresh, now));
        }
        let files = r
            .get("files")
            .and_then(Value::as_array)
            .ok_or("the query answer has no `files` list")?;
        let mut names = Vec::with_capacity(files.len());
        for f in files {
            // One field asked for: plain names; older servers send objects.
            let name = match f {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("a changed file without a name")?,
                _ => return Err("a changed file that is neither a name nor an object".into()),
            };
            names.push(name.to_string());
        }
        Ok((Since::Changed(names), now))
    }

    /// Sends one request and reads its response, skipping unilateral messages (subscription or
    /// log notices). An `error` or a `warning` (a recrawl, for one: events may have been lost)
    /// fails the call.
    fn call(&mut self, request: &Value) -> Result<Value, String> {
        let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let remaining = self.remaining()?;
        let stream = self.reader.get_mut();
        stream
            .set_write_timeout(Some(remaining))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(&line)
            .map_err(|e| format!("failed to send a request ({e})"))?;
        loop {
            let v = self.read_pdu()?;
            if v.get("unilateral").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(e) = v.get("error") {
                return Err(format!("watchman answered: {}", short(e)));
            }
            if let Some(w) = v.get("warning") {
                return Err(format!("watchman warns: {}", short(w)));
            }
            return Ok(v);
        }
    }

    fn read_pdu(&mut self) -> Result<Value, String> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(self.remaining()?))
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_RESPONSE)
            .read_until(b'\n', &mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    "no answer in time".to_string()
                }
                _ => format!("failed to read the answer ({e})"),
            })?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        if buf.last() != Some(&b'\n') {
            return Err(format!(
                "the answer is longer than {} MiB",
                MAX_RESPONSE >> 20
            ));
        }
        serde_json::from_slice(&buf).map_err(|e| format!("the answer is not JSON ({e})"))
    }

    fn remaining(&self) -> Result<Duration, String> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| "no answer in time".to_string())
    }

    fn remaining_ms(&self) -> u64 {
        self.remaining().map_or(1, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        })
    }
}

/// Why there is no Watchman client on Windows.
const NOT_ON_WINDOWS: &str = "not supported on Windows yet: the Watchman client (Watchman listens on a named pipe there, and this client speaks only to a unix socket); every tracked file is stat'ed";

/// Windows has no unix socket to connect to: [`Client::open`] fails there, so no client holds
/// one of these.
#[cfg(windows)]
enum UnixStream {}

#[cfg(windows)]
impl UnixStream {
    fn set_read_timeout(&self, _: Option<Duration>) -> std::io::Result<()> {
        match *self {}
    }

    fn set_write_timeout(&self, _: Option<Duration>) -> std::io::Result<()> {
        match *self {}
    }
}

#[cfg(windows)]
impl Read for UnixStream {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match *self {}
    }
}

#[cfg(windows)]
impl Write for UnixStream {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        match *self {}
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match *self {}
    }
}

/// A socket owned by this user: a stored path is only trusted that far.
#[cfg(windows)]
fn is_own_socket(_path: &Path) -> bool {
    false
}

/// A socket owned by this user: a stored path is only trusted that far.
#[cfg(unix)]
fn is_own_socket(path: &Path) -> bool {
    path.is_absolute()
        && std::fs::symlink_metadata(path).is_ok_and(|m| {
            m.file_type().is_socket() && m.uid() == rustix::process::geteuid().as_raw()
        })
}

/// Runs `watchman get-sockname` (bounded by `deadline`) and returns the socket it names.
fn sockname(deadline: Instant) -> Result<PathBuf, String> {
    let mut child = Command::new("watchman")
        .args(["--output-encoding=json", "--no-pretty", "get-sockname"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run `watchman` ({e}); is it installed?"))?;
    let mut stdout = child.stdout.take().ok_or("no output from watchman")?;
    // The read ends when watchman exits (or is killed below at the deadline).
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_SOCKNAME_OUTPUT)
            .read_to_end(&mut out);
        out
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("`watchman get-sockname` did not answer in time".into());
            }
            Err(e) => return Err(format!("failed to wait for `watchman get-sockname` ({e})")),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("`watchman get-sockname` failed ({status})"));
    }
    let v: Value = serde_json::from_slice(&out)
        .map_err(|e| format!("`watchman get-sockname` printed no JSON ({e})"))?;
    Ok(PathBuf::from(string_field(&v, "sockname")?))
}

fn string_field(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("the answer has no `{key}`"))
}

/// A message from the server, cut to a readable length.
fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
