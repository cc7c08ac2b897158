//! The one path by which the product's output reaches stdout, with one policy for write errors:
//! a closed pipe (`shockwave affected | head -1`) quietly discards the rest, any other failure (a
//! full disk, `> /dev/full`) is remembered so the command can end with exit 1 and a message rather
//! than report success with its output lost. Nothing here panics, whatever stdout has become.
//! JSON documents go out the same way, streamed from serde structs as they are serialized.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Serialize, Serializer};

/// Set once stdout stopped accepting writes (closed pipe or error); later writes are dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe.
static FAILURE: Mutex<Option<io::Error>> = Mutex::new(None);

/// A handle on stdout that never fails: write errors are recorded, see [`take_failure`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    /// Writes `text` whole (or records why it could not).
    pub fn print(text: &str) {
        let _ = Stdout.write_all(text.as_bytes());
    }

    /// Writes `value` as pretty-printed JSON and a newline, serialized straight into a buffer
    /// on stdout: no document is built first, however large the output.
    pub fn json<T: Serialize + ?Sized>(value: &T) {
        let mut out = BufWriter::with_capacity(JSON_BUFFER, Stdout);
        // Writing to `Stdout` cannot fail, so an error is one of serialization (a map key that
        // is not a string), which would be a bug: it ends the command with exit 1 all the same.
        if let Err(e) = serde_json::to_writer_pretty(&mut out, value) {
            record(io::Error::other(format!(
                "cannot write the JSON output: {e}"
            )));
        }
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}

/// How much JSON is written to stdout at a time.
const JSON_BUFFER: usize = 64 << 10;

/// A JSON array serialized straight from the iterator `F` makes, never collected: a field of a
/// document streamed by [`Stdout::json`].
pub struct Seq<F>(pub F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !CLOSED.load(Ordering::Relaxed) {
            let mut out = io::stdout().lock();
            if let Err(e) = out.write_all(buf).and_then(|()| {
                // Stdout is line-buffered; text without a newline would sit in the buffer, and
                // its error surface only at exit, where nobody reports it.
                if buf.ends_with(b"\n") {
                    Ok(())
                } else {
                    out.flush()
                }
            }) {
                record(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !CLOSED.load(Ordering::Relaxed) {
            if let Err(e) = io::stdout().lock().flush() {
                record(e);
            }
        }
        Ok(())
    }
}

fn record(e: io::Error) {
    CLOSED.store(true, Ordering::Relaxed);
    if e.kind() != io::ErrorKind::BrokenPipe {
        let mut failure = FAILURE.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e);
    }
}

/// Flushes stdout and returns the first write error that was not a closed pipe, if any.
pub fn take_failure() -> Option<io::Error> {
    let _ = Stdout.flush();
    FAILURE.lock().unwrap_or_else(|p| p.into_inner()).take()
}
