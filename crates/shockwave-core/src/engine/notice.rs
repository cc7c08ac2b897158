//! What a session tells the user while it works, as typed values: the CLI decides how each reads
//! on stderr. Warnings go through `tracing`; these are the lines said whatever the log level.

use super::base::BaseChoice;
use crate::config::Workspace;

/// One thing to say.
#[derive(Debug)]
pub enum Notice<'a> {
    /// No pipeline.toml up to the repository root: this workspace was discovered from there.
    /// Said once per session, however often it reloads.
    Discovered(&'a Workspace),
    /// The base of the range was chosen for the user (a variable, the CI, the default branch).
    Base(&'a BaseChoice),
}

/// Where a session's notices go.
pub type Notify = fn(&Notice<'_>);
