//! The one path by which the product's output reaches stdout, with one policy for write errors:
//! a closed pipe (`shockwave affected | head -1`) quietly discards the rest, any other failure (a
//! full disk, `> /dev/full`) is remembered so the command can end with exit 1 and a message rather
//! than report success with its output lost. Nothing here panics, whatever stdout has become.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

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
