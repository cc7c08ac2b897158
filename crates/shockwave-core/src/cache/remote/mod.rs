//! The remote cache: task entries shared through a server that speaks Turborepo's `/v8/artifacts`
//! API. One artifact per task hash is the local entry packed as a tar ([`LocalCache::export`]).
//! A download lands in a temporary directory of the local cache, its signature is checked
//! (`sign.rs`), it is moved in as a local entry and restored by [`LocalCache::restore`], so a remote
//! hit passes exactly the checks of a local one and the next run hits locally. Uploads run on
//! background threads (`upload.rs`).
//!
//! The remote is an optimisation: every failure is a [`RemoteError`] turned into at most one
//! [`RemoteEvent::Warning`] per kind and a miss; a refused token, or [`MAX_FAILURES`] transport
//! failures, switch the remote off for the rest of the run. Nothing here fails a task. The token
//! and the signature key are [`Secret`]s: they never appear in an error, an event or a log.

mod client;
mod sign;
mod transport;
mod upload;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use upload::UploadReport;

use super::{format_size, CacheError, LocalCache, Restored, MAX_LOG_BYTES, MAX_META};
use crate::config::Globs;
use client::Client;
use sign::Signer;

/// After this many failures to talk to the server (unreachable, timeouts, 429, 5xx), it is not
/// asked again in this run.
pub const MAX_FAILURES: u32 = 3;

/// The largest artifact downloaded (outputs archive, log and metadata): larger ones are misses.
const MAX_ARTIFACT: u64 = 8 << 30;

/// A value that must never be printed: `Debug` shows a placeholder, and there is no `Display`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The resolved remote cache settings (`[remote_cache]`, environment, flags).
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    pub url: String,
    pub team: String,
    /// Read hits, never upload.
    pub read_only: bool,
    /// Sign uploads and verify downloads with this key.
    pub signature_key: Option<Secret>,
    /// `signature = true`: an unsigned download is refused (needs a key).
    pub require_signature: bool,
    /// Per request; also how long the end of a run waits for pending uploads.
    pub timeout: Duration,
    pub token: Option<Secret>,
}

/// Why a remote request did not give a usable artifact. The messages say what to do; none holds
/// the token or the key.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach the server ({why}); check SHOCKWAVE_REMOTE_CACHE_URL and that the server runs")]
    Unreachable { why: String },
    #[error("the server did not answer in time; check it, or raise remote_cache.timeout (SHOCKWAVE_REMOTE_CACHE_TIMEOUT)")]
    Timeout,
    #[error("{status}: the token was refused; check SHOCKWAVE_REMOTE_CACHE_TOKEN (or TURBO_TOKEN) and the team (SHOCKWAVE_REMOTE_CACHE_TEAM)")]
    Refused { status: u16 },
    #[error("{status}: the server refused a request without a token; set SHOCKWAVE_REMOTE_CACHE_TOKEN (or TURBO_TOKEN)")]
    NoToken { status: u16 },
    #[error("413: the server refused {} as larger than its body limit; raise the limit on the server (BODY_LIMIT for turborepo-remote-cache, 100 MB by default) or leave the large files out of the target's `outputs`; smaller artifacts are still uploaded", artifact(*bytes, task))]
    PayloadTooLarge { bytes: u64, task: String },
    #[error(
        "429: the server is rate limiting this client; retry later or raise the server's limits"
    )]
    RateLimited,
    #[error("{status}: the server failed; see its log")]
    Server { status: u16 },
    #[error("{status}: unexpected answer from the server; check SHOCKWAVE_REMOTE_CACHE_URL points at a /v8/artifacts server")]
    Status { status: u16 },
    #[error("the server's answer was not understood ({why})")]
    Protocol { why: String },
    #[error("a download ended early; the task runs instead")]
    Truncated,
    #[error("the connection to the server broke off ({why}); check the server and the network")]
    Broken { why: String },
    #[error("the connection to the server broke off while sending a {} artifact ({why}); check the server and the network, and whether the server limits the size of uploads (BODY_LIMIT for turborepo-remote-cache)", format_size(*bytes))]
    UploadBroken { bytes: u64, why: String },
    #[error("an artifact on the server is larger than {}; the task runs instead", format_size(*limit))]
    TooBig { limit: u64 },
    #[error("an artifact's signature does not match (another SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY, or it was modified); it was not restored")]
    BadSignature,
    #[error("an artifact is not signed and remote_cache.signature is on; it was not restored (it is replaced once a machine with the key uploads it)")]
    Unsigned,
    #[error("an artifact was refused: {why}")]
    Invalid { why: String },
    #[error("could not use the local cache: {0}")]
    Local(String),
}

/// `the 28.6 MiB artifact of `a:build``, as far as it is known.
fn artifact(bytes: u64, task: &str) -> String {
    match (bytes, task) {
        (0, _) => "an artifact".to_string(),
        (b, "") => format!("a {} artifact", format_size(b)),
        (b, t) => format!("the {} artifact of `{t}`", format_size(b)),
    }
}

impl RemoteError {
    fn local(e: impl std::fmt::Display) -> RemoteError {
        RemoteError::Local(e.to_string())
    }

    /// Warnings are given once per kind.
    fn kind(&self) -> &'static str {
        match self {
            RemoteError::Unreachable { .. } => "unreachable",
            RemoteError::Timeout => "timeout",
            RemoteError::Refused { .. } => "refused",
            RemoteError::NoToken { .. } => "no-token",
            RemoteError::PayloadTooLarge { .. } => "413",
            RemoteError::RateLimited => "429",
            RemoteError::Server { .. } => "5xx",
            RemoteError::Status { .. } => "status",
            RemoteError::Protocol { .. } => "protocol",
            RemoteError::Truncated => "truncated",
            RemoteError::Broken { .. } | RemoteError::UploadBroken { .. } => "broken",
            RemoteError::TooBig { .. } => "too-big",
            RemoteError::BadSignature => "signature",
            RemoteError::Unsigned => "unsigned",
            RemoteError::Invalid { .. } => "invalid",
            RemoteError::Local(_) => "local",
        }
    }

    /// Whether the failure says something about the server rather than one artifact.
    fn counts_against_server(&self) -> bool {
        matches!(
            self,
            RemoteError::Unreachable { .. }
                | RemoteError::Timeout
                | RemoteError::RateLimited
                | RemoteError::Server { .. }
                | RemoteError::Status { .. }
                | RemoteError::Protocol { .. }
                | RemoteError::Truncated
                | RemoteError::Broken { .. }
                | RemoteError::UploadBroken { .. }
        )
    }
}

/// Why the remote was switched off for the rest of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffReason {
    /// 401 or 403: every further request would be refused too.
    Refused,
    /// [`MAX_FAILURES`] failures to talk to the server.
    Failures(u32),
}

/// What the remote cache reports to the run (forwarded as `RunEvent::Remote`).
#[derive(Debug)]
pub enum RemoteEvent {
    /// The first failure of its kind (later ones are counted, not reported).
    Warning(RemoteError),
    /// Not asked again in this run.
    Off(OffReason),
    /// The end of the run's uploads.
    Uploads(UploadReport),
}

pub struct RemoteCache {
    config: RemoteConfig,
    client: Client,
    off: AtomicBool,
    failures: AtomicU32,
    /// The smallest artifact the server refused as too large (413) in this run: one at least this
    /// large is not sent.
    too_large: AtomicU64,
    /// Kinds already warned about, and events not yet collected by [`RemoteCache::events`].
    state: Mutex<(BTreeSet<&'static str>, Vec<RemoteEvent>)>,
    uploads: upload::Uploads,
}

impl RemoteCache {
    pub fn new(config: RemoteConfig) -> RemoteCache {
        RemoteCache {
            client: Client::new(&config),
            config,
            off: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            too_large: AtomicU64::new(u64::MAX),
            state: Mutex::new((BTreeSet::new(), Vec::new())),
            uploads: upload::Uploads::default(),
        }
    }

    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    pub fn is_off(&self) -> bool {
        self.off.load(Ordering::SeqCst)
    }

    /// Events since the last call, in order.
    pub fn events(&self) -> Vec<RemoteEvent> {
        self.state
            .lock()
            .map(|mut s| std::mem::take(&mut s.1))
            .unwrap_or_default()
    }

    /// Applies the failure policy to `e`: warn once per kind, switch off when warranted.
    fn failed(&self, e: RemoteError) {
        let off = match &e {
            RemoteError::Refused { .. } | RemoteError::NoToken { .. } => Some(OffReason::Refused),
            e if e.counts_against_server() => {
                let n = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
                (n >= MAX_FAILURES).then_some(OffReason::Failures(n))
            }
            _ => None,
        };
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.0.insert(e.kind()) {
            state.1.push(RemoteEvent::Warning(e));
        }
        if let Some(reason) = off {
            if !self.off.swap(true, Ordering::SeqCst) {
                state.1.push(RemoteEvent::Off(reason));
            }
        }
    }

    fn signer(&self, hash: &str) -> Option<Signer> {
        self.config
            .signature_key
            .as_ref()
            .map(|k| Signer::new(k, hash, &self.config.team))
    }

    /// Looks `hash` up on the server; a hit is moved into `local` and restored from there (the
    /// caller holds the task's lock). Every failure is recorded and is a miss.
    pub fn fetch(
        &self,
        hash: &str,
        local: &LocalCache,
        root: &Path,
        outputs: &Globs,
    ) -> Option<Restored> {
        if self.is_off() {
            return None;
        }
        match self.try_fetch(hash, local, root, outputs) {
            Ok(hit) => hit,
            Err(e) => {
                self.failed(e);
                None
            }
        }
    }

    fn try_fetch(
        &self,
        hash: &str,
        local: &LocalCache,
        root: &Path,
        outputs: &Globs,
    ) -> Result<Option<Restored>, RemoteError> {
        let tmp = local.temp_dir(hash).map_err(RemoteError::local)?;
        let path = tmp.path().join("artifact.tar");
        let mut file = super::create_new(&path).map_err(RemoteError::local)?;
        let mut signer = self.signer(hash);
        let limit = MAX_ARTIFACT + MAX_LOG_BYTES + MAX_META + 4096;
        let Some(download) = self.client.get(hash, &mut file, limit, signer.as_mut())? else {
            return Ok(None);
        };
        match (&signer, &download.tag) {
            (_, None) if self.config.require_signature => return Err(RemoteError::Unsigned),
            (Some(signer), Some(tag)) if !signer.verify(tag) => {
                return Err(RemoteError::BadSignature)
            }
            _ => {}
        }
        tracing::debug!(
            hash,
            bytes = download.bytes,
            "downloaded from the remote cache"
        );
        let mut file = std::fs::File::open(&path).map_err(RemoteError::local)?;
        local
            .import(hash, &mut file, &tmp)
            .map_err(|why| RemoteError::Invalid {
                why: why.to_string(),
            })?;
        drop(tmp);
        match local.restore(hash, root, outputs) {
            Ok(Some(hit)) => Ok(Some(hit)),
            Ok(None) => Err(RemoteError::Invalid {
                why: "it is an entry of another version".into(),
            }),
            Err(e @ (CacheError::Corrupt { .. } | CacheError::Unsafe { .. })) => {
                Err(RemoteError::Invalid { why: e.to_string() })
            }
            Err(e) => Err(RemoteError::local(e)),
        }
    }

    /// Whether the server has an artifact for `hash` (`HEAD`); a failure is recorded and `false`.
    pub fn has(&self, hash: &str) -> bool {
        if self.is_off() {
            return false;
        }
        self.client.head(hash).unwrap_or_else(|e| {
            self.failed(e);
            false
        })
    }

    /// Queues `hash`'s local entry for upload (not in read-only mode, not once off).
    pub fn upload(self: &Arc<Self>, local: &Arc<LocalCache>, hash: &str, duration: Duration) {
        if self.config.read_only || self.is_off() {
            return;
        }
        self.uploads.push(self, local, hash, duration);
    }

    /// Waits for pending uploads, at most `timeout` (nothing when `abandon`), and reports them.
    pub fn finish_uploads(&self, abandon: bool) -> UploadReport {
        let wait = if abandon {
            Duration::ZERO
        } else {
            self.config.timeout
        };
        self.uploads.finish(wait)
    }

    /// `GET /v8/artifacts/status`, for `cache stats`.
    pub fn status(&self) -> Result<String, RemoteError> {
        self.client.status()
    }
}
