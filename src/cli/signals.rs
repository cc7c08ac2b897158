//! Stop signals: SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh session) all stop a
//! run the same way, through [`Interrupt::request`].

use std::sync::Arc;
use std::time::Duration;

use super::ExitCode;
use crate::exec::Interrupt;

/// After a second stop request, how long the run may take to stop its commands and write its
/// summary before the process exits regardless (say, output blocked on a stalled pipe).
const HARD_EXIT_AFTER: Duration = Duration::from_secs(5);

/// The first signal stops the run gracefully, the second kills every running command at once. The
/// run then ends with exit code 130.
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
                if interrupt.request() < 2 {
                    continue;
                }
                // Every running command got SIGKILL. When no tasks are executing (still hashing,
                // or already done), nothing waits to be stopped: exit now. Otherwise the
                // scheduler returns within `exec::KILL_WAIT`, and this is the backstop.
                if interrupt.is_executing() {
                    std::thread::sleep(HARD_EXIT_AFTER);
                }
                std::process::exit(ExitCode::Interrupted as i32);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "failed to start the signal-handling thread ({e}): Ctrl-C will not stop running commands"
        );
    }
}
