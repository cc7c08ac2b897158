//! A Watchman client for the three questions the scan asks: which root watches this worktree
//! (`watch-project`), what time it is there (`clock`), and which names changed since a clock
//! (`query` with `since`). It speaks Watchman's JSON protocol over its unix socket, one request
//! and one response line at a time, every read and write bounded by one deadline and every
//! response by [`MAX_RESPONSE`] bytes. The socket is `WATCHMAN_SOCK`, the one stored with the last
//! run, or what `watchman get-sockname` prints. Every failure is a [`WatchmanError`] saying what
//! went wrong; the caller falls back to a full scan. Never reads or writes a file of the worktree.

use std::io::{BufRead, BufReader, Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, MetadataExt};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The longest response read. A query listing this much means too much changed to gain anything
/// over a full scan anyway.
const MAX_RESPONSE: u64 = 16 << 20;

/// The longest `get-sockname` output read.
const MAX_SOCKNAME_OUTPUT: u64 = 64 << 10;

/// Why Watchman could not answer: the run scans in full.
#[derive(Debug, thiserror::Error)]
pub(super) enum WatchmanError {
    #[error("{NOT_ON_WINDOWS}")]
    NotOnWindows,
    #[cfg(unix)]
    #[error("cannot connect to {} ({source})", .sockname.display())]
    Connect {
        sockname: PathBuf,
        source: std::io::Error,
    },
    #[error("the worktree path is not UTF-8, which the JSON protocol cannot carry")]
    NotUtf8,
    #[error("`relative_path` is not a string")]
    RelativePath,
    #[error("the query answer has no `files` list")]
    NoFiles,
    #[error("a changed file without a name")]
    NamelessFile,
    #[error("a changed file that is neither a name nor an object")]
    NotAFile,
    #[error("{0}")]
    Encode(serde_json::Error),
    #[error("{0}")]
    Socket(std::io::Error),
    #[error("failed to send a request ({0})")]
    Send(std::io::Error),
    #[error("watchman answered: {0}")]
    Answered(String),
    #[error("watchman warns: {0}")]
    Warns(String),
    #[error("no answer in time")]
    NoAnswerInTime,
    #[error("failed to read the answer ({0})")]
    Read(std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the answer is longer than {} MiB", MAX_RESPONSE >> 20)]
    TooLong,
    #[error("the answer is not JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("the answer has no `{0}`")]
    NoField(String),
    #[error("cannot run `watchman` ({0}); is it installed?")]
    Run(std::io::Error),
    #[error("no output from watchman")]
    NoOutput,
    #[error("`watchman get-sockname` did not answer in time")]
    SocknameTimeout,
    #[error("failed to wait for `watchman get-sockname` ({0})")]
    Wait(std::io::Error),
    #[error("`watchman get-sockname` failed ({0})")]
    SocknameFailed(ExitStatus),
    #[error("`watchman get-sockname` printed no JSON ({0})")]
    SocknameNotJson(serde_json::Error),
}

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
    ) -> Result<Client, WatchmanError> {
        if cfg!(windows) {
            tracing::warn!("{NOT_ON_WINDOWS}");
            return Err(WatchmanError::NotOnWindows);
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
    fn open(_sockname: PathBuf, _deadline: Instant) -> Result<Client, WatchmanError> {
        Err(WatchmanError::NotOnWindows)
    }

    #[cfg(unix)]
    fn open(sockname: PathBuf, deadline: Instant) -> Result<Client, WatchmanError> {
        let stream = match UnixStream::connect(&sockname) {
            Ok(stream) => stream,
            Err(source) => return Err(WatchmanError::Connect { sockname, source }),
        };
        Ok(Client {
            reader: BufReader::new(stream),
            deadline,
            sockname,
        })
    }

    /// `watch-project`: the root watching `worktree`, which Watchman creates if needed.
    pub(super) fn watch_project(&mut self, worktree: &Path) -> Result<Watch, WatchmanError> {
        let worktree = worktree.to_str().ok_or(WatchmanError::NotUtf8)?;
        let r = self.call(&json!(["watch-project", worktree]))?;
        let root = string_field(&r, "watch")?;
        let relative = match r.get("relative_path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => None,
            Some(_) => return Err(WatchmanError::RelativePath),
        };
        Ok(Watch { root, relative })
    }

    /// `clock`: the root's current clock, after Watchman has caught up with the file system.
    pub(super) fn clock(&mut self, watch: &Watch) -> Result<String, WatchmanError> {
        let sync = self.remaining_ms();
        let r = self.call(&json!(["clock", watch.root, { "sync_timeout": sync }]))?;
        string_field(&r, "clock")
    }

    /// `query` since `clock`: the names that changed below the worktree, and the clock now.
    pub(super) fn since(
        &mut self,
        watch: &Watch,
        clock: &str,
    ) -> Result<(Since, String), WatchmanError> {
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
            .ok_or(WatchmanError::NoFiles)?;
        let mut names = Vec::with_capacity(files.len());
        for f in files {
            // One field asked for: plain names; older servers send objects.
            let name = match f {
                Value::String(s) => s.as_str(),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or(WatchmanError::NamelessFile)?,
                _ => return Err(WatchmanError::NotAFile),
            };
            names.push(name.to_string());
        }
        Ok((Since::Changed(names), now))
    }

    /// Sends one request and reads its response, skipping unilateral messages (subscription or
    /// log notices). An `error` or a `warning` (a recrawl, for one: events may have been lost)
    /// fails the call.
    fn call(&mut self, request: &Value) -> Result<Value, WatchmanError> {
        let mut line = serde_json::to_vec(request).map_err(WatchmanError::Encode)?;
        line.push(b'\n');
        let remaining = self.remaining()?;
        let stream = self.reader.get_mut();
        stream
            .set_write_timeout(Some(remaining))
            .map_err(WatchmanError::Socket)?;
        stream.write_all(&line).map_err(WatchmanError::Send)?;
        loop {
            let v = self.read_pdu()?;
            if v.get("unilateral").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(e) = v.get("error") {
                return Err(WatchmanError::Answered(short(e)));
            }
            if let Some(w) = v.get("warning") {
                return Err(WatchmanError::Warns(short(w)));
            }
            return Ok(v);
        }
    }

    fn read_pdu(&mut self) -> Result<Value, WatchmanError> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(self.remaining()?))
            .map_err(WatchmanError::Socket)?;
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_RESPONSE)
            .read_until(b'\n', &mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    WatchmanError::NoAnswerInTime
                }
                _ => WatchmanError::Read(e),
            })?;
        if n == 0 {
            return Err(WatchmanError::Closed);
        }
        if buf.last() != Some(&b'\n') {
            return Err(WatchmanError::TooLong);
        }
        serde_json::from_slice(&buf).map_err(WatchmanError::NotJson)
    }

    fn remaining(&self) -> Result<Duration, WatchmanError> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(WatchmanError::NoAnswerInTime)
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
fn sockname(deadline: Instant) -> Result<PathBuf, WatchmanError> {
    let mut child = Command::new("watchman")
        .args(["--output-encoding=json", "--no-pretty", "get-sockname"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(WatchmanError::Run)?;
    let mut stdout = child.stdout.take().ok_or(WatchmanError::NoOutput)?;
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
                return Err(WatchmanError::SocknameTimeout);
            }
            Err(e) => return Err(WatchmanError::Wait(e)),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(WatchmanError::SocknameFailed(status));
    }
    let v: Value = serde_json::from_slice(&out).map_err(WatchmanError::SocknameNotJson)?;
    Ok(PathBuf::from(string_field(&v, "sockname")?))
}

fn string_field(v: &Value, key: &str) -> Result<String, WatchmanError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| WatchmanError::NoField(key.to_owned()))
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
