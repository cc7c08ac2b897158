//! Stop signals: SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) all stop a
//! run the same way, through [`Interrupt::request`]. On Windows, Ctrl-C and Ctrl-Break (what the C
//! runtime reports as SIGINT, and SIGTERM) do; Windows has no SIGHUP.

use std::sync::Arc;
use std::time::Duration;

use super::ExitCode;
use shockwave_core::exec::Interrupt;

/// After a second stop request, how long the run may take to stop its commands and write its
/// summary before the process exits regardless (say, output blocked on a stalled pipe).
const HARD_EXIT_AFTER: Duration = Duration::from_secs(5);

/// The first signal stops the run gracefully, the second kills every running command at once. The
/// run then ends with exit code 130.
#[cfg(unix)]
pub(crate) fn handle_stop_signals(interrupt: Arc<Interrupt>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "failed to install signal handlers ({e}): Ctrl-C will not stop running commands"
            );
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("shockwave-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                stop(&interrupt);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "failed to start the signal-handling thread ({e}): Ctrl-C will not stop running commands"
        );
    }
}

/// Windows: the C runtime's SIGINT (Ctrl-C, Ctrl-Break) and SIGTERM set a flag that a thread
/// looks at every 50 ms (signal-hook offers no iterator there).
#[cfg(windows)]
pub(crate) fn handle_stop_signals(interrupt: Arc<Interrupt>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::{AtomicBool, Ordering};
    let raised = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&raised)) {
            tracing::warn!(
                "failed to install signal handlers ({e}): Ctrl-C will not stop running commands"
            );
            return;
        }
    }
    let spawned = std::thread::Builder::new()
        .name("shockwave-signals".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(50));
            if raised.swap(false, Ordering::SeqCst) {
                stop(&interrupt);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "failed to start the signal-handling thread ({e}): Ctrl-C will not stop running commands"
        );
    }
}

/// One stop request: the first stops the run gracefully; from the second on, every running
/// command has been killed and the process exits.
fn stop(interrupt: &Interrupt) {
    if interrupt.request() < 2 {
        return;
    }
    // Every running command got SIGKILL. When no tasks are executing (still hashing,
    // or already done), nothing waits to be stopped: exit now. Otherwise the
    // scheduler returns within `exec::KILL_WAIT`, and this is the backstop.
    if interrupt.is_executing() {
        std::thread::sleep(HARD_EXIT_AFTER);
    }
    std::process::exit(ExitCode::Interrupted as i32);
}
