//! The connection under the HTTP client: ureq's own TCP (or `CONNECT` proxy) and rustls layers,
//! with one layer added between them. A server that refuses an upload before reading all of it
//! (a 413 for a body over its limit: turborepo-remote-cache answers as soon as it sees the
//! `Content-Length`, then closes) makes the next write fail with `EPIPE` or a reset, and ureq
//! would report that and never read the answer already waiting in the socket. This layer takes
//! such a write failure as "the server stopped reading": it sends nothing more, tells the body
//! being sent to stop reading its file ([`peer_stopped_reading`]), and lets ureq go on to read
//! the answer, so the caller sees the server's status instead of a broken pipe. If no answer can
//! be read either, the reading fails and that is the error.
//!
//! ureq's transport interface is not covered by its semver promise: `Cargo.toml` pins the minor
//! version this is written against.

use std::cell::Cell;
use std::io::ErrorKind;

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    TcpConnector, Transport,
};

thread_local! {
    /// Set on the thread whose request's server stopped reading; the request runs on one thread.
    static STOPPED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the server of the request on this thread stopped reading what is sent (since
/// [`reset`]).
pub(super) fn peer_stopped_reading() -> bool {
    STOPPED.with(Cell::get)
}

/// Forgets an earlier request's [`peer_stopped_reading`]; call before sending a body.
pub(super) fn reset() {
    STOPPED.with(|s| s.set(false));
}

/// An agent with `config` whose connections read the server's answer after a failed write.
pub(super) fn agent(config: ureq::config::Config) -> ureq::Agent {
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(ReadAfterWriteFailure)
            .chain(RustlsConnector::default());
    ureq::Agent::with_parts(config, connector, DefaultResolver::default())
}

/// Wraps each new TCP connection in a [`KeepReading`].
#[derive(Debug)]
struct ReadAfterWriteFailure;

impl<In: Transport> Connector<In> for ReadAfterWriteFailure {
    type Out = KeepReading<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| KeepReading {
            inner,
            stopped: false,
        }))
    }
}

/// A connection whose failed writes (the peer closed or reset it) are dropped so that the
/// answer can still be read.
#[derive(Debug)]
struct KeepReading<T> {
    inner: T,
    /// A write failed: nothing more is sent, and the connection is never reused.
    stopped: bool,
}

impl<T: Transport> Transport for KeepReading<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if !self.stopped {
            match self.inner.transmit_output(amount, timeout) {
                Err(ureq::Error::Io(e))
                    if matches!(
                        e.kind(),
                        ErrorKind::BrokenPipe
                            | ErrorKind::ConnectionReset
                            | ErrorKind::ConnectionAborted
                    ) =>
                {
                    tracing::debug!(
                        "remote cache: the server stopped reading ({e}); reading its answer"
                    );
                    self.stopped = true;
                }
                other => return other,
            }
        }
        STOPPED.with(|s| s.set(true));
        // What is left of the body goes nowhere, but not for longer than the request may take.
        if timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        !self.stopped && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
