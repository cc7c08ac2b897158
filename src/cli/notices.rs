//! The lines the engine's session has to say, as they read on stderr: said whatever the log
//! level, since they explain what the command compared or read.

use shockwave_core::config::CONFIG_FILE;
use shockwave_core::engine::{BaseChoice, Notice};

/// Writes `notice` to stderr.
pub(crate) fn say(notice: &Notice<'_>) {
    eprintln!("{}", line(notice));
}

fn line(notice: &Notice<'_>) -> String {
    match notice {
        Notice::Discovered(ws) => {
            let tasks = match ws.targets_file().file_name() {
                Some(name) if ws.targets_file() != ws.config_path() => {
                    format!("; tasks from {}", name.to_string_lossy())
                }
                _ => String::new(),
            };
            format!(
                "no {CONFIG_FILE}: {}{tasks}",
                shockwave_core::report::init::found(ws)
            )
        }
        Notice::Base(choice) => base_line(choice),
    }
}

/// `base: origin/main (merge-base 3f2a1c9): the branch origin/HEAD points to; …`
fn base_line(choice: &BaseChoice) -> String {
    let compared = match choice.compared {
        Some(_) if choice.exact => " (compared as it is)".to_string(),
        Some(id) => format!(" (merge-base {})", id.to_hex_with_len(7)),
        None => String::new(),
    };
    let choose = if choice.found {
        "pass --base or set default_base to choose another"
    } else {
        "pass --base to choose another"
    };
    format!("base: {}{compared}: {}; {choose}", choice.rev, choice.why)
}
