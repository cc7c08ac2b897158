//! Background uploads: a bounded queue served by a few threads, started with the first upload.
//! A task never waits for an upload; a full queue skips the artifact. The end of a run waits for
//! what is pending at most a timeout, then leaves it (the process exits), removing the temporary
//! directories the uploads still in flight pack their artifacts in.

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{RemoteCache, RemoteError};
use crate::cache::LocalCache;

/// Uploads at the same time.
const THREADS: usize = 4;
/// Artifacts waiting for a thread; more are skipped.
const QUEUE: usize = 256;

/// How a run's uploads went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UploadReport {
    pub uploaded: u64,
    pub bytes: u64,
    /// Not uploaded: the server had it already, the queue was full, the remote went off, or the
    /// entry was gone.
    pub skipped: u64,
    pub failed: u64,
    /// Still running when the wait at the end was over.
    pub abandoned: u64,
    /// From the first upload's start to the last one's end (or the end of the wait).
    pub duration: Duration,
}

struct Job {
    hash: String,
    duration: Duration,
}

#[derive(Default)]
pub(super) struct Uploads {
    inner: Mutex<Option<Running>>,
    report: Arc<Mutex<(UploadReport, Option<Instant>)>>,
    in_flight: Arc<InFlight>,
}

/// The temporary directories of the uploads under way. Once the run stops waiting they are
/// removed, and no upload starts another.
#[derive(Default)]
struct InFlight(Mutex<(bool, BTreeSet<PathBuf>)>);

impl InFlight {
    /// Registers `dir` for as long as the returned guard lives; `None` once the run has stopped
    /// waiting.
    fn enter<'a>(&'a self, dir: &Path) -> Option<Entered<'a>> {
        let mut state = self.0.lock().ok()?;
        if state.0 {
            return None;
        }
        state.1.insert(dir.to_path_buf());
        Some(Entered(self, dir.to_path_buf()))
    }

    /// Stops new uploads and removes the directories of those still running.
    fn abandon(&self) {
        let Ok(mut state) = self.0.lock() else {
            return;
        };
        state.0 = true;
        for dir in std::mem::take(&mut state.1) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

struct Entered<'a>(&'a InFlight, PathBuf);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = (self.0).0.lock() {
            state.1.remove(&self.1);
        }
    }
}

struct Running {
    tx: SyncSender<Job>,
    done_rx: mpsc::Receiver<()>,
    queued: u64,
}

impl Uploads {
    pub(super) fn push(
        &self,
        remote: &Arc<RemoteCache>,
        local: &Arc<LocalCache>,
        hash: &str,
        duration: Duration,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let running = inner.get_or_insert_with(|| self.start(remote, local));
        let job = Job {
            hash: hash.to_string(),
            duration,
        };
        if running.tx.try_send(job).is_ok() {
            running.queued += 1;
        } else {
            self.count(|r| r.skipped += 1);
        }
    }

    fn count(&self, f: impl FnOnce(&mut UploadReport)) {
        if let Ok(mut r) = self.report.lock() {
            f(&mut r.0);
        }
    }

    fn start(&self, remote: &Arc<RemoteCache>, local: &Arc<LocalCache>) -> Running {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let (done_tx, done_rx) = mpsc::channel();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..THREADS {
            let (rx, done_tx) = (rx.clone(), done_tx.clone());
            let (remote, local, report) = (remote.clone(), local.clone(), self.report.clone());
            let in_flight = self.in_flight.clone();
            std::thread::spawn(move || loop {
                let Ok(Ok(job)) = rx.lock().map(|rx| rx.recv()) else {
                    break;
                };
                if let Ok(mut r) = report.lock() {
                    r.1.get_or_insert_with(Instant::now);
                }
                let result = if remote.is_off() {
                    Ok(None)
                } else {
                    upload_one(&remote, &local, &in_flight, &job)
                };
                if let Ok(mut r) = report.lock() {
                    match &result {
                        Ok(Some(bytes)) => {
                            r.0.uploaded += 1;
                            r.0.bytes += bytes;
                        }
                        Ok(None) => r.0.skipped += 1,
                        Err(_) => r.0.failed += 1,
                    }
                    if let Some(start) = r.1 {
                        r.0.duration = start.elapsed();
                    }
                }
                if let Err(e) = result {
                    remote.failed(e);
                }
                let _ = done_tx.send(());
            });
        }
        Running {
            tx,
            done_rx,
            queued: 0,
        }
    }

    pub(super) fn finish(&self, wait: Duration) -> UploadReport {
        let running = self.inner.lock().ok().and_then(|mut i| i.take());
        let mut abandoned = 0;
        if let Some(Running {
            tx,
            done_rx,
            queued,
        }) = running
        {
            drop(tx);
            let deadline = Instant::now() + wait;
            let mut done = 0;
            while done < queued {
                let left = deadline.saturating_duration_since(Instant::now());
                match done_rx.recv_timeout(left) {
                    Ok(()) => done += 1,
                    Err(_) => break,
                }
            }
            abandoned = queued - done;
        }
        if abandoned > 0 {
            self.in_flight.abandon();
        }
        let mut report = self.report.lock().map(|r| r.0).unwrap_or_default();
        report.abandoned = abandoned;
        report
    }
}

/// Packs and sends one entry; `Ok(None)`: there was nothing to send, or the server has it
/// already (another machine built the same hash), which a `HEAD` tells for the cost of no body.
fn upload_one(
    remote: &RemoteCache,
    local: &LocalCache,
    in_flight: &InFlight,
    job: &Job,
) -> Result<Option<u64>, RemoteError> {
    if remote.client.head(&job.hash)? {
        return Ok(None);
    }
    let tmp = local.temp_dir(&job.hash).map_err(RemoteError::local)?;
    let Some(_entered) = in_flight.enter(tmp.path()) else {
        return Ok(None);
    };
    let path = tmp.path().join("artifact.tar");
    let mut file = crate::cache::create_new(&path).map_err(RemoteError::local)?;
    let Some((len, task)) = local
        .export(&job.hash, &mut file)
        .map_err(RemoteError::local)?
    else {
        return Ok(None);
    };
    drop(file);
    let too_large = || RemoteError::PayloadTooLarge {
        bytes: len,
        task: task.clone(),
    };
    // The server refused one this large already: sending it would only be refused again.
    if len >= remote.too_large.load(Ordering::Relaxed) {
        return Err(too_large());
    }
    let mut file = std::fs::File::open(&path).map_err(RemoteError::local)?;
    let tag = match remote.signer(&job.hash) {
        Some(mut signer) => {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = file.read(&mut buf).map_err(RemoteError::local)?;
                if n == 0 {
                    break;
                }
                signer.update(&buf[..n]);
            }
            file.rewind().map_err(RemoteError::local)?;
            Some(signer.tag())
        }
        None => None,
    };
    remote
        .client
        .put(&job.hash, file, len, tag.as_deref(), job.duration)
        .map_err(|e| match e {
            RemoteError::PayloadTooLarge { .. } => {
                remote.too_large.fetch_min(len, Ordering::Relaxed);
                too_large()
            }
            e => e,
        })?;
    Ok(Some(len))
}
