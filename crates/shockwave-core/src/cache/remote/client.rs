//! The HTTP side of the remote cache: Turborepo's `/v8/artifacts` API over a blocking ureq agent
//! (rustls, no async runtime). Bodies stream both ways between the socket and files, every
//! request has a deadline, and every failure comes back as a typed [`RemoteError`]. This module
//! never decides what a failure means for the run, and never puts the token anywhere but the
//! `Authorization` header.

use std::fs::File;
use std::io::{Read, Write};
use std::time::Duration;

use super::sign::Signer;
use super::transport;
use super::{RemoteConfig, RemoteError};

/// What a successful download left in the caller's file.
pub(super) struct Download {
    pub(super) bytes: u64,
    /// `x-artifact-tag`, when the server sent one.
    pub(super) tag: Option<String>,
}

pub(super) struct Client {
    agent: ureq::Agent,
    base: String,
    /// `slug=acme`, or `teamId=team_…` for a team id.
    team: (&'static str, String),
    token: Option<String>,
}

/// An answer larger than this to a request that expects none (errors, status) is not read.
const SMALL_BODY: u64 = 64 << 10;

impl Client {
    pub(super) fn new(cfg: &RemoteConfig) -> Client {
        let agent = transport::agent(
            ureq::Agent::config_builder()
                .timeout_global(Some(cfg.timeout))
                .http_status_as_error(false)
                // Redirects (a CDN for reads) never carry the token: ureq drops it on redirect.
                .max_redirects(3)
                .user_agent(concat!("shockwave/", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let key = if cfg.team.starts_with("team_") {
            "teamId"
        } else {
            "slug"
        };
        Client {
            agent,
            base: cfg.url.trim_end_matches('/').to_string(),
            team: (key, cfg.team.clone()),
            token: cfg.token.as_ref().map(|t| format!("Bearer {}", t.expose())),
        }
    }

    fn url(&self, hash: &str) -> String {
        format!("{}/v8/artifacts/{hash}", self.base)
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", t),
            None => req,
        }
    }

    /// A refusal of a request sent without a token is about the missing token.
    fn check(&self, status: u16) -> Result<(), RemoteError> {
        match check_status(status) {
            Err(RemoteError::Refused { .. } | RemoteError::Status { status: 400 })
                if self.token.is_none() =>
            {
                Err(RemoteError::NoToken { status })
            }
            other => other,
        }
    }

    /// Downloads `hash` into `out`, at most `limit` bytes, feeding `signer` as it goes.
    /// `Ok(None)`: the server does not have it.
    pub(super) fn get(
        &self,
        hash: &str,
        out: &mut File,
        limit: u64,
        mut signer: Option<&mut Signer>,
    ) -> Result<Option<Download>, RemoteError> {
        let req = self
            .auth(self.agent.get(self.url(hash)))
            .query(self.team.0, &self.team.1);
        let resp = req.call().map_err(transport)?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        self.check(status)?;
        let tag = resp
            .headers()
            .get("x-artifact-tag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let expected = resp.body().content_length();
        if expected.is_some_and(|n| n > limit) {
            return Err(RemoteError::TooBig { limit });
        }
        let mut body = resp.into_body().into_with_config().limit(limit).reader();
        let mut buf = vec![0u8; 64 << 10];
        let mut bytes = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Err(body_error(e, limit)),
            };
            if let Some(s) = signer.as_deref_mut() {
                s.update(&buf[..n]);
            }
            out.write_all(&buf[..n]).map_err(RemoteError::local)?;
            bytes += n as u64;
        }
        if expected.is_some_and(|n| n != bytes) {
            return Err(RemoteError::Truncated);
        }
        Ok(Some(Download { bytes, tag }))
    }

    /// `HEAD /v8/artifacts/{hash}`: whether the server has it.
    pub(super) fn head(&self, hash: &str) -> Result<bool, RemoteError> {
        let req = self
            .auth(self.agent.head(self.url(hash)))
            .query(self.team.0, &self.team.1);
        let resp = req.call().map_err(transport)?;
        match resp.status().as_u16() {
            404 => Ok(false),
            status => self.check(status).map(|()| true),
        }
    }

    /// Uploads `len` bytes of `file` as `hash`. A server that refuses the body before reading
    /// all of it still has its answer read (see [`transport`]): a 413 is a
    /// [`RemoteError::PayloadTooLarge`], not a broken connection.
    pub(super) fn put(
        &self,
        hash: &str,
        file: File,
        len: u64,
        tag: Option<&str>,
        duration: Duration,
    ) -> Result<(), RemoteError> {
        let mut req = self
            .auth(self.agent.put(self.url(hash)))
            .query(self.team.0, &self.team.1)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", len.to_string())
            .header("x-artifact-duration", duration.as_millis().to_string());
        if let Some(tag) = tag {
            req = req.header("x-artifact-tag", tag);
        }
        transport::reset();
        let mut body = UploadBody { file, left: len };
        let resp =
            req.send(ureq::SendBody::from_reader(&mut body))
                .map_err(|e| match transport(e) {
                    RemoteError::Broken { why } => RemoteError::UploadBroken { bytes: len, why },
                    other => other,
                })?;
        let status = resp.status().as_u16();
        drain(resp);
        if status == 413 {
            return Err(RemoteError::PayloadTooLarge {
                bytes: len,
                task: String::new(),
            });
        }
        self.check(status)
    }

    /// `GET /v8/artifacts/status`: the server's own word (`enabled`, `disabled`, ...).
    pub(super) fn status(&self) -> Result<String, RemoteError> {
        let req = self
            .auth(self.agent.get(format!("{}/v8/artifacts/status", self.base)))
            .query(self.team.0, &self.team.1);
        let resp = req.call().map_err(transport)?;
        self.check(resp.status().as_u16())?;
        let text = resp
            .into_body()
            .into_with_config()
            .limit(SMALL_BODY)
            .read_to_string()
            .map_err(transport)?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        Ok(value
            .get("status")
            .and_then(|s| s.as_str())
            .unwrap_or("answered")
            .to_string())
    }
}

/// The artifact being uploaded: exactly `left` more bytes of its file. Once the server has stopped
/// reading, the rest only has to be counted out, so it is not read from disk.
struct UploadBody {
    file: File,
    left: u64,
}

impl Read for UploadBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        let n = if transport::peer_stopped_reading() {
            buf[..n].fill(0);
            n
        } else {
            match self.file.read(&mut buf[..n])? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => n,
            }
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads what is left of a small answer, so the connection can be reused.
fn drain(resp: ureq::http::Response<ureq::Body>) {
    let _ = resp
        .into_body()
        .into_with_config()
        .limit(SMALL_BODY)
        .read_to_vec();
}

fn check_status(status: u16) -> Result<(), RemoteError> {
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(RemoteError::Refused { status }),
        413 => Err(RemoteError::PayloadTooLarge {
            bytes: 0,
            task: String::new(),
        }),
        429 => Err(RemoteError::RateLimited),
        500..=599 => Err(RemoteError::Server { status }),
        _ => Err(RemoteError::Status { status }),
    }
}

fn transport(e: ureq::Error) -> RemoteError {
    tracing::debug!("remote cache request failed: {e}");
    match e {
        ureq::Error::Timeout(_) => RemoteError::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            RemoteError::Unreachable { why: e.to_string() }
        }
        ureq::Error::Io(io) => io_error(io),
        ureq::Error::BodyExceedsLimit(limit) => RemoteError::TooBig { limit },
        other => RemoteError::Protocol {
            why: other.to_string(),
        },
    }
}

fn io_error(io: std::io::Error) -> RemoteError {
    use std::io::ErrorKind::*;
    match io.kind() {
        ConnectionRefused | NotFound | AddrNotAvailable => RemoteError::Unreachable {
            why: io.to_string(),
        },
        TimedOut | WouldBlock => RemoteError::Timeout,
        _ => RemoteError::Broken {
            why: io.to_string(),
        },
    }
}

/// A read error in the middle of a body: ureq wraps its own errors in `io::Error`.
fn body_error(e: std::io::Error, limit: u64) -> RemoteError {
    match e.into_inner().map(|inner| inner.downcast::<ureq::Error>()) {
        Some(Ok(ureq)) => match *ureq {
            ureq::Error::BodyExceedsLimit(_) => RemoteError::TooBig { limit },
            ureq::Error::Timeout(_) => RemoteError::Timeout,
            _ => RemoteError::Truncated,
        },
        _ => RemoteError::Truncated,
    }
}
